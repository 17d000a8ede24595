/*
 * step: the parallel step of micro-batches (see step.h): the passes, the
 * compute threads and one process's tree; the sum across ranks is
 * step_ranks.c's.
 *
 * Threads (batch mode): the caller is compute thread 0 and runs the base
 * net; workers 1..T-1 are pthreads, each making, running and destroying
 * its own replica (made on that thread with one OpenMP thread: replicas
 * made with more spin inside oneDNN).  A pass (train, fold, eval, apply)
 * is published under `mu` by bumping `gen`; workers spin on `gen` for up
 * to STEP_SPIN_NS, then wake on `go`, take items from the atomic counter
 * `next` until none are left, and count themselves done under `mu`; the
 * caller takes items too, spins on `ndone` as long, then waits on `done`
 * until every worker is done.  Items write only their own slots (per
 * micro-batch buffers, losses, counts) or disjoint element ranges, so the
 * result does not depend on who took what.  Shutdown: `quit` under `mu`,
 * broadcast, join.
 *
 * One process's tree: gradient buffers are a pool of ids.  A wave's
 * micro-batches take ids; the fold pass pushes them on the step's stack
 * (fold.h), whose sums the pass runs range by range, in place in the
 * left node's buffer; the ids a sum consumed go back to the pool after
 * the pass.  At the step's last add the stack is summed into its leftmost
 * node and the optimizer reads that, in the same pass.
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

#include "mlptrain/clock.h"
#include "mlptrain/dist.h"
#include "mlptrain/error.h"
#include "mlptrain/faults.h"
#include "mlptrain/fold.h"
#include "mlptrain/loss.h"
#include "mlptrain/options.h"
#include "mlptrain/step.h"
#include "step_internal.h"

const char *const mlp_par_names[] = {"auto", "gemm", "batch", NULL};

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

void mlp_step_opts_of(const struct mlp_config *cfg, size_t max_rows,
                      int rank, int nranks, mlp_step_opts_t *o)
{
    *o = (mlp_step_opts_t){
        .mode = (mlp_par_t)cfg->parallel, .threads = cfg->threads,
        .micro = cfg->micro, .max_rows = max_rows,
        .smoothing = cfg->label_smoothing, .clip_norm = cfg->clip_grad,
        .rank = rank, .nranks = nranks, .accum = cfg->accum};
}

int mlp_step_net_threads(const mlp_step_opts_t *o)
{
    return o->mode == MLP_PAR_BATCH ? 1 : o->threads;
}

int mlp_step_replicas(const mlp_step_opts_t *o)
{
    return o->mode == MLP_PAR_BATCH && o->threads > 1 ? o->threads - 1 : 0;
}

/* The ranks' path: several ranks, or a test's hook in one process. */
static int ranks_path(const mlp_step_opts_t *o)
{
    return o->nranks > 1 || mlp_fault_step_ranks();
}

/* Micro-batch slots: a wave's, or with ranks the largest block. */
static size_t step_slots(const mlp_step_opts_t *o)
{
    size_t nm = mlp_fold_nmicro(o->max_rows, o->micro);
    size_t t = 1 + (size_t)mlp_step_replicas(o);
    size_t wave = 2 * t > 8 ? 2 * t : 8;
    size_t R = o->nranks > 1 ? (size_t)o->nranks : 1;

    if (ranks_path(o))
        return (nm + R - 1) / R;
    return nm < wave ? nm : wave;
}

/* Micro-batches of the largest step. */
static size_t step_micro(const mlp_step_opts_t *o)
{
    return mlp_fold_nmicro(o->max_rows, o->micro) *
           (o->accum > 1 ? o->accum : 1);
}

/* One process: the pool's buffers, the wave's and the nodes the tree may
 * keep between waves (floor(log2 M) + 1 for a step of M micro-batches;
 * none when a step is one wave). */
static size_t step_pool(const mlp_step_opts_t *o)
{
    size_t slots = step_slots(o), m = step_micro(o), depth = 1;

    if (m <= slots)
        return slots;
    for (; m > 1; m >>= 1)
        depth++;
    return slots + depth;
}

