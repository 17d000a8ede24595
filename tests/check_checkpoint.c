/*
 * Tests of checkpoint: the byte layout doc/checkpoint-format.md documents, round trips
 * through memory and files, atomic saves (a writer killed at random points
 * leaves the old or the new file; a failed write leaves the old one), the
 * pre-flight check of a --save path, an unreadable file and the invalid
 * checkpoints the encoder refuses.  Corrupt
 * files and the fuzz run are check_checkpoint_corrupt.c's.
 *
 * The "net" case (tagged "dnnl": oneDNN's JIT code confuses valgrind, so
 * `make check-valgrind` leaves it out) checks mlp_net_block_export/import
 * and capture/restore between nets of different weight layouts.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

#include "check_main.h"
#include "mlptrain/checkpoint.h"
#include "mlptrain/error.h"
#include "mlptrain/net.h"
#include "mlptrain/optim.h"
#include "mlptrain/rng.h"
#include "testutil.h"
#include "checkpoint_fixture.h"

static void assert_same(const mlp_checkpoint_t *a, const mlp_checkpoint_t *b)
{
    ck_assert_uint_eq(a->in, b->in);
    ck_assert_uint_eq(a->out, b->out);
    ck_assert_uint_eq(a->nhidden, b->nhidden);
    for (size_t i = 0; i < a->nhidden; i++)
        ck_assert_uint_eq(a->hidden[i], b->hidden[i]);
    ck_assert_int_eq(a->act, b->act);
    ck_assert_uint_eq(a->rows, b->rows);
    ck_assert_uint_eq(a->cols, b->cols);
    ck_assert_uint_eq(a->ntrain, b->ntrain);
    ck_assert_uint_eq(a->epoch, b->epoch);
    ck_assert_uint_eq(a->seed, b->seed);
    ck_assert_uint_eq(a->batches_done, b->batches_done);
    ck_assert(a->partial_loss_sum == b->partial_loss_sum);
    ck_assert_uint_eq(a->partial_correct, b->partial_correct);
    ck_assert_uint_eq(a->batch, b->batch);
    ck_assert(a->lr == b->lr && a->momentum == b->momentum);
    ck_assert(a->weight_decay == b->weight_decay);
    ck_assert(a->init_std == b->init_std);
    ck_assert_uint_eq(a->limit_train, b->limit_train);
    ck_assert(a->best_test_acc == b->best_test_acc);
    ck_assert_uint_eq(a->best_epoch, b->best_epoch);
    ck_assert(a->final_test_acc == b->final_test_acc);
    ck_assert_uint_eq(a->opt_steps, b->opt_steps);
    ck_assert(a->best_val_acc == b->best_val_acc);
    ck_assert_uint_eq(a->best_val_epoch, b->best_val_epoch);
    ck_assert(a->best_val_loss == b->best_val_loss);
    ck_assert_uint_eq(a->best_val_loss_epoch, b->best_val_loss_epoch);
    ck_assert_uint_eq(a->options_len, b->options_len);
    if (a->options_len)
        ck_assert(memcmp(a->options, b->options, a->options_len) == 0);
    ck_assert_uint_eq(a->nparams, b->nparams);
    ck_assert_uint_eq(a->nstate, b->nstate);
    ck_assert(memcmp(a->params, b->params, a->nparams * 4) == 0);
    if (a->nstate)
        ck_assert(memcmp(a->state, b->state, a->nstate * 4) == 0);
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
    return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* Number of entries of dir whose name starts with prefix. */
static int count_files(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    ck_assert_ptr_nonnull(d);
    while ((e = readdir(d)) != NULL)
        n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
    closedir(d);
    return n;
}

/* ---- core ----------------------------------------------------------- */

