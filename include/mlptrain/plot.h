/*
 * plot: draw PNG pictures with gnuplot (Debian's gnuplot-nox).
 *
 * mlp_plot_png() runs `gnuplot` (or $MLPTRAIN_GNUPLOT) on a script, with
 * the output set to a temporary PNG beside `png_path` that is renamed over
 * it only when gnuplot succeeded: a picture is never left half-written.
 * Data goes in the script itself (inline `$name << EOD` blocks) or in
 * files the caller writes.
 *
 * Errors: MLP_EIO when gnuplot cannot be run or fails (the message says so
 * and names the Debian package), or the PNG cannot be written.
 * Thread-safe; it forks a child process.
 */
#ifndef MLPTRAIN_PLOT_H
#define MLPTRAIN_PLOT_H

/*
 * Draw `script` (gnuplot commands, without `set terminal`/`set output`)
 * into png_path at width x height pixels.
 */
int mlp_plot_png(const char *png_path, int width, int height,
                 const char *script);

#endif
