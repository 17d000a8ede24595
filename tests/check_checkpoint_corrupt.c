/*
 * Tests of checkpoint's refusals: every kind of corrupt file (the
 * envelope, each field, version 2's options text and state), a long
 * options text, and a deterministic fuzz run ("fuzz") of thousands of
 * mutated and truncated buffers, half of them with the checksum fixed up
 * so that the field checks behind it are reached.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

#include "check_main.h"
#include "mlptrain/checkpoint.h"
#include "mlptrain/error.h"
#include "mlptrain/net.h"
#include "mlptrain/optim.h"
#include "mlptrain/rng.h"
#include "testutil.h"
#include "checkpoint_fixture.h"

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)v);
    put32(p + 4, (uint32_t)(v >> 32));
}

/* Recompute the trailing crc32 of a buffer. */
static void fix_crc(uint8_t *buf, size_t len)
{
    if (len >= 4)
        put32(buf + len - 4, (uint32_t)crc32(0L, buf, (uInt)(len - 4)));
}

/* Parse buf (as file `name`), expect MLP_EFORMAT naming it and `want`. */
static void expect_bad(const uint8_t *buf, size_t len, const char *want)
{
    mlp_checkpoint_t c;
    uint8_t *copy = malloc(len ? len : 1); /* exact size for ASan */

    ck_assert_ptr_nonnull(copy);
    memcpy(copy, buf, len);
    memset(&c, 0x5a, sizeof(c));
    mlp_error_clear();
    ck_assert_int_eq(mlp_checkpoint_parse(copy, len, "bad.ckpt", &c),
                     MLP_EFORMAT);
    ck_assert_msg_has("bad.ckpt: ");
    ck_assert_msg_has(want);
    ck_assert_ptr_null(c.params);
    ck_assert_ptr_null(c.state);
    ck_assert_uint_eq(c.nparams, 0);
    free(copy);
}

/* Also through a file, as --resume meets it. */
static void expect_bad_file(const char *dir, const uint8_t *buf, size_t len,
                            const char *want)
{
    char *p = tu_path(dir, "bad.ckpt");
    mlp_checkpoint_t c;

    ck_assert_int_eq(tu_write_bytes(p, buf, len), 0);
    ck_assert_msg(mlp_checkpoint_load(p, &c) == MLP_EFORMAT, "%zu bytes: %s",
                  len, mlp_error_message());
    ck_assert_msg_has(p);
    ck_assert_msg_has(want);
    free(p);
}

START_TEST(test_corrupt_envelope)
{
    char *dir = tu_mkdtemp();
    mlp_checkpoint_t a;
    uint8_t *buf, *big;
    size_t len;

    small_ck(&a, 3);
    ck_assert_int_eq(mlp_checkpoint_encode_version(&a, 1, &buf, &len), 0);
    big = calloc(1, len + 8);
    ck_assert_ptr_nonnull(big);

    expect_bad(buf, 0, "empty file");
    expect_bad_file(dir, buf, 0, "empty file");
    expect_bad((const uint8_t *)"MLPX", 4, "not an mlptrain checkpoint");
    expect_bad(buf, 5, "truncated: 5 bytes, a checkpoint has at least 228");
    memcpy(big, buf, len);
    big[0] = 'X';
    expect_bad(big, len, "not an mlptrain checkpoint (bad magic)");
    expect_bad_file(dir, big, len, "bad magic");
    /* A newer format version, a header size this version does not have. */
    memcpy(big, buf, len);
    put32(big + 8, 4);
    fix_crc(big, len);
    expect_bad(big, len, "checkpoint format version 4; this mlptrain reads "
                         "versions 1 to 3");
    memcpy(big, buf, len);
    put32(big + 12, 256);
    fix_crc(big, len);
    expect_bad(big, len, "header of 256 bytes; version 1 has 224");
    /* Truncated anywhere, or with bytes after the end. */
    expect_bad(buf, 100, "truncated: 100 bytes, a checkpoint has at least");
    expect_bad(buf, len - 1, "truncated: 411 bytes, the header says 412");
    expect_bad_file(dir, buf, 300, "truncated: 300 bytes, the header says");
    memcpy(big, buf, len);
    expect_bad(big, len + 8, "8 bytes of trailing data: the header says 412");
    /* One bit flipped in the payload, the header, the checksum. */
    for (size_t off = 0; off < len; off += 37) {
        if (off < 16)
            continue; /* magic, version, header size: other messages */
        memcpy(big, buf, len);
        big[off] ^= 0x10;
        if (off >= 16 && off < 24)
            expect_bad(big, len, "the header says");
        else
            expect_bad(big, len, "checksum mismatch");
    }
    memcpy(big, buf, len);
    big[len - 1] ^= 0x80;
    expect_bad(big, len, "checksum mismatch (stored ");
    expect_bad_file(dir, big, len, "the file is corrupt");
    free(big);
    free(buf);
    mlp_checkpoint_free(&a);
    tu_rmtree(dir);
}
END_TEST

