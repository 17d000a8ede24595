/*
 * check_dataset: loading the four files of a directory -- plain and gzip,
 * limits, the class count, provenance -- and refusing sets whose files
 * disagree, with messages that name the files.  One test loads the real
 * Fashion-MNIST when it is installed.
 *
 * Non-goals: the IDX format itself (check_idx.c).
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "check_main.h"
#include "mlptrain/dataset.h"
#include "mlptrain/error.h"
#include "mlptrain/loader.h"
#include "testutil.h"

#define FASHION_DIR "/usr/share/datasets/fashion-mnist"

/* Each test's own directory (a checked fixture: made before the test,
 * removed after it). */
static char *testdir;

static void make_testdir(void)
{
    testdir = tu_mkdtemp();
}

static void rm_testdir(void)
{
    tu_rmtree(testdir);
    testdir = NULL;
}

/* Write dir/name (+".gz" when gz) as an IDX file. */
static void write_idx(const char *dir, const char *name, int gz,
                      const uint32_t *dims, unsigned ndims,
                      const uint8_t *data)
{
    char file[256];
    char *path;

    snprintf(file, sizeof(file), "%s%s", name, gz ? ".gz" : "");
    path = tu_path(dir, file);
    ck_assert_int_eq(tu_write_idx(path, dims, ndims, data, gz), 0);
    free(path);
}

/* Labels 0..n-1 modulo k, and images of value i for sample i. */
static void write_split(const char *dir, int test, size_t n, uint32_t rows,
                        uint32_t cols, size_t k, int gz)
{
    uint32_t idims[3] = {(uint32_t)n, rows, cols}, ldims[1] = {(uint32_t)n};
    size_t dim = (size_t)rows * cols;
    uint8_t *img = malloc(n * dim + 1), *lab = malloc(n + 1);

    ck_assert_ptr_nonnull(img);
    ck_assert_ptr_nonnull(lab);
    for (size_t i = 0; i < n; i++) {
        lab[i] = (uint8_t)(i % k);
        memset(img + i * dim, (int)(i & 0xff), dim);
    }
    write_idx(dir, mlp_dataset_file_names[test ? MLP_FILE_TEST_IMAGES
                                               : MLP_FILE_TRAIN_IMAGES],
              gz, idims, 3, img);
    write_idx(dir, mlp_dataset_file_names[test ? MLP_FILE_TEST_LABELS
                                               : MLP_FILE_TRAIN_LABELS],
              gz, ldims, 1, lab);
    free(img);
    free(lab);
}

/* A training split of ntrain samples and a test split of ntest, of the
 * same shape, classes and compression. */
static void write_splits(const char *dir, size_t ntrain, size_t ntest,
                         uint32_t rows, uint32_t cols, size_t k, int gz)
{
    write_split(dir, 0, ntrain, rows, cols, k, gz);
    write_split(dir, 1, ntest, rows, cols, k, gz);
}

static void remove_file(const char *dir, const char *name)
{
    char *path = tu_path(dir, name);

    ck_assert_int_eq(unlink(path), 0);
    free(path);
}

static int load(const char *dir, size_t lt, size_t le, mlp_dataset_t **ds)
{
    mlp_error_clear();
    *ds = (mlp_dataset_t *)1; /* must be reset to NULL on failure */
    return mlp_dataset_load(dir, lt, le, ds);
}

/* Loading dir with these limits fails with rc and leaves no dataset. */
static void refused(const char *dir, size_t lt, size_t le, int rc)
{
    mlp_dataset_t *ds;

    ck_assert_int_eq(load(dir, lt, le, &ds), rc);
    ck_assert_ptr_null(ds);
}

/* ---- core ---------------------------------------------------------- */

