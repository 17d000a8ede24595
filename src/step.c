/*
 * step: the parallel step of micro-batches (see step.h).
 *
 * Threads (batch mode): the caller is compute thread 0 and runs the base
 * net; workers 1..T-1 are pthreads, each making, running and destroying
 * its own replica (made on that thread with one OpenMP thread: replicas
 * made with more spin inside oneDNN).  A pass (train, fold, eval) is
 * published under `mu` by bumping `gen`; workers spin on `gen` for up to
 * STEP_SPIN_NS, then wake on `go`, take items from the atomic counter
 * `next` until none are left, and count themselves done under `mu`; the
 * caller takes items too, spins on `ndone` as long, then waits on `done`
 * until every worker is done.  Items write only
 * their own slots (per micro-batch buffers, losses, counts) or disjoint
 * element ranges, so the result does not depend on who took what.
 * Shutdown: `quit` under `mu`, broadcast, join.
 *
 * Ranks (opts.nranks > 1): the same passes over this rank's block of
 * micro-batches only; fold_pass routes the sum to mlp_dist_fold (the
 * caller's thread: MPI is FUNNELED) and runs only the optimizer over the
 * threads; gather() makes the per-micro-batch losses global.
 *
 * Clipping: the last fold pass of a step also takes each chunk's exact
 * sum of squares (its own slot of `sq`); the caller merges them, and a
 * second pass scales the gradient and runs the optimizer.
 *
 * Non-goals: choosing when to checkpoint.
 */
#include <errno.h>
#include <math.h>
#include <omp.h>
#include <pthread.h>
#include <stdatomic.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define STEP_CPU_RELAX() _mm_pause()
#else
#define STEP_CPU_RELAX() ((void)0)
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlptrain/dist.h"
#include "mlptrain/clock.h"
#include "mlptrain/error.h"
#include "mlptrain/fold.h"
#include "mlptrain/loss.h"
#include "mlptrain/options.h"
#include "mlptrain/step.h"

/* Floats per item of the fold pass: a multiple of 16 (64-byte lines). */
#define STEP_CHUNK 16384

const char *const mlp_par_names[] = {"auto", "gemm", "batch", NULL};

typedef enum { PASS_TRAIN, PASS_FOLD, PASS_EVAL } pass_t;

typedef struct {
    struct mlp_stepper *st;
    int id;
    pthread_t tid;
    mlp_net_t *net;     /* id 0: the base net; else its replica */
    float *dlogits;     /* (micro, classes) */
    int started;
} worker_t;

struct mlp_stepper {
    mlp_step_opts_t o;
    mlp_net_t *net;
    mlp_optim_t *opt;
    size_t dim, nclasses, nflat;
    size_t row_bytes;           /* of x: dim values of the net's input */
    float *params;              /* (nflat): the base net's */
    float *acc;                 /* (nflat): the step's gradient */
    float *acc2;                /* (nflat): ranks: the next total */
    const float **fparts;       /* [nslots + 1] ranks: the fold's parts */
    double *grow;               /* [2 nmax] ranks: losses, counts */
    double *gsum;               /* [2 nmax] their global values */
    float **parts;              /* [nslots] (nflat): micro-batch gradients
                                   of one wave */
    size_t nslots;
    size_t nmax;                /* micro-batches of the largest batch */
    double *loss;               /* [nmax] */
    size_t *correct;            /* [nmax] */
    int nthreads;
    worker_t *w;                /* [nthreads] */
    /* The step being built */
    size_t rows, row0;          /* global batch rows; rows added so far */
    int acc_in;                 /* acc holds a fold already */
    int has_key;
    mlp_drop_key_t key;
    size_t nparts;              /* micro-batches of the last add */
    int pending;                /* an add not folded yet (ranks) */
    /* The pass being run */
    pass_t pass;
    const char *x;              /* rows of row_bytes */
    const int32_t *y;
    size_t n, nitems;
    size_t wave0;               /* micro-batch of item 0 (train) */
    int apply;
    int norm;                   /* take each chunk's sum of squares */
    float scale;                /* the clip's factor of the gradient */
    mlp_fold_sq_t *sq;          /* [chunks] clipping: the chunks' sums */
    atomic_size_t next;
    /* Synchronisation */
    pthread_mutex_t mu;
    pthread_cond_t go, done;
    atomic_uint_fast64_t gen;   /* written under mu; spun on without */
    atomic_int ndone;           /* likewise */
    int quit, nready;
    int err;                    /* first failure of a pass, 0: none */
    char errmsg[MLP_ERROR_MAX];
};

