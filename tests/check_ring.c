/*
 * check_ring: in-order hand-off, the capacity bound, abort, slot layout.
 *
 * Helper threads never call ck_assert (Check reports from the test's own
 * thread only): they record what happened and the test checks it after
 * joining them.  Sleeps only give a wrong implementation time to misbehave;
 * a correct one passes however the threads are scheduled (a check that
 * needs a thread blocked waits until /proc shows it asleep).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "check_main.h"
#include "mlptrain/error.h"
#include "mlptrain/ring.h"
#include "testutil.h"

static void sleep_us(long us)
{
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};

    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* ---- several producers, one consumer ---------------------------------- */

#define INORDER_N 200
#define INORDER_PRODUCERS 4

typedef struct {
    mlp_ring_t *ring;
    size_t batch, dim;
    atomic_uint next;
    pthread_mutex_t mu;
    uint64_t published[INORDER_N]; /* publish order */
    size_t npublished;
    int errors;
} inorder_t;

static void *inorder_producer(void *arg)
{
    inorder_t *t = arg;

    for (;;) {
        unsigned seq = atomic_fetch_add(&t->next, 1);
        mlp_slot_t *slot;

        if (seq >= INORDER_N)
            break;
        if (mlp_ring_claim(t->ring, seq, &slot) != 0 || slot->seq != seq) {
            pthread_mutex_lock(&t->mu);
            t->errors++;
            pthread_mutex_unlock(&t->mu);
            break;
        }
        for (size_t i = 0; i < t->batch * t->dim; i++)
            slot->x[i] = (float)seq;
        for (size_t i = 0; i < t->batch; i++)
            slot->y[i] = (int32_t)seq;
        slot->n = seq % t->batch + 1;
        /* Every fourth batch is slow, so later ones overtake it. */
        sleep_us(seq % 4 == 0 ? 2000 : (long)(seq * 37 % 200));
        pthread_mutex_lock(&t->mu);
        t->published[t->npublished++] = seq;
        pthread_mutex_unlock(&t->mu);
        mlp_ring_publish(t->ring, slot);
    }
    return NULL;
}

START_TEST(test_inorder_delivery)
{
    static inorder_t t; /* large: keep it off the stack */
    pthread_t th[INORDER_PRODUCERS];
    size_t out_of_order = 0;

    memset(&t, 0, sizeof(t));
    t.batch = 3;
    t.dim = 5;
    atomic_init(&t.next, 0);
    pthread_mutex_init(&t.mu, NULL);
    ck_assert_int_eq(mlp_ring_create(4, t.batch, t.dim, 4, &t.ring), 0);
    for (int i = 0; i < INORDER_PRODUCERS; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, inorder_producer, &t),
                         0);
    for (uint64_t s = 0; s < INORDER_N; s++) {
        mlp_slot_t *slot;
        double w;

        ck_assert_int_eq(mlp_ring_acquire(t.ring, s, &slot, &w), 0);
        ck_assert_uint_eq(slot->seq, s);
        ck_assert_uint_eq(slot->n, s % t.batch + 1);
        for (size_t i = 0; i < t.batch * t.dim; i++)
            ck_assert(slot->x[i] == (float)s);
        for (size_t i = 0; i < t.batch; i++)
            ck_assert_int_eq(slot->y[i], (int32_t)s);
        mlp_ring_release(t.ring, slot);
    }
    for (int i = 0; i < INORDER_PRODUCERS; i++)
        pthread_join(th[i], NULL);
    ck_assert_int_eq(t.errors, 0);
    ck_assert_uint_eq(t.npublished, INORDER_N);
    for (size_t i = 1; i < t.npublished; i++)
        out_of_order += t.published[i] < t.published[i - 1];
    /* Otherwise the test did not test what it claims to. */
    ck_assert_uint_gt(out_of_order, 0);
    mlp_ring_destroy(t.ring);
    pthread_mutex_destroy(&t.mu);
}
END_TEST

/* ---- a blocked claim or acquire, run on a helper thread --------------- */

typedef struct {
    mlp_ring_t *ring;
    uint64_t seq;
    int acquire;        /* 0: claim */
    atomic_int done;    /* the call returned */
    atomic_int tid;     /* the thread's id, once it runs */
    int rc;
    mlp_slot_t *slot;
    double waited;
    pthread_t th;
} waiter_t;