START_TEST(test_load_synthetic)
{
    int gz = _i;
    mlp_dataset_t *ds;
    uint8_t *img = malloc(50 * 12), *lab = malloc(50);

    ck_assert_int_eq(tu_make_dataset(testdir, 50, 20, 3, 4, 7, 42, gz), 0);
    ck_assert_int_eq(load(testdir, 0, 0, &ds), 0);
    ck_assert_uint_eq(ds->rows, 3);
    ck_assert_uint_eq(ds->cols, 4);
    ck_assert_uint_eq(ds->nclasses, 7);
    ck_assert_uint_eq(ds->train_total, 50);
    ck_assert_uint_eq(ds->test_total, 20);
    ck_assert_uint_eq(ds->train.n, 50);
    ck_assert_uint_eq(ds->test.n, 20);
    ck_assert_uint_eq(ds->train.dim, 12);
    ck_assert_uint_eq(ds->test.dim, 12);

    /* The bytes are the ones tu_make_dataset wrote. */
    tu_fill_samples(img, lab, 50, 12, 7, 42, 0);
    lab[0] = 6;
    ck_assert_mem_eq(ds->train.images, img, 50 * 12);
    ck_assert_mem_eq(ds->train.labels, lab, 50);
    tu_fill_samples(img, lab, 20, 12, 7, 42, 1);
    ck_assert_mem_eq(ds->test.images, img, 20 * 12);
    ck_assert_mem_eq(ds->test.labels, lab, 20);
    ck_assert_uint_eq(ds->test_labels_crc, (uint32_t)crc32(0, lab, 20));

    /* Provenance: the path read, its size and CRC on disk. */
    for (int f = 0; f < MLP_NFILES; f++) {
        char want[512];
        size_t len;
        uint8_t *disk;

        snprintf(want, sizeof(want), "%s/%s%s", testdir,
                 mlp_dataset_file_names[f], gz ? ".gz" : "");
        ck_assert_str_eq(ds->files[f].path, want);
        disk = tu_read_bytes(want, &len);
        ck_assert_ptr_nonnull(disk);
        ck_assert_uint_eq(ds->files[f].size, len);
        ck_assert_uint_eq(ds->files[f].crc, (uint32_t)crc32(0, disk,
                                                            (uInt)len));
        free(disk);
    }
    mlp_dataset_destroy(ds);
    free(img);
    free(lab);
}
END_TEST

/* Plain names win over .gz; each file is looked up on its own. */
START_TEST(test_plain_before_gz)
{
    mlp_dataset_t *ds;

    write_split(testdir, 0, 30, 2, 2, 3, 0); /* plain train: 30 samples */
    write_split(testdir, 0, 20, 2, 2, 3, 1); /* gz train: 20 samples */
    write_split(testdir, 1, 10, 2, 2, 3, 1); /* test: gz only */
    ck_assert_int_eq(load(testdir, 0, 0, &ds), 0);
    ck_assert_uint_eq(ds->train.n, 30);
    ck_assert_uint_eq(ds->test.n, 10);
    ck_assert_ptr_null(strstr(ds->files[MLP_FILE_TRAIN_IMAGES].path, ".gz"));
    ck_assert_ptr_nonnull(strstr(ds->files[MLP_FILE_TEST_LABELS].path,
                                 "t10k-labels-idx1-ubyte.gz"));
    mlp_dataset_destroy(ds);

    /* Mixed within a split: plain images, gzip labels. */
    remove_file(testdir, "train-labels-idx1-ubyte");
    remove_file(testdir, "train-images-idx3-ubyte.gz");
    ck_assert_int_eq(load(testdir, 0, 0, &ds), MLP_EINVAL);
    ck_assert_msg_has("train-labels-idx1-ubyte.gz has 20 labels but");
    ck_assert_msg_has("train-images-idx3-ubyte has 30 samples");
    ck_assert_ptr_null(ds);
}
END_TEST

