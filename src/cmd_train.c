/*
 * cmd_train: `mlptrain [train] [OPTIONS]`, the default command: parse the
 * training options (cli.h), then train (trainer.h).
 */
#include <string.h>

#include "mlptrain/options.h"
#include "mlptrain/cli.h"
#include "mlptrain/commands.h"
#include "mlptrain/error.h"
#include "mlptrain/trainer.h"

/* The data directory of the last parsed command line, for main's hint. */
static char data_dir[MLP_PATH_MAX];

const char *mlp_cmd_train_data_dir(void)
{
    return data_dir[0] != '\0' ? data_dir : NULL;
}

/* `mlptrain --help`: train's options, then the other commands. */
static void usage_all(FILE *out)
{
    mlp_cli_usage(out);
    fputs("\nOther commands (each with --help, or 'mlptrain help COMMAND'):"
          "\n", out);
    for (const mlp_command_t *c = mlp_commands + 1; c->name != NULL; c++)
        fprintf(out, "  %-12s %s\n", c->name, c->summary);
}

int mlp_cmd_train(int argc, char **argv, FILE *out)
{
    mlp_config_t cfg;
    mlp_cmd_t cmd;
    int rc;

    data_dir[0] = '\0';
    mlp_config_defaults(&cfg);
    if ((rc = mlp_cli_parse(argc, argv, &cmd, &cfg)) < 0)
        return rc;
    switch (cmd) {
    case MLP_CMD_HELP:
        usage_all(out);
        return 0;
    case MLP_CMD_VERSION:
        mlp_cli_version(out);
        return 0;
    case MLP_CMD_TRAIN:
        break;
    }
    memcpy(data_dir, cfg.data_dir, sizeof(data_dir));
    if ((rc = mlp_train_catch_signals()) < 0)
        return rc;
    return mlp_train(&cfg, out, stderr, NULL);
}
