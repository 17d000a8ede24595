/*
 * dataset: a training and a test split of labelled samples, in memory,
 * validated once before any thread starts.  Features are bytes (IDX
 * images, uint8 .npy: kept as uint8, decoded x / 255 by the loader) or
 * real values (CSV, float .npy: kept as float32, decoded by the affine
 * transform of transform.h); labels are class indices (uint8).
 *
 * Every dataset is read by one road: mlp_dataset_load_files() reads
 * --train/--test files of any format through table.h (below), and
 * mlp_dataset_load() is --data DIR, shorthand for the four IDX files of a
 * directory (train-images-idx3-ubyte, train-labels-idx1-ubyte,
 * t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, each plain or with a
 * .gz suffix; the plain name is tried first) given as --train,
 * --train-labels, --test and --test-labels.  Everything the model needs
 * comes from the files: the width (and the image shape of 3-d IDX files)
 * from the features, the class count from the training labels, the
 * sample counts from the headers (features and labels must agree).
 * Limits take the first N samples of a split (0 = all).
 *
 * After loading, a dataset is read-only: loader threads share it without
 * locks.  Errors name the file and the problem (see table.h); MLP_EINVAL
 * for files that disagree.
 */
#ifndef MLPTRAIN_DATASET_H
#define MLPTRAIN_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "mlptrain/table.h"

#define MLP_CLASS_NAME_MAX MLP_CSV_MAX_LABEL /* bytes, with the NUL */
#define MLP_DATASET_MAX_CLASSES 256         /* labels are bytes */

/* One split: a view, owned by the dataset (or by a test). */
typedef struct {
    size_t n;              /* samples */
    size_t dim;            /* values per sample: rows * cols */
    const uint8_t *images; /* (n, dim) pixels; NULL when features is set */
    const uint8_t *labels; /* (n) class indices, each < nclasses */
    const float *features; /* (n, dim) real features (CSV, float .npy),
                              raw: the loader applies the affine transform
                              (transform.h); NULL for bytes */
    const float *shift, *scale; /* (dim) with features: x' = (x - shift)
                              * scale, owned by the dataset */
} mlp_split_t;

/* The four files of a dataset: features and labels of each split (the
 * names of --data's files). */
enum { MLP_FILE_TRAIN_IMAGES, MLP_FILE_TRAIN_LABELS, MLP_FILE_TEST_IMAGES,
       MLP_FILE_TEST_LABELS, MLP_NFILES };

typedef struct {
    char path[4096];    /* the file actually read; "" for none */
    uint64_t size;      /* bytes on disk */
    uint32_t crc;       /* zlib crc32 of the bytes on disk */
} mlp_file_info_t;

typedef struct {
    mlp_split_t train, test;
    mlp_split_t val;             /* held out of train (mlp_dataset_hold_out);
                                    n = 0: none */
    size_t rows, cols;           /* rows x cols = dim: an image's shape
                                    (image = 1), else 1 x dim */
    size_t nclasses;             /* largest training label + 1, or the
                                    distinct training names */
    size_t train_total, test_total; /* samples in the files, before limits
                                    (a CSV read to a limit: the rows read) */
    /* Provenance, for run records and the ranks' agreement: each file as
     * read (a file holding both features and labels, a CSV or an .npz,
     * appears twice; without a training split its entries are empty),
     * its size and crc32 on disk whatever the limits. */
    mlp_file_info_t files[MLP_NFILES];
    uint32_t test_labels_crc;    /* crc32 of every test label of the file
                                    as a byte, whatever --limit-test, when
                                    the labels are integers apart from the
                                    features (IDX, .npy, .npz): recognises
                                    a known test set (eval.h); else 0 */
    int real;                    /* 1: features are floats (split.features,
                                    raw values); 0: bytes (split.images) */
    int image;                   /* 1: images (IDX, 3 dimensions, the same
                                    shape in both splits): rows x cols,
                                    augmentable; 0: rows of features */
    mlp_format_t format[2];      /* of the train and test files */
    char (*class_names)[MLP_CLASS_NAME_MAX]; /* (nclasses) from text
                                    labels, or NULL: the classes are numbers */
    /* The buffers the splits view, owned by the dataset: */
    void *own_x[2];              /* train, test features (n, dim): bytes or
                                    floats */
    uint8_t *own_y[2];           /* train, test labels (n) */
    uint8_t *val_buf;            /* val features (n, dim), then labels */
    int borrowed;                /* the training split views the caller's
                                    arrays (mlp_dataset_from_arrays) */
    float *shift, *scale;        /* (dim) real features' transform, set by
                                    mlp_dataset_set_transform */
} mlp_dataset_t;

