/*
 * dist_mpi: sums, messages and agreements across MPI ranks (see dist.h):
 * the MPI build's dist.  In a process mpirun did not start, every call is
 * the 1-rank case, as dist_none.c's.
 *
 * One process-wide state (MPI itself is process-wide): the rank, the size,
 * two private duplicates of MPI_COMM_WORLD (comm for the collectives and
 * the scheduler's messages, scomm for the step's exchanges: a thread may
 * exchange on scomm while nothing else runs on comm, and tags never meet),
 * the one exchange's requests, and scratch that grows to the largest call
 * and is kept (nothing allocated per step once the sizes are seen).
 *
 * Thread level: MPI_THREAD_SERIALIZED is asked (the step's communication
 * thread exchanges while the trainer's thread computes; they never call at
 * once: dist.h); MULTIPLE is not needed, and makes Open MPI lock every
 * call.  A library that gives only FUNNELED leaves mlp_dist_threads() 0.
 * Not thread-safe: one thread calls at a time.
 */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <time.h>
#include <unistd.h>

#include <mpi.h>

#include "mlptrain/clock.h"
#include "mlptrain/dist.h"
#include "mlptrain/error.h"
#include "mlptrain/fold.h"

/* Tags on comm; the exchanges' own tags are on scomm. */
enum { TAG_MSG = 3 };

static struct {
    int inited;           /* mlp_dist_init ran */
    int rank, size;       /* 0 and 1 in the 1-rank case */
    mlp_dist_stats_t st;
    int agreed, agreed_rc; /* mlp_dist_agree was taken; what it returned */
    int active;           /* MPI runs: comm and scomm are valid */
    int owner;            /* we called MPI_Init_thread: we finalize */
    int threads;          /* SERIALIZED or more was granted */
    int force_thread;     /* test hook: a thread even without a core */
    int cores;            /* the cores this rank may run on */
    int sharers;          /* the node's ranks that may run on one of them
                             (this one included) */
    MPI_Comm comm;        /* our duplicate of MPI_COMM_WORLD */
    MPI_Comm scomm;       /* another, for the step's exchanges */
    MPI_Request *req;     /* the exchange's requests: receives, sends */
    MPI_Status *stat;     /* and their statuses */
    size_t *want;         /* the bytes each receive expects */
    size_t nreq;          /* capacity of req, stat, want */
    size_t nrecv, nsend;  /* the exchange in flight (0, 0: none) */
    double t0;            /* when it was posted */
    double *rows;         /* gathered rows of mlp_dist_sum_ordered */
    size_t nrows;         /* capacity of rows, in doubles */
    int *counts, *displs; /* size entries each */
    int local;            /* ranks on this machine */
} g = {.size = 1};

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

/*
 * Which of the node's ranks share this rank's cores: each rank's CPU
 * affinity (whatever set it: mpirun's binding, taskset, a batch system's
 * cpuset) to every rank of the node, and the ranks whose set meets ours
 * counted.  For mlp_dist_comm_thread.
 */
static int share_cores(MPI_Comm node)
{
    cpu_set_t mine, *all;
    int n = g.local;

    CPU_ZERO(&mine);
    if (sched_getaffinity(0, sizeof(mine), &mine) != 0) {
        long online = sysconf(_SC_NPROCESSORS_ONLN);

        for (long c = 0; c < online && c < CPU_SETSIZE; c++)
            CPU_SET((int)c, &mine);
    }
    if ((all = calloc((size_t)n, sizeof(cpu_set_t))) == NULL)
        return mlp_error_set(MLP_ENOMEM, "MPI: out of memory");
    if (MPI_Allgather(&mine, (int)sizeof(mine), MPI_BYTE, all,
                      (int)sizeof(mine), MPI_BYTE, node) != MPI_SUCCESS) {
        free(all);
        return mlp_error_set(MLP_EIO, "MPI rank %d: MPI_Allgather of the "
                             "ranks' cores failed", g.rank);
    }
    g.cores = CPU_COUNT(&mine);
    g.sharers = 0;
    for (int q = 0; q < n; q++) {
        cpu_set_t both;

        CPU_AND(&both, &mine, &all[q]);
        g.sharers += CPU_COUNT(&both) > 0;
    }
    free(all);
    return 0;
}

