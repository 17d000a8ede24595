/*
 * Tests of the eval and predict commands on a saved model of the small
 * problem of eval_fixture.h: their figures against the double reference,
 * their outputs and their bad usage.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"
#include "mlptrain/error.h"
#include "mlptrain/commands.h"
#include "mlptrain/eval.h"
#include "mlptrain/rng.h"
#include "testutil.h"
#include "eval_fixture.h"

/* Run a command on a NULL-terminated argument list; output to a buffer. */
static int run(int (*cmd)(int, char **, FILE *), char **out_text, ...)
{
    char *argv[32];
    int argc = 0, rc;
    size_t len;
    FILE *f = open_memstream(out_text, &len);
    va_list ap;

    ck_assert_ptr_nonnull(f);
    va_start(ap, out_text);
    while ((argv[argc] = va_arg(ap, char *)) != NULL)
        argc++;
    va_end(ap);
    rc = cmd(argc, argv, f);
    fclose(f);
    return rc;
}

static void assert_has(const char *text, const char *want)
{
    if (strstr(text, want) == NULL)
        ck_abort_msg("output lacks '%s':\n%s", want, text);
}

/* Precision, recall and F1 of class k of a C x C matrix, from the
 * definitions, 0 for 0/0 (macro: over classes labelled or predicted). */
static void ref_prf(const size_t *m, size_t k, double out[3])
{
    double tp = (double)m[k * C + k], lab = 0, pred = 0;

    for (size_t j = 0; j < C; j++) {
        lab += (double)m[k * C + j];
        pred += (double)m[j * C + k];
    }
    out[0] = pred > 0 ? tp / pred : 0.0;
    out[1] = lab > 0 ? tp / lab : 0.0;
    out[2] = out[0] + out[1] > 0 ? 2 * out[0] * out[1] / (out[0] + out[1])
                                 : 0.0;
}

/* The number after `key` at or after `from` in text. */
static double number_after(const char *text, const char *from,
                           const char *key)
{
    const char *p = strstr(from, key);
    double v;

    if (p == NULL || sscanf(p + strlen(key), "%lf", &v) != 1)
        ck_abort_msg("no number after '%s' in:\n%s", key, text);
    return v;
}

/*
 * The commands on a saved checkpoint of the fixture's net and a dataset
 * holding the fixture's samples: the figures are the reference's.
 */
