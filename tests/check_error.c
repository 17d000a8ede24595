/*
 * Tests of error: the status table and per-thread messages.
 */
#include <pthread.h>
#include <string.h>

#include "check_main.h"
#include "mlptrain/error.h"
#include "testutil.h"

START_TEST(test_strerror)
{
    ck_assert_str_eq(mlp_strerror(MLP_OK), "success");
    ck_assert_str_eq(mlp_strerror(MLP_ENOMEM), "out of memory");
    ck_assert_str_eq(mlp_strerror(MLP_EFORMAT), "malformed file");
    ck_assert_str_eq(mlp_strerror(12345), "unknown error");
}
END_TEST

START_TEST(test_set_returns_status)
{
    int rc = mlp_error_set(MLP_EIO, "cannot open '%s': %s", "x.gz", "gone");

    ck_assert_int_eq(rc, MLP_EIO);
    ck_assert_str_eq(mlp_error_message(), "cannot open 'x.gz': gone");
    mlp_error_clear();
    ck_assert_str_eq(mlp_error_message(), "");
}
END_TEST

static void *other_thread(void *arg)
{
    (void)arg;
    mlp_error_set(MLP_EINVAL, "from the other thread");
    return NULL;
}

START_TEST(test_thread_local)
{
    pthread_t t;

    mlp_error_set(MLP_EIO, "mine");
    ck_assert_int_eq(pthread_create(&t, NULL, other_thread, NULL), 0);
    ck_assert_int_eq(pthread_join(t, NULL), 0);
    ck_assert_str_eq(mlp_error_message(), "mine");
}
END_TEST

START_TEST(test_long_message_truncated)
{
    char big[4000];

    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    mlp_error_set(MLP_EIO, "%s", big);
    ck_assert_uint_gt(strlen(mlp_error_message()), 100);
    ck_assert_uint_lt(strlen(mlp_error_message()), sizeof(big));
}
END_TEST

START_TEST(test_prefix)
{
    mlp_error_set(MLP_EFORMAT, "bad magic");
    ck_assert_int_eq(mlp_error_prefix(MLP_EFORMAT, "model '%s'", "m.ckpt"),
                     MLP_EFORMAT);
    ck_assert_str_eq(mlp_error_message(), "model 'm.ckpt': bad magic");
    /* Twice: the context nests outward. */
    mlp_error_prefix(MLP_EFORMAT, "eval");
    ck_assert_str_eq(mlp_error_message(), "eval: model 'm.ckpt': bad magic");
    /* No message: the status's name stands in. */
    mlp_error_clear();
    ck_assert_int_eq(mlp_error_prefix(MLP_ENOMEM, "%s", "x"), MLP_ENOMEM);
    ck_assert_str_eq(mlp_error_message(), "x: out of memory");
}
END_TEST

START_TEST(test_own_message_as_argument)
{
    /* Formatting the message into itself is defined: set and prefix
     * format into a buffer of their own first. */
    mlp_error_set(MLP_EIO, "disk full");
    mlp_error_set(MLP_EIO, "%s; saved '%s'", mlp_error_message(), "a.ckpt");
    ck_assert_str_eq(mlp_error_message(), "disk full; saved 'a.ckpt'");
    mlp_error_prefix(MLP_EIO, "[%s]", mlp_error_message());
    ck_assert_str_eq(mlp_error_message(),
                     "[disk full; saved 'a.ckpt']: disk full; saved 'a.ckpt'");
}
END_TEST

START_TEST(test_save_restore)
{
    mlp_error_saved_t first;

    mlp_error_set(MLP_EDIVERGED, "epoch 3: the loss is not finite");
    mlp_error_save(&first);
    mlp_error_set(MLP_EIO, "cannot write the log");
    ck_assert_int_eq(mlp_error_restore(&first, MLP_EDIVERGED), MLP_EDIVERGED);
    ck_assert_str_eq(mlp_error_message(), "epoch 3: the loss is not finite");
    ck_assert_str_eq(first.msg, "epoch 3: the loss is not finite");
}
END_TEST

START_TEST(test_prefix_truncated)
{
    char big[3000];
    const char *m;

    memset(big, 'b', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    /* A long context: cut, still terminated. */
    mlp_error_set(MLP_EIO, "tail");
    mlp_error_prefix(MLP_EIO, "%s", big);
    m = mlp_error_message();
    ck_assert_uint_eq(strlen(m), MLP_ERROR_MAX - 1);
    ck_assert_int_eq(m[0], 'b');
    /* A long message after a short context: the context stays whole. */
    mlp_error_set(MLP_EIO, "%s", big);
    mlp_error_prefix(MLP_EIO, "ctx");
    m = mlp_error_message();
    ck_assert_uint_eq(strlen(m), MLP_ERROR_MAX - 1);
    ck_assert(strncmp(m, "ctx: bbb", 8) == 0);
}
END_TEST

static Suite *error_suite(void)
{
    Suite *s = suite_create("error");
    TCase *core = tu_tcase(s, "core", 0);
    TCase *limits = tu_tcase(s, "errors", 0);

    tcase_add_test(core, test_strerror);
    tcase_add_test(core, test_set_returns_status);
    tcase_add_test(core, test_thread_local);
    tcase_add_test(core, test_prefix);
    tcase_add_test(core, test_own_message_as_argument);
    tcase_add_test(core, test_save_restore);
    tcase_add_test(limits, test_prefix_truncated);
    tcase_add_test(limits, test_long_message_truncated);
    return s;
}

MLP_CHECK_MAIN(error_suite)
