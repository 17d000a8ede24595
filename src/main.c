/*
 * main: find the command (commands.h), run it, turn its status into a
 * message on stderr and an exit code.  The only place that exits.
 *
 * Exit codes: 0 success; 1 a runtime error (data, memory, oneDNN, I/O);
 * 2 bad usage; 3 training diverged; 130 interrupted (SIGINT/SIGTERM).
 *
 * Standard streams: descriptors 0-2 are made open first (on /dev/null when
 * closed), so that no file the run opens (a --log) becomes stdout or
 * stderr.  stdout is a stream over descriptor 1 that ends quietly on
 * EPIPE: SIGPIPE is ignored, and a reader that goes away (`| head -1`)
 * ends the human output, not the run, which still writes its checkpoint
 * and its log and exits as it would have.  Any other write error of stdout
 * (a full disk) fails every command with exit 1: "cannot write standard
 * output".
 *
 * Signals: from the start, SIGINT and SIGTERM end the process at once with
 * exit 130 (_exit from the handler: nothing is flushed, and an output
 * written through a temporary file keeps its old contents; at worst a
 * stray temporary file is left beside it).  So a signal during start-up or
 * a blocking call is never swallowed.  Once training's batch loop runs,
 * they run a handler that only asks the trainer to stop
 * (mlp_train_catch_signals), which saves and logs and exits 130; the
 * default action comes back as it runs, so a second Ctrl-C kills at once.
 * Commands that manage signals themselves (sweep) install their own.  The
 * loader's threads block every signal.
 *
 * MPI (`mpirun -np R mlptrain ...`, dist.h): train alone runs on R ranks:
 * MPI starts (FUNNELED) before the command and ends after it.  Every rank
 * trains; rank 0 alone prints, logs and saves.  Before the first step the
 * ranks agree (mlp_dist_agree): each says whether it is ready and what it
 * will train; a rank whose command failed before that point (bad usage,
 * unreadable data) takes the agreement here, with its failure, so the
 * others learn of it instead of waiting.  Agreed ends (success, the
 * agreement's failure, interrupted, diverged: the same on every rank) are
 * reported by rank 0 and finalize; any other error (I/O, memory, MPI,
 * after the agreement) is printed by the rank that has it, which then
 * stops the whole job (mlp_dist_abort, its exit code) rather than leave
 * the other ranks waiting in a sum.
 * sweep runs under mpirun as a scheduler (rank 0) and its workers
 * (sweep_ranks below).  Other commands refuse to run on more than one
 * rank (exit 2: each rank would do the same work and write the same
 * files; run them without mpirun).
 */
#define _GNU_SOURCE /* fopencookie */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mlptrain/commands.h"
#include "mlptrain/dist.h"
#include "mlptrain/error.h"
#include "mlptrain/sweep.h"

enum { EXIT_USAGE = 2, EXIT_DIVERGED = 3, EXIT_INTERRUPTED = 130 };

/* Open /dev/null on each of descriptors 0-2 that is closed; -1 if one
 * cannot be.  The lowest free descriptor is the one being filled. */
static int open_std_fds(void)
{
    for (int fd = 0; fd <= 2; fd++)
        if (fcntl(fd, F_GETFD) < 0 && errno == EBADF &&
            open("/dev/null", O_RDWR) != fd)
            return -1;
    return 0;
}

/* stdout: writes to descriptor 1 until the reader is gone (EPIPE: the
 * rest is dropped, as if read); other errors fail the stream. */
static struct {
    int gone;   /* EPIPE seen */
    int err;    /* the errno of a failed write, 0 */
} out_state;

static ssize_t out_write(void *cookie, const char *buf, size_t n)
{
    size_t done = 0;

    (void)cookie;
    while (done < n && !out_state.gone) {
        ssize_t w = write(STDOUT_FILENO, buf + done, n - done);

        if (w >= 0) {
            done += (size_t)w;
        } else if (errno == EPIPE) {
            out_state.gone = 1;
        } else if (errno != EINTR) {
            out_state.err = errno;
            return done > 0 ? (ssize_t)done : -1;
        }
    }
    return (ssize_t)n;
}

