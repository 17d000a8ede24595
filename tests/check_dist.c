/*
 * Tests of dist in the 1-rank case (no mpirun): exchanges with no peer,
 * the ordered double sum gives the bits of a left-to-right sum,
 * counts, the stop agreement, the broadcast, the stats; and a program
 * built without MPI refuses to run as several ranks.  The R-rank cases
 * run under mpirun in tests/e2e_mpi.sh (tests/dist_probe.c).
 */
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "config.h"
#include "mlptrain/dist.h"
#include "mlptrain/error.h"
#include "testutil.h"

#define N 1001
#define P 5

static void setup(void)
{
    unsetenv("OMPI_COMM_WORLD_SIZE");
    ck_assert_int_eq(mlp_dist_init(NULL, NULL), 0);
}

static void teardown(void)
{
    ck_assert_int_eq(mlp_dist_finalize(), 0);
}

START_TEST(test_ranks)
{
    ck_assert_int_eq(mlp_dist_rank(), 0);
    ck_assert_int_eq(mlp_dist_size(), 1);
    ck_assert_int_eq(mlp_dist_active(), 0);
    ck_assert_int_eq(mlp_dist_init(NULL, NULL), 0); /* again: no-op */
    ck_assert_int_eq(mlp_dist_size(), 1);
    ck_assert_int_eq(mlp_dist_abort(3), 0); /* 1 rank: returns */
}
END_TEST

START_TEST(test_exchange)
{
    /* One rank: no peer.  No message (or empty ones) is fine and counts
     * as an exchange; a message, a bad tag are MLP_EINVAL. */
    float x = 1.0f;
    mlp_dist_msg_t none = {&x, 0, 1}, one = {&x, sizeof(x), 1};
    atomic_int busy = 1, cancel = 0;
    mlp_dist_stats_t st;

    mlp_dist_stats_reset();
    ck_assert_int_eq(mlp_dist_threads(), 1);
    ck_assert_int_eq(mlp_dist_exchange_start(NULL, 0, NULL, 0, 0), 0);
    ck_assert_int_eq(mlp_dist_exchange_wait(&busy, &cancel), 0);
    ck_assert_int_eq(mlp_dist_exchange_start(&none, 1, &none, 1, 1), 0);
    ck_assert_int_eq(mlp_dist_exchange_wait(NULL, NULL), 0);
    ck_assert_int_eq(mlp_dist_exchange_start(&one, 1, NULL, 0, 1),
                     MLP_EINVAL);
    ck_assert_int_eq(mlp_dist_exchange_start(NULL, 0, &one, 1, 1),
                     MLP_EINVAL);
    ck_assert_int_eq(mlp_dist_exchange_start(NULL, 0, NULL, 0,
                                             MLP_DIST_TAGS),
                     MLP_EINVAL);
    ck_assert_int_eq(mlp_dist_exchange_start(NULL, 0, NULL, 0, -1),
                     MLP_EINVAL);
    ck_assert(x == 1.0f);
    mlp_dist_stats(&st);
    ck_assert_uint_eq(st.calls, 2);
    ck_assert_uint_eq(st.bytes_sent + st.bytes_received, 0);
    ck_assert(st.seconds >= 0);
    mlp_dist_stats_reset();
    mlp_dist_stats(&st);
    ck_assert_uint_eq(st.calls, 0);
}
END_TEST

START_TEST(test_sum_ordered)
{
    /* Columns (1e17, -1e17, 1) and (1, 1e17, -1e17): left to right 1 and
     * 0 (1 is below half an ulp of 1e17, 16); right to left 0 and 1. */
    static const double rows[] = {1e17, 1.0, -1e17, 1e17, 1.0, -1e17};
    double out[2] = {-1, -1};

    ck_assert_int_eq(mlp_dist_sum_ordered(out, rows, 3, 2), 0);
    ck_assert(out[0] == 1.0);
    ck_assert(out[1] == 0.0);
    ck_assert((rows[4] + rows[2]) + rows[0] == 0.0);
    ck_assert((rows[5] + rows[3]) + rows[1] == 1.0);
    ck_assert_int_eq(mlp_dist_sum_ordered(out, rows, 1, 2), 0);
    ck_assert(out[0] == 1e17 && out[1] == 1.0);
    ck_assert_int_eq(mlp_dist_sum_ordered(out, rows, 0, 2), 0);
    ck_assert(out[0] == 0.0 && out[1] == 0.0);
    /* One rank, one row: the row itself. */
    ck_assert_int_eq(mlp_dist_sum_rows(out, rows + 2, 2), 0);
    ck_assert(out[0] == -1e17 && out[1] == 1e17);
}
END_TEST

