/*
 * The main() of every Check suite program: run one suite, print Check's
 * summary, exit non-zero on any failure.  CK_FORK=no (set by
 * `make check-valgrind`) runs tests in-process so valgrind sees them.
 *
 * Check's timeouts (4 s a test case unless the suite sets one) only catch
 * hangs; on a loaded machine, or under a sanitizer, a healthy case can
 * take many times its idle time.  So every timeout is ten times the
 * figure in the code (CK_TIMEOUT_MULTIPLIER, read as the test cases are
 * made; a value in the environment wins).
 */
#ifndef MLPTRAIN_CHECK_MAIN_H
#define MLPTRAIN_CHECK_MAIN_H

#include <check.h>
#include <stdlib.h>

#define MLP_CHECK_MAIN(suite_fn)                          \
    int main(void)                                        \
    {                                                     \
        SRunner *sr;                                      \
        int failed;                                       \
        setenv("CK_TIMEOUT_MULTIPLIER", "10", 0);         \
        sr = srunner_create(suite_fn());                  \
        srunner_run_all(sr, CK_NORMAL);                   \
        failed = srunner_ntests_failed(sr);               \
        srunner_free(sr);                                 \
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE; \
    }

#endif
