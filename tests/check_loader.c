/*
 * check_loader: the schedule (each sample once per epoch, test phase in file
 * order, per-epoch permutations), identical batches for any worker count,
 * exact decoding, worker errors, shutdown in every state, bad options.
 *
 * Samples carry their index in their first two pixels, so a decoded row
 * says which sample it came from.
 */
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pthread.h>

#include <check.h>

#include "check_main.h"
#include "mlptrain/error.h"
#include "mlptrain/fold.h"
#include "mlptrain/faults.h"
#include "mlptrain/loader.h"
#include "mlptrain/transform.h"
#include "mlptrain/step.h"
#include "testutil.h"

#define DIM 16
#define NTRAIN 1003 /* not a multiple of BATCH */
#define NTEST 97
#define BATCH 64

static size_t row_id(const float *x)
{
    return (size_t)lrintf(x[0] * 255.0f) +
           256 * (size_t)lrintf(x[1] * 255.0f);
}

static void sleep_us(long us)
{
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};

    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* The training order of each epoch: order[(e - first) * n + i]. */
static size_t *train_orders(const mlp_loader_opts_t *o)
{
    size_t n = o->train->n, got = 0;
    size_t *order = malloc(n * o->epochs * sizeof(*order));
    mlp_loader_t *ld;
    mlp_batch_t b;

    ck_assert_ptr_nonnull(order);
    ck_assert_int_eq(mlp_loader_create(o, &ld), 0);
    while (mlp_loader_next(ld, &b) == 0) {
        for (size_t r = 0; r < b.n && b.phase == MLP_PHASE_TRAIN; r++)
            order[got++] = row_id(b.x + r * o->train->dim);
        mlp_loader_release(ld, &b);
    }
    ck_assert_uint_eq(got, n * o->epochs);
    mlp_loader_destroy(ld);
    return order;
}

/* ---- core ------------------------------------------------------------- */

/* The loader's next batch is batch `index` of `phase` in `epoch`, the
 * phase's last or not. */
static void next_batch(mlp_loader_t *ld, mlp_batch_t *b, unsigned epoch,
                       mlp_phase_t phase, size_t index, int last)
{
    ck_assert_int_eq(mlp_loader_next(ld, b), 0);
    ck_assert_uint_eq(b->epoch, epoch);
    ck_assert_int_eq(b->phase, phase);
    ck_assert_uint_eq(b->index, index);
    ck_assert_int_eq(b->last, last);
}

START_TEST(test_schedule_each_sample_once)
{
    tu_split_t train, test;
    mlp_loader_opts_t o;
    mlp_loader_t *ld;
    mlp_batch_t b;
    size_t nbt = mlp_loader_nbatches(NTRAIN, BATCH);
    size_t nbe = mlp_loader_nbatches(NTEST, BATCH);
    unsigned seen[NTRAIN];
    size_t identity = 0;

    tu_split_make(&train, NTRAIN, DIM, 0);
    tu_split_make(&test, NTEST, DIM, 1);
    o = tu_loader_opts(&train, &test, 3, 3);
    o.first_epoch = 4;
    ck_assert_uint_eq(nbt, 16);
    ck_assert_uint_eq(nbe, 2);
    ck_assert_int_eq(mlp_loader_create(&o, &ld), 0);
    for (unsigned e = 4; e < 7; e++) {
        memset(seen, 0, sizeof(seen));
        for (size_t k = 0; k < nbt; k++) {
            next_batch(ld, &b, e, MLP_PHASE_TRAIN, k, k == nbt - 1);
            ck_assert_uint_eq(b.n, k < nbt - 1 ? BATCH : NTRAIN % BATCH);
            for (size_t r = 0; r < b.n; r++) {
                size_t id = row_id(b.x + r * DIM);

                ck_assert_uint_lt(id, NTRAIN);
                seen[id]++;
                identity += id == k * BATCH + r;
                ck_assert_int_eq(b.y[r], train.labels[id]);
                /* The whole row is the sample's. */
                for (size_t j = 0; j < DIM; j++)
                    ck_assert(b.x[r * DIM + j] ==
                              (float)train.images[id * DIM + j] / 255.0f);
            }
            mlp_loader_release(ld, &b);
        }
        for (size_t i = 0; i < NTRAIN; i++)
            ck_assert_uint_eq(seen[i], 1);
        for (size_t k = 0; k < nbe; k++) {
            next_batch(ld, &b, e, MLP_PHASE_TEST, k, k == nbe - 1);
            for (size_t r = 0; r < b.n; r++) {
                ck_assert_uint_eq(row_id(b.x + r * DIM), k * BATCH + r);
                ck_assert_int_eq(b.y[r], test.labels[k * BATCH + r]);
            }
            mlp_loader_release(ld, &b);
        }
    }
    ck_assert_int_eq(mlp_loader_next(ld, &b), MLP_ERANGE);
    ck_assert_int_eq(mlp_loader_next(ld, &b), MLP_ERANGE);
    /* A shuffled order keeps few samples in place (about 1 per epoch). */
    ck_assert_uint_lt(identity, 30);
    mlp_loader_destroy(ld);
    tu_split_free(&train);
    tu_split_free(&test);
}
END_TEST

