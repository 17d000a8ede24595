/*
 * commands: the table of commands (see commands.h).  A new command adds
 * one line here and its src/cmd_*.c; main.c needs no change.
 */
#include <stddef.h>
#include <string.h>

#include "mlptrain/commands.h"

const mlp_command_t *const mlp_commands[] = {
    &mlp_command_train, &mlp_command_sweep, &mlp_command_plot,
    &mlp_command_activations, &mlp_command_eval, &mlp_command_predict,
    &mlp_command_export, &mlp_command_help, &mlp_command_version, NULL,
};

const mlp_command_t *mlp_command_find(const char *name)
{
    for (size_t i = 0; mlp_commands[i] != NULL; i++)
        if (strcmp(mlp_commands[i]->name, name) == 0)
            return mlp_commands[i];
    return NULL;
}
