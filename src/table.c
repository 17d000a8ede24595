/*
 * table: format detection and one row-wise reader over IDX, .npy, .npz and
 * CSV files (see table.h).  The formats' own modules do the parsing
 * (idx.c, npy.c, csv.c); this one chooses among them, pairs features with
 * their labels and keeps the rows of both in step.
 *
 * Non-goals: writing any format; guessing a format from a file name.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlptrain/error.h"
#include "mlptrain/idx.h"
#include "mlptrain/npy.h"
#include "mlptrain/table.h"

#define CHUNK 4096

typedef enum { LAB_NONE, LAB_IDX, LAB_NPY, LAB_CSV } lab_kind_t;

struct mlp_table {
    mlp_table_opts_t o;
    mlp_format_t fmt;
    mlp_input_t *fx, *fy;   /* features, labels */
    mlp_input_t *xin;       /* the features' input, also when the CSV
                               reader owns it (for the file's sum) */
    int y_own_file;         /* fy is a file of its own (not a member of
                               the features' archive) */
    mlp_csv_t *csv;
    mlp_npy_header_t hx, hy;
    mlp_idx_header_t ix, iy;
    lab_kind_t lab;
    int u8;
    size_t dim, n, rows, cols, done;
    size_t ydone;           /* labels read by mlp_table_next_labels */
    uint8_t tmp[CHUNK];
};

const char *mlp_table_format_name(mlp_format_t f)
{
    static const char *const names[] = {"IDX", ".npy", ".npz", "CSV",
                                        "arrays"};

    return f <= MLP_FORMAT_ARRAY ? names[f] : "?";
}

/* The format of an input's (decompressed) first bytes. */
static int sniff(mlp_input_t *in, mlp_format_t *f)
{
    const uint8_t *p;
    size_t got;
    int rc;

    if (mlp_input_is_zip(in)) {
        *f = MLP_FORMAT_NPZ;
        return 0;
    }
    if ((rc = mlp_input_peek(in, 6, &p, &got)) != 0)
        return rc;
    if (got >= 4 && memcmp(p, "PK\3\4", 4) == 0)
        return mlp_error_set(MLP_EFORMAT, "%s: a gzip-compressed zip "
                             "archive (.npz.gz): gunzip it first (a zip "
                             "archive is read by random access; an .npz "
                             "may compress its members itself, "
                             "numpy.savez_compressed)", mlp_input_name(in));
    if (got == 6 && memcmp(p, MLP_NPY_MAGIC, 6) == 0)
        *f = MLP_FORMAT_NPY;
    else if (got >= 2 && p[0] == 0 && p[1] == 0)
        *f = MLP_FORMAT_IDX; /* idx.c judges the type and the rest (a CSV
                                never starts with a NUL byte) */
    else
        *f = MLP_FORMAT_CSV;
    return 0;
}

/* The labels file, its input opened by the caller (t->fy). */
static int open_labels(mlp_table_t *t, const char *path)
{
    mlp_format_t f;
    size_t n;
    int rc;

    if ((rc = sniff(t->fy, &f)) != 0)
        return rc;
    t->y_own_file = 1;
    if (f == MLP_FORMAT_IDX) {
        if ((rc = mlp_idx_read_header(t->fy, &t->iy)) != 0)
            return rc;
        if (t->iy.ndims != 1)
            return mlp_error_set(MLP_EFORMAT, "%s: labels must have 1 "
                                 "dimension; the IDX file has %u", path,
                                 t->iy.ndims);
        n = t->iy.count;
        t->lab = LAB_IDX;
    } else if (f == MLP_FORMAT_NPY) {
        if ((rc = mlp_npy_read_header(t->fy, &t->hy)) != 0)
            return rc;
        if (t->hy.ndim != 1 || mlp_npy_is_float(t->hy.dtype))
            return mlp_error_set(MLP_EFORMAT, "%s: labels must be an (n,) "
                                 "integer array; the file has dtype '%s', "
                                 "%u dimension%s", path, t->hy.descr,
                                 t->hy.ndim, t->hy.ndim == 1 ? "" : "s");
        n = t->hy.n;
        t->lab = LAB_NPY;
    } else {
        return mlp_error_set(MLP_EFORMAT, "%s: a labels file must be IDX or "
                             ".npy", path);
    }
    if (n != t->n)
        return mlp_error_set(MLP_EINVAL, "%s has %zu labels but %s has %zu "
                             "samples", path, n, t->o.path, t->n);
    return 0;
}

