/*
 * idx: the IDX file format (LeCun's MNIST format), strictly validated.
 *
 * An IDX file is a big-endian header -- two zero bytes, a type byte (0x08 =
 * unsigned byte, the only type mlptrain accepts), a dimension count d, then d
 * uint32 sizes -- followed by the data, row-major, one byte per value.
 * Files may be gzip-compressed; the reader recognises gzip by its magic bytes,
 * not by the file name.
 *
 * mlp_idx_parse() checks a buffer: magic, type, dimension count (1..4), no
 * zero-sized inner dimension, the product of sizes against the bytes that
 * follow (too few: truncated; too many: trailing garbage).  Nothing past a bad
 * header is trusted.  mlp_idx_read_file() reads a whole file, inflates it when
 * it is gzip (a truncated or corrupt stream is an error), and parses it.
 *
 * Errors: MLP_EIO (cannot open/read), MLP_EFORMAT (bad content), MLP_ENOMEM;
 * the message names the file and the problem.  Thread-safe (no shared state).
 */
#ifndef MLPTRAIN_IDX_H
#define MLPTRAIN_IDX_H

#include <stddef.h>
#include <stdint.h>

#define MLP_IDX_MAX_DIMS 4

typedef struct {
    unsigned ndims;                  /* 1..MLP_IDX_MAX_DIMS */
    uint32_t dims[MLP_IDX_MAX_DIMS]; /* dims[0] = item count */
    size_t count;                    /* dims[0] */
    size_t item_size;                /* product of dims[1..]: bytes per item */
    const uint8_t *data;             /* (count, item_size) */
    uint8_t *owned;                  /* buffer to free, NULL if borrowed */
    /* Provenance of a file read from disk, for logs. */
    uint64_t file_size;              /* bytes on disk (compressed) */
    uint32_t file_crc;               /* zlib crc32 of the bytes on disk */
} mlp_idx_t;

/*
 * Parse an IDX image in memory.  On success *out describes it and out->data
 * points into buf (out->owned is NULL): buf must outlive *out.  `name` is used
 * in error messages (a file name; NULL means "<buffer>").  A count of zero is
 * valid; a zero inner dimension is not.  On failure (MLP_EFORMAT) *out is
 * zeroed.
 */
int mlp_idx_parse(const uint8_t *buf, size_t len, const char *name,
                  mlp_idx_t *out);

/*
 * Inflate a gzip buffer into a new malloc'd buffer (*out, *out_len).  A buffer
 * that is not gzip is an MLP_EFORMAT error.  Concatenated gzip members are
 * inflated one after the other, as gunzip(1) does; any other bytes after the
 * last member, a truncated or corrupt stream, and output above 4 GiB (a
 * decompression bomb) are MLP_EFORMAT errors.  On failure *out is NULL.  Used
 * by mlp_idx_read_file and the fuzz drivers.
 */
int mlp_idx_gunzip(const uint8_t *buf, size_t len, const char *name,
                   uint8_t **out, size_t *out_len);

/*
 * Read `path` (plain or gzip) and parse it.  On success *out owns its data;
 * release it with mlp_idx_free().  On failure *out is zeroed.
 */
int mlp_idx_read_file(const char *path, mlp_idx_t *out);

/* Free what *idx owns and zero it; safe on a zeroed struct. */
void mlp_idx_free(mlp_idx_t *idx);

#endif
