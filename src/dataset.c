/*
 * dataset: --data DIR as its four files, the --val hold-out, the split a
 * run trains on, and what a dataset holds (see dataset.h).  Loading is
 * dataset_files.c's, for --data as for --train/--test: this module only
 * finds the directory's files.
 *
 * Non-goals: decoding pixels to floats, shuffling, batching (loader.c), and
 * any directory layout other than the four MNIST names.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mlptrain/dataset.h"
#include "mlptrain/error.h"
#include "mlptrain/rng.h"

const char *const mlp_dataset_file_names[MLP_NFILES] = {
    [MLP_FILE_TRAIN_IMAGES] = "train-images-idx3-ubyte",
    [MLP_FILE_TRAIN_LABELS] = "train-labels-idx1-ubyte",
    [MLP_FILE_TEST_IMAGES] = "t10k-images-idx3-ubyte",
    [MLP_FILE_TEST_LABELS] = "t10k-labels-idx1-ubyte",
};

void mlp_dataset_paths(const char *dir, mlp_dataset_paths_t *p)
{
    for (size_t i = 0; i < MLP_DATASET_NPATHS; i++) {
        snprintf(p->path[i], sizeof(p->path[i]), "%s/%s%s", dir,
                 mlp_dataset_file_names[i / 2], i % 2 ? ".gz" : "");
        snprintf(p->what[i], sizeof(p->what[i]), "--data (%s)",
                 mlp_dataset_file_names[i / 2]);
    }
}

/* True when `path` may exist: anything but ENOENT is worth an open(). */
static int may_exist(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 || errno != ENOENT;
}

/*
 * The path of file `which` of `dir` into path (4096 bytes): the plain name
 * if it may exist, else name.gz.  MLP_EIO when neither exists (the message
 * names both), MLP_EINVAL for a directory name too long.
 */
static int find_file(const char *dir, int which, char *path)
{
    const char *name = mlp_dataset_file_names[which];
    char gz[4096];
    int n;

    n = snprintf(path, 4096, "%s/%s", dir, name);
    if (n < 0 || (size_t)n + 3 >= 4096)
        return mlp_error_set(MLP_EINVAL, "dataset directory name too long: "
                             "'%s'", dir);
    snprintf(gz, sizeof(gz), "%s.gz", path);
    if (may_exist(path))
        return 0;
    if (!may_exist(gz))
        return mlp_error_set(MLP_EIO, "cannot find %s in '%s': tried '%s' "
                             "and '%s'", name, dir, path, gz);
    memcpy(path, gz, sizeof(gz));
    return 0;
}

int mlp_dataset_load(const char *dir, size_t limit_train, size_t limit_test,
                     mlp_dataset_t **out)
{
    char (*path)[4096] = NULL;
    mlp_dataset_files_t f;
    struct stat st;
    int rc;

    *out = NULL;
    if (stat(dir, &st) != 0)
        return mlp_error_set(MLP_EIO, "cannot open dataset directory '%s': "
                             "%s", dir, strerror(errno));
    if ((path = malloc(MLP_NFILES * sizeof(*path))) == NULL)
        return mlp_error_set(MLP_ENOMEM, "cannot allocate a dataset");
    for (int i = 0; i < MLP_NFILES; i++)
        if ((rc = find_file(dir, i, path[i])) != 0)
            goto out;
    memset(&f, 0, sizeof(f));
    f.train = path[MLP_FILE_TRAIN_IMAGES];
    f.train_labels = path[MLP_FILE_TRAIN_LABELS];
    f.test = path[MLP_FILE_TEST_IMAGES];
    f.test_labels = path[MLP_FILE_TEST_LABELS];
    f.limit_train = limit_train;
    f.limit_test = limit_test;
    rc = mlp_dataset_load_files(&f, out);
out:
    free(path);
    return rc;
}

double mlp_dataset_bytes(const mlp_dataset_t *ds)
{
    double es = ds->real ? sizeof(float) : 1.0;
    double rows = (double)(ds->train.n + ds->val.n + ds->test.n);

    return rows * ((double)ds->train.dim * es + 1.0) +
           (double)ds->val.n * ((double)ds->val.dim * es + 1.0) +
           (ds->class_names != NULL
                ? (double)ds->nclasses * MLP_CLASS_NAME_MAX : 0.0) +
           (ds->shift != NULL ? 2.0 * sizeof(float) * ds->train.dim : 0.0);
}

