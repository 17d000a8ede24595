/*
 * transform: fitting and applying the input scaling (see transform.h).
 * Non-goals: per-sample normalisation, whitening.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "mlptrain/error.h"
#include "mlptrain/transform.h"

const char *const mlp_norm_names[] = {"auto", "none", "minmax", "standard",
                                      NULL};

int mlp_transform_fit(mlp_norm_t norm, const float *x, size_t n,
                      size_t dim, float *shift, float *scale)
{
    for (size_t j = 0; j < dim; j++) {
        double lo, hi, spread = 0.0, sum = 0.0;

        shift[j] = 0.0f;
        scale[j] = 1.0f;
        if (n == 0 || norm == MLP_NORM_NONE)
            continue;
        lo = hi = x[j];
        for (size_t i = 0; i < n; i++) {
            double v = x[i * dim + j];

            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
            sum += v;
        }
        if (norm == MLP_NORM_MINMAX) {
            shift[j] = (float)lo;
            spread = hi - lo;
        } else { /* standard (and auto) */
            double mean = sum / (double)n, var = 0.0;

            for (size_t i = 0; i < n; i++) {
                double d = x[i * dim + j] - mean;

                var += d * d;
            }
            shift[j] = (float)mean;
            spread = sqrt(var / (double)n);
        }
        /* The scale is stored as a float: judged as one.  A spread below
         * the floor is a constant column (scale 1); above it 1 / spread
         * is at most 1 / FLT_MIN, a finite float. */
        if (spread >= MLP_TRANSFORM_MIN_SPREAD &&
            isfinite((float)(1.0 / spread)))
            scale[j] = (float)(1.0 / spread);
        /* The loader computes x - shift in float: at the column's ends it
         * must stay finite, or a training row becomes infinite. */
        if (!isfinite((float)lo - shift[j]) ||
            !isfinite((float)hi - shift[j]))
            return mlp_error_set(MLP_ERANGE, "feature %zu spans %g to %g: "
                                 "its values less the %s (%g) overflow a "
                                 "float", j, lo, hi,
                                 norm == MLP_NORM_MINMAX ? "minimum"
                                                         : "mean",
                                 (double)shift[j]);
    }
    return 0;
}

void mlp_transform_affine(const float *x, const float *shift,
                          const float *scale, size_t dim, float *out)
{
#pragma omp simd
    for (size_t j = 0; j < dim; j++)
        out[j] = (x[j] - shift[j]) * scale[j];
}

void mlp_transform_affine_bf16(const float *x, const float *shift,
                               const float *scale, size_t dim,
                               mlp_bf16_t *out)
{
#pragma omp simd
    for (size_t j = 0; j < dim; j++)
        out[j] = mlp_bf16_round((x[j] - shift[j]) * scale[j]);
}