/* Change one field (at off, `width` bytes), fix the checksum, expect want. */
static void bad_field(const uint8_t *buf, size_t len, size_t off, int width,
                      uint64_t v, const char *want)
{
    uint8_t *b = malloc(len);

    ck_assert_ptr_nonnull(b);
    memcpy(b, buf, len);
    if (width == 4)
        put32(b + off, (uint32_t)v);
    else
        put64(b + off, v);
    fix_crc(b, len);
    expect_bad(b, len, want);
    free(b);
}

static uint32_t f32bits(float f)
{
    uint32_t v;

    memcpy(&v, &f, 4);
    return v;
}

static uint64_t f64bits(double d)
{
    uint64_t v;

    memcpy(&v, &d, 8);
    return v;
}

/* Checksum right, contents wrong: every field check. */
START_TEST(test_corrupt_fields)
{
    mlp_checkpoint_t a;
    uint8_t *buf;
    size_t len;

    small_ck(&a, 4);
    ck_assert_int_eq(mlp_checkpoint_encode_version(&a, 1, &buf, &len), 0);
    bad_field(buf, len, 40, 4, 17, "17 hidden layers, at most 16");
    bad_field(buf, len, 48, 4, 0, "hidden layer 1 has width 0");
    bad_field(buf, len, 48, 4, 1u << 25, "hidden layer 1 has width");
    bad_field(buf, len, 52, 4, 9, "width 9 given for hidden layer 2 of 1");
    bad_field(buf, len, 44, 4, 3, "unknown activation 3");
    bad_field(buf, len, 24, 4, 5, "input width 5 does not match 2 x 2");
    bad_field(buf, len, 32, 4, 0, "does not match 0 x 2");
    bad_field(buf, len, 28, 4, 1, "1 classes, not in [2,");
    bad_field(buf, len, 128, 8, 0, "batch size 0");
    bad_field(buf, len, 112, 8, 0, "0 training samples");
    bad_field(buf, len, 112, 8, 2000, "2000 training samples with a limit "
                                      "of 1000");
    bad_field(buf, len, 144, 4, f32bits(0.0f), "learning rate 0");
    bad_field(buf, len, 144, 4, f32bits(NAN), "learning rate nan");
    bad_field(buf, len, 148, 4, f32bits(1.0f), "momentum 1 not in [0, 1)");
    bad_field(buf, len, 152, 4, f32bits(-1.0f), "weight decay -1");
    bad_field(buf, len, 156, 4, f32bits(INFINITY), "init std inf");
    bad_field(buf, len, 164, 4, 4, "best epoch 4 of 3 epochs");
    bad_field(buf, len, 164, 4, 0, "best epoch 0 of 3 epochs");
    bad_field(buf, len, 168, 8, f64bits(1.5), "test accuracy 1.5");
    bad_field(buf, len, 176, 8, f64bits(NAN), "test accuracy");
    bad_field(buf, len, 184, 8, 17, "partial epoch of 17 batches (of 16)");
    bad_field(buf, len, 184, 8, 0, "partial epoch of 0 batches");
    bad_field(buf, len, 192, 8, f64bits(-1.0), "loss sum -1");
    bad_field(buf, len, 200, 8, 1001, "1001 correct is inconsistent");
    /* Sizes that do not fill the file, or do not fit the shape. */
    bad_field(buf, len, 208, 8, 24, "24 parameters, 23 state values and 0 "
                                    "bytes of options do not fill the 412 "
                                    "bytes");
    bad_field(buf, len, 208, 8, UINT64_MAX, "do not fill");
    bad_field(buf, len, 216, 8, UINT64_MAX / 4, "do not fill");
    bad_field(buf, len, 208, 8, 22, "do not fill");
    {
        /* Shifting values between the two counts keeps the length. */
        uint8_t *b = malloc(len);

        ck_assert_ptr_nonnull(b);
        memcpy(b, buf, len);
        put64(b + 208, 24);
        put64(b + 216, 22);
        fix_crc(b, len);
        expect_bad(b, len, "24 parameters, the shape has 23");
        memcpy(b, buf, len);
        put32(b + 148, f32bits(0.0f)); /* momentum 0 keeps no state */
        fix_crc(b, len);
        expect_bad(b, len, "23 optimizer state values, momentum 0 needs 0");
        free(b);
    }
    /* Values that are not finite. */
    bad_field(buf, len, 224 + 4 * 5, 4, f32bits(NAN), "parameter 5 is not "
                                                      "finite");
    bad_field(buf, len, 224 + 4 * 30, 4, f32bits(-INFINITY),
              "optimizer state value 7 is not finite");
    free(buf);
    mlp_checkpoint_free(&a);
}
END_TEST

