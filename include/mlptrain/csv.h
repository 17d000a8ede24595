/*
 * csv: numeric tables in CSV (RFC 4180, parsed by libcsv), streamed row by
 * row from an input (input.h: plain or .gz).
 *
 * Layout: every record has the same number of fields.  One column may hold
 * the label (--label: a header name, or a 0-based index; by default the
 * last column; none for unlabelled inputs); every other column is a
 * numeric feature (strtof: decimal or exponent notation, surrounding
 * spaces ignored).  The first record is a header when asked (header YES),
 * or, with AUTO, when one of its feature cells is not a number (a label
 * given by name implies a header).  Empty lines are skipped.
 *
 * Positions in messages: "line L" is the record's number counted from 1
 * (the header is line 1), the same as the text line unless a quoted field
 * spans lines; "column C" counts from 0, as --label does, followed by the
 * header's name when there is one.  Errors (MLP_EFORMAT): ragged records,
 * empty or non-numeric cells, NaN or infinite values (or beyond float
 * range), a NUL byte in a cell, a label cell that is not a usable class
 * name (text.h: empty, longer than MLP_CSV_MAX_LABEL - 1 bytes, not UTF-8,
 * a control character such as a tab, a quoted line break or DEL), an
 * empty file, a --label that names no column, a field longer than
 * MLP_CSV_MAX_FIELD, a record (line) longer than MLP_CSV_MAX_RECORD bytes
 * or than its columns' field limits allow (ncols * (MLP_CSV_MAX_FIELD +
 * 1), the stricter), more than MLP_CSV_MAX_COLS columns, a malformed
 * quote.  These bounds are checked while a record streams in, before its
 * bytes are kept: a file with no record ends, or one enormous line, is
 * never held whole, so a reader's memory stays bounded whatever the file.
 * A UTF-8 byte-order mark at the start (also of a gzip stream's bytes) is
 * skipped.
 *
 * Writing: mlp_csv_write_field, the one quoting of the CSV files mlptrain
 * writes (predict --input's lines, a sweep's results.csv).
 *
 * Thread-safe (no shared state); one reader per thread.
 */
#ifndef MLPTRAIN_CSV_H
#define MLPTRAIN_CSV_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "mlptrain/input.h"

#define MLP_CSV_MAX_LABEL 64          /* bytes of a label, with the NUL */
#define MLP_CSV_MAX_FIELD (1 << 20)
#define MLP_CSV_MAX_COLS 1000000
#define MLP_CSV_MAX_RECORD ((size_t)64 << 20) /* bytes of one record */

typedef enum {
    MLP_HEADER_AUTO = 0, MLP_HEADER_YES = 1, MLP_HEADER_NO = 2
} mlp_header_t;

typedef struct {
    mlp_header_t header;
    const char *label;   /* column name or 0-based index; NULL or "":
                            the last column */
    int no_label;        /* 1: no label column (every column a feature) */
} mlp_csv_opts_t;

typedef struct mlp_csv mlp_csv_t;

/* Read the first record and settle the layout.  The reader keeps `in`
 * (closed by mlp_csv_close). */
int mlp_csv_open(mlp_input_t *in, const mlp_csv_opts_t *opts,
                 mlp_csv_t **out);
/* Feature columns (all but the label column). */
size_t mlp_csv_features(const mlp_csv_t *c);
/* The label column's index, or -1 without one; its header name or NULL. */
long mlp_csv_label_col(const mlp_csv_t *c);
int mlp_csv_has_header(const mlp_csv_t *c);
/*
 * The next rows: up to `max` of them into x (max, features) and, when the
 * file has a label column and labels is not NULL, their label cells
 * (NUL-terminated) into labels[r].  *got < max only at the end.
 */
int mlp_csv_next(mlp_csv_t *c, size_t max, float *x,
                 char (*labels)[MLP_CSV_MAX_LABEL], size_t *got);
/* Records read so far (the header counts), for messages. */
size_t mlp_csv_line(const mlp_csv_t *c);
/* Close the reader and its input; NULL is a no-op. */
void mlp_csv_close(mlp_csv_t *c);

/* Write s as one CSV field (RFC 4180): as it is, or between double quotes
 * (each quote doubled) when it holds a comma, a quote or a line break. */
void mlp_csv_write_field(FILE *f, const char *s);

#endif
