/*
 * check_augment: the loader's augmentation (--augment shift=K, flip):
 * the same batches for any worker count, each sample moved and mirrored
 * exactly as a reference does it with its drawn shift and flip, the draws
 * a function of (seed, epoch, sample) spread over their range, and no
 * augmentation the plain decode.
 *
 * Non-goals: the schedule and shutdown (check_loader.c).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "check_main.h"
#include "mlptrain/error.h"
#include "mlptrain/loader.h"
#include "testutil.h"

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

static mlp_loader_opts_t aug_opts(const tu_split_t *train, const tu_split_t *test,
                                  unsigned shift, int flip, unsigned workers)
{
    mlp_loader_opts_t o = tu_loader_opts(train, test, 3, workers);

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
    tu_split_t train, test;
    float shift[AROWS * ACOLS], scale[AROWS * ACOLS];
    float *ftrain = NULL, *ftest = NULL;
    mlp_loader_opts_t o;
    size_t flen, dim = AROWS * ACOLS;
    uint8_t *f;

    tu_split_make(&train, ANTRAIN, dim, 1);
    tu_split_make(&test, ANTEST, dim, 2);
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
    f = tu_loader_run_all(&o, &flen);
    for (unsigned w = 0; w <= 3; w += 3) {
        size_t hlen, fo = 0, ho = 0, nvals = 0;
        uint8_t *h;

        o.bf16 = 1;
        o.workers = w;
        h = tu_loader_run_all(&o, &hlen);
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
    tu_split_free(&train);
    tu_split_free(&test);
}
END_TEST


START_TEST(test_augment_any_workers)
{
    static const unsigned workers[] = {0, 1, 4};
    tu_split_t train, test;
    uint8_t *first = NULL;
    size_t first_len = 0;

    tu_split_make(&train, ANTRAIN, AROWS * ACOLS, 1);
    tu_split_make(&test, ANTEST, AROWS * ACOLS, 2);
    for (size_t w = 0; w < 3; w++) {
        mlp_loader_opts_t o = aug_opts(&train, &test, 2, 1, workers[w]);
        size_t len;
        uint8_t *buf = tu_loader_run_all(&o, &len);

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
    tu_split_free(&train);
    tu_split_free(&test);
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
    tu_split_t train, test;
    mlp_loader_opts_t o;
    mlp_loader_t *ld;
    mlp_batch_t b;
    float want[AROWS * ACOLS];
    size_t flipped = 0, moved = 0, trained = 0, tested = 0;

    tu_split_make(&train, ANTRAIN, AROWS * ACOLS, 3);
    tu_split_make(&test, ANTEST, AROWS * ACOLS, 4);
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
    tu_split_free(&train);
    tu_split_free(&test);
}
END_TEST

/* A flip is a mirror: one asymmetric image, by hand. */
START_TEST(test_augment_flip_mirrors)
{
    uint8_t img[AROWS * ACOLS], lab[1] = {0};
    mlp_split_t s = {.n = 1, .dim = AROWS * ACOLS, .images = img,
                     .labels = lab};
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
    tu_split_t train, test;
    mlp_loader_opts_t o;
    uint8_t *a, *b;
    size_t la, lb;

    tu_split_make(&train, ANTRAIN, AROWS * ACOLS, 5);
    tu_split_make(&test, ANTEST, AROWS * ACOLS, 6);
    o = aug_opts(&train, &test, 0, 0, 1);
    a = tu_loader_run_all(&o, &la);
    o.rows = o.cols = 0;
    b = tu_loader_run_all(&o, &lb);
    ck_assert_uint_eq(la, lb);
    ck_assert(memcmp(a, b, la) == 0);
    free(a);
    free(b);
    tu_split_free(&train);
    tu_split_free(&test);
}
END_TEST

Suite *augment_suite(void);

Suite *augment_suite(void)
{
    Suite *s = suite_create("augment");
    TCase *core = tu_tcase(s, "core", 30);

    tcase_add_test(core, test_augment_any_workers);
    tcase_add_loop_test(core, test_bf16_decode, 0, 3);
    tcase_add_loop_test(core, test_augment_matches_reference, 0, 4);
    tcase_add_test(core, test_augment_flip_mirrors);
    tcase_add_test(core, test_augment_draws);
    tcase_add_test(core, test_augment_none_is_plain);
    return s;
}

MLP_CHECK_MAIN(augment_suite)
