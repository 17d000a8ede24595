/*
 * sweep: grids of training options, run as child processes, ranked (see
 * sweep.h).
 *
 * Processes: this one plans (every point's options are parsed here with
 * the training parser, so a bad value stops the sweep before any run),
 * takes the directory's lock (an flock on DIR/.lock held for the sweep's
 * life: a second sweep on DIR is refused), then starts at most `parallel`
 * children of the mlptrain binary with posix_spawnp, each in its own
 * process group with stdin from /dev/null and stdout and stderr to
 * DIR/run-ID.out.  SIGINT, SIGTERM, SIGHUP and SIGCHLD are blocked while
 * runs go and taken with sigtimedwait, so no signal is missed between a
 * check and a wait and no handler runs; children get the original mask and
 * default actions back.  Results come from the children's JSON-lines logs
 * (runlog.h), not from their output.
 *
 * Children die with the sweep, however it ends (kill -9 too): each gets
 * MLPTRAIN_PARENT_PID=<the sweep's pid> in its environment, and
 * mlp_sweep_child_start (first thing in main) asks the kernel for SIGTERM
 * when its parent dies (PR_SET_PDEATHSIG), then checks that its parent is
 * still that pid (it may have died before the request).  SIGTERM stops a
 * run as Ctrl-C does: it saves its checkpoint, and the next sweep resumes
 * it.
 *
 * Each run saves DIR/run-ID.ckpt after every epoch and when interrupted; a
 * later sweep continues a run that did not finish from that checkpoint
 * (--resume, appending to the same log), so its figures are those of an
 * uninterrupted run.
 *
 * Non-goals: scheduling by cost, remote machines, early stopping of bad
 * runs.
 */
#define _GNU_SOURCE /* qsort_r */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mlptrain/checkpoint.h"
#include "mlptrain/clock.h"
#include "mlptrain/cli.h"
#include "mlptrain/curves.h"
#include "mlptrain/error.h"
#include "mlptrain/outfile.h"
#include "mlptrain/rng.h"
#include "mlptrain/runlog.h"
#include "mlptrain/sweep.h"

/* ---- grid -------------------------------------------------------------- */

static const struct {
    const char *key;
    const char *flag;
} key_table[] = {
    {"lr", "--lr"},
    {"hidden", "--hidden"},
    {"act", "--act"},
    {"batch", "--batch"},
    {"epochs", "--epochs"},
    {"momentum", "--momentum"},
    {"weight-decay", "--weight-decay"},
    {"init-std", "--init-std"},
    {"seed", "--seed"},
    {"limit-train", "--limit-train"},
    {"limit-test", "--limit-test"},
    {"workers", "--workers"},
};
#define NKEYS (sizeof(key_table) / sizeof(key_table[0]))

const char *mlp_sweep_keys(void)
{
    return "lr, hidden, act, batch, epochs, momentum, weight-decay, "
           "init-std, seed, limit-train, limit-test, workers";
}

/* Index of key in key_table ('_' reads as '-'), or -1. */
static int key_index(const char *key)
{
    for (size_t i = 0; i < NKEYS; i++) {
        const char *a = key_table[i].key, *b = key;

        while (*a != '\0' && (*a == *b || (*a == '-' && *b == '_'))) {
            a++;
            b++;
        }
        if (*a == '\0' && *b == '\0')
            return (int)i;
    }
    return -1;
}

const char *mlp_sweep_key_flag(const char *key)
{
    int i = key_index(key);

    return i < 0 ? NULL : key_table[i].flag;
}

int mlp_grid_add(mlp_grid_t *g, const char *spec)
{
    char *buf = NULL, *tok, *save = NULL;
    char **vals[NKEYS] = {NULL};
    size_t nv[NKEYS], slot[NKEYS], nk = 0, count = 1, nkeys = g->nkeys;
    const char *keys[MLP_SWEEP_MAX_KEYS];
    int kidx[NKEYS];
    const char **values;
    char **bufs;
    int rc = 0;

    memcpy(keys, g->keys, sizeof(keys));
    if ((buf = strdup(spec)) == NULL)
        return mlp_error_set(MLP_ENOMEM, "out of memory");
    for (tok = strtok_r(buf, " \t\n", &save); tok != NULL;
         tok = strtok_r(NULL, " \t\n", &save)) {
        char *eq = strchr(tok, '='), *p;
        int k;

        if (eq == NULL || eq == tok) {
            rc = mlp_error_set(MLP_EUSAGE,
                               "option '--grid': '%s' is not KEY=V1,V2,...",
                               tok);
            goto out;
        }
        *eq = '\0';
        if ((k = key_index(tok)) < 0) {
            rc = mlp_error_set(MLP_EUSAGE,
                               "option '--grid': unknown key '%s' (keys: %s)",
                               tok, mlp_sweep_keys());
            goto out;
        }
        for (size_t j = 0; j < nk; j++)
            if (kidx[j] == k) {
                rc = mlp_error_set(MLP_EUSAGE,
                                   "option '--grid': key '%s' appears twice",
                                   key_table[k].key);
                goto out;
            }
        kidx[nk] = k;
        nv[nk] = 1;
        for (p = eq + 1; *p != '\0'; p++)
            nv[nk] += *p == ',';
        if ((vals[nk] = malloc(nv[nk] * sizeof(char *))) == NULL) {
            rc = mlp_error_set(MLP_ENOMEM, "out of memory");
            goto out;
        }
        /* Split the values in place: "a,b,c" -> "a" "b" "c". */
        p = eq + 1;
        for (size_t v = 0; v < nv[nk]; v++) {
            char *comma = strchr(p, ',');

            if (comma != NULL)
                *comma = '\0';
            if (*p == '\0') {
                rc = mlp_error_set(MLP_EUSAGE,
                                   "option '--grid': key '%s' has an empty "
                                   "value",
                                   key_table[k].key);
                nk++;
                goto out;
            }
            vals[nk][v] = p;
            p = comma != NULL ? comma + 1 : p + strlen(p);
        }
        count *= nv[nk];
        nk++;
        if (count > MLP_SWEEP_MAX_POINTS)
            break;
    }
    if (nk == 0) {
        rc = mlp_error_set(MLP_EUSAGE,
                           "option '--grid': '%s' has no KEY=V1,V2,...",
                           spec);
        goto out;
    }
    if (count > MLP_SWEEP_MAX_POINTS ||
        g->npoints + count > MLP_SWEEP_MAX_POINTS) {
        rc = mlp_error_set(MLP_EUSAGE,
                           "option '--grid': more than %d points; sample "
                           "them with --samples N",
                           MLP_SWEEP_MAX_POINTS);
        goto out;
    }
    /* Each key's column in the union of every spec's keys. */
    for (size_t j = 0; j < nk; j++) {
        const char *name = key_table[kidx[j]].key;

        for (slot[j] = 0; slot[j] < nkeys && keys[slot[j]] != name;
             slot[j]++)
            ;
        if (slot[j] == nkeys)
            keys[nkeys++] = name;
    }
    values = realloc(g->values, (g->npoints + count) * MLP_SWEEP_MAX_KEYS *
                                    sizeof(*values));
    if (values == NULL) {
        rc = mlp_error_set(MLP_ENOMEM, "out of memory");
        goto out;
    }
    g->values = values;
    bufs = realloc(g->bufs, (g->nbufs + 1) * sizeof(*bufs));
    if (bufs == NULL) {
        rc = mlp_error_set(MLP_ENOMEM, "out of memory");
        goto out;
    }
    g->bufs = bufs;
    /* The cartesian product, the first key varying slowest. */
    for (size_t i = 0; i < count; i++) {
        const char **row = values + (g->npoints + i) * MLP_SWEEP_MAX_KEYS;
        size_t rest = i;

        for (size_t k = 0; k < MLP_SWEEP_MAX_KEYS; k++)
            row[k] = NULL;
        for (size_t j = nk; j-- > 0;) {
            row[slot[j]] = vals[j][rest % nv[j]];
            rest /= nv[j];
        }
    }
    g->bufs[g->nbufs++] = buf;
    buf = NULL;
    g->npoints += count;
    g->nkeys = nkeys;
    memcpy(g->keys, keys, sizeof(keys));
out:
    for (size_t j = 0; j < nk; j++)
        free(vals[j]);
    free(buf);
    return rc;
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;

    return x < y ? -1 : x > y;
}

