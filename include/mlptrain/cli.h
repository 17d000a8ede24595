/*
 * cli: a command's command line, generated from its table of options.
 *
 * Every command (commands.h) declares its command line as an
 * mlp_command_t: its options in --help order (entries of options.h: the
 * run options it shares with train, declared once in mlp_options[], and
 * its own, whose fields are in the command's own struct), its rules
 * between options (mlp_rule_t, beside the table; the run options' rules
 * apply by themselves wherever both of their options are the command's),
 * its usage lines, what it does, and its exit statuses.  Generated from
 * that, for every command alike (git's parse-options is the model):
 *   - getopt_long's table and short-option string (the only getopt call
 *     of the program is here), -h/--help and -V/--version;
 *   - parsing (mlp_options_parse: strict numbers, ranges, names, paths),
 *     the defaults, the given bits, the rules (mlp_rules_check, one
 *     checker), with MLP_EUSAGE messages naming the option;
 *   - --help: every option with its range, its rules and its default, in
 *     lines of at most 80 columns wrapped by the one wrapper (mlp_cli_wrap);
 *   - the description of every option for generators (doc/options.md's option
 *     reference and Limits tables, a man page, completion): mlp_cli_iter.
 *
 * Shared options that are not run options (--model, --class-names,
 * --json, -o/--png) are declared once as constructor macros below, each
 * command passing its own field.
 *
 * Errors: MLP_EUSAGE with a one-line message naming the option and the
 * value ("option '--lr': 'abc' is not a number"); main prints it and exits
 * 2.  Not thread-safe (getopt's globals).
 */
#ifndef MLPTRAIN_CLI_H
#define MLPTRAIN_CLI_H

#include <stddef.h>
#include <stdio.h>

#include "mlptrain/options.h"

/* The most options one command has (its own given bits), --help and
 * --version not counted. */
#define MLP_CLI_MAX_OPTIONS 64

/* An option as a command lists it: the entry, and what this command says
 * differently about it (NULL: the entry's). */
typedef struct {
    const mlp_option_t *opt;
    const char *help;
    const char *shown;       /* the default shown: the model's, ... */
    const char *section;
} mlp_cli_opt_t;

typedef struct mlp_cli mlp_cli_t;

/* Extra lines of an "Exit status" section. */
enum {
    MLP_EXIT_LINE_DIVERGED = 1u << 0,    /* 3    training diverged */
    MLP_EXIT_LINE_INTERRUPTED = 1u << 1, /* 130  interrupted */
};

typedef struct mlp_command {
    const char *name;         /* "eval" */
    const char *summary;      /* one line for `mlptrain help` */
    int (*run)(int argc, char **argv, FILE *out); /* argv[0]: the name */
    /* The data directory the last run used, for main's hint on a data
     * error (NULL: no hint); may itself be NULL. */
    const char *(*data_dir)(void);
    /* its command line */
    const char *usage;        /* after "usage: mlptrain ", lines split by
                                 '\n'; a line that starts with a space
                                 continues the one above */
    const char *about;        /* what it does (wrapped; '\n' breaks) */
    int run_options;          /* every run option first (train) */
    const mlp_cli_opt_t *options; /* the others, ended by {NULL} */
    const mlp_rule_t *rules;  /* its own rules */
    size_t nrules;
    size_t own_size;          /* its own options' struct; 0: none */
    const char *operands;     /* operands it takes ("LOG.jsonl..."), NULL:
                                 none */
    int dashdash;             /* what follows "--" is the command's (and
                                 options end at the first operand) */
    const char *hint;         /* appended to an unknown option's and an
                                 unexpected argument's message */
    int (*resolve)(mlp_cli_t *cl); /* defaults that depend on other
                                 options, before the rules; NULL */
    void (*own_free)(void *own); /* frees what parsing put in the own
                                 struct (a callback's); NULL: nothing */
    void (*epilogue)(FILE *f); /* --help's text after the options */
    const char *exit_ok;      /* NULL: "success" */
    const char *exit_error;   /* what exit 1 means */
    unsigned exit_lines;      /* MLP_EXIT_LINE_* */
} mlp_command_t;

/* A command line parsed by a command's table. */
struct mlp_cli {
    const mlp_command_t *cmd;
    mlp_config_t *cfg;        /* the run options; NULL: none */
    void *own;                /* the command's own options */
    const mlp_option_t *opts[MLP_CLI_MAX_OPTIONS + 1]; /* every option
                                 of the command, in order, NULL-ended */
    size_t nopts;
    uint64_t given;           /* bit i: opts[i] given */
    char **args;              /* the operands */
    int nargs;
    char **rest;              /* after "--" (dashdash); NULL: no "--" */
    int nrest;
};

/*
 * Parse argv (argv[0] is the command's name) for command c: *cfg (the run
 * options, when c has any; cfg may be NULL otherwise) and *own (c's own
 * struct, own_size bytes) start from their defaults; every option given
 * is parsed into its field and its given bit set (cfg->given too); then
 * c->resolve, then every rule (the run options' that apply, then c's).
 * --help and --version print to out (nothing when out is NULL) and return
 * 1.  0 when parsed; MLP_EUSAGE naming the option or the argument.  In
 * every case the caller ends with c->own_free(own) when it is not NULL.
 */
