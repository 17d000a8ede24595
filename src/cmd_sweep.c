/*
 * cmd_sweep: `mlptrain sweep (--grid SPEC... | --space SPEC...) [OPTIONS]
 * [-- TRAINING OPTIONS]` and `mlptrain sweep --dir DIR --report`: parse
 * the sweep's options, build the grid or the space (grid.h, space.h) and
 * run the sweep or its report (sweep.h), its progress on stderr.
 */
#include <stdlib.h>
#include <string.h>

#include "mlptrain/cli.h"
#include "mlptrain/commands.h"
#include "mlptrain/dist.h"
#include "mlptrain/error.h"
#include "mlptrain/options.h"
#include "mlptrain/sweep.h"
#include "mlptrain/tfevents.h"

/* The sweep's command line: mostly the sweep library's own options. */
typedef struct {
    mlp_sweep_opts_t so;
    mlp_grid_t grid;        /* --grid's points (each --grid adds) */
    mlp_space_t space;      /* --space's keys */
    size_t samples;         /* 0: all (a space: the search's default) */
    int no_plots;
    int report;
} sweep_args_t;

static int add_grid(void *field, const char *spec)
{
    return mlp_grid_add(field, spec);
}

static int add_space(void *field, const char *spec)
{
    return mlp_space_add(field, spec);
}

/* --shard K/N: 1 <= K <= N <= 1000, into so's shard and nshards. */
static int parse_shard(void *field, const char *arg)
{
    mlp_sweep_opts_t *so = field;
    unsigned long long a, b;
    const char *slash = strchr(arg, '/');
    char first[32];

    if (slash == NULL || (size_t)(slash - arg) >= sizeof(first))
        return mlp_error_set(MLP_EUSAGE, "option '--shard': '%s' is not "
                             "K/N (e.g. 2/4)", arg);
    memcpy(first, arg, (size_t)(slash - arg));
    first[slash - arg] = '\0';
    if (mlp_options_parse_uint("--shard", first, 1, 1000, &a) < 0 ||
        mlp_options_parse_uint("--shard", slash + 1, 1, 1000, &b) < 0)
        return MLP_EUSAGE;
    if (a > b)
        return mlp_error_set(MLP_EUSAGE, "option '--shard': shard %llu of "
                             "%llu does not exist (K is 1 to N)", a, b);
    so->shard = (unsigned)a;
    so->nshards = (unsigned)b;
    return 0;
}

#define OWN(F) MLP_CLI_FIELD(sweep_args_t, F)

static const mlp_option_t opt_grid = {
    .name = "grid", .letter = 'g', .section = "Points",
    .type = MLP_OPT_CALLBACK, OWN(grid), .set = add_grid, .metavar = "SPEC",
    .help = "KEY=V1,V2,... items separated by spaces, e.g. 'lr=0.1,0.5 "
            "hidden=256,1024:512 act=relu,tanh'; every combination is a "
            "point; repeat --grid to add the combinations of another spec",
    .sample = "lr=0.1,0.5"};
static const mlp_option_t opt_space = {
    .name = "space", .section = "Points", .type = MLP_OPT_CALLBACK,
    OWN(space), .set = add_space, .metavar = "SPEC",
    .help = "KEY=DISTRIBUTION items: uniform(LO,HI), loguniform(LO,HI), "
            "quniform(LO,HI,Q), qloguniform(LO,HI,Q), choice(V1,V2,...) or "
            "V1,V2,..., e.g. 'lr=loguniform(1e-4,1e-1) "
            "hidden=choice(256,1024:512)'; repeat to add keys",
    .sample = "lr=loguniform(1e-4,1e-1)"};
static const mlp_option_t opt_samples = {
    .name = "samples", .section = "Points", .type = MLP_OPT_SIZE,
    OWN(samples), .lo = 1, .hi = MLP_SWEEP_MAX_POINTS, .metavar = "N",
    .help = "the grid's N distinct points drawn from --seed, or N draws of "
            "the space",
    .shown = "all; a space: required with --search random, eta^(rungs-1) "
             "with halving",
    .sample = "4"};
static const mlp_option_t opt_seed = {
    .name = "seed", .section = "Points", .type = MLP_OPT_U64, OWN(so.seed),
    .lo = 0, .hi = UINT64_MAX, .def = 1, .metavar = "N",
    .help = "seed of --samples, the space's draws and hyperband's deal",
    .sample = "7"};
