/*
 * plot: gnuplot as a spawned child process, writing a picture through the
 * output door (see plot.h, outfile.h).
 *
 * Non-goals: chart design (callers write their scripts).
 */
#define _GNU_SOURCE /* pipe2, mkostemp */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mlptrain/error.h"
#include "mlptrain/outfile.h"
#include "mlptrain/plot.h"

extern char **environ;

enum { FMT_PNG, FMT_SVG };

/* The format of path by its suffix, or MLP_EUSAGE. */
static int plot_format(const char *path)
{
    const char *dot = strrchr(path, '.');

    if (dot != NULL && strchr(dot, '/') == NULL) {
        if (strcasecmp(dot, ".png") == 0)
            return FMT_PNG;
        if (strcasecmp(dot, ".svg") == 0)
            return FMT_SVG;
    }
    return mlp_error_set(MLP_EUSAGE, "cannot draw '%s': a picture's name "
                                     "ends in .png or .svg",
                         path);
}

int mlp_plot_check(const char *path)
{
    int rc;

    if (path == NULL || path[0] == '\0')
        return mlp_error_set(MLP_EUSAGE, "empty picture file name");
    if ((rc = plot_format(path)) < 0)
        return rc;
    return mlp_out_check(path);
}

void mlp_plot_texts(FILE *f, const char *name, const char *const *s,
                    size_t n)
{
    fprintf(f, "$%s << EOD\n", name);
    for (size_t i = 0; i < n; i++) {
        fputc('s', f);
        for (const char *p = s[i] != NULL ? s[i] : ""; *p; p++)
            fputc((unsigned char)*p < 0x20 || *p == 0x7f ? '?' : *p, f);
        fputc('\n', f);
    }
    fputs("EOD\n", f);
}

void mlp_plot_quote(FILE *f, const char *s)
{
    static const char safe[] = " ,.:_-+/=()%#";

    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
            (*p >= '0' && *p <= '9') || strchr(safe, *p) != NULL)
            fputc(*p, f);
        else
            fprintf(f, "\\%03o", *p);
    }
    fputc('"', f);
}

typedef struct {
    const char *gp, *script, *path;
    int width, height, fmt;
} draw_t;

/* Write all of buf to fd; EPIPE (gnuplot died) is reported by its status. */
static void write_script(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, buf, len);

        if (w < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        buf += w;
        len -= (size_t)w;
    }
}

/* mlp_out_fill_fn: run gnuplot with its stdout on the temporary file. */
static int draw_fill(int fd, const char *tmp, void *arg)
{
    const draw_t *d = arg;
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t none, all;
    char head[160];
    char *argv[2];
    int pipefd[2] = {-1, -1}, status, rc = 0, err, have_fa = 0, have_attr = 0;
    pid_t pid = -1;
    struct sigaction ign, old;

    (void)tmp;
    if (pipe2(pipefd, O_CLOEXEC) != 0)
        return mlp_error_set(MLP_EIO, "cannot run gnuplot: pipe: %s",
                             strerror(errno));
    if ((err = posix_spawn_file_actions_init(&fa)) != 0)
        goto spawn_err;
    have_fa = 1;
    if ((err = posix_spawnattr_init(&attr)) != 0)
        goto spawn_err;
    have_attr = 1;
    /* stdin: the script; stdout: the picture; stderr: ours (messages). */
    if ((err = posix_spawn_file_actions_adddup2(&fa, pipefd[0], 0)) != 0 ||
        (err = posix_spawn_file_actions_adddup2(&fa, fd, 1)) != 0)
        goto spawn_err;
    /* gnuplot starts with no signal blocked and every one at default. */
    sigemptyset(&none);
    sigfillset(&all);
    sigdelset(&all, SIGKILL);
    sigdelset(&all, SIGSTOP);
    if ((err = posix_spawnattr_setsigmask(&attr, &none)) != 0 ||
        (err = posix_spawnattr_setsigdefault(&attr, &all)) != 0 ||
        (err = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK |
                                                   POSIX_SPAWN_SETSIGDEF)) !=
            0)
        goto spawn_err;
    argv[0] = (char *)d->gp;
    argv[1] = NULL;
    err = posix_spawnp(&pid, d->gp, &fa, &attr, argv, environ);
    if (err != 0) {
        rc = mlp_error_set(MLP_EIO, "cannot run '%s': %s; install the "
                                    "Debian package gnuplot-nox",
                           d->gp, strerror(err));
        goto out;
    }
    close(pipefd[0]);
    pipefd[0] = -1;
    if (d->fmt == FMT_PNG)
        snprintf(head, sizeof(head),
                 "set terminal pngcairo size %d,%d enhanced font ',10'\n"
                 "set output\n",
                 d->width, d->height);
    else
        snprintf(head, sizeof(head),
                 "set terminal svg size %d,%d enhanced font ',10' "
                 "background '#ffffff'\nset output\n",
                 d->width, d->height);
    /* A gnuplot that died early must not kill us with SIGPIPE. */
    memset(&ign, 0, sizeof(ign));
    ign.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &ign, &old);
    write_script(pipefd[1], head, strlen(head));
    write_script(pipefd[1], d->script, strlen(d->script));
    write_script(pipefd[1], "\nunset output\nexit\n", 19);
    close(pipefd[1]);
    pipefd[1] = -1;
    sigaction(SIGPIPE, &old, NULL);
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) {
            status = -1;
            break;
        }
    if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) == 127)
        rc = mlp_error_set(MLP_EIO, "cannot run '%s' (or it was killed) "
                                    "drawing '%s'; install the Debian "
                                    "package gnuplot-nox",
                           d->gp, d->path);
    else if (WEXITSTATUS(status) != 0)
        rc = mlp_error_set(MLP_EIO, "gnuplot failed drawing '%s'; the old "
                                    "file is kept",
                           d->path);
    goto out;
spawn_err:
    rc = mlp_error_set(MLP_EIO, "cannot run gnuplot: %s", strerror(err));
out:
    if (have_fa)
        posix_spawn_file_actions_destroy(&fa);
    if (have_attr)
        posix_spawnattr_destroy(&attr);
    if (pipefd[0] >= 0)
        close(pipefd[0]);
    if (pipefd[1] >= 0)
        close(pipefd[1]);
    return rc;
}

int mlp_plot_png(const char *path, int width, int height, const char *script)
{
    draw_t d;
    int fmt;

    if (path == NULL || path[0] == '\0')
        return mlp_error_set(MLP_EUSAGE, "empty picture file name");
    if ((fmt = plot_format(path)) < 0)
        return fmt;
    d.gp = getenv("MLPTRAIN_GNUPLOT");
    if (d.gp == NULL || d.gp[0] == '\0')
        d.gp = "gnuplot";
    d.script = script;
    d.path = path;
    d.width = width;
    d.height = height;
    d.fmt = fmt;
    return mlp_out_write(path, draw_fill, &d,
                         fmt == FMT_SVG ? mlp_out_valid_svg
                                        : mlp_out_valid_png);
}
