/*
 * dist: the sums, messages and agreements of training across processes
 * and machines (MPI), and the 1-rank case of the same calls without it.
 *
 * Two files, chosen by the build (Makefile.am), as libuv splits unix/ and
 * win/: src/dist_mpi.c, the one file that includes mpi.h, and
 * src/dist_none.c, the 1-rank case of every call for a build without MPI
 * (configure --without-mpi, or no mpicc); src/dist_env.c, what mpirun put
 * in the environment (mlp_dist_launched), is built with either.  In an MPI build a process that
 * mpirun did not start is the 1-rank case too, so the trainer calls the
 * same functions either way.
 *
 * Every R-rank call below is collective (all ranks of the job call it, in
 * the same order, with the same n / bytes / root) except the messages
 * (mlp_dist_exchange, mlp_dist_send, mlp_dist_poll).  The module's state
 * is process-wide and not thread-safe: one thread at a time calls it.
 * Which thread: the library is initialised MPI_THREAD_SERIALIZED, so any
 * one thread at a time may call when mlp_dist_threads() says so (the
 * step's communication thread does, while the trainer's thread waits);
 * where the MPI library grants only MPI_THREAD_FUNNELED, only the thread
 * that called mlp_dist_init may, and the step reduces on it (no overlap,
 * the same bits).  The test hook MLPTRAIN_TEST_MPI_THREAD=funneled asks
 * for FUNNELED, to test that case.
 *
 * Why point-to-point messages and not MPI_Allreduce for the gradient:
 * MPI_Allreduce's association order is unspecified (Open MPI picks
 * recursive doubling, ring, Rabenseifner, ... by message size and rank
 * count, each adding the ranks' floats in another order), so the figures
 * would change with R and with Open MPI's choice.  The step's sum has a
 * fixed order (fold.h's tree), and reduce.h makes it across ranks with
 * messages this module carries; doc/mpi.md gives the measurements
 * behind the choice (against an exact integer sum that MPI_Allreduce
 * could carry: mlp_dist_sum_i64, for the benchmark).
 *
 * Errors: a failing MPI call gives MLP_EIO with MPI_Error_string's text
 * (the library is set to return errors, not to abort); nothing exits,
 * except mlp_dist_abort, whose job it is.  After a failed collective or
 * exchange the ranks no longer agree on where they are: the caller reports
 * the error and calls mlp_dist_abort.
 */
#ifndef MLPTRAIN_DIST_H
#define MLPTRAIN_DIST_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Start: MPI_Init_thread(MPI_THREAD_SERIALIZED) when built with MPI and
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
 * 1 when a thread other than mlp_dist_init's may make this module's calls
 * (one thread at a time: MPI_THREAD_SERIALIZED or more was granted, or
 * the 1-rank case, which makes no MPI call); 0 when only that thread may
 * (FUNNELED).
 */
int mlp_dist_threads(void);

/*
 * 1 when the step should run a communication thread beside its
 * compute_threads (step_ranks.c): the library allows one (mlp_dist_threads)
 * and it has a core of its own, that is the cores this process may run on
 * hold compute_threads + 1 for every rank that shares them (the node's
 * ranks whose CPU affinity meets this one's, compared at mlp_dist_init:
 * all of them, unless mpirun's binding, taskset or a batch system's
 * cpuset set them apart).  Where
 * every core computes, the thread's polls and wake-ups take turns with the
 * compute threads and cost more than the overlap gives (doc/mpi.md,
 * measured: 2 ranks of one thread on 2 cores).  Not started by mpirun
 * (the 1-rank case): 1.  Test hook: MLPTRAIN_TEST_MPI_THREAD=serialized
 * gives 1 wherever the library allows a thread.
 */
int mlp_dist_comm_thread(int compute_threads);

/*
 * Messages between ranks, sent and received at once: mlp_dist_exchange_start
 * posts every send of sends[0..ns) and every receive of recvs[0..nr) (each a
 * buffer of `bytes` to or from rank `peer`, != this rank; bytes 0: none is
 * made), of kind `tag` (0 <= tag < MLP_DIST_TAGS), on the step's own
 * communicator (they never meet the collectives); mlp_dist_exchange_wait
 * returns when all are done.  A receive matches the sends of its peer and
 * tag in the order both sides post them, so two ranks that post their
 * messages of one tag in the same order need no more.  The buffers stay
 * untouched (sends) and unread (receives) until the wait returns, except
 * ranges no message names.  One exchange at a time.
 *
 * Waiting polls (MPI_Testall: Open MPI moves data only inside its calls);
 * while *busy is non-zero (the compute threads are working) it sleeps
 * MLP_DIST_POLL_NS between polls, so a core stays theirs, else it polls
 * without pause but for a sched_yield (a loader thread of this process
 * may want the core; busy NULL: never sleeps).  A non-zero *cancel (cancel
 * may be NULL) gives up: the messages are dropped and MLP_EIO returned
 * (a rank that failed stops waiting for peers it will never serve).
 *
 * Errors: MLP_EINVAL (a bad peer or tag), MLP_EIO (an MPI call failed, or a
 * message of another size arrived: the ranks disagree on the plan).  In
 * the 1-rank case there is no peer: any message is MLP_EINVAL, none is 0.
 */
#define MLP_DIST_TAGS 8
#define MLP_DIST_POLL_NS 20000
typedef struct {
    void *buf;
    size_t bytes;
    int peer;
} mlp_dist_msg_t;
int mlp_dist_exchange_start(const mlp_dist_msg_t *sends, size_t ns,
                            const mlp_dist_msg_t *recvs, size_t nr,
                            int tag);
int mlp_dist_exchange_wait(const atomic_int *busy, const atomic_int *cancel);

/*
 * For the benchmark only, the sums mlp_dist_exchange's plan is measured
 * against (bench_dist): v summed over the ranks in place by MPI_Allreduce
 * (MPI_SUM), in whatever order Open MPI picks, so the float sum's bits
 * depend on R and on its algorithm; the int64 sum and maximum are exact
 * in any order (an integer fixed-point sum of the gradient could use
 * them).  Not for training figures.
 */
int mlp_dist_sum_unordered(float *v, size_t n);
int mlp_dist_sum_i64(int64_t *v, size_t n);
int mlp_dist_max_i64(int64_t *v, size_t n);

/*
 * The left fold of every rank's rows of doubles (loss sums) in global row
 * order: parts is nparts rows of `width` values (row-major); every rank's
 * rows are gathered, and out[0..width) gets ((r0 + r1) + r2) + ... on
 * every rank (zeros when there is no row).
 */
int mlp_dist_sum_ordered(double *out, const double *parts, size_t nparts,
                         size_t width);

/*
 * mlp_dist_sum_ordered with exactly one row of `width` values from every
 * rank (width the same everywhere): one MPI_Allgather, where the general
 * case needs the counts first.  For the evaluation's per-micro-batch
 * losses.
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
 * What the exchanges did since the last reset, for the log and the
 * benchmark: exchanges, wall seconds inside mlp_dist_exchange_wait, and
 * this rank's bytes sent and received.
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