static const mlp_option_t opt_search = {
    .name = "search", .section = "Search", .type = MLP_OPT_ENUM,
    OWN(so.search), .def = MLP_SEARCH_GRID, .names = mlp_search_names,
    .metavar = "KIND",
    .help = "grid (every point to the end), random (the same, of drawn "
            "points), halving (successive halving: each rung keeps the best "
            "1/eta by val acc) or hyperband (brackets of halving)",
    .shown = "grid; a space: random", .sample = "halving"};
static const mlp_option_t opt_eta = {
    .name = "eta", .section = "Search", .type = MLP_OPT_UINT, OWN(so.eta),
    .lo = 2, .hi = 1000, .def = 3, .metavar = "N",
    .help = "halving, hyperband: 1 of N runs goes on", .sample = "2"};
static const mlp_option_t opt_min_epochs = {
    .name = "min-epochs", .section = "Search", .type = MLP_OPT_UINT,
    OWN(so.min_epochs), .lo = 1, .hi = 1000000, .def = 1, .metavar = "N",
    .help = "halving, hyperband: the least epochs of a first rung; the "
            "runs' --epochs is the last",
    .sample = "2"};
static const mlp_option_t opt_async = {
    .name = "async", .section = "Search", .type = MLP_OPT_FLAG,
    OWN(so.async),
    .help = "promote as soon as a run ranks in the top 1/eta of those that "
            "reached its rung (ASHA): no waiting for a rung to fill, "
            "promotions depend on timing",
    .shown = "off"};
static const mlp_option_t opt_parallel = {
    .name = "parallel", .letter = 'P', .section = "Processes",
    .type = MLP_OPT_UINT, OWN(so.parallel), .lo = 1, .hi = 256, .def = 1,
    .metavar = "N",
    .help = "runs at once (under mpirun: on each worker rank)",
    .sample = "2"};
static const mlp_option_t opt_threads = {
    .name = "threads", .letter = 't', .section = "Processes",
    .type = MLP_OPT_INT, OWN(so.threads), .lo = 1, .hi = MLP_MAX_THREADS,
    .metavar = "N",
    .help = "cores the runs share: each run gets N/P compute threads",
    .shown = "the online cores", .sample = "2", .flags = MLP_OPT_ZERO_AUTO};
static const mlp_option_t opt_shard = {
    .name = "shard", .section = "Processes", .type = MLP_OPT_CALLBACK,
    OWN(so), .set = parse_shard, .metavar = "K/N",
    .help = "run only the K-th of N slices of the runs (of the brackets "
            "with hyperband) into a shared --dir",
    .sample = "1/2"};
static const mlp_option_t opt_dir = {
    .name = "dir", .letter = 'd', .section = "Processes",
    .type = MLP_OPT_TEXT, OWN(so.dir), .defstr = "sweep", .metavar = "DIR",
    .help = "sweep directory: a log, checkpoint and output per run, "
            "journal.jsonl, results.csv, curves.png, accuracy.png",
    .sample = "sw", .flags = MLP_OPT_NOT_EMPTY | MLP_OPT_DIR};
static const mlp_option_t opt_no_plots = {
    .name = "no-plots", .section = "Processes", .type = MLP_OPT_FLAG,
    OWN(no_plots), .help = "do not draw the charts", .shown = ""};
static const mlp_option_t opt_tensorboard = {
    .name = "tensorboard", .section = "Processes", .type = MLP_OPT_TEXT,
    OWN(so.tensorboard), .metavar = "DIR",
    .help = "TensorBoard event files of each run in DIR/ID (a directory a "
            "run, so TensorBoard compares them)",
    .shown = "none", .sample = "tb",
    .flags = MLP_OPT_NOT_EMPTY | MLP_OPT_DIR};
static const mlp_option_t opt_report = {
    .name = "report", .section = "Processes", .type = MLP_OPT_FLAG,
    OWN(report),
    .help = "print the leaderboard of the sweep in --dir, running or "
            "finished; when none runs, write its results.csv and charts "
            "(shards merged)",
    .shown = ""};
#undef OWN

/* In --help order, which is also the order an abbreviation resolves in
 * ("--s": --space, --samples, --seed, --search, --shard). */
