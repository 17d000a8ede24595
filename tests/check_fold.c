/*
 * Tests of fold: the micro-batch partition, the rank blocks, and the
 * tree's order: values chosen so that another order of the additions gives
 * other bits, against the tree's recursive definition; blocks of "ranks"
 * and loader batches that give the same bits as one stack; the exact sum of squares (the clipped gradient's norm) against a
 * compensated double sum, the same bits in any order and any pieces.
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "check_main.h"
#include "mlptrain/error.h"
#include "mlptrain/fold.h"
#include "testutil.h"

START_TEST(test_micro)
{
    size_t lo, rows;

    ck_assert_uint_eq(mlp_fold_nmicro(256, 64), 4);
    ck_assert_uint_eq(mlp_fold_nmicro(96, 64), 2);
    ck_assert_uint_eq(mlp_fold_nmicro(1, 64), 1);
    ck_assert_uint_eq(mlp_fold_nmicro(0, 64), 0);
    ck_assert_uint_eq(mlp_fold_nmicro(5, 0), 0);
    mlp_fold_micro(96, 64, 0, &lo, &rows);
    ck_assert_uint_eq(lo, 0);
    ck_assert_uint_eq(rows, 64);
    mlp_fold_micro(96, 64, 1, &lo, &rows);
    ck_assert_uint_eq(lo, 64);
    ck_assert_uint_eq(rows, 32);
    mlp_fold_micro(96, 64, 2, &lo, &rows);
    ck_assert_uint_eq(rows, 0);
}
END_TEST

START_TEST(test_rank)
{
    /* 7 micro-batches over 3 ranks: 3, 2, 2; over 9 ranks: 1 each then 0. */
    static const size_t want_first[3] = {0, 3, 5}, want_count[3] = {3, 2, 2};
    size_t first, count, total = 0;

    for (int r = 0; r < 3; r++) {
        mlp_fold_rank(7, r, 3, &first, &count);
        ck_assert_uint_eq(first, want_first[r]);
        ck_assert_uint_eq(count, want_count[r]);
    }
    for (int r = 0; r < 9; r++) {
        mlp_fold_rank(7, r, 9, &first, &count);
        ck_assert_uint_eq(count, r < 7 ? 1 : 0);
        ck_assert_uint_eq(first, r < 7 ? (size_t)r : 7);
        total += count;
    }
    ck_assert_uint_eq(total, 7);
}
END_TEST

#define N 37
#define M 40

/* Order-sensitive values: magnitudes from 1 to 3e7 of both signs, so
 * another association of the same additions gives other bits. */
static void fill(float g[][N], size_t m)
{
    for (size_t k = 0; k < m; k++)
        for (int i = 0; i < N; i++)
            g[k][i] = (k % 2 ? -1.0f : 1.0f) *
                      (1.0f + (float)((size_t)i * 7 + k * 13 % 11)) *
                      (k % 3 == 1 ? 3e7f : 0.37f);
}

/* fold.h's tree by its definition, recursively: the reference. */
static float tree_ref(float g[][N], size_t a, size_t b, int i)
{
    size_t p = 1;

    if (b - a == 1)
        return g[a][i];
    while (2 * p < b - a)
        p *= 2;
    return tree_ref(g, a, a + p, i) + tree_ref(g, a + p, b, i);
}

/* One stack fed g_0 .. g_{m-1} one by one, run in two element ranges,
 * into buffers (id k: buffer k). */
