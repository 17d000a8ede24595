/*
 * Tests of every command's table (commands.h), walked: its --help lists
 * every entry, each entry parses its sample, each rule fires; and the
 * description generators read (mlp_cli_iter).
 */
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "mlptrain/cli.h"
#include "mlptrain/commands.h"
#include "mlptrain/error.h"
#include "testutil.h"

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
    ck_assert_msg_has("option '--model' is required");
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
    ck_assert_msg_has("option '--label' needs --test FILE");
    line_free(&l);
    line_init(&l, &mlp_command_sweep);
    l.argv[l.argc++] = "--space";
    l.argv[l.argc++] = "lr=loguniform(1e-3,1e-1)";
    ck_assert_int_eq(line_parse(&l), MLP_EUSAGE);
    ck_assert_msg_has("option '--search random' needs --samples");
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
    ck_assert_msg_has("option '--onnx' or '--npz' is required");
    line_free(&l);
}
END_TEST

static Suite *cli_table_suite(void)
{
    Suite *s = suite_create("cli_table");
    TCase *core = tu_tcase(s, "core", 0);

    tcase_add_test(core, test_every_sample);
    tcase_add_test(core, test_every_rule);
    tcase_add_test(core, test_every_help);
    tcase_add_test(core, test_iter);
    tcase_add_test(core, test_commands_own);
    return s;
}

MLP_CHECK_MAIN(cli_table_suite)
