/*
 * check_idx: the IDX reader -- valid files round-trip (plain and gzip, 1-d to
 * 4-d), every malformed header, data length and gzip stream is refused with
 * MLP_EFORMAT and a message naming the file, and a deterministic mutation
 * run ("fuzz") shows the parser never accepts an inconsistent buffer.
 *
 * Non-goals: coverage-guided fuzzing (fuzz/fuzz_idx.c does that under
 * libFuzzer); the dataset-level checks (check_dataset.c).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "check_main.h"
#include "mlptrain/error.h"
#include "mlptrain/idx.h"
#include "mlptrain/rng.h"
#include "testutil.h"

/* The message names `what` (a file name, or part of the problem). */
#define ck_assert_msg_has(what)                                          \
    ck_assert_msg(strstr(mlp_error_message(), (what)) != NULL,           \
                  "message '%s' lacks '%s'", mlp_error_message(), (what))

static uint8_t *pattern(size_t n, uint8_t seed)
{
    uint8_t *p = malloc(n + 1);

    ck_assert_ptr_nonnull(p);
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(i * 37 + seed);
    return p;
}

static int parse_bytes(const void *buf, size_t len, mlp_idx_t *x)
{
    mlp_error_clear();
    return mlp_idx_parse(buf, len, "bad.idx", x);
}

/* ---- core ---------------------------------------------------------- */

START_TEST(test_parse_1d)
{
    uint32_t dims[1] = {5};
    uint8_t labels[5] = {3, 1, 4, 1, 5};
    size_t len;
    uint8_t *buf = tu_idx_bytes(dims, 1, labels, &len);
    mlp_idx_t x;

    ck_assert_uint_eq(len, 8 + 5);
    ck_assert_int_eq(mlp_idx_parse(buf, len, "l.idx", &x), 0);
    ck_assert_uint_eq(x.ndims, 1);
    ck_assert_uint_eq(x.dims[0], 5);
    ck_assert_uint_eq(x.count, 5);
    ck_assert_uint_eq(x.item_size, 1);
    ck_assert_ptr_eq(x.data, buf + 8);
    ck_assert_ptr_null(x.owned);
    ck_assert_mem_eq(x.data, labels, 5);
    mlp_idx_free(&x); /* borrowed: frees nothing */
    free(buf);
}
END_TEST

START_TEST(test_parse_3d_4d)
{
    uint32_t d3[3] = {4, 3, 2}, d4[4] = {2, 3, 4, 5};
    uint8_t *data = pattern(120, 7);
    size_t len;
    uint8_t *buf = tu_idx_bytes(d3, 3, data, &len);
    mlp_idx_t x;

    ck_assert_int_eq(mlp_idx_parse(buf, len, "i.idx", &x), 0);
    ck_assert_uint_eq(x.ndims, 3);
    ck_assert_uint_eq(x.count, 4);
    ck_assert_uint_eq(x.item_size, 6);
    ck_assert_uint_eq(x.dims[1], 3);
    ck_assert_uint_eq(x.dims[2], 2);
    ck_assert_ptr_eq(x.data, buf + 16);
    ck_assert_mem_eq(x.data, data, 24);
    free(buf);

    buf = tu_idx_bytes(d4, 4, data, &len);
    ck_assert_int_eq(mlp_idx_parse(buf, len, "i.idx", &x), 0);
    ck_assert_uint_eq(x.ndims, 4);
    ck_assert_uint_eq(x.count, 2);
    ck_assert_uint_eq(x.item_size, 60);
    ck_assert_ptr_eq(x.data, buf + 20);
    ck_assert_mem_eq(x.data, data, 120);
    free(buf);
    free(data);
}
END_TEST

/* A count of zero is a valid, empty file; only inner sizes must be > 0. */
START_TEST(test_parse_zero_count)
{
    uint32_t dims[3] = {0, 28, 28};
    size_t len;
    uint8_t *buf = tu_idx_bytes(dims, 3, NULL, &len);
    mlp_idx_t x;

    ck_assert_int_eq(mlp_idx_parse(buf, len, "e.idx", &x), 0);
    ck_assert_uint_eq(x.count, 0);
    ck_assert_uint_eq(x.item_size, 784);
    free(buf);
}
END_TEST

/* Shapes for the file round-trip, run plain and gzip. */
static const struct {
    unsigned ndims;
    uint32_t dims[4];
} shapes[] = {{1, {17}}, {3, {9, 5, 7}}, {3, {300, 28, 28}}, {4, {2, 2, 3, 3}}};
#define NSHAPES (sizeof(shapes) / sizeof(shapes[0]))

