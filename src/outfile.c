/*
 * outfile: the one door every output goes through (see outfile.h).
 *
 * Non-goals: no portability beyond Linux/glibc (mkostemp, flock, O_CLOEXEC);
 * no locking across NFS clients.
 */
#define _GNU_SOURCE /* pipe2, mkostemp */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mlptrain/error.h"
#include "mlptrain/outfile.h"

/* ---- names ------------------------------------------------------------ */

/* "DIR" of "DIR/NAME" ("." without a slash, "/" for "/NAME"); malloc'd. */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *d;

    if (slash == NULL)
        return strdup(".");
    while (slash > path && slash[-1] == '/')
        slash--;
    if (slash == path)
        return strdup("/");
    if (!(d = malloc((size_t)(slash - path) + 1)))
        return NULL;
    memcpy(d, path, (size_t)(slash - path));
    d[slash - path] = '\0';
    return d;
}

const char *mlp_out_kind(mode_t m)
{
    return S_ISREG(m)    ? "a regular file"
           : S_ISDIR(m)  ? "a directory"
           : S_ISLNK(m)  ? "a symbolic link"
           : S_ISCHR(m)  ? "a character device"
           : S_ISBLK(m)  ? "a block device"
           : S_ISFIFO(m) ? "a FIFO"
           : S_ISSOCK(m) ? "a socket"
                         : "a file of unknown type";
}

int mlp_out_mkdirs(const char *dir)
{
    char *p = strdup(dir);
    int rc = 0;

    if (p == NULL)
        return mlp_error_set(MLP_ENOMEM, "out of memory");
    for (char *s = p + 1; *s != '\0'; s++) {
        if (*s != '/' || s[-1] == '/')
            continue;
        *s = '\0';
        if (mkdir(p, 0777) != 0 && errno != EEXIST) {
            rc = mlp_error_set(MLP_EIO, "cannot make directory '%s': %s", p,
                               strerror(errno));
            goto out;
        }
        *s = '/';
    }
    if (mkdir(p, 0777) != 0 && errno != EEXIST)
        rc = mlp_error_set(MLP_EIO, "cannot make directory '%s': %s", dir,
                           strerror(errno));
out:
    free(p);
    return rc;
}

static mode_t file_mode;
static pthread_once_t mode_once = PTHREAD_ONCE_INIT;

/* The mode open(..., 0666) would give: mkostemp makes 0600. */
static void read_umask(void)
{
    mode_t u = umask(022);

    umask(u);
    file_mode = 0666 & ~u;
}

/* ---- checks ----------------------------------------------------------- */

/* "cannot write 'x': it is a symbolic link (to 'y'); ..." */
static int symlink_error(const char *path)
{
    char to[4096];
    ssize_t n = readlink(path, to, sizeof(to) - 1);

    if (n < 0)
        n = 0;
    to[n] = '\0';
    return mlp_error_set(MLP_EIO, "cannot write '%s': it is a symbolic link "
                         "(to '%s'); outputs are never written through a "
                         "link: name the file itself", path, to);
}

int mlp_out_check(const char *path)
{
    struct stat st;
    char *dir;
    int rc = 0;

    if (path == NULL || path[0] == '\0')
        return mlp_error_set(MLP_EUSAGE, "empty output file name");
    /* lstat: the path itself, not what a link names (outfile.h). */
    if (lstat(path, &st) == 0) {
        if (S_ISLNK(st.st_mode))
            return symlink_error(path);
        if (!S_ISREG(st.st_mode))
            return mlp_error_set(MLP_EIO, "cannot write '%s': it is %s", path,
                                 mlp_out_kind(st.st_mode));
    } else if (errno != ENOENT) {
        return mlp_error_set(MLP_EIO, "cannot write '%s': %s", path,
                             strerror(errno));
    }
    /* The temporary file and the rename need the directory. */
    if ((dir = dir_of(path)) == NULL)
        return mlp_error_set(MLP_ENOMEM, "out of memory");
    if (stat(dir, &st) != 0)
        rc = mlp_error_set(MLP_EIO, "cannot write '%s': %s: %s", path, dir,
                           strerror(errno));
    else if (!S_ISDIR(st.st_mode))
        rc = mlp_error_set(MLP_EIO, "cannot write '%s': '%s' is not a "
                                    "directory",
                           path, dir);
    else if (access(dir, W_OK | X_OK) != 0)
        rc = mlp_error_set(MLP_EIO, "cannot write '%s': directory '%s': %s",
                           path, dir, strerror(errno));
    free(dir);
    return rc;
}

