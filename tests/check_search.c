/*
 * Tests of search: the rungs of successive halving, hyperband's brackets
 * (Li et al.'s table for R = 27, eta = 3), the quotas of the synchronous
 * and asynchronous rules, the epoch counts, and bad settings.
 */
#include <string.h>

#include "check_main.h"
#include "mlptrain/error.h"
#include "mlptrain/search.h"
#include "testutil.h"

static void assert_rungs(const mlp_bracket_t *b, unsigned n,
                         const unsigned *want)
{
    ck_assert_uint_eq(b->nrungs, n);
    for (unsigned i = 0; i < n; i++)
        ck_assert_uint_eq(b->epochs[i], want[i]);
}

START_TEST(test_halving_rungs)
{
    mlp_bracket_t br[MLP_SEARCH_MAX_BRACKETS];
    size_t n;

    ck_assert_int_eq(mlp_search_brackets(MLP_SEARCH_HALVING, 27, 1, 3, 27,
                                         br, &n), 0);
    ck_assert_uint_eq(n, 1);
    assert_rungs(&br[0], 4, (const unsigned[]){1, 3, 9, 27});
    ck_assert_uint_eq(br[0].npoints, 27);
    /* Down from the plan's end, rounded: 40/27, 40/9, 40/3, 40. */
    ck_assert_int_eq(mlp_search_brackets(MLP_SEARCH_HALVING, 40, 1, 3, 27,
                                         br, &n), 0);
    assert_rungs(&br[0], 4, (const unsigned[]){1, 4, 13, 40});
    /* --min-epochs 2: 2 x 27 > 40, so three rungs from 40/9. */
    ck_assert_int_eq(mlp_search_brackets(MLP_SEARCH_HALVING, 40, 2, 3, 10,
                                         br, &n), 0);
    assert_rungs(&br[0], 3, (const unsigned[]){4, 13, 40});
    /* eta 2, 8 epochs: 1, 2, 4, 8; eta 4, 16: 1, 4, 16. */
    ck_assert_int_eq(mlp_search_brackets(MLP_SEARCH_HALVING, 8, 1, 2, 8,
                                         br, &n), 0);
    assert_rungs(&br[0], 4, (const unsigned[]){1, 2, 4, 8});
    ck_assert_int_eq(mlp_search_brackets(MLP_SEARCH_HALVING, 16, 1, 4, 16,
                                         br, &n), 0);
    assert_rungs(&br[0], 3, (const unsigned[]){1, 4, 16});
    /* Fewer epochs than eta: one rung, the end. */
    ck_assert_int_eq(mlp_search_brackets(MLP_SEARCH_HALVING, 2, 1, 3, 5,
                                         br, &n), 0);
    assert_rungs(&br[0], 1, (const unsigned[]){2});
    /* A grid: one rung at the end for every point. */
    ck_assert_int_eq(mlp_search_brackets(MLP_SEARCH_GRID, 12, 1, 3, 7, br,
                                         &n), 0);
    ck_assert_uint_eq(n, 1);
    assert_rungs(&br[0], 1, (const unsigned[]){12});
    ck_assert_uint_eq(br[0].npoints, 7);
}
END_TEST

START_TEST(test_hyperband_brackets)
{
    mlp_bracket_t br[MLP_SEARCH_MAX_BRACKETS];
    size_t n;

    /* Li et al. (JMLR 2018), table for R = 27 (in units of 1 epoch),
     * eta = 3: n = 27, 12, 6, 4 at r = 1, 3, 9, 27. */
    ck_assert_int_eq(mlp_search_brackets(MLP_SEARCH_HYPERBAND, 27, 1, 3, 0,
                                         br, &n), 0);
    ck_assert_uint_eq(n, 4);
    ck_assert_uint_eq(br[0].npoints, 27);
    ck_assert_uint_eq(br[1].npoints, 12);
    ck_assert_uint_eq(br[2].npoints, 6);
    ck_assert_uint_eq(br[3].npoints, 4);
    assert_rungs(&br[0], 4, (const unsigned[]){1, 3, 9, 27});
    assert_rungs(&br[1], 3, (const unsigned[]){3, 9, 27});
    assert_rungs(&br[2], 2, (const unsigned[]){9, 27});
    assert_rungs(&br[3], 1, (const unsigned[]){27});
    ck_assert_uint_eq(mlp_search_points(br, n), 49);
    /* Epochs: a full grid of the 49 points, and the brackets' own:
     * 27 + 9x2 + 3x6 + 18 = 81, 12x3 + 4x6 + 18 = 78, 6x9 + 2x18 = 90,
     * 4 x 27 = 108. */
    ck_assert_uint_eq(mlp_search_grid_epochs(br, n), 49 * 27);
    ck_assert_uint_eq(mlp_search_planned_epochs(br, n, 3), 81 + 78 + 90 +
                                                           108);
}
END_TEST

