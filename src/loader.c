/*
 * loader: the worker pool that decodes batches into ring slots (see
 * loader.h).  Non-goals: reading files (dataset does that).
 *
 * Augmentation is part of decoding (decode_augmented): each output value is
 * written once, from its source pixel or 0, so a shifted or flipped batch
 * costs one pass like a plain one.  Its draws are keyed by (seed, epoch,
 * sample index), never by the worker or the time.
 *
 * bf16 (opts.bf16): the same decode, each value rounded once
 * (mlp_bf16_round of the float the f32 decode writes), into slots of half
 * the bytes.
 *
 * Threads.  `workers` joinable POSIX threads, all running worker_main, plus
 * the one consumer (the trainer) calling mlp_loader_next and
 * mlp_loader_release.  With workers = 0 there are no threads: the consumer
 * produces each batch itself through the same ring calls.
 *
 * The schedule.  Batches carry a global sequence number: seq -> (epoch,
 * phase, index) is pure arithmetic (locate), and batch contents are a pure
 * function of it (fill), so it does not matter which worker decodes what.
 * Workers take sequence numbers from one atomic counter and stop once it
 * passes the end of the schedule.
 *
 * Ownership of a slot.  The ring decides (see ring.c): the worker holding
 * seq s claims slot s % nslots once the consumer released s - nslots, fills
 * it without any lock, and publishes it; the consumer then owns it until
 * mlp_loader_release.  The dataset is read-only and shared without locks.
 *
 * Order.  The consumer acquires 0, 1, 2, ... strictly in order, however the
 * workers finish.  At most nslots batches exist at once; surplus workers
 * sleep in mlp_ring_claim on their slot's condition.
 *
 * Errors.  A batch that fails to decode is still published, with its status
 * in slot->user_int and its message in the slot's message buffer (written by
 * the worker that owns the slot, read by the consumer after the hand-off, so
 * no lock is needed).  The consumer thus meets the error exactly at that
 * batch, after every batch before it, whatever the timing.  It then records
 * the error as the loader's (`werr`, `wmsg`, under `mu`) and aborts the ring
 * with it: workers exit at their next claim, and every later
 * mlp_loader_next returns the same status and message.  A failure of the
 * ring itself (a pthread call) takes the same path from the thread that saw
 * it: record first, then abort, so whoever sees the ring's status finds the
 * message.  The thread-local message is copied across threads, never shared.
 *
 * Shutdown.  mlp_loader_destroy aborts the ring with MLP_EABORTED and joins
 * every worker: each one is either decoding (and exits at its next claim),
 * asleep in the ring (woken by the abort), or already gone.  Workers start
 * with all signals blocked, so signals reach the trainer's thread only.
 */
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pthread.h>

#include "clones.h"
#include "mlptrain/clock.h"
#include "mlptrain/error.h"
#include "mlptrain/faults.h"
#include "mlptrain/fold.h"
#include "mlptrain/loader.h"
#include "mlptrain/ring.h"
#include "mlptrain/rng.h"
#include "mlptrain/transform.h"

#define LOADER_MAX_AUTO_SLOTS 16
#define LOADER_STACK_SIZE (512 * 1024) /* workers need little stack */
#define LOADER_MSG_MAX 1024

struct mlp_loader {
    /* Read-only once the workers start. */
    mlp_split_t train, test, val; /* views; the arrays belong to the
                                     caller */
    int has_test;
    size_t batch, dim;
    unsigned first_epoch, epochs;
    uint64_t seed;
    int shuffle;
    mlp_augment_t augment;     /* training phase only */
    int augmenting;            /* mlp_augment_active(&augment) */
    size_t rows, cols;         /* image shape, when augmenting */
    size_t micro;              /* ranks: rows of a micro-batch */
    int rank, nranks;          /* ranks: decode this rank's rows only */
    int bf16;                  /* decode into bf16 values */
    size_t vbytes;             /* bytes of a decoded value: 4, 2 */
    float unit[256];           /* p / 255, for the mirrored rows */
    mlp_bf16_t unit_bf16[256]; /* the same rounded, for bf16 rows */
    uint64_t fault_batch;      /* mlp_fault_loader_batch() at create */
    size_t nb_train, nb_test, nb_val; /* batches per epoch and phase */
    uint64_t per_epoch, total; /* batches per epoch, in the schedule */
    mlp_ring_t *ring;
    size_t nslots;

