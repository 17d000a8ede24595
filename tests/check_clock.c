/*
 * Tests of clock: monotonic seconds.
 */
#include <time.h>

#include "check_main.h"
#include "mlptrain/clock.h"
#include "testutil.h"

START_TEST(test_monotonic)
{
    double a = mlp_clock_now(), b;
    struct timespec ts = {0, 20 * 1000 * 1000};

    ck_assert(a > 0.0);
    nanosleep(&ts, NULL);
    b = mlp_clock_now();
    ck_assert(b - a >= 0.019);
    ck_assert(b - a < 10.0);
}
END_TEST

START_TEST(test_never_back)
{
    double prev = mlp_clock_now();

    for (int i = 0; i < 100000; i++) {
        double t = mlp_clock_now();

        ck_assert(t >= prev);
        prev = t;
    }
}
END_TEST

static Suite *clock_suite(void)
{
    Suite *s = suite_create("clock");
    TCase *core = tu_tcase(s, "core", 0);
    TCase *limits = tu_tcase(s, "errors", 0);

    tcase_add_test(core, test_monotonic);
    tcase_add_test(limits, test_never_back);
    return s;
}

MLP_CHECK_MAIN(clock_suite)
