/*
 * Tests of space: the portable logarithm and exponential, the draws of
 * each distribution (in range, rounded, whole, shaped as asked), their
 * independence of other keys and of how many points are drawn, the exact
 * text of draws (the promise that a command draws the same points
 * everywhere), and bad spaces.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "mlptrain/error.h"
#include "mlptrain/space.h"
#include "testutil.h"

START_TEST(test_log_exp)
{
    double worst = 0.0;

    /* Against libm over the doubles' range: within a few ulps. */
    for (double x = 1e-300; x < 1e300; x *= 1.37) {
        double e = fabs(mlp_space_log(x) - log(x)) / fmax(1.0, fabs(log(x)));

        worst = e > worst ? e : worst;
    }
    ck_assert_double_le(worst, 1e-15);
    worst = 0.0;
    for (double x = -700.0; x < 700.0; x += 0.173) {
        double e = fabs(mlp_space_exp(x) - exp(x)) / exp(x);

        worst = e > worst ? e : worst;
    }
    ck_assert_double_le(worst, 2e-15);
    ck_assert_double_eq(mlp_space_log(1.0), 0.0);
    ck_assert_double_eq(mlp_space_exp(0.0), 1.0);
    ck_assert_double_eq_tol(mlp_space_exp(mlp_space_log(0.0123)), 0.0123,
                            1e-17);
}
END_TEST

/* The space of spec (failing the test if it does not parse). */
static void make(mlp_space_t *sp, const char *spec)
{
    memset(sp, 0, sizeof(*sp));
    ck_assert_msg(mlp_space_add(sp, spec) == 0, "'%s': %s", spec,
                  mlp_error_message());
}

START_TEST(test_draws)
{
    mlp_space_t sp;
    char buf[64];
    const int n = 4000;
    double sum = 0.0;
    int below = 0, seen[3] = {0, 0, 0};

    make(&sp, "lr=loguniform(1e-4,1e-1) dropout=uniform(0,0.5) "
              "hidden=choice(256,512,1024:512) "
              "batch=qloguniform(64,1024,64) seed=uniform(1,9)");
    ck_assert_uint_eq(sp.nitems, 5);
    for (int p = 0; p < n; p++) {
        double v;

        mlp_space_value(&sp.items[0], 7, (size_t)p, buf, sizeof(buf));
        v = strtod(buf, NULL);
        ck_assert(v >= 1e-4 && v <= 1e-1);
        below += v < 0.0031623; /* the geometric middle: half below */
        mlp_space_value(&sp.items[1], 7, (size_t)p, buf, sizeof(buf));
        v = strtod(buf, NULL);
        ck_assert(v >= 0.0 && v <= 0.5);
        sum += v;
        mlp_space_value(&sp.items[2], 7, (size_t)p, buf, sizeof(buf));
        seen[strcmp(buf, "256") == 0 ? 0 : strcmp(buf, "512") == 0 ? 1 : 2]++;
        ck_assert(strcmp(buf, "256") == 0 || strcmp(buf, "512") == 0 ||
                  strcmp(buf, "1024:512") == 0);
        mlp_space_value(&sp.items[3], 7, (size_t)p, buf, sizeof(buf));
        v = strtod(buf, NULL);
        ck_assert_msg(v >= 64 && v <= 1024 && fmod(v, 64) == 0 &&
                      strchr(buf, '.') == NULL, "batch '%s'", buf);
        mlp_space_value(&sp.items[4], 7, (size_t)p, buf, sizeof(buf));
        ck_assert_msg(strspn(buf, "0123456789") == strlen(buf) &&
                      atoi(buf) >= 1 && atoi(buf) <= 9, "seed '%s'", buf);
    }
    ck_assert_double_eq_tol(sum / n, 0.25, 0.01);
    ck_assert_int_ge(below, n / 2 - n / 25);
    ck_assert_int_le(below, n / 2 + n / 25);
    for (int i = 0; i < 3; i++)
        ck_assert_int_ge(seen[i], n / 3 - n / 20);
    mlp_space_free(&sp);
}
END_TEST

/*
 * The exact text of the first draws of seed 1: what every machine must
 * draw (the draws use no libm function but exact ones, and no fused or
 * extended arithmetic).  Changing these changes every search's points.
 */
START_TEST(test_same_everywhere)
{
    static const char *const want[2][5] = {
        {"0.0002958", "0.4435", "512", "192", "0.055"},
        {"0.002489", "0.208", "512", "128", "0.01"},
    };
    mlp_space_t sp;
    mlp_grid_t g;
    char buf[64];

    make(&sp, "lr=loguniform(1e-4,1e-1) dropout=uniform(0,0.5) "
              "hidden=choice(256,512,1024:512) "
              "batch=qloguniform(64,1024,64) "
              "weight-decay=quniform(0,0.1,0.005)");
    for (size_t p = 0; p < 2; p++)
        for (size_t k = 0; k < 5; k++) {
            mlp_space_value(&sp.items[k], 1, p, buf, sizeof(buf));
            ck_assert_str_eq(buf, want[p][k]);
        }
    /* Into a grid: the keys in the space's order, a point per draw. */
    memset(&g, 0, sizeof(g));
    ck_assert_int_eq(mlp_space_sample(&sp, 1, 0, 3, &g), 0);
    ck_assert_uint_eq(g.npoints, 3);
    ck_assert_uint_eq(g.nkeys, 5);
    ck_assert_str_eq(g.keys[4], "weight-decay");
    ck_assert_str_eq(g.values[1 * MLP_SWEEP_MAX_KEYS + 0], "0.002489");
    mlp_grid_free(&g);
    mlp_space_free(&sp);
}
END_TEST