START_TEST(test_roundtrip_memory)
{
    mlp_checkpoint_t a, b;
    uint8_t *buf, *buf2;
    size_t len, len2;

    small_ck(&a, 7);
    v2_fields(&a);
    ck_assert_int_eq(mlp_checkpoint_encode(&a, &buf, &len), 0);
    ck_assert_uint_eq(len, MLP_CHECKPOINT_HEADER + a.options_len + 8 +
                               4 * (23 + 23) + 4); /* 8: v3 inputs */
    ck_assert_int_eq(mlp_checkpoint_parse(buf, len, "mem", &b), 0);
    assert_same(&a, &b);
    /* Canonical: the same checkpoint encodes to the same bytes. */
    ck_assert_int_eq(mlp_checkpoint_encode(&b, &buf2, &len2), 0);
    ck_assert_uint_eq(len, len2);
    ck_assert(memcmp(buf, buf2, len) == 0);
    free(buf);
    free(buf2);
    mlp_checkpoint_free(&a);
    mlp_checkpoint_free(&b);
}
END_TEST

/* The byte layout of doc/checkpoint-format.md's table: version 1's, which version 2
 * keeps for its first 224 bytes. */
START_TEST(test_layout)
{
    mlp_checkpoint_t a, b;
    uint8_t *buf;
    size_t len;
    float f;
    double d;

    small_ck(&a, 7);
    a.seed = 0x0102030405060708ULL;
    ck_assert_int_eq(mlp_checkpoint_encode_version(&a, 1, &buf, &len), 0);
    ck_assert(memcmp(buf, "MLPTCKPT", 8) == 0);
    ck_assert_uint_eq(le32(buf + 8), 1);              /* version */
    ck_assert_uint_eq(le32(buf + 12), 224);           /* header bytes */
    ck_assert_uint_eq(le64(buf + 16), len);           /* file bytes */
    ck_assert_uint_eq(le32(buf + 24), 4);             /* in */
    ck_assert_uint_eq(le32(buf + 28), 2);             /* classes */
    ck_assert_uint_eq(le32(buf + 32), 2);             /* rows */
    ck_assert_uint_eq(le32(buf + 36), 2);             /* cols */
    ck_assert_uint_eq(le32(buf + 40), 1);             /* hidden layers */
    ck_assert_uint_eq(le32(buf + 44), MLP_ACT_TANH);  /* activation */
    ck_assert_uint_eq(le32(buf + 48), 3);             /* hidden[0] */
    for (int i = 1; i < 16; i++)
        ck_assert_uint_eq(le32(buf + 48 + 4 * i), 0);
    ck_assert_uint_eq(le64(buf + 112), 1000);         /* ntrain */
    ck_assert_uint_eq(le64(buf + 120), 1000);         /* limit */
    ck_assert_uint_eq(le64(buf + 128), 64);           /* batch */
    ck_assert(buf[136] == 8 && buf[143] == 1);        /* seed, LE */
    memcpy(&f, buf + 144, 4);
    ck_assert(f == 0.1f);                             /* lr */
    memcpy(&f, buf + 148, 4);
    ck_assert(f == 0.5f);                             /* momentum */
    memcpy(&f, buf + 152, 4);
    ck_assert(f == 1e-4f);                            /* weight decay */
    memcpy(&f, buf + 156, 4);
    ck_assert(f == 0.01f);                            /* init std */
    ck_assert_uint_eq(le32(buf + 160), 3);            /* epoch */
    ck_assert_uint_eq(le32(buf + 164), 2);            /* best epoch */
    memcpy(&d, buf + 168, 8);
    ck_assert(d == 0.875);
    memcpy(&d, buf + 176, 8);
    ck_assert(d == 0.8125);
    ck_assert_uint_eq(le64(buf + 184), 4);            /* batches done */
    memcpy(&d, buf + 192, 8);
    ck_assert(d == 123.25);
    ck_assert_uint_eq(le64(buf + 200), 77);
    ck_assert_uint_eq(le64(buf + 208), 23);           /* parameters */
    ck_assert_uint_eq(le64(buf + 216), 23);           /* state */
    memcpy(&f, buf + 224, 4);
    ck_assert(f == a.params[0]);
    memcpy(&f, buf + 224 + 4 * 23, 4);
    ck_assert(f == a.state[0]);
    ck_assert_uint_eq(le32(buf + len - 4),
                      (uint32_t)crc32(0L, buf, (uInt)(len - 4)));
    /* version 1 still reads */
    ck_assert_int_eq(mlp_checkpoint_parse(buf, len, "v1", &b), 0);
    ck_assert_uint_eq(b.version, 1);
    ck_assert_ptr_null(b.options);
    assert_same(&a, &b);
    mlp_checkpoint_free(&b);
    free(buf);
    mlp_checkpoint_free(&a);
}
END_TEST

