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
 * header is trusted.  mlp_idx_read_file() reads a file, inflates it when it
 * is gzip (a truncated or corrupt stream is an error), and parses it.
 *
 * Bounds: only regular files are read (a FIFO, a device such as /dev/zero,
 * a directory is refused at once, see infile.h); a header that declares
 * more than MLP_IDX_MAX_DATA bytes of data is refused before anything is
 * allocated; a plain file's size must match its header before its data is
 * read; a .gz file may be at most MLP_IDX_MAX_DATA * 65 / 64 bytes, and is
 * inflated only as far as the header's declared size (one byte more is
 * trailing garbage), or, with a limit, only as far as the first `limit`
 * items: the rest of the stream is never inflated, so damage after them is
 * not seen (a plain file's length is still checked against its header).
 *
 * Errors: MLP_EIO (cannot open/read, not a regular file), MLP_EFORMAT (bad
 * content, a size above the caps), MLP_ENOMEM;
 * the message names the file and the problem.  Thread-safe (no shared state).
 */
#ifndef MLPTRAIN_IDX_H
#define MLPTRAIN_IDX_H

#include <stddef.h>
#include <stdint.h>

#define MLP_IDX_MAX_DIMS 4
/* The most data bytes a file may declare (4 GiB; Fashion-MNIST's largest
 * file holds 47 MB). */
#define MLP_IDX_MAX_DATA ((uint64_t)4 << 30)

typedef struct {
    unsigned ndims;                  /* 1..MLP_IDX_MAX_DIMS */
    uint32_t dims[MLP_IDX_MAX_DIMS]; /* dims[0] = item count */
    size_t count;                    /* dims[0] */
    size_t item_size;                /* product of dims[1..]: bytes per item */
    size_t loaded;                   /* items in data: count, or fewer when
                                        read with a limit */
    const uint8_t *data;             /* (loaded, item_size) */
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
 * Check an IDX header at the start of buf (len bytes available, perhaps
 * fewer than the file's): everything mlp_idx_parse checks but the data
 * length.  On success *r has ndims, dims, count and item_size (no data),
 * *hdr the header's bytes and *total the data bytes the header declares.
 * The one header check: mlp_idx_parse and the streaming table reader
 * (table.c) use it.
 */
int mlp_idx_parse_header(const uint8_t *buf, size_t len, const char *name,
                         mlp_idx_t *r, size_t *hdr, size_t *total);

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

/*
 * As mlp_idx_read_file, but keep only the first `limit` items (0 = all):
 * out->count is still the header's count, out->loaded the items in
 * out->data.  file_size and file_crc still describe the whole file on disk.
 */
int mlp_idx_read_file_limit(const char *path, size_t limit, mlp_idx_t *out);

/* Free what *idx owns and zero it; safe on a zeroed struct. */
void mlp_idx_free(mlp_idx_t *idx);

#endif
