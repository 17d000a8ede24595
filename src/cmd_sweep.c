/*
 * cmd_sweep: `mlptrain sweep --grid SPEC... [OPTIONS] [-- TRAINING
 * OPTIONS]`: parse the sweep's options, build the grid (sweep.h) and run
 * the sweep, its progress on stderr.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "mlptrain/options.h"
#include "mlptrain/cli.h"
#include "mlptrain/commands.h"
#include "mlptrain/error.h"
#include "mlptrain/sweep.h"

static const struct option sweep_options[] = {
    {"grid", required_argument, NULL, 'g'},
    {"samples", required_argument, NULL, 'n'},
    {"seed", required_argument, NULL, 's'},
    {"parallel", required_argument, NULL, 'P'},
    {"threads", required_argument, NULL, 't'},
    {"dir", required_argument, NULL, 'd'},
    {"no-plots", no_argument, NULL, 'N'},
    MLP_CLI_STD_OPTIONS,
};

static void sweep_usage(FILE *f)
{
    /* "Keys: lr, hidden, ...", broken into lines of at most 79 columns */
    char keys[512];
    size_t n = 0, col = 0;

    for (const char *w = mlp_sweep_keys(), *e; *w != '\0' && n < 400;
         w = *e == ' ' ? e + 1 : e) {
        size_t len;

        if (n == 0) {
            n = (size_t)snprintf(keys, sizeof(keys), "Keys:");
            col = n;
        }
        e = strchr(w, ' ');
        e = e != NULL ? e : w + strlen(w);
        len = (size_t)(e - w);
        if (col + 1 + len > 79) {
            keys[n++] = '\n';
            col = 0;
        } else {
            keys[n++] = ' ';
            col++;
        }
        memcpy(keys + n, w, len);
        n += len;
        col += len;
    }
    keys[n] = '\0';
    fprintf(f,
"usage: mlptrain sweep --grid SPEC... [OPTIONS] [-- TRAINING OPTIONS]\n"
"Train every point of a grid of options, several at once, and rank them.\n"
"\n"
"  -g, --grid SPEC      KEY=V1,V2,... items separated by spaces, e.g.\n"
"                       'lr=0.1,0.5 hidden=256,1024:512 act=relu,tanh';\n"
"                       every combination runs; repeat --grid to add the\n"
"                       combinations of another spec (required)\n"
"      --samples N      run N distinct random points of the grid [all]\n"
"      --seed N         seed of --samples [1]\n"
"  -P, --parallel N     runs at once [1]\n"
"  -t, --threads N      cores the runs share: each run gets N/P compute\n"
"                       threads [online cores: %d]\n"
"  -d, --dir DIR        sweep directory: a log per run, results.csv,\n"
"                       curves.png, accuracy.png [sweep]\n"
"      --no-plots       do not draw the charts\n"
"  -h, --help           show this help\n"
"  -V, --version        show versions\n"
"\n"
"%s.\n"
"Options after -- go to every run (e.g. -- --epochs 5 --data DIR); a key\n"
"in the grid overrides them.  Running the same sweep again skips the runs\n"
"that finished (ok, diverged or error), continues the others from their\n"
"checkpoints (DIR/run-ID.ckpt) and starts the rest.  Ctrl-C stops the runs\n"
"and keeps what finished (exit 130).\n",
            mlp_config_ncores(), keys);
    mlp_cli_exit_status(f, "the sweep ran and at least one run ended ok "
                        "(results.csv has each\n       run's status)",
                        "no run ended ok, or an error (the sweep directory, "
                        "the charts)", MLP_EXIT_LINE_INTERRUPTED);
}

int mlp_cmd_sweep(int argc, char **argv, FILE *out)
{
    mlp_sweep_opts_t o;
    mlp_grid_t g;
    unsigned long long v, samples = 0, seed = 1;
    int c, nopt = argc, rc = 0, ngrids = 0;

    memset(&o, 0, sizeof(o));
    memset(&g, 0, sizeof(g));
    o.dir = "sweep";
    o.parallel = 1;
    o.threads = mlp_config_ncores();
    o.plots = 1;
    o.err = stderr; /* progress lines and warnings */
    /* Everything after the first "--" is for the runs. */
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--") == 0) {
            nopt = i;
            o.fixed = argv + i + 1;
            o.nfixed = (size_t)(argc - i - 1);
            break;
        }
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(nopt, argv, "+:g:P:t:d:hV", sweep_options,
                            NULL)) != -1) {
        switch (c) {
        case 'g':
            if ((rc = mlp_grid_add(&g, optarg)) < 0)
                goto out;
            ngrids++;
            break;
        case 'n':
            if ((rc = mlp_cli_parse_uint("--samples", optarg, 1,
                                  MLP_SWEEP_MAX_POINTS, &samples)) < 0)
                goto out;
            break;
        case 's':
            if ((rc = mlp_cli_parse_uint("--seed", optarg,
                                          0, UINT64_MAX, &seed)) < 0)
                goto out;
            break;
        case 'P':
            if ((rc = mlp_cli_parse_uint("--parallel", optarg, 1, 256, &v)) < 0)
                goto out;
            o.parallel = (unsigned)v;
            break;
        case 't':
            if ((rc = mlp_cli_parse_uint("--threads", optarg, 1,
                                         MLP_MAX_THREADS, &v)) < 0)
                goto out;
            o.threads = (int)v;
            break;
        case 'd':
            o.dir = optarg;
            break;
        case 'N':
            o.plots = 0;
            break;
        case 'h':
            sweep_usage(out);
            goto out;
        case 'V':
            mlp_cli_version(out);
            goto out;
        default:
            rc = mlp_cli_bad_option(c, argv, sweep_options,
                                    c == ':' ? NULL : " (training options "
                                                      "go after --)");
            goto out;
        }
    }
    if (optind < nopt) {
        rc = mlp_error_set(MLP_EUSAGE, "unexpected argument '%s' (training "
                                       "options go after --)",
                           argv[optind]);
        goto out;
    }
    if (ngrids == 0) {
        rc = mlp_error_set(MLP_EUSAGE, "option '--grid' is required, e.g. "
                                       "--grid 'lr=0.1,0.5 act=relu,tanh'");
        goto out;
    }
    if (samples > 0 && (rc = mlp_grid_sample(&g, (size_t)samples, seed)) < 0)
        goto out;
    rc = mlp_sweep_run(&o, &g, out);
out:
    mlp_grid_free(&g);
    return rc;
}
