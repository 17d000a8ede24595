/*
 * outfile: every output through one door.
 *
 * Every file mlptrain writes (checkpoint, JSON-lines log, PNG/SVG picture,
 * results.csv, sweep files) is checked and written here:
 *
 * - mlp_out_check(): before any work, the target must be absent or a
 *   regular file and its directory writable; a symbolic link, device,
 *   FIFO, directory or socket is refused, naming the path.  A symbolic
 *   link at the final path is refused whatever it names (the rule for
 *   every output: checkpoints, logs, pictures, results.csv, exports, lock
 *   files): a link is never followed to write elsewhere, nor replaced by
 *   the atomic rename.  Links among the directories above the file are
 *   followed as usual.
 * - mlp_out_write(): whole or absent.  A temporary file is created beside
 *   the target (mkostemp, O_CLOEXEC, mode 0666 & ~umask), the caller fills
 *   it through its descriptor, then the write is checked (the fill
 *   callback's status, fsync, a non-empty size and the caller's validator,
 *   e.g. a PNG signature), renamed over the target and the directory is
 *   fsynced.  On any failure the temporary file is removed and the old
 *   target is kept.
 * - mlp_out_open_log(): an appended output (the --log), checked, opened
 *   without blocking, locked (below) and only then truncated if asked.
 * - mlp_out_no_alias(): outputs may not be inputs or other outputs; files
 *   compare by (st_dev, st_ino) after symlinks (an input may be one),
 *   absent ones by the real
 *   path of their directory plus their name.  A clash is MLP_EUSAGE naming
 *   both options.
 * - mlp_out_lock(): an exclusive, non-blocking flock, so that two
 *   processes never write one output: MLP_EBUSY names the path.
 *
 * Errors: MLP_EUSAGE (empty name, aliasing), MLP_EIO (a target that is not
 * a regular file; cannot create, write, validate or rename), MLP_EBUSY
 * (locked by another process), MLP_ENOMEM.  Thread-safe (the umask is read
 * once).
 */
#ifndef MLPTRAIN_OUTFILE_H
#define MLPTRAIN_OUTFILE_H

#include <stddef.h>
#include <sys/types.h>

/*
 * 0 when path may be written: absent (its directory exists and is
 * writable) or a regular file.  A symbolic link, directory, device, FIFO
 * or socket: MLP_EIO "cannot write 'x': it is a FIFO".  Empty:
 * MLP_EUSAGE.
 */
int mlp_out_check(const char *path);

/* What a stat's st_mode m is, for messages ("cannot write 'x': it is %s"):
 * "a FIFO", "a directory", "a symbolic link", ...  Never NULL. */
const char *mlp_out_kind(mode_t m);

/* mkdir -p: make dir and the missing directories above it, each with mode
 * 0777 & ~umask (one that exists is left as it is, whatever it is).
 * MLP_EIO "cannot make directory 'x': ..." naming the one that failed;
 * MLP_ENOMEM. */
int mlp_out_mkdirs(const char *dir);

/*
 * Fill the temporary file: write to fd (do not close it).  tmp is its name,
 * for messages.  Return 0 or a status (with its message set).
 */
typedef int (*mlp_out_fill_fn)(int fd, const char *tmp, void *arg);

/*
 * Check the filled temporary file (read it with pread; size > 0 is already
 * checked).  Return 0 or MLP_EIO with a message naming `path`, the target.
 */
typedef int (*mlp_out_valid_fn)(int fd, const char *path, void *arg);

/*
 * Write path atomically (see above).  valid may be NULL: then only the
 * size (> 0) is checked.
 */
int mlp_out_write(const char *path, mlp_out_fill_fn fill, void *arg,
                  mlp_out_valid_fn valid);

/* A validator's refusal: MLP_EIO "not writing 'path': the new file is not
 * `what` (a full disk?); the old one is kept", what e.g. "a PNG picture". */
int mlp_out_invalid(const char *path, const char *what);

/* Validators: a PNG signature; an SVG document (<?xml or <svg). */
int mlp_out_valid_png(int fd, const char *path, void *arg);
int mlp_out_valid_svg(int fd, const char *path, void *arg);

/*
 * Open path for appending (the --log), after mlp_out_check (and with
 * O_NOFOLLOW: a link made since is refused too); take its
 * exclusive lock (MLP_EBUSY when another process holds it); then, unless
 * append, truncate it.  *fd: O_WRONLY|O_APPEND|O_CLOEXEC; the lock lasts
 * while it is open.
 */
int mlp_out_open_log(const char *path, int append, int *fd);

/*
 * An exclusive non-blocking flock on path, created (0666 & ~umask) if
 * absent; regular files only (a symbolic link is refused, never followed
 * to create a file elsewhere).  *fd_out holds the lock until
 * mlp_out_unlock().  MLP_EBUSY: "'x' is in use by another mlptrain
 * process".  The file stays: use mlp_out_unlock_remove() for a sidecar
 * lock file that should go with the lock.
 */
int mlp_out_lock(const char *path, int *fd_out);

/* Release a lock of mlp_out_lock (fd < 0: nothing).  Never fails. */
void mlp_out_unlock(int fd);

/* Remove the lock file, then release the lock (see outfile.c). */
void mlp_out_unlock_remove(const char *path, int fd);

/*
 * The sidecar lock of an atomically replaced output (its inode changes at
 * every rename): "PATH.lock" into buf.  MLP_EUSAGE if it does not fit.
 */
int mlp_out_lock_name(const char *path, char *buf, size_t len);

/* One file of a command: an input or an output, and the option naming it. */
typedef struct {
    const char *path;    /* NULL or "": left out */
    const char *option;  /* "--log", "--data (train-images)" */
    int output;          /* 1: written by the command */
    const char *same_ok; /* the option this output may replace ("--resume"
                            for --save), or NULL */
} mlp_out_file_t;

/*
 * MLP_EUSAGE when an output is the same file as an input or another
 * output: "'--log' and '--resume' name the same file 'x'".
 */
int mlp_out_no_alias(const mlp_out_file_t *files, size_t n);

#endif
