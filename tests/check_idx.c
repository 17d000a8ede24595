/*
 * check_idx: IDX files through the one road every command takes (table
 * over input over infile, idx.c for the format; tu_idx_road) -- valid
 * files round-trip (plain and gzip, 1-d to 4-d, features and labels,
 * their sums on disk), and every malformed header, data length and gzip
 * stream is refused with MLP_EFORMAT and a message naming the file.
 *
 * Non-goals: mutations (check_idx_fuzz.c) and coverage-guided fuzzing
 * (fuzz/fuzz_idx.c); the dataset-level checks (check_dataset.c); the
 * other formats (check_readers.c).
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
#include "mlptrain/table.h"
#include "testutil.h"

/* ---- core ---------------------------------------------------------- */

START_TEST(test_parse_header)
{
    uint32_t d1[1] = {5}, d3[3] = {4, 3, 2}, d4[4] = {2, 3, 4, 5};
    uint32_t d0[3] = {0, 28, 28};
    size_t len, hdr, total;
    uint8_t *buf = tu_idx_bytes(d1, 1, NULL, &len);
    mlp_idx_header_t h;

    ck_assert_int_eq(mlp_idx_parse_header(buf, len, "l.idx", &h, &hdr,
                                          &total), 0);
    ck_assert_uint_eq(h.ndims, 1);
    ck_assert_uint_eq(h.count, 5);
    ck_assert_uint_eq(h.item_size, 1);
    ck_assert_uint_eq(hdr, 8);
    ck_assert_uint_eq(total, 5);
    free(buf);
    buf = tu_idx_bytes(d3, 3, NULL, &len);
    ck_assert_int_eq(mlp_idx_parse_header(buf, 16, "i.idx", &h, &hdr,
                                          &total), 0);
    ck_assert_uint_eq(h.dims[1], 3);
    ck_assert_uint_eq(h.dims[2], 2);
    ck_assert_uint_eq(h.item_size, 6);
    ck_assert_uint_eq(total, 24);
    free(buf);
    buf = tu_idx_bytes(d4, 4, NULL, &len);
    ck_assert_int_eq(mlp_idx_parse_header(buf, len, "i.idx", &h, &hdr,
                                          &total), 0);
    ck_assert_uint_eq(hdr, 20);
    ck_assert_uint_eq(h.item_size, 60);
    free(buf);
    /* A count of zero is a valid, empty file; only inner sizes must be
     * > 0. */
    buf = tu_idx_bytes(d0, 3, NULL, &len);
    ck_assert_int_eq(mlp_idx_parse_header(buf, len, "e.idx", &h, &hdr,
                                          &total), 0);
    ck_assert_uint_eq(h.count, 0);
    ck_assert_uint_eq(h.item_size, 784);
    free(buf);
}
END_TEST

/* Shapes for the file round-trip, run plain and gzip. */
static const struct {
    unsigned ndims;
    uint32_t dims[4];
} shapes[] = {{1, {17}}, {3, {9, 5, 7}}, {3, {300, 28, 28}}, {4, {2, 2, 3, 3}},
              {2, {0, 6}}};
#define NSHAPES (sizeof(shapes) / sizeof(shapes[0]))

/* Every item as written, whatever the wrapping, and the file's size and
 * crc32 on disk. */
START_TEST(test_read_file_roundtrip)
{
    unsigned s = (unsigned)_i % NSHAPES;
    int gz = _i >= (int)NSHAPES;
    char *dir = tu_mkdtemp();
    char *path = tu_path(dir, gz ? "f.idx.gz" : "f.idx");
    size_t n = 1, disk_len;
    uint8_t *data, *disk;
    uint64_t size;
    uint32_t crc;
    tu_got_t g;

    for (unsigned i = 0; i < shapes[s].ndims; i++)
        n *= shapes[s].dims[i];
    data = tu_pattern(n, (uint8_t)_i);
    ck_assert_int_eq(tu_write_idx(path, shapes[s].dims, shapes[s].ndims, data,
                                  gz), 0);
    disk = tu_read_bytes(path, &disk_len);
    ck_assert_ptr_nonnull(disk);
    ck_assert_int_eq(disk[0] == 0x1f && disk[1] == 0x8b, gz);

    ck_assert_int_eq(tu_idx_road_file(path, shapes[s].ndims == 1, &g, &size, &crc),
                     0);
    ck_assert_uint_eq(g.count, shapes[s].dims[0]);
    ck_assert_uint_eq(g.count * g.item, n);
    if (n > 0)
        ck_assert_mem_eq(g.data, data, n);
    ck_assert_uint_eq(size, disk_len);
    ck_assert_uint_eq(crc, (uint32_t)crc32(0, disk, (uInt)disk_len));
    free(g.data);
    free(disk);
    free(data);
    free(path);
    tu_rmtree(dir);
}
END_TEST

