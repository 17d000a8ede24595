/*
 * sweep: grids of training options (the grid), and the scheduler that runs
 * their points as child processes (see sweep.h).  What the runs came to --
 * statuses, ranking, results.csv, table, charts -- is sweep_results.c; the
 * command is cmd_sweep.c.
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
#include "mlptrain/error.h"
#include "mlptrain/grid.h"
#include "mlptrain/outfile.h"
#include "mlptrain/runlog.h"
#include "mlptrain/sweep.h"
#include "sweep_run.h"

/* ---- runner ------------------------------------------------------------ */


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
    mlp_sweep_path(s, r, "ckpt", path, sizeof(path));
    if (access(path, F_OK) != 0)
        return;
    if (mlp_checkpoint_load(path, &ck) < 0) {
        mlp_sweep_say(s, "mlptrain: warning: %s; %s starts from scratch\n",
                mlp_error_message(), r->id);
    } else if (ck.epoch >= r->epochs) {
        mlp_sweep_say(s, "mlptrain: warning: '%s' has all %u epochs but the "
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
        mlp_sweep_say(s, "mlptrain: warning: cannot remove '%s': %s\n", path,
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

    mlp_sweep_path(s, r, "jsonl", logp, sizeof(logp));
    mlp_sweep_path(s, r, "out", outp, sizeof(outp));
    mlp_sweep_path(s, r, "ckpt", ckpt, sizeof(ckpt));
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
        mlp_sweep_say(s, "resume %s from epoch %u batch %zu: %s\n", r->id,
                r->ck_epoch + 1, r->ck_batches, r->label);
    else
        mlp_sweep_say(s, "start %s: %s\n", r->id, r->label);
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

/* A child ended: settle its status (sweep_results.c), rewrite
 * results.csv. */
static void ended(sweep_t *s, run_t *r, int wstatus, int stopping)
{
    r->state = R_DONE;
    r->wall = mlp_clock_now() - r->t0;
    s->nended++;
    mlp_sweep_settle(s, r, wstatus, stopping);
    /* results.csv after every run: a killed sweep keeps what finished. */
    if (mlp_sweep_write_csv(s) < 0)
        mlp_sweep_say(s, "mlptrain: warning: %s\n", mlp_error_message());
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
                mlp_sweep_say(s, "mlptrain: %s; stopping the sweep\n",
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
                mlp_sweep_say(s,
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
        mlp_sweep_check_earlier(&s, &s.runs[i]);
        if (s.runs[i].earlier) {
            nearlier++;
            mlp_sweep_say(&s, "skip %s %s: finished earlier (%s)\n",
                    s.runs[i].id, s.runs[i].label, s.runs[i].status);
        } else {
            check_checkpoint(&s, &s.runs[i]);
        }
    }
    s.ntodo = s.nruns - nearlier;
    mlp_sweep_say(&s, "sweep: %zu run%s (%zu finished earlier), %u at once, "
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
        rc2 = mlp_sweep_write_csv(&s);
        if (rc == 0)
            rc = rc2;
        else
            mlp_error_restore(&first, rc);
    }
    if ((order = mlp_sweep_ranking(&s, &n)) == NULL) {
        rc = mlp_error_set(MLP_ENOMEM, "out of memory");
        goto out;
    }
    mlp_sweep_print_table(&s, order, n, out);
    for (size_t i = 0; i < n; i++)
        nok += strcmp(s.runs[order[i]].status, "ok") == 0;
    mlp_sweep_say(&s, "results: %s/results.csv\n", o->dir);
    if (o->plots) {
        mlp_error_saved_t first;
        int rc3;

        mlp_error_save(&first);
        rc3 = mlp_sweep_draw_charts(&s, order, n);
        if (rc < 0)
            mlp_error_restore(&first, rc);
        else if (rc3 < 0)
            rc = mlp_error_prefix(rc3, "sweep: charts not drawn");
    }
    if (rc == MLP_EINTERRUPTED) {
        size_t fin = 0;

        for (size_t i = 0; i < n; i++)
            fin += mlp_sweep_final_status(s.runs[order[i]].status);
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

