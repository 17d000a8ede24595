/*
 * Tests of sweep's library part: grids (products, unions, order, keys),
 * sampling, run ids and table values, and bad grids.  Running children is
 * tested end to end by tests/e2e_sweep.sh.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_main.h"
#include "mlptrain/commands.h"
#include "mlptrain/error.h"
#include "mlptrain/sweep.h"
#include "testutil.h"
#include "../src/sweep_run.h"

/* The value of key at point p, or NULL. */
static const char *val(const mlp_grid_t *g, size_t p, const char *key)
{
    for (size_t k = 0; k < g->nkeys; k++)
        if (strcmp(g->keys[k], key) == 0)
            return g->values[p * MLP_SWEEP_MAX_KEYS + k];
    return NULL;
}

START_TEST(test_product_order)
{
    mlp_grid_t g;

    memset(&g, 0, sizeof(g));
    ck_assert_int_eq(mlp_grid_add(&g, "lr=0.1,0.5  hidden=256,1024:512\t"
                                      "act=relu,tanh"),
                     0);
    ck_assert_uint_eq(g.npoints, 8);
    ck_assert_uint_eq(g.nkeys, 3);
    ck_assert_str_eq(g.keys[0], "lr");
    ck_assert_str_eq(g.keys[1], "hidden");
    ck_assert_str_eq(g.keys[2], "act");
    /* The first key varies slowest, the last fastest. */
    ck_assert_str_eq(val(&g, 0, "lr"), "0.1");
    ck_assert_str_eq(val(&g, 0, "hidden"), "256");
    ck_assert_str_eq(val(&g, 0, "act"), "relu");
    ck_assert_str_eq(val(&g, 1, "act"), "tanh");
    ck_assert_str_eq(val(&g, 2, "hidden"), "1024:512");
    ck_assert_str_eq(val(&g, 4, "lr"), "0.5");
    ck_assert_str_eq(val(&g, 7, "lr"), "0.5");
    ck_assert_str_eq(val(&g, 7, "hidden"), "1024:512");
    ck_assert_str_eq(val(&g, 7, "act"), "tanh");
    mlp_grid_free(&g);
    ck_assert_uint_eq(g.npoints, 0);
    mlp_grid_free(&g); /* twice is fine */
}
END_TEST

START_TEST(test_union_and_argv)
{
    mlp_grid_t g;
    char *argv[2 * MLP_SWEEP_MAX_KEYS];
    size_t n;

    memset(&g, 0, sizeof(g));
    ck_assert_int_eq(mlp_grid_add(&g, "hidden=1024,1024:512"), 0);
    ck_assert_int_eq(mlp_grid_add(&g, "act=sigmoid,tanh weight_decay=1e-4"),
                     0);
    ck_assert_uint_eq(g.npoints, 4);
    ck_assert_uint_eq(g.nkeys, 3);
    ck_assert_str_eq(g.keys[2], "weight-decay");
    ck_assert_ptr_null(val(&g, 0, "act"));
    ck_assert_ptr_null(val(&g, 2, "hidden"));
    ck_assert_str_eq(val(&g, 3, "act"), "tanh");
    n = mlp_grid_argv(&g, 1, argv);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(argv[0], "--hidden");
    ck_assert_str_eq(argv[1], "1024:512");
    n = mlp_grid_argv(&g, 2, argv);
    ck_assert_uint_eq(n, 4);
    ck_assert_str_eq(argv[0], "--act");
    ck_assert_str_eq(argv[1], "sigmoid");
    ck_assert_str_eq(argv[2], "--weight-decay");
    ck_assert_str_eq(argv[3], "1e-4");
    ck_assert_str_eq(mlp_sweep_key_flag("init_std"), "--init-std");
    ck_assert_ptr_null(mlp_sweep_key_flag("threads"));
    mlp_grid_free(&g);
}
END_TEST

