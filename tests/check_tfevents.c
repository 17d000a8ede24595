/*
 * Tests of tfevents: CRC-32C and its mask against published values, the
 * TFRecord framing and the Event bytes against the wire format worked out
 * by hand, the writer's file (name, directory, records, order of names),
 * and its limits: hostile directories, a second writer, a short write and
 * a refused write (RLIMIT_FSIZE), after which the file holds whole records
 * only.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check_main.h"
#include "gen/tfevent.pb-c.h"
#include "mlptrain/error.h"
#include "mlptrain/tfevents.h"
#include "testutil.h"

/* ---- CRC and framing ---------------------------------------------------- */

START_TEST(test_crc32c_known)
{
    unsigned char b[32];

    /* The check value of CRC-32C, and RFC 3720's (iSCSI) B.4 vectors. */
    ck_assert_uint_eq(mlp_crc32c(0, "123456789", 9), 0xE3069283u);
    ck_assert_uint_eq(mlp_crc32c(0, "", 0), 0);
    memset(b, 0, sizeof(b));
    ck_assert_uint_eq(mlp_crc32c(0, b, 32), 0x8A9136AAu);
    memset(b, 0xff, sizeof(b));
    ck_assert_uint_eq(mlp_crc32c(0, b, 32), 0x62A8AB43u);
    for (int i = 0; i < 32; i++)
        b[i] = (unsigned char)i;
    ck_assert_uint_eq(mlp_crc32c(0, b, 32), 0x46DD794Eu);
    for (int i = 0; i < 32; i++)
        b[i] = (unsigned char)(31 - i);
    ck_assert_uint_eq(mlp_crc32c(0, b, 32), 0x113FDB5Cu);
    /* Continued in two pieces, at every cut. */
    for (size_t k = 0; k <= 32; k++)
        ck_assert_uint_eq(mlp_crc32c(mlp_crc32c(0, b, k), b + k, 32 - k),
                          0x113FDB5Cu);
}
END_TEST

START_TEST(test_mask)
{
    ck_assert_uint_eq(mlp_tfrecord_mask(0), 0xa282ead8u);
    ck_assert_uint_eq(mlp_tfrecord_mask(0xE3069283u), 0xc78ab0e5u);
    ck_assert_uint_eq(mlp_tfrecord_mask(0xffffffffu), 0xa282ead7u); /* wraps */
}
END_TEST

START_TEST(test_frame_bytes)
{
    /* "abc" framed, as an independent CRC-32C (Python) frames it. */
    static const unsigned char want[] = {
        0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xb0, 0x99,
        0x49, 0x0e, 0x61, 0x62, 0x63, 0x6e, 0x57, 0xf1, 0x21};
    unsigned char out[3 + MLP_TFRECORD_OVERHEAD];

    memset(out, 0xee, sizeof(out));
    mlp_tfrecord_frame(out, "abc", 3);
    ck_assert_mem_eq(out, want, sizeof(want));
}
END_TEST

/* The little-endian number in the k bytes at p. */
static uint64_t le(const unsigned char *p, int k)
{
    uint64_t v = 0;

    while (k-- > 0)
        v = v << 8 | p[k];
    return v;
}

/* The data of a framed record, its CRCs checked. */
static const unsigned char *unframe(const unsigned char *rec, size_t len,
                                    size_t *n)
{
    uint64_t dn;

    ck_assert_uint_ge(len, MLP_TFRECORD_OVERHEAD);
    dn = le(rec, 8);
    ck_assert_uint_eq(dn + MLP_TFRECORD_OVERHEAD, len);
    ck_assert_uint_eq(le(rec + 8, 4),
                      mlp_tfrecord_mask(mlp_crc32c(0, rec, 8)));
    ck_assert_uint_eq(le(rec + 12 + dn, 4),
                      mlp_tfrecord_mask(mlp_crc32c(0, rec + 12, dn)));
    *n = (size_t)dn;
    return rec + 12;
}

/* A framed record whose data are the n bytes of want; frees rec. */
static void expect_data(unsigned char *rec, size_t len,
                        const unsigned char *want, size_t n)
{
    size_t dn;
    const unsigned char *d = unframe(rec, len, &dn);

    ck_assert_uint_eq(dn, n);
    ck_assert_mem_eq(d, want, n);
    free(rec);
}

