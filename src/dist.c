/*
 * dist: sums and agreements across MPI ranks (see dist.h), and the 1-rank
 * case without MPI.
 *
 * One process-wide state (MPI itself is process-wide): the rank, the size,
 * a private duplicate of MPI_COMM_WORLD (so the chain's messages never
 * meet anyone else's), and scratch that grows to the largest call and is
 * kept (nothing allocated per step once the sizes are seen).
 *
 * The chain of mlp_dist_fold, per chunk c of the vector: rank 0 folds its
 * parts; rank r > 0 waits for chunk c from rank r - 1 (all its receives
 * are posted up front, so they land while it works), folds its parts into
 * it, and sends it on to rank r + 1 without waiting (MPI_Isend), then
 * goes on to chunk c + 1.  A running sum of no part yet (rank 0 with no
 * micro-batch, ...) travels as an empty message tagged TAG_EMPTY, so the
 * first rank with a part starts from its first part (acc_in 0) as one
 * process would: starting from 0.0f would turn a -0.0f into +0.0f.
 * Messages between two ranks on one communicator arrive in order, which
 * matches chunk c to receive c.  The last rank's total goes to everyone
 * by MPI_Bcast (copies: exact).  Not thread-safe: one thread calls.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "mlptrain/clock.h"
#include "mlptrain/dist.h"
#include "mlptrain/error.h"
#include "mlptrain/fold.h"

#ifdef HAVE_MPI
#include <mpi.h>

enum { TAG_SUM = 1, TAG_EMPTY = 2, TAG_MSG = 3 };
#endif

static struct {
    int inited;           /* mlp_dist_init ran */
    int rank, size;       /* 0 and 1 in the 1-rank case */
    size_t chunk;         /* floats per chain message; 0: auto */
    mlp_dist_stats_t st;
    int agreed, agreed_rc; /* mlp_dist_agree was taken; what it returned */
#ifdef HAVE_MPI
    int active;           /* MPI runs: comm is valid */
    int owner;            /* we called MPI_Init_thread: we finalize */
    MPI_Comm comm;        /* our duplicate of MPI_COMM_WORLD */
    MPI_Request *req;     /* chain requests: receives, then sends */
    size_t nreq;          /* capacity of req */
    double *rows;         /* gathered rows of mlp_dist_sum_ordered */
    size_t nrows;         /* capacity of rows, in doubles */
    int *counts, *displs; /* size entries each */
    int local;            /* ranks on this machine */
#endif
} g = {.size = 1};

/* The left fold of nrows rows of width doubles into out (zeros if none). */
static void fold_rows(double *out, const double *rows, size_t nrows,
                      size_t width)
{
    for (size_t w = 0; w < width; w++) {
        double acc = nrows > 0 ? rows[w] : 0.0;

        for (size_t r = 1; r < nrows; r++)
            acc += rows[r * width + w];
        out[w] = acc;
    }
}

#ifdef HAVE_MPI
/* MLP_EIO with the MPI library's text for error code err. */
static int mpi_fail(int err, const char *what)
{
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;

    if (MPI_Error_string(err, text, &len) != MPI_SUCCESS)
        len = 0;
    text[len < MPI_MAX_ERROR_STRING ? len : MPI_MAX_ERROR_STRING - 1] = 0;
    return mlp_error_set(MLP_EIO, "MPI rank %d of %d: %s: %s", g.rank,
                         g.size, what, len > 0 ? text : "unknown error");
}

#define MPI_TRY(call, what)                 \
    do {                                    \
        int e_ = (call);                    \
        if (e_ != MPI_SUCCESS) {            \
            rc = mpi_fail(e_, what);        \
            goto out;                       \
        }                                   \
    } while (0)

/* Grow *buf to n elements of size sz (kept across calls). */
static int grow(void **buf, size_t *cap, size_t n, size_t sz)
{
    void *p;

    if (n <= *cap)
        return 0;
    if (n > SIZE_MAX / sz || (p = realloc(*buf, n * sz)) == NULL)
        return mlp_error_set(MLP_ENOMEM, "dist: %zu buffers of %zu bytes", n,
                             sz);
    *buf = p;
    *cap = n;
    return 0;
}
#endif

