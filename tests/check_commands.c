/*
 * check_commands: the command table (commands.h): train first and the
 * default, every command answers --help, --version and a bad option the
 * same way, and train's help lists the others.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "mlptrain/commands.h"
#include "mlptrain/error.h"
#include "testutil.h"

/* Run c with args (NULL-terminated, argv[0] first); its output in *text. */
static int run(const mlp_command_t *c, char **text, char **args)
{
    size_t len;
    int argc = 0, rc;
    FILE *f = open_memstream(text, &len);

    ck_assert_ptr_nonnull(f);
    while (args[argc] != NULL)
        argc++;
    rc = c->run(argc, args, f);
    fclose(f);
    return rc;
}

START_TEST(test_train_first)
{
    ck_assert_str_eq(mlp_commands[0]->name, "train");
    ck_assert_ptr_eq(mlp_commands[0]->run, mlp_cmd_train);
    ck_assert_ptr_nonnull(mlp_commands[0]->data_dir);
    for (size_t i = 0; mlp_commands[i] != NULL; i++) {
        const mlp_command_t *c = mlp_commands[i];

        ck_assert_ptr_nonnull(c->run);
        ck_assert_ptr_nonnull(c->summary);
        ck_assert_ptr_nonnull(c->usage);
        ck_assert_ptr_nonnull(c->exit_error);
        ck_assert_ptr_eq(mlp_command_find(c->name), c);
        for (size_t j = 0; j < i; j++)
            ck_assert_str_ne(mlp_commands[j]->name, c->name);
    }
    ck_assert_ptr_null(mlp_command_find("frobnicate"));
}
END_TEST

START_TEST(test_help_version_bad_option)
{
    for (size_t i = 0; mlp_commands[i] != NULL; i++) {
        const mlp_command_t *c = mlp_commands[i];
        char *help[] = {(char *)c->name, "--help", NULL};
        char *version[] = {(char *)c->name, "--version", NULL};
        char *bad[] = {(char *)c->name, "--no-such-option", NULL};
        char *text = NULL;

        ck_assert_msg(run(c, &text, help) == 0, "%s --help", c->name);
        ck_assert_msg(strstr(text, "usage: mlptrain") != NULL, "%s: %s",
                      c->name, text);
        free(text);
        ck_assert_int_eq(run(c, &text, version), 0);
        ck_assert_ptr_nonnull(strstr(text, "mlptrain "));
        free(text);
        ck_assert_int_eq(run(c, &text, bad), MLP_EUSAGE);
        ck_assert_msg(strstr(mlp_error_message(), "--no-such-option") != NULL,
                      "%s: %s", c->name, mlp_error_message());
        ck_assert_str_eq(text, "");
        free(text);
    }
}
END_TEST

START_TEST(test_train_help_lists_commands)
{
    char *help[] = {"mlptrain", "--help", NULL};
    char *text = NULL;
    char line[128];

    ck_assert_int_eq(run(mlp_commands[0], &text, help), 0);
    for (size_t i = 1; mlp_commands[i] != NULL; i++) {
        const mlp_command_t *c = mlp_commands[i];

        snprintf(line, sizeof(line), "\n  %-12s %s\n", c->name, c->summary);
        ck_assert_msg(strstr(text, line) != NULL, "no line for %s", c->name);
    }
    /* train is the default, not one of the "other commands" */
    ck_assert_ptr_null(strstr(text, "  train        "));
    free(text);
    /* nothing parsed to train: no data directory to hint at */
    ck_assert_ptr_null(mlp_cmd_train_data_dir());
}
END_TEST

START_TEST(test_train_unknown_command)
{
    char *args[] = {"mlptrain", "frobnicate", NULL};
    char *text = NULL;

    ck_assert_int_eq(run(mlp_commands[0], &text, args), MLP_EUSAGE);
    ck_assert_msg_has("unknown command 'frobnicate'");
    free(text);
}
END_TEST

/* `mlptrain help` lists every command, train first; `help COMMAND` is
 * COMMAND's --help; an unknown one is bad usage. */
START_TEST(test_help_command)
{
    char *all[] = {"help", NULL}, *one[] = {"help", "sweep", NULL};
    char *no[] = {"help", "fly", NULL}, *sweep[] = {"sweep", "--help", NULL};
    char *text = NULL, *want = NULL, line[128];

    ck_assert_int_eq(run(&mlp_command_help, &text, all), 0);
    for (size_t i = 0; mlp_commands[i] != NULL; i++) {
        snprintf(line, sizeof(line), "\n  %-12s %s\n", mlp_commands[i]->name,
                 mlp_commands[i]->summary);
        ck_assert_msg(strstr(text, line) != NULL, "no line for %s",
                      mlp_commands[i]->name);
    }
    free(text);
    ck_assert_int_eq(run(&mlp_command_help, &text, one), 0);
    ck_assert_int_eq(run(&mlp_command_sweep, &want, sweep), 0);
    ck_assert_str_eq(text, want);
    free(text);
    free(want);
    ck_assert_int_eq(run(&mlp_command_help, &text, no), MLP_EUSAGE);
    ck_assert_msg_has("help: unknown command 'fly'");
    free(text);
}
END_TEST

Suite *commands_suite(void);
Suite *commands_suite(void)
{
    Suite *s = suite_create("commands");
    TCase *tc = tu_tcase(s, "table", 0);

    tcase_add_test(tc, test_train_first);
    tcase_add_test(tc, test_help_version_bad_option);
    tcase_add_test(tc, test_train_help_lists_commands);
    tcase_add_test(tc, test_train_unknown_command);
    tcase_add_test(tc, test_help_command);
    return s;
}

MLP_CHECK_MAIN(commands_suite)
