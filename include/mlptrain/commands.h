/*
 * commands: the commands of `mlptrain [COMMAND] [OPTIONS]`, one file each
 * (src/cmd_*.c), thin over the library: a command declares its command
 * line (an mlp_command_t, cli.h: its options, rules, usage and exit
 * statuses) and parses it with mlp_cli_parse (argv[0] is the command
 * name), calls the library, prints its results to `out` (and its progress
 * and warnings to stderr), and returns 0 or a negative status with a
 * message set (mlp_error_set): MLP_EUSAGE for bad options (main exits 2
 * with a hint), any other for runtime failures.  Commands never exit;
 * main.c maps their status to the exit code.
 *
 * train is the first entry of the table and the default: main runs it when
 * the first argument is not another command's name (an option, "train", or
 * nothing), and passes it the whole command line (it takes an optional
 * leading "train" and refuses an unknown command word).
 *
 * Adding a command: a src/cmd_NAME.c defining mlp_command_NAME (its table
 * and run function), its declaration below, one line in mlp_commands[]
 * (commands.c) and the file in Makefile.am.  Its --help, doc/options.md's
 * option reference and tests/check_cli's walk follow from the table.
 */
#ifndef MLPTRAIN_COMMANDS_H
#define MLPTRAIN_COMMANDS_H

#include <stdio.h>

#include "mlptrain/cli.h"

/* The table: train first, ends with NULL (commands.c). */
extern const mlp_command_t *const mlp_commands[];

/* The command called `name`, NULL if none. */
const mlp_command_t *mlp_command_find(const char *name);

extern const mlp_command_t mlp_command_train;
extern const mlp_command_t mlp_command_sweep;
extern const mlp_command_t mlp_command_plot;
extern const mlp_command_t mlp_command_activations;
extern const mlp_command_t mlp_command_eval;
extern const mlp_command_t mlp_command_predict;
extern const mlp_command_t mlp_command_export;
extern const mlp_command_t mlp_command_help;
extern const mlp_command_t mlp_command_version;

int mlp_cmd_train(int argc, char **argv, FILE *out);
int mlp_cmd_sweep(int argc, char **argv, FILE *out);
int mlp_cmd_plot(int argc, char **argv, FILE *out);
int mlp_cmd_activations(int argc, char **argv, FILE *out);
int mlp_cmd_eval(int argc, char **argv, FILE *out);
int mlp_cmd_predict(int argc, char **argv, FILE *out);
int mlp_cmd_export(int argc, char **argv, FILE *out);
int mlp_cmd_help(int argc, char **argv, FILE *out);
int mlp_cmd_version(int argc, char **argv, FILE *out);

/* The data directory of train's last parsed command line, for main's
 * hint; NULL when none was. */
const char *mlp_cmd_train_data_dir(void);

/*
 * A training command line (argv[0] "mlptrain", an optional "train", then
 * train's options) into *cfg, as `mlptrain train` parses it: 0, 1 when
 * it asks for --help or --version (nothing printed), or MLP_EUSAGE.
 * _values stops before the rules between options: the sweep plans its
 * runs with it (mlp_sweep_opts_t.parse_run) and checks the rules
 * (mlp_config_check_rules) after its own checks.
 */
int mlp_cmd_train_parse(int argc, char **argv, mlp_config_t *cfg);
int mlp_cmd_train_parse_values(int argc, char **argv, mlp_config_t *cfg);

#endif
