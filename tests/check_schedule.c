/*
 * Tests of schedule: each schedule's rate at chosen steps, computed by
 * hand in the comments (a run of 5 epochs of 10 batches: T = 50 steps,
 * peak 0.1), the warm-up and its rounding, and the usage errors.
 */
#include <math.h>
#include <string.h>

#include "check_main.h"
#include "mlptrain/error.h"
#include "mlptrain/schedule.h"
#include "testutil.h"

#define TOL 1e-12

static mlp_sched_t sched(mlp_sched_kind_t kind)
{
    mlp_sched_t s;

    memset(&s, 0, sizeof(s));
    s.kind = kind;
    s.lr = 0.1;
    s.lr_gamma = 0.1;
    s.steps_per_epoch = 10;
    s.total_steps = 50;
    return s;
}

static double lr_of(const mlp_sched_t *s, uint64_t step)
{
    return mlp_sched_lr(s, step);
}

/* The rate at each {step, rate} pair is rate, within TOL.  A macro: a
 * failure names the test's line. */
#define ck_assert_rates(s, ...)                                          \
    do {                                                                 \
        const struct {                                                   \
            uint64_t step;                                               \
            double rate;                                                 \
        } want_[] = {__VA_ARGS__};                                       \
        for (size_t i_ = 0; i_ < sizeof(want_) / sizeof(want_[0]); i_++) \
            ck_assert_msg(fabs(lr_of((s), want_[i_].step) -              \
                               want_[i_].rate) < TOL,                    \
                          "step %llu: rate %.17g, not %.17g",            \
                          (unsigned long long)want_[i_].step,            \
                          lr_of((s), want_[i_].step), want_[i_].rate);   \
    } while (0)

START_TEST(test_constant)
{
    /* No warm-up: exactly the given float rate, every step. */
    mlp_sched_t s = sched(MLP_SCHED_CONSTANT);

    s.lr = 0.1f;
    ck_assert_int_eq(mlp_sched_init(&s), 0);
    ck_assert_uint_eq(s.warmup_steps, 0);
    for (uint64_t k = 0; k < 60; k++)
        ck_assert((float)lr_of(&s, k) == 0.1f);
}
END_TEST

START_TEST(test_warmup)
{
    /* 0.5 epochs = 5 steps: 0.02, 0.04, ..., 0.1 at step 4, then 0.1. */
    mlp_sched_t s = sched(MLP_SCHED_CONSTANT);

    s.warmup = 0.5;
    ck_assert_int_eq(mlp_sched_init(&s), 0);
    ck_assert_uint_eq(s.warmup_steps, 5);
    ck_assert_rates(&s, {0, 0.02}, {2, 0.06}, {4, 0.1}, {5, 0.1}, {49, 0.1});
    /* 0.25 epochs = 2.5 steps: rounds to 3; 0.1f (0.100000001 epochs)
     * of 600 batches stays 60 steps. */
    s.warmup = 0.25;
    ck_assert_int_eq(mlp_sched_init(&s), 0);
    ck_assert_uint_eq(s.warmup_steps, 3);
    ck_assert_double_eq_tol(lr_of(&s, 0), 0.1 / 3, TOL);
    s.warmup = 0.1f;
    s.steps_per_epoch = 600;
    s.total_steps = 3000;
    ck_assert_int_eq(mlp_sched_init(&s), 0);
    ck_assert_uint_eq(s.warmup_steps, 60);
    /* A tiny warm-up is at least one step (at the peak). */
    s.warmup = 1e-6;
    ck_assert_int_eq(mlp_sched_init(&s), 0);
    ck_assert_uint_eq(s.warmup_steps, 1);
    ck_assert_double_eq_tol(lr_of(&s, 0), 0.1, TOL);
    /* The whole run may be warm-up. */
    s = sched(MLP_SCHED_COSINE);
    s.warmup = 5;
    ck_assert_int_eq(mlp_sched_init(&s), 0);
    ck_assert_rates(&s, {24, 0.05}, {49, 0.1});
}
END_TEST

START_TEST(test_step)
{
    /* Every 2 epochs (20 steps) times 0.5: 0.1 up to step 19, 0.05 from
     * step 20 to 39, 0.025 from 40. */
    mlp_sched_t s = sched(MLP_SCHED_STEP);

    s.lr_step = 2;
    s.lr_gamma = 0.5;
    ck_assert_int_eq(mlp_sched_init(&s), 0);
    ck_assert_rates(&s, {0, 0.1}, {19, 0.1}, {20, 0.05}, {39, 0.05},
                    {40, 0.025}, {49, 0.025});
    /* Half epochs (5 steps): step 12 is after 2 cuts: 0.025. */
    s.lr_step = 0.5;
    ck_assert_int_eq(mlp_sched_init(&s), 0);
    ck_assert_double_eq_tol(lr_of(&s, 12), 0.025, TOL);
    /* With 1 epoch of warm-up (10 steps): 0.01 at step 0, then the cuts
     * counted from the run's start: step 19 0.1 * 0.5^3 (S = 5). */
    s.warmup = 1;
    ck_assert_int_eq(mlp_sched_init(&s), 0);
    ck_assert_rates(&s, {0, 0.01}, {9, 0.1}, {19, 0.0125});
}
END_TEST

