/*
 * sweep_journal: a sweep's journal, DIR/journal.jsonl (a shard's:
 * DIR/journal-K-of-N.jsonl), and --report's reading of every journal of
 * a directory (see sweep_run.h).
 *
 * Append-only JSON lines, each written whole with one write(2) and
 * fdatasync'ed before the sweep goes on, by the one process that holds
 * the journal's lock (a shard has its own file: no two writers ever share
 * one, on NFS or anywhere).  Records:
 *   {"type":"sweep", "plan":H, "search", "async", "eta", "epochs",
 *    "seed", "shard", "keys":[...], "brackets":[{"rungs":[...],
 *    "points":n}], "pid", "time"}      each time a sweep starts;
 *   {"type":"point", "run", "point", "bracket", "values":[...]}
 *                                      each run of a plan new to the file;
 *   {"type":"start", "run", "from", "to"}, {"type":"done", "run",
 *    "status", "epochs"}               each job;
 *   {"type":"rung", ...}, {"type":"promote", "run", "rung", "epochs"}
 *                                      each ranking and promotion;
 *   {"type":"end", "status", "trained_epochs", "grid_epochs"}.
 * H is a hash of the plan (the search, its rungs and every run id with
 * its bracket): a sweep that finds its own plan last in the file takes
 * the promotions recorded after it (asynchronous ones cannot be
 * recomputed; synchronous ones are checked against the logs), else it
 * starts a new plan.
 *
 * Crashes: a kill mid-write leaves at most a last line without its
 * newline; readers ignore it and the next writer cuts it off before
 * appending.  Any other bad line is an error naming the file and line.
 * Reads are bounded: lines of at most MLP_RUNLOG_LINE_MAX bytes, at most
 * MLP_SWEEP_MAX_POINTS points and MLP_SWEEP_MAX_POINTS x
 * MLP_SEARCH_MAX_RUNGS promotions per plan; run ids must be ids, keys
 * sweep keys, values printable.
 */
#define _GNU_SOURCE /* qsort_r */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "mlptrain/error.h"
#include "mlptrain/grid.h"
#include "mlptrain/infile.h"
#include "mlptrain/outfile.h"
#include "mlptrain/rng.h"
#include "sweep_run.h"

#define JOURNAL_VERSION 1
#define MAX_PROMOS ((size_t)MLP_SWEEP_MAX_POINTS * MLP_SEARCH_MAX_RUNGS)

/* A point of a journal's plan. */
typedef struct {
    char id[32];
    size_t point, bracket;
    char *vals[MLP_SWEEP_MAX_KEYS]; /* aligned with the plan's keys */
    int running;                    /* a "start" without its "done" */
} jpoint_t;

/* What one journal file says of its last plan. */
typedef struct {
    const char *path;
    int have;                       /* a "sweep" record was read */
    char plan[24];
    mlp_search_kind_t search;
    int async;
    unsigned eta, epochs;
    unsigned shard, nshards;        /* the shard it is; 0, 0: unsharded */
    size_t nkeys;
    const char *keys[MLP_SWEEP_MAX_KEYS]; /* canonical, static */
    size_t nbr;
    mlp_bracket_t br[MLP_SEARCH_MAX_BRACKETS];
    size_t npoints, pcap;
    jpoint_t *points;
    size_t npromos, qcap;
    jpromo_t *promos;
    off_t valid;                    /* bytes of whole lines */
} journal_t;

static void journal_free(journal_t *j)
{
    for (size_t i = 0; i < j->npoints; i++)
        for (size_t k = 0; k < MLP_SWEEP_MAX_KEYS; k++)
            free(j->points[i].vals[k]);
    free(j->points);
    free(j->promos);
    memset(j, 0, sizeof(*j));
}

