/*
 * commands: the commands of `mlptrain [COMMAND] [OPTIONS]`, one file each
 * (src/cmd_*.c), thin over the library: a command parses its own options
 * (getopt_long; argv[0] is the command name), calls the library, prints its
 * results to `out` (and its progress and warnings to stderr), and returns 0
 * or a negative status with a message set (mlp_error_set): MLP_EUSAGE for
 * bad options (main exits 2 with a hint), any other for runtime failures.
 * Commands never exit; main.c maps their status to the exit code.
 *
 * train is the first entry of the table and the default: main runs it when
 * the first argument is not another command's name (an option, "train", or
 * nothing), and passes it the whole command line (its parser takes an
 * optional leading "train" and refuses an unknown command word).
 *
 * Adding a command: a src/cmd_NAME.c with mlp_cmd_NAME, its prototype
 * below, one line in the table (commands.c) and the file in Makefile.am.
 */
#ifndef MLPTRAIN_COMMANDS_H
#define MLPTRAIN_COMMANDS_H

#include <stdio.h>

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv, FILE *out);
    const char *summary; /* one line for --help */
    /* The data directory the last run used, for main's hint on a data
     * error (NULL: no hint); may itself be NULL. */
    const char *(*data_dir)(void);
} mlp_command_t;

/* The table (train first, ends with a NULL name), defined in commands.c. */
extern const mlp_command_t mlp_commands[];

int mlp_cmd_train(int argc, char **argv, FILE *out);
const char *mlp_cmd_train_data_dir(void);
int mlp_cmd_sweep(int argc, char **argv, FILE *out);
int mlp_cmd_plot(int argc, char **argv, FILE *out);
int mlp_cmd_activations(int argc, char **argv, FILE *out);
int mlp_cmd_eval(int argc, char **argv, FILE *out);
int mlp_cmd_predict(int argc, char **argv, FILE *out);
int mlp_cmd_export(int argc, char **argv, FILE *out);

#endif