int mlp_dist_init(int *argc, char ***argv)
{
    const char *env = getenv("OMPI_COMM_WORLD_SIZE");
    const char *test = getenv("MLPTRAIN_TEST_MPI_THREAD");
    int rc = 0, want = MPI_THREAD_SERIALIZED;

    if (g.inited)
        return 0;
    /* Test hooks: ask for FUNNELED, as a library that grants no more;
     * or start the step's thread where it has no core of its own. */
    if (test != NULL && strcmp(test, "funneled") == 0)
        want = MPI_THREAD_FUNNELED;
    g.force_thread = test != NULL && strcmp(test, "serialized") == 0;
    if (env != NULL) {
        int flag = 0, provided = 0;

        MPI_TRY(MPI_Initialized(&flag), "MPI_Initialized");
        if (!flag) {
            MPI_TRY(MPI_Init_thread(argc, argv, want, &provided),
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
        g.threads = provided >= MPI_THREAD_SERIALIZED &&
                    want >= MPI_THREAD_SERIALIZED;
        MPI_TRY(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN),
                "MPI_Comm_set_errhandler");
        MPI_TRY(MPI_Comm_dup(MPI_COMM_WORLD, &g.comm), "MPI_Comm_dup");
        g.active = 1;
        MPI_TRY(MPI_Comm_dup(MPI_COMM_WORLD, &g.scomm), "MPI_Comm_dup");
        g.active = 2;
        MPI_TRY(MPI_Comm_rank(g.comm, &g.rank), "MPI_Comm_rank");
        MPI_TRY(MPI_Comm_size(g.comm, &g.size), "MPI_Comm_size");
        {
            MPI_Comm node;

            MPI_TRY(MPI_Comm_split_type(g.comm, MPI_COMM_TYPE_SHARED, g.rank,
                                        MPI_INFO_NULL, &node),
                    "MPI_Comm_split_type");
            MPI_TRY(MPI_Comm_size(node, &g.local), "MPI_Comm_size");
            rc = share_cores(node);
            MPI_TRY(MPI_Comm_free(&node), "MPI_Comm_free");
        }
        if (rc < 0)
            goto out;
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
    g.inited = 1;
    return rc;
}

int mlp_dist_finalize(void)
{
    int rc = 0;

    if (g.active >= 2) {
        int e = MPI_Comm_free(&g.scomm);

        if (e != MPI_SUCCESS)
            rc = mpi_fail(e, "MPI_Comm_free");
    }
    if (g.active >= 1) {
        int e = MPI_Comm_free(&g.comm);

        if (e != MPI_SUCCESS && rc == 0)
            rc = mpi_fail(e, "MPI_Comm_free");
    }
    if (g.owner) {
        int e = MPI_Finalize();

        if (e != MPI_SUCCESS && rc == 0)
            rc = mpi_fail(e, "MPI_Finalize");
    }
    free(g.req);
    free(g.stat);
    free(g.want);
    free(g.rows);
    free(g.counts);
    free(g.displs);
    g.req = NULL;
    g.stat = NULL;
    g.want = NULL;
    g.rows = NULL;
    g.counts = g.displs = NULL;
    g.nreq = g.nrows = g.nrecv = g.nsend = 0;
    g.active = g.owner = g.threads = 0;
    g.local = g.cores = g.sharers = 0;
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
    return g.active > 0;
}

int mlp_dist_threads(void)
{
    return g.active ? g.threads : 1;
}

int mlp_dist_comm_thread(int compute_threads)
{
    if (!g.active)
        return 1;
    if (!g.threads)
        return 0;
    if (g.force_thread)
        return 1;
    return (long)g.sharers * (compute_threads + 1L) <= (long)g.cores;
}

void mlp_dist_stats(mlp_dist_stats_t *st)
{
    *st = g.st;
}

void mlp_dist_stats_reset(void)
{
    memset(&g.st, 0, sizeof(g.st));
}

/* ---- the exchange ---------------------------------------------------- */

/* Forget the exchange in flight after a failure: no request may point into
 * buffers the caller reuses. */
static void exchange_drop(void)
{
    size_t n = g.nrecv + g.nsend;

    for (size_t i = 0; i < n; i++)
        if (g.req[i] != MPI_REQUEST_NULL) {
            if (i < g.nrecv)
                MPI_Cancel(&g.req[i]);
            MPI_Request_free(&g.req[i]);
        }
    g.nrecv = g.nsend = 0;
}

/* Post one side's messages into g.req from index at; *posted counts them. */
static int exchange_post(const mlp_dist_msg_t *m, size_t n, int tag,
                         int recv, size_t *posted)
{
    int rc = 0;

    for (size_t i = 0; i < n; i++) {
        MPI_Request *r = &g.req[g.nrecv + g.nsend];

        if (m[i].bytes == 0)
            continue;
        if (m[i].peer < 0 || m[i].peer >= g.size || m[i].peer == g.rank ||
            m[i].bytes > INT_MAX)
            return mlp_error_set(MLP_EINVAL, "dist exchange: %zu bytes "
                                 "with rank %d of %d", m[i].bytes,
                                 m[i].peer, g.size);
        if (recv) {
            g.want[g.nrecv] = m[i].bytes;
            MPI_TRY(MPI_Irecv(m[i].buf, (int)m[i].bytes, MPI_BYTE,
                              m[i].peer, tag, g.scomm, r),
                    "MPI_Irecv");
            g.nrecv++;
            g.st.bytes_received += m[i].bytes;
        } else {
            MPI_TRY(MPI_Isend(m[i].buf, (int)m[i].bytes, MPI_BYTE,
                              m[i].peer, tag, g.scomm, r),
                    "MPI_Isend");
            g.nsend++;
            g.st.bytes_sent += m[i].bytes;
        }
        (*posted)++;
    }
out:
    return rc;
}

int mlp_dist_exchange_start(const mlp_dist_msg_t *sends, size_t ns,
                            const mlp_dist_msg_t *recvs, size_t nr,
                            int tag)
{
    size_t posted = 0;
    int rc;

    if (tag < 0 || tag >= MLP_DIST_TAGS || g.nrecv + g.nsend > 0)
        return mlp_error_set(MLP_EINVAL, "dist exchange: tag %d%s", tag,
                             g.nrecv + g.nsend > 0 ? ", one in flight" : "");
    if (!g.active || g.size < 2) {
        for (size_t i = 0; i < ns + nr; i++)
            if ((i < ns ? sends[i] : recvs[i - ns]).bytes > 0)
                return mlp_error_set(MLP_EINVAL, "dist exchange: a message "
                                     "with no other rank");
        g.st.calls++;
        return 0;
    }
    if (ns + nr > g.nreq) {
        size_t cap = g.nreq;

        /* the three arrays grow together: cap counts what all three hold */
        if ((rc = grow((void **)&g.req, &cap, ns + nr,
                       sizeof(MPI_Request))) < 0)
            return rc;
        cap = g.nreq;
        if ((rc = grow((void **)&g.stat, &cap, ns + nr,
                       sizeof(MPI_Status))) < 0)
            return rc;
        cap = g.nreq;
        if ((rc = grow((void **)&g.want, &cap, ns + nr, sizeof(size_t))) < 0)
            return rc;
        g.nreq = cap;
    }
    g.t0 = mlp_clock_now();
    /* Receives first: they may land while the sends go out. */
    if ((rc = exchange_post(recvs, nr, tag, 1, &posted)) < 0 ||
        (rc = exchange_post(sends, ns, tag, 0, &posted)) < 0) {
        exchange_drop();
        return rc;
    }
    g.st.calls++;
    return 0;
}

int mlp_dist_exchange_wait(const atomic_int *busy, const atomic_int *cancel)
{
    size_t n = g.nrecv + g.nsend;
    int rc = 0, done = 0;

    if (n == 0)
        return 0;
    for (;;) {
        MPI_TRY(MPI_Testall((int)n, g.req, &done, g.stat), "MPI_Testall");
        if (done)
            break;
        if (cancel != NULL && atomic_load(cancel)) {
            rc = mlp_error_set(MLP_EIO, "MPI rank %d: exchange cancelled",
                               g.rank);
            goto out;
        }
        if (busy != NULL && atomic_load_explicit(busy, memory_order_relaxed))
            nanosleep(&(struct timespec){0, MLP_DIST_POLL_NS}, NULL);
        else
            sched_yield(); /* a loader thread of ours may want the core */
    }
    for (size_t i = 0; i < g.nrecv; i++) {
        int got = 0;

        MPI_TRY(MPI_Get_count(&g.stat[i], MPI_BYTE, &got), "MPI_Get_count");
        if ((size_t)got != g.want[i]) {
            rc = mlp_error_set(MLP_EIO, "MPI rank %d: a message of %d bytes "
                               "from rank %d, %zu expected (do all ranks "
                               "make the same plan?)", g.rank, got,
                               g.stat[i].MPI_SOURCE, g.want[i]);
            goto out;
        }
    }
    g.nrecv = g.nsend = 0;
    g.st.seconds += mlp_clock_now() - g.t0;
    return 0;
out:
    exchange_drop();
    return rc;
}

/* v[0..n) of elements of `size` bytes reduced in place over the ranks by
 * op, in pieces an int can count: the one MPI_Allreduce of this file. */
static int allreduce(void *v, size_t n, size_t size, MPI_Datatype type,
                     MPI_Op op)
{
    int rc = 0;

    if (g.active && g.size > 1)
        for (size_t lo = 0; lo < n; lo += INT_MAX / 2) {
            size_t len = n - lo < INT_MAX / 2 ? n - lo : INT_MAX / 2;

            MPI_TRY(MPI_Allreduce(MPI_IN_PLACE, (char *)v + lo * size,
                                  (int)len, type, op, g.comm),
                    "MPI_Allreduce");
        }
out:
    return rc;
}

int mlp_dist_sum_unordered(float *v, size_t n)
{
    return allreduce(v, n, sizeof(*v), MPI_FLOAT, MPI_SUM);
}

int mlp_dist_sum_i64(int64_t *v, size_t n)
{
    return allreduce(v, n, sizeof(*v), MPI_INT64_T, MPI_SUM);
}

int mlp_dist_max_i64(int64_t *v, size_t n)
{
    return allreduce(v, n, sizeof(*v), MPI_INT64_T, MPI_MAX);
}

int mlp_dist_sum_ordered(double *out, const double *parts, size_t nparts,
                         size_t width)
{
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
        mlp_fold_rows(out, g.rows, width > 0 ? total / width : 0, width);
    out:
        return rc;
    }
    mlp_fold_rows(out, parts, nparts, width);
    return 0;
}

int mlp_dist_sum_rows(double *out, const double *row, size_t width)
{
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
        mlp_fold_rows(out, g.rows, (size_t)g.size, width);
    out:
        return rc;
    }
    mlp_fold_rows(out, row, 1, width);
    return 0;
}

