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
#include "mlptrain/faults.h"
#include "mlptrain/loader.h"
#include "mlptrain/step.h"
#include "testutil.h"

#define DIM 16
#define NTRAIN 1003 /* not a multiple of BATCH */
#define NTEST 97
#define BATCH 64

typedef struct {
    uint8_t *images, *labels;
    mlp_split_t split;
} tsplit_t;

static void split_make(tsplit_t *t, size_t n, size_t dim, uint64_t stream)
{
    t->images = malloc(n * dim + 1);
    t->labels = malloc(n + 1);
    ck_assert(t->images != NULL && t->labels != NULL);
    tu_fill_samples(t->images, t->labels, n, dim, 10, 42, stream);
    for (size_t i = 0; i < n && dim >= 2; i++) {
        t->images[i * dim] = (uint8_t)(i & 255);
        t->images[i * dim + 1] = (uint8_t)(i >> 8);
    }
    memset(&t->split, 0, sizeof(t->split));
    t->split.n = n;
    t->split.dim = dim;
    t->split.images = t->images;
    t->split.labels = t->labels;
}

static void split_free(tsplit_t *t)
{
    free(t->images);
    free(t->labels);
}

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

static mlp_loader_opts_t opts_of(const tsplit_t *train, const tsplit_t *test,
                                 unsigned epochs, unsigned workers)
{
    mlp_loader_opts_t o;

    memset(&o, 0, sizeof(o));
    o.train = &train->split;
    o.test = test != NULL ? &test->split : NULL;
    o.batch = BATCH;
    o.first_epoch = 1;
    o.epochs = epochs;
    o.seed = 7;
    o.shuffle = 1;
    o.workers = workers;
    return o;
}

/*
 * Run a whole schedule; return every batch's metadata and bytes appended in
 * one malloc'd buffer (*len bytes), for byte-wise comparison.
 */