int mlp_grid_sample(mlp_grid_t *g, size_t n, uint64_t seed)
{
    size_t *idx;
    mlp_rng_t r;

    if (n >= g->npoints)
        return 0;
    if ((idx = malloc(g->npoints * sizeof(*idx))) == NULL)
        return mlp_error_set(MLP_ENOMEM, "out of memory");
    for (size_t i = 0; i < g->npoints; i++)
        idx[i] = i;
    /* The first n steps of a Fisher-Yates shuffle: n distinct points. */
    mlp_rng_seed(&r, seed, 0x73776565ULL /* "swee" */);
    for (size_t i = 0; i < n; i++) {
        size_t j = i + (size_t)(mlp_rng_u64(&r) % (g->npoints - i)), t;

        t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
    }
    qsort(idx, n, sizeof(*idx), cmp_size);
    for (size_t i = 0; i < n; i++) /* idx[i] >= i: copies go forward */
        memmove(g->values + i * MLP_SWEEP_MAX_KEYS,
                g->values + idx[i] * MLP_SWEEP_MAX_KEYS,
                MLP_SWEEP_MAX_KEYS * sizeof(*g->values));
    g->npoints = n;
    free(idx);
    return 0;
}

void mlp_grid_free(mlp_grid_t *g)
{
    if (g == NULL)
        return;
    for (size_t i = 0; i < g->nbufs; i++)
        free(g->bufs[i]);
    free(g->bufs);
    free(g->values);
    memset(g, 0, sizeof(*g));
}

size_t mlp_grid_argv(const mlp_grid_t *g, size_t p, char **argv)
{
    const char *const *row = g->values + p * MLP_SWEEP_MAX_KEYS;
    size_t n = 0;

    for (size_t k = 0; k < g->nkeys; k++)
        if (row[k] != NULL) {
            argv[n++] = (char *)mlp_sweep_key_flag(g->keys[k]);
            argv[n++] = (char *)row[k];
        }
    return n;
}

void mlp_sweep_key_value(const mlp_config_t *cfg, const char *key, char *buf,
                         size_t len)
{
    int k = key_index(key);
    const char *name = k < 0 ? "" : key_table[k].key;

    buf[0] = '\0';
    if (strcmp(name, "lr") == 0)
        snprintf(buf, len, "%g", (double)cfg->lr);
    else if (strcmp(name, "hidden") == 0) {
        size_t off = 0;

        if (cfg->nhidden == 0)
            snprintf(buf, len, "none");
        for (size_t i = 0; i < cfg->nhidden && off < len; i++)
            off += (size_t)snprintf(buf + off, len - off, "%s%zu",
                                    i ? ":" : "", cfg->hidden[i]);
    } else if (strcmp(name, "act") == 0)
        snprintf(buf, len, "%s", mlp_act_name(cfg->act));
    else if (strcmp(name, "batch") == 0)
        snprintf(buf, len, "%zu", cfg->batch);
    else if (strcmp(name, "epochs") == 0)
        snprintf(buf, len, "%u", cfg->epochs);
    else if (strcmp(name, "momentum") == 0)
        snprintf(buf, len, "%g", (double)cfg->momentum);
    else if (strcmp(name, "weight-decay") == 0)
        snprintf(buf, len, "%g", (double)cfg->weight_decay);
    else if (strcmp(name, "init-std") == 0)
        snprintf(buf, len, "%g", (double)cfg->init_std);
    else if (strcmp(name, "seed") == 0)
        snprintf(buf, len, "%llu", (unsigned long long)cfg->seed);
    else if (strcmp(name, "limit-train") == 0 ||
             strcmp(name, "limit-test") == 0) {
        size_t v = name[6] == 'r' ? cfg->limit_train : cfg->limit_test;

        if (v == 0)
            snprintf(buf, len, "all");
        else
            snprintf(buf, len, "%zu", v);
    } else if (strcmp(name, "workers") == 0)
        snprintf(buf, len, "%u", cfg->workers);
}

void mlp_sweep_run_id(const mlp_config_t *cfg, char *id, size_t len)
{
    char s[MLP_PATH_MAX + 1024], h[256];
    uint64_t x = 0xcbf29ce484222325ULL; /* FNV-1a */

    mlp_sweep_key_value(cfg, "hidden", h, sizeof(h));
    snprintf(s, sizeof(s),
             "hidden=%s act=%s init-std=%.9g plain=%d lr=%.9g momentum=%.9g "
             "wd=%.9g batch=%zu epochs=%u seed=%llu data=%s limit-train=%zu "
             "limit-test=%zu workers=%u slots=%zu",
             h, mlp_act_name(cfg->act), (double)cfg->init_std,
             cfg->plain_weights, (double)cfg->lr, (double)cfg->momentum,
             (double)cfg->weight_decay, cfg->batch, cfg->epochs,
             (unsigned long long)cfg->seed, cfg->data_dir, cfg->limit_train,
             cfg->limit_test, cfg->workers, cfg->slots);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        x = (x ^ *p) * 0x100000001b3ULL;
    snprintf(id, len, "run-%012llx",
             (unsigned long long)(mlp_rng_mix(x) >> 16));
}

/* ---- runner ------------------------------------------------------------ */

enum { R_TODO, R_RUNNING, R_DONE };

