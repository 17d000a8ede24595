/*
 * loss: softmax cross-entropy over logits, its gradient, and correct counts.
 *
 * Stable by log-sum-exp: loss_i = logsumexp(z_i) - z_i[y_i].  The gradient
 * with respect to the logits of the mean loss is (softmax(z) - onehot(y)) / n.
 * Predictions are the argmax, the first index on ties.
 *
 * Label smoothing X (PyTorch's CrossEntropyLoss(label_smoothing=X)): the
 * target is t = (1 - X) onehot(y) + X / c, the loss -sum_j t_j log
 * softmax(z)_j = logsumexp(z) - (1 - X) z[y] - (X / c) sum_j z_j (the
 * smoothed loss is what is summed and reported), the gradient (softmax(z) -
 * t) / n; accuracy is unchanged.  X = 0 is the plain loss, bit for bit.
 *
 * Non-goals: weighting.  Pure functions, thread-safe.
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
/* The same with label smoothing X in [0, 1): (..., X, dlogits, ...). */
void mlp_loss_softmax_xent_smooth(const float *logits, const int32_t *y,
                                  size_t n, size_t c, float smoothing,
                                  float *dlogits, double *loss_sum,
                                  size_t *correct);

/*
 * The same with the gradient of the loss summed over these rows divided by
 * norm (not n): a micro-batch of a larger batch of norm rows, whose
 * gradients summed give the whole batch's mean-loss gradient.  norm == n is
 * mlp_loss_softmax_xent_smooth bit for bit.
 */
void mlp_loss_softmax_xent_norm(const float *logits, const int32_t *y,
                                size_t n, size_t c, float smoothing,
                                size_t norm, float *dlogits,
                                double *loss_sum, size_t *correct);

/* Index of the largest of c values (first on ties). */
size_t mlp_loss_argmax(const float *row, size_t c);

#endif
