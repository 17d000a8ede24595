/*
 * infile: open only regular files, read only as much as the caller allows
 * (see infile.h).
 *
 * O_NONBLOCK is what keeps a FIFO from hanging the open() itself (a FIFO
 * with no writer blocks a blocking open forever); the flag is cleared once
 * fstat says the file is regular, where it has no effect anyway.
 *
 * Non-goals: reading from pipes or stdin (no command reads them), mmap.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mlptrain/error.h"
#include "mlptrain/infile.h"

static const char *kind(mode_t m)
{
    if (S_ISFIFO(m))
        return "a FIFO";
    if (S_ISDIR(m))
        return "a directory";
    if (S_ISCHR(m))
        return "a character device";
    if (S_ISBLK(m))
        return "a block device";
    if (S_ISSOCK(m))
        return "a socket";
    return "not a regular file";
}

int mlp_infile_open(const char *path, int *fd, uint64_t *size)
{
    struct stat st;
    int f, flags;

    *fd = -1;
    *size = 0;
    f = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (f < 0)
        return mlp_error_set(MLP_EIO, "cannot open '%s': %s", path,
                             strerror(errno));
    if (fstat(f, &st) != 0) {
        int e = errno;

        close(f);
        return mlp_error_set(MLP_EIO, "cannot open '%s': %s", path,
                             strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(f);
        return mlp_error_set(MLP_EIO, "cannot read '%s': it is %s, not a "
                             "regular file", path, kind(st.st_mode));
    }
    if ((flags = fcntl(f, F_GETFL)) < 0 ||
        fcntl(f, F_SETFL, flags & ~O_NONBLOCK) < 0) {
        int e = errno;

        close(f);
        return mlp_error_set(MLP_EIO, "cannot open '%s': %s", path,
                             strerror(e));
    }
    *fd = f;
    *size = st.st_size > 0 ? (uint64_t)st.st_size : 0;
    return 0;
}

int mlp_infile_read(int fd, const char *path, void *buf, size_t n,
                    size_t *got)
{
    uint8_t *p = buf;
    size_t done = 0;

    *got = 0;
    while (done < n) {
        size_t want = n - done < ((size_t)1 << 30) ? n - done
                                                   : (size_t)1 << 30;
        ssize_t k = read(fd, p + done, want);

        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return mlp_error_set(MLP_EIO, "cannot read '%s': %s", path,
                                 strerror(errno));
        if (k == 0)
            break;
        done += (size_t)k;
    }
    *got = done;
    return 0;
}

int mlp_infile_read_all(const char *path, uint64_t max, const char *what,
                        uint8_t **buf, size_t *len)
{
    uint8_t *b = NULL, extra;
    uint64_t size;
    size_t got, more;
    int fd = -1, rc;

    *buf = NULL;
    *len = 0;
    if ((rc = mlp_infile_open(path, &fd, &size)) < 0)
        return rc;
    if (size > max || size >= SIZE_MAX) {
        rc = mlp_error_set(MLP_EFORMAT, "'%s' is %llu bytes; %s is at most "
                           "%llu bytes", path, (unsigned long long)size,
                           what, (unsigned long long)max);
        goto out;
    }
    if ((b = malloc(size ? (size_t)size : 1)) == NULL) {
        rc = mlp_error_set(MLP_ENOMEM, "cannot allocate %llu bytes to read "
                           "'%s'", (unsigned long long)size, path);
        goto out;
    }
    if ((rc = mlp_infile_read(fd, path, b, (size_t)size, &got)) < 0 ||
        (rc = mlp_infile_read(fd, path, &extra, 1, &more)) < 0)
        goto out;
    if (more != 0) {
        rc = mlp_error_set(MLP_EIO, "cannot read '%s': it grew while it was "
                           "read", path);
        goto out;
    }
    *buf = b;
    *len = got; /* a file that shrank: its format check sees the cut */
    b = NULL;
out:
    free(b);
    if (fd >= 0)
        close(fd);
    return rc;
}
