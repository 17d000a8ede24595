/*
 * step_ranks: the step's sum across MPI ranks, overlapped with the
 * backward (see step.h, "Ranks").
 *
 * Threads: the compute threads (step.c's) and one communication thread,
 * started here when dist lets another thread call it (mlp_dist_threads).
 * A loader batch is a job: the caller posts it under `mu` (bumping `job`)
 * before the train pass.  The communication thread then
 *   1. waits until this rank's forwards are done (`fwd` reaches `count`:
 *      each train item counts itself after its loss), exchanges the
 *      losses and counts, and sets `losses_done`;
 *   2. for each bucket in order, waits until every micro-batch of this
 *      rank has passed the bucket's layers (`bdone[b]` reaches `count`:
 *      the net's layer-done hook counts on the compute thread that ran
 *      the layer), and sums it across ranks (reduce.h), then sets
 *      `reduced` to b + 1;
 *   3. marks the job done (`jobs_done`) and sleeps on `cv`.
 * The counters are atomics; whoever completes one takes `mu` and
 * broadcasts `cv`, on which every waiter (the communication thread for
 * readiness, the compute threads for losses and sums) waits, so nobody
 * spins there.  The waits on MPI itself poll: with pauses while `busy`
 * (the train pass runs), without once the compute threads wait.
 *
 * Ownership: during a job the communication thread alone makes dist's and
 * the reducer's calls; the part buffers of a bucket are the compute
 * threads' until the bucket is counted ready and the reducer's after; the
 * parameters of a bucket are written (the optimizer) only once it is
 * summed, in mlp_stepper_apply, when no forward or backward runs.  Between
 * jobs the thread is idle, so the caller may make its own dist calls.
 *
 * Failures: the first error (either side) is kept with its message;
 * `cancel` stops the communication thread's waits and exchanges, and
 * every waiter wakes and returns it.  Shutdown: `quit`, broadcast, join.
 *
 * Where dist allows no other thread (FUNNELED), or the thread would have
 * no core of its own (mlp_dist_comm_thread), there is no thread: the same
 * job runs on the caller after the train pass (no overlap, the same bits),
 * with the whole gradient as one bucket (two message rounds a step).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include "mlptrain/clock.h"
#include "mlptrain/dist.h"
#include "mlptrain/error.h"
#include "mlptrain/faults.h"
#include "mlptrain/fold.h"
#include "mlptrain/reduce.h"
#include "mlptrain/step.h"
#include "step_internal.h"

enum { TAG_LOSSES = 3 };

/* Is this the thread that made the stepper?  (Its waits are the exposed
 * time: the workers wait alongside it.) */
static _Thread_local int step_caller;

struct step_ranks {
    mlp_reduce_t *red;
    int rank, nranks;
    size_t nb;                  /* buckets */
    size_t *blo, *bhi;          /* [nb]: their ranges, in reduce order */
    size_t *blayer;             /* [nb]: the layer that completes each */
    size_t nlayers;
    size_t *lfirst, *lcount;    /* [nlayers]: the buckets a layer ends */
    atomic_size_t *bdone;       /* [nb]: micro-batches past each */
    atomic_size_t fwd;          /* forwards done */
    size_t nm, first, count;    /* the job's batch and this rank's block */
    /* The update's items: chunks of the buckets, in bucket order. */
    size_t *ib, *ilo, *ihi;     /* [nitems] */
    size_t nitems;
    double *stage;              /* [2 nmax]: loss, count per micro-batch */
    mlp_dist_msg_t *lsend, *lrecv; /* [nranks] */
    /* The communication thread and its job; under mu. */
    int threaded;
    pthread_t tid;
    int started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t job, jobs_done;
    int quit;
    int losses_done;
    size_t reduced;
    int err;
    char errmsg[MLP_ERROR_MAX];
    atomic_int busy;            /* the train pass runs */
    atomic_int cancel;          /* give up: an error, or shutting down */
    /* Stats: the thread's writes are read after its job is done. */
    double active, exposed;
    uint64_t steps;
};

