/*
 * Tests of cli: train's command line into the config and every bad
 * value's error.  Every command's table, walked, is check_cli_table.c's.
 */
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "mlptrain/cli.h"
#include "mlptrain/commands.h"
#include "mlptrain/error.h"
#include "testutil.h"

/* Parse a NULL-terminated argument list (argv[0] is added) as train:
 * 0 (a run), 1 (--help or --version was asked) or the error. */
static int parse(mlp_config_t *cfg, const char *const *args)
{
    char *argv[64];
    int argc = 0;

    argv[argc++] = (char *)"mlptrain";
    while (*args != NULL)
        argv[argc++] = (char *)*args++;
    argv[argc] = NULL;
    return mlp_cmd_train_parse(argc, argv, cfg);
}

START_TEST(test_defaults)
{
    mlp_config_t cfg;
    const char *args[] = {NULL};

    ck_assert_int_eq(parse(&cfg, args), 0);
    ck_assert_uint_eq(cfg.nhidden, 1);
    ck_assert_uint_eq(cfg.hidden[0], 256);
    ck_assert_uint_eq(cfg.batch, 256);
    ck_assert_uint_eq(cfg.epochs, 10);
    ck_assert_uint_eq(cfg.workers, 4);
    ck_assert_float_eq(cfg.lr, 0.1f);
    ck_assert_float_eq(cfg.init_std, 0.01f);
    ck_assert_int_ge(cfg.threads, 1);
}
END_TEST

/* AdamW's weight decay is 0.01 unless given (0 given stays 0); other
 * optimizers keep 0.  Resolved by the parser, so a sweep's key values
 * show what the run uses. */
START_TEST(test_adamw_default_decay)
{
    mlp_config_t cfg;
    const char *adamw[] = {"--optimizer", "adamw", NULL};
    const char *zero[] = {"--optimizer", "adamw", "--weight-decay", "0", NULL};
    const char *adam[] = {"--optimizer", "adam", NULL};

    ck_assert_int_eq(parse(&cfg, adamw), 0);
    ck_assert_float_eq(cfg.weight_decay, 0.01f);
    ck_assert_int_eq(parse(&cfg, zero), 0);
    ck_assert_float_eq(cfg.weight_decay, 0.0f);
    ck_assert_int_eq(parse(&cfg, adam), 0);
    ck_assert_float_eq(cfg.weight_decay, 0.0f);
}
END_TEST

START_TEST(test_all_options)
{
    mlp_config_t cfg;
    const char *args[] = {"train", "-j", "20", "--threads", "1",
                          "--hidden", "512,256", "--act", "tanh",
                          "--lr", "0.5", "-b", "64", "--epochs", "3",
                          "--seed", "99", "--init-std", "0.1",
                          "--data", "/x/y", "--limit-train", "600",
                          "--limit-test", "100", "-q", "--log", "l.jsonl",
                          "--momentum", "0.9", "--slots", "8",
                          "--plain-weights", NULL};

    ck_assert_int_eq(parse(&cfg, args), 0);
    ck_assert_uint_eq(cfg.workers, 20);
    ck_assert_int_eq(cfg.threads, 1);
    ck_assert_uint_eq(cfg.nhidden, 2);
    ck_assert_uint_eq(cfg.hidden[0], 512);
    ck_assert_uint_eq(cfg.hidden[1], 256);
    ck_assert_int_eq(cfg.act, MLP_ACT_TANH);
    ck_assert_float_eq(cfg.lr, 0.5f);
    ck_assert_uint_eq(cfg.batch, 64);
    ck_assert_uint_eq(cfg.epochs, 3);
    ck_assert_uint_eq(cfg.seed, 99);
    ck_assert_float_eq(cfg.init_std, 0.1f);
    ck_assert_str_eq(cfg.data_dir, "/x/y");
    ck_assert_uint_eq(cfg.limit_train, 600);
    ck_assert_uint_eq(cfg.limit_test, 100);
    ck_assert_int_eq(cfg.quiet, 1);
    ck_assert_str_eq(cfg.log_path, "l.jsonl");
    ck_assert_float_eq(cfg.momentum, 0.9f);
    ck_assert_uint_eq(cfg.slots, 8);
    ck_assert_int_eq(cfg.plain_weights, 1);
}
END_TEST

