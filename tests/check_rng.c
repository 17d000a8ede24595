/*
 * Tests of rng: determinism, distribution moments, permutations.
 */
#include <math.h>
#include <stdlib.h>

#include "check_main.h"
#include "mlptrain/rng.h"

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

static Suite *rng_suite(void)
{
    Suite *s = suite_create("rng");
    TCase *core = tcase_create("core");
    TCase *limits = tcase_create("errors");

    tcase_add_test(core, test_deterministic);
    tcase_add_test(core, test_uniform_normal_moments);
    tcase_add_test(core, test_perm_bijective);
    tcase_add_test(core, test_perm_depends_on_key);
    tcase_add_test(core, test_perm_well_mixed);
    tcase_add_test(limits, test_perm_tiny);
    suite_add_tcase(s, core);
    suite_add_tcase(s, limits);
    return s;
}

MLP_CHECK_MAIN(rng_suite)