static int open_stdout(void)
{
    cookie_io_functions_t io = {NULL, out_write, NULL, NULL};
    FILE *f = fopencookie(NULL, "w", io);

    if (f == NULL)
        return -1;
    setvbuf(f, NULL, isatty(STDOUT_FILENO) ? _IOLBF : _IOFBF, BUFSIZ);
    stdout = f; /* glibc: stdout is a variable one may set */
    return 0;
}

static void on_startup_signal(int sig)
{
    (void)sig;
    _exit(EXIT_INTERRUPTED);
}

/* SIGINT and SIGTERM: exit 130 now (see the top of this file). */
static void exit_on_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_startup_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

/* Results that never reached stdout (a full disk) are a failure, not a
 * silent success; a reader that left (EPIPE) is not. */
static int check_stdout(int code)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        if (code == EXIT_SUCCESS)
            fprintf(stderr, "mlptrain: cannot write standard output: %s\n",
                    strerror(out_state.err != 0 ? out_state.err : EIO));
        return code == EXIT_SUCCESS ? EXIT_FAILURE : code;
    }
    return code;
}

/* Print the error of a failed command and return its exit code.  Of
 * several ranks only rank 0 speaks of an end they all share (`shared`). */
static int fail_shared(int rc, const char *command, const char *data_dir,
                       int shared)
{
    if (mlp_dist_size() > 1 && mlp_dist_rank() > 0) {
        if (shared)
            return rc == MLP_EUSAGE         ? EXIT_USAGE
                   : rc == MLP_EDIVERGED    ? EXIT_DIVERGED
                   : rc == MLP_EINTERRUPTED ? EXIT_INTERRUPTED
                                            : EXIT_FAILURE;
        fprintf(stderr, "mlptrain: rank %d: %s\n", mlp_dist_rank(),
                mlp_error_message());
        return EXIT_FAILURE;
    }
    fprintf(stderr, "mlptrain: %s\n", mlp_error_message());
    if (rc == MLP_EUSAGE) {
        fprintf(stderr, "hint: see 'mlptrain %s%s--help'\n",
                command != NULL ? command : "", command != NULL ? " " : "");
        return EXIT_USAGE;
    }
    if ((rc == MLP_EIO || rc == MLP_EFORMAT) && data_dir != NULL &&
        strstr(mlp_error_message(), data_dir) != NULL)
        fprintf(stderr, "hint: the data directory is '%s'; set it with "
                        "--data DIR or MLPTRAIN_DATA\n",
                data_dir);
    if (rc == MLP_ENOMEM)
        fprintf(stderr, "hint: a smaller --batch or --hidden needs less "
                        "memory\n");
    if (rc == MLP_EDIVERGED) {
        fprintf(stderr, "hint: try a smaller --lr; the last checkpoint "
                        "(--save) is the last good state\n");
        return EXIT_DIVERGED;
    }
    if (rc == MLP_EINTERRUPTED)
        return EXIT_INTERRUPTED;
    return EXIT_FAILURE;
}

/* The same in one process (every end is its own). */
static int fail(int rc, const char *command, const char *data_dir)
{
    return fail_shared(rc, command, data_dir, 1);
}

/* The command argv names: another command's name in argv[1], else train
 * (the first entry), which gets the whole command line (commands.h). */
static const mlp_command_t *find_command(int argc, char **argv, int *shift)
{
    const mlp_command_t *c = argc > 1 ? mlp_command_find(argv[1]) : NULL;

    *shift = c != NULL && c != mlp_commands[0];
    return *shift ? c : mlp_commands[0];
}

/* Run command c and turn its status into an exit code.  train's usage
 * hint names no command ('mlptrain --help'). */
static int run(const mlp_command_t *c, int argc, char **argv)
{
    int rc = c->run(argc, argv, stdout);
    const char *name = c == mlp_commands[0] ? NULL : c->name;

    if (rc == 0)
        return check_stdout(EXIT_SUCCESS);
    return check_stdout(fail(rc, name,
                             c->data_dir != NULL ? c->data_dir() : NULL));
}