START_TEST(test_cosine)
{
    /*
     * No warm-up, floor 0: q = step / 50; step 0: 0.1; step 25: 0.05;
     * step 49: 0.1 (1 + cos(0.98 pi)) / 2 = 0.05 (1 - cos(0.02 pi)),
     * cos(0.02 pi) = 1 - x^2/2 + x^4/24 - ... (x = 0.0628318531)
     * = 0.998026728428, so 9.8663578586e-5.
     */
    mlp_sched_t s = sched(MLP_SCHED_COSINE);

    ck_assert_int_eq(mlp_sched_init(&s), 0);
    ck_assert_rates(&s, {0, 0.1}, {25, 0.05});
    ck_assert_double_eq_tol(lr_of(&s, 49), 9.8663578586e-5, 1e-14);
    ck_assert_double_eq(lr_of(&s, 1000), lr_of(&s, 49));
    /*
     * 1 epoch of warm-up (W = 10), floor 0.01: 0.01 at step 0, 0.1 at
     * 9 and 10 (q = 0), step 30: q = 20/40, 0.01 + 0.09 / 2 = 0.055;
     * step 20: q = 1/4, 0.01 + 0.09 (1 + sqrt(2)/2) / 2.
     */
    s.warmup = 1;
    s.lr_min = 0.01;
    ck_assert_int_eq(mlp_sched_init(&s), 0);
    ck_assert_rates(&s, {0, 0.01}, {9, 0.1}, {10, 0.1}, {30, 0.055},
                    {20, 0.01 + 0.045 * (1 + sqrt(0.5))});
    /* Falling after the warm-up. */
    for (uint64_t k = 10; k < 49; k++)
        ck_assert(lr_of(&s, k + 1) < lr_of(&s, k));
}
END_TEST

START_TEST(test_onecycle)
{
    /*
     * No warm-up: up over U = 0.3 * 50 = 15 steps from 0.1/25 = 0.004 to
     * 0.1 at step 14; step 7 is half way: 0.052.  Down to the floor at
     * step 49 (0.001); half way, q = (step + 1 - 15) / 35 = 1/2, is not a
     * step: step 31 is q = 17/35.
     */
    mlp_sched_t s = sched(MLP_SCHED_ONECYCLE);

    s.lr_min = 0.001;
    ck_assert_int_eq(mlp_sched_init(&s), 0);
    ck_assert_uint_eq(s.rise_steps, 15);
    ck_assert_rates(&s, {0, 0.004}, {7, 0.052}, {14, 0.1},
                    {31, 0.001 + 0.099 * (1 + cos(M_PI * 17 / 35)) / 2},
                    {49, 0.001});
    /* --warmup 1 sets the rise (10 steps): step 3 is pct 3/9, cos(pi/3)
     * = 1/2: 0.004 + 0.096 / 4 = 0.028; step 9 the peak. */
    s.warmup = 1;
    ck_assert_int_eq(mlp_sched_init(&s), 0);
    ck_assert_rates(&s, {3, 0.028}, {9, 0.1});
    /* A one-step run is the peak. */
    s.warmup = 0;
    s.total_steps = 1;
    s.steps_per_epoch = 1;
    ck_assert_int_eq(mlp_sched_init(&s), 0);
    ck_assert_double_eq_tol(lr_of(&s, 0), 0.1, TOL);
}
END_TEST

static void expect_error(mlp_sched_t s, int rc, const char *option)
{
    mlp_error_clear();
    ck_assert_int_eq(mlp_sched_init(&s), rc);
    if (option != NULL)
        ck_assert_msg_has(option);
}

START_TEST(test_errors)
{
    mlp_sched_t s = sched(MLP_SCHED_STEP);

    /* what the options' rules refuse first (options.c) */
    expect_error(s, MLP_EINVAL, "--lr-step"); /* step without --lr-step */
    s = sched(MLP_SCHED_COSINE);
    s.lr_min = 0.2;
    expect_error(s, MLP_EINVAL, "--lr-min");
    s = sched(MLP_SCHED_CONSTANT);
    s.warmup = 5.1; /* 51 steps of 50 */
    expect_error(s, MLP_EUSAGE, "--warmup");
    s.warmup = 5;
    expect_error(s, 0, NULL);
    s = sched(MLP_SCHED_CONSTANT);
    s.lr = 0;
    expect_error(s, MLP_EINVAL, NULL);
    s.lr = NAN;
    expect_error(s, MLP_EINVAL, NULL);
    s = sched(MLP_SCHED_CONSTANT);
    s.steps_per_epoch = 0;
    expect_error(s, MLP_EINVAL, NULL);
    s = sched((mlp_sched_kind_t)9);
    expect_error(s, MLP_EINVAL, NULL);
    ck_assert_str_eq(mlp_sched_names[MLP_SCHED_ONECYCLE], "onecycle");
}
END_TEST

