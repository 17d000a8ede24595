/*
 * sweep_sched: a sweep's plan and its runs' progress through the rungs
 * (see sweep_run.h and search.h): the points and their runs, each run's
 * state from its files, the rankings that promote runs, and which job
 * starts next.  No processes: sweep.c starts and reaps the jobs.
 *
 * A run's progress is in its files, never only in memory: its log's end
 * record (final, or paused at some epoch) and its checkpoint.  So the same
 * functions serve a sweep starting, a sweep resuming after any kill, and
 * --report.  The synchronous ranking of a rung is a pure function of its
 * runs' logs (their validation accuracies, then their ids), made once
 * every run of the rung has reached it: the promotions are the same
 * whatever the order runs finished in, and whichever process (-P,
 * shards, MPI ranks) trained them.  The asynchronous rule depends on that
 * order: its promotions are taken from the journal when a sweep resumes.
 */
#define _GNU_SOURCE /* qsort_r */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "mlptrain/checkpoint.h"
#include "mlptrain/error.h"
#include "mlptrain/grid.h"
#include "mlptrain/rng.h"
#include "sweep_run.h"

char **mlp_sweep_argv(const sweep_t *s, size_t p, size_t extra, int *argc)
{
    size_t cap = 2 + s->o->nfixed + 2 * MLP_SWEEP_MAX_KEYS + extra + 1, n = 0;
    char **argv = calloc(cap, sizeof(*argv));

    if (argv == NULL)
        return NULL;
    argv[n++] = "mlptrain";
    argv[n++] = "train";
    for (size_t i = 0; i < s->o->nfixed; i++)
        argv[n++] = s->o->fixed[i];
    if (p != (size_t)-1)
        n += mlp_grid_argv(s->g, p, argv + n);
    *argc = (int)n;
    return argv;
}

/* Parse argv as the training command line does (o->parse_run), refuse
 * what the sweep sets itself, then the rules; MLP_EUSAGE with `what`. */
static int parse_train(const sweep_t *s, int argc, char **argv,
                       const char *what, mlp_config_t *cfg)
{
    int rc;

    if (s->o->parse_run == NULL)
        return mlp_error_set(MLP_EINVAL, "sweep: no parser of the runs' "
                             "options");
    rc = s->o->parse_run(argc, argv, cfg);
    if (rc < 0)
        return mlp_error_prefix(MLP_EUSAGE, "%s", what);
    if (rc > 0)
        return mlp_error_set(MLP_EUSAGE, "%s: --help and --version are not "
                                         "training options", what);
    if (cfg->log_path[0] != '\0')
        return mlp_error_set(MLP_EUSAGE, "%s: the sweep sets '--log' of "
                                         "each run (DIR/run-ID.jsonl)", what);
    if (cfg->plot_path[0] != '\0')
        return mlp_error_set(MLP_EUSAGE, "%s: '--plot' would draw every run "
                                         "into one file; the sweep draws "
                                         "DIR/curves.png", what);
    if (cfg->save_path[0] != '\0' || cfg->resume_path[0] != '\0')
        return mlp_error_set(MLP_EUSAGE, "%s: '--save' and '--resume' would "
                                         "share one checkpoint between runs; "
                                         "the sweep saves each run to "
                                         "DIR/run-ID.ckpt", what);
    if (cfg->tensorboard_dir[0] != '\0')
        return mlp_error_set(MLP_EUSAGE, "%s: '--tensorboard' would write "
                                         "every run into one directory; give "
                                         "it to the sweep (before --): each "
                                         "run writes DIR/ID", what);
    if (cfg->until > 0)
        return mlp_error_set(MLP_EUSAGE, "%s: the sweep sets '--until' of "
                                         "each run (its rung's epochs)", what);
    /* then the rules between options, as the training command line's */
    if (mlp_config_check_rules(cfg, 0) < 0)
        return mlp_error_prefix(MLP_EUSAGE, "%s", what);
    return 0;
}

