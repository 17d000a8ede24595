/*
 * ring: a bounded ring of preallocated batch slots (see ring.h).
 *
 * Threads: any number of producers, one consumer; the ring runs none itself.
 * Everything below is guarded by one mutex.  Slot i serves sequences i,
 * i + nslots, i + 2 nslots, ... and cycles through three states:
 *
 *   FREE(expect) --claim(expect)--> CLAIMED --publish--> READY
 *        ^                                                 |
 *        +------ release: expect += nslots ----------------+
 *
 * Ownership: a FREE slot belongs to the ring, a CLAIMED one to the producer
 * that claimed it (it fills x and y without the lock), a READY one to the
 * consumer until it releases it.
 *
 * Wake-ups: producers waiting for slot i sleep on slot i's condition, so a
 * release wakes only the producers of that slot (with W producers and S
 * slots, about W/S of them, one of which proceeds), and only if some are
 * waiting.  The consumer sleeps on its own condition and a publish signals it
 * only when it waits for that very sequence.  Abort broadcasts everything.
 *
 * Non-goals: several consumers, resizing, timeouts.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <pthread.h>

#include "mlptrain/clock.h"
#include "mlptrain/error.h"
#include "mlptrain/ring.h"

#define RING_ALIGN 64

enum { SLOT_FREE, SLOT_CLAIMED, SLOT_READY };

typedef struct {
    mlp_slot_t pub;      /* first member: mlp_slot_t * converts back */
    int state;           /* SLOT_* */
    uint64_t expect;     /* FREE: the only seq a claim may take */
    unsigned waiters;    /* producers asleep on cond */
    pthread_cond_t cond; /* "this slot became free", or abort */
} ring_slot_t;

struct mlp_ring {
    pthread_mutex_t mu;
    pthread_cond_t ready;  /* the consumer's: "cwant was published" */
    int cwaiting;          /* the consumer sleeps on ready */
    uint64_t cwant;        /* ... for this seq */
    /* 0 while running; the first abort's status.  Written under mu; atomic
     * only so that a failed lock (see ring_fail) can still record it. */
    atomic_int status;
    size_t nslots, batch, dim, vbytes;
    size_t bytes;          /* of xbuf and ybuf */
    ring_slot_t *slots;    /* (nslots) */
    char *xbuf;            /* (nslots, xstride) */
    int32_t *ybuf;         /* (nslots, ystride) */
    size_t ncond;          /* slot conditions initialised, for destroy */
    int mu_init, ready_init;
};

static int thread_error(const char *call, int err)
{
    return mlp_error_set(MLP_ETHREAD, "ring: %s: %s", call, strerror(err));
}

static ring_slot_t *slot_of(mlp_slot_t *slot)
{
    return (ring_slot_t *)slot; /* pub is the first member */
}

/* Round a byte count up to RING_ALIGN; 0 on overflow. */
static size_t align_up(size_t n)
{
    if (n > SIZE_MAX - (RING_ALIGN - 1))
        return 0;
    return (n + RING_ALIGN - 1) / RING_ALIGN * RING_ALIGN;
}

/* Set the status unless one is set; the caller broadcasts. */
static void set_status(mlp_ring_t *ring, int status)
{
    int zero = 0;

    if (status >= 0)
        status = MLP_EABORTED;
    atomic_compare_exchange_strong(&ring->status, &zero, status);
}

static void wake_all(mlp_ring_t *ring)
{
    /* Broadcast cannot fail on an initialised condition. */
    for (size_t i = 0; i < ring->nslots; i++)
        pthread_cond_broadcast(&ring->slots[i].cond);
    pthread_cond_broadcast(&ring->ready);
}

/*
 * The void calls (publish, release, abort) have no way to report a failed
 * lock, which cannot happen on a valid mutex anyway.  Best effort: stop the
 * ring so that the next claim or acquire fails instead of waiting forever.
 */
static void ring_fail(mlp_ring_t *ring)
{
    set_status(ring, MLP_ETHREAD);
    wake_all(ring);
}

