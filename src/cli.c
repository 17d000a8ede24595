/*
 * cli: argv through a command's table (see cli.h): getopt_long's table
 * and short-option string, parsing into the run config and the command's
 * own struct, the rules, --help and --version, the bad-option messages,
 * and the tables' description for generators.
 *
 * Non-goals: running anything; a value's syntax and range (options.h);
 * printing anything but usage and version.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "git-version.h"
#include "mlptrain/cli.h"
#include "mlptrain/error.h"

/* getopt_long's val of option i without a letter: OPT_BASE + i */
#define OPT_BASE 256

/* The entries --help and --version, which every command has. */
static const mlp_option_t help_option = {
    .name = "help", .letter = 'h', .type = MLP_OPT_FLAG, .place = MLP_IN_CMD,
    .help = "show this help", .shown = ""};
static const mlp_option_t version_option = {
    .name = "version", .letter = 'V', .type = MLP_OPT_FLAG,
    .place = MLP_IN_CMD, .help = "show versions", .shown = ""};

/* Option i of c as listed (run options first when c has them): the
 * entry and its use; NULL past the end. */
static const mlp_option_t *option_at(const mlp_command_t *c, size_t i,
                                     const mlp_cli_opt_t **use)
{
    *use = NULL;
    if (c->run_options) {
        if (i < MLP_NOPTIONS)
            return &mlp_options[i];
        i -= MLP_NOPTIONS;
    }
    for (size_t k = 0; c->options != NULL && c->options[k].opt != NULL; k++)
        if (k == i) {
            *use = &c->options[k];
            return c->options[k].opt;
        }
    return NULL;
}

/* cl->opts: every option of c, in order. */
static int list_options(const mlp_command_t *c, mlp_cli_t *cl)
{
    const mlp_cli_opt_t *use;
    const mlp_option_t *o;

    cl->nopts = 0;
    while ((o = option_at(c, cl->nopts, &use)) != NULL) {
        if (cl->nopts == MLP_CLI_MAX_OPTIONS)
            return mlp_error_set(MLP_EINVAL, "%s: more than %d options",
                                 c->name, MLP_CLI_MAX_OPTIONS);
        cl->opts[cl->nopts++] = o;
    }
    cl->opts[cl->nopts] = NULL;
    return 0;
}

/*
 * getopt_long's table and short-option string, in the command's order so
 * that an abbreviation resolves as --help lists the options.  Built into
 * caller storage: no statics.
 */
typedef struct {
    struct option longs[2 * MLP_CLI_MAX_OPTIONS + 3]; /* an alias each,
                                                         help, version */
    char shorts[2 * MLP_CLI_MAX_OPTIONS + 8];
} getopt_table_t;

static int val_of(const mlp_cli_t *cl, size_t i)
{
    return cl->opts[i]->letter != 0 ? cl->opts[i]->letter
                                    : OPT_BASE + (int)i;
}

static void build_getopt(const mlp_cli_t *cl, getopt_table_t *t)
{
    size_t n = 0, s = 0;

    if (cl->cmd->dashdash)
        t->shorts[s++] = '+'; /* options end at the first operand */
    t->shorts[s++] = ':';
    for (size_t i = 0; i < cl->nopts; i++) {
        const mlp_option_t *o = cl->opts[i];
        int has = o->type == MLP_OPT_FLAG ? no_argument : required_argument;

        t->longs[n++] = (struct option){o->name, has, NULL, val_of(cl, i)};
        if (o->alias != NULL)
            t->longs[n++] = (struct option){o->alias, has, NULL,
                                            val_of(cl, i)};
        if (o->letter != 0) {
            t->shorts[s++] = (char)o->letter;
            if (has == required_argument)
                t->shorts[s++] = ':';
        }
    }
    t->longs[n++] = (struct option){"help", no_argument, NULL, 'h'};
    t->longs[n++] = (struct option){"version", no_argument, NULL, 'V'};
    t->longs[n] = (struct option){NULL, 0, NULL, 0};
    memcpy(t->shorts + s, "hV", 3);
}