START_TEST(test_limits)
{
    mlp_dataset_t *all, *ds;

    ck_assert_int_eq(tu_make_dataset(testdir, 40, 15, 5, 5, 4, 7, 1), 0);
    ck_assert_int_eq(load(testdir, 0, 0, &all), 0);

    ck_assert_int_eq(load(testdir, 10, 3, &ds), 0);
    ck_assert_uint_eq(ds->train.n, 10);
    ck_assert_uint_eq(ds->test.n, 3);
    ck_assert_uint_eq(ds->train_total, 40);
    ck_assert_uint_eq(ds->test_total, 15);
    ck_assert_mem_eq(ds->train.images, all->train.images, 10 * 25);
    ck_assert_mem_eq(ds->train.labels, all->train.labels, 10);
    ck_assert_mem_eq(ds->test.images, all->test.images, 3 * 25);
    ck_assert_mem_eq(ds->test.labels, all->test.labels, 3);
    /* Every label counts in the test labels' sum, whatever the limit. */
    ck_assert_uint_eq(ds->test_labels_crc, all->test_labels_crc);
    ck_assert_uint_eq(all->test_labels_crc,
                      (uint32_t)crc32(0, all->test.labels, 15));
    mlp_dataset_destroy(ds);

    /* Larger than the file: all of it. */
    ck_assert_int_eq(load(testdir, 41, 1000, &ds), 0);
    ck_assert_uint_eq(ds->train.n, 40);
    ck_assert_uint_eq(ds->test.n, 15);
    mlp_dataset_destroy(ds);

    ck_assert_int_eq(load(testdir, 1, 1, &ds), 0);
    ck_assert_uint_eq(ds->train.n, 1);
    ck_assert_uint_eq(ds->test.n, 1);
    mlp_dataset_destroy(ds);
    mlp_dataset_destroy(all);
}
END_TEST

/* The class count comes from the whole training file, whatever the limit. */
START_TEST(test_nclasses_ignores_limit)
{
    uint32_t idims[3] = {6, 1, 2}, ldims[1] = {6};
    uint8_t img[12] = {0}, lab[6] = {0, 1, 0, 1, 0, 4};
    uint8_t tlab[6] = {4, 3, 2, 1, 0, 4};
    mlp_dataset_t *ds;

    write_idx(testdir, "train-images-idx3-ubyte", 0, idims, 3, img);
    write_idx(testdir, "train-labels-idx1-ubyte", 0, ldims, 1, lab);
    write_idx(testdir, "t10k-images-idx3-ubyte", 0, idims, 3, img);
    write_idx(testdir, "t10k-labels-idx1-ubyte", 0, ldims, 1, tlab);
    ck_assert_int_eq(load(testdir, 2, 2, &ds), 0);
    ck_assert_uint_eq(ds->nclasses, 5);
    ck_assert_uint_eq(ds->train.n, 2);
    ck_assert_uint_eq(ds->train.labels[1], 1);
    mlp_dataset_destroy(ds);
}
END_TEST

/* An empty test split is allowed (a train-only set); train is not. */
START_TEST(test_empty_test_split)
{
    mlp_dataset_t *ds;

    write_splits(testdir, 8, 0, 2, 3, 2, 1);
    ck_assert_int_eq(load(testdir, 0, 0, &ds), 0);
    ck_assert_uint_eq(ds->test.n, 0);
    ck_assert_uint_eq(ds->train.n, 8);
    ck_assert_uint_eq(ds->nclasses, 2);
    mlp_dataset_destroy(ds);
    mlp_dataset_destroy(NULL);
}
END_TEST

