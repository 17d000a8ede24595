/*
 * eval: what a trained model does on the test split -- loss, accuracy, a
 * confusion matrix, per-class accuracy, precision, recall and F1 -- and its
 * predictions for the first n samples.  Their rendering is eval_render.h; the `eval` and
 * `predict` commands are src/cmd_eval.c.
 *
 * The core (mlp_eval_split, mlp_eval_predict) runs a net the caller built
 * over a split in order, in batches of `batch` rows: the net must have been
 * created with the batch sizes that cuts into (mlp_net_spec_add_split).
 * Pixels are decoded as the loader does (p / 255, rounded to bf16 for a
 * bf16 net), so the figures match the trainer's test figures for the same
 * parameters, threads and precision.  A model evaluates in the precision
 * it was trained in unless asked otherwise (MLP_EVAL_PRECISION_MODEL):
 * its master weights are f32 either way, so any precision reads any
 * model.
 *
 * Class names follow one rule (mlp_eval_class_names): the names given by
 * the user (--class-names), when given, whose count must equal the class
 * count; else Fashion-MNIST's names when the data is Fashion-MNIST (see
 * mlp_eval_is_fashion_mnist); else the numbers 0..C-1.
 *
 * A model fits data when its input width is the data's rows * cols (and
 * its image shape, when recorded, is the data's) and its class count is
 * the data's (mlp_eval_check_fit).
 *
 * Errors: MLP_EINVAL (a split that does not fit the net, labels out of
 * range, a model that does not fit the data: the message names the model
 * file and the mismatch), MLP_EUSAGE (a class-name list of the wrong length
 * or with an empty name, naming --class-names), MLP_ENOMEM, and the net's
 * MLP_EDNNL.  Not thread-safe: a net is used on one thread.
 */
#ifndef MLPTRAIN_EVAL_H
#define MLPTRAIN_EVAL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "mlptrain/checkpoint.h"
#include "mlptrain/dataset.h"
#include "mlptrain/net.h"

/* Precision, recall and F1 of one class, or their macro averages. */
typedef struct {
    double precision;    /* tp / (tp + fp): of those predicted k, right */
    double recall;       /* tp / (tp + fn): of those of class k, found */
    double f1;           /* 2 tp / (2 tp + fp + fn): their harmonic mean */
} mlp_prf_t;

typedef struct {
    size_t n;            /* samples evaluated */
    size_t nclasses;     /* C: the net's output width */
    double loss;         /* mean softmax cross-entropy per sample */
    size_t correct;      /* samples whose argmax is the label */
    double acc;          /* correct / n; 0 when n = 0 */
    size_t *confusion;   /* (C, C) counts: [true * C + predicted] */
    mlp_prf_t *prf;      /* (C) per class, by mlp_eval_prf */
    mlp_prf_t macro;     /* their macro averages */
} mlp_eval_result_t;

/*
 * The rule for logits that overflow (finite inputs beyond what a model's
 * weights can take, or a model with huge finite weights): a row whose
 * logits are not all finite has no prediction, probability or loss, and
 * is an error naming the row (MLP_ERANGE), in eval, in predict (of --data
 * and of --input) and in every figure derived from them; finite logits,
 * however large, give finite probabilities and loss (computed stably, by
 * the largest logit).  1 when the c logits are all finite.
 */
int mlp_eval_logits_finite(const float *logits, size_t c);

/*
 * Evaluate the net on every sample of the split, in order.  On success *res
 * owns a new confusion matrix and per-class figures (mlp_eval_result_free);
 * on failure it is zeroed.  MLP_EINVAL when split->dim is not the net's input width, a label
 * is not below the class count, or batch is 0; MLP_ERANGE naming the
 * sample (from 0) whose logits are not finite.
 */
int mlp_eval_split(mlp_net_t *net, const mlp_split_t *split, size_t batch,
                   mlp_eval_result_t *res);

/* Samples of class k, and those predicted right (row k of the matrix). */
size_t mlp_eval_class_total(const mlp_eval_result_t *res, size_t k);
size_t mlp_eval_class_correct(const mlp_eval_result_t *res, size_t k);

/*
 * Per-class precision, recall and F1 of a (C, C) confusion matrix
 * ([true * C + predicted], as mlp_eval_result_t's) into per_class (C), and
 * their unweighted means into *macro (when not NULL).  A ratio 0/0 (a class
 * never predicted: precision; a class without samples: recall; both: F1)
 * is 0, as scikit-learn's zero_division=0.  The macro means run over the
 * classes that occur as a label or a prediction (scikit-learn's default
 * labels); all 0 when there are none.  Pure; cannot fail.
 */
void mlp_eval_prf(const size_t *confusion, size_t nclasses,
                  mlp_prf_t *per_class, mlp_prf_t *macro);

/* Free the matrix and figures and zero *res; safe on a zeroed struct. */
void mlp_eval_result_free(mlp_eval_result_t *res);