/* ---- atomic writes ---------------------------------------------------- */

static int valid_prefix(int fd, const char *path, const char *what,
                        const char *const *sigs, size_t nsigs)
{
    char buf[64];
    ssize_t got;

    memset(buf, 0, sizeof(buf));
    got = pread(fd, buf, sizeof(buf) - 1, 0);
    if (got < 0)
        return mlp_error_set(MLP_EIO, "cannot check '%s': %s", path,
                             strerror(errno));
    for (size_t i = 0; i < nsigs; i++) {
        const char *p = buf;

        if (sigs[i][0] == '<') /* XML may start with blanks */
            while (p < buf + got && (*p == ' ' || *p == '\n' || *p == '\r' ||
                                     *p == '\t'))
                p++;
        if ((size_t)(buf + got - p) >= strlen(sigs[i]) &&
            memcmp(p, sigs[i], strlen(sigs[i])) == 0)
            return 0;
    }
    return mlp_out_invalid(path, what);
}

int mlp_out_invalid(const char *path, const char *what)
{
    return mlp_error_set(MLP_EIO, "not writing '%s': the new file is not %s "
                                  "(a full disk?); the old one is kept",
                         path, what);
}

int mlp_out_valid_png(int fd, const char *path, void *arg)
{
    static const char *const sig[] = {"\x89PNG\r\n\x1a\n"};

    (void)arg;
    return valid_prefix(fd, path, "a PNG picture", sig, 1);
}

int mlp_out_valid_svg(int fd, const char *path, void *arg)
{
    static const char *const sig[] = {"<?xml", "<svg"};

    (void)arg;
    return valid_prefix(fd, path, "an SVG picture", sig, 2);
}

int mlp_out_write(const char *path, mlp_out_fill_fn fill, void *arg,
                  mlp_out_valid_fn valid)
{
    char *tmp = NULL, *dir = NULL;
    struct stat st;
    size_t len;
    int fd = -1, dfd = -1, rc;

    if ((rc = mlp_out_check(path)) < 0)
        return rc;
    pthread_once(&mode_once, read_umask);
    len = strlen(path) + sizeof(".tmp.XXXXXX");
    if ((tmp = malloc(len)) == NULL || (dir = dir_of(path)) == NULL) {
        rc = mlp_error_set(MLP_ENOMEM, "out of memory");
        goto out;
    }
    snprintf(tmp, len, "%s.tmp.XXXXXX", path);
    if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0) {
        rc = mlp_error_set(MLP_EIO, "cannot create a temporary file for "
                                    "'%s': %s",
                           path, strerror(errno));
        free(tmp);
        tmp = NULL; /* nothing to remove */
        goto out;
    }
    if (fchmod(fd, file_mode) != 0) {
        rc = mlp_error_set(MLP_EIO, "cannot write '%s': chmod: %s", tmp,
                           strerror(errno));
        goto out;
    }
    if ((rc = fill(fd, tmp, arg)) < 0)
        goto out;
    if (fsync(fd) != 0 || fstat(fd, &st) != 0) {
        rc = mlp_error_set(MLP_EIO, "cannot write '%s': %s", tmp,
                           strerror(errno));
        goto out;
    }
    if (st.st_size == 0) {
        rc = mlp_error_set(MLP_EIO, "not writing '%s': the new file is "
                                    "empty (a full disk?); the old one is kept",
                           path);
        goto out;
    }
    if (valid != NULL && (rc = valid(fd, path, arg)) < 0)
        goto out;
    rc = close(fd);
    fd = -1;
    if (rc != 0) {
        rc = mlp_error_set(MLP_EIO, "cannot write '%s': close: %s", tmp,
                           strerror(errno));
        goto out;
    }
    /* The target may have become a directory or FIFO since the check. */
    if ((rc = mlp_out_check(path)) < 0)
        goto out;
    if (rename(tmp, path) != 0) {
        rc = mlp_error_set(MLP_EIO, "cannot rename '%s' to '%s': %s", tmp,
                           path, strerror(errno));
        goto out;
    }
    free(tmp);
    tmp = NULL; /* renamed: nothing to remove */
    /* The rename is durable once the directory is. */
    if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
        (fsync(dfd) != 0 && errno != EINVAL))
        rc = mlp_error_set(MLP_EIO, "cannot sync directory '%s' of '%s': %s",
                           dir, path, strerror(errno));