static void *waiter_main(void *arg)
{
    waiter_t *w = arg;

    atomic_store(&w->tid, (int)gettid());
    if (w->acquire)
        w->rc = mlp_ring_acquire(w->ring, w->seq, &w->slot, &w->waited);
    else
        w->rc = mlp_ring_claim(w->ring, w->seq, &w->slot);
    atomic_store(&w->done, 1);
    return NULL;
}

static int is_done(waiter_t *w)
{
    return atomic_load(&w->done);
}

static void waiter_start(waiter_t *w, mlp_ring_t *ring, uint64_t seq,
                         int acquire)
{
    memset(w, 0, sizeof(*w));
    w->ring = ring;
    w->seq = seq;
    w->acquire = acquire;
    atomic_init(&w->done, 0);
    atomic_init(&w->tid, 0);
    ck_assert_int_eq(pthread_create(&w->th, NULL, waiter_main, w), 0);
}

/*
 * Until w's thread sleeps ("S" in /proc/self/task/TID/stat): blocked in the
 * ring, where its only wait is.  A loaded machine delays this, nothing
 * more; a call that never blocks ends in Check's timeout.
 */
static void wait_blocked(waiter_t *w)
{
    for (;;) {
        int tid = atomic_load(&w->tid);
        char path[64], buf[512], *p;
        FILE *f;
        size_t n;

        snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
        if (tid != 0 && (f = fopen(path, "r")) != NULL) {
            n = fread(buf, 1, sizeof(buf) - 1, f);
            fclose(f);
            buf[n] = '\0';
            /* "TID (COMM) STATE ...": the state follows the last ')' */
            if ((p = strrchr(buf, ')')) != NULL && p[1] == ' ' && p[2] == 'S')
                return;
        }
        sleep_us(1000);
    }
}

START_TEST(test_capacity_bound)
{
    mlp_ring_t *ring;
    mlp_slot_t *s0, *s1, *got;
    waiter_t w2;

    ck_assert_int_eq(mlp_ring_create(2, 4, 8, 4, &ring), 0);
    ck_assert_int_eq(mlp_ring_claim(ring, 0, &s0), 0);
    ck_assert_int_eq(mlp_ring_claim(ring, 1, &s1), 0);
    ck_assert_ptr_ne(s0, s1);
    mlp_ring_publish(ring, s0);
    mlp_ring_publish(ring, s1);

    /* Seq 2 needs slot 0, which holds seq 0 until the consumer releases it:
     * neither publishing nor acquiring 0 may let the claim through. */
    waiter_start(&w2, ring, 2, 0);
    sleep_us(50000);
    ck_assert_int_eq(is_done(&w2), 0);
    ck_assert_int_eq(mlp_ring_acquire(ring, 0, &got, NULL), 0);
    ck_assert_ptr_eq(got, s0);
    sleep_us(20000);
    ck_assert_int_eq(is_done(&w2), 0);
    mlp_ring_release(ring, got);
    pthread_join(w2.th, NULL);
    ck_assert_int_eq(is_done(&w2), 1);
    ck_assert_int_eq(w2.rc, 0);
    ck_assert_ptr_eq(w2.slot, s0);
    ck_assert_uint_eq(w2.slot->seq, 2);
    ck_assert_uint_eq(w2.slot->n, 0);
    mlp_ring_destroy(ring);
}
END_TEST

START_TEST(test_acquire_waits_for_publish)
{
    mlp_ring_t *ring;
    mlp_slot_t *s0, *s1, *got;
    waiter_t c;
    double w = 12345.0;

    ck_assert_int_eq(mlp_ring_create(3, 1, 1, 4, &ring), 0);
    ck_assert_int_eq(mlp_ring_claim(ring, 0, &s0), 0);
    ck_assert_int_eq(mlp_ring_claim(ring, 1, &s1), 0);
    /* Seq 1 published first: the consumer still waits for 0. */
    mlp_ring_publish(ring, s1);
    waiter_start(&c, ring, 0, 1);
    sleep_us(50000);
    ck_assert_int_eq(is_done(&c), 0);
    wait_blocked(&c);
    sleep_us(20000); /* it stays blocked at least this long */
    mlp_ring_publish(ring, s0);
    pthread_join(c.th, NULL);
    ck_assert_int_eq(c.rc, 0);
    ck_assert_ptr_eq(c.slot, s0);
    ck_assert_double_ge(c.waited, 0.02); /* blocked at least 20 ms */
    mlp_ring_release(ring, s0);
    /* Seq 1 is ready: no wait, and the wait is reported as 0. */
    ck_assert_int_eq(mlp_ring_acquire(ring, 1, &got, &w), 0);
    ck_assert_ptr_eq(got, s1);
    ck_assert_double_eq(w, 0.0);
    mlp_ring_release(ring, got);
    mlp_ring_destroy(ring);
}
END_TEST