/* A searching sweep: rungs, rankings on validation accuracy. */
static int searching(const sweep_t *s)
{
    return s->search == MLP_SEARCH_HALVING ||
           s->search == MLP_SEARCH_HYPERBAND;
}

/*
 * The points of the search into s->g: the caller's grid as it is, or
 * hyperband's points dealt from it in an order drawn from the seed (its
 * brackets need more points than one), or the space's draws.
 */
static int make_points(sweep_t *s)
{
    const mlp_sweep_opts_t *o = s->o;
    size_t need = mlp_search_points(s->br, s->nbr);
    int rc = 0;

    if (s->space_in != NULL) {
        size_t n = o->samples;

        if (n == 0 && s->search == MLP_SEARCH_HALVING) {
            /* eta^(rungs - 1): one run reaches the last rung */
            n = 1;
            for (unsigned i = 1; i < s->br[0].nrungs; i++)
                n *= s->eta;
        }
        if (s->search == MLP_SEARCH_HYPERBAND)
            n = need;
        if (n == 0 || n > MLP_SWEEP_MAX_POINTS)
            return mlp_error_set(MLP_EUSAGE, "option '--samples': a search "
                                 "of a space draws 1 to %d points, not %zu",
                                 MLP_SWEEP_MAX_POINTS, n);
        if ((rc = mlp_space_sample(s->space_in, o->seed, 0, n, &s->pts)) < 0)
            return rc;
        s->g = &s->pts;
    } else if (s->search == MLP_SEARCH_HYPERBAND) {
        const mlp_grid_t *g = s->grid_in;
        mlp_perm_t perm;

        if (g->npoints < need)
            return mlp_error_set(MLP_EUSAGE, "option '--search hyperband': "
                                 "its %zu brackets need %zu points and the "
                                 "grid has %zu; draw them from a space "
                                 "(--space) or search it with --search "
                                 "halving", s->nbr, need, g->npoints);
        mlp_perm_init(&perm, g->npoints, o->seed, 0x68797062ULL /* "hypb" */);
        for (size_t i = 0; i < need && rc == 0; i++) {
            size_t p = (size_t)mlp_perm_at(&perm, i), n = 0;
            const char *keys[MLP_SWEEP_MAX_KEYS], *vals[MLP_SWEEP_MAX_KEYS];

            for (size_t k = 0; k < g->nkeys; k++)
                if (g->values[p * MLP_SWEEP_MAX_KEYS + k] != NULL) {
                    keys[n] = g->keys[k];
                    vals[n++] = g->values[p * MLP_SWEEP_MAX_KEYS + k];
                }
            rc = mlp_grid_add_point(&s->pts, n, keys, vals);
        }
        s->g = &s->pts;
    } else {
        s->g = s->grid_in;
    }
    if (rc == 0 && s->search != MLP_SEARCH_HYPERBAND)
        s->br[0].npoints = s->g->npoints;
    return rc;
}

/* The bracket of point p: hyperband deals the points in bracket order. */
static size_t bracket_of(const sweep_t *s, size_t p)
{
    size_t b = 0, end = s->br[0].npoints;

    while (b + 1 < s->nbr && p >= end)
        end += s->br[++b].npoints;
    return b;
}

/* "grid point 'lr=0.5 hidden=1024:512'" as given, for messages. */
static void point_text(const sweep_t *s, size_t p, char *what, size_t len)
{
    const mlp_grid_t *g = s->g;
    size_t o = (size_t)snprintf(what, len, "%s point '",
                                s->space_in != NULL ? "space" : "grid");

    for (size_t k = 0, first = 1; k < g->nkeys && o < len; k++) {
        const char *v = g->values[p * MLP_SWEEP_MAX_KEYS + k];

        if (v != NULL) {
            o += (size_t)snprintf(what + o, len - o, "%s%s=%s",
                                  first ? "" : " ", g->keys[k], v);
            first = 0;
        }
    }
    if (o + 2 < len)
        strcat(what, "'");
}