    /* Workers. */
    atomic_uint_fast64_t next; /* next sequence number to decode */
    pthread_t *threads;        /* (nworkers) */
    unsigned nworkers, nthreads; /* asked for, started */

    /* The first error, guarded by mu. */
    pthread_mutex_t mu;
    int mu_init;
    int werr;
    char wmsg[LOADER_MSG_MAX];
    /* (nslots): the message of a failed batch, owned like its slot. */
    char (*slot_msg)[LOADER_MSG_MAX];

    /* Consumer's thread only. */
    uint64_t cseq;             /* next sequence to hand out */
    unsigned char *held;       /* (nslots) slot handed out, not released */
    double waited;             /* seconds in mlp_loader_next (clock.h) */
};

typedef struct {
    unsigned epoch;
    mlp_phase_t phase;
    size_t index;              /* within the phase */
    size_t start, n;           /* positions [start, start + n) of the order */
    int last;
} batch_pos_t;


size_t mlp_loader_nbatches(size_t n, size_t batch)
{
    return batch == 0 ? 0 : n / batch + (n % batch != 0);
}

static const mlp_split_t *phase_split(const mlp_loader_t *ld,
                                      mlp_phase_t phase)
{
    return phase == MLP_PHASE_TRAIN ? &ld->train
           : phase == MLP_PHASE_VAL ? &ld->val
                                    : &ld->test;
}

static const char *phase_name(mlp_phase_t phase)
{
    return phase == MLP_PHASE_TRAIN ? "train"
           : phase == MLP_PHASE_VAL ? "val"
                                    : "test";
}

/* An epoch is its training batches, then validation, then test. */
static void locate(const mlp_loader_t *ld, uint64_t seq, batch_pos_t *pos)
{
    uint64_t k = seq % ld->per_epoch;
    const mlp_split_t *split;
    size_t nb;

    pos->epoch = ld->first_epoch + (unsigned)(seq / ld->per_epoch);
    if (k < ld->nb_train) {
        pos->phase = MLP_PHASE_TRAIN;
        pos->index = (size_t)k;
        split = &ld->train;
        nb = ld->nb_train;
    } else if (k < ld->nb_train + ld->nb_val) {
        pos->phase = MLP_PHASE_VAL;
        pos->index = (size_t)(k - ld->nb_train);
        split = &ld->val;
        nb = ld->nb_val;
    } else {
        pos->phase = MLP_PHASE_TEST;
        pos->index = (size_t)(k - ld->nb_train - ld->nb_val);
        split = &ld->test;
        nb = ld->nb_test;
    }
    pos->start = pos->index * ld->batch;
    pos->n = split->n - pos->start < ld->batch ? split->n - pos->start
                                               : ld->batch;
    pos->last = pos->index + 1 == nb;
}

/* Keeps the augmentation draws apart from other uses of the same seed. */
#define AUGMENT_STREAM 0x61756720736869ULL /* "aug shi" */

void mlp_augment_draw(const mlp_augment_t *a, uint64_t seed, unsigned epoch,
                      uint64_t index, int *dx, int *dy, int *flip)
{
    uint64_t h = mlp_rng_key3(seed ^ AUGMENT_STREAM, epoch, index);
    uint64_t span = 2 * (uint64_t)a->shift + 1;

    /* Multiply-shift on 24-bit fields: a bias under span / 2^24. */
    *dx = (int)(((h & 0xffffff) * span) >> 24) - (int)a->shift;
    *dy = (int)((((h >> 24) & 0xffffff) * span) >> 24) - (int)a->shift;
    *flip = a->flip ? (int)(h >> 63) : 0;
}

int mlp_augment_active(const mlp_augment_t *a)
{
    return a->shift > 0 || a->flip;
}

/* The bf16 rows of decode_augmented: the same values, rounded, from the
 * table (one read per value, the same in every place). */
static void decode_augmented_bf16(const mlp_loader_t *ld, const uint8_t *src,
                                  mlp_bf16_t *dst, int dx, int dy, int flip)
{
    size_t rows = ld->rows, cols = ld->cols;

    for (size_t y = 0; y < rows; y++) {
        long sy = (long)y - dy;
        mlp_bf16_t *d = dst + y * cols;

        for (long x = 0; x < (long)cols; x++) {
            long sx = flip ? (long)cols - 1 - (x - dx) : x - dx;

            d[x] = sy < 0 || sy >= (long)rows || sx < 0 || sx >= (long)cols
                       ? 0
                       : ld->unit_bf16[src[(size_t)sy * cols + (size_t)sx]];
        }
    }
}