/* Version 2: version 1's fields, then its own and the options text
 * before the payload. */
START_TEST(test_layout_v2)
{
    mlp_checkpoint_t a, b;
    uint8_t *buf, *v1;
    size_t len, len1;
    float f;
    double d;

    small_ck(&a, 7);
    ck_assert_int_eq(mlp_checkpoint_encode_version(&a, 1, &v1, &len1), 0);
    v2_fields(&a);
    ck_assert_int_eq(mlp_checkpoint_encode_version(&a, 2, &buf, &len), 0);
    ck_assert_uint_eq(le32(buf + 8), 2);              /* version */
    ck_assert_uint_eq(le32(buf + 12), 264);           /* header bytes */
    ck_assert_uint_eq(le64(buf + 16), len);
    ck_assert(memcmp(buf + 24, v1 + 24, 224 - 24) == 0);
    ck_assert_uint_eq(le64(buf + 224), 52);           /* optimizer steps */
    memcpy(&d, buf + 232, 8);
    ck_assert(d == 0.75);                             /* best val acc */
    memcpy(&d, buf + 240, 8);
    ck_assert(d == 0.5);                              /* best val loss */
    ck_assert_uint_eq(le32(buf + 248), 2);
    ck_assert_uint_eq(le32(buf + 252), 3);
    ck_assert_uint_eq(le64(buf + 256), a.options_len);
    ck_assert(memcmp(buf + 264, a.options, a.options_len) == 0);
    memcpy(&f, buf + 264 + a.options_len, 4);
    ck_assert(f == a.params[0]);
    memcpy(&f, buf + 264 + a.options_len + 4 * 23, 4);
    ck_assert(f == a.state[0]);
    ck_assert_uint_eq(len, 264 + a.options_len + 4 * 46 + 4);
    ck_assert_int_eq(mlp_checkpoint_parse(buf, len, "v2", &b), 0);
    ck_assert_uint_eq(b.version, 2);
    ck_assert_str_eq(b.options, a.options);
    assert_same(&a, &b);
    mlp_checkpoint_free(&b);
    /* Adam's two moments: twice the parameters */
    a.state = realloc(a.state, 46 * sizeof(float));
    ck_assert_ptr_nonnull(a.state);
    for (size_t i = 23; i < 46; i++)
        a.state[i] = (float)i * 1e-3f;
    a.nstate = 46;
    free(buf);
    ck_assert_int_eq(mlp_checkpoint_encode(&a, &buf, &len), 0);
    ck_assert_int_eq(mlp_checkpoint_parse(buf, len, "v2", &b), 0);
    assert_same(&a, &b);
    mlp_checkpoint_free(&b);
    a.nstate = 45; /* neither 1 nor 2 per parameter */
    free(buf);
    ck_assert_int_eq(mlp_checkpoint_encode(&a, &buf, &len), MLP_EINVAL);
    ck_assert_msg_has("45 optimizer state values for 23 parameters");
    /* version 1 holds none of it */
    a.nstate = 23;
    ck_assert_int_eq(mlp_checkpoint_encode_version(&a, 1, &buf, &len),
                     MLP_EINVAL);
    ck_assert_msg_has("format version 1 holds no options text");
    ck_assert_int_eq(mlp_checkpoint_encode_version(&a, 4, &buf, &len),
                     MLP_EINVAL);
    free(v1);
    mlp_checkpoint_free(&a);
}
END_TEST

START_TEST(test_plain_sgd_has_no_state)
{
    static const size_t h[2] = {5, 4};
    mlp_checkpoint_t a, b;
    uint8_t *buf;
    size_t len;

    make_ck(&a, 3, 2, h, 2, 3, 0.0f, 9);
    ck_assert_uint_eq(a.nparams, 7 * 5 + 6 * 4 + 5 * 3);
    ck_assert_int_eq(mlp_checkpoint_encode(&a, &buf, &len), 0);
    ck_assert_uint_eq(len, MLP_CHECKPOINT_HEADER + 8 + 4 * a.nparams + 4);
    ck_assert_int_eq(mlp_checkpoint_parse(buf, len, NULL, &b), 0);
    ck_assert_uint_eq(b.nstate, 0);
    ck_assert_ptr_null(b.state);
    assert_same(&a, &b);
    free(buf);
    mlp_checkpoint_free(&a);
    mlp_checkpoint_free(&b);
    mlp_checkpoint_free(&b); /* zeroed: safe again */
    mlp_checkpoint_free(NULL);
}
END_TEST

