/*
 * dist_env: what mpirun says in the environment before MPI starts
 * (dist.h: mlp_dist_launched), for both builds of dist (dist_mpi.c and
 * dist_none.c): a build without MPI must still see that mpirun started it
 * as several ranks, to refuse.
 */
#include <stdint.h>
#include <stdlib.h>

#include "mlptrain/dist.h"

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
