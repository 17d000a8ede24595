/*
 * Tests of report: the progress line's formatter (fits a terminal's width,
 * shows the epoch's and the whole run's ETA); warnings on the given stream.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include "check_main.h"
#include "testutil.h"
#include "mlptrain/options.h"
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
                                              "product), f32: micro-batches "
                                              "of 64 rows, 4 a batch, summed "
                                              "in order\n"));
        fclose(out);
        fclose(err);
    }
    free(cfg);
    free(ds);
}
END_TEST

/* mlp_report_run of cfg to a new stream and log (replaced): the lines
 * into buf (len bytes at most). */
static void run_lines(const char *log, const mlp_config_t *cfg,
                      const mlp_dataset_t *ds, const mlp_run_info_t *info,
                      char *buf, size_t len)
{
    FILE *out = tmpfile();
    mlp_report_t *rep;
    size_t n;

    ck_assert_ptr_nonnull(out);
    unlink(log);
    ck_assert_int_eq(mlp_report_create(out, NULL, 0, log, 0, &rep), 0);
    ck_assert_int_eq(mlp_report_run(rep, cfg, ds, info), 0);
    ck_assert_int_eq(mlp_report_destroy(rep), 0);
    rewind(out);
    n = fread(buf, 1, len - 1, out);
    buf[n] = '\0';
    fclose(out);
}

/* The run's lines and record of the step's precision: as given, or auto
 * with its reason; and a precision given on resume, unlike the
 * checkpoint's, as an override (line and record), like --lr. */
START_TEST(test_precision)
{
    mlp_config_t *cfg = malloc(sizeof(*cfg)), *ck = malloc(sizeof(*ck));
    mlp_dataset_t *ds = calloc(1, sizeof(*ds));
    mlp_precision_choice_t c = {.asked = MLP_PREC_AUTO,
                                .used = MLP_PREC_BF16, .speedup = 1.9,
                                .seconds = 0.05, .rows = 128,
                                .why = "bf16 ran 1.90x f32"};
    mlp_run_info_t info = {.dnnl_version = "2.6", .isa = "x",
                           .free_cores = -1, .precision = &c,
                           .resume_path = "c.ckpt", .resume_cfg = ck};
    char *dir = tu_mkdtemp(), *log = tu_path(dir, "l.jsonl");
    char buf[4096], *text;

    mlp_config_defaults(cfg);
    mlp_config_defaults(ck);
    cfg->micro = 128;
    cfg->parallel = MLP_PAR_BATCH;
    cfg->precision = MLP_PREC_BF16;  /* resolved */
    cfg->given = mlp_options_bit(MLP_O(PRECISION));
    ck->precision = MLP_PREC_F32;    /* the checkpoint trained in f32 */
    run_lines(log, cfg, ds, &info, buf, sizeof(buf));
    ck_assert_ptr_nonnull(strstr(buf, "step     batch (a replica a thread), "
                                      "bf16 (auto: bf16 ran 1.90x f32): "
                                      "micro-batches of 128 rows"));
    ck_assert_ptr_nonnull(strstr(buf, "override --precision bf16 (the "
                                      "checkpoint's: f32)\n"));
    ck_assert_ptr_null(strstr(buf, "override --lr"));
    text = tu_read_text(log);
    ck_assert_ptr_nonnull(strstr(text, "\"precision\":{\"asked\":\"auto\","
                                       "\"used\":\"bf16\",\"speedup\":1.9,"
                                       "\"calibration_s\":0.05,\"why\":"
                                       "\"bf16 ran 1.90x f32\"}"));
    ck_assert_ptr_nonnull(strstr(text, "\"overrides\":{\"precision\":{"
                                       "\"checkpoint\":\"f32\",\"used\":"
                                       "\"bf16\"}}"));
    ck_assert_ptr_nonnull(strstr(text, "\"precision\":\"bf16\""));
    free(text);
    /* The same value as the checkpoint's is no override; f32 as given. */
    ck->precision = MLP_PREC_BF16;
    info.precision = NULL;
    run_lines(log, cfg, ds, &info, buf, sizeof(buf));
    ck_assert_ptr_nonnull(strstr(buf, "thread), bf16: micro-batches"));
    ck_assert_ptr_null(strstr(buf, "override"));
    text = tu_read_text(log);
    ck_assert_ptr_null(strstr(text, "\"overrides\""));
    ck_assert_ptr_nonnull(strstr(text, "\"precision\":{\"asked\":\"bf16\","
                                       "\"used\":\"bf16\"}"));
    free(text);
    free(cfg);
    free(ck);
    free(ds);
    free(log);
    tu_rmtree(dir);
}
END_TEST

static Suite *report_suite(void)
{
    Suite *s = suite_create("report");
    TCase *core = tu_tcase(s, "core", 0);
    TCase *limits = tu_tcase(s, "limits", 0);

    tcase_add_test(core, test_progress_full);
    tcase_add_test(core, test_warnings_stream);
    tcase_add_test(core, test_precision);
    tcase_add_test(limits, test_progress_narrow);
    tcase_add_test(limits, test_progress_eta_limits);
    return s;
}

MLP_CHECK_MAIN(report_suite)