static int open_npy(mlp_table_t *t)
{
    int rc;

    if ((rc = mlp_npy_read_header(t->fx, &t->hx)) != 0)
        return rc;
    if (t->hx.ndim != 2)
        return mlp_error_set(MLP_EFORMAT, "%s: features must have shape "
                             "(n, d); the array has shape (%zu,)",
                             mlp_input_name(t->fx), t->hx.n);
    if (t->hx.dtype != MLP_NPY_U1 && !mlp_npy_is_float(t->hx.dtype))
        return mlp_error_set(MLP_EFORMAT, "%s: features must be uint8, "
                             "float32 or float64; the array has dtype '%s'",
                             mlp_input_name(t->fx), t->hx.descr);
    t->u8 = t->hx.dtype == MLP_NPY_U1;
    t->n = t->hx.n;
    t->dim = t->hx.d;
    return 0;
}

/*
 * The headers, over the features' input t->fx (opened by the caller) and,
 * with labels wanted, the labels' input: over a buffer (mem), `fy`, else
 * the labels file or member named in the options.
 */
static int open_inputs(mlp_table_t *t, int mem, mlp_input_t *fy)
{
    const mlp_table_opts_t *o = &t->o;
    int rc;

    t->xin = t->fx;
    if ((rc = sniff(t->fx, &t->fmt)) != 0)
        return rc;
    switch (t->fmt) {
    case MLP_FORMAT_IDX:
        if ((rc = mlp_idx_read_header(t->fx, &t->ix)) != 0)
            return rc;
        if (t->ix.ndims < 2)
            return mlp_error_set(MLP_EFORMAT, "%s: a features IDX file "
                                 "needs 2 or more dimensions (samples, "
                                 "...); this one has 1 (a labels file?)",
                                 o->path);
        t->u8 = 1;
        t->n = t->ix.count;
        t->dim = t->ix.item_size;
        if (t->ix.ndims == 3) {
            t->rows = t->ix.dims[1];
            t->cols = t->ix.dims[2];
        }
        break;
    case MLP_FORMAT_NPY:
        if ((rc = open_npy(t)) != 0)
            return rc;
        break;
    case MLP_FORMAT_NPZ:
        if (mem)
            return mlp_error_set(MLP_EFORMAT, "%s: a zip archive (.npz) is "
                                 "read from a file, not a buffer",
                                 mlp_input_name(t->fx));
        mlp_input_close(t->fx);
        t->fx = t->xin = NULL;
        if ((rc = mlp_input_open_member(o->path, "x.npy", &t->fx)) != 0)
            return rc;
        t->xin = t->fx;
        if ((rc = open_npy(t)) != 0)
            return rc;
        break;
    case MLP_FORMAT_CSV: {
        mlp_csv_opts_t co = o->csv;

        if (!o->want_labels && (co.label == NULL || co.label[0] == '\0'))
            co.no_label = 1;
        rc = mlp_csv_open(t->fx, &co, &t->csv);
        t->fx = NULL; /* the CSV reader owns (and closed) it */
        if (rc != 0) {
            t->xin = NULL;
            return rc;
        }
        t->dim = mlp_csv_features(t->csv);
        t->n = SIZE_MAX;
        t->lab = o->want_labels ? LAB_CSV : LAB_NONE;
        break;
    }
    case MLP_FORMAT_ARRAY: /* never sniffed: arrays are not a file */
        return mlp_error_set(MLP_EINVAL, "%s: not a file format",
                             mlp_input_name(t->fx));
    }
    if (t->dim > MLP_TABLE_MAX_FEATURES)
        return mlp_error_set(MLP_EFORMAT, "%s: %zu features per sample; at "
                             "most %zu (the widest layer a net may have)",
                             o->path, t->dim, (size_t)MLP_TABLE_MAX_FEATURES);
    if (!o->want_labels || t->fmt == MLP_FORMAT_CSV)
        return 0;
    if (t->fmt == MLP_FORMAT_NPZ && o->labels_path == NULL) {
        if ((rc = mlp_input_open_member(o->path, "y.npy", &t->fy)) != 0 ||
            (rc = mlp_npy_read_header(t->fy, &t->hy)) != 0)
            return rc;
        if (t->hy.ndim != 1 || mlp_npy_is_float(t->hy.dtype))
            return mlp_error_set(MLP_EFORMAT, "%s: labels must be an (n,) "
                                 "integer array; y.npy has dtype '%s'",
                                 o->path, t->hy.descr);
        if (t->hy.n != t->n)
            return mlp_error_set(MLP_EINVAL, "%s: y.npy has %zu labels but "
                                 "x.npy has %zu samples", o->path, t->hy.n,
                                 t->n);
        t->lab = LAB_NPY;
        return 0;
    }
    if (o->labels_path == NULL)
        return mlp_error_set(MLP_EINVAL, "%s: a %s features file needs a "
                             "labels file (--train-labels / --test-labels)",
                             o->path, mlp_table_format_name(t->fmt));
    if (mem && fy == NULL)
        return mlp_error_set(MLP_EINVAL, "%s: no labels buffer",
                             o->labels_path);
    if (mem)
        t->fy = fy;
    else if ((rc = mlp_input_open(o->labels_path, &t->fy)) != 0)
        return rc;
    return open_labels(t, o->labels_path);
}