START_TEST(test_small)
{
    uint64_t v[3] = {1, 0, UINT64_MAX};
    unsigned char buf[4] = {1, 2, 3, 4};
    float f[2] = {-0.0f, 3.5f};
    int any = -1;

    ck_assert_int_eq(mlp_dist_sum_u64(v, 3), 0);
    ck_assert_uint_eq(v[0], 1);
    ck_assert_uint_eq(v[2], UINT64_MAX);
    ck_assert_int_eq(mlp_dist_sum_unordered(f, 2), 0);
    ck_assert(signbit(f[0]) && f[1] == 3.5f);
    ck_assert_int_eq(mlp_dist_any(0, &any), 0);
    ck_assert_int_eq(any, 0);
    ck_assert_int_eq(mlp_dist_any(7, &any), 0);
    ck_assert_int_eq(any, 1);
    ck_assert_int_eq(mlp_dist_bcast(buf, sizeof(buf), 0), 0);
    ck_assert_int_eq(buf[3], 4);
}
END_TEST

START_TEST(test_errors)
{
    unsigned char buf[4] = {0};

    ck_assert_int_eq(mlp_dist_bcast(buf, sizeof(buf), 1), MLP_EINVAL);
    ck_assert_msg_has("root 1 of 1");
    ck_assert_int_eq(mlp_dist_bcast(buf, sizeof(buf), -1), MLP_EINVAL);
}
END_TEST

/* How mpirun started a process, from its environment, before MPI starts
 * (main.c's choice of what runs on ranks). */
START_TEST(test_launched)
{
    static const struct {
        const char *rank, *size;
        int launched, r, n;
    } cases[] = {
        {NULL, NULL, 0, 0, 1},  {"2", "3", 1, 2, 3}, {NULL, "1", 1, 0, 1},
        {"0", "x", 0, 0, 1},    {"5", "3", 1, 0, 3}, {"-1", "2", 1, 0, 2},
        {"1", "", 0, 0, 1},     {"1x", "4", 1, 0, 4},
    };
    int r, n;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (cases[i].rank != NULL)
            setenv("OMPI_COMM_WORLD_RANK", cases[i].rank, 1);
        else
            unsetenv("OMPI_COMM_WORLD_RANK");
        if (cases[i].size != NULL)
            setenv("OMPI_COMM_WORLD_SIZE", cases[i].size, 1);
        else
            unsetenv("OMPI_COMM_WORLD_SIZE");
        ck_assert_int_eq(mlp_dist_launched(&r, &n), cases[i].launched);
        ck_assert_msg(r == cases[i].r && n == cases[i].n, "case %zu: %d of "
                      "%d", i, r, n);
    }
    unsetenv("OMPI_COMM_WORLD_RANK");
    unsetenv("OMPI_COMM_WORLD_SIZE");
}
END_TEST

#ifndef HAVE_MPI
START_TEST(test_no_mpi_ranks)
{
    /* Started as 3 ranks by mpirun, a build without MPI refuses; as 1
     * rank it runs. */
    ck_assert_int_eq(mlp_dist_finalize(), 0);
    setenv("OMPI_COMM_WORLD_SIZE", "3", 1);
    ck_assert_int_eq(mlp_dist_init(NULL, NULL), MLP_ENOSYS);
    ck_assert_msg_has("without MPI");
    ck_assert_msg_has("libopenmpi-dev");
    setenv("OMPI_COMM_WORLD_SIZE", "1", 1);
    ck_assert_int_eq(mlp_dist_init(NULL, NULL), 0);
    ck_assert_int_eq(mlp_dist_size(), 1);
    unsetenv("OMPI_COMM_WORLD_SIZE");
}
END_TEST
#endif

Suite *dist_suite(void);
Suite *dist_suite(void)
{
    Suite *s = suite_create("dist");
    TCase *core = tu_tcase(s, "core", 0);
    TCase *errors = tu_tcase(s, "errors", 0);

    tcase_add_checked_fixture(core, setup, teardown);
    tcase_add_test(core, test_ranks);
    tcase_add_test(core, test_exchange);
    tcase_add_test(core, test_sum_ordered);
    tcase_add_test(core, test_small);
    tcase_add_checked_fixture(errors, setup, teardown);
    tcase_add_test(errors, test_errors);
    tcase_add_test(errors, test_launched);
#ifndef HAVE_MPI
    tcase_add_test(errors, test_no_mpi_ranks);
#endif
    return s;
}

MLP_CHECK_MAIN(dist_suite)