START_TEST(test_encode_version_bytes)
{
    /* Event{wall_time: 1.5, file_version: "brain.Event:2"}: field 1 as a
     * fixed64 (tag 0x09) holding 1.5, field 3 as bytes (tag 0x1a), 13
     * long; step 0 is proto3's default and not written. */
    static const unsigned char want[] = {
        0x09, 0, 0, 0, 0, 0, 0, 0xf8, 0x3f, 0x1a, 13, 'b', 'r', 'a', 'i',
        'n', '.', 'E', 'v', 'e', 'n', 't', ':', '2'};
    unsigned char *rec;
    size_t len;

    ck_assert_int_eq(mlp_tfevents_encode(1.5, 0, MLP_TFEVENTS_VERSION, NULL,
                                         0, &rec, &len),
                     0);
    expect_data(rec, len, want, sizeof(want));
}
END_TEST

START_TEST(test_encode_scalar_bytes)
{
    /* Event{step: 3, summary: {value: {tag: "lr", simple_value: v}}}:
     * step as a varint (0x10), summary as bytes (field 5: 0x2a), a Value
     * as bytes (field 1: 0x0a) holding the tag (0x0a) and simple_value as
     * a fixed32 (field 2: 0x15).  Written for 0 too (a oneof member). */
    static const unsigned char half[] = {
        0x10, 3, 0x2a, 11, 0x0a, 9, 0x0a, 2, 'l', 'r', 0x15, 0, 0, 0, 0x3f};
    static const unsigned char zero[] = {
        0x10, 3, 0x2a, 11, 0x0a, 9, 0x0a, 2, 'l', 'r', 0x15, 0, 0, 0, 0};
    mlp_tfevents_scalar_t v = {"lr", 0.5};
    unsigned char *rec;
    size_t len;

    ck_assert_int_eq(mlp_tfevents_encode(0.0, 3, NULL, &v, 1, &rec, &len),
                     0);
    expect_data(rec, len, half, sizeof(half));
    v.value = 0.0;
    ck_assert_int_eq(mlp_tfevents_encode(0.0, 3, NULL, &v, 1, &rec, &len),
                     0);
    expect_data(rec, len, zero, sizeof(zero));
}
END_TEST

/* Unpack a record's Event (free it with tensorflow__event__free_unpacked). */
static Tensorflow__Event *unpack(const unsigned char *rec, size_t len)
{
    const unsigned char *d;
    size_t n;
    Tensorflow__Event *ev;

    d = unframe(rec, len, &n);
    ev = tensorflow__event__unpack(NULL, n, d);
    ck_assert_ptr_nonnull(ev);
    return ev;
}

START_TEST(test_encode_values)
{
    mlp_tfevents_scalar_t v[] = {
        {"loss/train", 0.123456789}, {"nan", NAN},      {"inf", INFINITY},
        {"big", 1e300},             {"accuracy/test", 1.0}};
    unsigned char *rec;
    size_t len;
    Tensorflow__Event *ev;

    ck_assert_int_eq(mlp_tfevents_encode(1751234567.25, 42, NULL, v, 5, &rec,
                                         &len),
                     0);
    ev = unpack(rec, len);
    ck_assert(ev->wall_time == 1751234567.25);
    ck_assert_int_eq(ev->step, 42);
    ck_assert_int_eq(ev->what_case, TENSORFLOW__EVENT__WHAT_SUMMARY);
    /* Not finite: left out; beyond a float: infinite. */
    ck_assert_uint_eq(ev->summary->n_value, 3);
    ck_assert_str_eq(ev->summary->value[0]->tag, "loss/train");
    ck_assert(ev->summary->value[0]->simple_value == (float)0.123456789);
    ck_assert_str_eq(ev->summary->value[1]->tag, "big");
    ck_assert(isinf(ev->summary->value[1]->simple_value));
    ck_assert_str_eq(ev->summary->value[2]->tag, "accuracy/test");
    ck_assert(ev->summary->value[2]->simple_value == 1.0f);
    for (size_t i = 0; i < 3; i++)
        ck_assert_int_eq(ev->summary->value[i]->value_case,
                         TENSORFLOW__SUMMARY__VALUE__VALUE_SIMPLE_VALUE);
    tensorflow__event__free_unpacked(ev, NULL);
    free(rec);
    /* No value at all is an empty summary, still a summary. */
    ck_assert_int_eq(mlp_tfevents_encode(1.0, 1, NULL, NULL, 0, &rec, &len),
                     0);
    ev = unpack(rec, len);
    ck_assert_int_eq(ev->what_case, TENSORFLOW__EVENT__WHAT_SUMMARY);
    ck_assert_uint_eq(ev->summary->n_value, 0);
    tensorflow__event__free_unpacked(ev, NULL);
    free(rec);
}
END_TEST

