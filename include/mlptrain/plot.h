/*
 * plot: draw pictures (PNG or SVG) with gnuplot (Debian's gnuplot-nox).
 *
 * mlp_plot_png() runs `gnuplot` (or $MLPTRAIN_GNUPLOT) with posix_spawnp,
 * its standard input a pipe carrying the script and its standard output
 * the temporary file of mlp_out_write() (`set output` with no name), so no
 * file name ever appears in a gnuplot program.  The picture replaces the
 * target only when gnuplot succeeded AND the file is a picture (non-empty,
 * PNG signature or SVG header): gnuplot exits 0 on a full disk.
 *
 * User text never goes into the program either: callers put data in
 * inline `$d << EOD` blocks and user strings (titles, labels, class names)
 * in a text block written by mlp_plot_texts(), read back as $T[i][2:],
 * drawn `noenhanced`.  Datablock lines are not evaluated by gnuplot (no
 * backquotes, no macros).  mlp_plot_quote() is the one quoting function
 * for a string literal, should one be needed.
 *
 * The format comes from the suffix: .png (pngcairo) or .svg (svg); any
 * other suffix is MLP_EUSAGE (mlp_plot_check, before any work).
 *
 * Errors: MLP_EUSAGE (suffix), MLP_EIO when gnuplot cannot be run or fails
 * (the message names the Debian package), or the picture is not written;
 * the old file is then kept.  Thread-safe but for SIGPIPE, ignored
 * process-wide while the script is written.
 */
#ifndef MLPTRAIN_PLOT_H
#define MLPTRAIN_PLOT_H

#include <stdio.h>

/* 0 if path may receive a picture: a .png or .svg name (MLP_EUSAGE else)
 * that mlp_out_check() accepts. */
int mlp_plot_check(const char *path);

/*
 * Draw `script` (gnuplot commands, without `set terminal`/`set output`)
 * into path (.png or .svg) at width x height pixels.
 */
int mlp_plot_png(const char *path, int width, int height,
                 const char *script);

/*
 * The datablock $name holding s[0..n) one per line, each prefixed by one
 * character (so no line reads "EOD"), control bytes and DEL made '?':
 * the script reads string i (0-based) as $name[i+1][2:].
 */
void mlp_plot_texts(FILE *f, const char *name, const char *const *s,
                    size_t n);

/*
 * s as a gnuplot double-quoted string literal in which only letters,
 * digits and " ,.:_-+/=()%#" stay as they are; every other byte
 * (quotes, backquote, backslash, '@', '$', '!', newline and control
 * bytes, non-ASCII) is an octal escape, so nothing in it is evaluated.
 */
void mlp_plot_quote(FILE *f, const char *s);

#endif
