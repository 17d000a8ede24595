/*
 * fold: the fixed order of the parallel step's sums.
 *
 * A global batch of n rows is cut into micro-batches of m rows from its
 * first row (the last one may be shorter).  Each micro-batch's gradient
 * is computed on its own; the step's gradient is their sum in a fixed
 * tree over the micro-batch indices (below), element by element, so the
 * figures depend on the partition alone.  Across R processes, rank r owns
 * a contiguous block of micro-batches (mlp_fold_rank).
 *
 * Pure functions and plain values: no threads, no allocation.
 */
#ifndef MLPTRAIN_FOLD_H
#define MLPTRAIN_FOLD_H

#include <stddef.h>
#include <stdint.h>

/* Micro-batches of a global batch of n rows cut by m (> 0): ceil(n / m). */
size_t mlp_fold_nmicro(size_t n, size_t m);

/* Micro-batch i (< mlp_fold_nmicro(n, m)): rows [*lo, *lo + *rows). */
void mlp_fold_micro(size_t n, size_t m, size_t i, size_t *lo, size_t *rows);

/*
 * The micro-batches rank `rank` of `nranks` owns: [*first, *first +
 * *count), blocks in rank order, sizes differing by at most one (the lower
 * ranks take the larger); *count may be 0 when nmicro < nranks.
 */
void mlp_fold_rank(size_t nmicro, int rank, int nranks, size_t *first,
                   size_t *count);

/*
 * Rows [*lo, *lo + *rows) of a batch of n rows that rank `rank` of nranks
 * computes: its block of micro-batches of `micro` rows (mlp_fold_rank);
 * all n rows when nranks <= 1; *rows may be 0.  The step computes them
 * and the loader decodes only them.
 */
void mlp_fold_rank_rows(size_t n, size_t micro, int rank, int nranks,
                        size_t *lo, size_t *rows);

/*
 * The left fold of nrows rows of `width` doubles (row-major) into
 * out[0..width): ((r0 + r1) + r2) + ..., zeros when nrows is 0.  The
 * order of the loss sums, which are added micro-batch by micro-batch.
 */
void mlp_fold_rows(double *out, const double *rows, size_t nrows,
                   size_t width);

/*
 * The tree.  The gradients g_0 .. g_{M-1} of a step's M micro-batches are
 * summed pairwise, by index alone:
 *
 *     T(a, a + 1) = g_a
 *     T(a, b)     = T(a, a + P) + T(a + P, b),  P the largest power of two
 *                                                 below b - a
 *
 * so T(0, 2) = g0 + g1, T(0, 3) = (g0 + g1) + g2 (the left fold's bits up
 * to three micro-batches), T(0, 4) = (g0 + g1) + (g2 + g3).  Which thread,
 * process or machine computed which g_i never enters the sum, and a sum
 * of M floats has an error that grows with log2 M, not M.
 *
 * It is built left to right on a stack of nodes (a binary counter).  A
 * node is an aligned range [lo, lo + size) of micro-batches, size a power
 * of two and lo a multiple of it, with its value held by the caller under
 * an id.  mlp_fold_push puts a node on the right of the stack; while the
 * node to its left is its sibling (the same size, at an even multiple of
 * it) the two become one node of twice the size, their sum (an op).  When
 * the whole range is pushed, mlp_fold_finish sums the nodes left on the
 * stack from the right: S_0 + (S_1 + (... + S_k)).  That is T(0, M).
 *
 * The stack may start anywhere (mlp_fold_tree_init's first): pushing the
 * single micro-batches of a block [lo, hi) leaves on it the block's
 * maximal aligned nodes (mlp_fold_block_nodes: what a rank holding that
 * block sends on); pushing those nodes, in order, on a stack that holds
 * [0, lo) merges them exactly as the single micro-batches would.  So a
 * step cut into loader batches (--accum), waves of buffers or blocks of
 * ranks gets the bits of one stack fed every g_i in order.
 *
 * The arithmetic is separate from the bookkeeping: push and finish only
 * append ops (dst = a + b on the values of ids) and hand back the ids
 * whose values are no longer needed; mlp_fold_run then runs ops on any
 * element range, each element's additions in op order, so any split of the
 * elements over threads or ranks gives the same bits.
 */