/*
 * The buckets of a net into rk (step.h's rule).  Walking the layers from
 * the last, the open bucket takes the next layer while it stays within
 * its size (first_cap for the first bucket, cap after); a layer that does
 * not fit starts the next bucket, alone when larger than that bucket's
 * size, cut into equal pieces (at 16-float steps) of at most cap when
 * larger than cap.
 */
static int make_buckets(step_ranks_t *rk, mlp_net_t *net, size_t cap,
                        size_t first_cap)
{
    size_t L = mlp_net_nlayers(net), nb = 0, max = 0;
    size_t olo = 0, ohi = 0, olayer = 0;
    int open = 0;

    if (cap < 16)
        cap = 16;
    for (size_t l = 0; l < L; l++) {
        size_t lo, hi;

        mlp_net_layer_range(net, l, &lo, &hi);
        max += (hi - lo) / cap + 2;
    }
    if ((rk->blo = malloc(max * sizeof(size_t))) == NULL ||
        (rk->bhi = malloc(max * sizeof(size_t))) == NULL ||
        (rk->blayer = malloc(max * sizeof(size_t))) == NULL ||
        (rk->lfirst = calloc(L, sizeof(size_t))) == NULL ||
        (rk->lcount = calloc(L, sizeof(size_t))) == NULL)
        return mlp_error_set(MLP_ENOMEM, "step: out of memory");
    for (size_t l = L; l-- > 0;) {
        size_t lo, hi, k;

        mlp_net_layer_range(net, l, &lo, &hi);
        /* layers come from the last: this one ends where the open one
         * begins */
        if (open && ohi - lo <= (nb == 0 ? first_cap : cap)) {
            olo = lo;
            olayer = l;
            continue;
        }
        if (open) {
            rk->blo[nb] = olo;
            rk->bhi[nb] = ohi;
            rk->blayer[nb++] = olayer;
            open = 0;
        }
        if (hi - lo <= (nb == 0 ? first_cap : cap)) {
            open = 1;
            olo = lo;
            ohi = hi;
            olayer = l;
            continue;
        }
        /* alone, or in pieces of at most cap (all ready at once) */
        k = (hi - lo + cap - 1) / cap;
        for (size_t j = k; j-- > 0;) {
            size_t a = lo + ((hi - lo) * j / k & ~(size_t)15);
            size_t z = j + 1 == k ? hi
                                  : lo + ((hi - lo) * (j + 1) / k &
                                          ~(size_t)15);

            if (z <= a)
                continue;
            rk->blo[nb] = a;
            rk->bhi[nb] = z;
            rk->blayer[nb++] = l;
        }
    }
    if (open) {
        rk->blo[nb] = olo;
        rk->bhi[nb] = ohi;
        rk->blayer[nb++] = olayer;
    }
    rk->nb = nb;
    rk->nlayers = L;
    for (size_t b = 0; b < nb; b++) {
        size_t l = rk->blayer[b];

        if (rk->lcount[l]++ == 0)
            rk->lfirst[l] = b;
    }
    return 0;
}

/* The update's items: each bucket cut into STEP_CHUNK ranges. */
static int make_items(step_ranks_t *rk)
{
    size_t n = 0;

    for (size_t b = 0; b < rk->nb; b++)
        n += (rk->bhi[b] - rk->blo[b] + STEP_CHUNK - 1) / STEP_CHUNK;
    if ((rk->ib = malloc((n + 1) * sizeof(size_t))) == NULL ||
        (rk->ilo = malloc((n + 1) * sizeof(size_t))) == NULL ||
        (rk->ihi = malloc((n + 1) * sizeof(size_t))) == NULL)
        return mlp_error_set(MLP_ENOMEM, "step: out of memory");
    for (size_t b = 0; b < rk->nb; b++)
        for (size_t lo = rk->blo[b]; lo < rk->bhi[b]; lo += STEP_CHUNK) {
            rk->ib[rk->nitems] = b;
            rk->ilo[rk->nitems] = lo;
            rk->ihi[rk->nitems++] = rk->bhi[b] - lo < STEP_CHUNK
                                        ? rk->bhi[b]
                                        : lo + STEP_CHUNK;
        }
    return 0;
}

