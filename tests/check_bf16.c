/*
 * Tests of bf16: rounding to nearest with ties to even, the special
 * values, and the array conversions against the scalar one (every value
 * of a sweep across the exponents, so each vector clone is checked too).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "mlptrain/bf16.h"
#include "testutil.h"

static float from_bits(uint32_t u)
{
    float f;

    memcpy(&f, &u, sizeof(f));
    return f;
}

START_TEST(test_round)
{
    /* exact values stay */
    ck_assert_uint_eq(mlp_bf16_round(1.0f), 0x3f80);
    ck_assert_uint_eq(mlp_bf16_round(-2.0f), 0xc000);
    ck_assert_uint_eq(mlp_bf16_round(0.0f), 0x0000);
    ck_assert_uint_eq(mlp_bf16_round(-0.0f), 0x8000);
    /* below half an ulp down, above it up; a tie to the even one */
    ck_assert_uint_eq(mlp_bf16_round(from_bits(0x3f807fff)), 0x3f80);
    ck_assert_uint_eq(mlp_bf16_round(from_bits(0x3f808001)), 0x3f81);
    ck_assert_uint_eq(mlp_bf16_round(from_bits(0x3f808000)), 0x3f80);
    ck_assert_uint_eq(mlp_bf16_round(from_bits(0x3f818000)), 0x3f82);
    /* a carry into the exponent; the largest finite floats overflow */
    ck_assert_uint_eq(mlp_bf16_round(from_bits(0x3fffffff)), 0x4000);
    ck_assert_uint_eq(mlp_bf16_round(from_bits(0x7f7fffff)), 0x7f80);
    ck_assert_uint_eq(mlp_bf16_round(-from_bits(0x7f7fffff)), 0xff80);
    /* infinities stay, NaNs stay NaNs (quiet), even a NaN whose payload
     * is only in the low bits */
    ck_assert_uint_eq(mlp_bf16_round(INFINITY), 0x7f80);
    ck_assert_uint_eq(mlp_bf16_round(-INFINITY), 0xff80);
    ck_assert(isnan(mlp_bf16_float(mlp_bf16_round(NAN))));
    ck_assert(isnan(mlp_bf16_float(mlp_bf16_round(from_bits(0x7f800001)))));
    ck_assert(isnan(mlp_bf16_float(mlp_bf16_round(from_bits(0xff800001)))));
    /* p / 255, as the loader decodes a pixel */
    ck_assert(mlp_bf16_float(mlp_bf16_round(128.0f / 255.0f)) ==
              0.50390625f);
    /* the float of a bf16 is exact */
    ck_assert(mlp_bf16_float(0x3f81) == 1.0078125f);
    ck_assert(mlp_bf16_float(0xc000) == -2.0f);
}
END_TEST

/* The arrays: the scalar rounding of every value, and back exactly. */
START_TEST(test_arrays)
{
    enum { N = 4099 }; /* not a multiple of any vector width */
    float *f = malloc(N * sizeof(float)), *g = malloc(N * sizeof(float));
    mlp_bf16_t *h = malloc(N * sizeof(mlp_bf16_t));

    ck_assert(f && g && h);
    for (size_t i = 0; i < N; i++) /* across exponents, odd mantissas */
        f[i] = from_bits((uint32_t)(i * 2654435761u) & 0xbfffffffu);
    f[7] = NAN;
    f[8] = INFINITY;
    mlp_bf16_from_f32(h, f, N);
    for (size_t i = 0; i < N; i++)
        ck_assert_uint_eq(h[i], mlp_bf16_round(f[i]));
    mlp_bf16_to_f32(g, h, N);
    for (size_t i = 0; i < N; i++) {
        uint32_t u;

        memcpy(&u, &g[i], sizeof(u));
        ck_assert_uint_eq(u, (uint32_t)h[i] << 16);
    }
    free(f);
    free(g);
    free(h);
}
END_TEST

static Suite *bf16_suite(void)
{
    Suite *s = suite_create("bf16");
    TCase *core = tu_tcase(s, "core", 0);

    tcase_add_test(core, test_round);
    tcase_add_test(core, test_arrays);
    return s;
}
MLP_CHECK_MAIN(bf16_suite)