int mlp_dist_init(int *argc, char ***argv)
{
    const char *env = getenv("OMPI_COMM_WORLD_SIZE");
    int rc = 0;

    if (g.inited)
        return 0;
#ifdef HAVE_MPI
    if (env != NULL) {
        int flag = 0, provided = 0;

        MPI_TRY(MPI_Initialized(&flag), "MPI_Initialized");
        if (!flag) {
            MPI_TRY(MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED,
                                    &provided),
                    "MPI_Init_thread");
            g.owner = 1;
        } else {
            MPI_TRY(MPI_Query_thread(&provided), "MPI_Query_thread");
        }
        if (provided < MPI_THREAD_FUNNELED) {
            rc = mlp_error_set(MLP_ENOSYS,
                               "MPI gives thread level %d, less than "
                               "MPI_THREAD_FUNNELED (%d) which mlptrain needs",
                               provided, MPI_THREAD_FUNNELED);
            goto out;
        }
        MPI_TRY(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN),
                "MPI_Comm_set_errhandler");
        MPI_TRY(MPI_Comm_dup(MPI_COMM_WORLD, &g.comm), "MPI_Comm_dup");
        g.active = 1;
        MPI_TRY(MPI_Comm_rank(g.comm, &g.rank), "MPI_Comm_rank");
        MPI_TRY(MPI_Comm_size(g.comm, &g.size), "MPI_Comm_size");
        {
            MPI_Comm node;

            MPI_TRY(MPI_Comm_split_type(g.comm, MPI_COMM_TYPE_SHARED, g.rank,
                                        MPI_INFO_NULL, &node),
                    "MPI_Comm_split_type");
            MPI_TRY(MPI_Comm_size(node, &g.local), "MPI_Comm_size");
            MPI_TRY(MPI_Comm_free(&node), "MPI_Comm_free");
        }
        rc = grow((void **)&g.counts, &(size_t){0}, (size_t)g.size,
                  sizeof(int));
        if (rc == 0)
            rc = grow((void **)&g.displs, &(size_t){0}, (size_t)g.size,
                      sizeof(int));
    }
out:
    if (rc < 0) {
        mlp_error_saved_t first;

        mlp_error_save(&first);
        mlp_dist_finalize();
        return mlp_error_restore(&first, rc);
    }
#else
    (void)argc;
    (void)argv;
    if (env != NULL && atoi(env) > 1)
        return mlp_error_set(MLP_ENOSYS,
                             "mpirun started %s ranks, but this mlptrain "
                             "was built without MPI (each rank would train "
                             "alone): install the Debian packages "
                             "libopenmpi-dev openmpi-bin and rebuild "
                             "(./configure --with-mpi)",
                             env);
#endif
    g.inited = 1;
    return rc;
}

int mlp_dist_finalize(void)
{
    int rc = 0;

#ifdef HAVE_MPI
    if (g.active) {
        int e = MPI_Comm_free(&g.comm);

        if (e != MPI_SUCCESS)
            rc = mpi_fail(e, "MPI_Comm_free");
    }
    if (g.owner) {
        int e = MPI_Finalize();

        if (e != MPI_SUCCESS && rc == 0)
            rc = mpi_fail(e, "MPI_Finalize");
    }
    free(g.req);
    free(g.rows);
    free(g.counts);
    free(g.displs);
    g.req = NULL;
    g.rows = NULL;
    g.counts = g.displs = NULL;
    g.nreq = g.nrows = 0;
    g.active = g.owner = 0;
    g.local = 0;
#endif
    g.inited = 0;
    g.rank = 0;
    g.size = 1;
    g.agreed = g.agreed_rc = 0;
    return rc;
}

int mlp_dist_rank(void)
{
    return g.rank;
}

int mlp_dist_size(void)
{
    return g.size;
}

