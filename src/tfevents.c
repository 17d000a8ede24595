/*
 * tfevents: TensorBoard event files (see tfevents.h).
 *
 * CRC-32C is a byte-wise table (built once): records are a few hundred
 * bytes once per epoch, so a faster CRC would buy nothing.  Events are
 * packed by protobuf-c from gen/tfevent.pb-c.c, generated at build time
 * from proto/tfevent.proto.
 *
 * Non-goals: reading event files (the tests have an independent reader);
 * other summaries than scalars (histograms, images, graphs); writing to
 * anything but a local directory; choosing tags (report.c does).
 */
#define _GNU_SOURCE /* O_NOFOLLOW, fdopendir */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "gen/tfevent.pb-c.h"
#include "mlptrain/error.h"
#include "mlptrain/outfile.h"
#include "mlptrain/tfevents.h"

/* ---- CRC-32C and framing ------------------------------------------------ */

static uint32_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

/* Castagnoli's polynomial, bit-reversed (the CRC is reflected). */
static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;

        for (int k = 0; k < 8; k++)
            c = (c & 1u) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        crc_table[i] = c;
    }
}

uint32_t mlp_crc32c(uint32_t crc, const void *buf, size_t n)
{
    const unsigned char *p = buf;

    pthread_once(&crc_once, crc_init);
    crc = ~crc;
    while (n-- > 0)
        crc = crc_table[(crc ^ *p++) & 0xffu] ^ (crc >> 8);
    return ~crc;
}

