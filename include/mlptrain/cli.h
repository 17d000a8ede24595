/*
 * cli: the command line -> a command and a config.
 *
 * `mlptrain [COMMAND] [OPTIONS]`; COMMAND defaults to `train`.  Long and
 * short options with getopt_long; numbers are parsed strictly (the whole
 * argument, in range, no sign where none makes sense, one rule for whole
 * numbers and one for reals: mlp_cli_parse_uint, mlp_cli_parse_float).
 *
 * Errors: MLP_EUSAGE with a one-line message naming the option and the
 * value ("option '--lr': 'abc' is not a number"); main prints it and exits 2.
 * Not thread-safe (getopt's globals).
 */
#ifndef MLPTRAIN_CLI_H
#define MLPTRAIN_CLI_H

#include <stdio.h>

#include "mlptrain/options.h"

typedef enum {
    MLP_CMD_TRAIN = 0,
    MLP_CMD_HELP,
    MLP_CMD_VERSION,
} mlp_cmd_t;

/* Parse argv into *cmd and *cfg (which starts from mlp_config_defaults):
 * every option of the table in options.h, its given bit set, then
 * mlp_config_validate (the ranges and the rules between options; with
 * --resume, those that read the checkpoint's options wait for the
 * trainer).  --resume needs --epochs. */
int mlp_cli_parse(int argc, char **argv, mlp_cmd_t *cmd, mlp_config_t *cfg);

/*
 * Strict whole-number option value: digits only (no sign, no space), in
 * [lo, hi].  MLP_EUSAGE naming `opt` and the value otherwise.  Every
 * command parses its counts with it.
 */
int mlp_cli_parse_uint(const char *opt, const char *arg,
                       unsigned long long lo, unsigned long long hi,
                       unsigned long long *out);

/*
 * The float twin of mlp_cli_parse_uint, the one rule for every real-valued
 * option: a plain decimal ([-]digits[.digits][e[+-]digits]; no space, no
 * '+', no hex such as 0x1p-3, no inf or nan) that a float holds: a value
 * that would overflow to inf (1e39) or round to 0 (1e-50) is out of
 * range.  MLP_EUSAGE naming `opt` and the value otherwise.
 */
int mlp_cli_parse_float(const char *opt, const char *arg, float *out);

/*
 * Parse and check one option's value `arg` into its field of cfg (a flag
 * takes NULL for 1, or 0/1/on/off, as in a sweep grid) with the rules
 * above and the table's range: MLP_EUSAGE naming the option ("option
 * '--lr': '0' must be > 0"; a FILE or DIR of 1..MLP_PATH_MAX - 1 bytes, a
 * STRING of 0..MLP_PATH_MAX - 1).  Does not set the given bit, and checks
 * no rule between options (mlp_config_check_rules does, once all are
 * set).
 */
int mlp_cli_set_option(const mlp_option_t *o, mlp_config_t *cfg,
                       const char *arg);

/* The last entries of every command's getopt_long table: --help,
 * --version and the terminator. */
#define MLP_CLI_STD_OPTIONS                                                  \
    {"help", no_argument, NULL, 'h'}, {"version", no_argument, NULL, 'V'},  \
    {NULL, 0, NULL, 0}

/* Extra lines of an "Exit status" section (mlp_cli_exit_status). */
enum {
    MLP_EXIT_LINE_DIVERGED = 1u << 0,    /* 3    training diverged */
    MLP_EXIT_LINE_INTERRUPTED = 1u << 1, /* 130  interrupted */
};

/*
 * The end of a command's --help: a blank line and "Exit status:" with
 * "0    OK" ("success" when ok is NULL), "1    ERROR", "2    bad usage"
 * and the lines of `extra` (MLP_EXIT_LINE_*).  ok and error may hold
 * "\n       " continuations.
 */
void mlp_cli_exit_status(FILE *f, const char *ok, const char *error,
                         unsigned extra);

/* Parse --augment's value: "shift=K", "flip", "shift=K,flip" (either
 * order; '+' separates as well as ',', for a sweep grid, whose values are
 * separated by commas: augment=none,shift=2+flip), or "none"; K in
 * 0..MLP_AUGMENT_MAX_SHIFT. */
int mlp_cli_parse_augment(const char *opt, const char *arg,
                          mlp_augment_t *out);

/* Parse a list of hidden widths: "256", "512,256", "1024:512", "" or "none". */
int mlp_cli_parse_hidden(const char *arg, size_t *hidden, size_t *nhidden);

struct option;

/*
 * The message of an option getopt_long refused (it returned '?' or ':';
 * call it right then, with the argv and table given to getopt_long):
 * "unknown option '--x'", "option '--s' is ambiguous: it could be --save,
 * --seed", "option '--log' needs a value", "option '--help' takes no
 * value"; `note` (may be NULL) is appended.  Returns MLP_EUSAGE.
 */
int mlp_cli_bad_option(int c, char **argv, const struct option *opts,
                       const char *note);

/* The --help text, with every default, from the option table. */
void mlp_cli_usage(FILE *f);

/* The --version text: version, git hash, oneDNN version and ISA. */
void mlp_cli_version(FILE *f);

#endif