static uint8_t *run_all(const mlp_loader_opts_t *o, size_t *len)
{
    mlp_loader_t *ld;
    mlp_batch_t b;
    size_t dim = o->train->dim, cap = 1 << 16, used = 0;
    size_t vb = o->bf16 ? sizeof(mlp_bf16_t) : sizeof(float);
    uint8_t *buf = malloc(cap);
    int rc;

    ck_assert_ptr_nonnull(buf);
    ck_assert_int_eq(mlp_loader_create(o, &ld), 0);
    while ((rc = mlp_loader_next(ld, &b)) == 0) {
        size_t meta[5] = {b.epoch, (size_t)b.phase, b.index, (size_t)b.last,
                          b.n};
        size_t need = sizeof(meta) + b.n * dim * vb + b.n * sizeof(int32_t);

        while (used + need > cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            ck_assert_ptr_nonnull(buf);
        }
        memcpy(buf + used, meta, sizeof(meta));
        used += sizeof(meta);
        memcpy(buf + used, b.x, b.n * dim * vb);
        used += b.n * dim * vb;
        memcpy(buf + used, b.y, b.n * sizeof(int32_t));
        used += b.n * sizeof(int32_t);
        mlp_loader_release(ld, &b);
    }
    ck_assert_int_eq(rc, MLP_ERANGE);
    mlp_loader_destroy(ld);
    *len = used;
    return buf;
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

START_TEST(test_schedule_each_sample_once)
{
    tsplit_t train, test;
    mlp_loader_opts_t o;
    mlp_loader_t *ld;
    mlp_batch_t b;
    size_t nbt = mlp_loader_nbatches(NTRAIN, BATCH);
    size_t nbe = mlp_loader_nbatches(NTEST, BATCH);
    unsigned seen[NTRAIN];
    size_t identity = 0;

    split_make(&train, NTRAIN, DIM, 0);
    split_make(&test, NTEST, DIM, 1);
    o = opts_of(&train, &test, 3, 3);
    o.first_epoch = 4;
    ck_assert_uint_eq(nbt, 16);
    ck_assert_uint_eq(nbe, 2);
    ck_assert_int_eq(mlp_loader_create(&o, &ld), 0);
    for (unsigned e = 4; e < 7; e++) {
        memset(seen, 0, sizeof(seen));
        for (size_t k = 0; k < nbt; k++) {
            ck_assert_int_eq(mlp_loader_next(ld, &b), 0);
            ck_assert_uint_eq(b.epoch, e);
            ck_assert_int_eq(b.phase, MLP_PHASE_TRAIN);
            ck_assert_uint_eq(b.index, k);
            ck_assert_int_eq(b.last, k == nbt - 1);
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
            ck_assert_int_eq(mlp_loader_next(ld, &b), 0);
            ck_assert_uint_eq(b.epoch, e);
            ck_assert_int_eq(b.phase, MLP_PHASE_TEST);
            ck_assert_uint_eq(b.index, k);
            ck_assert_int_eq(b.last, k == nbe - 1);
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
    split_free(&train);
    split_free(&test);
}
END_TEST

START_TEST(test_permutation_per_epoch_and_seed)
{
    tsplit_t train;
    mlp_loader_opts_t o;
    size_t *a, *b, *c, *d;

    split_make(&train, NTRAIN, DIM, 0);
    o = opts_of(&train, NULL, 2, 2);
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
    split_free(&train);
}
END_TEST

START_TEST(test_same_batches_any_workers)
{
    static const unsigned workers[] = {1, 3, 20, 3};
    static const size_t slots[] = {0, 0, 0, 1};
    tsplit_t train, test;
    mlp_loader_opts_t o;
    uint8_t *ref, *got;
    size_t ref_len, len;

    split_make(&train, NTRAIN, DIM, 0);
    split_make(&test, NTEST, DIM, 1);
    o = opts_of(&train, &test, 3, 0);
    ref = run_all(&o, &ref_len);
    ck_assert_uint_gt(ref_len, 3 * (NTRAIN + NTEST) * DIM * sizeof(float));
    for (size_t i = 0; i < sizeof(workers) / sizeof(workers[0]); i++) {
        o.workers = workers[i];
        o.slots = slots[i];
        got = run_all(&o, &len);
        ck_assert_uint_eq(len, ref_len);
        ck_assert_msg(memcmp(got, ref, len) == 0,
                      "batches differ with %u workers, %zu slots",
                      workers[i], slots[i]);
        free(got);
    }
    free(ref);
    split_free(&train);
    split_free(&test);
}
END_TEST

/* A rank's loader (MPI) decodes the rows of its micro-batches of every
 * batch exactly as the one-process loader does; together the ranks
 * cover every row of every batch once. */
START_TEST(test_rank_rows_match)
{
    enum { R = 3, MICRO = 10 };
    tsplit_t train, test;
    mlp_loader_opts_t o;
    mlp_loader_t *full, *ld[R];
    mlp_batch_t fb, b[R];
    int rc;

    split_make(&train, NTRAIN, DIM, 0);
    split_make(&test, NTEST, DIM, 1);
    o = opts_of(&train, &test, 2, 2);
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
            mlp_step_rank_rows(fb.n, MICRO, r, R, &lo, &rows);
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
    split_free(&train);
    split_free(&test);
}
END_TEST

START_TEST(test_decode_exact)
{
    uint8_t images[256 * 3], labels[256];
    mlp_split_t s = {256, 3, images, labels};
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
    tsplit_t train, test;
    mlp_loader_opts_t o;
    uint8_t *ref, *got;
    size_t ref_len, len;

    split_make(&train, 10, 4, 0);
    split_make(&test, 5, 4, 1);
    o = opts_of(&train, &test, 2, 0);
    o.batch = 3;
    ref = run_all(&o, &ref_len);
    o.workers = 256;
    got = run_all(&o, &len);
    ck_assert_uint_eq(len, ref_len);
    ck_assert(memcmp(got, ref, len) == 0);
    free(got);
    free(ref);
    split_free(&train);
    split_free(&test);
}
END_TEST

START_TEST(test_slots_and_bytes)
{
    static const unsigned workers[] = {0, 1, 3, 20, 256};
    static const size_t want[] = {2, 2, 6, 16, 16};
    tsplit_t train;
    mlp_loader_opts_t o;
    mlp_loader_t *ld;
    mlp_batch_t b;

    split_make(&train, 50, DIM, 0);
    for (size_t i = 0; i < 5; i++) {
        o = opts_of(&train, NULL, 1, workers[i]);
        ck_assert_int_eq(mlp_loader_create(&o, &ld), 0);
        ck_assert_uint_eq(mlp_loader_slots(ld), want[i]);
        /* The rule the trainer's memory estimate uses is the same. */
        ck_assert_uint_eq(mlp_loader_nslots(workers[i], 0), want[i]);
        ck_assert_uint_ge(mlp_loader_bytes(ld),
                          want[i] * BATCH * (DIM + 1) * 4);
        mlp_loader_destroy(ld);
    }
    o = opts_of(&train, NULL, 1, 0);
    o.slots = 5;
    ck_assert_int_eq(mlp_loader_create(&o, &ld), 0);
    ck_assert_uint_eq(mlp_loader_slots(ld), 5);
    ck_assert_uint_eq(mlp_loader_nslots(0, 5), 5);
    /* Without workers the consumer decodes: that time counts as waiting. */
    ck_assert_uint_eq(mlp_loader_wait_ns(ld), 0);
    while (mlp_loader_next(ld, &b) == 0)
        mlp_loader_release(ld, &b);
    ck_assert_uint_gt(mlp_loader_wait_ns(ld), 0);
    mlp_loader_destroy(ld);
    split_free(&train);
}
END_TEST

START_TEST(test_signal_mask_restored)
{
    tsplit_t train;
    mlp_loader_opts_t o;
    mlp_loader_t *ld;
    sigset_t before, after;

    split_make(&train, 50, DIM, 0);
    o = opts_of(&train, NULL, 1, 4);
    pthread_sigmask(SIG_SETMASK, NULL, &before);
    ck_assert_int_eq(mlp_loader_create(&o, &ld), 0);
    pthread_sigmask(SIG_SETMASK, NULL, &after);
    for (int sig = 1; sig < 32; sig++)
        ck_assert_int_eq(sigismember(&before, sig), sigismember(&after, sig));
    mlp_loader_destroy(ld);
    split_free(&train);
}
END_TEST

/* ---- augmentation ------------------------------------------------------ */

#define AROWS 5 /* not square: a swapped rows/cols shows */
#define ACOLS 7
#define ANTRAIN 203
#define ANTEST 31

/*
 * The reference: each source pixel (x, y) goes to (x' + dx, y + dy), where
 * x' is cols - 1 - x when flipped, else x; the rest is 0.
 */
static void ref_augment(const uint8_t *src, float *out, int dx, int dy,
                        int flip)
{
    for (int i = 0; i < AROWS * ACOLS; i++)
        out[i] = 0.0f;
    for (int y = 0; y < AROWS; y++)
        for (int x = 0; x < ACOLS; x++) {
            int tx = (flip ? ACOLS - 1 - x : x) + dx, ty = y + dy;

            if (tx >= 0 && tx < ACOLS && ty >= 0 && ty < AROWS)
                out[ty * ACOLS + tx] = (float)src[y * ACOLS + x] / 255.0f;
        }
}

static mlp_loader_opts_t aug_opts(const tsplit_t *train, const tsplit_t *test,
                                  unsigned shift, int flip, unsigned workers)
{
    mlp_loader_opts_t o = opts_of(train, test, 3, workers);

    o.batch = 16;
    o.augment.shift = shift;
    o.augment.flip = flip;
    o.rows = AROWS;
    o.cols = ACOLS;
    return o;
}

/*
 * bf16 (opts.bf16): the same schedule as f32, each value the f32 decode's
 * rounded (mlp_bf16_round), for any workers: plain images, augmented ones
 * (shift and flip), real features (the affine transform).  _i picks.
 */
START_TEST(test_bf16_decode)
{
    tsplit_t train, test;
    float shift[AROWS * ACOLS], scale[AROWS * ACOLS];
    float *ftrain = NULL, *ftest = NULL;
    mlp_loader_opts_t o;
    size_t flen, dim = AROWS * ACOLS;
    uint8_t *f;

    split_make(&train, ANTRAIN, dim, 1);
    split_make(&test, ANTEST, dim, 2);
    o = aug_opts(&train, &test, _i == 1 ? 2 : 0, _i == 1, 0);
    if (_i == 2) { /* real features: the bytes as floats, scaled */
        ftrain = malloc(ANTRAIN * dim * sizeof(float));
        ftest = malloc(ANTEST * dim * sizeof(float));
        ck_assert(ftrain && ftest);
        for (size_t i = 0; i < ANTRAIN * dim; i++)
            ftrain[i] = (float)train.images[i] * 1.3f - 7.0f;
        for (size_t i = 0; i < ANTEST * dim; i++)
            ftest[i] = (float)test.images[i] * 0.7f + 1.0f;
        for (size_t j = 0; j < dim; j++) {
            shift[j] = (float)j * 0.37f;
            scale[j] = 1.0f / (3.0f + (float)j);
        }
        train.split.features = ftrain;
        test.split.features = ftest;
        train.split.images = test.split.images = NULL;
        train.split.shift = test.split.shift = shift;
        train.split.scale = test.split.scale = scale;
    }
    f = run_all(&o, &flen);
    for (unsigned w = 0; w <= 3; w += 3) {
        size_t hlen, fo = 0, ho = 0, nvals = 0;
        uint8_t *h;

        o.bf16 = 1;
        o.workers = w;
        h = run_all(&o, &hlen);
        while (fo < flen) {
            size_t meta[5];

            ck_assert_uint_lt(ho, hlen);
            ck_assert_mem_eq(f + fo, h + ho, sizeof(meta));
            memcpy(meta, f + fo, sizeof(meta));
            fo += sizeof(meta);
            ho += sizeof(meta);
            for (size_t i = 0; i < meta[4] * dim; i++, nvals++) {
                float v;
                mlp_bf16_t b;

                memcpy(&v, f + fo + i * sizeof(float), sizeof(v));
                memcpy(&b, h + ho + i * sizeof(b), sizeof(b));
                ck_assert_uint_eq(b, mlp_bf16_round(v));
            }
            fo += meta[4] * dim * sizeof(float);
            ho += meta[4] * dim * sizeof(mlp_bf16_t);
            ck_assert_mem_eq(f + fo, h + ho, meta[4] * sizeof(int32_t));
            fo += meta[4] * sizeof(int32_t);
            ho += meta[4] * sizeof(int32_t);
        }
        ck_assert_uint_eq(ho, hlen);
        ck_assert_uint_gt(nvals, ANTRAIN * dim);
        free(h);
    }
    free(f);
    free(ftrain);
    free(ftest);
    if (_i == 2)
        train.split.images = train.images, test.split.images = test.images;
    split_free(&train);
    split_free(&test);
}
END_TEST

START_TEST(test_augment_any_workers)
{
    static const unsigned workers[] = {0, 1, 4};
    tsplit_t train, test;
    uint8_t *first = NULL;
    size_t first_len = 0;

    split_make(&train, ANTRAIN, AROWS * ACOLS, 1);
    split_make(&test, ANTEST, AROWS * ACOLS, 2);
    for (size_t w = 0; w < 3; w++) {
        mlp_loader_opts_t o = aug_opts(&train, &test, 2, 1, workers[w]);
        size_t len;
        uint8_t *buf = run_all(&o, &len);

        if (first == NULL) {
            first = buf;
            first_len = len;
            continue;
        }
        ck_assert_uint_eq(len, first_len);
        ck_assert_msg(memcmp(buf, first, len) == 0,
                      "augmented batches differ with %u workers",
                      workers[w]);
        free(buf);
    }
    free(first);
    split_free(&train);
    split_free(&test);
}
END_TEST

/*
 * Each augmented row against the reference of its own draw (unshuffled,
 * so row r of batch k is sample 16k + r); the test phase is never changed.
 * _i: 0 shift and flip, 1 shift only, 2 flip only, 3 neither (identity).
 */
START_TEST(test_augment_matches_reference)
{
    static const struct { unsigned shift; int flip; } cases[] = {
        {2, 1}, {3, 0}, {0, 1}, {0, 0}};
    tsplit_t train, test;
    mlp_loader_opts_t o;
    mlp_loader_t *ld;
    mlp_batch_t b;
    float want[AROWS * ACOLS];
    size_t flipped = 0, moved = 0, trained = 0, tested = 0;

    split_make(&train, ANTRAIN, AROWS * ACOLS, 3);
    split_make(&test, ANTEST, AROWS * ACOLS, 4);
    o = aug_opts(&train, &test, cases[_i].shift, cases[_i].flip, 2);
    o.shuffle = 0;
    ck_assert_int_eq(mlp_loader_create(&o, &ld), 0);
    while (mlp_loader_next(ld, &b) == 0) {
        for (size_t r = 0; r < b.n; r++) {
            size_t i = b.index * o.batch + r;
            const uint8_t *src;
            int dx = 0, dy = 0, flip = 0;

            if (b.phase == MLP_PHASE_TRAIN) {
                mlp_augment_draw(&o.augment, o.seed, b.epoch, i, &dx, &dy,
                                 &flip);
                ck_assert(dx >= -(int)o.augment.shift &&
                          dx <= (int)o.augment.shift);
                ck_assert(dy >= -(int)o.augment.shift &&
                          dy <= (int)o.augment.shift);
                ck_assert(o.augment.flip || !flip);
                src = train.images + i * AROWS * ACOLS;
                ck_assert_int_eq(b.y[r], train.labels[i]);
                flipped += flip;
                moved += dx != 0 || dy != 0;
                trained++;
            } else {
                src = test.images + i * AROWS * ACOLS;
                tested++;
            }
            ref_augment(src, want, dx, dy, flip);
            ck_assert_msg(memcmp(b.x + r * AROWS * ACOLS, want,
                                 sizeof(want)) == 0,
                          "epoch %u %s sample %zu (dx %d dy %d flip %d)",
                          b.epoch, b.phase == MLP_PHASE_TRAIN ? "train"
                                                              : "test",
                          i, dx, dy, flip);
        }
        mlp_loader_release(ld, &b);
    }
    mlp_loader_destroy(ld);
    ck_assert_uint_eq(trained, 3 * ANTRAIN);
    ck_assert_uint_eq(tested, 3 * ANTEST);
    /* The draws did something (or nothing, when asked for nothing). */
    if (cases[_i].flip)
        ck_assert(flipped > trained / 3 && flipped < 2 * trained / 3);
    else
        ck_assert_uint_eq(flipped, 0);
    if (cases[_i].shift > 0)
        ck_assert(moved > trained / 2);
    else
        ck_assert_uint_eq(moved, 0);
    split_free(&train);
    split_free(&test);
}
END_TEST

/* A flip is a mirror: one asymmetric image, by hand. */
START_TEST(test_augment_flip_mirrors)
{
    uint8_t img[AROWS * ACOLS], lab[1] = {0};
    mlp_split_t s = {1, AROWS * ACOLS, img, lab};
    mlp_augment_t a = {0, 1};
    mlp_loader_opts_t o;
    mlp_loader_t *ld;
    mlp_batch_t b;
    unsigned epoch = 0;
    int dx, dy, flip = 0;

    for (int i = 0; i < AROWS * ACOLS; i++)
        img[i] = (uint8_t)(10 + i);
    /* An epoch whose draw flips sample 0. */
    while (!flip)
        mlp_augment_draw(&a, 7, ++epoch, 0, &dx, &dy, &flip);
    ck_assert_int_eq(dx, 0);
    ck_assert_int_eq(dy, 0);
    memset(&o, 0, sizeof(o));
    o.train = &s;
    o.batch = 1;
    o.first_epoch = epoch;
    o.epochs = 1;
    o.seed = 7;
    o.augment = a;
    o.rows = AROWS;
    o.cols = ACOLS;
    ck_assert_int_eq(mlp_loader_create(&o, &ld), 0);
    ck_assert_int_eq(mlp_loader_next(ld, &b), 0);
    for (int y = 0; y < AROWS; y++)
        for (int x = 0; x < ACOLS; x++)
            ck_assert(b.x[y * ACOLS + x] ==
                      (float)(10 + y * ACOLS + (ACOLS - 1 - x)) / 255.0f);
    mlp_loader_release(ld, &b);
    mlp_loader_destroy(ld);
}
END_TEST

/* The draws: every value of [-K, K], new ones each epoch and sample. */
START_TEST(test_augment_draws)
{
    mlp_augment_t a = {3, 1};
    unsigned seen_dx[7] = {0}, seen_dy[7] = {0};
    size_t same_epoch = 0, same_next = 0, same_seed = 0, n = 2000;

    for (unsigned e = 1; e <= 3; e++)
        for (uint64_t i = 0; i < n; i++) {
            int dx, dy, f, dx2, dy2, f2;

            mlp_augment_draw(&a, 5, e, i, &dx, &dy, &f);
            ck_assert(dx >= -3 && dx <= 3 && dy >= -3 && dy <= 3);
            seen_dx[dx + 3]++;
            seen_dy[dy + 3]++;
            mlp_augment_draw(&a, 5, e + 1, i, &dx2, &dy2, &f2);
            same_epoch += dx == dx2 && dy == dy2 && f == f2;
            mlp_augment_draw(&a, 5, e, i + 1, &dx2, &dy2, &f2);
            same_next += dx == dx2 && dy == dy2 && f == f2;
            mlp_augment_draw(&a, 6, e, i, &dx2, &dy2, &f2);
            same_seed += dx == dx2 && dy == dy2 && f == f2;
            /* A pure function. */
            mlp_augment_draw(&a, 5, e, i, &dx2, &dy2, &f2);
            ck_assert(dx == dx2 && dy == dy2 && f == f2);
        }
    /* Each value about 1/7 of 3n draws: 857. */
    for (int k = 0; k < 7; k++) {
        ck_assert_uint_gt(seen_dx[k], 700);
        ck_assert_uint_gt(seen_dy[k], 700);
    }
    /* Equal by chance 1 time in 98. */
    ck_assert_uint_lt(same_epoch, 3 * n / 30);
    ck_assert_uint_lt(same_next, 3 * n / 30);
    ck_assert_uint_lt(same_seed, 3 * n / 30);
    ck_assert(mlp_augment_active(&a));
    ck_assert(!mlp_augment_active(&(mlp_augment_t){0, 0}));
}
END_TEST

/* No augmentation: the very bytes of a loader without the option. */
START_TEST(test_augment_none_is_plain)
{
    tsplit_t train, test;
    mlp_loader_opts_t o;
    uint8_t *a, *b;
    size_t la, lb;

    split_make(&train, ANTRAIN, AROWS * ACOLS, 5);
    split_make(&test, ANTEST, AROWS * ACOLS, 6);
    o = aug_opts(&train, &test, 0, 0, 1);
    a = run_all(&o, &la);
    o.rows = o.cols = 0;
    b = run_all(&o, &lb);
    ck_assert_uint_eq(la, lb);
    ck_assert(memcmp(a, b, la) == 0);
    free(a);
    free(b);
    split_free(&train);
    split_free(&test);
}
END_TEST

/* ---- errors and shutdown ---------------------------------------------- */

START_TEST(test_worker_error_reaches_consumer)
{
    static const unsigned workers[] = {0, 1, 3, 20};
    tsplit_t train, test;
    mlp_loader_opts_t o;
    mlp_loader_t *ld;
    mlp_batch_t b;

    split_make(&train, NTRAIN, DIM, 0);
    split_make(&test, NTEST, DIM, 1);
    o = opts_of(&train, &test, 2, workers[_i]);
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
    ck_assert_ptr_nonnull(strstr(mlp_error_message(), "injected fault"));
    mlp_loader_destroy(ld);
    split_free(&train);
    split_free(&test);
}
END_TEST

START_TEST(test_destroy_any_state)
{
    static const unsigned workers[] = {0, 1, 4, 64};
    tsplit_t train, test;
    mlp_loader_opts_t o;
    mlp_loader_t *ld;
    mlp_batch_t b, held;

    split_make(&train, NTRAIN, DIM, 0);
    split_make(&test, NTEST, DIM, 1);
    o = opts_of(&train, &test, 2, workers[_i]);
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
    split_free(&train);
    split_free(&test);
}
END_TEST

START_TEST(test_unreleased_slot)
{
    tsplit_t train;
    mlp_loader_opts_t o;
    mlp_loader_t *ld;
    mlp_batch_t b[3];

    split_make(&train, NTRAIN, DIM, 0);
    o = opts_of(&train, NULL, 1, (unsigned)_i); /* 0, 1, 2 workers */
    o.slots = 2;
    ck_assert_int_eq(mlp_loader_create(&o, &ld), 0);
    ck_assert_int_eq(mlp_loader_next(ld, &b[0]), 0);
    ck_assert_int_eq(mlp_loader_next(ld, &b[1]), 0);
    /* Batch 2 needs batch 0's slot: an error, not a deadlock. */
    ck_assert_int_eq(mlp_loader_next(ld, &b[2]), MLP_EINVAL);
    ck_assert_ptr_nonnull(strstr(mlp_error_message(), "not released"));
    /* Out-of-order release is fine. */
    mlp_loader_release(ld, &b[1]);
    ck_assert_int_eq(mlp_loader_next(ld, &b[2]), MLP_EINVAL);
    mlp_loader_release(ld, &b[0]);
    mlp_loader_release(ld, &b[0]); /* twice: a no-op */
    ck_assert_int_eq(mlp_loader_next(ld, &b[2]), 0);
    ck_assert_uint_eq(b[2].index, 2);
    mlp_loader_release(ld, &b[2]);
    mlp_loader_destroy(ld);
    split_free(&train);
}
END_TEST

START_TEST(test_bad_opts)
{
    tsplit_t train, test;
    mlp_split_t empty = {0, DIM, NULL, NULL}, narrow;
    mlp_loader_opts_t o;
    mlp_loader_t *ld = (mlp_loader_t *)&ld;

    split_make(&train, 20, DIM, 0);
    split_make(&test, 20, DIM, 1);
    narrow = test.split;
    narrow.dim = DIM - 1;

#define BAD(field_text)                                                   \
    do {                                                                  \
        ck_assert_int_eq(mlp_loader_create(&o, &ld), MLP_EINVAL);         \
        ck_assert_ptr_null(ld);                                           \
        ck_assert_msg(strstr(mlp_error_message(), field_text) != NULL,    \
                      "message '%s' lacks '%s'", mlp_error_message(),     \
                      field_text);                                        \
        o = opts_of(&train, &test, 1, 2);                                 \
    } while (0)

    ck_assert_int_eq(mlp_loader_create(NULL, &ld), MLP_EINVAL);
    o = opts_of(&train, &test, 1, 2);
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
    o = opts_of(&train, NULL, 1, 0);
    o.test = &empty;
    ck_assert_int_eq(mlp_loader_create(&o, &ld), 0);
    ck_assert_int_eq(mlp_loader_next(ld, &(mlp_batch_t){0}), 0);
    mlp_loader_destroy(ld);
    split_free(&train);
    split_free(&test);
}
END_TEST

Suite *loader_suite(void);

Suite *loader_suite(void)
{
    Suite *s = suite_create("loader");
    TCase *core = tcase_create("core");
    TCase *errors = tcase_create("errors");

    tcase_set_timeout(core, 30);
    tcase_set_timeout(errors, 30);
    tcase_add_test(core, test_schedule_each_sample_once);
    tcase_add_test(core, test_permutation_per_epoch_and_seed);
    tcase_add_test(core, test_same_batches_any_workers);
    tcase_add_test(core, test_rank_rows_match);
    tcase_add_loop_test(core, test_decode_exact, 0, 6);
    tcase_add_test(core, test_many_workers_tiny);
    tcase_add_test(core, test_slots_and_bytes);
    tcase_add_test(core, test_signal_mask_restored);
    tcase_add_test(core, test_augment_any_workers);
    tcase_add_loop_test(core, test_bf16_decode, 0, 3);
    tcase_add_loop_test(core, test_augment_matches_reference, 0, 4);
    tcase_add_test(core, test_augment_flip_mirrors);
    tcase_add_test(core, test_augment_draws);
    tcase_add_test(core, test_augment_none_is_plain);
    tcase_add_loop_test(errors, test_worker_error_reaches_consumer, 0, 4);
    tcase_add_loop_test(errors, test_destroy_any_state, 0, 4);
    tcase_add_loop_test(errors, test_unreleased_slot, 0, 3);
    tcase_add_test(errors, test_bad_opts);
    suite_add_tcase(s, core);
    suite_add_tcase(s, errors);
    return s;
}

MLP_CHECK_MAIN(loader_suite)