/*
 * train, on every rank under mpirun: MPI around the command; every rank
 * takes the agreement (the command's trainer does, or here, for a command
 * that ended before it); a failure the ranks do not share stops the job
 * (see the top of this file).
 */
static int train_ranks(const mlp_command_t *c, int argc, char **argv)
{
    int rc, code, agreed = 0, shared;

    if ((rc = mlp_dist_init(&argc, &argv)) < 0)
        return fail(rc, NULL, NULL);
    rc = c->run(argc, argv, stdout);
    if (mlp_dist_size() > 1 && !mlp_dist_agreed(NULL)) {
        rc = mlp_dist_agree(rc < 0 ? rc : MLP_DIST_NOT_TRAINING, NULL, 0);
        if (rc == MLP_DIST_NOT_TRAINING)
            rc = 0;
    }
    mlp_dist_agreed(&agreed);
    shared = rc == 0 || rc == MLP_EINTERRUPTED || rc == MLP_EDIVERGED ||
             (rc < 0 && rc == agreed);
    code = rc == 0 ? check_stdout(EXIT_SUCCESS)
                   : check_stdout(fail_shared(rc, NULL, c->data_dir(),
                                              shared));
    if (mlp_dist_size() > 1 && !shared) {
        fflush(stdout);
        fflush(stderr);
        mlp_dist_abort(code);
    }
    if (mlp_dist_finalize() < 0 && code == EXIT_SUCCESS)
        return fail(MLP_EIO, NULL, NULL);
    return code;
}

/*
 * sweep under mpirun: rank 0 schedules, the others train what it sends
 * (sweep.h).  Rank 0 ends its workers itself (a QUIT message on every
 * way out), so its failures end the job normally; a worker's failure
 * (other than bad usage, which every rank sees alike) stops the whole job,
 * since rank 0 would wait for it.
 */
static int sweep_ranks(const mlp_command_t *c, int argc, char **argv)
{
    int rc, code;

    if ((rc = mlp_dist_init(&argc, &argv)) < 0)
        return fail(rc, c->name, NULL);
    code = run(c, argc, argv);
    if (mlp_dist_size() > 1 && mlp_dist_rank() > 0 &&
        code != EXIT_SUCCESS && code != EXIT_USAGE) {
        fflush(stdout);
        fflush(stderr);
        mlp_dist_abort(code);
    }
    if (mlp_dist_finalize() < 0 && code == EXIT_SUCCESS)
        return fail(MLP_EIO, c->name, NULL);
    return code;
}

int main(int argc, char **argv)
{
    const mlp_command_t *c;
    int rc, shift, launched, launch_rank, launch_size;

    /* First of all, before anything opens a file. */
    if (open_std_fds() < 0)
        return EXIT_FAILURE; /* not even /dev/null: nowhere to say it */
    signal(SIGPIPE, SIG_IGN);
    exit_on_signals();
    if (open_stdout() < 0) {
        fprintf(stderr, "mlptrain: cannot set up standard output: %s\n",
                strerror(errno));
        return EXIT_FAILURE;
    }
    /* A sweep's run dies with the sweep (sweep.h).  A value that is not a
     * process id was not set by a sweep: said and ignored, so that every
     * command (--help first) still works. */
    if ((rc = mlp_sweep_child_start()) == MLP_EUSAGE)
        fprintf(stderr, "mlptrain: warning: %s; ignored\n",
                mlp_error_message());
    else if (rc < 0)
        return fail(rc, NULL, NULL);
    c = find_command(argc, argv, &shift);
    launched = mlp_dist_launched(&launch_rank, &launch_size);
    if (c == &mlp_command_sweep && launched)
        return sweep_ranks(c, argc - shift, argv + shift);
    if (c != mlp_commands[0]) {
        if (launch_size > 1) {
            if (launch_rank > 0)
                return EXIT_USAGE;
            mlp_error_set(MLP_EUSAGE, "%s runs in one process, not on %d "
                          "MPI ranks (only train and sweep run under "
                          "mpirun)", c->name, launch_size);
            return fail(MLP_EUSAGE, c->name, NULL);
        }
        return run(c, argc - shift, argv + shift);
    }
    return train_ranks(c, argc - shift, argv + shift);
}