/* Version 2's own fields, checksum right, contents wrong. */
START_TEST(test_corrupt_v2)
{
    static const struct {
        const char *text;
        const char *want;
    } bad_text[] = {
        {"lr=0.1", "options line 1 is not ended by a newline"},
        {"lr=0.1\nmomentum", "options line 2: expected name=value"},
        {"=0.1\n", "options line 1: expected name=value"},
        {"LR=0.1\n", "options line 1: expected name=value"},
        {"lr=0.1\nseed=\x01\n", "options line 2: a byte that is not "
                                 "printable"},
        {"lr=\xc3\xa9\n", "options line 1: a byte that is not printable"},
    };
    mlp_checkpoint_t a;
    uint8_t *buf;
    size_t len;

    for (size_t i = 0; i < sizeof(bad_text) / sizeof(bad_text[0]); i++) {
        small_ck(&a, 4);
        v2_fields(&a);
        free(a.options);
        a.options = strdup(bad_text[i].text);
        a.options_len = strlen(bad_text[i].text);
        ck_assert_int_eq(mlp_checkpoint_encode(&a, &buf, &len), MLP_EINVAL);
        ck_assert_msg_has(bad_text[i].want);
        /* the same bytes in a file: refused on reading too */
        a.options_len = 0;
        ck_assert_int_eq(mlp_checkpoint_encode(&a, &buf, &len), 0);
        {
            size_t n = strlen(bad_text[i].text), blen = len + n;
            uint8_t *b = malloc(blen);

            ck_assert_ptr_nonnull(b);
            memcpy(b, buf, 264);
            memcpy(b + 264, bad_text[i].text, n);
            memcpy(b + 264 + n, buf + 264, len - 264);
            put64(b + 16, blen);
            put64(b + 256, n);
            fix_crc(b, blen);
            expect_bad(b, blen, bad_text[i].want);
            free(b);
        }
        free(buf);
        mlp_checkpoint_free(&a);
    }
    small_ck(&a, 4);
    v2_fields(&a);
    ck_assert_int_eq(mlp_checkpoint_encode(&a, &buf, &len), 0);
    bad_field(buf, len, 256, 8, 65537, "65537 bytes of options text; a "
                                       "checkpoint holds at most 65536");
    bad_field(buf, len, 256, 8, a.options_len + 1, "do not fill");
    bad_field(buf, len, 232, 8, f64bits(1.5), "validation figures (best "
                                              "accuracy 1.5");
    bad_field(buf, len, 240, 8, f64bits(NAN), "best loss nan");
    bad_field(buf, len, 248, 4, 4, "at epoch 4, best loss");
    bad_field(buf, len, 252, 4, 9, "at epoch 9) do not fit 3 epochs");
    bad_field(buf, len, 8, 4, 4, "checkpoint format version 4; this "
                                 "mlptrain reads versions 1 to 3");
    bad_field(buf, len, 12, 4, 224, "header of 224 bytes; version 3 has 264");
    free(buf);
    mlp_checkpoint_free(&a);
}
END_TEST

