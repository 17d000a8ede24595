/*
 * Tests of runlog: the records report.c writes read back; a log cut short,
 * a resumed run appended to its log, escapes, unreadable files.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "mlptrain/error.h"
#include "mlptrain/runlog.h"
#include "testutil.h"

#define TOL 1e-9

static const char run_rec[] =
    "{\"type\":\"run\",\"version\":\"0.1.0\",\"threads\":2,\"workers\":4,"
    "\"model\":\"784-1024-512-10\",\"parameters\":1333770,\"options\":{"
    "\"hidden\":[1024,512],\"act\":\"tanh\",\"lr\":0.5,\"momentum\":0,"
    "\"batch\":256,\"epochs\":10,\"data\":\"/d/\\\"lr\\\":9\"},"
    "\"dataset\":{\"train\":60000}}\n";

/* Reads text as a run log, through a file it then removes: it must be
 * read without an error. */
static void read_log(const char *text, mlp_runlog_t *log)
{
    char *dir = tu_mkdtemp(), *path = tu_path(dir, "log.jsonl");

    ck_assert_int_eq(tu_write_bytes(path, text, strlen(text)), 0);
    ck_assert_int_eq(mlp_runlog_read(path, log), 0);
    free(path);
    tu_rmtree(dir);
}

static char *epoch_rec(unsigned e, double loss, double acc, double tacc)
{
    static char buf[512];

    snprintf(buf, sizeof(buf),
             "{\"type\":\"epoch\",\"epoch\":%u,\"train_loss\":%.6f,"
             "\"train_acc\":%.6f,\"test_loss\":0.5,\"test_acc\":%.6f,"
             "\"seconds\":1.0}\n",
             e, loss, acc, tacc);
    return buf;
}

START_TEST(test_whole_run)
{
    char text[4096], label[256];
    mlp_runlog_t log;

    snprintf(text, sizeof(text), "%s", run_rec);
    strcat(text, epoch_rec(1, 1.038, 0.644, 0.759));
    strcat(text, epoch_rec(2, 0.6, 0.789, 0.776));
    strcat(text, "{\"type\":\"checkpoint\",\"epoch\":2}\n"); /* unknown */
    strcat(text, "{\"type\":\"end\",\"status\":\"ok\",\"epochs\":2,"
                 "\"seconds\":2.5,\"samples_per_s\":48000.0,"
                 "\"final_test_acc\":0.776,\"best_test_acc\":0.776,"
                 "\"best_epoch\":2,\"peak_rss_kb\":1000}\n");
    read_log(text, &log);
    ck_assert_int_eq(log.has_run, 1);
    ck_assert_str_eq(log.model, "784-1024-512-10");
    ck_assert_str_eq(log.act, "tanh");
    /* the "lr" inside the data path's string is not the option */
    ck_assert_double_eq_tol(log.lr, 0.5, TOL);
    ck_assert_uint_eq(log.batch, 256);
    ck_assert_uint_eq(log.planned_epochs, 10);
    ck_assert_uint_eq(log.nepochs, 2);
    ck_assert_uint_eq(log.epochs[0].epoch, 1);
    ck_assert_double_eq_tol(log.epochs[0].train_loss, 1.038, TOL);
    ck_assert_double_eq_tol(log.epochs[1].train_acc, 0.789, TOL);
    ck_assert_double_eq_tol(log.epochs[1].test_acc, 0.776, TOL);
    ck_assert_int_eq(log.has_end, 1);
    ck_assert_str_eq(log.status, "ok");
    ck_assert_uint_eq(log.end_epochs, 2);
    ck_assert_double_eq_tol(log.seconds, 2.5, TOL);
    ck_assert_double_eq_tol(log.samples_per_s, 48000.0, TOL);
    ck_assert_double_eq_tol(log.best_test_acc, 0.776, TOL);
    ck_assert_uint_eq(log.best_epoch, 2);
    ck_assert_str_eq(log.message, "");
    mlp_runlog_label(&log, label, sizeof(label));
    ck_assert_str_eq(label, "784-1024-512-10 tanh, lr 0.5");
    mlp_runlog_free(&log);
    ck_assert_ptr_null(log.epochs);
}
END_TEST