/* Gzip is found by its magic, not by the name; a plain file named .gz is
 * plain. */
START_TEST(test_read_gzip_by_magic)
{
    char *dir = tu_mkdtemp();
    char *a = tu_path(dir, "noext"), *b = tu_path(dir, "plain.gz");
    uint32_t dims[1] = {3};
    uint8_t lab[3] = {9, 8, 7};
    tu_got_t g;

    ck_assert_int_eq(tu_write_idx(a, dims, 1, lab, 1), 0);
    ck_assert_int_eq(tu_write_idx(b, dims, 1, lab, 0), 0);
    ck_assert_int_eq(tu_idx_road_file(a, 1, &g, NULL, NULL), 0);
    ck_assert_uint_eq(g.count, 3);
    ck_assert_mem_eq(g.data, lab, 3);
    free(g.data);
    ck_assert_int_eq(tu_idx_road_file(b, 1, &g, NULL, NULL), 0);
    ck_assert_mem_eq(g.data, lab, 3);
    free(g.data);
    free(a);
    free(b);
    tu_rmtree(dir);
}
END_TEST

/*
 * Concatenated members read as their concatenation, as with gunzip(1),
 * however the members cut the file: here the header and most of the data
 * in the first, the last ten bytes in the second.
 */
START_TEST(test_gzip_concatenated)
{
    uint32_t dims[3] = {50, 40, 40};
    size_t len, l1, l2;
    uint8_t *data = tu_pattern(80000, 3), *idx, *g1, *g2, *cat;
    tu_got_t g;

    idx = tu_idx_bytes(dims, 3, data, &len);
    g1 = tu_gzip(idx, len - 10, &l1);
    g2 = tu_gzip(idx + len - 10, 10, &l2);
    cat = malloc(l1 + l2);
    ck_assert_ptr_nonnull(cat);
    memcpy(cat, g1, l1);
    memcpy(cat + l1, g2, l2);
    ck_assert_int_eq(tu_idx_road(cat, l1 + l2, "cat.gz", 0, &g), 0);
    ck_assert_uint_eq(g.count, 50);
    ck_assert_uint_eq(g.item, 1600);
    ck_assert_mem_eq(g.data, data, 80000);
    free(g.data);
    /* An empty member between them changes nothing. */
    {
        size_t l0;
        uint8_t *g0 = tu_gzip("", 0, &l0), *cat3 = malloc(l1 + l0 + l2);

        ck_assert_ptr_nonnull(cat3);
        memcpy(cat3, g1, l1);
        memcpy(cat3 + l1, g0, l0);
        memcpy(cat3 + l1 + l0, g2, l2);
        ck_assert_int_eq(tu_idx_road(cat3, l1 + l0 + l2, "cat3.gz", 0, &g), 0);
        ck_assert_mem_eq(g.data, data, 80000);
        free(g.data);
        free(g0);
        free(cat3);
    }
    free(cat);
    free(g1);
    free(g2);
    free(idx);
    free(data);
}
END_TEST

/* Data deflate cannot squeeze (half random bytes, half runs) inflates
 * exactly; an empty member inflates to nothing. */
START_TEST(test_gzip_random)
{
    uint32_t dims[1] = {200000}, d0[1] = {0};
    size_t n = 200000, len, gzlen;
    uint8_t *data = malloc(n), *idx, *gz;
    mlp_rng_t r;
    tu_got_t g;

    ck_assert_ptr_nonnull(data);
    mlp_rng_seed(&r, 1, 2);
    for (size_t i = 0; i < n; i++)
        data[i] = i < n / 2 ? (uint8_t)mlp_rng_u64(&r) : (uint8_t)(i / 1000);
    idx = tu_idx_bytes(dims, 1, data, &len);
    gz = tu_gzip(idx, len, &gzlen);
    ck_assert_int_eq(tu_idx_road(gz, gzlen, "g.gz", 1, &g), 0);
    ck_assert_uint_eq(g.count, n);
    ck_assert_mem_eq(g.data, data, n);
    free(g.data);
    free(gz);
    free(idx);
    idx = tu_idx_bytes(d0, 1, NULL, &len);
    gz = tu_gzip(idx, len, &gzlen);
    ck_assert_int_eq(tu_idx_road(gz, gzlen, "e.gz", 1, &g), 0);
    ck_assert_uint_eq(g.count, 0);
    free(g.data);
    free(gz);
    free(idx);
    free(data);
}
END_TEST