START_TEST(test_read_file_roundtrip)
{
    unsigned s = (unsigned)_i % NSHAPES;
    int gz = _i >= (int)NSHAPES;
    char *dir = tu_mkdtemp();
    char *path = tu_path(dir, gz ? "f.idx.gz" : "f.idx");
    size_t n = 1, disk_len;
    uint8_t *data, *disk;
    mlp_idx_t x;

    for (unsigned i = 0; i < shapes[s].ndims; i++)
        n *= shapes[s].dims[i];
    data = pattern(n, (uint8_t)_i);
    ck_assert_int_eq(tu_write_idx(path, shapes[s].dims, shapes[s].ndims, data,
                                  gz), 0);
    disk = tu_read_bytes(path, &disk_len);
    ck_assert_ptr_nonnull(disk);
    ck_assert_int_eq(disk[0] == 0x1f && disk[1] == 0x8b, gz);

    ck_assert_int_eq(mlp_idx_read_file(path, &x), 0);
    ck_assert_uint_eq(x.ndims, shapes[s].ndims);
    ck_assert_uint_eq(x.count, shapes[s].dims[0]);
    ck_assert_uint_eq(x.count * x.item_size, n);
    ck_assert_ptr_nonnull(x.owned);
    ck_assert_ptr_eq(x.data, x.owned);
    ck_assert_uint_eq(x.loaded, x.count);
    ck_assert_mem_eq(x.data, data, n);
    ck_assert_uint_eq(x.file_size, disk_len);
    ck_assert_uint_eq(x.file_crc, (uint32_t)crc32(0, disk, (uInt)disk_len));
    mlp_idx_free(&x);
    ck_assert_ptr_null(x.owned);
    ck_assert_ptr_null(x.data);
    ck_assert_uint_eq(x.count, 0);

    free(disk);
    free(data);
    free(path);
    tu_rmtree(dir);
}
END_TEST

/* Gzip is found by its magic, not by the name. */
START_TEST(test_read_gzip_without_suffix)
{
    char *dir = tu_mkdtemp();
    char *path = tu_path(dir, "noext");
    uint32_t dims[1] = {3};
    uint8_t lab[3] = {9, 8, 7};
    mlp_idx_t x;

    ck_assert_int_eq(tu_write_idx(path, dims, 1, lab, 1), 0);
    ck_assert_int_eq(mlp_idx_read_file(path, &x), 0);
    ck_assert_uint_eq(x.count, 3);
    ck_assert_mem_eq(x.data, lab, 3);
    mlp_idx_free(&x);
    free(path);
    tu_rmtree(dir);
}
END_TEST

START_TEST(test_gunzip_roundtrip)
{
    size_t n = 200000, gzlen, outlen;
    uint8_t *data = malloc(n), *gz, *out;
    mlp_rng_t r;

    ck_assert_ptr_nonnull(data);
    mlp_rng_seed(&r, 1, 2);
    for (size_t i = 0; i < n; i++) /* half random, half runs */
        data[i] = i < n / 2 ? (uint8_t)mlp_rng_u64(&r) : (uint8_t)(i / 1000);
    gz = tu_gzip(data, n, &gzlen);
    ck_assert_uint_lt(gzlen, n);
    ck_assert_int_eq(mlp_idx_gunzip(gz, gzlen, "g.gz", &out, &outlen), 0);
    ck_assert_uint_eq(outlen, n);
    ck_assert_mem_eq(out, data, n);
    free(out);
    free(gz);

    /* An empty member inflates to nothing. */
    gz = tu_gzip("", 0, &gzlen);
    ck_assert_int_eq(mlp_idx_gunzip(gz, gzlen, "g.gz", &out, &outlen), 0);
    ck_assert_uint_eq(outlen, 0);
    free(out);
    free(gz);
    free(data);
}
END_TEST

/*
 * Concatenated members inflate to the concatenation, as with gunzip(1).  The
 * first member is the large one, so the size hint (the last member's ISIZE)
 * is too small and the output buffer must grow.
 */
