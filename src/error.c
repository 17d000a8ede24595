/*
 * error: the status table and the thread-local message buffer.
 */
#include <stdarg.h>
#include <stdio.h>

#include "mlptrain/error.h"

#define MLP_ERRMSG_MAX 1024

static _Thread_local char errmsg[MLP_ERRMSG_MAX];

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
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(errmsg, sizeof(errmsg), fmt, ap);
    va_end(ap);
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
