/*
 * predict: a saved model's predictions on a file of new, unlabelled
 * samples (`mlptrain predict --input FILE`), streamed.
 *
 * The input is any format table.h reads (CSV, .npy, .npz's x.npy, IDX
 * images; gzip or not), without labels: a CSV's every column is a
 * feature unless csv.label names a column to skip.  Its rows must have
 * the model's input width (MLP_EINVAL naming the file, its width and the
 * model's).  Inputs are scaled as the model was trained (checkpoint.h:
 * bytes / 255, or the stored affine transform; a file of bytes for a model
 * of real features gives the byte values as features; real features for
 * a model of bytes are refused).
 *
 * Output, one line per input row in file order, floats as %.9g:
 *   CSV:  a header "row,class,name,p_0,...,p_{C-1}" (then
 *         ",logit_0,...,logit_{C-1}" with logits), then
 *         "ROW,CLASS,NAME,P0,...": ROW counts from 0, NAME quoted when it
 *         holds a comma, a quote or a line break;
 *   JSON: one object per line, {"row":R,"class":K,"name":"N","probs":[...]}
 *         (and "logits":[...]).
 * The class is the argmax of the logits (the first on ties), the
 * probabilities their softmax (computed in double, printed as floats).
 *
 * Memory: the reader's fixed buffers and one batch; the net runs every
 * batch at the full batch size (the last one zero-padded), so a row's
 * figures do not depend on where it falls in the file.
 * Errors: what table.h and the net return; MLP_EIO when `out` fails.
 */
#ifndef MLPTRAIN_PREDICT_H
#define MLPTRAIN_PREDICT_H

#include <stdio.h>

#include "mlptrain/checkpoint.h"
#include "mlptrain/eval.h"
#include "mlptrain/table.h"

typedef struct {
    int json;            /* 0: CSV */
    int logits;          /* also print the logits */
    size_t batch;        /* rows per forward, > 0 */
    int threads;         /* compute threads */
    int precision;       /* eval.h: an mlp_precision_t, or
                            MLP_EVAL_PRECISION_MODEL (the model's) */
} mlp_predict_opts_t;

/*
 * Run the model of `ck` (path `model` for messages) on the rows of the
 * input described by `in` (in->want_labels is ignored: no labels) and
 * print the predictions to out; names: the class names shown.
 * *rows gets the rows done.
 */
int mlp_predict_file(const mlp_checkpoint_t *ck, const char *model,
                     const mlp_table_opts_t *in,
                     const mlp_class_names_t *names,
                     const mlp_predict_opts_t *o, FILE *out, size_t *rows);

#endif