typedef struct {
    size_t point;                     /* in the grid */
    char id[32];
    char label[512];                  /* "hidden=1024 lr=0.5 act=relu" */
    char *vals[MLP_SWEEP_MAX_KEYS];   /* effective values of the grid keys */
    int state;
    int earlier;                      /* finished by an earlier sweep */
    unsigned epochs;                  /* --epochs of the run */
    int resume;                       /* continue from DIR/run-ID.ckpt */
    unsigned ck_epoch;                /* its epochs done */
    size_t ck_batches;                /* and batches of the next one */
    off_t log_size;                   /* of the log it appends to, at start */
    pid_t pid;
    double t0;                        /* start, monotonic seconds */
    double wall;                      /* seconds it ran, if no end record */
    char status[32];
    char message[512];
    mlp_runlog_t log;
} run_t;

typedef struct {
    const mlp_sweep_opts_t *o;
    const mlp_grid_t *g;
    run_t *runs;
    size_t nruns;
    size_t ntodo;                     /* runs this sweep starts */
    size_t nended;                    /* of those, ended */
    int per_run;                      /* compute threads per run */
    sigset_t oldmask;
    int devnull;
    int lockfd;                       /* DIR/.lock, flocked */
    char **envp;                      /* the children's environment */
} sweep_t;

/* mkdir -p */
static int make_dir(const char *dir)
{
    char path[MLP_PATH_MAX];
    struct stat st;

    if (dir[0] == '\0' || strlen(dir) >= sizeof(path))
        return mlp_error_set(MLP_EUSAGE, "option '--dir': '%s' is not a "
                                         "usable directory name", dir);
    strcpy(path, dir);
    for (char *p = path + 1; *p != '\0'; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir(path, 0777) != 0 && errno != EEXIST)
                return mlp_error_set(MLP_EIO, "cannot make directory '%s': %s",
                                     path, strerror(errno));
            *p = '/';
        }
    if (mkdir(path, 0777) != 0 && errno != EEXIST)
        return mlp_error_set(MLP_EIO, "cannot make directory '%s': %s", path,
                             strerror(errno));
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return mlp_error_set(MLP_EIO, "'%s' is not a directory", path);
    return 0;
}

/*
 * Take DIR/.lock for the sweep's life (an exclusive flock, released when
 * the process ends however it ends), and write this pid into it for the
 * message a second sweep gives.  The lock file must be a regular file (no
 * symlink, device or FIFO); it is never removed (removing a lock file
 * races with a sweep opening it).
 */
static int lock_dir(const char *dir, int *fdp)
{
    char path[MLP_PATH_MAX + 16], buf[32];
    struct stat st;
    int fd, n;

    *fdp = -1;
    snprintf(path, sizeof(path), "%s/.lock", dir);
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK,
              0666);
    if (fd < 0)
        return mlp_error_set(MLP_EIO, "cannot open the lock file '%s': %s",
                             path, strerror(errno));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return mlp_error_set(MLP_EIO, "the lock file '%s' is not a regular "
                                      "file", path);
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;

        n = (int)pread(fd, buf, sizeof(buf) - 1, 0);
        buf[n > 0 ? n : 0] = '\0';
        buf[strcspn(buf, "\n")] = '\0';
        close(fd);
        if (e == EWOULDBLOCK)
            return mlp_error_set(MLP_EIO, "sweep directory '%s' is in use by "
                                          "another sweep (pid %s)",
                                 dir, buf[0] ? buf : "unknown");
        return mlp_error_set(MLP_EIO, "cannot lock '%s': %s", path,
                             strerror(e));
    }
    n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, buf, (size_t)n, 0) != n) {
        int e = errno;

        close(fd);
        return mlp_error_set(MLP_EIO, "cannot write the lock file '%s': %s",
                             path, strerror(e));
    }
    *fdp = fd;
    return 0;
}

#define MLP_PARENT_ENV "MLPTRAIN_PARENT_PID"

extern char **environ;

/* This environment without MLPTRAIN_PARENT_PID, plus it set to our pid:
 * one malloc'd block (the array, then the new string). */
static char **child_env(void)
{
    size_t n = 0, k = 0, len = strlen(MLP_PARENT_ENV);
    char **envp, *var;

    while (environ != NULL && environ[n] != NULL)
        n++;
    envp = malloc((n + 2) * sizeof(*envp) + 64);
    if (envp == NULL)
        return NULL;
    var = (char *)(envp + n + 2);
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], MLP_PARENT_ENV, len) != 0 ||
            environ[i][len] != '=')
            envp[k++] = environ[i];
    snprintf(var, 64, "%s=%ld", MLP_PARENT_ENV, (long)getpid());
    envp[k++] = var;
    envp[k] = NULL;
    return envp;
}

int mlp_sweep_child_start(void)
{
    const char *v = getenv(MLP_PARENT_ENV);
    char *end;
    long pid;

    if (v == NULL)
        return 0;
    errno = 0;
    pid = strtol(v, &end, 10);
    if (errno != 0 || end == v || *end != '\0' || pid <= 1)
        return mlp_error_set(MLP_EUSAGE, "%s='%s' is not a process id",
                             MLP_PARENT_ENV, v);
    if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0)
        return mlp_error_set(MLP_EIO, "prctl(PR_SET_PDEATHSIG): %s",
                             strerror(errno));
    /* The parent may have died before the request: then we were adopted. */
    if ((long)getppid() != pid)
        return mlp_error_set(MLP_EINTERRUPTED,
                             "the sweep that started this run (pid %ld) has "
                             "ended",
                             pid);
    unsetenv(MLP_PARENT_ENV);
    return 0;
}

static void run_path(const sweep_t *s, const run_t *r, const char *ext,
                     char *buf, size_t len)
{
    snprintf(buf, len, "%s/%s.%s", s->o->dir, r->id, ext);
}

/* A status that a later sweep keeps: the run came to an end of its own. */
static int final_status(const char *status)
{
    return strcmp(status, "ok") == 0 || strcmp(status, "diverged") == 0 ||
           strcmp(status, "error") == 0;
}

/* ["mlptrain", "train", fixed..., point p's options], NULL-terminated,
 * with room for `extra` more; strings borrowed. */
static char **base_argv(const sweep_t *s, size_t p, size_t extra, int *argc)
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

/* Parse argv as the training command line does; MLP_EUSAGE with `what`. */
static int parse_train(int argc, char **argv, const char *what,
                       mlp_config_t *cfg)
{
    mlp_cmd_t cmd;
    int rc;

    mlp_config_defaults(cfg);
    rc = mlp_cli_parse(argc, argv, &cmd, cfg);
    if (rc < 0)
        return mlp_error_prefix(MLP_EUSAGE, "%s", what);
    if (cmd != MLP_CMD_TRAIN)
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
    return 0;
}

/*
 * Every point: its options parsed (any bad value stops here), its id, its
 * label and values, whether an earlier sweep finished it.  Points of the
 * same effective options run once.
 */
