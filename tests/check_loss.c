/*
 * Tests of loss: softmax cross-entropy values against hand-computed ones,
 * stability for huge logits, the gradient, argmax ties and correct counts.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "mlptrain/loss.h"
#include "testutil.h"

/* float32 results of expf/logf on O(1) values: a few ulp, far below 1e-6. */
#define TOL 1e-6

START_TEST(test_uniform_logits)
{
    /* Equal logits: every class has p = 1/c, loss log c per row. */
    enum { N = 3, C = 10 };
    float z[N * C], dz[N * C];
    int32_t y[N] = {0, 4, 9};
    double loss = 0;
    size_t correct = 0;

    for (int i = 0; i < N * C; i++)
        z[i] = 0.25f;
    mlp_loss_softmax_xent(z, y, N, C, dz, &loss, &correct);
    ck_assert_double_eq_tol(loss, N * log(C), N * TOL);
    /* argmax of a tie is class 0: only the first row is right. */
    ck_assert_uint_eq(correct, 1);
    for (int i = 0; i < N; i++)
        for (int j = 0; j < C; j++)
            ck_assert_double_eq_tol(dz[i * C + j],
                                    (0.1 - (j == y[i])) / N, TOL);
}
END_TEST

START_TEST(test_two_classes)
{
    /* z = (1, 3), y = 0: p = (1, e^2) / (1 + e^2), loss = log(1 + e^2). */
    float z[2] = {1.0f, 3.0f}, dz[2];
    int32_t y[1] = {0};
    double loss = 0, p0 = 1.0 / (1.0 + exp(2.0));
    size_t correct = 0;

    mlp_loss_softmax_xent(z, y, 1, 2, dz, &loss, &correct);
    ck_assert_double_eq_tol(loss, log1p(exp(2.0)), TOL);
    ck_assert_uint_eq(correct, 0);
    ck_assert_double_eq_tol(dz[0], p0 - 1.0, TOL);
    ck_assert_double_eq_tol(dz[1], 1.0 - p0, TOL);

    /* Same row, label 1; the sum accumulates onto what is there. */
    y[0] = 1;
    mlp_loss_softmax_xent(z, y, 1, 2, NULL, &loss, &correct);
    ck_assert_double_eq_tol(loss, log1p(exp(2.0)) + log1p(exp(-2.0)), TOL);
    ck_assert_uint_eq(correct, 1);
}
END_TEST

START_TEST(test_huge_logits)
{
    /* exp(1e4) overflows float and double: log-sum-exp must not. */
    float z[2 * 3] = {1e4f, 0.0f, -1e4f, 1e4f, 1e4f - 2.0f, 0.0f}, dz[6];
    int32_t y[2] = {1, 1};
    double loss = 0;
    size_t correct = 0;

    mlp_loss_softmax_xent(z, y, 2, 3, dz, &loss, &correct);
    ck_assert(isfinite(loss));
    /* Row 0: 1e4 - 0 + log(1 + e^-1e4 + ...) = 1e4; row 1: 2 + log(1+e^-2). */
    ck_assert_double_eq_tol(loss, 1e4 + 2.0 + log1p(exp(-2.0)), 1e-3);
    for (int i = 0; i < 6; i++)
        ck_assert(isfinite(dz[i]));
    ck_assert_double_eq_tol(dz[0], 0.5, TOL);  /* (1 - 0) / 2 */
    ck_assert_double_eq_tol(dz[1], -0.5, TOL); /* (0 - 1) / 2 */
    ck_assert_uint_eq(correct, 0);
}
END_TEST

START_TEST(test_gradient_rows_sum_to_zero)
{
    enum { N = 16, C = 7 };
    float z[N * C], dz[N * C];
    int32_t y[N];
    double loss = 0, ref = 0;
    size_t correct = 0;

    srand(3);
    for (int i = 0; i < N * C; i++)
        z[i] = (float)(rand() % 2001 - 1000) / 100.0f;
    for (int i = 0; i < N; i++)
        y[i] = rand() % C;
    mlp_loss_softmax_xent(z, y, N, C, dz, &loss, &correct);
    for (int i = 0; i < N; i++) {
        double s = 0, m = -INFINITY, se = 0;

        for (int j = 0; j < C; j++) {
            s += dz[i * C + j];
            m = fmax(m, z[i * C + j]);
        }
        ck_assert_double_eq_tol(s, 0.0, TOL);
        for (int j = 0; j < C; j++)
            se += exp(z[i * C + j] - m);
        ref += m + log(se) - z[i * C + y[i]];
        /* The label's entry is p - 1 < 0, the others p > 0. */
        ck_assert(dz[i * C + y[i]] <= 0);
    }
    ck_assert_double_eq_tol(loss, ref, N * 1e-5);
}
END_TEST

START_TEST(test_argmax_ties_and_count)
{
    float r1[4] = {1, 3, 3, 2}, r2[4] = {-1, -1, -1, -1}, r3[1] = {5};
    float z[3 * 3] = {0, 2, 1, /* argmax 1 */
                      5, 5, 0, /* argmax 0 (tie) */
                      0, 1, 9}; /* argmax 2 */
    int32_t y[3] = {1, 1, 2};
    double loss = 0;
    size_t correct = 10;

    ck_assert_uint_eq(mlp_loss_argmax(r1, 4), 1);
    ck_assert_uint_eq(mlp_loss_argmax(r2, 4), 0);
    ck_assert_uint_eq(mlp_loss_argmax(r3, 1), 0);
    mlp_loss_softmax_xent(z, y, 3, 3, NULL, &loss, &correct);
    ck_assert_uint_eq(correct, 12); /* adds to what is there */
}
END_TEST