START_TEST(test_permutation_per_epoch_and_seed)
{
    tu_split_t train;
    mlp_loader_opts_t o;
    size_t *a, *b, *c, *d;

    tu_split_make(&train, NTRAIN, DIM, 0);
    o = tu_loader_opts(&train, NULL, 2, 2);
    a = train_orders(&o); /* epochs 1 and 2, seed 7 */
    o.seed = 8;
    o.epochs = 1;
    b = train_orders(&o); /* epoch 1, seed 8 */
    o.seed = 7;
    o.first_epoch = 2;
    c = train_orders(&o); /* epoch 2 alone, seed 7: resumable */
    o.shuffle = 0;
    d = train_orders(&o);

    ck_assert(memcmp(a, a + NTRAIN, NTRAIN * sizeof(*a)) != 0);
    ck_assert(memcmp(a, b, NTRAIN * sizeof(*a)) != 0);
    ck_assert(memcmp(a + NTRAIN, c, NTRAIN * sizeof(*a)) == 0);
    for (size_t i = 0; i < NTRAIN; i++)
        ck_assert_uint_eq(d[i], i);
    free(a);
    free(b);
    free(c);
    free(d);
    tu_split_free(&train);
}
END_TEST

START_TEST(test_same_batches_any_workers)
{
    static const unsigned workers[] = {1, 3, 20, 3};
    static const size_t slots[] = {0, 0, 0, 1};
    tu_split_t train, test;
    mlp_loader_opts_t o;
    uint8_t *ref, *got;
    size_t ref_len, len;

    tu_split_make(&train, NTRAIN, DIM, 0);
    tu_split_make(&test, NTEST, DIM, 1);
    o = tu_loader_opts(&train, &test, 3, 0);
    ref = tu_loader_run_all(&o, &ref_len);
    ck_assert_uint_gt(ref_len, 3 * (NTRAIN + NTEST) * DIM * sizeof(float));
    for (size_t i = 0; i < sizeof(workers) / sizeof(workers[0]); i++) {
        o.workers = workers[i];
        o.slots = slots[i];
        got = tu_loader_run_all(&o, &len);
        ck_assert_uint_eq(len, ref_len);
        ck_assert_msg(memcmp(got, ref, len) == 0,
                      "batches differ with %u workers, %zu slots",
                      workers[i], slots[i]);
        free(got);
    }
    free(ref);
    tu_split_free(&train);
    tu_split_free(&test);
}
END_TEST

/* A rank's loader (MPI) decodes the rows of its micro-batches of every
 * batch exactly as the one-process loader does; together the ranks
 * cover every row of every batch once. */
