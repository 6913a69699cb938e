/*
 * Test harness part of the interposition tests (not part of the program
 * under test): at exit, prints the counters of the layers below the program,
 * so the Makefile can compare them with what the program says it made.
 *
 *   standin: call=N callex=N recv=N recvex=N reply=N   (stand-in libkos)
 *   shim: call=N callex=N recv=N recvex=N reply=N reentrant=N
 *
 * The shim line comes from the statistics' global counters
 * (kos_shim_stats_global: calls that passed the pipeline, per operation, and
 * re-entrant pass-throughs). A line is printed only when its layer is in the
 * process: the functions are weak references, and in the LD_PRELOAD case
 * (the shim not linked in) looked up with dlsym in the global scope.
 */
#define _GNU_SOURCE
#include <coresrv/syscalls.h> /* for kos_shim_stats_global_t */

#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>

#pragma weak kos_shim_stats_global
extern unsigned long long standin_calls(int op) __attribute__((weak));

typedef Retcode (*global_fn)(kos_shim_stats_global_t *out);
typedef unsigned long long (*standin_fn)(int op);

__attribute__((destructor)) static void report(void) {
    static const char *names[5] = {"call", "callex", "recv", "recvex", "reply"};
    standin_fn standin = standin_calls;
    global_fn global = kos_shim_stats_global;
    if (standin == NULL) {
        *(void **)&standin = dlsym(RTLD_DEFAULT, "standin_calls");
    }
    if (global == NULL) {
        *(void **)&global = dlsym(RTLD_DEFAULT, "kos_shim_stats_global");
    }
    if (standin != NULL) {
        printf("standin:");
        for (int op = 0; op < 5; op++) {
            printf(" %s=%llu", names[op], standin(op));
        }
        printf("\n");
    }
    if (global != NULL) {
        kos_shim_stats_global_t g;
        if (global(&g) != rcOk) {
            printf("shim: kos_shim_stats_global failed\n");
        } else {
            printf("shim:");
            for (int op = 0; op < 5; op++) {
                printf(" %s=%llu", names[op], (unsigned long long)g.calls_by_op[op]);
            }
            printf(" reentrant=%llu\n", (unsigned long long)g.reentrant);
        }
    }
    fflush(stdout);
}