/*
 * Predicted classes (argmax, first on ties) of the first n samples of the
 * split (n <= split->n) into pred (n), in batches of `batch`.  Same errors
 * as mlp_eval_split.
 */
int mlp_eval_predict(mlp_net_t *net, const mlp_split_t *split, size_t n,
                     size_t batch, int32_t *pred);

/*
 * 1 when ds is Fashion-MNIST: 10 classes, 28x28 images, and the test labels
 * file holds exactly Fashion-MNIST's 10,000 test labels (their CRC-32,
 * taken on the decoded labels, dataset.h's test_labels_crc: plain and
 * recompressed copies count, as IDX, .npy or .npz labels, with --data or
 * --test; MNIST, also 10 classes of 28x28, does not).  Limits do not
 * matter: the labels are read whole.
 */
int mlp_eval_is_fashion_mnist(const mlp_dataset_t *ds);

/* Fashion-MNIST's names in label order: "t-shirt", ..., "ankle boot". */
extern const char *const mlp_fashion_mnist_names[10];

typedef struct {
    size_t n;        /* names: the class count */
    char **names;    /* (n) strings */
    char *buf;       /* owned storage of the strings */
} mlp_class_names_t;

/*
 * The names of nclasses classes by the rule above.  list: the user's
 * comma-separated names, or NULL; ds: the data (NULL: not Fashion-MNIST).
 * MLP_EUSAGE naming --class-names when list has not nclasses names or a
 * name that is not a usable class name (text.h: empty, longer than 63
 * bytes, not UTF-8, a control character).  On success *out owns its strings
 * (mlp_class_names_free); on failure it is zeroed.
 */
int mlp_eval_class_names(const char *list, const mlp_dataset_t *ds,
                         size_t nclasses, mlp_class_names_t *out);
void mlp_class_names_free(mlp_class_names_t *cn);
/* Names from an array (a model's, dataset.h's): the same ownership.
 * When ds has class names (text labels), mlp_eval_class_names without a
 * list uses them. */
int mlp_eval_class_names_from(const char (*names)[MLP_CLASS_NAME_MAX],
                              size_t nclasses, mlp_class_names_t *out);
/*
 * A saved model's class names: the list when given, else the names the
 * model keeps (checkpoint version 3, from text labels), else the rule
 * above without data.  For predict and export.
 */
int mlp_eval_model_class_names(const mlp_checkpoint_t *ck, const char *list,
                               mlp_class_names_t *out);

/*
 * MLP_EINVAL, naming model_path and the mismatch, unless the model of ck
 * fits ds: ck->in equal to the data's rows * cols, ck->rows x ck->cols
 * equal to the data's when recorded (nonzero), ck->out equal to the data's
 * class count.
 */
int mlp_eval_check_fit(const mlp_checkpoint_t *ck, const char *model_path,
                       const mlp_dataset_t *ds);

/*
 * The precision of an evaluation: an mlp_precision_t (f32, bf16, auto:
 * mlp_net_choose_precision, MLP_EUSAGE for bf16 where this CPU has none),
 * or MLP_EVAL_PRECISION_MODEL: the one the model was trained in (its
 * checkpoint's options; f32 for a file that names none), or f32 where
 * this CPU has no bf16.
 */
#define MLP_EVAL_PRECISION_MODEL (-1)

/* A net of the checkpoint's shape and parameters, prepared for n rows in
 * batches of `batch` (net.h), in `precision` (above); errors name the
 * model. */
int mlp_eval_net(const mlp_checkpoint_t *ck, const char *model, int threads,
                 int precision, size_t n, size_t batch, mlp_net_t **net);

/*
 * A saved model on its data: load the checkpoint `model` (first: a missing
 * model fails before the data is read), then the data of data_dir (--data:
 * its four files as training reads them, dataset.h; the training labels
 * give the class count, the training images are what --show-train shows;
 * the first limit_test test samples, 0: all), check that they fit, build
 * a net of the checkpoint's shape with `threads` compute threads in
 * `precision` (above), prepared for the test split in batches of `batch`,
 * and load the parameters.  The
 * caller frees *ck, *ds and *net, also on failure.  Errors: the
 * checkpoint's, the data's, mlp_eval_check_fit's, MLP_EINVAL (no test
 * samples, a model of real features on bytes), the net's.
 */
int mlp_eval_open(const char *model, const char *data_dir, size_t limit_test,
                  int threads, int precision, size_t batch,
                  mlp_checkpoint_t *ck, mlp_dataset_t **ds, mlp_net_t **net);

/* The same with a test file of any format (f->test, f->test_labels,
 * f->csv, f->limit_test; the model's classes and names stand in for a
 * training file): the model's input transform is applied. */
int mlp_eval_open_files(const char *model, const mlp_dataset_files_t *f,
                        int threads, int precision, size_t batch,
                        mlp_checkpoint_t *ck, mlp_dataset_t **ds,
                        mlp_net_t **net);

#endif
