/*
 * table: format detection and one row-wise reader over IDX, .npy, .npz and
 * CSV files (see table.h).  The formats' own modules do the parsing
 * (npy.c, csv.c); IDX is read here as a stream (idx.c parses whole
 * buffers), with the same rules: type 0x08, 1 to 4 dimensions, no bytes
 * after the data.
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
    mlp_csv_t *csv;
    mlp_npy_header_t hx, hy;
    lab_kind_t lab;
    int u8;
    size_t dim, n, rows, cols, done;
    size_t ydone;           /* labels read by mlp_table_next_labels */
    uint8_t tmp[CHUNK];
};

const char *mlp_table_format_name(mlp_format_t f)
{
    static const char *const names[] = {"IDX", ".npy", ".npz", "CSV"};

    return f <= MLP_FORMAT_CSV ? names[f] : "?";
}

/* Read an IDX header (checked by idx.c's mlp_idx_parse_header): *nd
 * dimensions into dims.  The data it declares must be within IDX's cap
 * and what the input can hold, before anything is sized by it. */
static int idx_header(mlp_input_t *in, unsigned *nd, size_t dims[4])
{
    uint64_t left;
    uint8_t h[4 + 4 * MLP_IDX_MAX_DIMS];
    size_t got, more = 0, hdr, total;
    mlp_idx_t r;
    int rc;

    if ((rc = mlp_input_read(in, h, 4, &got)) != 0)
        return rc;
    if (got == 4 && h[3] >= 1 && h[3] <= MLP_IDX_MAX_DIMS &&
        (rc = mlp_input_read(in, h + 4, 4 * (size_t)h[3], &more)) != 0)
        return rc;
    if ((rc = mlp_idx_parse_header(h, got + more, mlp_input_name(in), &r,
                                   &hdr, &total)) != 0)
        return rc;
    left = mlp_input_max_bytes(in) > mlp_input_offset(in)
               ? mlp_input_max_bytes(in) - mlp_input_offset(in) : 0;
    if (total > MLP_IDX_MAX_DATA)
        return mlp_error_set(MLP_EFORMAT, "%s: the IDX header declares %zu "
                             "bytes of data; at most %llu",
                             mlp_input_name(in), total,
                             (unsigned long long)MLP_IDX_MAX_DATA);
    if (total > left)
        return mlp_error_set(MLP_EFORMAT, "%s: %s: the IDX header declares "
                             "%zu bytes of data, the file %s %llu",
                             mlp_input_name(in),
                             mlp_input_size_exact(in) ? "truncated"
                                                      : "too short",
                             total, mlp_input_size_exact(in)
                                        ? "holds" : "can inflate to at most",
                             (unsigned long long)left);
    *nd = r.ndims;
    for (unsigned i = 0; i < r.ndims; i++)
        dims[i] = r.dims[i];
    return 0;
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
    else if (got >= 4 && p[0] == 0 && p[1] == 0 && p[2] == 0x08)
        *f = MLP_FORMAT_IDX;
    else
        *f = MLP_FORMAT_CSV;
    return 0;
}

