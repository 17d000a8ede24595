/*
 * text: UTF-8 validation and the class-name rule (see text.h).
 *
 * Non-goals: normalising text (NFC), case folding, replacing bad bytes
 * (report.c does that for informational strings).
 */
#include <stdio.h>
#include <string.h>

#include "mlptrain/text.h"

size_t mlp_text_utf8_seq(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    if (p[0] < 0x80)
        return 1;
    if (p[0] >= 0xc2 && p[0] <= 0xdf)
        return (p[1] & 0xc0) == 0x80 ? 2 : 0;
    if (p[0] >= 0xe0 && p[0] <= 0xef) {
        if ((p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80 ||
            (p[0] == 0xe0 && p[1] < 0xa0) || /* overlong */
            (p[0] == 0xed && p[1] > 0x9f))   /* a surrogate */
            return 0;
        return 3;
    }
    if (p[0] >= 0xf0 && p[0] <= 0xf4) {
        if ((p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80 ||
            (p[3] & 0xc0) != 0x80 || (p[0] == 0xf0 && p[1] < 0x90) ||
            (p[0] == 0xf4 && p[1] > 0x8f))
            return 0;
        return 4;
    }
    return 0;
}

int mlp_text_is_utf8(const char *s)
{
    while (*s != '\0') {
        size_t k = mlp_text_utf8_seq(s);

        if (k == 0)
            return 0;
        s += k;
    }
    return 1;
}

int mlp_text_class_name(const char *s, char *why, size_t cap)
{
    size_t n = strlen(s);
    char tmp[80];

    if (why == NULL) {
        why = tmp;
        cap = sizeof(tmp);
    }
    if (n == 0) {
        snprintf(why, cap, "empty");
        return -1;
    }
    if (n > MLP_TEXT_NAME_MAX) {
        snprintf(why, cap, "%zu bytes long (at most %d)", n,
                 MLP_TEXT_NAME_MAX);
        return -1;
    }
    for (size_t i = 0; i < n;) {
        const unsigned char *p = (const unsigned char *)s + i;
        size_t k = mlp_text_utf8_seq(s + i);

        if (k == 0) {
            snprintf(why, cap, "not UTF-8 (byte 0x%02x at byte %zu)", p[0],
                     i);
            return -1;
        }
        /* C0 and DEL are one byte; the C1 controls are c2 80 to c2 9f. */
        if (p[0] < 0x20 || p[0] == 0x7f ||
            (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)) {
            snprintf(why, cap, "a control character (U+%04X) at byte %zu",
                     k == 1 ? p[0] : p[1], i);
            return -1;
        }
        i += k;
    }
    return 0;
}

char *mlp_text_escape(const char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;

    if (cap < 4) { /* no room for an escape and "..." */
        if (cap > 0)
            out[0] = '\0';
        return out;
    }
    for (size_t i = 0; n == (size_t)-1 ? s[i] != '\0' : i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char e[8];
        int k;

        if (c == '\\' || c == '\t' || c == '\n' || c == '\r')
            k = snprintf(e, sizeof(e), "\\%c", c == '\\' ? '\\'
                         : c == '\t' ? 't' : c == '\n' ? 'n' : 'r');
        else if (c < 0x20 || c >= 0x7f)
            k = snprintf(e, sizeof(e), "\\x%02x", c);
        else
            k = snprintf(e, sizeof(e), "%c", c);
        if (o + (size_t)k > cap - 4) { /* keep room for "..." and NUL */
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        memcpy(out + o, e, (size_t)k);
        o += (size_t)k;
    }
    out[o] = '\0';
    return out;
}