/* Keep the first error (with this thread's message) and wake everyone. */
static void ranks_fail(step_ranks_t *rk, int rc)
{
    pthread_mutex_lock(&rk->mu);
    if (rk->err == 0) {
        rk->err = rc;
        snprintf(rk->errmsg, sizeof(rk->errmsg), "%s", mlp_error_message());
    }
    atomic_store(&rk->cancel, 1);
    pthread_cond_broadcast(&rk->cv);
    pthread_mutex_unlock(&rk->mu);
}

/* The kept error, or 0. */
static int ranks_err(step_ranks_t *rk)
{
    int rc;

    pthread_mutex_lock(&rk->mu);
    rc = rk->err;
    pthread_mutex_unlock(&rk->mu);
    return rc < 0 ? mlp_error_set(rc, "%s", rk->errmsg) : 0;
}

/* Wake the waiters on cv: a counter reached its end. */
static void ranks_wake(step_ranks_t *rk)
{
    pthread_mutex_lock(&rk->mu);
    pthread_cond_broadcast(&rk->cv);
    pthread_mutex_unlock(&rk->mu);
}

/* The communication side waits until *counter reaches want (or an error,
 * or shutdown): 0, or the error. */
static int wait_ready(step_ranks_t *rk, atomic_size_t *counter, size_t want)
{
    int rc = 0;

    if (atomic_load(counter) >= want)
        return 0;
    pthread_mutex_lock(&rk->mu);
    while (atomic_load(counter) < want && !atomic_load(&rk->cancel))
        pthread_cond_wait(&rk->cv, &rk->mu);
    if (atomic_load(counter) < want)
        rc = MLP_EIO;
    pthread_mutex_unlock(&rk->mu);
    return rc < 0 ? mlp_error_set(rc, "step: the batch was abandoned") : 0;
}

void mlp_step_ranks_forward_done(mlp_stepper_t *st)
{
    step_ranks_t *rk = st->rk;

    if (atomic_fetch_add(&rk->fwd, 1) + 1 == rk->count && rk->threaded)
        ranks_wake(rk);
}

/* The net's layer-done hook: count the buckets layer l completes. */
static void layer_done(void *arg, size_t l)
{
    mlp_stepper_t *st = arg;
    step_ranks_t *rk = st->rk;
    int wake = 0;

    if (l >= rk->nlayers)
        return;
    for (size_t b = rk->lfirst[l]; b < rk->lfirst[l] + rk->lcount[l]; b++)
        wake |= atomic_fetch_add(&rk->bdone[b], 1) + 1 == rk->count;
    if (wake && rk->threaded)
        ranks_wake(rk);
}

void mlp_step_ranks_hook(mlp_stepper_t *st, mlp_net_t *net)
{
    mlp_net_set_layer_done(net, layer_done, st);
}

/* The losses and counts of this rank's block to every rank, theirs here:
 * stage[2 i], stage[2 i + 1] for micro-batch i. */
static int exchange_losses(mlp_stepper_t *st, const atomic_int *busy)
{
    step_ranks_t *rk = st->rk;
    size_t ns = 0, nr = 0;
    int rc;

    for (size_t i = rk->first; i < rk->first + rk->count; i++) {
        rk->stage[2 * i] = st->loss[i];
        rk->stage[2 * i + 1] = (double)st->correct[i];
    }
    for (int q = 0; q < rk->nranks; q++) {
        size_t first, count;

        if (q == rk->rank)
            continue;
        mlp_fold_rank(rk->nm, q, rk->nranks, &first, &count);
        rk->lsend[ns++] = (mlp_dist_msg_t){rk->stage + 2 * rk->first,
                                           2 * rk->count * sizeof(double),
                                           q};
        rk->lrecv[nr++] = (mlp_dist_msg_t){rk->stage + 2 * first,
                                           2 * count * sizeof(double), q};
    }
    if ((rc = mlp_dist_exchange_start(rk->lsend, ns, rk->lrecv, nr,
                                      TAG_LOSSES)) < 0)
        return rc;
    return mlp_dist_exchange_wait(busy, &rk->cancel);
}

/* A job: the losses, then every bucket (see the top of this file).  busy
 * NULL: on the caller after the pass (nothing to wait for). */