/*
 * Issue 20, bug 13: a file whose options text is longer than a checkpoint
 * holds (70,000 bytes, sizes and CRC right) is refused with its real size
 * and the limit, by the load (which reads only the header first) as by
 * the parser; it was "truncated: 268 bytes".
 */
START_TEST(test_long_options_text)
{
    char *dir = tu_mkdtemp();
    mlp_checkpoint_t a;
    uint8_t *buf, *b;
    size_t len, n = 70000, blen;

    small_ck(&a, 4);
    v2_fields(&a);
    a.options_len = 0;
    ck_assert_int_eq(mlp_checkpoint_encode(&a, &buf, &len), 0);
    blen = len + n;
    b = malloc(blen);
    ck_assert_ptr_nonnull(b);
    memcpy(b, buf, 264);
    for (size_t i = 0; i < n; i += 4)
        memcpy(b + 264 + i, "x=y\n", n - i < 4 ? n - i : 4);
    memcpy(b + 264 + n, buf + 264, len - 264);
    put64(b + 16, blen);
    put64(b + 256, n);
    fix_crc(b, blen);
    expect_bad_file(dir, b, blen, "70000 bytes of options text; a "
                                  "checkpoint holds at most 65536");
    ck_assert_ptr_null(strstr(mlp_error_message(), "truncated"));
    expect_bad(b, blen, "70000 bytes of options text; a checkpoint holds at "
                        "most 65536");
    free(b);
    free(buf);
    mlp_checkpoint_free(&a);
    tu_rmtree(dir);
}
END_TEST

/* ---- fuzz: deterministic mutations ---------------------------------- */

/*
 * Parse a mutant; 0 when the result is consistent: refused with
 * MLP_EFORMAT, a message naming the buffer and a zeroed result, or
 * accepted and re-encoding to exactly the same bytes.
 */
static int parse_consistent(const uint8_t *buf, size_t len, int *accepted)
{
    static const mlp_checkpoint_t zero;
    mlp_checkpoint_t c;
    uint8_t *enc;
    size_t enc_len;
    int rc, bad;

    mlp_error_clear();
    rc = mlp_checkpoint_parse(buf, len, "mutant", &c);
    if (rc != 0) {
        *accepted = 0;
        return !(rc == MLP_EFORMAT &&
                 strncmp(mlp_error_message(), "mutant: ", 8) == 0 &&
                 strlen(mlp_error_message()) > 8 &&
                 memcmp(&c, &zero, sizeof(c)) == 0);
    }
    *accepted = 1;
    if (mlp_checkpoint_encode_version(&c, c.version, &enc, &enc_len) != 0) {
        mlp_checkpoint_free(&c);
        return 1;
    }
    bad = enc_len != len || memcmp(enc, buf, len) != 0;
    free(enc);
    mlp_checkpoint_free(&c);
    return bad;
}

/* The checkpoint's own change: a header field (4-byte aligned) set to
 * an edge value. */
static size_t header_edge(uint8_t *buf, size_t len, uint64_t v, void *arg)
{
    static const uint64_t vals[] = {0, 1, 2, 3, 16, 17, 224, 228, 0x7fffffff,
                                    0xffffffffu, 1ULL << 32, UINT64_MAX,
                                    UINT64_MAX / 4 + 1};
    size_t at = 4 * (size_t)((v >> 8) % (MLP_CHECKPOINT_HEADER / 4));
    uint64_t x = vals[(v >> 16) % (sizeof(vals) / sizeof(vals[0]))];
    int w = (v >> 24 & 1) ? 8 : 4;

    (void)arg;
    for (int b = 0; b < w && at + (size_t)b < len; b++)
        buf[at + (size_t)b] = (uint8_t)(x >> (8 * b));
    return len;
}