START_TEST(test_commands_on_saved_model)
{
    static const size_t batches[] = {8};
    char *dir = tu_mkdtemp(), *model = tu_path(dir, "m.ckpt"), *text = NULL;
    uint32_t idims[3] = {N, ROWS, COLS}, ldims[1] = {N};
    mlp_checkpoint_t ck;
    fixture_t f;
    ref_t ref;
    mlp_net_t *net;
    char want[256];
    size_t right = 0, off;
    double json_prf[C][3], macro[3] = {0, 0, 0};
    size_t occurs[C] = {0}, nocc = 0;

    make_fixture(&f, 5);
    reference(&f, &ref);
    ck_assert_double_gt(ref.min_gap, 1e-3);
    for (int i = 0; i < MLP_NFILES; i++) {
        char *p = tu_path(dir, mlp_dataset_file_names[i]);
        int images = i == MLP_FILE_TRAIN_IMAGES || i == MLP_FILE_TEST_IMAGES;

        ck_assert_int_eq(tu_write_idx(p, images ? idims : ldims, images ? 3 : 1,
                                      images ? f.images : f.labels, i & 1),
                         0);
        free(p);
    }
    net = make_net(&f, batches, 1);
    memset(&ck, 0, sizeof(ck));
    ck_assert_int_eq(mlp_checkpoint_capture(&ck, net, NULL), 0);
    ck.rows = ROWS;
    ck.cols = COLS;
    ck.ntrain = N;
    ck.batch = 8;
    ck.lr = 0.1f;
    ck.epoch = ck.best_epoch = 2;
    ck_assert_int_eq(mlp_checkpoint_save(model, &ck), 0);
    mlp_checkpoint_free(&ck);
    mlp_net_destroy(net);

    ck_assert_int_eq(run(mlp_cmd_eval, &text, "eval", "--model", model,
                         "--data", dir, "--batch", "8", "-t", "1", "--json",
                         (char *)NULL),
                     0);
    snprintf(want, sizeof(want), "\"samples\":%d,\"correct\":%zu,", N,
             ref.correct);
    assert_has(text, want);
    off = (size_t)snprintf(want, sizeof(want), "\"confusion\":[");
    for (size_t i = 0; i < C; i++)
        for (size_t j = 0; j < C; j++)
            off += (size_t)snprintf(want + off, sizeof(want) - off, "%s%zu%s",
                                    j == 0 ? (i ? ",[" : "[") : ",",
                                    ref.confusion[i * C + j],
                                    j == C - 1 ? "]" : "");
    assert_has(text, want);
    /* Per class and macro precision, recall and F1: the definitions'. */
    for (size_t k = 0; k < C; k++) {
        const char *obj;
        double r[3];

        snprintf(want, sizeof(want), "{\"class\":\"%zu\",", k);
        obj = strstr(text, want);
        ck_assert_ptr_nonnull(obj);
        ref_prf(ref.confusion, k, r);
        json_prf[k][0] = number_after(text, obj, "\"precision\":");
        json_prf[k][1] = number_after(text, obj, "\"recall\":");
        json_prf[k][2] = number_after(text, obj, "\"f1\":");
        for (size_t i = 0; i < 3; i++) {
            ck_assert_double_eq_tol(json_prf[k][i], r[i], 1e-6);
            macro[i] += r[i];
        }
        for (size_t j = 0; j < C; j++)
            occurs[k] |= ref.confusion[k * C + j] + ref.confusion[j * C + k];
        nocc += occurs[k] != 0;
    }
    for (size_t i = 0; i < 3; i++)
        macro[i] /= (double)nocc;
    assert_has(text, "],\"macro\":{\"precision\":");
    ck_assert_double_eq_tol(number_after(text, strstr(text, "\"macro\""),
                                         "\"precision\":"), macro[0], 1e-6);
    ck_assert_double_eq_tol(number_after(text, strstr(text, "\"macro\""),
                                         "\"recall\":"), macro[1], 1e-6);
    ck_assert_double_eq_tol(number_after(text, strstr(text, "\"macro\""),
                                         "\"f1\":"), macro[2], 1e-6);
    free(text);

    /* Text, with the user's names, as many as the classes. */
    ck_assert_int_eq(run(mlp_cmd_eval, &text, "eval", "--model", model,
                         "--data", dir, "-b", "8", "-t", "1",
                         "--class-names", "ant,bee,cat,dog", (char *)NULL),
                     0);
    snprintf(want, sizeof(want), "(%zu of %d right)", ref.correct, N);
    assert_has(text, want);
    assert_has(text, "model    ");
    assert_has(text, ": 12-5-4 tanh, 2 epochs");
    assert_has(text, "    ant bee cat dog\n");
    snprintf(want, sizeof(want), "\nant %3zu %3zu %3zu %3zu\n", ref.confusion[0],
             ref.confusion[1], ref.confusion[2], ref.confusion[3]);
    assert_has(text, want);
    /* The table agrees with the JSON to its 4 decimals; its macro row
     * counts every sample. */
    assert_has(text, "\nprecision, recall and F1 (0 for 0/0: never "
                     "predicted, no samples)\n"
                     "  class      precision  recall      f1  samples\n");
    for (size_t k = 0; k <= C; k++) {
        static const char *const names[] = {"ant", "bee", "cat", "dog",
                                            "macro avg"};
        const char *line;
        double v[3];
        size_t samples;

        snprintf(want, sizeof(want), "\n  %-9s  ", names[k]);
        line = strstr(strstr(text, "\nprecision, recall"), want);
        ck_assert_ptr_nonnull(line);
        ck_assert_int_eq(sscanf(line + strlen(want), "%lf %lf %lf %zu",
                                &v[0], &v[1], &v[2], &samples),
                         4);
        for (size_t i = 0; i < 3; i++)
            ck_assert_double_eq_tol(v[i], k < C ? json_prf[k][i] : macro[i],
                                    5.1e-5);
        if (k == C)
            ck_assert_uint_eq(samples, N);
    }
    free(text);

    for (size_t s = 0; s < 10; s++)
        right += ref.pred[s] == f.labels[s];
    ck_assert_int_eq(run(mlp_cmd_predict, &text, "predict", "--model", model,
                         "--data", dir, "-t", "1", (char *)NULL),
                     0);
    snprintf(want, sizeof(want), "\n%zu of 10 right\n", right);
    assert_has(text, want);
    snprintf(want, sizeof(want), "true  %u", f.labels[0]);
    assert_has(text, want);
    free(text);

    /* Wrong name count: usage; a model that does not fit: runtime. */
    ck_assert_int_eq(run(mlp_cmd_eval, &text, "eval", "--model", model,
                         "--data", dir, "--class-names", "a,b", (char *)NULL),
                     MLP_EUSAGE);
    free(text);
    ck_assert_int_eq(run(mlp_cmd_predict, &text, "predict", "--model", dir,
                         "--data", dir, (char *)NULL),
                     MLP_EIO);
    free(text);
    free(model);
    tu_rmtree(dir);
}
END_TEST

