/*
 * dataset_files: a dataset from --train/--test files of any format (see
 * dataset.h, mlp_dataset_load_files).  The readers (table.h) stream the
 * files in chunks of CHUNK rows; this module reads the first limit rows
 * (and no more of the features), turns labels into class indices and
 * checks that the splits agree.
 * Everything after loading (hold-out, loader, trainer) is shared with the
 * IDX directory path.
 *
 * Non-goals: the input scaling (transform.h; fitted by the trainer on the
 * rows it trains on), image shapes for anything but 3-d IDX files.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mlptrain/dataset.h"
#include "mlptrain/error.h"
#include "mlptrain/memprobe.h"
#include "mlptrain/transform.h"

#define CHUNK 1024
#define CHUNK_BYTES ((size_t)4 << 20)

/* Distinct label texts in order of first appearance. */
typedef struct {
    char (*v)[MLP_CLASS_NAME_MAX];
    size_t *first;               /* the row each first appears on */
    size_t n, cap, last;
} names_t;

typedef struct {
    const char *path;
    size_t n, total, dim, rows, cols;
    int u8, text;
    mlp_format_t format;
    void *x;                     /* (n, dim) bytes or floats */
    uint8_t *y;                  /* (n) class indices (text: name indices) */
    size_t maxlab;
    names_t names;
} part_t;

static void names_free(names_t *nm)
{
    free(nm->v);
    free(nm->first);
}

/* The index of label `s` (row `row`), added when new. */
static int intern(names_t *nm, const char *s, size_t row, const char *path,
                  size_t *idx)
{
    if (nm->n > 0 && strcmp(nm->v[nm->last], s) == 0) {
        *idx = nm->last;
        return 0;
    }
    for (size_t i = 0; i < nm->n; i++)
        if (strcmp(nm->v[i], s) == 0) {
            *idx = nm->last = i;
            return 0;
        }
    if (nm->n == MLP_DATASET_MAX_CLASSES)
        return mlp_error_set(MLP_EINVAL, "%s: row %zu: label '%s' is the "
                             "label column's distinct value number %d; at "
                             "most %d classes", path, row, s,
                             MLP_DATASET_MAX_CLASSES + 1,
                             MLP_DATASET_MAX_CLASSES);
    if (nm->n == nm->cap) {
        size_t cap = nm->cap ? 2 * nm->cap : 16;
        void *v = realloc(nm->v, cap * sizeof(*nm->v));
        void *f;

        if (v == NULL)
            return mlp_error_set(MLP_ENOMEM, "dataset: out of memory");
        nm->v = v;
        if ((f = realloc(nm->first, cap * sizeof(size_t))) == NULL)
            return mlp_error_set(MLP_ENOMEM, "dataset: out of memory");
        nm->first = f;
        nm->cap = cap;
    }
    snprintf(nm->v[nm->n], MLP_CLASS_NAME_MAX, "%s", s);
    nm->first[nm->n] = row;
    *idx = nm->last = nm->n++;
    return 0;
}

/* A class number written as text: digits only, below the class cap. */
static int text_number(const char *s, size_t *v)
{
    size_t x = 0;

    if (*s == '\0')
        return 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return 0;
        x = x * 10 + (size_t)(*s - '0');
        if (x >= 1000000)
            return 0;
    }
    *v = x;
    return 1;
}

/*
 * Room for `need` rows: exactly that many when the count is known (a
 * header said so), else doubling (from the first chunk's rows: a row may
 * be megabytes wide).  What the rows would take is checked
 * against the memory still available (memprobe.h) before the allocation,
 * so that a file too large for the machine is an error naming it, not a
 * process killed for want of memory.
 */