START_TEST(test_gunzip_concatenated)
{
    uint32_t dims[3] = {50, 40, 40};
    size_t len, l1, l2, outlen;
    uint8_t *data = pattern(80000, 3), *idx, *g1, *g2, *cat, *out;
    char *dir = tu_mkdtemp(), *path = tu_path(dir, "cat.gz");
    mlp_idx_t x;

    idx = tu_idx_bytes(dims, 3, data, &len);
    g1 = tu_gzip(idx, len - 10, &l1);
    g2 = tu_gzip(idx + len - 10, 10, &l2);
    cat = malloc(l1 + l2);
    ck_assert_ptr_nonnull(cat);
    memcpy(cat, g1, l1);
    memcpy(cat + l1, g2, l2);
    ck_assert_int_eq(mlp_idx_gunzip(cat, l1 + l2, "cat.gz", &out, &outlen), 0);
    ck_assert_uint_eq(outlen, len);
    ck_assert_mem_eq(out, idx, len);
    free(out);

    ck_assert_int_eq(tu_write_bytes(path, cat, l1 + l2), 0);
    ck_assert_int_eq(mlp_idx_read_file(path, &x), 0);
    ck_assert_uint_eq(x.count, 50);
    ck_assert_uint_eq(x.item_size, 1600);
    ck_assert_mem_eq(x.data, data, 80000);
    ck_assert_uint_eq(x.file_size, l1 + l2);
    mlp_idx_free(&x);

    free(cat);
    free(g1);
    free(g2);
    free(idx);
    free(data);
    free(path);
    tu_rmtree(dir);
}
END_TEST

START_TEST(test_free_zeroed)
{
    mlp_idx_t x;

    memset(&x, 0, sizeof(x));
    mlp_idx_free(&x);
    mlp_idx_free(&x);
    mlp_idx_free(NULL);
    ck_assert_ptr_null(x.owned);
}
END_TEST

/* ---- errors -------------------------------------------------------- */

/* Parse `buf` and expect MLP_EFORMAT with a message holding name and want. */
static void expect_parse_error(const uint8_t *buf, size_t len,
                               const char *want)
{
    mlp_idx_t x;
    int rc;

    memset(&x, 0xab, sizeof(x));
    rc = parse_bytes(buf, len, &x);
    ck_assert_int_eq(rc, MLP_EFORMAT);
    ck_assert_msg_has("bad.idx");
    ck_assert_msg_has(want);
    ck_assert_ptr_null(x.data); /* *out is zeroed on failure */
    ck_assert_uint_eq(x.count, 0);
}

START_TEST(test_bad_magic)
{
    static const uint8_t zip[8] = {'P', 'K', 3, 4, 0, 0, 0, 0};
    static const uint8_t one[9] = {1, 0, 8, 1, 0, 0, 0, 1, 0};
    static const uint8_t two[9] = {0, 1, 8, 1, 0, 0, 0, 1, 0};

    expect_parse_error(zip, sizeof(zip), "bad magic 0x504b0304");
    expect_parse_error(one, sizeof(one), "bad magic 0x01000801");
    expect_parse_error(two, sizeof(two), "bad magic 0x00010801");
    ck_assert_msg_has("0x0000080N");
}
END_TEST

START_TEST(test_bad_type)
{
    static const uint8_t types[] = {0x00, 0x09, 0x0b, 0x0c, 0x0d, 0x0e, 0xff};
    uint8_t buf[9] = {0, 0, 0, 1, 0, 0, 0, 1, 42};
    char want[32];

    for (size_t i = 0; i < sizeof(types); i++) {
        buf[2] = types[i];
        snprintf(want, sizeof(want), "bad magic 0x0000%02x01", types[i]);
        expect_parse_error(buf, sizeof(buf), want);
        ck_assert_msg_has("not supported");
    }
    buf[2] = 0x0d;
    expect_parse_error(buf, sizeof(buf), "(float)");
}
END_TEST

START_TEST(test_bad_ndims)
{
    uint8_t buf[4 + 20 + 1] = {0, 0, 8, 0};

    expect_parse_error(buf, 4, "0 dimensions");
    buf[3] = 5;
    for (int i = 0; i < 5; i++)
        buf[7 + 4 * i] = 1; /* all sizes 1: only the count is wrong */
    expect_parse_error(buf, sizeof(buf), "5 dimensions, expected 1 to 4");
    buf[3] = 0xff;
    expect_parse_error(buf, sizeof(buf), "255 dimensions");
}
END_TEST

START_TEST(test_zero_inner_dim)
{
    uint32_t d3[3] = {3, 0, 2}, d4[4] = {1, 2, 3, 0};
    size_t len;
    uint8_t *buf = tu_idx_bytes(d3, 3, NULL, &len);

    expect_parse_error(buf, len, "dimension 2 of 3x0x2 is zero");
    free(buf);
    buf = tu_idx_bytes(d4, 4, NULL, &len);
    expect_parse_error(buf, len, "dimension 4 of 1x2x3x0 is zero");
    free(buf);
}
END_TEST