int mlp_sweep_plan(sweep_t *s)
{
    const mlp_sweep_opts_t *o = s->o;
    char **argv = NULL, **copy = NULL, what[700];
    mlp_config_t cfg;
    char (*seen)[32] = NULL; /* the distinct runs' ids so far */
    size_t unique = 0;
    int argc, rc = 0;

    argv = mlp_sweep_argv(s, (size_t)-1, 0, &argc);
    copy = calloc(2 + o->nfixed + 2 * MLP_SWEEP_MAX_KEYS + 1, sizeof(*copy));
    if (argv == NULL || copy == NULL) {
        rc = mlp_error_set(MLP_ENOMEM, "out of memory");
        goto out;
    }
    /* The fixed options alone first, for a message that points at them,
     * and the epochs every run plans: the last rung. */
    memcpy(copy, argv, (size_t)argc * sizeof(*copy));
    if ((rc = parse_train(s, argc, copy, "training options after --", &cfg)) <
        0)
        goto out;
    s->epochs = cfg.epochs;
    if ((rc = mlp_search_brackets(s->search, cfg.epochs, o->min_epochs,
                                  s->eta, 0, s->br, &s->nbr)) < 0 ||
        (rc = make_points(s)) < 0)
        goto out;
    s->nslots = s->g->npoints;
    if ((s->runs = calloc(s->nslots > 0 ? s->nslots : 1,
                          sizeof(*s->runs))) == NULL ||
        (seen = calloc(s->nslots > 0 ? s->nslots : 1, sizeof(*seen))) ==
            NULL) {
        rc = mlp_error_set(MLP_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t p = 0; p < s->g->npoints; p++) {
        run_t *r = &s->runs[s->nruns];
        size_t off = 0;
        int dup = 0;

        free(argv);
        if ((argv = mlp_sweep_argv(s, p, 0, &argc)) == NULL) {
            rc = mlp_error_set(MLP_ENOMEM, "out of memory");
            goto out;
        }
        point_text(s, p, what, sizeof(what));
        memcpy(copy, argv, (size_t)argc * sizeof(*copy));
        if ((rc = parse_train(s, argc, copy, what, &cfg)) < 0)
            goto out;
        if (searching(s) && cfg.epochs != s->epochs) {
            rc = mlp_error_set(MLP_EUSAGE, "%s: --search %s ranks runs at "
                               "epochs of one plan: 'epochs' cannot be a key "
                               "(give --epochs after --)", what,
                               mlp_search_names[s->search]);
            goto out;
        }
        if (searching(s) && cfg.val == 0) {
            rc = mlp_error_set(MLP_EUSAGE, "%s: --search %s ranks runs by "
                               "validation accuracy: give the runs a "
                               "validation split (e.g. -- --val 5000)", what,
                               mlp_search_names[s->search]);
            goto out;
        }
        mlp_sweep_run_id(&cfg, r->id, sizeof(r->id));
        /* Every shard plans every point: the slices are of the distinct
         * runs, the same in each. */
        for (size_t j = 0; j < unique && !dup; j++)
            dup = strcmp(seen[j], r->id) == 0;
        if (dup)
            continue;
        memcpy(seen[unique++], r->id, sizeof(r->id));
        r->point = p;
        r->bracket = bracket_of(s, p);
        if (o->nshards > 0 &&
            (s->search == MLP_SEARCH_HYPERBAND ? r->bracket : unique - 1) %
                    o->nshards != o->shard - 1)
            continue; /* another shard's */
        r->epochs = cfg.epochs;
        r->rung = 0;
        /* a grid's run trains to its own end (epochs may be a key) */
        r->target = searching(s) ? s->br[r->bracket].epochs[0] : cfg.epochs;
        r->state = R_PENDING;
        for (size_t k = 0; k < s->g->nkeys; k++) {
            char v[256];

            mlp_sweep_key_value(&cfg, s->g->keys[k], v, sizeof(v));
            if ((r->vals[k] = strdup(v)) == NULL) {
                rc = mlp_error_set(MLP_ENOMEM, "out of memory");
                goto out;
            }
            if (off < sizeof(r->label))
                off += (size_t)snprintf(r->label + off,
                                        sizeof(r->label) - off, "%s%s=%s",
                                        k ? " " : "", s->g->keys[k], v);
        }
        s->nruns++;
    }
out:
    free(seen);
    free(copy);
    free(argv);
    return rc;
}

/* ---- a run's state from its files ------------------------------------ */

/* Run r's log holds the record of epoch e. */
static int log_has_epoch(const run_t *r, unsigned e)
{
    for (size_t i = 0; i < r->log.nepochs; i++)
        if (r->log.epochs[i].epoch == e)
            return 1;
    return 0;
}

/*
 * A job that did not come to its end continues from the run's checkpoint
 * when that loads and is short of the target; one at or past a target
 * short of the plan, with the log's epoch records that far, is the run
 * paused there (killed between its last save and its end record).  Any
 * other checkpoint (unreadable, corrupt, or holding every epoch while the
 * log has no end) is removed, with a warning, and the run starts from
 * scratch.  Returns 1 when the run is found at its target.
 */
static int check_checkpoint(sweep_t *s, run_t *r)
{
    char path[MLP_PATH_MAX + 64];
    mlp_checkpoint_t ck;

    memset(&ck, 0, sizeof(ck));
    mlp_sweep_path(s, r, "ckpt", path, sizeof(path));
    if (access(path, F_OK) != 0)
        return 0;
    if (mlp_checkpoint_load(path, &ck) < 0) {
        mlp_sweep_say(s, "mlptrain: warning: %s; %s starts from scratch\n",
                      mlp_error_message(), r->id);
    } else if (ck.epoch >= r->target && r->target < r->epochs &&
               ck.batches_done == 0 && log_has_epoch(r, r->target)) {
        mlp_checkpoint_free(&ck);
        return 1;
    } else if (ck.epoch >= r->target) {
        mlp_sweep_say(s, "mlptrain: warning: '%s' has %u epochs but the "
                         "log has no end at %u; %s starts from scratch\n",
                      path, ck.epoch, r->target, r->id);
    } else {
        r->resume = 1;
        r->ck_epoch = ck.epoch;
        r->ck_batches = ck.batches_done;
        mlp_checkpoint_free(&ck);
        return 0;
    }
    mlp_checkpoint_free(&ck);
    if (unlink(path) != 0 && errno != ENOENT)
        mlp_sweep_say(s, "mlptrain: warning: cannot remove '%s': %s\n", path,
                      strerror(errno));
    return 0;
}

void mlp_sweep_classify(sweep_t *s, run_t *r)
{
    char path[MLP_PATH_MAX + 64];
    const mlp_runlog_t *l = &r->log;

    r->resume = 0;
    r->ck_epoch = 0;
    r->ck_batches = 0;
    r->message[0] = '\0';
    mlp_runlog_free(&r->log);
    mlp_sweep_path(s, r, "jsonl", path, sizeof(path));
    if (access(path, F_OK) == 0 && mlp_runlog_read(path, &r->log) < 0)
        mlp_runlog_free(&r->log);
    if (l->has_end && mlp_sweep_final_status(l->status)) {
        r->state = R_DONE;
        r->earlier = !r->started;
        snprintf(r->status, sizeof(r->status), "%s", l->status);
        snprintf(r->message, sizeof(r->message), "%s", l->message);
        return;
    }
    if ((l->has_end && strcmp(l->status, "paused") == 0 &&
         l->end_epochs >= r->target && log_has_epoch(r, r->target)) ||
        (!s->report && check_checkpoint(s, r))) {
        r->state = R_WAITING;
        snprintf(r->status, sizeof(r->status), "waiting");
        return;
    }
    r->state = R_PENDING;
    snprintf(r->status, sizeof(r->status), "pending");
}

/* ---- rankings and promotions ----------------------------------------- */

/* A run ranked at epoch e: its validation figure there, when it has one
 * (reached e paused or promoted, or ended ok); failed runs have none. */
static int figure_at(const run_t *r, unsigned rung_index, unsigned e,
                     double *v)
{
    int healthy = r->rung > rung_index || r->state == R_WAITING ||
                  (r->state == R_DONE && strcmp(r->status, "ok") == 0);

    *v = 0.0;
    return healthy && mlp_sweep_val_at(r, e, v);
}

typedef struct {
    const sweep_t *s;
    unsigned rung, epochs;
} rank_ctx_t;

/* Ranked at a rung: runs with a figure first, by it (the higher first),
 * then by run id. */
static int cmp_at(const void *a, const void *b, void *arg)
{
    const rank_ctx_t *c = arg;
    const run_t *x = &c->s->runs[*(const size_t *)a];
    const run_t *y = &c->s->runs[*(const size_t *)b];
    double vx, vy;
    int hx = figure_at(x, c->rung, c->epochs, &vx);
    int hy = figure_at(y, c->rung, c->epochs, &vy);

    if (hx != hy)
        return hy - hx;
    if (hx && vx != vy)
        return vx < vy ? 1 : -1;
    return strcmp(x->id, y->id);
}

/* Run r goes on to rung i + 1: its new target, its state from its files
 * (it may have got there in an earlier sweep). */
static void promote(sweep_t *s, run_t *r, unsigned i)
{
    const mlp_bracket_t *b = &s->br[r->bracket];

    r->rung = i + 1;
    r->target = b->epochs[i + 1];
    if (!s->report) {
        mlp_sweep_journal(s, "{s:s,s:s,s:I,s:I}", "type", "promote", "run",
                          r->id, "rung", (json_int_t)r->rung, "epochs",
                          (json_int_t)r->target);
        mlp_sweep_say(s, "promote %s to rung %u of %u (%u epochs): %s\n",
                      r->id, r->rung + 1, b->nrungs, r->target, r->label);
    }
    mlp_sweep_classify(s, r);
}

/* The runs of bracket b in rung i or past it, ranked at rung i; *n. */
static size_t *rung_members(const sweep_t *s, size_t b, unsigned i,
                            size_t *n)
{
    size_t *idx = malloc((s->nruns > 0 ? s->nruns : 1) * sizeof(*idx));
    rank_ctx_t c = {s, i, s->br[b].epochs[i]};

    *n = 0;
    if (idx == NULL)
        return NULL;
    for (size_t k = 0; k < s->nruns; k++)
        if (s->runs[k].bracket == b && s->runs[k].rung >= i)
            idx[(*n)++] = k;
    qsort_r(idx, *n, sizeof(*idx), cmp_at, &c);
    return idx;
}

/* Every run of rung i has reached it or ended (not by an interrupt). */
static int rung_settled(const sweep_t *s, size_t b, unsigned i)
{
    for (size_t k = 0; k < s->nruns; k++) {
        const run_t *r = &s->runs[k];

        if (r->bracket != b || r->rung != i)
            continue;
        if (r->state == R_PENDING || r->state == R_RUNNING ||
            (r->state == R_DONE && strcmp(r->status, "interrupted") == 0))
            return 0;
    }
    return 1;
}

/* Synchronous: rank rung i of bracket b, promote its best max(1, n /
 * eta) with a figure, stop the others that wait. */
static size_t decide(sweep_t *s, size_t b, unsigned i)
{
    size_t n, quota, changed = 0, *idx = rung_members(s, b, i, &n);

    if (idx == NULL)
        return 0;
    quota = mlp_search_quota(n, s->eta, 1);
    if (!s->report)
        mlp_sweep_journal(s, "{s:s,s:I,s:I,s:I,s:I,s:I}", "type", "rung",
                          "bracket", (json_int_t)b, "rung", (json_int_t)i,
                          "epochs", (json_int_t)s->br[b].epochs[i], "runs",
                          (json_int_t)n, "promoted", (json_int_t)quota);
    for (size_t k = 0; k < n; k++) {
        run_t *r = &s->runs[idx[k]];
        double v;

        if (k < quota && figure_at(r, i, s->br[b].epochs[i], &v)) {
            /* waiting, or ended ok (in an earlier sweep, say): it goes
             * on, to what its files hold of the next rung */
            if (r->rung == i) {
                promote(s, r, i);
                changed++;
            }
        } else if (r->state == R_WAITING) {
            r->state = R_DONE;
            snprintf(r->status, sizeof(r->status), "stopped");
            changed++;
        }
    }
    s->decided[b][i] = 1;
    free(idx);
    return changed;
}

/* ASHA: the runs waiting at rung i among the best f / eta of the f that
 * reached it go on; `whole` (nothing of the bracket left to run): the
 * rung is complete and ranked as the synchronous rule does, at least one
 * going on. */
static size_t asha(sweep_t *s, size_t b, unsigned i, int whole)
{
    size_t n, f = 0, changed = 0, *idx = rung_members(s, b, i, &n);
    double v;

    if (idx == NULL)
        return 0;
    while (f < n && figure_at(&s->runs[idx[f]], i, s->br[b].epochs[i], &v))
        f++;
    for (size_t k = 0; k < mlp_search_quota(f, s->eta, whole); k++) {
        run_t *r = &s->runs[idx[k]];

        if (r->rung == i &&
            (r->state == R_WAITING ||
             (r->state == R_DONE && strcmp(r->status, "ok") == 0))) {
            promote(s, r, i);
            changed++;
        }
    }
    free(idx);
    return changed;
}

/* No job of bracket b is left to run. */
static int quiet_bracket(const sweep_t *s, size_t b)
{
    for (size_t k = 0; k < s->nruns; k++)
        if (s->runs[k].bracket == b && (s->runs[k].state == R_PENDING ||
                                        s->runs[k].state == R_RUNNING))
            return 0;
    return 1;
}

size_t mlp_sweep_advance(sweep_t *s)
{
    size_t total = 0, n;

    do {
        n = 0;
        for (size_t b = 0; b < s->nbr; b++) {
            for (unsigned i = 0; i + 1 < s->br[b].nrungs; i++) {
                if (s->async) {
                    /* --report shows the journal's promotions only */
                    if (!s->report)
                        n += asha(s, b, i, quiet_bracket(s, b));
                } else if (!s->decided[b][i]) {
                    if (!rung_settled(s, b, i))
                        break;
                    n += decide(s, b, i);
                }
            }
            /* Asynchronously, a run waits as long as a later finisher may
             * push it into the top 1/eta; with nothing left to run in its
             * bracket, it stops. */
            if (s->async && !s->running_elsewhere && quiet_bracket(s, b))
                for (size_t k = 0; k < s->nruns; k++) {
                    run_t *r = &s->runs[k];

                    if (r->bracket == b && r->state == R_WAITING &&
                        r->rung + 1 < s->br[b].nrungs) {
                        r->state = R_DONE;
                        snprintf(r->status, sizeof(r->status), "stopped");
                        n++;
                    }
                }
        }
        total += n;
    } while (n > 0);
    return total;
}

run_t *mlp_sweep_next(sweep_t *s)
{
    run_t *best = NULL;

    for (size_t k = 0; k < s->nruns; k++) {
        run_t *r = &s->runs[k];

        if (r->state == R_PENDING && (best == NULL || r->rung > best->rung))
            best = r;
    }
    return best;
}

size_t mlp_sweep_active(const sweep_t *s)
{
    size_t n = 0;

    for (size_t k = 0; k < s->nruns; k++)
        n += s->runs[k].state == R_PENDING || s->runs[k].state == R_RUNNING;
    return n;
}

void mlp_sweep_epochs(const sweep_t *s, unsigned long long *trained,
                      unsigned long long *grid)
{
    *trained = *grid = 0;
    for (size_t k = 0; k < s->nruns; k++) {
        const run_t *r = &s->runs[k];
        unsigned last = 0;

        for (size_t i = 0; i < r->log.nepochs; i++)
            if (r->log.epochs[i].epoch <= r->target &&
                r->log.epochs[i].epoch > last)
                last = r->log.epochs[i].epoch;
        *trained += last;
        *grid += r->epochs;
    }
}