/* "run-" and 12 lowercase hex digits: a run id, safe in a path. */
static int is_run_id(const char *s)
{
    if (s == NULL || strncmp(s, "run-", 4) != 0 || strlen(s) != 16)
        return 0;
    for (s += 4; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
            return 0;
    return 1;
}

/* A whole number field in [lo, hi]; -1 when absent or out of range. */
static int whole(json_t *o, const char *name, json_int_t lo, json_int_t hi,
                 json_int_t *v)
{
    json_t *x = json_object_get(o, name);

    if (!json_is_integer(x))
        return -1;
    *v = json_integer_value(x);
    return *v >= lo && *v <= hi ? 0 : -1;
}

/* Room for one more element of size sz in *arr (n used, *cap
 * allocated); -2 when out of memory. */
static int room(void **arr, size_t n, size_t *cap, size_t sz)
{
    void *p;
    size_t c;

    if (n < *cap)
        return 0;
    c = *cap ? 2 * *cap : 64;
    if ((p = realloc(*arr, c * sz)) == NULL)
        return -2;
    *arr = p;
    *cap = c;
    return 0;
}

static jpoint_t *find_point(journal_t *j, const char *id)
{
    for (size_t i = 0; i < j->npoints; i++)
        if (strcmp(j->points[i].id, id) == 0)
            return &j->points[i];
    return NULL;
}

/* A "sweep" record: a new plan resets the points and promotions. */
static int read_sweep(journal_t *j, json_t *rec)
{
    const char *plan = json_string_value(json_object_get(rec, "plan"));
    const char *search = json_string_value(json_object_get(rec, "search"));
    json_t *keys = json_object_get(rec, "keys");
    json_t *brs = json_object_get(rec, "brackets");
    json_int_t v;
    int kind = -1;

    for (int i = 0; search != NULL && mlp_search_names[i] != NULL; i++)
        if (strcmp(search, mlp_search_names[i]) == 0)
            kind = i;
    if (plan == NULL || strlen(plan) >= sizeof(j->plan) || kind < 0 ||
        !json_is_array(keys) || json_array_size(keys) > MLP_SWEEP_MAX_KEYS ||
        !json_is_array(brs) || json_array_size(brs) < 1 ||
        json_array_size(brs) > MLP_SEARCH_MAX_BRACKETS)
        return -1;
    if (!j->have || strcmp(plan, j->plan) != 0) {
        for (size_t i = 0; i < j->npoints; i++)
            for (size_t k = 0; k < MLP_SWEEP_MAX_KEYS; k++) {
                free(j->points[i].vals[k]);
                j->points[i].vals[k] = NULL;
            }
        j->npoints = j->npromos = 0;
    }
    j->have = 1;
    snprintf(j->plan, sizeof(j->plan), "%s", plan);
    j->search = (mlp_search_kind_t)kind;
    j->async = json_is_true(json_object_get(rec, "async"));
    if (whole(rec, "eta", 1, 1000000, &v) < 0)
        return -1;
    j->eta = (unsigned)v;
    if (whole(rec, "epochs", 1, 1000000, &v) < 0)
        return -1;
    j->epochs = (unsigned)v;
    j->shard = j->nshards = 0;
    if (json_is_string(json_object_get(rec, "shard"))) {
        const char *sh = json_string_value(json_object_get(rec, "shard"));
        unsigned k, n;
        int end = 0;

        if (sscanf(sh, "%u/%u%n", &k, &n, &end) != 2 || sh[end] != '\0' ||
            k < 1 || k > n || n > 1000)
            return -1;
        j->shard = k;
        j->nshards = n;
    }
    j->nkeys = json_array_size(keys);
    for (size_t k = 0; k < j->nkeys; k++) {
        const char *name = json_string_value(json_array_get(keys, k));
        const mlp_option_t *o = name != NULL ? mlp_options_find(name) : NULL;

        if (o == NULL || !(o->flags & MLP_OPT_SWEEP))
            return -1;
        j->keys[k] = o->name;
    }
    j->nbr = json_array_size(brs);
    for (size_t b = 0; b < j->nbr; b++) {
        json_t *br = json_array_get(brs, b);
        json_t *rungs = json_object_get(br, "rungs");
        mlp_bracket_t *x = &j->br[b];

        if (!json_is_array(rungs) || json_array_size(rungs) < 1 ||
            json_array_size(rungs) > MLP_SEARCH_MAX_RUNGS ||
            whole(br, "points", 0, MLP_SWEEP_MAX_POINTS, &v) < 0)
            return -1;
        x->npoints = (size_t)v;
        x->nrungs = (unsigned)json_array_size(rungs);
        for (unsigned i = 0; i < x->nrungs; i++) {
            json_t *e = json_array_get(rungs, i);

            if (!json_is_integer(e) || json_integer_value(e) < 1 ||
                json_integer_value(e) > 1000000 ||
                (i > 0 && (unsigned)json_integer_value(e) <= x->epochs[i - 1]))
                return -1;
            x->epochs[i] = (unsigned)json_integer_value(e);
        }
        if (x->epochs[x->nrungs - 1] != j->epochs)
            return -1;
    }
    return 0;
}

static int read_point(journal_t *j, json_t *rec)
{
    const char *id = json_string_value(json_object_get(rec, "run"));
    json_t *vals = json_object_get(rec, "values");
    json_int_t point, bracket;
    jpoint_t *p;

    if (!j->have || !is_run_id(id) ||
        whole(rec, "point", 0, MLP_SWEEP_MAX_POINTS - 1, &point) < 0 ||
        whole(rec, "bracket", 0, (json_int_t)j->nbr - 1, &bracket) < 0 ||
        !json_is_array(vals) || json_array_size(vals) != j->nkeys)
        return -1;
    if (find_point(j, id) != NULL)
        return 0; /* the same plan again */
    if (j->npoints == MLP_SWEEP_MAX_POINTS)
        return -1;
    if (room((void **)&j->points, j->npoints, &j->pcap,
             sizeof(*j->points)) < 0)
        return -2;
    p = &j->points[j->npoints];
    memset(p, 0, sizeof(*p));
    snprintf(p->id, sizeof(p->id), "%s", id);
    p->point = (size_t)point;
    p->bracket = (size_t)bracket;
    j->npoints++;
    for (size_t k = 0; k < j->nkeys; k++) {
        json_t *x = json_array_get(vals, k);
        const char *v = json_string_value(x);

        if (json_is_null(x))
            continue;
        if (v == NULL || v[0] == '\0' || strlen(v) > 255)
            return -1;
        for (const char *c = v; *c; c++)
            if ((unsigned char)*c < 0x20 || *c == 0x7f)
                return -1;
        if ((p->vals[k] = strdup(v)) == NULL)
            return -2;
    }
    return 0;
}

static int read_promote(journal_t *j, json_t *rec)
{
    const char *id = json_string_value(json_object_get(rec, "run"));
    json_int_t rung;

    if (!j->have || !is_run_id(id) ||
        whole(rec, "rung", 1, MLP_SEARCH_MAX_RUNGS - 1, &rung) < 0)
        return -1;
    if (j->npromos == MAX_PROMOS)
        return -1;
    if (room((void **)&j->promos, j->npromos, &j->qcap,
             sizeof(*j->promos)) < 0)
        return -2;
    snprintf(j->promos[j->npromos].id, sizeof(j->promos[0].id), "%s", id);
    j->promos[j->npromos++].rung = (unsigned)rung;
    return 0;
}

/*
 * Read a journal: its last plan and what was recorded after it.  A last
 * line without its newline (a write cut by a kill) is left out of
 * j->valid and ignored.
 */
static int journal_read(const char *path, journal_t *j)
{
    FILE *f = NULL;
    char *line = NULL;
    size_t lineno = 0;
    uint64_t size;
    int fd, rc = 0;

    memset(j, 0, sizeof(*j));
    j->path = path;
    if ((rc = mlp_infile_open(path, &fd, &size)) < 0)
        return rc;
    if ((f = fdopen(fd, "r")) == NULL) {
        close(fd);
        return mlp_error_set(MLP_EIO, "cannot read '%s': %s", path,
                             strerror(errno));
    }
    if ((line = malloc(MLP_RUNLOG_LINE_MAX + 2)) == NULL) {
        rc = mlp_error_set(MLP_ENOMEM, "out of memory reading '%s'", path);
        goto out;
    }
    while (fgets(line, MLP_RUNLOG_LINE_MAX + 2, f) != NULL) {
        size_t n = strlen(line);
        json_t *rec;
        const char *type;
        int r = 0;

        lineno++;
        if (n == 0 || line[n - 1] != '\n') {
            if (feof(f))
                break; /* torn by a kill: not a record */
            rc = mlp_error_set(MLP_EFORMAT, "%s: line %zu is longer than %d "
                               "bytes: not a sweep journal", path, lineno,
                               MLP_RUNLOG_LINE_MAX);
            goto out;
        }
        j->valid += (off_t)n;
        rec = json_loads(line, JSON_REJECT_DUPLICATES, NULL);
        type = json_string_value(json_object_get(rec, "type"));
        if (type == NULL)
            r = -1;
        else if (strcmp(type, "sweep") == 0)
            r = read_sweep(j, rec);
        else if (strcmp(type, "point") == 0)
            r = read_point(j, rec);
        else if (strcmp(type, "promote") == 0)
            r = read_promote(j, rec);
        else if (strcmp(type, "start") == 0 || strcmp(type, "done") == 0) {
            jpoint_t *p = find_point(
                j, json_string_value(json_object_get(rec, "run")));

            if (p != NULL)
                p->running = type[0] == 's';
        }
        json_decref(rec);
        if (r == -2) {
            rc = mlp_error_set(MLP_ENOMEM, "out of memory reading '%s'",
                               path);
            goto out;
        }
        if (r < 0) {
            rc = mlp_error_set(MLP_EFORMAT, "%s: line %zu is not a record of "
                               "a sweep journal (version %d)", path, lineno,
                               JOURNAL_VERSION);
            goto out;
        }
    }
    if (ferror(f))
        rc = mlp_error_set(MLP_EIO, "cannot read '%s': %s", path,
                           strerror(errno));
out:
    free(line);
    fclose(f);
    if (rc < 0)
        journal_free(j);
    return rc;
}

/* ---- writing ---------------------------------------------------------- */

/* The plan's hash, as 16 hex digits. */
static void plan_hash(const sweep_t *s, char *buf, size_t len)
{
    uint64_t x = MLP_RNG_TEXT_INIT;
    char t[128];

    snprintf(t, sizeof(t), "v%d %s async=%d eta=%u epochs=%u shard=%u/%u\n",
             JOURNAL_VERSION, mlp_search_names[s->search], s->async, s->eta,
             s->epochs, s->o->shard, s->o->nshards);
    x = mlp_rng_text(x, t);
    for (size_t b = 0; b < s->nbr; b++)
        for (unsigned i = 0; i < s->br[b].nrungs; i++) {
            snprintf(t, sizeof(t), "b%zu:%u ", b, s->br[b].epochs[i]);
            x = mlp_rng_text(x, t);
        }
    for (size_t k = 0; k < s->nruns; k++) {
        snprintf(t, sizeof(t), "%s %zu %zu\n", s->runs[k].id,
                 s->runs[k].bracket, s->runs[k].point);
        x = mlp_rng_text(x, t);
    }
    snprintf(buf, len, "%016llx", (unsigned long long)x);
}

/* Append rec (stolen) as one line. */
static void append(sweep_t *s, json_t *rec)
{
    char *text = rec != NULL ? json_dumps(rec, JSON_COMPACT) : NULL;
    size_t len, done = 0;

    json_decref(rec);
    if (s->jfd < 0 || text == NULL) {
        if (s->jfd >= 0)
            mlp_sweep_say(s, "mlptrain: warning: the journal: out of "
                             "memory for a record\n");
        free(text);
        return;
    }
    len = strlen(text);
    text[len++] = '\n'; /* json_dumps's NUL becomes the newline */
    while (done < len) {
        ssize_t w = write(s->jfd, text + done, len - done);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            mlp_sweep_say(s, "mlptrain: warning: cannot write the journal "
                             "of '%s': %s\n", s->o->dir, strerror(errno));
            break;
        }
        done += (size_t)w;
    }
    if (done == len && fdatasync(s->jfd) != 0)
        mlp_sweep_say(s, "mlptrain: warning: cannot sync the journal of "
                         "'%s': %s\n", s->o->dir, strerror(errno));
    free(text);
}

