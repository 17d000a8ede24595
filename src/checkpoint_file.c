/*
 * checkpoint_file: checkpoints as files (see checkpoint.h): the check that
 * a path can take one, the atomic save (checkpoint.c's staging writer on
 * the descriptor of outfile.h's temporary file) and the load, which reads
 * the header first and then exactly the bytes it promises, at most
 * MLP_CHECKPOINT_MAX_BYTES, before checkpoint.c parses them.
 *
 * Non-goals: the format, its fields and checks (checkpoint.c, through
 * checkpoint_internal.h), talking to the net (checkpoint_net.c), when to
 * save (the trainer).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include "mlptrain/checkpoint.h"
#include "mlptrain/error.h"
#include "mlptrain/infile.h"
#include "mlptrain/outfile.h"
#include "checkpoint_internal.h"

/* The output door (outfile.h) checks the target (absent or a regular
 * file: never rename over a device, think `--save /dev/null` as root),
 * writes a temporary file beside it, fsyncs, renames, fsyncs the
 * directory, and keeps the old file on any failure. */
int mlp_checkpoint_check_writable(const char *path)
{
    if (path == NULL || path[0] == '\0')
        return mlp_error_set(MLP_EINVAL, "checkpoint: empty file name");
    return mlp_out_check(path);
}

typedef struct {
    const mlp_checkpoint_t *ck;
    uint8_t *stage;
} save_t;

static int save_fill(int fd, const char *tmp, void *arg)
{
    save_t *s = arg;
    writer_t w;

    memset(&w, 0, sizeof(w));
    w.fd = fd;
    w.path = tmp;
    w.stage = s->stage;
    w.crc = (uint32_t)crc32_z(0L, Z_NULL, 0);
    return mlp_ck_write_all(&w, s->ck, MLP_CHECKPOINT_VERSION);
}

int mlp_checkpoint_save(const char *path, const mlp_checkpoint_t *ck)
{
    save_t s;
    int rc;

    if ((rc = mlp_checkpoint_check_writable(path)) < 0)
        return rc;
    if ((rc = mlp_ck_check_encodable(ck, MLP_CHECKPOINT_VERSION, path)) < 0)
        return rc;
    s.ck = ck;
    if ((s.stage = malloc(CK_STAGE)) == NULL)
        return mlp_error_set(MLP_ENOMEM, "out of memory");
    rc = mlp_out_write(path, save_fill, &s, NULL);
    free(s.stage);
    return rc;
}

/*
 * The header first: its shape must be sane and give the parameter count the
 * header states, the file must be exactly as long as the header says, and
 * at most MLP_CHECKPOINT_MAX_BYTES; only then is the body read, into a
 * buffer of exactly that size.  A header we do not know is handed to
 * mlp_checkpoint_parse alone, which names the problem.  Only regular files
 * are opened (infile.h): a FIFO or /dev/zero is refused at once.
 */