void mlp_step_opts_of(const struct mlp_config *cfg, size_t max_rows,
                      int rank, int nranks, mlp_step_opts_t *o)
{
    *o = (mlp_step_opts_t){
        .mode = (mlp_par_t)cfg->parallel, .threads = cfg->threads,
        .micro = cfg->micro, .max_rows = max_rows,
        .smoothing = cfg->label_smoothing, .clip_norm = cfg->clip_grad,
        .rank = rank, .nranks = nranks};
}

int mlp_step_net_threads(const mlp_step_opts_t *o)
{
    return o->mode == MLP_PAR_BATCH ? 1 : o->threads;
}

int mlp_step_replicas(const mlp_step_opts_t *o)
{
    return o->mode == MLP_PAR_BATCH && o->threads > 1 ? o->threads - 1 : 0;
}

size_t mlp_step_default_micro(size_t batch)
{
    return batch < 128 ? (batch > 0 ? batch : 1) : 128;
}

mlp_par_t mlp_step_auto_mode(const mlp_net_spec_t *spec, size_t batch,
                             size_t micro)
{
    double macs = 0.0;
    size_t prev = spec->in;

    for (size_t l = 0; l <= spec->nhidden; l++) {
        size_t w = l < spec->nhidden ? spec->hidden[l] : spec->out;

        macs += (double)prev * (double)w;
        prev = w;
    }
    if (mlp_fold_nmicro(batch, micro) < 2)
        return MLP_PAR_GEMM;
    return macs > 1e6 && micro >= 256 ? MLP_PAR_GEMM : MLP_PAR_BATCH;
}

/* Micro-batch slots: a wave's, or with ranks the largest block. */
static size_t step_slots(const mlp_step_opts_t *o)
{
    size_t nm = mlp_fold_nmicro(o->max_rows, o->micro);
    size_t t = o->mode == MLP_PAR_BATCH && o->threads > 0
                   ? (size_t)o->threads
                   : 1;
    size_t wave = 2 * t > 8 ? 2 * t : 8;

    if (o->nranks > 1)
        return (nm + (size_t)o->nranks - 1) / (size_t)o->nranks;
    return nm < wave ? nm : wave;
}

size_t mlp_step_grad_buffers(const mlp_step_opts_t *o)
{
    return step_slots(o) + (o->nranks > 1 ? 2 : 1);
}

static int add_size(mlp_net_spec_t *spec, size_t n)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < spec->nbatch_sizes; i++)
        if (spec->batch_sizes[i] == n)
            return 0;
    if (spec->nbatch_sizes >= MLP_MAX_BATCH_SIZES)
        return mlp_error_set(MLP_EINVAL,
                             "step: more than %d micro-batch sizes",
                             MLP_MAX_BATCH_SIZES);
    spec->batch_sizes[spec->nbatch_sizes++] = n;
    return 0;
}

int mlp_step_spec_sizes(mlp_net_spec_t *spec, size_t n, size_t batch,
                        size_t micro)
{
    size_t full = batch < n ? batch : n, tail = batch ? n % batch : 0;
    int rc;

    if (batch == 0 || micro == 0 || n == 0)
        return 0;
    if ((rc = add_size(spec, full < micro ? full : micro)) < 0 ||
        (rc = add_size(spec, full >= micro ? full % micro : 0)) < 0 ||
        (n > batch && (rc = add_size(spec, tail < micro ? tail : micro)) < 0) ||
        (n > batch && (rc = add_size(spec, tail >= micro ? tail % micro
                                                          : 0)) < 0))
        return rc;
    return 0;
}

/* Record a thread's failure (the first one wins) with this thread's
 * message. */