START_TEST(test_nonfinite)
{
    float z[2 * 2] = {NAN, 0, 0, 0}, dz[4];
    int32_t y[2] = {0, 1};
    double loss = 0;
    size_t correct = 0;

    mlp_loss_softmax_xent(z, y, 2, 2, dz, &loss, &correct);
    ck_assert(!isfinite(loss));

    /* A label out of range gives a NaN loss, not a stray read. */
    z[0] = 0;
    y[1] = 2;
    loss = 0;
    mlp_loss_softmax_xent(z, y, 2, 2, dz, &loss, &correct);
    ck_assert(isnan(loss));
}
END_TEST

START_TEST(test_empty_batch)
{
    double loss = 1.5;
    size_t correct = 2;

    mlp_loss_softmax_xent(NULL, NULL, 0, 10, NULL, &loss, &correct);
    ck_assert_double_eq(loss, 1.5);
    ck_assert_uint_eq(correct, 2);
}
END_TEST

/*
 * Label smoothing by hand: logits (1, 2, 3) and (0.5, -1, 2), labels 0 and
 * 2, X = 0.3, c = 3: targets (0.8, 0.1, 0.1) and (0.1, 0.1, 0.8).  Row 1:
 * log softmax = z - log(e + e^2 + e^3) = z - 3.40760596, so the loss is
 * 0.8 * 2.40760596 + 0.1 * 1.40760596 + 0.1 * 0.40760596 = 2.10760596;
 * row 2: lse = log(e^0.5 + e^-1 + e^2) = 2.24131130, loss 0.1 * 1.74131130
 * + 0.1 * 3.24131130 + 0.8 * 0.24131130 = 0.69131130 (unsmoothed the two
 * rows would give 2.40760596 + 0.24131130).  The gradient of the
 * mean is (softmax - t) / 2; accuracy counts the argmax as ever.
 */
START_TEST(test_label_smoothing_by_hand)
{
    const float z[6] = {1, 2, 3, 0.5f, -1, 2};
    const int32_t y[2] = {0, 2};
    const double t[6] = {0.8, 0.1, 0.1, 0.1, 0.1, 0.8};
    const double lse[2] = {3.40760596444438, 2.24131129665716};
    float dz[6];
    double loss = 0;
    size_t correct = 0;

    mlp_loss_softmax_xent_smooth(z, y, 2, 3, 0.3f, dz, &loss, &correct);
    ck_assert_double_eq_tol(loss, 2.10760596444438 + 0.69131129665716,
                            2 * TOL);
    ck_assert_uint_eq(correct, 1); /* row 2: argmax 2 = label */
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++)
            ck_assert_double_eq_tol(dz[i * 3 + j],
                                    (exp(z[i * 3 + j] - lse[i]) -
                                     t[i * 3 + j]) / 2,
                                    TOL);
}
END_TEST

/* X = 0 is the plain loss bit for bit, and X > 0 moves it. */
START_TEST(test_label_smoothing_zero_is_plain)
{
    enum { N = 7, C = 5 };
    float z[N * C], d0[N * C], d1[N * C];
    int32_t y[N];
    double l0 = 0, l1 = 0, l2 = 0;
    size_t c0 = 0, c1 = 0, c2 = 0;

    for (int i = 0; i < N * C; i++)
        z[i] = (float)sin(1.7 * i) * 3;
    for (int i = 0; i < N; i++)
        y[i] = (i * 3) % C;
    mlp_loss_softmax_xent(z, y, N, C, d0, &l0, &c0);
    mlp_loss_softmax_xent_smooth(z, y, N, C, 0.0f, d1, &l1, &c1);
    ck_assert(memcmp(&l0, &l1, sizeof(l0)) == 0);
    ck_assert(memcmp(d0, d1, sizeof(d0)) == 0);
    ck_assert_uint_eq(c0, c1);
    mlp_loss_softmax_xent_smooth(z, y, N, C, 0.1f, d1, &l2, &c2);
    ck_assert(fabs(l2 - l0) > 1e-3);
    ck_assert_uint_eq(c2, c0);
    /* Rows of the smoothed gradient still sum to zero. */
    for (int i = 0; i < N; i++) {
        double s = 0;

        for (int j = 0; j < C; j++)
            s += d1[i * C + j];
        ck_assert_double_eq_tol(s, 0, TOL);
    }
}
END_TEST

Suite *loss_suite(void);
Suite *loss_suite(void)
{
    Suite *s = suite_create("loss");
    TCase *core = tu_tcase(s, "core", 0);
    TCase *errors = tu_tcase(s, "errors", 0);

    tcase_add_test(core, test_uniform_logits);
    tcase_add_test(core, test_two_classes);
    tcase_add_test(core, test_gradient_rows_sum_to_zero);
    tcase_add_test(core, test_argmax_ties_and_count);
    tcase_add_test(core, test_label_smoothing_by_hand);
    tcase_add_test(core, test_label_smoothing_zero_is_plain);
    tcase_add_test(errors, test_huge_logits);
    tcase_add_test(errors, test_nonfinite);
    tcase_add_test(errors, test_empty_batch);
    return s;
}

MLP_CHECK_MAIN(loss_suite)