static int plan(sweep_t *s)
{
    const mlp_grid_t *g = s->g;
    char **argv = NULL, **copy = NULL, what[700];
    mlp_config_t cfg;
    int argc, rc = 0;

    s->runs = calloc(g->npoints > 0 ? g->npoints : 1, sizeof(*s->runs));
    argv = base_argv(s, (size_t)-1, 0, &argc);
    copy = calloc(2 + s->o->nfixed + 2 * MLP_SWEEP_MAX_KEYS + 1,
                  sizeof(*copy));
    if (s->runs == NULL || argv == NULL || copy == NULL) {
        rc = mlp_error_set(MLP_ENOMEM, "out of memory");
        goto out;
    }
    /* The fixed options alone first, for a message that points at them. */
    memcpy(copy, argv, (size_t)argc * sizeof(*copy));
    if ((rc = parse_train(argc, copy, "training options after --", &cfg)) < 0)
        goto out;
    for (size_t p = 0; p < g->npoints; p++) {
        run_t *r = &s->runs[s->nruns];
        size_t off = 0;
        int dup = 0;

        free(argv);
        if ((argv = base_argv(s, p, 0, &argc)) == NULL) {
            rc = mlp_error_set(MLP_ENOMEM, "out of memory");
            goto out;
        }
        /* "lr=0.5 hidden=1024:512" as given, for messages. */
        what[0] = '\0';
        for (size_t k = 0, o = 0; k < g->nkeys; k++) {
            const char *v = g->values[p * MLP_SWEEP_MAX_KEYS + k];

            if (v != NULL && o < sizeof(what))
                o += (size_t)snprintf(what + o, sizeof(what) - o, "%s%s=%s",
                                      o ? " " : "grid point '", g->keys[k],
                                      v);
        }
        if (strlen(what) + 2 < sizeof(what))
            strcat(what, "'");
        memcpy(copy, argv, (size_t)argc * sizeof(*copy));
        if ((rc = parse_train(argc, copy, what, &cfg)) < 0)
            goto out;
        mlp_sweep_run_id(&cfg, r->id, sizeof(r->id));
        for (size_t j = 0; j < s->nruns && !dup; j++)
            dup = strcmp(s->runs[j].id, r->id) == 0;
        if (dup)
            continue;
        r->point = p;
        r->epochs = cfg.epochs;
        for (size_t k = 0; k < g->nkeys; k++) {
            char v[256];

            mlp_sweep_key_value(&cfg, g->keys[k], v, sizeof(v));
            if ((r->vals[k] = strdup(v)) == NULL) {
                rc = mlp_error_set(MLP_ENOMEM, "out of memory");
                goto out;
            }
            if (off < sizeof(r->label))
                off += (size_t)snprintf(r->label + off, sizeof(r->label) - off,
                                        "%s%s=%s", k ? " " : "", g->keys[k],
                                        v);
        }
        s->nruns++;
    }
out:
    free(copy);
    free(argv);
    return rc;
}

/* Read a run's log; an earlier sweep's finished run is kept as it is. */
static void check_earlier(sweep_t *s, run_t *r)
{
    char path[MLP_PATH_MAX + 64];

    run_path(s, r, "jsonl", path, sizeof(path));
    if (access(path, F_OK) != 0)
        return;
    if (mlp_runlog_read(path, &r->log) < 0) {
        mlp_runlog_free(&r->log);
        return;
    }
    if (r->log.has_end && final_status(r->log.status)) {
        r->state = R_DONE;
        r->earlier = 1;
        snprintf(r->status, sizeof(r->status), "%s", r->log.status);
        snprintf(r->message, sizeof(r->message), "%s", r->log.message);
    } else {
        mlp_runlog_free(&r->log);
    }
}

/*
 * A run that did not finish continues from its checkpoint when that loads
 * and has epochs left to train; else it starts from scratch, and a
 * checkpoint that cannot serve (unreadable, corrupt, or already at the
 * run's --epochs with no end in the log) is removed, with a warning, so
 * that it is never mistaken for this run's.
 */
static void check_checkpoint(sweep_t *s, run_t *r)
{
    char path[MLP_PATH_MAX + 64];
    mlp_checkpoint_t ck;

    memset(&ck, 0, sizeof(ck));
    run_path(s, r, "ckpt", path, sizeof(path));
    if (access(path, F_OK) != 0)
        return;
    if (mlp_checkpoint_load(path, &ck) < 0) {
        fprintf(stderr, "mlptrain: warning: %s; %s starts from scratch\n",
                mlp_error_message(), r->id);
    } else if (ck.epoch >= r->epochs) {
        fprintf(stderr, "mlptrain: warning: '%s' has all %u epochs but the "
                        "log has no end; %s starts from scratch\n",
                path, ck.epoch, r->id);
    } else {
        r->resume = 1;
        r->ck_epoch = ck.epoch;
        r->ck_batches = ck.batches_done;
        mlp_checkpoint_free(&ck);
        return;
    }
    mlp_checkpoint_free(&ck);
    if (unlink(path) != 0 && errno != ENOENT)
        fprintf(stderr, "mlptrain: warning: cannot remove '%s': %s\n", path,
                strerror(errno));
}

/* A log cut short mid-line gets its line ended, so that the resumed run's
 * first record starts a line of its own. */
static int end_last_line(const char *path)
{
    char c;
    int fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC), rc = 0;

    if (fd < 0)
        return errno == ENOENT ? 0
                               : mlp_error_set(MLP_EIO, "cannot open '%s': "
                                                        "%s", path,
                                               strerror(errno));
    if (lseek(fd, -1, SEEK_END) >= 0 && read(fd, &c, 1) == 1 && c != '\n' &&
        write(fd, "\n", 1) != 1)
        rc = mlp_error_set(MLP_EIO, "cannot write '%s': %s", path,
                           strerror(errno));
    close(fd);
    return rc;
}