START_TEST(test_encode_bad_tag)
{
    mlp_tfevents_scalar_t v[] = {{"a", 1.0}, {"", 2.0}};
    unsigned char *rec = (unsigned char *)1;
    size_t len = 1;

    ck_assert_int_eq(mlp_tfevents_encode(1.0, 1, NULL, v, 2, &rec, &len),
                     MLP_EUSAGE);
    ck_assert_ptr_null(rec);
    ck_assert_uint_eq(len, 0);
    v[1].tag = NULL;
    ck_assert_int_eq(mlp_tfevents_encode(1.0, 1, NULL, v, 2, &rec, &len),
                     MLP_EUSAGE);
}
END_TEST

/* ---- the writer --------------------------------------------------------- */

static double wall(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The Events of a whole file: every record whole, CRCs right.  Returns
 * how many (at most max) into ev[], which the caller frees. */
static size_t read_events(const char *path, Tensorflow__Event **ev,
                          size_t max)
{
    size_t len, off = 0, n = 0;
    uint8_t *buf = tu_read_bytes(path, &len);

    ck_assert_ptr_nonnull(buf);
    while (off < len) {
        uint64_t dn;

        ck_assert_uint_ge(len - off, MLP_TFRECORD_OVERHEAD);
        dn = le(buf + off, 8);
        ck_assert_uint_le(dn + MLP_TFRECORD_OVERHEAD, len - off);
        ck_assert_uint_lt(n, max);
        ev[n++] = unpack(buf + off, dn + MLP_TFRECORD_OVERHEAD);
        off += dn + MLP_TFRECORD_OVERHEAD;
    }
    free(buf);
    return n;
}

static void free_events(Tensorflow__Event **ev, size_t n)
{
    for (size_t i = 0; i < n; i++)
        tensorflow__event__free_unpacked(ev[i], NULL);
}

/* Event files in dir, names sorted, into names (malloc'd each). */
static size_t event_files(const char *dir, char **names, size_t max)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    size_t n = 0;

    ck_assert_ptr_nonnull(d);
    while ((e = readdir(d)) != NULL)
        if (strstr(e->d_name, "tfevents") != NULL) {
            ck_assert_uint_lt(n, max);
            names[n++] = strdup(e->d_name);
        }
    closedir(d);
    for (size_t i = 1; i < n; i++) /* insertion sort */
        for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
            char *t = names[j];

            names[j] = names[j - 1];
            names[j - 1] = t;
        }
    return n;
}

