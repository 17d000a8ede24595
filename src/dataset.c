/*
 * dataset: load the four IDX files of a directory and check that they agree
 * (see dataset.h).
 *
 * Each file is validated on its own by idx.c; this module checks what only
 * the set can tell: shapes (images 3-d, labels 1-d), counts per split, the
 * same image size in both splits, and labels within the class count.  All of
 * that is judged on the whole files' headers and labels, before limits, so
 * that --limit-train and --limit-test never change how many classes a
 * dataset has.  Image files are read only as far as the limits (idx.h): a
 * .gz image file is not inflated past them, so damage after the limited
 * samples of a .gz file goes unseen.
 *
 * Non-goals: decoding pixels to floats, shuffling, batching (loader.c), and
 * any file layout other than the four MNIST names.
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
 * Read file `which` of `dir` into ds->idx[which] and ds->files[which]: the
 * plain name if it exists, else name.gz.  Fails with MLP_EIO when neither
 * exists (the message names both), or with what mlp_idx_read_file() says.
 */
static int load_file(mlp_dataset_t *ds, const char *dir, int which,
                     size_t limit)
{
    const char *name = mlp_dataset_file_names[which];
    mlp_file_info_t *fi = &ds->files[which];
    char gz[sizeof(fi->path)];
    int n, rc;

    n = snprintf(fi->path, sizeof(fi->path), "%s/%s", dir, name);
    if (n < 0 || (size_t)n + 3 >= sizeof(fi->path))
        return mlp_error_set(MLP_EINVAL, "dataset directory name too long: "
                             "'%s'", dir);
    snprintf(gz, sizeof(gz), "%s.gz", fi->path);

    if (!may_exist(fi->path)) {
        if (!may_exist(gz))
            return mlp_error_set(MLP_EIO, "cannot find %s in '%s': tried "
                                 "'%s' and '%s'", name, dir, fi->path, gz);
        memcpy(fi->path, gz, sizeof(gz));
    }
    if ((rc = mlp_idx_read_file_limit(fi->path, limit,
                                      &ds->idx[which])) != 0)
        return rc;
    fi->size = ds->idx[which].file_size;
    fi->crc = ds->idx[which].file_crc;
    return 0;
}

/* Fails with MLP_EFORMAT when idx does not have `want` dimensions. */
static int check_ndims(const mlp_dataset_t *ds, int which, unsigned want,
                       const char *what)
{
    const mlp_idx_t *x = &ds->idx[which];

    if (x->ndims == want)
        return 0;
    return mlp_error_set(MLP_EFORMAT, "%s: expected %u dimension%s (%s), "
                         "file has %u", ds->files[which].path, want,
                         want == 1 ? "" : "s", what, x->ndims);
}

static size_t limited(size_t total, size_t limit)
{
    return limit == 0 || limit > total ? total : limit;
}

/*
 * Fails with MLP_EIO (missing or unreadable file), MLP_EFORMAT (a malformed
 * file, or images not 3-d / labels not 1-d), MLP_EINVAL (files that disagree:
 * counts, image sizes, a test label >= the class count, no training images),
 * MLP_ENOMEM.  On failure *out is NULL.
 */