/* Issue 20: --label is a column, not a file: '' (the last column) is a
 * value; a value of 10 KB is refused by its length, naming the option. */
START_TEST(test_label_column)
{
    mlp_config_t cfg;
    const char *empty[] = {"--train", "a.csv", "--test", "b.csv", "--label",
                           "", NULL};
    static char big[10240];
    const char *huge[] = {"--train", "a.csv", "--test", "b.csv", "--label",
                          big, NULL};

    ck_assert_int_eq(parse(&cfg, empty), 0);
    ck_assert_str_eq(cfg.label_col, "");
    ck_assert(mlp_config_given(&cfg, MLP_O_LABEL));
    memset(big, 'a', sizeof(big) - 1);
    ck_assert_int_eq(parse(&cfg, huge), MLP_EUSAGE);
    ck_assert_msg_has("option '--label': a value of 10239 bytes; at most "
                      "4095");
    huge[4] = "--log";
    ck_assert_int_eq(parse(&cfg, huge), MLP_EUSAGE);
    ck_assert_msg_has("option '--log': a value of 10239 bytes");
}
END_TEST

START_TEST(test_hidden_lists)
{
    size_t h[MLP_MAX_HIDDEN], n = 99;

    ck_assert_int_eq(mlp_options_parse_hidden("", h, &n), 0);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(mlp_options_parse_hidden("none", h, &n), 0);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(mlp_options_parse_hidden("1024:512", h, &n), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(h[1], 512);
    ck_assert_int_eq(mlp_options_parse_hidden("7", h, &n), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(h[0], 7);
}
END_TEST

START_TEST(test_help_version)
{
    mlp_config_t cfg;
    const char *h[] = {"--help", NULL}, *v[] = {"-V", NULL};

    ck_assert_int_eq(parse(&cfg, h), 1);
    {
        const char *off[] = {"--max-loss", "off", NULL};
        const char *x[] = {"--max-loss", "12.5", NULL};
        ck_assert_int_eq(parse(&cfg, off), 0);
        ck_assert_float_lt(cfg.max_loss, 0.0f);
        ck_assert_int_eq(parse(&cfg, x), 0);
        ck_assert_float_eq(cfg.max_loss, 12.5f);
    }
    ck_assert_int_eq(parse(&cfg, v), 1);
}
END_TEST

/* Each bad command line, and a piece its message must contain. */
static const struct {
    const char *args[8];
    const char *msg;
} bad[] = {
    {{"--bogus", NULL}, "unknown option '--bogus'"},
    {{"-x", NULL}, "unknown option '-x'"},
    {{"--lr", "abc", NULL}, "option '--lr': 'abc' is not a number"},
    {{"--lr", "0", NULL}, "'--lr'"},
    {{"--lr", "-0.1", NULL}, "'--lr'"},
    {{"--lr", "inf", NULL}, "'--lr'"},
    {{"--batch", "0", NULL}, "option '--batch': '0' is out of range"},
    {{"-j", "-1", NULL}, "option '--workers': '-1'"},
    {{"-j", "257", NULL}, "option '--workers': '257' is out of range"},
    {{"-j", "4x", NULL}, "option '--workers': '4x'"},
    {{"--hidden", "12,,3", NULL}, "option '--hidden': '12,,3'"},
    {{"--hidden", "12,", NULL}, "option '--hidden'"},
    {{"--hidden", "0", NULL}, "option '--hidden'"},
    {{"--act", "gelu", NULL}, "option '--act': unknown value 'gelu' (relu, sigmoid, tanh)"},
    {{"--epochs", "0", NULL}, "option '--epochs'"},
    {{"--threads", "0", NULL}, "option '--threads'"},
    {{"--seed", "abc", NULL}, "option '--seed'"},
    {{"--momentum", "1", NULL}, "option '--momentum'"},
    {{"--max-loss", "0", NULL}, "option '--max-loss': '0' must be > 0"},
    {{"--max-loss", "x", NULL}, "option '--max-loss': 'x' is not a number"},
    {{"--limit-train", "0", NULL}, "option '--limit-train'"},
    /* one strict rule for every number (issue 10, point 10) */
    {{"--lr", "0x1p-3", NULL}, "option '--lr': '0x1p-3' is not a number"},
    {{"--lr", " 0.1", NULL}, "option '--lr': ' 0.1' is not a number"},
    {{"--lr", "0.1 ", NULL}, "option '--lr': '0.1 ' is not a number"},
    {{"--lr", "+0.1", NULL}, "option '--lr': '+0.1' is not a number"},
    {{"--lr", "nan", NULL}, "option '--lr': 'nan' is not a number"},
    {{"--lr", "1e", NULL}, "option '--lr': '1e' is not a number"},
    {{"--lr", ".", NULL}, "option '--lr': '.' is not a number"},
    {{"--lr", "1e-50", NULL}, "option '--lr': '1e-50' is out of range"},
    {{"--max-loss", "1e39", NULL},
     "option '--max-loss': '1e39' is out of range"},
    {{"--init-std", "1e400", NULL},
     "option '--init-std': '1e400' is out of range"},
    {{"--weight-decay", "0X10", NULL}, "option '--weight-decay': '0X10'"},
    {{"--lr", NULL}, "needs a value"},
    {{"frobnicate", NULL}, "unknown command 'frobnicate'"},
    {{"--epochs", "2", "extra", NULL}, "unexpected argument 'extra'"},
    {{"--until", "11", "--save", "s.ckpt", NULL},
     "option '--until': 11 is above --epochs (10)"},
    {{"--until", "2", NULL},
     "option '--until' needs --save FILE or --resume FILE"},
    {{"--clip-grad", "-1", NULL}, "option '--clip-grad': '-1' must be >= 0"},
    {{"--clip-grad", "x", NULL}, "option '--clip-grad': 'x' is not a number"},
    /* issue 20: an option that does not apply is bad usage, by the rules
     * declared beside the table */
    {{"--beta1", "0.5", NULL}, "option '--beta1' needs --optimizer adam or "
                               "adamw (this run's is sgd)"},
    {{"--optimizer", "sgd", "--eps", "1e-6", NULL},
     "option '--eps' needs --optimizer adam or adamw"},
    {{"--lr-step", "2", NULL}, "option '--lr-step' needs --schedule step "
                               "(this run's is constant)"},
    {{"--lr-gamma", "0.5", "--schedule", "cosine", NULL},
     "option '--lr-gamma' needs --schedule step (this run's is cosine)"},
    {{"--lr-min", "0.01", NULL},
     "option '--lr-min' needs --schedule cosine or onecycle"},
    {{"--init", "he", "--init-std", "0.1", NULL},
     "option '--init-std' needs --init normal (this run's is he)"},
    {{"--optimizer", "adam", "--momentum", "0", NULL},
     "option '--momentum' needs --optimizer sgd (this run's is adam)"},
    {{"--nesterov", NULL}, "option '--nesterov' needs --momentum X"},
    {{"--schedule", "step", NULL},
     "option '--schedule step' needs --lr-step E"},
    {{"--header", "yes", NULL}, "option '--header' needs --train FILE"},
    {{"--label", "y", NULL}, "option '--label' needs --train FILE"},
    {{"--train-labels", "y.npy", NULL},
     "option '--train-labels' needs --train FILE"},
    {{"--train", "a.csv", NULL}, "option '--train' needs --test FILE"},
    {{"--test", "a.csv", NULL}, "option '--test' needs --train FILE"},
    {{"--data", "d", "--train", "a.csv", "--test", "b.csv", NULL},
     "option '--data' conflicts with --train"},
    {{"--save-best", "b.ckpt", NULL}, "option '--save-best' needs --val N"},
    {{"--early-stop", "2", NULL}, "option '--early-stop' needs --val N"},
    /* a float that becomes steps: checked against the run at entry */
    {{"--warmup", "1e30", NULL},
     "option '--warmup': 1e+30 is above --epochs (10)"},
    {{"--warmup", "11", NULL}, "option '--warmup': 11 is above --epochs"},
    {{"--schedule", "step", "--lr-step", "1e20", NULL},
     "option '--lr-step': 1e+20 is not below --epochs (10)"},
    {{"--schedule", "step", "--lr-step", "10", NULL},
     "option '--lr-step': 10 is not below --epochs (10): the rate would "
     "never be cut"},
    {{"--lr-min", "0.5", "--schedule", "cosine", NULL},
     "option '--lr-min': 0.5 is above --lr (0.1)"},
    {{"--init-std", "1e38", NULL},
     "option '--init-std': '1e38' is above 1e+37"},
    /* issue 10: getopt_long's '?' told apart, and --resume needs
     * --epochs */
    {{"--s", "3", NULL},
     "option '--s' is ambiguous: it could be --schedule, --seed, --slots, "
     "--save, --save-best"},
    {{"--limit", "3", NULL}, "option '--limit' is ambiguous: it could be "
                             "--limit-train, --limit-test"},
    {{"--bogus=3", NULL}, "unknown option '--bogus'"},
    {{"--help=1", NULL}, "option '--help' takes no value"},
    {{"--log", NULL}, "option '--log' needs a value"},
    {{"--epochs", NULL}, "option '--epochs' needs a value"},
    {{"-e", NULL}, "option '-e' needs a value"},
    {{"-qx", NULL}, "unknown option '-x'"},
    {{"--resume", "c.ckpt", NULL}, "option '--resume' needs '--epochs N'"},
    {{"--png", "", NULL}, "option '--png': an empty file name"},
};

START_TEST(test_bad_options)
{
    mlp_config_t cfg;

    ck_assert_int_eq(parse(&cfg, bad[_i].args), MLP_EUSAGE);
    ck_assert_msg_has(bad[_i].msg);
}
END_TEST


/* One vocabulary: -o/--png (--plot the old name), -n/--limit-test; an
 * unambiguous prefix still works. */
START_TEST(test_vocabulary)
{
    mlp_config_t cfg;
    const char *a[] = {"-o", "a.png", "-n", "7", NULL};
    const char *b[] = {"--plot", "b.png", "--limit-te", "8", NULL};
    const char *c[] = {"--png=c.png", "--resume", "r.ckpt", "--epochs", "3",
                       NULL};

    ck_assert_int_eq(parse(&cfg, a), 0);
    ck_assert_str_eq(cfg.plot_path, "a.png");
    ck_assert_uint_eq(cfg.limit_test, 7);
    ck_assert_int_eq(parse(&cfg, b), 0);
    ck_assert_str_eq(cfg.plot_path, "b.png");
    ck_assert_uint_eq(cfg.limit_test, 8);
    ck_assert_int_eq(parse(&cfg, c), 0);
    ck_assert_str_eq(cfg.plot_path, "c.png");
    ck_assert_str_eq(cfg.resume_path, "r.ckpt");
    ck_assert_uint_eq(cfg.epochs, 3);
}
END_TEST

/* The float twin of mlp_options_parse_uint: what it takes. */
START_TEST(test_parse_float)
{
    static const struct {
        const char *arg;
        float want;
    } good[] = {
        {"0.1", 0.1f}, {".5", 0.5f}, {"5.", 5.0f}, {"1e-3", 1e-3f},
        {"2E+2", 200.0f}, {"-0.25", -0.25f}, {"0", 0.0f},
        {"3.4e38", 3.4e38f}, {"1e-40", 1e-40f}, /* subnormal: kept */
    };
    float v;

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        ck_assert_int_eq(mlp_options_parse_float("--x", good[i].arg, &v), 0);
        ck_assert_float_eq(v, good[i].want);
    }
    ck_assert_int_eq(mlp_options_parse_float("--x", "", &v), MLP_EUSAGE);
    ck_assert_int_eq(mlp_options_parse_float("--x", "-", &v), MLP_EUSAGE);
    ck_assert_int_eq(mlp_options_parse_float("--x", "infinity", &v),
                     MLP_EUSAGE);
    ck_assert_int_eq(mlp_options_parse_float("--x", "-1e39", &v), MLP_EUSAGE);
    ck_assert_int_eq(mlp_options_parse_float("--x", "1e99999", &v), MLP_EUSAGE);
}
END_TEST

/* Free cores from /proc/loadavg's text (issue 10, point 12). */
/* --augment: shift=K and flip in any order, ',' or '+' between them
 * (a grid's values are split at commas), none; everything else refused
 * naming the option. */
START_TEST(test_augment)
{
    static const struct {
        const char *arg;
        unsigned shift;
        int flip;
    } good[] = {
        {"none", 0, 0},         {"flip", 0, 1},         {"shift=3", 3, 0},
        {"shift=2,flip", 2, 1}, {"flip,shift=1", 1, 1}, {"shift=16+flip", 16, 1},
        {"shift=0", 0, 0},
    };
    static const char *const refused[] = {
        "", "shift", "shift=", "shift=17", "shift=-1", "shift=2,", "flip,",
        "flop", "shift=2;flip", "shift=1.5", "none,flip", "shift= 2",
    };
    mlp_augment_t a;

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        memset(&a, 0x5a, sizeof(a));
        ck_assert_int_eq(
            mlp_options_parse_augment("--augment", good[i].arg, &a), 0);
        ck_assert_uint_eq(a.shift, good[i].shift);
        ck_assert_int_eq(a.flip, good[i].flip);
    }
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        a = (mlp_augment_t){7, 1};
        ck_assert_msg(mlp_options_parse_augment("--augment", refused[i],
                                                &a) == MLP_EUSAGE,
                      "'%s' accepted", refused[i]);
        ck_assert_msg_has("--augment");
        ck_assert_uint_eq(a.shift, 7); /* untouched */
    }
}
END_TEST