START_TEST(test_writer_file)
{
    char *tmp = tu_mkdtemp(), *dir = tu_path(tmp, "runs/a/b"), *mid;
    mlp_tfevents_scalar_t v[2] = {{"loss/train", 0.5}, {"lr", 0.1f}};
    Tensorflow__Event *ev[8];
    mlp_tfevents_t *w;
    char host[64], want[128];
    const char *name;
    struct stat st;
    double t0 = wall(), t1;
    mode_t old = umask(027);
    size_t n;

    ck_assert_int_eq(mlp_tfevents_check_dir(dir), 0); /* makes nothing */
    ck_assert_int_ne(access(dir, F_OK), 0);
    ck_assert_int_eq(mlp_tfevents_open(dir, &w), 0);
    umask(old);
    /* Made with 0777 & ~umask, parents too. */
    ck_assert_int_eq(stat(dir, &st), 0);
    ck_assert_uint_eq(st.st_mode & 07777, 0750);
    mid = tu_path(tmp, "runs");
    ck_assert_int_eq(stat(mid, &st), 0);
    ck_assert_uint_eq(st.st_mode & 07777, 0750);
    free(mid);
    /* DIR/events.out.tfevents.<10 digits>.<host>.<pid>, a regular file
     * of 0666 & ~umask. */
    ck_assert_ptr_eq(strstr(mlp_tfevents_path(w), dir),
                     mlp_tfevents_path(w));
    name = mlp_tfevents_path(w) + strlen(dir) + 1;
    ck_assert_int_eq(strncmp(name, "events.out.tfevents.", 20), 0);
    for (int i = 20; i < 30; i++)
        ck_assert(name[i] >= '0' && name[i] <= '9');
    ck_assert(fabs(atof(name + 20) - t0) < 5.0);
    ck_assert_int_eq(gethostname(host, sizeof(host)), 0);
    host[sizeof(host) - 1] = '\0';
    for (char *c = host; *c != '\0'; c++)
        if (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                   "0123456789._-", *c) == NULL)
            *c = '_';
    snprintf(want, sizeof(want), ".%s.%ld", host, (long)getpid());
    ck_assert_str_eq(name + 30, want);
    ck_assert_int_eq(stat(mlp_tfevents_path(w), &st), 0);
    ck_assert(S_ISREG(st.st_mode));
    ck_assert_uint_eq(st.st_mode & 07777, 0640);
    ck_assert_uint_eq(mlp_tfevents_size(w), (uint64_t)st.st_size);
    for (int step = 1; step <= 3; step++) {
        v[0].value = 1.0 / step;
        ck_assert_int_eq(mlp_tfevents_scalars(w, step, v, 2), 0);
        /* Each record is in the file as soon as it is written. */
        ck_assert_int_eq(stat(mlp_tfevents_path(w), &st), 0);
        ck_assert_uint_eq(mlp_tfevents_size(w), (uint64_t)st.st_size);
    }
    snprintf(want, sizeof(want), "%s", mlp_tfevents_path(w));
    ck_assert_int_eq(mlp_tfevents_close(w), 0);
    t1 = wall();
    n = read_events(want, ev, 8);
    ck_assert_uint_eq(n, 4);
    ck_assert_int_eq(ev[0]->what_case, TENSORFLOW__EVENT__WHAT_FILE_VERSION);
    ck_assert_str_eq(ev[0]->file_version, "brain.Event:2");
    ck_assert_int_eq(ev[0]->step, 0);
    for (size_t i = 0; i < n; i++) {
        ck_assert(ev[i]->wall_time >= t0 - 0.01 && ev[i]->wall_time <= t1);
        if (i > 0)
            ck_assert(ev[i]->wall_time >= ev[i - 1]->wall_time);
    }
    for (size_t i = 1; i < n; i++) {
        ck_assert_int_eq(ev[i]->what_case, TENSORFLOW__EVENT__WHAT_SUMMARY);
        ck_assert_int_eq(ev[i]->step, (int64_t)i);
        ck_assert_uint_eq(ev[i]->summary->n_value, 2);
        ck_assert(ev[i]->summary->value[0]->simple_value ==
                  (float)(1.0 / (double)i));
        ck_assert(ev[i]->summary->value[1]->simple_value == 0.1f);
    }
    free_events(ev, n);
    free(dir);
    tu_rmtree(tmp);
}
END_TEST

/* A later writer's file sorts after every event file there: a new one in
 * the same second, and one whose name says a later time. */
START_TEST(test_writer_order)
{
    char *tmp = tu_mkdtemp(), *names[8], *p;
    long long future = (long long)time(NULL) + 1000;
    mlp_tfevents_t *w;
    size_t n;
    char name[128];

    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(mlp_tfevents_open(tmp, &w), 0);
        ck_assert_int_eq(mlp_tfevents_close(w), 0);
    }
    snprintf(name, sizeof(name), "events.out.tfevents.%lld.elsewhere.1",
             future);
    p = tu_path(tmp, name);
    ck_assert_int_eq(tu_write_bytes(p, "", 0), 0);
    free(p);
    p = tu_path(tmp, "events.out.tfevents.99999999999999.junk");
    ck_assert_int_eq(tu_write_bytes(p, "", 0), 0); /* not 10 digits */
    free(p);
    ck_assert_int_eq(mlp_tfevents_open(tmp, &w), 0);
    snprintf(name, sizeof(name), "%s",
             strrchr(mlp_tfevents_path(w), '/') + 1);
    ck_assert_int_eq(mlp_tfevents_close(w), 0);
    ck_assert_int_eq(atoll(name + 20), future + 1);
    n = event_files(tmp, names, 8);
    ck_assert_uint_eq(n, 6);
    /* Ours after all others but the junk name, which is not counted (14
     * digits) and sorts last ('9' after '1'): a name order tfevents.h
     * does not promise for names it did not make. */
    ck_assert_str_eq(names[n - 2], name);
    ck_assert_str_eq(names[n - 1], "events.out.tfevents.99999999999999.junk");
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    tu_rmtree(tmp);
}
END_TEST