int mlp_dataset_load(const char *dir, size_t limit_train, size_t limit_test,
                     mlp_dataset_t **out)
{
    mlp_dataset_t *ds = NULL;
    const mlp_idx_t *tri, *trl, *tei, *tel;
    const char *trip, *trlp, *teip, *telp;
    struct stat st;
    size_t maxlab = 0;
    int rc;

    *out = NULL;
    if (stat(dir, &st) != 0) {
        rc = mlp_error_set(MLP_EIO, "cannot open dataset directory '%s': %s",
                           dir, strerror(errno));
        goto out;
    }
    if ((ds = calloc(1, sizeof(*ds))) == NULL) {
        rc = mlp_error_set(MLP_ENOMEM, "cannot allocate a dataset");
        goto out;
    }
    /* Images only as far as the limits: a .gz file is not inflated past
     * them.  Labels whole: the class count comes from all of them. */
    if ((rc = load_file(ds, dir, MLP_FILE_TRAIN_IMAGES, limit_train)) != 0 ||
        (rc = load_file(ds, dir, MLP_FILE_TRAIN_LABELS, 0)) != 0 ||
        (rc = load_file(ds, dir, MLP_FILE_TEST_IMAGES, limit_test)) != 0 ||
        (rc = load_file(ds, dir, MLP_FILE_TEST_LABELS, 0)) != 0)
        goto out;

    tri = &ds->idx[MLP_FILE_TRAIN_IMAGES];
    trl = &ds->idx[MLP_FILE_TRAIN_LABELS];
    tei = &ds->idx[MLP_FILE_TEST_IMAGES];
    tel = &ds->idx[MLP_FILE_TEST_LABELS];
    trip = ds->files[MLP_FILE_TRAIN_IMAGES].path;
    trlp = ds->files[MLP_FILE_TRAIN_LABELS].path;
    teip = ds->files[MLP_FILE_TEST_IMAGES].path;
    telp = ds->files[MLP_FILE_TEST_LABELS].path;

    if ((rc = check_ndims(ds, MLP_FILE_TRAIN_IMAGES, 3,
                          "images, rows, cols")) != 0 ||
        (rc = check_ndims(ds, MLP_FILE_TRAIN_LABELS, 1, "labels")) != 0 ||
        (rc = check_ndims(ds, MLP_FILE_TEST_IMAGES, 3,
                          "images, rows, cols")) != 0 ||
        (rc = check_ndims(ds, MLP_FILE_TEST_LABELS, 1, "labels")) != 0)
        goto out;

    if (tri->count != trl->count) {
        rc = mlp_error_set(MLP_EINVAL, "%s has %zu images but %s has %zu "
                           "labels", trip, tri->count, trlp, trl->count);
        goto out;
    }
    if (tei->count != tel->count) {
        rc = mlp_error_set(MLP_EINVAL, "%s has %zu images but %s has %zu "
                           "labels", teip, tei->count, telp, tel->count);
        goto out;
    }
    if (tei->dims[1] != tri->dims[1] || tei->dims[2] != tri->dims[2]) {
        rc = mlp_error_set(MLP_EINVAL, "%s has %lux%lu images but %s has "
                           "%lux%lu", trip, (unsigned long)tri->dims[1],
                           (unsigned long)tri->dims[2], teip,
                           (unsigned long)tei->dims[1],
                           (unsigned long)tei->dims[2]);
        goto out;
    }
    if (tri->count == 0) {
        rc = mlp_error_set(MLP_EINVAL, "%s: no training images", trip);
        goto out;
    }

    /* The class count comes from the whole file, whatever the limit. */
    for (size_t i = 0; i < trl->count; i++)
        if (trl->data[i] > maxlab)
            maxlab = trl->data[i];
    for (size_t i = 0; i < tel->count; i++) {
        if (tel->data[i] > maxlab) {
            rc = mlp_error_set(MLP_EINVAL, "%s: label %u of test sample %zu "
                               "is not below the class count %zu (the "
                               "largest training label in %s is %zu)", telp,
                               tel->data[i], i, maxlab + 1, trlp, maxlab);
            goto out;
        }
    }

    ds->image = 1;
    ds->rows = tri->dims[1];
    ds->cols = tri->dims[2];
    ds->nclasses = maxlab + 1;
    ds->train_total = tri->count;
    ds->test_total = tei->count;
    ds->train.n = limited(tri->count, limit_train);
    ds->train.dim = tri->item_size;
    ds->train.images = tri->data;
    ds->train.labels = trl->data;
    ds->test.n = limited(tei->count, limit_test);
    ds->test.dim = tei->item_size;
    ds->test.images = tei->data;
    ds->test.labels = tel->data;

    *out = ds;
    ds = NULL;
    rc = 0;
out:
    mlp_dataset_destroy(ds);
    return rc;
}

/*
 * The held-out rows are copied out first (the permutation is random
 * access), then the rows kept slide down in file order: row i moves to
 * j <= i, so one forward pass compacts in place.  The training arrays are
 * the idx buffers, which the dataset owns; a borrowed one (a test's view)
 * is copied before it is written.
 */
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

int mlp_dataset_hold_out(mlp_dataset_t *ds, size_t n, uint64_t seed)
{
    mlp_split_t *tr = &ds->train;
    size_t total = tr->n, j = 0, row;
    unsigned char *held = NULL;
    uint8_t *buf = NULL, *img, *lab;
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
    img = ds->from_files ? ds->own_x[0] : ds->idx[MLP_FILE_TRAIN_IMAGES].owned;
    lab = ds->from_files ? ds->own_y[0] : ds->idx[MLP_FILE_TRAIN_LABELS].owned;
    if (img == NULL || lab == NULL ||
        (img != tr->images && (const void *)img != tr->features) ||
        lab != tr->labels)
        return mlp_error_set(MLP_EINVAL, "dataset: the training split is "
                             "not the dataset's own buffers");
    if ((buf = malloc(n * (row + 1))) == NULL ||
        (held = calloc(total, 1)) == NULL) {
        free(buf);
        return mlp_error_set(MLP_ENOMEM, "dataset: out of memory holding out "
                             "%zu samples", n);
    }
    mlp_perm_init(&perm, total, seed, MLP_DATASET_HOLD_OUT_STREAM);
    for (size_t r = 0; r < n; r++) {
        size_t i = (size_t)mlp_perm_at(&perm, r);

        memcpy(buf + r * row, img + i * row, row);
        buf[n * row + r] = lab[i];
        held[i] = 1;
    }
    for (size_t i = 0; i < total; i++) {
        if (held[i])
            continue;
        if (j != i) {
            memcpy(img + j * row, img + i * row, row);
            lab[j] = lab[i];
        }
        j++;
    }
    free(held);
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
    for (int i = 0; i < MLP_NFILES; i++)
        mlp_idx_free(&ds->idx[i]);
    free(ds);
}