START_TEST(test_rank_rows_match)
{
    enum { R = 3, MICRO = 10 };
    tu_split_t train, test;
    mlp_loader_opts_t o;
    mlp_loader_t *full, *ld[R];
    mlp_batch_t fb, b[R];
    int rc;

    tu_split_make(&train, NTRAIN, DIM, 0);
    tu_split_make(&test, NTEST, DIM, 1);
    o = tu_loader_opts(&train, &test, 2, 2);
    ck_assert_int_eq(mlp_loader_create(&o, &full), 0);
    for (int r = 0; r < R; r++) {
        o.micro = MICRO;
        o.rank = r;
        o.nranks = R;
        o.workers = (unsigned)r;
        ck_assert_int_eq(mlp_loader_create(&o, &ld[r]), 0);
    }
    while ((rc = mlp_loader_next(full, &fb)) == 0) {
        size_t next = 0;

        for (int r = 0; r < R; r++) {
            size_t lo, rows;

            ck_assert_int_eq(mlp_loader_next(ld[r], &b[r]), 0);
            ck_assert_uint_eq(b[r].n, fb.n);
            ck_assert_uint_eq(b[r].index, fb.index);
            mlp_fold_rank_rows(fb.n, MICRO, r, R, &lo, &rows);
            if (rows == 0)
                continue;
            ck_assert_uint_eq(lo, next);
            next = lo + rows;
            ck_assert(memcmp(b[r].x + lo * DIM, fb.x + lo * DIM,
                             rows * DIM * sizeof(float)) == 0);
            ck_assert(memcmp(b[r].y + lo, fb.y + lo,
                             rows * sizeof(int32_t)) == 0);
        }
        ck_assert_uint_eq(next, fb.n);
        for (int r = 0; r < R; r++)
            mlp_loader_release(ld[r], &b[r]);
        mlp_loader_release(full, &fb);
    }
    ck_assert_int_eq(rc, MLP_ERANGE);
    for (int r = 0; r < R; r++)
        mlp_loader_destroy(ld[r]);
    mlp_loader_destroy(full);
    tu_split_free(&train);
    tu_split_free(&test);
}
END_TEST

/* The decoders themselves: every length 0-70 from an odd and an even
 * start (the bf16 one works two bytes a word), x / 255 exactly in f32 and
 * rounded in bf16, and nothing written past the end. */
START_TEST(test_decode_lengths)
{
    uint8_t src[80];
    mlp_bf16_t h[82];
    float f[82];

    for (int i = 0; i < 80; i++)
        src[i] = (uint8_t)(i * 37 + 11);
    for (size_t off = 0; off < 2; off++)
        for (size_t n = 0; n <= 70; n++) {
            h[off + n] = 0xabcd;
            f[off + n] = -1.0f;
            mlp_transform_u8_bf16(src + off, n, h + off);
            mlp_transform_u8(src + off, n, f + off);
            for (size_t j = off; j < off + n; j++) {
                volatile float want = (float)src[j] / 255.0f;

                ck_assert_uint_eq(h[j], mlp_bf16_round(want));
                ck_assert(memcmp(&f[j], (const void *)&want,
                                 sizeof(float)) == 0);
            }
            ck_assert_uint_eq(h[off + n], 0xabcd);
            ck_assert(f[off + n] == -1.0f);
        }
}
END_TEST

START_TEST(test_decode_exact)
{
    uint8_t images[256 * 3], labels[256];
    mlp_split_t s = {.n = 256, .dim = 3, .images = images, .labels = labels};
    mlp_loader_opts_t o;
    mlp_loader_t *ld;
    mlp_batch_t b;
    size_t row = 0;

    for (int i = 0; i < 256; i++) {
        images[3 * i] = (uint8_t)i;
        images[3 * i + 1] = (uint8_t)(255 - i);
        images[3 * i + 2] = (uint8_t)(i * 7);
        labels[i] = (uint8_t)(i % 10);
    }
    memset(&o, 0, sizeof(o));
    o.train = &s;
    o.batch = 100;
    o.first_epoch = 1;
    o.epochs = 1;
    o.workers = (unsigned)_i % 3; /* 0, 1, 2 */
    o.bf16 = _i >= 3;             /* then the same in bf16 */
    ck_assert_int_eq(mlp_loader_create(&o, &ld), 0);
    while (mlp_loader_next(ld, &b) == 0) {
        for (size_t r = 0; r < b.n; r++, row++) {
            for (int j = 0; j < 3; j++) {
                volatile float want = (float)images[3 * row + j] / 255.0f;

                if (o.bf16) /* every byte value, rounded */
                    ck_assert_uint_eq(b.xh[r * 3 + j], mlp_bf16_round(want));
                else
                    ck_assert(memcmp(&b.x[r * 3 + j], (const void *)&want,
                                     sizeof(float)) == 0);
            }
            ck_assert_int_eq(b.y[r], (int32_t)(row % 10));
        }
        if (b.index == 0 && !o.bf16) {
            ck_assert(b.x[0] == 0.0f);
            ck_assert(b.x[1] == 1.0f);
        }
        mlp_loader_release(ld, &b);
    }
    ck_assert_uint_eq(row, 256);
    mlp_loader_destroy(ld);
}
END_TEST

