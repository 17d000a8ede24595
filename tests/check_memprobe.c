/*
 * memprobe and the trainer's memory estimate: the probe's figures are
 * sane, and for several shapes (small, a wide hidden layer, a large batch,
 * two layers with momentum, a dataset of real features larger than the
 * estimate's margin) the estimate the trainer checks before
 * allocating is at least the peak resident set the run reaches, and not
 * wildly more.  Each run is in a child process of its own, so its peak is
 * its own whatever ran before (CK_FORK=no too).
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check_main.h"
#include "mlptrain/options.h"
#include "mlptrain/error.h"
#include "mlptrain/memprobe.h"
#include "mlptrain/net.h"
#include "mlptrain/trainer.h"
#include "testutil.h"

static char *datadir;

/* NPY_ROWS rows of 784 float32 features in datadir/NAME.npy, labelled by
 * an IDX file NAME-labels: real features take 4 bytes a value, and a
 * file of 60 MB is more than the estimate's margin.  Written a row at a
 * time: the children fork from this process, whose peak they inherit
 * (and ASan keeps freed memory). */
#define NPY_ROWS 20000
static void write_npy(const char *name, size_t rows)
{
    char dict[128], file[64], *path;
    uint32_t dims[1] = {(uint32_t)rows};
    size_t dl, hl;
    uint8_t head[128], *lab = malloc(rows);
    float x[784];
    FILE *f;

    ck_assert_ptr_nonnull(lab);
    dl = (size_t)snprintf(dict, sizeof(dict), "{'descr': '<f4', "
                          "'fortran_order': False, 'shape': (%zu, 784), }",
                          rows);
    hl = (10 + dl + 1 + 63) / 64 * 64 - 10;
    memcpy(head, "\x93NUMPY\x01\x00", 8);
    head[8] = (uint8_t)hl;
    head[9] = (uint8_t)(hl >> 8);
    memcpy(head + 10, dict, dl);
    memset(head + 10 + dl, ' ', hl - dl - 1);
    head[9 + hl] = '\n';
    snprintf(file, sizeof(file), "%s.npy", name);
    path = tu_path(datadir, file);
    ck_assert_ptr_nonnull(f = fopen(path, "wb"));
    ck_assert_uint_eq(fwrite(head, 1, 10 + hl, f), 10 + hl);
    for (size_t i = 0; i < rows; i++) {
        lab[i] = (uint8_t)(i % 10);
        for (size_t j = 0; j < 784; j++)
            x[j] = (float)((i * 7 + j * 3) % 255) + 0.5f * lab[i];
        ck_assert_uint_eq(fwrite(x, sizeof(float), 784, f), 784);
    }
    ck_assert_int_eq(fclose(f), 0);
    free(path);
    snprintf(file, sizeof(file), "%s-labels", name);
    path = tu_path(datadir, file);
    ck_assert_int_eq(tu_write_idx(path, dims, 1, lab, 0), 0);
    free(path);
    free(lab);
}

static void make_data(void)
{
    datadir = tu_mkdtemp();
    ck_assert_ptr_nonnull(datadir);
    ck_assert_int_eq(tu_make_dataset(datadir, 2000, 200, 28, 28, 10, 3, 1),
                     0);
    write_npy("train", NPY_ROWS);
    write_npy("test", 200);
}

static void rm_data(void)
{
    tu_rmtree(datadir);
    datadir = NULL;
}

/* Cap this process's address space at what it maps now plus `more` bytes
 * (what it maps may be huge under ASan).  0 or -1. */
static int cap_address_space(double more)
{
    char line[256];
    double used = -1;
    struct rlimit rl;
    FILE *f = fopen("/proc/self/status", "r");

    if (f == NULL)
        return -1;
    while (fgets(line, sizeof(line), f) != NULL)
        if (strncmp(line, "VmSize:", 7) == 0)
            used = strtod(line + 7, NULL) * 1024.0;
    fclose(f);
    if (used < 0)
        return -1;
    rl.rlim_cur = rl.rlim_max = (rlim_t)(used + more);
    return setrlimit(RLIMIT_AS, &rl);
}