int mlp_dist_sum_u64(uint64_t *v, size_t n)
{
    return allreduce(v, n, sizeof(*v), MPI_UINT64_T, MPI_SUM);
}

int mlp_dist_any(int flag, int *any)
{
    int f = flag != 0;

    if (g.active && g.size > 1) {
        int rc = 0;

        MPI_TRY(MPI_Allreduce(MPI_IN_PLACE, &f, 1, MPI_INT, MPI_LOR, g.comm),
                "MPI_Allreduce");
    out:
        *any = f != 0;
        return rc;
    }
    *any = f;
    return 0;
}

int mlp_dist_bcast(void *buf, size_t bytes, int root)
{
    if (root < 0 || root >= g.size)
        return mlp_error_set(MLP_EINVAL, "dist bcast: root %d of %d ranks",
                             root, g.size);
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
    (void)buf;
    (void)bytes;
    return 0;
}

int mlp_dist_send(int to, const void *buf, size_t bytes)
{
    if (to < 0 || to >= g.size || to == g.rank || bytes > MLP_DIST_MSG_MAX)
        return mlp_error_set(MLP_EINVAL, "dist send: %zu bytes to rank %d "
                             "of %d", bytes, to, g.size);
    if (g.active) {
        int rc = 0;

        MPI_TRY(MPI_Send(buf, (int)bytes, MPI_BYTE, to, TAG_MSG, g.comm),
                "MPI_Send");
    out:
        return rc;
    }
    (void)buf;
    return 0;
}

int mlp_dist_poll(void *buf, size_t cap, size_t *bytes, int *from, int *got)
{
    *got = 0;
    *bytes = 0;
    *from = -1;
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
    (void)buf;
    (void)cap;
    return 0;
}

int mlp_dist_local_size(void)
{
    if (g.active && g.local > 0)
        return g.local;
    return 1;
}

int mlp_dist_abort(int code)
{
    if (g.active) {
        int e = MPI_Abort(MPI_COMM_WORLD, code);

        return mpi_fail(e, "MPI_Abort");
    }
    (void)code;
    return 0;
}

/* ---- the agreement -------------------------------------------------- */

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

int mlp_dist_agree(int status, const char *record, size_t len)
{
    int rc = status, shared = 1;

    if (g.active && g.size > 1)
        rc = agree_ranks(status, record, len, &shared);
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
