/*
 * Tests of infile: only regular files open, a FIFO without a writer does
 * not block, devices and directories are named, reads are bounded.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_main.h"
#include "mlptrain/error.h"
#include "mlptrain/infile.h"
#include "testutil.h"

START_TEST(test_regular_file)
{
    char *dir = tu_mkdtemp(), *p = tu_path(dir, "f");
    uint8_t *buf;
    size_t len, got;
    uint64_t size;
    char small[4];
    int fd;

    ck_assert_int_eq(tu_write_bytes(p, "hello", 5), 0);
    ck_assert_int_eq(mlp_infile_open(p, &fd, &size), 0);
    ck_assert_uint_eq(size, 5);
    ck_assert_int_eq(mlp_infile_read(fd, p, small, 4, &got), 0);
    ck_assert_uint_eq(got, 4);
    ck_assert_int_eq(mlp_infile_read(fd, p, small, 4, &got), 0);
    ck_assert_uint_eq(got, 1); /* the end */
    close(fd);
    ck_assert_int_eq(mlp_infile_read_all(p, 5, "test file", &buf, &len), 0);
    ck_assert_uint_eq(len, 5);
    ck_assert_mem_eq(buf, "hello", 5);
    free(buf);
    /* An empty file reads as an empty, non-NULL buffer. */
    ck_assert_int_eq(tu_write_bytes(p, "", 0), 0);
    ck_assert_int_eq(mlp_infile_read_all(p, 5, "test file", &buf, &len), 0);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(len, 0);
    free(buf);
    free(p);
    tu_rmtree(dir);
}
END_TEST

/* Each refused at once (a FIFO with no writer would block a plain open),
 * named for what it is. */
START_TEST(test_not_regular)
{
    static const struct {
        const char *path, *kind;
    } cases[] = {
        {"/dev/zero", "it is a character device, not a regular file"},
        {"/dev/null", "it is a character device, not a regular file"},
        {NULL, "it is a FIFO, not a regular file"},
        {"", "it is a directory, not a regular file"},
    };
    char *dir = tu_mkdtemp(), *fifo = tu_path(dir, "fifo");
    uint8_t *buf = (uint8_t *)1;
    size_t len = 1;
    uint64_t size = 1;
    int fd = 0;

    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *p = cases[i].path == NULL   ? fifo
                        : cases[i].path[0] == 0 ? dir
                                                : cases[i].path;

        mlp_error_clear();
        ck_assert_int_eq(mlp_infile_open(p, &fd, &size), MLP_EIO);
        ck_assert_int_eq(fd, -1);
        ck_assert_msg_has(p);
        ck_assert_msg_has(cases[i].kind);
        ck_assert_int_eq(mlp_infile_read_all(p, 100, "x", &buf, &len),
                         MLP_EIO);
        ck_assert_ptr_null(buf);
        ck_assert_msg_has(cases[i].kind);
    }
    ck_assert_int_eq(mlp_infile_open("/nonexistent/x", &fd, &size), MLP_EIO);
    ck_assert_msg_has("cannot open '/nonexistent/x': No such file");
    free(fifo);
    tu_rmtree(dir);
}
END_TEST

START_TEST(test_too_large)
{
    char *dir = tu_mkdtemp(), *p = tu_path(dir, "big");
    uint8_t *buf = (uint8_t *)1;
    size_t len;

    ck_assert_int_eq(tu_write_bytes(p, "0123456789", 10), 0);
    ck_assert_int_eq(mlp_infile_read_all(p, 9, "a test file", &buf, &len),
                     MLP_EFORMAT);
    ck_assert_ptr_null(buf);
    ck_assert_msg_has("is 10 bytes; a test file is at most 9 bytes");
    free(p);
    tu_rmtree(dir);
}
END_TEST

static Suite *infile_suite(void)
{
    Suite *s = suite_create("infile");
    TCase *core = tu_tcase(s, "core", 0);
    TCase *errors = tu_tcase(s, "errors", 0);

    tcase_add_test(core, test_regular_file);
    tcase_add_test(errors, test_not_regular);
    tcase_add_test(errors, test_too_large);
    return s;
}

MLP_CHECK_MAIN(infile_suite)