/* ---- errors -------------------------------------------------------- */

/* Through the road, features (and, for 1-d buffers, labels too): expect
 * MLP_EFORMAT with a message holding the name and `want`. */
static void expect_error(const uint8_t *buf, size_t len, const char *want)
{
    tu_got_t g;

    for (int lab = 0; lab < 2; lab++) {
        if (lab && !(len >= 4 && buf[3] == 1))
            continue;
        ck_assert_int_eq(tu_idx_road(buf, len, "bad.idx", lab, &g), MLP_EFORMAT);
        ck_assert_msg_has("bad.idx");
        ck_assert_msg_has(want);
        ck_assert_ptr_null(g.data);
    }
}

/* The header check itself, on a buffer: MLP_EFORMAT, `want`, *h zeroed. */
static void expect_header_error(const uint8_t *buf, size_t len,
                                const char *want)
{
    mlp_idx_header_t h;
    size_t hdr, total;

    memset(&h, 0xab, sizeof(h));
    mlp_error_clear();
    ck_assert_int_eq(mlp_idx_parse_header(buf, len, "bad.idx", &h, &hdr,
                                          &total), MLP_EFORMAT);
    ck_assert_msg_has("bad.idx");
    ck_assert_msg_has(want);
    ck_assert_uint_eq(h.count, 0);
    ck_assert_uint_eq(h.ndims, 0);
}

/* Not IDX at all: the header check says why; the road reads such bytes
 * as what they start like (a zip archive, CSV text) and refuses them. */
START_TEST(test_bad_magic)
{
    static const uint8_t zip[8] = {'P', 'K', 3, 4, 0, 0, 0, 0};
    static const uint8_t one[9] = {1, 0, 8, 1, 0, 0, 0, 1, 0};
    static const uint8_t two[9] = {0, 1, 8, 1, 0, 0, 0, 1, 0};
    tu_got_t g;

    expect_header_error(zip, sizeof(zip), "bad magic 0x504b0304");
    expect_header_error(one, sizeof(one), "bad magic 0x01000801");
    expect_header_error(two, sizeof(two), "bad magic 0x00010801");
    ck_assert_msg_has("0x0000080N");
    ck_assert_int_eq(tu_idx_road(zip, sizeof(zip), "bad.idx", 0, &g), MLP_EFORMAT);
    ck_assert_msg_has("bad.idx");
    ck_assert_int_eq(tu_idx_road(one, sizeof(one), "bad.idx", 0, &g), MLP_EFORMAT);
    ck_assert_msg_has("bad.idx");
    ck_assert_int_eq(tu_idx_road(two, sizeof(two), "bad.idx", 0, &g), MLP_EFORMAT);
    ck_assert_msg_has("bad.idx");
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
        expect_error(buf, sizeof(buf), want);
        ck_assert_msg_has("not supported");
    }
    buf[2] = 0x0d;
    expect_error(buf, sizeof(buf), "(float)");
}
END_TEST

START_TEST(test_bad_ndims)
{
    uint8_t buf[4 + 20 + 1] = {0, 0, 8, 0};

    expect_error(buf, 4, "0 dimensions");
    buf[3] = 5;
    for (int i = 0; i < 5; i++)
        buf[7 + 4 * i] = 1; /* all sizes 1: only the count is wrong */
    expect_error(buf, sizeof(buf), "5 dimensions, expected 1 to 4");
    buf[3] = 0xff;
    expect_error(buf, sizeof(buf), "255 dimensions");
}
END_TEST

START_TEST(test_zero_inner_dim)
{
    uint32_t d3[3] = {3, 0, 2}, d4[4] = {1, 2, 3, 0};
    size_t len;
    uint8_t *buf = tu_idx_bytes(d3, 3, NULL, &len);

    expect_error(buf, len, "dimension 2 of 3x0x2 is zero");
    free(buf);
    buf = tu_idx_bytes(d4, 4, NULL, &len);
    expect_error(buf, len, "dimension 4 of 1x2x3x0 is zero");
    free(buf);
}
END_TEST

