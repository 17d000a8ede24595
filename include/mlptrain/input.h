/*
 * input: the bytes of a data file, streamed, whatever wraps them.
 *
 * An input is a file opened through infile (regular files only), a gzip
 * stream inflated on the fly (recognised by its magic 1f 8b, never by its
 * name; concatenated members are read one after the other, as gunzip does),
 * one member of a zip archive (a NumPy .npz, read with libzip: zlib has no
 * zip reader; a member that another member also answers to in numpy.load
 * -- a second member of the same name, or `x` beside `x.npy` -- is
 * refused, so that NumPy and mlptrain always see the same array), or a
 * memory buffer (tests, fuzz drivers; gzip too).  Readers
 * (npy.c, csv.c, table.c) pull bytes with mlp_input_read and look ahead
 * with mlp_input_peek; memory use is one fixed buffer whatever the file's
 * size.  The decompressed bytes of one input are capped at
 * MLP_INPUT_MAX_BYTES (a decompression bomb is an error, not a hang).
 *
 * Errors: MLP_EIO (open/read), MLP_EFORMAT (a corrupt or truncated gzip
 * stream or zip member, a missing member, the cap), MLP_ENOMEM; messages
 * name the file (and the member).  One input is used by one thread.
 */
#ifndef MLPTRAIN_INPUT_H
#define MLPTRAIN_INPUT_H

#include <stddef.h>
#include <stdint.h>

#define MLP_INPUT_MAX_BYTES ((uint64_t)64 << 30)
/* The most bytes mlp_input_peek can look ahead. */
#define MLP_INPUT_PEEK_MAX 65536

typedef struct mlp_input mlp_input_t;

/* Open `path`, plain or gzip.  A zip archive is opened as is (its raw
 * bytes): check mlp_input_is_zip and use mlp_input_open_member. */
int mlp_input_open(const char *path, mlp_input_t **out);
/* The same over a buffer that must outlive the input. */
int mlp_input_open_mem(const uint8_t *buf, size_t len, const char *name,
                       mlp_input_t **out);
/* Member `member` of the zip archive `path` (stored or deflated).
 * MLP_EFORMAT naming both when the archive lacks it. */
int mlp_input_open_member(const char *path, const char *member,
                          mlp_input_t **out);

/* 1 when the file's raw bytes start with a zip local header "PK\3\4". */
int mlp_input_is_zip(const mlp_input_t *in);
/* The name for messages: the path, or "path (member)". */
const char *mlp_input_name(const mlp_input_t *in);

/* Look at the next n (<= MLP_INPUT_PEEK_MAX) bytes without consuming them:
 * *p points at them, *got < n only at the end of the data. */
int mlp_input_peek(mlp_input_t *in, size_t n, const uint8_t **p,
                   size_t *got);
/* Read up to n bytes; *got < n only at the end of the data. */
int mlp_input_read(mlp_input_t *in, void *buf, size_t n, size_t *got);
/* Bytes consumed so far (decompressed). */
uint64_t mlp_input_offset(const mlp_input_t *in);
/*
 * The most bytes the input can yield in all (decompressed): a plain file
 * or buffer its size, a zip member the size its archive records, a gzip
 * stream its compressed size times 1032 (deflate's largest ratio); never
 * more than MLP_INPUT_MAX_BYTES.  Readers check the sizes a header
 * declares against it before they allocate anything by them.
 */
uint64_t mlp_input_max_bytes(const mlp_input_t *in);
/* 1 when the bound above is exact (plain bytes, not gzip). */
int mlp_input_size_exact(const mlp_input_t *in);

/* Close; NULL is a no-op. */
void mlp_input_close(mlp_input_t *in);

#endif
