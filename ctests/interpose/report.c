/*
 * Test harness part of the interposition tests (not part of the program
 * under test): at exit, prints the counters of the layers below the program,
 * so the Makefile can compare them with what the program says it made.
 *
 *   standin: call=N callex=N recv=N recvex=N reply=N   (stand-in libkos)
 *   shim: call=N callex=N recv=N recvex=N reply=N reentrant=N
 *
 * A line is printed only when its layer is present in the process: the
 * functions are weak references, and in the LD_PRELOAD case (where the shim
 * is not linked in) found with dlsym in the global scope.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>

typedef int32_t (*calls_fn)(uint32_t op, uint64_t *count);
typedef int32_t (*reentrant_fn)(uint64_t *count);
typedef unsigned long long (*standin_fn)(int op);

extern int32_t kos_shim_calls(uint32_t op, uint64_t *count) __attribute__((weak));
extern int32_t kos_shim_reentrant_calls(uint64_t *count) __attribute__((weak));
extern unsigned long long standin_calls(int op) __attribute__((weak));

static void *find(const char *name) { return dlsym(RTLD_DEFAULT, name); }

__attribute__((destructor)) static void report(void) {
    static const char *names[5] = {"call", "callex", "recv", "recvex", "reply"};
    standin_fn standin = standin_calls;
    calls_fn calls = kos_shim_calls;
    reentrant_fn reentrant = kos_shim_reentrant_calls;
    if (standin == NULL) {
        *(void **)&standin = find("standin_calls");
    }
    if (calls == NULL) {
        *(void **)&calls = find("kos_shim_calls");
    }
    if (reentrant == NULL) {
        *(void **)&reentrant = find("kos_shim_reentrant_calls");
    }
    if (standin != NULL) {
        printf("standin:");
        for (int op = 0; op < 5; op++) {
            printf(" %s=%llu", names[op], standin(op));
        }
        printf("\n");
    }
    if (calls != NULL && reentrant != NULL) {
        printf("shim:");
        for (uint32_t op = 0; op < 5; op++) {
            uint64_t n = 0;
            if (calls(op, &n) != 0) {
                printf(" %s=ERROR", names[op]);
            } else {
                printf(" %s=%llu", names[op], (unsigned long long)n);
            }
        }
        uint64_t r = 0;
        printf(" reentrant=%llu\n", reentrant(&r) == 0 ? (unsigned long long)r : ~0ULL);
    }
    fflush(stdout);
}
