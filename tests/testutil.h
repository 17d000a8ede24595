/*
 * testutil: helpers shared by the Check suites and tests/mkdata: a suite's
 * test cases, temporary directories, files and streams read whole, IDX
 * writers and readers through the road, a small learnable synthetic
 * dataset, the loader tests' splits, and the mutation run of the parser
 * fuzz tests.  (A suite group's own set-up is its *_fixture.c.)
 * Test-only code; failures abort the test (ck_assert).
 */
#ifndef MLPTRAIN_TESTUTIL_H
#define MLPTRAIN_TESTUTIL_H

#include <check.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#include "idx_ref.h"
#include "mlptrain/error.h"
#include "mlptrain/loader.h"
#include "mlptrain/rng.h"

/* The error message (mlp_error_message) names `what`: a file name, or
 * part of the problem.  A macro: a failure names the test's line. */
#define ck_assert_msg_has(what)                                          \
    ck_assert_msg(strstr(mlp_error_message(), (what)) != NULL,           \
                  "message '%s' lacks '%s'", mlp_error_message(), (what))

/* text contains each of the strings that follow it (ck_assert_has_all),
 * or none of them (ck_assert_has_none).  Macros: a failure names the
 * test's line. */
#define ck_assert_has_all(text, ...) tu_assert_has_(text, 1, __VA_ARGS__)
#define ck_assert_has_none(text, ...) tu_assert_has_(text, 0, __VA_ARGS__)
#define tu_assert_has_(text, want, ...)                                  \
    do {                                                                 \
        const char *const tu_s_[] = {__VA_ARGS__};                       \
        for (size_t tu_i_ = 0; tu_i_ < sizeof(tu_s_) / sizeof(tu_s_[0]); \
             tu_i_++)                                                    \
            ck_assert_msg((strstr((text), tu_s_[tu_i_]) != NULL) == (want), \
                          (want) ? "'%s' lacks '%s'" : "'%s' has '%s'",  \
                          (text), tu_s_[tu_i_]);                         \
    } while (0)

/* A test case named `name`, added to suite s, with a timeout of `seconds`
 * (0: Check's own; check_main.h multiplies either). */
TCase *tu_tcase(Suite *s, const char *name, double seconds);

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
/* n bytes (malloc'd, with room for one more) of the pattern
 * (uint8_t)(i * 37 + seed): data that a shifted or dropped byte changes. */
uint8_t *tu_pattern(size_t n, uint8_t seed);
/* Write raw bytes to a file (for malformed cases).  Returns 0 or -1. */
int tu_write_bytes(const char *path, const void *buf, size_t len);
/* Read a whole file into a malloc'd buffer; NULL on failure. */
uint8_t *tu_read_bytes(const char *path, size_t *len);
/* A whole file's text, NUL-terminated, malloc'd; fails the test when the
 * file cannot be read. */
char *tu_read_text(const char *path);
/* What was written to f (a tmpfile) up to its position, NUL-terminated,
 * malloc'd; f stays open. */
char *tu_stream_text(FILE *f);

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

/*
 * The mutation run the parser fuzz tests share.  A mutant is 1..3 rounds
 * of one random change each: a flipped bit, a random byte, the format's
 * own header change (`header`, drawn header_weight times as often as
 * each of the others), a truncation, 1..16 appended bytes, a dropped
 * byte; then `fix` (when not NULL: e.g. a checksum made right again);
 * then an exact-size heap copy of it (so that valgrind or ASan see a read
 * past its end) goes to `consistent`, which returns 0 when the parser's
 * outcome is consistent and sets *accepted.
 */
typedef struct {
    uint64_t seed;            /* the rng's seed (each run its stream) */
    unsigned header_weight;   /* >= 1 */
    /* change buf (len bytes, room for len + 16) as v says; new length */
    size_t (*header)(uint8_t *buf, size_t len, uint64_t v, void *arg);
    void (*fix)(uint8_t *buf, size_t len);
    int (*consistent)(const uint8_t *buf, size_t len, void *arg,
                      int *accepted);
    void *arg;
    const char *what;         /* names the run in a failure */
} tu_fuzz_t;
/* n mutants of base (len bytes), rng stream `stream`: fails the test at
 * the first inconsistent one; returns how many were accepted. */
int tu_fuzz_mutants(const tu_fuzz_t *f, const uint8_t *base, size_t len,
                    int n, uint64_t stream);
/* Every prefix of base (0..len bytes, f->fix applied): each consistent,
 * and only the whole accepted. */
void tu_fuzz_prefixes(const tu_fuzz_t *f, const uint8_t *base, size_t len);

/*
 * IDX bytes read through the one road every command takes (table.h over
 * input.h, idx.c for the format): as a features file, or (as_labels) as
 * the labels file of a generated features file of as many 1-byte rows as
 * its header declares (none when it has no header).  On success g->data
 * (malloc'd, the caller frees it) holds the g->count items of g->item
 * bytes (labels: one byte each); on failure it is NULL and the status is
 * the road's: MLP_EFORMAT (named "name: not IDX" when the bytes are not
 * IDX at all and the road would read them as another format), or
 * TU_ROAD_BROKEN when the road accepted a file and then gave fewer rows
 * than it declared or a label outside 0..255 (a bug).  The error message
 * is cleared first.
 */
typedef struct {
    size_t count, item;
    uint8_t *data;
} tu_got_t;
#define TU_ROAD_BROKEN (-1000)
int tu_idx_road(const uint8_t *buf, size_t len, const char *name,
                int as_labels, tu_got_t *g);
/* The same for a file on disk; *size and *crc (when not NULL) get the
 * table's sums of the IDX file (table.h, mlp_table_file_sums). */
int tu_idx_road_file(const char *path, int as_labels, tu_got_t *g,
                     uint64_t *size, uint32_t *crc);
/* 1 when this machine has bf16 (mlp_net_bf16_available); else 0, after
 * saying on stderr that `test` is skipped and why. */
int tu_bf16_here(const char *test);

/* Fill images (n, dim) and labels (n) as tu_make_dataset does, in memory. */
void tu_fill_samples(uint8_t *images, uint8_t *labels, size_t n, size_t dim,
                     size_t nclasses, uint64_t seed, uint64_t stream);

/*
 * A split for the loader's tests: n samples of dim bytes (dim >= 2 for
 * ids) filled as tu_fill_samples fills them (10 classes, seed 42,
 * `stream`), then sample i's first two bytes set to i (little endian), so
 * that a decoded row says which sample it is.
 */
typedef struct {
    uint8_t *images, *labels;
    mlp_split_t split;
} tu_split_t;
void tu_split_make(tu_split_t *t, size_t n, size_t dim, uint64_t stream);
void tu_split_free(tu_split_t *t);

/* The loader options the loader tests start from: train (and test when
 * not NULL), batches of TU_LOADER_BATCH, epochs from 1, seed 7,
 * shuffled, `workers` workers. */
#define TU_LOADER_BATCH 64
mlp_loader_opts_t tu_loader_opts(const tu_split_t *train,
                                 const tu_split_t *test, unsigned epochs,
                                 unsigned workers);

/* Run a whole schedule; every batch's metadata and bytes (floats, or bf16
 * with o->bf16) appended in one malloc'd buffer (*len bytes), for
 * byte-wise comparison. */
uint8_t *tu_loader_run_all(const mlp_loader_opts_t *o, size_t *len);

#endif
