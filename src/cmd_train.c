/*
 * cmd_train: `mlptrain [train] [OPTIONS]`, the default command: every run
 * option (options.h) is its option; parse them (cli.h), then train
 * (trainer.h).
 */
#include <string.h>

#include "mlptrain/cli.h"
#include "mlptrain/commands.h"
#include "mlptrain/error.h"
#include "mlptrain/options.h"
#include "mlptrain/trainer.h"

/* The data directory of the last parsed command line, for main's hint. */
static char data_dir[MLP_PATH_MAX];

const char *mlp_cmd_train_data_dir(void)
{
    return data_dir[0] != '\0' ? data_dir : NULL;
}

/* The rules of train's command line beyond the run options' own. */
static const mlp_rule_t train_rules[] = {
    {.x = MLP_O(RESUME), .kind = MLP_RULE_NEEDS_GIVEN, .y = MLP_O(EPOCHS),
     .why = "the total number of epochs to reach (a checkpoint does not "
            "record the run's plan)"},
};

static int resolve(mlp_cli_t *cl)
{
    mlp_config_resolve(cl->cfg);
    return 0;
}

/* `mlptrain --help` ends with the other commands. */
static void other_commands(FILE *f)
{
    fputs("Other commands (each with --help, or 'mlptrain help COMMAND'):\n",
          f);
    for (size_t i = 1; mlp_commands[i] != NULL; i++)
        fprintf(f, "  %-12s %s\n", mlp_commands[i]->name,
                mlp_commands[i]->summary);
}

const mlp_command_t mlp_command_train = {
    .name = "train",
    .summary = "train a model (the default command)",
    .run = mlp_cmd_train,
    .data_dir = mlp_cmd_train_data_dir,
    .usage = "[train] [OPTIONS]",
    .about = "Train a multilayer perceptron on a dataset: the IDX images of "
             "--data (Fashion-MNIST), or --train and --test files.",
    .run_options = 1,
    MLP_CLI_RULES(train_rules),
    .resolve = resolve,
    .epilogue = other_commands,
    .exit_error = "error (data, memory, oneDNN, I/O)",
    .exit_lines = MLP_EXIT_LINE_DIVERGED | MLP_EXIT_LINE_INTERRUPTED,
};

/* argv as main hands it (argv[0] "mlptrain", maybe "train"): parsed,
 * with the rules when `rules`. */
static int parse(int argc, char **argv, FILE *out, mlp_config_t *cfg,
                 int rules)
{
    mlp_cli_t cl;
    int rc;

    if (argc > 1 && argv[1][0] != '-') {
        if (strcmp(argv[1], "train") != 0)
            return mlp_error_set(MLP_EUSAGE, "unknown command '%s'", argv[1]);
        argc--;
        argv++;
    }
    rc = mlp_cli_parse_values(&mlp_command_train, argc, argv, out, cfg, NULL,
                              &cl);
    return rc != 0 || !rules ? rc : mlp_cli_check(&cl);
}

int mlp_cmd_train_parse(int argc, char **argv, mlp_config_t *cfg)
{
    return parse(argc, argv, NULL, cfg, 1);
}

int mlp_cmd_train_parse_values(int argc, char **argv, mlp_config_t *cfg)
{
    return parse(argc, argv, NULL, cfg, 0);
}

int mlp_cmd_train(int argc, char **argv, FILE *out)
{
    mlp_config_t cfg;
    int rc;

    data_dir[0] = '\0';
    if ((rc = parse(argc, argv, out, &cfg, 1)) != 0)
        return rc < 0 ? rc : 0;
    memcpy(data_dir, cfg.data_dir, sizeof(data_dir));
    if ((rc = mlp_train_catch_signals()) < 0)
        return rc;
    return mlp_train(&cfg, out, stderr, NULL);
}
