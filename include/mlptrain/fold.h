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
 * Elements [lo, hi) of acc: acc_in 0: parts[0] + parts[1] + ... (left to
 * right; nparts >= 1); acc_in 1: acc + parts[0] + parts[1] + ... (nparts
 * may be 0).  Each element is summed in that order whatever the vector
 * width, so any split of [lo, hi) gives the same bits.
 */
void mlp_fold(float *acc, int acc_in, const float *const *parts,
              size_t nparts, size_t lo, size_t hi);

#endif