double mlp_step_grad_buffers(const mlp_step_opts_t *o)
{
    if (ranks_path(o))
        return (double)step_slots(o) + mlp_step_ranks_buffers(o);
    return (double)step_pool(o);
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

void mlp_step_fail(mlp_stepper_t *st, int rc)
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
    if ((rc = mlp_net_set_grads(w->net, st->buf[st->part[item]])) < 0 ||
        (rc = mlp_net_forward_train(w->net, st->x + lo * st->row_bytes, rows,
                                    st->has_key ? &key : NULL, &logits)) < 0)
        return rc;
    mlp_loss_softmax_xent_norm(logits, st->y + lo, rows, st->nclasses,
                               st->o.smoothing, st->rows, w->dlogits,
                               &st->loss[i], &st->correct[i]);
    if (st->rk != NULL)
        mlp_step_ranks_forward_done(st);
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

/* Elements [lo, hi) (a chunk): the pending sums of the tree, the step's
 * sum's sum of squares when clipping (norm), then (applying) the clip's
 * scale, the optimizer on the step's sum and a bf16 net's copy of the
 * weights just updated (still in cache).  The one place the update is
 * made from the step's sum (with ranks, once every bucket is summed when
 * clipping; else step_ranks.c's apply items). */
static void fold_range(mlp_stepper_t *st, size_t lo, size_t hi)
{
    if (hi > st->nflat)
        hi = st->nflat;
    mlp_fold_run(st->buf, st->ops, st->nops, lo, hi);
    if (st->norm) {
        mlp_fold_sq_t *sq = &st->sq[lo / STEP_CHUNK];

        memset(sq, 0, sizeof(*sq));
        mlp_fold_sq_add(sq, st->grad + lo, hi - lo);
    }
    if (st->apply) {
        if (st->scale != 1.0f)
            for (size_t i = lo; i < hi; i++)
                st->grad[i] *= st->scale;
        mlp_optim_step_range(st->opt, st->params, st->grad, lo, hi);
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
        case PASS_APPLY:
            mlp_step_ranks_apply_item(st, i);
            break;
        }
        if (rc < 0) {
            mlp_step_fail(st, rc);
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
    if (rc == 0 && st->rk != NULL)
        mlp_step_ranks_hook(st, w->net);
    if (rc < 0)
        mlp_step_fail(st, rc);
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

int mlp_step_run_pass(mlp_stepper_t *st, pass_t pass, size_t nitems)
{
    int rc;

    st->pass = pass;
    st->nitems = nitems;
    atomic_store(&st->next, 0);
    if (st->o.mode == MLP_PAR_GEMM) {
        if (pass == PASS_FOLD || pass == PASS_APPLY) {
            /* OpenMP threads over the ranges (oneDNN's own pool), in
             * order: an apply item may wait for its bucket's sum */
#pragma omp parallel for schedule(dynamic, 1) if (st->nflat >= 32768)
            for (size_t i = 0; i < nitems; i++)
                if (pass == PASS_FOLD)
                    fold_range(st, i * STEP_CHUNK, (i + 1) * STEP_CHUNK);
                else
                    mlp_step_ranks_apply_item(st, i);
        } else {
            work(st, &st->w[0]);
        }
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
    mlp_step_ranks_destroy(st); /* its thread first: it reads our buffers */
    pthread_mutex_lock(&st->mu);
    st->quit = 1;
    pthread_cond_broadcast(&st->go);
    pthread_mutex_unlock(&st->mu);
    for (int t = 1; t < st->nthreads; t++)
        if (st->w[t].started)
            pthread_join(st->w[t].tid, NULL);
    if (st->w != NULL)
        free(st->w[0].dlogits);
    for (size_t i = 0; st->buf != NULL && i < st->nbuf; i++)
        free(st->buf[i]);
    free(st->buf);
    free(st->free_ids);
    free(st->part);
    free(st->ops);
    free(st->freed);
    free(st->sq);
    free(st->loss);
    free(st->correct);
    free(st->gather);
    free(st->w);
    pthread_mutex_destroy(&st->mu);
    pthread_cond_destroy(&st->go);
    pthread_cond_destroy(&st->done);
    free(st);
}

static float *zeroed_block(size_t n)
{
    size_t bytes = (n * sizeof(float) + 63) / 64 * 64;
    float *p = aligned_alloc(64, bytes > 0 ? bytes : 64);

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
    size_t nops;
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
    st->nbuf = ranks_path(o) ? st->nslots : step_pool(o);
    nops = st->nslots + 2 * MLP_FOLD_DEPTH;
    if ((st->buf = calloc(st->nbuf, sizeof(float *))) == NULL ||
        (st->free_ids = calloc(st->nbuf, sizeof(int))) == NULL ||
        (st->part = calloc(st->nslots, sizeof(int))) == NULL ||
        (st->ops = calloc(nops, sizeof(mlp_fold_op_t))) == NULL ||
        (st->freed = calloc(nops, sizeof(int))) == NULL ||
        (st->loss = calloc(st->nmax, sizeof(double))) == NULL ||
        (st->correct = calloc(st->nmax, sizeof(size_t))) == NULL ||
        (o->nranks > 1 &&
         (st->gather = calloc(4 * st->nmax, sizeof(double))) == NULL) ||
        (o->clip_norm > 0.0f &&
         (st->sq = calloc((st->nflat + STEP_CHUNK - 1) / STEP_CHUNK + 1,
                          sizeof(*st->sq))) == NULL) ||
        (st->w = calloc((size_t)st->nthreads, sizeof(worker_t))) == NULL)
        goto nomem;
    for (size_t i = 0; i < st->nbuf; i++) {
        if ((st->buf[i] = zeroed_block(st->nflat)) == NULL)
            goto nomem;
        st->free_ids[st->nfree++] = (int)(st->nbuf - 1 - i);
    }
    for (size_t i = 0; i < st->nslots; i++)
        st->part[i] = (int)i; /* ranks: part i is buffer i */
    mlp_fold_tree_init(&st->tree, 0);
    st->w[0].st = st;
    st->w[0].net = net;
    if ((st->w[0].dlogits = zeroed_block(o->micro * st->nclasses)) == NULL)
        goto nomem;
    /* The ranks' state before the workers: they hook their replicas. */
    if (ranks_path(o) && (rc = mlp_step_ranks_create(st)) < 0)
        goto fail;
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
    rc = mlp_error_set(MLP_ENOMEM, "step: out of memory for %.0f gradient "
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
    st->nparts = 0;
    st->has_key = key != NULL;
    if (key != NULL)
        st->key = *key;
    /* One process: every buffer free (a step ends with all of them
     * back; one abandoned after an error may not have). */
    if (st->rk == NULL) {
        st->nfree = 0;
        for (size_t i = st->nbuf; i-- > 0;)
            st->free_ids[st->nfree++] = (int)i;
    }
    mlp_fold_tree_init(&st->tree, 0);
}

/* One process: take k buffers from the pool for the next wave. */
static int take_parts(mlp_stepper_t *st, size_t k)
{
    if (k > st->nfree)
        return mlp_error_set(MLP_EINVAL, "step: %zu gradient buffers "
                             "wanted, %zu free", k, st->nfree);
    for (size_t i = 0; i < k; i++)
        st->part[i] = st->free_ids[--st->nfree];
    return 0;
}

/* One process: the pending parts pushed on the tree (ops to run). */
static int push_parts(mlp_stepper_t *st)
{
    int rc;

    st->nops = st->nfreed = 0;
    for (size_t i = 0; i < st->nparts; i++)
        if ((rc = mlp_fold_push(&st->tree, 1, st->part[i], st->ops,
                                &st->nops, st->freed, &st->nfreed)) < 0)
            return rc;
    st->nparts = 0;
    return 0;
}

/*
 * --clip-grad: run the pending ops, taking each chunk's exact sum of
 * squares of the step's sum (st->grad), and set the scale of the update:
 * clip / (|g| + 1e-6) when below 1 (PyTorch's clip_grad_norm_), else 1.
 * The chunks' sums are exact integers (fold.h), so |g| does not depend on
 * who took which chunk, nor on the rank count.
 */
static int norm_pass(mlp_stepper_t *st)
{
    size_t nchunks = (st->nflat + STEP_CHUNK - 1) / STEP_CHUNK;
    mlp_fold_sq_t total;
    double norm, coef;
    int rc;

    st->apply = 0;
    st->norm = 1;
    rc = mlp_step_run_pass(st, PASS_FOLD, nchunks);
    st->norm = 0;
    st->nops = 0; /* run */
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

int mlp_step_sum_pass(mlp_stepper_t *st, int apply)
{
    int rc = 0;

    if (apply && st->o.clip_norm > 0.0f)
        rc = norm_pass(st); /* the norm first, then the scaled update */
    if (rc == 0) {
        st->apply = apply;
        rc = mlp_step_run_pass(st, PASS_FOLD,
                               (st->nflat + STEP_CHUNK - 1) / STEP_CHUNK);
    }
    st->apply = 0;
    st->scale = 1.0f;
    for (size_t i = 0; i < st->nfreed; i++)
        st->free_ids[st->nfree++] = st->freed[i];
    st->nops = st->nfreed = 0;
    return rc;
}

int mlp_stepper_add(mlp_stepper_t *st, const void *x, const int32_t *y,
                    size_t n, double *loss, size_t *correct)
{
    size_t nm = mlp_fold_nmicro(n, st->o.micro);
    int rc = 0;

    if (nm > st->nmax || n == 0 || st->row0 + n > st->rows)
        return mlp_error_set(MLP_EINVAL, "step: a batch of %zu rows (at "
                             "most %zu; %zu of the step's %zu so far)", n,
                             st->o.max_rows, st->row0, st->rows);
    st->x = x;
    st->y = y;
    st->n = n;
    if (st->rk != NULL) {
        rc = mlp_step_ranks_add(st, nm);
    } else {
        /* Waves of at most nslots micro-batches, each pushed on the tree
         * before the next; the last wave's push waits for
         * mlp_stepper_fold or _apply. */
        for (size_t w0 = 0; rc == 0 && w0 < nm; w0 += st->nslots) {
            size_t k = nm - w0 < st->nslots ? nm - w0 : st->nslots;

            if (st->nparts > 0 && (rc = mlp_stepper_fold(st)) < 0)
                break;
            if ((rc = take_parts(st, k)) < 0)
                break;
            st->wave0 = w0;
            rc = mlp_step_run_pass(st, PASS_TRAIN, k);
            st->nparts = rc == 0 ? k : 0;
        }
    }
    for (size_t i = 0; rc == 0 && i < nm; i++) {
        *loss += st->loss[i];
        *correct += st->correct[i];
    }
    st->row0 += n;
    return rc;
}

int mlp_stepper_fold(mlp_stepper_t *st)
{
    int rc;

    if (st->rk != NULL)
        return mlp_step_ranks_fold(st);
    if (st->nparts == 0)
        return 0;
    if ((rc = push_parts(st)) < 0)
        return rc;
    return mlp_step_sum_pass(st, 0);
}

int mlp_stepper_apply(mlp_stepper_t *st, float lr)
{
    int rc, id;

    if (st->row0 == 0)
        return mlp_error_set(MLP_EINVAL, "step: nothing to apply");
    if ((rc = mlp_optim_set_lr(st->opt, lr)) < 0)
        return rc;
    mlp_optim_begin(st->opt);
    if (st->rk != NULL)
        return mlp_step_ranks_apply(st);
    /* The fold, then the update: the step's sum in the leftmost node's
     * buffer, the optimizer reading it in the same pass (clipping: one
     * pass more, for the norm). */
    if ((rc = push_parts(st)) < 0 ||
        (rc = mlp_fold_finish(&st->tree, -1, st->ops, &st->nops, st->freed,
                              &st->nfreed, &id)) < 0)
        return rc;
    st->grad = st->buf[id];
    st->freed[st->nfreed++] = id; /* free once the pass has read it */
    rc = mlp_step_sum_pass(st, 1);
    mlp_fold_tree_init(&st->tree, 0);
    return rc;
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
        double *g = st->gather;

        mlp_fold_rank(nm, st->o.rank, st->o.nranks, &first, &count);
        st->wave0 = first;
        if (count > 0 && (rc = mlp_step_run_pass(st, PASS_EVAL, count)) < 0)
            return rc;
        /* The losses and counts of micro-batches [0, nm) made global:
         * each rank's row is zero outside its block, so the ordered sum
         * of the rows gives every value exactly (v + 0 = v).  On this
         * thread: the communication thread is idle between steps. */
        for (size_t i = 0; i < nm; i++) {
            int mine = i >= first && i < first + count;

            g[i] = mine ? st->loss[i] : 0.0;
            g[nm + i] = mine ? (double)st->correct[i] : 0.0;
        }
        if ((rc = mlp_dist_sum_rows(g + 2 * nm, g, 2 * nm)) < 0)
            return rc;
        for (size_t i = 0; i < nm; i++) {
            st->loss[i] = g[2 * nm + i];
            st->correct[i] = (size_t)g[3 * nm + i];
        }
    } else if ((rc = mlp_step_run_pass(st, PASS_EVAL, nm)) < 0) {
        return rc;
    }
    for (size_t i = 0; i < nm; i++) {
        *loss += st->loss[i];
        *correct += st->correct[i];
    }
    return 0;
}

void mlp_stepper_stats(const mlp_stepper_t *st, mlp_step_stats_t *s)
{
    memset(s, 0, sizeof(*s));
    if (st->rk != NULL)
        mlp_step_ranks_stats(st, s);
}
