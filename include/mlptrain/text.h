/*
 * text: the rules for text that mlptrain keeps and writes back out --
 * UTF-8 validation, and the one rule for a class name.
 *
 * A class name enters from three places: a CSV label cell (csv.c), a
 * checkpoint (checkpoint_input.c) and --class-names (eval.c).  Each
 * checks it here, so that every later use can take it as it is: the
 * checkpoint stores it, the log, eval --json and predict --json write it
 * through jansson (which refuses invalid UTF-8), export writes it into
 * ONNX metadata and a NumPy '<U' array, and the terminal shows it.  The
 * rule: 1 to MLP_TEXT_NAME_MAX bytes of valid UTF-8 (no overlong forms,
 * no surrogates) with no control character (U+0000-U+001F, U+007F and the
 * C1 controls U+0080-U+009F).
 *
 * mlp_text_escape makes any bytes safe to show in a message (printable
 * ASCII with \t, \n, \r, \\ and \xNN escapes), for naming bad text.
 *
 * Pure functions; thread-safe; no allocation.  Needs nothing but libc
 * (the fuzz drivers link it).
 */
#ifndef MLPTRAIN_TEXT_H
#define MLPTRAIN_TEXT_H

#include <stddef.h>

/* The longest class name in bytes (a checkpoint stores 64 with the NUL). */
#define MLP_TEXT_NAME_MAX 63

/*
 * The length (1 to 4) of the valid UTF-8 sequence at the start of the
 * NUL-terminated string p, or 0 when it is not one (a NUL stops it).
 */
size_t mlp_text_utf8_seq(const char *p);

/* 1 when the NUL-terminated s is valid UTF-8 throughout. */
int mlp_text_is_utf8(const char *s);

/*
 * 0 when s is a usable class name (the rule above); else -1, and `why`
 * (when not NULL) gets the reason with the byte offset, e.g. "a control
 * character (U+0009) at byte 3" or "not UTF-8 (byte 0xe9 at byte 4)".
 */
int mlp_text_class_name(const char *s, char *why, size_t cap);

/*
 * s (its first n bytes; n = (size_t)-1: up to its NUL) as printable ASCII
 * into out (cap bytes, NUL-terminated, cut with "..." when it does not
 * fit).  Returns out.
 */
char *mlp_text_escape(const char *s, size_t n, char *out, size_t cap);

#endif
