/*
 * commands: the subcommands of `mlptrain COMMAND [OPTIONS]` other than
 * train, each in its own module.  A command parses its own options
 * (getopt_long; argv[0] is the command name), prints its results to `out`,
 * and returns 0 or a negative status with a message set (mlp_error_set):
 * MLP_EUSAGE for bad options (main exits 2 with a hint), any other for
 * runtime failures (exit 1).  Commands never exit.
 */
#ifndef MLPTRAIN_COMMANDS_H
#define MLPTRAIN_COMMANDS_H

#include <stdio.h>

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv, FILE *out);
    const char *summary; /* one line for --help */
} mlp_command_t;

/* The table (ends with a NULL name), defined in commands.c. */
extern const mlp_command_t mlp_commands[];

#endif
