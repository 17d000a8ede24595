/*
 * Tests of options: the option table walked, every option proved to appear
 * in --help, parse, round-trip through the JSON run record, be a sweep key
 * iff flagged, and conflict on resume iff checkpointed and not free; then
 * the table's own invariants and the value formatter.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "mlptrain/cli.h"
#include "mlptrain/commands.h"
#include "mlptrain/dataset.h"
#include "mlptrain/error.h"
#include "mlptrain/grid.h"
#include "mlptrain/loader.h"
#include "mlptrain/options.h"
#include "mlptrain/report.h"
#include "testutil.h"

/*
 * The options option o needs (the NEEDS rules of mlp_option_rules[],
 * followed to their own needs), appended to argv as given values: y's
 * first allowed name, or y's sample.  Returns the new argc.
 */
static const char *first_value(const mlp_option_t *o, unsigned set)
{
    for (int v = 0; o->names[v] != NULL; v++)
        if ((set >> v) & 1)
            return o->names[v];
    return NULL;
}

static int add_needs(const mlp_option_t *o, const char *value, char **argv,
                     int argc)
{
    for (size_t i = 0; i < mlp_noption_rules; i++) {
        const mlp_rule_t *r = &mlp_option_rules[i];
        const mlp_option_t *y = r->y;
        const char *v = NULL;
        int have = 0;

        if (r->kind != MLP_RULE_NEEDS || r->x != o ||
            (r->xvalues != 0 &&
             (value == NULL || mlp_options_enum_parse(o, value) < 0 ||
              !((r->xvalues >> mlp_options_enum_parse(o, value)) & 1))))
            continue;
        for (int k = 1; k < argc; k++)
            have |= strcmp(argv[k], mlp_options_flag(y)) == 0 ||
                    (r->alt != NULL &&
                     strcmp(argv[k], mlp_options_flag(r->alt)) == 0);
        if (have)
            continue;
        argv[argc++] = (char *)mlp_options_flag(y);
        if (y->type != MLP_OPT_FLAG) {
            argv[argc] = (char *)(r->yvalues != 0
                                      ? first_value(y, r->yvalues)
                                      : y->sample);
            v = argv[argc++];
        }
        argc = add_needs(y, v, argv, argc);
    }
    return argc;
}

/* A config from defaults and option o set to its sample (a flag: given),
 * with the options it needs, through the command line; with `with_o` 0,
 * only what it needs (the config o's value is compared with). */
static void parse_with(const mlp_option_t *o, int with_o, mlp_config_t *cfg)
{
    char *argv[32];
    int argc = 0, rc;

    argv[argc++] = "mlptrain";
    argv[argc++] = (char *)mlp_options_flag(o);
    if (o->type != MLP_OPT_FLAG)
        argv[argc++] = (char *)o->sample;
    if (o == MLP_O(RESUME)) { /* it needs --epochs given */
        argv[argc++] = "--epochs";
        argv[argc++] = "20";
    }
    argc = add_needs(o, o->type != MLP_OPT_FLAG ? o->sample : NULL, argv,
                     argc);
    argv[argc] = NULL;
    mlp_config_defaults(cfg);
    if (!with_o) { /* the others alone, set as given, without the rules */
        for (int k = 1 + (o->type != MLP_OPT_FLAG ? 2 : 1); k < argc; k++) {
            const mlp_option_t *y = mlp_options_find(argv[k] + 2);
            int flag = y->type == MLP_OPT_FLAG;

            ck_assert_int_eq(mlp_options_parse(y, cfg, flag ? NULL
                                                            : argv[k + 1]),
                             0);
            cfg->given |= mlp_options_bit(y);
            k += !flag;
        }
        return;
    }
    rc = mlp_cmd_train_parse(argc, argv, cfg);
    ck_assert_msg(rc == 0, "--%s %s: %s", o->name, o->sample,
                  mlp_error_message());
}

static void parse_sample(const mlp_option_t *o, mlp_config_t *cfg)
{
    parse_with(o, 1, cfg);
}

/* The table's invariants: every id has its entry (the enum and the
 * designated initializers agree), names and letters are unique. */