START_TEST(test_many_workers_tiny)
{
    tu_split_t train, test;
    mlp_loader_opts_t o;
    uint8_t *ref, *got;
    size_t ref_len, len;

    tu_split_make(&train, 10, 4, 0);
    tu_split_make(&test, 5, 4, 1);
    o = tu_loader_opts(&train, &test, 2, 0);
    o.batch = 3;
    ref = tu_loader_run_all(&o, &ref_len);
    o.workers = 256;
    got = tu_loader_run_all(&o, &len);
    ck_assert_uint_eq(len, ref_len);
    ck_assert(memcmp(got, ref, len) == 0);
    free(got);
    free(ref);
    tu_split_free(&train);
    tu_split_free(&test);
}
END_TEST

START_TEST(test_slots_and_bytes)
{
    static const unsigned workers[] = {0, 1, 3, 20, 256};
    static const size_t want[] = {2, 2, 6, 16, 16};
    tu_split_t train;
    mlp_loader_opts_t o;
    mlp_loader_t *ld;
    mlp_batch_t b;

    tu_split_make(&train, 50, DIM, 0);
    for (size_t i = 0; i < 5; i++) {
        o = tu_loader_opts(&train, NULL, 1, workers[i]);
        ck_assert_int_eq(mlp_loader_create(&o, &ld), 0);
        ck_assert_uint_eq(mlp_loader_slots(ld), want[i]);
        /* The rule the trainer's memory estimate uses is the same. */
        ck_assert_uint_eq(mlp_loader_nslots(workers[i], 0), want[i]);
        ck_assert_uint_ge(mlp_loader_bytes(ld),
                          want[i] * BATCH * (DIM + 1) * 4);
        mlp_loader_destroy(ld);
    }
    o = tu_loader_opts(&train, NULL, 1, 0);
    o.slots = 5;
    ck_assert_int_eq(mlp_loader_create(&o, &ld), 0);
    ck_assert_uint_eq(mlp_loader_slots(ld), 5);
    ck_assert_uint_eq(mlp_loader_nslots(0, 5), 5);
    /* Without workers the consumer decodes: that time counts as waiting. */
    ck_assert_double_eq(mlp_loader_wait_seconds(ld), 0.0);
    while (mlp_loader_next(ld, &b) == 0)
        mlp_loader_release(ld, &b);
    ck_assert_double_gt(mlp_loader_wait_seconds(ld), 0.0);
    mlp_loader_destroy(ld);
    tu_split_free(&train);
}
END_TEST

START_TEST(test_signal_mask_restored)
{
    tu_split_t train;
    mlp_loader_opts_t o;
    mlp_loader_t *ld;
    sigset_t before, after;

    tu_split_make(&train, 50, DIM, 0);
    o = tu_loader_opts(&train, NULL, 1, 4);
    pthread_sigmask(SIG_SETMASK, NULL, &before);
    ck_assert_int_eq(mlp_loader_create(&o, &ld), 0);
    pthread_sigmask(SIG_SETMASK, NULL, &after);
    for (int sig = 1; sig < 32; sig++)
        ck_assert_int_eq(sigismember(&before, sig), sigismember(&after, sig));
    mlp_loader_destroy(ld);
    tu_split_free(&train);
}
END_TEST