int mlp_checkpoint_load(const char *path, mlp_checkpoint_t *ck)
{
    uint8_t head[OFF_OPTIONS + 4], extra;
    uint8_t *buf = NULL;
    uint64_t size, file_bytes, np, ns, no = 0;
    uint32_t version;
    size_t got, first, more, min;
    int fd = -1, rc;

    memset(ck, 0, sizeof(*ck));
    if ((rc = mlp_infile_open(path, &fd, &size)) < 0)
        return rc;
    if ((rc = mlp_infile_read(fd, path, head, sizeof(head), &got)) < 0)
        goto out;
    first = got;
    if (got < 8 || memcmp(head, MLP_CHECKPOINT_MAGIC, 8) != 0 ||
        mlp_ck_check_version(head, got, path, &version) < 0) {
        /* The whole file, or enough of it to name what is wrong. */
        rc = mlp_checkpoint_parse(head, got, path, ck);
        goto out;
    }
    min = header_size(version) + 4;
    file_bytes = get_u64(head + OFF_FILE_BYTES);
    np = get_u64(head + OFF_NPARAMS);
    ns = get_u64(head + OFF_NSTATE);
    if (version >= 2 &&
        (no = get_u64(head + OFF_OPTIONS_BYTES)) > MLP_CHECKPOINT_MAX_OPTIONS) {
        /* said from the header, not by parsing the head alone (which would
         * call the file truncated) */
        rc = mlp_error_set(MLP_EFORMAT,
                           "%s: %llu bytes of options text; a checkpoint "
                           "holds at most %d",
                           path, (unsigned long long)no,
                           MLP_CHECKPOINT_MAX_OPTIONS);
        goto out;
    }
    if (file_bytes > MLP_CHECKPOINT_MAX_BYTES) {
        rc = mlp_error_set(MLP_EFORMAT,
                           "%s: the header says %llu bytes; a checkpoint is "
                           "at most %llu bytes",
                           path, (unsigned long long)file_bytes,
                           (unsigned long long)MLP_CHECKPOINT_MAX_BYTES);
        goto out;
    }
    if (size != file_bytes) {
        rc = size < file_bytes
                 ? mlp_error_set(MLP_EFORMAT,
                                 "%s: truncated: %llu bytes, the header says "
                                 "%llu",
                                 path, (unsigned long long)size,
                                 (unsigned long long)file_bytes)
                 : mlp_error_set(MLP_EFORMAT,
                                 "%s: %llu bytes of trailing data: the "
                                 "header says %llu bytes",
                                 path,
                                 (unsigned long long)(size - file_bytes),
                                 (unsigned long long)file_bytes);
        goto out;
    }
    {
        /* The shape bounds the parameter count (check_fields checks the
         * rest once the file is read). */
        mlp_checkpoint_t sh;
        uint64_t want;

        memset(&sh, 0, sizeof(sh));
        sh.in = get_u32(head + OFF_IN);
        sh.out = get_u32(head + OFF_OUT);
        sh.nhidden = get_u32(head + OFF_NHIDDEN);
        if (sh.nhidden > MLP_MAX_HIDDEN || sh.in > CK_MAX_WIDTH ||
            sh.out > CK_MAX_WIDTH) {
            rc = mlp_error_set(MLP_EFORMAT,
                               "%s: a model of %zu inputs, %zu hidden "
                               "layers and %zu classes is outside the "
                               "format's limits",
                               path, sh.in, sh.nhidden, sh.out);
            goto out;
        }
        for (size_t i = 0; i < sh.nhidden; i++)
            if ((sh.hidden[i] = get_u32(head + OFF_HIDDEN + 4 * i)) >
                CK_MAX_WIDTH) {
                rc = mlp_error_set(MLP_EFORMAT,
                                   "%s: hidden layer %zu has width %zu, "
                                   "above %llu",
                                   path, i + 1, sh.hidden[i],
                                   (unsigned long long)CK_MAX_WIDTH);
                goto out;
            }
        want = mlp_ck_shape_nparams(&sh);
        if (np != want || (ns != 0 && ns != np && ns != 2 * np) ||
            (version < 3 && min + no + 4 * (np + ns) != file_bytes) ||
            (version >= 3 && (min + no + 4 * (np + ns) > file_bytes ||
                              file_bytes - (min + no + 4 * (np + ns)) >
                                  8 + 8 * sh.in +
                                      MLP_CHECKPOINT_NAME_BYTES *
                                          (uint64_t)sh.out))) {
            rc = mlp_error_set(MLP_EFORMAT,
                               "%s: %llu parameters and %llu state values "
                               "in %llu bytes do not fit the shape's %llu "
                               "parameters",
                               path, (unsigned long long)np,
                               (unsigned long long)ns,
                               (unsigned long long)file_bytes,
                               (unsigned long long)want);
            goto out;
        }
    }
    if (size >= SIZE_MAX || (buf = malloc((size_t)size)) == NULL) {
        rc = mlp_error_set(MLP_ENOMEM, "%s: out of memory for %llu bytes",
                           path, (unsigned long long)size);
        goto out;
    }
    /* the head read may hold more than the header: all of it is kept */
    if (first > size) {
        rc = mlp_error_set(MLP_EIO, "cannot read '%s': it changed while it "
                           "was read", path);
        goto out;
    }
    memcpy(buf, head, first);
    if ((rc = mlp_infile_read(fd, path, buf + first, (size_t)size - first,
                              &got)) < 0 ||
        (rc = mlp_infile_read(fd, path, &extra, 1, &more)) < 0)
        goto out;
    if (got != (size_t)size - first || more != 0) {
        rc = mlp_error_set(MLP_EIO, "cannot read '%s': it changed while it "
                           "was read", path);
        goto out;
    }
    rc = mlp_checkpoint_parse(buf, (size_t)size, path, ck);
out:
    if (fd >= 0)
        close(fd);
    free(buf);
    return rc;
}