START_TEST(test_table)
{
    size_t nsweep = 0;

    ck_assert_uint_le(MLP_NOPTIONS, 64); /* a given bit each */
    for (size_t i = 0; i < MLP_NOPTIONS; i++) {
        const mlp_option_t *o = &mlp_options[i];

        ck_assert_msg(o->name != NULL, "id %zu has no entry", i);
        ck_assert_ptr_eq(mlp_options_find(o->name), o);
        ck_assert_uint_eq(mlp_options_id(o), i);
        ck_assert_str_eq(mlp_options_flag(o) + 2, o->name);
        ck_assert_int_eq(strncmp(mlp_options_flag(o), "--", 2), 0);
        ck_assert_uint_eq(mlp_options_bit(o), (uint64_t)1 << i);
        ck_assert_int_eq(o->place, MLP_IN_RUN);
        ck_assert_ptr_nonnull(o->help);
        ck_assert_ptr_nonnull(o->section);
        ck_assert_msg((o->type == MLP_OPT_FLAG) == (o->metavar == NULL),
                      "--%s: a metavar iff it takes a value", o->name);
        ck_assert_msg(o->type == MLP_OPT_FLAG || o->sample != NULL,
                      "--%s: no sample", o->name);
        /* commands' own types only */
        ck_assert(o->type != MLP_OPT_TEXT && o->type != MLP_OPT_CALLBACK);
        /* free on resume only means something for a checkpointed one */
        ck_assert(!(o->flags & MLP_OPT_RESUME_FREE) ||
                  (o->flags & MLP_OPT_CKPT));
        ck_assert(o->max == 0.0 || (o->type == MLP_OPT_FLOAT &&
                                    o->max < 3.5e38));
        for (size_t j = 0; j < i; j++) {
            ck_assert_str_ne(mlp_options[j].name, o->name);
            ck_assert(o->letter == 0 || mlp_options[j].letter != o->letter);
        }
        nsweep += (o->flags & MLP_OPT_SWEEP) != 0;
    }
    ck_assert_uint_le(nsweep, MLP_SWEEP_MAX_KEYS);
    ck_assert_ptr_eq(mlp_options_find("weight_decay"), MLP_O(WEIGHT_DECAY));
    ck_assert_ptr_null(mlp_options_find("help"));
    ck_assert_ptr_null(mlp_options_find("lr2"));
}
END_TEST

/* The rules beside the table (issue 20): they name options of the table
 * by pointer (a misspelt one does not compile), its values are values of
 * theirs, a relation compares numbers. */
START_TEST(test_rules_tables)
{
    ck_assert_uint_gt(mlp_noption_rules, 10);
    for (size_t i = 0; i < mlp_noption_rules; i++) {
        const mlp_rule_t *r = &mlp_option_rules[i];
        const mlp_option_t *x = r->x, *y = r->y;

        ck_assert_msg(x != NULL && y != NULL && x != y, "rule %zu", i);
        ck_assert(x >= mlp_options && x < mlp_options + MLP_NOPTIONS);
        ck_assert(y >= mlp_options && y < mlp_options + MLP_NOPTIONS);
        ck_assert_msg(r->xvalues == 0 || (x->type == MLP_OPT_ENUM &&
                                          first_value(x, r->xvalues)),
                      "rule %zu: x's values", i);
        ck_assert_msg(r->yvalues == 0 ||
                          ((r->kind == MLP_RULE_NEEDS ||
                            r->kind == MLP_RULE_CONFLICTS) &&
                           y->type == MLP_OPT_ENUM &&
                           first_value(y, r->yvalues)),
                      "rule %zu: y's values", i);
        /* a config has every value: command-line rules are commands' */
        ck_assert(r->kind != MLP_RULE_REQUIRED &&
                  r->kind != MLP_RULE_NEEDS_GIVEN);
        if (r->kind == MLP_RULE_AT_MOST || r->kind == MLP_RULE_BELOW)
            ck_assert_msg(x->type != MLP_OPT_PATH && x->type != MLP_OPT_ENUM &&
                              y->type != MLP_OPT_PATH &&
                              y->type != MLP_OPT_ENUM,
                          "rule %zu compares numbers", i);
    }
    for (size_t i = 0; i < mlp_ndata_rules; i++)
        ck_assert(mlp_data_rules[i].x >= mlp_options &&
                  mlp_data_rules[i].x < mlp_options + MLP_NOPTIONS);
}
END_TEST