static void tree_run(float g[][N], size_t m, float *out)
{
    static float buf[M][N];
    float *bp[M];
    mlp_fold_tree_t t;
    mlp_fold_op_t ops[4 * M];
    int freed[4 * M], id;
    size_t nops = 0, nfreed = 0;

    memcpy(buf, g, m * sizeof(buf[0]));
    for (size_t k = 0; k < M; k++)
        bp[k] = buf[k];
    mlp_fold_tree_init(&t, 0);
    for (size_t k = 0; k < m; k++)
        ck_assert_int_eq(mlp_fold_push(&t, 1, (int)k, ops, &nops, freed,
                                       &nfreed), 0);
    ck_assert_int_eq(mlp_fold_finish(&t, -1, ops, &nops, freed, &nfreed,
                                     &id), 0);
    ck_assert_uint_eq(nfreed, m - 1); /* every id but the result's */
    mlp_fold_run(bp, ops, nops, 0, 11);
    mlp_fold_run(bp, ops, nops, 11, N);
    memcpy(out, buf[id], sizeof(buf[0]));
}

START_TEST(test_tree)
{
    static float g[M][N];
    float out[N];
    int differs = 0;

    fill(g, M);
    for (size_t m = 1; m <= M; m++) {
        tree_run(g, m, out);
        for (int i = 0; i < N; i++) {
            float left = g[0][i];

            for (size_t k = 1; k < m; k++)
                left += g[k][i];
            ck_assert_msg(out[i] == tree_ref(g, 0, m, i),
                          "m %zu element %d: %g, the tree %g", m, i,
                          (double)out[i], (double)tree_ref(g, 0, m, i));
            /* up to 3 the left fold's bits; then it may differ (and
             * does somewhere: the test can tell the two apart) */
            if (m <= 3)
                ck_assert(out[i] == left);
            differs |= out[i] != left;
        }
    }
    ck_assert(differs);
}
END_TEST

/*
 * Blocks of "ranks": each block's singles pushed on a stack starting at
 * its first micro-batch leave its maximal aligned nodes
 * (mlp_fold_block_nodes); those nodes pushed in order on one stack give
 * the bits of the whole tree, for every rank count and step size, and
 * for a step cut in two loader batches (--accum) too.
 */
START_TEST(test_tree_blocks)
{
    static float g[M][N], node[M][N], res[M][N];
    float *bp[M], *lp[M]; /* the top stack's values, a block's */
    size_t sizes[MLP_FOLD_DEPTH];
    mlp_fold_op_t ops[4 * M];
    int freed[4 * M];

    fill(g, M);
    for (size_t m = 1; m <= M; m++)
        for (int R = 1; R <= 5; R++)
            for (size_t cut = 0; cut < m; cut += m / 2 + 1) {
                mlp_fold_tree_t top;
                size_t nn = 0, topn = 0, topf = 0;
                int id;

                mlp_fold_tree_init(&top, 0);
                /* loader batches [0, cut) and [cut, m), each split over
                 * the R ranks */
                for (int part = 0; part < 2; part++) {
                    size_t b0 = part == 0 ? 0 : cut;
                    size_t bm = part == 0 ? cut : m - cut;

                    for (int r = 0; r < R && bm > 0; r++) {
                        size_t first, count, nops = 0, nf = 0, nb;
                        mlp_fold_tree_t loc;

                        mlp_fold_rank(bm, r, R, &first, &count);
                        if (count == 0)
                            continue;
                        mlp_fold_tree_init(&loc, b0 + first);
                        for (size_t k = 0; k < count; k++) {
                            memcpy(res[k], g[b0 + first + k], sizeof(res[0]));
                            lp[k] = res[k];
                            ck_assert_int_eq(
                                mlp_fold_push(&loc, 1, (int)k, ops, &nops,
                                              freed, &nf), 0);
                        }
                        mlp_fold_run(lp, ops, nops, 0, N);
                        nb = mlp_fold_block_nodes(b0 + first,
                                                  b0 + first + count, sizes);
                        ck_assert_uint_eq(nb, loc.n);
                        for (size_t j = 0; j < nb; j++) {
                            ck_assert_uint_eq(sizes[j], loc.node[j].size);
                            memcpy(node[nn], res[loc.node[j].id],
                                   sizeof(node[0]));
                            bp[nn] = node[nn];
                            ck_assert_int_eq(
                                mlp_fold_push(&top, sizes[j], (int)nn, ops,
                                              &topn, freed, &topf), 0);
                            nn++;
                        }
                        mlp_fold_run(bp, ops, topn, 0, N);
                        topn = topf = 0;
                    }
                }
                for (size_t k = 0; k < nn; k++)
                    bp[k] = node[k];
                ck_assert_int_eq(mlp_fold_finish(&top, -1, ops, &topn, freed,
                                                 &topf, &id), 0);
                mlp_fold_run(bp, ops, topn, 0, N);
                for (int i = 0; i < N; i++)
                    ck_assert_msg(node[id][i] == tree_ref(g, 0, m, i),
                                  "m %zu R %d cut %zu element %d", m, R, cut,
                                  i);
            }
}
END_TEST