/*
 * The message of an option getopt_long refused (it returned '?' or ':';
 * called right then): "unknown option '--x'", "option '--s' is ambiguous:
 * it could be --save, --seed", "option '--log' needs a value", "option
 * '--help' takes no value"; `note` (may be NULL) is appended.  Returns
 * MLP_EUSAGE.
 */
static int bad_option(int c, char **argv, const struct option *opts,
                      const char *note)
{
    const char *arg = argv[optind - 1], *name, *eq;
    const struct option *match = NULL;
    char list[256] = "";
    size_t len, nmatch = 0, o = 0;
    int is_long;

    if (note == NULL)
        note = "";
    /* A long option is the last argument getopt_long read (and optopt is 0
     * for an unknown one, the option's val for a misused one); a short one
     * is named by optopt, wherever it stood in a cluster. */
    is_long = strncmp(arg, "--", 2) == 0 && arg[2] != '\0' &&
              (c == ':' || optopt == 0 || strchr(arg, '=') != NULL);
    if (!is_long && optopt > 0 && optopt < 256) {
        if (c == ':')
            return mlp_error_set(MLP_EUSAGE, "option '-%c' needs a value",
                                 optopt);
        return mlp_error_set(MLP_EUSAGE, "unknown option '-%c'%s", optopt,
                             note);
    }
    if (!is_long)
        return mlp_error_set(MLP_EUSAGE, "unknown option '%s'%s", arg, note);
    name = arg + 2;
    eq = strchr(name, '=');
    len = eq != NULL ? (size_t)(eq - name) : strlen(name);
    /* getopt_long says '?' for an unknown, an ambiguous and a misused long
     * option alike: tell them apart with the table, as it matched them.
     * Aliases (the same val) are one option. */
    for (const struct option *p = opts; p->name != NULL; p++) {
        if (strncmp(p->name, name, len) != 0)
            continue;
        if (strlen(p->name) == len) {
            match = p;
            nmatch = 1;
            break;
        }
        if (match == NULL || match->val != p->val || match->has_arg !=
            p->has_arg) {
            if (o < sizeof(list))
                o += (size_t)snprintf(list + o, sizeof(list) - o, "%s--%s",
                                      nmatch ? ", " : "", p->name);
            if (match == NULL)
                match = p;
            nmatch++;
        }
    }
    if (nmatch > 1)
        return mlp_error_set(MLP_EUSAGE, "option '--%.*s' is ambiguous: "
                             "it could be %s", (int)len, name, list);
    if (nmatch == 1 && c == ':')
        return mlp_error_set(MLP_EUSAGE, "option '--%s' needs a value",
                             match->name);
    if (nmatch == 1 && eq != NULL && match->has_arg == no_argument)
        return mlp_error_set(MLP_EUSAGE, "option '--%s' takes no value",
                             match->name);
    return mlp_error_set(MLP_EUSAGE, "unknown option '--%.*s'%s", (int)len,
                         name, note);
}

/* The defaults of c's options: the run config's and the own struct's. */
static void defaults(const mlp_command_t *c, const mlp_cli_t *cl,
                     mlp_config_t *cfg, void *own)
{
    if (cfg != NULL)
        mlp_config_defaults(cfg);
    if (own == NULL)
        return;
    memset(own, 0, c->own_size);
    for (size_t i = 0; i < cl->nopts; i++)
        if (cl->opts[i]->place == MLP_IN_CMD)
            mlp_options_set_default(cl->opts[i], own);
}

/* Does c list a run option (and so need a config)? */
static int has_run_options(const mlp_cli_t *cl)
{
    for (size_t i = 0; i < cl->nopts; i++)
        if (cl->opts[i]->place == MLP_IN_RUN)
            return 1;
    return 0;
}