/* Each option appears in --help, every line within 80 columns. */
START_TEST(test_help)
{
    FILE *f = tmpfile();
    char line[256], *text;

    ck_assert_ptr_nonnull(f);
    mlp_cli_usage(&mlp_command_train, f);
    rewind(f);
    while (fgets(line, sizeof(line), f) != NULL)
        ck_assert_msg(strlen(line) <= 81, "over 80 columns: %s", line);
    text = tu_stream_text(f);
    fclose(f);
    for (size_t i = 0; i < MLP_NOPTIONS; i++) {
        const mlp_option_t *o = &mlp_options[i];
        char want[64];

        snprintf(want, sizeof(want), "%s%s%s\n", mlp_options_flag(o),
                 o->metavar != NULL ? " " : "",
                 o->metavar != NULL ? o->metavar : "");
        if (strstr(text, want) == NULL) /* followed by its help */
            snprintf(want, sizeof(want), "%s%s%s  ", mlp_options_flag(o),
                     o->metavar != NULL ? " " : "",
                     o->metavar != NULL ? o->metavar : "");
        ck_assert_msg(strstr(text, want) != NULL, "--help lacks '%s'", want);
        if (o->letter != 0) {
            snprintf(want, sizeof(want), "-%c, --%s", o->letter, o->name);
            ck_assert_msg(strstr(text, want) != NULL, "--help lacks '%s'",
                          want);
        }
    }
    free(text);
}
END_TEST

/* Each option parses from its sample to a value other than the default,
 * and sets its given bit (and only it). */
START_TEST(test_parse)
{
    const mlp_option_t *o = &mlp_options[_i];
    mlp_config_t *def = malloc(sizeof(*def)), *cfg = malloc(sizeof(*cfg));
    char a[128], b[128];

    mlp_config_defaults(def);
    parse_sample(o, cfg);
    /* (the thread count's default is the machine's core count) */
    ck_assert_msg(!mlp_options_equal(o, cfg, def) ||
                      o->offset == offsetof(mlp_config_t, threads),
                  "--%s: the sample is the default", o->name);
    ck_assert(cfg->given & mlp_options_bit(o));
    ck_assert(mlp_config_given(cfg, mlp_options_id(o)));
    /* The value reads back as given, through the one formatter. */
    mlp_options_format(o, cfg, 0, a, sizeof(a));
    if (o->type != MLP_OPT_FLAG)
        ck_assert_msg(strcmp(a, o->sample) == 0 ||
                      (o->type == MLP_OPT_FLOAT &&
                       strtod(a, NULL) == strtod(o->sample, NULL)),
                      "--%s %s formats as '%s'", o->name, o->sample, a);
    /* Formatting the exact value and parsing it again gives it back. */
    mlp_options_format(o, cfg, 1, a, sizeof(a));
    if (o->type != MLP_OPT_FLAG) {
        ck_assert_int_eq(mlp_options_parse(o, def, a), 0);
        ck_assert(mlp_options_equal(o, cfg, def));
        mlp_options_format(o, def, 1, b, sizeof(b));
        ck_assert_str_eq(a, b);
    }
    free(def);
    free(cfg);
}
END_TEST

/* The value of option o in the run record's "options", read back into
 * cfg's field with the table's setter. */
static void read_json_value(const mlp_option_t *o, json_t *v,
                            mlp_config_t *cfg)
{
    char buf[MLP_PATH_MAX + 32];

    switch (o->type) {
    case MLP_OPT_HIDDEN: {
        size_t k, off = 0;
        json_t *w;

        ck_assert(json_is_array(v));
        json_array_foreach(v, k, w)
            off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%lld",
                                    k ? ":" : "",
                                    (long long)json_integer_value(w));
        if (off == 0)
            strcpy(buf, "none");
        break;
    }
    case MLP_OPT_FLAG:
        ck_assert(json_is_boolean(v));
        *(int *)mlp_options_field(o, cfg) = json_is_true(v);
        return;
    case MLP_OPT_ENUM:
    case MLP_OPT_AUGMENT:
    case MLP_OPT_PATH:
    case MLP_OPT_STRING:
        ck_assert(json_is_string(v));
        snprintf(buf, sizeof(buf), "%s", json_string_value(v));
        break;
    case MLP_OPT_FLOAT:
        ck_assert(json_is_number(v));
        snprintf(buf, sizeof(buf), "%.9g", json_number_value(v));
        break;
    default:
        ck_assert(json_is_integer(v));
        snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
        break;
    }
    ck_assert_int_eq(mlp_options_parse(o, cfg, buf), 0);
}

/* Each option round-trips through the JSON run record (mlp_report_run,
 * read back with jansson), under its long name with '_' for '-'. */