out:
    if (dfd >= 0)
        close(dfd);
    if (fd >= 0)
        close(fd);
    if (tmp != NULL && rc < 0)
        unlink(tmp);
    free(tmp);
    free(dir);
    return rc;
}

/* ---- locks ------------------------------------------------------------ */

/*
 * Open (creating) a regular file without blocking on a FIFO and without
 * taking a terminal; flags: O_WRONLY or O_RDWR, plus O_APPEND.
 */
static int open_regular(const char *path, int flags, int *fd_out)
{
    struct stat st;
    int fd;

    pthread_once(&mode_once, read_umask);
    /* O_NOFOLLOW: a link (even one made after mlp_out_check) is refused,
     * never followed to create or append to what it names. */
    fd = open(path, flags | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NONBLOCK |
                        O_NOFOLLOW, 0666);
    if (fd < 0 && errno == ELOOP)
        return symlink_error(path);
    if (fd < 0)
        return mlp_error_set(MLP_EIO, "cannot open '%s' for writing: %s",
                             path, strerror(errno));
    if (fstat(fd, &st) != 0)
        st.st_mode = 0;
    if (!S_ISREG(st.st_mode)) {
        int rc = mlp_error_set(MLP_EIO, "cannot write '%s': it is %s", path,
                               mlp_out_kind(st.st_mode));
        close(fd);
        return rc;
    }
    if (fcntl(fd, F_SETFL, flags & O_APPEND) != 0) {
        int rc = mlp_error_set(MLP_EIO, "cannot open '%s': %s", path,
                               strerror(errno));
        close(fd);
        return rc;
    }
    *fd_out = fd;
    return 0;
}

static int take_lock(int fd, const char *path)
{
    while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EINTR)
            continue;
        if (errno == EWOULDBLOCK)
            return mlp_error_set(MLP_EBUSY, "'%s' is in use by another "
                                            "mlptrain process",
                                 path);
        return mlp_error_set(MLP_EIO, "cannot lock '%s': %s", path,
                             strerror(errno));
    }
    return 0;
}

int mlp_out_lock(const char *path, int *fd_out)
{
    *fd_out = -1;
    if (path == NULL || path[0] == '\0')
        return mlp_error_set(MLP_EUSAGE, "empty lock file name");
    /* A lock file removed by its holder (mlp_out_unlock_remove) between
     * our open and our flock is a dead inode: try the new one. */
    for (int tries = 0; tries < 100; tries++) {
        struct stat a, b;
        int fd, rc;

        if ((rc = open_regular(path, O_RDWR, &fd)) < 0)
            return rc;
        if ((rc = take_lock(fd, path)) < 0) {
            close(fd);
            return rc;
        }
        if (fstat(fd, &a) == 0 && stat(path, &b) == 0 &&
            a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
            *fd_out = fd;
            return 0;
        }
        close(fd);
    }
    return mlp_error_set(MLP_EBUSY, "cannot lock '%s': it keeps changing",
                         path);
}

void mlp_out_unlock(int fd)
{
    if (fd >= 0)
        close(fd);
}

void mlp_out_unlock_remove(const char *path, int fd)
{
    if (fd < 0)
        return;
    /* Unlink while holding the lock: a process that opened the old inode
     * sees it is no longer the path's and retries (mlp_out_lock). */
    unlink(path);
    close(fd);
}