/*
 * One sample, decoded (p / 255) and augmented as mlp_augment_draw says, in
 * one pass: out(x, y) = src'(x - dx, y - dy), or 0 outside.  dst is the
 * row's first value (a float, or a bf16 one).
 */
static void decode_augmented(const mlp_loader_t *ld, const uint8_t *src,
                             void *dst_row, unsigned epoch, size_t index)
{
    float *dst = dst_row;
    size_t rows = ld->rows, cols = ld->cols;
    long x0, x1;
    int dx, dy, flip;

    mlp_augment_draw(&ld->augment, ld->seed, epoch, index, &dx, &dy, &flip);
    if (ld->bf16) {
        decode_augmented_bf16(ld, src, dst_row, dx, dy, flip);
        return;
    }
    /* Columns whose source x - dx lies in [0, cols). */
    x0 = dx > 0 ? dx : 0;
    x1 = dx < 0 ? (long)cols + dx : (long)cols;
    if (x1 < x0)
        x1 = x0;
    for (size_t y = 0; y < rows; y++) {
        long sy = (long)y - dy;
        float *d = dst + y * cols;
        const uint8_t *s;

        if (sy < 0 || sy >= (long)rows) {
            for (size_t x = 0; x < cols; x++)
                d[x] = 0.0f;
            continue;
        }
        s = src + (size_t)sy * cols;
        for (long x = 0; x < x0; x++)
            d[x] = 0.0f;
        if (flip) {
            /* src'(x - dx) = src(cols - 1 - x + dx).  A reversed read
             * does not vectorise: a table of p / 255 (the same values)
             * beats scalar divisions threefold. */
            long last = (long)cols - 1 + dx;

            for (long x = x0; x < x1; x++)
                d[x] = ld->unit[s[last - x]];
        } else {
#pragma omp simd
            for (long x = x0; x < x1; x++)
                d[x] = (float)s[x - dx] / 255.0f;
        }
        for (long x = x1; x < (long)cols; x++)
            d[x] = 0.0f;
    }
}

/* A correctly rounded division, vectorised (vdivps is IEEE too): twice
 * as fast as a 256-entry table, and bit-identical to it. */
MLP_CLONES
static void decode_f32(const uint8_t *src, float *dst, size_t n)
{
#pragma omp simd
    for (size_t j = 0; j < n; j++)
        dst[j] = (float)src[j] / 255.0f;
}

/* The same rounded to bf16: p x (1 / 255) rounds to the bf16 of p / 255
 * for every byte p (the two floats may differ in their last bit, never
 * across a bf16 rounding boundary: tests/check_loader compares all 256),
 * and a multiply is cheaper than a division. */
MLP_CLONES
static void decode_bf16(const uint8_t *src, mlp_bf16_t *dst, size_t n)
{
#pragma omp simd
    for (size_t j = 0; j < n; j++)
        dst[j] = mlp_bf16_round((float)src[j] * (1.0f / 255.0f));
}