static int run_job(mlp_stepper_t *st, const atomic_int *busy)
{
    step_ranks_t *rk = st->rk;
    double t0;
    int rc;

    if ((rc = wait_ready(rk, &rk->fwd, rk->count)) < 0)
        return rc;
    t0 = mlp_clock_now();
    rc = exchange_losses(st, busy);
    rk->active += mlp_clock_now() - t0;
    if (rc < 0)
        return rc;
    pthread_mutex_lock(&rk->mu);
    rk->losses_done = 1;
    pthread_cond_broadcast(&rk->cv);
    pthread_mutex_unlock(&rk->mu);
    for (size_t b = 0; b < rk->nb; b++) {
        if ((rc = wait_ready(rk, &rk->bdone[b], rk->count)) < 0)
            return rc;
        t0 = mlp_clock_now();
        rc = mlp_reduce_bucket(rk->red, b, busy, &rk->cancel);
        rk->active += mlp_clock_now() - t0;
        if (rc < 0)
            return rc;
        pthread_mutex_lock(&rk->mu);
        rk->reduced = b + 1;
        pthread_cond_broadcast(&rk->cv);
        pthread_mutex_unlock(&rk->mu);
    }
    return 0;
}

static void *comm_main(void *arg)
{
    mlp_stepper_t *st = arg;
    step_ranks_t *rk = st->rk;
    uint64_t seen = 0;

    /* Its polls sleep MLP_DIST_POLL_NS: not 50 us more (Linux's default
     * slack for a timer). */
    prctl(PR_SET_TIMERSLACK, 1000UL, 0UL, 0UL, 0UL);
    pthread_mutex_lock(&rk->mu);
    for (;;) {
        int rc;

        while (!rk->quit && rk->job == seen)
            pthread_cond_wait(&rk->cv, &rk->mu);
        if (rk->quit)
            break;
        seen = rk->job;
        pthread_mutex_unlock(&rk->mu);
        rc = run_job(st, &rk->busy);
        if (rc < 0)
            ranks_fail(rk, rc);
        pthread_mutex_lock(&rk->mu);
        rk->jobs_done = seen;
        pthread_cond_broadcast(&rk->cv);
    }
    pthread_mutex_unlock(&rk->mu);
    return NULL;
}

/* A compute thread waits until *flag (under mu) says its part of the job
 * is done: the caller's wait counts as exposed. */
static int wait_job(step_ranks_t *rk, const int *flag_int,
                    const size_t *flag_size, size_t want)
{
    double t0 = mlp_clock_now();
    int rc = 0;

    pthread_mutex_lock(&rk->mu);
    while (rk->err == 0 &&
           (flag_int != NULL ? *flag_int == 0 : *flag_size < want))
        pthread_cond_wait(&rk->cv, &rk->mu);
    rc = rk->err;
    pthread_mutex_unlock(&rk->mu);
    if (step_caller)
        rk->exposed += mlp_clock_now() - t0;
    return rc < 0 ? ranks_err(rk) : 0;
}

double mlp_step_ranks_buffers(const mlp_step_opts_t *o)
{
    size_t nm = mlp_fold_nmicro(o->max_rows, o->micro);
    size_t steps = nm * (o->accum > 1 ? o->accum : 1), depth = 1;
    double R = o->nranks > 1 ? o->nranks : 1;

    for (; steps > 1; steps >>= 1)
        depth++;
    /* reduce.h: its slots hold 1/R of a gradient, and the result a whole */
    return (double)(nm + depth) / R + 1.0;
}