START_TEST(test_short_header)
{
    static const uint8_t three[8] = {0, 0, 8, 3, 0, 0, 0, 1};
    static const uint8_t four[19] = {0, 0, 8, 4};
    static const uint8_t tiny[3] = {0, 0, 8};

    expect_parse_error(three, sizeof(three),
                       "truncated header: 3 dimensions need 16 header bytes, "
                       "file has 8");
    expect_parse_error(four, sizeof(four), "need 20 header bytes, file has 19");
    expect_parse_error(tiny, sizeof(tiny), "too short");
    expect_parse_error(tiny, 0, "empty file");
}
END_TEST

START_TEST(test_truncated_and_trailing)
{
    uint32_t dims[3] = {3, 2, 2};
    uint8_t *data = pattern(13, 1);
    size_t len;
    uint8_t *buf = tu_idx_bytes(dims, 3, data, &len), *big;

    expect_parse_error(buf, len - 1,
                       "truncated: header says 12 bytes of data (3x2x2), "
                       "file has 11");
    expect_parse_error(buf, 16, "file has 0");
    big = malloc(len + 3);
    ck_assert_ptr_nonnull(big);
    memcpy(big, buf, len);
    memset(big + len, 0, 3);
    expect_parse_error(big, len + 1, "trailing garbage: header says 12 bytes "
                       "of data (3x2x2), file has 13");
    expect_parse_error(big, len + 3, "file has 15");
    free(big);
    free(buf);
    free(data);
}
END_TEST

/* Sizes whose product overflows size_t are refused before any arithmetic. */
START_TEST(test_dims_overflow)
{
    uint8_t h[20] = {0, 0, 8, 4};

    memset(h + 4, 0xff, 16); /* every size 2^32 - 1 */
    expect_parse_error(h, 20, "dimensions 4294967295x4294967295x4294967295x"
                              "4294967295 describe more data than can be "
                              "addressed");
    h[3] = 3;
    expect_parse_error(h, 16, "more data than can be addressed");
#if SIZE_MAX > 0xffffffffu
    h[3] = 2; /* (2^32 - 1)^2 fits in 64 bits: merely truncated */
    expect_parse_error(h, 12, "truncated: header says 18446744065119617025 "
                              "bytes");
#endif
}
END_TEST

START_TEST(test_read_missing)
{
    char *dir = tu_mkdtemp(), *path = tu_path(dir, "nope.gz");
    mlp_idx_t x;

    memset(&x, 0x5a, sizeof(x));
    ck_assert_int_eq(mlp_idx_read_file(path, &x), MLP_EIO);
    ck_assert_msg_has("cannot open '");
    ck_assert_msg_has(path);
    ck_assert_msg_has("No such file or directory");
    ck_assert_ptr_null(x.owned);
    ck_assert_uint_eq(x.file_size, 0);

    /* A directory opens but cannot be read. */
    ck_assert_int_eq(mlp_idx_read_file(dir, &x), MLP_EIO);
    ck_assert_msg_has("cannot read '");
    ck_assert_msg_has(dir);
    free(path);
    tu_rmtree(dir);
}
END_TEST

/* Write `buf` to dir/name, read it back, expect `status` and `want`. */
static void expect_file_error(const char *dir, const char *name,
                              const void *buf, size_t len, int status,
                              const char *want)
{
    char *path = tu_path(dir, name);
    mlp_idx_t x;

    ck_assert_int_eq(tu_write_bytes(path, buf, len), 0);
    mlp_error_clear();
    ck_assert_int_eq(mlp_idx_read_file(path, &x), status);
    ck_assert_msg_has(path);
    ck_assert_msg_has(want);
    ck_assert_ptr_null(x.owned);
    free(path);
}

START_TEST(test_read_file_malformed)
{
    char *dir = tu_mkdtemp();
    uint32_t dims[3] = {3, 2, 2};
    uint8_t *data = pattern(12, 9);
    size_t len, gzlen;
    uint8_t *idx = tu_idx_bytes(dims, 3, data, &len), *gz;

    expect_file_error(dir, "short.idx", idx, len - 1, MLP_EFORMAT,
                      "truncated: header says 12 bytes");
    expect_file_error(dir, "empty.idx", idx, 0, MLP_EFORMAT, "empty file");
    /* Malformed IDX inside a valid gzip stream. */
    gz = tu_gzip(idx, len + 1, &gzlen);
    expect_file_error(dir, "long.idx.gz", gz, gzlen, MLP_EFORMAT,
                      "trailing garbage: header says 12 bytes");
    free(gz);
    idx[2] = 0x0c;
    gz = tu_gzip(idx, len, &gzlen);
    expect_file_error(dir, "int.idx.gz", gz, gzlen, MLP_EFORMAT,
                      "bad magic 0x00000c03");
    free(gz);
    free(idx);
    free(data);
    tu_rmtree(dir);
}
END_TEST