/* ---- errors and limits -------------------------------------------------- */

/* open and check_dir fail alike on dir, with a message holding `what`,
 * and make nothing. */
static void refused(const char *dir, int status, const char *what)
{
    mlp_tfevents_t *w = (mlp_tfevents_t *)1;

    ck_assert_int_eq(mlp_tfevents_check_dir(dir), status);
    ck_assert_msg(strstr(mlp_error_message(), what) != NULL,
                  "check '%s': '%s' lacks '%s'", dir, mlp_error_message(),
                  what);
    ck_assert_int_eq(mlp_tfevents_open(dir, &w), status);
    ck_assert_ptr_null(w);
    ck_assert_msg(strstr(mlp_error_message(), what) != NULL,
                  "open '%s': '%s' lacks '%s'", dir, mlp_error_message(),
                  what);
}

START_TEST(test_hostile_dirs)
{
    char *tmp = tu_mkdtemp(), *file = tu_path(tmp, "file");
    char *sub = tu_path(tmp, "file/sub"), *dangling = tu_path(tmp, "dang");
    char *tofile = tu_path(tmp, "tofile"), *todir = tu_path(tmp, "todir");
    char *fifo = tu_path(tmp, "fifo"), *under = tu_path(tmp, "dang/x");
    char *target = tu_path(tmp, "target"), *names[4];
    mlp_tfevents_t *w;

    ck_assert_int_eq(tu_write_bytes(file, "x", 1), 0);
    ck_assert_int_eq(symlink("nowhere", dangling), 0);
    ck_assert_int_eq(symlink("file", tofile), 0);
    ck_assert_int_eq(mkdir(target, 0777), 0);
    ck_assert_int_eq(symlink("target", todir), 0);
    ck_assert_int_eq(mkfifo(fifo, 0666), 0);
    refused("", MLP_EUSAGE, "empty");
    refused(file, MLP_EIO, "it is a regular file");
    refused(tofile, MLP_EIO, "it is a regular file");
    refused(fifo, MLP_EIO, "it is a FIFO");
    refused("/dev/null", MLP_EIO, "it is a character device");
    refused(sub, MLP_EIO, "Not a directory");
    refused(dangling, MLP_EIO, "symbolic link to a missing file");
    refused(under, MLP_EIO, "symbolic link to a missing file");
    /* Nothing was made: the dangling link still points nowhere. */
    ck_assert_int_ne(access(dangling, F_OK), 0);
    /* A symlink to a directory is followed, as for every output. */
    ck_assert_int_eq(mlp_tfevents_check_dir(todir), 0);
    ck_assert_int_eq(mlp_tfevents_open(todir, &w), 0);
    ck_assert_int_eq(mlp_tfevents_close(w), 0);
    ck_assert_uint_eq(event_files(target, names, 4), 1);
    free(names[0]);
    /* Unwritable: root writes anyway, so only as another user. */
    if (geteuid() != 0) {
        char *ro = tu_path(tmp, "ro"), *rosub = tu_path(tmp, "ro/sub");

        ck_assert_int_eq(mkdir(ro, 0555), 0);
        refused(ro, MLP_EIO, "Permission denied");
        refused(rosub, MLP_EIO, "Permission denied");
        chmod(ro, 0755);
        free(ro);
        free(rosub);
    }
    free(file);
    free(sub);
    free(dangling);
    free(tofile);
    free(todir);
    free(fifo);
    free(under);
    free(target);
    tu_rmtree(tmp);
}
END_TEST

