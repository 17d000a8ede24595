/*
 * dist_probe: dist's R-rank cases, run under mpirun by tests/e2e_mpi.sh
 * (built only with MPI).  Every rank makes every part from one seed,
 * passes its own block to mlp_dist_fold, and checks the result against a
 * left-to-right sum of all the parts written out here, bit for bit, as one
 * process would compute it.  Values span 16 orders of magnitude with both
 * signs, so another order of the additions gives other bits (checked).
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

/*
 * One fold: nparts parts of n floats, rank r owning [first[r], first[r] +
 * count[r]) (blocks in rank order), chain chunk `chunk`.
 */
static int fold_case(const char *name, size_t nparts, size_t n, size_t chunk,
                     const size_t *first, const size_t *count, uint64_t seed)
{
    float *all = malloc((nparts ? nparts : 1) * n * sizeof(float));
    float *out = malloc(n * sizeof(float)), *want = malloc(n * sizeof(float));
    const float **mine = malloc((nparts ? nparts : 1) * sizeof(float *));
    size_t differs = 0;
    int rc;

    if (all == NULL || out == NULL || want == NULL || mine == NULL) {
        CHECK(0, "%s: out of memory", name);
        free(all), free(out), free(want), free(mine);
        return -1;
    }
    for (size_t k = 0; k < nparts; k++)
        make_part(all + k * n, n, seed, k);
    for (size_t j = 0; j < count[rank]; j++)
        mine[j] = all + (first[rank] + j) * n;
    for (size_t i = 0; i < n; i++) {
        float w = nparts ? all[i] : 0.0f;
        float rev = nparts ? all[(nparts - 1) * n + i] : 0.0f;

        for (size_t k = 1; k < nparts; k++)
            w += all[k * n + i];
        for (size_t k = nparts; k-- > 1;)
            rev += all[(k - 1) * n + i];
        want[i] = w;
        differs += memcmp(&w, &rev, sizeof(float)) != 0;
    }
    mlp_dist_set_chunk(chunk);
    memset(out, 0x7f, n * sizeof(float));
    rc = mlp_dist_fold(out, mine, count[rank], n);
    CHECK(rc == 0, "%s: mlp_dist_fold: %s", name, mlp_error_message());
    CHECK(memcmp(out, want, n * sizeof(float)) == 0,
          "%s: not the bits of one left-to-right fold of %zu parts", name,
          nparts);
    if (nparts > 0 && n > 3)
        CHECK(signbit(out[3]), "%s: -0 lost", name);
    if (nparts > 2 && n > 100)
        CHECK(differs > n / 50, "%s: only %zu of %zu sums depend on order",
              name, differs, n);
    free(all), free(out), free(want), free(mine);
    return rc;
}

static void fold_cases(void)
{
    size_t first[64], count[64];
    static const size_t chunks[] = {0, 1000, 7};
    char name[128];

    for (int iter = 0; iter < 3; iter++)
        for (size_t c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
            size_t n = chunks[c] == 7 ? 1001 : 100003;

            /* 7 micro-batches in mlp_fold_rank's blocks (uneven). */
            for (int r = 0; r < nranks; r++)
                mlp_fold_rank(7, r, nranks, &first[r], &count[r]);
            snprintf(name, sizeof(name),
                     "7 parts, rank blocks, n %zu, chunk %zu", n, chunks[c]);
            fold_case(name, 7, n, chunks[c], first, count, 100 + iter);
            /* All on rank 1 (rank 0 and the last have none). */
            for (int r = 0; r < nranks; r++) {
                first[r] = r <= 1 ? 0 : 4;
                count[r] = r == 1 ? 4 : 0;
            }
            snprintf(name, sizeof(name), "4 parts on rank 1, chunk %zu",
                     chunks[c]);
            fold_case(name, 4, n, chunks[c], first, count, 200 + iter);
            /* All on rank 0. */
            for (int r = 0; r < nranks; r++) {
                first[r] = r == 0 ? 0 : 3;
                count[r] = r == 0 ? 3 : 0;
            }
            fold_case("3 parts on rank 0", 3, n, chunks[c], first, count,
                      300 + iter);
            /* 2 parts over R ranks: some ranks have none. */
            for (int r = 0; r < nranks; r++)
                mlp_fold_rank(2, r, nranks, &first[r], &count[r]);
            fold_case("2 parts, rank blocks", 2, n, chunks[c], first, count,
                      400 + iter);
            /* No part anywhere: zeros. */
            for (int r = 0; r < nranks; r++)
                first[r] = count[r] = 0;
            fold_case("no part", 0, n, chunks[c], first, count, 0);
        }
    mlp_dist_set_chunk(0);
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
        fold_cases();
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