START_TEST(test_fashion_mnist)
{
    size_t train_hist[10] = {0}, test_hist[10] = {0};
    mlp_dataset_t *ds;

    tu_need_file(FASHION_DIR "/train-labels-idx1-ubyte.gz",
                 "dataset-fashion-mnist");
    ck_assert_int_eq(load(FASHION_DIR, 0, 0, &ds), 0);
    ck_assert_uint_eq(ds->train.n, 60000);
    ck_assert_uint_eq(ds->test.n, 10000);
    ck_assert_uint_eq(ds->rows, 28);
    ck_assert_uint_eq(ds->cols, 28);
    ck_assert_uint_eq(ds->train.dim, 784);
    ck_assert_uint_eq(ds->nclasses, 10);
    for (int f = 0; f < MLP_NFILES; f++) {
        struct stat st;
        ck_assert_int_eq(stat(ds->files[f].path, &st), 0);
        ck_assert_uint_eq(ds->files[f].size, (uint64_t)st.st_size);
        ck_assert_ptr_nonnull(strstr(ds->files[f].path, ".gz"));
    }
    /* Balanced classes: 6000 and 1000 of each. */
    for (size_t i = 0; i < ds->train.n; i++)
        train_hist[ds->train.labels[i]]++;
    for (size_t i = 0; i < ds->test.n; i++)
        test_hist[ds->test.labels[i]]++;
    for (int k = 0; k < 10; k++) {
        ck_assert_uint_eq(train_hist[k], 6000);
        ck_assert_uint_eq(test_hist[k], 1000);
    }
    /* The first images: an ankle boot (9) in both splits, then a t-shirt
     * (0) in train and a pullover (2) in test. */
    ck_assert_uint_eq(ds->train.labels[0], 9);
    ck_assert_uint_eq(ds->train.labels[1], 0);
    ck_assert_uint_eq(ds->test.labels[0], 9);
    ck_assert_uint_eq(ds->test.labels[1], 2);
    mlp_dataset_destroy(ds);

    ck_assert_int_eq(load(FASHION_DIR, 1000, 500, &ds), 0);
    ck_assert_uint_eq(ds->train.n, 1000);
    ck_assert_uint_eq(ds->test.n, 500);
    ck_assert_uint_eq(ds->train_total, 60000);
    ck_assert_uint_eq(ds->nclasses, 10);
    /* The test set is known by its labels' sum (eval.h): the same with
     * --data and with the files given as --test (a model's classes). */
    {
        mlp_dataset_files_t f;
        mlp_dataset_t *t;

        memset(&f, 0, sizeof(f));
        f.test = FASHION_DIR "/t10k-images-idx3-ubyte.gz";
        f.test_labels = FASHION_DIR "/t10k-labels-idx1-ubyte.gz";
        f.nclasses = 10;
        f.limit_test = 7;
        ck_assert_int_eq(mlp_dataset_load_files(&f, &t), 0);
        ck_assert_uint_eq(t->test.n, 7);
        ck_assert_uint_eq(t->test_total, 10000);
        ck_assert_uint_eq(t->test_labels_crc, ds->test_labels_crc);
        ck_assert_uint_eq(t->test_labels_crc, 0x242bc73fu);
        ck_assert_str_eq(t->files[MLP_FILE_TRAIN_IMAGES].path, "");
        ck_assert_str_eq(t->files[MLP_FILE_TEST_LABELS].path, f.test_labels);
        mlp_dataset_destroy(t);
    }
    mlp_dataset_destroy(ds);
}
END_TEST

/* ---- errors -------------------------------------------------------- */

START_TEST(test_count_mismatch)
{
    uint32_t ldims[1] = {9};
    uint8_t lab[9] = {0};
    mlp_dataset_t *ds;

    write_splits(testdir, 10, 5, 2, 2, 2, 1);
    write_idx(testdir, "train-labels-idx1-ubyte", 1, ldims, 1, lab);
    refused(testdir, 0, 0, MLP_EINVAL);
    ck_assert_msg_has("train-labels-idx1-ubyte.gz has 9 labels but ");
    ck_assert_msg_has("train-images-idx3-ubyte.gz has 10 samples");
    ck_assert_msg_has(testdir);

    write_split(testdir, 0, 10, 2, 2, 2, 1);
    write_idx(testdir, "t10k-labels-idx1-ubyte", 1, ldims, 1, lab);
    ck_assert_int_eq(load(testdir, 0, 0, &ds), MLP_EINVAL);
    ck_assert_msg_has("t10k-labels-idx1-ubyte.gz has 9 labels but ");
    ck_assert_msg_has("t10k-images-idx3-ubyte.gz has 5 samples");
}
END_TEST