/*
 * Waiting for the other threads: spin for a short while (STEP_SPIN_NS)
 * reading the atomic, then sleep on the condition variable.  A pass lasts
 * hundreds of microseconds, so the spin catches the usual hand-off at
 * once instead of paying a futex wake-up (tens of microseconds) twice a
 * step; beside a busy process a thread that finds nothing spins only this
 * long before it gives the core away, so a taken core is not held.
 */
#define STEP_SPIN_NS 50000.0

static void spin_until_gen(mlp_stepper_t *st, uint64_t seen)
{
    double t0 = mlp_clock_now();

    while (atomic_load_explicit(&st->gen, memory_order_acquire) == seen) {
        for (int k = 0; k < 64; k++)
            STEP_CPU_RELAX();
        if ((mlp_clock_now() - t0) * 1e9 > STEP_SPIN_NS)
            return;
    }
}

static void spin_until_done(mlp_stepper_t *st, int want)
{
    double t0 = mlp_clock_now();

    while (atomic_load_explicit(&st->ndone, memory_order_acquire) < want) {
        for (int k = 0; k < 64; k++)
            STEP_CPU_RELAX();
        if ((mlp_clock_now() - t0) * 1e9 > STEP_SPIN_NS)
            return;
    }
}

static void fail(mlp_stepper_t *st, int rc)
{
    pthread_mutex_lock(&st->mu);
    if (st->err == 0) {
        st->err = rc;
        snprintf(st->errmsg, sizeof(st->errmsg), "%s", mlp_error_message());
    }
    pthread_mutex_unlock(&st->mu);
}

/* One micro-batch of the last add. */
static int train_item(mlp_stepper_t *st, worker_t *w, size_t item)
{
    size_t lo, rows, i = st->wave0 + item;
    const float *logits;
    mlp_drop_key_t key = st->key;
    int rc;

    mlp_fold_micro(st->n, st->o.micro, i, &lo, &rows);
    key.row0 = st->row0 + lo;
    st->loss[i] = 0.0;
    st->correct[i] = 0;
    if ((rc = mlp_net_set_grads(w->net, st->parts[item])) < 0 ||
        (rc = mlp_net_forward_train(w->net, st->x + lo * st->row_bytes, rows,
                                    st->has_key ? &key : NULL, &logits)) < 0)
        return rc;
    mlp_loss_softmax_xent_norm(logits, st->y + lo, rows, st->nclasses,
                               st->o.smoothing, st->rows, w->dlogits,
                               &st->loss[i], &st->correct[i]);
    return mlp_net_backward(w->net, w->dlogits, rows);
}

static int eval_item(mlp_stepper_t *st, worker_t *w, size_t item)
{
    size_t lo, rows, i = st->wave0 + item;
    const float *logits;
    int rc;

    mlp_fold_micro(st->n, st->o.micro, i, &lo, &rows);
    st->loss[i] = 0.0;
    st->correct[i] = 0;
    if ((rc = mlp_net_forward(w->net, st->x + lo * st->row_bytes, rows,
                              &logits)) < 0)
        return rc;
    mlp_loss_softmax_xent(logits, st->y + lo, rows, st->nclasses, NULL,
                          &st->loss[i], &st->correct[i]);
    return 0;
}

/* Elements [lo, hi) (a chunk): the fold of the last add's parts into acc
 * (continued when acc_in), its sum of squares when clipping, then the
 * clip's scale, the optimizer and a bf16 net's copy of the weights just
 * updated (still in cache) when applying.  The one place the parts
 * are summed: with ranks, the cross-rank fold goes here. */
static void fold_range(mlp_stepper_t *st, size_t lo, size_t hi)
{
    if (hi > st->nflat)
        hi = st->nflat;
    if (st->nparts > 0 || !st->acc_in)
        mlp_fold(st->acc, st->acc_in, (const float *const *)st->parts,
                 st->nparts, lo, hi);
    if (st->norm) {
        mlp_fold_sq_t *sq = &st->sq[lo / STEP_CHUNK];

        memset(sq, 0, sizeof(*sq));
        mlp_fold_sq_add(sq, st->acc + lo, hi - lo);
    }
    if (st->apply) {
        if (st->scale != 1.0f)
            for (size_t i = lo; i < hi; i++)
                st->acc[i] *= st->scale;
        mlp_optim_step_range(st->opt, st->params, st->acc, lo, hi);
        mlp_net_params_changed(st->net, lo, hi);
    }
}

