/*
 * loss: softmax cross-entropy, its gradient and the correct count (see
 * loss.h).
 *
 * Per row: m = max z, s = sum exp(z - m), loss = m + log s - z[y]; nothing
 * overflows however large the logits.  The loss sum is accumulated in
 * double so that a whole epoch's sum keeps its digits.
 *
 * Label smoothing adds -(X / c) sum_j (z_j - m - log s) - X (z[y] - ...):
 * written as loss = m + log s - (1 - X) z[y] - (X / c) sum_j z_j, in
 * double, and X / c subtracted from every gradient; X = 0 runs none of it.
 *
 * Non-goals: other losses, class weights.
 */
#include <math.h>

#include "mlptrain/loss.h"

size_t mlp_loss_argmax(const float *row, size_t c)
{
    size_t best = 0;

    for (size_t j = 1; j < c; j++)
        if (row[j] > row[best])
            best = j;
    return best;
}

void mlp_loss_softmax_xent(const float *logits, const int32_t *y, size_t n,
                           size_t c, float *dlogits, double *loss_sum,
                           size_t *correct)
{
    mlp_loss_softmax_xent_smooth(logits, y, n, c, 0.0f, dlogits, loss_sum,
                                 correct);
}

void mlp_loss_softmax_xent_smooth(const float *logits, const int32_t *y,
                                  size_t n, size_t c, float smoothing,
                                  float *dlogits, double *loss_sum,
                                  size_t *correct)
{
    mlp_loss_softmax_xent_norm(logits, y, n, c, smoothing, n, dlogits,
                               loss_sum, correct);
}

void mlp_loss_softmax_xent_norm(const float *logits, const int32_t *y,
                                size_t n, size_t c, float smoothing,
                                size_t norm, float *dlogits,
                                double *loss_sum, size_t *correct)
{
    double sum = 0;
    size_t ok = 0;
    float inv_n = norm ? 1.0f / (float)norm : 0.0f;
    int smooth = smoothing != 0.0f;
    /* the target's shares: X / c on every class, 1 - X more on the label */
    double x_c = smooth ? (double)smoothing / (double)c : 0.0;
    float dx_c = (float)x_c * inv_n, dy = (1.0f - smoothing) * inv_n;

    for (size_t i = 0; i < n; i++) {
        const float *z = logits + i * c;
        float *dz = dlogits ? dlogits + i * c : NULL;
        size_t best = mlp_loss_argmax(z, c);
        float m = z[best], s = 0;
        /* A label out of range has no loss: make it NaN, as for a NaN
         * logit, so that the caller's check catches it. */
        int valid = y[i] >= 0 && (size_t)y[i] < c;

        for (size_t j = 0; j < c; j++) {
            float e = expf(z[j] - m);

            s += e;
            if (dz)
                dz[j] = e;
        }
        if (valid && smooth) {
            double zsum = 0;

            for (size_t j = 0; j < c; j++)
                zsum += z[j];
            sum += (double)m + log((double)s) -
                   (1.0 - (double)smoothing) * (double)z[y[i]] - x_c * zsum;
            ok += best == (size_t)y[i];
        } else if (valid) {
            sum += (double)m - (double)z[y[i]] + log((double)s);
            ok += best == (size_t)y[i];
        } else {
            sum += NAN;
        }
        if (dz) {
            float k = inv_n / s;

            for (size_t j = 0; j < c; j++)
                dz[j] *= k;
            if (smooth) {
                for (size_t j = 0; j < c; j++)
                    dz[j] -= dx_c;
                if (valid)
                    dz[y[i]] -= dy;
            } else if (valid) {
                dz[y[i]] -= inv_n;
            }
        }
    }
    *loss_sum += sum;
    *correct += ok;
}
