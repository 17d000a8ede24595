/*
 * Tests of outfile: the target check, the atomic writer (validation, old
 * file kept, no temporary left), locks and aliases.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "check_main.h"
#include "mlptrain/error.h"
#include "mlptrain/outfile.h"
#include "mlptrain/plot.h"
#include "testutil.h"

/* Each test's directory and the output in it (a checked fixture). */
static char *dir, *path;

static void setup(void)
{
    dir = tu_mkdtemp();
    path = tu_path(dir, "out.bin");
}

static void teardown(void)
{
    free(path);
    tu_rmtree(dir);
    path = dir = NULL;
}

/* Files in dir. */
static int nfiles(void)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    ck_assert_ptr_nonnull(d);
    while ((e = readdir(d)) != NULL)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static void put(const char *p, const char *s)
{
    FILE *f = fopen(p, "w");

    ck_assert_ptr_nonnull(f);
    fputs(s, f);
    ck_assert_int_eq(fclose(f), 0);
}

static char *get(const char *p)
{
    static char buf[256];
    FILE *f = fopen(p, "r");
    size_t n;

    ck_assert_ptr_nonnull(f);
    n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static int fill_text(int fd, const char *tmp, void *arg)
{
    (void)tmp;
    return write(fd, arg, strlen(arg)) == (ssize_t)strlen(arg) ? 0 : MLP_EIO;
}

static int fill_fail(int fd, const char *tmp, void *arg)
{
    (void)fd;
    (void)arg;
    return mlp_error_set(MLP_EIO, "cannot write '%s': test", tmp);
}

START_TEST(test_write_replaces)
{
    struct stat st;

    put(path, "old");
    ck_assert_int_eq(mlp_out_write(path, fill_text, "new", NULL), 0);
    ck_assert_str_eq(get(path), "new");
    ck_assert_int_eq(nfiles(), 1);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_ne(st.st_mode & 0044, 0); /* not mkostemp's 0600 */
}
END_TEST

START_TEST(test_failed_write_keeps_old)
{
    put(path, "old");
    ck_assert_int_eq(mlp_out_write(path, fill_fail, NULL, NULL), MLP_EIO);
    ck_assert_str_eq(get(path), "old");
    ck_assert_int_eq(nfiles(), 1);
    /* empty: a full disk for a writer that does not check */
    ck_assert_int_eq(mlp_out_write(path, fill_text, "", NULL), MLP_EIO);
    ck_assert_msg_has("empty");
    ck_assert_str_eq(get(path), "old");
    /* not a PNG */
    ck_assert_int_eq(mlp_out_write(path, fill_text, "garbage",
                                   mlp_out_valid_png),
                     MLP_EIO);
    ck_assert_str_eq(get(path), "old");
    ck_assert_int_eq(nfiles(), 1);
    ck_assert_int_eq(mlp_out_write(path, fill_text, "\x89PNG\r\n\x1a\nxx",
                                   mlp_out_valid_png),
                     0);
    ck_assert_int_eq(mlp_out_write(path, fill_text, "\n<svg>",
                                   mlp_out_valid_svg),
                     0);
    ck_assert_int_eq(mlp_out_write(path, fill_text, "<html>",
                                   mlp_out_valid_svg),
                     MLP_EIO);
    ck_assert_str_eq(get(path), "\n<svg>");
}
END_TEST

START_TEST(test_check_refuses_non_regular)
{
    char p[160];
    struct sockaddr_un sa;
    int s;

    ck_assert_int_eq(mlp_out_check(path), 0); /* absent */
    put(path, "x");
    ck_assert_int_eq(mlp_out_check(path), 0);
    ck_assert_int_eq(mlp_out_check(""), MLP_EUSAGE);
    ck_assert_int_eq(mlp_out_check(dir), MLP_EIO);
    ck_assert_msg_has("a directory");
    ck_assert_int_eq(mlp_out_check("/dev/null"), MLP_EIO);
    ck_assert_msg_has("character device");
    snprintf(p, sizeof(p), "%s/fifo", dir);
    ck_assert_int_eq(mkfifo(p, 0600), 0);
    ck_assert_int_eq(mlp_out_check(p), MLP_EIO);
    ck_assert_msg_has("a FIFO");
    /* the writer refuses too, and leaves the FIFO a FIFO */
    ck_assert_int_eq(mlp_out_write(p, fill_text, "x", NULL), MLP_EIO);
    snprintf(p, sizeof(p), "%s/link.png", dir);
    ck_assert_int_eq(symlink("/dev/null", p), 0);
    ck_assert_int_eq(mlp_out_check(p), MLP_EIO);
    snprintf(p, sizeof(p), "%s/sock", dir);
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    ck_assert_uint_lt(strlen(p), sizeof(sa.sun_path));
    memcpy(sa.sun_path, p, strlen(p) + 1);
    s = socket(AF_UNIX, SOCK_STREAM, 0);
    ck_assert_int_ge(s, 0);
    ck_assert_int_eq(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
    ck_assert_int_eq(mlp_out_check(p), MLP_EIO);
    ck_assert_msg_has("a socket");
    close(s);
    snprintf(p, sizeof(p), "%s/nodir/x", dir);
    ck_assert_int_eq(mlp_out_check(p), MLP_EIO);
}
END_TEST

START_TEST(test_lock)
{
    char lk[160];
    int a = -1, b = -1;

    snprintf(lk, sizeof(lk), "%s/x.lock", dir);
    ck_assert_int_eq(mlp_out_lock(lk, &a), 0);
    /* a second open file description is refused (flock is per open) */
    ck_assert_int_eq(mlp_out_lock(lk, &b), MLP_EBUSY);
    ck_assert_int_eq(b, -1);
    ck_assert_msg_has(lk);
    mlp_out_unlock_remove(lk, a);
    ck_assert_int_eq(access(lk, F_OK), -1);
    ck_assert_int_eq(mlp_out_lock(lk, &b), 0);
    mlp_out_unlock(b);
    ck_assert_int_eq(mlp_out_lock(lk, &a), 0);
    mlp_out_unlock(a);
    ck_assert_int_eq(mlp_out_lock("/dev/null", &a), MLP_EIO);
    ck_assert_int_eq(mlp_out_lock_name("a/b", lk, sizeof(lk)), 0);
    ck_assert_str_eq(lk, "a/b.lock");
}
END_TEST

START_TEST(test_open_log)
{
    int a = -1, b = -1;

    put(path, "first run\n");
    ck_assert_int_eq(mlp_out_open_log(path, 1, &a), 0);
    ck_assert_int_eq(write(a, "more\n", 5), 5);
    /* a second writer is refused and truncates nothing */
    ck_assert_int_eq(mlp_out_open_log(path, 0, &b), MLP_EBUSY);
    ck_assert_str_eq(get(path), "first run\nmore\n");
    close(a);
    ck_assert_int_eq(mlp_out_open_log(path, 0, &b), 0);
    ck_assert_str_eq(get(path), "");
    close(b);
    ck_assert_int_eq(mlp_out_open_log("/dev/null", 1, &b), MLP_EIO);
}
END_TEST

/*
 * A symbolic link at an output's path is refused by every door -- the
 * check, the atomic write, the log, the lock -- whatever it names (a
 * regular file, nothing), and neither it nor its target is touched.
 */
START_TEST(test_symlink_refused)
{
    char link[160], dangling[160], gone[160];
    struct stat st;
    int fd = -1;

    put(path, "precious");
    snprintf(link, sizeof(link), "%s/link", dir);
    snprintf(dangling, sizeof(dangling), "%s/dangling", dir);
    snprintf(gone, sizeof(gone), "%s/gone", dir);
    ck_assert_int_eq(symlink("out.bin", link), 0);
    ck_assert_int_eq(symlink("gone", dangling), 0);
    for (int i = 0; i < 2; i++) {
        const char *p = i == 0 ? link : dangling;

        ck_assert_int_eq(mlp_out_check(p), MLP_EIO);
        ck_assert_msg_has("it is a symbolic link (to '");
        ck_assert_int_eq(mlp_out_write(p, fill_text, "new", NULL), MLP_EIO);
        ck_assert_int_eq(mlp_out_open_log(p, 1, &fd), MLP_EIO);
        ck_assert_int_eq(fd, -1);
        ck_assert_int_eq(mlp_out_lock(p, &fd), MLP_EIO);
        ck_assert_msg_has("symbolic link");
        ck_assert_int_eq(fd, -1);
        ck_assert_int_eq(lstat(p, &st), 0);
        ck_assert(S_ISLNK(st.st_mode));
    }
    ck_assert_str_eq(get(path), "precious");
    ck_assert_int_eq(access(gone, F_OK), -1);
    ck_assert_int_eq(nfiles(), 3); /* no temporary file left */
}
END_TEST

START_TEST(test_no_alias)
{
    char other[160], link[160], absent[160], absent2[160];

    put(path, "ckpt");
    snprintf(other, sizeof(other), "%s/other", dir);
    put(other, "x");
    snprintf(link, sizeof(link), "%s/link", dir);
    ck_assert_int_eq(symlink("out.bin", link), 0);
    snprintf(absent, sizeof(absent), "%s/new.jsonl", dir);
    snprintf(absent2, sizeof(absent2), "%s/./new.jsonl", dir);
    {
        mlp_out_file_t f[] = {{path, "--resume", 0, NULL},
                              {path, "--log", 1, NULL}};
        ck_assert_int_eq(mlp_out_no_alias(f, 2), MLP_EUSAGE);
        ck_assert_msg_has("--log");
        ck_assert_msg_has("--resume");
    }
    { /* a symlink is the file it names */
        mlp_out_file_t f[] = {{path, "--resume", 0, NULL},
                              {link, "--plot", 1, NULL}};
        ck_assert_int_eq(mlp_out_no_alias(f, 2), MLP_EUSAGE);
    }
    { /* --save may replace --resume */
        mlp_out_file_t f[] = {{path, "--resume", 0, NULL},
                              {link, "--save", 1, "--resume"},
                              {other, "--log", 1, NULL}};
        ck_assert_int_eq(mlp_out_no_alias(f, 3), 0);
    }
    { /* two absent outputs, spelled differently */
        mlp_out_file_t f[] = {{absent, "--save", 1, NULL},
                              {absent2, "--log", 1, NULL}};
        ck_assert_int_eq(mlp_out_no_alias(f, 2), MLP_EUSAGE);
    }
    { /* inputs may be the same; absent inputs clash with nothing */
        mlp_out_file_t f[] = {{path, "A", 0, NULL},
                              {path, "B", 0, NULL},
                              {absent, "C", 0, NULL},
                              {absent, "--log", 1, NULL},
                              {NULL, "--plot", 1, NULL}};
        ck_assert_int_eq(mlp_out_no_alias(f, 5), 0);
    }
}
END_TEST

START_TEST(test_plot_quote_and_texts)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    const char *t[2] = {"a\nEOD", "`x`'\"\\"};

    ck_assert_ptr_nonnull(f);
    mlp_plot_quote(f, "it's `cmd` \"q\" \\ @m $v\n\x01\xff ok");
    fputc('|', f);
    mlp_plot_texts(f, "T", t, 2);
    fclose(f);
    ck_assert_str_eq(buf, "\"it\\047s \\140cmd\\140 \\042q\\042 \\134 \\100m "
                          "\\044v\\012\\001\\377 ok\"|"
                          "$T << EOD\nsa?EOD\ns`x`'\"\\\nEOD\n");
    free(buf);
    ck_assert_int_eq(mlp_plot_check("x.gif"), MLP_EUSAGE);
    ck_assert_int_eq(mlp_plot_check("x"), MLP_EUSAGE);
    ck_assert_int_eq(mlp_plot_check("/tmp/x.SVG"), 0);
    ck_assert_int_eq(mlp_plot_check("/tmp/x.png"), 0);
}
END_TEST

static Suite *outfile_suite(void)
{
    Suite *s = suite_create("outfile");
    TCase *core = tu_tcase(s, "core", 0);
    TCase *limits = tu_tcase(s, "errors", 0);

    tcase_add_checked_fixture(core, setup, teardown);
    tcase_add_checked_fixture(limits, setup, teardown);
    tcase_add_test(core, test_write_replaces);
    tcase_add_test(core, test_lock);
    tcase_add_test(core, test_open_log);
    tcase_add_test(core, test_plot_quote_and_texts);
    tcase_add_test(limits, test_failed_write_keeps_old);
    tcase_add_test(limits, test_check_refuses_non_regular);
    tcase_add_test(limits, test_no_alias);
    tcase_add_test(limits, test_symlink_refused);
    return s;
}

MLP_CHECK_MAIN(outfile_suite)