START_TEST(test_short_header)
{
    static const uint8_t three[8] = {0, 0, 8, 3, 0, 0, 0, 1};
    static const uint8_t four[19] = {0, 0, 8, 4};
    static const uint8_t tiny[3] = {0, 0, 8};

    expect_error(three, sizeof(three),
                 "truncated header: 3 dimensions need 16 header bytes, "
                 "file has 8");
    expect_error(four, sizeof(four), "need 20 header bytes, file has 19");
    expect_error(tiny, sizeof(tiny), "too short");
    expect_header_error(tiny, 0, "empty file");
}
END_TEST

/* A plain file's length is checked with its header, before any data. */
START_TEST(test_truncated_and_trailing)
{
    uint32_t dims[3] = {3, 2, 2}, d1[1] = {5};
    uint8_t *data = tu_pattern(13, 1);
    size_t len, l1;
    uint8_t *buf = tu_idx_bytes(dims, 3, data, &len), *big;
    uint8_t *lab = tu_idx_bytes(d1, 1, data, &l1);

    expect_error(buf, len - 1,
                 "truncated: the IDX header declares 12 bytes of data "
                 "(3x2x2), the file holds 11");
    expect_error(buf, 16, "the file holds 0");
    expect_error(lab, l1 - 2, "truncated: the IDX header declares 5 bytes of data "
                 "(5), the file holds 3");
    big = malloc(len + 3);
    ck_assert_ptr_nonnull(big);
    memcpy(big, buf, len);
    memset(big + len, 0, 3);
    expect_error(big, len + 1, "trailing garbage: the IDX header declares 12 "
                 "bytes of data (3x2x2), the file holds 13");
    expect_error(big, len + 3, "the file holds 15");
    free(big);
    free(buf);
    free(lab);
    free(data);
}
END_TEST

/* Sizes whose product overflows size_t are refused before any arithmetic;
 * a declared size is checked against the cap and the file before
 * anything is allocated by it. */
START_TEST(test_dims_overflow)
{
    uint8_t h[20] = {0, 0, 8, 4};

    memset(h + 4, 0xff, 16); /* every size 2^32 - 1 */
    expect_error(h, 20, "dimensions 4294967295x4294967295x4294967295x"
                        "4294967295 describe more data than can be "
                        "addressed");
    h[3] = 3;
    expect_error(h, 16, "more data than can be addressed");
#if SIZE_MAX > 0xffffffffu
    h[3] = 2; /* (2^32 - 1)^2 fits in 64 bits: above the cap */
    expect_error(h, 12, "the IDX header declares 18446744065119617025 bytes "
                        "of data (4294967295x4294967295), more than the "
                        "limit of 4294967296 bytes");
#endif
}
END_TEST

START_TEST(test_read_missing)
{
    char *dir = tu_mkdtemp(), *path = tu_path(dir, "nope.gz");
    tu_got_t g;

    ck_assert_int_eq(tu_idx_road_file(path, 0, &g, NULL, NULL), MLP_EIO);
    ck_assert_msg_has("cannot open '");
    ck_assert_msg_has(path);
    ck_assert_msg_has("No such file or directory");
    ck_assert_int_eq(tu_idx_road_file(path, 1, &g, NULL, NULL), MLP_EIO);
    ck_assert_msg_has(path);
    /* A directory is not a regular file. */
    ck_assert_int_eq(tu_idx_road_file(dir, 0, &g, NULL, NULL), MLP_EIO);
    ck_assert_msg_has("cannot read '");
    ck_assert_msg_has(dir);
    free(path);
    tu_rmtree(dir);
}
END_TEST

/* Write `buf` to dir/name, read it through the road (features, or labels
 * for a 1-d header), expect `status` and `want`. */
static void expect_file_error(const char *dir, const char *name,
                              const void *buf, size_t len, int as_labels,
                              int status, const char *want)
{
    char *path = tu_path(dir, name);
    tu_got_t g;

    ck_assert_int_eq(tu_write_bytes(path, buf, len), 0);
    ck_assert_int_eq(tu_idx_road_file(path, as_labels, &g, NULL, NULL), status);
    ck_assert_msg_has(path);
    ck_assert_msg_has(want);
    ck_assert_ptr_null(g.data);
    free(path);
}

