/*
 * Tests of checkpoint: the byte layout doc/checkpoint-format.md documents, round trips
 * through memory and files, atomic saves (a writer killed at random points
 * leaves the old or the new file; a failed write leaves the old one), the
 * pre-flight check of a --save path, every kind of corrupt file, and a
 * deterministic fuzz run ("fuzz") of thousands of mutated and truncated
 * buffers, half of them with the checksum fixed up so that the field
 * checks behind it are reached.
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

#define ck_assert_msg_has(what)                                          \
    ck_assert_msg(strstr(mlp_error_message(), (what)) != NULL,           \
                  "message '%s' lacks '%s'", mlp_error_message(), (what))

/*
 * A valid checkpoint without a net: in = rows * cols, hidden widths h,
 * `classes` outputs; parameters and (with momentum) state drawn from
 * `seed`.
 */
static void make_ck(mlp_checkpoint_t *ck, size_t rows, size_t cols,
                    const size_t *h, size_t nh, size_t classes,
                    float momentum, uint64_t seed)
{
    mlp_rng_t r;
    size_t in;

    memset(ck, 0, sizeof(*ck));
    ck->rows = rows;
    ck->cols = cols;
    ck->in = rows * cols;
    ck->out = classes;
    ck->nhidden = nh;
    memcpy(ck->hidden, h, nh * sizeof(size_t));
    ck->act = MLP_ACT_TANH;
    ck->ntrain = 1000;
    ck->limit_train = 1000;
    ck->epoch = 3;
    ck->seed = seed;
    ck->batches_done = 4;
    ck->partial_loss_sum = 123.25;
    ck->partial_correct = 77;
    ck->batch = 64;
    ck->lr = 0.1f;
    ck->momentum = momentum;
    ck->weight_decay = 1e-4f;
    ck->init_std = 0.01f;
    ck->best_test_acc = 0.875;
    ck->best_epoch = 2;
    ck->final_test_acc = 0.8125;
    in = ck->in;
    for (size_t l = 0; l <= nh; l++) {
        size_t out = l < nh ? h[l] : classes;

        ck->nparams += (in + 1) * out;
        in = out;
    }
    ck->params = malloc(ck->nparams * sizeof(float));
    ck_assert_ptr_nonnull(ck->params);
    mlp_rng_seed(&r, seed, 0);
    for (size_t i = 0; i < ck->nparams; i++)
        ck->params[i] = (float)mlp_rng_normal(&r);
    if (momentum > 0) {
        ck->nstate = ck->nparams;
        ck->state = malloc(ck->nstate * sizeof(float));
        ck_assert_ptr_nonnull(ck->state);
        for (size_t i = 0; i < ck->nstate; i++)
            ck->state[i] = (float)mlp_rng_normal(&r) * 1e-3f;
    }
}

/* The small checkpoint of most tests: 2x2 -> 3 -> 2, momentum. */
static void small_ck(mlp_checkpoint_t *ck, uint64_t seed)
{
    static const size_t h[1] = {3};

    make_ck(ck, 2, 2, h, 1, 2, 0.5f, seed);
}

/* Version 2's own fields: an options text, Adam's steps, validation. */
static void v2_fields(mlp_checkpoint_t *ck)
{
    static const char text[] = "lr=0.100000001\noptimizer=adam\n";

    ck->options = strdup(text);
    ck_assert_ptr_nonnull(ck->options);
    ck->options_len = strlen(text);
    ck->opt_steps = 52;
    ck->best_val_acc = 0.75;
    ck->best_val_epoch = 2;
    ck->best_val_loss = 0.5;
    ck->best_val_loss_epoch = 3;
}

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

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)v);
    put32(p + 4, (uint32_t)(v >> 32));
}