int mlp_ring_create(size_t nslots, size_t batch, size_t dim, size_t vbytes,
                    mlp_ring_t **out)
{
    mlp_ring_t *ring = NULL;
    size_t xstride, ystride;
    int rc, err;

    *out = NULL;
    if (nslots == 0 || batch == 0 || dim == 0)
        return mlp_error_set(MLP_EINVAL,
                             "ring: nslots, batch and dim must be > 0 "
                             "(got %zu, %zu, %zu)", nslots, batch, dim);
    if (vbytes != sizeof(float) && vbytes != sizeof(mlp_bf16_t))
        return mlp_error_set(MLP_EINVAL, "ring: values of %zu bytes (4: "
                             "float, 2: bf16)", vbytes);
    /* Strides in bytes, each slot starting on a 64-byte boundary. */
    xstride = batch > SIZE_MAX / dim / vbytes
                  ? 0 : align_up(batch * dim * vbytes);
    ystride = align_up(batch * sizeof(int32_t));
    if (xstride == 0 || ystride == 0 ||
        xstride > SIZE_MAX / nslots || ystride > SIZE_MAX / nslots ||
        xstride * nslots > SIZE_MAX - ystride * nslots)
        return mlp_error_set(MLP_ENOMEM,
                             "ring: %zu slots of %zu x %zu floats overflow",
                             nslots, batch, dim);

    ring = calloc(1, sizeof(*ring));
    if (ring == NULL) {
        rc = mlp_error_set(MLP_ENOMEM, "ring: out of memory");
        goto out;
    }
    ring->nslots = nslots;
    ring->batch = batch;
    ring->dim = dim;
    ring->vbytes = vbytes;
    ring->bytes = (xstride + ystride) * nslots;
    atomic_init(&ring->status, 0);

    if ((err = pthread_mutex_init(&ring->mu, NULL)) != 0) {
        rc = thread_error("pthread_mutex_init", err);
        goto out;
    }
    ring->mu_init = 1;
    if ((err = pthread_cond_init(&ring->ready, NULL)) != 0) {
        rc = thread_error("pthread_cond_init", err);
        goto out;
    }
    ring->ready_init = 1;

    ring->slots = calloc(nslots, sizeof(*ring->slots));
    if (ring->slots == NULL ||
        posix_memalign((void **)&ring->xbuf, RING_ALIGN,
                       xstride * nslots) != 0 ||
        posix_memalign((void **)&ring->ybuf, RING_ALIGN,
                       ystride * nslots) != 0) {
        rc = mlp_error_set(MLP_ENOMEM,
                           "ring: cannot allocate %zu slots (%zu bytes)",
                           nslots, ring->bytes);
        goto out;
    }
    memset(ring->xbuf, 0, xstride * nslots);
    memset(ring->ybuf, 0, ystride * nslots);

    for (size_t i = 0; i < nslots; i++) {
        ring_slot_t *s = &ring->slots[i];

        if ((err = pthread_cond_init(&s->cond, NULL)) != 0) {
            rc = thread_error("pthread_cond_init", err);
            goto out;
        }
        ring->ncond++;
        s->pub.x = (float *)(void *)(ring->xbuf + i * xstride);
        s->pub.y = (int32_t *)((char *)ring->ybuf + i * ystride);
        s->pub.seq = i;
        s->state = SLOT_FREE;
        s->expect = i;
    }
    *out = ring;
    ring = NULL;
    rc = 0;
out:
    mlp_ring_destroy(ring);
    return rc;
}

void mlp_ring_destroy(mlp_ring_t *ring)
{
    if (ring == NULL)
        return;
    for (size_t i = 0; i < ring->ncond; i++)
        pthread_cond_destroy(&ring->slots[i].cond);
    if (ring->ready_init)
        pthread_cond_destroy(&ring->ready);
    if (ring->mu_init)
        pthread_mutex_destroy(&ring->mu);
    free(ring->slots);
    free(ring->xbuf);
    free(ring->ybuf);
    free(ring);
}