START_TEST(test_json)
{
    const mlp_option_t *o = &mlp_options[_i];
    mlp_config_t *cfg = malloc(sizeof(*cfg)), *back = malloc(sizeof(*back));
    mlp_dataset_t *ds = calloc(1, sizeof(*ds));
    mlp_run_info_t info = {.dnnl_version = "2.6", .isa = "x",
                           .free_cores = -1};
    char *dir = tu_mkdtemp(), *log = tu_path(dir, "log.jsonl"), key[64];
    mlp_report_t *rep;
    json_t *rec, *opts, *v;
    FILE *f;
    char line[65536];

    parse_sample(o, cfg);
    ck_assert_int_eq(mlp_report_create(NULL, NULL, 1, log, 0, &rep), 0);
    ck_assert_int_eq(mlp_report_run(rep, cfg, ds, &info), 0);
    ck_assert_int_eq(mlp_report_destroy(rep), 0);
    f = fopen(log, "r");
    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_nonnull(fgets(line, sizeof(line), f));
    fclose(f);
    rec = json_loads(line, JSON_REJECT_DUPLICATES, NULL);
    ck_assert_ptr_nonnull(rec);
    opts = json_object_get(rec, "options");
    ck_assert(json_is_object(opts));
    snprintf(key, sizeof(key), "%s", o->name);
    for (char *c = key; *c != '\0'; c++)
        if (*c == '-')
            *c = '_';
    v = json_object_get(opts, key);
    ck_assert_msg(v != NULL, "the run record lacks options.%s", key);
    mlp_config_defaults(back);
    read_json_value(o, v, back);
    ck_assert_msg(mlp_options_equal(o, cfg, back),
                  "options.%s does not read back", key);
    json_decref(rec);
    free(cfg);
    free(back);
    free(ds);
    free(log);
    tu_rmtree(dir);
}
END_TEST

/* Each option is a sweep key iff flagged, and its key value is the
 * formatter's; only FIGS and SWEEP options change the run id. */
START_TEST(test_sweep)
{
    const mlp_option_t *o = &mlp_options[_i];
    mlp_config_t *def = malloc(sizeof(*def)), *cfg = malloc(sizeof(*cfg));
    char a[128], b[128], ida[32], idb[32];

    parse_sample(o, cfg);
    parse_with(o, 0, def); /* the same but o */
    if (o->flags & MLP_OPT_SWEEP) {
        ck_assert_str_eq(mlp_sweep_key_flag(o->name), mlp_options_flag(o));
        ck_assert_ptr_nonnull(strstr(mlp_sweep_keys(), o->name));
        mlp_sweep_key_value(cfg, o->name, a, sizeof(a));
        mlp_options_format(o, cfg, 0, b, sizeof(b));
        ck_assert_str_eq(a, b);
    } else {
        ck_assert_ptr_null(mlp_sweep_key_flag(o->name));
    }
    mlp_sweep_run_id(def, ida, sizeof(ida));
    mlp_sweep_run_id(cfg, idb, sizeof(idb));
    if (o->flags & (MLP_OPT_FIGS | MLP_OPT_SWEEP))
        ck_assert_str_ne(ida, idb);
    else
        ck_assert_str_eq(ida, idb);
    free(def);
    free(cfg);
}
END_TEST

/* Each option, given with another value than the checkpoint's, conflicts
 * on resume iff CKPT and not RESUME_FREE; a resumed run keeps the
 * checkpoint's value of every CKPT option not given free. */
START_TEST(test_resume)
{
    const mlp_option_t *o = &mlp_options[_i];
    mlp_config_t *ck = malloc(sizeof(*ck)), *cfg = malloc(sizeof(*cfg));
    mlp_config_t *want = malloc(sizeof(*want));
    int rc;

    parse_with(o, 0, ck); /* the options o needs are the checkpoint's */
    ck->given = 0;
    parse_sample(o, cfg);
    *want = *cfg;
    rc = mlp_options_resume(cfg, ck, "c.ckpt");
    if ((o->flags & (MLP_OPT_CKPT | MLP_OPT_RESUME_FREE)) == MLP_OPT_CKPT) {
        char msg[256], a[64], b[64];

        ck_assert_int_eq(rc, MLP_EUSAGE);
        mlp_options_format(o, want, 0, a, sizeof(a));
        mlp_options_format(o, ck, 0, b, sizeof(b));
        snprintf(msg, sizeof(msg),
                 "option '--%s': %s conflicts with the checkpoint 'c.ckpt' "
                 "(%s); a resumed run keeps the checkpoint's",
                 o->name, a, b);
        ck_assert_str_eq(mlp_error_message(), msg);
        ck_assert(memcmp(cfg, want, sizeof(*cfg)) == 0); /* unchanged */
    } else {
        ck_assert_int_eq(rc, 0);
        /* the given value stays (not checkpointed, or free) */
        ck_assert(mlp_options_equal(o, cfg, want));
    }
    /* Not given: every checkpointed option comes from the checkpoint. */
    if (o->flags & MLP_OPT_CKPT) {
        *cfg = *want;
        cfg->given = 0;
        ck_assert_int_eq(mlp_options_resume(cfg, ck, "c.ckpt"), 0);
        ck_assert(mlp_options_equal(o, cfg, ck));
    }
    free(ck);
    free(cfg);
    free(want);
}
END_TEST