/* Recompute the trailing crc32 of a buffer. */
static void fix_crc(uint8_t *buf, size_t len)
{
    if (len >= 4)
        put32(buf + len - 4, (uint32_t)crc32(0L, buf, (uInt)(len - 4)));
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

/* Parse buf (as file `name`), expect MLP_EFORMAT naming it and `want`. */
static void expect_bad(const uint8_t *buf, size_t len, const char *want)
{
    mlp_checkpoint_t c;
    uint8_t *copy = malloc(len ? len : 1); /* exact size for ASan */

    ck_assert_ptr_nonnull(copy);
    memcpy(copy, buf, len);
    memset(&c, 0x5a, sizeof(c));
    mlp_error_clear();
    ck_assert_int_eq(mlp_checkpoint_parse(copy, len, "bad.ckpt", &c),
                     MLP_EFORMAT);
    ck_assert_msg_has("bad.ckpt: ");
    ck_assert_msg_has(want);
    ck_assert_ptr_null(c.params);
    ck_assert_ptr_null(c.state);
    ck_assert_uint_eq(c.nparams, 0);
    free(copy);
}

/* Also through a file, as --resume meets it. */
static void expect_bad_file(const char *dir, const uint8_t *buf, size_t len,
                            const char *want)
{
    char *p = tu_path(dir, "bad.ckpt");
    mlp_checkpoint_t c;

    ck_assert_int_eq(tu_write_bytes(p, buf, len), 0);
    ck_assert_msg(mlp_checkpoint_load(p, &c) == MLP_EFORMAT, "%zu bytes: %s",
                  len, mlp_error_message());
    ck_assert_msg_has(p);
    ck_assert_msg_has(want);
    free(p);
}

START_TEST(test_corrupt_envelope)
{
    char *dir = tu_mkdtemp();
    mlp_checkpoint_t a;
    uint8_t *buf, *big;
    size_t len;

    small_ck(&a, 3);
    ck_assert_int_eq(mlp_checkpoint_encode_version(&a, 1, &buf, &len), 0);
    big = calloc(1, len + 8);
    ck_assert_ptr_nonnull(big);

    expect_bad(buf, 0, "empty file");
    expect_bad_file(dir, buf, 0, "empty file");
    expect_bad((const uint8_t *)"MLPX", 4, "not an mlptrain checkpoint");
    expect_bad(buf, 5, "truncated: 5 bytes, a checkpoint has at least 228");
    memcpy(big, buf, len);
    big[0] = 'X';
    expect_bad(big, len, "not an mlptrain checkpoint (bad magic)");
    expect_bad_file(dir, big, len, "bad magic");
    /* A newer format version, a header size this version does not have. */
    memcpy(big, buf, len);
    put32(big + 8, 4);
    fix_crc(big, len);
    expect_bad(big, len, "checkpoint format version 4; this mlptrain reads "
                         "versions 1 to 3");
    memcpy(big, buf, len);
    put32(big + 12, 256);
    fix_crc(big, len);
    expect_bad(big, len, "header of 256 bytes; version 1 has 224");
    /* Truncated anywhere, or with bytes after the end. */
    expect_bad(buf, 100, "truncated: 100 bytes, a checkpoint has at least");
    expect_bad(buf, len - 1, "truncated: 411 bytes, the header says 412");
    expect_bad_file(dir, buf, 300, "truncated: 300 bytes, the header says");
    memcpy(big, buf, len);
    expect_bad(big, len + 8, "8 bytes of trailing data: the header says 412");
    /* One bit flipped in the payload, the header, the checksum. */
    for (size_t off = 0; off < len; off += 37) {
        if (off < 16)
            continue; /* magic, version, header size: other messages */
        memcpy(big, buf, len);
        big[off] ^= 0x10;
        if (off >= 16 && off < 24)
            expect_bad(big, len, "the header says");
        else
            expect_bad(big, len, "checksum mismatch");
    }
    memcpy(big, buf, len);
    big[len - 1] ^= 0x80;
    expect_bad(big, len, "checksum mismatch (stored ");
    expect_bad_file(dir, big, len, "the file is corrupt");
    free(big);
    free(buf);
    mlp_checkpoint_free(&a);
    tu_rmtree(dir);
}
END_TEST

/* Change one field (at off, `width` bytes), fix the checksum, expect want. */
static void bad_field(const uint8_t *buf, size_t len, size_t off, int width,
                      uint64_t v, const char *want)
{
    uint8_t *b = malloc(len);

    ck_assert_ptr_nonnull(b);
    memcpy(b, buf, len);
    if (width == 4)
        put32(b + off, (uint32_t)v);
    else
        put64(b + off, v);
    fix_crc(b, len);
    expect_bad(b, len, want);
    free(b);
}

static uint32_t f32bits(float f)
{
    uint32_t v;

    memcpy(&v, &f, 4);
    return v;
}

static uint64_t f64bits(double d)
{
    uint64_t v;

    memcpy(&v, &d, 8);
    return v;
}

/* Checksum right, contents wrong: every field check. */
START_TEST(test_corrupt_fields)
{
    mlp_checkpoint_t a;
    uint8_t *buf;
    size_t len;

    small_ck(&a, 4);
    ck_assert_int_eq(mlp_checkpoint_encode_version(&a, 1, &buf, &len), 0);
    bad_field(buf, len, 40, 4, 17, "17 hidden layers, at most 16");
    bad_field(buf, len, 48, 4, 0, "hidden layer 1 has width 0");
    bad_field(buf, len, 48, 4, 1u << 25, "hidden layer 1 has width");
    bad_field(buf, len, 52, 4, 9, "width 9 given for hidden layer 2 of 1");
    bad_field(buf, len, 44, 4, 3, "unknown activation 3");
    bad_field(buf, len, 24, 4, 5, "input width 5 does not match 2 x 2");
    bad_field(buf, len, 32, 4, 0, "does not match 0 x 2");
    bad_field(buf, len, 28, 4, 1, "1 classes, not in [2,");
    bad_field(buf, len, 128, 8, 0, "batch size 0");
    bad_field(buf, len, 112, 8, 0, "0 training samples");
    bad_field(buf, len, 112, 8, 2000, "2000 training samples with a limit "
                                      "of 1000");
    bad_field(buf, len, 144, 4, f32bits(0.0f), "learning rate 0");
    bad_field(buf, len, 144, 4, f32bits(NAN), "learning rate nan");
    bad_field(buf, len, 148, 4, f32bits(1.0f), "momentum 1 not in [0, 1)");
    bad_field(buf, len, 152, 4, f32bits(-1.0f), "weight decay -1");
    bad_field(buf, len, 156, 4, f32bits(INFINITY), "init std inf");
    bad_field(buf, len, 164, 4, 4, "best epoch 4 of 3 epochs");
    bad_field(buf, len, 164, 4, 0, "best epoch 0 of 3 epochs");
    bad_field(buf, len, 168, 8, f64bits(1.5), "test accuracy 1.5");
    bad_field(buf, len, 176, 8, f64bits(NAN), "test accuracy");
    bad_field(buf, len, 184, 8, 17, "partial epoch of 17 batches (of 16)");
    bad_field(buf, len, 184, 8, 0, "partial epoch of 0 batches");
    bad_field(buf, len, 192, 8, f64bits(-1.0), "loss sum -1");
    bad_field(buf, len, 200, 8, 1001, "1001 correct is inconsistent");
    /* Sizes that do not fill the file, or do not fit the shape. */
    bad_field(buf, len, 208, 8, 24, "24 parameters, 23 state values and 0 "
                                    "bytes of options do not fill the 412 "
                                    "bytes");
    bad_field(buf, len, 208, 8, UINT64_MAX, "do not fill");
    bad_field(buf, len, 216, 8, UINT64_MAX / 4, "do not fill");
    bad_field(buf, len, 208, 8, 22, "do not fill");
    {
        /* Shifting values between the two counts keeps the length. */
        uint8_t *b = malloc(len);

        ck_assert_ptr_nonnull(b);
        memcpy(b, buf, len);
        put64(b + 208, 24);
        put64(b + 216, 22);
        fix_crc(b, len);
        expect_bad(b, len, "24 parameters, the shape has 23");
        memcpy(b, buf, len);
        put32(b + 148, f32bits(0.0f)); /* momentum 0 keeps no state */
        fix_crc(b, len);
        expect_bad(b, len, "23 optimizer state values, momentum 0 needs 0");
        free(b);
    }
    /* Values that are not finite. */
    bad_field(buf, len, 224 + 4 * 5, 4, f32bits(NAN), "parameter 5 is not "
                                                      "finite");
    bad_field(buf, len, 224 + 4 * 30, 4, f32bits(-INFINITY),
              "optimizer state value 7 is not finite");
    free(buf);
    mlp_checkpoint_free(&a);
}
END_TEST

/* Version 2's own fields, checksum right, contents wrong. */
START_TEST(test_corrupt_v2)
{
    static const struct {
        const char *text;
        const char *want;
    } bad_text[] = {
        {"lr=0.1", "options line 1 is not ended by a newline"},
        {"lr=0.1\nmomentum", "options line 2: expected name=value"},
        {"=0.1\n", "options line 1: expected name=value"},
        {"LR=0.1\n", "options line 1: expected name=value"},
        {"lr=0.1\nseed=\x01\n", "options line 2: a byte that is not "
                                 "printable"},
        {"lr=\xc3\xa9\n", "options line 1: a byte that is not printable"},
    };
    mlp_checkpoint_t a;
    uint8_t *buf;
    size_t len;

    for (size_t i = 0; i < sizeof(bad_text) / sizeof(bad_text[0]); i++) {
        small_ck(&a, 4);
        v2_fields(&a);
        free(a.options);
        a.options = strdup(bad_text[i].text);
        a.options_len = strlen(bad_text[i].text);
        ck_assert_int_eq(mlp_checkpoint_encode(&a, &buf, &len), MLP_EINVAL);
        ck_assert_msg_has(bad_text[i].want);
        /* the same bytes in a file: refused on reading too */
        a.options_len = 0;
        ck_assert_int_eq(mlp_checkpoint_encode(&a, &buf, &len), 0);
        {
            size_t n = strlen(bad_text[i].text), blen = len + n;
            uint8_t *b = malloc(blen);

            ck_assert_ptr_nonnull(b);
            memcpy(b, buf, 264);
            memcpy(b + 264, bad_text[i].text, n);
            memcpy(b + 264 + n, buf + 264, len - 264);
            put64(b + 16, blen);
            put64(b + 256, n);
            fix_crc(b, blen);
            expect_bad(b, blen, bad_text[i].want);
            free(b);
        }
        free(buf);
        mlp_checkpoint_free(&a);
    }
    small_ck(&a, 4);
    v2_fields(&a);
    ck_assert_int_eq(mlp_checkpoint_encode(&a, &buf, &len), 0);
    bad_field(buf, len, 256, 8, 65537, "65537 bytes of options text; a "
                                       "checkpoint holds at most 65536");
    bad_field(buf, len, 256, 8, a.options_len + 1, "do not fill");
    bad_field(buf, len, 232, 8, f64bits(1.5), "validation figures (best "
                                              "accuracy 1.5");
    bad_field(buf, len, 240, 8, f64bits(NAN), "best loss nan");
    bad_field(buf, len, 248, 4, 4, "at epoch 4, best loss");
    bad_field(buf, len, 252, 4, 9, "at epoch 9) do not fit 3 epochs");
    bad_field(buf, len, 8, 4, 4, "checkpoint format version 4; this "
                                 "mlptrain reads versions 1 to 3");
    bad_field(buf, len, 12, 4, 224, "header of 224 bytes; version 3 has 264");
    free(buf);
    mlp_checkpoint_free(&a);
}
END_TEST

/*
 * Issue 20, bug 13: a file whose options text is longer than a checkpoint
 * holds (70,000 bytes, sizes and CRC right) is refused with its real size
 * and the limit, by the load (which reads only the header first) as by
 * the parser; it was "truncated: 268 bytes".
 */
START_TEST(test_long_options_text)
{
    char *dir = tu_mkdtemp();
    mlp_checkpoint_t a;
    uint8_t *buf, *b;
    size_t len, n = 70000, blen;

    small_ck(&a, 4);
    v2_fields(&a);
    a.options_len = 0;
    ck_assert_int_eq(mlp_checkpoint_encode(&a, &buf, &len), 0);
    blen = len + n;
    b = malloc(blen);
    ck_assert_ptr_nonnull(b);
    memcpy(b, buf, 264);
    for (size_t i = 0; i < n; i += 4)
        memcpy(b + 264 + i, "x=y\n", n - i < 4 ? n - i : 4);
    memcpy(b + 264 + n, buf + 264, len - 264);
    put64(b + 16, blen);
    put64(b + 256, n);
    fix_crc(b, blen);
    expect_bad_file(dir, b, blen, "70000 bytes of options text; a "
                                  "checkpoint holds at most 65536");
    ck_assert_ptr_null(strstr(mlp_error_message(), "truncated"));
    expect_bad(b, blen, "70000 bytes of options text; a checkpoint holds at "
                        "most 65536");
    free(b);
    free(buf);
    mlp_checkpoint_free(&a);
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

/* ---- fuzz: deterministic mutations ---------------------------------- */

/*
 * Parse a mutant; 0 when the result is consistent: refused with
 * MLP_EFORMAT, a message naming the buffer and a zeroed result, or
 * accepted and re-encoding to exactly the same bytes.
 */
static int parse_consistent(const uint8_t *buf, size_t len, int *accepted)
{
    static const mlp_checkpoint_t zero;
    mlp_checkpoint_t c;
    uint8_t *enc;
    size_t enc_len;
    int rc, bad;

    mlp_error_clear();
    rc = mlp_checkpoint_parse(buf, len, "mutant", &c);
    if (rc != 0) {
        *accepted = 0;
        return !(rc == MLP_EFORMAT &&
                 strncmp(mlp_error_message(), "mutant: ", 8) == 0 &&
                 strlen(mlp_error_message()) > 8 &&
                 memcmp(&c, &zero, sizeof(c)) == 0);
    }
    *accepted = 1;
    if (mlp_checkpoint_encode_version(&c, c.version, &enc, &enc_len) != 0) {
        mlp_checkpoint_free(&c);
        return 1;
    }
    bad = enc_len != len || memcmp(enc, buf, len) != 0;
    free(enc);
    mlp_checkpoint_free(&c);
    return bad;
}

/* One random change to buf (len bytes, room for len + 16); new length. */
static size_t mutate(mlp_rng_t *r, uint8_t *buf, size_t len)
{
    static const uint64_t vals[] = {0, 1, 2, 3, 16, 17, 224, 228, 0x7fffffff,
                                    0xffffffffu, 1ULL << 32, UINT64_MAX,
                                    UINT64_MAX / 4 + 1};
    uint64_t v = mlp_rng_u64(r);
    size_t pos = len ? (size_t)(mlp_rng_u64(r) % len) : 0;

    switch (v % 7) {
    case 0:
        return tu_mutate(r, buf, len, TU_FLIP_BIT, v, pos);
    case 1:
        return tu_mutate(r, buf, len, TU_RANDOM_BYTE, v, pos);
    case 2: /* a header field (4-byte aligned) set to an edge value */
    case 3: {
        size_t at = 4 * (size_t)((v >> 8) % (MLP_CHECKPOINT_HEADER / 4));
        uint64_t x = vals[(v >> 16) % (sizeof(vals) / sizeof(vals[0]))];
        int w = (v >> 24 & 1) ? 8 : 4;

        for (int b = 0; b < w && at + (size_t)b < len; b++)
            buf[at + (size_t)b] = (uint8_t)(x >> (8 * b));
        return len;
    }
    case 4:
        return tu_mutate(r, buf, len, TU_TRUNCATE, v, pos);
    case 5:
        return tu_mutate(r, buf, len, TU_APPEND, v, pos);
    default:
        return tu_mutate(r, buf, len, TU_DROP_BYTE, v, pos);
    }
}

/* n mutants of base, each parsed from its own exact-size heap copy;
 * fixcrc: recompute the checksum after mutating. */
static int run_mutants(const uint8_t *base, size_t len, int n, int fixcrc,
                       uint64_t stream)
{
    mlp_rng_t r;
    uint8_t *work = malloc(len + 16 * 4);
    int naccepted = 0;

    ck_assert_ptr_nonnull(work);
    mlp_rng_seed(&r, 2025, stream);
    for (int i = 0; i < n; i++) {
        size_t wlen = len;
        int rounds = 1 + (int)(mlp_rng_u64(&r) % 3), bad, accepted;
        uint8_t *copy;

        memcpy(work, base, len);
        for (int k = 0; k < rounds; k++)
            wlen = mutate(&r, work, wlen);
        if (fixcrc)
            fix_crc(work, wlen);
        copy = malloc(wlen ? wlen : 1);
        ck_assert_ptr_nonnull(copy);
        memcpy(copy, work, wlen);
        bad = parse_consistent(copy, wlen, &accepted);
        free(copy);
        if (bad)
            ck_abort_msg("mutant %d (%zu bytes, crc %s) handled "
                         "inconsistently: '%s'",
                         i, wlen, fixcrc ? "fixed" : "as is",
                         mlp_error_message());
        naccepted += accepted;
    }
    free(work);
    return naccepted;
}

START_TEST(test_fuzz_mutants)
{
    static const size_t h0[1] = {0}, h2[2] = {3, 2};
    mlp_checkpoint_t a, b, c;
    uint8_t *ba, *bb, *bc;
    size_t la, lb, lc;
    int acc;

    small_ck(&a, 31);
    make_ck(&b, 1, 3, h0, 0, 2, 0.0f, 32);
    make_ck(&c, 2, 1, h2, 2, 3, 0.9f, 33);
    ck_assert_int_eq(mlp_checkpoint_encode(&a, &ba, &la), 0);
    ck_assert_int_eq(mlp_checkpoint_encode(&b, &bb, &lb), 0);
    ck_assert_int_eq(mlp_checkpoint_encode(&c, &bc, &lc), 0);
    /* As is, the checksum refuses all but the rare no-op mutation. */
    acc = run_mutants(ba, la, 2000, 0, 1);
    ck_assert_int_lt(acc, 40);
    /* Checksum fixed: the field checks decide; payload changes to other
     * finite values stay valid. */
    acc = run_mutants(ba, la, 2000, 1, 2);
    ck_assert_int_gt(acc, 50);
    ck_assert_int_lt(acc, 1500);
    run_mutants(bb, lb, 1000, 1, 3);
    run_mutants(bc, lc, 1000, 1, 4);
    run_mutants(bc, lc, 1000, 0, 5);
    free(ba);
    free(bb);
    free(bc);
    mlp_checkpoint_free(&a);
    mlp_checkpoint_free(&b);
    mlp_checkpoint_free(&c);
}
END_TEST

/* Every strict prefix is refused, with or without a fixed-up checksum. */
START_TEST(test_fuzz_prefixes)
{
    mlp_checkpoint_t a;
    uint8_t *buf;
    size_t len;

    small_ck(&a, 41);
    ck_assert_int_eq(mlp_checkpoint_encode(&a, &buf, &len), 0);
    for (size_t n = 0; n <= len; n++)
        for (int fix = 0; fix < 2; fix++) {
            uint8_t *copy = malloc(n ? n : 1);
            int accepted, bad;

            ck_assert_ptr_nonnull(copy);
            memcpy(copy, buf, n);
            if (fix)
                fix_crc(copy, n);
            bad = parse_consistent(copy, n, &accepted);
            free(copy);
            ck_assert_msg(!bad, "prefix %zu: '%s'", n, mlp_error_message());
            ck_assert_int_eq(accepted, n == len);
        }
    free(buf);
    mlp_checkpoint_free(&a);
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
    TCase *core = tcase_create("core");
    TCase *errors = tcase_create("errors");
    TCase *fuzz = tcase_create("fuzz");
    TCase *net = tcase_create("net");

    tcase_add_test(core, test_roundtrip_memory);
    tcase_add_test(core, test_layout);
    tcase_add_test(core, test_layout_v2);
    tcase_add_test(core, test_plain_sgd_has_no_state);
    tcase_add_test(core, test_roundtrip_file);
    tcase_add_test(core, test_kill_mid_write);
    tcase_add_test(core, test_failed_write_keeps_old);
    tcase_set_timeout(core, 60); /* valgrind runs are slow */
    suite_add_tcase(s, core);

    tcase_add_test(errors, test_unwritable_paths);
    tcase_add_test(errors, test_load_unreadable);
    tcase_add_test(errors, test_corrupt_envelope);
    tcase_add_test(errors, test_corrupt_fields);
    tcase_add_test(errors, test_corrupt_v2);
    tcase_add_test(errors, test_long_options_text);
    tcase_add_test(errors, test_encode_refuses_invalid);
    suite_add_tcase(s, errors);

    tcase_add_test(fuzz, test_fuzz_mutants);
    tcase_add_test(fuzz, test_fuzz_prefixes);
    tcase_set_timeout(fuzz, 60);
    suite_add_tcase(s, fuzz);

    tcase_set_tags(net, "dnnl");
    tcase_add_test(net, test_block_export_import);
    tcase_add_test(net, test_capture_restore);
    suite_add_tcase(s, net);
    return s;
}

MLP_CHECK_MAIN(checkpoint_suite)