int mlp_step_ranks_create(mlp_stepper_t *st)
{
    step_ranks_t *rk;
    mlp_reduce_opts_t ro;
    size_t nm = st->nmax, R;
    int rc;

    if ((rk = calloc(1, sizeof(*rk))) == NULL)
        return mlp_error_set(MLP_ENOMEM, "step: out of memory");
    st->rk = rk;
    pthread_mutex_init(&rk->mu, NULL);
    pthread_cond_init(&rk->cv, NULL);
    rk->rank = st->o.nranks > 1 ? st->o.rank : 0;
    rk->nranks = st->o.nranks > 1 ? st->o.nranks : 1;
    R = (size_t)rk->nranks;
    /* Without the thread nothing overlaps: one bucket, the fewest
     * message rounds (the bits do not depend on the buckets: reduce.h). */
    rk->threaded = mlp_dist_comm_thread(st->o.threads);
    if ((rc = make_buckets(rk, st->net,
                           !rk->threaded ? st->nflat
                           : st->o.bucket > 0 ? st->o.bucket
                                              : MLP_STEP_BUCKET,
                           !rk->threaded ? st->nflat
                                         : MLP_STEP_BUCKET_FIRST)) < 0 ||
        (rc = make_items(rk)) < 0)
        return rc;
    if ((rk->bdone = calloc(rk->nb, sizeof(atomic_size_t))) == NULL ||
        (rk->stage = calloc(2 * nm, sizeof(double))) == NULL ||
        (rk->lsend = calloc(R, sizeof(mlp_dist_msg_t))) == NULL ||
        (rk->lrecv = calloc(R, sizeof(mlp_dist_msg_t))) == NULL)
        return mlp_error_set(MLP_ENOMEM, "step: out of memory");
    ro = (mlp_reduce_opts_t){.nflat = st->nflat, .nbuckets = rk->nb,
                             .lo = rk->blo, .hi = rk->bhi, .rank = rk->rank,
                             .nranks = rk->nranks, .max_micro = nm,
                             .max_step_micro =
                                 nm * (st->o.accum > 1 ? st->o.accum : 1)};
    if ((rc = mlp_reduce_create(&ro, &rk->red)) < 0)
        return rc;
    mlp_step_ranks_hook(st, st->net);
    if (rk->threaded) {
        int e = pthread_create(&rk->tid, NULL, comm_main, st);

        if (e != 0)
            return mlp_error_set(MLP_EIO, "step: cannot start the "
                                 "communication thread: %s", strerror(e));
        rk->started = 1;
    }
    return 0;
}

void mlp_step_ranks_destroy(mlp_stepper_t *st)
{
    step_ranks_t *rk = st->rk;

    if (rk == NULL)
        return;
    if (rk->started) {
        pthread_mutex_lock(&rk->mu);
        rk->quit = 1;
        atomic_store(&rk->cancel, 1);
        pthread_cond_broadcast(&rk->cv);
        pthread_mutex_unlock(&rk->mu);
        pthread_join(rk->tid, NULL);
    }
    mlp_reduce_destroy(rk->red);
    free(rk->blo);
    free(rk->bhi);
    free(rk->blayer);
    free(rk->lfirst);
    free(rk->lcount);
    free(rk->bdone);
    free(rk->ib);
    free(rk->ilo);
    free(rk->ihi);
    free(rk->stage);
    free(rk->lsend);
    free(rk->lrecv);
    pthread_mutex_destroy(&rk->mu);
    pthread_cond_destroy(&rk->cv);
    free(rk);
    st->rk = NULL;
}

/* The job of the last add is over (its thread idle again). */
static int job_over(step_ranks_t *rk)
{
    return rk->jobs_done == rk->job;
}