START_TEST(test_independent_draws)
{
    mlp_space_t a, b;
    mlp_grid_t ga, gb;
    char x[64], y[64];

    /* A key's draws do not depend on the other keys... */
    make(&a, "lr=loguniform(0.001,1)");
    make(&b, "momentum=uniform(0,0.9) lr=loguniform(0.001,1)");
    for (size_t p = 0; p < 50; p++) {
        mlp_space_value(&a.items[0], 3, p, x, sizeof(x));
        mlp_space_value(&b.items[1], 3, p, y, sizeof(y));
        ck_assert_str_eq(x, y);
    }
    /* ... nor on how many points are drawn (20 more extend a search of
     * 10), but on the seed. */
    memset(&ga, 0, sizeof(ga));
    memset(&gb, 0, sizeof(gb));
    ck_assert_int_eq(mlp_space_sample(&a, 3, 0, 10, &ga), 0);
    ck_assert_int_eq(mlp_space_sample(&a, 3, 0, 30, &gb), 0);
    for (size_t p = 0; p < 10; p++)
        ck_assert_str_eq(ga.values[p * MLP_SWEEP_MAX_KEYS],
                         gb.values[p * MLP_SWEEP_MAX_KEYS]);
    mlp_space_value(&a.items[0], 4, 0, y, sizeof(y));
    ck_assert_str_ne(ga.values[0], y);
    mlp_grid_free(&ga);
    mlp_grid_free(&gb);
    mlp_space_free(&a);
    mlp_space_free(&b);
}
END_TEST

START_TEST(test_bounds_kept)
{
    mlp_space_t sp;
    char buf[64];

    /* 4 digits never round past a bound; q multiples stay within it. */
    make(&sp, "dropout=uniform(0.99994,0.99995) "
              "batch=quniform(100,300,64)");
    for (size_t p = 0; p < 200; p++) {
        double v;

        mlp_space_value(&sp.items[0], 1, p, buf, sizeof(buf));
        v = strtod(buf, NULL);
        ck_assert_msg(v >= 0.99994 && v <= 0.99995 && v < 1.0, "'%s'", buf);
        mlp_space_value(&sp.items[1], 1, p, buf, sizeof(buf));
        ck_assert_msg(strcmp(buf, "128") == 0 || strcmp(buf, "192") == 0 ||
                      strcmp(buf, "256") == 0, "'%s'", buf);
    }
    mlp_space_free(&sp);
}
END_TEST

/* mlp_space_add fails with MLP_EUSAGE, the message holding want, and
 * leaves the space as it was. */
static void bad(const char *spec, const char *want)
{
    mlp_space_t sp;

    make(&sp, "lr=loguniform(0.01,0.1)");
    ck_assert_int_eq(mlp_space_add(&sp, spec), MLP_EUSAGE);
    ck_assert_msg(strstr(mlp_error_message(), want) != NULL,
                  "'%s': message '%s' lacks '%s'", spec, mlp_error_message(),
                  want);
    ck_assert_uint_eq(sp.nitems, 1);
    mlp_space_free(&sp);
}

START_TEST(test_bad_spaces)
{
    bad("width=uniform(1,2)", "unknown key 'width'");
    bad("dropout=gauss(0,1)", "unknown distribution 'gauss'");
    bad("dropout=uniform(0,0.5", "lacks its closing ')'");
    bad("dropout=uniform(0)", "uniform takes LO,HI");
    bad("batch=quniform(1,9)", "quniform takes LO,HI,Q");
    bad("dropout=uniform(0.5,0.1)", "LO must be below HI");
    bad("weight-decay=loguniform(0,1)", "log-uniform LO must be above 0");
    /* each bound by the option's own rule */
    bad("dropout=uniform(0,1.5)", "must be in [0, 1)");
    bad("lr=uniform(0,1)", "must be > 0");
    bad("batch=uniform(0,64)", "out of range");
    bad("batch=uniform(1.5,64)", "whole");
    bad("act=uniform(0,1)", "takes names: give them with choice");
    bad("act=choice(relu,swish)", "unknown value 'swish'");
    bad("hidden=choice(256,,512)", "empty value");
    bad("lr=choice(0.1)", "appears twice");
    bad("dropout=uniform(0,0.5) dropout=0.1", "appears twice");
    bad("dropout=uniform(a,0.5)", "not a number");
    bad("batch=quniform(10,20,30)", "no multiple of Q");
    bad("dropout", "is not KEY=");
    bad("   ", "has no KEY=");
}
END_TEST

Suite *space_suite(void);
Suite *space_suite(void)
{
    Suite *s = suite_create("space");
    TCase *core = tu_tcase(s, "core", 0);
    TCase *errors = tu_tcase(s, "errors/limits", 0);

    tcase_add_test(core, test_log_exp);
    tcase_add_test(core, test_draws);
    tcase_add_test(core, test_same_everywhere);
    tcase_add_test(core, test_independent_draws);
    tcase_add_test(errors, test_bounds_kept);
    tcase_add_test(errors, test_bad_spaces);
    return s;
}

MLP_CHECK_MAIN(space_suite)