/* A .gz file cut short anywhere -- header, body, trailer -- is truncated. */
START_TEST(test_truncated_gzip)
{
    char *dir = tu_mkdtemp(), *path = tu_path(dir, "t.idx.gz");
    uint32_t dims[3] = {20, 10, 10};
    uint8_t *data = pattern(2000, 5), *disk;
    size_t disk_len;
    size_t cuts[7];

    ck_assert_int_eq(tu_write_idx(path, dims, 3, data, 1), 0);
    disk = tu_read_bytes(path, &disk_len);
    ck_assert_ptr_nonnull(disk);
    ck_assert_uint_gt(disk_len, 40);
    cuts[0] = 2;
    cuts[1] = 5;
    cuts[2] = 10;
    cuts[3] = disk_len / 2;
    cuts[4] = disk_len - 8; /* all of the deflate data, no trailer */
    cuts[5] = disk_len - 3;
    cuts[6] = disk_len - 1;
    for (int i = 0; i < 7; i++) {
        uint8_t *out;
        size_t outlen;

        expect_file_error(dir, "t.idx.gz", disk, cuts[i], MLP_EFORMAT,
                          "truncated gzip stream");
        mlp_error_clear();
        ck_assert_int_eq(mlp_idx_gunzip(disk, cuts[i], "cut.gz", &out,
                                        &outlen), MLP_EFORMAT);
        ck_assert_ptr_null(out);
        ck_assert_msg_has("cut.gz: truncated gzip stream");
    }
    free(disk);
    free(data);
    free(path);
    tu_rmtree(dir);
}
END_TEST

START_TEST(test_corrupt_gzip)
{
    char *dir = tu_mkdtemp();
    uint32_t dims[3] = {20, 10, 10};
    uint8_t *data = pattern(2000, 5), *idx, *gz, *bad;
    size_t len, gzlen;

    idx = tu_idx_bytes(dims, 3, data, &len);
    gz = tu_gzip(idx, len, &gzlen);
    bad = malloc(gzlen);
    ck_assert_ptr_nonnull(bad);

    /* First body byte: block type 3 does not exist. */
    memcpy(bad, gz, gzlen);
    bad[10] |= 0x06;
    expect_file_error(dir, "btype.gz", bad, gzlen, MLP_EFORMAT,
                      "corrupt gzip data: invalid block type");
    /* Trailer: CRC-32, then ISIZE. */
    memcpy(bad, gz, gzlen);
    bad[gzlen - 8] ^= 0x01;
    expect_file_error(dir, "crc.gz", bad, gzlen, MLP_EFORMAT,
                      "corrupt gzip data: incorrect data check");
    memcpy(bad, gz, gzlen);
    bad[gzlen - 4] ^= 0x01;
    expect_file_error(dir, "isize.gz", bad, gzlen, MLP_EFORMAT,
                      "corrupt gzip data: incorrect length check");
    /* Header: compression method other than deflate. */
    memcpy(bad, gz, gzlen);
    bad[2] = 7;
    expect_file_error(dir, "method.gz", bad, gzlen, MLP_EFORMAT,
                      "corrupt gzip data: unknown compression method");
    /* Bytes flipped in the middle of the deflate body: some error. */
    for (size_t off = 12; off < gzlen - 10; off += 3) {
        memcpy(bad, gz, gzlen);
        bad[off] ^= 0xff;
        bad[off + 1] ^= 0x5a;
        expect_file_error(dir, "body.gz", bad, gzlen, MLP_EFORMAT, "gzip");
    }
    free(bad);
    free(gz);
    free(idx);
    free(data);
    tu_rmtree(dir);
}
END_TEST

/*
 * With a limit, a .gz file is inflated only as far as the first items: a
 * stream far shorter than its header declares (or a bomb) loads the
 * limited items, and the whole read sees the short data.  A header that
 * declares more than MLP_IDX_MAX_DATA is refused before any data is read.
 */
