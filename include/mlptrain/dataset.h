/*
 * dataset: a training and a test split of labelled images, in memory as
 * uint8, validated once before any thread starts.
 *
 * mlp_dataset_load() reads the four IDX files of a directory
 * (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte,
 * t10k-labels-idx1-ubyte, each plain or with a .gz suffix; the plain name is
 * tried first).  Everything the model needs comes from the files: image size
 * from the image files (the test images must have the same size), the class
 * count as the largest training label + 1 (test labels must be below it), the
 * sample counts from the headers (images and labels must agree).  Limits take
 * the first N samples of a split (0 = all).
 *
 * After loading, a dataset is read-only: loader threads share it without
 * locks.  Errors name the file and the problem (see idx.h); MLP_EINVAL for
 * inconsistent files.
 */
#ifndef MLPTRAIN_DATASET_H
#define MLPTRAIN_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "mlptrain/idx.h"

/* One split: a view, owned by the dataset (or by a test). */
typedef struct {
    size_t n;              /* samples */
    size_t dim;            /* values per sample: rows * cols */
    const uint8_t *images; /* (n, dim) pixels */
    const uint8_t *labels; /* (n) class indices, each < nclasses */
} mlp_split_t;

enum { MLP_FILE_TRAIN_IMAGES, MLP_FILE_TRAIN_LABELS, MLP_FILE_TEST_IMAGES,
       MLP_FILE_TEST_LABELS, MLP_NFILES };

typedef struct {
    char path[4096];    /* the file actually read */
    uint64_t size;      /* bytes on disk */
    uint32_t crc;       /* crc32 of the bytes on disk */
} mlp_file_info_t;

typedef struct {
    mlp_split_t train, test;
    mlp_split_t val;             /* held out of train (mlp_dataset_hold_out);
                                    n = 0: none */
    size_t rows, cols;           /* image shape; dim = rows * cols */
    size_t nclasses;             /* largest training label + 1 */
    size_t train_total, test_total; /* samples in the files, before limits */
    mlp_file_info_t files[MLP_NFILES];
    mlp_idx_t idx[MLP_NFILES];   /* owned buffers */
    uint8_t *val_buf;            /* owned: val images (n, dim), then labels */
} mlp_dataset_t;

/* The file names, without .gz, indexed by MLP_FILE_*. */
extern const char *const mlp_dataset_file_names[MLP_NFILES];

/* Every path a data directory may hold a file under (each name plain and
 * with .gz), each with its label "--data (NAME)": for the checks that an
 * output is not an input.  Large (about 33 KiB): allocate it. */
#define MLP_DATASET_NPATHS (2 * MLP_NFILES)
typedef struct {
    char path[MLP_DATASET_NPATHS][4096 + 40]; /* MLP_PATH_MAX + name */
    char what[MLP_DATASET_NPATHS][64];
} mlp_dataset_paths_t;

void mlp_dataset_paths(const char *dir, mlp_dataset_paths_t *p);

/*
 * Load the dataset in `dir`.  limit_train/limit_test: use the first N samples
 * (0 = all; larger than the file = all).  On success *out is a new dataset to
 * release with mlp_dataset_destroy().
 */
int mlp_dataset_load(const char *dir, size_t limit_train, size_t limit_test,
                     mlp_dataset_t **out);

/*
 * Hold out n of the training samples as a validation split: the first n of
 * a permutation of [0, train.n) keyed by (seed, MLP_DATASET_HOLD_OUT_STREAM)
 * (rng.h; a stream no epoch's order uses) go to ds->val, in that order; the
 * others stay in ds->train, in file order.  The rows are moved: ds->val gets
 * its own buffer (n rows), ds->train is compacted in place, so memory grows
 * by the n held-out rows only and the two splits never share a sample.
 * Applies to the samples left by limit_train.  n = 0 does nothing.  Fails
 * with MLP_EINVAL when n >= train.n (nothing left to train on) or a split
 * was held out before, MLP_ENOMEM; ds is unchanged on failure.
 */
#define MLP_DATASET_HOLD_OUT_STREAM 0x76616c0000000000ull /* "val" */
int mlp_dataset_hold_out(mlp_dataset_t *ds, size_t n, uint64_t seed);

/* Free a dataset; NULL is a no-op. */
void mlp_dataset_destroy(mlp_dataset_t *ds);

#endif