static int grow(part_t *p, size_t *cap, size_t need, int exact)
{
    size_t es = p->u8 ? 1 : sizeof(float), c = *cap ? *cap : need;
    double bytes, avail;
    void *x;
    uint8_t *y;

    if (need <= *cap)
        return 0;
    while (c < need)
        c *= 2;
    if (exact)
        c = need;
    bytes = (double)c * ((double)p->dim * (double)es + 1.0);
    avail = mlp_memprobe_available();
    if (bytes > avail)
        return mlp_error_set(MLP_ENOMEM, "%s: %zu samples of %zu features "
                             "need %.1f MiB of memory, and %.1f MiB is "
                             "available", p->path, c, p->dim,
                             bytes / 1048576.0, avail / 1048576.0);
    if (c > SIZE_MAX / es / p->dim ||
        (x = realloc(p->x, c * p->dim * es)) == NULL)
        return mlp_error_set(MLP_ENOMEM, "%s: out of memory for %zu rows",
                             p->path, c);
    p->x = x;
    if ((y = realloc(p->y, c)) == NULL)
        return mlp_error_set(MLP_ENOMEM, "%s: out of memory", p->path);
    p->y = y;
    *cap = c;
    return 0;
}

/* Row r of a chunk's labels as a class index into *v (text: a name's
 * index), checked against the class cap; max label seen in p->maxlab. */
static int label_of(part_t *p, const char *path, const char *lpath,
                    size_t row, const char *text, int32_t y, size_t *v)
{
    if (p->text)
        return intern(&p->names, text, row, path, v);
    if ((*v = (size_t)y) >= MLP_DATASET_MAX_CLASSES)
        return mlp_error_set(MLP_EINVAL, "%s: row %zu: label %zu; at most "
                             "%d classes (labels 0 to %d)",
                             lpath ? lpath : path, row, *v,
                             MLP_DATASET_MAX_CLASSES,
                             MLP_DATASET_MAX_CLASSES - 1);
    if (*v > p->maxlab)
        p->maxlab = *v;
    return 0;
}

/*
 * Read a file's first `limit` rows (0: all) and no more: the rest of its
 * features is never read (nor inflated).  Labels kept apart from the
 * features (IDX and .npy labels files, an .npz's y.npy) are read to the
 * end all the same, as mlp_dataset_load reads --data's: the class count
 * comes from all of them.  A CSV's labels are in its rows: its classes
 * are those of the rows read, and its total is the rows read.
 */
static int load_part(const mlp_dataset_files_t *f, const char *path,
                     const char *lpath, size_t limit, part_t *p)
{
    mlp_table_opts_t to = {path, lpath, 1, f->csv};
    mlp_table_t *t = NULL;
    char (*text)[MLP_CSV_MAX_LABEL] = NULL;
    void *cx = NULL;
    int32_t *cy = NULL;
    size_t cap = 0, got, es, chunk, want;
    int rc;

    p->path = path;
    if ((rc = mlp_table_open(&to, &t)) != 0)
        goto out;
    p->format = mlp_table_format(t);
    p->dim = mlp_table_dim(t);
    p->u8 = mlp_table_is_u8(t);
    p->text = mlp_table_text_labels(t);
    mlp_table_shape(t, &p->rows, &p->cols);
    es = p->u8 ? 1 : sizeof(float);
    /* Rows per chunk: CHUNK, fewer for wide rows (a chunk is at most
     * CHUNK_BYTES of features, or one row). */
    chunk = CHUNK_BYTES / (p->dim * es);
    chunk = chunk < 1 ? 1 : chunk > CHUNK ? CHUNK : chunk;
    if (mlp_table_rows(t) != SIZE_MAX &&
        (rc = grow(p, &cap, limit && limit < mlp_table_rows(t)
                                ? limit : mlp_table_rows(t), 1)) != 0)
        goto out;
    if ((cx = malloc(chunk * p->dim * es)) == NULL ||
        (cy = malloc(chunk * sizeof(*cy))) == NULL ||
        (p->text && (text = malloc(chunk * sizeof(*text))) == NULL)) {
        rc = mlp_error_set(MLP_ENOMEM, "%s: out of memory", path);
        goto out;
    }
    do {
        want = limit != 0 && limit - p->n < chunk ? limit - p->n : chunk;
        if ((rc = mlp_table_next(t, want, p->u8 ? cx : NULL,
                                 p->u8 ? NULL : cx, cy, text, &got)) != 0)
            goto out;
        for (size_t r = 0; r < got; r++) {
            size_t v;

            if ((rc = label_of(p, path, lpath, p->n + r,
                               text ? text[r] : NULL, cy[r], &v)) != 0)
                goto out;
            cy[r] = (int32_t)v;
        }
        if ((rc = grow(p, &cap, p->n + got, 0)) != 0)
            goto out;
        memcpy((char *)p->x + p->n * p->dim * es, cx, got * p->dim * es);
        for (size_t r = 0; r < got; r++)
            p->y[p->n + r] = (uint8_t)cy[r];
        p->n += got;
    } while (got == want && (limit == 0 || p->n < limit));
    p->total = p->n;
    /* Stopped at the limit: the labels kept apart, to the end. */
    if (got == want && mlp_table_labels_apart(t)) {
        do {
            if ((rc = mlp_table_next_labels(t, chunk, cy, &got)) != 0)
                goto out;
            for (size_t r = 0; r < got; r++) {
                size_t v;

                if ((rc = label_of(p, path, lpath, p->total + r, NULL, cy[r],
                                   &v)) != 0)
                    goto out;
            }
            p->total += got;
        } while (got == chunk);
    }
    rc = 0;
out:
    mlp_table_close(t);
    free(cx);
    free(cy);
    free(text);
    return rc;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(a, b);
}