START_TEST(test_test_label_out_of_range)
{
    uint32_t ldims[1] = {6};
    uint8_t tlab[6] = {0, 1, 2, 1, 3, 0};

    write_splits(testdir, 12, 6, 3, 3, 3, 0); /* labels 0..2: 3 classes */
    write_idx(testdir, "t10k-labels-idx1-ubyte", 0, ldims, 1, tlab);
    /* Sample 4 is past the limit: the whole file is still checked. */
    refused(testdir, 0, 2, MLP_EINVAL);
    ck_assert_msg_has("t10k-labels-idx1-ubyte: label 3 of sample 4 is not "
                      "below the class count 3 (the largest training label "
                      "in ");
    ck_assert_msg_has("train-labels-idx1-ubyte is 2)");
}
END_TEST

START_TEST(test_image_size_mismatch)
{
    mlp_dataset_t *ds;

    write_split(testdir, 0, 4, 28, 28, 2, 1);
    write_split(testdir, 1, 4, 28, 27, 2, 1);
    refused(testdir, 0, 0, MLP_EINVAL);
    ck_assert_msg_has("train-images-idx3-ubyte.gz has 28x28 images but ");
    ck_assert_msg_has("t10k-images-idx3-ubyte.gz has 28x27");

    /* Same pixel count, different shape: still refused. */
    write_split(testdir, 1, 4, 14, 56, 2, 1);
    ck_assert_int_eq(load(testdir, 0, 0, &ds), MLP_EINVAL);
    ck_assert_msg_has("has 14x56");
}
END_TEST

/*
 * --data's files are --train/--test IDX files: images have 2 or more
 * dimensions (3: an image shape), labels 1.  A 2-d file beside 3-d images
 * of its width is rows of byte features (no image shape, no
 * augmentation); a 1-d file is no features file, a 3-d one no labels.
 */
START_TEST(test_wrong_ndims)
{
    uint32_t d1[1] = {4}, d2[2] = {4, 4}, d3[3] = {4, 1, 1};
    uint8_t zeros[16] = {0};
    mlp_dataset_t *ds;

    write_splits(testdir, 4, 4, 2, 2, 2, 0);
    write_idx(testdir, "t10k-images-idx3-ubyte", 0, d2, 2, zeros);
    ck_assert_int_eq(load(testdir, 0, 0, &ds), 0);
    ck_assert_int_eq(ds->image, 0);
    ck_assert_uint_eq(ds->rows, 1);
    ck_assert_uint_eq(ds->cols, 4);
    mlp_dataset_destroy(ds);

    write_idx(testdir, "t10k-images-idx3-ubyte", 0, d1, 1, zeros);
    refused(testdir, 0, 0, MLP_EFORMAT);
    ck_assert_msg_has("t10k-images-idx3-ubyte: a features IDX file needs 2 "
                      "or more dimensions");

    write_split(testdir, 1, 4, 2, 2, 2, 0);
    write_idx(testdir, "train-labels-idx1-ubyte", 0, d3, 3, zeros);
    ck_assert_int_eq(load(testdir, 0, 0, &ds), MLP_EFORMAT);
    ck_assert_msg_has("train-labels-idx1-ubyte: labels must have 1 "
                      "dimension; the IDX file has 3");
}
END_TEST

START_TEST(test_missing_file)
{
    char *gone;
    char want[1024];
    mlp_dataset_t *ds;

    ck_assert_int_eq(tu_make_dataset(testdir, 10, 5, 2, 2, 2, 1, 1), 0);
    remove_file(testdir, "t10k-labels-idx1-ubyte.gz");
    refused(testdir, 0, 0, MLP_EIO);
    snprintf(want, sizeof(want), "cannot find t10k-labels-idx1-ubyte in "
             "'%s': tried '%s/t10k-labels-idx1-ubyte' and "
             "'%s/t10k-labels-idx1-ubyte.gz'", testdir, testdir, testdir);
    ck_assert_msg_has(want);

    gone = tu_path(testdir, "nonexistent");
    ck_assert_int_eq(load(gone, 0, 0, &ds), MLP_EIO);
    ck_assert_msg_has("cannot open dataset directory '");
    ck_assert_msg_has(gone);
    ck_assert_msg_has("No such file or directory");
    free(gone);
}
END_TEST

