/*
 * idx: the IDX file format (LeCun's MNIST format), strictly validated,
 * read row by row from an input (input.h: plain or gzip; the format is
 * told by the first bytes, never by the name, table.h).
 *
 * An IDX file is a big-endian header -- two zero bytes, a type byte (0x08 =
 * unsigned byte, the only type mlptrain accepts), a dimension count d, then d
 * uint32 sizes -- followed by the data, row-major, one byte per value: item
 * i (dimension 0) is the product of the other sizes in bytes.
 *
 * mlp_idx_parse_header() checks a header in memory: magic, type, dimension
 * count (1..4), no zero-sized inner dimension, sizes whose product
 * overflows.  mlp_idx_read_header() reads one from an input and checks
 * the data it declares before anything is sized by it: at most
 * MLP_IDX_MAX_DATA bytes, and no more than the input can yield (input.h);
 * a plain file (whose size is exact) must hold exactly the header's data,
 * no byte less (truncated) or more (trailing garbage).  Rows and labels
 * are then read in order, as far as the caller asks: a .gz file is
 * inflated only that far, so with a limit the rest of the stream is never
 * inflated (nor checked).  After the last item, mlp_idx_check_end says
 * whether anything follows.
 *
 * Errors: MLP_EFORMAT (bad content, a size above the caps, data cut
 * short), and what input.h returns; messages name the file and the
 * problem.  Thread-safe (no shared state); one input per thread.
 * Non-goals: IDX types other than unsigned bytes, writing IDX files
 * (tests/testutil.c does that for the tests).
 */
#ifndef MLPTRAIN_IDX_H
#define MLPTRAIN_IDX_H

#include <stddef.h>
#include <stdint.h>

#include "mlptrain/input.h"

#define MLP_IDX_MAX_DIMS 4
/* The most data bytes a file may declare (4 GiB; Fashion-MNIST's largest
 * file holds 47 MB). */
#define MLP_IDX_MAX_DATA ((uint64_t)4 << 30)

typedef struct {
    unsigned ndims;                  /* 1..MLP_IDX_MAX_DIMS */
    uint32_t dims[MLP_IDX_MAX_DIMS]; /* dims[0] = item count */
    size_t count;                    /* dims[0] */
    size_t item_size;                /* product of dims[1..]: bytes per
                                        item (1 for a labels file) */
} mlp_idx_header_t;

/*
 * Check an IDX header at the start of buf (len bytes available, perhaps
 * fewer than the file's).  On success *h is filled, *hdr is the header's
 * bytes and *total the data bytes it declares (count * item_size).
 * `name` is used in error messages (a file name; NULL means "<buffer>").
 * A count of zero is valid; a zero inner dimension is not.  On failure
 * (MLP_EFORMAT) *h is zeroed.
 */
int mlp_idx_parse_header(const uint8_t *buf, size_t len, const char *name,
                         mlp_idx_header_t *h, size_t *hdr, size_t *total);

/* Read and check the header at the start of `in` (above); after it, `in`
 * is at the first item. */
int mlp_idx_read_header(mlp_input_t *in, mlp_idx_header_t *h);

/*
 * The next `rows` items (row0 is the index of the first, for messages)
 * as bytes, (rows, item_size).  Data that ends before them is
 * MLP_EFORMAT naming the item.
 */
int mlp_idx_read_rows(mlp_input_t *in, const mlp_idx_header_t *h,
                      size_t row0, size_t rows, uint8_t *dst);

/* The same for a labels file (1 dimension): each byte as an integer. */
int mlp_idx_read_labels(mlp_input_t *in, const mlp_idx_header_t *h,
                        size_t row0, size_t rows, int32_t *dst);

/* After the last item: MLP_EFORMAT ("trailing garbage") when bytes follow
 * the data (a gzip stream's; a plain file's length was checked with its
 * header). */
int mlp_idx_check_end(mlp_input_t *in, const mlp_idx_header_t *h);

#endif
