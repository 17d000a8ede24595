/*
 * bf16: bfloat16 numbers, the operands of a mixed-precision step (net.h,
 * MLP_PREC_BF16): the upper 16 bits of an IEEE single (sign, 8 exponent
 * bits, 7 mantissa bits), so a float's range with 3 significant digits.
 *
 * Rounding is to nearest, ties to even (as oneDNN's conversions and
 * PyTorch's); a NaN stays a NaN (quiet), infinities stay infinities, a
 * float too large for bf16 becomes an infinity.  Every conversion this
 * project makes (the loader's decode, the net's weight copy and its
 * dropout, eval) goes through mlp_bf16_round, so the same float always
 * gives the same bf16 whichever path or thread makes it.
 *
 * Non-goals: arithmetic in bf16 (the products accumulate in f32 inside
 * oneDNN; everything else here computes in float and rounds once).
 * Thread-safe: pure functions.
 */
#ifndef MLPTRAIN_BF16_H
#define MLPTRAIN_BF16_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef uint16_t mlp_bf16_t;

/* f rounded to the nearest bf16 (ties to even). */
static inline mlp_bf16_t mlp_bf16_round(float f)
{
    uint32_t u;

    memcpy(&u, &f, sizeof(u));
    if ((u & 0x7fffffffu) > 0x7f800000u) /* NaN: keep it one, quiet */
        return (mlp_bf16_t)((u >> 16) | 0x40u);
    return (mlp_bf16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

/* The float of a bf16 (exact). */
static inline float mlp_bf16_float(mlp_bf16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float f;

    memcpy(&f, &u, sizeof(f));
    return f;
}

/* dst[i] = mlp_bf16_round(src[i]), i < n; vectorized. */
void mlp_bf16_from_f32(mlp_bf16_t *dst, const float *src, size_t n);
/* dst[i] = mlp_bf16_float(src[i]), i < n. */
void mlp_bf16_to_f32(float *dst, const mlp_bf16_t *src, size_t n);

#endif