static int launch(sweep_t *s, run_t *r)
{
    char logp[MLP_PATH_MAX + 64], outp[MLP_PATH_MAX + 64], threads[16];
    char ckpt[MLP_PATH_MAX + 64], epochs[16];
    struct stat st;
    const char *exe = s->o->exe != NULL ? s->o->exe : "/proc/self/exe";
    char **argv = NULL;
    int argc, fd = -1, rc = 0, e;
    pid_t pid;
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    sigset_t dfl;
    int have_fa = 0, have_at = 0;

    run_path(s, r, "jsonl", logp, sizeof(logp));
    run_path(s, r, "out", outp, sizeof(outp));
    run_path(s, r, "ckpt", ckpt, sizeof(ckpt));
    snprintf(threads, sizeof(threads), "%d", s->per_run);
    snprintf(epochs, sizeof(epochs), "%u", r->epochs);
    if ((argv = base_argv(s, r->point, 12, &argc)) == NULL) {
        rc = mlp_error_set(MLP_ENOMEM, "out of memory");
        goto out;
    }
    argv[argc++] = "--threads";
    argv[argc++] = threads;
    argv[argc++] = "--log";
    argv[argc++] = logp;
    argv[argc++] = "-q";
    argv[argc++] = "--save";
    argv[argc++] = ckpt;
    if (r->resume) {
        /* The trainer appends to the log: runlog reads the last run. */
        argv[argc++] = "--resume";
        argv[argc++] = ckpt;
        argv[argc++] = "--epochs"; /* required with --resume */
        argv[argc++] = epochs;
        if ((rc = end_last_line(logp)) < 0)
            goto out;
        r->log_size = stat(logp, &st) == 0 ? st.st_size : 0;
    } else if (unlink(logp) != 0 && errno != ENOENT) {
        /* A stale log of an unfinished run must not be read as this one's. */
        rc = mlp_error_set(MLP_EIO, "cannot remove '%s': %s", logp,
                           strerror(errno));
        goto out;
    }
    argv[argc] = NULL;
    fd = open(outp, O_WRONLY | O_CREAT | O_CLOEXEC |
                        (r->resume ? O_APPEND : O_TRUNC), 0666);
    if (fd < 0) {
        rc = mlp_error_set(MLP_EIO, "cannot open '%s' for writing: %s", outp,
                           strerror(errno));
        goto out;
    }
    fflush(NULL);
    /* Its own process group (a terminal's Ctrl-C comes via the sweep), the
     * mask the sweep started with, default actions for what it takes. */
    sigemptyset(&dfl);
    sigaddset(&dfl, SIGINT);
    sigaddset(&dfl, SIGTERM);
    sigaddset(&dfl, SIGHUP);
    sigaddset(&dfl, SIGCHLD);
    sigaddset(&dfl, SIGPIPE);
    if ((e = posix_spawn_file_actions_init(&fa)) != 0)
        goto spawn_failed;
    have_fa = 1;
    if ((e = posix_spawnattr_init(&at)) != 0)
        goto spawn_failed;
    have_at = 1;
    if ((e = posix_spawn_file_actions_adddup2(&fa, s->devnull, 0)) != 0 ||
        (e = posix_spawn_file_actions_adddup2(&fa, fd, 1)) != 0 ||
        (e = posix_spawn_file_actions_adddup2(&fa, fd, 2)) != 0 ||
        (e = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP |
                                               POSIX_SPAWN_SETSIGMASK |
                                               POSIX_SPAWN_SETSIGDEF)) != 0 ||
        (e = posix_spawnattr_setpgroup(&at, 0)) != 0 ||
        (e = posix_spawnattr_setsigmask(&at, &s->oldmask)) != 0 ||
        (e = posix_spawnattr_setsigdefault(&at, &dfl)) != 0)
        goto spawn_failed;
    if ((e = posix_spawnp(&pid, exe, &fa, &at, argv, s->envp)) != 0)
        goto spawn_failed;
    r->pid = pid;
    r->state = R_RUNNING;
    r->t0 = mlp_clock_now();
    if (r->resume)
        fprintf(stderr, "resume %s from epoch %u batch %zu: %s\n", r->id,
                r->ck_epoch + 1, r->ck_batches, r->label);
    else
        fprintf(stderr, "start %s: %s\n", r->id, r->label);
    goto out;
spawn_failed:
    rc = mlp_error_set(MLP_EIO, "cannot run '%s': %s", exe, strerror(e));
out:
    if (have_fa)
        posix_spawn_file_actions_destroy(&fa);
    if (have_at)
        posix_spawnattr_destroy(&at);
    if (fd >= 0)
        close(fd);
    free(argv);
    return rc;
}

/* The last line of a run's output, for a run that left no end record. */
static void last_output_line(const sweep_t *s, const run_t *r, char *buf,
                             size_t len)
{
    char path[MLP_PATH_MAX + 64], line[512];
    FILE *f;

    buf[0] = '\0';
    run_path(s, r, "out", path, sizeof(path));
    if ((f = fopen(path, "r")) == NULL)
        return;
    while (fgets(line, sizeof(line), f) != NULL)
        if (line[0] != '\n') {
            line[strcspn(line, "\n")] = '\0';
            snprintf(buf, len, "%s", line);
        }
    fclose(f);
}

static int write_csv(const sweep_t *s);

/* Final figures of a run: from its end record, else from its epochs. */
static double final_acc(const run_t *r)
{
    if (r->log.has_end)
        return r->log.final_test_acc;
    return r->log.nepochs ? r->log.epochs[r->log.nepochs - 1].test_acc : 0.0;
}

static double best_acc(const run_t *r, unsigned *epoch)
{
    double best = 0.0;

    *epoch = 0;
    if (r->log.has_end) {
        *epoch = r->log.best_epoch;
        return r->log.best_test_acc;
    }
    for (size_t i = 0; i < r->log.nepochs; i++)
        if (*epoch == 0 || r->log.epochs[i].test_acc > best) {
            best = r->log.epochs[i].test_acc;
            *epoch = r->log.epochs[i].epoch;
        }
    return best;
}

static double run_seconds(const run_t *r)
{
    return r->log.has_end ? r->log.seconds : r->wall;
}

/* A child ended: read its log, settle its status, say so. */
static void ended(sweep_t *s, run_t *r, int wstatus, int stopping)
{
    char path[MLP_PATH_MAX + 64];
    struct stat st;
    unsigned be;

    r->state = R_DONE;
    r->wall = mlp_clock_now() - r->t0;
    s->nended++;
    run_path(s, r, "jsonl", path, sizeof(path));
    if (mlp_runlog_read(path, &r->log) < 0)
        mlp_runlog_free(&r->log);
    /* A resumed run that wrote nothing (exec failed, killed at once) left
     * the first part's end record last: it is not this run's. */
    if (r->resume && (stat(path, &st) != 0 || st.st_size == r->log_size))
        r->log.has_end = 0;
    r->message[0] = '\0';
    if (r->log.has_end) {
        snprintf(r->status, sizeof(r->status), "%s", r->log.status);
        snprintf(r->message, sizeof(r->message), "%s", r->log.message);
    } else if (WIFSIGNALED(wstatus)) {
        int sig = WTERMSIG(wstatus);

        if (stopping && (sig == SIGINT || sig == SIGKILL || sig == SIGTERM))
            snprintf(r->status, sizeof(r->status), "interrupted");
        else {
            snprintf(r->status, sizeof(r->status), "error");
            snprintf(r->message, sizeof(r->message), "killed by signal %d",
                     sig);
        }
    } else {
        int code = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1;

        snprintf(r->status, sizeof(r->status), "%s",
                 code == 3     ? "diverged"
                 : code == 130 ? "interrupted"
                               : "error");
        last_output_line(s, r, r->message, sizeof(r->message));
        if (r->message[0] == '\0')
            snprintf(r->message, sizeof(r->message), "exit status %d", code);
    }
    fprintf(stderr, "[%zu/%zu] %s %s: %s", s->nended, s->ntodo, r->id,
            r->label, r->status);
    if (r->log.nepochs > 0)
        fprintf(stderr, ", test acc %.4f (best %.4f), %u epochs",
                final_acc(r), best_acc(r, &be), r->log.epochs[r->log.nepochs -
                                                              1].epoch);
    fprintf(stderr, ", %.1f s%s%s\n", r->wall, r->message[0] ? ": " : "",
            r->message);
    /* results.csv after every run: a killed sweep keeps what finished. */
    if (write_csv(s) < 0)
        fprintf(stderr, "mlptrain: warning: %s\n", mlp_error_message());
}