int mlp_dist_active(void)
{
#ifdef HAVE_MPI
    return g.active;
#else
    return 0;
#endif
}

void mlp_dist_set_chunk(size_t floats)
{
    g.chunk = floats > INT_MAX / 2 ? INT_MAX / 2 : floats;
}

size_t mlp_dist_chunk(size_t n, int nranks)
{
    size_t c = n / (2 * (size_t)(nranks > 0 ? nranks : 1));

    if (g.chunk > 0)
        return g.chunk;
    return c < MLP_DIST_CHUNK_MIN ? MLP_DIST_CHUNK_MIN
           : c > MLP_DIST_CHUNK_MAX ? MLP_DIST_CHUNK_MAX
                                    : c;
}

void mlp_dist_stats(mlp_dist_stats_t *st)
{
    *st = g.st;
}

void mlp_dist_stats_reset(void)
{
    memset(&g.st, 0, sizeof(g.st));
}

#ifdef HAVE_MPI
/* The chain (see the top of this file) and the broadcast of the total. */
static int fold_chain(float *out, const float *const *parts, size_t nparts,
                      size_t n)
{
    size_t chunk = mlp_dist_chunk(n, g.size);
    size_t nch = (n + chunk - 1) / chunk;
    MPI_Request *rreq, *sreq;
    int rc = 0, first = g.rank == 0, last = g.rank == g.size - 1;
    int nrecv = 0, nsend = 0;

    if ((rc = grow((void **)&g.req, &g.nreq, 2 * nch, sizeof(MPI_Request))) <
        0)
        return rc;
    rreq = g.req;
    sreq = g.req + nch;
    if (!first)
        for (size_t c = 0; c < nch; c++, nrecv++) {
            size_t lo = c * chunk, len = n - lo < chunk ? n - lo : chunk;

            MPI_TRY(MPI_Irecv(out + lo, (int)len, MPI_FLOAT, g.rank - 1,
                              MPI_ANY_TAG, g.comm, &rreq[c]),
                    "MPI_Irecv");
        }
    for (size_t c = 0; c < nch; c++) {
        size_t lo = c * chunk, len = n - lo < chunk ? n - lo : chunk;
        int empty = 1; /* the running sum holds no part yet */

        if (!first) {
            MPI_Status s;
            int got = 0;

            MPI_TRY(MPI_Wait(&rreq[c], &s), "MPI_Wait (chain receive)");
            MPI_TRY(MPI_Get_count(&s, MPI_FLOAT, &got), "MPI_Get_count");
            empty = s.MPI_TAG == TAG_EMPTY;
            if (got != (empty ? 0 : (int)len)) {
                rc = mlp_error_set(MLP_EIO,
                                   "MPI rank %d: chain chunk %zu: %d floats "
                                   "from rank %d, expected %zu (do all ranks "
                                   "pass the same n?)",
                                   g.rank, c, got, g.rank - 1,
                                   empty ? (size_t)0 : len);
                goto out;
            }
            g.st.bytes_received += (uint64_t)got * sizeof(float);
        }
        if (nparts > 0) {
            mlp_fold(out, !empty, parts, nparts, lo, lo + len);
            empty = 0;
        }
        if (!last) {
            MPI_TRY(MPI_Isend(out + lo, empty ? 0 : (int)len, MPI_FLOAT,
                              g.rank + 1, empty ? TAG_EMPTY : TAG_SUM, g.comm,
                              &sreq[c]),
                    "MPI_Isend");
            nsend++;
            g.st.bytes_sent += empty ? 0 : (uint64_t)len * sizeof(float);
        } else if (empty) {
            memset(out + lo, 0, len * sizeof(float));
        }
    }
    MPI_TRY(MPI_Waitall(nsend, sreq, MPI_STATUSES_IGNORE), "MPI_Waitall");
    nsend = 0;
    for (size_t lo = 0; lo < n; lo += INT_MAX / 2) {
        size_t len = n - lo < INT_MAX / 2 ? n - lo : INT_MAX / 2;

        MPI_TRY(MPI_Bcast(out + lo, (int)len, MPI_FLOAT, g.size - 1, g.comm),
                "MPI_Bcast");
    }
    if (last)
        g.st.bytes_sent += (uint64_t)n * sizeof(float);
    else
        g.st.bytes_received += (uint64_t)n * sizeof(float);
    return 0;
out:
    /* The job cannot go on after a failed collective; leave no request
     * pointing into out. */
    for (int c = 0; c < nrecv; c++)
        if (rreq[c] != MPI_REQUEST_NULL) {
            MPI_Cancel(&rreq[c]);
            MPI_Request_free(&rreq[c]);
        }
    for (int c = 0; c < nsend; c++)
        if (sreq[c] != MPI_REQUEST_NULL)
            MPI_Request_free(&sreq[c]);
    return rc;
}
#endif

