/*
 * loader: the "num_workers" pool.  Worker threads decode batches of a
 * dataset split into ring slots, ahead of the trainer, in a fixed schedule.
 *
 * The schedule is known up front: for each epoch e in [first_epoch,
 * first_epoch + epochs): the training batches of e (order: permutation of
 * (seed, e), mlp_perm_*), then, if `val` is set, the validation batches in
 * split order, then, if `test` is set, the test batches in file order.
 * Only training batches are shuffled (and augmented): validation and test
 * batches are decoded plainly.  Batch k of a phase holds samples [k*batch, min((k+1)*batch, n)) of
 * that order; the last batch may be smaller.  Batch contents are a pure
 * function of (dataset, seed, epoch, k): the same for any number of workers.
 *
 * Augmentation (opts.augment, training batches only, never test): sample i
 * of the split in epoch e is mirrored (flip) and moved by (dx, dy) as drawn
 * by mlp_augment_draw(augment, seed, e, i), with zero fill, inside the
 * decode pass (each output value is written once).  So it too is the same
 * for any number of workers and on resume.
 *
 * Workers: with workers = 0 the trainer thread decodes each batch itself in
 * mlp_loader_next (no threads).  With N > 0 workers, each takes the next
 * unclaimed sequence number, waits for its slot, decodes pixels to float
 * (p / 255) or real features by the affine transform (x - shift) * scale,
 * and labels to int32, and publishes (with opts.bf16 each value rounded
 * to bf16 as it is written: the slots hold half the bytes, and a bf16 net
 * reads them as they are).  The ring has a fixed number
 * of slots (see mlp_loader_create), so memory is bounded however large N is.
 *
 * Shutdown: mlp_loader_destroy aborts the ring, wakes and joins every worker,
 * whether the ring is full, empty, or the schedule is done.  A batch that a
 * worker fails to decode is handed over in order like any other: the
 * trainer's mlp_loader_next returns its status with the worker's message
 * when it reaches that batch (after every batch before it), and the loader
 * stops: every later call returns the same.  Signals are blocked in
 * workers.
 *
 * Only the consumer (one thread) calls mlp_loader_next/release.
 */
#ifndef MLPTRAIN_LOADER_H
#define MLPTRAIN_LOADER_H

#include <stddef.h>
#include <stdint.h>

#include "mlptrain/bf16.h"
#include "mlptrain/dataset.h"

typedef enum {
    MLP_PHASE_TRAIN = 0,
    MLP_PHASE_TEST = 1,
    MLP_PHASE_VAL = 2
} mlp_phase_t;

/* The most pixels --augment shift=K moves an image. */
#define MLP_AUGMENT_MAX_SHIFT 16

/*
 * Augmentation of training batches, done by the workers while decoding:
 * per sample, a function of (seed, epoch, sample index) only.  All zero:
 * none.
 */
typedef struct {
    unsigned shift;           /* random shift of up to `shift` pixels in
                                 each direction, zero fill; 0: none */
    int flip;                 /* random horizontal flip */
} mlp_augment_t;

/*
 * The draw of sample `index` (its position in the training split) in
 * `epoch` under `seed`: dx, dy uniform in [-shift, shift], flip 0 or 1
 * with probability 1/2 when a->flip (else 0).  A pure function of its
 * arguments (a counter-based hash, mlp_rng_key3).  The augmented image
 * is the source mirrored left-right when flip, then moved by (dx, dy):
 * out(x, y) = src'(x - dx, y - dy), 0 outside the image, where
 * src'(x, y) = src(cols - 1 - x, y) when flip, else src(x, y).
 */
void mlp_augment_draw(const mlp_augment_t *a, uint64_t seed, unsigned epoch,
                      uint64_t index, int *dx, int *dy, int *flip);

/* 1 when a changes any image (a shift or a flip). */
int mlp_augment_active(const mlp_augment_t *a);

typedef struct {
    const mlp_split_t *train; /* required, n > 0 */
    const mlp_split_t *test;  /* NULL: no test phase */
    const mlp_split_t *val;   /* NULL: no validation phase (it runs
                                 between training and test) */
    size_t batch;             /* rows per batch, > 0 */
    unsigned first_epoch;     /* epochs are numbered from 1 */
    unsigned epochs;          /* how many epochs to schedule */
    uint64_t seed;            /* keys each epoch's permutation */
    int shuffle;              /* 0: training order = file order */
    unsigned workers;         /* 0: decode on the consumer's thread */
    size_t slots;             /* ring slots; 0: automatic, 2 per worker,
                                 at least 2, at most 16 (mlp_loader_nslots) */
    mlp_augment_t augment;    /* training batches only; zero: none */
    size_t rows, cols;        /* image shape, rows * cols = dim; needed
                                 (nonzero) only when augmenting */
    /* MPI ranks (nranks > 1): decode only the rows of each batch that
     * rank `rank` computes, mlp_fold_rank_rows(n, micro, rank, nranks):
     * the other rows of x and y are left as they were (b.n stays the
     * batch's).  nranks <= 1: every row. */
    size_t micro;
    int rank, nranks;
    int bf16;                 /* decode into bf16 values (batch xh) */
} mlp_loader_opts_t;

/* The most loader threads (opts.workers); more is MLP_EINVAL. */
#define MLP_LOADER_MAX_WORKERS 256

typedef struct {
    union {                     /* (n, dim): */
        const float *x;         /* floats */
        const mlp_bf16_t *xh;   /* or bf16 values (opts.bf16) */
    };
    const int32_t *y;    /* (n) */
    size_t n;            /* rows */
    unsigned epoch;      /* 1-based */
    mlp_phase_t phase;
    size_t index;        /* batch index within the phase */
    int last;            /* last batch of its phase */
    void *slot_;         /* for mlp_loader_release */
} mlp_batch_t;

typedef struct mlp_loader mlp_loader_t;

/*
 * Validate opts (MLP_EINVAL naming the field), allocate the ring and start
 * the workers.  Slots: opts->slots, or 0 for min(max(2 workers, 2), 16).
 * The loader copies the split views; their pixel and label arrays must
 * outlive it.
 */
int mlp_loader_create(const mlp_loader_opts_t *opts, mlp_loader_t **out);

/* The ring slots a loader of these options gets (the rule above), for
 * estimates made before it exists. */
size_t mlp_loader_nslots(unsigned workers, size_t slots);
/*
 * Wait for the next batch of the schedule.  Returns 0 and fills *b;
 * MLP_ERANGE once the schedule is exhausted; or a worker's error, with its
 * message.  Batch s reuses the slot of batch s - mlp_loader_slots(): asking
 * for it while that one is not released is MLP_EINVAL (it would wait
 * forever).
 */
int mlp_loader_next(mlp_loader_t *ld, mlp_batch_t *b);
/* Hand the batch's slot back to the workers. */
void mlp_loader_release(mlp_loader_t *ld, mlp_batch_t *b);
/*
 * Seconds the consumer spent in mlp_loader_next waiting for data so far
 * (clock.h): blocked on the ring, or, with 0 workers, decoding the batch
 * itself.
 */
double mlp_loader_wait_seconds(const mlp_loader_t *ld);
/* Ring slots in use and their bytes, for reports. */
size_t mlp_loader_slots(const mlp_loader_t *ld);
size_t mlp_loader_bytes(const mlp_loader_t *ld);
/* Number of batches per epoch in a phase of a split of n samples. */
size_t mlp_loader_nbatches(size_t n, size_t batch);
/* Stop and join all workers, free everything; NULL is a no-op. */
void mlp_loader_destroy(mlp_loader_t *ld);

#endif
