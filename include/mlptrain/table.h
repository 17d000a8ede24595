/*
 * table: one streaming reader of samples over every data format mlptrain
 * takes, chosen from the file's content, never its name.
 *
 * Formats: IDX (magic 00 00 08 nd, told by its two zero bytes: features
 * of 2 or more dimensions, a separate 1-d labels file; idx.h), NumPy .npy
 * (magic "\x93NUMPY": features (n, d), a separate (n,) labels file), .npz (a zip archive "PK\3\4" with
 * the members x.npy (features) and y.npy (labels), as numpy.savez(f, x=X,
 * y=Y) writes it), and CSV (anything else; labels in a column, csv.h).
 * Each may be gzip-compressed (magic 1f 8b), .npz members as the archive
 * stores them.
 *
 * Features are uint8 (IDX, npy '|u1': the caller decodes x / 255) or real
 * (CSV, npy '<f4' '<f8'); labels are integers (IDX, npy, npz) or the
 * label cells' text (CSV: the caller maps them to classes).  Row counts are
 * known up front for IDX and NumPy, and found at the end for CSV.  A labels
 * file must have exactly as many entries as the features file has rows.
 *
 * Every size a header declares (IDX dimensions, a .npy shape) is checked
 * against what the input can hold (input.h) before it sizes anything; a
 * sample has 1 to MLP_TABLE_MAX_FEATURES features in every format.
 *
 * Memory: fixed buffers (input.h, csv.h; a row of bytes wider than 4 KiB
 * read as floats takes one row's buffer for the call); rows land in the
 * caller's buffers.  Errors name the file, the row or line and the column (see
 * idx.h, npy.h, csv.h).  One table per thread.
 */
#ifndef MLPTRAIN_TABLE_H
#define MLPTRAIN_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "mlptrain/csv.h"

/* The most features of a sample: the widest layer a net may have
 * (net.h's MLP_MAX_WIDTH). */
#define MLP_TABLE_MAX_FEATURES ((size_t)1 << 24)

/* The formats of the files a table reads, and MLP_FORMAT_ARRAY: arrays
 * already in memory (dataset.h, mlp_dataset_from_arrays), which are
 * never a table's. */
typedef enum {
    MLP_FORMAT_IDX, MLP_FORMAT_NPY, MLP_FORMAT_NPZ, MLP_FORMAT_CSV,
    MLP_FORMAT_ARRAY
} mlp_format_t;

typedef struct {
    const char *path;        /* features (and the label column or y.npy) */
    const char *labels_path; /* IDX or .npy labels; NULL: none (predict, or
                                the features file holds them) */
    int want_labels;         /* 0: unlabelled (predict): no labels read;
                                a CSV then has no label column unless
                                csv.label names one (it is skipped) */
    mlp_csv_opts_t csv;
} mlp_table_opts_t;

typedef struct mlp_table mlp_table_t;

/* Open and read the headers.  MLP_EINVAL when labels are wanted but the
 * format needs a labels file and none was given (naming the option). */
int mlp_table_open(const mlp_table_opts_t *o, mlp_table_t **out);
/*
 * The same over buffers (tests, fuzz drivers): the features' bytes x
 * (named o->path in messages), and the labels' bytes y (named
 * o->labels_path) when labels are wanted, else NULL.  The buffers must
 * outlive the table.  A zip archive (.npz) is refused: it is read from a
 * file.
 */
int mlp_table_open_mem(const mlp_table_opts_t *o, const uint8_t *x,
                       size_t xlen, const uint8_t *y, size_t ylen,
                       mlp_table_t **out);
mlp_format_t mlp_table_format(const mlp_table_t *t);
const char *mlp_table_format_name(mlp_format_t f);
size_t mlp_table_dim(const mlp_table_t *t);
/* 1: features are bytes (decode x / 255). */
int mlp_table_is_u8(const mlp_table_t *t);
/* Rows in the file; SIZE_MAX when unknown until the end (CSV). */
size_t mlp_table_rows(const mlp_table_t *t);
/* The image shape (IDX with 3 dimensions), else 0, 0. */
void mlp_table_shape(const mlp_table_t *t, size_t *rows, size_t *cols);
/* 1: labels come as text (CSV), 0: as integers. */
int mlp_table_text_labels(const mlp_table_t *t);
const char *mlp_table_name(const mlp_table_t *t);

/*
 * The next rows, up to max: features into x8 (u8 tables: bytes) or xf
 * (floats: real values, or byte values of a u8 table when x8 is NULL);
 * labels into y (integers) or text (CSV), when labels are wanted.  *got <
 * max only at the end; at the end the files are checked for trailing
 * bytes.
 */
int mlp_table_next(mlp_table_t *t, size_t max, uint8_t *x8, float *xf,
                   int32_t *y, char (*text)[MLP_CSV_MAX_LABEL],
                   size_t *got);

/* 1 when the labels are an array apart from the features (IDX or .npy
 * labels file, an .npz's y.npy), so that they can be read without them. */
int mlp_table_labels_apart(const mlp_table_t *t);

/*
 * The labels of the next rows, up to max, without their features, for a
 * table whose labels are apart: the features' stream is left where it is
 * (never read to its end, so never checked for trailing bytes), and
 * mlp_table_next may not be called after it.  This is how a reader stops
 * at a limit yet judges the class count on every label (dataset.h).  At
 * the end the labels file is checked for trailing bytes.  MLP_EINVAL for
 * a table whose labels are in its rows (CSV).
 */
int mlp_table_next_labels(mlp_table_t *t, size_t max, int32_t *y,
                          size_t *got);

/*
 * The size and crc32 of the bytes on disk (input.h, mlp_input_file_sum)
 * of the features file ([0]) and of the labels file ([1]: the features
 * file's own when the labels are in it, a CSV's column or an .npz's
 * y.npy; 0 without labels).  The rest of each file is read, never
 * parsed: call it after the last row wanted; the table cannot be read
 * after it.
 */
int mlp_table_file_sums(mlp_table_t *t, uint64_t size[2], uint32_t crc[2]);

/* Close the table and its files; NULL is a no-op. */
void mlp_table_close(mlp_table_t *t);

#endif