int mlp_dist_fold(float *out, const float *const *parts, size_t nparts,
                  size_t n)
{
    double t0 = mlp_clock_now();
    int rc = 0;

    if (n > 0 && out == NULL)
        return mlp_error_set(MLP_EINVAL, "dist fold: no output buffer");
#ifdef HAVE_MPI
    if (g.active && g.size > 1)
        rc = fold_chain(out, parts, nparts, n);
    else
#endif
        if (nparts > 0)
            mlp_fold(out, 0, parts, nparts, 0, n);
        else if (n > 0)
            memset(out, 0, n * sizeof(float));
    g.st.calls++;
    g.st.seconds += mlp_clock_now() - t0;
    return rc;
}

int mlp_dist_sum_unordered(float *v, size_t n)
{
#ifdef HAVE_MPI
    if (g.active && g.size > 1) {
        int rc = 0;

        for (size_t lo = 0; lo < n; lo += INT_MAX / 2) {
            size_t len = n - lo < INT_MAX / 2 ? n - lo : INT_MAX / 2;

            MPI_TRY(MPI_Allreduce(MPI_IN_PLACE, v + lo, (int)len, MPI_FLOAT,
                                  MPI_SUM, g.comm),
                    "MPI_Allreduce");
        }
    out:
        return rc;
    }
#endif
    (void)v;
    (void)n;
    return 0;
}

int mlp_dist_sum_ordered(double *out, const double *parts, size_t nparts,
                         size_t width)
{
#ifdef HAVE_MPI
    if (g.active && g.size > 1) {
        size_t total = 0, mine = nparts * width;
        int rc = 0, cnt;

        if (width != 0 && (mine / width != nparts || mine > INT_MAX))
            return mlp_error_set(MLP_ERANGE, "dist sum: %zu rows of %zu",
                                 nparts, width);
        cnt = (int)mine;
        MPI_TRY(MPI_Allgather(&cnt, 1, MPI_INT, g.counts, 1, MPI_INT, g.comm),
                "MPI_Allgather");
        for (int r = 0; r < g.size; r++) {
            if (total > (size_t)INT_MAX - (size_t)g.counts[r])
                return mlp_error_set(MLP_ERANGE, "dist sum: too many rows");
            g.displs[r] = (int)total;
            total += (size_t)g.counts[r];
        }
        if ((rc = grow((void **)&g.rows, &g.nrows, total > 0 ? total : 1,
                       sizeof(double))) < 0)
            return rc;
        MPI_TRY(MPI_Allgatherv(parts, cnt, MPI_DOUBLE, g.rows, g.counts,
                               g.displs, MPI_DOUBLE, g.comm),
                "MPI_Allgatherv");
        fold_rows(out, g.rows, width > 0 ? total / width : 0, width);
    out:
        return rc;
    }
#endif
    fold_rows(out, parts, nparts, width);
    return 0;
}

