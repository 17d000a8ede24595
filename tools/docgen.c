/*
 * docgen: documents generated from the commands' option tables (cli.h's
 * description of them, mlp_cli_iter): the man page, and doc/options.md's
 * option reference of every command and the Limits section's tables.
 *
 *   docgen FILE.md      FILE.md with every generated section rewritten
 *                       (to stdout): `make docs` (alias `make readme`)
 *                       writes doc/options.md back, and
 *                       tests/e2e_readme.sh fails when it differs
 *   docgen --man        the man page mlptrain.1 (to stdout; `make` builds
 *                       it, `make install` installs it): a section per
 *                       command with its usage, what it does, every option
 *                       with its value, range, rules and default, and its
 *                       exit statuses; tests/e2e_man.sh fails when an
 *                       option of --help is missing from it
 *
 * A generated section sits between the lines
 *   <!-- BEGIN generated: NAME (make docs; do not edit) -->
 *   <!-- END generated: NAME -->
 * with NAME "options" or "limits"; everything else is copied as it is.
 * (The bash completion is `mlptrain completion bash`, cmd_completion.c.)
 *
 * Exit: 0, 1 on an unreadable file, an unknown NAME or a BEGIN without
 * its END (said on stderr).
 */
#include "config.h"

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

/* ---- the man page ---------------------------------------------------- */

/*
 * s as roff text: backslashes and minus signs escaped, a '.' or '\'' that
 * would start a line made plain, a '\n' a line break, blank lines dropped
 * (a blank line is a paragraph break roff warns about).
 */
static void roff(FILE *f, const char *s, int bol)
{
    for (; *s != '\0'; s++) {
        if (bol && (*s == '.' || *s == '\''))
            fputs("\\&", f);
        if (*s == '\n') {
            if (!bol)
                fputc('\n', f);
            bol = 1;
            continue;
        }
        bol = 0;
        if (*s == '\\')
            fputs("\\e", f);
        else if (*s == '-')
            fputs("\\-", f);
        else
            fputc(*s, f);
    }
    if (!bol)
        fputc('\n', f);
}

/* s up to its end or a newline, escaped for one line of roff: a macro's
 * argument or a word in another font. */
static void roff_word(FILE *f, const char *s)
{
    for (; *s != '\0' && *s != '\n'; s++) {
        if (*s == '"')
            fputs("\\(dq", f);
        else if (*s == '\\')
            fputs("\\e", f);
        else if (*s == '-')
            fputs("\\-", f);
        else
            fputc(*s, f);
    }
}

/* s as a quoted macro argument. */
static void roff_arg(FILE *f, const char *s)
{
    fputc('"', f);
    roff_word(f, s);
    fputc('"', f);
}

/* A word in bold or italics. */
static void roff_font(FILE *f, char font, const char *s)
{
    fprintf(f, "\\f%c", font);
    roff_word(f, s);
    fputs("\\fR", f);
}

/* A command's usage lines: "mlptrain " and each line; a line that starts
 * with a space continues the one above. */
static void man_usage(FILE *f, const mlp_command_t *c)
{
    const char *u = c->usage;

    fputs(".nf\n", f);
    while (*u != '\0') {
        size_t n = strcspn(u, "\n");
        char line[512];

        snprintf(line, sizeof(line), "%.*s", (int)n, u);
        if (line[0] == ' ')
            fputs("        ", f);
        else
            fputs("\\fBmlptrain\\fR ", f);
        roff(f, line + strspn(line, " "), 0);
        u += n + (u[n] == '\n');
    }
    fputs(".fi\n", f);
}

/* What an option's value is, in words: a name's values, a file's or a
 * directory's, the range of a number (or of a list's items). */