START_TEST(test_roundtrip_file)
{
    char *dir = tu_mkdtemp(), *path = tu_path(dir, "run.ckpt");
    mlp_checkpoint_t a, b, c;
    struct stat st;

    small_ck(&a, 1);
    small_ck(&b, 2);
    ck_assert_int_eq(mlp_checkpoint_check_writable(path), 0);
    ck_assert_int_eq(count_files(dir, ""), 2); /* . and .. : nothing left */
    ck_assert_int_eq(mlp_checkpoint_save(path, &a), 0);
    ck_assert_int_eq(mlp_checkpoint_load(path, &c), 0);
    assert_same(&a, &c);
    mlp_checkpoint_free(&c);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_uint_eq((size_t)st.st_size, MLP_CHECKPOINT_HEADER + 8 + 4 * 46 +
                                               4);
    /* Saving again replaces it; no temporary file stays. */
    ck_assert_int_eq(mlp_checkpoint_check_writable(path), 0);
    ck_assert_int_eq(mlp_checkpoint_save(path, &b), 0);
    ck_assert_int_eq(mlp_checkpoint_load(path, &c), 0);
    assert_same(&b, &c);
    ck_assert_int_eq(count_files(dir, "run.ckpt"), 1);
    mlp_checkpoint_free(&a);
    mlp_checkpoint_free(&b);
    mlp_checkpoint_free(&c);
    free(path);
    tu_rmtree(dir);
}
END_TEST

/* A bigger checkpoint (about 2 MB) for the tests that kill writers. */
static void big_ck(mlp_checkpoint_t *ck, uint64_t seed)
{
    static const size_t h[1] = {256};

    make_ck(ck, 32, 32, h, 1, 10, 0.9f, seed);
}

/*
 * A child saves A and B in turn, forever; the parent kills it with SIGKILL
 * at pseudo-random moments.  Whatever the moment, the target loads and is
 * exactly A or B.  Temporary files left by a kill show that kills did land
 * mid-write.
 */
START_TEST(test_kill_mid_write)
{
    char *dir = tu_mkdtemp(), *path = tu_path(dir, "k.ckpt");
    mlp_checkpoint_t a, b, c;
    int midwrite = 0, sawb = 0, i;
    const int rounds = 40;

    struct timespec t0, t1;
    long save_ns;

    big_ck(&a, 11);
    big_ck(&b, 12);
    /* Kill times spread over [0.1, 3] saves, whatever a save costs here
     * (valgrind and sanitizers make it much slower). */
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ck_assert_int_eq(mlp_checkpoint_save(path, &a), 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    save_ns = (t1.tv_sec - t0.tv_sec) * 1000000000L + t1.tv_nsec - t0.tv_nsec;
    /* On a loaded machine the child may get little time between fork and
     * kill: more rounds (at most ten times as many) until kills have
     * landed mid-write and after a save of B. */
    for (i = 0; i < rounds || ((midwrite == 0 || sawb == 0) &&
                               i < 10 * rounds);
         i++) {
        long d = save_ns / 10 + save_ns * ((i * 7) % 30) / 10;
        struct timespec ts = {d / 1000000000L, d % 1000000000L};
        pid_t pid = fork();
        int st;

        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            for (unsigned k = 0;; k++)
                if (mlp_checkpoint_save(path, k % 2 ? &a : &b) != 0)
                    _exit(1);
        }
        nanosleep(&ts, NULL);
        ck_assert_int_eq(kill(pid, SIGKILL), 0);
        ck_assert_int_eq(waitpid(pid, &st, 0), pid);
        ck_assert_msg(WIFSIGNALED(st), "writer stopped by itself: %s",
                      "a save failed");
        ck_assert_msg(mlp_checkpoint_load(path, &c) == 0,
                      "round %d: %s", i, mlp_error_message());
        ck_assert(c.seed == 11 || c.seed == 12);
        assert_same(c.seed == 11 ? &a : &b, &c);
        sawb += c.seed == 12;
        mlp_checkpoint_free(&c);
        /* The writer's temporary file, if the kill caught it mid-write. */
        if (count_files(dir, "k.ckpt.tmp.") > 0) {
            char tmp[64] = "";
            DIR *dp = opendir(dir);
            struct dirent *de;

            /* one temporary file (outfile.c: k.ckpt.tmp.XXXXXX) */
            ck_assert_int_eq(count_files(dir, "k.ckpt.tmp."), 1);
            ck_assert_ptr_nonnull(dp);
            while ((de = readdir(dp)) != NULL)
                if (strncmp(de->d_name, "k.ckpt.tmp.", 11) == 0 &&
                    strlen(de->d_name) < sizeof(tmp))
                    memcpy(tmp, de->d_name, strlen(de->d_name) + 1);
            closedir(dp);
            free(path);
            path = tu_path(dir, tmp);
            ck_assert_int_eq(unlink(path), 0);
            free(path);
            path = tu_path(dir, "k.ckpt");
            midwrite++;
        }
    }
    fprintf(stderr, "kill_mid_write: %d of %d kills mid-write, %d left B\n",
            midwrite, i, sawb);
    ck_assert_int_gt(midwrite, 0);
    ck_assert_int_gt(sawb, 0);
    mlp_checkpoint_free(&a);
    mlp_checkpoint_free(&b);
    free(path);
    tu_rmtree(dir);
}
END_TEST