START_TEST(test_read_limit_and_cap)
{
    char *dir = tu_mkdtemp(), *path = tu_path(dir, "lim.gz");
    uint32_t dims[3] = {5, 2, 2};
    uint8_t *data = pattern(20, 3), *idx, *gz;
    size_t len, gzlen;
    mlp_idx_t x;

    idx = tu_idx_bytes(dims, 3, data, &len);
    idx[4] = 0, idx[5] = 0, idx[6] = 0x03, idx[7] = 0xe8; /* 1000 items */
    gz = tu_gzip(idx, len, &gzlen);
    ck_assert_int_eq(tu_write_bytes(path, gz, gzlen), 0);
    ck_assert_int_eq(mlp_idx_read_file_limit(path, 3, &x), 0);
    ck_assert_uint_eq(x.count, 1000);
    ck_assert_uint_eq(x.loaded, 3);
    ck_assert_mem_eq(x.data, data, 12);
    ck_assert_uint_eq(x.file_size, gzlen);
    mlp_idx_free(&x);
    ck_assert_int_eq(mlp_idx_read_file_limit(path, 6, &x), MLP_EFORMAT);
    ck_assert_msg_has("truncated: header says 4000 bytes of data "
                      "(1000x2x2), file has 20");
    ck_assert_int_eq(mlp_idx_read_file(path, &x), MLP_EFORMAT);
    ck_assert_msg_has("truncated: header says 4000 bytes");
    free(gz);

    idx[4] = idx[5] = idx[6] = idx[7] = 0xff; /* 17 GB declared */
    gz = tu_gzip(idx, len, &gzlen);
    ck_assert_int_eq(tu_write_bytes(path, gz, gzlen), 0);
    ck_assert_int_eq(mlp_idx_read_file_limit(path, 3, &x), MLP_EFORMAT);
    ck_assert_msg_has("the header declares 17179869180 bytes of data "
                      "(4294967295x2x2), more than the limit of 4294967296 "
                      "bytes");
    ck_assert_ptr_null(x.owned);
    free(gz);
    free(idx);
    free(data);
    free(path);
    tu_rmtree(dir);
}
END_TEST

START_TEST(test_gzip_trailing_garbage)
{
    char *dir = tu_mkdtemp();
    uint32_t dims[1] = {4};
    uint8_t lab[4] = {1, 2, 3, 4}, *idx, *gz, *buf;
    size_t len, gzlen;

    idx = tu_idx_bytes(dims, 1, lab, &len);
    gz = tu_gzip(idx, len, &gzlen);
    buf = calloc(1, gzlen + 4);
    ck_assert_ptr_nonnull(buf);
    memcpy(buf, gz, gzlen);
    expect_file_error(dir, "zeros.gz", buf, gzlen + 4, MLP_EFORMAT,
                      "4 bytes of trailing garbage after the gzip data");
    buf[gzlen] = 0x1f; /* one byte of a magic is not a member */
    expect_file_error(dir, "one.gz", buf, gzlen + 1, MLP_EFORMAT,
                      "1 bytes of trailing garbage");
    buf[gzlen + 1] = 0x8b; /* a magic alone is a truncated member */
    expect_file_error(dir, "magic.gz", buf, gzlen + 2, MLP_EFORMAT,
                      "truncated gzip stream");
    free(buf);
    free(gz);
    free(idx);
    tu_rmtree(dir);
}
END_TEST

START_TEST(test_gunzip_not_gzip)
{
    static const uint8_t plain[8] = {0, 0, 8, 1, 0, 0, 0, 0};
    uint8_t *out = (uint8_t *)1;
    size_t outlen = 99;

    ck_assert_int_eq(mlp_idx_gunzip(plain, sizeof(plain), "p.idx", &out,
                                    &outlen), MLP_EFORMAT);
    ck_assert_msg_has("p.idx: not gzip data");
    ck_assert_ptr_null(out);
    ck_assert_uint_eq(outlen, 0);
    ck_assert_int_eq(mlp_idx_gunzip(plain, 0, "p.idx", &out, &outlen),
                     MLP_EFORMAT);
}
END_TEST

/* ---- fuzz: deterministic mutations ---------------------------------- */

/*
 * Parse a mutant; 0 when the result is consistent: either success with
 * header + count * item_size == len and fields that agree with each other,
 * or MLP_EFORMAT with a message naming the buffer.
 */
static int parse_consistent(const uint8_t *buf, size_t len, int *accepted)
{
    mlp_idx_t x;
    size_t item = 1, hdr;
    int rc;

    mlp_error_clear();
    rc = mlp_idx_parse(buf, len, "mutant", &x);
    if (rc != 0) {
        *accepted = 0;
        return !(rc == MLP_EFORMAT &&
                 strncmp(mlp_error_message(), "mutant: ", 8) == 0 &&
                 strlen(mlp_error_message()) > 8);
    }
    *accepted = 1;
    if (x.ndims < 1 || x.ndims > MLP_IDX_MAX_DIMS)
        return 1;
    hdr = 4 + 4 * (size_t)x.ndims;
    for (unsigned i = 1; i < x.ndims; i++)
        item *= x.dims[i];
    return !(buf[0] == 0 && buf[1] == 0 && buf[2] == 8 && buf[3] == x.ndims &&
             x.count == x.dims[0] && x.item_size == item && item > 0 &&
             hdr + x.count * x.item_size == len && x.data == buf + hdr &&
             x.owned == NULL);
}