/* Take items of the current pass until none are left. */
static void work(mlp_stepper_t *st, worker_t *w)
{
    size_t i;
    int rc = 0;

    while ((i = atomic_fetch_add(&st->next, 1)) < st->nitems) {
        switch (st->pass) {
        case PASS_TRAIN:
            rc = train_item(st, w, i);
            break;
        case PASS_EVAL:
            rc = eval_item(st, w, i);
            break;
        case PASS_FOLD:
            fold_range(st, i * STEP_CHUNK, (i + 1) * STEP_CHUNK);
            break;
        }
        if (rc < 0) {
            fail(st, rc);
            rc = 0;
        }
    }
}

static void *worker_main(void *arg)
{
    worker_t *w = arg;
    mlp_stepper_t *st = w->st;
    uint64_t seen = 0;
    int rc;

    omp_set_num_threads(1);
    rc = mlp_net_create_replica(st->net, &w->net);
    if (rc == 0 && !(w->dlogits = aligned_alloc(
                         64, (st->o.micro * st->nclasses * sizeof(float) +
                              63) / 64 * 64)))
        rc = mlp_error_set(MLP_ENOMEM, "step: out of memory");
    if (rc < 0)
        fail(st, rc);
    pthread_mutex_lock(&st->mu);
    st->nready++;
    pthread_cond_signal(&st->done);
    pthread_mutex_unlock(&st->mu);
    for (;;) {
        spin_until_gen(st, seen);
        pthread_mutex_lock(&st->mu);
        while (!st->quit && atomic_load(&st->gen) == seen)
            pthread_cond_wait(&st->go, &st->mu);
        if (st->quit)
            break;
        seen = atomic_load(&st->gen);
        pthread_mutex_unlock(&st->mu);
        if (w->net != NULL && w->dlogits != NULL)
            work(st, w);
        pthread_mutex_lock(&st->mu);
        if (atomic_fetch_add(&st->ndone, 1) + 1 == st->nthreads - 1)
            pthread_cond_signal(&st->done);
        pthread_mutex_unlock(&st->mu);
    }
    pthread_mutex_unlock(&st->mu);
    free(w->dlogits);
    mlp_net_destroy(w->net);
    return NULL;
}

/* Run a pass of nitems items on every thread; its first failure. */
static int run_pass(mlp_stepper_t *st, pass_t pass, size_t nitems)
{
    int rc;

    st->pass = pass;
    st->nitems = nitems;
    atomic_store(&st->next, 0);
    if (st->o.mode == MLP_PAR_GEMM) {
        if (pass == PASS_FOLD) {
            /* OpenMP threads over the ranges (oneDNN's own pool) */
#pragma omp parallel for schedule(dynamic, 1) if (st->nflat >= 32768)
            for (size_t i = 0; i < nitems; i++)
                fold_range(st, i * STEP_CHUNK, (i + 1) * STEP_CHUNK);
            return 0;
        }
        work(st, &st->w[0]);
    } else {
        pthread_mutex_lock(&st->mu);
        atomic_store(&st->ndone, 0);
        atomic_fetch_add_explicit(&st->gen, 1, memory_order_release);
        pthread_cond_broadcast(&st->go);
        pthread_mutex_unlock(&st->mu);
        work(st, &st->w[0]);
        spin_until_done(st, st->nthreads - 1);
        pthread_mutex_lock(&st->mu);
        while (atomic_load(&st->ndone) < st->nthreads - 1)
            pthread_cond_wait(&st->done, &st->mu);
        pthread_mutex_unlock(&st->mu);
    }
    if ((rc = st->err) < 0) {
        st->err = 0;
        return mlp_error_set(rc, "%s", st->errmsg);
    }
    return 0;
}

