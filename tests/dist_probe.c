/*
 * dist_probe: dist's R-rank cases, run under mpirun by tests/e2e_mpi.sh
 * (built only with MPI).  Every rank makes every part from one seed,
 * passes its own block to the step's reducer (reduce.h: buckets, loader
 * batches of one step), and checks the result against fold.h's tree of
 * all the parts in one process, bit for bit.  Values span 16 orders of
 * magnitude with both signs, so another order of the additions gives
 * other bits (checked against the left fold).
 * Then the ordered double sum, counts, the stop agreement, the broadcast.
 *
 * Prints one line per rank; exit 0 when every check passed, 1 otherwise.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlptrain/dist.h"
#include "mlptrain/error.h"
#include "mlptrain/fold.h"
#include "mlptrain/reduce.h"
#include "mlptrain/rng.h"

static int rank, nranks, nfail, nchecks;

#define CHECK(cond, ...)                                           \
    do {                                                           \
        nchecks++;                                                 \
        if (!(cond)) {                                             \
            nfail++;                                               \
            printf("dist_probe: rank %d of %d: FAIL: ", rank, nranks); \
            printf(__VA_ARGS__);                                   \
            printf("\n");                                          \
        }                                                          \
    } while (0)

/* Part k of a set (seed): n floats of random sign and magnitude 1e-8..1e8;
 * element 3 is -0.0f in every part. */
static void make_part(float *p, size_t n, uint64_t seed, size_t k)
{
    mlp_rng_t r;

    mlp_rng_seed(&r, seed, k);
    for (size_t i = 0; i < n; i++) {
        double mag = pow(10.0, 16.0 * mlp_rng_uniform(&r) - 8.0);

        p[i] = (float)(mlp_rng_uniform(&r) < 0.5 ? -mag : mag);
    }
    if (n > 3)
        p[3] = -0.0f;
}

/* fold.h's tree of parts [0, m) of n floats into out, in one process. */
static void tree_of(float *out, float *all, size_t m, size_t n)
{
    float **buf = malloc(m * sizeof(float *));
    mlp_fold_op_t *ops = malloc(2 * (m + MLP_FOLD_DEPTH) * sizeof(*ops));
    int *freed = malloc(2 * (m + MLP_FOLD_DEPTH) * sizeof(int)), id = 0;
    size_t nops = 0, nf = 0;
    mlp_fold_tree_t t;

    mlp_fold_tree_init(&t, 0);
    for (size_t k = 0; k < m; k++) {
        buf[k] = all + k * n;
        mlp_fold_push(&t, 1, (int)k, ops, &nops, freed, &nf);
    }
    mlp_fold_finish(&t, -1, ops, &nops, freed, &nf, &id);
    mlp_fold_run(buf, ops, nops, 0, n);
    memcpy(out, buf[id], n * sizeof(float));
    free(buf), free(ops), free(freed);
}

/*
 * One step through reduce.h: loader batches of batch[0..nbatch)
 * micro-batches (rank blocks by mlp_fold_rank), parts of n floats, nb
 * buckets cutting [0, n) from the end (the step's order: the last layer
 * first).  The result, on every rank, against the tree of all the parts
 * in one process (a copy of them: the reducer overwrites its parts).
 */
