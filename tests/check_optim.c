/*
 * Tests of optim: one and two steps of SGD, momentum and weight decay
 * against hand-computed values; option validation.
 */
#include <math.h>
#include <stdlib.h>

#include "check_main.h"
#include "mlptrain/error.h"
#include "mlptrain/optim.h"

/* A few float roundings of O(1) values. */
#define TOL 1e-6

enum { N = 37 }; /* not a multiple of any vector width: the tail runs too */

static void fill(float *p, float *g)
{
    for (int i = 0; i < N; i++) {
        p[i] = 0.5f - 0.03f * (float)i;
        g[i] = (float)((i % 5) - 2) * 0.25f;
    }
}

START_TEST(test_sgd)
{
    mlp_optim_opts_t o = {.lr = 0.1f};
    mlp_optim_t *opt;
    float p[N], g[N], p0[N];
    size_t n = 1;

    fill(p, g);
    for (int i = 0; i < N; i++)
        p0[i] = p[i];
    ck_assert_int_eq(mlp_optim_create(&o, N, &opt), 0);
    ck_assert_ptr_null(mlp_optim_state(opt, &n));
    ck_assert_uint_eq(n, 0);
    mlp_optim_step(opt, p, g);
    for (int i = 0; i < N; i++)
        ck_assert_double_eq_tol(p[i], p0[i] - 0.1 * g[i], TOL);
    mlp_optim_destroy(opt);
}
END_TEST

START_TEST(test_sgd_hand)
{
    /* p = 1, g = 2, lr 0.5: p = 1 - 0.5 * 2 = 0; then p = 0 - 1 = -1. */
    mlp_optim_opts_t o = {.lr = 0.5f};
    mlp_optim_t *opt;
    float p[1] = {1.0f}, g[1] = {2.0f};

    ck_assert_int_eq(mlp_optim_create(&o, 1, &opt), 0);
    mlp_optim_step(opt, p, g);
    ck_assert_double_eq_tol(p[0], 0.0, TOL);
    mlp_optim_step(opt, p, g);
    ck_assert_double_eq_tol(p[0], -1.0, TOL);
    mlp_optim_destroy(opt);
}
END_TEST

START_TEST(test_momentum)
{
    /*
     * PyTorch: v = m v + g; p -= lr v.  p = 1, g = 2, lr 0.1, m 0.9:
     * step 1: v = 2,           p = 1 - 0.2 = 0.8
     * step 2: v = 1.8 + 2 = 3.8, p = 0.8 - 0.38 = 0.42
     */
    mlp_optim_opts_t o = {.lr = 0.1f, .momentum = 0.9f};
    mlp_optim_t *opt;
    float p[N], g[N], *v;
    size_t n = 0;

    for (int i = 0; i < N; i++) {
        p[i] = 1.0f;
        g[i] = 2.0f;
    }
    ck_assert_int_eq(mlp_optim_create(&o, N, &opt), 0);
    v = mlp_optim_state(opt, &n);
    ck_assert_ptr_nonnull(v);
    ck_assert_uint_eq(n, N);
    for (int i = 0; i < N; i++)
        ck_assert_float_eq(v[i], 0.0f);
    mlp_optim_step(opt, p, g);
    for (int i = 0; i < N; i++) {
        ck_assert_double_eq_tol(v[i], 2.0, TOL);
        ck_assert_double_eq_tol(p[i], 0.8, TOL);
    }
    mlp_optim_step(opt, p, g);
    for (int i = 0; i < N; i++) {
        ck_assert_double_eq_tol(v[i], 3.8, TOL);
        ck_assert_double_eq_tol(p[i], 0.42, TOL);
    }
    mlp_optim_destroy(opt);
}
END_TEST

START_TEST(test_weight_decay)
{
    /*
     * g' = g + wd p.  SGD: p = 2, g = 1, lr 0.1, wd 0.5: g' = 2, p = 1.8.
     * With momentum 0.5: step 1 as SGD (v = 2, p = 1.8); step 2:
     * g' = 1 + 0.9 = 1.9, v = 1 + 1.9 = 2.9, p = 1.8 - 0.29 = 1.51.
     */
    mlp_optim_opts_t o = {.lr = 0.1f, .weight_decay = 0.5f};
    mlp_optim_t *opt;
    float p[N], g[N];

    for (int i = 0; i < N; i++) {
        p[i] = 2.0f;
        g[i] = 1.0f;
    }
    ck_assert_int_eq(mlp_optim_create(&o, N, &opt), 0);
    mlp_optim_step(opt, p, g);
    for (int i = 0; i < N; i++)
        ck_assert_double_eq_tol(p[i], 1.8, TOL);
    mlp_optim_destroy(opt);

    o.momentum = 0.5f;
    for (int i = 0; i < N; i++)
        p[i] = 2.0f;
    ck_assert_int_eq(mlp_optim_create(&o, N, &opt), 0);
    mlp_optim_step(opt, p, g);
    for (int i = 0; i < N; i++)
        ck_assert_double_eq_tol(p[i], 1.8, TOL);
    mlp_optim_step(opt, p, g);
    for (int i = 0; i < N; i++)
        ck_assert_double_eq_tol(p[i], 1.51, TOL);
    mlp_optim_destroy(opt);
}
END_TEST

