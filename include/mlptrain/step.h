/*
 * step: the parallel training step of micro-batches, and the evaluation
 * split the same way.
 *
 * A global batch of N rows (one or more loader batches: --accum) is cut
 * into micro-batches of `micro` rows, each loader batch on its own
 * (fold.h: mlp_fold_micro; a loader batch's rows continue the global
 * batch's numbering).  Each micro-batch's gradient (of the loss summed
 * over its rows, divided by N) goes to its own buffer; the step's
 * gradient is their sum in fold.h's tree over the micro-batches of the
 * whole step (pairwise: (g0 + g1) + (g2 + g3) ...), built loader batch by
 * loader batch on one stack (the same bits as one tree over all of them),
 * and the optimizer runs in the same pass as the last sums, element range
 * by element range.  Loss sums (double) and correct counts are kept per
 * micro-batch and added in micro-batch order.  So the figures depend on
 * the partition alone: not on the thread count, nor on the rank count,
 * nor on which thread or rank took which micro-batch.
 *
 * Modes:
 *   MLP_PAR_BATCH  `threads` compute threads, the caller's and threads - 1
 *                  pthreads, each with its own net replica (one oneDNN
 *                  thread, shared parameters): micro-batches and element
 *                  ranges handed out dynamically (an atomic counter), so a
 *                  thread on a busy core takes fewer.  The net passed in
 *                  must be made with threads 1.
 *   MLP_PAR_GEMM   one net, oneDNN's threads inside each primitive, the
 *                  micro-batches in order on the caller; the sums and the
 *                  optimizer pass over OpenMP threads.  Same partition and
 *                  tree: the figures agree with batch mode where oneDNN's
 *                  one- and many-thread results agree bit for bit.
 *
 * Precision is the net's (net.h): x comes in the net's input type
 * (float, or bf16: mlp_net_input_bytes), and a bf16 net's copy of the
 * weights is refreshed in the optimizer's pass, range by range, right
 * after the update (mlp_net_params_changed).  The figures of one
 * precision depend on the partition alone, as above.
 *
 * Clipping (opts.clip_norm > 0, --clip-grad): before the optimizer, the
 * step's gradient g is scaled by clip / (|g| + 1e-6) when that is below 1,
 * |g| the 2-norm over every parameter's gradient (PyTorch's
 * clip_grad_norm_).  |g| is taken from the folded gradient as an exact
 * sum of squares (fold.h: mlp_fold_sq_t), so it has the same bits for any
 * thread count, rank count and parameter layout; the scale and the update
 * are one more pass over the parameters.  With ranks the norm needs every
 * bucket's sum, so the update waits for the last one (the reductions
 * still overlap the backward; the updates no longer overlap them).
 *
 * Threads: between passes a worker spins on the pass counter for up to
 * 50 us (a pass hand-off is usually sooner, and a futex wake-up costs tens
 * of microseconds twice a step), then sleeps on a condition variable, so
 * a busy neighbour gets its core back; the caller wakes them, works too,
 * and waits (the same way) until all are done.  Passes are separated, so
 * a replica never reads parameters while the optimizer writes them.  All
 * functions are called from the one thread that made the stepper.
 *
 * Ranks (nranks > 1, dist.h): each loader batch's micro-batches are split
 * into contiguous blocks by mlp_fold_rank; a rank computes only its block
 * (its threads as above) and reads only those rows of x and y (the others
 * may be garbage: the loader decodes only this rank's, mlp_fold_rank_rows).
 * The sum across ranks is reduce.h's (the same tree, so the same bits as
 * one process), bucket by bucket, overlapped with the backward:
 *   - buckets: ranges of the gradient in the order the backward completes
 *     them, the last layer first (mlp_step_buckets: layers are gathered
 *     up to a size, and a large layer is cut, sizes set by measurement);
 *   - a bucket's reduction starts as soon as every micro-batch of this
 *     rank has passed its layers (the net's layer-done hook), on a
 *     communication thread, while the backward of the earlier layers
 *     runs; it polls MPI with pauses while the compute threads work and
 *     without once they wait;
 *   - the optimizer of a bucket runs as soon as its sum is there and the
 *     compute threads are free (mlp_stepper_apply: bucket by bucket, the
 *     later buckets' messages still travelling), never while a replica
 *     may read the weights it writes;
 *   - the per-micro-batch losses and counts are exchanged by the same
 *     thread as soon as this rank's forwards are done, and added one by
 *     one as one process adds them.
 * Where MPI allows only the thread that started it to call
 * (mlp_dist_threads() 0), or the thread would have no core of its own
 * (mlp_dist_comm_thread 0: it would slow the compute threads more than it
 * hides), the same reductions run on the caller after the backward, in
 * one bucket: the same bits, no overlap.  A rank keeps a gradient buffer
 * per micro-batch of its block, and the reducer's (reduce.h).  Every rank
 * must make the same calls (the exchanges pair up); they come from the
 * thread that called mlp_dist_init or from the communication thread,
 * never both at once, and the communication thread is idle when a
 * stepper call returns (so the trainer's own collectives between steps
 * are safe).
 *
 * Errors: MLP_EINVAL (bad options), MLP_ENOMEM, MLP_EDNNL and the net's,
 * MLP_EIO (a thread could not start; a failed exchange); a worker's or
 * the communication thread's error comes back with its message.  After a
 * failed pass the step's gradient is undefined; begin a new step (with
 * ranks, a failed exchange leaves the ranks disagreeing: abort the job).
 */
