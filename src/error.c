/*
 * error: the status table and the thread-local message buffer.
 *
 * Every function here formats into a separate buffer first and then copies,
 * so a message may take this thread's current message as an argument.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mlptrain/error.h"

static _Thread_local char errmsg[MLP_ERROR_MAX];

const char *mlp_strerror(int status)
{
    switch (status) {
#define MLP_ERR_CASE(name, val, str) \
    case (val):                      \
        return (str);
        MLP_ERRNO_MAP(MLP_ERR_CASE)
#undef MLP_ERR_CASE
    default:
        return "unknown error";
    }
}

int mlp_error_set(int status, const char *fmt, ...)
{
    char buf[MLP_ERROR_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    memcpy(errmsg, buf, strlen(buf) + 1);
    return status;
}

/* Append s to the string of *len bytes in buf[MLP_ERROR_MAX], cut to fit. */
static void append(char *buf, size_t *len, const char *s)
{
    size_t k = strlen(s);

    if (k > MLP_ERROR_MAX - 1 - *len)
        k = MLP_ERROR_MAX - 1 - *len;
    memcpy(buf + *len, s, k);
    *len += k;
    buf[*len] = '\0';
}

int mlp_error_prefix(int status, const char *fmt, ...)
{
    char buf[MLP_ERROR_MAX];
    va_list ap;
    size_t len;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    len = strlen(buf);
    append(buf, &len, ": ");
    append(buf, &len, errmsg[0] != '\0' ? errmsg : mlp_strerror(status));
    memcpy(errmsg, buf, len + 1);
    return status;
}

const char *mlp_error_message(void)
{
    return errmsg;
}

void mlp_error_clear(void)
{
    errmsg[0] = '\0';
}

void mlp_error_save(mlp_error_saved_t *saved)
{
    memcpy(saved->msg, errmsg, sizeof(saved->msg));
}

int mlp_error_restore(const mlp_error_saved_t *saved, int status)
{
    memcpy(errmsg, saved->msg, sizeof(errmsg));
    return status;
}