START_TEST(test_sample)
{
    mlp_grid_t a, b, c;
    const char *spec = "lr=1,2,3,4,5,6,7,8,9,10 seed=1,2,3,4,5";

    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    memset(&c, 0, sizeof(c));
    ck_assert_int_eq(mlp_grid_add(&a, spec), 0);
    ck_assert_int_eq(mlp_grid_add(&b, spec), 0);
    ck_assert_int_eq(mlp_grid_add(&c, spec), 0);
    ck_assert_int_eq(mlp_grid_sample(&a, 7, 42), 0);
    ck_assert_int_eq(mlp_grid_sample(&b, 7, 42), 0);
    ck_assert_int_eq(mlp_grid_sample(&c, 7, 43), 0);
    ck_assert_uint_eq(a.npoints, 7);
    /* The same seed picks the same points; all distinct, in grid order. */
    for (size_t p = 0; p < 7; p++) {
        ck_assert_str_eq(val(&a, p, "lr"), val(&b, p, "lr"));
        ck_assert_str_eq(val(&a, p, "seed"), val(&b, p, "seed"));
        if (p > 0) {
            int lr0 = atoi(val(&a, p - 1, "lr")), lr1 = atoi(val(&a, p, "lr"));
            int s0 = atoi(val(&a, p - 1, "seed")), s1 = atoi(val(&a, p, "seed"));

            ck_assert(lr0 < lr1 || (lr0 == lr1 && s0 < s1));
        }
    }
    {
        int same = 1;

        for (size_t p = 0; p < 7; p++)
            same &= strcmp(val(&a, p, "lr"), val(&c, p, "lr")) == 0 &&
                    strcmp(val(&a, p, "seed"), val(&c, p, "seed")) == 0;
        ck_assert_int_eq(same, 0);
    }
    /* More than there are: all of them. */
    ck_assert_int_eq(mlp_grid_sample(&a, 100, 1), 0);
    ck_assert_uint_eq(a.npoints, 7);
    mlp_grid_free(&a);
    mlp_grid_free(&b);
    mlp_grid_free(&c);
}
END_TEST

/* A config from training options, as the sweep parses each point. */
static void parse(mlp_config_t *cfg, const char *a1, const char *a2,
                  const char *a3, const char *a4)
{
    char *argv[] = {"mlptrain", "train", (char *)a1, (char *)a2, (char *)a3,
                    (char *)a4, NULL};

    ck_assert_int_eq(mlp_cmd_train_parse(6, argv, cfg), 0);
}

START_TEST(test_run_id_and_values)
{
    mlp_config_t a, b;
    char ida[32], idb[32], v[64];

    parse(&a, "--lr", "0.5", "--hidden", "1024:512");
    parse(&b, "--lr", "0.50", "--hidden", "1024,512");
    mlp_sweep_run_id(&a, ida, sizeof(ida));
    mlp_sweep_run_id(&b, idb, sizeof(idb));
    ck_assert_uint_eq(strlen(ida), 16);
    ck_assert_int_eq(strncmp(ida, "run-", 4), 0);
    ck_assert_str_eq(ida, idb); /* the same options, spelled differently */
    b.threads = a.threads + 3;  /* the thread count is not part of it */
    mlp_sweep_run_id(&b, idb, sizeof(idb));
    ck_assert_str_eq(ida, idb);
    b.lr = 0.25f;
    mlp_sweep_run_id(&b, idb, sizeof(idb));
    ck_assert_str_ne(ida, idb);
    parse(&b, "--lr", "0.5", "--hidden", "1024:512");
    b.epochs = 11; /* a fixed option changes the run too */
    mlp_sweep_run_id(&b, idb, sizeof(idb));
    ck_assert_str_ne(ida, idb);

    mlp_sweep_key_value(&a, "hidden", v, sizeof(v));
    ck_assert_str_eq(v, "1024:512");
    mlp_sweep_key_value(&a, "lr", v, sizeof(v));
    ck_assert_str_eq(v, "0.5");
    mlp_sweep_key_value(&a, "act", v, sizeof(v));
    ck_assert_str_eq(v, "relu");
    mlp_sweep_key_value(&a, "limit_train", v, sizeof(v));
    ck_assert_str_eq(v, "all");
    parse(&b, "--hidden", "none", "--limit-test", "77");
    mlp_sweep_key_value(&b, "hidden", v, sizeof(v));
    ck_assert_str_eq(v, "none");
    mlp_sweep_key_value(&b, "limit-test", v, sizeof(v));
    ck_assert_str_eq(v, "77");
}
END_TEST

