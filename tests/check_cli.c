/*
 * Tests of cli: train's command line into the config and every bad
 * value's error; then every command's table (commands.h) walked: its
 * --help lists every entry, each entry parses its sample, each rule
 * fires; and the description generators read (mlp_cli_iter).
 */
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "mlptrain/cli.h"
#include "mlptrain/commands.h"
#include "mlptrain/error.h"

/* What train's parser says, as the old mlp_cmd_t did. */
typedef enum { MLP_CMD_TRAIN, MLP_CMD_HELP } mlp_cmd_t;

/* Parse a NULL-terminated argument list (argv[0] is added) as train. */
static int parse(mlp_cmd_t *cmd, mlp_config_t *cfg, const char *const *args)
{
    char *argv[64];
    int argc = 0, rc;

    argv[argc++] = (char *)"mlptrain";
    while (*args != NULL)
        argv[argc++] = (char *)*args++;
    argv[argc] = NULL;
    rc = mlp_cmd_train_parse(argc, argv, cfg);
    *cmd = rc == 1 ? MLP_CMD_HELP : MLP_CMD_TRAIN;
    return rc < 0 ? rc : 0;
}

START_TEST(test_defaults)
{
    mlp_config_t cfg;
    mlp_cmd_t cmd;
    const char *args[] = {NULL};

    ck_assert_int_eq(parse(&cmd, &cfg, args), 0);
    ck_assert_int_eq(cmd, MLP_CMD_TRAIN);
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
    mlp_cmd_t cmd;
    const char *adamw[] = {"--optimizer", "adamw", NULL};
    const char *zero[] = {"--optimizer", "adamw", "--weight-decay", "0", NULL};
    const char *adam[] = {"--optimizer", "adam", NULL};

    ck_assert_int_eq(parse(&cmd, &cfg, adamw), 0);
    ck_assert_float_eq(cfg.weight_decay, 0.01f);
    ck_assert_int_eq(parse(&cmd, &cfg, zero), 0);
    ck_assert_float_eq(cfg.weight_decay, 0.0f);
    ck_assert_int_eq(parse(&cmd, &cfg, adam), 0);
    ck_assert_float_eq(cfg.weight_decay, 0.0f);
}
END_TEST

START_TEST(test_all_options)
{
    mlp_config_t cfg;
    mlp_cmd_t cmd;
    const char *args[] = {"train", "-j", "20", "--threads", "1",
                          "--hidden", "512,256", "--act", "tanh",
                          "--lr", "0.5", "-b", "64", "--epochs", "3",
                          "--seed", "99", "--init-std", "0.1",
                          "--data", "/x/y", "--limit-train", "600",
                          "--limit-test", "100", "-q", "--log", "l.jsonl",
                          "--momentum", "0.9", "--slots", "8",
                          "--plain-weights", NULL};

    ck_assert_int_eq(parse(&cmd, &cfg, args), 0);
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
    mlp_cmd_t cmd;
    const char *empty[] = {"--train", "a.csv", "--test", "b.csv", "--label",
                           "", NULL};
    static char big[10240];
    const char *huge[] = {"--train", "a.csv", "--test", "b.csv", "--label",
                          big, NULL};

    ck_assert_int_eq(parse(&cmd, &cfg, empty), 0);
    ck_assert_str_eq(cfg.label_col, "");
    ck_assert(mlp_config_given(&cfg, MLP_O_LABEL));
    memset(big, 'a', sizeof(big) - 1);
    ck_assert_int_eq(parse(&cmd, &cfg, huge), MLP_EUSAGE);
    ck_assert_ptr_nonnull(strstr(mlp_error_message(), "option '--label': a "
                                 "value of 10239 bytes; at most 4095"));
    huge[4] = "--log";
    ck_assert_int_eq(parse(&cmd, &cfg, huge), MLP_EUSAGE);
    ck_assert_ptr_nonnull(strstr(mlp_error_message(), "option '--log': a "
                                 "value of 10239 bytes"));
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
    mlp_cmd_t cmd;
    const char *h[] = {"--help", NULL}, *v[] = {"-V", NULL};

    ck_assert_int_eq(parse(&cmd, &cfg, h), 0);
    ck_assert_int_eq(cmd, MLP_CMD_HELP);
    {
        const char *off[] = {"--max-loss", "off", NULL};
        const char *x[] = {"--max-loss", "12.5", NULL};
        ck_assert_int_eq(parse(&cmd, &cfg, off), 0);
        ck_assert_float_lt(cfg.max_loss, 0.0f);
        ck_assert_int_eq(parse(&cmd, &cfg, x), 0);
        ck_assert_float_eq(cfg.max_loss, 12.5f);
    }
    ck_assert_int_eq(parse(&cmd, &cfg, v), 0);
    ck_assert_int_eq(cmd, MLP_CMD_HELP);
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
};