START_TEST(test_many_epochs)
{
    mlp_runlog_t log;

    memset(&log, 0, sizeof(log));
    for (unsigned e = 1; e <= 100; e++)
        ck_assert_int_eq(mlp_runlog_parse_line(&log, epoch_rec(e, 1.0 / e,
                                                               0.5, 0.5)),
                         0);
    ck_assert_uint_eq(log.nepochs, 100);
    ck_assert_uint_eq(log.epochs[99].epoch, 100);
    ck_assert_double_eq_tol(log.epochs[49].train_loss, 0.02, 1e-6);
    mlp_runlog_free(&log);
}
END_TEST

START_TEST(test_resumed_log)
{
    /* Interrupted in epoch 3 after epoch 2, resumed from epoch 2's
     * checkpoint: the second run's records win. */
    char text[8192];
    mlp_runlog_t log;

    snprintf(text, sizeof(text), "%s", run_rec);
    strcat(text, epoch_rec(1, 1.0, 0.6, 0.7));
    strcat(text, epoch_rec(2, 0.8, 0.7, 0.75));
    strcat(text, "{\"type\":\"end\",\"status\":\"interrupted\",\"epochs\":2,"
                 "\"message\":\"interrupted in epoch 3\"}\n");
    strcat(text, run_rec);
    strcat(text, epoch_rec(2, 0.79, 0.71, 0.76));
    strcat(text, epoch_rec(3, 0.6, 0.8, 0.8));
    read_log(text, &log);
    ck_assert_int_eq(log.has_end, 0); /* the resumed run has not ended */
    ck_assert_uint_eq(log.nepochs, 3);
    ck_assert_double_eq_tol(log.epochs[1].train_loss, 0.79, TOL);
    ck_assert_uint_eq(log.epochs[2].epoch, 3);
    mlp_runlog_free(&log);
}
END_TEST

START_TEST(test_val_fields)
{
    mlp_runlog_t log;

    memset(&log, 0, sizeof(log));
    ck_assert_int_eq(mlp_runlog_parse_line(&log, "{\"type\":\"epoch\","
        "\"epoch\":1,\"train_loss\":0.5,\"train_acc\":0.8,\"test_acc\":0.7}"),
        0);
    ck_assert_int_eq(mlp_runlog_parse_line(&log, "{\"type\":\"epoch\","
        "\"epoch\":2,\"train_loss\":0.4,\"train_acc\":0.85,\"test_acc\":0.75,"
        "\"val_loss\":0.25,\"val_acc\":0.875}"), 0);
    ck_assert_int_eq(mlp_runlog_parse_line(&log, "{\"type\":\"end\","
        "\"status\":\"ok\",\"epochs\":2,\"best_epoch\":2,\"best_test_acc\":"
        "0.75,\"best_val_acc\":0.875,\"best_val_loss\":0.25,"
        "\"stopped_early\":2}"), 0);
    ck_assert_uint_eq(log.nepochs, 2);
    ck_assert(!log.epochs[0].has_val);
    ck_assert_double_eq(log.epochs[0].val_acc, 0.0);
    ck_assert(log.epochs[1].has_val);
    ck_assert_double_eq(log.epochs[1].val_loss, 0.25);
    ck_assert_double_eq(log.epochs[1].val_acc, 0.875);
    ck_assert(log.has_best_val);
    ck_assert_double_eq(log.best_val_acc, 0.875);
    ck_assert_double_eq(log.best_val_loss, 0.25);
    ck_assert_uint_eq(log.stopped_early, 2);
    /* A run without --val: no validation figure; null reads as absent. */
    ck_assert_int_eq(mlp_runlog_parse_line(&log, "{\"type\":\"end\","
        "\"status\":\"ok\",\"epochs\":2,\"best_val_acc\":null,"
        "\"stopped_early\":null}"), 0);
    ck_assert(!log.has_best_val);
    ck_assert_uint_eq(log.stopped_early, 0);
    mlp_runlog_free(&log);
}
END_TEST

