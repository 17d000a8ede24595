/*
 * step: the parallel training step of micro-batches, and the evaluation
 * split the same way.
 *
 * A global batch of N rows (one or more loader batches: --accum) is cut
 * into micro-batches of `micro` rows, each loader batch on its own
 * (fold.h: mlp_fold_micro; a loader batch's rows continue the global
 * batch's numbering).  Each micro-batch's gradient (of the loss summed
 * over its rows, divided by N) goes to its own buffer; the step's
 * gradient is their left fold in micro-batch order (mlp_fold), folded
 * loader batch by loader batch into one accumulator (the fold continued:
 * the same bits as one fold over all of them), and the optimizer runs in
 * the same pass as the last fold, element range by element range.  Loss
 * sums (double) and correct counts are kept per micro-batch and added in
 * micro-batch order.  So the figures depend on the partition alone: not on
 * the thread count nor on which thread took which micro-batch.
 *
 * Modes:
 *   MLP_PAR_BATCH  `threads` compute threads, the caller's and threads - 1
 *                  pthreads, each with its own net replica (one oneDNN
 *                  thread, shared parameters): micro-batches and fold
 *                  ranges handed out dynamically (an atomic counter), so a
 *                  thread on a busy core takes fewer.  The net passed in
 *                  must be made with threads 1.
 *   MLP_PAR_GEMM   one net, oneDNN's threads inside each primitive, the
 *                  micro-batches in order on the caller; the fold and
 *                  optimizer pass over OpenMP threads.  Same partition and
 *                  fold: the figures agree with batch mode where oneDNN's
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
 * are one more pass over the parameters.
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
 * may be garbage: the loader decodes only this rank's, mlp_fold_rank_rows);
 * the fold is mlp_dist_fold, the chain that gives the bits of one process
 * (rank 0 puts the step's running sum first when --accum continues it),
 * then every rank applies the same optimizer step.  The per-micro-batch
 * losses and counts are gathered in global order (mlp_dist_sum_ordered of
 * rows that are zero outside each rank's block: x + 0 = x) and added one
 * by one as one process does.  Evaluation is split the same way.  Waves
 * are off: a rank keeps a buffer per micro-batch of its block (about
 * ceil(micro-batches / nranks) + 2 gradient buffers).  Every rank must make
 * the same calls (they are collective); they come from the thread that
 * called mlp_dist_init.  With --accum, each loader batch is reduced on its
 * own (accum reductions per step: the same bits, more traffic).
 *
 * Errors: MLP_EINVAL (bad options), MLP_ENOMEM, MLP_EDNNL and the net's,
 * MLP_EIO (a thread could not start); a worker's error comes back with its
 * message.  After a failed pass the step's gradient is undefined; begin a
 * new step.
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
 * Gradient buffers of nflat floats a stepper of these options allocates:
 * the accumulator and one per micro-batch of a wave (the micro-batches of
 * a loader batch are computed in waves of max(8, 2 x threads), each wave
 * folded before the next: memory bounded whatever the batch; the waves
 * never change the sums).  For a memory check before mlp_stepper_create.
 */
size_t mlp_step_grad_buffers(const mlp_step_opts_t *o);

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
/* Fold the last add's gradients into the step's gradient. */
int mlp_stepper_fold(mlp_stepper_t *st);
/* Fold the last add's gradients and apply the optimizer at rate lr. */
int mlp_stepper_apply(mlp_stepper_t *st, float lr);

/*
 * Evaluate n rows: loss sum and correct count added to *loss and
 * *correct, chunks of `micro` rows over the threads, summed in chunk
 * order (the same for any thread count).
 */
int mlp_stepper_eval(mlp_stepper_t *st, const void *x, const int32_t *y,
                     size_t n, double *loss, size_t *correct);

#endif