START_TEST(test_command_usage)
{
    char *text = NULL;

#define USAGE(cmd, want, ...)                                             \
    do {                                                                  \
        ck_assert_int_eq(run(cmd, &text, __VA_ARGS__, (char *)NULL),      \
                         MLP_EUSAGE);                                     \
        ck_assert_msg_has(want);                                         \
        free(text);                                                       \
        text = NULL;                                                      \
    } while (0)

    USAGE(mlp_cmd_eval, "option '--model' is required", "eval");
    USAGE(mlp_cmd_eval, "option '--batch': 'x'", "eval", "--model", "m",
          "--batch", "x");
    USAGE(mlp_cmd_eval, "option '--batch': '0' is out of range", "eval",
          "--model", "m", "-b", "0");
    USAGE(mlp_cmd_eval, "option '--threads'", "eval", "--model", "m",
          "--threads", "-1");
    USAGE(mlp_cmd_eval, "option '--limit-test'", "eval", "--model", "m",
          "--limit-test", "1e3");
    USAGE(mlp_cmd_eval, "unknown option '--bogus'", "eval", "--bogus");
    USAGE(mlp_cmd_eval, "option '--model' needs a value", "eval", "--model");
    USAGE(mlp_cmd_eval, "unexpected argument 'extra'", "eval", "--model", "m",
          "extra");
    USAGE(mlp_cmd_predict, "option '--limit-test': '0' is out of range", "predict",
          "--model", "m", "-n", "0");
    USAGE(mlp_cmd_predict, "option '--limit-test': '101' is out of range", "predict",
          "--model", "m", "-n", "101");
    USAGE(mlp_cmd_predict, "option '--png': an empty file name", "predict",
          "--model", "m", "--png", "");
    USAGE(mlp_cmd_predict, "option '--c' is ambiguous: it could be "
          "--class-names, --count", "predict", "--model", "m", "--c", "3");
    USAGE(mlp_cmd_eval, "unknown option '--png'", "eval", "--model", "m",
          "--png", "x.png");
    /* the rules beside the tables (cmd_eval.c): what does not apply */
    USAGE(mlp_cmd_eval, "option '--label' needs --test FILE", "eval",
          "--model", "m", "--label", "y");
    USAGE(mlp_cmd_eval, "option '--data' conflicts with --test", "eval",
          "--model", "m", "--data", "d", "--test", "t.csv");
    USAGE(mlp_cmd_eval, "option '--test-labels' needs --test FILE", "eval",
          "--model", "m", "--test-labels", "y.npy");
    USAGE(mlp_cmd_predict, "option '--csv' conflicts with --json", "predict",
          "--model", "m", "--input", "x.csv", "--csv", "--json");
    USAGE(mlp_cmd_predict, "option '--logits' needs --input FILE", "predict",
          "--model", "m", "--logits");
    USAGE(mlp_cmd_predict, "option '--input' conflicts with --show-train",
          "predict", "--model", "m", "--input", "x.csv", "--show-train");
    USAGE(mlp_cmd_predict, "option '--seed' needs --show-train", "predict",
          "--model", "m", "--seed", "3");
#undef USAGE

    /* --help shows every default and succeeds without --model. */
    ck_assert_int_eq(run(mlp_cmd_eval, &text, "eval", "--help", (char *)NULL),
                     0);
    ck_assert_ptr_nonnull(strstr(text, "--batch N          batch size; N in "
                                       "1..1048576 [256]"));
    ck_assert_ptr_nonnull(strstr(text, "[all]"));
    ck_assert_ptr_nonnull(strstr(text, "[off]"));
    free(text);
    ck_assert_int_eq(run(mlp_cmd_predict, &text, "predict", "-h",
                         (char *)NULL),
                     0);
    ck_assert_ptr_nonnull(strstr(text, "[10]"));
    ck_assert_ptr_nonnull(strstr(text, "[none]"));
    free(text);
}
END_TEST

static Suite *eval_commands_suite(void)
{
    Suite *s = suite_create("eval_commands");
    TCase *core = tu_tcase(s, "core", 60);
    TCase *errors = tu_tcase(s, "errors", 0);

    /* core runs oneDNN, which valgrind's memcheck misreads: `make
     * check-valgrind` runs only errors (see Makefile.am). */
    tcase_set_tags(core, "dnnl");
    tcase_add_test(core, test_commands_on_saved_model);
    tcase_add_test(errors, test_command_usage);
    return s;
}

MLP_CHECK_MAIN(eval_commands_suite)