START_TEST(test_cut_short_and_escapes)
{
    char text[4096];
    mlp_runlog_t log;

    snprintf(text, sizeof(text), "%s", run_rec);
    strcat(text, epoch_rec(1, 1.0, 0.6, 0.7));
    strcat(text, "{\"type\":\"epoch\",\"epoch\":2,\"train_loss\":0.5}\n");
    strcat(text, "{\"type\":\"end\",\"status\":\"diverged\",\"epochs\":1,"
                 "\"message\":\"epoch 2 \\\"x\\\\y\\\"\\nz\\u0007\"}\n");
    /* A last line without its newline: a killed writer. */
    strcat(text, "{\"type\":\"epoch\",\"epoch\":3,\"train_loss\":0.4,\"tr");
    read_log(text, &log);
    ck_assert_uint_eq(log.nepochs, 1);
    ck_assert_str_eq(log.status, "diverged");
    ck_assert_str_eq(log.message, "epoch 2 \"x\\y\"\nz\a");
    mlp_runlog_free(&log);
}
END_TEST

START_TEST(test_missing_file)
{
    mlp_runlog_t log;

    ck_assert_int_eq(mlp_runlog_read("/nonexistent/log.jsonl", &log),
                     MLP_EIO);
    ck_assert_msg_has("/nonexistent/log.jsonl");
    ck_assert_uint_eq(log.nepochs, 0);
    mlp_runlog_free(&log);
    mlp_runlog_free(NULL);
}
END_TEST

START_TEST(test_not_a_log)
{
    char label[64];
    mlp_runlog_t log;

    read_log("hello\n\n{\"type\":\"epoch\"}\n[1,2]\n", &log);
    ck_assert_int_eq(log.has_run, 0);
    ck_assert_int_eq(log.has_end, 0);
    ck_assert_uint_eq(log.nepochs, 0);
    mlp_runlog_label(&log, label, sizeof(label));
    ck_assert_str_eq(label, "");
    mlp_runlog_free(&log);
}
END_TEST

/*
 * Hostile records: numbers no integer holds (UBSan's float-cast-overflow
 * saw the old reader cast them), fields of the wrong type, names inside
 * strings, duplicate keys, nulls.  Each is read as absent or skipped.
 */
START_TEST(test_hostile_records)
{
    static const char *const lines[] = {
        "{\"type\":\"epoch\",\"epoch\":1e300,\"train_loss\":1,"
        "\"train_acc\":0.5,\"test_acc\":0.5}",
        "{\"type\":\"epoch\",\"epoch\":-1e300,\"train_loss\":1,"
        "\"train_acc\":0.5,\"test_acc\":0.5}",
        "{\"type\":\"epoch\",\"epoch\":4294967296,\"train_loss\":1,"
        "\"train_acc\":0.5,\"test_acc\":0.5}",
        "{\"type\":\"epoch\",\"epoch\":1.5,\"train_loss\":1,"
        "\"train_acc\":0.5,\"test_acc\":0.5}",
        "{\"type\":\"epoch\",\"epoch\":\"1\",\"train_loss\":1,"
        "\"train_acc\":0.5,\"test_acc\":0.5}",
        "{\"type\":\"epoch\",\"epoch\":1,\"train_loss\":null,"
        "\"train_acc\":0.5,\"test_acc\":0.5}",
        "{\"type\":\"epoch\",\"epoch\":1,\"epoch\":2,\"train_loss\":1,"
        "\"train_acc\":0.5,\"test_acc\":0.5}",
        "{\"type\":\"epoch\",\"epoch\":1e999,\"train_loss\":1}",
        "{\"type\":\"epoch\",\"epoch\":99999999999999999999999,"
        "\"train_loss\":1,\"train_acc\":0.5,\"test_acc\":0.5}",
        "{\"type\":\"epoch\",\"x\":\"\\\"epoch\\\":1,\\\"train_loss\\\":1\"}",
        "{\"type\":7}",
        "{\"type\":\"run\",\"options\":[1,2]}",
        "[\"type\",\"epoch\"]",
        "{\"type\":\"epoch\"",
        "\xff\xfe{}",
        "",
    };
    mlp_runlog_t log;

    memset(&log, 0, sizeof(log));
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
        ck_assert_int_eq(mlp_runlog_parse_line(&log, lines[i]), 0);
    ck_assert_uint_eq(log.nepochs, 0);
    ck_assert_int_eq(log.has_run, 1); /* the run record with bad options */
    ck_assert_uint_eq(log.batch, 0);
    ck_assert_str_eq(log.act, "");

    /* a run record's out-of-range numbers read as absent */
    ck_assert_int_eq(
        mlp_runlog_parse_line(&log, "{\"type\":\"run\",\"options\":{"
                                    "\"batch\":1e300,\"epochs\":-1e300,"
                                    "\"lr\":1e308,\"act\":5}}"),
        0);
    ck_assert_uint_eq(log.batch, 0);
    ck_assert_uint_eq(log.planned_epochs, 0);
    ck_assert_str_eq(log.act, "");
    /* an end record: huge numbers absent, nulls (figures that do not
     * exist) read as 0 */
    ck_assert_int_eq(
        mlp_runlog_parse_line(
            &log, "{\"type\":\"end\",\"status\":\"diverged\",\"epochs\":1e300,"
                  "\"seconds\":null,\"samples_per_s\":null,"
                  "\"final_test_acc\":null,\"best_test_acc\":null,"
                  "\"best_epoch\":-1e300}"),
        0);
    ck_assert_int_eq(log.has_end, 1);
    ck_assert_str_eq(log.status, "diverged");
    ck_assert_uint_eq(log.end_epochs, 0);
    ck_assert_uint_eq(log.best_epoch, 0);
    ck_assert_double_eq(log.final_test_acc, 0.0);
    ck_assert_double_eq(log.seconds, 0.0);
    mlp_runlog_free(&log);
}
END_TEST