#ifndef MLPTRAIN_STEP_H
#define MLPTRAIN_STEP_H

#include <stddef.h>
#include <stdint.h>

#include "mlptrain/net.h"
#include "mlptrain/optim.h"

typedef enum { MLP_PAR_AUTO, MLP_PAR_GEMM, MLP_PAR_BATCH } mlp_par_t;
/* "auto", "gemm", "batch", NULL */
extern const char *const mlp_par_names[];

typedef struct {
    mlp_par_t mode;      /* MLP_PAR_GEMM or MLP_PAR_BATCH */
    int threads;         /* batch mode: compute threads, >= 1 */
    size_t micro;        /* rows per micro-batch, >= 1 */
    size_t max_rows;     /* the largest loader batch */
    float smoothing;     /* label smoothing, [0, 1) */
    float clip_norm;     /* the gradient's largest 2-norm; 0: no clipping */
    int rank, nranks;    /* MPI (dist.h): this process's rank of nranks;
                            nranks <= 1: one process (no dist call) */
    size_t accum;        /* loader batches a step, at most (0: 1) */
    size_t bucket;       /* ranks: a bucket's floats, at most (0: the
                            measured default, MLP_STEP_BUCKET) */
} mlp_step_opts_t;

struct mlp_config;

/*
 * The step's options of a run (the one place they are built from the run
 * options, options.h): mode (cfg->parallel, already resolved: gemm or
 * batch), threads, micro (resolved), label smoothing and clip norm from
 * cfg; max_rows (the largest loader batch), rank and nranks from the
 * caller.
 */
void mlp_step_opts_of(const struct mlp_config *cfg, size_t max_rows,
                      int rank, int nranks, mlp_step_opts_t *o);

/*
 * The threads the step's net is made with (mlp_net_spec_t.threads), and
 * the replicas the step makes of it: batch mode runs a one-thread net and
 * threads - 1 replicas (each thread its own), gemm mode one net on every
 * thread and no replica.
 */
int mlp_step_net_threads(const mlp_step_opts_t *o);
int mlp_step_replicas(const mlp_step_opts_t *o);

/*
 * Buckets, with ranks: the gradient's ranges in the order a backward
 * completes them.  Walking the layers from the last, a layer joins the
 * bucket before it while that stays within the bucket's size (the first
 * bucket's MLP_STEP_BUCKET_FIRST, so the first reduction starts early,
 * as PyTorch DDP's 1 MB first bucket), else starts a new one; a layer
 * larger than the size is cut into equal pieces (aligned to 16 floats),
 * each a bucket, so the update of one overlaps the messages of the next.
 * The sizes (floats): measured with `bench_dist --step` (doc/mpi.md):
 * pieces helped the deep model (whole layers hid least), but the loaded
 * machine could not separate 16384 from 262144, so the default is DDP's
 * 1 MB first bucket; mlp_step_opts_t.bucket sets another.  Without a
 * communication thread (dist.h's mlp_dist_comm_thread) nothing overlaps:
 * the whole gradient is one bucket, whatever the sizes.
 */
#define MLP_STEP_BUCKET_FIRST ((size_t)16384)
#define MLP_STEP_BUCKET ((size_t)262144)

typedef struct mlp_stepper mlp_stepper_t;

/*
 * The default micro-batch of a batch: a function of the batch alone (never
 * of the thread count): 128 rows, or the batch when it is smaller.
 * Measured on 784-256-10 (one thread, samples/s): 64 rows 102k, 128 rows
 * 114k, 256 rows 121k: smaller micro-batches balance threads better but
 * run each GEMM slower; 128 gave the best whole step on two threads for
 * the default recipe (batch 256) and the 0.90 recipe (batch 512).
 */
size_t mlp_step_default_micro(size_t batch);