/* The formatter's forms and the validator on configs built by code. */
START_TEST(test_format_validate)
{
    mlp_config_t *cfg = malloc(sizeof(*cfg));
    char v[64];

    mlp_config_defaults(cfg);
    ck_assert_int_eq(mlp_config_validate(cfg), 0);
    mlp_options_format(MLP_O(MAX_LOSS), cfg, 0, v, sizeof(v));
    ck_assert_str_eq(v, "auto");
    cfg->max_loss = -1.0f;
    mlp_options_format(MLP_O(MAX_LOSS), cfg, 0, v, sizeof(v));
    ck_assert_str_eq(v, "off");
    ck_assert_int_eq(mlp_config_validate(cfg), 0);
    mlp_options_format(MLP_O(SLOTS), cfg, 0, v, sizeof(v));
    ck_assert_str_eq(v, "auto");
    mlp_options_format(MLP_O(LIMIT_TEST), cfg, 0, v, sizeof(v));
    ck_assert_str_eq(v, "all");
    cfg->lr = 0.1f;
    mlp_options_format(MLP_O(LR), cfg, 1, v, sizeof(v));
    ck_assert_float_eq(strtof(v, NULL), 0.1f);
    cfg->momentum = 1.0f;
    ck_assert_int_eq(mlp_config_validate(cfg), MLP_EINVAL);
    ck_assert_msg_has("'--momentum'");
    cfg->momentum = 0.0f;
    cfg->workers = MLP_LOADER_MAX_WORKERS + 1;
    ck_assert_int_eq(mlp_config_validate(cfg), MLP_EINVAL);
    ck_assert_msg_has("'--workers'");
    cfg->workers = 4;
    cfg->hidden[0] = 0;
    ck_assert_int_eq(mlp_config_validate(cfg), MLP_EINVAL);
    ck_assert_msg_has("'--hidden'");
    cfg->hidden[0] = 8;
    cfg->data_dir[0] = '\0';
    ck_assert_int_eq(mlp_config_validate(cfg), MLP_EINVAL);
    ck_assert_msg_has("'--data'");
    free(cfg);
}
END_TEST

/* The grid's keys are the table's SWEEP options, in table order; the run
 * id hashes the FIGS options only (it hashed workers and slots before). */
START_TEST(test_grid_keys)
{
    mlp_config_t *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
    char ida[32], idb[32];
    mlp_grid_t g;
    char *argv[8];

    ck_assert_str_eq(mlp_sweep_keys(),
                     "hidden, act, init, init-std, dropout, input-dropout, "
                     "optimizer, lr, momentum, nesterov, beta1, beta2, eps, "
                     "weight-decay, clip-grad, schedule, warmup, lr-min, "
                     "lr-step, "
                     "lr-gamma, label-smoothing, batch, micro, accum, epochs, "
                     "seed, "
                     "limit-train, limit-test, val, augment, no-shuffle, "
                     "workers, precision, "
                     "early-stop");
    memset(&g, 0, sizeof(g));
    ck_assert_int_eq(mlp_grid_add(&g, "workers=0,8 limit_test=50"), 0);
    ck_assert_uint_eq(g.npoints, 2);
    ck_assert_ptr_eq(g.keys[1], MLP_O(LIMIT_TEST)->name);
    ck_assert_uint_eq(mlp_grid_argv(&g, 1, argv), 4);
    ck_assert_str_eq(argv[0], "--workers");
    ck_assert_str_eq(argv[1], "8");
    ck_assert_str_eq(argv[2], "--limit-test");
    mlp_grid_free(&g);
    ck_assert_int_eq(mlp_grid_add(&g, "threads=1"), MLP_EUSAGE);
    ck_assert_msg_has("unknown key 'threads'");
    mlp_grid_free(&g);

    mlp_config_defaults(a);
    *b = *a;
    b->slots = 5;
    b->threads = a->threads + 1;
    b->quiet = 1;
    mlp_sweep_run_id(a, ida, sizeof(ida));
    mlp_sweep_run_id(b, idb, sizeof(idb));
    ck_assert_str_eq(ida, idb);
    b->max_loss = -1.0f; /* changes where a run stops */
    mlp_sweep_run_id(b, idb, sizeof(idb));
    ck_assert_str_ne(ida, idb);
    *b = *a;
    b->workers = 9; /* a sweep key: grid points differ by it */
    mlp_sweep_run_id(b, idb, sizeof(idb));
    ck_assert_str_ne(ida, idb);
    free(a);
    free(b);
}
END_TEST

