/*
 * docgen: the generated sections of doc/options.md, from the commands'
 * option tables (cli.h's description of them, mlp_cli_iter): the option
 * reference of every command and the Limits section's tables.
 *
 *   docgen FILE.md      FILE.md with every generated section rewritten
 *                       (to stdout): `make docs` (alias `make readme`)
 *                       writes doc/options.md back, and
 *                       tests/e2e_readme.sh fails when it differs
 *
 * A generated section sits between the lines
 *   <!-- BEGIN generated: NAME (make docs; do not edit) -->
 *   <!-- END generated: NAME -->
 * with NAME "options" or "limits"; everything else is copied as it is.
 * A man page or a completion script would be made the same way.
 *
 * Exit: 0, 1 on an unreadable file, an unknown NAME or a BEGIN without
 * its END (said on stderr).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlptrain/cli.h"
#include "mlptrain/commands.h"
#include "mlptrain/options.h"

/* s in a Markdown table cell: '|' escaped, no line breaks. */
static void cell(FILE *f, const char *s)
{
    for (; *s != '\0'; s++) {
        if (*s == '|')
            fputs("\\|", f);
        else
            fputc(*s == '\n' ? ' ' : *s, f);
    }
}

/* "`-b, --batch N`" (the alias too: "`-o, --png FILE` (`--plot`)"). */
static void option_cell(FILE *f, const mlp_cli_info_t *in)
{
    fputc('`', f);
    if (in->letter != 0)
        fprintf(f, "-%c, ", in->letter);
    fprintf(f, "--%s%s%s`", in->name, in->metavar != NULL ? " " : "",
            in->metavar != NULL ? in->metavar : "");
    if (in->alias != NULL)
        fprintf(f, " (`--%s`)", in->alias);
}

static int is_std(const mlp_cli_info_t *in)
{
    return strcmp(in->name, "help") == 0 || strcmp(in->name, "version") == 0;
}

/* One command's table: option, default, meaning (its help, range and
 * rules, as --help says them). */
static int options_table(FILE *f, const mlp_command_t *c)
{
    mlp_cli_iter_t *it;
    const mlp_cli_info_t *in;
    const char *u = c->usage;

    if (mlp_cli_iter_open(c, MLP_CLI_DOC, &it) < 0)
        return -1;
    fprintf(f, "### %s\n\n", c->name);
    while (*u != '\0') {
        size_t n = strcspn(u, "\n");

        fprintf(f, "%s`mlptrain %.*s`", u == c->usage ? "" : ", ",
                (int)n, u + strspn(u, " "));
        u += n + (u[n] == '\n');
    }
    fprintf(f, ": %s\n\n| option | default | meaning |\n|---|---|---|\n",
            c->summary);
    while ((in = mlp_cli_iter_next(it)) != NULL) {
        if (is_std(in))
            continue;
        fputs("| ", f);
        option_cell(f, in);
        fputs(" | ", f);
        cell(f, in->shown);
        fputs(" | ", f);
        cell(f, in->help);
        if (in->range[0] != '\0') {
            fputs("; ", f);
            cell(f, in->range);
        }
        if (in->rules[0] != '\0') {
            fputs("; ", f);
            cell(f, in->rules);
        }
        fputs(" |\n", f);
    }
    fputs("| `-h, --help` | | this command's options, defaults and exit "
          "statuses |\n| `-V, --version` | | versions of mlptrain, oneDNN "
          "and the compiler, and the ISA |\n\n", f);
    mlp_cli_iter_close(it);
    return 0;
}

static int options_section(FILE *f)
{
    for (size_t i = 0; mlp_commands[i] != NULL; i++)
        if (options_table(f, mlp_commands[i]) < 0)
            return -1;
    return 0;
}

/* An option's range in words for the Limits table. */
static void range_cell(FILE *f, const mlp_cli_info_t *in)
{
    if (in->range[0] != '\0') {
        cell(f, in->range);
        return;
    }
    switch (in->kind) {
    case MLP_VALUE_NONE:
        fputs("a flag", f);
        break;
    case MLP_VALUE_NAME:
        for (size_t k = 0; in->names[k] != NULL; k++)
            fprintf(f, "%s%s", k ? ", " : "", in->names[k]);
        break;
    case MLP_VALUE_FILE:
        fprintf(f, "a file name, 1..%d bytes", MLP_PATH_MAX - 1);
        break;
    case MLP_VALUE_DIR:
        fprintf(f, "a directory name, 1..%d bytes", MLP_PATH_MAX - 1);
        break;
    default:
        fputs(in->opt->type == MLP_OPT_STRING ? "0..4095 bytes" : "text",
              f);
        break;
    }
}