int mlp_step_ranks_add(mlp_stepper_t *st, size_t nm)
{
    step_ranks_t *rk = st->rk;
    int rc, last = st->row0 + st->n == st->rows;

    if ((rc = ranks_err(rk)) < 0)
        return rc;
    if (rk->threaded) {
        pthread_mutex_lock(&rk->mu);
        rc = job_over(rk);
        pthread_mutex_unlock(&rk->mu);
        if (!rc)
            return mlp_error_set(MLP_EINVAL, "step: a batch before the "
                                 "last one was folded or applied");
    }
    mlp_fold_rank(nm, rk->rank, rk->nranks, &rk->first, &rk->count);
    if (st->row0 == 0)
        mlp_reduce_reset(rk->red);
    if ((rc = mlp_reduce_batch(rk->red, nm, st->buf, last)) < 0)
        return rc;
    rk->nm = nm;
    atomic_store(&rk->fwd, 0);
    for (size_t b = 0; b < rk->nb; b++)
        atomic_store(&rk->bdone[b], 0);
    st->wave0 = rk->first;
    step_caller = 1;
    atomic_store(&rk->busy, 1);
    if (rk->threaded) {
        pthread_mutex_lock(&rk->mu);
        rk->losses_done = 0;
        rk->reduced = 0;
        rk->job++;
        pthread_cond_broadcast(&rk->cv);
        pthread_mutex_unlock(&rk->mu);
    }
    rc = rk->count > 0 ? mlp_step_run_pass(st, PASS_TRAIN, rk->count) : 0;
    atomic_store(&rk->busy, 0);
    if (rc < 0) {
        ranks_fail(rk, rc);
        return rc;
    }
    if (rk->threaded) {
        rc = wait_job(rk, &rk->losses_done, NULL, 0);
    } else {
        /* no thread: the whole job now, on the caller */
        double t0 = mlp_clock_now();

        rk->reduced = 0;
        rc = run_job(st, NULL);
        rk->exposed += mlp_clock_now() - t0;
        if (rc < 0)
            ranks_fail(rk, rc);
    }
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < nm; i++) {
        st->loss[i] = rk->stage[2 * i];
        st->correct[i] = (size_t)rk->stage[2 * i + 1];
    }
    return 0;
}

/* Wait until the job's thread is idle (every bucket done). */
static int wait_idle(step_ranks_t *rk)
{
    double t0 = mlp_clock_now();
    int rc;

    if (!rk->threaded)
        return ranks_err(rk);
    pthread_mutex_lock(&rk->mu);
    while (!job_over(rk))
        pthread_cond_wait(&rk->cv, &rk->mu);
    rc = rk->err;
    pthread_mutex_unlock(&rk->mu);
    rk->exposed += mlp_clock_now() - t0;
    return rc < 0 ? ranks_err(rk) : 0;
}

int mlp_step_ranks_fold(mlp_stepper_t *st)
{
    return wait_idle(st->rk);
}

void mlp_step_ranks_apply_item(mlp_stepper_t *st, size_t i)
{
    step_ranks_t *rk = st->rk;
    size_t b = rk->ib[i];
    int rc;

    if ((rc = wait_job(rk, NULL, &rk->reduced, b + 1)) < 0) {
        mlp_step_fail(st, rc);
        return;
    }
    mlp_optim_step_range(st->opt, st->params, st->grad, rk->ilo[i],
                         rk->ihi[i]);
    mlp_net_params_changed(st->net, rk->ilo[i], rk->ihi[i]);
}

int mlp_step_ranks_apply(mlp_stepper_t *st)
{
    step_ranks_t *rk = st->rk;
    int rc, rc2;

    if (st->row0 != st->rows)
        return mlp_error_set(MLP_EINVAL, "step: applied after %zu of its "
                             "%zu rows", st->row0, st->rows);
    st->grad = mlp_reduce_result(rk->red);
    step_caller = 1;
    if (st->o.clip_norm > 0.0f) {
        /* the norm needs every bucket: wait for all, then norm and
         * update over the whole sum (step.c) */
        if ((rc = wait_idle(rk)) == 0) {
            st->nops = st->nfreed = 0;
            rc = mlp_step_sum_pass(st, 1);
        }
        rc2 = 0;
    } else {
        rc = mlp_step_run_pass(st, PASS_APPLY, rk->nitems);
        /* the job's end: its thread idle before the caller's next dist
         * call */
        rc2 = wait_idle(rk);
    }
    if (rc == 0 && rc2 == 0)
        rk->steps++;
    return rc < 0 ? rc : rc2;
}

void mlp_step_ranks_stats(const mlp_stepper_t *st, mlp_step_stats_t *s)
{
    const step_ranks_t *rk = st->rk;
    mlp_dist_stats_t ds;

    mlp_dist_stats(&ds);
    s->steps = rk->steps;
    s->seconds = rk->active;
    s->exposed = rk->exposed < rk->active ? rk->exposed : rk->active;
    s->bytes = ds.bytes_sent + ds.bytes_received;
    s->overlap = rk->threaded ? 1 : mlp_dist_threads() ? 0 : -1;
}