/*
 * A write that fails part-way (the file size limit stands in for a full
 * disk: write() fails with EFBIG as it would with ENOSPC) is an error
 * naming the file, removes the temporary file and leaves the old
 * checkpoint.  Run in a child: the limit is per process.
 */
START_TEST(test_failed_write_keeps_old)
{
    char *dir = tu_mkdtemp(), *path = tu_path(dir, "f.ckpt");
    mlp_checkpoint_t a, b;
    pid_t pid;
    int st;

    small_ck(&a, 21);
    big_ck(&b, 22);
    ck_assert_int_eq(mlp_checkpoint_save(path, &a), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        struct rlimit rl = {100000, 100000};
        mlp_checkpoint_t c;
        int code = 0;

        signal(SIGXFSZ, SIG_IGN);
        if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
            _exit(10);
        if (mlp_checkpoint_save(path, &b) != MLP_EIO)
            code = 11;
        else if (!strstr(mlp_error_message(), "cannot write '") ||
                 !strstr(mlp_error_message(), "f.ckpt.tmp.") ||
                 !strstr(mlp_error_message(), strerror(EFBIG)))
            code = 12;
        else if (mlp_checkpoint_load(path, &c) != 0 || c.seed != 21)
            code = 13;
        else if (count_files(dir, "f.ckpt") != 1)
            code = 14;
        _exit(code);
    }
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child: %d",
                  WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    mlp_checkpoint_free(&a);
    mlp_checkpoint_free(&b);
    free(path);
    tu_rmtree(dir);
}
END_TEST

/* ---- errors --------------------------------------------------------- */

START_TEST(test_unwritable_paths)
{
    char *dir = tu_mkdtemp(), *p;
    mlp_checkpoint_t a;

    small_ck(&a, 1);
    p = tu_path(dir, "no/such/dir/x.ckpt");
    ck_assert_int_eq(mlp_checkpoint_check_writable(p), MLP_EIO);
    ck_assert_msg_has(p);
    ck_assert_msg_has("No such file or directory");
    ck_assert_int_eq(mlp_checkpoint_save(p, &a), MLP_EIO);
    ck_assert_msg_has("No such file or directory");
    free(p);
    /* A directory, and a device: never renamed over. */
    ck_assert_int_eq(mlp_checkpoint_check_writable(dir), MLP_EIO);
    ck_assert_msg_has("is a directory");
    ck_assert_int_eq(mlp_checkpoint_check_writable("/dev/null"), MLP_EIO);
    ck_assert_msg_has("'/dev/null': it is a character device");
    ck_assert_int_eq(mlp_checkpoint_save("/dev/null", &a), MLP_EIO);
    /* Below a regular file. */
    p = tu_path(dir, "file");
    ck_assert_int_eq(tu_write_bytes(p, "x", 1), 0);
    free(p);
    p = tu_path(dir, "file/x.ckpt");
    ck_assert_int_eq(mlp_checkpoint_check_writable(p), MLP_EIO);
    ck_assert_msg_has("Not a directory");
    free(p);
    /* A read-only directory (root writes anyway: then it is fine). */
    p = tu_path(dir, "ro");
    ck_assert_int_eq(mkdir(p, 0555), 0);
    free(p);
    p = tu_path(dir, "ro/x.ckpt");
    if (geteuid() != 0) {
        ck_assert_int_eq(mlp_checkpoint_check_writable(p), MLP_EIO);
        ck_assert_msg_has("Permission denied");
    }
    free(p);
    ck_assert_int_eq(mlp_checkpoint_check_writable(""), MLP_EINVAL);
    mlp_checkpoint_free(&a);
    tu_rmtree(dir);
}
END_TEST