int mlp_dist_sum_rows(double *out, const double *row, size_t width)
{
#ifdef HAVE_MPI
    if (g.active && g.size > 1) {
        size_t total = width * (size_t)g.size;
        int rc = 0;

        if (width > INT_MAX || total / (size_t)g.size != width ||
            total > INT_MAX)
            return mlp_error_set(MLP_ERANGE, "dist sum: a row of %zu",
                                 width);
        if ((rc = grow((void **)&g.rows, &g.nrows, total > 0 ? total : 1,
                       sizeof(double))) < 0)
            return rc;
        MPI_TRY(MPI_Allgather(row, (int)width, MPI_DOUBLE, g.rows,
                              (int)width, MPI_DOUBLE, g.comm),
                "MPI_Allgather");
        fold_rows(out, g.rows, (size_t)g.size, width);
    out:
        return rc;
    }
#endif
    fold_rows(out, row, 1, width);
    return 0;
}

int mlp_dist_sum_u64(uint64_t *v, size_t n)
{
#ifdef HAVE_MPI
    if (g.active && g.size > 1) {
        int rc = 0;

        if (n > INT_MAX)
            return mlp_error_set(MLP_ERANGE, "dist sum: %zu counts", n);
        MPI_TRY(MPI_Allreduce(MPI_IN_PLACE, v, (int)n, MPI_UINT64_T, MPI_SUM,
                              g.comm),
                "MPI_Allreduce");
    out:
        return rc;
    }
#endif
    (void)v;
    (void)n;
    return 0;
}

int mlp_dist_any(int flag, int *any)
{
    int f = flag != 0;

#ifdef HAVE_MPI
    if (g.active && g.size > 1) {
        int rc = 0;

        MPI_TRY(MPI_Allreduce(MPI_IN_PLACE, &f, 1, MPI_INT, MPI_LOR, g.comm),
                "MPI_Allreduce");
    out:
        *any = f != 0;
        return rc;
    }
#endif
    *any = f;
    return 0;
}

int mlp_dist_bcast(void *buf, size_t bytes, int root)
{
    if (root < 0 || root >= g.size)
        return mlp_error_set(MLP_EINVAL, "dist bcast: root %d of %d ranks",
                             root, g.size);
#ifdef HAVE_MPI
    if (g.active && g.size > 1) {
        int rc = 0;

        for (size_t lo = 0; lo < bytes; lo += INT_MAX / 2) {
            size_t len = bytes - lo < INT_MAX / 2 ? bytes - lo : INT_MAX / 2;

            MPI_TRY(MPI_Bcast((char *)buf + lo, (int)len, MPI_BYTE, root,
                              g.comm),
                    "MPI_Bcast");
        }
    out:
        return rc;
    }
#endif
    (void)buf;
    (void)bytes;
    return 0;
}

int mlp_dist_send(int to, const void *buf, size_t bytes)
{
    if (to < 0 || to >= g.size || to == g.rank || bytes > MLP_DIST_MSG_MAX)
        return mlp_error_set(MLP_EINVAL, "dist send: %zu bytes to rank %d "
                             "of %d", bytes, to, g.size);
#ifdef HAVE_MPI
    if (g.active) {
        int rc = 0;

        MPI_TRY(MPI_Send(buf, (int)bytes, MPI_BYTE, to, TAG_MSG, g.comm),
                "MPI_Send");
    out:
        return rc;
    }
#endif
    (void)buf;
    return 0;
}

int mlp_dist_poll(void *buf, size_t cap, size_t *bytes, int *from, int *got)
{
    *got = 0;
    *bytes = 0;
    *from = -1;
#ifdef HAVE_MPI
    if (g.active && g.size > 1) {
        MPI_Status st;
        int rc = 0, flag = 0, n = 0;

        MPI_TRY(MPI_Iprobe(MPI_ANY_SOURCE, TAG_MSG, g.comm, &flag, &st),
                "MPI_Iprobe");
        if (!flag)
            return 0;
        MPI_TRY(MPI_Get_count(&st, MPI_BYTE, &n), "MPI_Get_count");
        if (n < 0 || (size_t)n > cap) {
            rc = mlp_error_set(MLP_EIO, "MPI rank %d: a message of %d bytes "
                               "from rank %d, more than %zu", g.rank, n,
                               st.MPI_SOURCE, cap);
            goto out;
        }
        MPI_TRY(MPI_Recv(buf, n, MPI_BYTE, st.MPI_SOURCE, TAG_MSG, g.comm,
                         MPI_STATUS_IGNORE),
                "MPI_Recv");
        *got = 1;
        *bytes = (size_t)n;
        *from = st.MPI_SOURCE;
    out:
        return rc;
    }
#endif
    (void)buf;
    (void)cap;
    return 0;
}