uint32_t mlp_tfrecord_mask(uint32_t crc)
{
    return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

static void put_le32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void put_le64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* The header and trailer of a record whose n data bytes are at out + 12. */
static void frame_in_place(unsigned char *out, size_t n)
{
    put_le64(out, (uint64_t)n);
    put_le32(out + 8, mlp_tfrecord_mask(mlp_crc32c(0, out, 8)));
    put_le32(out + 12 + n, mlp_tfrecord_mask(mlp_crc32c(0, out + 12, n)));
}

void mlp_tfrecord_frame(unsigned char *out, const void *data, size_t n)
{
    memcpy(out + 12, data, n);
    frame_in_place(out, n);
}

/* ---- events ------------------------------------------------------------- */

/* A double as simple_value: out of a float's range is an infinity, not
 * an undefined conversion. */
static float to_float(double x)
{
    if (x > FLT_MAX)
        return INFINITY;
    if (x < -FLT_MAX)
        return -INFINITY;
    return (float)x;
}

int mlp_tfevents_encode(double wall_time, int64_t step,
                        const char *file_version,
                        const mlp_tfevents_scalar_t *v, size_t n,
                        unsigned char **rec, size_t *len)
{
    Tensorflow__Event ev = TENSORFLOW__EVENT__INIT;
    Tensorflow__Summary sum = TENSORFLOW__SUMMARY__INIT;
    Tensorflow__Summary__Value *vals = NULL, **pv = NULL;
    unsigned char *buf = NULL;
    size_t dn, k = 0;
    int rc = 0;

    *rec = NULL;
    *len = 0;
    ev.wall_time = wall_time;
    ev.step = step;
    if (file_version != NULL) {
        ev.what_case = TENSORFLOW__EVENT__WHAT_FILE_VERSION;
        ev.file_version = (char *)file_version; /* packing only reads it */
    } else {
        if ((vals = calloc(n > 0 ? n : 1, sizeof(*vals))) == NULL ||
            (pv = calloc(n > 0 ? n : 1, sizeof(*pv))) == NULL) {
            rc = mlp_error_set(MLP_ENOMEM, "out of memory");
            goto out;
        }
        for (size_t i = 0; i < n; i++) {
            if (v[i].tag == NULL || v[i].tag[0] == '\0') {
                rc = mlp_error_set(MLP_EUSAGE, "TensorBoard scalar %zu has "
                                               "no tag", i);
                goto out;
            }
            if (!isfinite(v[i].value))
                continue;
            tensorflow__summary__value__init(&vals[k]);
            vals[k].tag = (char *)v[i].tag;
            vals[k].value_case =
                TENSORFLOW__SUMMARY__VALUE__VALUE_SIMPLE_VALUE;
            vals[k].simple_value = to_float(v[i].value);
            pv[k] = &vals[k];
            k++;
        }
        sum.n_value = k;
        sum.value = pv;
        ev.what_case = TENSORFLOW__EVENT__WHAT_SUMMARY;
        ev.summary = &sum;
    }
    dn = tensorflow__event__get_packed_size(&ev);
    if ((buf = malloc(dn + MLP_TFRECORD_OVERHEAD)) == NULL) {
        rc = mlp_error_set(MLP_ENOMEM, "out of memory");
        goto out;
    }
    tensorflow__event__pack(&ev, buf + 12);
    frame_in_place(buf, dn);
    *rec = buf;
    *len = dn + MLP_TFRECORD_OVERHEAD;
out:
    free(vals);
    free(pv);
    return rc;
}

/* ---- the directory ------------------------------------------------------ */

/* Cut p (a malloc'd path) to its parent: "a/b/" -> "a", "a" -> ".",
 * "/a" -> "/".  0 when p is already "/" or ".". */
static int to_parent(char *p)
{
    size_t n = strlen(p);
    char *slash;

    if (strcmp(p, "/") == 0 || strcmp(p, ".") == 0)
        return 0;
    while (n > 1 && p[n - 1] == '/')
        p[--n] = '\0';
    if ((slash = strrchr(p, '/')) == NULL) {
        strcpy(p, "."); /* p holds at least one byte */
        return 1;
    }
    while (slash > p && slash[-1] == '/')
        slash--;
    if (slash == p)
        slash++; /* the root */
    *slash = '\0';
    return 1;
}

/* 0 when the existing path p is a directory this process may write. */
static int writable_dir(const char *dir, const char *p, const struct stat *st)
{
    if (!S_ISDIR(st->st_mode)) {
        if (strcmp(dir, p) == 0)
            return mlp_error_set(MLP_EIO, "cannot write TensorBoard files "
                                          "into '%s': it is %s",
                                 dir, mlp_out_kind(st->st_mode));
        return mlp_error_set(MLP_EIO, "cannot make directory '%s': '%s' is "
                                      "%s",
                             dir, p, mlp_out_kind(st->st_mode));
    }
    if (access(p, W_OK | X_OK) != 0)
        return mlp_error_set(MLP_EIO, "cannot write TensorBoard files into "
                                      "'%s': directory '%s': %s",
                             dir, p, strerror(errno));
    return 0;
}

int mlp_tfevents_check_dir(const char *dir)
{
    struct stat st;
    char *p;
    int rc = 0;

    if (dir == NULL || dir[0] == '\0')
        return mlp_error_set(MLP_EUSAGE, "empty TensorBoard directory name");
    if ((p = malloc(strlen(dir) + 2)) == NULL)
        return mlp_error_set(MLP_ENOMEM, "out of memory");
    strcpy(p, dir);
    /* Up from dir to the first path that exists: it must be a writable
     * directory (dir itself, or the parent mkdir -p starts from). */
    for (;;) {
        if (stat(p, &st) == 0) {
            rc = writable_dir(dir, p, &st);
            break;
        }
        if (errno != ENOENT) {
            rc = mlp_error_set(MLP_EIO, "cannot write TensorBoard files "
                                        "into '%s': %s",
                               dir, strerror(errno));
            break;
        }
        if (lstat(p, &st) == 0) { /* a symbolic link to nothing */
            rc = mlp_error_set(MLP_EIO, "cannot make directory '%s': '%s' "
                                        "is a symbolic link to a missing "
                                        "file",
                               dir, p);
            break;
        }
        if (!to_parent(p)) { /* "/" or "." missing: cannot happen */
            rc = mlp_error_set(MLP_EIO, "cannot make directory '%s'", dir);
            break;
        }
    }
    free(p);
    return rc;
}

/* Open dir (following a symlink), check it is a directory, lock it. */
static int open_dir(const char *dir, int *dfd_out)
{
    struct stat st;
    int dfd;

    *dfd_out = -1;
    if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
        int e = errno;

        if (e == ENOTDIR && stat(dir, &st) == 0)
            return mlp_error_set(MLP_EIO, "cannot write TensorBoard files "
                                          "into '%s': it is %s",
                                 dir, mlp_out_kind(st.st_mode));
        return mlp_error_set(MLP_EIO, "cannot open directory '%s': %s", dir,
                             strerror(e));
    }
    while (flock(dfd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;

        if (e == EINTR)
            continue;
        close(dfd);
        if (e == EWOULDBLOCK)
            return mlp_error_set(MLP_EBUSY, "TensorBoard directory '%s' is "
                                            "in use by another mlptrain "
                                            "process",
                                 dir);
        return mlp_error_set(MLP_EIO, "cannot lock directory '%s': %s", dir,
                             strerror(e));
    }
    *dfd_out = dfd;
    return 0;
}

#define NAME_PREFIX "events.out.tfevents."
#define SECS_DIGITS 10

/*
 * The newest <secs> among the event file names in the directory, -1 when
 * there are none (names whose field is not 10 digits are not counted).
 */
static long long newest_secs(int dfd)
{
    int fd = dup(dfd);
    DIR *d;
    struct dirent *e;
    long long best = -1;

    if (fd < 0 || (d = fdopendir(fd)) == NULL) {
        if (fd >= 0)
            close(fd);
        return -1; /* the name then orders by the clock alone */
    }
    while ((e = readdir(d)) != NULL) {
        const char *s = e->d_name;
        long long v = 0;
        int k;

        if (strncmp(s, NAME_PREFIX, sizeof(NAME_PREFIX) - 1) != 0)
            continue;
        s += sizeof(NAME_PREFIX) - 1;
        for (k = 0; k < SECS_DIGITS && s[k] >= '0' && s[k] <= '9'; k++)
            v = 10 * v + (s[k] - '0');
        if (k == SECS_DIGITS && (s[k] == '.' || s[k] == '\0') && v > best)
            best = v;
    }
    closedir(d);
    return best;
}

/* The host name as a file name part: [A-Za-z0-9._-] kept, all else '_'. */
static void host_part(char *buf, size_t len)
{
    if (gethostname(buf, len) != 0)
        buf[0] = '\0';
    buf[len - 1] = '\0';
    for (char *c = buf; *c != '\0'; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
              (*c >= '0' && *c <= '9') || *c == '.' || *c == '_' ||
              *c == '-'))
            *c = '_';
    if (buf[0] == '\0')
        snprintf(buf, len, "localhost");
}