/* mlp_grid_add fails with MLP_EUSAGE, the message holding want, and leaves
 * the grid as it was. */
static void bad_grid(const char *spec, const char *want)
{
    mlp_grid_t g;

    memset(&g, 0, sizeof(g));
    ck_assert_int_eq(mlp_grid_add(&g, "lr=0.1,0.2"), 0);
    ck_assert_int_eq(mlp_grid_add(&g, spec), MLP_EUSAGE);
    ck_assert_msg(strstr(mlp_error_message(), want) != NULL,
                  "'%s': message '%s' lacks '%s'", spec, mlp_error_message(),
                  want);
    ck_assert_uint_eq(g.npoints, 2);
    ck_assert_uint_eq(g.nkeys, 1);
    mlp_grid_free(&g);
}

/* A finished run for the ranking: its end record, and a validation
 * accuracy when val >= 0. */
static void fake_run(run_t *r, size_t point, const char *status, double test,
                     double val)
{
    static mlp_runlog_epoch_t ep[8];

    memset(r, 0, sizeof(*r));
    r->point = point;
    r->state = R_DONE;
    snprintf(r->id, sizeof(r->id), "run-%zu", point);
    snprintf(r->label, sizeof(r->label), "point %zu", point);
    snprintf(r->status, sizeof(r->status), "%s", status);
    r->log.has_end = 1;
    r->log.final_test_acc = test;
    r->log.best_test_acc = test;
    r->log.best_epoch = 1;
    r->log.has_best_val = val >= 0.0;
    r->log.best_val_acc = val >= 0.0 ? val : 0.0;
    ep[point].epoch = 1;
    ep[point].test_acc = test;
    ep[point].has_val = val >= 0.0;
    ep[point].val_acc = val >= 0.0 ? val : 0.0;
    r->log.epochs = &ep[point]; /* not owned: never freed here */
    r->log.nepochs = 1;
}

/* Runs with a validation split rank by it, not by test accuracy, before
 * runs without; the table says so and shows the column. */
START_TEST(test_ranking_by_val)
{
    run_t runs[5];
    mlp_grid_t g;
    sweep_t s;
    size_t n, *order;
    FILE *out = tmpfile();
    char *text;

    memset(&g, 0, sizeof(g));
    memset(&s, 0, sizeof(s));
    fake_run(&runs[0], 0, "ok", 0.90, 0.80);     /* best test, worse val */
    fake_run(&runs[1], 1, "ok", 0.70, 0.85);     /* best val */
    fake_run(&runs[2], 2, "ok", 0.95, -1.0);     /* no val */
    fake_run(&runs[3], 3, "diverged", 0.0, 0.99); /* not ok: last */
    fake_run(&runs[4], 4, "ok", 0.60, 0.80);     /* ties run 0: grid order */
    s.g = &g;
    s.runs = runs;
    s.nruns = 5;
    order = mlp_sweep_ranking(&s, &n);
    ck_assert_ptr_nonnull(order);
    ck_assert_uint_eq(n, 5);
    ck_assert_uint_eq(order[0], 1);
    ck_assert_uint_eq(order[1], 0);
    ck_assert_uint_eq(order[2], 4);
    ck_assert_uint_eq(order[3], 2);
    ck_assert_uint_eq(order[4], 3);

    ck_assert_ptr_nonnull(out);
    mlp_sweep_print_table(&s, order, n, out);
    text = tu_stream_text(out);
    fclose(out);
    ck_assert_msg(strncmp(text, "rank  status    ", 16) == 0 &&
                      strstr(text, "  val acc  test acc  best acc") <
                          strchr(text, '\n') &&
                      strstr(text, "  val acc  test acc  best acc") != NULL,
                  "%s", text);
    ck_assert_ptr_nonnull(strstr(text, "\nranked by val acc (best epoch)\n"));
    ck_assert_ptr_nonnull(strstr(text, "\nbest: point 1 (run-1): val acc "
                                       "0.8500"));
    free(text);
    free(order);

    /* Without validation figures: by final test accuracy, as before. */
    fake_run(&runs[0], 0, "ok", 0.90, -1.0);
    fake_run(&runs[1], 1, "ok", 0.70, -1.0);
    s.nruns = 2;
    order = mlp_sweep_ranking(&s, &n);
    ck_assert_ptr_nonnull(order);
    ck_assert_uint_eq(order[0], 0);
    out = tmpfile();
    ck_assert_ptr_nonnull(out);
    mlp_sweep_print_table(&s, order, n, out);
    text = tu_stream_text(out);
    fclose(out);
    ck_assert_has_none(text, "val acc", "ranked by");
    free(text);
    free(order);
}
END_TEST