int mlp_cli_parse_values(const mlp_command_t *c, int argc, char **argv,
                         FILE *out, mlp_config_t *cfg, void *own,
                         mlp_cli_t *cl)
{
    getopt_table_t t;
    int nopt = argc, ch, rc;

    memset(cl, 0, sizeof(*cl));
    cl->cmd = c;
    if ((rc = list_options(c, cl)) < 0)
        return rc;
    if (has_run_options(cl) && cfg == NULL)
        return mlp_error_set(MLP_EINVAL, "%s: no config to parse into",
                             c->name);
    if (c->own_size > 0 && own == NULL)
        return mlp_error_set(MLP_EINVAL, "%s: no struct to parse into",
                             c->name);
    cl->cfg = has_run_options(cl) ? cfg : NULL;
    cl->own = c->own_size > 0 ? own : NULL;
    defaults(c, cl, cl->cfg, cl->own);
    /* Everything after the first "--" is the command's. */
    for (int i = 1; c->dashdash && i < argc; i++)
        if (strcmp(argv[i], "--") == 0) {
            nopt = i;
            cl->rest = argv + i + 1;
            cl->nrest = argc - i - 1;
            break;
        }
    build_getopt(cl, &t);
    optind = 0; /* glibc: full re-initialisation, then argv[1] on */
    opterr = 0;
    while ((ch = getopt_long(nopt, argv, t.shorts, t.longs, NULL)) != -1) {
        const mlp_option_t *o = NULL;
        size_t i;

        if (ch == 'h' || ch == 'V') {
            if (out != NULL && ch == 'h')
                mlp_cli_usage(c, out);
            else if (out != NULL)
                mlp_cli_version(out);
            return 1;
        }
        for (i = 0; i < cl->nopts && o == NULL; i++)
            if (val_of(cl, i) == ch)
                o = cl->opts[i];
        if (o == NULL)
            return bad_option(ch, argv, t.longs, c->hint);
        i--;
        if ((rc = mlp_options_parse(o, o->place == MLP_IN_RUN ? cl->cfg
                                                              : cl->own,
                                    optarg)) < 0)
            return rc;
        cl->given |= (uint64_t)1 << i;
        if (o->place == MLP_IN_RUN)
            cl->cfg->given |= mlp_options_bit(o);
    }
    if (optind < nopt && c->operands == NULL)
        return mlp_error_set(MLP_EUSAGE, "%s: unexpected argument '%s'%s",
                             c->name, argv[optind],
                             c->hint != NULL ? c->hint : "");
    cl->args = argv + optind;
    cl->nargs = nopt - optind;
    if (c->resolve != NULL && (rc = c->resolve(cl)) < 0)
        return rc;
    return 0;
}

int mlp_cli_check(const mlp_cli_t *cl)
{
    mlp_values_t v = {.cfg = cl->cfg, .own = cl->own, .options = cl->opts,
                      .own_given = cl->given};
    int rc;

    if ((rc = mlp_rules_check(mlp_option_rules, mlp_noption_rules, &v)) < 0)
        return rc;
    return mlp_rules_check(cl->cmd->rules, cl->cmd->nrules, &v);
}

int mlp_cli_parse(const mlp_command_t *c, int argc, char **argv, FILE *out,
                  mlp_config_t *cfg, void *own, mlp_cli_t *cl)
{
    int rc = mlp_cli_parse_values(c, argc, argv, out, cfg, own, cl);

    return rc != 0 ? rc : mlp_cli_check(cl);
}

int mlp_cli_given(const mlp_cli_t *cl, const mlp_option_t *o)
{
    for (size_t i = 0; i < cl->nopts; i++)
        if (cl->opts[i] == o)
            return (cl->given >> i) & 1;
    return 0;
}

void mlp_cli_version(FILE *f)
{
    fprintf(f, "mlptrain %s (git %s)\noneDNN %s, ISA %s\n%s\n",
            PACKAGE_VERSION, MLP_GIT_HASH, mlp_net_dnnl_version(),
            mlp_net_isa(), MLP_CC_VERSION);
}

/* ---- the description of the options -------------------------------- */

struct mlp_cli_iter {
    const mlp_command_t *c;
    unsigned flags;           /* MLP_CLI_DOC */
    mlp_cli_t cl;             /* the option list */
    mlp_config_t *cfg;        /* the defaults */
    void *own;
    size_t next;
    mlp_cli_info_t info;
};