static void reduce_case(const char *name, const size_t *batch, size_t nbatch,
                        size_t n, size_t nb, uint64_t seed)
{
    size_t M = 0, maxm = 0, lo[4], hi[4], left = 0;
    float *all, *want, *mine = NULL, **parts = NULL;
    mlp_reduce_t *red = NULL;
    mlp_reduce_opts_t o;
    int rc = 0;

    for (size_t i = 0; i < nbatch; i++) {
        M += batch[i];
        maxm = batch[i] > maxm ? batch[i] : maxm;
    }
    for (size_t b = 0; b < nb; b++) {
        hi[b] = n - n * b / nb;
        lo[b] = n - n * (b + 1) / nb;
    }
    all = malloc(M * n * sizeof(float));
    want = malloc(n * sizeof(float));
    mine = malloc(maxm * n * sizeof(float));
    parts = malloc(maxm * sizeof(float *));
    if (all == NULL || want == NULL || mine == NULL || parts == NULL) {
        CHECK(0, "%s: out of memory", name);
        goto out;
    }
    for (size_t k = 0; k < M; k++)
        make_part(all + k * n, n, seed, k);
    tree_of(want, all, M, n);
    for (size_t k = 0; k < M; k++) /* tree_of summed in place */
        make_part(all + k * n, n, seed, k);
    for (size_t i = 0; i < n; i++) {
        float l = all[i];

        for (size_t k = 1; k < M; k++)
            l += all[k * n + i];
        left += memcmp(&l, &want[i], sizeof(float)) != 0;
    }
    if (M > 4 && n > 1000)
        CHECK(left > n / 100, "%s: only %zu of %zu sums tell the tree "
              "from the left fold", name, left, n);
    o = (mlp_reduce_opts_t){.nflat = n, .nbuckets = nb, .lo = lo, .hi = hi,
                            .rank = rank, .nranks = nranks,
                            .max_micro = maxm, .max_step_micro = M};
    rc = mlp_reduce_create(&o, &red);
    CHECK(rc == 0, "%s: reduce_create: %s", name, mlp_error_message());
    for (size_t i = 0, m0 = 0; rc == 0 && i < nbatch; m0 += batch[i++]) {
        size_t first, count;

        mlp_fold_rank(batch[i], rank, nranks, &first, &count);
        for (size_t j = 0; j < count; j++) {
            parts[j] = mine + j * n;
            memcpy(parts[j], all + (m0 + first + j) * n, n * sizeof(float));
        }
        rc = mlp_reduce_batch(red, batch[i], parts, i + 1 == nbatch);
        CHECK(rc == 0, "%s: batch %zu: %s", name, i, mlp_error_message());
        for (size_t b = 0; rc == 0 && b < nb; b++) {
            rc = mlp_reduce_bucket(red, b, NULL, NULL);
            CHECK(rc == 0, "%s: bucket %zu: %s", name, b,
                  mlp_error_message());
        }
    }
    if (rc == 0) {
        const float *got = mlp_reduce_result(red);

        CHECK(memcmp(got, want, n * sizeof(float)) == 0,
              "%s: not the bits of one process's tree of %zu parts", name,
              M);
        if (n > 3)
            CHECK(signbit(got[3]), "%s: -0 lost", name);
    }
out:
    mlp_reduce_destroy(red);
    free(all), free(want), free(mine), free(parts);
}

static void reduce_cases(void)
{
    static const size_t seven[] = {7}, four[] = {4}, accum[] = {3, 5, 2},
                        two[] = {2}, one[] = {1}, many[] = {16, 16};

    for (int iter = 0; iter < 2; iter++) {
        reduce_case("7 parts, 3 buckets", seven, 1, 100003, 3, 100 + iter);
        reduce_case("7 parts, 1 bucket, n 1001", seven, 1, 1001, 1,
                    150 + iter);
        reduce_case("4 parts, 2 buckets", four, 1, 100003, 2, 200 + iter);
        reduce_case("3 loader batches (3, 5, 2)", accum, 3, 50021, 3,
                    300 + iter);
        reduce_case("2 parts, 3 buckets", two, 1, 100003, 3, 400 + iter);
        reduce_case("1 part (ranks with none)", one, 1, 4099, 2, 500 + iter);
        reduce_case("2 x 16 parts, 4 buckets", many, 2, 20011, 4,
                    600 + iter);
        reduce_case("7 parts, n 10 (empty segments)", seven, 1, 10, 3,
                    700 + iter);
    }
}