START_TEST(test_load_unreadable)
{
    char *dir = tu_mkdtemp(), *p = tu_path(dir, "missing.ckpt");
    mlp_checkpoint_t c;

    ck_assert_int_eq(mlp_checkpoint_load(p, &c), MLP_EIO);
    ck_assert_msg_has("cannot open '");
    ck_assert_msg_has("missing.ckpt': No such file or directory");
    ck_assert_ptr_null(c.params);
    ck_assert_int_eq(mlp_checkpoint_load(dir, &c), MLP_EIO);
    ck_assert_msg_has("cannot read '");
    ck_assert_msg_has("it is a directory, not a regular file");
    /* Never read without bound, never block on a FIFO. */
    ck_assert_int_eq(mlp_checkpoint_load("/dev/zero", &c), MLP_EIO);
    ck_assert_msg_has("'/dev/zero': it is a character device");
    ck_assert_int_eq(mkfifo(p, 0600), 0);
    ck_assert_int_eq(mlp_checkpoint_load(p, &c), MLP_EIO);
    ck_assert_msg_has("it is a FIFO, not a regular file");
    free(p);
    tu_rmtree(dir);
}
END_TEST

/* What parsing refuses, encoding and saving refuse too. */
START_TEST(test_encode_refuses_invalid)
{
    char *dir = tu_mkdtemp(), *p = tu_path(dir, "x.ckpt");
    mlp_checkpoint_t a;
    uint8_t *buf = (uint8_t *)1;
    size_t len = 9;

    small_ck(&a, 5);
    a.params[3] = NAN;
    ck_assert_int_eq(mlp_checkpoint_encode(&a, &buf, &len), MLP_EINVAL);
    ck_assert_msg_has("parameter 3 is not finite");
    ck_assert_ptr_null(buf);
    ck_assert_uint_eq(len, 0);
    ck_assert_int_eq(mlp_checkpoint_save(p, &a), MLP_EINVAL);
    ck_assert_int_eq(access(p, F_OK), -1); /* nothing written */
    ck_assert_int_eq(count_files(dir, "x.ckpt"), 0);
    a.params[3] = 0;
    a.nstate = 0; /* momentum 0.5 needs state (version 1's rule) */
    ck_assert_int_eq(mlp_checkpoint_encode_version(&a, 1, &buf, &len),
                     MLP_EINVAL);
    ck_assert_msg_has("0 optimizer state values, momentum 0.5 needs 23");
    a.nstate = 23;
    a.epoch = 0;
    a.best_epoch = 0;
    a.batches_done = 0;
    ck_assert_int_eq(mlp_checkpoint_encode(&a, &buf, &len), MLP_EINVAL);
    ck_assert_msg_has("partial epoch of 0 batches");
    mlp_checkpoint_free(&a);
    free(p);
    tu_rmtree(dir);
}
END_TEST

/* ---- net (oneDNN) --------------------------------------------------- */

static mlp_net_t *tiny_net(int plain)
{
    mlp_net_spec_t s;
    mlp_net_t *net;

    memset(&s, 0, sizeof(s));
    s.in = 20;
    s.out = 5;
    s.nhidden = 2;
    s.hidden[0] = 17;
    s.hidden[1] = 9;
    s.act = MLP_ACT_SIGMOID;
    s.batch_sizes[0] = 8;
    s.nbatch_sizes = 1;
    s.threads = 1;
    s.plain_weights = plain;
    ck_assert_int_eq(mlp_net_create(&s, &net), 0);
    return net;
}