static double wall_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- the writer --------------------------------------------------------- */

struct mlp_tfevents {
    int dfd;        /* the directory, flocked while the writer lives */
    int fd;         /* the event file */
    uint64_t off;   /* its bytes of whole records */
    int torn;       /* a partial record could not be cut off: write no
                       more after it (a record would not start at off) */
    char *path;     /* "DIR/NAME", for messages */
    char *name;     /* NAME, relative to dfd */
};

/*
 * One record, one pwrite at the end of the whole records.  A failed or
 * short write is cut off again, so the file never ends in a partial
 * record (unless the cut fails too: the message says so).
 */
static int write_record(mlp_tfevents_t *w, const unsigned char *rec,
                        size_t len)
{
    char why[160];
    ssize_t k;

    if (w->torn)
        return mlp_error_set(MLP_EIO, "not writing to '%s' after its partial "
                                      "record",
                             w->path);
    do
        k = pwrite(w->fd, rec, len, (off_t)w->off);
    while (k < 0 && errno == EINTR);
    if (k >= 0 && (size_t)k == len) {
        w->off += len;
        return 0;
    }
    if (k < 0)
        snprintf(why, sizeof(why), "%s", strerror(errno));
    else
        snprintf(why, sizeof(why), "short write, %zd of %zu bytes (a full "
                                   "disk or a file size limit?)",
                 k, len);
    if (ftruncate(w->fd, (off_t)w->off) != 0) {
        w->torn = 1;
        return mlp_error_set(MLP_EIO, "cannot write '%s': %s; and cannot "
                                      "cut the partial record off (%s): the "
                                      "file ends in a partial record after "
                                      "%llu bytes",
                             w->path, why, strerror(errno),
                             (unsigned long long)w->off);
    }
    return mlp_error_set(MLP_EIO, "cannot write '%s': %s; the file keeps "
                                  "its %llu bytes of whole records",
                         w->path, why, (unsigned long long)w->off);
}

