/*
 * policy_reload: hot reload while 8 client threads call through the host
 * emulator. A reloader thread alternates between policy A (denies method 2)
 * and policy B (denies method 1). Every call returns rcOk or
 * rcSecurityDisallow, and the counts add up exactly: the clients' denials
 * equal the policy's `denied`, the server saw exactly the calls the clients
 * saw succeed, per method, and `loads` counts every reload.
 */
#include "policy_harness.h"

#define CLIENTS 8
#define ROUNDS 500

static const char *const POLICY_A =
    "deny call iid=3 mid=2\nallow call\nallow recv\nallow reply\ndefault deny\n";
static const char *const POLICY_B =
    "# B\ndeny call iid=3 mid=1\nallow call\nallow recv\nallow reply\ndefault deny\n";

static Handle client;
static atomic_int stop_reload;
static atomic_int first_reload_done;
static atomic_ulong reloads;

typedef struct {
    unsigned long ok[3];
    unsigned long denied[3];
} tally;

static void *reloader(void *p)
{
    (void)p;
    for (unsigned long n = 0; !atomic_load(&stop_reload); n++) {
        const char *t = (n % 2 == 0) ? POLICY_B : POLICY_A;
        char err[128];
        CHECK_RC(rcOk, kos_shim_policy_load(t, strlen(t), err, sizeof err));
        atomic_fetch_add(&reloads, 1);
        atomic_store(&first_reload_done, 1);
    }
    return NULL;
}

static void *caller(void *p)
{
    tally *t = (tally *)p;
    while (!atomic_load(&first_reload_done))
        sched_yield();
    for (int i = 0; i < ROUNDS; i++) {
        for (nk_mid_t mid = 1; mid <= 2; mid++) {
            Retcode rc = call_method(client, 3, mid);
            if (rc == rcOk)
                t->ok[mid]++;
            else if (rc == rcSecurityDisallow)
                t->denied[mid]++;
            else
                CHECK_RC(rcOk, rc);
        }
    }
    return NULL;
}

int main(void)
{
    CHECK_RC(rcOk, kos_shim_policy_load(POLICY_A, strlen(POLICY_A), NULL, 0));
    kos_shim_policy_stats_t before = policy_stats();

    server_arg servers[2];
    pthread_t server_threads[2];
    Handle server;
    CHECK_RC(rcOk, kos_host_channel_create(&client, &server));
    for (int i = 0; i < 2; i++) {
        servers[i].server = server;
        servers[i].replies_ok = 0;
        CHECK_EQ(0, pthread_create(&server_threads[i], NULL, echo_server, &servers[i]));
    }
    pthread_t rt;
    CHECK_EQ(0, pthread_create(&rt, NULL, reloader, NULL));
    tally tallies[CLIENTS];
    pthread_t callers[CLIENTS];
    memset(tallies, 0, sizeof tallies);
    for (int i = 0; i < CLIENTS; i++)
        CHECK_EQ(0, pthread_create(&callers[i], NULL, caller, &tallies[i]));
    for (int i = 0; i < CLIENTS; i++)
        CHECK_EQ(0, pthread_join(callers[i], NULL));
    atomic_store(&stop_reload, 1);
    CHECK_EQ(0, pthread_join(rt, NULL));
    CHECK_RC(rcOk, KnHandleClose(server));
    for (int i = 0; i < 2; i++)
        CHECK_EQ(0, pthread_join(server_threads[i], NULL));
    CHECK_RC(rcOk, KnHandleClose(client));

    unsigned long ok[3] = {0}, denied[3] = {0};
    for (int i = 0; i < CLIENTS; i++) {
        for (int m = 1; m <= 2; m++) {
            ok[m] += tallies[i].ok[m];
            denied[m] += tallies[i].denied[m];
        }
    }
    unsigned long calls = ok[1] + ok[2] + denied[1] + denied[2];
    CHECK_EQ(CLIENTS * ROUNDS * 2, calls);
    CHECK_EQ(ok[1], atomic_load(&server_seen[3][1]));
    CHECK_EQ(ok[2], atomic_load(&server_seen[3][2]));
    CHECK_EQ(ok[1] + ok[2], servers[0].replies_ok + servers[1].replies_ok);
    kos_shim_policy_stats_t s = policy_stats();
    CHECK_EQ(denied[1] + denied[2], s.denied - before.denied);
    /* Each successful call is allowed three times: Call, Recv, Reply. */
    CHECK_EQ(3 * (ok[1] + ok[2]), s.allowed - before.allowed);
    CHECK_EQ(0, s.audit_denied - before.audit_denied);
    CHECK_EQ(atomic_load(&reloads), s.loads - before.loads);
    CHECK(atomic_load(&reloads) >= 1);

    printf("policy_reload: %d calls from %d threads under reloads, counts add up exactly\n",
           CLIENTS * ROUNDS * 2, CLIENTS);
    return 0;
}
