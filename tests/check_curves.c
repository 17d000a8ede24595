/*
 * Tests of curves: each chart becomes a PNG (gnuplot, which ./bootstrap
 * installs), nothing to draw is an error, a missing gnuplot names its
 * package.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"
#include "mlptrain/curves.h"
#include "mlptrain/error.h"
#include "testutil.h"


/* The file starts with the PNG signature. */
static void assert_png(const char *path)
{
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G',
                                         '\r', '\n', 0x1a, '\n'};
    size_t len = 0;
    uint8_t *b = tu_read_bytes(path, &len);

    ck_assert_msg(b != NULL, "%s was not written", path);
    ck_assert_uint_gt(len, 1000);
    ck_assert_int_eq(memcmp(b, sig, 8), 0);
    free(b);
}

static const mlp_runlog_epoch_t ep[3] = {
    {.epoch = 1, .train_loss = 1.038, .train_acc = 0.644, .test_acc = 0.759},
    {.epoch = 2, .train_loss = 0.600, .train_acc = 0.789, .test_acc = 0.776},
    {.epoch = 3, .train_loss = 0.520, .train_acc = 0.819, .test_acc = 0.813},
};

START_TEST(test_charts)
{
    char *dir, *p1, *p2, *p3;
    mlp_runlog_t a, b, empty;
    const mlp_runlog_t *logs[3] = {&a, &empty, &b};
    const char *labels[3] = {"hidden=256 act=relu", "none",
                             "weight_decay=0 'quoted'"};
    const char *bars[3] = {"a_b", "c \"d\"", "e"};
    double acc[3] = {0.85, 0.81, 0.88};

    ck_assert_msg(system("command -v gnuplot >/dev/null 2>&1") == 0,
                  "gnuplot not found: ./bootstrap installs it (Debian "
                  "package gnuplot-nox)");
    dir = tu_mkdtemp();
    p1 = tu_path(dir, "run.png");
    p2 = tu_path(dir, "overlay.png");
    p3 = tu_path(dir, "acc.png");
    ck_assert_int_eq(mlp_curves_run_png(p1, ep, 3, "a_title", 10), 0);
    assert_png(p1);
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    memset(&empty, 0, sizeof(empty));
    a.epochs = (mlp_runlog_epoch_t *)ep;
    a.nepochs = 3;
    b.epochs = (mlp_runlog_epoch_t *)ep + 1;
    b.nepochs = 2;
    ck_assert_int_eq(mlp_curves_overlay_png(p2, logs, labels, 3, "t", NULL), 0);
    assert_png(p2);
    ck_assert_int_eq(mlp_curves_accuracy_png(p3, bars, acc, 3, NULL, NULL, 0), 0);
    assert_png(p3);
    /* A search's chart: validation accuracy, its rungs, a stopped run;
     * bars in the ranking's order, named by their metric. */
    {
        static const unsigned rungs[2] = {1, 3};
        static const int stopped[3] = {0, 0, 1};
        mlp_overlay_opts_t op = {1, rungs, 2, stopped};

        unlink(p2);
        unlink(p3);
        ck_assert_int_eq(mlp_curves_overlay_png(p2, logs, labels, 3, "s",
                                                &op), 0);
        assert_png(p2);
        ck_assert_int_eq(mlp_curves_accuracy_png(p3, bars, acc, 3, NULL,
                                                 "best validation accuracy",
                                                 1), 0);
        assert_png(p3);
    }
    /* One epoch, one bar: degenerate ranges still draw. */
    ck_assert_int_eq(mlp_curves_run_png(p1, ep, 1, NULL, 0), 0);
    ck_assert_int_eq(mlp_curves_accuracy_png(p3, bars, acc, 1, "one", NULL, 0), 0);
    free(p1);
    free(p2);
    free(p3);
    tu_rmtree(dir);
}
END_TEST

START_TEST(test_nothing_to_draw)
{
    mlp_runlog_t empty;
    const mlp_runlog_t *logs[1] = {&empty};
    const char *labels[1] = {"x"};

    memset(&empty, 0, sizeof(empty));
    ck_assert_int_eq(mlp_curves_run_png("/tmp/x.png", ep, 0, NULL, 0),
                     MLP_EINVAL);
    ck_assert_int_eq(mlp_curves_overlay_png("/tmp/x.png", logs, labels, 1,
                                            NULL, NULL),
                     MLP_EINVAL);
    ck_assert_msg_has("no run has epochs");
    ck_assert_int_eq(mlp_curves_accuracy_png("/tmp/x.png", labels, NULL, 0,
                                             NULL, NULL, 0),
                     MLP_EINVAL);
}
END_TEST

START_TEST(test_no_gnuplot)
{
    char *dir = tu_mkdtemp(), *p = tu_path(dir, "run.png");

    setenv("MLPTRAIN_GNUPLOT", "/nonexistent/gnuplot", 1);
    ck_assert_int_eq(mlp_curves_run_png(p, ep, 3, "t", 0), MLP_EIO);
    ck_assert_msg_has("gnuplot-nox");
    unsetenv("MLPTRAIN_GNUPLOT");
    free(p);
    tu_rmtree(dir);
}
END_TEST

Suite *curves_suite(void);
Suite *curves_suite(void)
{
    Suite *s = suite_create("curves");
    TCase *core = tu_tcase(s, "core", 30);
    TCase *errors = tu_tcase(s, "errors", 0);

    tcase_add_test(core, test_charts);
    tcase_add_test(errors, test_nothing_to_draw);
    tcase_add_test(errors, test_no_gnuplot);
    return s;
}

MLP_CHECK_MAIN(curves_suite)