static int open_labels(mlp_table_t *t, const char *path)
{
    mlp_format_t f;
    size_t dims[4];
    unsigned nd;
    size_t n;
    int rc;

    if ((rc = mlp_input_open(path, &t->fy)) != 0 ||
        (rc = sniff(t->fy, &f)) != 0)
        return rc;
    if (f == MLP_FORMAT_IDX) {
        if ((rc = idx_header(t->fy, &nd, dims)) != 0)
            return rc;
        if (nd != 1)
            return mlp_error_set(MLP_EFORMAT, "%s: labels must have 1 "
                                 "dimension; the IDX file has %u", path, nd);
        n = dims[0];
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

int mlp_table_open(const mlp_table_opts_t *o, mlp_table_t **out)
{
    mlp_table_t *t = calloc(1, sizeof(*t));
    size_t dims[4];
    unsigned nd;
    int rc;

    *out = NULL;
    if (t == NULL)
        return mlp_error_set(MLP_ENOMEM, "cannot allocate a reader");
    t->o = *o;
    if ((rc = mlp_input_open(o->path, &t->fx)) != 0 ||
        (rc = sniff(t->fx, &t->fmt)) != 0)
        goto fail;
    switch (t->fmt) {
    case MLP_FORMAT_IDX:
        if ((rc = idx_header(t->fx, &nd, dims)) != 0)
            goto fail;
        if (nd < 2) {
            rc = mlp_error_set(MLP_EFORMAT, "%s: a features IDX file needs "
                               "2 or more dimensions (samples, ...); this "
                               "one has 1 (a labels file?)", o->path);
            goto fail;
        }
        t->u8 = 1;
        t->n = dims[0];
        t->dim = 1;
        for (unsigned i = 1; i < nd; i++)
            t->dim *= dims[i];
        if (nd == 3) {
            t->rows = dims[1];
            t->cols = dims[2];
        }
        break;
    case MLP_FORMAT_NPY:
        if ((rc = open_npy(t)) != 0)
            goto fail;
        break;
    case MLP_FORMAT_NPZ:
        mlp_input_close(t->fx);
        t->fx = NULL;
        if ((rc = mlp_input_open_member(o->path, "x.npy", &t->fx)) != 0 ||
            (rc = open_npy(t)) != 0)
            goto fail;
        break;
    case MLP_FORMAT_CSV: {
        mlp_csv_opts_t co = o->csv;

        if (!o->want_labels && (co.label == NULL || co.label[0] == '\0'))
            co.no_label = 1;
        rc = mlp_csv_open(t->fx, &co, &t->csv);
        t->fx = NULL; /* the CSV reader owns (and closed) it */
        if (rc != 0)
            goto fail;
        t->dim = mlp_csv_features(t->csv);
        t->n = SIZE_MAX;
        t->lab = o->want_labels ? LAB_CSV : LAB_NONE;
        break;
    }
    }
    if (t->dim > MLP_TABLE_MAX_FEATURES) {
        rc = mlp_error_set(MLP_EFORMAT, "%s: %zu features per sample; at "
                           "most %zu (the widest layer a net may have)",
                           o->path, t->dim, (size_t)MLP_TABLE_MAX_FEATURES);
        goto fail;
    }
    if (o->want_labels && t->fmt != MLP_FORMAT_CSV) {
        if (t->fmt == MLP_FORMAT_NPZ && o->labels_path == NULL) {
            if ((rc = mlp_input_open_member(o->path, "y.npy", &t->fy)) != 0 ||
                (rc = mlp_npy_read_header(t->fy, &t->hy)) != 0)
                goto fail;
            if (t->hy.ndim != 1 || mlp_npy_is_float(t->hy.dtype)) {
                rc = mlp_error_set(MLP_EFORMAT, "%s: labels must be an (n,) "
                                   "integer array; y.npy has dtype '%s'",
                                   o->path, t->hy.descr);
                goto fail;
            }
            if (t->hy.n != t->n) {
                rc = mlp_error_set(MLP_EINVAL, "%s: y.npy has %zu labels but "
                                   "x.npy has %zu samples", o->path,
                                   t->hy.n, t->n);
                goto fail;
            }
            t->lab = LAB_NPY;
        } else if (o->labels_path == NULL) {
            rc = mlp_error_set(MLP_EINVAL, "%s: a %s features file needs a "
                               "labels file (--train-labels / "
                               "--test-labels)", o->path,
                               mlp_table_format_name(t->fmt));
            goto fail;
        } else if ((rc = open_labels(t, o->labels_path)) != 0) {
            goto fail;
        }
    }
    *out = t;
    return 0;
fail:
    mlp_table_close(t);
    return rc;
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

/* After the last row: nothing may follow. */
static int check_end(mlp_input_t *in)
{
    const uint8_t *p;
    size_t got;
    int rc;

    if (in == NULL)
        return 0;
    if ((rc = mlp_input_peek(in, 1, &p, &got)) != 0)
        return rc;
    if (got > 0)
        return mlp_error_set(MLP_EFORMAT, "%s: bytes after the data its "
                             "header declares", mlp_input_name(in));
    return 0;
}

/* Bytes of rows [row0, row0 + k) of a u8 table, into dst. */
static int read_u8(mlp_table_t *t, size_t row0, size_t k, uint8_t *dst)
{
    size_t got;
    int rc;

    if (t->fmt != MLP_FORMAT_IDX)
        return mlp_npy_read_u8(t->fx, &t->hx, row0, k, dst);
    if ((rc = mlp_input_read(t->fx, dst, k * t->dim, &got)) != 0)
        return rc;
    if (got < k * t->dim)
        return mlp_error_set(MLP_EFORMAT, "%s: truncated IDX data: sample "
                             "%zu is incomplete (the header says %zu)",
                             t->o.path, row0 + got / t->dim, t->n);
    return 0;
}

int mlp_table_labels_apart(const mlp_table_t *t)
{
    return t->lab == LAB_IDX || t->lab == LAB_NPY;
}

static int read_labels(mlp_table_t *t, size_t row0, size_t k, int32_t *y)
{
    uint8_t b[CHUNK];
    size_t got;
    int rc;

    if (t->lab == LAB_NPY)
        return mlp_npy_read_labels(t->fy, &t->hy, row0, k, y);
    for (size_t done = 0; done < k;) {
        size_t m = k - done < CHUNK ? k - done : CHUNK;

        if ((rc = mlp_input_read(t->fy, b, m, &got)) != 0)
            return rc;
        if (got < m)
            return mlp_error_set(MLP_EFORMAT, "%s: truncated IDX labels at "
                                 "sample %zu", mlp_input_name(t->fy),
                                 row0 + done + got);
        for (size_t i = 0; i < m; i++)
            y[done + i] = b[i];
        done += m;
    }
    return 0;
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
        if ((rc = check_end(t->fx)) != 0 ||
            (t->lab != LAB_NONE && (rc = check_end(t->fy)) != 0))
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
    if (t->ydone == t->n && (rc = check_end(t->fy)) != 0)
        return rc;
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
