/*
 * bf16: the array conversions of bf16.h, cloned for wider vector units
 * (integer arithmetic only: every clone gives the same bits).
 */
#include "clones.h"
#include "mlptrain/bf16.h"

MLP_CLONES
void mlp_bf16_from_f32(mlp_bf16_t *dst, const float *src, size_t n)
{
#pragma omp simd
    for (size_t i = 0; i < n; i++)
        dst[i] = mlp_bf16_round(src[i]);
}

MLP_CLONES
void mlp_bf16_to_f32(float *dst, const mlp_bf16_t *src, size_t n)
{
#pragma omp simd
    for (size_t i = 0; i < n; i++)
        dst[i] = mlp_bf16_float(src[i]);
}
