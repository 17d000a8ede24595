/*
 * sweep: the processes of a sweep (see sweep.h): the directory and its
 * locks, the runs' child processes, signals, the loop that starts jobs as
 * slots free up and takes their ends, and under mpirun the scheduler
 * (rank 0) and its workers (the other ranks).  The plan, the runs' states
 * and the promotions are sweep_sched.c's; the journal sweep_journal.c's;
 * what the runs came to (statuses, ranking, results.csv, table, charts)
 * sweep_results.c's; the command is cmd_sweep.c.
 *
 * Processes: this one plans (every point's options are parsed here with
 * the training parser, so a bad value stops the sweep before any run),
 * takes the directory's lock (an flock on DIR/.lock held for the sweep's
 * life: a second sweep on DIR is refused; shards share it and each holds
 * its own DIR/.lock-K-of-N), opens its journal, then starts at most
 * `parallel` children of the mlptrain binary with posix_spawnp, each in
 * its own process group with stdin from /dev/null and stdout and stderr
 * to DIR/run-ID.out.  SIGINT, SIGTERM, SIGHUP and SIGCHLD are blocked
 * while runs go and taken with sigtimedwait, so no signal is missed
 * between a check and a wait and no handler runs; children get the
 * original mask and default actions back.  Results come from the
 * children's JSON-lines logs (runlog.h), not from their output.
 *
 * Children die with the sweep, however it ends (kill -9 too): each gets
 * MLPTRAIN_PARENT_PID=<the sweep's pid> in its environment, and
 * mlp_sweep_child_start (first thing in main) asks the kernel for SIGTERM
 * when its parent dies (PR_SET_PDEATHSIG), then checks that its parent is
 * still that pid (it may have died before the request).  SIGTERM stops a
 * run as Ctrl-C does: it saves its checkpoint, and the next sweep resumes
 * it.  Children never see Open MPI's OMPI_* and PMIX_* variables: a run
 * started by a rank must not take itself for one.
 *
 * A job trains a run to its rung's epochs: `--epochs N` (the plan) and,
 * short of N, `--until E`; it continues DIR/run-ID.ckpt when the run has
 * trained before (--resume, appending to the same log), so its figures
 * are those of the run trained straight through.
 *
 * MPI (`mpirun -np R mlptrain sweep ...`, R > 1): every rank plans (the
 * same command, the same plan).  Rank 0 is the sweep above, except that
 * its slots are the workers' (ranks 1..R-1, `parallel` runs each): it
 * sends a job as a message (run, target, resume) and the worker spawns the
 * child (on its machine, with its cores: -t, else its machine's cores
 * shared by the ranks there) and sends back its wait status when it ends.
 * The directory must be shared (the same path on every machine): rank 0
 * reads the runs' logs and checkpoints there.  Rank 0 alone writes the
 * journal, results and charts.  A signal on rank 0 stops the workers' runs
 * (STOP, then KILL for a second one); at the end rank 0 sends QUIT and
 * every rank returns.
 *
 * Non-goals: scheduling by cost, a service or a database, remote machines
 * without a shared directory (shards are for those).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "mlptrain/clock.h"
#include "mlptrain/dist.h"
#include "mlptrain/error.h"
#include "mlptrain/outfile.h"
#include "mlptrain/runlog.h"
#include "mlptrain/sweep.h"
#include "sweep_run.h"

/* ---- the directory ------------------------------------------------------ */

/* mkdir -p, then dir must be a directory */
static int make_dir(const char *dir)
{
    struct stat st;
    int rc;

    if (dir[0] == '\0' || strlen(dir) >= MLP_PATH_MAX)
        return mlp_error_set(MLP_EUSAGE, "option '--dir': '%s' is not a "
                                         "usable directory name", dir);
    if ((rc = mlp_out_mkdirs(dir)) < 0)
        return rc;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return mlp_error_set(MLP_EIO, "'%s' is not a directory", dir);
    return 0;
}

/*
 * Take DIR/NAME for the sweep's life: an exclusive flock with this pid
 * written into the file for the message a second sweep gives, or a shared
 * one (shards: several at once, none with an unsharded sweep), which
 * empties the file (no single pid holds it).  Released when the process
 * ends however it ends.  The lock file must be a regular file (no
 * symlink, device or FIFO); it is never removed (removing a lock file
 * races with a sweep opening it).  `what` names the holder in messages.
 */
