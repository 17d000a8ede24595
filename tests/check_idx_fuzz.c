/*
 * check_idx_fuzz: a deterministic mutation run ("fuzz") of IDX files
 * through the one road (tu_idx_road: table over input, idx.c): thousands
 * of mutants of a features and a labels file, plain and gzip (bit flips,
 * random bytes, edge values in header fields, truncations, insertions),
 * and every prefix of valid files; each must be a refusal naming the
 * file or a success whose items are exactly what its header declares
 * (of zlib's own inflation, for gzip).
 *
 * Non-goals: coverage-guided fuzzing (fuzz/fuzz_idx.c does that under
 * libFuzzer); the named errors themselves (check_idx.c).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "mlptrain/error.h"
#include "mlptrain/idx.h"
#include "mlptrain/rng.h"
#include "testutil.h"

/* ---- fuzz: deterministic mutations ---------------------------------- */

/*
 * Read a mutant through the road; 0 when the result is consistent: either
 * success with a header (of the plain bytes, or of zlib's inflation) whose
 * data is exactly the rest and the items that data, or a refusal with a
 * message naming the mutant.
 */
static int road_consistent(const uint8_t *buf, size_t len, int as_labels,
                           int *accepted)
{
    const uint8_t *plain = buf;
    uint8_t *inflated = NULL;
    size_t plen = len, hdr, total;
    mlp_idx_header_t h;
    tu_got_t g;
    int rc, bad;

    rc = tu_idx_road(buf, len, "mutant", as_labels, &g);
    if (rc != 0) {
        *accepted = 0;
        return !((rc == MLP_EFORMAT || rc == MLP_EINVAL) &&
                 strstr(mlp_error_message(), "mutant") != NULL);
    }
    *accepted = 1;
    if (len >= 2 && buf[0] == 0x1f && buf[1] == 0x8b) {
        if ((inflated = tu_ref_gunzip(buf, len, &plen)) == NULL) {
            free(g.data);
            return 1;
        }
        plain = inflated;
    }
    bad = mlp_idx_parse_header(plain, plen, "ref", &h, &hdr, &total) != 0 ||
          plain[2] != 8 || (as_labels ? h.ndims != 1 : h.ndims < 2) ||
          hdr + total != plen || g.count != h.count ||
          g.item != h.item_size ||
          (total > 0 && memcmp(g.data, plain + hdr, total) != 0);
    free(inflated);
    free(g.data);
    return bad;
}

/* What a run reads: gzip or plain, features or labels. */
typedef struct {
    int gz, as_labels;
} road_t;

/* IDX's own change: a header field (type, ndims, a size); for gzip, a
 * flag byte. */
static size_t header_field(uint8_t *buf, size_t len, uint64_t v, void *arg)
{
    static const uint32_t sizes[] = {0, 1, 2, 3, 4, 12, 255, 0x7fffffff,
                                     0x80000000u, 0xffffffffu};
    const road_t *road = arg;

    if (road->gz) {
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
}

static int road_mutant(const uint8_t *buf, size_t len, void *arg,
                       int *accepted)
{
    return road_consistent(buf, len, ((const road_t *)arg)->as_labels,
                           accepted);
}

static void run_mutants(const uint8_t *base, size_t len, int gz,
                        int as_labels, int n, uint64_t stream,
                        int *naccepted)
{
    road_t road = {gz, as_labels};
    tu_fuzz_t f = {.seed = 2024, .header_weight = 1, .header = header_field,
                   .consistent = road_mutant, .arg = &road,
                   .what = gz ? "gzip" : "plain"};

    *naccepted += tu_fuzz_mutants(&f, base, len, n, stream);
}

START_TEST(test_fuzz_plain)
{
    uint32_t d3[3] = {3, 2, 2}, d1[1] = {6};
    uint8_t *data = tu_pattern(12, 11), *b3, *b1;
    size_t l3, l1;
    int acc3 = 0, acc1 = 0;

    b3 = tu_idx_bytes(d3, 3, data, &l3);
    b1 = tu_idx_bytes(d1, 1, data, &l1);
    run_mutants(b3, l3, 0, 0, 3000, 1, &acc3);
    run_mutants(b1, l1, 0, 1, 2000, 2, &acc1);
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
    uint8_t *data = tu_pattern(12, 11), *idx, *gz;
    size_t len, gzlen;
    int acc = 0;

    idx = tu_idx_bytes(d3, 3, data, &len);
    gz = tu_gzip(idx, len, &gzlen);
    run_mutants(gz, gzlen, 1, 0, 3000, 3, &acc);
    /* The CRC catches almost every change to the body; header flag
     * mutations that zlib tolerates (FTEXT, OS byte) stay valid. */
    ck_assert_int_gt(acc, 0);
    ck_assert_int_lt(acc, 1500);
    free(gz);
    free(idx);
    free(data);
}
END_TEST

/* Every strict prefix of a valid file is refused, plain and gzip,
 * features and labels. */
START_TEST(test_fuzz_prefixes)
{
    static const char *const what[] = {"features", "features gzip",
                                       "labels", "labels gzip"};
    uint32_t d3[3] = {3, 2, 2}, d1[1] = {7};
    uint8_t *data = tu_pattern(12, 11), *b[4];
    size_t l[4];

    b[0] = tu_idx_bytes(d3, 3, data, &l[0]);
    b[1] = tu_gzip(b[0], l[0], &l[1]);
    b[2] = tu_idx_bytes(d1, 1, data, &l[2]);
    b[3] = tu_gzip(b[2], l[2], &l[3]);
    for (int k = 0; k < 4; k++) {
        road_t road = {k % 2, k >= 2};
        tu_fuzz_t f = {.consistent = road_mutant, .arg = &road,
                       .what = what[k]};

        tu_fuzz_prefixes(&f, b[k], l[k]);
        free(b[k]);
    }
    free(data);
}
END_TEST

Suite *idx_fuzz_suite(void);

Suite *idx_fuzz_suite(void)
{
    Suite *s = suite_create("idx_fuzz");
    TCase *fuzz = tu_tcase(s, "fuzz", 120); /* valgrind runs are slow */

    tcase_add_test(fuzz, test_fuzz_plain);
    tcase_add_test(fuzz, test_fuzz_gzip);
    tcase_add_test(fuzz, test_fuzz_prefixes);
    return s;
}

MLP_CHECK_MAIN(idx_fuzz_suite)
