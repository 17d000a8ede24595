/*
 * Tests of fold: the micro-batch partition, the rank blocks, and the fold's
 * order: values chosen so that another order of the additions gives other
 * bits, and a chain split across "ranks" that gives the same bits as one
 * fold; the exact sum of squares (the clipped gradient's norm) against a
 * compensated double sum, the same bits in any order and any pieces.
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "check_main.h"
#include "mlptrain/fold.h"

START_TEST(test_micro)
{
    size_t lo, rows;

    ck_assert_uint_eq(mlp_fold_nmicro(256, 64), 4);
    ck_assert_uint_eq(mlp_fold_nmicro(96, 64), 2);
    ck_assert_uint_eq(mlp_fold_nmicro(1, 64), 1);
    ck_assert_uint_eq(mlp_fold_nmicro(0, 64), 0);
    ck_assert_uint_eq(mlp_fold_nmicro(5, 0), 0);
    mlp_fold_micro(96, 64, 0, &lo, &rows);
    ck_assert_uint_eq(lo, 0);
    ck_assert_uint_eq(rows, 64);
    mlp_fold_micro(96, 64, 1, &lo, &rows);
    ck_assert_uint_eq(lo, 64);
    ck_assert_uint_eq(rows, 32);
    mlp_fold_micro(96, 64, 2, &lo, &rows);
    ck_assert_uint_eq(rows, 0);
}
END_TEST

START_TEST(test_rank)
{
    /* 7 micro-batches over 3 ranks: 3, 2, 2; over 9 ranks: 1 each then 0. */
    static const size_t want_first[3] = {0, 3, 5}, want_count[3] = {3, 2, 2};
    size_t first, count, total = 0;

    for (int r = 0; r < 3; r++) {
        mlp_fold_rank(7, r, 3, &first, &count);
        ck_assert_uint_eq(first, want_first[r]);
        ck_assert_uint_eq(count, want_count[r]);
    }
    for (int r = 0; r < 9; r++) {
        mlp_fold_rank(7, r, 9, &first, &count);
        ck_assert_uint_eq(count, r < 7 ? 1 : 0);
        ck_assert_uint_eq(first, r < 7 ? (size_t)r : 7);
        total += count;
    }
    ck_assert_uint_eq(total, 7);
}
END_TEST

#define N 37

START_TEST(test_order)
{
    /* 1 + 1e8 - 1e8 is 0 in float left to right, 1 right to left. */
    float a[N], b[N], c[N], acc[N];
    const float *parts[3] = {a, b, c};

    for (int i = 0; i < N; i++) {
        a[i] = 1.0f + (float)(i % 3); /* below half of 1e8's ulp (8) */
        b[i] = 1e8f;
        c[i] = -1e8f;
    }
    mlp_fold(acc, 0, parts, 3, 0, N);
    for (int i = 0; i < N; i++) {
        float want = a[i];

        want += b[i];
        want += c[i];
        ck_assert_float_eq(acc[i], want);
        ck_assert_float_ne(acc[i], a[i] + (b[i] + c[i]));
    }
}
END_TEST

START_TEST(test_chain)
{
    /* Parts 0-1 on "rank 0", 2-4 on "rank 1", in two ranges: the same
     * bits as one fold of all five. */
    float p[5][N], one[N], chain[N];
    const float *all[5];

    for (int k = 0; k < 5; k++) {
        all[k] = p[k];
        for (int i = 0; i < N; i++)
            p[k][i] = (k % 2 ? -1.0f : 1.0f) * (1.0f + (float)(i * 7 + k)) *
                      (k == 1 ? 3e7f : 0.37f);
    }
    mlp_fold(one, 0, all, 5, 0, N);
    mlp_fold(chain, 0, all, 2, 0, 20);
    mlp_fold(chain, 0, all, 2, 20, N);
    mlp_fold(chain, 1, all + 2, 3, 0, 11);
    mlp_fold(chain, 1, all + 2, 3, 11, N);
    ck_assert_int_eq(memcmp(one, chain, sizeof(one)), 0);
    /* acc_in with no parts leaves acc alone; acc may be parts[0]. */
    mlp_fold(chain, 1, all, 0, 0, N);
    ck_assert_int_eq(memcmp(one, chain, sizeof(one)), 0);
    memcpy(chain, p[0], sizeof(chain));
    all[0] = chain;
    mlp_fold(chain, 0, all, 5, 0, N);
    ck_assert_int_eq(memcmp(one, chain, sizeof(one)), 0);
}
END_TEST