void mlp_stepper_destroy(mlp_stepper_t *st)
{
    if (st == NULL)
        return;
    pthread_mutex_lock(&st->mu);
    st->quit = 1;
    pthread_cond_broadcast(&st->go);
    pthread_mutex_unlock(&st->mu);
    for (int t = 1; t < st->nthreads; t++)
        if (st->w[t].started)
            pthread_join(st->w[t].tid, NULL);
    if (st->w != NULL)
        free(st->w[0].dlogits);
    for (size_t i = 0; st->parts != NULL && i < st->nslots; i++)
        free(st->parts[i]);
    free(st->parts);
    free(st->acc);
    free(st->acc2);
    free(st->fparts);
    free(st->grow);
    free(st->gsum);
    free(st->sq);
    free(st->loss);
    free(st->correct);
    free(st->w);
    pthread_mutex_destroy(&st->mu);
    pthread_cond_destroy(&st->go);
    pthread_cond_destroy(&st->done);
    free(st);
}

static float *zeroed_block(size_t n)
{
    size_t bytes = (n * sizeof(float) + 63) / 64 * 64;
    float *p = aligned_alloc(64, bytes);

    if (p != NULL)
        memset(p, 0, bytes);
    return p;
}

int mlp_stepper_create(const mlp_step_opts_t *o, mlp_net_t *net,
                       mlp_optim_t *opt, mlp_stepper_t **out)
{
    mlp_stepper_t *st = NULL;
    const mlp_net_spec_t *spec = mlp_net_spec(net);
    float *grads;
    int rc = 0, t;

    *out = NULL;
    if (o->micro == 0 || o->max_rows == 0 || o->threads < 1 ||
        (o->mode != MLP_PAR_GEMM && o->mode != MLP_PAR_BATCH))
        return mlp_error_set(MLP_EINVAL, "step: bad options");
    if (o->mode == MLP_PAR_BATCH &&
        spec->threads != mlp_step_net_threads(o))
        return mlp_error_set(MLP_EINVAL,
                             "step: batch mode needs a net made with 1 "
                             "thread");
    if ((st = calloc(1, sizeof(*st))) == NULL)
        return mlp_error_set(MLP_ENOMEM, "step: out of memory");
    pthread_mutex_init(&st->mu, NULL);
    pthread_cond_init(&st->go, NULL);
    pthread_cond_init(&st->done, NULL);
    st->o = *o;
    st->net = net;
    st->opt = opt;
    st->dim = spec->in;
    st->row_bytes = spec->in * mlp_net_input_bytes(net);
    st->nclasses = spec->out;
    mlp_net_params(net, &st->params, &grads, &st->nflat);
    st->nthreads = 1 + mlp_step_replicas(o);
    st->scale = 1.0f;
    st->nmax = mlp_fold_nmicro(o->max_rows, o->micro);
    st->nslots = step_slots(o);
    if ((st->parts = calloc(st->nslots, sizeof(float *))) == NULL ||
        (st->loss = calloc(st->nmax, sizeof(double))) == NULL ||
        (st->correct = calloc(st->nmax, sizeof(size_t))) == NULL ||
        (st->acc = zeroed_block(st->nflat)) == NULL ||
        (o->clip_norm > 0.0f &&
         (st->sq = calloc((st->nflat + STEP_CHUNK - 1) / STEP_CHUNK + 1,
                          sizeof(*st->sq))) == NULL) ||
        (st->w = calloc((size_t)st->nthreads, sizeof(worker_t))) == NULL)
        goto nomem;
    if (o->nranks > 1 &&
        ((st->acc2 = zeroed_block(st->nflat)) == NULL ||
         (st->fparts = calloc(st->nslots + 1, sizeof(float *))) == NULL ||
         (st->grow = calloc(2 * st->nmax, sizeof(double))) == NULL ||
         (st->gsum = calloc(2 * st->nmax, sizeof(double))) == NULL))
        goto nomem;
    for (size_t i = 0; i < st->nslots; i++)
        if ((st->parts[i] = zeroed_block(st->nflat)) == NULL)
            goto nomem;
    st->w[0].st = st;
    st->w[0].net = net;
    if ((st->w[0].dlogits = zeroed_block(o->micro * st->nclasses)) == NULL)
        goto nomem;
    for (t = 1; t < st->nthreads; t++) {
        int e;

        st->w[t].st = st;
        st->w[t].id = t;
        if ((e = pthread_create(&st->w[t].tid, NULL, worker_main,
                                &st->w[t])) != 0) {
            rc = mlp_error_set(MLP_EIO, "step: cannot start a thread: %s",
                               strerror(e));
            goto fail;
        }
        st->w[t].started = 1;
    }
    /* Every replica made (or failed) before the first pass. */
    pthread_mutex_lock(&st->mu);
    while (st->nready < st->nthreads - 1)
        pthread_cond_wait(&st->done, &st->mu);
    rc = st->err;
    pthread_mutex_unlock(&st->mu);
    if (rc < 0) {
        rc = mlp_error_set(rc, "%s", st->errmsg);
        goto fail;
    }
    *out = st;
    return 0;
nomem:
    rc = mlp_error_set(MLP_ENOMEM, "step: out of memory for %zu gradient "
                       "buffers of %zu floats",
                       mlp_step_grad_buffers(o), st->nflat);
fail:
    mlp_stepper_destroy(st);
    return rc;
}