/* ---- errors and shutdown ---------------------------------------------- */

START_TEST(test_worker_error_reaches_consumer)
{
    static const unsigned workers[] = {0, 1, 3, 20};
    tu_split_t train, test;
    mlp_loader_opts_t o;
    mlp_loader_t *ld;
    mlp_batch_t b;

    tu_split_make(&train, NTRAIN, DIM, 0);
    tu_split_make(&test, NTEST, DIM, 1);
    o = tu_loader_opts(&train, &test, 2, workers[_i]);
    /* after 16 training batches: the first test one */
    mlp_fault_set_loader_batch(17);
    ck_assert_int_eq(mlp_loader_create(&o, &ld), 0);
    mlp_fault_set_loader_batch(0); /* read at create */
    for (int k = 0; k < 16; k++) {
        ck_assert_int_eq(mlp_loader_next(ld, &b), 0);
        mlp_loader_release(ld, &b);
    }
    mlp_error_clear();
    ck_assert_int_eq(mlp_loader_next(ld, &b), MLP_EIO);
    ck_assert_ptr_null(b.slot_);
    ck_assert_str_eq(mlp_error_message(),
                     "loader: injected fault in batch 17 "
                     "(epoch 1, test batch 0)");
    /* It stays failed. */
    mlp_error_clear();
    ck_assert_int_eq(mlp_loader_next(ld, &b), MLP_EIO);
    ck_assert_msg_has("injected fault");
    mlp_loader_destroy(ld);
    tu_split_free(&train);
    tu_split_free(&test);
}
END_TEST

START_TEST(test_destroy_any_state)
{
    static const unsigned workers[] = {0, 1, 4, 64};
    tu_split_t train, test;
    mlp_loader_opts_t o;
    mlp_loader_t *ld;
    mlp_batch_t b, held;

    tu_split_make(&train, NTRAIN, DIM, 0);
    tu_split_make(&test, NTEST, DIM, 1);
    o = tu_loader_opts(&train, &test, 2, workers[_i]);
    o.slots = 3;

    /* Right after create. */
    ck_assert_int_eq(mlp_loader_create(&o, &ld), 0);
    mlp_loader_destroy(ld);

    /* The ring full: the consumer never reads. */
    ck_assert_int_eq(mlp_loader_create(&o, &ld), 0);
    sleep_us(20000);
    mlp_loader_destroy(ld);

    /* Mid-epoch, the consumer holding two batches and workers waiting
     * for the slot of one of them. */
    ck_assert_int_eq(mlp_loader_create(&o, &ld), 0);
    ck_assert_int_eq(mlp_loader_next(ld, &held), 0);
    ck_assert_int_eq(mlp_loader_next(ld, &b), 0);
    mlp_loader_release(ld, &b);
    ck_assert_int_eq(mlp_loader_next(ld, &b), 0);
    ck_assert_uint_eq(b.index, 2);
    sleep_us(5000);
    mlp_loader_destroy(ld);

    /* After the end. */
    ck_assert_int_eq(mlp_loader_create(&o, &ld), 0);
    while (mlp_loader_next(ld, &b) == 0)
        mlp_loader_release(ld, &b);
    sleep_us(1000);
    mlp_loader_destroy(ld);

    mlp_loader_destroy(NULL);
    tu_split_free(&train);
    tu_split_free(&test);
}
END_TEST

START_TEST(test_unreleased_slot)
{
    tu_split_t train;
    mlp_loader_opts_t o;
    mlp_loader_t *ld;
    mlp_batch_t b[3];

    tu_split_make(&train, NTRAIN, DIM, 0);
    o = tu_loader_opts(&train, NULL, 1, (unsigned)_i); /* 0, 1, 2 workers */
    o.slots = 2;
    ck_assert_int_eq(mlp_loader_create(&o, &ld), 0);
    ck_assert_int_eq(mlp_loader_next(ld, &b[0]), 0);
    ck_assert_int_eq(mlp_loader_next(ld, &b[1]), 0);
    /* Batch 2 needs batch 0's slot: an error, not a deadlock. */
    ck_assert_int_eq(mlp_loader_next(ld, &b[2]), MLP_EINVAL);
    ck_assert_msg_has("not released");
    /* Out-of-order release is fine. */
    mlp_loader_release(ld, &b[1]);
    ck_assert_int_eq(mlp_loader_next(ld, &b[2]), MLP_EINVAL);
    mlp_loader_release(ld, &b[0]);
    mlp_loader_release(ld, &b[0]); /* twice: a no-op */
    ck_assert_int_eq(mlp_loader_next(ld, &b[2]), 0);
    ck_assert_uint_eq(b[2].index, 2);
    mlp_loader_release(ld, &b[2]);
    mlp_loader_destroy(ld);
    tu_split_free(&train);
}
END_TEST