/*
 * --train/--test files of any format (table.h), instead of a directory.
 *
 * Both splits must have the same kind of features (bytes or real) and the
 * same width.  Classes: integer labels are class indices (the count is the
 * largest training label + 1); text labels (a CSV label column) that are
 * all non-negative integers are numbers too; any other text labels are
 * class names, numbered in byte-wise (strcmp) order of the distinct names
 * in the training file, and a test label must be one of them.  At most
 * MLP_DATASET_MAX_CLASSES classes.  With a limit, a file is parsed only
 * as far as its first limit_* rows: the rest of its features is never
 * decoded or inflated (so never checked), only read for its checksum
 * (table.h, mlp_table_file_sums).  Labels kept apart from the features
 * (IDX and .npy labels files, an .npz's y.npy) are still read and
 * checked to the end, so that they decide the class count whatever the
 * limits; a CSV's labels are in its rows, so its classes (and its
 * train_total / test_total) are those of the rows read.  Two image files
 * (3-d IDX) must have the same shape.  What the rows kept need is checked
 * against the memory available (memprobe.h) before it is allocated.
 *
 * With train NULL (eval, predict of a saved model) only the test split is
 * loaded: the class count is `nclasses` and text labels map onto `names`
 * (NULL: numbers).  Errors: as table.h, plus MLP_EINVAL for files that
 * disagree (naming both), no training sample, a label that is no class,
 * and MLP_ENOMEM for rows the memory cannot hold.
 */
typedef struct {
    const char *train, *train_labels;  /* labels: IDX or .npy, when the
                                          features file holds none */
    const char *test, *test_labels;
    mlp_csv_opts_t csv;                /* label column, header */
    size_t limit_train, limit_test;    /* 0: all */
    size_t nclasses;                   /* train NULL: the model's */
    const char (*names)[MLP_CLASS_NAME_MAX]; /* train NULL: the model's
                                          class names, or NULL */
} mlp_dataset_files_t;

int mlp_dataset_load_files(const mlp_dataset_files_t *f,
                           mlp_dataset_t **out);

/*
 * Arrays in memory instead of files (the Python module's X and y, tests):
 * a dataset whose splits view the caller's arrays, without a copy.  This
 * is where the one road takes arrays: the dataset that comes out is the
 * one the files give (the loader decodes it, the hold-out, the transform
 * and the trainer take it as they take files'), and it is checked as the
 * readers check files, before anything uses it:
 *   - dim 1..MLP_TABLE_MAX_FEATURES; an image shape rows x cols = dim, or
 *     0 x 0 for rows of features (the dataset's shape is then 1 x dim);
 *   - nclasses 2..MLP_DATASET_MAX_CLASSES ("a classifier needs at least 2
 *     classes"); every label below it (naming the array and the row);
 *   - a training split of at least one row; a test split is optional
 *     (n = 0: none; a run without one reports no test figures);
 *   - real features finite (naming the array, the row and the column:
 *     the readers refuse NaN and infinities in files too);
 *   - names, when given, nclasses distinct class names by the one rule
 *     (text.h), in class order.
 * Bytes are pixels, decoded x / 255 like IDX and uint8 .npy files; real
 * features are float32, scaled by the transform (mlp_dataset_set_transform)
 * like CSV and float .npy files.  ds->files name the arrays (x_name,
 * y_name; size and crc32 0: they are no file), ds->format is
 * MLP_FORMAT_ARRAY.
 *
 * Ownership: the dataset borrows x and y: they must stay unchanged and
 * outlive it.  The one operation that moves rows, the --val hold-out
 * (mlp_dataset_hold_out), copies the training rows it keeps into the
 * dataset's own buffers first, so the caller's arrays are never written.
 * Errors: MLP_EINVAL naming the array and the problem, MLP_ENOMEM.
 */
