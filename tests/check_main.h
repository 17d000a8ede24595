/*
 * The main() of every Check suite program: run one suite, print Check's
 * summary, exit non-zero on any failure.  CK_FORK=no (set by
 * `make check-valgrind`) runs tests in-process so valgrind sees them.
 */
#ifndef MLPTRAIN_CHECK_MAIN_H
#define MLPTRAIN_CHECK_MAIN_H

#include <check.h>
#include <stdlib.h>

#define MLP_CHECK_MAIN(suite_fn)                          \
    int main(void)                                        \
    {                                                     \
        SRunner *sr = srunner_create(suite_fn());         \
        int failed;                                       \
        srunner_run_all(sr, CK_NORMAL);                   \
        failed = srunner_ntests_failed(sr);               \
        srunner_free(sr);                                 \
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE; \
    }

#endif