static int table_new(const mlp_table_opts_t *o, mlp_table_t **out)
{
    *out = calloc(1, sizeof(**out));
    if (*out == NULL)
        return mlp_error_set(MLP_ENOMEM, "cannot allocate a reader");
    (*out)->o = *o;
    return 0;
}

int mlp_table_open(const mlp_table_opts_t *o, mlp_table_t **out)
{
    mlp_table_t *t;
    int rc;

    *out = NULL;
    if ((rc = table_new(o, &t)) != 0)
        return rc;
    if ((rc = mlp_input_open(o->path, &t->fx)) != 0 ||
        (rc = open_inputs(t, 0, NULL)) != 0) {
        mlp_table_close(t);
        return rc;
    }
    *out = t;
    return 0;
}

int mlp_table_open_mem(const mlp_table_opts_t *o, const uint8_t *x,
                       size_t xlen, const uint8_t *y, size_t ylen,
                       mlp_table_t **out)
{
    mlp_table_t *t;
    mlp_input_t *fy = NULL;
    int rc;

    *out = NULL;
    if ((rc = table_new(o, &t)) != 0)
        return rc;
    if ((rc = mlp_input_open_mem(x, xlen, o->path, &t->fx)) != 0 ||
        (y != NULL && o->want_labels &&
         (rc = mlp_input_open_mem(y, ylen, o->labels_path, &fy)) != 0) ||
        (rc = open_inputs(t, 1, fy)) != 0) {
        if (t->fy != fy)
            mlp_input_close(fy);
        mlp_table_close(t);
        return rc;
    }
    *out = t;
    return 0;
}

mlp_format_t mlp_table_format(const mlp_table_t *t) { return t->fmt; }
size_t mlp_table_dim(const mlp_table_t *t) { return t->dim; }
int mlp_table_is_u8(const mlp_table_t *t) { return t->u8; }
size_t mlp_table_rows(const mlp_table_t *t) { return t->n; }
int mlp_table_text_labels(const mlp_table_t *t) { return t->lab == LAB_CSV; }
const char *mlp_table_name(const mlp_table_t *t) { return t->o.path; }

void mlp_table_shape(const mlp_table_t *t, size_t *rows, size_t *cols)
{
    *rows = t->rows;
    *cols = t->cols;
}

/* After the last row of a file: nothing may follow. */
static int check_end(mlp_input_t *in, const mlp_idx_header_t *idx)
{
    if (in == NULL)
        return 0;
    return idx->ndims > 0 ? mlp_idx_check_end(in, idx)
                          : mlp_npy_check_end(in);
}

/* Bytes of rows [row0, row0 + k) of a u8 table, into dst. */
static int read_u8(mlp_table_t *t, size_t row0, size_t k, uint8_t *dst)
{
    if (t->fmt != MLP_FORMAT_IDX)
        return mlp_npy_read_u8(t->fx, &t->hx, row0, k, dst);
    return mlp_idx_read_rows(t->fx, &t->ix, row0, k, dst);
}