START_TEST(test_bad_grids)
{
    char big[2048];

    bad_grid("lr=0.1 width=10,20", "unknown key 'width'");
    bad_grid("lr=0.1 width=10,20", "hidden");   /* the keys are listed */
    bad_grid("hidden", "'hidden' is not KEY=V1,V2");
    bad_grid("=3", "'=3' is not KEY=V1,V2");
    bad_grid("act=relu,,tanh", "key 'act' has an empty value");
    bad_grid("act=", "key 'act' has an empty value");
    bad_grid("act=relu momentum=0.9 act=tanh", "key 'act' appears twice");
    bad_grid("   ", "has no KEY=V1,V2");
    /* 101 x 101 points: more than the limit */
    strcpy(big, "lr=1");
    for (int i = 0; i < 100; i++)
        strcat(big, ",1");
    strcat(big, " seed=1");
    for (int i = 0; i < 100; i++)
        strcat(big, ",1");
    bad_grid(big, "more than 10000 points");
}
END_TEST

START_TEST(test_bad_points_stop_before_any_run)
{
    char *dir = tu_mkdtemp(), *sweep_dir = tu_path(dir, "sw");
    char *fixed_log[] = {"--log", "x.jsonl"};
    char *fixed_bad[] = {"--epochs", "zero"};
    mlp_sweep_opts_t o;
    mlp_grid_t g;
    struct stat st;

    memset(&g, 0, sizeof(g));
    memset(&o, 0, sizeof(o));
    o.dir = sweep_dir;
    o.exe = "/bin/false";
    o.parallel = 1;
    o.threads = 1;
    o.parse_run = mlp_cmd_train_parse_values;
    ck_assert_int_eq(mlp_sweep_run(&o, &g, NULL, stdout), MLP_EINVAL);
    ck_assert_int_eq(mlp_grid_add(&g, "lr=0.1,abc act=relu"), 0);
    ck_assert_int_eq(mlp_sweep_run(&o, &g, NULL, stdout), MLP_EUSAGE);
    ck_assert_msg_has("lr=abc act=relu");
    ck_assert_msg_has("option '--lr': 'abc' is not a number");
    mlp_grid_free(&g);
    ck_assert_int_eq(mlp_grid_add(&g, "lr=0.1"), 0);
    o.fixed = fixed_log;
    o.nfixed = 2;
    ck_assert_int_eq(mlp_sweep_run(&o, &g, NULL, stdout), MLP_EUSAGE);
    ck_assert_msg_has("'--log'");
    o.fixed = fixed_bad;
    ck_assert_int_eq(mlp_sweep_run(&o, &g, NULL, stdout), MLP_EUSAGE);
    ck_assert_msg_has("training options after --");
    ck_assert_msg_has("--epochs");
    /* Nothing ran, nothing was made. */
    ck_assert_int_ne(stat(sweep_dir, &st), 0);
    mlp_grid_free(&g);
    free(sweep_dir);
    tu_rmtree(dir);
}
END_TEST

Suite *sweep_suite(void);
Suite *sweep_suite(void)
{
    Suite *s = suite_create("sweep");
    TCase *core = tu_tcase(s, "core", 0);
    TCase *errors = tu_tcase(s, "errors", 0);

    tcase_add_test(core, test_product_order);
    tcase_add_test(core, test_union_and_argv);
    tcase_add_test(core, test_sample);
    tcase_add_test(core, test_run_id_and_values);
    tcase_add_test(core, test_ranking_by_val);
    tcase_add_test(errors, test_bad_grids);
    tcase_add_test(errors, test_bad_points_stop_before_any_run);
    return s;
}

MLP_CHECK_MAIN(sweep_suite)