START_TEST(test_slot_layout)
{
    mlp_ring_t *ring;
    mlp_slot_t *s[5];

    ck_assert_int_eq(mlp_ring_create(5, 7, 3, 4, &ring), 0);
    ck_assert_uint_eq(mlp_ring_nslots(ring), 5);
    ck_assert_uint_ge(mlp_ring_bytes(ring), 5 * (7 * 3 * 4 + 7 * 4));
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(mlp_ring_claim(ring, (uint64_t)i, &s[i]), 0);
        ck_assert_uint_eq((uintptr_t)s[i]->x % 64, 0);
        ck_assert_uint_eq((uintptr_t)s[i]->y % 64, 0);
        for (int j = 0; j < 7 * 3; j++)
            ck_assert(s[i]->x[j] == 0.0f);
        for (int j = 0; j < 7; j++)
            ck_assert_int_eq(s[i]->y[j], 0);
        /* Filling a slot entirely must not touch its neighbours. */
        for (int j = 0; j < 7 * 3; j++)
            s[i]->x[j] = (float)i;
        for (int j = 0; j < 7; j++)
            s[i]->y[j] = i;
    }
    for (int i = 0; i < 5; i++) {
        for (int j = 0; j < 7 * 3; j++)
            ck_assert(s[i]->x[j] == (float)i);
        for (int j = 0; j < 7; j++)
            ck_assert_int_eq(s[i]->y[j], i);
    }
    mlp_ring_destroy(ring);
}
END_TEST

/* ---- errors ------------------------------------------------------------ */

START_TEST(test_abort_wakes_everyone)
{
    mlp_ring_t *ring;
    mlp_slot_t *s0, *s1, *got;
    waiter_t p[3], c;

    ck_assert_int_eq(mlp_ring_create(2, 2, 2, 4, &ring), 0);
    ck_assert_int_eq(mlp_ring_claim(ring, 0, &s0), 0);
    ck_assert_int_eq(mlp_ring_claim(ring, 1, &s1), 0);
    /* Producers of 2, 3, 4 wait for slots; the consumer waits for 0. */
    for (int i = 0; i < 3; i++)
        waiter_start(&p[i], ring, (uint64_t)(2 + i), 0);
    waiter_start(&c, ring, 0, 1);
    sleep_us(30000);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(is_done(&p[i]), 0);
    ck_assert_int_eq(is_done(&c), 0);

    mlp_ring_abort(ring, MLP_EIO);
    for (int i = 0; i < 3; i++) {
        pthread_join(p[i].th, NULL);
        ck_assert_int_eq(p[i].rc, MLP_EIO);
        ck_assert_ptr_null(p[i].slot);
    }
    pthread_join(c.th, NULL);
    ck_assert_int_eq(c.rc, MLP_EIO);
    ck_assert_ptr_null(c.slot);

    /* Later calls fail at once, even for a published slot. */
    mlp_ring_publish(ring, s0);
    ck_assert_int_eq(mlp_ring_acquire(ring, 0, &got, NULL), MLP_EIO);
    ck_assert_int_eq(mlp_ring_claim(ring, 7, &got), MLP_EIO);
    mlp_ring_destroy(ring);
}
END_TEST

START_TEST(test_first_abort_wins)
{
    mlp_ring_t *ring;
    mlp_slot_t *s;

    ck_assert_int_eq(mlp_ring_create(1, 1, 1, 4, &ring), 0);
    mlp_ring_abort(ring, MLP_EIO);
    mlp_ring_abort(ring, MLP_EABORTED);
    mlp_ring_abort(ring, MLP_EINTERRUPTED);
    ck_assert_int_eq(mlp_ring_claim(ring, 0, &s), MLP_EIO);
    ck_assert_int_eq(mlp_ring_acquire(ring, 0, &s, NULL), MLP_EIO);
    mlp_ring_destroy(ring);

    /* A status >= 0 still stops the ring. */
    ck_assert_int_eq(mlp_ring_create(1, 1, 1, 4, &ring), 0);
    mlp_ring_abort(ring, 0);
    ck_assert_int_eq(mlp_ring_claim(ring, 0, &s), MLP_EABORTED);
    mlp_ring_destroy(ring);
}
END_TEST