int mlp_table_labels_apart(const mlp_table_t *t)
{
    return t->lab == LAB_IDX || t->lab == LAB_NPY;
}

static int read_labels(mlp_table_t *t, size_t row0, size_t k, int32_t *y)
{
    if (t->lab == LAB_NPY)
        return mlp_npy_read_labels(t->fy, &t->hy, row0, k, y);
    return mlp_idx_read_labels(t->fy, &t->iy, row0, k, y);
}

int mlp_table_next(mlp_table_t *t, size_t max, uint8_t *x8, float *xf,
                   int32_t *y, char (*text)[MLP_CSV_MAX_LABEL],
                   size_t *got)
{
    size_t k;
    int rc;

    *got = 0;
    if (t->fmt == MLP_FORMAT_CSV) {
        if (x8 != NULL)
            return mlp_error_set(MLP_EINVAL, "table: CSV features are "
                                 "real-valued, not bytes");
        rc = mlp_csv_next(t->csv, max, xf,
                          t->lab == LAB_CSV ? text : NULL, got);
        t->done += *got;
        return rc;
    }
    k = t->n - t->done < max ? t->n - t->done : max;
    if (t->u8 && x8 != NULL) {
        if ((rc = read_u8(t, t->done, k, x8)) != 0)
            return rc;
    } else if (t->u8) {
        for (size_t r = 0; r < k;) {
            size_t m = CHUNK / t->dim ? CHUNK / t->dim : 1;
            uint8_t *b = t->tmp;
            uint8_t *big = NULL;

            if (m > k - r)
                m = k - r;
            if (m * t->dim > CHUNK) { /* a row wider than the buffer */
                if ((big = malloc(t->dim)) == NULL)
                    return mlp_error_set(MLP_ENOMEM, "table: out of memory");
                b = big;
            }
            rc = read_u8(t, t->done + r, m, b);
            for (size_t i = 0; rc == 0 && i < m * t->dim; i++)
                xf[r * t->dim + i] = b[i];
            free(big);
            if (rc != 0)
                return rc;
            r += m;
        }
    } else if ((rc = mlp_npy_read_f32(t->fx, &t->hx, t->done, k, xf)) != 0) {
        return rc;
    }
    if (t->ydone != t->done)
        return mlp_error_set(MLP_EINVAL, "table: rows asked for after "
                             "labels only");
    if (t->lab != LAB_NONE && y != NULL &&
        (rc = read_labels(t, t->done, k, y)) != 0)
        return rc;
    t->done += k;
    t->ydone = t->done;
    *got = k;
    if (t->done == t->n) {
        if ((rc = check_end(t->fx, &t->ix)) != 0 ||
            (t->lab != LAB_NONE && (rc = check_end(t->fy, &t->iy)) != 0))
            return rc;
    }
    return 0;
}

int mlp_table_next_labels(mlp_table_t *t, size_t max, int32_t *y,
                          size_t *got)
{
    size_t k;
    int rc;

    *got = 0;
    if (!mlp_table_labels_apart(t))
        return mlp_error_set(MLP_EINVAL, "table: %s has no labels apart "
                             "from its rows", t->o.path);
    k = t->n - t->ydone < max ? t->n - t->ydone : max;
    if ((rc = read_labels(t, t->ydone, k, y)) != 0)
        return rc;
    t->ydone += k;
    *got = k;
    if (t->ydone == t->n && (rc = check_end(t->fy, &t->iy)) != 0)
        return rc;
    return 0;
}

int mlp_table_file_sums(mlp_table_t *t, uint64_t size[2], uint32_t crc[2])
{
    int rc;

    size[0] = size[1] = 0;
    crc[0] = crc[1] = 0;
    if (t->xin != NULL &&
        (rc = mlp_input_file_sum(t->xin, &size[0], &crc[0])) != 0)
        return rc;
    if (t->lab == LAB_NONE)
        return 0;
    if (t->y_own_file)
        return mlp_input_file_sum(t->fy, &size[1], &crc[1]);
    size[1] = size[0]; /* the labels are in the features' file */
    crc[1] = crc[0];
    return 0;
}

void mlp_table_close(mlp_table_t *t)
{
    if (t == NULL)
        return;
    mlp_csv_close(t->csv);
    mlp_input_close(t->fx);
    mlp_input_close(t->fy);
    free(t);
}