static void man_value(FILE *f, const mlp_cli_info_t *in)
{
    char buf[1024];
    size_t off = 0;

    if (in->metavar == NULL)
        return;
    if (in->kind == MLP_VALUE_NAME) {
        off = (size_t)snprintf(buf, sizeof(buf), "Values: ");
        for (size_t k = 0; in->names[k] != NULL && off < sizeof(buf); k++)
            off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s",
                                    k ? ", " : "", in->names[k]);
    } else if (in->range[0] != '\0')
        snprintf(buf, sizeof(buf), "Range: %s", in->range);
    else if (in->kind == MLP_VALUE_FILE || in->kind == MLP_VALUE_DIR)
        snprintf(buf, sizeof(buf), "%s: a %s name, 1..%d bytes",
                 in->metavar, in->kind == MLP_VALUE_FILE ? "file"
                                                         : "directory",
                 MLP_PATH_MAX - 1);
    else if (in->kind == MLP_VALUE_NUMBER)
        snprintf(buf, sizeof(buf), "%s: %s", in->metavar,
                 in->opt->type == MLP_OPT_FLOAT
                     ? "a plain decimal number"
                     : "a whole number, digits only");
    else if (in->opt->type == MLP_OPT_STRING)
        snprintf(buf, sizeof(buf), "%s: text, 0..4095 bytes", in->metavar);
    else
        return;
    fputs(".br\n", f);
    roff(f, buf, 1);
}

/* One option: its names and value in bold and italics, then its help,
 * its value, its rules and its default. */
static void man_option(FILE *f, const mlp_cli_info_t *in)
{
    char name[128];

    fputs(".PP\n", f);
    if (in->letter != 0)
        fprintf(f, "\\fB\\-%c\\fR, ", in->letter);
    snprintf(name, sizeof(name), "--%s", in->name);
    roff_font(f, 'B', name);
    if (in->metavar != NULL) {
        fputc(' ', f);
        roff_font(f, 'I', in->metavar);
    }
    if (in->alias != NULL) {
        snprintf(name, sizeof(name), "--%s", in->alias);
        fputs(" (or ", f);
        roff_font(f, 'B', name);
        fputc(')', f);
    }
    fputs("\n.RS 4\n", f);
    roff(f, in->help, 1);
    man_value(f, in);
    if (in->rules[0] != '\0') {
        fputs(".br\nRules: ", f);
        roff(f, in->rules, 0);
    }
    if (in->shown[0] != '\0') {
        fputs(".br\nDefault: ", f);
        roff(f, in->shown, 0);
    }
    fputs(".RE\n", f);
}

/* Exit statuses: ".TP\n0\ntext" each. */
static void man_exit(FILE *f, const char *code, const char *text)
{
    fprintf(f, ".TP\n%s\n", code);
    roff(f, text, 1);
}

/*
 * The text a command's epilogue prints (for --help, wrapped at 80
 * columns): its lines joined into filled paragraphs, but an indented line
 * (a list's row) kept as it is, a blank line a paragraph break.
 */
static int man_epilogue(FILE *f, const mlp_command_t *c)
{
    char *buf = NULL, *line, *next;
    size_t len = 0;
    int nofill = 0;
    FILE *m;

    if (c->epilogue == NULL)
        return 0;
    if ((m = open_memstream(&buf, &len)) == NULL)
        return -1;
    c->epilogue(m);
    if (fclose(m) != 0 || buf == NULL) {
        free(buf);
        return -1;
    }
    fputs(".SS Notes\n", f);
    for (line = buf; *line != '\0'; line = next) {
        next = line + strcspn(line, "\n");
        if (*next == '\n')
            *next++ = '\0';
        if (line[0] == ' ' && !nofill) {
            fputs(".PP\n.nf\n", f);
            nofill = 1;
        } else if (line[0] != ' ' && nofill) {
            fputs(".fi\n", f);
            nofill = 0;
        }
        if (line[0] == '\0')
            fputs(".PP\n", f);
        else
            roff(f, line, 1);
    }
    if (nofill)
        fputs(".fi\n", f);
    free(buf);
    return 0;
}

/* A command's section: usage, what it does, its options by heading, its
 * notes and its exit statuses. */