#define MLP_FOLD_DEPTH 64 /* nodes a stack can hold: 2^64 micro-batches */

typedef struct {
    size_t lo, size; /* micro-batches [lo, lo + size) */
    int id;          /* its value: the caller's buffer id */
} mlp_fold_node_t;

typedef struct {
    size_t end;                          /* micro-batches pushed: [.., end) */
    size_t n;                            /* nodes, left to right */
    mlp_fold_node_t node[MLP_FOLD_DEPTH];
} mlp_fold_tree_t;

/* One element-wise op: dst = a + b; b < 0: dst = a (a copy).  dst may be
 * a or b. */
typedef struct {
    int dst, a, b;
} mlp_fold_op_t;

/* An empty stack whose first node will start at micro-batch first. */
void mlp_fold_tree_init(mlp_fold_tree_t *t, size_t first);

/*
 * Push node [t->end, t->end + size) with value id: appends to ops (from
 * *nops on; at most log2 of the stack's nodes + 1 ops, never more than
 * MLP_FOLD_DEPTH) the sums it completes, each into the left node's id,
 * and to freed (from *nfreed on, as many as ops) the ids whose values
 * those sums consumed.  MLP_EINVAL (nothing changed) when size is not a
 * power of two, t->end is not a multiple of it, or the stack is full.
 */
int mlp_fold_push(mlp_fold_tree_t *t, size_t size, int id,
                  mlp_fold_op_t *ops, size_t *nops, int *freed,
                  size_t *nfreed);

/*
 * The sum of the nodes on the stack, from the right, into id out (out <
 * 0: into the leftmost node's id): appends its ops (at most t->n) and the
 * ids it consumed (every node's but the result's) to freed, and empties
 * the stack.  *id gets the result's id.  MLP_EINVAL on an empty stack.
 */
int mlp_fold_finish(mlp_fold_tree_t *t, int out, mlp_fold_op_t *ops,
                    size_t *nops, int *freed, size_t *nfreed, int *id);

/*
 * The maximal aligned nodes of block [lo, hi), left to right: their sizes
 * into sizes[0..) (at most 2 log2(hi - lo) + 2 of them; MLP_FOLD_DEPTH is
 * enough); returns how many.
 */
size_t mlp_fold_block_nodes(size_t lo, size_t hi, size_t *sizes);

/* Elements [lo, hi) of every op in order; buf[id] is the value of id. */
void mlp_fold_run(float *const *buf, const mlp_fold_op_t *ops, size_t nops,
                  size_t lo, size_t hi);

/*
 * A sum of squares of floats held exactly: x^2 of a float is exact in 48
 * bits times a power of two, and the sum is kept as one 640-bit integer
 * (the unit 2^-298, the square of a float's least subnormal), so adding
 * the squares in any order, in any pieces, merged in any order, gives the
 * same sum, bit for bit.  The step's gradient norm (--clip-grad) is taken
 * from it: the same on any thread count, rank count and parameter layout.
 * Zero it to start.  A non-finite value makes the sum +inf or NaN.
 */
#define MLP_FOLD_SQ_WORDS 10
typedef struct {
    uint64_t w[MLP_FOLD_SQ_WORDS]; /* little-endian words */
    int inf, nan;                  /* an infinity, a NaN was added */
} mlp_fold_sq_t;

/* s += x[0]^2 + ... + x[n-1]^2, exactly (n < 2^32). */
void mlp_fold_sq_add(mlp_fold_sq_t *s, const float *x, size_t n);
/* s += t, exactly. */
void mlp_fold_sq_merge(mlp_fold_sq_t *s, const mlp_fold_sq_t *t);
/* The sum as a double (a fixed rounding of the exact value; NaN after a
 * NaN, +inf after an infinity or beyond a double's range). */
double mlp_fold_sq_value(const mlp_fold_sq_t *s);

#endif
