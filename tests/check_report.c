/*
 * Tests of report: the progress line's formatter (fits a terminal's width,
 * shows the epoch's and the whole run's ETA); warnings on the given stream.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "mlptrain/report.h"
#include "mlptrain/step.h"

START_TEST(test_progress_full)
{
    char buf[256];
    size_t n = mlp_report_format_progress(buf, sizeof(buf), 0, 3, 10, 120,
                                          235, 25034.4, 4.2, 65.0);

    ck_assert_uint_eq(n, strlen(buf));
    ck_assert_str_eq(buf, "[epoch 3/10] batch 120/235 (51%)  25034 "
                          "samples/s  ETA 4 s, run 1m05s");
    /* A wide terminal changes nothing. */
    mlp_report_format_progress(buf, sizeof(buf), 200, 3, 10, 120, 235,
                               25034.4, 4.2, 65.0);
    ck_assert_str_eq(buf, "[epoch 3/10] batch 120/235 (51%)  25034 "
                          "samples/s  ETA 4 s, run 1m05s");
}
END_TEST

/* A narrow terminal: one line shorter than the width (no wrap), and the
 * ETAs kept as long as they fit. */
START_TEST(test_progress_narrow)
{
    char buf[256];
    size_t n = mlp_report_format_progress(buf, sizeof(buf), 40, 3, 10, 120,
                                          235, 25034.4, 4.2, 3725.0);

    ck_assert_uint_le(n, 39);
    ck_assert_uint_eq(n, strlen(buf));
    ck_assert_ptr_nonnull(strstr(buf, "ETA 4 s"));
    ck_assert_ptr_nonnull(strstr(buf, "run 1h02m"));
    for (unsigned w = 1; w < 80; w++) {
        n = mlp_report_format_progress(buf, sizeof(buf), w, 12, 1000, 1234,
                                       99999, 123456.0, 1e9, 1e12);
        ck_assert_uint_le(n, w - 1);
        ck_assert_uint_eq(n, strlen(buf));
    }
    /* A small buffer is respected too. */
    n = mlp_report_format_progress(buf, 8, 0, 3, 10, 120, 235, 1.0, 1.0, 1.0);
    ck_assert_uint_eq(n, 7);
}
END_TEST

/* No rate yet, or an absurd one: no undefined conversion, a plain mark. */
START_TEST(test_progress_eta_limits)
{
    char buf[256];

    mlp_report_format_progress(buf, sizeof(buf), 0, 1, 2, 1, 10, 0.0,
                               INFINITY, NAN);
    ck_assert_ptr_nonnull(strstr(buf, "ETA >99h, run ?"));
}
END_TEST

/* Warnings go to the stream given for them, with -q too, and nowhere
 * without one: the library never writes to stderr itself. */
START_TEST(test_warnings_stream)
{
    mlp_config_t *cfg = malloc(sizeof(*cfg));
    mlp_dataset_t *ds = calloc(1, sizeof(*ds));
    mlp_run_info_t info = {.dnnl_version = "2.6", .isa = "x",
                           .free_cores = 0};
    char buf[1024];

    ck_assert_ptr_nonnull(cfg);
    ck_assert_ptr_nonnull(ds);
    mlp_config_defaults(cfg);
    cfg->threads = 2;
    cfg->parallel = MLP_PAR_GEMM; /* batch mode does not warn (e2e_streams) */
    cfg->micro = 64;              /* the default batch 256: 4 micro-batches */
    for (int quiet = 0; quiet <= 1; quiet++) {
        FILE *out = tmpfile(), *err = tmpfile();
        mlp_report_t *rep;
        size_t n;

        ck_assert_ptr_nonnull(out);
        ck_assert_ptr_nonnull(err);
        ck_assert_int_eq(mlp_report_create(out, err, quiet, NULL, 0, &rep),
                         0);
        ck_assert_int_eq(mlp_report_run(rep, cfg, ds, &info), 0);
        ck_assert_int_eq(mlp_report_destroy(rep), 0);
        rewind(err);
        n = fread(buf, 1, sizeof(buf) - 1, err);
        buf[n] = '\0';
        ck_assert_ptr_nonnull(strstr(buf, "mlptrain: warning: the machine's "
                                          "load leaves 0 of"));
        rewind(out);
        n = fread(buf, 1, sizeof(buf) - 1, out);
        buf[n] = '\0';
        ck_assert_ptr_null(strstr(buf, "warning"));
        if (!quiet) /* the step line: the mode and the partition */
            ck_assert_ptr_nonnull(strstr(buf, "step     gemm (threads in each "
                                              "product): micro-batches of 64 "
                                              "rows, 4 a batch, summed in "
                                              "order\n"));
        fclose(out);
        fclose(err);
    }
    free(cfg);
    free(ds);
}
END_TEST

static Suite *report_suite(void)
{
    Suite *s = suite_create("report");
    TCase *core = tcase_create("core");
    TCase *limits = tcase_create("limits");

    tcase_add_test(core, test_progress_full);
    tcase_add_test(core, test_warnings_stream);
    tcase_add_test(limits, test_progress_narrow);
    tcase_add_test(limits, test_progress_eta_limits);
    suite_add_tcase(s, core);
    suite_add_tcase(s, limits);
    return s;
}

MLP_CHECK_MAIN(report_suite)