int mlp_dist_local_size(void)
{
#ifdef HAVE_MPI
    if (g.active && g.local > 0)
        return g.local;
#endif
    return 1;
}

int mlp_dist_abort(int code)
{
#ifdef HAVE_MPI
    if (g.active) {
        int e = MPI_Abort(MPI_COMM_WORLD, code);

        return mpi_fail(e, "MPI_Abort");
    }
#endif
    (void)code;
    return 0;
}

/* ---- the agreement -------------------------------------------------- */

#ifdef HAVE_MPI
/* One rank's verdict, as gathered. */
typedef struct {
    int32_t status;
    char msg[MLP_ERROR_MAX];
} verdict_t;

/* The length of the line at p (up to '\n' or end). */
static size_t line_len(const char *p, const char *end)
{
    const char *nl = memchr(p, '\n', (size_t)(end - p));

    return (size_t)((nl != NULL ? nl : end) - p);
}

/* At most 300 bytes of a value in a message. */
static int cut(size_t n)
{
    return (int)(n > 300 ? 300 : n);
}

/*
 * Compare record `mine` with rank 0's: 0 when equal, else the status of
 * the first difference (MLP_EUSAGE for an "option " line, MLP_EINVAL
 * else), with its words in msg.
 */
static int compare_records(const char *mine, size_t n, const char *theirs,
                           size_t n0, int rank, char *msg, size_t len)
{
    const char *a = mine, *ea = mine + n, *b = theirs, *eb = theirs + n0;

    while (a < ea || b < eb) {
        size_t la = a < ea ? line_len(a, ea) : 0;
        size_t lb = b < eb ? line_len(b, eb) : 0;
        const char *qa, *qb;
        size_t ka, kb;

        if (a < ea && b < eb && la == lb && memcmp(a, b, la) == 0) {
            a += la + 1;
            b += lb + 1;
            continue;
        }
        qa = a < ea ? memchr(a, '=', la) : NULL;
        qb = b < eb ? memchr(b, '=', lb) : NULL;
        ka = qa != NULL ? (size_t)(qa - a) : la;
        kb = qb != NULL ? (size_t)(qb - b) : lb;
        if (qa != NULL && qb != NULL && ka == kb && memcmp(a, b, ka) == 0)
            snprintf(msg, len, "rank %d disagrees with rank 0: %.*s is %.*s "
                     "on rank %d and %.*s on rank 0", rank, cut(ka), a,
                     cut(la - ka - 1), qa + 1, rank, cut(lb - kb - 1),
                     qb + 1);
        else
            snprintf(msg, len, "rank %d disagrees with rank 0: it has '%.*s' "
                     "where rank 0 has '%.*s'", rank, cut(la),
                     a < ea ? a : "", cut(lb), b < eb ? b : "");
        return (a < ea && strncmp(a, "option ", 7) == 0) ||
                       (b < eb && strncmp(b, "option ", 7) == 0)
                   ? MLP_EUSAGE
                   : MLP_EINVAL;
    }
    return 0;
}