/* Gunzip a mutant, then parse what it inflates to; 0 when consistent. */
static int gunzip_consistent(const uint8_t *buf, size_t len, int *accepted)
{
    uint8_t *out = NULL;
    size_t outlen = 0;
    int rc, bad;

    mlp_error_clear();
    rc = mlp_idx_gunzip(buf, len, "mutant", &out, &outlen);
    if (rc != 0) {
        *accepted = 0;
        return !((rc == MLP_EFORMAT || rc == MLP_ENOMEM) && out == NULL &&
                 strncmp(mlp_error_message(), "mutant: ", 8) == 0 &&
                 strlen(mlp_error_message()) > 8);
    }
    bad = parse_consistent(out, outlen, accepted);
    free(out);
    return bad;
}

/* One random change to buf (len bytes, room for len + 16); returns new len. */
static size_t mutate(mlp_rng_t *r, uint8_t *buf, size_t len, int gz)
{
    static const uint32_t sizes[] = {0, 1, 2, 3, 4, 12, 255, 0x7fffffff,
                                     0x80000000u, 0xffffffffu};
    uint64_t v = mlp_rng_u64(r);
    size_t pos = len ? (size_t)(mlp_rng_u64(r) % len) : 0;

    switch (v % 6) {
    case 0:
        return tu_mutate(r, buf, len, TU_FLIP_BIT, v, pos);
    case 1:
        return tu_mutate(r, buf, len, TU_RANDOM_BYTE, v, pos);
    case 2: /* a header field: type, ndims, a size; for gzip, a flag byte */
        if (gz) {
            if (len > 3)
                buf[3] = (uint8_t)(v >> 8);
            return len;
        }
        switch (v >> 8 & 3) {
        case 0:
            if (len > 2)
                buf[2] = (uint8_t)(v >> 16);
            break;
        case 1:
            if (len > 3)
                buf[3] = (uint8_t)(v >> 16 & 7);
            break;
        default: {
            size_t at = 4 + 4 * (size_t)(v >> 16 & 3);
            uint32_t s = sizes[(v >> 24) % (sizeof(sizes) / sizeof(sizes[0]))];
            for (int b = 0; b < 4 && at + (size_t)b < len; b++)
                buf[at + (size_t)b] = (uint8_t)(s >> (24 - 8 * b));
        }
        }
        return len;
    case 3:
        return tu_mutate(r, buf, len, TU_TRUNCATE, v, pos);
    case 4:
        return tu_mutate(r, buf, len, TU_APPEND, v, pos);
    default:
        return tu_mutate(r, buf, len, TU_DROP_BYTE, v, pos);
    }
}

/*
 * Each mutant gets its own exact-size heap copy so that valgrind or ASan
 * would see a read past its end.
 */
static void run_mutants(const uint8_t *base, size_t len, int gz, int n,
                        uint64_t stream, int *naccepted)
{
    mlp_rng_t r;
    uint8_t *work = malloc(len + 16 * 4);

    ck_assert_ptr_nonnull(work);
    mlp_rng_seed(&r, 2024, stream);
    for (int i = 0; i < n; i++) {
        size_t wlen = len;
        int rounds = 1 + (int)(mlp_rng_u64(&r) % 3), bad, accepted;
        uint8_t *copy;

        memcpy(work, base, len);
        for (int k = 0; k < rounds; k++)
            wlen = mutate(&r, work, wlen, gz);
        copy = malloc(wlen ? wlen : 1);
        ck_assert_ptr_nonnull(copy);
        memcpy(copy, work, wlen);
        bad = gz ? gunzip_consistent(copy, wlen, &accepted)
                 : parse_consistent(copy, wlen, &accepted);
        free(copy);
        if (bad)
            ck_abort_msg("mutant %d (%s, %zu bytes) handled inconsistently: "
                         "'%s'", i, gz ? "gzip" : "plain", wlen,
                         mlp_error_message());
        *naccepted += accepted;
    }
    free(work);
}