START_TEST(test_empty_train)
{

    write_splits(testdir, 0, 3, 2, 2, 2, 0);
    refused(testdir, 0, 0, MLP_EINVAL);
    ck_assert_msg_has("train-images-idx3-ubyte: no training samples");
}
END_TEST

/* A malformed file's own error comes through, naming it. */
START_TEST(test_bad_file_propagates)
{
    char *path;
    uint8_t *disk;
    size_t len;
    mlp_dataset_t *ds;

    ck_assert_int_eq(tu_make_dataset(testdir, 30, 10, 4, 4, 3, 5, 1), 0);
    path = tu_path(testdir, "train-images-idx3-ubyte.gz");
    disk = tu_read_bytes(path, &len);
    ck_assert_ptr_nonnull(disk);
    ck_assert_int_eq(tu_write_bytes(path, disk, len / 2), 0);
    refused(testdir, 0, 0, MLP_EFORMAT);
    ck_assert_msg_has(path);
    ck_assert_msg_has("truncated gzip stream");
    free(disk);
    free(path);

    /* A plain file that shadows a good .gz is still the one read. */
    path = tu_path(testdir, "t10k-labels-idx1-ubyte");
    ck_assert_int_eq(tu_write_bytes(path, "\x00\x00\x09\x01", 4), 0);
    ck_assert_int_eq(tu_make_dataset(testdir, 30, 10, 4, 4, 3, 5, 1), 0);
    ck_assert_int_eq(load(testdir, 0, 0, &ds), MLP_EFORMAT);
    ck_assert_msg_has(path);
    ck_assert_msg_has("bad magic 0x00000901");
    free(path);
}
END_TEST


/* ---- validation hold-out -------------------------------------------- */

/* n samples of 2x2 pixels whose bytes spell the sample's index (little
 * endian, then 0xA5), labelled index % 7. */
static void write_indexed(const char *dir, size_t n)
{
    uint32_t idims[3] = {(uint32_t)n, 2, 2}, ldims[1] = {(uint32_t)n};
    uint8_t *img = malloc(n * 4), *lab = malloc(n);

    ck_assert_ptr_nonnull(img);
    ck_assert_ptr_nonnull(lab);
    for (size_t i = 0; i < n; i++) {
        img[4 * i] = (uint8_t)(i & 0xff);
        img[4 * i + 1] = (uint8_t)(i >> 8);
        img[4 * i + 2] = (uint8_t)(i >> 16);
        img[4 * i + 3] = 0xA5;
        lab[i] = (uint8_t)(i % 7);
    }
    write_idx(dir, mlp_dataset_file_names[MLP_FILE_TRAIN_IMAGES], 0, idims,
              3, img);
    write_idx(dir, mlp_dataset_file_names[MLP_FILE_TRAIN_LABELS], 0, ldims,
              1, lab);
    write_idx(dir, mlp_dataset_file_names[MLP_FILE_TEST_IMAGES], 0, idims,
              3, img);
    write_idx(dir, mlp_dataset_file_names[MLP_FILE_TEST_LABELS], 0, ldims,
              1, lab);
    free(img);
    free(lab);
}

/* The file index a row spells (write_indexed), checked against its label. */
static size_t row_index(const mlp_split_t *s, size_t r)
{
    const uint8_t *p = s->images + 4 * r;
    size_t i = p[0] | (size_t)p[1] << 8 | (size_t)p[2] << 16;

    ck_assert_uint_eq(p[3], 0xA5);
    ck_assert_uint_eq(s->labels[r], i % 7);
    return i;
}

/* Held out: sizes, disjoint, together every sample of the limit, training
 * rows in file order, validation rows in the order the seed chose. */