/* The R-rank agreement (dist.h); *shared: the result is every rank's. */
static int agree_ranks(int status, const char *record, size_t len,
                       int *shared)
{
    verdict_t *all = NULL, *mine = NULL;
    struct {
        uint64_t len;
        int32_t status, pad;
    } head;
    char *rec0 = NULL;
    int rc = 0, first = -1, ntrain = 0, other = -1;

    *shared = 0;
    memset(&head, 0, sizeof(head));
    head.status = status;
    head.len = g.rank == 0 && status == 0 ? len : 0;
    MPI_TRY(MPI_Bcast(&head, sizeof(head), MPI_BYTE, 0, g.comm),
            "MPI_Bcast (the ranks' agreement)");
    /* the buffers first: a rank that cannot take part stops the job */
    if ((rec0 = malloc(head.len + 1)) == NULL ||
        (mine = calloc(1, sizeof(*mine))) == NULL ||
        (all = malloc((size_t)g.size * sizeof(*all))) == NULL) {
        rc = mlp_error_set(MLP_ENOMEM, "rank %d: out of memory for the "
                           "ranks' agreement", g.rank);
        goto out;
    }
    if (g.rank == 0 && head.len > 0)
        memcpy(rec0, record, head.len);
    if (head.len > 0 && (rc = mlp_dist_bcast(rec0, head.len, 0)) < 0)
        goto out;
    mine->status = status;
    if (status < 0)
        snprintf(mine->msg, sizeof(mine->msg), "%s", mlp_error_message());
    else if (status == 0 && head.status == 0 && g.rank > 0)
        mine->status = compare_records(record, len, rec0, head.len, g.rank,
                                       mine->msg, sizeof(mine->msg));
    MPI_TRY(MPI_Allgather(mine, sizeof(*mine), MPI_BYTE, all, sizeof(*mine),
                          MPI_BYTE, g.comm),
            "MPI_Allgather (the ranks' agreement)");
    *shared = 1;
    for (int r = 0; r < g.size; r++) {
        if (all[r].status < 0 && first < 0)
            first = r;
        if (all[r].status == 0)
            ntrain++;
        else if (all[r].status > 0 && other < 0)
            other = r;
    }
    all[first >= 0 ? first : 0].msg[MLP_ERROR_MAX - 1] = '\0';
    if (first >= 0 && (first == g.rank ||
                       strncmp(all[first].msg, "rank ", 5) == 0))
        rc = mlp_error_set(all[first].status, "%s", all[first].msg);
    else if (first >= 0)
        rc = mlp_error_set(all[first].status, "rank %d: %s", first,
                           all[first].msg);
    else if (ntrain > 0 && other >= 0)
        rc = mlp_error_set(MLP_EUSAGE, "rank %d ends without training "
                           "(--help or --version) while %d other%s train",
                           other, ntrain, ntrain == 1 ? "" : "s");
    else
        rc = ntrain > 0 ? 0 : MLP_DIST_NOT_TRAINING;
out:
    free(all);
    free(mine);
    free(rec0);
    return rc;
}
#endif

int mlp_dist_agree(int status, const char *record, size_t len)
{
    int rc = status, shared = 1;

#ifdef HAVE_MPI
    if (g.active && g.size > 1)
        rc = agree_ranks(status, record, len, &shared);
#else
    (void)record;
    (void)len;
#endif
    g.agreed = 1;
    /* a failure of the agreement itself is this rank's alone */
    g.agreed_rc = shared ? rc : 0;
    return rc;
}

int mlp_dist_agreed(int *agreed)
{
    if (agreed != NULL)
        *agreed = g.agreed_rc;
    return g.agreed;
}

int mlp_dist_launched(int *rank, int *size)
{
    const char *r = getenv("OMPI_COMM_WORLD_RANK");
    const char *n = getenv("OMPI_COMM_WORLD_SIZE");
    char *end;
    long v;

    *rank = 0;
    *size = 1;
    if (n == NULL)
        return 0;
    v = strtol(n, &end, 10);
    if (*n == '\0' || *end != '\0' || v < 1 || v > INT32_MAX)
        return 0;
    *size = (int)v;
    v = r != NULL ? strtol(r, &end, 10) : 0;
    if (r != NULL && (*r == '\0' || *end != '\0' || v < 0 || v >= *size))
        v = 0;
    *rank = (int)v;
    return 1;
}
