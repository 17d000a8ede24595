/*
 * csv: a streaming reader of numeric CSV tables on libcsv (see csv.h).
 *
 * libcsv is a push parser: we feed it CHUNK bytes at a time and its two
 * callbacks hand us fields and record ends.  A record's fields gather in
 * one reused buffer; at the record's end it becomes a row of floats and a
 * label in a small queue, which mlp_csv_next drains.  Feeding stops as soon
 * as the queue holds what the caller asked for, so memory is bounded by
 * the caller's batch plus one chunk's rows, whatever the file's size.  A
 * callback cannot stop libcsv: the first error is recorded and every later
 * callback returns at once.
 *
 * What one record may hold is checked as its fields arrive, before they
 * are buffered: a field's bytes (libcsv's buffer, checked after every
 * chunk), the record's bytes (record_max), its field count (the first
 * record's once the layout is known), a NUL byte in a cell.  So a line of
 * any length costs at most MLP_CSV_MAX_RECORD bytes of memory.
 *
 * Non-goals: writing CSV, dialects other than comma-separated with double
 * quotes, type inference beyond "number or not".
 */
#include <csv.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlptrain/csv.h"
#include "mlptrain/error.h"
#include "mlptrain/text.h"

#define CHUNK 4096

_Static_assert(MLP_CSV_MAX_LABEL - 1 == MLP_TEXT_NAME_MAX,
               "a label cell holds a class name");

struct mlp_csv {
    mlp_input_t *in;
    struct csv_parser p;
    int p_live;
    mlp_csv_opts_t opts;
    char label[256];          /* opts.label, copied */
    int layout_done, header, eof;
    size_t ncols, d;
    long lcol;                /* -1: none */
    char *names;              /* header fields, NUL-separated */
    size_t *name_off;         /* (ncols) */
    /* the record being read */
    char *fbuf;
    size_t flen, fcap;
    size_t record_max;        /* the most bytes fbuf may hold */
    size_t *foff;
    size_t nf, focap;
    size_t line;              /* records completed */
    /* rows parsed, not yet handed out */
    float *qx;                /* (qcap, d) */
    char (*ql)[MLP_CSV_MAX_LABEL];
    size_t qhead, qn, qcap;
    int err;                  /* first error, recorded by a callback */
};