static int parse_mutant(const uint8_t *buf, size_t len, void *arg,
                        int *accepted)
{
    (void)arg;
    return parse_consistent(buf, len, accepted);
}

/* n mutants of base; fixcrc: recompute the checksum after mutating. */
static int run_mutants(const uint8_t *base, size_t len, int n, int fixcrc,
                       uint64_t stream)
{
    tu_fuzz_t f = {.seed = 2025, .header_weight = 2, .header = header_edge,
                   .fix = fixcrc ? fix_crc : NULL,
                   .consistent = parse_mutant,
                   .what = fixcrc ? "crc fixed" : "crc as is"};

    return tu_fuzz_mutants(&f, base, len, n, stream);
}

START_TEST(test_fuzz_mutants)
{
    static const size_t h0[1] = {0}, h2[2] = {3, 2};
    mlp_checkpoint_t a, b, c;
    uint8_t *ba, *bb, *bc;
    size_t la, lb, lc;
    int acc;

    small_ck(&a, 31);
    make_ck(&b, 1, 3, h0, 0, 2, 0.0f, 32);
    make_ck(&c, 2, 1, h2, 2, 3, 0.9f, 33);
    ck_assert_int_eq(mlp_checkpoint_encode(&a, &ba, &la), 0);
    ck_assert_int_eq(mlp_checkpoint_encode(&b, &bb, &lb), 0);
    ck_assert_int_eq(mlp_checkpoint_encode(&c, &bc, &lc), 0);
    /* As is, the checksum refuses all but the rare no-op mutation. */
    acc = run_mutants(ba, la, 2000, 0, 1);
    ck_assert_int_lt(acc, 40);
    /* Checksum fixed: the field checks decide; payload changes to other
     * finite values stay valid. */
    acc = run_mutants(ba, la, 2000, 1, 2);
    ck_assert_int_gt(acc, 50);
    ck_assert_int_lt(acc, 1500);
    run_mutants(bb, lb, 1000, 1, 3);
    run_mutants(bc, lc, 1000, 1, 4);
    run_mutants(bc, lc, 1000, 0, 5);
    free(ba);
    free(bb);
    free(bc);
    mlp_checkpoint_free(&a);
    mlp_checkpoint_free(&b);
    mlp_checkpoint_free(&c);
}
END_TEST

/* Every strict prefix is refused, with or without a fixed-up checksum. */
START_TEST(test_fuzz_prefixes)
{
    mlp_checkpoint_t a;
    uint8_t *buf;
    size_t len;

    small_ck(&a, 41);
    ck_assert_int_eq(mlp_checkpoint_encode(&a, &buf, &len), 0);
    for (int fix = 0; fix < 2; fix++) {
        tu_fuzz_t f = {.fix = fix ? fix_crc : NULL,
                       .consistent = parse_mutant,
                       .what = fix ? "crc fixed" : "crc as is"};

        tu_fuzz_prefixes(&f, buf, len);
    }
    free(buf);
    mlp_checkpoint_free(&a);
}
END_TEST

static Suite *checkpoint_corrupt_suite(void)
{
    Suite *s = suite_create("checkpoint_corrupt");
    TCase *errors = tu_tcase(s, "errors", 0);
    TCase *fuzz = tu_tcase(s, "fuzz", 60);

    tcase_add_test(errors, test_corrupt_envelope);
    tcase_add_test(errors, test_corrupt_fields);
    tcase_add_test(errors, test_corrupt_v2);
    tcase_add_test(errors, test_long_options_text);

    tcase_add_test(fuzz, test_fuzz_mutants);
    tcase_add_test(fuzz, test_fuzz_prefixes);
    return s;
}

MLP_CHECK_MAIN(checkpoint_corrupt_suite)
