/*
 * dist: the sums and agreements of training across processes and machines
 * (MPI), and the 1-rank case of the same calls without it.
 *
 * This is the one module that includes mpi.h.  It is always built: without
 * MPI (configure --without-mpi, or no mpicc) and in a process that mpirun
 * did not start, every call is the 1-rank case, so the trainer calls the
 * same functions either way.
 *
 * Every R-rank call below is collective: all ranks of the job call it, in
 * the same order, with the same n / bytes / root.  Calls come from one
 * thread (the library is initialised MPI_THREAD_FUNNELED: the thread that
 * called mlp_dist_init); the module's state is process-wide.  Not
 * thread-safe.
 *
 * The gradient reduction is an ordered chain, not MPI_Allreduce.
 * MPI_Allreduce's association order is unspecified: Open MPI picks an
 * algorithm (recursive doubling, ring, Rabenseifner, ...) by message size
 * and rank count, and each adds the ranks' floats in another order, so the
 * figures would change with R and with Open MPI's choice.  Here the step's
 * gradient is the left fold of the micro-batch gradients in micro-batch
 * order (fold.h), whoever computed them: rank r receives the running sum
 * of ranks 0..r-1 chunk by chunk, folds its own parts into each chunk in
 * order (mlp_fold, acc_in 1) and passes the chunk on while it receives the
 * next one; the last rank then holds the total, which MPI_Bcast copies to
 * every rank.  The bits equal one process folding all the parts, for any
 * R.  (Measured with 2 ranks, each folding its 2 of 4 micro-batches
 * before MPI_Allreduce: 10% of the default model's sums get other bits.)
 * Pipelined over C chunks a rank sends and receives about the gradient's
 * bytes twice (chain, then broadcast), like a ring allreduce; the price is
 * the pipeline's depth: about C + R - 1 chunk transfers one after another
 * (see doc/parallel.md's scaling estimate).
 *
 * Errors: a failing MPI call gives MLP_EIO with MPI_Error_string's text
 * (the library is set to return errors, not to abort); nothing exits,
 * except mlp_dist_abort, whose job it is.  After a failed collective the
 * ranks no longer agree on where they are: the caller reports the error
 * and calls mlp_dist_abort.
 */
#ifndef MLPTRAIN_DIST_H
#define MLPTRAIN_DIST_H

#include <stddef.h>
#include <stdint.h>

/*
 * Start: MPI_Init_thread(MPI_THREAD_FUNNELED) when built with MPI and
 * started by mpirun (OMPI_COMM_WORLD_SIZE in the environment); else the
 * 1-rank case, a no-op.  Fails (MLP_ENOSYS) when the MPI library gives
 * less than FUNNELED, and when mpirun started several ranks of a program
 * built without MPI (each would train alone and write the same files).
 * A second call is a no-op.  argc/argv may be NULL.
 */
int mlp_dist_init(int *argc, char ***argv);

/*
 * Before mlp_dist_init: whether mpirun started this process (1, even with
 * one rank) and as which rank of how many, from the environment it sets
 * (Open MPI's OMPI_COMM_WORLD_RANK and _SIZE; dist is the one module that
 * knows them): *rank and *size, 0 and 1 when not started by mpirun (the
 * variables absent or not numbers: 0 returned).  For the command layer's
 * choices made before MPI starts (main.c: which commands run on ranks).
 */
int mlp_dist_launched(int *rank, int *size);

/* End: MPI_Finalize when mlp_dist_init started MPI; else a no-op. */
int mlp_dist_finalize(void);

/* This process's rank (0 in the 1-rank case), the number of ranks (1), and
 * whether MPI runs (1 under mpirun with an MPI build, even with 1 rank). */
int mlp_dist_rank(void);
int mlp_dist_size(void);
int mlp_dist_active(void);

/*
 * The ordered fold of every rank's parts, in rank order then part order
 * (rank r's parts[0..nparts) are the global parts after those of ranks
 * 0..r-1): out[i] = ((p0[i] + p1[i]) + p2[i]) + ...; out gets the total on
 * every rank, the same bits as mlp_fold of all the parts in one process.
 * Each part and out have n floats; nparts may be 0 on any rank; with no
 * part on any rank, out is zeros.  out must not overlap any part.
 */
int mlp_dist_fold(float *out, const float *const *parts, size_t nparts,
                  size_t n);

/*
 * For the benchmark only: v summed over the ranks in place by
 * MPI_Allreduce (MPI_SUM), in whatever order Open MPI picks, so the bits
 * depend on R and on its algorithm: what the ordered fold is measured
 * against.  Not for training figures.  Not counted in the stats.
 */
int mlp_dist_sum_unordered(float *v, size_t n);

/*
 * The same ordered fold for small vectors of doubles (loss sums): parts is
 * nparts rows of `width` values (row-major); every rank's rows are
 * gathered, and out[0..width) gets their left fold in global row order on
 * every rank (zeros when there is no row).
 */
int mlp_dist_sum_ordered(double *out, const double *parts, size_t nparts,
                         size_t width);