START_TEST(test_read_file_malformed)
{
    char *dir = tu_mkdtemp();
    uint32_t dims[3] = {3, 2, 2};
    uint8_t *data = tu_pattern(12, 9);
    size_t len, gzlen;
    uint8_t *idx = tu_idx_bytes(dims, 3, data, &len), *gz;

    expect_file_error(dir, "short.idx", idx, len - 1, 0, MLP_EFORMAT,
                      "truncated: the IDX header declares 12 bytes");
    expect_file_error(dir, "empty.idx", idx, 0, 0, MLP_EFORMAT,
                      "empty file");
    /* Malformed IDX inside a valid gzip stream: seen at the end. */
    gz = tu_gzip(idx, len + 1, &gzlen);
    expect_file_error(dir, "long.idx.gz", gz, gzlen, 0, MLP_EFORMAT,
                      "trailing garbage: the IDX header declares 12 "
                      "bytes");
    free(gz);
    gz = tu_gzip(idx, len - 1, &gzlen);
    expect_file_error(dir, "cut.idx.gz", gz, gzlen, 0, MLP_EFORMAT,
                      "truncated: the IDX header declares 12 bytes of "
                      "data (3x2x2), the file holds 11");
    free(gz);
    idx[2] = 0x0c;
    gz = tu_gzip(idx, len, &gzlen);
    expect_file_error(dir, "int.idx.gz", gz, gzlen, 0, MLP_EFORMAT,
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
    uint32_t dims[3] = {20, 10, 10}, d1[1] = {300};
    uint8_t *data = tu_pattern(2000, 5), *disk;
    size_t disk_len, cuts[7];

    for (int lab = 0; lab < 2; lab++) {
        ck_assert_int_eq(lab ? tu_write_idx(path, d1, 1, data, 1)
                             : tu_write_idx(path, dims, 3, data, 1), 0);
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
        for (int i = 0; i < 7; i++)
            expect_file_error(dir, "t.idx.gz", disk, cuts[i], lab,
                              MLP_EFORMAT, "truncated gzip stream");
        free(disk);
    }
    free(data);
    free(path);
    tu_rmtree(dir);
}
END_TEST

START_TEST(test_corrupt_gzip)
{
    char *dir = tu_mkdtemp();
    uint32_t dims[3] = {20, 10, 10};
    uint8_t *data = tu_pattern(2000, 5), *idx, *gz, *bad;
    size_t len, gzlen;

    idx = tu_idx_bytes(dims, 3, data, &len);
    gz = tu_gzip(idx, len, &gzlen);
    bad = malloc(gzlen);
    ck_assert_ptr_nonnull(bad);

    /* First body byte: block type 3 does not exist. */
    memcpy(bad, gz, gzlen);
    bad[10] |= 0x06;
    expect_file_error(dir, "btype.gz", bad, gzlen, 0, MLP_EFORMAT,
                      "corrupt gzip stream: invalid block type");
    /* Trailer: CRC-32, then ISIZE. */
    memcpy(bad, gz, gzlen);
    bad[gzlen - 8] ^= 0x01;
    expect_file_error(dir, "crc.gz", bad, gzlen, 0, MLP_EFORMAT,
                      "corrupt gzip stream: incorrect data check");
    memcpy(bad, gz, gzlen);
    bad[gzlen - 4] ^= 0x01;
    expect_file_error(dir, "isize.gz", bad, gzlen, 0, MLP_EFORMAT,
                      "corrupt gzip stream: incorrect length check");
    /* Header: compression method other than deflate. */
    memcpy(bad, gz, gzlen);
    bad[2] = 7;
    expect_file_error(dir, "method.gz", bad, gzlen, 0, MLP_EFORMAT,
                      "corrupt gzip stream: unknown compression method");
    /* Bytes flipped in the middle of the deflate body: some error. */
    for (size_t off = 12; off < gzlen - 10; off += 3) {
        memcpy(bad, gz, gzlen);
        bad[off] ^= 0xff;
        bad[off + 1] ^= 0x5a;
        expect_file_error(dir, "body.gz", bad, gzlen, 0, MLP_EFORMAT, "");
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
 * stream far shorter than its header declares (or a bomb) gives the first
 * items, and reading on sees the short data.  A header that declares
 * more than MLP_IDX_MAX_DATA is refused before any data is read.
 */
START_TEST(test_read_limit_and_cap)
{
    uint32_t dims[3] = {5, 2, 2};
    uint8_t *data = tu_pattern(20, 3), *idx, *gz, x[24];
    size_t len, gzlen, got;
    mlp_table_opts_t o;
    mlp_table_t *t;

    idx = tu_idx_bytes(dims, 3, data, &len);
    idx[4] = 0, idx[5] = 0, idx[6] = 0x03, idx[7] = 0xe8; /* 1000 items */
    gz = tu_gzip(idx, len, &gzlen);
    memset(&o, 0, sizeof(o));
    o.path = "lim.gz";
    ck_assert_int_eq(mlp_table_open_mem(&o, gz, gzlen, NULL, 0, &t), 0);
    ck_assert_uint_eq(mlp_table_rows(t), 1000);
    ck_assert_int_eq(mlp_table_next(t, 3, x, NULL, NULL, NULL, &got), 0);
    ck_assert_uint_eq(got, 3);
    ck_assert_mem_eq(x, data, 12);
    mlp_error_clear();
    ck_assert_int_eq(mlp_table_next(t, 3, x, NULL, NULL, NULL, &got),
                     MLP_EFORMAT);
    ck_assert_msg_has("lim.gz: truncated: the IDX header declares 4000 "
                      "bytes of data (1000x2x2), the file holds 20");
    mlp_table_close(t);
    free(gz);

    idx[4] = idx[5] = idx[6] = idx[7] = 0xff; /* 17 GB declared */
    gz = tu_gzip(idx, len, &gzlen);
    mlp_error_clear();
    ck_assert_int_eq(mlp_table_open_mem(&o, gz, gzlen, NULL, 0, &t),
                     MLP_EFORMAT);
    ck_assert_msg_has("the IDX header declares 17179869180 bytes of data "
                      "(4294967295x2x2), more than the limit of 4294967296 "
                      "bytes");
    /* Below the cap but beyond what the stream can hold. */
    idx[4] = idx[5] = idx[7] = 0, idx[6] = 0x10; /* 4096 x 2 x 2, from
                                                     30-odd bytes */
    free(gz);
    gz = tu_gzip(idx, 16, &gzlen);
    mlp_error_clear();
    ck_assert_int_eq(mlp_table_open_mem(&o, gz, gzlen, NULL, 0, &t), 0);
    mlp_table_close(t);
    idx[5] = 0x10, idx[6] = 0; /* 2^20 items of 4 bytes: more than 1032
                                  times its size */
    free(gz);
    gz = tu_gzip(idx, 16, &gzlen);
    ck_assert_int_eq(mlp_table_open_mem(&o, gz, gzlen, NULL, 0, &t),
                     MLP_EFORMAT);
    ck_assert_msg_has("too short: the IDX header declares 4194304 bytes "
                      "of data (1048576x2x2), its gzip data can hold at "
                      "most");
    free(gz);
    free(idx);
    free(data);
}
END_TEST

START_TEST(test_gzip_trailing_garbage)
{
    uint32_t dims[1] = {4};
    uint8_t lab[4] = {1, 2, 3, 4}, *idx, *gz, *buf;
    size_t len, gzlen;
    tu_got_t g;

    idx = tu_idx_bytes(dims, 1, lab, &len);
    gz = tu_gzip(idx, len, &gzlen);
    buf = calloc(1, gzlen + 4);
    ck_assert_ptr_nonnull(buf);
    memcpy(buf, gz, gzlen);
    ck_assert_int_eq(tu_idx_road(buf, gzlen, "ok.gz", 1, &g), 0);
    free(g.data);
    ck_assert_int_eq(tu_idx_road(buf, gzlen + 4, "zeros.gz", 1, &g), MLP_EFORMAT);
    ck_assert_msg_has("zeros.gz: trailing bytes after the gzip stream");
    buf[gzlen] = 0x1f; /* one byte of a magic is not a member */
    ck_assert_int_eq(tu_idx_road(buf, gzlen + 1, "one.gz", 1, &g), MLP_EFORMAT);
    ck_assert_msg_has("one.gz: trailing bytes after the gzip stream");
    buf[gzlen + 1] = 0x8b; /* a magic alone is a truncated member */
    ck_assert_int_eq(tu_idx_road(buf, gzlen + 2, "magic.gz", 1, &g), MLP_EFORMAT);
    ck_assert_msg_has("magic.gz: truncated gzip stream");
    free(buf);
    free(gz);
    free(idx);
}
END_TEST

Suite *idx_suite(void);

Suite *idx_suite(void)
{
    Suite *s = suite_create("idx");
    TCase *core = tu_tcase(s, "core", 0);
    TCase *errors = tu_tcase(s, "errors", 0);

    tcase_add_test(core, test_parse_header);
    tcase_add_loop_test(core, test_read_file_roundtrip, 0, 2 * NSHAPES);
    tcase_add_test(core, test_read_gzip_by_magic);
    tcase_add_test(core, test_gzip_concatenated);
    tcase_add_test(core, test_gzip_random);

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
    return s;
}

MLP_CHECK_MAIN(idx_suite)