int mlp_cli_iter_open(const mlp_command_t *c, unsigned flags,
                      mlp_cli_iter_t **out)
{
    mlp_cli_iter_t *it = calloc(1, sizeof(*it));
    int rc;

    *out = NULL;
    if (it == NULL)
        return mlp_error_set(MLP_ENOMEM, "out of memory");
    it->c = c;
    it->flags = flags;
    it->cl.cmd = c;
    if ((rc = list_options(c, &it->cl)) < 0) {
        free(it);
        return rc;
    }
    it->cfg = malloc(sizeof(*it->cfg));
    it->own = c->own_size > 0 ? malloc(c->own_size) : NULL;
    if (it->cfg == NULL || (c->own_size > 0 && it->own == NULL)) {
        mlp_cli_iter_close(it);
        return mlp_error_set(MLP_ENOMEM, "out of memory");
    }
    defaults(c, &it->cl, it->cfg, it->own);
    *out = it;
    return 0;
}

void mlp_cli_iter_close(mlp_cli_iter_t *it)
{
    if (it == NULL)
        return;
    free(it->cfg);
    free(it->own);
    free(it);
}

static mlp_value_kind_t kind_of(const mlp_option_t *o)
{
    switch (o->type) {
    case MLP_OPT_FLAG: return MLP_VALUE_NONE;
    case MLP_OPT_ENUM: return MLP_VALUE_NAME;
    case MLP_OPT_PATH:
        return (o->flags & MLP_OPT_DIR) ? MLP_VALUE_DIR : MLP_VALUE_FILE;
    case MLP_OPT_TEXT:
        return (o->flags & MLP_OPT_DIR) ? MLP_VALUE_DIR : MLP_VALUE_TEXT;
    case MLP_OPT_UINT:
    case MLP_OPT_INT:
    case MLP_OPT_SIZE:
    case MLP_OPT_U64:
    case MLP_OPT_FLOAT: return MLP_VALUE_NUMBER;
    default: return MLP_VALUE_TEXT;
    }
}

/* The default --help shows: the use's or the entry's text ("%s": the
 * value; in a document the text before it, without ": "), else the value;
 * a flag's: none. */
static void shown_of(const mlp_option_t *o, const mlp_cli_opt_t *use,
                     const void *base, int doc, char *buf, size_t len)
{
    const char *shown = use != NULL && use->shown != NULL ? use->shown
                                                          : o->shown;
    char value[MLP_PATH_MAX] = "";
    const char *pct;

    if (base != NULL && o->type != MLP_OPT_CALLBACK)
        mlp_options_format(o, base, 0, value, sizeof(value));
    if (shown == NULL)
        snprintf(buf, len, "%s", o->type == MLP_OPT_FLAG ? "" : value);
    else if ((pct = strstr(shown, "%s")) != NULL && doc)
        snprintf(buf, len, "%.*s%s",
                 (int)(pct - shown) - (pct - shown >= 2 && pct[-2] == ':' ? 2
                                                                        : 0),
                 shown, pct + 2);
    else if (pct != NULL)
        snprintf(buf, len, "%.*s%s%s", (int)(pct - shown), shown, value,
                 pct + 2);
    else
        snprintf(buf, len, "%s", shown);
}

const mlp_cli_info_t *mlp_cli_iter_next(mlp_cli_iter_t *it)
{
    const mlp_command_t *c = it->c;
    mlp_cli_info_t *in = &it->info;
    const mlp_cli_opt_t *use = NULL;
    const mlp_option_t *o;
    size_t off;

    if (it->next < it->cl.nopts)
        o = option_at(c, it->next, &use);
    else if (it->next == it->cl.nopts)
        o = &help_option;
    else if (it->next == it->cl.nopts + 1)
        o = &version_option;
    else
        return NULL;
    it->next++;
    memset(in, 0, sizeof(*in));
    in->opt = o;
    in->name = o->name;
    in->alias = o->alias;
    in->letter = o->letter;
    in->metavar = o->metavar;
    in->section = use != NULL && use->section != NULL ? use->section
                                                      : o->section;
    in->help = use != NULL && use->help != NULL ? use->help : o->help;
    in->kind = kind_of(o);
    in->names = o->type == MLP_OPT_ENUM ? o->names : NULL;
    if (o == &help_option || o == &version_option)
        return in;
    shown_of(o, use, o->place == MLP_IN_RUN ? (void *)it->cfg : it->own,
             (it->flags & MLP_CLI_DOC) != 0, in->shown, sizeof(in->shown));
    mlp_options_range(o, in->range, sizeof(in->range));
    off = mlp_rules_text(mlp_option_rules, mlp_noption_rules, it->cl.opts,
                         o, in->rules, sizeof(in->rules), 0);
    off = mlp_rules_text(c->rules, c->nrules, it->cl.opts, o, in->rules,
                         sizeof(in->rules), off);
    if (c->run_options)
        mlp_data_rules_text(o, in->rules, sizeof(in->rules), off);
    return in;
}