static void signal_running(sweep_t *s, int sig)
{
    for (size_t i = 0; i < s->nruns; i++)
        if (s->runs[i].state == R_RUNNING)
            kill(s->runs[i].pid, sig);
}

/*
 * Start runs, at most `parallel` at once, until all ran or a signal came.
 * Returns 0, MLP_EINTERRUPTED, or the error that stopped it (running runs
 * are then interrupted and waited for).
 */
static int run_all(sweep_t *s, const sigset_t *set)
{
    size_t next = 0, running = 0;
    int stopping = 0, signals = 0, rc = 0;

    for (;;) {
        for (size_t i = 0; i < s->nruns; i++) {
            run_t *r = &s->runs[i];
            int ws;
            pid_t w;

            if (r->state != R_RUNNING)
                continue;
            w = waitpid(r->pid, &ws, WNOHANG);
            if (w == r->pid || (w < 0 && errno == ECHILD)) {
                if (w < 0)
                    ws = 0x7f00; /* lost: an exit status we cannot know */
                ended(s, r, ws, stopping);
                running--;
            }
        }
        while (!stopping && running < s->o->parallel && next < s->nruns) {
            run_t *r = &s->runs[next++];

            if (r->state != R_TODO)
                continue;
            if ((rc = launch(s, r)) < 0) {
                fprintf(stderr, "mlptrain: %s; stopping the sweep\n",
                        mlp_error_message());
                stopping = 1;
                signal_running(s, SIGINT);
                break;
            }
            running++;
        }
        if (running == 0 && (stopping || next == s->nruns))
            break;
        {
            struct timespec ts = {1, 0};
            int sig = sigtimedwait(set, NULL, &ts);

            if (sig != SIGINT && sig != SIGTERM && sig != SIGHUP)
                continue;
            if (++signals == 1) {
                fprintf(stderr,
                        "mlptrain: sweep interrupted: stopping %zu running "
                        "run%s (again to kill %s)\n",
                        running, running == 1 ? "" : "s",
                        running == 1 ? "it" : "them");
                stopping = 1;
                signal_running(s, SIGINT);
            } else {
                signal_running(s, SIGKILL);
            }
        }
    }
    if (signals > 0 && rc == 0)
        return MLP_EINTERRUPTED;
    return rc;
}

/* Ranked: ok runs first, then by final test accuracy, then grid order. */
static int cmp_rank(const void *a, const void *b, void *ctx)
{
    const sweep_t *s = ctx;
    const run_t *x = &s->runs[*(const size_t *)a];
    const run_t *y = &s->runs[*(const size_t *)b];
    int okx = strcmp(x->status, "ok") == 0, oky = strcmp(y->status, "ok") == 0;
    double fx = final_acc(x), fy = final_acc(y);

    if (okx != oky)
        return oky - okx;
    if (fx != fy)
        return fx < fy ? 1 : -1;
    return x->point < y->point ? -1 : x->point > y->point;
}

/* Indices of the ended runs, best first; *n of them. */
static size_t *ranking(const sweep_t *s, size_t *n)
{
    size_t *idx = malloc((s->nruns > 0 ? s->nruns : 1) * sizeof(*idx));

    *n = 0;
    if (idx == NULL)
        return NULL;
    for (size_t i = 0; i < s->nruns; i++)
        if (s->runs[i].state == R_DONE)
            idx[(*n)++] = i;
    qsort_r(idx, *n, sizeof(*idx), cmp_rank, (void *)s);
    return idx;
}

/* A CSV field: quoted when it holds a comma, a quote or a line break. */
static void csv_field(FILE *f, const char *v, int last)
{
    if (strpbrk(v, ",\"\r\n") != NULL) {
        fputc('"', f);
        for (; *v; v++) {
            if (*v == '"')
                fputc('"', f);
            fputc(*v, f);
        }
        fputc('"', f);
    } else {
        fputs(v, f);
    }
    fputc(last ? '\n' : ',', f);
}