static int lock_file(const char *dir, const char *name, int shared,
                     const char *what, int *fdp)
{
    char path[MLP_PATH_MAX + 64], buf[32];
    struct stat st;
    int fd, n;

    *fdp = -1;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
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
    if (flock(fd, (shared ? LOCK_SH : LOCK_EX) | LOCK_NB) != 0) {
        int e = errno;

        n = (int)pread(fd, buf, sizeof(buf) - 1, 0);
        buf[n > 0 ? n : 0] = '\0';
        buf[strcspn(buf, "\n")] = '\0';
        close(fd);
        if (e == EWOULDBLOCK && buf[0] != '\0')
            return mlp_error_set(MLP_EIO, "%s '%s' is in use by another "
                                 "sweep (pid %s)", what, dir, buf);
        if (e == EWOULDBLOCK)
            return mlp_error_set(MLP_EIO, "%s '%s' is in use by another "
                                 "sweep (shards: see its .lock-K-of-N "
                                 "files)", what, dir);
        return mlp_error_set(MLP_EIO, "cannot lock '%s': %s", path,
                             strerror(e));
    }
    n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 ||
        (!shared && pwrite(fd, buf, (size_t)n, 0) != n)) {
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

/* This environment without MLPTRAIN_PARENT_PID and Open MPI's variables
 * (OMPI_*, PMIX_*: a run is never a rank), plus MLPTRAIN_PARENT_PID set
 * to our pid: one malloc'd block (the array, then the new string). */
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
    for (size_t i = 0; i < n; i++) {
        const char *e = environ[i];

        if ((strncmp(e, MLP_PARENT_ENV, len) == 0 && e[len] == '=') ||
            strncmp(e, "OMPI_", 5) == 0 || strncmp(e, "PMIX_", 5) == 0)
            continue;
        envp[k++] = environ[i];
    }
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

/* ---- a job ------------------------------------------------------------ */

/*
 * The files a run writes, every one named here: its log, its checkpoint
 * and its output.  A new per-run output (a TensorBoard directory, say)
 * is one more path here and one more option in spawn_job's argv.
 */
typedef struct {
    char log[MLP_PATH_MAX + 64];
    char ckpt[MLP_PATH_MAX + 64];
    char out[MLP_PATH_MAX + 64];
    char tb[MLP_PATH_MAX + 64]; /* "" without the sweep's --tensorboard */
} run_files_t;

static void run_files(const sweep_t *s, const run_t *r, run_files_t *f)
{
    mlp_sweep_path(s, r, "jsonl", f->log, sizeof(f->log));
    mlp_sweep_path(s, r, "ckpt", f->ckpt, sizeof(f->ckpt));
    mlp_sweep_path(s, r, "out", f->out, sizeof(f->out));
    f->tb[0] = '\0';
    if (s->o->tensorboard != NULL)
        snprintf(f->tb, sizeof(f->tb), "%s/%s", s->o->tensorboard, r->id);
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

/* Ready run r's files for its job (the scheduler's side, wherever the job
 * runs): a resumed log ends its line; a stale log of a run that starts
 * from scratch goes, so it is never read as this one's. */
static int prepare_job(sweep_t *s, run_t *r)
{
    run_files_t f;
    struct stat st;
    int rc;

    run_files(s, r, &f);
    r->log_size = 0;
    if (r->resume) {
        if ((rc = end_last_line(f.log)) < 0)
            return rc;
        r->log_size = stat(f.log, &st) == 0 ? st.st_size : 0;
    } else if (unlink(f.log) != 0 && errno != ENOENT) {
        return mlp_error_set(MLP_EIO, "cannot remove '%s': %s", f.log,
                             strerror(errno));
    }
    return 0;
}

/*
 * Start run r's job as a child of this process: `mlptrain train FIXED...
 * POINT... --threads T --log L -q --save C --epochs N [--until E]
 * [--resume C]`, its output appended (resumed) or new.  *pid on success.
 */
static int spawn_job(const sweep_t *s, const run_t *r, int threads,
                     pid_t *pid)
{
    char nthreads[16], epochs[16], until[16];
    const char *exe = s->o->exe != NULL ? s->o->exe : "/proc/self/exe";
    run_files_t f;
    char **argv = NULL;
    int argc, fd = -1, rc = 0, e;
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    sigset_t dfl;
    int have_fa = 0, have_at = 0;

    run_files(s, r, &f);
    snprintf(nthreads, sizeof(nthreads), "%d", threads);
    snprintf(epochs, sizeof(epochs), "%u", r->epochs);
    snprintf(until, sizeof(until), "%u", r->target);
    if ((argv = mlp_sweep_argv(s, r->point, 16, &argc)) == NULL) {
        rc = mlp_error_set(MLP_ENOMEM, "out of memory");
        goto out;
    }
    argv[argc++] = "--threads";
    argv[argc++] = nthreads;
    argv[argc++] = "--log";
    argv[argc++] = f.log;
    argv[argc++] = "-q";
    argv[argc++] = "--save";
    argv[argc++] = f.ckpt;
    if (f.tb[0] != '\0') {
        /* a resumed run starts a new event file there (tfevents.h) */
        argv[argc++] = "--tensorboard";
        argv[argc++] = f.tb;
    }
    /* The plan, always: --resume requires it, and a grid key may have
     * set it (it is the same value). */
    argv[argc++] = "--epochs";
    argv[argc++] = epochs;
    if (r->target < r->epochs) {
        argv[argc++] = "--until";
        argv[argc++] = until;
    }
    if (r->resume) {
        /* The trainer appends to the log: runlog reads the last run. */
        argv[argc++] = "--resume";
        argv[argc++] = f.ckpt;
    }
    argv[argc] = NULL;
    fd = open(f.out, O_WRONLY | O_CREAT | O_CLOEXEC |
                         (r->resume ? O_APPEND : O_TRUNC), 0666);
    if (fd < 0) {
        rc = mlp_error_set(MLP_EIO, "cannot open '%s' for writing: %s", f.out,
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
    if ((e = posix_spawnp(pid, exe, &fa, &at, argv, s->envp)) != 0)
        goto spawn_failed;
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

/* ---- MPI messages between the scheduler and its workers ----------------- */

enum { MSG_JOB = 1, MSG_DONE, MSG_STOP, MSG_KILL, MSG_QUIT };

typedef struct {
    int32_t kind;
    int32_t run;        /* index in the plan's runs (the same on every rank) */
    int32_t target;     /* JOB: its epochs */
    int32_t resume;     /* JOB: continue its checkpoint */
    int32_t wstatus;    /* DONE: the child's wait status */
    char message[256];  /* DONE: why it could not start; "" */
} msg_t;

static int send_msg(int to, int kind, int run, const run_t *r, int wstatus,
                    const char *message)
{
    msg_t m;

    memset(&m, 0, sizeof(m));
    m.kind = kind;
    m.run = run;
    m.target = r != NULL ? (int32_t)r->target : 0;
    m.resume = r != NULL ? r->resume : 0;
    m.wstatus = wstatus;
    if (message != NULL)
        snprintf(m.message, sizeof(m.message), "%s", message);
    return mlp_dist_send(to, &m, sizeof(m));
}

/* ---- the scheduler ------------------------------------------------------- */

/* Jobs running, here or on worker rank w (0: all). */
static size_t running_on(const sweep_t *s, int w)
{
    size_t n = 0;

    for (size_t i = 0; i < s->nruns; i++)
        n += s->runs[i].state == R_RUNNING && (w == 0 || s->runs[i].rank == w);
    return n;
}

/* A free slot: 0 here, a worker's rank under MPI; -1 when all are busy. */
static int free_slot(const sweep_t *s)
{
    if (s->nranks <= 1)
        return running_on(s, 0) < s->o->parallel ? 0 : -1;
    for (int w = 1; w < s->nranks; w++)
        if (running_on(s, w) < s->o->parallel)
            return w;
    return -1;
}

/*
 * The compute threads of a job starting here: its share of the cores the
 * running jobs leave, among the jobs that can start now (at least
 * threads / parallel).  A rung's last runs, or a search's last run, take
 * the cores the others no longer use: the figures do not depend on the
 * thread count, and no job can start while a lone job runs (a job starts
 * only when another ends, or at the start), so the cores are never
 * oversubscribed.
 */
static int job_threads(const sweep_t *s)
{
    size_t running = 0, pending = 0, k;
    int in_use = 0, t;

    for (size_t i = 0; i < s->nruns; i++) {
        const run_t *r = &s->runs[i];

        if (r->state == R_RUNNING && r->rank == 0) {
            running++;
            in_use += r->threads;
        }
        pending += r->state == R_PENDING; /* this job's run among them */
    }
    k = s->o->parallel - running < pending ? s->o->parallel - running
                                           : pending;
    t = (s->threads - in_use) / (int)(k > 0 ? k : 1);
    return t > s->per_run ? t : s->per_run;
}

/* Start run r's job in slot w (0: here). */
static int launch(sweep_t *s, run_t *r, int w)
{
    int rc;

    if ((rc = prepare_job(s, r)) < 0)
        return rc;
    if (w == 0) {
        r->threads = job_threads(s);
        if ((rc = spawn_job(s, r, r->threads, &r->pid)) < 0)
            return rc;
    } else if ((rc = send_msg(w, MSG_JOB, (int)(r - s->runs), r, 0,
                              NULL)) < 0) {
        return rc;
    }
    r->rank = w;
    r->state = R_RUNNING;
    r->started = 1;
    r->earlier = 0;
    r->t0 = mlp_clock_now();
    s->njobs++;
    snprintf(r->status, sizeof(r->status), "running");
    mlp_sweep_journal(s, "{s:s,s:s,s:I,s:I,s:i}", "type", "start", "run",
                      r->id, "from", (json_int_t)r->ck_epoch, "to",
                      (json_int_t)r->target, "rank", w);
    if (s->search == MLP_SEARCH_HALVING || s->search == MLP_SEARCH_HYPERBAND)
        mlp_sweep_say(s, "%s %s to epoch %u (rung %u of %u)%s: %s\n",
                      r->resume ? "resume" : "start", r->id, r->target,
                      r->rung + 1, s->br[r->bracket].nrungs,
                      r->resume ? " from its checkpoint" : "", r->label);
    else if (r->resume)
        mlp_sweep_say(s, "resume %s from epoch %u batch %zu: %s\n", r->id,
                      r->ck_epoch + 1, r->ck_batches, r->label);
    else
        mlp_sweep_say(s, "start %s: %s\n", r->id, r->label);
    return 0;
}

/* A job ended: settle its run (sweep_results.c), decide what is due,
 * rewrite results.csv. */
static void ended(sweep_t *s, run_t *r, int wstatus, int stopping)
{
    r->wall = mlp_clock_now() - r->t0;
    s->nended++;
    mlp_sweep_settle(s, r, wstatus, stopping);
    if (!stopping)
        mlp_sweep_advance(s);
    /* results.csv after every job: a killed sweep keeps what finished. */
    if (mlp_sweep_write_csv(s) < 0)
        mlp_sweep_say(s, "mlptrain: warning: %s\n", mlp_error_message());
}

/* SIGINT (stop) or SIGKILL to every running job, here or on the
 * workers. */
static void signal_running(sweep_t *s, int sig)
{
    for (size_t i = 0; i < s->nruns; i++)
        if (s->runs[i].state == R_RUNNING && s->runs[i].rank == 0)
            kill(s->runs[i].pid, sig);
    for (int w = 1; w < s->nranks; w++)
        if (send_msg(w, sig == SIGKILL ? MSG_KILL : MSG_STOP, -1, NULL, 0,
                     NULL) < 0)
            mlp_sweep_say(s, "mlptrain: warning: %s\n", mlp_error_message());
}

/* The ends of jobs: children here, DONE messages from the workers.
 * Returns the number taken; an MPI failure is an error. */
static int reap(sweep_t *s, int stopping, size_t *taken)
{
    *taken = 0;
    for (size_t i = 0; i < s->nruns; i++) {
        run_t *r = &s->runs[i];
        int ws;
        pid_t w;

        if (r->state != R_RUNNING || r->rank != 0)
            continue;
        w = waitpid(r->pid, &ws, WNOHANG);
        if (w == r->pid || (w < 0 && errno == ECHILD)) {
            if (w < 0)
                ws = 0x7f00; /* lost: an exit status we cannot know */
            ended(s, r, ws, stopping);
            (*taken)++;
        }
    }
    while (s->nranks > 1) {
        msg_t m;
        size_t bytes;
        int from, got, rc;
        run_t *r;

        if ((rc = mlp_dist_poll(&m, sizeof(m), &bytes, &from, &got)) < 0)
            return rc;
        if (!got)
            break;
        if (bytes != sizeof(m) || m.kind != MSG_DONE || m.run < 0 ||
            (size_t)m.run >= s->nruns ||
            s->runs[m.run].state != R_RUNNING || s->runs[m.run].rank != from)
            return mlp_error_set(MLP_EIO, "MPI rank %d sent a message the "
                                 "sweep did not expect", from);
        r = &s->runs[m.run];
        m.message[sizeof(m.message) - 1] = '\0';
        if (m.message[0] != '\0')
            mlp_sweep_say(s, "mlptrain: rank %d: %s\n", from, m.message);
        ended(s, r, m.wstatus, stopping);
        (*taken)++;
    }
    return 0;
}

/*
 * Start jobs as slots free up until every run is done or a signal came.
 * Returns 0, MLP_EINTERRUPTED, or the error that stopped it (running jobs
 * are then interrupted and waited for).
 */
static int run_all(sweep_t *s, const sigset_t *set)
{
    int stopping = 0, signals = 0, rc = 0, w;

    for (;;) {
        size_t taken;
        run_t *r;
        int rc2;

        if ((rc2 = reap(s, stopping, &taken)) < 0)
            return rc2; /* MPI failed: the workers cannot be reached */
        while (!stopping && (w = free_slot(s)) >= 0 &&
               (r = mlp_sweep_next(s)) != NULL) {
            if ((rc = launch(s, r, w)) < 0) {
                mlp_sweep_say(s, "mlptrain: %s; stopping the sweep\n",
                              mlp_error_message());
                stopping = 1;
                signal_running(s, SIGINT);
                break;
            }
        }
        if (running_on(s, 0) == 0 &&
            (stopping || mlp_sweep_next(s) == NULL))
            break;
        {
            /* SIGCHLD wakes a local sweep; workers' messages are polled. */
            struct timespec ts = {s->nranks > 1 ? 0 : 1,
                                  s->nranks > 1 ? 20 * 1000 * 1000 : 0};
            int sig = sigtimedwait(set, NULL, &ts);

            if (sig != SIGINT && sig != SIGTERM && sig != SIGHUP)
                continue;
            if (++signals == 1) {
                size_t n = running_on(s, 0);

                mlp_sweep_say(s,
                        "mlptrain: sweep interrupted: stopping %zu running "
                        "run%s (again to kill %s)\n",
                        n, n == 1 ? "" : "s", n == 1 ? "it" : "them");
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

/* ---- an MPI worker ------------------------------------------------------- */

/*
 * Rank > 0: run what rank 0 sends, `parallel` at once, and say when each
 * ends; SIGINT, SIGTERM or SIGHUP here stop its runs as rank 0's STOP
 * does.  Until QUIT.
 */
static int worker(sweep_t *s, const sigset_t *set)
{
    int signals = 0;

    for (;;) {
        msg_t m;
        size_t bytes;
        int from, got, rc, sig;
        struct timespec ts = {0, 20 * 1000 * 1000};

        for (size_t i = 0; i < s->nruns; i++) {
            run_t *r = &s->runs[i];
            int ws;
            pid_t w;

            if (r->state != R_RUNNING)
                continue;
            w = waitpid(r->pid, &ws, WNOHANG);
            if (w == r->pid || (w < 0 && errno == ECHILD)) {
                r->state = R_DONE;
                if ((rc = send_msg(0, MSG_DONE, (int)i, NULL,
                                   w < 0 ? 0x7f00 : ws, NULL)) < 0)
                    return rc;
            }
        }
        if ((rc = mlp_dist_poll(&m, sizeof(m), &bytes, &from, &got)) < 0)
            return rc;
        if (got && (bytes != sizeof(m) || from != 0))
            return mlp_error_set(MLP_EIO, "MPI rank %d: a message the "
                                 "sweep did not expect from rank %d",
                                 mlp_dist_rank(), from);
        if (got && m.kind == MSG_QUIT)
            return 0;
        if (got && m.kind == MSG_JOB) {
            run_t *r;
            char why[256] = "";

            if (m.run < 0 || (size_t)m.run >= s->nruns)
                return mlp_error_set(MLP_EIO, "MPI rank %d: a job of no run "
                                     "(%d)", mlp_dist_rank(), (int)m.run);
            r = &s->runs[m.run];
            r->target = (unsigned)m.target;
            r->resume = m.resume;
            if (spawn_job(s, r, s->per_run, &r->pid) < 0) {
                snprintf(why, sizeof(why), "%s", mlp_error_message());
                if ((rc = send_msg(0, MSG_DONE, m.run, NULL, 0x7f00, why)) <
                    0)
                    return rc;
            } else {
                r->state = R_RUNNING;
            }
        } else if (got && (m.kind == MSG_STOP || m.kind == MSG_KILL)) {
            for (size_t i = 0; i < s->nruns; i++)
                if (s->runs[i].state == R_RUNNING)
                    kill(s->runs[i].pid,
                         m.kind == MSG_KILL ? SIGKILL : SIGINT);
        }
        if (got)
            continue; /* more may wait */
        sig = sigtimedwait(set, NULL, &ts);
        if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP) {
            int k = ++signals == 1 ? SIGINT : SIGKILL;

            for (size_t i = 0; i < s->nruns; i++)
                if (s->runs[i].state == R_RUNNING)
                    kill(s->runs[i].pid, k);
        }
    }
}

/* ---- the sweep ------------------------------------------------------------- */

static const int sweep_sigs[4] = {SIGINT, SIGTERM, SIGHUP, SIGCHLD};

/* Block the sweep's signals (taken with sigtimedwait) and give them
 * their default actions: a shell starts background jobs with SIGINT
 * ignored, and ignored signals are not queued. */
static int take_signals(sweep_t *s, sigset_t *set, struct sigaction *oldact)
{
    struct sigaction dfl;

    sigemptyset(set);
    for (int i = 0; i < 4; i++)
        sigaddset(set, sweep_sigs[i]);
    if (sigprocmask(SIG_BLOCK, set, &s->oldmask) != 0)
        return mlp_error_set(MLP_EIO, "sigprocmask: %s", strerror(errno));
    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    for (int i = 0; i < 4; i++)
        sigaction(sweep_sigs[i], &dfl, &oldact[i]);
    return 0;
}

static void give_back_signals(sweep_t *s, const sigset_t *set,
                              const struct sigaction *oldact)
{
    /* Take what came late, so that unblocking does not act on it. */
    struct timespec zero = {0, 0};

    while (sigtimedwait(set, NULL, &zero) > 0)
        ;
    for (int i = 0; i < 4; i++)
        sigaction(sweep_sigs[i], &oldact[i], NULL);
    sigprocmask(SIG_SETMASK, &s->oldmask, NULL);
}

static void sweep_free(sweep_t *s)
{
    if (s->devnull >= 0)
        close(s->devnull);
    if (s->lockfd >= 0)
        close(s->lockfd); /* the lock goes with it */
    if (s->shardfd >= 0)
        close(s->shardfd);
    mlp_sweep_journal_close(s);
    free(s->envp);
    for (size_t i = 0; s->runs != NULL && i < s->nslots; i++) {
        for (size_t k = 0; k < MLP_SWEEP_MAX_KEYS; k++)
            free(s->runs[i].vals[k]);
        mlp_runlog_free(&s->runs[i].log);
    }
    free(s->runs);
    mlp_grid_free(&s->pts);
}

static void sweep_init(sweep_t *s, const mlp_sweep_opts_t *o)
{
    memset(s, 0, sizeof(*s));
    s->o = o;
    s->devnull = s->lockfd = s->shardfd = s->jfd = -1;
    s->search = o->search;
    s->async = o->async;
    s->eta = o->eta;
    s->nranks = 1;
}

/* The journal's promotions into the runs (asynchronous: they are the
 * decisions), before their states are read. */
static void take_promotions(sweep_t *s)
{
    for (size_t k = 0; s->async && k < s->njp; k++)
        for (size_t i = 0; i < s->nruns; i++) {
            run_t *r = &s->runs[i];

            if (strcmp(r->id, s->jp[k].id) == 0 &&
                s->jp[k].rung < s->br[r->bracket].nrungs &&
                s->jp[k].rung > r->rung) {
                r->rung = s->jp[k].rung;
                r->target = s->br[r->bracket].epochs[r->rung];
            }
        }
}

/* Synchronous: the journal's promotions are the logs' ranking again;
 * one that is not says so (the logs win). */
static void check_promotions(sweep_t *s)
{
    for (size_t k = 0; !s->async && k < s->njp; k++)
        for (size_t i = 0; i < s->nruns; i++) {
            const run_t *r = &s->runs[i];

            if (strcmp(r->id, s->jp[k].id) == 0 && s->jp[k].rung >= 1 &&
                s->decided[r->bracket][s->jp[k].rung - 1] &&
                r->rung < s->jp[k].rung)
                mlp_sweep_say(s, "mlptrain: warning: the journal promoted %s "
                                 "to rung %u, its log now ranks it lower "
                                 "(changed data or logs?); the logs "
                                 "decide\n", r->id, s->jp[k].rung + 1);
        }
}

/* "epochs: ..." of a search: what it trained against a full grid. */
static void say_epochs(const sweep_t *s, FILE *out)
{
    unsigned long long trained, grid;

    if (s->search != MLP_SEARCH_HALVING && s->search != MLP_SEARCH_HYPERBAND)
        return;
    mlp_sweep_epochs(s, &trained, &grid);
    fprintf(out, "epochs: %llu trained, %.1f%% of the %llu a full grid of "
                 "these %zu runs trains (%u epochs each)\n",
            trained, grid > 0 ? 100.0 * (double)trained / (double)grid : 0.0,
            grid, s->nruns, s->epochs);
}

/* The search in words, for the first progress line. */
static void say_search(const sweep_t *s)
{
    if (s->search != MLP_SEARCH_HALVING && s->search != MLP_SEARCH_HYPERBAND)
        return;
    for (size_t b = 0; b < s->nbr; b++) {
        char rungs[256];
        size_t off = 0;

        for (unsigned i = 0; i < s->br[b].nrungs && off < sizeof(rungs); i++)
            off += (size_t)snprintf(rungs + off, sizeof(rungs) - off, "%s%u",
                                    i ? ", " : "", s->br[b].epochs[i]);
        mlp_sweep_say(s, "%s%s: bracket %zu of %zu: %zu points, rungs at "
                         "epochs %s, 1 of %u goes on%s\n",
                      mlp_search_names[s->search],
                      s->async ? " (asynchronous)" : "", b + 1, s->nbr,
                      s->br[b].npoints, rungs, s->eta,
                      s->async ? " as soon as it ranks there"
                               : " once its rung is complete");
    }
}

/* Rank 0 (or the one process): the sweep. */
static int run_sweep(sweep_t *s, FILE *out)
{
    const mlp_sweep_opts_t *o = s->o;
    struct sigaction oldact[4];
    sigset_t set;
    size_t *order = NULL, n = 0, nearlier = 0, nok = 0;
    int rc = 0, masked = 0;

    if ((rc = make_dir(o->dir)) < 0)
        return rc;
    if (o->nshards > 0) {
        char name[64];

        snprintf(name, sizeof(name), ".lock%s", s->suffix);
        if ((rc = lock_file(o->dir, ".lock", 1, "sweep directory",
                            &s->lockfd)) < 0 ||
            (rc = lock_file(o->dir, name, 0, "the shard's sweep directory",
                            &s->shardfd)) < 0)
            return rc;
    } else if ((rc = lock_file(o->dir, ".lock", 0, "sweep directory",
                               &s->lockfd)) < 0) {
        return rc;
    }
    if ((s->envp = child_env()) == NULL)
        return mlp_error_set(MLP_ENOMEM, "out of memory");
    /* Its outputs, before any run: absent or regular files. */
    {
        char p[MLP_PATH_MAX + 64];

        snprintf(p, sizeof(p), "%s/results%s.csv", o->dir, s->suffix);
        if ((rc = mlp_out_check(p)) < 0)
            return rc;
        for (int i = 0; o->plots && o->nshards == 0 && i < 2; i++) {
            snprintf(p, sizeof(p), "%s/%s", o->dir,
                     i == 0 ? "curves.png" : "accuracy.png");
            if ((rc = mlp_out_check(p)) < 0)
                return rc;
        }
    }
    if ((s->devnull = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0)
        return mlp_error_set(MLP_EIO, "cannot open '/dev/null': %s",
                             strerror(errno));
    if ((rc = mlp_sweep_journal_open(s)) < 0)
        return rc;
    take_promotions(s);
    for (size_t i = 0; i < s->nruns; i++)
        mlp_sweep_classify(s, &s->runs[i]);
    mlp_sweep_advance(s);
    check_promotions(s);
    for (size_t i = 0; i < s->nruns; i++)
        if (s->runs[i].earlier) {
            nearlier++;
            mlp_sweep_say(s, "skip %s %s: finished earlier (%s)\n",
                          s->runs[i].id, s->runs[i].label,
                          s->runs[i].status);
        }
    say_search(s);
    {
        char shard[64] = "";

        if (o->nshards > 0)
            snprintf(shard, sizeof(shard), ", shard %u of %u", o->shard,
                     o->nshards);
        mlp_sweep_say(s, "sweep: %zu run%s (%zu finished earlier), %u at "
                         "once%s, %d compute thread%s each, in '%s'%s\n",
                      s->nruns, s->nruns == 1 ? "" : "s", nearlier,
                      o->parallel,
                      s->nranks > 1 ? " on each worker rank" : "", s->per_run,
                      s->per_run == 1 ? "" : "s", o->dir, shard);
    }
    if ((rc = take_signals(s, &set, oldact)) < 0)
        goto out;
    masked = 1;
    rc = run_all(s, &set);
    {
        mlp_error_saved_t first;
        int rc2;

        mlp_error_save(&first);
        rc2 = mlp_sweep_write_csv(s);
        if (rc == 0)
            rc = rc2;
        else
            mlp_error_restore(&first, rc);
    }
    if ((order = mlp_sweep_ranking(s, &n)) == NULL) {
        rc = mlp_error_set(MLP_ENOMEM, "out of memory");
        goto out;
    }
    mlp_sweep_print_table(s, order, n, out);
    say_epochs(s, out);
    for (size_t i = 0; i < n; i++)
        nok += strcmp(s->runs[order[i]].status, "ok") == 0;
    mlp_sweep_say(s, "results: %s/results%s.csv\n", o->dir, s->suffix);
    if (o->nshards > 0)
        mlp_sweep_say(s, "shard %u of %u done; the whole sweep's results "
                         "and charts: mlptrain sweep --dir %s --report\n",
                      o->shard, o->nshards, o->dir);
    if (o->plots && o->nshards == 0) {
        mlp_error_saved_t first;
        int rc3;

        mlp_error_save(&first);
        rc3 = mlp_sweep_draw_charts(s, order, n);
        if (rc < 0)
            mlp_error_restore(&first, rc);
        else if (rc3 < 0)
            rc = mlp_error_prefix(rc3, "sweep: charts not drawn");
    }
    {
        unsigned long long trained, grid;

        mlp_sweep_epochs(s, &trained, &grid);
        mlp_sweep_journal(s, "{s:s,s:s,s:I,s:I}", "type", "end", "status",
                          rc == MLP_EINTERRUPTED ? "interrupted"
                          : rc < 0              ? "error"
                                                : "ok",
                          "trained_epochs", (json_int_t)trained,
                          "grid_epochs", (json_int_t)grid);
    }
    if (rc == MLP_EINTERRUPTED) {
        size_t fin = 0;

        for (size_t i = 0; i < n; i++)
            fin += mlp_sweep_final_status(s->runs[order[i]].status) ||
                   strcmp(s->runs[order[i]].status, "stopped") == 0;
        rc = mlp_error_set(MLP_EINTERRUPTED,
                           "sweep interrupted: %zu of %zu runs finished; run "
                           "the same command again to run the rest",
                           fin, s->nruns);
    } else if (rc == 0 && nok == 0 && s->nruns > 0) {
        rc = mlp_error_set(MLP_EIO, "sweep: no run finished ok (see the "
                                    "status column and %s/run-*.out)",
                           o->dir);
    }
out:
    if (masked)
        give_back_signals(s, &set, oldact);
    free(order);
    return rc;
}

int mlp_sweep_run(const mlp_sweep_opts_t *o, const mlp_grid_t *g,
                  const mlp_space_t *sp, FILE *out)
{
    mlp_sweep_opts_t wo;
    sweep_t s;
    int rc, threads = o->threads;

    sweep_init(&s, o);
    s.grid_in = g;
    s.space_in = sp;
    s.nranks = mlp_dist_size();
    if (o->parallel < 1 || o->threads < 0 || (g == NULL) == (sp == NULL) ||
        (g != NULL && g->npoints == 0) || (sp != NULL && sp->nitems == 0))
        return mlp_error_set(MLP_EINVAL, "sweep: nothing to run");
    /* The cores the runs share: -t, else this machine's, shared under
     * MPI by the ranks on it. */
    if (threads == 0)
        threads = mlp_config_ncores() /
                  (s.nranks > 1 ? mlp_dist_local_size() : 1);
    if (o->nshards > 0)
        snprintf(s.suffix, sizeof(s.suffix), "-%u-of-%u", o->shard,
                 o->nshards);
    s.threads = threads;
    s.per_run = threads / (int)o->parallel;
    if (s.per_run < 1)
        s.per_run = 1;
    if (s.nranks > 1 && mlp_dist_rank() > 0) {
        /* A worker: the same plan, silent, then what rank 0 sends. */
        struct sigaction oldact[4];
        sigset_t set;

        wo = *o;
        wo.err = NULL;
        s.o = &wo;
        if ((rc = mlp_sweep_plan(&s)) == 0 &&
            (s.envp = child_env()) == NULL)
            rc = mlp_error_set(MLP_ENOMEM, "out of memory");
        if (rc == 0 &&
            (s.devnull = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0)
            rc = mlp_error_set(MLP_EIO, "cannot open '/dev/null': %s",
                               strerror(errno));
        if (rc == 0 && (rc = take_signals(&s, &set, oldact)) == 0) {
            rc = worker(&s, &set);
            give_back_signals(&s, &set, oldact);
        }
        sweep_free(&s);
        return rc;
    }
    if ((rc = mlp_sweep_plan(&s)) == 0) {
        /* A shard beyond the runs (an array larger than the sweep) has
         * nothing to do: its journal says so, and it ends well. */
        if (s.nruns == 0)
            mlp_sweep_say(&s, "shard %u of %u: no run (the sweep has fewer "
                          "%s than shards)\n", o->shard, o->nshards,
                          o->search == MLP_SEARCH_HYPERBAND ? "brackets"
                                                            : "runs");
        rc = run_sweep(&s, out);
    }
    /* Every worker waits for its QUIT, whatever happened here. */
    for (int w = 1; w < s.nranks; w++)
        send_msg(w, MSG_QUIT, -1, NULL, 0, NULL);
    sweep_free(&s);
    return rc;
}

int mlp_sweep_report(const mlp_sweep_opts_t *o, FILE *out)
{
    sweep_t s;
    size_t *order = NULL, n = 0;
    int rc, fd = -1;

    sweep_init(&s, o);
    s.report = 1;
    if ((rc = mlp_sweep_journal_load(&s)) < 0)
        goto out;
    /* A sweep (or a shard) running holds DIR/.lock: show, do not write. */
    {
        char path[MLP_PATH_MAX + 16];

        snprintf(path, sizeof(path), "%s/.lock", o->dir);
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
        if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) != 0)
            s.running_elsewhere = 1;
    }
    for (size_t i = 0; i < s.nruns; i++)
        mlp_sweep_classify(&s, &s.runs[i]);
    mlp_sweep_advance(&s);
    if ((order = mlp_sweep_ranking(&s, &n)) == NULL) {
        rc = mlp_error_set(MLP_ENOMEM, "out of memory");
        goto out;
    }
    mlp_sweep_print_table(&s, order, n, out);
    say_epochs(&s, out);
    if (s.running_elsewhere) {
        fprintf(out, "a sweep is running in '%s': results.csv and the "
                     "charts are left to it\n", o->dir);
        goto out;
    }
    if ((rc = mlp_sweep_write_csv(&s)) < 0)
        goto out;
    mlp_sweep_say(&s, "results: %s/results.csv\n", o->dir);
    if (o->plots && n > 0 && (rc = mlp_sweep_draw_charts(&s, order, n)) < 0)
        rc = mlp_error_prefix(rc, "sweep: charts not drawn");
out:
    if (fd >= 0)
        close(fd);
    free(order);
    sweep_free(&s);
    return rc;
}