/*
 * Settle the training classes: numbers when every text label is one, else
 * names in byte-wise order (p->y remapped).
 */
static int train_classes(mlp_dataset_t *ds, part_t *p)
{
    size_t num[MLP_DATASET_MAX_CLASSES], map[MLP_DATASET_MAX_CLASSES];
    int all_num = 1;

    if (!p->text) {
        ds->nclasses = p->maxlab + 1;
        return 0;
    }
    for (size_t i = 0; i < p->names.n; i++)
        if (!text_number(p->names.v[i], &num[i]) ||
            num[i] >= MLP_DATASET_MAX_CLASSES)
            all_num = 0;
    if (all_num) {
        size_t mx = 0;

        for (size_t i = 0; i < p->names.n; i++)
            mx = num[i] > mx ? num[i] : mx;
        for (size_t r = 0; r < p->n; r++)
            p->y[r] = (uint8_t)num[p->y[r]];
        ds->nclasses = mx + 1;
        return 0;
    }
    ds->class_names = malloc(p->names.n * sizeof(*ds->class_names));
    if (ds->class_names == NULL)
        return mlp_error_set(MLP_ENOMEM, "dataset: out of memory");
    memcpy(ds->class_names, p->names.v, p->names.n * sizeof(*p->names.v));
    qsort(ds->class_names, p->names.n, sizeof(*ds->class_names), cmp_name);
    for (size_t i = 0; i < p->names.n; i++) {
        char(*hit)[MLP_CLASS_NAME_MAX] = bsearch(
            p->names.v[i], ds->class_names, p->names.n,
            sizeof(*ds->class_names), cmp_name);

        map[i] = (size_t)(hit - ds->class_names);
    }
    for (size_t r = 0; r < p->n; r++)
        p->y[r] = (uint8_t)map[p->y[r]];
    ds->nclasses = p->names.n;
    return 0;
}

/* Map the test split's labels onto the training classes; `why` ends a
 * message about a class the training rows lack. */
