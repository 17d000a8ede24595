/*
 * mkdata: write a small learnable IDX dataset for the end-to-end tests.
 *
 *   mkdata DIR NTRAIN NTEST ROWS COLS CLASSES [gz|plain]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

int main(int argc, char **argv)
{
    if (argc < 7 || argc > 8) {
        fprintf(stderr, "usage: mkdata DIR NTRAIN NTEST ROWS COLS CLASSES "
                        "[gz|plain]\n");
        return 2;
    }
    if (tu_make_dataset(argv[1], strtoul(argv[2], NULL, 10),
                        strtoul(argv[3], NULL, 10), strtoul(argv[4], NULL, 10),
                        strtoul(argv[5], NULL, 10), strtoul(argv[6], NULL, 10),
                        7, argc == 8 && strcmp(argv[7], "plain") == 0 ? 0 : 1)
        != 0) {
        fprintf(stderr, "mkdata: cannot write the dataset in '%s'\n", argv[1]);
        return 1;
    }
    return 0;
}