/* Bounded reads: a line over the limit is an error naming the file and
 * the line; a device (/dev/zero) or a directory is refused at once. */
START_TEST(test_bounded_reads)
{
    char *dir = tu_mkdtemp(), *path = tu_path(dir, "long.jsonl");
    size_t n = (size_t)MLP_RUNLOG_LINE_MAX + 10;
    char *text = malloc(n + strlen(run_rec) + 2);
    mlp_runlog_t log;

    ck_assert_ptr_nonnull(text);
    strcpy(text, run_rec);
    memset(text + strlen(run_rec), ' ', n);
    strcpy(text + strlen(run_rec) + n, "\n");
    ck_assert_int_eq(tu_write_bytes(path, text, strlen(text)), 0);
    ck_assert_int_eq(mlp_runlog_read(path, &log), MLP_EFORMAT);
    ck_assert_msg_has(path);
    ck_assert_msg_has("line 2");
    ck_assert_int_eq(log.has_run, 0);
    ck_assert_int_eq(mlp_runlog_read("/dev/zero", &log), MLP_EIO);
    ck_assert_msg_has("not a regular file");
    ck_assert_int_eq(mlp_runlog_read(dir, &log), MLP_EIO);
    ck_assert_msg_has("directory");
    /* a line of exactly the limit is read */
    memset(text, ' ', MLP_RUNLOG_LINE_MAX);
    memcpy(text, run_rec, strlen(run_rec) - 1);
    strcpy(text + MLP_RUNLOG_LINE_MAX, "\n");
    ck_assert_int_eq(tu_write_bytes(path, text, strlen(text)), 0);
    ck_assert_int_eq(mlp_runlog_read(path, &log), 0);
    ck_assert_int_eq(log.has_run, 1);
    mlp_runlog_free(&log);
    free(text);
    free(path);
    tu_rmtree(dir);
}
END_TEST

Suite *runlog_suite(void);
Suite *runlog_suite(void)
{
    Suite *s = suite_create("runlog");
    TCase *core = tu_tcase(s, "core", 0);
    TCase *errors = tu_tcase(s, "errors", 0);

    tcase_add_test(core, test_whole_run);
    tcase_add_test(core, test_many_epochs);
    tcase_add_test(core, test_resumed_log);
    tcase_add_test(core, test_val_fields);
    tcase_add_test(errors, test_cut_short_and_escapes);
    tcase_add_test(errors, test_missing_file);
    tcase_add_test(errors, test_not_a_log);
    tcase_add_test(errors, test_hostile_records);
    tcase_add_test(errors, test_bounded_reads);
    return s;
}

MLP_CHECK_MAIN(runlog_suite)