/* Decode batch `seq` into the slot.  Fails only through the test hook. */
static int fill(const mlp_loader_t *ld, uint64_t seq, mlp_slot_t *slot)
{
    const mlp_split_t *split;
    batch_pos_t pos;
    mlp_perm_t perm;
    size_t next, r0, nr;
    int permuted, augmented;

    locate(ld, seq, &pos);
    if (ld->fault_batch != 0 && seq + 1 == ld->fault_batch)
        return mlp_error_set(MLP_EIO,
                             "loader: injected fault in batch %llu "
                             "(epoch %u, %s batch %zu)",
                             (unsigned long long)seq + 1, pos.epoch,
                             phase_name(pos.phase),
                             pos.index);
    split = phase_split(ld, pos.phase);
    permuted = pos.phase == MLP_PHASE_TRAIN && ld->shuffle;
    augmented = pos.phase == MLP_PHASE_TRAIN && ld->augmenting;
    if (permuted) /* O(1): four round keys */
        mlp_perm_init(&perm, split->n, ld->seed, pos.epoch);
    mlp_fold_rank_rows(pos.n, ld->micro, ld->rank, ld->nranks, &r0, &nr);
    next = pos.start + r0;
    next = permuted ? (size_t)mlp_perm_at(&perm, next) : next;
    if (split->features != NULL) { /* real features: no augmenting */
        for (size_t r = r0; r < r0 + nr; r++) {
            size_t i = next;

            if (r + 1 < r0 + nr)
                next = permuted ? (size_t)mlp_perm_at(&perm, pos.start + r
                                                      + 1)
                                : pos.start + r + 1;
            slot->y[r] = split->labels[i];
            if (ld->bf16)
                mlp_transform_affine_bf16(split->features + i * ld->dim,
                                          split->shift, split->scale,
                                          ld->dim, slot->xh + r * ld->dim);
            else
                mlp_transform_affine(split->features + i * ld->dim,
                                     split->shift, split->scale, ld->dim,
                                     slot->x + r * ld->dim);
        }
        slot->n = pos.n;
        return 0;
    }
    for (size_t r = r0; r < r0 + nr; r++) {
        size_t i = next;
        const uint8_t *src = split->images + i * ld->dim;
        char *dst = (char *)slot->x + r * ld->dim * ld->vbytes;

        /* Shuffled rows are random reads: fetch the next row while this one
         * decodes, so that its cache misses overlap with work. */
        if (r + 1 < r0 + nr) {
            next = pos.start + r + 1;
            if (permuted)
                next = (size_t)mlp_perm_at(&perm, next);
            for (size_t j = 0; j < ld->dim; j += 64)
                __builtin_prefetch(split->images + next * ld->dim + j);
        }
        slot->y[r] = split->labels[i];
        if (augmented) {
            decode_augmented(ld, src, dst, pos.epoch, i);
            continue;
        }
        if (ld->bf16)
            decode_bf16(src, (mlp_bf16_t *)(void *)dst, ld->dim);
        else
            decode_f32(src, (float *)(void *)dst, ld->dim);
    }
    slot->n = pos.n;
    return 0;
}

/*
 * Record an error (status and message; the first one wins) and stop the
 * ring with it.  Recording comes first, so whoever sees the ring's status
 * finds the message.
 */
static void loader_fail(mlp_loader_t *ld, int status, const char *msg)
{
    int locked = pthread_mutex_lock(&ld->mu) == 0;

    if (locked && ld->werr == 0) {
        ld->werr = status;
        snprintf(ld->wmsg, sizeof(ld->wmsg), "%s", msg);
    }
    mlp_ring_abort(ld->ring, status);
    if (locked)
        pthread_mutex_unlock(&ld->mu);
}

/*
 * Claim, decode and publish batch `seq`.  A decode error travels in the slot;
 * only a failed claim (the ring stopped, or broke) is returned.
 */
static int produce(mlp_loader_t *ld, uint64_t seq)
{
    mlp_slot_t *slot;
    int rc;

    rc = mlp_ring_claim(ld->ring, seq, &slot);
    if (rc != 0) {
        /* After an abort its author has recorded already: a no-op. */
        loader_fail(ld, rc, mlp_error_message());
        return rc;
    }
    slot->user_int = fill(ld, seq, slot);
    if (slot->user_int != 0)
        snprintf(ld->slot_msg[seq % ld->nslots], LOADER_MSG_MAX, "%s",
                 mlp_error_message());
    mlp_ring_publish(ld->ring, slot);
    return 0;
}

static void *worker_main(void *arg)
{
    mlp_loader_t *ld = arg;

    for (;;) {
        uint64_t seq = atomic_fetch_add_explicit(&ld->next, 1,
                                                 memory_order_relaxed);

        if (seq >= ld->total || produce(ld, seq) != 0)
            break;
    }
    return NULL;
}

static int check_split(const mlp_split_t *s, const char *name)
{
    if (s->dim == 0)
        return mlp_error_set(MLP_EINVAL, "loader: opts.%s has dim 0", name);
    if (s->n > 0 && ((s->images == NULL && s->features == NULL) ||
                     s->labels == NULL))
        return mlp_error_set(MLP_EINVAL,
                             "loader: opts.%s has %zu samples but no data",
                             name, s->n);
    return 0;
}

/* An optional split beside train (test, val): NULL, or valid with the
 * training samples' size. */