static int man_command(FILE *f, const mlp_command_t *c)
{
    const char *section = NULL;
    const mlp_cli_info_t *in;
    mlp_cli_iter_t *it;
    char title[64];

    snprintf(title, sizeof(title), "mlptrain %s", c->name);
    fputs(".SH ", f);
    roff_arg(f, title);
    fputc('\n', f);
    man_usage(f, c);
    fputs(".PP\n", f);
    roff(f, c->about != NULL ? c->about : c->summary, 1);
    if (mlp_cli_iter_open(c, MLP_CLI_DOC, &it) < 0)
        return -1;
    while ((in = mlp_cli_iter_next(it)) != NULL) {
        const char *s = in->section != NULL ? in->section
                        : is_std(in)        ? "Help"
                                            : "Options";

        if (section == NULL || strcmp(section, s) != 0) {
            fputs(".SS ", f);
            roff_arg(f, section = s);
            fputc('\n', f);
        }
        man_option(f, in);
    }
    mlp_cli_iter_close(it);
    if (man_epilogue(f, c) < 0)
        return -1;
    fputs(".SS \"Exit status\"\n", f);
    man_exit(f, "0", c->exit_ok != NULL ? c->exit_ok : "success");
    man_exit(f, "1", c->exit_error);
    man_exit(f, "2", "bad usage");
    if (c->exit_lines & MLP_EXIT_LINE_DIVERGED)
        man_exit(f, "3", "training diverged");
    if (c->exit_lines & MLP_EXIT_LINE_INTERRUPTED)
        man_exit(f, "130", "interrupted (SIGINT or SIGTERM)");
    return 0;
}

/* A variable of ENVIRONMENT, or a file of FILES. */
static void man_item(FILE *f, const char *name, const char *text)
{
    fputs(".TP\n", f);
    roff_font(f, 'B', name);
    fputc('\n', f);
    roff(f, text, 1);
}

/* An example: what it does, then the command line. */
static void man_example(FILE *f, const char *what, const char *line)
{
    fputs(".PP\n", f);
    roff(f, what, 1);
    fputs(".PP\n.RS 4\n.nf\n", f);
    roff(f, line, 1);
    fputs(".fi\n.RE\n", f);
}

