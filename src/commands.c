/*
 * commands: the table of subcommands (see commands.h).  A new command adds
 * one line here and its module; main.c needs no change.
 */
#include <stddef.h>

#include "mlptrain/commands.h"

const mlp_command_t mlp_commands[] = {
    {NULL, NULL, NULL},
};