static int check_other_split(const mlp_split_t *s, const char *name,
                             const mlp_split_t *train)
{
    int rc;

    if (s == NULL)
        return 0;
    if ((rc = check_split(s, name)) != 0)
        return rc;
    if (s->dim != train->dim)
        return mlp_error_set(MLP_EINVAL,
                             "loader: opts.%s dim %zu differs from "
                             "opts.train dim %zu",
                             name, s->dim, train->dim);
    if (s->n > 0 && (s->features == NULL) != (train->features == NULL))
        return mlp_error_set(MLP_EINVAL, "loader: opts.%s and opts.train "
                             "mix bytes and real features", name);
    return 0;
}

static int check_opts(const mlp_loader_opts_t *o)
{
    int rc;

    if (o == NULL)
        return mlp_error_set(MLP_EINVAL, "loader: opts is NULL");
    if (o->train == NULL)
        return mlp_error_set(MLP_EINVAL, "loader: opts.train is NULL");
    if (o->train->n == 0)
        return mlp_error_set(MLP_EINVAL,
                             "loader: opts.train has no samples (n = 0)");
    if ((rc = check_split(o->train, "train")) != 0)
        return rc;
    if ((rc = check_other_split(o->test, "test", o->train)) != 0 ||
        (rc = check_other_split(o->val, "val", o->train)) != 0)
        return rc;
    if (o->batch == 0)
        return mlp_error_set(MLP_EINVAL, "loader: opts.batch must be > 0");
    if (o->nranks > 1 && (o->micro == 0 || o->rank < 0 ||
                          o->rank >= o->nranks))
        return mlp_error_set(MLP_EINVAL, "loader: rank %d of %d, micro %zu",
                             o->rank, o->nranks, o->micro);
    if (o->epochs < 1)
        return mlp_error_set(MLP_EINVAL, "loader: opts.epochs must be >= 1");
    if (o->first_epoch < 1)
        return mlp_error_set(MLP_EINVAL,
                             "loader: opts.first_epoch must be >= 1 "
                             "(epochs are numbered from 1)");
    if (o->first_epoch - 1 > UINT_MAX - o->epochs)
        return mlp_error_set(MLP_EINVAL,
                             "loader: opts.first_epoch %u + opts.epochs %u "
                             "overflows", o->first_epoch, o->epochs);
    if (o->workers > MLP_LOADER_MAX_WORKERS)
        return mlp_error_set(MLP_EINVAL,
                             "loader: opts.workers %u exceeds %d",
                             o->workers, MLP_LOADER_MAX_WORKERS);
    if (o->augment.shift > MLP_AUGMENT_MAX_SHIFT)
        return mlp_error_set(MLP_EINVAL,
                             "loader: opts.augment.shift %u exceeds %d",
                             o->augment.shift, MLP_AUGMENT_MAX_SHIFT);
    if (o->train->features != NULL &&
        (o->train->shift == NULL || o->train->scale == NULL))
        return mlp_error_set(MLP_EINVAL, "loader: real features need "
                             "opts.train.shift and scale");
    if (mlp_augment_active(&o->augment) && o->train->features != NULL)
        return mlp_error_set(MLP_EINVAL, "loader: augmenting needs images "
                             "(bytes with an image shape), not real "
                             "features");
    if (mlp_augment_active(&o->augment) &&
        (o->rows == 0 || o->cols == 0 || o->rows > SIZE_MAX / o->cols ||
         o->rows * o->cols != o->train->dim))
        return mlp_error_set(MLP_EINVAL,
                             "loader: augmenting needs the image shape: "
                             "opts.rows %zu x opts.cols %zu is not dim %zu",
                             o->rows, o->cols, o->train->dim);
    return 0;
}