/* Export gives get_layer's logical order; import(export(x)) is x. */
START_TEST(test_block_export_import)
{
    for (int plain = 0; plain < 2; plain++) {
        mlp_net_t *net = tiny_net(plain);
        size_t np = mlp_net_nparams(net), nflat, off = 0;
        float *params, *grads, *logical = malloc(np * sizeof(float));
        float *back = malloc(np * sizeof(float)), *save;

        ck_assert_ptr_nonnull(logical);
        ck_assert_ptr_nonnull(back);
        ck_assert_int_eq(mlp_net_init(net, 5, 0.5f), 0);
        mlp_net_params(net, &params, &grads, &nflat);
        ck_assert_int_eq(mlp_net_block_export(net, params, logical), 0);
        for (size_t l = 0; l < mlp_net_nlayers(net); l++) {
            size_t in, out;
            float *w, *b;

            mlp_net_layer_shape(net, l, &in, &out);
            w = malloc(in * out * sizeof(float));
            b = malloc(out * sizeof(float));
            ck_assert_int_eq(mlp_net_get_layer(net, l, w, b), 0);
            ck_assert(memcmp(w, logical + off, in * out * 4) == 0);
            ck_assert(memcmp(b, logical + off + in * out, out * 4) == 0);
            off += (in + 1) * out;
            free(w);
            free(b);
        }
        ck_assert_uint_eq(off, np);
        /* Into another block of the layout (the gradients) and back. */
        save = malloc(nflat * sizeof(float));
        ck_assert_ptr_nonnull(save);
        memcpy(save, params, nflat * sizeof(float));
        for (size_t i = 0; i < nflat; i++)
            grads[i] = 99.0f; /* padding too: import must zero it */
        ck_assert_int_eq(mlp_net_block_import(net, logical, grads), 0);
        ck_assert(memcmp(grads, save, nflat * sizeof(float)) == 0);
        ck_assert_int_eq(mlp_net_block_export(net, grads, back), 0);
        ck_assert(memcmp(back, logical, np * sizeof(float)) == 0);
        ck_assert_int_eq(mlp_net_block_export(net, NULL, back), MLP_EINVAL);
        free(save);
        free(back);
        free(logical);
        mlp_net_destroy(net);
    }
}
END_TEST

/* Capture from a blocked net, through a file, into a plain one: the same
 * parameters and momentum, bit for bit. */
