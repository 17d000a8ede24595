/*
 * plot: gnuplot as a child process, writing a PNG atomically (see plot.h).
 *
 * Non-goals: chart design (callers write their scripts).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mlptrain/error.h"
#include "mlptrain/plot.h"

int mlp_plot_png(const char *png_path, int width, int height,
                 const char *script)
{
    const char *gp = getenv("MLPTRAIN_GNUPLOT");
    char tmp[4096 + 32];
    int pipefd[2] = {-1, -1}, status, rc = 0;
    pid_t pid;
    FILE *w = NULL;

    if (gp == NULL || gp[0] == '\0')
        gp = "gnuplot";
    if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", png_path, (long)getpid()) >=
        (int)sizeof(tmp))
        return mlp_error_set(MLP_EINVAL, "'%s': path too long", png_path);
    if (pipe(pipefd) != 0)
        return mlp_error_set(MLP_EIO, "cannot run gnuplot: pipe: %s",
                             strerror(errno));
    pid = fork();
    if (pid < 0) {
        rc = mlp_error_set(MLP_EIO, "cannot run gnuplot: fork: %s",
                           strerror(errno));
        goto out;
    }
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(pipefd[0], 0);
        if (devnull >= 0)
            dup2(devnull, 1);
        close(pipefd[0]);
        close(pipefd[1]);
        execlp(gp, gp, (char *)NULL);
        _exit(127);
    }
    close(pipefd[0]);
    pipefd[0] = -1;
    w = fdopen(pipefd[1], "w");
    if (w == NULL) {
        rc = mlp_error_set(MLP_EIO, "cannot run gnuplot: %s", strerror(errno));
        goto reap;
    }
    pipefd[1] = -1;
    /* A gnuplot that died early must not kill us with SIGPIPE. */
    {
        struct sigaction sa, old;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = SIG_IGN;
        sigaction(SIGPIPE, &sa, &old);
        fprintf(w, "set terminal pngcairo size %d,%d enhanced font ',10'\n"
                   "set output '%s'\n%s\nset output\n",
                width, height, tmp, script);
        fclose(w);
        sigaction(SIGPIPE, &old, NULL);
    }
    w = NULL;
reap:
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) {
            status = -1;
            break;
        }
    if (rc == 0) {
        if (!WIFEXITED(status) || WEXITSTATUS(status) == 127)
            rc = mlp_error_set(MLP_EIO,
                               "cannot run '%s': install the Debian package "
                               "gnuplot-nox",
                               gp);
        else if (WEXITSTATUS(status) != 0)
            rc = mlp_error_set(MLP_EIO, "gnuplot failed drawing '%s'",
                               png_path);
        else if (rename(tmp, png_path) != 0)
            rc = mlp_error_set(MLP_EIO, "cannot write '%s': %s", png_path,
                               strerror(errno));
    }
    if (rc < 0)
        unlink(tmp);
out:
    if (pipefd[0] >= 0)
        close(pipefd[0]);
    if (pipefd[1] >= 0)
        close(pipefd[1]);
    return rc;
}