/*
 * Run ids do not change for the same options: a sweep resumes its runs by
 * id (grid.h).  The ids below were computed by the mlptrain before the
 * command tables and --clip-grad (commit 21b77a9); an option added since
 * (MLP_OPT_ID_SET) enters the id only when it is not its default.
 */
START_TEST(test_run_ids_stay)
{
    static const struct {
        const char *args[12];
        const char *id;
    } runs[] = {
        {{NULL}, "run-102ce6a3ee6c"},
        {{"--lr", "0.5", NULL}, "run-ac8462c94217"},
        {{"--hidden", "1024:512", "--act", "tanh", "--optimizer", "adamw",
          NULL}, "run-65bb6792aab8"},
        {{"--data", "/x/y", "-b", "64", "--seed", "7", "-j", "8", NULL},
         "run-01d4e7149bcd"},
        {{"--augment", "shift=2,flip", "--val", "100", "--schedule",
          "cosine", "--lr-min", "0.001", NULL}, "run-cbb84b8aca32"},
        {{"--train", "/a.csv", "--test", "/b.csv", "--label", "species",
          "--header", "yes", NULL}, "run-3ac0885cef5b"},
        {{"--max-loss", "off", "--micro", "32", "--accum", "2",
          "--limit-train", "600", NULL}, "run-fa60a7d962f6"},
        /* --clip-grad 0 is the default: the id without it */
        {{"--lr", "0.5", "--clip-grad", "0", NULL}, "run-ac8462c94217"},
    };
    mlp_config_t *cfg = malloc(sizeof(*cfg));
    char *saved = getenv("MLPTRAIN_DATA"), id[32];

    saved = saved != NULL ? strdup(saved) : NULL;
    unsetenv("MLPTRAIN_DATA"); /* --data's default is in the id */
    for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
        char *argv[16] = {"mlptrain"};
        int argc = 1;

        for (int k = 0; runs[i].args[k] != NULL; k++)
            argv[argc++] = (char *)runs[i].args[k];
        ck_assert_int_eq(mlp_cmd_train_parse(argc, argv, cfg), 0);
        mlp_sweep_run_id(cfg, id, sizeof(id));
        ck_assert_msg(strcmp(id, runs[i].id) == 0, "case %zu: %s, was %s", i,
                      id, runs[i].id);
    }
    /* a value of --clip-grad is another run */
    cfg->clip_grad = 1.0f;
    mlp_sweep_run_id(cfg, id, sizeof(id));
    ck_assert_str_ne(id, runs[6].id);
    if (saved != NULL)
        setenv("MLPTRAIN_DATA", saved, 1);
    free(saved);
    free(cfg);
}
END_TEST

static Suite *options_suite(void)
{
    Suite *s = suite_create("options");
    TCase *core = tu_tcase(s, "core", 0);
    TCase *each = tu_tcase(s, "each option", 0);
    int n = (int)MLP_NOPTIONS;

    tcase_add_test(core, test_table);
    tcase_add_test(core, test_rules_tables);
    tcase_add_test(core, test_help);
    tcase_add_test(core, test_format_validate);
    tcase_add_test(core, test_grid_keys);
    tcase_add_test(core, test_run_ids_stay);
    tcase_add_loop_test(each, test_parse, 0, n);
    tcase_add_loop_test(each, test_json, 0, n);
    tcase_add_loop_test(each, test_sweep, 0, n);
    tcase_add_loop_test(each, test_resume, 0, n);
    return s;
}

MLP_CHECK_MAIN(options_suite)
