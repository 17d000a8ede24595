/*
 * Tests of rng: determinism, distribution moments, permutations, keyed bits
 * (dropout masks).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "mlptrain/rng.h"
#include "testutil.h"

START_TEST(test_deterministic)
{
    mlp_rng_t a, b, c;

    mlp_rng_seed(&a, 42, 7);
    mlp_rng_seed(&b, 42, 7);
    mlp_rng_seed(&c, 42, 8);
    for (int i = 0; i < 100; i++) {
        uint64_t va = mlp_rng_u64(&a);
        ck_assert_uint_eq(va, mlp_rng_u64(&b));
        ck_assert_uint_ne(va, mlp_rng_u64(&c));
    }
}
END_TEST

/* FNV-1a's published 64-bit test vectors; a hash continues across
 * calls. */
START_TEST(test_text_hash)
{
    ck_assert_uint_eq(mlp_rng_text(MLP_RNG_TEXT_INIT, ""), MLP_RNG_TEXT_INIT);
    ck_assert_uint_eq(mlp_rng_text(MLP_RNG_TEXT_INIT, "a"),
                      0xaf63dc4c8601ec8cULL);
    ck_assert_uint_eq(mlp_rng_text(MLP_RNG_TEXT_INIT, "foobar"),
                      0x85944171f73967e8ULL);
    ck_assert_uint_eq(mlp_rng_text(mlp_rng_text(MLP_RNG_TEXT_INIT, "foo"),
                                   "bar"),
                      0x85944171f73967e8ULL);
}
END_TEST

START_TEST(test_uniform_normal_moments)
{
    mlp_rng_t r;
    const int n = 200000;
    double su = 0, sn = 0, sn2 = 0;

    mlp_rng_seed(&r, 1, 0);
    for (int i = 0; i < n; i++) {
        double u = mlp_rng_uniform(&r);
        ck_assert(u >= 0.0 && u < 1.0);
        su += u;
    }
    for (int i = 0; i < n; i++) {
        double z = mlp_rng_normal(&r);
        ck_assert(isfinite(z));
        sn += z;
        sn2 += z * z;
    }
    /* Standard errors: uniform mean 0.00065, normal mean 0.0022, var 0.0032 */
    ck_assert_double_eq_tol(su / n, 0.5, 0.005);
    ck_assert_double_eq_tol(sn / n, 0.0, 0.012);
    ck_assert_double_eq_tol(sn2 / n - (sn / n) * (sn / n), 1.0, 0.02);
}
END_TEST

static void check_is_permutation(uint64_t n, uint64_t seed, uint64_t stream)
{
    mlp_perm_t p;
    unsigned char *seen = calloc(n ? n : 1, 1);

    ck_assert_ptr_nonnull(seen);
    mlp_perm_init(&p, n, seed, stream);
    for (uint64_t i = 0; i < n; i++) {
        uint64_t v = mlp_perm_at(&p, i);
        ck_assert_uint_lt(v, n);
        ck_assert_uint_eq(seen[v], 0);
        seen[v] = 1;
    }
    free(seen);
}

START_TEST(test_perm_bijective)
{
    static const uint64_t sizes[] = {1, 2, 3, 4, 5, 17, 255, 256, 257, 1000,
                                     4097, 60000};

    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
        check_is_permutation(sizes[i], 7, i);
}
END_TEST

START_TEST(test_perm_depends_on_key)
{
    mlp_perm_t a, b, c;
    int same_b = 0, same_c = 0, fixed = 0;
    const uint64_t n = 10000;

    mlp_perm_init(&a, n, 1, 1);
    mlp_perm_init(&b, n, 1, 2);
    mlp_perm_init(&c, n, 2, 1);
    for (uint64_t i = 0; i < n; i++) {
        uint64_t v = mlp_perm_at(&a, i);
        same_b += v == mlp_perm_at(&b, i);
        same_c += v == mlp_perm_at(&c, i);
        fixed += v == i;
    }
    /* A random permutation agrees with another at ~1 place on average. */
    ck_assert_int_lt(same_b, 10);
    ck_assert_int_lt(same_c, 10);
    ck_assert_int_lt(fixed, 10);
}
END_TEST

START_TEST(test_perm_well_mixed)
{
    /* Where do the first 1000 positions of a 60000 permutation land?  A
     * shuffle spreads them evenly over ten deciles (expected 100 each). */
    mlp_perm_t p;
    int bins[10] = {0};

    mlp_perm_init(&p, 60000, 3, 1);
    for (uint64_t i = 0; i < 1000; i++)
        bins[mlp_perm_at(&p, i) / 6000]++;
    for (int i = 0; i < 10; i++)
        ck_assert_int_gt(bins[i], 55);
}
END_TEST