int mlp_out_lock_name(const char *path, char *buf, size_t len)
{
    if ((size_t)snprintf(buf, len, "%s.lock", path) >= len)
        return mlp_error_set(MLP_EUSAGE, "'%s': file name too long", path);
    return 0;
}

int mlp_out_open_log(const char *path, int append, int *fd_out)
{
    int fd, rc;

    *fd_out = -1;
    if ((rc = mlp_out_check(path)) < 0)
        return rc;
    if ((rc = open_regular(path, O_WRONLY | O_APPEND, &fd)) < 0)
        return rc;
    if ((rc = take_lock(fd, path)) < 0) {
        close(fd);
        return rc;
    }
    /* Truncate only once the file is ours: a refused second trainer
     * leaves the first one's log alone. */
    if (!append && ftruncate(fd, 0) != 0) {
        rc = mlp_error_set(MLP_EIO, "cannot truncate '%s': %s", path,
                           strerror(errno));
        close(fd);
        return rc;
    }
    *fd_out = fd;
    return 0;
}

/* ---- aliases ---------------------------------------------------------- */

typedef struct {
    int exists;
    dev_t dev;
    ino_t ino;
    char *real; /* absent: realpath(dir) + "/" + name */
} ident_t;

static int identify(const char *path, ident_t *id)
{
    struct stat st;
    const char *base;
    char *dir, *rdir;
    size_t len;

    memset(id, 0, sizeof(*id));
    if (stat(path, &st) == 0) {
        id->exists = 1;
        id->dev = st.st_dev;
        id->ino = st.st_ino;
        return 0;
    }
    if ((dir = dir_of(path)) == NULL)
        return mlp_error_set(MLP_ENOMEM, "out of memory");
    rdir = realpath(dir, NULL);
    free(dir);
    if (rdir == NULL) /* no directory: nothing can clash with it */
        return 0;
    base = strrchr(path, '/');
    base = base != NULL ? base + 1 : path;
    len = strlen(rdir) + strlen(base) + 2;
    if ((id->real = malloc(len)) == NULL) {
        free(rdir);
        return mlp_error_set(MLP_ENOMEM, "out of memory");
    }
    snprintf(id->real, len, "%s/%s", rdir, base);
    free(rdir);
    return 0;
}

static int same(const ident_t *a, const ident_t *b)
{
    if (a->exists && b->exists)
        return a->dev == b->dev && a->ino == b->ino;
    return !a->exists && !b->exists && a->real != NULL && b->real != NULL &&
           strcmp(a->real, b->real) == 0;
}

static int allowed(const mlp_out_file_t *a, const mlp_out_file_t *b)
{
    return (a->same_ok != NULL && strcmp(a->same_ok, b->option) == 0) ||
           (b->same_ok != NULL && strcmp(b->same_ok, a->option) == 0);
}

int mlp_out_no_alias(const mlp_out_file_t *files, size_t n)
{
    ident_t *ids = calloc(n > 0 ? n : 1, sizeof(*ids));
    int rc = 0;

    if (ids == NULL)
        return mlp_error_set(MLP_ENOMEM, "out of memory");
    for (size_t i = 0; i < n && rc == 0; i++)
        if (files[i].path != NULL && files[i].path[0] != '\0')
            rc = identify(files[i].path, &ids[i]);
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (files[i].path == NULL || files[i].path[0] == '\0' ||
            !files[i].output)
            continue;
        for (size_t j = 0; j < n && rc == 0; j++) {
            if (j == i || files[j].path == NULL || files[j].path[0] == '\0' ||
                (files[j].output && j < i) ||
                (!files[j].output && !ids[j].exists) || /* cannot clash */
                !same(&ids[i], &ids[j]) ||
                allowed(&files[i], &files[j]))
                continue;
            rc = mlp_error_set(MLP_EUSAGE,
                               "'%s' and '%s' name the same file ('%s' and "
                               "'%s'): an output may not overwrite %s",
                               files[i].option, files[j].option,
                               files[i].path, files[j].path,
                               files[j].output ? "another output"
                                               : "an input");
        }
    }
    for (size_t i = 0; i < n; i++)
        free(ids[i].real);
    free(ids);
    return rc;
}
