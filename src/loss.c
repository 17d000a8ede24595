/*
 * loss: softmax cross-entropy, its gradient and the correct count (see
 * loss.h).
 *
 * Per row: m = max z, s = sum exp(z - m), loss = m + log s - z[y]; nothing
 * overflows however large the logits.  The loss sum is accumulated in
 * double so that a whole epoch's sum keeps its digits.
 *
 * Non-goals: other losses, label smoothing, class weights.
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
    double sum = 0;
    size_t ok = 0;
    float inv_n = n ? 1.0f / (float)n : 0.0f;

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
        if (valid) {
            sum += (double)m - (double)z[y[i]] + log((double)s);
            ok += best == (size_t)y[i];
        } else {
            sum += NAN;
        }
        if (dz) {
            float k = inv_n / s;

            for (size_t j = 0; j < c; j++)
                dz[j] *= k;
            if (valid)
                dz[y[i]] -= inv_n;
        }
    }
    *loss_sum += sum;
    *correct += ok;
}