static int test_classes(const mlp_dataset_t *ds,
                        const char (*names)[MLP_CLASS_NAME_MAX], part_t *p,
                        const char *lpath, const char *why)
{
    size_t map[MLP_DATASET_MAX_CLASSES];

    if (!p->text) {
        if (p->total > 0 && p->maxlab >= ds->nclasses)
            return mlp_error_set(MLP_EINVAL, "%s: label %zu is not below "
                                 "the class count %zu (of the training "
                                 "data)", lpath ? lpath : p->path,
                                 p->maxlab, ds->nclasses);
        return 0;
    }
    for (size_t i = 0; i < p->names.n; i++) {
        const char *s = p->names.v[i];
        size_t v;

        if (names == NULL) {
            if (!text_number(s, &v) || v >= ds->nclasses)
                return mlp_error_set(MLP_EINVAL, "%s: row %zu: label '%s' "
                                     "is not a class number below %zu (the "
                                     "training labels are numbers)%s",
                                     p->path, p->names.first[i], s,
                                     ds->nclasses, why);
        } else {
            for (v = 0; v < ds->nclasses; v++)
                if (strcmp(names[v], s) == 0)
                    break;
            if (v == ds->nclasses)
                return mlp_error_set(MLP_EINVAL, "%s: row %zu: label '%s' "
                                     "is not one of the %zu training "
                                     "classes%s", p->path,
                                     p->names.first[i], s, ds->nclasses,
                                     why);
        }
        map[i] = v;
    }
    for (size_t r = 0; r < p->n; r++)
        p->y[r] = (uint8_t)map[p->y[r]];
    return 0;
}

static void set_split(mlp_split_t *s, const part_t *p)
{
    s->n = p->n;
    s->dim = p->dim;
    s->images = p->u8 ? p->x : NULL;
    s->features = p->u8 ? NULL : p->x;
    s->labels = p->y;
}

static void file_info(mlp_file_info_t *fi, const char *path)
{
    struct stat st;

    snprintf(fi->path, sizeof(fi->path), "%s", path ? path : "");
    fi->size = path != NULL && stat(path, &st) == 0 ? (uint64_t)st.st_size
                                                    : 0;
}