typedef struct {
    const void *x;        /* (n, dim) row-major: uint8 bytes, or float32
                             when the dataset is real */
    const uint8_t *y;     /* (n) class indices, each below nclasses */
    size_t n;             /* rows; a test split of 0 rows is none */
} mlp_array_split_t;

typedef struct {
    mlp_array_split_t train, test;
    size_t dim;           /* features per row */
    size_t rows, cols;    /* image shape (rows x cols = dim), or 0, 0 */
    int real;             /* 1: x holds float32 features; 0: bytes */
    size_t nclasses;      /* output classes, 2..MLP_DATASET_MAX_CLASSES */
    const char (*names)[MLP_CLASS_NAME_MAX]; /* (nclasses) class names,
                             or NULL: the classes are numbers */
    const char *x_name, *y_name; /* the training arrays in messages ("X",
                             "y"); the test's are "test X", "test y" */
} mlp_dataset_arrays_t;

int mlp_dataset_from_arrays(const mlp_dataset_arrays_t *a,
                            mlp_dataset_t **out);

/*
 * The affine transform of a dataset of real features (transform.h): the
 * given shift and scale (dim each; a saved model's), or, when shift is
 * NULL, fitted by `norm` on the training split as it stands (after limits
 * and the hold-out: the rows trained on).  Every split then points at it.
 * A dataset of bytes: MLP_EUSAGE when norm asks for a scaling (bytes are
 * always x / 255), else nothing to do.
 */
int mlp_dataset_set_transform(mlp_dataset_t *ds, int norm,
                              const float *shift, const float *scale);

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
 * --data DIR: the four files of `dir` (the plain name, else name.gz),
 * loaded as mlp_dataset_load_files loads them.  limit_train/limit_test:
 * use the first N samples (0 = all; larger than the file = all).  On
 * success *out is a new dataset to release with mlp_dataset_destroy().
 * MLP_EIO when dir cannot be opened or lacks a file (naming both names
 * tried), MLP_EINVAL for a name too long; otherwise what
 * mlp_dataset_load_files returns.
 */
int mlp_dataset_load(const char *dir, size_t limit_train, size_t limit_test,
                     mlp_dataset_t **out);

/* Bytes the dataset holds in memory (features, labels, the held-out
 * split, names, the transform), for the trainer's memory estimate. */
double mlp_dataset_bytes(const mlp_dataset_t *ds);

/*
 * Hold out n of the training samples as a validation split: the first n of
 * a permutation of [0, train.n) keyed by (seed, MLP_DATASET_HOLD_OUT_STREAM)
 * (rng.h; a stream no epoch's order uses) go to ds->val, in that order; the
 * others stay in ds->train, in file order.  The rows are moved: ds->val gets
 * its own buffer (n rows), ds->train is compacted in place, so memory grows
 * by the n held-out rows only and the two splits never share a sample.
 * A training split that views borrowed arrays (mlp_dataset_from_arrays)
 * is not written: the rows it keeps are copied into a new buffer of the
 * dataset's own, in the same order.  Applies to the samples left by
 * limit_train.  n = 0 does nothing.  Fails with MLP_EINVAL when n >=
 * train.n (nothing left to train on), a split was held out before or the
 * training split views memory that is neither the dataset's own nor its
 * borrowed arrays, MLP_ENOMEM; ds is unchanged on failure.
 */
#define MLP_DATASET_HOLD_OUT_STREAM 0x76616c0000000000ull /* "val" */
int mlp_dataset_hold_out(mlp_dataset_t *ds, size_t n, uint64_t seed);

/*
 * The training split a run trains on, the one rule the trainer and
 * `predict --show-train` share: the first `limit` training samples (0:
 * all; a dataset loaded with that limit is unchanged), then `val` of them
 * held out by the seed (mlp_dataset_hold_out).  MLP_EUSAGE naming --val
 * when val leaves nothing to train on.
 */
int mlp_dataset_train_split(mlp_dataset_t *ds, size_t limit, size_t val,
                            uint64_t seed);

/* Free a dataset; NULL is a no-op. */
void mlp_dataset_destroy(mlp_dataset_t *ds);

#endif
