/*
 * transform: fitting and applying the input scaling (see transform.h).
 * Non-goals: per-sample normalisation, whitening.
 */
#include <math.h>
#include <stdlib.h>

#include "mlptrain/transform.h"

const char *const mlp_norm_names[] = {"auto", "none", "minmax", "standard",
                                      NULL};

void mlp_transform_fit(mlp_norm_t norm, const float *x, size_t n,
                       size_t dim, float *shift, float *scale)
{
    for (size_t j = 0; j < dim; j++) {
        double a = 0.0, b = 0.0;

        shift[j] = 0.0f;
        scale[j] = 1.0f;
        if (n == 0 || norm == MLP_NORM_NONE)
            continue;
        if (norm == MLP_NORM_MINMAX) {
            a = b = x[j];
            for (size_t i = 1; i < n; i++) {
                double v = x[i * dim + j];

                a = v < a ? v : a;
                b = v > b ? v : b;
            }
            shift[j] = (float)a;
            if (b > a)
                scale[j] = (float)(1.0 / (b - a));
        } else { /* standard (and auto) */
            double mean, var = 0.0;

            for (size_t i = 0; i < n; i++)
                a += x[i * dim + j];
            mean = a / (double)n;
            for (size_t i = 0; i < n; i++) {
                double d = x[i * dim + j] - mean;

                var += d * d;
            }
            var /= (double)n;
            shift[j] = (float)mean;
            if (var > 0.0 && isfinite(1.0 / sqrt(var)))
                scale[j] = (float)(1.0 / sqrt(var));
        }
    }
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