START_TEST(test_fuzz_plain)
{
    uint32_t d3[3] = {3, 2, 2}, d1[1] = {6};
    uint8_t *data = pattern(12, 11), *b3, *b1;
    size_t l3, l1;
    int acc3 = 0, acc1 = 0;

    b3 = tu_idx_bytes(d3, 3, data, &l3);
    b1 = tu_idx_bytes(d1, 1, data, &l1);
    run_mutants(b3, l3, 0, 3000, 1, &acc3);
    run_mutants(b1, l1, 0, 2000, 2, &acc1);
    /* Some mutants (data bytes changed) stay valid; most do not. */
    ck_assert_int_gt(acc3, 100);
    ck_assert_int_lt(acc3, 2000);
    ck_assert_int_gt(acc1, 100);
    free(b3);
    free(b1);
    free(data);
}
END_TEST

START_TEST(test_fuzz_gzip)
{
    uint32_t d3[3] = {3, 2, 2};
    uint8_t *data = pattern(12, 11), *idx, *gz;
    size_t len, gzlen;
    int acc = 0;

    idx = tu_idx_bytes(d3, 3, data, &len);
    gz = tu_gzip(idx, len, &gzlen);
    run_mutants(gz, gzlen, 1, 3000, 3, &acc);
    /* The CRC catches almost every change to the body; header flag
     * mutations that zlib tolerates (FTEXT, OS byte) stay valid. */
    ck_assert_int_gt(acc, 0);
    ck_assert_int_lt(acc, 1500);
    free(gz);
    free(idx);
    free(data);
}
END_TEST

/* Every strict prefix of a valid file is refused, plain and gzip. */
START_TEST(test_fuzz_prefixes)
{
    uint32_t d3[3] = {3, 2, 2};
    uint8_t *data = pattern(12, 11), *idx, *gz;
    size_t len, gzlen;

    idx = tu_idx_bytes(d3, 3, data, &len);
    gz = tu_gzip(idx, len, &gzlen);
    for (size_t n = 0; n <= len; n++) {
        uint8_t *copy = malloc(n ? n : 1);
        int accepted, bad;

        ck_assert_ptr_nonnull(copy);
        memcpy(copy, idx, n);
        bad = parse_consistent(copy, n, &accepted);
        free(copy);
        ck_assert_msg(!bad, "prefix %zu: '%s'", n, mlp_error_message());
        ck_assert_int_eq(accepted, n == len);
    }
    for (size_t n = 0; n <= gzlen; n++) {
        uint8_t *copy = malloc(n ? n : 1);
        int accepted, bad;

        ck_assert_ptr_nonnull(copy);
        memcpy(copy, gz, n);
        bad = gunzip_consistent(copy, n, &accepted);
        free(copy);
        ck_assert_msg(!bad, "gzip prefix %zu: '%s'", n, mlp_error_message());
        ck_assert_int_eq(accepted, n == gzlen);
    }
    free(gz);
    free(idx);
    free(data);
}
END_TEST

Suite *idx_suite(void);

Suite *idx_suite(void)
{
    Suite *s = suite_create("idx");
    TCase *core = tcase_create("core");
    TCase *errors = tcase_create("errors");
    TCase *fuzz = tcase_create("fuzz");

    tcase_add_test(core, test_parse_1d);
    tcase_add_test(core, test_parse_3d_4d);
    tcase_add_test(core, test_parse_zero_count);
    tcase_add_loop_test(core, test_read_file_roundtrip, 0, 2 * NSHAPES);
    tcase_add_test(core, test_read_gzip_without_suffix);
    tcase_add_test(core, test_gunzip_roundtrip);
    tcase_add_test(core, test_gunzip_concatenated);
    tcase_add_test(core, test_free_zeroed);
    suite_add_tcase(s, core);

    tcase_add_test(errors, test_bad_magic);
    tcase_add_test(errors, test_bad_type);
    tcase_add_test(errors, test_bad_ndims);
    tcase_add_test(errors, test_zero_inner_dim);
    tcase_add_test(errors, test_short_header);
    tcase_add_test(errors, test_truncated_and_trailing);
    tcase_add_test(errors, test_dims_overflow);
    tcase_add_test(errors, test_read_missing);
    tcase_add_test(errors, test_read_file_malformed);
    tcase_add_test(errors, test_truncated_gzip);
    tcase_add_test(errors, test_corrupt_gzip);
    tcase_add_test(errors, test_gzip_trailing_garbage);
    tcase_add_test(errors, test_read_limit_and_cap);
    tcase_add_test(errors, test_gunzip_not_gzip);
    suite_add_tcase(s, errors);

    tcase_add_test(fuzz, test_fuzz_plain);
    tcase_add_test(fuzz, test_fuzz_gzip);
    tcase_add_test(fuzz, test_fuzz_prefixes);
    tcase_set_timeout(fuzz, 30); /* valgrind runs are slow */
    suite_add_tcase(s, fuzz);
    return s;
}

MLP_CHECK_MAIN(idx_suite)