static int man_page(FILE *f)
{
    unsigned lines = 0;
    char text[512];

    fprintf(f, ".\\\" mlptrain(1), generated by tools/docgen --man from the "
               "commands' option\n.\\\" tables: do not edit.\n"
               ".TH MLPTRAIN 1 \"\" \"mlptrain %s\" \"User Commands\"\n"
               ".ad l\n.nh\n",
            PACKAGE_VERSION);
    fputs(".SH NAME\nmlptrain \\- train multilayer perceptrons on the CPU\n"
          ".SH SYNOPSIS\n", f);
    for (size_t i = 0; mlp_commands[i] != NULL; i++)
        man_usage(f, mlp_commands[i]);
    fputs(".SH DESCRIPTION\n", f);
    roff(f, "mlptrain trains multilayer perceptrons (fully connected "
            "networks) on the CPU: loader threads shuffle and decode "
            "batches while oneDNN primitives run the forward and backward "
            "passes across the cores, and every epoch prints a line of "
            "loss and accuracy.  The same seed gives the same figures for "
            "any number of threads, loader workers and MPI processes.",
         1);
    fputs(".PP\n", f);
    roff(f, "The first argument names the command; without one (an option "
            "or nothing), mlptrain trains.  The commands:", 1);
    for (size_t i = 0; mlp_commands[i] != NULL; i++) {
        fputs(".TP 14\n", f);
        roff_font(f, 'B', mlp_commands[i]->name);
        fputc('\n', f);
        roff(f, mlp_commands[i]->summary, 1);
        lines |= mlp_commands[i]->exit_lines;
    }
    fputs(".PP\n", f);
    roff(f, "Each command's options follow, as its --help lists them: a "
            "value's syntax and range, the options it needs or excludes "
            "(bad usage otherwise), and its default.  Numbers are plain "
            "decimals; an option may be given as --name VALUE or "
            "--name=VALUE.", 1);
    for (size_t i = 0; mlp_commands[i] != NULL; i++)
        if (man_command(f, mlp_commands[i]) < 0)
            return -1;
    fputs(".SH \"EXIT STATUS\"\n", f);
    man_exit(f, "0", "success (each command's section says what it means)");
    man_exit(f, "1", "an error: data, memory, oneDNN, input or output; the "
                     "message names the file or option");
    man_exit(f, "2", "bad usage: an unknown option, a value out of range, "
                     "options that do not go together");
    if (lines & MLP_EXIT_LINE_DIVERGED)
        man_exit(f, "3", "training diverged (a loss that is not finite)");
    if (lines & MLP_EXIT_LINE_INTERRUPTED)
        man_exit(f, "130", "interrupted (SIGINT or SIGTERM); what was "
                           "written is kept whole");
    fputs(".SH ENVIRONMENT\n", f);
    snprintf(text, sizeof(text), "The default of --data when set and not "
             "empty (otherwise %s).", MLP_DEFAULT_DATA_DIR);
    man_item(f, "MLPTRAIN_DATA", text);
    man_item(f, "MLPTRAIN_PROGRESS", "SECONDS: the interval of the progress "
             "line on standard error (0.2 on a terminal, 5 otherwise); off: "
             "no progress line.");
    man_item(f, "MLPTRAIN_GNUPLOT", "The gnuplot program that draws the "
             "pictures (default: gnuplot, found on PATH).");
    man_item(f, "MLPTRAIN_LOADAVG", "The file read to count the cores "
             "other processes keep busy, for the warning when -t asks for "
             "more (default /proc/loadavg); off: no such check.");
    man_item(f, "COLUMNS", "The width of the progress line when standard "
             "error is not a terminal.");
    man_item(f, "OMPI_COMM_WORLD_RANK, OMPI_COMM_WORLD_SIZE", "Set by Open "
             "MPI's mpirun: this process's rank and the number of ranks "
             "(mlptrain built with MPI).");
    fputs(".SH FILES\n", f);
    snprintf(text, sizeof(text), "%s/", MLP_DEFAULT_DATA_DIR);
    man_item(f, text, "The default dataset (Debian's dataset-fashion-mnist): "
             "the IDX files train-images-idx3-ubyte.gz, "
             "train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and "
             "t10k-labels-idx1-ubyte.gz.");
    fputs(".SH EXAMPLES\n", f);
    man_example(f, "Train the reference recipe (784-256-10, ReLU, SGD) with "
                   "20 loader threads:", "mlptrain -j 20");
    man_example(f, "Train 10 epochs with a checkpoint and a JSON-lines log, "
                   "then 10 more from the checkpoint:",
                "mlptrain --epochs 10 --save run.ckpt --log run.jsonl\n"
                "mlptrain --epochs 20 --resume run.ckpt");
    man_example(f, "Evaluate the saved model, show predictions and export "
                   "it:",
                "mlptrain eval --model run.ckpt\n"
                "mlptrain predict --model run.ckpt --png predictions.png\n"
                "mlptrain export --model run.ckpt --onnx model.onnx");
    man_example(f, "Adam with a cosine schedule in bf16 mixed precision, "
                   "watched in TensorBoard:",
                "mlptrain --optimizer adam --schedule cosine --lr 0.002 "
                "--precision bf16 \\\n    --tensorboard runs/adam");
    man_example(f, "A sweep of a grid, two runs at a time, each with two "
                   "loader threads:",
                "mlptrain sweep --grid 'hidden=256,1024 lr=0.1,0.5' -P 2 "
                "--dir sweeps/a -- -j 2");
    man_example(f, "Four processes under MPI, one compute thread each:",
                "mpirun -np 4 mlptrain -t 1 --save run.ckpt");
    man_example(f, "Bash completion in the current shell (make install "
                   "installs it for bash-completion):",
                "source <(mlptrain completion bash)");
    fputs(".SH \"SEE ALSO\"\n", f);
    fputs(".BR gnuplot (1),\n.BR mpirun (1)\n.PP\n", f);
    roff(f, "The README and doc/ of the source tree: the user guide, the "
            "checkpoint format, the design.", 1);
    return ferror(f) ? -1 : 0;
}

int main(int argc, char **argv)
{
    static const char begin[] = "<!-- BEGIN generated: ";
    static const char end[] = "<!-- END generated: ";
    char line[4096], name[64] = "";
    FILE *in;
    int skipping = 0, rc = 0;

    if (argc != 2) {
        fputs("usage: docgen FILE.md | docgen --man\n", stderr);
        return 1;
    }
    if (strcmp(argv[1], "--man") == 0) {
        if (man_page(stdout) < 0 || fflush(stdout) != 0) {
            fputs("docgen: cannot write the man page\n", stderr);
            return 1;
        }
        return 0;
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