/* Start the workers with every signal blocked (they inherit the mask). */
static int start_workers(mlp_loader_t *ld)
{
    pthread_attr_t attr;
    sigset_t all, old;
    int rc = 0, err, attr_init = 0, masked = 0;

    if ((err = pthread_attr_init(&attr)) != 0) {
        rc = mlp_error_set(MLP_ETHREAD, "loader: pthread_attr_init: %s",
                           strerror(err));
        goto out;
    }
    attr_init = 1;
    if ((err = pthread_attr_setstacksize(&attr, LOADER_STACK_SIZE)) != 0) {
        rc = mlp_error_set(MLP_ETHREAD,
                           "loader: pthread_attr_setstacksize: %s",
                           strerror(err));
        goto out;
    }
    sigfillset(&all);
    if ((err = pthread_sigmask(SIG_SETMASK, &all, &old)) != 0) {
        rc = mlp_error_set(MLP_ETHREAD, "loader: pthread_sigmask: %s",
                           strerror(err));
        goto out;
    }
    masked = 1;
    for (unsigned i = 0; i < ld->nworkers; i++) {
        err = pthread_create(&ld->threads[i], &attr, worker_main, ld);
        if (err != 0) {
            rc = mlp_error_set(MLP_ETHREAD,
                               "loader: cannot start worker %u of %u: %s",
                               i + 1, ld->nworkers, strerror(err));
            goto out;
        }
        ld->nthreads++;
    }
out:
    if (masked)
        pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (attr_init)
        pthread_attr_destroy(&attr);
    return rc;
}

int mlp_loader_create(const mlp_loader_opts_t *opts, mlp_loader_t **out)
{
    mlp_loader_t *ld = NULL;
    int rc, err;

    *out = NULL;
    if ((rc = check_opts(opts)) != 0)
        return rc;

    ld = calloc(1, sizeof(*ld));
    if (ld == NULL) {
        rc = mlp_error_set(MLP_ENOMEM, "loader: out of memory");
        goto out;
    }
    ld->train = *opts->train;
    ld->has_test = opts->test != NULL;
    if (ld->has_test)
        ld->test = *opts->test;
    ld->batch = opts->batch;
    ld->dim = opts->train->dim;
    ld->first_epoch = opts->first_epoch;
    ld->epochs = opts->epochs;
    ld->seed = opts->seed;
    ld->shuffle = opts->shuffle;
    ld->augment = opts->augment;
    ld->augmenting = mlp_augment_active(&opts->augment);
    ld->rows = opts->rows;
    ld->micro = opts->micro;
    ld->rank = opts->rank;
    ld->nranks = opts->nranks;
    ld->cols = opts->cols;
    ld->bf16 = opts->bf16 != 0;
    ld->vbytes = ld->bf16 ? sizeof(mlp_bf16_t) : sizeof(float);
    for (int p = 0; p < 256; p++) {
        ld->unit[p] = (float)p / 255.0f;
        ld->unit_bf16[p] = mlp_bf16_round(ld->unit[p]);
    }
    ld->fault_batch = mlp_fault_loader_batch();
    ld->nb_train = mlp_loader_nbatches(ld->train.n, ld->batch);
    ld->nb_test = ld->has_test ? mlp_loader_nbatches(ld->test.n, ld->batch)
                               : 0;
    if (opts->val != NULL)
        ld->val = *opts->val;
    ld->nb_val = mlp_loader_nbatches(ld->val.n, ld->batch);
    ld->per_epoch = (uint64_t)ld->nb_train + ld->nb_val + ld->nb_test;
    ld->total = ld->per_epoch * ld->epochs;
    atomic_init(&ld->next, 0);
    ld->nworkers = opts->workers;

    ld->nslots = mlp_loader_nslots(opts->workers, opts->slots);

    if ((err = pthread_mutex_init(&ld->mu, NULL)) != 0) {
        rc = mlp_error_set(MLP_ETHREAD, "loader: pthread_mutex_init: %s",
                           strerror(err));
        goto out;
    }
    ld->mu_init = 1;
    ld->held = calloc(ld->nslots, 1);
    ld->slot_msg = calloc(ld->nslots, sizeof(*ld->slot_msg));
    if (ld->held == NULL || ld->slot_msg == NULL) {
        rc = mlp_error_set(MLP_ENOMEM, "loader: out of memory");
        goto out;
    }
    if ((rc = mlp_ring_create(ld->nslots, ld->batch, ld->dim, ld->vbytes,
                              &ld->ring)))
        goto out;
    if (ld->nworkers > 0) {
        ld->threads = calloc(ld->nworkers, sizeof(*ld->threads));
        if (ld->threads == NULL) {
            rc = mlp_error_set(MLP_ENOMEM, "loader: out of memory");
            goto out;
        }
        if ((rc = start_workers(ld)) != 0)
            goto out;
    }
    *out = ld;
    ld = NULL;
out:
    mlp_loader_destroy(ld); /* stops any worker already started */
    return rc;
}