/* Runs body in a child whose address space is capped at `more` bytes
 * beyond what it maps; the child must exit 0 (2: the cap failed, else
 * body's own code). */
static void in_capped_child(double more, int (*body)(void))
{
    pid_t pid = fork();
    int ws;

    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        if (cap_address_space(more) != 0)
            _exit(2);
        _exit(body());
    }
    ck_assert_int_eq(waitpid(pid, &ws, 0), pid);
    ck_assert_msg(WIFEXITED(ws) && WEXITSTATUS(ws) == 0, "status %#x", ws);
}

typedef struct {
    size_t nhidden;
    size_t hidden[2];
    size_t batch;
    float momentum;
    int save;
    int npy;        /* --train/--test .npy files of real features */
} shape_t;

/* Train one epoch of the shape in a child: its status, estimate, peak. */
static void run_shape(const shape_t *sh, int *rc, double *est, double *peak)
{
    int fds[2], ws;
    double msg[3] = {0, 0, 0};
    pid_t pid;

    ck_assert_int_eq(pipe(fds), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        mlp_config_t cfg;
        mlp_train_result_t res;
        char *ck = tu_path(datadir, "m.ckpt");

        close(fds[0]);
        mlp_config_defaults(&cfg);
        snprintf(cfg.data_dir, sizeof(cfg.data_dir), "%s", datadir);
        cfg.epochs = 1;
        cfg.nhidden = sh->nhidden;
        memcpy(cfg.hidden, sh->hidden, sizeof(sh->hidden));
        cfg.batch = sh->batch;
        cfg.momentum = sh->momentum;
        cfg.threads = 2;
        cfg.workers = 2;
        cfg.quiet = 1;
        if (sh->save)
            snprintf(cfg.save_path, sizeof(cfg.save_path), "%s", ck);
        if (sh->npy) {
            snprintf(cfg.train_path, sizeof(cfg.train_path), "%s/train.npy",
                     datadir);
            snprintf(cfg.train_labels_path, sizeof(cfg.train_labels_path),
                     "%s/train-labels", datadir);
            snprintf(cfg.test_path, sizeof(cfg.test_path), "%s/test.npy",
                     datadir);
            snprintf(cfg.test_labels_path, sizeof(cfg.test_labels_path),
                     "%s/test-labels", datadir);
        }
        msg[0] = mlp_train(&cfg, NULL, NULL, &res);
        msg[1] = res.mem_estimate;
        msg[2] = mlp_memprobe_peak_rss();
        mlp_train_result_free(&res);
        unlink(ck);
        free(ck);
        _exit(write(fds[1], msg, sizeof(msg)) == (ssize_t)sizeof(msg) ? 0 : 1);
    }
    close(fds[1]);
    ck_assert_int_eq(read(fds[0], msg, sizeof(msg)), (ssize_t)sizeof(msg));
    close(fds[0]);
    ck_assert_int_eq(waitpid(pid, &ws, 0), pid);
    ck_assert(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
    *rc = (int)msg[0];
    *est = msg[1];
    *peak = msg[2];
}

START_TEST(test_probe)
{
    double a = mlp_memprobe_available(), p = mlp_memprobe_peak_rss();

    ck_assert(a > 0);
    ck_assert(p > 0 && p < 1e12);
    ck_assert(fabs(mlp_memprobe_with_margin(0) - 64.0 * 1048576.0) < 1);
    ck_assert(mlp_memprobe_with_margin(1e9) >= 1.1e9);
}
END_TEST

/* Address space left is the limit less what is mapped already. */
static int probe_under_8g(void)
{
    double a = mlp_memprobe_available();

    return a <= 8.0 * 1073741824.0 && a > 0 ? 0 : 1;
}

START_TEST(test_probe_rlimit)
{
    in_capped_child(8.0 * 1073741824.0, probe_under_8g);
}
END_TEST

static const shape_t shapes[] = {
    {1, {32, 0}, 64, 0.0f, 0, 0},    /* small */
    {1, {2048, 0}, 256, 0.9f, 1, 0}, /* a wide hidden layer, checkpoints */
    {1, {128, 0}, 2000, 0.0f, 0, 0}, /* one batch of the whole split */
    {2, {256, 128}, 512, 0.9f, 1, 0}, /* two layers */
    {1, {32, 0}, 256, 0.0f, 0, 1},   /* 60 MB of real features: the data
                                        counts, whatever its format */
};

START_TEST(test_estimate_covers_peak)
{
    const shape_t *sh = &shapes[_i];
    double est, peak;
    int rc;

    run_shape(sh, &rc, &est, &peak);
    ck_assert_int_eq(rc, 0);
    if (getenv("MLP_TEST_VERBOSE") != NULL)
        fprintf(stderr, "shape %d: estimate %.1f MiB, peak RSS %.1f MiB\n",
                _i, est / 1048576.0, peak / 1048576.0);
    ck_assert_msg(est >= peak, "shape %d: estimate %.0f < peak RSS %.0f",
                  _i, est, peak);
    /* An estimate, not a refusal of everything: within 3x + 128 MiB. */
    ck_assert_msg(est <= 3.0 * peak + 128.0 * 1048576.0,
                  "shape %d: estimate %.0f, peak RSS %.0f", _i, est, peak);
}
END_TEST

/* oneDNN's scratchpads count: a hidden layer of 10^6 on 2000-row batches
 * needs 8 GB of scratchpad for backward-weights beside 16 GB of
 * activations.  Only descriptors are made: this is quick. */
START_TEST(test_estimate_counts_scratchpad)
{
    mlp_net_spec_t s;
    mlp_net_mem_t m;

    memset(&s, 0, sizeof(s));
    s.in = 784;
    s.out = 10;
    s.nhidden = 1;
    s.hidden[0] = 1000000;
    s.nbatch_sizes = 1;
    s.batch_sizes[0] = 2000;
    ck_assert_int_eq(mlp_net_estimate(&s, &m), 0);
    ck_assert(m.params >= 4.0 * 785 * 1000000);
    ck_assert(m.act >= 4.0 * 2 * 2000 * 1000000);
    ck_assert(m.scratch > 0);
    ck_assert(m.workspace >= 0);
}
END_TEST

/* The shape is refused before anything big is allocated.  In a
 * child whose address space is capped at 16 GiB more than it maps, so
 * that a machine with more memory refuses it too (and an old binary
 * fails, not swaps). */
static int train_huge(void)
{
    mlp_config_t cfg;
    int rc;

    mlp_config_defaults(&cfg);
    snprintf(cfg.data_dir, sizeof(cfg.data_dir), "%s", datadir);
    cfg.nhidden = 1;
    cfg.hidden[0] = 1000000;
    cfg.batch = 1000000;
    cfg.limit_train = 2000;
    cfg.threads = 1;
    cfg.workers = 1;
    cfg.quiet = 1;
    rc = mlp_train(&cfg, NULL, NULL, NULL);
    if (rc != MLP_ENOMEM ||
        strstr(mlp_error_message(), "not enough memory") == NULL)
        return 3;
    return mlp_memprobe_peak_rss() < 512.0 * 1048576.0 ? 0 : 4;
}

START_TEST(test_huge_refused)
{
    in_capped_child(16.0 * 1073741824.0, train_huge);
}
END_TEST

static Suite *memprobe_suite(void)
{
    Suite *s = suite_create("memprobe");
    TCase *core = tu_tcase(s, "core", 0);
    TCase *est = tu_tcase(s, "estimate", 60);

    tcase_add_test(core, test_probe);
    tcase_add_test(core, test_probe_rlimit);
    tcase_add_unchecked_fixture(est, make_data, rm_data);
    tcase_set_tags(est, "dnnl");
    tcase_add_loop_test(est, test_estimate_covers_peak, 0,
                        (int)(sizeof(shapes) / sizeof(shapes[0])));
    tcase_add_test(est, test_estimate_counts_scratchpad);
    tcase_add_test(est, test_huge_refused);
    return s;
}

MLP_CHECK_MAIN(memprobe_suite)
