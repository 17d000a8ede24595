/*
 * cli: getopt_long over argv into an mlp_config_t (see cli.h), with the
 * getopt table, the short-option string and --help generated from the
 * option table (options.h).
 *
 * Non-goals: running anything; printing anything but usage and version.
 */
#include <errno.h>
#include <float.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "git-version.h"
#include "mlptrain/cli.h"
#include "mlptrain/error.h"

/* Options beyond the run options: commands of their own. */
#define OPT_BASE 256 /* getopt_long's val of table entry i: OPT_BASE + i */

/*
 * getopt_long's table and short-option string from mlp_options[] (plus
 * --help and --version), in table order so that an abbreviation resolves
 * as the table lists them.  Built into caller storage: no statics.
 */
typedef struct {
    struct option longs[2 * 64 + 3]; /* <= 64 options (given bits), an
                                        alias each, help, version, end */
    char shorts[2 * 64 + 8];
} getopt_table_t;

static int val_of(size_t i)
{
    return mlp_options[i].letter != 0 ? mlp_options[i].letter
                                      : OPT_BASE + (int)i;
}

static void build_getopt(getopt_table_t *t)
{
    size_t n = 0, s = 0;

    t->shorts[s++] = ':';
    for (size_t i = 0; i < mlp_noptions; i++) {
        const mlp_option_t *o = &mlp_options[i];
        int has = o->type == MLP_OPT_FLAG ? no_argument : required_argument;

        t->longs[n++] = (struct option){o->name, has, NULL, val_of(i)};
        if (o->alias != NULL)
            t->longs[n++] = (struct option){o->alias, has, NULL, val_of(i)};
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

/* "  -b, --batch N          " then `text` wrapped at 80 columns. */
static void usage_line(FILE *f, int letter, const char *name,
                       const char *metavar, const char *text)
{
    enum { COL = 25, WIDTH = 80 };
    char left[64];
    int len, col;

    if (letter != 0)
        len = snprintf(left, sizeof(left), "  -%c, --%s%s%s", letter, name,
                       metavar != NULL ? " " : "",
                       metavar != NULL ? metavar : "");
    else
        len = snprintf(left, sizeof(left), "      --%s%s%s", name,
                       metavar != NULL ? " " : "",
                       metavar != NULL ? metavar : "");
    fputs(left, f);
    col = len;
    if (col > COL - 2) {
        fputc('\n', f);
        col = 0;
    }
    fprintf(f, "%*s", COL - col, "");
    col = COL;
    while (*text != '\0') {
        size_t w = strcspn(text, " ");

        if (col > COL && col + 1 + (int)w > WIDTH) {
            fprintf(f, "\n%*s", COL, "");
            col = COL;
        } else if (col > COL) {
            fputc(' ', f);
            col++;
        }
        fwrite(text, 1, w, f);
        col += (int)w;
        text += w;
        while (*text == ' ')
            text++;
    }
    fputc('\n', f);
}

void mlp_cli_usage(FILE *f)
{
    const char *section = NULL;
    mlp_config_t *def = malloc(sizeof(*def));

    fputs("usage: mlptrain [train] [OPTIONS]\n"
          "Train a multilayer perceptron on an IDX image dataset "
          "(Fashion-MNIST).\n\n", f);
    if (def != NULL)
        mlp_config_defaults(def);
    for (size_t i = 0; i < mlp_noptions; i++) {
        const mlp_option_t *o = &mlp_options[i];
        char value[MLP_PATH_MAX], shown[MLP_PATH_MAX];
        char text[MLP_PATH_MAX + 1024];
        char range[64], rules[512];

        if (section == NULL || strcmp(section, o->section) != 0)
            fprintf(f, "%s:\n", section = o->section);
        value[0] = '\0';
        if (def != NULL)
            mlp_options_format(o, def, 0, value, sizeof(value));
        if (o->shown == NULL)
            snprintf(shown, sizeof(shown), "%s", value);
        else if (strstr(o->shown, "%s") != NULL)
            snprintf(shown, sizeof(shown), "%.*s%s%s",
                     (int)(strstr(o->shown, "%s") - o->shown), o->shown,
                     value, strstr(o->shown, "%s") + 2);
        else
            snprintf(shown, sizeof(shown), "%s", o->shown);
        mlp_options_range(o, range, sizeof(range));
        mlp_options_rules_text(o, rules, sizeof(rules));
        snprintf(text, sizeof(text), "%s%s%s%s%s%s%s%s", o->help,
                 range[0] != '\0' ? "; " : "", range,
                 rules[0] != '\0' ? "; " : "", rules,
                 shown[0] != '\0' ? " [" : "", shown,
                 shown[0] != '\0' ? "]" : "");
        usage_line(f, o->letter, o->name, o->metavar, text);
    }
    free(def);
    usage_line(f, 'h', "help", NULL, "show this help");
    usage_line(f, 'V', "version", NULL, "show versions");
    fprintf(f, "\nValues: FILE, DIR: 1..%d bytes; COL: 0..%d bytes; N, K, M: "
            "digits only;\nX, P, E, G: a plain decimal that a float holds "
            "(magnitude 1e-45..3.4e38).\nAn option that does not apply "
            "(its 'needs' above) is bad usage.\n",
            MLP_PATH_MAX - 1, MLP_PATH_MAX - 1);
    mlp_cli_exit_status(f, NULL, "error (data, memory, oneDNN, I/O)",
                        MLP_EXIT_LINE_DIVERGED | MLP_EXIT_LINE_INTERRUPTED);
}

void mlp_cli_exit_status(FILE *f, const char *ok, const char *error,
                         unsigned extra)
{
    fprintf(f, "\nExit status:\n  0    %s\n  1    %s\n  2    bad usage\n",
            ok != NULL ? ok : "success", error);
    if (extra & MLP_EXIT_LINE_DIVERGED)
        fputs("  3    training diverged\n", f);
    if (extra & MLP_EXIT_LINE_INTERRUPTED)
        fputs("  130  interrupted (SIGINT or SIGTERM)\n", f);
}

int mlp_cli_parse_uint(const char *opt, const char *arg,
                       unsigned long long lo, unsigned long long hi,
                       unsigned long long *out)
{
    char *end;
    unsigned long long v;

    if (arg[0] < '0' || arg[0] > '9')
        goto bad;
    errno = 0;
    v = strtoull(arg, &end, 10);
    if (*end != '\0')
        goto bad;
    if (errno == ERANGE || v < lo || v > hi)
        return mlp_error_set(MLP_EUSAGE,
                             "option '%s': '%s' is out of range (%llu..%llu)",
                             opt, arg, lo, hi);
    *out = v;
    return 0;
bad:
    return mlp_error_set(MLP_EUSAGE,
                         "option '%s': '%s' is not a whole number >= 0", opt,
                         arg);
}

int mlp_cli_parse_float(const char *opt, const char *arg, float *out)
{
    const char *p = arg;
    char *end;
    size_t digits = 0;
    double v;

    /* [-]digits[.digits] or [-].digits, then [e[+-]digits]: no space, no
     * hex, no inf or nan, no '+' (as for whole numbers) */
    if (*p == '-')
        p++;
    for (; *p >= '0' && *p <= '9'; p++)
        digits++;
    if (*p == '.')
        for (p++; *p >= '0' && *p <= '9'; p++)
            digits++;
    if (digits == 0)
        goto bad;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (*p < '0' || *p > '9')
            goto bad;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (*p != '\0')
        goto bad;
    errno = 0;
    v = strtod(arg, &end);
    if (*end != '\0')
        goto bad;
    /* A value a float cannot hold: too large (it would be inf), or so
     * small it would be 0 */
    if (!isfinite(v) || fabs(v) > FLT_MAX ||
        (v != 0.0 && (float)v == 0.0f))
        return mlp_error_set(MLP_EUSAGE,
                             "option '%s': '%s' is out of range for a float "
                             "(magnitude 1e-45..3.4e38)",
                             opt, arg);
    *out = (float)v;
    return 0;
bad:
    return mlp_error_set(MLP_EUSAGE,
                         "option '%s': '%s' is not a number", opt,
                         arg);
}

int mlp_cli_parse_hidden(const char *arg, size_t *hidden, size_t *nhidden)
{
    const char *p = arg;
    size_t n = 0;

    if (arg[0] == '\0' || strcmp(arg, "none") == 0) {
        *nhidden = 0;
        return 0;
    }
    for (;;) {
        char *end;
        unsigned long long v;

        if (*p < '0' || *p > '9')
            return mlp_error_set(MLP_EUSAGE,
                                 "option '--hidden': '%s': expected a list of "
                                 "widths such as 512,256",
                                 arg);
        errno = 0;
        v = strtoull(p, &end, 10);
        if (errno == ERANGE || v == 0 || v > MLP_MAX_WIDTH)
            return mlp_error_set(MLP_EUSAGE,
                                 "option '--hidden': '%s': widths must be "
                                 "1..%zu",
                                 arg, MLP_MAX_WIDTH);
        if (n == MLP_MAX_HIDDEN)
            return mlp_error_set(MLP_EUSAGE,
                                 "option '--hidden': '%s': at most %d layers",
                                 arg, MLP_MAX_HIDDEN);
        hidden[n++] = (size_t)v;
        if (*end == '\0')
            break;
        if (*end != ',' && *end != ':')
            return mlp_error_set(MLP_EUSAGE,
                                 "option '--hidden': '%s': expected a list of "
                                 "widths such as 512,256",
                                 arg);
        p = end + 1;
    }
    *nhidden = n;
    return 0;
}

int mlp_cli_parse_augment(const char *opt, const char *arg,
                          mlp_augment_t *out)
{
    mlp_augment_t a = {0, 0};
    const char *p = arg;

    if (strcmp(arg, "none") == 0) {
        *out = a;
        return 0;
    }
    while (*p != '\0') {
        size_t n = strcspn(p, ",+");
        unsigned long long v;
        char num[32];
        int rc;

        if (n == 4 && strncmp(p, "flip", 4) == 0) {
            a.flip = 1;
        } else if (n > 6 && n - 6 < sizeof(num) &&
                   strncmp(p, "shift=", 6) == 0) {
            memcpy(num, p + 6, n - 6);
            num[n - 6] = '\0';
            if ((rc = mlp_cli_parse_uint(opt, num, 0, MLP_AUGMENT_MAX_SHIFT,
                                         &v)) < 0)
                return rc;
            a.shift = (unsigned)v;
        } else {
            return mlp_error_set(MLP_EUSAGE, "option '%s': '%s': expected "
                                 "shift=K (0..%d), flip, both separated by "
                                 "a comma, or none",
                                 opt, arg, MLP_AUGMENT_MAX_SHIFT);
        }
        p += n;
        if ((*p == ',' || *p == '+') && *++p == '\0')
            return mlp_error_set(MLP_EUSAGE, "option '%s': '%s': trailing "
                                 "comma", opt, arg);
    }
    if (p == arg)
        return mlp_error_set(MLP_EUSAGE, "option '%s': empty value (none "
                             "turns augmentation off)", opt);
    *out = a;
    return 0;
}

int mlp_cli_set_option(const mlp_option_t *o, mlp_config_t *cfg,
                        const char *arg)
{
    char opt[64], buf[96];
    unsigned long long v = 0;
    const char *why;
    float f;
    int rc;

    snprintf(opt, sizeof(opt), "--%s", o->name);
    switch (o->type) {
    case MLP_OPT_FLAG: /* no value on the command line; 0/1 in a grid */
        if (arg == NULL || strcmp(arg, "1") == 0 || strcmp(arg, "on") == 0)
            *(int *)mlp_options_field(o, cfg) = 1;
        else if (strcmp(arg, "0") == 0 || strcmp(arg, "off") == 0)
            *(int *)mlp_options_field(o, cfg) = 0;
        else
            return mlp_error_set(MLP_EUSAGE, "option '%s': '%s': expected "
                                 "0, 1, on or off", opt, arg);
        return 0;
    case MLP_OPT_HIDDEN:
        return mlp_cli_parse_hidden(arg, cfg->hidden, &cfg->nhidden);
    case MLP_OPT_ENUM: {
        char names[256];
        size_t off = 0;

        if ((rc = mlp_options_enum_parse(o, arg)) >= 0) {
            *(int *)mlp_options_field(o, cfg) = rc;
            return 0;
        }
        names[0] = '\0';
        for (size_t i = 0; o->names[i] != NULL && off < sizeof(names); i++)
            off += (size_t)snprintf(names + off, sizeof(names) - off, "%s%s",
                                    i ? ", " : "", o->names[i]);
        return mlp_error_set(MLP_EUSAGE, "option '%s': unknown value '%s' "
                             "(%s)", opt, arg, names);
    }
    case MLP_OPT_AUGMENT:
        return mlp_cli_parse_augment(opt, arg,
                                     mlp_options_field(o, cfg));
    case MLP_OPT_PATH:
    case MLP_OPT_STRING: {
        size_t n = strnlen(arg, MLP_PATH_MAX);

        if (n >= MLP_PATH_MAX)
            return mlp_error_set(MLP_EUSAGE,
                                 "option '%s': a value of %zu bytes; at most "
                                 "%d", opt, strlen(arg), MLP_PATH_MAX - 1);
        if (n == 0 && o->type == MLP_OPT_PATH)
            return mlp_error_set(MLP_EUSAGE,
                                 "option '%s': an empty %s name", opt,
                                 strcmp(o->metavar, "DIR") == 0 ? "directory"
                                                                : "file");
        memcpy(mlp_options_field(o, cfg), arg, n + 1);
        return 0;
    }
    case MLP_OPT_FLOAT:
        if ((o->flags & MLP_OPT_OFF) && strcmp(arg, "off") == 0) {
            *(float *)mlp_options_field(o, cfg) = -1.0f;
            return 0;
        }
        if ((o->flags & MLP_OPT_OFF) && strcmp(arg, "auto") == 0) {
            *(float *)mlp_options_field(o, cfg) = 0.0f;
            return 0;
        }
        if ((rc = mlp_cli_parse_float(opt, arg, &f)) < 0)
            return rc;
        /* an OFF option's 0 is its default (automatic), -1 its "off":
         * neither is a value to give */
        why = (o->flags & MLP_OPT_OFF) && !(f > 0.0f)
                  ? "must be > 0 or off"
                  : mlp_options_check(o, f, 0, buf, sizeof(buf));
        if (why != NULL)
            return mlp_error_set(MLP_EUSAGE, "option '%s': '%s' %s", opt, arg,
                                 why);
        *(float *)mlp_options_field(o, cfg) = f;
        return 0;
    default:
        /* the formatter's words for 0 read back (a checkpoint's text) */
        if (!((o->flags & MLP_OPT_ZERO_ALL) && strcmp(arg, "all") == 0) &&
            !((o->flags & MLP_OPT_ZERO_AUTO) && strcmp(arg, "auto") == 0) &&
            (rc = mlp_cli_parse_uint(opt, arg, o->lo, o->hi, &v)) < 0)
            return rc;
        switch (o->type) {
        case MLP_OPT_UINT: *(unsigned *)mlp_options_field(o, cfg) = (unsigned)v;
            break;
        case MLP_OPT_INT: *(int *)mlp_options_field(o, cfg) = (int)v; break;
        case MLP_OPT_SIZE: *(size_t *)mlp_options_field(o, cfg) = (size_t)v;
            break;
        default: *(uint64_t *)mlp_options_field(o, cfg) = (uint64_t)v; break;
        }
        return 0;
    }
}

int mlp_cli_parse(int argc, char **argv, mlp_cmd_t *cmd, mlp_config_t *cfg)
{
    getopt_table_t t;
    int c, rc;

    *cmd = MLP_CMD_TRAIN;
    if (argc > 1 && argv[1][0] != '-') {
        if (strcmp(argv[1], "train") != 0)
            return mlp_error_set(MLP_EUSAGE, "unknown command '%s'", argv[1]);
        argc--;
        argv++;
    }
    build_getopt(&t);
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, t.shorts, t.longs, NULL)) != -1) {
        const mlp_option_t *o = NULL;

        if (c == 'h' || c == 'V') {
            *cmd = c == 'h' ? MLP_CMD_HELP : MLP_CMD_VERSION;
            return 0;
        }
        for (size_t i = 0; i < mlp_noptions && o == NULL; i++)
            if (val_of(i) == c)
                o = &mlp_options[i];
        if (o == NULL)
            return mlp_cli_bad_option(c, argv, t.longs, NULL);
        if ((rc = mlp_cli_set_option(o, cfg, optarg)) < 0)
            return rc;
        cfg->given |= mlp_options_bit(o);
    }
    if (optind < argc)
        return mlp_error_set(MLP_EUSAGE, "unexpected argument '%s'",
                             argv[optind]);
    /* The checkpoint does not record the run's target: say it again. */
    if (cfg->resume_path[0] != '\0' && !mlp_options_given(cfg, "epochs"))
        return mlp_error_set(MLP_EUSAGE,
                             "option '--resume' needs '--epochs N', the "
                             "total number of epochs to reach");
    mlp_config_resolve(cfg);
    if (mlp_config_validate(cfg) < 0)
        return MLP_EUSAGE;
    return 0;
}

void mlp_cli_version(FILE *f)
{
    fprintf(f, "mlptrain %s (git %s)\noneDNN %s, ISA %s\n%s\n",
            PACKAGE_VERSION, MLP_GIT_HASH, mlp_net_dnnl_version(),
            mlp_net_isa(), MLP_CC_VERSION);
}

int mlp_cli_bad_option(int c, char **argv, const struct option *opts,
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
            return mlp_error_set(MLP_EUSAGE, "option '-%c' needs a value%s",
                                 optopt, note);
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
                             "it could be %s%s", (int)len, name, list, note);
    if (nmatch == 1 && c == ':')
        return mlp_error_set(MLP_EUSAGE, "option '--%s' needs a value%s",
                             match->name, note);
    if (nmatch == 1 && eq != NULL && match->has_arg == no_argument)
        return mlp_error_set(MLP_EUSAGE, "option '--%s' takes no value%s",
                             match->name, note);
    return mlp_error_set(MLP_EUSAGE, "unknown option '--%.*s'%s", (int)len,
                         name, note);
}