/* DIR/results.csv through the output door (outfile.h): whole or absent. */
static int csv_fill(int fd, const char *tmp, void *arg)
{
    const sweep_t *s = arg;
    char v[64];
    size_t n, *order = ranking(s, &n), *rank = NULL;
    FILE *f = NULL;
    int rc = 0, fd2 = -1;

    rank = calloc(s->nruns > 0 ? s->nruns : 1, sizeof(*rank));
    if (order == NULL || rank == NULL) {
        rc = mlp_error_set(MLP_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        rank[order[i]] = i + 1;
    if ((fd2 = dup(fd)) < 0 || (f = fdopen(fd2, "w")) == NULL) {
        rc = mlp_error_set(MLP_EIO, "cannot write '%s': %s", tmp,
                           strerror(errno));
        goto out;
    }
    fd2 = -1;
    fputs("rank,run", f);
    for (size_t k = 0; k < s->g->nkeys; k++)
        fprintf(f, ",%s", s->g->keys[k]);
    fputs(",status,epochs,final_test_acc,best_test_acc,best_epoch,"
          "final_train_loss,seconds,samples_per_s,log,message\n",
          f);
    for (size_t i = 0; i < s->nruns; i++) {
        const run_t *r = &s->runs[i];
        const mlp_runlog_t *l = &r->log;
        unsigned be;
        double ba = best_acc(r, &be);
        char logp[MLP_PATH_MAX + 64];

        if (r->state != R_DONE)
            continue;
        fprintf(f, "%zu,%s,", rank[i], r->id);
        for (size_t k = 0; k < s->g->nkeys; k++)
            csv_field(f, r->vals[k], 0);
        csv_field(f, r->status, 0);
        fprintf(f, "%u,", l->nepochs ? l->epochs[l->nepochs - 1].epoch : 0);
        if (l->nepochs > 0) {
            fprintf(f, "%.6f,%.6f,%u,%.6g,", final_acc(r), ba, be,
                    l->epochs[l->nepochs - 1].train_loss);
        } else {
            fputs(",,,,", f);
        }
        fprintf(f, "%.2f,", run_seconds(r));
        snprintf(v, sizeof(v), "%.0f", l->samples_per_s);
        fprintf(f, "%s,", l->has_end && l->samples_per_s > 0 ? v : "");
        run_path(s, r, "jsonl", logp, sizeof(logp));
        csv_field(f, logp, 0);
        csv_field(f, r->message, 1);
    }
    if (fflush(f) != 0 || ferror(f)) {
        rc = mlp_error_set(MLP_EIO, "cannot write '%s': %s", tmp,
                           strerror(errno));
        goto out;
    }
out:
    if (f != NULL && fclose(f) != 0 && rc == 0)
        rc = mlp_error_set(MLP_EIO, "cannot write '%s': %s", tmp,
                           strerror(errno));
    if (fd2 >= 0)
        close(fd2);
    free(rank);
    free(order);
    return rc;
}

static int write_csv(const sweep_t *s)
{
    char path[MLP_PATH_MAX + 32];

    snprintf(path, sizeof(path), "%s/results.csv", s->o->dir);
    return mlp_out_write(path, csv_fill, (void *)s, NULL);
}

/* The ranked table, and the best run named. */
static void print_table(const sweep_t *s, const size_t *order, size_t n,
                        FILE *out)
{
    enum { NFIX = 7 };
    static const char *const head[NFIX] = {"status", "test acc", "best acc",
                                           "loss",   "seconds",  "samples/s",
                                           "run"};
    size_t wk[MLP_SWEEP_MAX_KEYS], ws = strlen(head[0]), nk = s->g->nkeys;
    const run_t *best = NULL;

    for (size_t k = 0; k < nk; k++) {
        wk[k] = strlen(s->g->keys[k]);
        for (size_t i = 0; i < n; i++) {
            size_t l = strlen(s->runs[order[i]].vals[k]);
            wk[k] = l > wk[k] ? l : wk[k];
        }
    }
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(s->runs[order[i]].status);
        ws = l > ws ? l : ws;
    }
    fprintf(out, "%4s", "rank");
    for (size_t k = 0; k < nk; k++)
        fprintf(out, "  %-*s", (int)wk[k], s->g->keys[k]);
    fprintf(out, "  %-*s  %8s  %8s  %6s  %7s  %9s  %s\n", (int)ws, head[0],
            head[1], head[2], head[3], head[4], head[5], head[6]);
    for (size_t i = 0; i < n; i++) {
        const run_t *r = &s->runs[order[i]];
        const mlp_runlog_t *l = &r->log;
        unsigned be;

        fprintf(out, "%4zu", i + 1);
        for (size_t k = 0; k < nk; k++)
            fprintf(out, "  %-*s", (int)wk[k], r->vals[k]);
        fprintf(out, "  %-*s", (int)ws, r->status);
        if (l->nepochs > 0) {
            double loss = l->epochs[l->nepochs - 1].train_loss;

            fprintf(out, "  %8.4f  %8.4f", final_acc(r), best_acc(r, &be));
            /* a run that blew up has a loss too long for the column */
            fprintf(out, loss < 1e4 ? "  %6.4f" : "  %6.1e", loss);
        } else
            fprintf(out, "  %8s  %8s  %6s", "-", "-", "-");
        fprintf(out, "  %7.1f", run_seconds(r));
        if (l->has_end && l->samples_per_s > 0)
            fprintf(out, "  %9.0f", l->samples_per_s);
        else
            fprintf(out, "  %9s", "-");
        fprintf(out, "  %s\n", r->id);
        if (best == NULL && strcmp(r->status, "ok") == 0)
            best = r;
    }
    if (best != NULL) {
        unsigned be;
        double ba = best_acc(best, &be);

        fprintf(out, "best: %s (%s): test acc %.4f, best %.4f at epoch %u\n",
                best->label, best->id, final_acc(best), ba, be);
    } else {
        fputs("best: none (no run finished ok)\n", out);
    }
    fflush(out);
}

/*
 * DIR/curves.png and DIR/accuracy.png.  Every run with epochs is drawn, a
 * run that did not end ok marked with its status ("(diverged)").  A chart
 * that cannot be drawn is reported; the status is its error (the sweep
 * then exits non-zero).
 */
static int draw_charts(const sweep_t *s, const size_t *order, size_t n)
{
    const mlp_runlog_t **logs = calloc(n + 1, sizeof(*logs));
    const char **labels = calloc(n + 1, sizeof(*labels));
    char **bar = calloc(n + 1, sizeof(*bar));
    char **lab = calloc(n + 1, sizeof(*lab));
    double *acc = calloc(n + 1, sizeof(*acc));
    char png[MLP_PATH_MAX + 32], title[MLP_PATH_MAX + 64];
    mlp_error_saved_t first;
    size_t nb = 0;
    int rc = 0, rc2;

    if (logs == NULL || labels == NULL || bar == NULL || lab == NULL ||
        acc == NULL) {
        rc = mlp_error_set(MLP_ENOMEM, "out of memory for the charts");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        const run_t *r = &s->runs[order[i]];
        size_t len = sizeof(r->label) + sizeof(r->status) + 4;

        logs[i] = &r->log;
        if ((lab[i] = malloc(len)) == NULL) {
            rc = mlp_error_set(MLP_ENOMEM, "out of memory for the charts");
            goto out;
        }
        if (strcmp(r->status, "ok") == 0)
            snprintf(lab[i], len, "%s", r->label);
        else
            snprintf(lab[i], len, "%s (%s)", r->label, r->status);
        labels[i] = lab[i];
        if (r->log.nepochs == 0)
            continue;
        acc[nb] = final_acc(r);
        bar[nb++] = lab[i];
    }
    if (nb == 0)
        goto out;
    snprintf(png, sizeof(png), "%s/curves.png", s->o->dir);
    snprintf(title, sizeof(title), "sweep %s: %zu runs by %s", s->o->dir,
             nb, s->g->nkeys > 0 ? "their options" : "run");
    if ((rc2 = mlp_curves_overlay_png(png, logs, labels, n, title)) < 0) {
        fprintf(stderr, "mlptrain: chart not drawn: %s\n",
                mlp_error_message());
        mlp_error_save(&first);
        rc = rc2;
    } else {
        fprintf(stderr, "chart: %s\n", png);
    }
    snprintf(png, sizeof(png), "%s/accuracy.png", s->o->dir);
    snprintf(title, sizeof(title), "sweep %s: final test accuracy per "
                                   "configuration", s->o->dir);
    if ((rc2 = mlp_curves_accuracy_png(png, (const char *const *)bar, acc, nb,
                                       title)) < 0) {
        fprintf(stderr, "mlptrain: chart not drawn: %s\n",
                mlp_error_message());
        if (rc == 0)
            rc = rc2;
        else
            mlp_error_restore(&first, rc);
    } else {
        fprintf(stderr, "chart: %s\n", png);
    }
out:
    for (size_t i = 0; lab != NULL && i < n; i++)
        free(lab[i]);
    free(acc);
    free(lab);
    free(bar);
    free(labels);
    free(logs);
    return rc;
}

int mlp_sweep_run(const mlp_sweep_opts_t *o, const mlp_grid_t *g, FILE *out)
{
    static const int sigs[4] = {SIGINT, SIGTERM, SIGHUP, SIGCHLD};
    struct sigaction oldact[4];
    sweep_t s;
    sigset_t set;
    size_t *order = NULL, n = 0, nearlier = 0, nok = 0;
    int rc = 0, masked = 0;

    memset(&s, 0, sizeof(s));
    s.o = o;
    s.g = g;
    s.devnull = -1;
    s.lockfd = -1;
    if (o->parallel < 1 || o->threads < 1 || g->npoints == 0)
        return mlp_error_set(MLP_EINVAL, "sweep: nothing to run");
    s.per_run = o->threads / (int)o->parallel;
    if (s.per_run < 1)
        s.per_run = 1;
    if ((rc = plan(&s)) < 0)
        goto out;
    if ((rc = make_dir(o->dir)) < 0 || (rc = lock_dir(o->dir, &s.lockfd)) < 0)
        goto out;
    if ((s.envp = child_env()) == NULL) {
        rc = mlp_error_set(MLP_ENOMEM, "out of memory");
        goto out;
    }
    /* Its outputs, before any run: absent or regular files. */
    {
        static const char *const outs[] = {"results.csv", "curves.png",
                                           "accuracy.png"};
        char p[MLP_PATH_MAX + 32];

        for (size_t i = 0; i < 3 && rc == 0; i++) {
            if (i > 0 && !o->plots)
                break;
            snprintf(p, sizeof(p), "%s/%s", o->dir, outs[i]);
            rc = mlp_out_check(p);
        }
        if (rc < 0)
            goto out;
    }
    if ((s.devnull = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
        rc = mlp_error_set(MLP_EIO, "cannot open '/dev/null': %s",
                           strerror(errno));
        goto out;
    }
    for (size_t i = 0; i < s.nruns; i++) {
        check_earlier(&s, &s.runs[i]);
        if (s.runs[i].earlier) {
            nearlier++;
            fprintf(stderr, "skip %s %s: finished earlier (%s)\n",
                    s.runs[i].id, s.runs[i].label, s.runs[i].status);
        } else {
            check_checkpoint(&s, &s.runs[i]);
        }
    }
    s.ntodo = s.nruns - nearlier;
    fprintf(stderr, "sweep: %zu run%s (%zu finished earlier), %u at once, "
                    "%d compute thread%s each, in '%s'\n",
            s.nruns, s.nruns == 1 ? "" : "s", nearlier, o->parallel,
            s.per_run, s.per_run == 1 ? "" : "s", o->dir);

    sigemptyset(&set);
    for (int i = 0; i < 4; i++)
        sigaddset(&set, sigs[i]);
    if (sigprocmask(SIG_BLOCK, &set, &s.oldmask) != 0) {
        rc = mlp_error_set(MLP_EIO, "sigprocmask: %s", strerror(errno));
        goto out;
    }
    masked = 1;
    /* Blocked signals are queued for sigtimedwait only when not ignored,
     * and a shell starts background jobs with SIGINT ignored: the sweep
     * wants them (and its children inherit the default). */
    {
        struct sigaction dfl;

        memset(&dfl, 0, sizeof(dfl));
        dfl.sa_handler = SIG_DFL;
        sigemptyset(&dfl.sa_mask);
        for (int i = 0; i < 4; i++)
            sigaction(sigs[i], &dfl, &oldact[i]);
    }
    rc = run_all(&s, &set);
    {
        mlp_error_saved_t first;
        int rc2;

        mlp_error_save(&first);
        rc2 = write_csv(&s);
        if (rc == 0)
            rc = rc2;
        else
            mlp_error_restore(&first, rc);
    }
    if ((order = ranking(&s, &n)) == NULL) {
        rc = mlp_error_set(MLP_ENOMEM, "out of memory");
        goto out;
    }
    print_table(&s, order, n, out);
    for (size_t i = 0; i < n; i++)
        nok += strcmp(s.runs[order[i]].status, "ok") == 0;
    fprintf(stderr, "results: %s/results.csv\n", o->dir);
    if (o->plots) {
        mlp_error_saved_t first;
        int rc3;

        mlp_error_save(&first);
        rc3 = draw_charts(&s, order, n);
        if (rc < 0)
            mlp_error_restore(&first, rc);
        else if (rc3 < 0)
            rc = mlp_error_prefix(rc3, "sweep: charts not drawn");
    }
    if (rc == MLP_EINTERRUPTED) {
        size_t fin = 0;

        for (size_t i = 0; i < n; i++)
            fin += final_status(s.runs[order[i]].status);
        rc = mlp_error_set(MLP_EINTERRUPTED,
                           "sweep interrupted: %zu of %zu runs finished; run "
                           "the same command again to run the rest",
                           fin, s.nruns);
    }
    else if (rc == 0 && nok == 0)
        rc = mlp_error_set(MLP_EIO, "sweep: no run finished ok (see the "
                                    "status column and %s/run-*.out)",
                           o->dir);
out:
    if (masked) {
        /* Take what came late, so that unblocking does not act on it. */
        struct timespec zero = {0, 0};

        while (sigtimedwait(&set, NULL, &zero) > 0)
            ;
        for (int i = 0; i < 4; i++)
            sigaction(sigs[i], &oldact[i], NULL);
        sigprocmask(SIG_SETMASK, &s.oldmask, NULL);
    }
    if (s.devnull >= 0)
        close(s.devnull);
    if (s.lockfd >= 0)
        close(s.lockfd); /* the lock goes with it */
    free(s.envp);
    /* Every slot plan() may have touched, not only the runs it kept. */
    for (size_t i = 0; s.runs != NULL && i < g->npoints; i++) {
        for (size_t k = 0; k < MLP_SWEEP_MAX_KEYS; k++)
            free(s.runs[i].vals[k]);
        mlp_runlog_free(&s.runs[i].log);
    }
    free(s.runs);
    free(order);
    return rc;
}

/* ---- mlptrain sweep ---------------------------------------------------- */

static const struct option sweep_options[] = {
    {"grid", required_argument, NULL, 'g'},
    {"samples", required_argument, NULL, 'n'},
    {"seed", required_argument, NULL, 's'},
    {"parallel", required_argument, NULL, 'P'},
    {"threads", required_argument, NULL, 't'},
    {"dir", required_argument, NULL, 'd'},
    {"no-plots", no_argument, NULL, 'N'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
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
"and keeps what finished (exit 130).\n"
"\n"
"Exit status:\n"
"  0    the sweep ran and at least one run ended ok (results.csv has each\n"
"       run's status)\n"
"  1    no run ended ok, or an error (the sweep directory, the charts)\n"
"  2    bad usage\n"
"  130  interrupted (SIGINT or SIGTERM)\n",
            mlp_config_ncores(), keys);
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