/*
 * mlp_dist_sum_ordered with exactly one row of `width` values from every
 * rank (width the same everywhere): one MPI_Allgather, where the general
 * case needs the counts first.  For the step's per-micro-batch losses.
 */
int mlp_dist_sum_rows(double *out, const double *row, size_t width);

/* v[0..n) summed over the ranks in place (counts: exact, any order). */
int mlp_dist_sum_u64(uint64_t *v, size_t n);

/* *any = 1 when flag is non-zero on some rank, else 0, on every rank: the
 * stop agreement (SIGINT on one rank stops all at the same batch). */
int mlp_dist_any(int flag, int *any);

/* buf[0..bytes) copied from rank root to every rank. */
int mlp_dist_bcast(void *buf, size_t bytes, int root);

/*
 * The ranks' agreement before training: the first collective of a train
 * job, taken exactly once by every rank whatever happened before, so that
 * no rank can wait in a sum the others never reach (another --epochs or
 * --limit-train would change the count of collectives; another --lr or
 * --seed would silently mix two runs).
 *
 * `status` is this rank's state: 0, ready to train, with `record` (len
 * bytes of lines "KEY=VALUE\n": everything that must be the same on every
 * rank); a negative MLP_E* code, this rank failed (its message set); or
 * MLP_DIST_NOT_TRAINING, it ends without training (--help).  Rank 0's
 * record is broadcast, every ready rank compares its own with it line by
 * line, and every rank's verdict (status and message) is gathered, so
 * every rank returns the same:
 *   - 0 when every rank is ready with rank 0's record;
 *   - the failure of the lowest failing rank, with its message (prefixed
 *     "rank R: " on the other ranks);
 *   - for a record that differs, MLP_EUSAGE when the first differing
 *     line's KEY starts with "option " (the ranks were given other
 *     options), else MLP_EINVAL (other data, checkpoint or build):
 *     "rank 1 disagrees with rank 0: option '--lr' is 0.2 on rank 1 and
 *     0.1 on rank 0";
 *   - MLP_DIST_NOT_TRAINING when no rank trains; MLP_EUSAGE when some do
 *     and some do not.
 * In the 1-rank case: status, at once.  A failed MPI call: MLP_EIO, and
 * the ranks no longer agree (the caller aborts the job).
 */
#define MLP_DIST_NOT_TRAINING 1
int mlp_dist_agree(int status, const char *record, size_t len);

/*
 * 1 once this process took the agreement; *agreed (may be NULL) gets what
 * it returned.  A failure that equals it is every rank's: each ends with
 * it, and none needs to stop the others (main.c).
 */
int mlp_dist_agreed(int *agreed);

/*
 * Stop every rank of the job with exit status code (MPI_Abort): does not
 * return when MPI runs.  In the 1-rank case a no-op that returns 0: the
 * caller then exits as it would anyway.
 */
int mlp_dist_abort(int code);

/*
 * Messages between two ranks, for a scheduler (a sweep's rank 0 handing
 * runs to the others): not collective, any rank to any other, in order
 * between a pair.  mlp_dist_send sends bytes (at most
 * MLP_DIST_MSG_MAX) to rank `to`; mlp_dist_poll takes the first message
 * waiting from any rank without blocking: *got 1 with its bytes, length
 * and sender, or *got 0 when none waits.  Their own tag on the module's
 * communicator: they never meet the sums.  In the 1-rank case there is
 * no other rank: send is MLP_EINVAL, poll finds nothing.
 */
#define MLP_DIST_MSG_MAX 4096
int mlp_dist_send(int to, const void *buf, size_t bytes);
int mlp_dist_poll(void *buf, size_t cap, size_t *bytes, int *from, int *got);

/* Ranks of the job on this machine (this one included): 1 without MPI. */
int mlp_dist_local_size(void);

/*
 * The chain's chunk in floats for a vector of n floats over nranks ranks:
 * by default n / (2 nranks) within [MLP_DIST_CHUNK_MIN, MLP_DIST_CHUNK_MAX]
 * (at least about 2R chunks, so the R hops overlap: the chain's latency is
 * about (chunks + R - 1) chunk transfers); mlp_dist_set_chunk fixes it
 * (0: the default again; every rank must set the same).  Any chunk gives
 * the same bits.
 */
#define MLP_DIST_CHUNK_MIN ((size_t)4096)
#define MLP_DIST_CHUNK_MAX ((size_t)65536)
void mlp_dist_set_chunk(size_t floats);
size_t mlp_dist_chunk(size_t n, int nranks);

/*
 * What mlp_dist_fold did since the last reset, for the benchmark: calls,
 * wall seconds inside it, and this rank's bytes sent and received by the
 * chain plus the broadcast's payload (counted once per rank: received,
 * or sent by the root; Open MPI's broadcast may forward more).
 */
typedef struct {
    uint64_t calls;
    double seconds;
    uint64_t bytes_sent;
    uint64_t bytes_received;
} mlp_dist_stats_t;

void mlp_dist_stats(mlp_dist_stats_t *st);
void mlp_dist_stats_reset(void);

#endif