static const mlp_cli_opt_t sweep_options[] = {
    MLP_CLI_USE(&opt_grid),       MLP_CLI_USE(&opt_space),
    MLP_CLI_USE(&opt_samples),    MLP_CLI_USE(&opt_seed),
    MLP_CLI_USE(&opt_search),     MLP_CLI_USE(&opt_eta),
    MLP_CLI_USE(&opt_min_epochs), MLP_CLI_USE(&opt_async),
    MLP_CLI_USE(&opt_shard),      MLP_CLI_USE(&opt_parallel),
    MLP_CLI_USE(&opt_threads),    MLP_CLI_USE(&opt_dir),
    MLP_CLI_USE(&opt_no_plots),   MLP_CLI_USE(&opt_report),
    MLP_CLI_USE(&opt_tensorboard), MLP_CLI_USE(NULL),
};

#define HALVING_OR_HYPERBAND \
    (MLP_V(MLP_SEARCH_HALVING) | MLP_V(MLP_SEARCH_HYPERBAND))
#define REPORT_ALONE(OPT)                                                    \
    {.x = &opt_report, .kind = MLP_RULE_CONFLICTS, .y = OPT,                 \
     .why = "it reads the sweep in --dir: it takes only --dir and "          \
            "--no-plots"}

static const mlp_rule_t sweep_rules[] = {
    {.x = &opt_grid, .kind = MLP_RULE_REQUIRED, .alt = &opt_space,
     .unless = &opt_report, .why = "e.g. --grid 'lr=0.1,0.5 act=relu,tanh'"},
    {.x = &opt_grid, .kind = MLP_RULE_CONFLICTS, .y = &opt_space,
     .why = "a list in --space is a choice (--space 'act=relu,tanh "
            "lr=loguniform(...)')"},
    {.x = &opt_space, .kind = MLP_RULE_NEEDS, .y = &opt_search,
     .yvalues = MLP_V(MLP_SEARCH_RANDOM) | HALVING_OR_HYPERBAND,
     .why = "a space has no grid"},
    {.x = &opt_search, .xvalues = MLP_V(MLP_SEARCH_RANDOM),
     .kind = MLP_RULE_NEEDS, .y = &opt_samples, .when = &opt_space,
     .why = "the points of a space are drawn"},
    {.x = &opt_samples, .kind = MLP_RULE_CONFLICTS, .y = &opt_search,
     .yvalues = MLP_V(MLP_SEARCH_HYPERBAND),
     .why = "hyperband's brackets set the number of points"},
    {.x = &opt_eta, .kind = MLP_RULE_NEEDS, .y = &opt_search,
     .yvalues = HALVING_OR_HYPERBAND},
    {.x = &opt_min_epochs, .kind = MLP_RULE_NEEDS, .y = &opt_search,
     .yvalues = HALVING_OR_HYPERBAND},
    {.x = &opt_async, .kind = MLP_RULE_NEEDS, .y = &opt_search,
     .yvalues = HALVING_OR_HYPERBAND},
    {.x = &opt_shard, .kind = MLP_RULE_CONFLICTS, .y = &opt_async,
     .why = "a shard splits runs that do not wait for each other, and "
            "--async ranks all its runs together: run it in one process or "
            "under mpirun (mpirun -np R mlptrain sweep ...)"},
    {.x = &opt_shard, .kind = MLP_RULE_CONFLICTS, .y = &opt_search,
     .yvalues = MLP_V(MLP_SEARCH_HALVING),
     .why = "a shard splits runs that do not wait for each other, and "
            "halving ranks all its runs together: run it in one process or "
            "under mpirun (mpirun -np R mlptrain sweep ...)"},
    /* (--search last: --eta, --min-epochs and --async need it) */
    REPORT_ALONE(&opt_grid), REPORT_ALONE(&opt_space),
    REPORT_ALONE(&opt_samples), REPORT_ALONE(&opt_seed),
    REPORT_ALONE(&opt_eta), REPORT_ALONE(&opt_min_epochs),
    REPORT_ALONE(&opt_async), REPORT_ALONE(&opt_shard),
    REPORT_ALONE(&opt_parallel), REPORT_ALONE(&opt_threads),
    REPORT_ALONE(&opt_tensorboard), REPORT_ALONE(&opt_search),
};

static void own_free(void *own)
{
    sweep_args_t *a = own;

    mlp_grid_free(&a->grid);
    mlp_space_free(&a->space);
}