/* A row of a Limits table: "| [command |] option | range | rules |". */
static void limits_row(FILE *f, const char *command, const mlp_cli_info_t *in)
{
    fputs("| ", f);
    if (command != NULL)
        fprintf(f, "%s | ", command);
    option_cell(f, in);
    fputs(" | ", f);
    range_cell(f, in);
    fputs(" | ", f);
    cell(f, in->rules);
    fputs(" |\n", f);
}

/*
 * The Limits tables: train's options (every run option), then the other
 * commands' own options and the shared ones whose rules differ there.
 */
static int limits_section(FILE *f)
{
    mlp_cli_iter_t *it;
    const mlp_cli_info_t *in;
    char (*train_rules)[1024] = calloc(MLP_NOPTIONS, sizeof(*train_rules));

    if (train_rules == NULL ||
        mlp_cli_iter_open(mlp_commands[0], MLP_CLI_DOC, &it) < 0) {
        free(train_rules);
        return -1;
    }
    fputs("| option | range | needs, and relations |\n|---|---|---|\n", f);
    while ((in = mlp_cli_iter_next(it)) != NULL) {
        if (is_std(in))
            continue;
        memcpy(train_rules[mlp_options_id(in->opt)], in->rules,
               sizeof(in->rules));
        limits_row(f, NULL, in);
    }
    mlp_cli_iter_close(it);
    fputs("\nThe other commands' own options, and the shared ones whose rules "
          "are the command's own:\n\n| command | option | range | needs, "
          "and relations |\n|---|---|---|---|\n", f);
    for (size_t i = 1; mlp_commands[i] != NULL; i++) {
        if (mlp_cli_iter_open(mlp_commands[i], MLP_CLI_DOC, &it) < 0) {
            free(train_rules);
            return -1;
        }
        while ((in = mlp_cli_iter_next(it)) != NULL) {
            if (is_std(in) ||
                (in->opt->place == MLP_IN_RUN &&
                 strcmp(train_rules[mlp_options_id(in->opt)], in->rules) ==
                     0))
                continue;
            limits_row(f, mlp_commands[i]->name, in);
        }
        mlp_cli_iter_close(it);
    }
    free(train_rules);
    return 0;
}

int main(int argc, char **argv)
{
    static const char begin[] = "<!-- BEGIN generated: ";
    static const char end[] = "<!-- END generated: ";
    char line[4096], name[64] = "";
    FILE *in;
    int skipping = 0, rc = 0;

    if (argc != 2) {
        fputs("usage: docgen FILE.md\n", stderr);
        return 1;
    }
    if ((in = fopen(argv[1], "r")) == NULL) {
        perror(argv[1]);
        return 1;
    }
    while (rc == 0 && fgets(line, sizeof(line), in) != NULL) {
        if (skipping) {
            if (strncmp(line, end, sizeof(end) - 1) != 0)
                continue;
            skipping = 0;
            fputs(line, stdout);
            continue;
        }
        fputs(line, stdout);
        if (strncmp(line, begin, sizeof(begin) - 1) != 0)
            continue;
        snprintf(name, sizeof(name), "%.*s",
                 (int)strcspn(line + sizeof(begin) - 1, " "),
                 line + sizeof(begin) - 1);
        skipping = 1;
        fputc('\n', stdout);
        if (strcmp(name, "options") == 0)
            rc = options_section(stdout);
        else if (strcmp(name, "limits") == 0)
            rc = limits_section(stdout);
        else {
            fprintf(stderr, "docgen: %s: unknown section '%s'\n", argv[1],
                    name);
            rc = -1;
        }
        if (strcmp(name, "options") != 0)
            fputc('\n', stdout);
    }
    fclose(in);
    if (rc == 0 && skipping) {
        fprintf(stderr, "docgen: %s: section '%s' has no END line\n",
                argv[1], name);
        rc = -1;
    }
    return rc == 0 ? 0 : 1;
}
