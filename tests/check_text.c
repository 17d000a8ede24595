/*
 * Unit tests of text: UTF-8 sequences, the class-name rule (each reason
 * a name is refused, with its byte offset) and the escaping of bad text
 * for messages.
 */
#include <check.h>
#include <string.h>

#include "check_main.h"
#include "mlptrain/text.h"
#include "testutil.h"

START_TEST(test_utf8)
{
    ck_assert_uint_eq(mlp_text_utf8_seq("a"), 1);
    ck_assert_uint_eq(mlp_text_utf8_seq("\xc3\xa9"), 2);       /* e acute */
    ck_assert_uint_eq(mlp_text_utf8_seq("\xe6\x97\xa5"), 3);   /* sun */
    ck_assert_uint_eq(mlp_text_utf8_seq("\xf0\x9f\x98\x80"), 4);
    ck_assert_uint_eq(mlp_text_utf8_seq("\xc3"), 0);           /* cut */
    ck_assert_uint_eq(mlp_text_utf8_seq("\xc0\xaf"), 0);       /* overlong */
    ck_assert_uint_eq(mlp_text_utf8_seq("\xe0\x80\xaf"), 0);   /* overlong */
    ck_assert_uint_eq(mlp_text_utf8_seq("\xed\xa0\x80"), 0);   /* surrogate */
    ck_assert_uint_eq(mlp_text_utf8_seq("\xf4\x90\x80\x80"), 0); /* > U+10FFFF */
    ck_assert_uint_eq(mlp_text_utf8_seq("\xff"), 0);
    ck_assert_int_eq(mlp_text_is_utf8("caf\xc3\xa9 \xe6\x97\xa5"), 1);
    ck_assert_int_eq(mlp_text_is_utf8("caf\xe9"), 0);
    ck_assert_int_eq(mlp_text_is_utf8(""), 1);
}
END_TEST

START_TEST(test_class_names)
{
    static const char *const ok[] = {
        "circle", "ankle boot", "caf\xc3\xa9", "\xe6\x97\xa5\xe6\x9c\xac",
        "a,b \"q\"", "0", "\xc2\xa0nbsp",
        "123456789012345678901234567890123456789012345678901234567890123",
    };
    static const struct {
        const char *name, *why;
    } bad[] = {
        {"", "empty"},
        {"1234567890123456789012345678901234567890123456789012345678901234",
         "64 bytes long (at most 63)"},
        {"a\tb", "a control character (U+0009) at byte 1"},
        {"a\nb", "a control character (U+000A) at byte 1"},
        {"\r", "a control character (U+000D) at byte 0"},
        {"ab\x7f", "a control character (U+007F) at byte 2"},
        {"x\xc2\x85", "a control character (U+0085) at byte 1"},
        {"x\xc2\x9f", "a control character (U+009F) at byte 1"},
        {"caf\xe9", "not UTF-8 (byte 0xe9 at byte 3)"},
        {"\xed\xa0\x80", "not UTF-8 (byte 0xed at byte 0)"},
        {"ok\xc3", "not UTF-8 (byte 0xc3 at byte 2)"},
    };
    char why[80];

    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        ck_assert_msg(mlp_text_class_name(ok[i], why, sizeof(why)) == 0,
                      "'%s' refused: %s", ok[i], why);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_int_eq(mlp_text_class_name(bad[i].name, why, sizeof(why)),
                         -1);
        ck_assert_str_eq(why, bad[i].why);
        ck_assert_int_eq(mlp_text_class_name(bad[i].name, NULL, 0), -1);
    }
}
END_TEST

START_TEST(test_escape)
{
    char out[16], big[32];

    ck_assert_str_eq(mlp_text_escape("a\tb\\\x1b[\xff", (size_t)-1, big,
                                     sizeof(big)), "a\\tb\\\\\\x1b[\\xff");
    /* n bytes, a NUL among them */
    ck_assert_str_eq(mlp_text_escape("a\0b", 3, out, sizeof(out)),
                     "a\\x00b");
    /* cut with "..." within cap */
    ck_assert_str_eq(mlp_text_escape("abcdefghijklmnopqrstuvwxyz",
                                     (size_t)-1, out, sizeof(out)),
                     "abcdefghijkl...");
    ck_assert_uint_lt(strlen(mlp_text_escape("\x01\x01\x01\x01\x01",
                                             (size_t)-1, out, 12)), 12);
    ck_assert_str_eq(mlp_text_escape("abc", (size_t)-1, out, 3), "");
}
END_TEST

static Suite *text_suite(void)
{
    Suite *s = suite_create("text");
    TCase *core = tu_tcase(s, "core", 0);
    TCase *errors = tu_tcase(s, "errors", 0);

    tcase_add_test(core, test_utf8);
    tcase_add_test(core, test_escape);
    tcase_add_test(errors, test_class_names);
    return s;
}

MLP_CHECK_MAIN(text_suite)
