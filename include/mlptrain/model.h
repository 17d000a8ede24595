/*
 * model: a trained model ready to predict, in memory -- a checkpoint
 * (checkpoint.h), a net of its shape holding its parameters, prepared for
 * one batch size, and its input scaling -- and its predictions on rows in
 * memory.  `mlptrain predict` (predict.c) streams a file's rows through
 * it; the Python module predicts on NumPy arrays with it.
 *
 * Rows go through the net `batch` at a time, the last batch zero-padded,
 * so every forward has the same size and a row's logits do not depend on
 * the rows around it or on where it falls: predicting a row alone or
 * among others gives the same bits.  A row is scaled as the model was
 * trained (checkpoint.h: bytes x / 255.0f, or the stored affine
 * transform); given bytes, a model of real features takes their values
 * as features (as `predict` takes a byte file); given real features, a
 * model of bytes refuses them (MLP_EINVAL).  Real features must be finite
 * and so must a row's logits (eval.h's rule: MLP_ERANGE naming the row).
 * Probabilities are the softmax of the logits in double (stable: by the
 * largest logit), the class the argmax of the logits (the first on ties).
 *
 * Ownership: mlp_model_open parses checkpoint bytes into a checkpoint of
 * its own; mlp_model_create borrows the caller's, which must outlive it.
 * Threads: the net uses `threads` OpenMP threads (0: as many as cores)
 * inside a forward; a model is used by one thread at a time (the Python
 * module holds a lock around each call).  Errors: the checkpoint's
 * (MLP_EFORMAT naming the model), the net's, MLP_EINVAL, MLP_ERANGE,
 * MLP_ENOMEM.
 */
#ifndef MLPTRAIN_MODEL_H
#define MLPTRAIN_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "mlptrain/checkpoint.h"

/* The batch of a model opened from bytes: small, so that predicting one
 * row costs little more than the row. */
#define MLP_MODEL_BATCH 64

typedef struct mlp_model mlp_model_t;

/* A model from checkpoint bytes (named `name` in messages), with a batch
 * of MLP_MODEL_BATCH rows, its net in `precision` (eval.h's: an
 * mlp_precision_t or MLP_EVAL_PRECISION_MODEL, the one it was trained
 * in; a bf16 net takes each scaled input rounded to bf16, as training
 * did). */
int mlp_model_open(const uint8_t *buf, size_t len, const char *name,
                   int threads, int precision, mlp_model_t **out);

/* A model of the caller's checkpoint ck, with batches of `batch` rows. */
int mlp_model_create(const mlp_checkpoint_t *ck, const char *name,
                     int threads, int precision, size_t batch,
                     mlp_model_t **out);

/* The checkpoint the model was made from. */
const mlp_checkpoint_t *mlp_model_checkpoint(const mlp_model_t *m);

/*
 * The logits of n <= batch rows: bytes x8 or real features xf (exactly
 * one of them; rows of ck->in values), scaled and zero-padded to the
 * batch.  *logits (n, classes) is the model's, valid until the next call.
 * `row0` is the first row's number in the caller's data, for messages;
 * `what` names the data ("X", a file).
 */
int mlp_model_logits(mlp_model_t *m, const uint8_t *x8, const float *xf,
                     size_t n, size_t row0, const char *what,
                     const float **logits);

/*
 * Predictions of n rows (any n) of x8 or xf, as mlp_model_logits takes
 * them: proba (n, classes) the probabilities and cls (n) the classes,
 * either may be NULL.
 */
int mlp_model_predict(mlp_model_t *m, const uint8_t *x8, const float *xf,
                      size_t n, const char *what, double *proba,
                      int32_t *cls);

/* The softmax of c finite logits whose largest is lg[k], into p (c),
 * computed in double; pure. */
void mlp_model_softmax(const float *lg, size_t c, size_t k, double *p);

/* NULL is a no-op. */
void mlp_model_destroy(mlp_model_t *m);

#endif