size_t mlp_ring_nslots(const mlp_ring_t *ring)
{
    return ring->nslots;
}

size_t mlp_ring_bytes(const mlp_ring_t *ring)
{
    return ring->bytes;
}

int mlp_ring_claim(mlp_ring_t *ring, uint64_t seq, mlp_slot_t **slot)
{
    ring_slot_t *s = &ring->slots[seq % ring->nslots];
    int rc, err;

    *slot = NULL;
    if ((err = pthread_mutex_lock(&ring->mu)) != 0)
        return thread_error("pthread_mutex_lock", err);
    for (;;) {
        if ((rc = atomic_load(&ring->status)) != 0)
            break;
        if (seq < s->expect || (seq == s->expect && s->state != SLOT_FREE)) {
            rc = mlp_error_set(MLP_EINVAL,
                               "ring: sequence %llu claimed twice",
                               (unsigned long long)seq);
            break;
        }
        if (seq == s->expect) { /* and FREE */
            s->state = SLOT_CLAIMED;
            s->pub.seq = seq;
            s->pub.n = 0;
            *slot = &s->pub;
            break;
        }
        s->waiters++;
        err = pthread_cond_wait(&s->cond, &ring->mu);
        s->waiters--;
        if (err != 0) {
            rc = thread_error("pthread_cond_wait", err);
            break;
        }
    }
    pthread_mutex_unlock(&ring->mu);
    return rc;
}

void mlp_ring_publish(mlp_ring_t *ring, mlp_slot_t *slot)
{
    ring_slot_t *s = slot_of(slot);

    if (pthread_mutex_lock(&ring->mu) != 0) {
        ring_fail(ring);
        return;
    }
    s->state = SLOT_READY;
    if (ring->cwaiting && ring->cwant == s->pub.seq)
        pthread_cond_signal(&ring->ready);
    pthread_mutex_unlock(&ring->mu);
}

int mlp_ring_acquire(mlp_ring_t *ring, uint64_t seq, mlp_slot_t **slot,
                     double *waited)
{
    ring_slot_t *s = &ring->slots[seq % ring->nslots];
    double t0 = 0.0;
    int rc, err, blocked = 0;

    *slot = NULL;
    if (waited != NULL)
        *waited = 0.0;
    if ((err = pthread_mutex_lock(&ring->mu)) != 0)
        return thread_error("pthread_mutex_lock", err);
    for (;;) {
        if ((rc = atomic_load(&ring->status)) != 0)
            break;
        if (s->state == SLOT_READY && s->pub.seq == seq) {
            *slot = &s->pub;
            break;
        }
        if (!blocked) {
            blocked = 1;
            t0 = mlp_clock_now();
        }
        ring->cwaiting = 1;
        ring->cwant = seq;
        err = pthread_cond_wait(&ring->ready, &ring->mu);
        ring->cwaiting = 0;
        if (err != 0) {
            rc = thread_error("pthread_cond_wait", err);
            break;
        }
    }
    pthread_mutex_unlock(&ring->mu);
    if (blocked && waited != NULL)
        *waited = mlp_clock_now() - t0;
    return rc;
}

void mlp_ring_release(mlp_ring_t *ring, mlp_slot_t *slot)
{
    ring_slot_t *s = slot_of(slot);

    if (pthread_mutex_lock(&ring->mu) != 0) {
        ring_fail(ring);
        return;
    }
    s->state = SLOT_FREE;
    s->expect = s->pub.seq + ring->nslots;
    s->pub.n = 0;
    /* The waiters hold different seqs of this slot: only the one holding
     * `expect` proceeds, but we cannot signal just that one. */
    if (s->waiters > 0)
        pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&ring->mu);
}

void mlp_ring_abort(mlp_ring_t *ring, int status)
{
    if (pthread_mutex_lock(&ring->mu) != 0) {
        ring_fail(ring);
        return;
    }
    set_status(ring, status);
    wake_all(ring);
    pthread_mutex_unlock(&ring->mu);
}