int mlp_dataset_load_files(const mlp_dataset_files_t *f,
                           mlp_dataset_t **out)
{
    mlp_dataset_t *ds = NULL;
    part_t tr = {0}, te = {0};
    char why[4200] = "";
    int rc;

    *out = NULL;
    if (f->test == NULL)
        return mlp_error_set(MLP_EINVAL, "--test FILE is required with "
                             "--train FILE");
    if ((ds = calloc(1, sizeof(*ds))) == NULL)
        return mlp_error_set(MLP_ENOMEM, "cannot allocate a dataset");
    ds->from_files = 1;
    if (f->train != NULL) {
        if ((rc = load_part(f, f->train, f->train_labels, f->limit_train,
                            &tr)) != 0)
            goto out;
        if (tr.total == 0) {
            rc = mlp_error_set(MLP_EINVAL, "%s: no training samples",
                               f->train);
            goto out;
        }
        if ((rc = train_classes(ds, &tr)) != 0)
            goto out;
    } else {
        ds->nclasses = f->nclasses;
        if (f->names != NULL) {
            ds->class_names = malloc(f->nclasses * sizeof(*f->names));
            if (ds->class_names == NULL) {
                rc = mlp_error_set(MLP_ENOMEM, "dataset: out of memory");
                goto out;
            }
            memcpy(ds->class_names, f->names,
                   f->nclasses * sizeof(*f->names));
        }
    }
    if ((rc = load_part(f, f->test, f->test_labels, f->limit_test, &te)) != 0)
        goto out;
    if (f->train != NULL && te.dim != tr.dim) {
        rc = mlp_error_set(MLP_EINVAL, "%s has %zu features per sample but "
                           "%s has %zu", f->test, te.dim, f->train, tr.dim);
        goto out;
    }
    if (f->train != NULL && te.u8 != tr.u8) {
        rc = mlp_error_set(MLP_EINVAL, "%s has %s features but %s has %s: "
                           "both splits must be bytes or both real", f->test,
                           te.u8 ? "byte" : "real", f->train,
                           tr.u8 ? "byte" : "real");
        goto out;
    }
    /* A CSV read to --limit-train has the classes of the rows read. */
    if (f->train != NULL && tr.text && f->limit_train != 0 &&
        tr.n == f->limit_train)
        snprintf(why, sizeof(why), " (the classes of the first %zu rows "
                 "of %.4000s, read for --limit-train)", tr.n, f->train);
    if ((rc = test_classes(ds, (const char(*)[MLP_CLASS_NAME_MAX])
                                   ds->class_names, &te, f->test_labels,
                           why)) != 0)
        goto out;
    if (f->train == NULL) { /* eval: the test split's shape stands in */
        tr.dim = te.dim;
        tr.u8 = te.u8;
        tr.rows = te.rows;
        tr.cols = te.cols;
    }
    ds->real = !tr.u8;
    /* Images (3-d IDX files) keep their shape; rows of features are
     * 1 x dim (the checkpoint's shape fields), without image operations. */
    ds->image = tr.rows > 0 && tr.rows == te.rows && tr.cols == te.cols;
    ds->rows = ds->image ? tr.rows : 1;
    ds->cols = ds->image ? tr.cols : tr.dim;
    ds->train_total = tr.total;
    ds->test_total = te.total;
    ds->format[0] = tr.format;
    ds->format[1] = te.format;
    set_split(&ds->train, &tr);
    set_split(&ds->test, &te);
    ds->train.dim = tr.dim;
    ds->own_x[0] = tr.x;
    ds->own_y[0] = tr.y;
    ds->own_x[1] = te.x;
    ds->own_y[1] = te.y;
    tr.x = te.x = NULL;
    tr.y = te.y = NULL;
    file_info(&ds->files[MLP_FILE_TRAIN_IMAGES], f->train);
    file_info(&ds->files[MLP_FILE_TRAIN_LABELS],
              f->train_labels ? f->train_labels : f->train);
    file_info(&ds->files[MLP_FILE_TEST_IMAGES], f->test);
    file_info(&ds->files[MLP_FILE_TEST_LABELS],
              f->test_labels ? f->test_labels : f->test);
    *out = ds;
    ds = NULL;
    rc = 0;
out:
    free(tr.x);
    free(tr.y);
    free(te.x);
    free(te.y);
    names_free(&tr.names);
    names_free(&te.names);
    mlp_dataset_destroy(ds);
    return rc;
}

int mlp_dataset_set_transform(mlp_dataset_t *ds, int norm,
                              const float *shift, const float *scale)
{
    size_t dim = ds->train.dim;
    mlp_split_t *s[3] = {&ds->train, &ds->test, &ds->val};

    if (!ds->real) {
        if (norm != MLP_NORM_AUTO)
            return mlp_error_set(MLP_EUSAGE, "option '--normalize': the "
                                 "features are bytes (IDX or uint8 .npy), "
                                 "always scaled x/255; --normalize is for "
                                 "real-valued features");
        return 0;
    }
    if (ds->shift == NULL) {
        ds->shift = malloc(dim * sizeof(float));
        ds->scale = malloc(dim * sizeof(float));
        if (ds->shift == NULL || ds->scale == NULL)
            return mlp_error_set(MLP_ENOMEM, "dataset: out of memory");
    }
    if (shift != NULL) {
        memcpy(ds->shift, shift, dim * sizeof(float));
        memcpy(ds->scale, scale, dim * sizeof(float));
    } else {
        int rc = mlp_transform_fit((mlp_norm_t)norm, ds->train.features,
                                   ds->train.n, dim, ds->shift, ds->scale);

        if (rc != 0)
            return mlp_error_prefix(rc, "%s (--normalize %s)",
                                    ds->files[MLP_FILE_TRAIN_IMAGES].path,
                                    mlp_norm_names[norm == MLP_NORM_AUTO
                                                   ? MLP_NORM_STANDARD
                                                   : norm]);
    }
    for (int i = 0; i < 3; i++) {
        s[i]->shift = ds->shift;
        s[i]->scale = ds->scale;
    }
    return 0;
}
