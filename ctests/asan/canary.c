/*
 * The sanitizer canary for `make ctests-san`: proof that the runtime the
 * C tests are linked with reports what they are built to find. Each
 * argument picks one fault; the run must be reported and fail:
 *
 *   heap   a write one byte past a heap block (AddressSanitizer);
 *   int    a signed integer overflow (UBSan);
 *   leak   a block nothing refers to at exit (LeakSanitizer).
 *
 * Not a test of the shim: it does not link the shim's API.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *volatile kept;

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    if (strcmp(argv[1], "heap") == 0) {
        char *p = malloc(8);
        p[8 + (argc - 2)] = 1;
        free(p);
    } else if (strcmp(argv[1], "int") == 0) {
        volatile int x = INT_MAX;
        printf("%d\n", x + argc);
    } else if (strcmp(argv[1], "leak") == 0) {
        kept = malloc(64);
        kept = NULL;
    } else {
        return 2;
    }
    return 0;
}