void mlp_sweep_journal(sweep_t *s, const char *fmt, ...)
{
    json_error_t e;
    va_list ap;
    json_t *rec;

    if (s->jfd < 0)
        return;
    va_start(ap, fmt);
    rec = json_vpack_ex(&e, 0, fmt, ap);
    va_end(ap);
    append(s, rec);
}

/* The "sweep" record of this sweep; its "point" records when `points`. */
static void write_plan(sweep_t *s, const char *plan, int points)
{
    json_t *rec, *keys = json_array(), *brs = json_array();
    char shard[32], when[32], seed[32];
    time_t now = time(NULL);
    struct tm tm;

    for (size_t k = 0; keys != NULL && k < s->g->nkeys; k++)
        json_array_append_new(keys, json_string(s->g->keys[k]));
    for (size_t b = 0; brs != NULL && b < s->nbr; b++) {
        json_t *r = json_array();

        for (unsigned i = 0; r != NULL && i < s->br[b].nrungs; i++)
            json_array_append_new(r, json_integer(s->br[b].epochs[i]));
        json_array_append_new(brs, json_pack("{s:o,s:I}", "rungs", r,
                                             "points",
                                             (json_int_t)s->br[b].npoints));
    }
    snprintf(shard, sizeof(shard), "%u/%u", s->o->shard, s->o->nshards);
    snprintf(seed, sizeof(seed), "%llu", (unsigned long long)s->o->seed);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
    rec = json_pack("{s:s,s:i,s:s,s:s,s:b,s:I,s:I,s:s,s:s*,s:o,s:o,s:I,"
                    "s:s,s:b}",
                    "type", "sweep", "version", JOURNAL_VERSION, "plan", plan,
                    "search", mlp_search_names[s->search], "async", s->async,
                    "eta", (json_int_t)s->eta, "epochs",
                    (json_int_t)s->epochs, "seed", seed, "shard",
                    s->o->nshards > 0 ? shard : NULL, "keys", keys,
                    "brackets", brs, "pid", (json_int_t)getpid(), "time",
                    when, "resumed", !points);
    append(s, rec);
    for (size_t k = 0; points && k < s->nruns; k++) {
        const run_t *r = &s->runs[k];
        json_t *vals = json_array();

        for (size_t i = 0; vals != NULL && i < s->g->nkeys; i++)
            json_array_append_new(vals, json_string(r->vals[i]));
        append(s, json_pack("{s:s,s:s,s:I,s:I,s:o}", "type", "point", "run",
                            r->id, "point", (json_int_t)r->point, "bracket",
                            (json_int_t)r->bracket, "values", vals));
    }
}

