/*
 * activations: activation values and derivatives from oneDNN's eltwise
 * primitives, and the `mlptrain activations` command (see activations.h).
 *
 * Non-goals: speed (a few hundred values), activations the net lacks.
 */
#include <getopt.h>
#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h>
#include <stdlib.h>
#include <string.h>

#include "mlptrain/activations.h"
#include "mlptrain/cli.h"
#include "dnnl_check.h"
#include "mlptrain/error.h"
#include "mlptrain/plot.h"


int mlp_activation_eval(mlp_act_t act, const float *x, size_t n, float *y,
                        float *dy)
{
    dnnl_engine_t eng = NULL;
    dnnl_stream_t strm = NULL;
    dnnl_primitive_desc_t fpd = NULL, hint = NULL, bpd = NULL;
    dnnl_primitive_t fwd = NULL, bwd = NULL;
    dnnl_memory_t mx = NULL, my = NULL, mones = NULL, mdy = NULL;
    dnnl_memory_desc_t md;
    dnnl_eltwise_desc_t ed;
    float *ones = NULL;
    int rc, fwd_alg, bwd_alg; /* the net's post-op and backward (net.h) */

    if ((rc = mlp_act_algs(act, &fwd_alg, &bwd_alg)) < 0)
        return rc;
    if (n == 0)
        return 0;
    {
        dnnl_dims_t dims = {1, (dnnl_dim_t)n};

        CHECK(dnnl_memory_desc_init_by_tag(&md, 2, dims, dnnl_f32, dnnl_nc));
    }
    CHECK(dnnl_engine_create(&eng, dnnl_cpu, 0));
    CHECK(dnnl_stream_create(&strm, eng, dnnl_stream_default_flags));

    /* Forward: y = act(x), the algorithm of the net's post-op. */
    CHECK(dnnl_eltwise_forward_desc_init(&ed, dnnl_forward_training,
                                         (dnnl_alg_kind_t)fwd_alg, &md, 0.0f,
                                         0.0f));
    CHECK(dnnl_primitive_desc_create(&fpd, &ed, NULL, eng, NULL));
    CHECK(dnnl_primitive_create(&fwd, fpd));
    CHECK(dnnl_memory_create(&mx, &md, eng, (void *)x));
    CHECK(dnnl_memory_create(&my, &md, eng, y));
    {
        dnnl_exec_arg_t args[] = {{DNNL_ARG_SRC, mx}, {DNNL_ARG_DST, my}};

        CHECK(dnnl_primitive_execute(fwd, strm, 2, args));
    }
    CHECK(dnnl_stream_wait(strm));
    if (dy == NULL)
        goto out;

    /* Backward from y with diff_dst = 1: the net's dL/dz = dL/dh * act'. */
    ones = malloc(n * sizeof(*ones));
    if (ones == NULL) {
        rc = mlp_error_set(MLP_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        ones[i] = 1.0f;
    CHECK(dnnl_eltwise_forward_desc_init(&ed, dnnl_forward_training,
                                         (dnnl_alg_kind_t)bwd_alg, &md, 0.0f,
                                         0.0f));
    CHECK(dnnl_primitive_desc_create(&hint, &ed, NULL, eng, NULL));
    CHECK(dnnl_eltwise_backward_desc_init(&ed, (dnnl_alg_kind_t)bwd_alg, &md,
                                          &md, 0.0f, 0.0f));
    CHECK(dnnl_primitive_desc_create(&bpd, &ed, NULL, eng, hint));
    CHECK(dnnl_primitive_create(&bwd, bpd));
    CHECK(dnnl_memory_create(&mones, &md, eng, ones));
    CHECK(dnnl_memory_create(&mdy, &md, eng, dy));
    {
        dnnl_exec_arg_t args[] = {{DNNL_ARG_DST, my},
                                  {DNNL_ARG_DIFF_DST, mones},
                                  {DNNL_ARG_DIFF_SRC, mdy}};

        CHECK(dnnl_primitive_execute(bwd, strm, 3, args));
    }
    CHECK(dnnl_stream_wait(strm));
out:
    dnnl_memory_destroy(mdy);
    dnnl_memory_destroy(mones);
    dnnl_memory_destroy(my);
    dnnl_memory_destroy(mx);
    dnnl_primitive_destroy(bwd);
    dnnl_primitive_destroy(fwd);
    dnnl_primitive_desc_destroy(bpd);
    dnnl_primitive_desc_destroy(hint);
    dnnl_primitive_desc_destroy(fpd);
    dnnl_stream_destroy(strm);
    dnnl_engine_destroy(eng);
    free(ones);
    return rc;
}

/* ---- mlptrain activations --------------------------------------------- */

static const struct option act_options[] = {
    {"png", required_argument, NULL, 'o'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

static void act_usage(FILE *f)
{
    fputs("usage: mlptrain activations [--png FILE]\n"
          "Print x and each activation with its derivative (relu, sigmoid,\n"
          "tanh) for x = -8.0, -7.9, ..., 7.9, computed by the oneDNN\n"
          "eltwise forward and backward primitives the model trains with.\n"
          "\n"
          "  -o, --png FILE   also draw them: a panel per function and one\n"
          "                   per derivative [none]\n"
          "  -h, --help       show this help\n"
          "  -V, --version    show versions\n"
          "\n"
          "Exit status:\n"
          "  0    success\n"
          "  1    error (oneDNN, gnuplot, the picture, standard output)\n"
          "  2    bad usage\n",
          f);
}

enum { NACT = MLP_NACT };
static const char *const panel_title[NACT][2] = {
    {"ReLU(x) = max(x, 0)", "ReLU'(x): 0 for x <= 0, 1 for x > 0"},
    {"sigmoid(x) = 1 / (1 + e^{-x})", "sigmoid'(x) = s(x) (1 - s(x))"},
    {"tanh(x)", "tanh'(x) = 1 - tanh^2(x)"},
};

/* Two rows of three panels: functions above, their derivatives below. */
static int draw(const char *png, const float *x, float v[NACT][2][MLP_ACTIVATIONS_N])
{
    static const char *const color[NACT] = {"#1f77b4", "#d62728", "#2ca02c"};
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
                    panel_title[a][row], mlp_act_name((mlp_act_t)a),
                    row ? "'" : "");
            /* ReLU' is a step: draw the jump at 0, where it is. */
            fprintf(f, "plot $d using 1:%d with %s lw 2 lc rgb '%s' "
                       "title \"%s%s\"\n",
                    col, a == 0 && row == 1 ? "fsteps" : "lines", color[a],
                    mlp_act_name((mlp_act_t)a), row ? "'(x)" : "(x)");
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
    const char *png = NULL;
    int c, rc;

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":o:hV", act_options, NULL)) != -1)
        switch (c) {
        case 'o':
            png = optarg;
            break;
        case 'h':
            act_usage(out);
            return 0;
        case 'V':
            mlp_cli_version(out);
            return 0;
        default:
            return mlp_cli_bad_option(c, argv, act_options, NULL);
        }
    if (optind < argc)
        return mlp_error_set(MLP_EUSAGE, "unexpected argument '%s'",
                             argv[optind]);
    if (png != NULL && png[0] == '\0')
        return mlp_error_set(MLP_EUSAGE, "option '--png': empty file name");
    /* The picture's name and target, before any work (plot.h). */
    if (png != NULL && (rc = mlp_plot_check(png)) < 0)
        return rc;
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