START_TEST(test_tree_errors)
{
    mlp_fold_tree_t t;
    mlp_fold_op_t ops[8];
    int freed[8], id;
    size_t nops = 0, nf = 0, sizes[MLP_FOLD_DEPTH];

    mlp_fold_tree_init(&t, 3);
    /* not a power of two; not aligned (3 is no multiple of 2) */
    ck_assert_int_eq(mlp_fold_push(&t, 3, 0, ops, &nops, freed, &nf),
                     MLP_EINVAL);
    ck_assert_int_eq(mlp_fold_push(&t, 2, 0, ops, &nops, freed, &nf),
                     MLP_EINVAL);
    ck_assert_int_eq(mlp_fold_push(&t, 0, 0, ops, &nops, freed, &nf),
                     MLP_EINVAL);
    ck_assert_uint_eq(t.end, 3);
    ck_assert_uint_eq(t.n, 0);
    ck_assert_int_eq(mlp_fold_finish(&t, -1, ops, &nops, freed, &nf, &id),
                     MLP_EINVAL);
    ck_assert_uint_eq(nops, 0);
    /* a block's nodes: [3, 4) [4, 8) [8, 10) [10, 11) */
    ck_assert_uint_eq(mlp_fold_block_nodes(3, 11, sizes), 4);
    ck_assert_uint_eq(sizes[0], 1);
    ck_assert_uint_eq(sizes[1], 4);
    ck_assert_uint_eq(sizes[2], 2);
    ck_assert_uint_eq(sizes[3], 1);
    ck_assert_uint_eq(mlp_fold_block_nodes(5, 5, sizes), 0);
    /* one node and an out id: a copy */
    ck_assert_int_eq(mlp_fold_push(&t, 1, 4, ops, &nops, freed, &nf), 0);
    ck_assert_int_eq(mlp_fold_finish(&t, 7, ops, &nops, freed, &nf, &id), 0);
    ck_assert_int_eq(id, 7);
    ck_assert_uint_eq(nops, 1);
    ck_assert_int_eq(ops[0].b, -1);
}
END_TEST

START_TEST(test_rows)
{
    const double rows[6] = {1e17, 1.0, -1e17, 2.0, 1.0, 3.0};
    double out[2];

    mlp_fold_rows(out, rows, 3, 2);
    ck_assert(out[0] == (1e17 + -1e17) + 1.0); /* left to right: 1 */
    ck_assert(out[1] == 6.0);
    mlp_fold_rows(out, rows, 0, 2);
    ck_assert(out[0] == 0.0 && out[1] == 0.0);
}
END_TEST

/*
 * The exact sum of squares (--clip-grad's norm): the value of a double
 * reference (a compensated sum) over squares of every magnitude
 * (subnormals to 1e19), and the same bits for any order of the values,
 * any split into pieces and any order of merging them.
 */