/* ---- --help --------------------------------------------------------- */

void mlp_cli_wrap(FILE *f, int indent, int col, const char *text)
{
    enum { WIDTH = 80 };
    int gap = 1; /* spaces before the next word: two after a sentence */

    while (*text != '\0') {
        size_t w = strcspn(text, " \n");

        if (col > indent && col + gap + (int)w > WIDTH) {
            fprintf(f, "\n%*s", indent, "");
            col = indent;
        } else if (col > indent) {
            fprintf(f, "%*s", gap, "");
            col += gap;
        } else if (col < indent) {
            fprintf(f, "%*s", indent - col, "");
            col = indent;
        }
        fwrite(text, 1, w, f);
        col += (int)w;
        text += w;
        if (*text == '\n') {
            fputc('\n', f);
            col = 0;
            text++;
            /* a blank line stays blank */
            while (*text == '\n') {
                fputc('\n', f);
                text++;
            }
            if (*text == '\0')
                return;
            continue;
        }
        for (gap = 0; *text == ' '; text++)
            gap++;
        gap = gap > 1 ? 2 : 1;
    }
    fputc('\n', f);
}

/* "  -b, --batch N          " then the text, wrapped at column 25. */
static void usage_line(FILE *f, const mlp_cli_info_t *in)
{
    enum { COL = 25 };
    char left[96], text[MLP_PATH_MAX + 2048];
    size_t off;
    int len;

    len = snprintf(left, sizeof(left), "  %c%c%c --%s%s%s",
                   in->letter ? '-' : ' ', in->letter ? in->letter : ' ',
                   in->letter ? ',' : ' ', in->name,
                   in->metavar != NULL ? " " : "",
                   in->metavar != NULL ? in->metavar : "");
    fputs(left, f);
    if (len > COL - 2) {
        fputc('\n', f);
        len = 0;
    }
    off = (size_t)snprintf(text, sizeof(text), "%s", in->help);
    if (in->alias != NULL && off < sizeof(text))
        off += (size_t)snprintf(text + off, sizeof(text) - off,
                                " (--%s%s%s is the same)", in->alias,
                                in->metavar != NULL ? " " : "",
                                in->metavar != NULL ? in->metavar : "");
    if (in->range[0] != '\0' && off < sizeof(text))
        off += (size_t)snprintf(text + off, sizeof(text) - off, "; %s",
                                in->range);
    if (in->rules[0] != '\0' && off < sizeof(text))
        off += (size_t)snprintf(text + off, sizeof(text) - off, "; %s",
                                in->rules);
    if (in->shown[0] != '\0' && off < sizeof(text))
        snprintf(text + off, sizeof(text) - off, " [%s]", in->shown);
    fprintf(f, "%*s", COL - len, "");
    mlp_cli_wrap(f, COL, COL, text);
}

/* The syntax of the command's values, by their metavars: "FILE, DIR:
 * 1..4095 bytes; N, K: digits only; ...", and a word on the rules. */
