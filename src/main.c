/*
 * main: parse the command line, run the command, turn a status into a
 * message on stderr and an exit code.  The only place that exits.
 *
 * Exit codes: 0 success; 1 a runtime error (data, memory, oneDNN, I/O);
 * 2 bad usage; 3 training diverged; 130 interrupted (SIGINT/SIGTERM).
 *
 * Signals: from the start, SIGINT and SIGTERM end the process at once with
 * exit 130 (_exit from the handler: nothing is flushed, and an output
 * written through a temporary file keeps its old contents; at worst a
 * stray temporary file is left beside it).  So a signal during start-up or
 * a blocking call is never swallowed.  Once training's batch loop runs,
 * they run a handler that only asks the trainer to stop
 * (mlp_train_catch_signals), which saves and logs and exits 130; the
 * default action comes back as it runs, so a second Ctrl-C kills at once.
 * Commands that manage signals themselves (sweep) install their own.  The
 * loader's threads block every signal.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mlptrain/cli.h"
#include "mlptrain/commands.h"
#include "mlptrain/error.h"
#include "mlptrain/trainer.h"

enum { EXIT_USAGE = 2, EXIT_DIVERGED = 3, EXIT_INTERRUPTED = 130 };

static void on_startup_signal(int sig)
{
    (void)sig;
    _exit(EXIT_INTERRUPTED);
}

/* SIGINT and SIGTERM: exit 130 now (see the top of this file). */
static void exit_on_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_startup_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

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

    exit_on_signals();
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