START_TEST(test_sq_exact)
{
    enum { NS = 5000 };
    static float v[NS], w[NS];
    static const float scale[] = {1e-42f, 1e-30f, 1e-7f, 1.0f, 3e5f, 1e19f};
    mlp_fold_sq_t a, b, c, parts[7];
    double ref = 0.0, comp = 0.0; /* Neumaier's compensated sum */
    uint64_t r = 88172645463325252ULL;
    double x;

    for (int i = 0; i < NS; i++) {
        r ^= r << 13;
        r ^= r >> 7;
        r ^= r << 17;
        v[i] = (float)((double)(r >> 11) / 9007199254740992.0 - 0.5) *
               scale[i % 6];
        x = (double)v[i] * (double)v[i]; /* exact */
        {
            double t = ref + x;

            comp += fabs(ref) >= fabs(x) ? (ref - t) + x : (x - t) + ref;
            ref = t;
        }
    }
    ref += comp;
    memset(&a, 0, sizeof(a));
    mlp_fold_sq_add(&a, v, NS);
    x = mlp_fold_sq_value(&a);
    ck_assert_double_eq_tol(x, ref, 1e-14 * ref);
    /* reversed, and in 7 pieces merged from the last */
    for (int i = 0; i < NS; i++)
        w[i] = v[NS - 1 - i];
    memset(&b, 0, sizeof(b));
    mlp_fold_sq_add(&b, w, NS);
    ck_assert_int_eq(memcmp(&a, &b, sizeof(a)), 0);
    memset(parts, 0, sizeof(parts));
    for (int k = 0; k < 7; k++) {
        size_t lo = (size_t)k * NS / 7, hi = (size_t)(k + 1) * NS / 7;

        mlp_fold_sq_add(&parts[k], v + lo, hi - lo);
    }
    memset(&c, 0, sizeof(c));
    for (int k = 6; k >= 0; k--)
        mlp_fold_sq_merge(&c, &parts[k]);
    ck_assert_int_eq(memcmp(&a, &c, sizeof(a)), 0);
    ck_assert(mlp_fold_sq_value(&c) == x);
    /* small cases by hand: 3^2 + 4^2, the least subnormal's square */
    memset(&c, 0, sizeof(c));
    mlp_fold_sq_add(&c, (const float[]){3.0f, -4.0f, 0.0f}, 3);
    ck_assert(mlp_fold_sq_value(&c) == 25.0);
    memset(&c, 0, sizeof(c));
    mlp_fold_sq_add(&c, (const float[]){1e-45f}, 1);
    ck_assert(mlp_fold_sq_value(&c) == ldexp(1.0, -298));
    /* the largest float's square, 70000 times: no overflow in the sum */
    memset(&c, 0, sizeof(c));
    for (int i = 0; i < NS; i++)
        w[i] = FLT_MAX;
    for (int k = 0; k < 14; k++)
        mlp_fold_sq_add(&c, w, NS);
    ck_assert_double_eq_tol(mlp_fold_sq_value(&c),
                            70000.0 * (double)FLT_MAX * (double)FLT_MAX,
                            1e-12 * 70000.0 * (double)FLT_MAX * FLT_MAX);
    /* a NaN or an infinity makes the norm so */
    mlp_fold_sq_add(&c, (const float[]){INFINITY}, 1);
    ck_assert(isinf(mlp_fold_sq_value(&c)));
    mlp_fold_sq_add(&c, (const float[]){NAN}, 1);
    ck_assert(isnan(mlp_fold_sq_value(&c)));
}
END_TEST

Suite *fold_suite(void);
Suite *fold_suite(void)
{
    Suite *s = suite_create("fold");
    TCase *core = tu_tcase(s, "core", 0);
    TCase *lim = tu_tcase(s, "errors/limits", 0);

    tcase_add_test(core, test_micro);
    tcase_add_test(core, test_rank);
    tcase_add_test(core, test_tree);
    tcase_add_test(core, test_tree_blocks);
    tcase_add_test(core, test_rows);
    tcase_add_test(core, test_sq_exact);
    tcase_add_test(lim, test_tree_errors);
    return s;
}

MLP_CHECK_MAIN(fold_suite)