START_TEST(test_hold_out)
{
    enum { N = 700, LIMIT = 650, VAL = 150 };
    mlp_dataset_t *ds;
    unsigned char seen[N] = {0};
    size_t prev = 0;

    write_indexed(testdir, N);
    ck_assert_int_eq(load(testdir, LIMIT, 0, &ds), 0);
    ck_assert_int_eq(mlp_dataset_hold_out(ds, VAL, 9), 0);
    ck_assert_uint_eq(ds->val.n, VAL);
    ck_assert_uint_eq(ds->val.dim, 4);
    ck_assert_uint_eq(ds->train.n, LIMIT - VAL);
    ck_assert_uint_eq(ds->train_total, N); /* the file's count stands */
    ck_assert_uint_eq(ds->nclasses, 7);
    for (size_t r = 0; r < ds->val.n; r++) {
        size_t i = row_index(&ds->val, r);

        ck_assert_uint_lt(i, LIMIT);
        ck_assert_uint_eq(seen[i], 0);
        seen[i] = 1;
    }
    for (size_t r = 0; r < ds->train.n; r++) {
        size_t i = row_index(&ds->train, r);

        ck_assert_uint_lt(i, LIMIT);
        ck_assert_msg(seen[i] == 0, "sample %zu is in both splits", i);
        seen[i] = 2;
        ck_assert(r == 0 || i > prev); /* file order */
        prev = i;
    }
    for (size_t i = 0; i < LIMIT; i++)
        ck_assert_msg(seen[i] != 0, "sample %zu is in neither split", i);
    /* Spread over the file: a random 150 of 650 is not a block. */
    {
        size_t low = 0;

        for (size_t r = 0; r < ds->val.n; r++)
            low += row_index(&ds->val, r) < LIMIT / 2;
        ck_assert_uint_gt(low, 40);
        ck_assert_uint_lt(low, 110);
    }
    /* A second hold-out is refused. */
    mlp_error_clear();
    ck_assert_int_eq(mlp_dataset_hold_out(ds, 10, 9), MLP_EINVAL);
    ck_assert_msg_has("already");
    mlp_dataset_destroy(ds);
}
END_TEST

/* The same seed holds out the same samples in the same order; another
 * seed others. */
START_TEST(test_hold_out_seeded)
{
    enum { N = 400, VAL = 50 };
    mlp_dataset_t *a, *b, *c;
    size_t same = 0;

    write_indexed(testdir, N);
    ck_assert_int_eq(load(testdir, 0, 0, &a), 0);
    ck_assert_int_eq(load(testdir, 0, 0, &b), 0);
    ck_assert_int_eq(load(testdir, 0, 0, &c), 0);
    ck_assert_int_eq(mlp_dataset_hold_out(a, VAL, 3), 0);
    ck_assert_int_eq(mlp_dataset_hold_out(b, VAL, 3), 0);
    ck_assert_int_eq(mlp_dataset_hold_out(c, VAL, 4), 0);
    ck_assert_mem_eq(a->val.images, b->val.images, VAL * 4);
    ck_assert_mem_eq(a->train.images, b->train.images, (N - VAL) * 4);
    for (size_t r = 0; r < VAL; r++)
        same += row_index(&a->val, r) == row_index(&c->val, r);
    ck_assert_uint_lt(same, 5);
    mlp_dataset_destroy(a);
    mlp_dataset_destroy(b);
    mlp_dataset_destroy(c);
}
END_TEST

/* What the loader hands out: over several epochs and 3 workers, no
 * training batch holds a validation sample, and the validation batches
 * hold exactly the validation samples, unaugmented, every epoch. */