static int fail(mlp_csv_t *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int fail(mlp_csv_t *c, const char *fmt, ...)
{
    char msg[768];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (c->err == 0)
        c->err = mlp_error_set(MLP_EFORMAT, "%s: %s", mlp_input_name(c->in),
                               msg);
    return c->err;
}

static const char *field(const mlp_csv_t *c, size_t j)
{
    return c->fbuf + c->foff[j];
}

/* " ('name')" for column j when there is a header (escaped: a header
 * cell is any text). */
static void colname(const mlp_csv_t *c, size_t j, char *out, size_t cap)
{
    char esc[72];

    if (c->header && c->names != NULL && j < c->ncols)
        snprintf(out, cap, " ('%s')", mlp_text_escape(
                     c->names + c->name_off[j], (size_t)-1, esc,
                     sizeof(esc)));
    else
        out[0] = '\0';
}

/* 0 and *v for a number; 1 for an empty cell; 2 for anything else. */
static int parse_num(const char *s, float *v)
{
    char *end;

    while (*s == ' ' || *s == '\t')
        s++;
    if (*s == '\0')
        return 1;
    errno = 0;
    *v = strtof(s, &end);
    if (end == s)
        return 2;
    while (*end == ' ' || *end == '\t' || *end == '\r')
        end++;
    return *end == '\0' ? 0 : 2;
}

static void on_field(void *s, size_t len, void *data)
{
    mlp_csv_t *c = data;
    const char *nul;

    if (c->err)
        return;
    if (c->nf >= MLP_CSV_MAX_COLS) {
        fail(c, "line %zu: more than %d columns", c->line + 1,
             MLP_CSV_MAX_COLS);
        return;
    }
    if (c->layout_done && c->nf >= c->ncols) {
        fail(c, "line %zu has %zu fields or more; line 1 has %zu (a ragged "
             "row)", c->line + 1, c->nf + 1, c->ncols);
        return;
    }
    if (len > 0 && (nul = memchr(s, '\0', len)) != NULL) {
        char cn[80];

        colname(c, c->nf, cn, sizeof(cn));
        fail(c, "line %zu, column %zu%s: a NUL byte in the cell (at byte "
             "%zu)", c->line + 1, c->nf, cn, (size_t)(nul - (char *)s));
        return;
    }
    /* Checked before the bytes are kept: a record never holds more. */
    if (len + 1 > c->record_max - c->flen) {
        char cols[48] = "";

        if (c->layout_done && c->record_max < MLP_CSV_MAX_RECORD)
            snprintf(cols, sizeof(cols), " of %zu columns", c->ncols);
        fail(c, "line %zu: a record longer than %zu bytes, the most a "
             "record%s may hold", c->line + 1, c->record_max, cols);
        return;
    }
    if (c->nf == c->focap) {
        size_t cap = c->focap ? 2 * c->focap : 64;
        size_t *p = realloc(c->foff, cap * sizeof(*p));

        if (p == NULL) {
            c->err = mlp_error_set(MLP_ENOMEM, "csv: out of memory");
            return;
        }
        c->foff = p;
        c->focap = cap;
    }
    if (c->flen + len + 1 > c->fcap) {
        size_t cap = (c->flen + len + 1) * 2;
        char *p;

        if (cap > c->record_max)
            cap = c->record_max;
        p = realloc(c->fbuf, cap);

        if (p == NULL) {
            c->err = mlp_error_set(MLP_ENOMEM, "csv: out of memory");
            return;
        }
        c->fbuf = p;
        c->fcap = cap;
    }
    c->foff[c->nf++] = c->flen;
    if (len > 0)
        memcpy(c->fbuf + c->flen, s, len);
    c->flen += len;
    c->fbuf[c->flen++] = '\0';
}

static int is_index(const char *s)
{
    if (*s == '\0')
        return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return 0;
    return 1;
}

static int row(mlp_csv_t *c);

static int layout(mlp_csv_t *c)
{
    const char *lab = c->label;
    int named = lab[0] != '\0' && !is_index(lab);

    c->ncols = c->nf;
    if (c->opts.no_label) {
        c->lcol = -1;
    } else if (lab[0] == '\0') {
        c->lcol = (long)c->ncols - 1;
    } else if (!named) {
        unsigned long v = strtoul(lab, NULL, 10);

        if (v >= c->ncols)
            return fail(c, "--label %s: the file has %zu columns (0 to %zu)",
                        lab, c->ncols, c->ncols - 1);
        c->lcol = (long)v;
    } else {
        c->lcol = -1;
        for (size_t j = 0; j < c->ncols; j++)
            if (strcmp(field(c, j), lab) == 0)
                c->lcol = (long)j;
        if (c->lcol < 0)
            return fail(c, "--label '%s': no column of that name in the "
                        "header (line 1)", lab);
        if (c->opts.header == MLP_HEADER_NO)
            return fail(c, "--label '%s' names a column but --header no "
                        "says the file has no header", lab);
    }
    /* A record holds its fields and their NULs: with fewer than 64
     * columns, their field limit is the stricter bound. */
    if (c->ncols < c->record_max / ((size_t)MLP_CSV_MAX_FIELD + 1))
        c->record_max = c->ncols * ((size_t)MLP_CSV_MAX_FIELD + 1);
    c->d = c->ncols - (c->lcol >= 0);
    if (c->d == 0)
        return fail(c, "line 1: no feature columns (only the label)");
    if (c->opts.header == MLP_HEADER_YES || named) {
        c->header = 1;
    } else if (c->opts.header == MLP_HEADER_AUTO) {
        for (size_t j = 0; j < c->ncols; j++) {
            float v;

            if ((long)j != c->lcol && parse_num(field(c, j), &v) != 0)
                c->header = 1;
        }
    }
    if (c->header) {
        if ((c->names = malloc(c->flen)) == NULL ||
            (c->name_off = malloc(c->ncols * sizeof(size_t))) == NULL) {
            c->err = mlp_error_set(MLP_ENOMEM, "csv: out of memory");
            return c->err;
        }
        memcpy(c->names, c->fbuf, c->flen);
        memcpy(c->name_off, c->foff, c->ncols * sizeof(size_t));
    }
    c->layout_done = 1;
    return c->header ? 0 : row(c); /* no header: the first data row */
}

static int row(mlp_csv_t *c)
{
    size_t k = 0, r;
    float *x;
    char cn[80];

    if (c->nf != c->ncols)
        return fail(c, "line %zu has %zu field%s; line 1 has %zu (a ragged "
                    "row)", c->line, c->nf, c->nf == 1 ? "" : "s",
                    c->ncols);
    if (c->qn == c->qcap) {
        size_t cap = c->qcap ? 2 * c->qcap : 256;
        float *qx = realloc(c->qx, cap * c->d * sizeof(float));
        char (*ql)[MLP_CSV_MAX_LABEL];

        if (qx == NULL) {
            c->err = mlp_error_set(MLP_ENOMEM, "csv: out of memory");
            return c->err;
        }
        c->qx = qx;
        if ((ql = realloc(c->ql, cap * sizeof(*ql))) == NULL) {
            c->err = mlp_error_set(MLP_ENOMEM, "csv: out of memory");
            return c->err;
        }
        c->ql = ql;
        c->qcap = cap;
    }
    r = c->qn;
    x = c->qx + r * c->d;
    for (size_t j = 0; j < c->ncols; j++) {
        const char *s = field(c, j);
        float v;
        int st;

        if ((long)j == c->lcol) {
            size_t n = strlen(s);
            char why[80], esc[96];

            colname(c, j, cn, sizeof(cn));
            if (n == 0)
                return fail(c, "line %zu, column %zu%s: empty label",
                            c->line, j, cn);
            if (n >= MLP_CSV_MAX_LABEL)
                return fail(c, "line %zu, column %zu%s: a label of %zu "
                            "bytes; at most %d", c->line, j, cn, n,
                            MLP_CSV_MAX_LABEL - 1);
            /* The label may become a class name: checked here, where it
             * enters, against what every later use needs (text.h). */
            if (mlp_text_class_name(s, why, sizeof(why)) != 0)
                return fail(c, "line %zu, column %zu%s: label '%s' cannot "
                            "be a class name: %s", c->line, j, cn,
                            mlp_text_escape(s, n, esc, sizeof(esc)), why);
            memcpy(c->ql[r], s, n + 1);
            continue;
        }
        st = parse_num(s, &v);
        if (st != 0 || !isfinite(v)) {
            char esc[48];

            colname(c, j, cn, sizeof(cn));
            return fail(c, "line %zu, column %zu%s: %s%s%s", c->line, j,
                        cn, st == 1 ? "empty cell" :
                        st == 2 ? "not a number: '" :
                        isnan(v) ? "NaN: '" : "infinite (or beyond float "
                        "range): '", st == 1 ? "" : mlp_text_escape(
                            s, (size_t)-1, esc, sizeof(esc)),
                        st == 1 ? "" : "'");
        }
        x[k++] = v;
    }
    c->qn++;
    return 0;
}

static void on_record(int term, void *data)
{
    mlp_csv_t *c = data;

    (void)term;
    if (c->err)
        return;
    /* A line of spaces only: skip it like an empty line. */
    if (c->nf == 1 && strspn(field(c, 0), " \t\r") == strlen(field(c, 0))) {
        c->nf = c->flen = 0;
        return;
    }
    c->line++;
    if (!c->layout_done)
        layout(c);
    else
        row(c);
    c->nf = c->flen = 0;
}

/* Parse the next chunk; at the end of the data, finish. */
static int feed(mlp_csv_t *c)
{
    unsigned char buf[CHUNK];
    size_t got;
    int rc;

    if ((rc = mlp_input_read(c->in, buf, sizeof(buf), &got)) != 0)
        return rc;
    if (got > 0 && csv_parse(&c->p, buf, got, on_field, on_record, c) != got
        && c->err == 0)
        return fail(c, "line %zu: %s", c->line + 1,
                    csv_strerror(csv_error(&c->p)));
    if (c->err)
        return c->err;
    if (csv_get_buffer_size(&c->p) > MLP_CSV_MAX_FIELD)
        return fail(c, "line %zu: a field longer than %d bytes", c->line + 1,
                    MLP_CSV_MAX_FIELD);
    if (got < sizeof(buf)) {
        if (csv_fini(&c->p, on_field, on_record, c) != 0 && c->err == 0)
            return fail(c, "line %zu: %s", c->line + 1,
                        csv_strerror(csv_error(&c->p)));
        c->eof = 1;
    }
    return c->err;
}

/* A UTF-8 byte-order mark (Excel's "CSV UTF-8") is not data: skip it,
 * after gzip too (the input's bytes are decompressed). */
static int skip_bom(mlp_input_t *in)
{
    const uint8_t *p;
    uint8_t bom[3];
    size_t got;
    int rc;

    if ((rc = mlp_input_peek(in, 3, &p, &got)) != 0)
        return rc;
    if (got == 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
        return mlp_input_read(in, bom, 3, &got);
    return 0;
}

int mlp_csv_open(mlp_input_t *in, const mlp_csv_opts_t *opts,
                 mlp_csv_t **out)
{
    mlp_csv_t *c = calloc(1, sizeof(*c));
    int rc;

    *out = NULL;
    if (c == NULL) {
        mlp_input_close(in);
        return mlp_error_set(MLP_ENOMEM, "csv: out of memory");
    }
    c->in = in;
    c->opts = *opts;
    c->record_max = MLP_CSV_MAX_RECORD;
    snprintf(c->label, sizeof(c->label), "%s", opts->label ? opts->label
                                                            : "");
    c->opts.label = c->label;
    if (csv_init(&c->p, CSV_STRICT | CSV_STRICT_FINI) != 0) {
        rc = mlp_error_set(MLP_ENOMEM, "csv: cannot start the parser");
        goto fail;
    }
    c->p_live = 1;
    /* libcsv grows a field's buffer by this much at a time: its default
     * (128 bytes) makes a long field cost a realloc per 128 bytes. */
    csv_set_blk_size(&c->p, 65536);
    if ((rc = skip_bom(in)) != 0)
        goto fail;
    while (!c->layout_done && !c->eof)
        if ((rc = feed(c)) != 0)
            goto fail;
    if (!c->layout_done) {
        rc = mlp_error_set(MLP_EFORMAT, "%s: empty file (no records)",
                           mlp_input_name(in));
        goto fail;
    }
    *out = c;
    return 0;
fail:
    mlp_csv_close(c);
    return rc;
}

size_t mlp_csv_features(const mlp_csv_t *c)
{
    return c->d;
}

long mlp_csv_label_col(const mlp_csv_t *c)
{
    return c->lcol;
}

int mlp_csv_has_header(const mlp_csv_t *c)
{
    return c->header;
}

size_t mlp_csv_line(const mlp_csv_t *c)
{
    return c->line;
}

int mlp_csv_next(mlp_csv_t *c, size_t max, float *x,
                 char (*labels)[MLP_CSV_MAX_LABEL], size_t *got)
{
    size_t n;
    int rc;

    *got = 0;
    if (c->err)
        return c->err;
    if (c->qhead > 0) { /* keep the queue at its front: bounded */
        memmove(c->qx, c->qx + c->qhead * c->d,
                (c->qn - c->qhead) * c->d * sizeof(float));
        memmove(c->ql, c->ql + c->qhead, (c->qn - c->qhead) *
                sizeof(*c->ql));
        c->qn -= c->qhead;
        c->qhead = 0;
    }
    while (c->qn - c->qhead < max && !c->eof)
        if ((rc = feed(c)) != 0)
            return rc;
    n = c->qn - c->qhead < max ? c->qn - c->qhead : max;
    *got = n;
    if (n == 0)
        return 0;
    memcpy(x, c->qx + c->qhead * c->d, n * c->d * sizeof(float));
    if (labels != NULL && c->lcol >= 0)
        memcpy(labels, c->ql + c->qhead, n * sizeof(*labels));
    c->qhead += n;
    if (c->qhead == c->qn)
        c->qhead = c->qn = 0;
    *got = n;
    return 0;
}

void mlp_csv_close(mlp_csv_t *c)
{
    if (c == NULL)
        return;
    if (c->p_live)
        csv_free(&c->p);
    mlp_input_close(c->in);
    free(c->names);
    free(c->name_off);
    free(c->fbuf);
    free(c->foff);
    free(c->qx);
    free(c->ql);
    free(c);
}

void mlp_csv_write_field(FILE *f, const char *s)
{
    if (strpbrk(s, ",\"\r\n") == NULL) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s != '\0'; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}