START_TEST(test_perm_tiny)
{
    mlp_perm_t p;

    mlp_perm_init(&p, 1, 9, 9);
    ck_assert_uint_eq(mlp_perm_at(&p, 0), 0);
}
END_TEST

/* The keyed bits: a pure function of the chain and the index. */
START_TEST(test_keyed_deterministic)
{
    uint64_t k = mlp_rng_key(mlp_rng_key(mlp_rng_key(7, 3), 12), 1);

    ck_assert_uint_eq(k, mlp_rng_key(mlp_rng_key(mlp_rng_key(7, 3), 12), 1));
    for (uint32_t i = 0; i < 1000; i++)
        ck_assert_uint_eq(mlp_rng_bits32(k, i), mlp_rng_bits32(k, i));
}
END_TEST

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return (x > y) - (x < y);
}

/*
 * Distribution of mlp_rng_bits32 over 2^16 indices of one key: no two
 * equal (a bijection of the index), mean 2^31, the share below t * 2^32
 * near t (binomial sd <= 0.002: tolerance 5 sd), and each bit set about
 * half the time.
 */
START_TEST(test_keyed_distribution)
{
    const uint32_t n = 1 << 16;
    uint32_t *v = malloc(n * sizeof(*v));
    uint64_t k = mlp_rng_key(mlp_rng_key(1, 2), 3);
    double mean = 0, below[3] = {0}, t[3] = {0.1, 0.3, 0.5};
    size_t bits[32] = {0};

    ck_assert_ptr_nonnull(v);
    for (uint32_t i = 0; i < n; i++) {
        v[i] = mlp_rng_bits32(k, i);
        mean += v[i] / 4294967296.0;
        for (int j = 0; j < 3; j++)
            below[j] += v[i] < (uint32_t)(t[j] * 4294967296.0);
        for (int b = 0; b < 32; b++)
            bits[b] += (v[i] >> b) & 1;
    }
    ck_assert_double_eq_tol(mean / n, 0.5, 5 * 0.0012);
    for (int j = 0; j < 3; j++)
        ck_assert_double_eq_tol(below[j] / n, t[j], 0.01);
    for (int b = 0; b < 32; b++)
        ck_assert_double_eq_tol((double)bits[b] / n, 0.5, 0.01);
    qsort(v, n, sizeof(*v), cmp_u32);
    for (uint32_t i = 1; i < n; i++)
        ck_assert_uint_ne(v[i - 1], v[i]);
    free(v);
}
END_TEST

/*
 * Key sensitivity: changing any key of the chain (seed, epoch, batch,
 * layer, row) by one, or the index, flips about half of the bits (over
 * 4096 draws: 131072 bits, sd 0.0014 of the share; tolerance 0.01), and
 * neighbouring rows are uncorrelated.
 */
static uint64_t chain(const uint64_t key[5])
{
    uint64_t k = 0x64726f706f7574ULL;

    for (int i = 0; i < 5; i++)
        k = mlp_rng_key(k, key[i]);
    return k;
}

START_TEST(test_keyed_sensitivity)
{
    const uint64_t base[5] = {1, 1, 0, 1, 0};

    for (int which = 0; which <= 5; which++) {
        uint64_t a[5], b[5];
        double flips = 0;
        const int n = 4096;

        memcpy(a, base, sizeof(a));
        memcpy(b, base, sizeof(b));
        if (which < 5)
            b[which] += 1;
        for (int i = 0; i < n; i++) {
            uint32_t x = mlp_rng_bits32(chain(a), (uint32_t)i);
            uint32_t y = mlp_rng_bits32(chain(b),
                                        (uint32_t)i + (which == 5));

            flips += __builtin_popcount(x ^ y);
        }
        ck_assert_msg(fabs(flips / (32.0 * n) - 0.5) < 0.01,
                      "key %d: share of flipped bits %g", which,
                      flips / (32.0 * n));
    }
}
END_TEST

static Suite *rng_suite(void)
{
    Suite *s = suite_create("rng");
    TCase *core = tu_tcase(s, "core", 0);
    TCase *limits = tu_tcase(s, "errors", 0);

    tcase_add_test(core, test_deterministic);
    tcase_add_test(core, test_text_hash);
    tcase_add_test(core, test_uniform_normal_moments);
    tcase_add_test(core, test_perm_bijective);
    tcase_add_test(core, test_perm_depends_on_key);
    tcase_add_test(core, test_perm_well_mixed);
    tcase_add_test(core, test_keyed_deterministic);
    tcase_add_test(core, test_keyed_distribution);
    tcase_add_test(core, test_keyed_sensitivity);
    tcase_add_test(limits, test_perm_tiny);
    return s;
}

MLP_CHECK_MAIN(rng_suite)