/* Create the file: a new name (see tfevents.h) with O_EXCL under dfd. */
static int create_file(mlp_tfevents_t *w, const char *dir)
{
    char host[256];
    long long secs = (long long)time(NULL), newest = newest_secs(w->dfd);
    size_t len;

    /* Name order is start order: after every event file already there. */
    if (newest >= secs && newest < 9999999999LL)
        secs = newest + 1;
    host_part(host, sizeof(host));
    len = sizeof(NAME_PREFIX) + strlen(host) + 64;
    if ((w->name = malloc(len)) == NULL ||
        (w->path = malloc(strlen(dir) + len + 1)) == NULL)
        return mlp_error_set(MLP_ENOMEM, "out of memory");
    /* Only a writer outside mlptrain could take the name meanwhile (the
     * directory is locked): then the next second's. */
    for (int tries = 0; tries < 10; tries++, secs++) {
        snprintf(w->name, len, NAME_PREFIX "%0*lld.%s.%ld", SECS_DIGITS,
                 secs, host, (long)getpid());
        sprintf(w->path, "%s%s%s", dir,
                dir[strlen(dir) - 1] == '/' ? "" : "/", w->name);
        w->fd = openat(w->dfd, w->name,
                       O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY |
                           O_CLOEXEC,
                       0666);
        if (w->fd >= 0)
            return 0;
        if (errno != EEXIST)
            break;
    }
    return mlp_error_set(MLP_EIO, "cannot create '%s': %s", w->path,
                         strerror(errno));
}

int mlp_tfevents_open(const char *dir, mlp_tfevents_t **wp)
{
    mlp_tfevents_t *w;
    unsigned char *rec = NULL;
    size_t len;
    int rc;

    *wp = NULL;
    /* The check first, for its messages; what changes after it still
     * fails below, less precisely. */
    if ((rc = mlp_tfevents_check_dir(dir)) < 0)
        return rc;
    if ((w = calloc(1, sizeof(*w))) == NULL)
        return mlp_error_set(MLP_ENOMEM, "out of memory");
    w->dfd = w->fd = -1;
    if ((rc = mlp_out_mkdirs(dir)) < 0 || (rc = open_dir(dir, &w->dfd)) < 0 ||
        (rc = create_file(w, dir)) < 0)
        goto out;
    if ((rc = mlp_tfevents_encode(wall_now(), 0, MLP_TFEVENTS_VERSION, NULL,
                                  0, &rec, &len)) < 0 ||
        (rc = write_record(w, rec, len)) < 0)
        goto out;
    /* The file and its name survive a crash from here on. */
    if (fsync(w->fd) != 0 || (fsync(w->dfd) != 0 && errno != EINVAL))
        rc = mlp_error_set(MLP_EIO, "cannot sync '%s': %s", w->path,
                           strerror(errno));
out:
    free(rec);
    if (rc < 0) {
        if (w->fd >= 0) {
            close(w->fd);
            unlinkat(w->dfd, w->name, 0); /* ours: made with O_EXCL */
        }
        if (w->dfd >= 0)
            close(w->dfd);
        free(w->name);
        free(w->path);
        free(w);
        return rc;
    }
    *wp = w;
    return 0;
}

int mlp_tfevents_scalars(mlp_tfevents_t *w, int64_t step,
                         const mlp_tfevents_scalar_t *v, size_t n)
{
    unsigned char *rec;
    size_t len;
    int rc;

    if ((rc = mlp_tfevents_encode(wall_now(), step, NULL, v, n, &rec,
                                  &len)) < 0)
        return rc;
    rc = write_record(w, rec, len);
    free(rec);
    return rc;
}

const char *mlp_tfevents_path(const mlp_tfevents_t *w)
{
    return w->path;
}

uint64_t mlp_tfevents_size(const mlp_tfevents_t *w)
{
    return w->off;
}

int mlp_tfevents_close(mlp_tfevents_t *w)
{
    int rc = 0;

    if (w == NULL)
        return 0;
    if (fsync(w->fd) != 0)
        rc = mlp_error_set(MLP_EIO, "cannot sync '%s': %s", w->path,
                           strerror(errno));
    if (close(w->fd) != 0 && rc == 0)
        rc = mlp_error_set(MLP_EIO, "cannot close '%s': %s", w->path,
                           strerror(errno));
    close(w->dfd); /* and with it the lock */
    free(w->name);
    free(w->path);
    free(w);
    return rc;
}