static void values_text(const mlp_command_t *c, FILE *f)
{
    enum { NK = 4 };
    static const char *const what[NK] = {
        "1..%d bytes", "0..%d bytes", "digits only",
        "a plain decimal that a float holds (magnitude 1e-45..3.4e38)"};
    const char *meta[NK][16];
    size_t nmeta[NK] = {0}, off = 0;
    char text[1024] = "";
    mlp_cli_t cl;
    int rules = c->nrules > 0 || c->run_options;

    cl.cmd = c;
    if (list_options(c, &cl) < 0)
        return;
    for (size_t i = 0; i < cl.nopts; i++) {
        const mlp_option_t *o = cl.opts[i];
        int k = o->type == MLP_OPT_PATH     ? 0
                : o->type == MLP_OPT_STRING ? 1
                : o->type == MLP_OPT_FLOAT  ? 3
                : kind_of(o) == MLP_VALUE_NUMBER ? 2
                                                 : -1;
        size_t j = 0;

        if (k < 0)
            continue;
        while (j < nmeta[k] && strcmp(meta[k][j], o->metavar) != 0)
            j++;
        if (j == nmeta[k] && j < 16)
            meta[k][nmeta[k]++] = o->metavar;
    }
    for (int k = 0; k < NK && off < sizeof(text); k++) {
        for (size_t j = 0; j < nmeta[k] && off < sizeof(text); j++)
            off += (size_t)snprintf(text + off, sizeof(text) - off, "%s%s",
                                    j > 0 ? ", " : off > 0 ? "; " : "",
                                    meta[k][j]);
        if (nmeta[k] > 0 && off < sizeof(text)) {
            off += (size_t)snprintf(text + off, sizeof(text) - off, ": ");
            if (off < sizeof(text))
                off += (size_t)snprintf(text + off, sizeof(text) - off,
                                        what[k], MLP_PATH_MAX - 1);
        }
    }
    if (off == 0 && !rules)
        return;
    fputc('\n', f);
    if (off > 0) {
        char line[sizeof(text) + 16];

        snprintf(line, sizeof(line), "Values: %s.", text);
        mlp_cli_wrap(f, 0, 0, line);
    }
    if (rules)
        fputs("An option that does not apply (its 'needs' above) is bad "
              "usage.\n", f);
}

void mlp_cli_usage(const mlp_command_t *c, FILE *f)
{
    const char *section = NULL, *u = c->usage;
    const mlp_cli_info_t *in;
    mlp_cli_iter_t *it;
    int first = 1;

    /* "usage: mlptrain X", and "       mlptrain Y", wrapped under X */
    while (*u != '\0') {
        size_t n = strcspn(u, "\n");
        char line[512];

        snprintf(line, sizeof(line), "%.*s", (int)n, u);
        if (line[0] == ' ') /* the line above, continued */
            fprintf(f, "%*s%s\n", 16, "", line);
        else {
            fprintf(f, "%s mlptrain ", first ? "usage:" : "      ");
            mlp_cli_wrap(f, 16, 16, line);
        }
        first = 0;
        u += n + (u[n] == '\n');
    }
    if (c->about != NULL)
        mlp_cli_wrap(f, 0, 0, c->about);
    if (mlp_cli_iter_open(c, 0, &it) < 0)
        return;
    fputc('\n', f);
    while ((in = mlp_cli_iter_next(it)) != NULL) {
        if (in->section != NULL &&
            (section == NULL || strcmp(section, in->section) != 0))
            fprintf(f, "%s:\n", section = in->section);
        usage_line(f, in);
    }
    mlp_cli_iter_close(it);
    values_text(c, f);
    if (c->epilogue != NULL) {
        fputc('\n', f);
        c->epilogue(f);
    }
    fprintf(f, "\nExit status:\n  0    ");
    mlp_cli_wrap(f, 7, 7, c->exit_ok != NULL ? c->exit_ok : "success");
    fprintf(f, "  1    ");
    mlp_cli_wrap(f, 7, 7, c->exit_error);
    fputs("  2    bad usage\n", f);
    if (c->exit_lines & MLP_EXIT_LINE_DIVERGED)
        fputs("  3    training diverged\n", f);
    if (c->exit_lines & MLP_EXIT_LINE_INTERRUPTED)
        fputs("  130  interrupted (SIGINT or SIGTERM)\n", f);
}
