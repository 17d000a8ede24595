/*
 * cmd_activations: `mlptrain activations [--png FILE]`: the table of each
 * activation and its derivative from the library (activations.h), and its
 * picture (plot.h).
 */
#include <stdlib.h>
#include <string.h>

#include "mlptrain/activations.h"
#include "mlptrain/cli.h"
#include "mlptrain/commands.h"
#include "mlptrain/error.h"
#include "mlptrain/plot.h"

typedef struct {
    char png[MLP_PATH_MAX]; /* "": no picture */
} act_opts_t;

static const mlp_option_t opt_png = MLP_CLI_PNG(
    act_opts_t, png,
    "also draw them: a panel per function and one per derivative");

static const mlp_cli_opt_t act_options[] = {
    MLP_CLI_USE(&opt_png), MLP_CLI_USE(NULL),
};

const mlp_command_t mlp_command_activations = {
    .name = "activations",
    .summary = "ReLU, sigmoid, tanh and derivatives",
    .run = mlp_cmd_activations,
    .usage = "activations [--png FILE]",
    .about = "Print x and each activation with its derivative (relu, "
             "sigmoid, tanh) for x = -8.0, -7.9, ..., 7.9, computed by the "
             "oneDNN eltwise forward and backward primitives the model "
             "trains with.",
    .options = act_options,
    .own_size = sizeof(act_opts_t),
    .exit_error = "error (oneDNN, gnuplot, the picture, standard output)",
};

enum { NACT = 3 };
static const char *const panel_title[NACT][2] = {
    {"ReLU(x) = max(x, 0)", "ReLU'(x): 0 for x <= 0, 1 for x > 0"},
    {"sigmoid(x) = 1 / (1 + e^{-x})", "sigmoid'(x) = s(x) (1 - s(x))"},
    {"tanh(x)", "tanh'(x) = 1 - tanh^2(x)"},
};

/* Two rows of three panels: functions above, their derivatives below. */
static int draw(const char *png, const float *x, float v[NACT][2][MLP_ACTIVATIONS_N])
{
    static const char *const color[NACT] = {"#1f77b4", "#d62728", "#2ca02c"};
    static const char *const name[NACT] = {"relu", "sigmoid", "tanh"};
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    int rc;

    if (f == NULL)
        return mlp_error_set(MLP_ENOMEM, "out of memory for '%s'", png);
    fputs("$d << EOD\n", f);
    for (size_t i = 0; i < MLP_ACTIVATIONS_N; i++) {
        fprintf(f, "%.1f", (double)x[i]);
        for (int a = 0; a < NACT; a++)
            fprintf(f, " %.7g %.7g", (double)v[a][0][i], (double)v[a][1][i]);
        fputc('\n', f);
    }
    fputs("EOD\n"
          "set multiplot layout 2,3 title 'Activation functions (top) and "
          "their derivatives (bottom), from the oneDNN eltwise primitives' "
          "font ',12'\n"
          "set grid\nset xrange [-8:8]\nset xtics 2\nset xlabel 'x'\n"
          "set offsets 0, 0, graph 0.08, graph 0.08\n"
          "set key top left box opaque\n",
          f);
    for (int row = 0; row < 2; row++)
        for (int a = 0; a < NACT; a++) {
            int col = 2 + 2 * a + row;

            fprintf(f, "set title \"%s\"\nset ylabel \"%s%s(x)\"\n",
                    panel_title[a][row], name[a], row ? "'" : "");
            /* ReLU' is a step: draw the jump at 0, where it is. */
            fprintf(f, "plot $d using 1:%d with %s lw 2 lc rgb '%s' "
                       "title \"%s%s\"\n",
                    col, a == 0 && row == 1 ? "fsteps" : "lines", color[a],
                    name[a], row ? "'(x)" : "(x)");
        }
    fputs("unset multiplot\n", f);
    if (fclose(f) != 0 || buf == NULL) {
        free(buf);
        return mlp_error_set(MLP_ENOMEM, "out of memory for '%s'", png);
    }
    rc = mlp_plot_png(png, 1200, 760, buf);
    free(buf);
    return rc;
}

int mlp_cmd_activations(int argc, char **argv, FILE *out)
{
    static const mlp_act_t acts[NACT] = {MLP_ACT_RELU, MLP_ACT_SIGMOID,
                                         MLP_ACT_TANH};
    float v[NACT][2][MLP_ACTIVATIONS_N];
    float x[MLP_ACTIVATIONS_N];
    act_opts_t o;
    const char *png;
    mlp_cli_t cl;
    int rc;

    if ((rc = mlp_cli_parse(&mlp_command_activations, argc, argv, out, NULL,
                            &o, &cl)) != 0)
        return rc < 0 ? rc : 0;
    png = o.png[0] != '\0' ? o.png : NULL;
    /* The picture's name and target, before any work (plot.h). */
    if (png != NULL && (rc = mlp_plot_check(png)) < 0)
        return mlp_error_prefix(rc, "option '--png'");
    /* -8 + 0.1 i, not a running sum: no drift, x = 0 exactly at i = 80. */
    for (int i = 0; i < MLP_ACTIVATIONS_N; i++)
        x[i] = (float)(-8.0 + 0.1 * i);
    for (int a = 0; a < NACT; a++)
        if ((rc = mlp_activation_eval(acts[a], x, MLP_ACTIVATIONS_N, v[a][0],
                                      v[a][1])) < 0)
            return rc;
    fprintf(out, "%5s %9s %9s %9s %9s %9s %9s\n", "x", "relu", "drelu",
            "sigmoid", "dsigmoid", "tanh", "dtanh");
    for (int i = 0; i < MLP_ACTIVATIONS_N; i++) {
        fprintf(out, "%5.1f", (double)x[i]);
        for (int a = 0; a < NACT; a++)
            fprintf(out, " %9.6f %9.6f", (double)v[a][0][i],
                    (double)v[a][1][i]);
        fputc('\n', out);
    }
    if (png != NULL)
        return draw(png, x, v);
    return 0;
}
