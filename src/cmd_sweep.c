/*
 * cmd_sweep: `mlptrain sweep (--grid SPEC... | --space SPEC...) [OPTIONS]
 * [-- TRAINING OPTIONS]` and `mlptrain sweep --dir DIR --report`: parse
 * the sweep's options, build the grid or the space (grid.h, space.h) and
 * run the sweep or its report (sweep.h), its progress on stderr.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "mlptrain/options.h"
#include "mlptrain/cli.h"
#include "mlptrain/commands.h"
#include "mlptrain/dist.h"
#include "mlptrain/error.h"
#include "mlptrain/sweep.h"
#include "mlptrain/tfevents.h"

static const struct option sweep_options[] = {
    {"grid", required_argument, NULL, 'g'},
    {"space", required_argument, NULL, 'S'},
    {"samples", required_argument, NULL, 'n'},
    {"seed", required_argument, NULL, 's'},
    {"search", required_argument, NULL, 'x'},
    {"eta", required_argument, NULL, 'E'},
    {"min-epochs", required_argument, NULL, 'm'},
    {"async", no_argument, NULL, 'A'},
    {"shard", required_argument, NULL, 'k'},
    {"parallel", required_argument, NULL, 'P'},
    {"threads", required_argument, NULL, 't'},
    {"dir", required_argument, NULL, 'd'},
    {"no-plots", no_argument, NULL, 'N'},
    {"report", no_argument, NULL, 'R'},
    {"tensorboard", required_argument, NULL, 'B'},
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
"usage: mlptrain sweep (--grid SPEC... | --space SPEC...) [OPTIONS]\n"
"                      [-- TRAINING OPTIONS]\n"
"       mlptrain sweep --dir DIR --report\n"
"Train points of a grid or of a search space, several at once, and rank\n"
"them; or report on a sweep directory.\n"
"\n"
"Points:\n"
"  -g, --grid SPEC      KEY=V1,V2,... items separated by spaces, e.g.\n"
"                       'lr=0.1,0.5 hidden=256,1024:512 act=relu,tanh';\n"
"                       every combination is a point; repeat --grid to add\n"
"                       the combinations of another spec\n"
"      --space SPEC     KEY=DISTRIBUTION items: uniform(LO,HI),\n"
"                       loguniform(LO,HI), quniform(LO,HI,Q),\n"
"                       qloguniform(LO,HI,Q), choice(V1,V2,...) or\n"
"                       V1,V2,..., e.g. 'lr=loguniform(1e-4,1e-1)\n"
"                       hidden=choice(256,1024:512)'; repeat to add keys\n"
"      --samples N      the grid's N distinct points drawn from --seed, or\n"
"                       N draws of the space [all; a space: required with\n"
"                       --search random, eta^(rungs-1) with halving]\n"
"      --seed N         seed of --samples, the space's draws and\n"
"                       hyperband's deal [1]\n"
"Search:\n"
"      --search KIND    grid (every point to the end), random (the same,\n"
"                       of drawn points), halving (successive halving:\n"
"                       each rung keeps the best 1/eta by val acc) or\n"
"                       hyperband (brackets of halving) [grid; a space:\n"
"                       random]\n"
"      --eta N          halving, hyperband: 1 of N runs goes on [3]\n"
"      --min-epochs N   halving, hyperband: the least epochs of a first\n"
"                       rung; the runs' --epochs is the last [1]\n"
"      --async          promote as soon as a run ranks in the top 1/eta of\n"
"                       those that reached its rung (ASHA): no waiting for\n"
"                       a rung to fill, promotions depend on timing\n"
"Processes:\n"
"  -P, --parallel N     runs at once (under mpirun: on each worker rank) [1]\n"
"  -t, --threads N      cores the runs share: each run gets N/P compute\n"
"                       threads [online cores: %d]\n"
"      --shard K/N      run only the K-th of N slices of the runs (of the\n"
"                       brackets with hyperband) into a shared --dir\n"
"  -d, --dir DIR        sweep directory: a log, checkpoint and output per\n"
"                       run, journal.jsonl, results.csv, curves.png,\n"
"                       accuracy.png [sweep]\n"
"      --no-plots       do not draw the charts\n"
"      --tensorboard DIR\n"
"                       TensorBoard event files of each run in DIR/ID (a\n"
"                       directory a run, so TensorBoard compares them)\n"
"      --report         print the leaderboard of the sweep in --dir,\n"
"                       running or finished; when none runs, write its\n"
"                       results.csv and charts (shards merged)\n"
"  -h, --help           show this help\n"
"  -V, --version        show versions\n"
"\n"
"%s.\n"
"Options after -- go to every run (e.g. -- --epochs 5 --data DIR); a key\n"
"overrides them.  halving and hyperband rank on validation accuracy: the\n"
"runs need --val N.  Running the same sweep again continues it: runs that\n"
"finished are kept, the others continue from their checkpoints\n"
"(DIR/run-ID.ckpt), with the figures of runs trained straight through.\n"
"Under `mpirun -np R`, rank 0 schedules and ranks 1..R-1 train.  Ctrl-C\n"
"stops the runs and keeps what finished (exit 130).\n",
            mlp_config_ncores(), keys);
    mlp_cli_exit_status(f, "the sweep ran and at least one run ended ok "
                        "(results.csv has each\n       run's status)",
                        "no run ended ok, or an error (the sweep directory, "
                        "the charts)", MLP_EXIT_LINE_INTERRUPTED);
}

/* --shard K/N: 1 <= K <= N <= 1000. */
static int parse_shard(const char *arg, unsigned *k, unsigned *n)
{
    unsigned long long a, b;
    const char *slash = strchr(arg, '/');
    char first[32];

    if (slash == NULL || (size_t)(slash - arg) >= sizeof(first))
        return mlp_error_set(MLP_EUSAGE, "option '--shard': '%s' is not "
                             "K/N (e.g. 2/4)", arg);
    memcpy(first, arg, (size_t)(slash - arg));
    first[slash - arg] = '\0';
    if (mlp_cli_parse_uint("--shard", first, 1, 1000, &a) < 0 ||
        mlp_cli_parse_uint("--shard", slash + 1, 1, 1000, &b) < 0)
        return MLP_EUSAGE;
    if (a > b)
        return mlp_error_set(MLP_EUSAGE, "option '--shard': shard %llu of "
                             "%llu does not exist (K is 1 to N)", a, b);
    *k = (unsigned)a;
    *n = (unsigned)b;
    return 0;
}