START_TEST(test_bad_opts)
{
    tu_split_t train, test;
    mlp_split_t empty = {.n = 0, .dim = DIM}, narrow;
    mlp_loader_opts_t o;
    mlp_loader_t *ld = (mlp_loader_t *)&ld;

    tu_split_make(&train, 20, DIM, 0);
    tu_split_make(&test, 20, DIM, 1);
    narrow = test.split;
    narrow.dim = DIM - 1;

#define BAD(field_text)                                                   \
    do {                                                                  \
        ck_assert_int_eq(mlp_loader_create(&o, &ld), MLP_EINVAL);         \
        ck_assert_ptr_null(ld);                                           \
        ck_assert_msg_has(field_text);                                    \
        o = tu_loader_opts(&train, &test, 1, 2);                                 \
    } while (0)

    ck_assert_int_eq(mlp_loader_create(NULL, &ld), MLP_EINVAL);
    o = tu_loader_opts(&train, &test, 1, 2);
    o.train = NULL;
    BAD("opts.train");
    o.train = &empty;
    BAD("opts.train");
    o.batch = 0;
    BAD("opts.batch");
    o.test = &narrow;
    BAD("opts.test");
    o.epochs = 0;
    BAD("opts.epochs");
    o.first_epoch = 0;
    BAD("opts.first_epoch");
    o.workers = 1025;
    BAD("opts.workers");
    o.augment.shift = 1;
    BAD("image shape"); /* no rows, cols */
    o.augment.flip = 1;
    o.rows = 1;
    o.cols = DIM + 1; /* not dim */
    BAD("image shape");
    o.augment.shift = MLP_AUGMENT_MAX_SHIFT + 1;
    o.rows = 1;
    o.cols = DIM;
    BAD("opts.augment.shift");
#undef BAD
    /* An empty test split is no test phase at all. */
    o = tu_loader_opts(&train, NULL, 1, 0);
    o.test = &empty;
    ck_assert_int_eq(mlp_loader_create(&o, &ld), 0);
    ck_assert_int_eq(mlp_loader_next(ld, &(mlp_batch_t){0}), 0);
    mlp_loader_destroy(ld);
    tu_split_free(&train);
    tu_split_free(&test);
}
END_TEST

Suite *loader_suite(void);

Suite *loader_suite(void)
{
    Suite *s = suite_create("loader");
    TCase *core = tu_tcase(s, "core", 30);
    TCase *errors = tu_tcase(s, "errors", 30);

    tcase_add_test(core, test_schedule_each_sample_once);
    tcase_add_test(core, test_permutation_per_epoch_and_seed);
    tcase_add_test(core, test_same_batches_any_workers);
    tcase_add_test(core, test_rank_rows_match);
    tcase_add_loop_test(core, test_decode_exact, 0, 6);
    tcase_add_test(core, test_decode_lengths);
    tcase_add_test(core, test_many_workers_tiny);
    tcase_add_test(core, test_slots_and_bytes);
    tcase_add_test(core, test_signal_mask_restored);
    tcase_add_loop_test(errors, test_worker_error_reaches_consumer, 0, 4);
    tcase_add_loop_test(errors, test_destroy_any_state, 0, 4);
    tcase_add_loop_test(errors, test_unreleased_slot, 0, 3);
    tcase_add_test(errors, test_bad_opts);
    return s;
}

MLP_CHECK_MAIN(loader_suite)