START_TEST(test_capture_restore)
{
    char *dir = tu_mkdtemp(), *p = tu_path(dir, "n.ckpt");
    mlp_net_t *a = tiny_net(0), *b = tiny_net(1);
    mlp_optim_opts_t oo = {.lr = 0.1f, .momentum = 0.9f};
    mlp_optim_t *oa, *ob;
    mlp_checkpoint_t ck, back, again;
    float *pa, *ga, *pb, *gb, *va, *vb;
    size_t na, nb, nva, nvb, np;

    memset(&ck, 0, sizeof(ck));
    memset(&again, 0, sizeof(again));
    mlp_net_params(a, &pa, &ga, &na);
    mlp_net_params(b, &pb, &gb, &nb);
    np = mlp_net_nparams(a);
    ck_assert_int_eq(mlp_optim_create(&oo, na, &oa), 0);
    ck_assert_int_eq(mlp_optim_create(&oo, nb, &ob), 0);
    ck_assert_int_eq(mlp_net_init(a, 3, 0.3f), 0);
    /* Some momentum: a step with gradients of the params' own layout. */
    ck_assert_int_eq(mlp_net_init(b, 4, 0.2f), 0);
    {
        float *lg = malloc(np * sizeof(float));

        ck_assert_int_eq(mlp_net_block_export(b, pb, lg), 0);
        ck_assert_int_eq(mlp_net_block_import(a, lg, ga), 0);
        free(lg);
    }
    mlp_optim_step(oa, pa, ga);
    va = mlp_optim_state(oa, &nva);

    ck_assert_int_eq(mlp_checkpoint_capture(&ck, a, oa), 0);
    ck_assert_uint_eq(ck.nparams, np);
    ck_assert_uint_eq(ck.nstate, np);
    ck_assert_uint_eq(ck.in, 20);
    ck_assert_uint_eq(ck.hidden[1], 9);
    /* A second capture reuses the buffers. */
    {
        float *before = ck.params;

        ck_assert_int_eq(mlp_checkpoint_capture(&ck, a, oa), 0);
        ck_assert_ptr_eq(ck.params, before);
    }
    ck.rows = 4;
    ck.cols = 5;
    ck.ntrain = 100;
    ck.batch = 8;
    ck.lr = 0.1f;
    ck.momentum = 0.9f;
    ck.epoch = 1;
    ck.best_epoch = 1;
    ck_assert_int_eq(mlp_checkpoint_save(p, &ck), 0);
    ck_assert_int_eq(mlp_checkpoint_load(p, &back), 0);
    ck_assert_int_eq(mlp_checkpoint_restore(&back, b, ob), 0);
    ck_assert_int_eq(mlp_checkpoint_capture(&again, b, ob), 0);
    ck_assert(memcmp(again.params, ck.params, np * 4) == 0);
    ck_assert(memcmp(again.state, ck.state, np * 4) == 0);
    vb = mlp_optim_state(ob, &nvb);
    ck_assert_ptr_nonnull(va);
    ck_assert_ptr_nonnull(vb);

    /* Without an optimizer (eval), and errors. */
    ck_assert_int_eq(mlp_checkpoint_restore(&back, b, NULL), 0);
    back.act = MLP_ACT_RELU;
    ck_assert_int_eq(mlp_checkpoint_restore(&back, b, NULL), MLP_EINVAL);
    ck_assert_msg_has("activation relu, the net has sigmoid");
    back.act = MLP_ACT_SIGMOID;
    back.hidden[0] = 16;
    ck_assert_int_eq(mlp_checkpoint_restore(&back, b, NULL), MLP_EINVAL);
    ck_assert_msg_has("other hidden layers");
    back.hidden[0] = 17;
    back.in = 21;
    ck_assert_int_eq(mlp_checkpoint_restore(&back, b, NULL), MLP_EINVAL);
    ck_assert_msg_has("a 21-input 5-class model");
    back.in = 20;
    {
        mlp_optim_opts_t plain = {.lr = 0.1f};
        mlp_optim_t *o0;

        ck_assert_int_eq(mlp_optim_create(&plain, nb, &o0), 0);
        ck_assert_int_eq(mlp_checkpoint_restore(&back, b, o0), MLP_EINVAL);
        ck_assert_msg_has("optimizer state values");
        mlp_optim_destroy(o0);
    }
    mlp_checkpoint_free(&ck);
    mlp_checkpoint_free(&back);
    mlp_checkpoint_free(&again);
    mlp_optim_destroy(oa);
    mlp_optim_destroy(ob);
    mlp_net_destroy(a);
    mlp_net_destroy(b);
    free(p);
    tu_rmtree(dir);
}
END_TEST

static Suite *checkpoint_suite(void)
{
    Suite *s = suite_create("checkpoint");
    TCase *core = tu_tcase(s, "core", 60); /* valgrind runs are slow */
    TCase *errors = tu_tcase(s, "errors", 0);
    TCase *net = tu_tcase(s, "net", 0);

    tcase_add_test(core, test_roundtrip_memory);
    tcase_add_test(core, test_layout);
    tcase_add_test(core, test_layout_v2);
    tcase_add_test(core, test_plain_sgd_has_no_state);
    tcase_add_test(core, test_roundtrip_file);
    tcase_add_test(core, test_kill_mid_write);
    tcase_add_test(core, test_failed_write_keeps_old);

    tcase_add_test(errors, test_unwritable_paths);
    tcase_add_test(errors, test_load_unreadable);
    tcase_add_test(errors, test_encode_refuses_invalid);

    tcase_set_tags(net, "dnnl");
    tcase_add_test(net, test_block_export_import);
    tcase_add_test(net, test_capture_restore);
    return s;
}

MLP_CHECK_MAIN(checkpoint_suite)
