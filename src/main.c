/*
 * main: parse the command line, run the command, turn a status into a
 * message on stderr and an exit code.  The only place that exits.
 *
 * Exit codes: 0 success; 1 a runtime error (data, memory, oneDNN, I/O);
 * 2 bad usage; 3 training diverged; 130 interrupted (SIGINT/SIGTERM).
 *
 * Signals: while training, SIGINT and SIGTERM run a handler that only asks
 * the trainer to stop (mlp_train_catch_signals); the default action comes
 * back as it runs, so a second Ctrl-C kills at once.  The loader's
 * threads block every signal.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlptrain/cli.h"
#include "mlptrain/commands.h"
#include "mlptrain/error.h"
#include "mlptrain/sweep.h"
#include "mlptrain/trainer.h"

enum { EXIT_USAGE = 2, EXIT_DIVERGED = 3, EXIT_INTERRUPTED = 130 };

/* Results that never reached stdout (a full disk, a closed pipe) are a
 * failure, not a silent success. */
static int check_stdout(int code)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "mlptrain: cannot write standard output: %s\n",
                strerror(errno));
        return code == EXIT_SUCCESS ? EXIT_FAILURE : code;
    }
    return code;
}

/* Print the error of a failed command and return its exit code. */
static int fail(int rc, const char *command, const char *data_dir)
{
    fprintf(stderr, "mlptrain: %s\n", mlp_error_message());
    if (rc == MLP_EUSAGE) {
        fprintf(stderr, "hint: see 'mlptrain %s%s--help'\n",
                command != NULL ? command : "", command != NULL ? " " : "");
        return EXIT_USAGE;
    }
    if ((rc == MLP_EIO || rc == MLP_EFORMAT) && data_dir != NULL &&
        strstr(mlp_error_message(), data_dir) != NULL)
        fprintf(stderr, "hint: the data directory is '%s'; set it with "
                        "--data DIR or MLPTRAIN_DATA\n",
                data_dir);
    if (rc == MLP_ENOMEM)
        fprintf(stderr, "hint: a smaller --batch or --hidden needs less "
                        "memory\n");
    if (rc == MLP_EDIVERGED) {
        fprintf(stderr, "hint: try a smaller --lr; the last checkpoint "
                        "(--save) is the last good state\n");
        return EXIT_DIVERGED;
    }
    if (rc == MLP_EINTERRUPTED)
        return EXIT_INTERRUPTED;
    return EXIT_FAILURE;
}

int main(int argc, char **argv)
{
    mlp_config_t cfg;
    mlp_cmd_t cmd;
    int rc;

    /* A sweep's run dies with the sweep (sweep.h). */
    if ((rc = mlp_sweep_child_start()) < 0)
        return fail(rc, NULL, NULL);
    if (argc > 1)
        for (const mlp_command_t *c = mlp_commands; c->name != NULL; c++)
            if (strcmp(argv[1], c->name) == 0) {
                rc = c->run(argc - 1, argv + 1, stdout);
                return rc == 0 ? EXIT_SUCCESS : fail(rc, c->name, NULL);
            }

    mlp_config_defaults(&cfg);
    if ((rc = mlp_cli_parse(argc, argv, &cmd, &cfg)) < 0)
        return fail(rc, NULL, NULL);
    switch (cmd) {
    case MLP_CMD_HELP:
        mlp_cli_usage(stdout);
        fputs("\nOther commands (each with --help):\n", stdout);
        for (const mlp_command_t *c = mlp_commands; c->name != NULL; c++)
            printf("  %-12s %s\n", c->name, c->summary);
        return EXIT_SUCCESS;
    case MLP_CMD_VERSION:
        mlp_cli_version(stdout);
        return EXIT_SUCCESS;
    case MLP_CMD_TRAIN:
        break;
    }
    if ((rc = mlp_train_catch_signals()) == 0)
        rc = mlp_train(&cfg, stdout, NULL);
    return check_stdout(rc == 0 ? EXIT_SUCCESS : fail(rc, NULL, cfg.data_dir));
}
