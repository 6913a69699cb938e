/*
 * fault_delay: `delay` rules on the host emulator keep CallEx's promises.
 *
 * - A delay longer than a CallEx's timeout: rcTimeout, not before the
 *   timeout and well before the delay (bound 10x the timeout), and the
 *   server never sees the request.
 * - A delay shorter than the timeout: the call is forwarded and succeeds,
 *   not before the delay; so does a plain Call.
 * - A delay with a server that never receives: the forwarded CallEx gets
 *   only what is left of its timeout (rcTimeout within 10x of it).
 * - A sync object set by another thread interrupts a delayed CallEx
 *   (rcIpcInterrupt, not before it was set, long before the delay ended),
 *   and the request is not forwarded.
 * The fault counters count each delayed call.
 */
#include "policy_harness.h"

#include <time.h>

static uint64_t now_ms(void)
{
    struct timespec ts;
    CHECK_EQ(0, clock_gettime(CLOCK_MONOTONIC, &ts));
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static const char *const RULES =
    "allow any\n"
    "delay call iid=9 mid=1 2s      # longer than the timeouts below\n"
    "delay call iid=9 mid=2 50ms\n"
    "delay call iid=9 mid=3 5s      # interrupted\n"
    "delay call iid=9 mid=4 80ms    # then a server that never receives\n";

struct setter {
    Handle sync;
    uint64_t set_at;
};

static void *set_interrupt(void *p)
{
    struct setter *s = (struct setter *)p;
    struct timespec ts = {0, 100 * 1000000L};
    nanosleep(&ts, NULL);
    s->set_at = now_ms();
    CHECK_RC(rcOk, KnIpcSetInterrupt(s->sync));
    return NULL;
}

int main(void)
{
    char err[256];
    CHECK_RC(rcOk, kos_shim_policy_load(RULES, strlen(RULES), err, sizeof err));
    echo_pair p;
    echo_start(&p);

    /* Timeout shorter than the delay: rcTimeout after the timeout only. */
    uint64_t t0 = now_ms();
    CHECK_RC(rcTimeout, callex_method(p.client, 9, 1, 100, INVALID_HANDLE));
    uint64_t took = now_ms() - t0;
    CHECK(took >= 100);
    CHECK(took < 1000);
    CHECK_EQ(0, atomic_load(&server_seen[9][1]));
    t0 = now_ms();
    CHECK_RC(rcTimeout, callex_method(p.client, 9, 1, 0, INVALID_HANDLE));
    CHECK(now_ms() - t0 < 1000);
    CHECK_EQ(0, atomic_load(&server_seen[9][1]));

    /* Delay within the timeout: forwarded, answered, not early. */
    t0 = now_ms();
    CHECK_RC(rcOk, callex_method(p.client, 9, 2, 5000, INVALID_HANDLE));
    CHECK(now_ms() - t0 >= 50);
    t0 = now_ms();
    CHECK_RC(rcOk, call_method(p.client, 9, 2));
    CHECK(now_ms() - t0 >= 50);
    CHECK_EQ(2, atomic_load(&server_seen[9][2]));

    /* A sync object interrupts the delay; the request is not forwarded. */
    Handle sync;
    CHECK_RC(rcOk, KnIpcCreateSyncObject(&sync));
    struct setter s = {sync, 0};
    pthread_t t;
    CHECK_EQ(0, pthread_create(&t, NULL, set_interrupt, &s));
    Retcode rc = callex_method(p.client, 9, 3, INFINITE_TIMEOUT, sync);
    uint64_t end = now_ms();
    CHECK_EQ(0, pthread_join(t, NULL));
    CHECK_RC(rcIpcInterrupt, rc);
    CHECK(end >= s.set_at);
    CHECK(end - s.set_at < 2500); /* the delay is 5 s */
    CHECK_EQ(0, atomic_load(&server_seen[9][3]));
    /* Set before the call: interrupted at once. */
    t0 = now_ms();
    CHECK_RC(rcIpcInterrupt, callex_method(p.client, 9, 3, INFINITE_TIMEOUT, sync));
    CHECK(now_ms() - t0 < 2500);
    CHECK_RC(rcOk, KnIpcClearInterrupt(sync));
    CHECK_EQ(0, atomic_load(&server_seen[9][3]));

    /* No server receives: the forwarded CallEx waits only the rest of its
     * 200 ms after the 80 ms delay. */
    Handle lone_client, lone_server;
    CHECK_RC(rcOk, kos_host_channel_create(&lone_client, &lone_server));
    t0 = now_ms();
    CHECK_RC(rcTimeout, callex_method(lone_client, 9, 4, 200, INVALID_HANDLE));
    took = now_ms() - t0;
    CHECK(took >= 200);
    CHECK(took < 2000);

    uint64_t seen[4], injected[4];
    size_t n = 0;
    CHECK_RC(rcOk, kos_shim_policy_fault_counts(seen, injected, 4, &n));
    CHECK_EQ(4, n);
    uint64_t want[4] = {2, 2, 2, 1};
    for (int i = 0; i < 4; i++) {
        CHECK_EQ(want[i], seen[i]);
        CHECK_EQ(want[i], injected[i]);
    }
    echo_stop(&p, 9);
    CHECK_RC(rcOk, KnHandleClose(lone_client));
    CHECK_RC(rcOk, KnHandleClose(lone_server));
    CHECK_RC(rcOk, KnHandleClose(sync));
    printf("fault_delay: timeouts, sync interrupts and forwarding of 7 delayed calls as stated\n");
    return 0;
}