/* The consumer's side of a failed acquire: adopt the worker's message. */
static int consumer_error(mlp_loader_t *ld, int rc)
{
    char msg[LOADER_MSG_MAX];
    int werr = 0;

    if (pthread_mutex_lock(&ld->mu) == 0) {
        werr = ld->werr;
        memcpy(msg, ld->wmsg, sizeof(msg));
        pthread_mutex_unlock(&ld->mu);
    }
    if (werr == 0) /* the consumer's own failure: its message stands */
        return rc;
    return mlp_error_set(werr, "%s", msg);
}

int mlp_loader_next(mlp_loader_t *ld, mlp_batch_t *b)
{
    mlp_slot_t *slot;
    batch_pos_t pos;
    double waited = 0.0;
    int rc;

    b->slot_ = NULL;
    if (ld->cseq >= ld->total)
        return mlp_error_set(MLP_ERANGE,
                             "loader: all %llu batches were delivered",
                             (unsigned long long)ld->total);
    if (ld->held[ld->cseq % ld->nslots])
        return mlp_error_set(MLP_EINVAL,
                             "loader: batch %llu needs the slot of batch "
                             "%llu, which was not released",
                             (unsigned long long)ld->cseq + 1,
                             (unsigned long long)(ld->cseq - ld->nslots) + 1);
    /* Without workers the consumer produces: never blocks, since batch
     * cseq - nslots was released. */
    if (ld->nworkers == 0) {
        /* Decoding on the consumer's thread is time it waits for data. */
        double t0 = mlp_clock_now();

        rc = produce(ld, ld->cseq);
        ld->waited += mlp_clock_now() - t0;
        if (rc != 0)
            return consumer_error(ld, rc);
    }
    rc = mlp_ring_acquire(ld->ring, ld->cseq, &slot, &waited);
    ld->waited += waited;
    if (rc != 0)
        return consumer_error(ld, rc);
    if (slot->user_int != 0) {
        /* The batch failed to decode: stop here, for good. */
        rc = slot->user_int;
        loader_fail(ld, rc, ld->slot_msg[ld->cseq % ld->nslots]);
        mlp_ring_release(ld->ring, slot);
        return consumer_error(ld, rc);
    }

    locate(ld, ld->cseq, &pos);
    b->x = slot->x;
    b->y = slot->y;
    b->n = slot->n;
    b->epoch = pos.epoch;
    b->phase = pos.phase;
    b->index = pos.index;
    b->last = pos.last;
    b->slot_ = slot;
    ld->held[ld->cseq % ld->nslots] = 1;
    ld->cseq++;
    return 0;
}

void mlp_loader_release(mlp_loader_t *ld, mlp_batch_t *b)
{
    mlp_slot_t *slot;

    if (b == NULL || b->slot_ == NULL)
        return;
    slot = b->slot_;
    ld->held[slot->seq % ld->nslots] = 0;
    mlp_ring_release(ld->ring, slot);
    b->slot_ = NULL;
}

double mlp_loader_wait_seconds(const mlp_loader_t *ld)
{
    return ld->waited;
}

size_t mlp_loader_nslots(unsigned workers, size_t slots)
{
    if (slots > 0)
        return slots;
    slots = 2 * (size_t)workers;
    if (slots < 2)
        slots = 2;
    return slots > LOADER_MAX_AUTO_SLOTS ? LOADER_MAX_AUTO_SLOTS : slots;
}

size_t mlp_loader_slots(const mlp_loader_t *ld)
{
    return ld->nslots;
}

size_t mlp_loader_bytes(const mlp_loader_t *ld)
{
    return mlp_ring_bytes(ld->ring);
}

void mlp_loader_destroy(mlp_loader_t *ld)
{
    if (ld == NULL)
        return;
    /* Wakes every worker, wherever it sleeps; decoding ones exit at their
     * next claim.  A join fails only for a thread we did not start. */
    if (ld->ring != NULL)
        mlp_ring_abort(ld->ring, MLP_EABORTED);
    for (unsigned i = 0; i < ld->nthreads; i++)
        pthread_join(ld->threads[i], NULL);
    mlp_ring_destroy(ld->ring);
    if (ld->mu_init)
        pthread_mutex_destroy(&ld->mu);
    free(ld->threads);
    free(ld->held);
    free(ld->slot_msg);
    free(ld);
}