/* A space searches at random unless told otherwise. */
static int resolve(mlp_cli_t *cl)
{
    sweep_args_t *a = cl->own;

    if (mlp_cli_given(cl, &opt_space) && !mlp_cli_given(cl, &opt_search))
        a->so.search = MLP_SEARCH_RANDOM;
    return 0;
}

/* "Keys: lr, hidden, ...", then how the runs go. */
static void epilogue(FILE *f)
{
    char keys[1024];

    snprintf(keys, sizeof(keys), "Keys: %s.", mlp_sweep_keys());
    mlp_cli_wrap(f, 0, 0, keys);
    mlp_cli_wrap(f, 0, 0,
                 "Options after -- go to every run (e.g. -- --epochs 5 "
                 "--data DIR); a key overrides them.  halving and hyperband "
                 "rank on validation accuracy: the runs need --val N.  "
                 "Running the same sweep again continues it: runs that "
                 "finished are kept, the others continue from their "
                 "checkpoints (DIR/run-ID.ckpt), with the figures of runs "
                 "trained straight through.  Under `mpirun -np R`, rank 0 "
                 "schedules and ranks 1..R-1 train.  Ctrl-C stops the runs "
                 "and keeps what finished (exit 130).");
}

const mlp_command_t mlp_command_sweep = {
    .name = "sweep",
    .summary = "train every point of a grid of options, rank them",
    .run = mlp_cmd_sweep,
    .usage = "sweep (--grid SPEC... | --space SPEC...) [OPTIONS]\n"
             "      [-- TRAINING OPTIONS]\n"
             "sweep --dir DIR --report",
    .about = "Train points of a grid or of a search space, several at once, "
             "and rank them; or report on a sweep directory.",
    .options = sweep_options,
    MLP_CLI_RULES(sweep_rules),
    .own_size = sizeof(sweep_args_t),
    .dashdash = 1,
    .hint = " (training options go after --)",
    .resolve = resolve,
    .own_free = own_free,
    .epilogue = epilogue,
    .exit_ok = "the sweep ran and at least one run ended ok (results.csv "
               "has each run's status)",
    .exit_error = "no run ended ok, or an error (the sweep directory, the "
                  "charts)",
    .exit_lines = MLP_EXIT_LINE_INTERRUPTED,
};

int mlp_cmd_sweep(int argc, char **argv, FILE *out)
{
    sweep_args_t *a = malloc(sizeof(*a));
    mlp_sweep_opts_t *o;
    mlp_cli_t cl;
    int rc;

    if (a == NULL)
        return mlp_error_set(MLP_ENOMEM, "out of memory");
    memset(a, 0, sizeof(*a));
    o = &a->so;
    if ((rc = mlp_cli_parse(&mlp_command_sweep, argc, argv, out, NULL, a,
                            &cl)) != 0) {
        rc = rc < 0 ? rc : 0;
        goto out;
    }
    o->plots = !a->no_plots;
    o->err = stderr; /* progress lines and warnings */
    o->fixed = cl.rest;
    o->nfixed = (size_t)cl.nrest;
    o->parse_run = mlp_cmd_train_parse_values;
    if (a->report) {
        if (cl.rest != NULL) {
            rc = mlp_error_set(MLP_EUSAGE, "option '--report' reads the "
                               "sweep in --dir: it takes no training "
                               "options (after --)");
            goto out;
        }
        rc = mlp_sweep_report(o, out);
        goto out;
    }
    if (o->tensorboard != NULL &&
        (rc = mlp_tfevents_check_dir(o->tensorboard)) < 0) {
        rc = mlp_error_prefix(rc, "option '--tensorboard'");
        goto out;
    }
    if (o->nshards > 0 && mlp_dist_size() > 1) {
        rc = mlp_error_set(MLP_EUSAGE, "option '--shard' splits a sweep "
                           "between processes you start; under mpirun the "
                           "ranks share it already");
        goto out;
    }
    /* A grid's sample, as before a search existed: the same points for the
     * same seed. */
    if (mlp_cli_given(&cl, &opt_grid) && a->samples > 0 &&
        (rc = mlp_grid_sample(&a->grid, a->samples, o->seed)) < 0)
        goto out;
    o->samples = mlp_cli_given(&cl, &opt_space) ? a->samples : 0;
    rc = mlp_sweep_run(o, mlp_cli_given(&cl, &opt_grid) ? &a->grid : NULL,
                       mlp_cli_given(&cl, &opt_space) ? &a->space : NULL,
                       out);
out:
    own_free(a);
    free(a);
    return rc;
}
