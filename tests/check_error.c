/*
 * Tests of error: the status table and per-thread messages.
 */
#include <pthread.h>
#include <string.h>

#include "check_main.h"
#include "mlptrain/error.h"

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

static Suite *error_suite(void)
{
    Suite *s = suite_create("error");
    TCase *core = tcase_create("core");
    TCase *limits = tcase_create("errors");

    tcase_add_test(core, test_strerror);
    tcase_add_test(core, test_set_returns_status);
    tcase_add_test(core, test_thread_local);
    tcase_add_test(limits, test_long_message_truncated);
    suite_add_tcase(s, core);
    suite_add_tcase(s, limits);
    return s;
}

MLP_CHECK_MAIN(error_suite)
