/*
 * Tests of activations: oneDNN's eltwise forward and backward against the
 * closed forms over the table's x, ReLU's derivative at 0, the maxima of
 * the derivatives, and bad input.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "mlptrain/activations.h"
#include "mlptrain/error.h"
#include "testutil.h"

/* oneDNN's float32 exp/tanh kernels are polynomial approximations: a few
 * ulp of values <= 1, far below 1e-5. */
#define TOL 1e-5

static float xs[MLP_ACTIVATIONS_N];

static void fill_x(void)
{
    for (int i = 0; i < MLP_ACTIVATIONS_N; i++)
        xs[i] = (float)(-8.0 + 0.1 * i);
}

START_TEST(test_relu)
{
    float y[MLP_ACTIVATIONS_N], dy[MLP_ACTIVATIONS_N];

    fill_x();
    ck_assert_int_eq(mlp_activation_eval(MLP_ACT_RELU, xs, MLP_ACTIVATIONS_N,
                                         y, dy),
                     0);
    for (int i = 0; i < MLP_ACTIVATIONS_N; i++) {
        double x = xs[i];

        ck_assert_double_eq_tol(y[i], x > 0 ? x : 0.0, TOL);
        /* 0 for x <= 0 (the reference takes 0 at x = 0), 1 for x > 0 */
        ck_assert_double_eq(dy[i], x > 0 ? 1.0 : 0.0);
    }
    ck_assert_double_eq(xs[80], 0.0);
    ck_assert_double_eq(dy[80], 0.0);
}
END_TEST

START_TEST(test_sigmoid)
{
    float y[MLP_ACTIVATIONS_N], dy[MLP_ACTIVATIONS_N];
    int top = 0;

    fill_x();
    ck_assert_int_eq(mlp_activation_eval(MLP_ACT_SIGMOID, xs,
                                         MLP_ACTIVATIONS_N, y, dy),
                     0);
    for (int i = 0; i < MLP_ACTIVATIONS_N; i++) {
        double s = 1.0 / (1.0 + exp(-(double)xs[i]));

        ck_assert_double_eq_tol(y[i], s, TOL);
        ck_assert_double_eq_tol(dy[i], s * (1.0 - s), TOL);
        if (dy[i] > dy[top])
            top = i;
    }
    ck_assert_int_eq(top, 80); /* largest at x = 0 */
    ck_assert_double_eq_tol(dy[80], 0.25, TOL);
}
END_TEST

START_TEST(test_tanh)
{
    float y[MLP_ACTIVATIONS_N], dy[MLP_ACTIVATIONS_N];
    int top = 0;

    fill_x();
    ck_assert_int_eq(mlp_activation_eval(MLP_ACT_TANH, xs, MLP_ACTIVATIONS_N,
                                         y, dy),
                     0);
    for (int i = 0; i < MLP_ACTIVATIONS_N; i++) {
        double t = tanh((double)xs[i]);

        ck_assert_double_eq_tol(y[i], t, TOL);
        ck_assert_double_eq_tol(dy[i], 1.0 - t * t, TOL);
        if (dy[i] > dy[top])
            top = i;
    }
    ck_assert_int_eq(top, 80);
    ck_assert_double_eq_tol(dy[80], 1.0, TOL);
}
END_TEST

START_TEST(test_forward_only_and_odd_sizes)
{
    /* No derivative asked; a length that is no multiple of a vector. */
    float x[7] = {-3, -1, -0.5f, 0, 0.5f, 1, 3}, y[7];

    ck_assert_int_eq(mlp_activation_eval(MLP_ACT_TANH, x, 7, y, NULL), 0);
    for (int i = 0; i < 7; i++)
        ck_assert_double_eq_tol(y[i], tanh((double)x[i]), TOL);
}
END_TEST

START_TEST(test_bad_activation)
{
    float x[1] = {0}, y[1];

    ck_assert_int_eq(mlp_activation_eval((mlp_act_t)7, x, 1, y, NULL),
                     MLP_EINVAL);
    ck_assert_msg_has("activation");
}
END_TEST

START_TEST(test_empty)
{
    ck_assert_int_eq(mlp_activation_eval(MLP_ACT_RELU, NULL, 0, NULL, NULL),
                     0);
}
END_TEST

Suite *activations_suite(void);
Suite *activations_suite(void)
{
    Suite *s = suite_create("activations");
    TCase *core = tu_tcase(s, "core", 0);
    TCase *errors = tu_tcase(s, "errors", 0);

    tcase_add_test(core, test_relu);
    tcase_add_test(core, test_sigmoid);
    tcase_add_test(core, test_tanh);
    tcase_add_test(core, test_forward_only_and_odd_sizes);
    tcase_add_test(errors, test_bad_activation);
    tcase_add_test(errors, test_empty);
    return s;
}

MLP_CHECK_MAIN(activations_suite)