START_TEST(test_bad_options)
{
    mlp_config_t cfg;
    mlp_cmd_t cmd;

    ck_assert_int_eq(parse(&cmd, &cfg, bad[_i].args), MLP_EUSAGE);
    ck_assert_msg(strstr(mlp_error_message(), bad[_i].msg) != NULL,
                  "case %d: message '%s' lacks '%s'", _i,
                  mlp_error_message(), bad[_i].msg);
}
END_TEST

/* Issue 10: getopt_long's '?' told apart, and --resume needs --epochs. */
static const struct {
    const char *args[6];
    const char *msg;
} bad_ux[] = {
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

START_TEST(test_bad_ux)
{
    mlp_config_t cfg;
    mlp_cmd_t cmd;

    ck_assert_int_eq(parse(&cmd, &cfg, bad_ux[_i].args), MLP_EUSAGE);
    ck_assert_msg(strstr(mlp_error_message(), bad_ux[_i].msg) != NULL,
                  "case %d: message '%s' lacks '%s'", _i,
                  mlp_error_message(), bad_ux[_i].msg);
}
END_TEST

/* One vocabulary: -o/--png (--plot the old name), -n/--limit-test; an
 * unambiguous prefix still works. */
START_TEST(test_vocabulary)
{
    mlp_config_t cfg;
    mlp_cmd_t cmd;
    const char *a[] = {"-o", "a.png", "-n", "7", NULL};
    const char *b[] = {"--plot", "b.png", "--limit-te", "8", NULL};
    const char *c[] = {"--png=c.png", "--resume", "r.ckpt", "--epochs", "3",
                       NULL};

    ck_assert_int_eq(parse(&cmd, &cfg, a), 0);
    ck_assert_str_eq(cfg.plot_path, "a.png");
    ck_assert_uint_eq(cfg.limit_test, 7);
    ck_assert_int_eq(parse(&cmd, &cfg, b), 0);
    ck_assert_str_eq(cfg.plot_path, "b.png");
    ck_assert_uint_eq(cfg.limit_test, 8);
    ck_assert_int_eq(parse(&cmd, &cfg, c), 0);
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
        ck_assert_ptr_nonnull(strstr(mlp_error_message(), "--augment"));
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

/* ---- every command's table ------------------------------------------ */

/* The options of command c (help and version not counted). */
static size_t options_of(const mlp_command_t *c, const mlp_option_t **opts)
{
    mlp_cli_iter_t *it;
    const mlp_cli_info_t *in;
    size_t n = 0;

    ck_assert_int_eq(mlp_cli_iter_open(c, 0, &it), 0);
    while ((in = mlp_cli_iter_next(it)) != NULL)
        if (strcmp(in->name, "help") != 0 && strcmp(in->name, "version") != 0)
            opts[n++] = in->opt;
    mlp_cli_iter_close(it);
    return n;
}

static const mlp_option_t *option_named(const mlp_command_t *c,
                                        const char *name, size_t len)
{
    const mlp_option_t *opts[MLP_CLI_MAX_OPTIONS + 2];
    size_t n = options_of(c, opts);

    for (size_t i = 0; i < n; i++)
        if (strlen(opts[i]->name) == len &&
            strncmp(opts[i]->name, name, len) == 0)
            return opts[i];
    return NULL;
}

/* A command line of c being built: argv[0] is the command's name. */
typedef struct {
    const mlp_command_t *c;
    char *argv[64];
    int argc;
    mlp_config_t *cfg;
    void *own;
    mlp_cli_t cl;
} line_t;

static void line_init(line_t *l, const mlp_command_t *c)
{
    memset(l, 0, sizeof(*l));
    l->c = c;
    l->argv[l->argc++] = (char *)c->name;
    l->cfg = malloc(sizeof(*l->cfg));
    l->own = c->own_size > 0 ? calloc(1, c->own_size) : NULL;
    ck_assert_ptr_nonnull(l->cfg);
}

static void line_free(line_t *l)
{
    if (l->c->own_free != NULL && l->own != NULL)
        l->c->own_free(l->own);
    free(l->own);
    free(l->cfg);
}

static int line_has(const line_t *l, const mlp_option_t *o)
{
    for (int i = 1; i < l->argc; i++)
        if (strncmp(l->argv[i], "--", 2) == 0 &&
            strcmp(l->argv[i] + 2, o->name) == 0)
            return 1;
    return 0;
}

static char names[64][64];

/* Append --o VALUE (value NULL: o's sample; a flag takes none). */
static void line_add(line_t *l, const mlp_option_t *o, const char *value)
{
    ck_assert_int_lt(l->argc + 2, 63);
    snprintf(names[l->argc], sizeof(names[0]), "--%s", o->name);
    l->argv[l->argc] = names[l->argc];
    l->argc++;
    if (o->type != MLP_OPT_FLAG) {
        snprintf(names[l->argc], sizeof(names[0]), "%s",
                 value != NULL ? value : o->sample);
        l->argv[l->argc] = names[l->argc];
        l->argc++;
    }
    l->argv[l->argc] = NULL;
}

static int line_parse(line_t *l)
{
    if (l->c->own_free != NULL && l->own != NULL) {
        l->c->own_free(l->own);
        memset(l->own, 0, l->c->own_size);
    }
    return mlp_cli_parse(l->c, l->argc, l->argv, NULL, l->cfg, l->own,
                         &l->cl);
}

/*
 * What the last message asks for: "needs --y [value]", "needs '--y ...'",
 * "'--x' is required", "'--x' or '--y' is required": the option (and the
 * value of a NAME option), added to l.  0 when the message asks nothing
 * or asks for `never`.
 */
static int add_asked(line_t *l, const mlp_option_t *never)
{
    const char *m = mlp_error_message(), *p;
    const mlp_option_t *o;
    static char value[64];
    size_t n;

    if ((p = strstr(m, "needs '--")) != NULL)
        p += 9;
    else if ((p = strstr(m, "needs --")) != NULL)
        p += 8;
    else if (strstr(m, "is required") != NULL &&
             (p = strstr(m, "option '--")) != NULL)
        p += 10;
    else
        return 0;
    n = strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789-");
    if ((o = option_named(l->c, p, n)) == NULL || o == never ||
        line_has(l, o))
        return 0;
    p += n;
    value[0] = '\0';
    if (o->type == MLP_OPT_ENUM && *p == ' ') {
        size_t k = strspn(p + 1, "abcdefghijklmnopqrstuvwxyz0123456789");

        snprintf(value, sizeof(value), "%.*s", (int)k, p + 1);
    }
    line_add(l, o, value[0] != '\0' ? value : NULL);
    return 1;
}

/* Each entry of every command parses its sample on a command line that
 * gives what the rules ask, and sets its given bit. */
START_TEST(test_every_sample)
{
    for (size_t ci = 0; mlp_commands[ci] != NULL; ci++) {
        const mlp_command_t *c = mlp_commands[ci];
        const mlp_option_t *opts[MLP_CLI_MAX_OPTIONS + 2];
        size_t n = options_of(c, opts);

        for (size_t i = 0; i < n; i++) {
            const mlp_option_t *o = opts[i];
            line_t l;
            int rc, tries = 0;

            ck_assert_msg(o->type == MLP_OPT_FLAG || o->sample != NULL,
                          "%s --%s: no sample", c->name, o->name);
            line_init(&l, c);
            line_add(&l, o, NULL);
            while ((rc = line_parse(&l)) == MLP_EUSAGE && tries++ < 8 &&
                   add_asked(&l, NULL))
                ;
            ck_assert_msg(rc == 0, "%s --%s %s: %s", c->name, o->name,
                          o->sample ? o->sample : "", mlp_error_message());
            ck_assert_msg(mlp_cli_given(&l.cl, o), "%s --%s: not given",
                          c->name, o->name);
            if (o->place == MLP_IN_RUN)
                ck_assert(l.cfg->given & mlp_options_bit(o));
            /* and reads back as given, through the one formatter */
            if (o->type != MLP_OPT_FLAG && o->type != MLP_OPT_CALLBACK) {
                char v[MLP_PATH_MAX];

                mlp_options_format(o, o->place == MLP_IN_RUN
                                          ? (void *)l.cfg : l.own,
                                   0, v, sizeof(v));
                ck_assert_msg(strcmp(v, o->sample) == 0 ||
                                  strtod(v, NULL) == strtod(o->sample, NULL),
                              "%s --%s %s reads back '%s'", c->name, o->name,
                              o->sample, v);
            }
            line_free(&l);
        }
    }
}
END_TEST

/* The rules of command c: its own, and the run options' that apply. */
static size_t rules_of(const mlp_command_t *c, const mlp_rule_t **rules)
{
    const mlp_option_t *opts[MLP_CLI_MAX_OPTIONS + 2];
    size_t n = options_of(c, opts), k = 0;

    for (size_t i = 0; i < mlp_noption_rules; i++) {
        const mlp_rule_t *r = &mlp_option_rules[i];
        const mlp_option_t *need[] = {r->x, r->y, r->alt, r->when, r->unless};
        int all = 1;

        for (size_t j = 0; j < 5; j++) {
            int found = need[j] == NULL;

            for (size_t m = 0; m < n && !found; m++)
                found = opts[m] == need[j];
            all &= found;
        }
        if (all)
            rules[k++] = r;
    }
    for (size_t i = 0; i < c->nrules; i++)
        rules[k++] = &c->rules[i];
    return k;
}

/* The first value name of an ENUM option in (or, `in` 0, out of) set. */
static const char *value_in(const mlp_option_t *o, unsigned set, int in)
{
    for (int v = 0; o->names[v] != NULL; v++)
        if (((set >> v) & 1) == (unsigned)in)
            return o->names[v];
    return NULL;
}

/* Each rule of every command fires: a command line that breaks it (and
 * gives what the other rules ask) is bad usage, in the rule's words. */
START_TEST(test_every_rule)
{
    const mlp_rule_t *rules[256];
    size_t nrules = 0;

    for (size_t ci = 0; mlp_commands[ci] != NULL; ci++) {
        const mlp_command_t *c = mlp_commands[ci];
        size_t nr = rules_of(c, rules);

        nrules += nr;
        for (size_t i = 0; i < nr; i++) {
            const mlp_rule_t *r = rules[i];
            char want[128];
            line_t l;
            int rc, tries = 0;

            line_init(&l, c);
            switch (r->kind) {
            case MLP_RULE_REQUIRED:
                snprintf(want, sizeof(want), "'--%s'%s%s%s is required",
                         r->x->name, r->alt != NULL ? " or '--" : "",
                         r->alt != NULL ? r->alt->name : "",
                         r->alt != NULL ? "'" : "");
                break;
            case MLP_RULE_NEEDS:
            case MLP_RULE_NEEDS_GIVEN:
                line_add(&l, r->x, r->xvalues ? value_in(r->x, r->xvalues, 1)
                                              : NULL);
                if (r->when != NULL)
                    line_add(&l, r->when, NULL);
                if (r->yvalues != 0)
                    line_add(&l, r->y, value_in(r->y, r->yvalues, 0));
                snprintf(want, sizeof(want), "needs %s--%s",
                         r->kind == MLP_RULE_NEEDS_GIVEN ? "'" : "",
                         r->y->name);
                break;
            case MLP_RULE_CONFLICTS:
                line_add(&l, r->x, r->xvalues ? value_in(r->x, r->xvalues, 1)
                                              : NULL);
                line_add(&l, r->y, r->yvalues ? value_in(r->y, r->yvalues, 1)
                                              : NULL);
                snprintf(want, sizeof(want), "conflicts with --%s",
                         r->y->name);
                break;
            default:
                line_add(&l, r->x, "1000000");
                snprintf(want, sizeof(want), "is %s --%s",
                         r->kind == MLP_RULE_AT_MOST ? "above" : "not below",
                         r->y->name);
                break;
            }
            for (;;) {
                rc = line_parse(&l);
                if (rc != MLP_EUSAGE ||
                    (strstr(mlp_error_message(), want) != NULL &&
                     strstr(mlp_error_message(), r->x->name) != NULL))
                    break;
                if (tries++ == 8 || !add_asked(&l, r->kind ==
                                                        MLP_RULE_REQUIRED
                                                    ? r->x
                                                    : r->y))
                    break;
            }
            ck_assert_msg(rc == MLP_EUSAGE &&
                              strstr(mlp_error_message(), want) != NULL,
                          "%s: rule %zu (--%s, kind %d): %s; want '%s'",
                          c->name, i, r->x->name, (int)r->kind,
                          rc == 0 ? "accepted" : mlp_error_message(), want);
            line_free(&l);
        }
    }
    ck_assert_uint_gt(nrules, 60);
}
END_TEST

/* Every command's --help lists every entry (with its letter, alias and
 * metavar), each rule's words and each default, within 80 columns. */
START_TEST(test_every_help)
{
    for (size_t ci = 0; mlp_commands[ci] != NULL; ci++) {
        const mlp_command_t *c = mlp_commands[ci];
        char *text = NULL, line[256], want[160];
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        mlp_cli_iter_t *it;
        const mlp_cli_info_t *in;
        size_t count = 0;

        ck_assert_ptr_nonnull(f);
        mlp_cli_usage(c, f);
        fclose(f);
        ck_assert_msg(strncmp(text, "usage: mlptrain ", 16) == 0, "%s",
                      c->name);
        ck_assert_ptr_nonnull(strstr(text, "\nExit status:\n"));
        for (const char *p = text; *p != '\0';) {
            size_t k = strcspn(p, "\n");

            ck_assert_msg(k <= 80, "%s --help: over 80 columns: %.*s",
                          c->name, (int)k, p);
            p += k + (p[k] == '\n');
        }
        ck_assert_int_eq(mlp_cli_iter_open(c, 0, &it), 0);
        while ((in = mlp_cli_iter_next(it)) != NULL) {
            count++;
            snprintf(want, sizeof(want), "--%s%s%s\n", in->name,
                     in->metavar ? " " : "", in->metavar ? in->metavar : "");
            if (strstr(text, want) == NULL) /* followed by its help */
                snprintf(want, sizeof(want), "--%s%s%s  ", in->name,
                         in->metavar ? " " : "",
                         in->metavar ? in->metavar : "");
            ck_assert_msg(strstr(text, want) != NULL, "%s --help lacks '%s'",
                          c->name, want);
            if (in->letter != 0) {
                snprintf(want, sizeof(want), "-%c, --%s", in->letter,
                         in->name);
                ck_assert_msg(strstr(text, want) != NULL,
                              "%s --help lacks '%s'", c->name, want);
            }
            if (in->alias != NULL) {
                snprintf(want, sizeof(want), "--%s", in->alias);
                ck_assert_msg(strstr(text, want) != NULL,
                              "%s --help lacks '%s'", c->name, want);
            }
            /* its help, default and rules, as words of the text (the
             * wrapper breaks lines between words) */
            snprintf(line, sizeof(line), "%s", in->help);
            ck_assert_msg(strstr(text, strtok(line, " ")) != NULL, "%s: %s",
                          c->name, in->help);
            ck_assert(in->kind != MLP_VALUE_NAME || in->names != NULL);
        }
        mlp_cli_iter_close(it);
        ck_assert_uint_ge(count, 2); /* --help, --version */
        free(text);
    }
}
END_TEST

/* The descriptions: each option's rules and range in words, its kind. */
START_TEST(test_iter)
{
    mlp_cli_iter_t *it;
    const mlp_cli_info_t *in;
    int seen = 0;

    ck_assert_int_eq(mlp_cli_iter_open(&mlp_command_train, 0, &it), 0);
    while ((in = mlp_cli_iter_next(it)) != NULL) {
        if (strcmp(in->name, "beta1") == 0) {
            ck_assert_str_eq(in->rules, "needs --optimizer adam or adamw");
            ck_assert_str_eq(in->range, "0 <= X < 1");
            ck_assert_str_eq(in->shown, "0.9");
            ck_assert_int_eq(in->kind, MLP_VALUE_NUMBER);
            seen++;
        }
        if (strcmp(in->name, "data") == 0) {
            ck_assert_int_eq(in->kind, MLP_VALUE_DIR);
            ck_assert_str_eq(in->rules, "not with --train");
            seen++;
        }
        if (strcmp(in->name, "header") == 0) {
            ck_assert_int_eq(in->kind, MLP_VALUE_NAME);
            ck_assert_str_eq(in->names[1], "yes");
            ck_assert_str_eq(in->rules, "needs --train, needs a CSV --train "
                                        "file");
            seen++;
        }
        if (strcmp(in->name, "png") == 0) {
            ck_assert_int_eq(in->letter, 'o');
            ck_assert_str_eq(in->alias, "plot");
            ck_assert_int_eq(in->kind, MLP_VALUE_FILE);
            seen++;
        }
        if (strcmp(in->name, "resume") == 0) {
            ck_assert_str_eq(in->rules, "needs --epochs");
            seen++;
        }
    }
    mlp_cli_iter_close(it);
    ck_assert_int_eq(seen, 5);
    ck_assert_int_eq(mlp_cli_iter_open(&mlp_command_predict, 0, &it), 0);
    while ((in = mlp_cli_iter_next(it)) != NULL)
        if (strcmp(in->name, "seed") == 0) {
            ck_assert_str_eq(in->shown, "the model's");
            ck_assert_str_eq(in->section, "Training images");
            ck_assert_str_eq(in->rules, "needs --show-train");
            seen++;
        }
    mlp_cli_iter_close(it);
    ck_assert_int_eq(seen, 6);
}
END_TEST

/* The commands' own options (eval's, sweep's, export's) parse, with
 * their rules, into their structs; shared options into the config. */
START_TEST(test_commands_own)
{
    line_t l;

    line_init(&l, &mlp_command_eval);
    ck_assert_int_eq(line_parse(&l), MLP_EUSAGE);
    ck_assert_ptr_nonnull(strstr(mlp_error_message(),
                                 "option '--model' is required"));
    l.argv[l.argc++] = "--model";
    l.argv[l.argc++] = "m.ckpt";
    l.argv[l.argc++] = "-n";
    l.argv[l.argc++] = "5";
    l.argv[l.argc++] = "-t";
    l.argv[l.argc++] = "1";
    ck_assert_int_eq(line_parse(&l), 0);
    ck_assert_uint_eq(l.cfg->limit_test, 5);
    ck_assert_int_eq(l.cfg->threads, 1);
    ck_assert_uint_eq(l.cfg->batch, 256);
    l.argv[l.argc++] = "--label";
    l.argv[l.argc++] = "y";
    ck_assert_int_eq(line_parse(&l), MLP_EUSAGE);
    ck_assert_ptr_nonnull(strstr(mlp_error_message(),
                                 "option '--label' needs --test FILE"));
    line_free(&l);
    line_init(&l, &mlp_command_sweep);
    l.argv[l.argc++] = "--space";
    l.argv[l.argc++] = "lr=loguniform(1e-3,1e-1)";
    ck_assert_int_eq(line_parse(&l), MLP_EUSAGE);
    ck_assert_ptr_nonnull(strstr(mlp_error_message(),
                                 "option '--search random' needs --samples"));
    l.argv[l.argc++] = "--samples";
    l.argv[l.argc++] = "3";
    l.argv[l.argc++] = "--";
    l.argv[l.argc++] = "-e";
    l.argv[l.argc++] = "2";
    ck_assert_int_eq(line_parse(&l), 0);
    ck_assert_int_eq(l.cl.nrest, 2);
    ck_assert_str_eq(l.cl.rest[0], "-e");
    line_free(&l);
    line_init(&l, &mlp_command_export);
    l.argv[l.argc++] = "--model";
    l.argv[l.argc++] = "m.ckpt";
    ck_assert_int_eq(line_parse(&l), MLP_EUSAGE);
    ck_assert_ptr_nonnull(strstr(mlp_error_message(),
                                 "option '--onnx' or '--npz' is required"));
    line_free(&l);
}
END_TEST

static Suite *cli_suite(void)
{
    Suite *s = suite_create("cli");
    TCase *core = tcase_create("core");
    TCase *errors = tcase_create("errors");

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
    tcase_add_test(core, test_every_sample);
    tcase_add_test(core, test_every_rule);
    tcase_add_test(core, test_every_help);
    tcase_add_test(core, test_iter);
    tcase_add_test(core, test_commands_own);
    tcase_add_loop_test(errors, test_bad_options, 0,
                        (int)(sizeof(bad) / sizeof(bad[0])));
    tcase_add_loop_test(errors, test_bad_ux, 0,
                        (int)(sizeof(bad_ux) / sizeof(bad_ux[0])));
    suite_add_tcase(s, core);
    suite_add_tcase(s, errors);
    return s;
}

MLP_CHECK_MAIN(cli_suite)