void mlp_stepper_begin(mlp_stepper_t *st, size_t rows,
                       const mlp_drop_key_t *key)
{
    st->rows = rows;
    st->row0 = 0;
    st->acc_in = 0;
    st->nparts = 0;
    st->pending = 0;
    st->has_key = key != NULL;
    if (key != NULL)
        st->key = *key;
}

/*
 * Ranks: the losses and counts of micro-batches [0, nm) made global, each
 * rank's row zero outside its block [first, first + count): the ordered
 * sum of the rows then gives every value exactly (v + 0 = v).
 */
static int gather(mlp_stepper_t *st, size_t nm, size_t first, size_t count)
{
    int rc;

    for (size_t i = 0; i < nm; i++) {
        int mine = i >= first && i < first + count;

        st->grow[i] = mine ? st->loss[i] : 0.0;
        st->grow[nm + i] = mine ? (double)st->correct[i] : 0.0;
    }
    if ((rc = mlp_dist_sum_rows(st->gsum, st->grow, 2 * nm)) < 0)
        return rc;
    for (size_t i = 0; i < nm; i++) {
        st->loss[i] = st->gsum[i];
        st->correct[i] = (size_t)st->gsum[nm + i];
    }
    return 0;
}

int mlp_stepper_add(mlp_stepper_t *st, const void *x, const int32_t *y,
                    size_t n, double *loss, size_t *correct)
{
    size_t nm = mlp_fold_nmicro(n, st->o.micro);
    int rc = 0;

    if (nm > st->nmax || n == 0)
        return mlp_error_set(MLP_EINVAL, "step: a batch of %zu rows (at "
                             "most %zu)", n, st->o.max_rows);
    st->x = x;
    st->y = y;
    st->n = n;
    if (st->o.nranks > 1) {
        size_t first, count;

        if (st->pending && (rc = mlp_stepper_fold(st)) < 0)
            return rc;
        mlp_fold_rank(nm, st->o.rank, st->o.nranks, &first, &count);
        st->wave0 = first;
        if (count > 0 && (rc = run_pass(st, PASS_TRAIN, count)) < 0)
            return rc;
        st->nparts = count;
        st->pending = 1;
        if ((rc = gather(st, nm, first, count)) < 0)
            return rc;
        goto sums;
    }
    /* Waves of at most nslots micro-batches, each folded before the next
     * (the fold continued: the same bits as one fold of all); the last
     * wave's fold waits for mlp_stepper_fold or _apply. */
    for (size_t w0 = 0; rc == 0 && w0 < nm; w0 += st->nslots) {
        size_t k = nm - w0 < st->nslots ? nm - w0 : st->nslots;

        if (st->nparts > 0 && (rc = mlp_stepper_fold(st)) < 0)
            break;
        st->wave0 = w0;
        rc = run_pass(st, PASS_TRAIN, k);
        st->nparts = rc == 0 ? k : 0;
    }
sums:
    for (size_t i = 0; rc == 0 && i < nm; i++) {
        *loss += st->loss[i];
        *correct += st->correct[i];
    }
    st->row0 += n;
    return rc;
}

/*
 * --clip-grad: fold what is pending into acc, taking each chunk's exact
 * sum of squares, and set the scale of the update: clip / (|g| + 1e-6)
 * when below 1 (PyTorch's clip_grad_norm_), else 1.  The chunks' sums are
 * exact integers (fold.h), so |g| does not depend on who took which
 * chunk.
 */
