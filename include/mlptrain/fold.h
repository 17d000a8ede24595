/*
 * fold: the fixed order of the parallel step's sums.
 *
 * A global batch of n rows is cut into micro-batches of m rows from its
 * first row (the last one may be shorter).  Each micro-batch's gradient
 * is computed on its own; the step's gradient is their left fold in
 * micro-batch order, ((g0 + g1) + g2) + ..., element by element.  Which
 * thread, process or machine computed which micro-batch never enters the
 * sum, so the figures depend on the partition alone.
 *
 * Across R processes, rank r owns a contiguous block of micro-batches
 * (mlp_fold_rank), and the fold runs as a chain: rank r receives the
 * running sum of ranks 0..r-1, folds its own parts into it in order and
 * passes it on (mlp_fold with acc_in 1).  The result has the same bits as
 * one process folding all the parts.
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
 * Elements [lo, hi) of acc: acc_in 0: parts[0] + parts[1] + ... (left to
 * right; nparts >= 1); acc_in 1: acc + parts[0] + parts[1] + ... (nparts
 * may be 0).  Each element is summed in that order whatever the vector
 * width, so any split of [lo, hi) gives the same bits.
 */
void mlp_fold(float *acc, int acc_in, const float *const *parts,
              size_t nparts, size_t lo, size_t hi);

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
