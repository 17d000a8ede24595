/*
 * dist_none: the 1-rank case of every call of dist.h, for a build without
 * MPI (configure --without-mpi, or no mpicc); dist_mpi.c is the other
 * build's.  The sums are the one rank's own values, the agreement is the
 * rank's own status, and there is no other rank to send to.  A process
 * that mpirun started as one of several ranks refuses to run: each would
 * train alone and write the same files.
 */
#include <stdlib.h>
#include <string.h>

#include "mlptrain/dist.h"
#include "mlptrain/error.h"
#include "mlptrain/fold.h"

static struct {
    int inited;
    int agreed, agreed_rc; /* mlp_dist_agree was taken; what it returned */
    mlp_dist_stats_t st;
} g;

int mlp_dist_init(int *argc, char ***argv)
{
    const char *env = getenv("OMPI_COMM_WORLD_SIZE");

    (void)argc;
    (void)argv;
    if (g.inited)
        return 0;
    if (env != NULL && atoi(env) > 1)
        return mlp_error_set(MLP_ENOSYS,
                             "mpirun started %s ranks, but this mlptrain "
                             "was built without MPI (each rank would train "
                             "alone): install the Debian packages "
                             "libopenmpi-dev openmpi-bin and rebuild "
                             "(./configure --with-mpi)",
                             env);
    g.inited = 1;
    return 0;
}

int mlp_dist_finalize(void)
{
    memset(&g, 0, sizeof(g));
    return 0;
}

int mlp_dist_rank(void)
{
    return 0;
}

int mlp_dist_size(void)
{
    return 1;
}

int mlp_dist_active(void)
{
    return 0;
}

int mlp_dist_threads(void)
{
    return 1;
}

int mlp_dist_comm_thread(int compute_threads)
{
    (void)compute_threads;
    return 1;
}

int mlp_dist_exchange_start(const mlp_dist_msg_t *sends, size_t ns,
                            const mlp_dist_msg_t *recvs, size_t nr,
                            int tag)
{
    if (tag < 0 || tag >= MLP_DIST_TAGS)
        return mlp_error_set(MLP_EINVAL, "dist exchange: tag %d", tag);
    for (size_t i = 0; i < ns + nr; i++)
        if ((i < ns ? sends[i] : recvs[i - ns]).bytes > 0)
            return mlp_error_set(MLP_EINVAL, "dist exchange: a message with "
                                 "no other rank");
    g.st.calls++;
    return 0;
}

int mlp_dist_exchange_wait(const atomic_int *busy, const atomic_int *cancel)
{
    (void)busy;
    (void)cancel;
    return 0;
}

int mlp_dist_sum_unordered(float *v, size_t n)
{
    (void)v;
    (void)n;
    return 0;
}

int mlp_dist_sum_i64(int64_t *v, size_t n)
{
    (void)v;
    (void)n;
    return 0;
}

int mlp_dist_max_i64(int64_t *v, size_t n)
{
    (void)v;
    (void)n;
    return 0;
}

int mlp_dist_sum_ordered(double *out, const double *parts, size_t nparts,
                         size_t width)
{
    mlp_fold_rows(out, parts, nparts, width);
    return 0;
}

int mlp_dist_sum_rows(double *out, const double *row, size_t width)
{
    mlp_fold_rows(out, row, 1, width);
    return 0;
}

int mlp_dist_sum_u64(uint64_t *v, size_t n)
{
    (void)v;
    (void)n;
    return 0;
}

int mlp_dist_any(int flag, int *any)
{
    *any = flag != 0;
    return 0;
}

int mlp_dist_bcast(void *buf, size_t bytes, int root)
{
    (void)buf;
    (void)bytes;
    if (root != 0)
        return mlp_error_set(MLP_EINVAL, "dist bcast: root %d of 1 ranks",
                             root);
    return 0;
}

int mlp_dist_agree(int status, const char *record, size_t len)
{
    (void)record;
    (void)len;
    g.agreed = 1;
    g.agreed_rc = status;
    return status;
}

int mlp_dist_agreed(int *agreed)
{
    if (agreed != NULL)
        *agreed = g.agreed_rc;
    return g.agreed;
}

int mlp_dist_abort(int code)
{
    (void)code;
    return 0;
}

int mlp_dist_send(int to, const void *buf, size_t bytes)
{
    (void)buf;
    return mlp_error_set(MLP_EINVAL, "dist send: %zu bytes to rank %d of 1",
                         bytes, to);
}

int mlp_dist_poll(void *buf, size_t cap, size_t *bytes, int *from, int *got)
{
    (void)buf;
    (void)cap;
    *got = 0;
    *bytes = 0;
    *from = -1;
    return 0;
}

int mlp_dist_local_size(void)
{
    return 1;
}

void mlp_dist_stats(mlp_dist_stats_t *st)
{
    *st = g.st;
}

void mlp_dist_stats_reset(void)
{
    memset(&g.st, 0, sizeof(g.st));
}
