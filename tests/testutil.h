/*
 * testutil: helpers shared by the Check suites and tests/mkdata: temporary
 * directories, IDX writers and a small learnable synthetic dataset.
 * Test-only code; failures abort the test (ck_assert).
 */
#ifndef MLPTRAIN_TESTUTIL_H
#define MLPTRAIN_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "mlptrain/rng.h"

/* A new empty directory under $TMPDIR (or /tmp); returns a malloc'd path. */
char *tu_mkdtemp(void);
/* rm -rf the directory made by tu_mkdtemp, and free the path. */
void tu_rmtree(char *dir);
/* dir + "/" + name, malloc'd. */
char *tu_path(const char *dir, const char *name);

/*
 * The suites use only what ./bootstrap installs: fail the test, naming the
 * Debian package, unless path is a readable file (never a skip).
 */
void tu_need_file(const char *path, const char *package);

/*
 * Write an IDX file of unsigned bytes: dims[0..ndims-1], then the data
 * (product of dims bytes).  gzip: 1 to compress.  Returns 0 or -1.
 */
int tu_write_idx(const char *path, const uint32_t *dims, unsigned ndims,
                 const uint8_t *data, int gzip);
/* Write raw bytes to a file (for malformed cases).  Returns 0 or -1. */
int tu_write_bytes(const char *path, const void *buf, size_t len);
/* Read a whole file into a malloc'd buffer; NULL on failure. */
uint8_t *tu_read_bytes(const char *path, size_t *len);

/*
 * An IDX image in memory, as tu_write_idx writes it: header (type 0x08,
 * ndims, dims) then data (product of dims bytes; data may be NULL for
 * zeros).  Returns a malloc'd buffer of exactly *len bytes; aborts on
 * failure.
 */
uint8_t *tu_idx_bytes(const uint32_t *dims, unsigned ndims,
                      const uint8_t *data, size_t *len);
/* gzip len bytes in memory (one member); malloc'd, *out_len set; aborts on
 * failure. */
uint8_t *tu_gzip(const void *buf, size_t len, size_t *out_len);

/*
 * A learnable dataset: nclasses classes, rows x cols images; class k's
 * images are a fixed random prototype plus noise, so a linear model
 * separates them.  Writes the four IDX files (gzip or plain) into dir.
 * Returns 0 or -1.
 */
int tu_make_dataset(const char *dir, size_t ntrain, size_t ntest,
                    size_t rows, size_t cols, size_t nclasses,
                    uint64_t seed, int gzip);

/*
 * The byte-level mutations the parser fuzz tests share (a format's own
 * header mutations stay in its suite).  buf holds len bytes with room for
 * len + 16; v and pos are the caller's random draws (pos < len when len >
 * 0).  Returns the new length.
 */
enum { TU_FLIP_BIT, TU_RANDOM_BYTE, TU_TRUNCATE, TU_APPEND, TU_DROP_BYTE };
size_t tu_mutate(mlp_rng_t *r, uint8_t *buf, size_t len, int op, uint64_t v,
                 size_t pos);

/* 1 when this machine has bf16 (mlp_net_bf16_available); else 0, after
 * saying on stderr that `test` is skipped and why. */
int tu_bf16_here(const char *test);

/* Fill images (n, dim) and labels (n) as tu_make_dataset does, in memory. */
void tu_fill_samples(uint8_t *images, uint8_t *labels, size_t n, size_t dim,
                     size_t nclasses, uint64_t seed, uint64_t stream);

#endif
