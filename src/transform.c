/*
 * transform: fitting and applying the input scaling (see transform.h).
 * Non-goals: per-sample normalisation, whitening.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "clones.h"
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

int mlp_transform_check_finite(const float *x, size_t n, size_t dim,
                               size_t row0, const char *what)
{
    for (size_t i = 0; i < n * dim; i++)
        if (!isfinite(x[i]))
            return mlp_error_set(MLP_EINVAL, "%s: row %zu, column %zu is "
                                 "%s: features must be finite", what,
                                 row0 + i / dim, i % dim,
                                 isnan(x[i]) ? "NaN" : "infinite");
    return 0;
}

/* A correctly rounded division, vectorised (vdivps is IEEE too): twice
 * as fast as a 256-entry table, and bit-identical to it. */
MLP_CLONES
void mlp_transform_u8(const uint8_t *src, size_t n, float *dst)
{
#pragma omp simd
    for (size_t j = 0; j < n; j++)
        dst[j] = (float)src[j] / 255.0f;
}

/* x (a float of [0, 1]) rounded to bf16 as mlp_bf16_round does, without
 * its NaN case, as 32 bits. */
static inline uint32_t bf16_bits01(float x)
{
    uint32_t u;

    memcpy(&u, &x, sizeof(u));
    return (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
}

/* The same rounded to bf16: p x (1 / 255) rounds to the bf16 of p / 255
 * for every byte p (the two floats may differ in their last bit, never
 * across a bf16 rounding boundary: tests/check_loader compares all 256),
 * and a multiply is cheaper than a division.  Two bytes at a time into
 * one 32-bit word (the first value low, as two bf16 lie in memory on a
 * little-endian machine): the vector loop then needs no 16-bit narrowing,
 * which took half its time (0.25 -> 0.1 ns a byte measured here). */
MLP_CLONES
void mlp_transform_u8_bf16(const uint8_t *src, size_t n, mlp_bf16_t *dst)
{
    typedef uint16_t __attribute__((may_alias, aligned(1))) u16u;
    typedef uint32_t __attribute__((may_alias, aligned(1))) u32u;
    const u16u *s2 = (const u16u *)(const void *)src;
    u32u *d2 = (u32u *)(void *)dst;
    size_t half = n / 2;

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
    half = 0; /* the word's halves the other way round: byte by byte */
    for (size_t j = 0; j < n - n % 2; j++)
        dst[j] = (mlp_bf16_t)bf16_bits01((float)src[j] * (1.0f / 255.0f));
#endif
#pragma omp simd
    for (size_t j = 0; j < half; j++) {
        uint32_t w = s2[j];
        float lo = (float)(w & 0xffu) * (1.0f / 255.0f);
        float hi = (float)(w >> 8) * (1.0f / 255.0f);

        d2[j] = bf16_bits01(lo) | bf16_bits01(hi) << 16;
    }
    if (n % 2)
        dst[n - 1] =
            (mlp_bf16_t)bf16_bits01((float)src[n - 1] * (1.0f / 255.0f));
}
