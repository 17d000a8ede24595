/*
 * main: parse the command line, run the command, turn a status into a
 * message on stderr and an exit code.  The only place that exits.
 *
 * Exit codes: 0 success; 1 a runtime error (data, memory, oneDNN, I/O);
 * 2 bad usage; 3 training diverged.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlptrain/cli.h"
#include "mlptrain/error.h"
#include "mlptrain/trainer.h"

enum { EXIT_USAGE = 2, EXIT_DIVERGED = 3 };

int main(int argc, char **argv)
{
    mlp_config_t cfg;
    mlp_cmd_t cmd;
    int rc;

    mlp_config_defaults(&cfg);
    if (mlp_cli_parse(argc, argv, &cmd, &cfg) < 0) {
        fprintf(stderr, "mlptrain: %s\nhint: see 'mlptrain --help'\n",
                mlp_error_message());
        return EXIT_USAGE;
    }
    switch (cmd) {
    case MLP_CMD_HELP:
        mlp_cli_usage(stdout);
        return EXIT_SUCCESS;
    case MLP_CMD_VERSION:
        mlp_cli_version(stdout);
        return EXIT_SUCCESS;
    case MLP_CMD_TRAIN:
        break;
    }
    rc = mlp_train(&cfg, stdout, NULL);
    if (rc == 0)
        return EXIT_SUCCESS;
    fprintf(stderr, "mlptrain: %s\n", mlp_error_message());
    if ((rc == MLP_EIO || rc == MLP_EFORMAT) &&
        strstr(mlp_error_message(), cfg.data_dir) != NULL)
        fprintf(stderr, "hint: the data directory is '%s'; set it with "
                        "--data DIR or MLPTRAIN_DATA\n",
                cfg.data_dir);
    return rc == MLP_EDIVERGED ? EXIT_DIVERGED : EXIT_FAILURE;
}