int mlp_cmd_sweep(int argc, char **argv, FILE *out)
{
    mlp_sweep_opts_t o;
    mlp_grid_t g;
    mlp_space_t sp;
    unsigned long long v, samples = 0;
    /* options given, for the checks of what goes with what */
    int c, nopt = argc, rc = 0, ngrids = 0, nspaces = 0, report = 0;
    int given_search = 0, given_eta = 0, given_min = 0, given_other = 0;

    memset(&o, 0, sizeof(o));
    memset(&g, 0, sizeof(g));
    memset(&sp, 0, sizeof(sp));
    o.dir = "sweep";
    o.parallel = 1;
    o.threads = 0; /* the machine's cores */
    o.plots = 1;
    o.err = stderr; /* progress lines and warnings */
    o.search = MLP_SEARCH_GRID;
    o.eta = 3;
    o.min_epochs = 1;
    o.seed = 1;
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
        given_other += c != 'd' && c != 'N' && c != 'R' && c != 'h' &&
                       c != 'V';
        switch (c) {
        case 'g':
            if ((rc = mlp_grid_add(&g, optarg)) < 0)
                goto out;
            ngrids++;
            break;
        case 'S':
            if ((rc = mlp_space_add(&sp, optarg)) < 0)
                goto out;
            nspaces++;
            break;
        case 'n':
            if ((rc = mlp_cli_parse_uint("--samples", optarg, 1,
                                  MLP_SWEEP_MAX_POINTS, &samples)) < 0)
                goto out;
            break;
        case 's':
            if ((rc = mlp_cli_parse_uint("--seed", optarg,
                                          0, UINT64_MAX, &v)) < 0)
                goto out;
            o.seed = v;
            break;
        case 'x': {
            int k = -1;

            for (int i = 0; mlp_search_names[i] != NULL; i++)
                if (strcmp(optarg, mlp_search_names[i]) == 0)
                    k = i;
            if (k < 0) {
                rc = mlp_error_set(MLP_EUSAGE, "option '--search': unknown "
                                   "search '%s' (grid, random, halving, "
                                   "hyperband)", optarg);
                goto out;
            }
            o.search = (mlp_search_kind_t)k;
            given_search = 1;
            break;
        }
        case 'E':
            if ((rc = mlp_cli_parse_uint("--eta", optarg, 2, 1000, &v)) < 0)
                goto out;
            o.eta = (unsigned)v;
            given_eta = 1;
            break;
        case 'm':
            if ((rc = mlp_cli_parse_uint("--min-epochs", optarg, 1, 1000000,
                                         &v)) < 0)
                goto out;
            o.min_epochs = (unsigned)v;
            given_min = 1;
            break;
        case 'A':
            o.async = 1;
            break;
        case 'k':
            if ((rc = parse_shard(optarg, &o.shard, &o.nshards)) < 0)
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
        case 'R':
            report = 1;
            break;
        case 'B':
            if (optarg[0] == '\0') {
                rc = mlp_error_set(MLP_EUSAGE, "option '--tensorboard': "
                                   "empty directory name");
                goto out;
            }
            o.tensorboard = optarg;
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
    if (report) {
        if (given_other > 0 || o.fixed != NULL) {
            rc = mlp_error_set(MLP_EUSAGE, "option '--report' reads the sweep "
                               "in --dir: it takes only --dir and "
                               "--no-plots");
            goto out;
        }
        rc = mlp_sweep_report(&o, out);
        goto out;
    }
    if (o.tensorboard != NULL &&
        (rc = mlp_tfevents_check_dir(o.tensorboard)) < 0) {
        rc = mlp_error_prefix(rc, "option '--tensorboard'");
        goto out;
    }
    if (ngrids == 0 && nspaces == 0) {
        rc = mlp_error_set(MLP_EUSAGE, "option '--grid' or '--space' is "
                           "required, e.g. --grid 'lr=0.1,0.5 "
                           "act=relu,tanh'");
        goto out;
    }
    if (ngrids > 0 && nspaces > 0) {
        rc = mlp_error_set(MLP_EUSAGE, "options '--grid' and '--space' do "
                           "not mix: a list in --space is a choice "
                           "(--space 'act=relu,tanh lr=loguniform(...)')");
        goto out;
    }
    if (nspaces > 0 && !given_search)
        o.search = MLP_SEARCH_RANDOM;
    if (nspaces > 0 && o.search == MLP_SEARCH_GRID) {
        rc = mlp_error_set(MLP_EUSAGE, "option '--search grid': a space has "
                           "no grid; use random, halving or hyperband");
        goto out;
    }
    if (nspaces > 0 && o.search == MLP_SEARCH_RANDOM && samples == 0) {
        rc = mlp_error_set(MLP_EUSAGE, "option '--space' draws points: give "
                           "--samples N");
        goto out;
    }
    if (o.search == MLP_SEARCH_HYPERBAND && samples > 0) {
        rc = mlp_error_set(MLP_EUSAGE, "option '--samples': hyperband's "
                           "brackets set the number of points");
        goto out;
    }
    if (o.search != MLP_SEARCH_HALVING && o.search != MLP_SEARCH_HYPERBAND &&
        (given_eta || given_min || o.async)) {
        rc = mlp_error_set(MLP_EUSAGE, "option '--%s' is for --search halving "
                           "or hyperband", given_eta ? "eta"
                           : given_min ? "min-epochs" : "async");
        goto out;
    }
    if (o.nshards > 0 && (o.search == MLP_SEARCH_HALVING || o.async)) {
        rc = mlp_error_set(MLP_EUSAGE, "option '--shard' splits runs that do "
                           "not wait for each other; %s ranks all its runs "
                           "together: run it in one process or under mpirun "
                           "(mpirun -np R mlptrain sweep ...)",
                           o.async ? "--async" : "--search halving");
        goto out;
    }
    if (o.nshards > 0 && mlp_dist_size() > 1) {
        rc = mlp_error_set(MLP_EUSAGE, "option '--shard' splits a sweep "
                           "between processes you start; under mpirun the "
                           "ranks share it already");
        goto out;
    }
    /* A grid's sample, as before a search existed: the same points for the
     * same seed. */
    if (ngrids > 0 && samples > 0 &&
        (rc = mlp_grid_sample(&g, (size_t)samples, o.seed)) < 0)
        goto out;
    o.samples = nspaces > 0 ? (size_t)samples : 0;
    rc = mlp_sweep_run(&o, ngrids > 0 ? &g : NULL, nspaces > 0 ? &sp : NULL,
                       out);
out:
    mlp_grid_free(&g);
    mlp_space_free(&sp);
    return rc;
}