int mlp_sweep_journal_open(sweep_t *s)
{
    char path[MLP_PATH_MAX + 64], plan[24];
    journal_t j;
    struct stat st;
    int rc;

    memset(&j, 0, sizeof(j));
    snprintf(path, sizeof(path), "%s/journal%s.jsonl", s->o->dir, s->suffix);
    if (stat(path, &st) == 0 && (rc = journal_read(path, &j)) < 0)
        return rc;
    if ((rc = mlp_out_open_log(path, 1, &s->jfd)) < 0) {
        s->jfd = -1;
        journal_free(&j);
        return rc;
    }
    /* A line cut short by a kill goes: the next record starts a line. */
    if (fstat(s->jfd, &st) == 0 && st.st_size > j.valid) {
        mlp_sweep_say(s, "mlptrain: warning: '%s': a torn last line (%lld "
                         "bytes, a write cut by a kill) removed\n", path,
                      (long long)(st.st_size - j.valid));
        if (ftruncate(s->jfd, j.valid) != 0) {
            rc = mlp_error_set(MLP_EIO, "cannot truncate '%s': %s", path,
                               strerror(errno));
            journal_free(&j);
            return rc;
        }
    }
    plan_hash(s, plan, sizeof(plan));
    if (j.have && strcmp(j.plan, plan) == 0 && j.npromos > 0) {
        /* The decisions an earlier sweep of this plan made. */
        s->jp = j.promos;
        s->njp = j.npromos;
        j.promos = NULL;
        j.npromos = 0;
    }
    write_plan(s, plan, !(j.have && strcmp(j.plan, plan) == 0));
    journal_free(&j);
    return 0;
}

