/*
 * Tests of dist in the 1-rank case (no mpirun): the fold gives the bits of
 * a left-to-right sum written out here, the ordered double sum likewise,
 * counts, the stop agreement, the broadcast, the stats; and a program
 * built without MPI refuses to run as several ranks.  The R-rank cases
 * run under mpirun in tests/e2e_mpi.sh (tests/dist_probe.c).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "config.h"
#include "mlptrain/dist.h"
#include "mlptrain/error.h"

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

START_TEST(test_fold)
{
    /* Magnitudes 1e8 and ~1: float sums that depend on the order. */
    static float p[P][N], out[N];
    const float *parts[P];
    mlp_dist_stats_t st;
    int differs = 0;

    mlp_dist_stats_reset();
    for (int k = 0; k < P; k++) {
        parts[k] = p[k];
        for (int i = 0; i < N; i++)
            p[k][i] = k == 1   ? 1e8f
                      : k == 3 ? -1e8f
                               : 0.25f + (float)((i * 7 + k) % 13);
    }
    p[0][5] = -0.0f; /* a lone -0 survives a fold that starts from it */
    p[1][5] = p[2][5] = p[3][5] = p[4][5] = -0.0f;
    ck_assert_int_eq(mlp_dist_fold(out, parts, P, N), 0);
    for (int i = 0; i < N; i++) {
        float want = p[0][i], rev = p[P - 1][i];

        for (int k = 1; k < P; k++)
            want += p[k][i];
        for (int k = P - 2; k >= 0; k--)
            rev += p[k][i];
        ck_assert_int_eq(memcmp(&out[i], &want, sizeof(float)), 0);
        differs += memcmp(&out[i], &rev, sizeof(float)) != 0;
    }
    ck_assert(signbit(out[5]));
    ck_assert_int_gt(differs, N / 2); /* the values do test the order */
    /* No part: zeros. */
    ck_assert_int_eq(mlp_dist_fold(out, parts, 0, N), 0);
    for (int i = 0; i < N; i++)
        ck_assert(out[i] == 0.0f && !signbit(out[i]));
    /* One part: a copy, bit for bit. */
    ck_assert_int_eq(mlp_dist_fold(out, parts + 2, 1, N), 0);
    ck_assert_int_eq(memcmp(out, p[2], sizeof(out)), 0);
    ck_assert_int_eq(mlp_dist_fold(NULL, parts, P, 0), 0);
    mlp_dist_stats(&st);
    ck_assert_uint_eq(st.calls, 4);
    ck_assert_uint_eq(st.bytes_sent + st.bytes_received, 0);
    ck_assert(st.seconds >= 0);
    mlp_dist_stats_reset();
    mlp_dist_stats(&st);
    ck_assert_uint_eq(st.calls, 0);
}
END_TEST

START_TEST(test_chunk)
{
    /* n / (2 R) within [4096, 65536]; a fixed chunk wins; 0 restores. */
    ck_assert_uint_eq(mlp_dist_chunk(203530, 2), 50882);
    ck_assert_uint_eq(mlp_dist_chunk(203530, 64), 4096);
    ck_assert_uint_eq(mlp_dist_chunk(1863690, 2), 65536);
    ck_assert_uint_eq(mlp_dist_chunk(1863690, 64), 14560);
    ck_assert_uint_eq(mlp_dist_chunk(10, 1), 4096);
    mlp_dist_set_chunk(7);
    ck_assert_uint_eq(mlp_dist_chunk(1863690, 64), 7);
    mlp_dist_set_chunk(0);
    ck_assert_uint_eq(mlp_dist_chunk(1863690, 64), 14560);
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
    ck_assert_ptr_nonnull(strstr(mlp_error_message(), "root 1 of 1"));
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
    ck_assert_ptr_nonnull(strstr(mlp_error_message(), "without MPI"));
    ck_assert_ptr_nonnull(strstr(mlp_error_message(), "libopenmpi-dev"));
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
    TCase *core = tcase_create("core");
    TCase *errors = tcase_create("errors");

    tcase_add_checked_fixture(core, setup, teardown);
    tcase_add_test(core, test_ranks);
    tcase_add_test(core, test_fold);
    tcase_add_test(core, test_chunk);
    tcase_add_test(core, test_sum_ordered);
    tcase_add_test(core, test_small);
    suite_add_tcase(s, core);
    tcase_add_checked_fixture(errors, setup, teardown);
    tcase_add_test(errors, test_errors);
    tcase_add_test(errors, test_launched);
#ifndef HAVE_MPI
    tcase_add_test(errors, test_no_mpi_ranks);
#endif
    suite_add_tcase(s, errors);
    return s;
}

MLP_CHECK_MAIN(dist_suite)
