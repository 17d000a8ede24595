/*
 * reduce: the step's gradient summed across MPI ranks in the tree order of
 * fold.h, bucket by bucket, with the bits of one process summing every
 * micro-batch's gradient: for any rank count and any cut of the step into
 * loader batches.
 *
 * The gradient (nflat floats) is cut into buckets, disjoint ranges reduced
 * one after the other in the caller's order (the step's: the last layer's
 * first, as its backward produces them).  Each bucket is cut into R
 * segments (aligned to 16 floats); rank s owns segment s of every bucket
 * and makes all of the tree's additions on it.  For each loader batch of
 * a step (micro-batches [m0, m0 + m) of the step's tree, its ranks'
 * blocks by mlp_fold_rank), rank r holds the gradients of its block, one
 * buffer each, and for each bucket:
 *   1. sums its block into the block's maximal aligned nodes
 *      (mlp_fold_block_nodes), in its part buffers (nothing to do with one
 *      micro-batch a rank);
 *   2. sends segment s of each of its nodes to rank s, and receives
 *      segment r of every other rank's nodes (mlp_dist_exchange);
 *   3. pushes every node of the loader batch, in order, on its stack of
 *      segment r (fold.h: the step's tree, kept across the loader batches
 *      of a step), summing siblings;
 *   4. at the step's last loader batch, sums its stack into segment r of
 *      the result, sends that to every rank and receives theirs: every rank
 *      then holds the whole sum.
 * A rank sends and receives, per bucket of b bytes with one node a rank,
 * b (R - 1) / R in 2 and again in 4: a ring all-reduce's bytes, in two
 * rounds of messages that all travel at once (not R - 1 rounds).  More
 * micro-batches a rank cost nothing more when its block is an aligned
 * node, up to 2 log2 of them more in general.
 *
 * Memory: the caller's part buffers, the result (nflat floats), and
 * max_micro + log2(max_step_micro) + 1 buffers of this rank's segments
 * (about nflat / R floats each): mlp_reduce_floats.
 *
 * Threads: none of its own; one thread at a time calls it (the step's
 * communication thread), and that thread makes dist's calls
 * (mlp_dist_threads).  Errors: MLP_ENOMEM, MLP_EINVAL (a plan the
 * options do not allow), and dist's (MLP_EIO: the ranks no longer agree;
 * the caller aborts the job).
 */
#ifndef MLPTRAIN_REDUCE_H
#define MLPTRAIN_REDUCE_H

#include <stdatomic.h>
#include <stddef.h>

typedef struct {
    size_t nflat;          /* floats of a gradient */
    size_t nbuckets;       /* >= 1 */
    const size_t *lo, *hi; /* bucket b is [lo[b], hi[b]), within nflat */
    int rank, nranks;      /* this process, of nranks >= 1 */
    size_t max_micro;      /* micro-batches of a loader batch, at most */
    size_t max_step_micro; /* micro-batches of a step, at most */
} mlp_reduce_opts_t;

typedef struct mlp_reduce mlp_reduce_t;

/* Floats a reducer of these options allocates (for a memory check). */
double mlp_reduce_floats(const mlp_reduce_opts_t *o);

int mlp_reduce_create(const mlp_reduce_opts_t *o, mlp_reduce_t **out);
/* NULL is a no-op. */
void mlp_reduce_destroy(mlp_reduce_t *r);

/* Forget any step begun: the next batch is a step's first. */
void mlp_reduce_reset(mlp_reduce_t *r);

/*
 * The step's next loader batch: m micro-batches; parts[0..count) the
 * gradients of this rank's block of them (mlp_fold_rank(m, rank, nranks)),
 * nflat floats each, which the buckets' step 1 overwrites; last: the
 * step's last loader batch (its buckets then end with the whole sum).
 * Makes the plan; the buckets do the work.  MLP_EINVAL when m is 0 or more
 * than max_micro, or the step would pass max_step_micro, or the previous
 * batch's buckets are not all done.
 */
int mlp_reduce_batch(mlp_reduce_t *r, size_t m, float *const *parts,
                     int last);

/*
 * Bucket b of the current batch, steps 1 to 4 (every bucket once, in
 * order 0, 1, ...): when it returns, on the step's last batch, range
 * [lo[b], hi[b]) of mlp_reduce_result holds the step's sum on every rank.
 * busy, cancel: as mlp_dist_exchange_wait's.  The part buffers are free again
 * once the batch's last bucket returns.
 */
int mlp_reduce_bucket(mlp_reduce_t *r, size_t b, const atomic_int *busy,
                      const atomic_int *cancel);

/* The step's summed gradient (nflat floats), complete bucket by bucket. */
float *mlp_reduce_result(mlp_reduce_t *r);

#endif