static void sum_cases(void)
{
    enum { ROWS = 9, W = 3 };
    double rows[ROWS * W], want[W], rev[W], out[W];
    size_t first, count;
    mlp_rng_t r;
    int differs = 0;

    mlp_rng_seed(&r, 77, 0);
    for (int i = 0; i < ROWS * W; i++)
        rows[i] = (mlp_rng_uniform(&r) < 0.5 ? -1 : 1) *
                  pow(10.0, 32.0 * mlp_rng_uniform(&r) - 16.0);
    for (int w = 0; w < W; w++) {
        want[w] = rows[w];
        rev[w] = rows[(ROWS - 1) * W + w];
        for (int k = 1; k < ROWS; k++)
            want[w] += rows[k * W + w];
        for (int k = ROWS - 1; k-- > 0;)
            rev[w] += rows[k * W + w];
        differs += want[w] != rev[w];
    }
    mlp_fold_rank(ROWS, rank, nranks, &first, &count);
    CHECK(mlp_dist_sum_ordered(out, rows + first * W, count, W) == 0,
          "sum_ordered: %s", mlp_error_message());
    CHECK(memcmp(out, want, sizeof(out)) == 0,
          "sum_ordered: %.17g %.17g %.17g, want %.17g %.17g %.17g", out[0],
          out[1], out[2], want[0], want[1], want[2]);
    CHECK(differs > 0, "sum_ordered: the values do not depend on order");
    /* Rows only on the last rank. */
    CHECK(mlp_dist_sum_ordered(out, rows, rank == nranks - 1, W) == 0 &&
              out[0] == rows[0] && out[2] == rows[2],
          "sum_ordered: rows on the last rank only");
    /* One row a rank: rank r's row is rows[r], folded in rank order. */
    if (nranks <= ROWS) {
        double one[W];

        for (int w = 0; w < W; w++) {
            one[w] = rows[w];
            for (int k = 1; k < nranks; k++)
                one[w] += rows[k * W + w];
        }
        CHECK(mlp_dist_sum_rows(out, rows + rank * W, W) == 0 &&
                  memcmp(out, one, sizeof(out)) == 0,
              "sum_rows: %.17g %.17g %.17g, want %.17g %.17g %.17g", out[0],
              out[1], out[2], one[0], one[1], one[2]);
    }
}

static void small_cases(void)
{
    uint64_t v[2] = {(uint64_t)rank + 1, ((uint64_t)1 << 40) * (uint64_t)rank};
    uint64_t R = (uint64_t)nranks;
    unsigned char buf[1000];
    int any = -1, root = 1 % nranks, same = 1;

    CHECK(mlp_dist_sum_u64(v, 2) == 0 && v[0] == R * (R + 1) / 2 &&
              v[1] == ((uint64_t)1 << 40) * (R * (R - 1) / 2),
          "sum_u64: %llu %llu", (unsigned long long)v[0],
          (unsigned long long)v[1]);
    CHECK(mlp_dist_any(rank == nranks - 1, &any) == 0 && any == 1,
          "any (last rank): %d", any);
    CHECK(mlp_dist_any(0, &any) == 0 && any == 0, "any (none): %d", any);
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (unsigned char)(i * 31 + (size_t)rank * 7);
    CHECK(mlp_dist_bcast(buf, sizeof(buf), root) == 0, "bcast: %s",
          mlp_error_message());
    for (size_t i = 0; i < sizeof(buf); i++)
        same &= buf[i] == (unsigned char)(i * 31 + (size_t)root * 7);
    CHECK(same, "bcast: not root %d's bytes", root);
    CHECK(mlp_dist_bcast(buf, 1, nranks) == MLP_EINVAL, "bcast: bad root");
}

int main(int argc, char **argv)
{
    const char *env = getenv("OMPI_COMM_WORLD_SIZE");

    if (mlp_dist_init(&argc, &argv) < 0) {
        printf("dist_probe: %s\n", mlp_error_message());
        return 1;
    }
    rank = mlp_dist_rank();
    nranks = mlp_dist_size();
    CHECK(env != NULL && mlp_dist_active() && nranks == atoi(env) &&
              nranks <= 64,
          "%d ranks, mpirun says %s (active %d)", nranks, env ? env : "none",
          mlp_dist_active());
    if (nfail == 0) {
        reduce_cases();
        sum_cases();
        small_cases();
    }
    printf("dist_probe: rank %d of %d: %d checks, %d failed\n", rank, nranks,
           nchecks, nfail);
    if (mlp_dist_finalize() < 0) {
        printf("dist_probe: %s\n", mlp_error_message());
        return 1;
    }
    return nfail ? 1 : 0;
}