int mlp_dataset_train_split(mlp_dataset_t *ds, size_t limit, size_t val,
                            uint64_t seed)
{
    if (limit > 0 && limit < ds->train.n)
        ds->train.n = limit;
    if (val > 0 && val >= ds->train.n)
        return mlp_error_set(MLP_EUSAGE, "option '--val': %zu, but only %zu "
                             "training samples are used (after "
                             "--limit-train): none would be left to train on",
                             val, ds->train.n);
    return mlp_dataset_hold_out(ds, val, seed);
}

/*
 * The held-out rows are copied out first (the permutation is random
 * access), then the rows kept slide down in file order: row i moves to
 * j <= i, so one forward pass compacts in place.  The training arrays are
 * the dataset's own buffers, or borrowed arrays, whose kept rows go to new
 * buffers of the dataset's (the same pass, into other memory); a split
 * that views other memory (a test's) is refused.
 */
int mlp_dataset_hold_out(mlp_dataset_t *ds, size_t n, uint64_t seed)
{
    mlp_split_t *tr = &ds->train;
    size_t total = tr->n, j = 0, row;
    unsigned char *held = NULL;
    uint8_t *buf = NULL, *img, *lab, *kx = NULL, *ky = NULL;
    const uint8_t *sx, *sy;
    mlp_perm_t perm;

    if (n == 0)
        return 0;
    if (ds->val.n > 0)
        return mlp_error_set(MLP_EINVAL, "dataset: a validation split was "
                             "already held out");
    if (n >= total)
        return mlp_error_set(MLP_EINVAL, "dataset: cannot hold out %zu of "
                             "%zu training samples: none would be left to "
                             "train on", n, total);
    /* Rows of bytes or of floats: moved as bytes alike. */
    row = tr->dim * (tr->features != NULL ? sizeof(float) : 1);
    sx = tr->features != NULL ? (const uint8_t *)(const void *)tr->features
                              : tr->images;
    sy = tr->labels;
    img = ds->own_x[0];
    lab = ds->own_y[0];
    if (!ds->borrowed && (img == NULL || lab == NULL ||
                          (const uint8_t *)img != sx || lab != sy))
        return mlp_error_set(MLP_EINVAL, "dataset: the training split is "
                             "not the dataset's own buffers");
    if ((buf = malloc(n * (row + 1))) == NULL ||
        (held = calloc(total, 1)) == NULL ||
        (ds->borrowed && ((kx = malloc((total - n) * row)) == NULL ||
                          (ky = malloc(total - n)) == NULL))) {
        free(buf);
        free(held);
        free(kx);
        return mlp_error_set(MLP_ENOMEM, "dataset: out of memory holding out "
                             "%zu samples", n);
    }
    if (ds->borrowed) { /* the caller's arrays are read, never written */
        img = kx;
        lab = ky;
    }
    mlp_perm_init(&perm, total, seed, MLP_DATASET_HOLD_OUT_STREAM);
    for (size_t r = 0; r < n; r++) {
        size_t i = (size_t)mlp_perm_at(&perm, r);

        memcpy(buf + r * row, sx + i * row, row);
        buf[n * row + r] = sy[i];
        held[i] = 1;
    }
    for (size_t i = 0; i < total; i++) {
        if (held[i])
            continue;
        if (img + j * row != sx + i * row) {
            memcpy(img + j * row, sx + i * row, row);
            lab[j] = sy[i];
        }
        j++;
    }
    free(held);
    if (ds->borrowed) {
        ds->own_x[0] = kx;
        ds->own_y[0] = ky;
        ds->borrowed = 0;
        if (tr->features != NULL)
            tr->features = (const float *)(void *)kx;
        else
            tr->images = kx;
        tr->labels = ky;
    }
    ds->val_buf = buf;
    ds->val.n = n;
    ds->val.dim = tr->dim;
    ds->val.images = tr->features != NULL ? NULL : buf;
    ds->val.features = tr->features != NULL ? (const float *)(void *)buf
                                            : NULL;
    ds->val.labels = buf + n * row;
    ds->val.shift = tr->shift;
    ds->val.scale = tr->scale;
    tr->n = total - n;
    return 0;
}

void mlp_dataset_destroy(mlp_dataset_t *ds)
{
    if (ds == NULL)
        return;
    free(ds->val_buf);
    free(ds->class_names);
    free(ds->shift);
    free(ds->scale);
    for (int i = 0; i < 2; i++) {
        free(ds->own_x[i]);
        free(ds->own_y[i]);
    }
    free(ds);
}
