/*
 * Test harness part of the policy interposition test (mk/policy.mk, not part
 * of the program under test): linked beside the unchanged echo_prog.c, the
 * wrap archive and the stand-in libkos, next to report.c.
 *
 * At exit it prints what the shim's policy did (before report.c's lines:
 * destructors run in reverse link order):
 *
 *   policy: active=A failed_closed=F learning=L allowed=N denied=N audit_denied=N rule_hits=H,H,... default=N
 *
 * And it ends a run that cannot end by itself. Under a policy that fails
 * closed, echo_prog's quit request is refused like every other Call, so its
 * server thread waits for a request that never comes and main() would wait
 * in pthread_join for that thread forever. The test links with
 * --wrap=pthread_join: when main() gets there while the shim fails closed,
 * this waits until the server thread is inside the stand-in's Recv (so the
 * counts do not depend on which thread ran first), prints one line and
 * calls exit(3) instead, which runs the exit handlers (report.c's and this
 * file's lines, the shim's own). Otherwise the join happens as written.
 */
#define _GNU_SOURCE
#include <coresrv/syscalls.h> /* kos_ipc_shim.h: the policy C API */

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int __real_pthread_join(pthread_t thread, void **result);
int __wrap_pthread_join(pthread_t thread, void **result);
unsigned long long standin_calls(int op); /* 2: Recv, 3: RecvEx */

int __wrap_pthread_join(pthread_t thread, void **result) {
    kos_shim_policy_stats_t s;
    if (kos_shim_policy_stats(&s) == rcOk && s.failed_closed) {
        const struct timespec ms = {0, 1000000};
        for (int i = 0; i < 10000 && standin_calls(2) + standin_calls(3) == 0; i++) {
            nanosleep(&ms, NULL);
        }
        printf("policy_watch: the shim fails closed (%llu calls denied); the server waits for a "
               "request that never comes: exit(3) instead of joining it\n",
               (unsigned long long)s.denied);
        fflush(stdout);
        exit(3);
    }
    return __real_pthread_join(thread, result);
}

__attribute__((destructor)) static void policy_report(void) {
    kos_shim_policy_stats_t s;
    if (kos_shim_policy_stats(&s) != rcOk) {
        printf("policy: kos_shim_policy_stats failed\n");
        return;
    }
    printf("policy: active=%u failed_closed=%u learning=%u allowed=%llu denied=%llu "
           "audit_denied=%llu rule_hits=",
           s.active, s.failed_closed, s.learning, (unsigned long long)s.allowed,
           (unsigned long long)s.denied, (unsigned long long)s.audit_denied);
    uint64_t hits[16];
    size_t n = 0;
    Retcode rc = kos_shim_policy_rule_hits(hits, 16, &n);
    if (rc != rcOk) {
        printf("(rc=0x%08x, %zu rules)", (unsigned)rc, n);
    }
    for (size_t i = 0; i < n && i < 16; i++) {
        printf("%s%llu", i ? "," : "", (unsigned long long)hits[i]);
    }
    printf(" default=%llu\n", (unsigned long long)s.default_hits);
    fflush(stdout);
}