/*
 * The exact sum of squares (--clip-grad's norm): the value of a double
 * reference (a compensated sum) over squares of every magnitude
 * (subnormals to 1e19), and the same bits for any order of the values,
 * any split into pieces and any order of merging them.
 */
START_TEST(test_sq_exact)
{
    enum { NS = 5000 };
    static float v[NS], w[NS];
    static const float scale[] = {1e-42f, 1e-30f, 1e-7f, 1.0f, 3e5f, 1e19f};
    mlp_fold_sq_t a, b, c, parts[7];
    double ref = 0.0, comp = 0.0; /* Neumaier's compensated sum */
    uint64_t r = 88172645463325252ULL;
    double x;

    for (int i = 0; i < NS; i++) {
        r ^= r << 13;
        r ^= r >> 7;
        r ^= r << 17;
        v[i] = (float)((double)(r >> 11) / 9007199254740992.0 - 0.5) *
               scale[i % 6];
        x = (double)v[i] * (double)v[i]; /* exact */
        {
            double t = ref + x;

            comp += fabs(ref) >= fabs(x) ? (ref - t) + x : (x - t) + ref;
            ref = t;
        }
    }
    ref += comp;
    memset(&a, 0, sizeof(a));
    mlp_fold_sq_add(&a, v, NS);
    x = mlp_fold_sq_value(&a);
    ck_assert_double_eq_tol(x, ref, 1e-14 * ref);
    /* reversed, and in 7 pieces merged from the last */
    for (int i = 0; i < NS; i++)
        w[i] = v[NS - 1 - i];
    memset(&b, 0, sizeof(b));
    mlp_fold_sq_add(&b, w, NS);
    ck_assert_int_eq(memcmp(&a, &b, sizeof(a)), 0);
    memset(parts, 0, sizeof(parts));
    for (int k = 0; k < 7; k++) {
        size_t lo = (size_t)k * NS / 7, hi = (size_t)(k + 1) * NS / 7;

        mlp_fold_sq_add(&parts[k], v + lo, hi - lo);
    }
    memset(&c, 0, sizeof(c));
    for (int k = 6; k >= 0; k--)
        mlp_fold_sq_merge(&c, &parts[k]);
    ck_assert_int_eq(memcmp(&a, &c, sizeof(a)), 0);
    ck_assert(mlp_fold_sq_value(&c) == x);
    /* small cases by hand: 3^2 + 4^2, the least subnormal's square */
    memset(&c, 0, sizeof(c));
    mlp_fold_sq_add(&c, (const float[]){3.0f, -4.0f, 0.0f}, 3);
    ck_assert(mlp_fold_sq_value(&c) == 25.0);
    memset(&c, 0, sizeof(c));
    mlp_fold_sq_add(&c, (const float[]){1e-45f}, 1);
    ck_assert(mlp_fold_sq_value(&c) == ldexp(1.0, -298));
    /* the largest float's square, 70000 times: no overflow in the sum */
    memset(&c, 0, sizeof(c));
    for (int i = 0; i < NS; i++)
        w[i] = FLT_MAX;
    for (int k = 0; k < 14; k++)
        mlp_fold_sq_add(&c, w, NS);
    ck_assert_double_eq_tol(mlp_fold_sq_value(&c),
                            70000.0 * (double)FLT_MAX * (double)FLT_MAX,
                            1e-12 * 70000.0 * (double)FLT_MAX * FLT_MAX);
    /* a NaN or an infinity makes the norm so */
    mlp_fold_sq_add(&c, (const float[]){INFINITY}, 1);
    ck_assert(isinf(mlp_fold_sq_value(&c)));
    mlp_fold_sq_add(&c, (const float[]){NAN}, 1);
    ck_assert(isnan(mlp_fold_sq_value(&c)));
}
END_TEST

Suite *fold_suite(void);
Suite *fold_suite(void)
{
    Suite *s = suite_create("fold");
    TCase *core = tcase_create("core");

    tcase_add_test(core, test_micro);
    tcase_add_test(core, test_rank);
    tcase_add_test(core, test_order);
    tcase_add_test(core, test_chain);
    tcase_add_test(core, test_sq_exact);
    suite_add_tcase(s, core);
    return s;
}

MLP_CHECK_MAIN(fold_suite)