START_TEST(test_zero_stays_zero)
{
    /* Padding: zero parameters with zero gradients stay zero. */
    mlp_optim_opts_t o = {.lr = 0.1f, .momentum = 0.9f, .weight_decay = 1e-4f};
    mlp_optim_t *opt;
    float p[N] = {0}, g[N] = {0};

    ck_assert_int_eq(mlp_optim_create(&o, N, &opt), 0);
    for (int k = 0; k < 3; k++)
        mlp_optim_step(opt, p, g);
    for (int i = 0; i < N; i++)
        ck_assert_float_eq(p[i], 0.0f);
    mlp_optim_destroy(opt);
}
END_TEST

START_TEST(test_large_block)
{
    /* Large enough for the threaded path; odd so that chunks have tails. */
    enum { BIG = 100003 };
    mlp_optim_opts_t o = {.lr = 0.05f, .momentum = 0.8f,
                          .weight_decay = 0.01f};
    mlp_optim_t *opt;
    float *p = malloc(BIG * sizeof(float)), *g = malloc(BIG * sizeof(float));

    ck_assert(p && g);
    for (int i = 0; i < BIG; i++) {
        p[i] = (float)((i % 17) - 8) / 8;
        g[i] = (float)((i % 11) - 5) / 10;
    }
    ck_assert_int_eq(mlp_optim_create(&o, BIG, &opt), 0);
    mlp_optim_step(opt, p, g);
    mlp_optim_step(opt, p, g);
    for (int i = 0; i < BIG; i++) {
        double p0 = (double)((i % 17) - 8) / 8;
        double gi = (double)((i % 11) - 5) / 10;
        double v = gi + 0.01 * p0, p1 = p0 - 0.05 * v;

        v = 0.8 * v + gi + 0.01 * p1;
        ck_assert_double_eq_tol(p[i], p1 - 0.05 * v, TOL);
    }
    mlp_optim_destroy(opt);
    free(p);
    free(g);
}
END_TEST

static void expect_einval(float lr, float m, float wd, size_t n)
{
    mlp_optim_opts_t o = {.lr = lr, .momentum = m, .weight_decay = wd};
    mlp_optim_t *opt = (mlp_optim_t *)&o; /* must be reset to NULL */

    mlp_error_clear();
    ck_assert_int_eq(mlp_optim_create(&o, n, &opt), MLP_EINVAL);
    ck_assert_ptr_null(opt);
    ck_assert_str_ne(mlp_error_message(), "");
}

START_TEST(test_bad_options)
{
    expect_einval(0.0f, 0, 0, N);
    expect_einval(-0.1f, 0, 0, N);
    expect_einval(NAN, 0, 0, N);
    expect_einval(INFINITY, 0, 0, N);
    expect_einval(0.1f, -0.1f, 0, N);
    expect_einval(0.1f, 1.0f, 0, N);
    expect_einval(0.1f, NAN, 0, N);
    expect_einval(0.1f, 0, -1e-4f, N);
    expect_einval(0.1f, 0, NAN, N);
    expect_einval(0.1f, 0, INFINITY, N);
    expect_einval(0.1f, 0, 0, 0);
    ck_assert_int_eq(mlp_optim_create(NULL, N, NULL), MLP_EINVAL);
    mlp_optim_destroy(NULL);
}
END_TEST

Suite *optim_suite(void);
Suite *optim_suite(void)
{
    Suite *s = suite_create("optim");
    TCase *core = tcase_create("core");
    TCase *errors = tcase_create("errors");

    tcase_add_test(core, test_sgd);
    tcase_add_test(core, test_sgd_hand);
    tcase_add_test(core, test_momentum);
    tcase_add_test(core, test_weight_decay);
    tcase_add_test(core, test_zero_stays_zero);
    tcase_add_test(core, test_large_block);
    suite_add_tcase(s, core);
    tcase_add_test(errors, test_bad_options);
    suite_add_tcase(s, errors);
    return s;
}

MLP_CHECK_MAIN(optim_suite)