START_TEST(test_quotas)
{
    mlp_bracket_t br[MLP_SEARCH_MAX_BRACKETS];
    size_t n;

    ck_assert_uint_eq(mlp_search_quota(27, 3, 1), 9);
    ck_assert_uint_eq(mlp_search_quota(10, 3, 1), 3);
    ck_assert_uint_eq(mlp_search_quota(2, 3, 1), 1);  /* a rung goes on */
    ck_assert_uint_eq(mlp_search_quota(0, 3, 1), 0);
    ck_assert_uint_eq(mlp_search_quota(2, 3, 0), 0);  /* ASHA waits */
    ck_assert_uint_eq(mlp_search_quota(3, 3, 0), 1);
    ck_assert_uint_eq(mlp_search_quota(8, 4, 0), 2);
    /* 27 runs of 27 epochs, eta 3: 81 epochs, a ninth of the grid's. */
    ck_assert_int_eq(mlp_search_brackets(MLP_SEARCH_HALVING, 27, 1, 3, 27,
                                         br, &n), 0);
    ck_assert_uint_eq(mlp_search_planned_epochs(br, n, 3), 81);
    ck_assert_uint_eq(mlp_search_grid_epochs(br, n), 729);
    /* 40 epochs: 27 + 9x3 + 3x9 + 27 = 108 of 1080. */
    ck_assert_int_eq(mlp_search_brackets(MLP_SEARCH_HALVING, 40, 1, 3, 27,
                                         br, &n), 0);
    ck_assert_uint_eq(mlp_search_planned_epochs(br, n, 3), 108);
}
END_TEST

START_TEST(test_bad_settings)
{
    mlp_bracket_t br[MLP_SEARCH_MAX_BRACKETS];
    size_t n = 99;

    ck_assert_int_eq(mlp_search_brackets(MLP_SEARCH_HALVING, 27, 1, 1, 9,
                                         br, &n), MLP_EUSAGE);
    ck_assert_msg_has("'--eta'");
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(mlp_search_brackets(MLP_SEARCH_HYPERBAND, 5, 6, 3, 0,
                                         br, &n), MLP_EUSAGE);
    ck_assert_msg_has("'--min-epochs'");
    ck_assert_int_eq(mlp_search_brackets(MLP_SEARCH_GRID, 0, 1, 3, 1, br,
                                         &n), MLP_EUSAGE);
    /* The most epochs (a million, --epochs' limit) with eta 2: 20
     * halvings, within MLP_SEARCH_MAX_RUNGS. */
    ck_assert_int_eq(mlp_search_brackets(MLP_SEARCH_HYPERBAND, 1000000, 1, 2,
                                         0, br, &n), 0);
    ck_assert_uint_le(n, MLP_SEARCH_MAX_BRACKETS);
    ck_assert_uint_le(br[0].nrungs, MLP_SEARCH_MAX_RUNGS);
    ck_assert_uint_eq(br[0].epochs[br[0].nrungs - 1], 1000000);
}
END_TEST

Suite *search_suite(void);
Suite *search_suite(void)
{
    Suite *s = suite_create("search");
    TCase *core = tu_tcase(s, "core", 0);
    TCase *errors = tu_tcase(s, "errors/limits", 0);

    tcase_add_test(core, test_halving_rungs);
    tcase_add_test(core, test_hyperband_brackets);
    tcase_add_test(core, test_quotas);
    tcase_add_test(errors, test_bad_settings);
    return s;
}

MLP_CHECK_MAIN(search_suite)