/*
 * Issue 20, bugs 3 and 6: an epoch count that becomes steps is checked
 * against the run's steps before the conversion (a double above 2^64 has
 * no uint64_t: --lr-step 1e20 became 0 steps and divided by it, SIGFPE;
 * --warmup 1e30 became 0 steps and was silently ignored); the rates the
 * schedule reaches must hold as floats (--lr-gamma 3e38 overflowed in
 * epoch 3, 1e-30 rounded the rate to 0).
 */
START_TEST(test_limits)
{
    mlp_sched_t s = sched(MLP_SCHED_STEP);
    static const double huge[] = {1e20, 1.8446744073709552e19, 1e30, 3e38,
                                  INFINITY, NAN, 5.1};

    for (size_t i = 0; i < sizeof(huge) / sizeof(huge[0]); i++) {
        s = sched(MLP_SCHED_STEP);
        s.lr_step = huge[i];
        /* NaN is no --lr-step > 0 (the rules' case: no option parses to
         * NaN) */
        expect_error(s, isnan(huge[i]) ? MLP_EINVAL : MLP_EUSAGE,
                     "--lr-step");
        s = sched(MLP_SCHED_CONSTANT);
        s.warmup = huge[i];
        expect_error(s, MLP_EUSAGE, "--warmup");
    }
    /* the longest: a cut at the last step (one at step 50 would never
     * come); a warm-up of the whole run ends at its last step */
    s = sched(MLP_SCHED_STEP);
    s.lr_step = 5;
    expect_error(s, MLP_EUSAGE, "--lr-step");
    s.lr_step = 4.9;
    ck_assert_int_eq(mlp_sched_init(&s), 0);
    ck_assert_uint_eq(s.step_steps, 49);
    ck_assert_rates(&s, {48, 0.1}, {49, 0.01});
    s = sched(MLP_SCHED_CONSTANT);
    s.warmup = 5;
    ck_assert_int_eq(mlp_sched_init(&s), 0);
    ck_assert_uint_eq(s.warmup_steps, 50);
    /* the smallest: one step */
    s = sched(MLP_SCHED_STEP);
    s.lr_step = 1e-45;
    s.lr_gamma = 0.5; /* 49 cuts: 0.1 x 0.5^49, a float */
    ck_assert_int_eq(mlp_sched_init(&s), 0);
    ck_assert_uint_eq(s.step_steps, 1);
    /* 49 cuts of 3e38: the rate overflows a float; 2 cuts of 10 do not */
    s = sched(MLP_SCHED_STEP);
    s.lr_step = 0.1;
    s.lr_gamma = 3e38;
    expect_error(s, MLP_EUSAGE, "--lr-gamma");
    ck_assert_msg_has("cannot hold");
    s.lr_gamma = 1e-30; /* 0.1 x 1e-1470: 0 as a float */
    expect_error(s, MLP_EUSAGE, "--lr-gamma");
    ck_assert_msg_has("rounds to 0");
    s = sched(MLP_SCHED_STEP);
    s.lr_step = 2;
    s.lr_gamma = 10;
    ck_assert_int_eq(mlp_sched_init(&s), 0);
    ck_assert_double_eq_tol(lr_of(&s, 49), 10.0, 1e-9);
    /* a warm-up's first rate lr / W and onecycle's lr / 25 as floats */
    s = sched(MLP_SCHED_CONSTANT);
    s.lr = 1e-44;
    s.warmup = 5;
    expect_error(s, MLP_EUSAGE, "--warmup");
    s = sched(MLP_SCHED_ONECYCLE);
    s.lr = 1e-44;
    expect_error(s, MLP_EUSAGE, "--lr");
}
END_TEST

Suite *schedule_suite(void);
Suite *schedule_suite(void)
{
    Suite *s = suite_create("schedule");
    TCase *core = tu_tcase(s, "core", 0);
    TCase *errors = tu_tcase(s, "errors", 0);

    tcase_add_test(core, test_constant);
    tcase_add_test(core, test_warmup);
    tcase_add_test(core, test_step);
    tcase_add_test(core, test_cosine);
    tcase_add_test(core, test_onecycle);
    tcase_add_test(errors, test_errors);
    tcase_add_test(errors, test_limits);
    return s;
}

MLP_CHECK_MAIN(schedule_suite)
