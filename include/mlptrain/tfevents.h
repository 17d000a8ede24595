/*
 * tfevents: TensorBoard event files (`--tensorboard DIR`).
 *
 * A writer makes DIR if missing, creates one new file in it,
 * DIR/events.out.tfevents.<secs>.<host>.<pid>, and appends records to it:
 * first an Event with file_version "brain.Event:2", then one Event per
 * call of mlp_tfevents_scalars (wall time, step, a Summary of tagged
 * simple_value floats).  The messages are proto/tfevent.proto's (a
 * wire-compatible subset of TensorFlow's event.proto and summary.proto),
 * packed by protobuf-c.
 *
 * The file is a sequence of TFRecords, little-endian:
 *     uint64  length of data
 *     uint32  masked CRC-32C of the 8 length bytes
 *     byte    data[length]           (one packed tensorflow.Event)
 *     uint32  masked CRC-32C of data
 * where masked(c) = ((c >> 15) | (c << 17)) + 0xa282ead8 (mod 2^32) and
 * CRC-32C is Castagnoli's (reflected polynomial 0x82F63B78).
 *
 * One file per writer, never appended to by another: a resumed run (or
 * any later run) writes a new file beside the old ones.  TensorBoard reads
 * a directory's event files in name order as one run, and a value at a
 * step it has already seen replaces that series' values from that step on;
 * with the epoch as the step, a resumed run continues the series, and an
 * epoch run again (the killed run got past its last checkpoint) replaces
 * the earlier one.  So that name order is start order, the <secs> of a new
 * name (10 digits) is the wall clock's, or one more than the newest event
 * file already in DIR when that one is not older (a clock set back; two
 * runs in one second).  <host> is the host name with every byte outside
 * [A-Za-z0-9._-] made '_'.
 *
 * Whole records only: each record is framed in memory and written with one
 * pwrite at the end of the last whole record.  A process killed at any
 * point leaves a file of whole records.  A write that fails or is short (a
 * full disk, a file size limit) is cut off again (ftruncate to the last
 * whole record) and is an error; if even the cut fails, the message says
 * the file ends in a partial record.
 *
 * Durability: the new file and its directory entry are fsynced once the
 * first record is written, and the file again when it is closed (where a
 * late write error shows); records in between are not fsynced (one per
 * epoch would put a disk flush on the training thread).  A killed process
 * loses nothing written; a machine that crashes may lose the last records
 * (a reader then stops at the first record that is torn or fails its CRC,
 * as TensorBoard does).
 *
 * The directory: DIR and its missing parents are made with mode
 * 0777 & ~umask; DIR must then be a directory (a symlink to one is
 * followed, as for every output; see outfile.h) that this process may
 * write.  The writer holds an exclusive flock on DIR while it is open, so
 * two runs never write one series (MLP_EBUSY).  The file is created with
 * O_EXCL relative to the locked directory: nothing that exists is ever
 * replaced or followed.
 *
 * Errors: MLP_EUSAGE (empty DIR), MLP_EIO (DIR is not a directory or
 * cannot be made, searched or written; a write, cut, sync or close
 * failed), MLP_EBUSY (DIR is locked by another writer), MLP_ENOMEM.
 * Messages name DIR or the file.  Nothing here prints.
 *
 * Threads: a writer is used by one thread at a time; the functions on
 * distinct writers and the pure functions are thread-safe.
 */
#ifndef MLPTRAIN_TFEVENTS_H
#define MLPTRAIN_TFEVENTS_H

#include <stddef.h>
#include <stdint.h>

/* Bytes a record adds to its data: length, its CRC, the data's CRC. */
#define MLP_TFRECORD_OVERHEAD 16

/* The file_version of the first record. */
#define MLP_TFEVENTS_VERSION "brain.Event:2"

/* One scalar of a step: a tag ("loss/train") and its value. */
typedef struct {
    const char *tag;
    double value;          /* written as a float (simple_value) */
} mlp_tfevents_scalar_t;

typedef struct mlp_tfevents mlp_tfevents_t;

/* ---- pure functions (for the writer and its tests) ---------------------- */

/*
 * CRC-32C of n bytes, continuing crc (0 to start): crc32c(0, "123456789",
 * 9) is 0xE3069283; crc32c(crc32c(0, a, k), a + k, n - k) is crc32c(0, a,
 * n).
 */
uint32_t mlp_crc32c(uint32_t crc, const void *buf, size_t n);

/* TFRecord's masked CRC: ((crc >> 15) | (crc << 17)) + 0xa282ead8. */
uint32_t mlp_tfrecord_mask(uint32_t crc);

/* Frame n data bytes as a TFRecord into out (n + MLP_TFRECORD_OVERHEAD
 * bytes; out and data do not overlap). */
void mlp_tfrecord_frame(unsigned char *out, const void *data, size_t n);

/*
 * One framed record of an Event: wall_time, step and either file_version
 * (not NULL: the version record; then the scalars are ignored) or a
 * Summary of the n scalars (a value that is not finite is left out;
 * simple_value is (float)value).  *rec is malloc'd (free it), *len its
 * size.  MLP_ENOMEM, or MLP_EUSAGE for a NULL or empty tag.
 */
int mlp_tfevents_encode(double wall_time, int64_t step,
                        const char *file_version,
                        const mlp_tfevents_scalar_t *v, size_t n,
                        unsigned char **rec, size_t *len);

/* ---- the writer --------------------------------------------------------- */

/*
 * Before any work: 0 when a writer could open dir, as far as can be known
 * without making anything: dir is a writable directory, or missing with
 * its nearest existing ancestor a writable directory.  Otherwise the error
 * mlp_tfevents_open would give (a file, a dangling symlink, a device: "it
 * is a regular file"; no search or write permission).
 */
int mlp_tfevents_check_dir(const char *dir);

/*
 * Make dir (and missing parents), lock it, create the new event file and
 * write the version record (wall time now), synced with its directory
 * entry.  *w is NULL on failure; nothing is left behind but the
 * directories made (and, if the first write failed, an empty file:
 * removed).
 */
int mlp_tfevents_open(const char *dir, mlp_tfevents_t **w);

/* Append one Event: wall time now, step, the n scalars (see encode). */
int mlp_tfevents_scalars(mlp_tfevents_t *w, int64_t step,
                         const mlp_tfevents_scalar_t *v, size_t n);

/* The file's path ("DIR/events.out.tfevents...."). */
const char *mlp_tfevents_path(const mlp_tfevents_t *w);

/* Bytes of whole records in the file so far. */
uint64_t mlp_tfevents_size(const mlp_tfevents_t *w);

/*
 * Sync and close the file, release the lock, free w.  NULL: nothing, 0.
 * MLP_EIO when the sync or close fails (the message names the file); w is
 * freed either way.
 */
int mlp_tfevents_close(mlp_tfevents_t *w);

#endif