/* Slots of bf16 values: half the bytes, each slot aligned, filled without
 * touching its neighbours. */
START_TEST(test_slot_layout_bf16)
{
    mlp_ring_t *ring, *f32;
    mlp_slot_t *s[3];

    ck_assert_int_eq(mlp_ring_create(3, 64, 7, 2, &ring), 0);
    ck_assert_int_eq(mlp_ring_create(3, 64, 7, 4, &f32), 0);
    ck_assert_uint_eq(mlp_ring_bytes(ring), 3 * (64 * 7 * 2 + 64 * 4));
    ck_assert_uint_eq(mlp_ring_bytes(f32), 3 * (64 * 7 * 4 + 64 * 4));
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(mlp_ring_claim(ring, (uint64_t)i, &s[i]), 0);
        ck_assert_uint_eq((uintptr_t)s[i]->xh % 64, 0);
        for (int j = 0; j < 64 * 7; j++)
            s[i]->xh[j] = (mlp_bf16_t)(i + 1);
    }
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 64 * 7; j++)
            ck_assert_uint_eq(s[i]->xh[j], (unsigned)(i + 1));
    mlp_ring_destroy(ring);
    mlp_ring_destroy(f32);
}
END_TEST

START_TEST(test_create_errors)
{
    mlp_ring_t *ring = (mlp_ring_t *)&ring;

    ck_assert_int_eq(mlp_ring_create(0, 1, 1, 4, &ring), MLP_EINVAL);
    ck_assert_ptr_null(ring);
    ck_assert_int_eq(mlp_ring_create(1, 0, 1, 4, &ring), MLP_EINVAL);
    ck_assert_int_eq(mlp_ring_create(1, 1, 0, 4, &ring), MLP_EINVAL);
    ck_assert_msg_has("ring");
    ck_assert_int_eq(mlp_ring_create(2, SIZE_MAX / 2, 3, 4, &ring), MLP_ENOMEM);
    ck_assert_ptr_null(ring);
    ck_assert_int_eq(mlp_ring_create(2, 1, 1, 3, &ring), MLP_EINVAL);
    ck_assert_msg_has("3 bytes");
    ck_assert_int_eq(mlp_ring_create(2, SIZE_MAX / 4, 3, 2, &ring),
                     MLP_ENOMEM);
    mlp_ring_destroy(NULL);
}
END_TEST

START_TEST(test_claim_twice)
{
    mlp_ring_t *ring;
    mlp_slot_t *s, *t;

    ck_assert_int_eq(mlp_ring_create(2, 1, 1, 4, &ring), 0);
    ck_assert_int_eq(mlp_ring_claim(ring, 0, &s), 0);
    ck_assert_int_eq(mlp_ring_claim(ring, 0, &t), MLP_EINVAL);
    ck_assert_ptr_null(t);
    mlp_ring_publish(ring, s);
    ck_assert_int_eq(mlp_ring_acquire(ring, 0, &t, NULL), 0);
    mlp_ring_release(ring, t);
    /* Released: slot 0 now serves seq 2; seq 0 is in the past. */
    ck_assert_int_eq(mlp_ring_claim(ring, 0, &t), MLP_EINVAL);
    ck_assert_int_eq(mlp_ring_claim(ring, 2, &t), 0);
    ck_assert_ptr_eq(t, s);
    mlp_ring_destroy(ring);
}
END_TEST

Suite *ring_suite(void);

Suite *ring_suite(void)
{
    Suite *s = suite_create("ring");
    TCase *core = tu_tcase(s, "core", 20);
    TCase *errors = tu_tcase(s, "errors", 0);

    tcase_add_test(core, test_inorder_delivery);
    tcase_add_test(core, test_slot_layout_bf16);
    tcase_add_test(core, test_capacity_bound);
    tcase_add_test(core, test_acquire_waits_for_publish);
    tcase_add_test(core, test_slot_layout);
    tcase_add_test(errors, test_abort_wakes_everyone);
    tcase_add_test(errors, test_first_abort_wins);
    tcase_add_test(errors, test_create_errors);
    tcase_add_test(errors, test_claim_twice);
    return s;
}

MLP_CHECK_MAIN(ring_suite)