START_TEST(test_hold_out_never_trained)
{
    enum { N = 500, VAL = 120, EPOCHS = 3 };
    mlp_dataset_t *ds;
    mlp_loader_opts_t lo;
    mlp_loader_t *ld;
    mlp_batch_t b;
    unsigned char isval[N] = {0};
    unsigned vseen[N] = {0}, tseen[N] = {0};
    int rc;

    write_indexed(testdir, N);
    ck_assert_int_eq(load(testdir, 0, 100, &ds), 0);
    ck_assert_int_eq(mlp_dataset_hold_out(ds, VAL, 11), 0);
    for (size_t r = 0; r < VAL; r++)
        isval[row_index(&ds->val, r)] = 1;
    memset(&lo, 0, sizeof(lo));
    lo.train = &ds->train;
    lo.val = &ds->val;
    lo.test = &ds->test;
    lo.batch = 32;
    lo.first_epoch = 1;
    lo.epochs = EPOCHS;
    lo.seed = 11;
    lo.shuffle = 1;
    lo.workers = 3;
    ck_assert_int_eq(mlp_loader_create(&lo, &ld), 0);
    while ((rc = mlp_loader_next(ld, &b)) == 0) {
        for (size_t r = 0; r < b.n; r++) {
            const float *x = b.x + 4 * r;
            size_t i = (size_t)lroundf(x[0] * 255.0f) |
                       (size_t)lroundf(x[1] * 255.0f) << 8;

            ck_assert_int_eq(lroundf(x[3] * 255.0f), 0xA5);
            ck_assert_uint_lt(i, N);
            if (b.phase == MLP_PHASE_TRAIN) {
                ck_assert_msg(!isval[i], "epoch %u trains on validation "
                              "sample %zu", b.epoch, i);
                tseen[i]++;
            } else if (b.phase == MLP_PHASE_VAL) {
                ck_assert(isval[i]);
                vseen[i]++;
            }
        }
        mlp_loader_release(ld, &b);
    }
    ck_assert_int_eq(rc, MLP_ERANGE);
    for (size_t i = 0; i < N; i++)
        ck_assert_uint_eq(isval[i] ? vseen[i] : tseen[i], EPOCHS);
    mlp_loader_destroy(ld);
    mlp_dataset_destroy(ds);
}
END_TEST

START_TEST(test_hold_out_limits)
{
    mlp_dataset_t *ds;

    write_indexed(testdir, 40);
    ck_assert_int_eq(load(testdir, 30, 0, &ds), 0);
    ck_assert_int_eq(mlp_dataset_hold_out(ds, 0, 1), 0); /* nothing */
    ck_assert_uint_eq(ds->val.n, 0);
    ck_assert_uint_eq(ds->train.n, 30);
    mlp_error_clear();
    ck_assert_int_eq(mlp_dataset_hold_out(ds, 30, 1), MLP_EINVAL);
    ck_assert_msg_has("30 of 30");
    ck_assert_uint_eq(ds->train.n, 30); /* unchanged */
    ck_assert_int_eq(mlp_dataset_hold_out(ds, 29, 1), 0); /* one left */
    ck_assert_uint_eq(ds->train.n, 1);
    mlp_dataset_destroy(ds);
}
END_TEST

Suite *dataset_suite(void);

Suite *dataset_suite(void)
{
    Suite *s = suite_create("dataset");
    TCase *core = tu_tcase(s, "core", 60); /* Fashion-MNIST under valgrind */
    TCase *errors = tu_tcase(s, "errors", 0);

    tcase_add_checked_fixture(core, make_testdir, rm_testdir);
    tcase_add_checked_fixture(errors, make_testdir, rm_testdir);
    tcase_add_loop_test(core, test_load_synthetic, 0, 2);
    tcase_add_test(core, test_plain_before_gz);
    tcase_add_test(core, test_limits);
    tcase_add_test(core, test_nclasses_ignores_limit);
    tcase_add_test(core, test_empty_test_split);
    tcase_add_test(core, test_fashion_mnist);
    tcase_add_test(core, test_hold_out);
    tcase_add_test(core, test_hold_out_seeded);
    tcase_add_test(core, test_hold_out_never_trained);

    tcase_add_test(errors, test_count_mismatch);
    tcase_add_test(errors, test_test_label_out_of_range);
    tcase_add_test(errors, test_image_size_mismatch);
    tcase_add_test(errors, test_wrong_ndims);
    tcase_add_test(errors, test_missing_file);
    tcase_add_test(errors, test_empty_train);
    tcase_add_test(errors, test_bad_file_propagates);
    tcase_add_test(errors, test_hold_out_limits);
    return s;
}

MLP_CHECK_MAIN(dataset_suite)