/*
 * The mode auto picks, by the model's shape, the batch and the
 * micro-batch only (never the thread count or a timing): gemm when a batch
 * is one micro-batch (batch mode would leave all threads but one idle), or
 * when one sample's forward costs more than 1M multiply-adds and
 * micro-batches are large (>= 256 rows: GEMMs big enough to split);
 * batch mode otherwise (the default recipe: 784-256-10, batch 256, micro
 * 128).
 */
mlp_par_t mlp_step_auto_mode(const mlp_net_spec_t *spec, size_t batch,
                             size_t micro);

/*
 * Add to spec->batch_sizes the micro-batch sizes of n rows cut into loader
 * batches of `batch` and those into micro-batches of `micro`.  MLP_EINVAL
 * when the list would overflow (MLP_MAX_BATCH_SIZES).
 */
int mlp_step_spec_sizes(mlp_net_spec_t *spec, size_t n, size_t batch,
                        size_t micro);

/*
 * Gradient buffers of nflat floats a stepper of these options allocates
 * (for a memory check before mlp_stepper_create).  One process: one per
 * micro-batch of a wave (the micro-batches of a loader batch are computed
 * in waves of max(8, 2 x threads), each wave pushed on the step's tree
 * before the next: memory bounded whatever the batch; the waves never
 * change the sums), and, when the step has more than one wave, the nodes
 * the tree keeps meanwhile (log2 of the step's micro-batches + 1).  Ranks:
 * one per micro-batch of the largest block, and the reducer's (reduce.h:
 * buffers of 1/nranks of the gradient, counted as such).
 */
double mlp_step_grad_buffers(const mlp_step_opts_t *o);

/*
 * A stepper over net (made with the micro-batch sizes, see
 * mlp_step_spec_sizes) and opt; both must outlive it and be used through
 * it only while it lives.  Batch mode starts threads - 1 workers, each
 * making its replica.
 */
int mlp_stepper_create(const mlp_step_opts_t *o, mlp_net_t *net,
                       mlp_optim_t *opt, mlp_stepper_t **out);
/* Stops and joins the workers; NULL is a no-op. */
void mlp_stepper_destroy(mlp_stepper_t *st);

/*
 * Begin a step of `rows` rows in all (the global batch; the gradients are
 * divided by it), with dropout keyed by key (NULL: none; key->row0 is set
 * per micro-batch from the row's place in the global batch).
 */
void mlp_stepper_begin(mlp_stepper_t *st, size_t rows,
                       const mlp_drop_key_t *key);

/*
 * The next loader batch of the step: n rows x (n, dim) in the net's input
 * type, labels y (n).
 * Computes its micro-batches' gradients and adds its loss sum and correct
 * count to *loss and *correct (the caller checks the loss before going
 * on).  Then call mlp_stepper_fold (more loader batches follow) or
 * mlp_stepper_apply (the step's last).
 */
int mlp_stepper_add(mlp_stepper_t *st, const void *x, const int32_t *y,
                    size_t n, double *loss, size_t *correct);
/* Put the last add's gradients on the step's tree (ranks: wait until
 * its buckets went to their owners). */
int mlp_stepper_fold(mlp_stepper_t *st);
/* Sum the step's gradient and apply the optimizer at rate lr (the step's
 * last add; ranks: bucket by bucket, as each is summed).  The one place
 * the update is made from the summed gradient (fold then apply). */
int mlp_stepper_apply(mlp_stepper_t *st, float lr);

/*
 * What the reductions across ranks did since the stepper was made, for
 * the log and the benchmark (zeros in one process): steps reduced; wall
 * seconds the reductions were at work (the communication thread's time in
 * the exchanges and sums of the losses and the buckets, from the moment
 * each could start); the part of it the compute threads waited for
 * (exposed: the rest was hidden behind the backward); and this rank's
 * bytes sent and received.  hidden / at work = 1 - exposed / seconds.
 */
typedef struct {
    uint64_t steps;
    double seconds;
    double exposed;
    uint64_t bytes;
    int overlap;        /* 1: a communication thread overlaps the sums
                           with the backward (mlp_dist_comm_thread); 0:
                           none, no core free for it; -1: none, MPI
                           allows no other thread (FUNNELED) */
} mlp_step_stats_t;
void mlp_stepper_stats(const mlp_stepper_t *st, mlp_step_stats_t *s);

/*
 * Evaluate n rows: loss sum and correct count added to *loss and
 * *correct, chunks of `micro` rows over the threads, summed in chunk
 * order (the same for any thread count).
 */
int mlp_stepper_eval(mlp_stepper_t *st, const void *x, const int32_t *y,
                     size_t n, double *loss, size_t *correct);

#endif