START_TEST(test_free_cores)
{
    /* the running count includes the reader */
    ck_assert_int_eq(mlp_config_free_cores("0.00 0.01 0.05 1/120 42\n", 2),
                     2);
    ck_assert_int_eq(mlp_config_free_cores("1.00 0.90 0.50 2/130 42\n", 2),
                     1);
    ck_assert_int_eq(mlp_config_free_cores("3.10 2.00 1.00 5/130 42\n", 2),
                     0);
    ck_assert_int_eq(mlp_config_free_cores("0.5 0.5 0.5 3/99 1", 8), 6);
    ck_assert_int_eq(mlp_config_free_cores("", 2), -1);
    ck_assert_int_eq(mlp_config_free_cores("0.1 0.1 0.1", 2), -1);
    ck_assert_int_eq(mlp_config_free_cores("0.1 0.1 0.1 x/9 1", 2), -1);
    ck_assert_int_eq(mlp_config_free_cores("0.1 0.1 0.1 0/9 1", 2), -1);
    ck_assert_int_eq(
        mlp_config_free_cores("0.1 0.1 0.1 99999999999999999999/9 1", 2), -1);
}
END_TEST

static Suite *cli_suite(void)
{
    Suite *s = suite_create("cli");
    TCase *core = tu_tcase(s, "core", 0);
    TCase *errors = tu_tcase(s, "errors", 0);

    tcase_add_test(core, test_defaults);
    tcase_add_test(core, test_all_options);
    tcase_add_test(core, test_hidden_lists);
    tcase_add_test(core, test_label_column);
    tcase_add_test(core, test_help_version);
    tcase_add_test(core, test_vocabulary);
    tcase_add_test(core, test_parse_float);
    tcase_add_test(core, test_free_cores);
    tcase_add_test(core, test_augment);
    tcase_add_test(core, test_adamw_default_decay);
    tcase_add_loop_test(errors, test_bad_options, 0,
                        (int)(sizeof(bad) / sizeof(bad[0])));
    return s;
}

MLP_CHECK_MAIN(cli_suite)