/* Two writers never share a directory. */
START_TEST(test_lock)
{
    char *tmp = tu_mkdtemp();
    mlp_tfevents_t *a, *b = (mlp_tfevents_t *)1;
    char *names[4];

    ck_assert_int_eq(mlp_tfevents_open(tmp, &a), 0);
    ck_assert_int_eq(mlp_tfevents_open(tmp, &b), MLP_EBUSY);
    ck_assert_ptr_null(b);
    ck_assert_msg_has(tmp);
    ck_assert_msg_has("in use");
    ck_assert_uint_eq(event_files(tmp, names, 4), 1); /* b left nothing */
    free(names[0]);
    ck_assert_int_eq(mlp_tfevents_close(a), 0);
    ck_assert_int_eq(mlp_tfevents_open(tmp, &b), 0);
    ck_assert_int_eq(mlp_tfevents_close(b), 0);
    ck_assert_int_eq(mlp_tfevents_close(NULL), 0);
    tu_rmtree(tmp);
}
END_TEST

/*
 * A write the file size limit cuts short (bytes 1..k of the record
 * written, then the limit) and one it refuses outright: both are errors,
 * the partial record is cut off, and the file is whole records only; the
 * next write (the limit lifted) goes on from there.
 */
static void limited_write(rlim_t room, const char *what)
{
    char *tmp = tu_mkdtemp(), path[4200];
    mlp_tfevents_scalar_t v[3] = {{"loss/train", 0.25},
                                  {"accuracy/train", 0.75},
                                  {"samples_per_s", 123456.0}};
    Tensorflow__Event *ev[4];
    struct rlimit old, lim;
    struct sigaction ign, prev;
    struct stat st;
    mlp_tfevents_t *w;
    uint64_t size0;
    char msg[MLP_ERROR_MAX];
    int rc;
    size_t n;

    ck_assert_int_eq(mlp_tfevents_open(tmp, &w), 0);
    snprintf(path, sizeof(path), "%s", mlp_tfevents_path(w));
    size0 = mlp_tfevents_size(w);
    /* Past the limit the kernel sends SIGXFSZ: ignored, write fails. */
    memset(&ign, 0, sizeof(ign));
    ign.sa_handler = SIG_IGN;
    ck_assert_int_eq(sigaction(SIGXFSZ, &ign, &prev), 0);
    ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = (rlim_t)size0 + room;
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
    rc = mlp_tfevents_scalars(w, 1, v, 3);
    /* Nothing asserted (or printed) until the limit is lifted. */
    setrlimit(RLIMIT_FSIZE, &old);
    sigaction(SIGXFSZ, &prev, NULL);
    snprintf(msg, sizeof(msg), "%s", mlp_error_message());
    ck_assert_int_eq(rc, MLP_EIO);
    ck_assert_msg(strstr(msg, what) != NULL && strstr(msg, path) != NULL,
                  "'%s' lacks '%s' or the path", msg, what);
    ck_assert_ptr_nonnull(strstr(msg, "whole records"));
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_uint_eq((uint64_t)st.st_size, size0);
    ck_assert_uint_eq(mlp_tfevents_size(w), size0);
    v[0].value = 0.125;
    ck_assert_int_eq(mlp_tfevents_scalars(w, 1, v, 3), 0);
    ck_assert_int_eq(mlp_tfevents_close(w), 0);
    n = read_events(path, ev, 4);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(ev[1]->step, 1);
    ck_assert(ev[1]->summary->value[0]->simple_value == 0.125f);
    free_events(ev, n);
    tu_rmtree(tmp);
}

START_TEST(test_short_write)
{
    limited_write(20, "short write");
}
END_TEST

START_TEST(test_refused_write)
{
    limited_write(0, strerror(EFBIG));
}
END_TEST

static Suite *tfevents_suite(void)
{
    Suite *s = suite_create("tfevents");
    TCase *core = tu_tcase(s, "core", 0);
    TCase *limits = tu_tcase(s, "errors", 0);

    tcase_add_test(core, test_crc32c_known);
    tcase_add_test(core, test_mask);
    tcase_add_test(core, test_frame_bytes);
    tcase_add_test(core, test_encode_version_bytes);
    tcase_add_test(core, test_encode_scalar_bytes);
    tcase_add_test(core, test_encode_values);
    tcase_add_test(core, test_writer_file);
    tcase_add_test(core, test_writer_order);
    tcase_add_test(limits, test_encode_bad_tag);
    tcase_add_test(limits, test_hostile_dirs);
    tcase_add_test(limits, test_lock);
    tcase_add_test(limits, test_short_write);
    tcase_add_test(limits, test_refused_write);
    return s;
}

MLP_CHECK_MAIN(tfevents_suite)
