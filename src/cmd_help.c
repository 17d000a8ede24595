/*
 * cmd_help: `mlptrain help [COMMAND]` (the commands, or COMMAND's
 * --help) and `mlptrain version` (the --version text).
 */
#include <string.h>

#include "mlptrain/cli.h"
#include "mlptrain/commands.h"
#include "mlptrain/error.h"

const mlp_command_t mlp_command_help = {
    .name = "help", .run = mlp_cmd_help,
    .summary = "list the commands, or show a command's options",
    .usage = "help [COMMAND]",
    .about = "Without COMMAND, list the commands; with it, print its "
             "options, as 'mlptrain COMMAND --help' does.",
    .operands = "[COMMAND]",
    .exit_error = "error (standard output)",
};

const mlp_command_t mlp_command_version = {
    .name = "version", .run = mlp_cmd_version,
    .summary = "the versions of mlptrain, oneDNN and the compiler, the ISA",
    .usage = "version",
    .about = "Print what every command's --version prints.",
    .exit_error = "error (standard output)",
};

/* The commands, one line each. */
static void list_commands(FILE *out)
{
    fputs("usage: mlptrain [COMMAND] [OPTIONS]\n"
          "A trainer of multilayer perceptrons on the CPU.  COMMAND is "
          "train when\nomitted.\n\nCommands:\n", out);
    for (size_t i = 0; mlp_commands[i] != NULL; i++)
        fprintf(out, "  %-12s %s\n", mlp_commands[i]->name,
                mlp_commands[i]->summary);
    fputs("\nEach command's options: 'mlptrain COMMAND --help' or "
          "'mlptrain help COMMAND'.\n", out);
}

int mlp_cmd_help(int argc, char **argv, FILE *out)
{
    const mlp_command_t *c;
    mlp_cli_t cl;
    int rc;

    if ((rc = mlp_cli_parse(&mlp_command_help, argc, argv, out, NULL, NULL,
                            &cl)) != 0)
        return rc < 0 ? rc : 0;
    if (cl.nargs > 1)
        return mlp_error_set(MLP_EUSAGE, "help: unexpected argument '%s'",
                             cl.args[1]);
    if (cl.nargs == 0) {
        list_commands(out);
        return 0;
    }
    if ((c = mlp_command_find(cl.args[0])) == NULL)
        return mlp_error_set(MLP_EUSAGE, "help: unknown command '%s'",
                             cl.args[0]);
    mlp_cli_usage(c, out);
    return 0;
}

int mlp_cmd_version(int argc, char **argv, FILE *out)
{
    mlp_cli_t cl;
    int rc;

    if ((rc = mlp_cli_parse(&mlp_command_version, argc, argv, out, NULL,
                            NULL, &cl)) != 0)
        return rc < 0 ? rc : 0;
    mlp_cli_version(out);
    return 0;
}