int mlp_cli_parse(const mlp_command_t *c, int argc, char **argv, FILE *out,
                  mlp_config_t *cfg, void *own, mlp_cli_t *cl);

/* The same in two steps: the values (everything but the rules), then
 * the rules on them: for a caller with checks of its own to make first
 * (the sweep refuses the training options it sets itself). */
int mlp_cli_parse_values(const mlp_command_t *c, int argc, char **argv,
                         FILE *out, mlp_config_t *cfg, void *own,
                         mlp_cli_t *cl);
int mlp_cli_check(const mlp_cli_t *cl);

/* Was o (one of cl's command's options) given? */
int mlp_cli_given(const mlp_cli_t *cl, const mlp_option_t *o);

/* c's --help: generated from its table (see the top). */
void mlp_cli_usage(const mlp_command_t *c, FILE *f);

/* The --version text: version, git hash, oneDNN version and ISA. */
void mlp_cli_version(FILE *f);

/*
 * The one wrapper of --help's text: `text` from column `col` (already
 * written on the line), words wrapped so that no line exceeds 80 columns,
 * continuation lines indented by `indent`; a '\n' in text breaks the line
 * there.  Ends with a newline.
 */
void mlp_cli_wrap(FILE *f, int indent, int col, const char *text);

/* ---- the tables, for generators (doc/options.md, man page, completion) */

/* What an option's value is. */
typedef enum {
    MLP_VALUE_NONE,   /* a flag: no value */
    MLP_VALUE_NUMBER, /* whole or real; its range in `range` */
    MLP_VALUE_NAME,   /* one of `names` */
    MLP_VALUE_FILE,   /* a file name */
    MLP_VALUE_DIR,    /* a directory name */
    MLP_VALUE_TEXT,   /* anything else: a list, a column, a spec */
} mlp_value_kind_t;

typedef struct {
    const mlp_option_t *opt;  /* the table's entry */
    const char *name;         /* long name */
    const char *alias;        /* another long name, NULL */
    int letter;               /* short letter, 0: none */
    const char *metavar;      /* NULL: a flag */
    const char *section;      /* this command's heading, NULL: none */
    const char *help;         /* this command's text of it */
    mlp_value_kind_t kind;
    const char *const *names; /* NAME: the values, NULL-terminated */
    char shown[MLP_PATH_MAX]; /* the default as --help shows it, "" */
    char range[96];           /* "N in 1..1024", "" */
    char rules[1024];         /* "needs --optimizer adam or adamw", "" */
} mlp_cli_info_t;

typedef struct mlp_cli_iter mlp_cli_iter_t;

/* Walk command c's options in --help order, -h/--help and -V/--version
 * last: open (MLP_ENOMEM), next (NULL at the end; the info lives until
 * the next call), close (NULL is a no-op).  With MLP_CLI_DOC, the
 * defaults as a document says them: a default the machine sets (its
 * `shown` has "%s": -t's cores) without this machine's value. */
enum { MLP_CLI_DOC = 1u << 0 };
int mlp_cli_iter_open(const mlp_command_t *c, unsigned flags,
                      mlp_cli_iter_t **it);
const mlp_cli_info_t *mlp_cli_iter_next(mlp_cli_iter_t *it);
void mlp_cli_iter_close(mlp_cli_iter_t *it);

/* ---- shared options that are not run options ------------------------ */

/* An entry of a command's option list: MLP_CLI_USE(&opt_model); the list
 * ends with MLP_CLI_USE(NULL). */
#define MLP_CLI_USE(o) {.opt = (o)}

/* An own option's field: member F of the command's own struct T. */
#define MLP_CLI_FIELD(T, F) .place = MLP_IN_CMD, .offset = offsetof(T, F)

/* A command's rules, an array: .rules and .nrules of an mlp_command_t. */
#define MLP_CLI_RULES(r) .rules = (r), .nrules = sizeof(r) / sizeof((r)[0])

/* --model FILE: a saved model (its command makes it required). */
#define MLP_CLI_MODEL(T, F)                                                  \
    {.name = "model", .section = "Model", .type = MLP_OPT_PATH,              \
     MLP_CLI_FIELD(T, F), .metavar = "FILE", .shown = "",                    \
     .help = "checkpoint written by 'mlptrain --save'", .sample = "m.ckpt"}

/* --class-names LIST: the names of the model's classes. */
#define MLP_CLI_CLASS_NAMES(T, F, SHOWN)                                     \
    {.name = "class-names", .section = "Model", .type = MLP_OPT_TEXT,        \
     MLP_CLI_FIELD(T, F), .metavar = "LIST", .shown = SHOWN,                 \
     .help = "comma-separated names, one per class", .sample = "a,b,c"}

/* --json: one JSON object on stdout instead of text. */
#define MLP_CLI_JSON(T, F, HELP)                                             \
    {.name = "json", .section = "Output", .type = MLP_OPT_FLAG,              \
     MLP_CLI_FIELD(T, F), .help = HELP, .shown = "off"}

/* -o, --png FILE: a picture (.png or .svg). */
#define MLP_CLI_PNG(T, F, HELP)                                              \
    {.name = "png", .letter = 'o', .section = "Output",                      \
     .type = MLP_OPT_PATH, MLP_CLI_FIELD(T, F), .metavar = "FILE",           \
     .help = HELP, .shown = "none", .sample = "p.png"}

#endif
