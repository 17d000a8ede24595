/*
 * npy: NumPy's .npy format (version 1, 2 or 3), strictly validated, read
 * row by row from an input (input.h: plain, .gz, or an .npz member).
 *
 * A file is the magic "\x93NUMPY", a version, a header length, and a
 * Python dict literal {'descr': ..., 'fortran_order': False, 'shape': (...)}
 * (keys in any order, nothing else), then the array in C order.  Accepted:
 * little-endian or byte-sized dtypes ('|u1' '<f4' '<f8' for features; the
 * integer kinds '|u1' '|i1' '<i2' '<u2' '<i4' '<u4' '<i8' '<u8' for labels),
 * fortran_order False, shape (n, d) for features and (n,) for labels.
 * Refused, naming the file: big-endian data, objects, strings, structured
 * dtypes, Fortran order, other ranks, a header that is not exactly such a
 * dict, a shape whose data (n * d * itemsize) is more than the input can
 * hold (input.h: a plain file's bytes after the header; a gzip stream's
 * most), checked before any row is read, truncated data, bytes after the
 * array.  Conversion errors (NaN or
 * infinite features, labels that are negative or above MLP_NPY_MAX_LABEL)
 * name the file, the row and the column (0-based).
 *
 * Errors: MLP_EFORMAT (and what input.h returns).  Thread-safe (no shared
 * state); one input per thread.
 */
#ifndef MLPTRAIN_NPY_H
#define MLPTRAIN_NPY_H

#include <stddef.h>
#include <stdint.h>

#include "mlptrain/input.h"

#define MLP_NPY_MAGIC "\x93NUMPY"
/* The longest header dict accepted (NumPy pads to 64 bytes; its own limit
 * for version 1 is 65535). */
#define MLP_NPY_MAX_HEADER 65536
#define MLP_NPY_MAX_LABEL 65535

typedef enum {
    MLP_NPY_U1, MLP_NPY_I1, MLP_NPY_I2, MLP_NPY_U2, MLP_NPY_I4, MLP_NPY_U4,
    MLP_NPY_I8, MLP_NPY_U8, MLP_NPY_F4, MLP_NPY_F8
} mlp_npy_dtype_t;

typedef struct {
    mlp_npy_dtype_t dtype;
    char descr[32];      /* as written, e.g. "<f4" */
    size_t elsize;       /* bytes per value */
    unsigned ndim;       /* 1 or 2 */
    size_t n;            /* shape[0] */
    size_t d;            /* shape[1]; 1 when ndim == 1 */
} mlp_npy_header_t;

/* 1 when the dtype is a float kind. */
int mlp_npy_is_float(mlp_npy_dtype_t t);

/* Parse the dict text of a header (between the length and the data). */
int mlp_npy_parse_dict(const char *text, size_t len, const char *name,
                       mlp_npy_header_t *h);

/* Read and check the magic, version, length and dict from the start of
 * `in`; after it, `in` is at the first value. */
int mlp_npy_read_header(mlp_input_t *in, mlp_npy_header_t *h);

/*
 * The next `rows` rows (row0 is the index of the first, for messages) of a
 * features array as floats, (rows, d): f4 as is, f8 rounded to float, u1
 * as the byte value (the caller scales).  A NaN or infinity (also an f8
 * outside float's range) is MLP_EFORMAT naming row and column.  Truncated
 * data is MLP_EFORMAT naming the row.
 */
int mlp_npy_read_f32(mlp_input_t *in, const mlp_npy_header_t *h,
                     size_t row0, size_t rows, float *dst);
/* The same for a '|u1' features array, as bytes. */
int mlp_npy_read_u8(mlp_input_t *in, const mlp_npy_header_t *h,
                    size_t row0, size_t rows, uint8_t *dst);
/* The next `rows` labels of an integer (n,) array. */
int mlp_npy_read_labels(mlp_input_t *in, const mlp_npy_header_t *h,
                        size_t row0, size_t rows, int32_t *dst);
/* After the last row: MLP_EFORMAT when bytes follow the array. */
int mlp_npy_check_end(mlp_input_t *in);

#endif
