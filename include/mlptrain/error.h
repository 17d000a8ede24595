/*
 * error: status codes and messages with context.
 *
 * Every library function returns an int status: 0 (MLP_OK) or a negative
 * MLP_E* code.  The function that fails first records a message with its
 * context (file, option, value) with mlp_error_set(); callers read it with
 * mlp_error_message().  The message buffer is thread-local, so a loader
 * thread's error does not clobber the trainer's; a module that hands an
 * error across threads copies the text (see loader.c).
 *
 * Non-goals: no exit(), no printing.  main.c turns a status into output.
 * Thread-safe.
 */
#ifndef MLPTRAIN_ERROR_H
#define MLPTRAIN_ERROR_H

#define MLP_ERRNO_MAP(X)                                   \
    X(OK, 0, "success")                                    \
    X(NOMEM, -1, "out of memory")                          \
    X(IO, -2, "input/output error")                        \
    X(FORMAT, -3, "malformed file")                        \
    X(INVAL, -4, "invalid argument")                       \
    X(DNNL, -5, "oneDNN error")                            \
    X(THREAD, -6, "thread error")                          \
    X(ABORTED, -7, "operation aborted")                    \
    X(DIVERGED, -8, "training diverged")                   \
    X(INTERRUPTED, -9, "interrupted")                      \
    X(NOSYS, -10, "not implemented")                       \
    X(RANGE, -11, "value out of range")                   \
    X(USAGE, -12, "bad usage")                             \
    X(BUSY, -13, "in use by another process")

enum {
#define MLP_ERR_ENUM(name, val, str) MLP_E##name = (val),
    MLP_ERRNO_MAP(MLP_ERR_ENUM)
#undef MLP_ERR_ENUM
};
#define MLP_OK MLP_EOK

/* Name of a status code ("out of memory"); never NULL. */
const char *mlp_strerror(int status);

/*
 * Record a message for this thread and return `status` unchanged, so that
 * `return mlp_error_set(MLP_EFORMAT, "%s: bad magic", path);` reads well.
 * The message is formatted printf-style; it replaces any earlier one.
 */
int mlp_error_set(int status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* This thread's last message, or mlp_strerror() of nothing ("" if none). */
const char *mlp_error_message(void);

/* Forget this thread's message. */
void mlp_error_clear(void);

/*
 * Add context in front of this thread's message and return `status`
 * unchanged: after a failing mlp_checkpoint_load(),
 * `return mlp_error_prefix(rc, "model '%s'", path);` turns "bad magic" into
 * "model 'm.ckpt': bad magic".  The result is "CONTEXT: MESSAGE", or
 * "CONTEXT: " followed by mlp_strerror(status) when there is no message;
 * cut to MLP_ERROR_MAX - 1 bytes like any message.
 */
int mlp_error_prefix(int status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Keep the first error across clean-up that may record others:
 *
 *     mlp_error_saved_t first;
 *     mlp_error_save(&first);
 *     rc2 = close_things();              (may overwrite the message)
 *     return mlp_error_restore(&first, rc);
 *
 * mlp_error_restore() puts the saved message back and returns `status`.
 * The saved copy is a plain value: it may be kept on the stack.
 */
#define MLP_ERROR_MAX 1024
typedef struct {
    char msg[MLP_ERROR_MAX];
} mlp_error_saved_t;

void mlp_error_save(mlp_error_saved_t *saved);
int mlp_error_restore(const mlp_error_saved_t *saved, int status);

#endif