static int norm_pass(mlp_stepper_t *st)
{
    size_t nchunks = (st->nflat + STEP_CHUNK - 1) / STEP_CHUNK;
    mlp_fold_sq_t total;
    double norm, coef;
    int rc;

    st->apply = 0;
    st->norm = 1;
    rc = run_pass(st, PASS_FOLD, nchunks);
    st->norm = 0;
    st->acc_in = 1;
    st->nparts = 0;
    if (rc < 0)
        return rc;
    memset(&total, 0, sizeof(total));
    for (size_t i = 0; i < nchunks; i++)
        mlp_fold_sq_merge(&total, &st->sq[i]);
    norm = sqrt(mlp_fold_sq_value(&total));
    coef = (double)st->o.clip_norm / (norm + 1e-6);
    st->scale = coef < 1.0 ? (float)coef : 1.0f;
    return 0;
}

/*
 * The fold of the pending parts into acc (and the optimizer when
 * applying): the one place the step's sum is made.  With ranks,
 * mlp_dist_fold makes it (rank r folds into the running sum of ranks
 * 0..r-1), then the optimizer runs over ranges; waves are off (nslots
 * covers the rank's block: a wave's fold would otherwise wait for the
 * chain before the next wave computes).
 */
static int fold_pass(mlp_stepper_t *st, int apply)
{
    int rc;

    if (st->o.nranks > 1) {
        /* The chain: rank 0 continues the step's running sum (the same
         * on every rank) by putting it first, as mlp_fold's acc_in. */
        size_t np = 0;
        float *t;

        if (st->acc_in && st->o.rank == 0)
            st->fparts[np++] = st->acc;
        for (size_t i = 0; i < st->nparts; i++)
            st->fparts[np++] = st->parts[i];
        rc = mlp_dist_fold(st->acc2, st->fparts, np, st->nflat);
        t = st->acc;
        st->acc = st->acc2;
        st->acc2 = t;
        st->acc_in = 1;
        st->nparts = 0;
        st->pending = 0;
        if (rc < 0 || !apply)
            return rc;
    }
    if (apply && st->o.clip_norm > 0.0f) {
        /* The folded gradient's norm first, then the scaled update. */
        if ((rc = norm_pass(st)) < 0)
            return rc;
    }
    st->apply = apply;
    rc = run_pass(st, PASS_FOLD, (st->nflat + STEP_CHUNK - 1) / STEP_CHUNK);
    st->acc_in = 1;
    st->nparts = 0;
    st->scale = 1.0f;
    return rc;
}

int mlp_stepper_fold(mlp_stepper_t *st)
{
    return st->nparts > 0 || st->pending ? fold_pass(st, 0) : 0;
}

int mlp_stepper_apply(mlp_stepper_t *st, float lr)
{
    int rc;

    if (st->nparts == 0 && !st->acc_in && !st->pending)
        return mlp_error_set(MLP_EINVAL, "step: nothing to apply");
    if ((rc = mlp_optim_set_lr(st->opt, lr)) < 0)
        return rc;
    mlp_optim_begin(st->opt);
    return fold_pass(st, 1);
}

int mlp_stepper_eval(mlp_stepper_t *st, const void *x, const int32_t *y,
                     size_t n, double *loss, size_t *correct)
{
    size_t nm = mlp_fold_nmicro(n, st->o.micro);
    int rc;

    if (nm > st->nmax)
        return mlp_error_set(MLP_EINVAL, "step: a batch of %zu rows (at "
                             "most %zu)", n, st->o.max_rows);
    st->x = x;
    st->y = y;
    st->n = n;
    st->wave0 = 0;
    if (st->o.nranks > 1) {
        size_t first, count;

        mlp_fold_rank(nm, st->o.rank, st->o.nranks, &first, &count);
        st->wave0 = first;
        if ((count > 0 && (rc = run_pass(st, PASS_EVAL, count)) < 0) ||
            (rc = gather(st, nm, first, count)) < 0)
            return rc;
    } else if ((rc = run_pass(st, PASS_EVAL, nm)) < 0) {
        return rc;
    }
    for (size_t i = 0; i < nm; i++) {
        *loss += st->loss[i];
        *correct += st->correct[i];
    }
    return 0;
}
