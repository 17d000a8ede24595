/*
 * infile: the one door for the files mlptrain reads: every data file of
 * every format (through input.h), checkpoints, a sweep's journal.
 *
 * mlp_infile_open() opens with O_NONBLOCK, so that opening a FIFO never
 * blocks, checks with fstat that the file is a regular file, and only then
 * clears O_NONBLOCK.  Anything else is refused naming the file and what it
 * is: "'x' is a FIFO, not a regular file".  /dev/zero, a terminal or a pipe
 * can therefore never make a read grow without bound or block forever.
 *
 * Every read is bounded by the caller: mlp_infile_read_all() refuses a file
 * larger than the maximum the format allows, naming the limit, before it
 * allocates anything.
 *
 * Errors: MLP_EIO (open, read, not a regular file), MLP_EFORMAT (a file
 * larger than the caller's maximum), MLP_ENOMEM; the message names the file.
 * Thread-safe (no shared state).
 */
#ifndef MLPTRAIN_INFILE_H
#define MLPTRAIN_INFILE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Open `path` for reading (close-on-exec).  On success *fd is a blocking
 * descriptor of a regular file and *size its size in bytes.  On failure *fd
 * is -1: MLP_EIO "cannot open 'x': ..." or "'x' is a FIFO, not a regular
 * file" (a directory, a character device, a block device, a socket).
 */
int mlp_infile_open(const char *path, int *fd, uint64_t *size);

/*
 * Read up to n bytes from fd into buf, retrying after EINTR and short
 * reads; *got < n only at the end of the file.  MLP_EIO naming `path`.
 */
int mlp_infile_read(int fd, const char *path, void *buf, size_t n,
                    size_t *got);

/*
 * Read the whole of `path` into a new malloc'd buffer (*buf, *len; *buf is
 * non-NULL even for an empty file).  A file of more than `max` bytes is
 * refused before anything is allocated: MLP_EFORMAT "'x' is N bytes; a
 * WHAT is at most MAX bytes" (`what` names the format, e.g. "checkpoint").
 * A file that grows while it is read is an error too.
 */
int mlp_infile_read_all(const char *path, uint64_t max, const char *what,
                        uint8_t **buf, size_t *len);

#endif
