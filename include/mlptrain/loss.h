/*
 * loss: softmax cross-entropy over logits, its gradient, and correct counts.
 *
 * Stable by log-sum-exp: loss_i = logsumexp(z_i) - z_i[y_i].  The gradient
 * with respect to the logits of the mean loss is (softmax(z) - onehot(y)) / n.
 * Predictions are the argmax, the first index on ties.
 *
 * Non-goals: label smoothing, weighting.  Pure functions, thread-safe.
 */
#ifndef MLPTRAIN_LOSS_H
#define MLPTRAIN_LOSS_H

#include <stddef.h>
#include <stdint.h>

/*
 * For n rows of c logits (n, c) and labels y (n), each < c: add the summed
 * loss to *loss_sum and the number of rows whose argmax is the label to
 * *correct.  When dlogits is not NULL write the gradient of the mean loss
 * there, (n, c).  A non-finite logit gives a non-finite loss; callers check.
 */
void mlp_loss_softmax_xent(const float *logits, const int32_t *y, size_t n,
                           size_t c, float *dlogits, double *loss_sum,
                           size_t *correct);

/* Index of the largest of c values (first on ties). */
size_t mlp_loss_argmax(const float *row, size_t c);

#endif