void mlp_sweep_journal_close(sweep_t *s)
{
    if (s->jfd >= 0)
        close(s->jfd); /* the lock goes with it */
    s->jfd = -1;
    free(s->jp);
    s->jp = NULL;
    s->njp = 0;
}

/* ---- --report: every journal of the directory ------------------------ */

/* "journal.jsonl" or "journal-K-of-N.jsonl". */
static int is_journal_name(const char *n)
{
    unsigned k, m;
    int end = 0;

    if (strcmp(n, "journal.jsonl") == 0)
        return 1;
    return sscanf(n, "journal-%u-of-%u.jsonl%n", &k, &m, &end) == 2 &&
           end > 0 && n[end] == '\0' && k >= 1 && k <= m;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_point(const void *a, const void *b)
{
    const run_t *x = a, *y = b;

    return x->point < y->point ? -1 : x->point > y->point;
}

/* Journal j's search is s's (the first journal's). */
static int same_search(const sweep_t *s, const journal_t *j)
{
    if (s->search != j->search || s->async != j->async ||
        s->epochs != j->epochs || s->nbr != j->nbr ||
        (s->search >= MLP_SEARCH_HALVING && s->eta != j->eta))
        return 0;
    for (size_t b = 0; b < s->nbr; b++)
        if (s->br[b].nrungs != j->br[b].nrungs ||
            memcmp(s->br[b].epochs, j->br[b].epochs,
                   s->br[b].nrungs * sizeof(unsigned)) != 0)
            return 0;
    return 1;
}

/* Journal j's points as runs of s (a run of another journal once). */
static int add_runs(sweep_t *s, const journal_t *j)
{
    run_t *runs;

    if (s->nruns + j->npoints > MLP_SWEEP_MAX_POINTS)
        return mlp_error_set(MLP_EFORMAT, "%s: more than %d runs in the "
                             "journals of '%s'", j->path,
                             MLP_SWEEP_MAX_POINTS, s->o->dir);
    runs = realloc(s->runs, (s->nruns + j->npoints + 1) * sizeof(*runs));
    if (runs == NULL)
        return mlp_error_set(MLP_ENOMEM, "out of memory");
    s->runs = runs;
    for (size_t i = 0; i < j->npoints; i++) {
        const jpoint_t *p = &j->points[i];
        const char *keys[MLP_SWEEP_MAX_KEYS], *vals[MLP_SWEEP_MAX_KEYS];
        run_t *r = &s->runs[s->nruns];
        size_t n = 0, off = 0;
        int dup = 0, rc;

        for (size_t k = 0; k < s->nruns && !dup; k++)
            dup = strcmp(s->runs[k].id, p->id) == 0;
        if (dup)
            continue;
        memset(r, 0, sizeof(*r));
        snprintf(r->id, sizeof(r->id), "%s", p->id);
        r->point = p->point;
        r->bracket = p->bracket;
        r->epochs = j->epochs;
        r->target = s->br[r->bracket].epochs[0];
        r->journal_running = p->running;
        for (size_t k = 0; k < j->nkeys; k++)
            if (p->vals[k] != NULL) {
                keys[n] = j->keys[k];
                vals[n++] = p->vals[k];
            }
        if ((rc = mlp_grid_add_point(&s->pts, n, keys, vals)) < 0)
            return rc;
        s->nruns++;
        s->nslots = s->nruns;
        /* its values in the merged keys' columns (the keys only grow) */
        for (size_t k = 0; k < j->nkeys; k++) {
            size_t slot = 0;

            while (s->pts.keys[slot] != j->keys[k])
                slot++;
            if (p->vals[k] != NULL &&
                (r->vals[slot] = strdup(p->vals[k])) == NULL)
                return mlp_error_set(MLP_ENOMEM, "out of memory");
            if (p->vals[k] != NULL && off < sizeof(r->label))
                off += (size_t)snprintf(r->label + off,
                                        sizeof(r->label) - off, "%s%s=%s",
                                        off ? " " : "", j->keys[k],
                                        p->vals[k]);
        }
    }
    return 0;
}

int mlp_sweep_journal_load(sweep_t *s)
{
    DIR *d = opendir(s->o->dir);
    struct dirent *e;
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0, first = 1;
    unsigned nshards = 0;
    unsigned char seen[1001] = {0}; /* shard k's journal read */

    if (d == NULL)
        return mlp_error_set(MLP_EIO, "cannot read the sweep directory "
                             "'%s': %s", s->o->dir, strerror(errno));
    while ((e = readdir(d)) != NULL) {
        char **p;

        if (!is_journal_name(e->d_name))
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 8;
            if ((p = realloc(names, cap * sizeof(*p))) == NULL) {
                rc = mlp_error_set(MLP_ENOMEM, "out of memory");
                goto out;
            }
            names = p;
        }
        if ((names[n] = strdup(e->d_name)) == NULL) {
            rc = mlp_error_set(MLP_ENOMEM, "out of memory");
            goto out;
        }
        n++;
    }
    if (n == 0) {
        rc = mlp_error_set(MLP_EIO, "'%s' has no sweep journal "
                           "(journal.jsonl): not a sweep directory of this "
                           "mlptrain", s->o->dir);
        goto out;
    }
    qsort(names, n, sizeof(*names), cmp_str);
    for (size_t i = 0; i < n && rc == 0; i++) {
        char path[MLP_PATH_MAX + 300];
        journal_t j;

        snprintf(path, sizeof(path), "%s/%s", s->o->dir, names[i]);
        if ((rc = journal_read(path, &j)) < 0)
            break;
        if (!j.have) {
            journal_free(&j);
            continue;
        }
        if (first) {
            s->search = j.search;
            s->async = j.async;
            s->eta = j.eta;
            s->epochs = j.epochs;
            s->nbr = j.nbr;
            memcpy(s->br, j.br, sizeof(s->br));
            first = 0;
        } else if (!same_search(s, &j)) {
            rc = mlp_error_set(MLP_EUSAGE, "the journals of '%s' are of "
                               "different searches (%s: %s): report one "
                               "sweep per directory", s->o->dir, names[i],
                               mlp_search_names[j.search]);
            journal_free(&j);
            break;
        }
        if (j.nshards > 0) {
            nshards = j.nshards;
            seen[j.shard] = 1;
        }
        rc = add_runs(s, &j);
        /* the promotions, for the asynchronous rule */
        for (size_t k = 0; rc == 0 && k < j.npromos; k++)
            for (size_t r = 0; r < s->nruns; r++)
                if (strcmp(s->runs[r].id, j.promos[k].id) == 0 &&
                    j.promos[k].rung < s->br[s->runs[r].bracket].nrungs &&
                    j.promos[k].rung > s->runs[r].rung) {
                    s->runs[r].rung = j.promos[k].rung;
                    s->runs[r].target =
                        s->br[s->runs[r].bracket].epochs[j.promos[k].rung];
                }
        journal_free(&j);
    }
    if (rc == 0 && first)
        rc = mlp_error_set(MLP_EIO, "'%s': its journals hold no sweep",
                           s->o->dir);
    /* Shards that have not started yet: their runs are missing. */
    for (unsigned k = 1; rc == 0 && k <= nshards; k++)
        if (!seen[k])
            mlp_sweep_say(s, "mlptrain: warning: shard %u of %u has no "
                          "journal (journal-%u-of-%u.jsonl) yet: its runs "
                          "are not in the report\n", k, nshards, k,
                          nshards);
    /* A key some journal lacks shows as "-". */
    for (size_t r = 0; rc == 0 && r < s->nruns; r++)
        for (size_t k = 0; k < s->pts.nkeys && rc == 0; k++)
            if (s->runs[r].vals[k] == NULL &&
                (s->runs[r].vals[k] = strdup("-")) == NULL)
                rc = mlp_error_set(MLP_ENOMEM, "out of memory");
    s->g = &s->pts;
    if (rc == 0)
        qsort(s->runs, s->nruns, sizeof(*s->runs), cmp_point);
out:
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    closedir(d);
    return rc;
}
