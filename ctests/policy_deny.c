/*
 * policy_deny: a client/server pair on the host emulator under a policy file
 * (KOS_SHIM_POLICY) that denies one method. The denied Call returns
 * rcSecurityDisallow and the server never sees it; other methods work; the
 * counters say exactly what happened. Then the same policy in `mode audit`
 * (loaded with kos_shim_policy_load_file): nothing is denied and the
 * counters show the would-be denials.
 */
#include "policy_harness.h"

static const char *const RULES =
    "deny  call iid=7 mid=2      # the forbidden method\n"
    "allow call iid=7\n"
    "allow recv\n"
    "allow reply\n"
    "default deny\n";

/* Methods 1, 2, 3 of interface 7 and method 1 of interface 8, then stop. */
static void workload(echo_pair *p, Retcode want[4])
{
    Retcode rc[4] = {
        call_method(p->client, 7, 1),
        call_method(p->client, 7, 2),
        call_method(p->client, 7, 3),
        call_method(p->client, 8, 1),
    };
    for (int i = 0; i < 4; i++)
        CHECK_RC(want[i], rc[i]);
    echo_stop(p, 7);
}

int main(void)
{
    char path[64], audit_path[64], text[512], err[256];
    write_temp(path, RULES);
    snprintf(text, sizeof text, "mode audit\n%s", RULES);
    write_temp(audit_path, text);
    CHECK_EQ(0, setenv("KOS_SHIM_POLICY", path, 1));

    /* Enforce. */
    echo_pair p;
    echo_start(&p);
    Retcode enforce[4] = {rcOk, rcSecurityDisallow, rcOk, rcSecurityDisallow};
    workload(&p, enforce);
    CHECK_EQ(1, atomic_load(&server_seen[7][1]));
    CHECK_EQ(0, atomic_load(&server_seen[7][2]));
    CHECK_EQ(1, atomic_load(&server_seen[7][3]));
    CHECK_EQ(0, atomic_load(&server_seen[8][1]));
    CHECK_EQ(3, p.arg.replies_ok);
    kos_shim_policy_stats_t s = policy_stats();
    CHECK_EQ(1, s.active);
    CHECK_EQ(0, s.audit);
    CHECK_EQ(0, s.failed_closed);
    CHECK_EQ(4, s.rules); /* `default` is not a rule */
    CHECK_EQ(2, s.denied);
    /* 3 calls (1, 3, stop) + 3 receives + 3 replies. */
    CHECK_EQ(9, s.allowed);
    CHECK_EQ(0, s.audit_denied);
    CHECK_EQ(1, s.default_hits);
    uint64_t hits[8];
    size_t n = 0;
    CHECK_RC(rcOk, kos_shim_policy_rule_hits(hits, 8, &n));
    CHECK_EQ(4, n);
    uint64_t want_hits[4] = {1, 3, 3, 3};
    for (size_t i = 0; i < 4; i++)
        CHECK_EQ(want_hits[i], hits[i]);

    /* Audit: the same rules, nothing denied. */
    CHECK_RC(rcOk, kos_shim_policy_load_file(audit_path, err, sizeof err));
    CHECK_EQ(0, err[0]);
    echo_start(&p);
    Retcode audit[4] = {rcOk, rcOk, rcOk, rcOk};
    workload(&p, audit);
    CHECK_EQ(2, atomic_load(&server_seen[7][1]));
    CHECK_EQ(1, atomic_load(&server_seen[7][2]));
    CHECK_EQ(1, atomic_load(&server_seen[8][1]));
    CHECK_EQ(5, p.arg.replies_ok);
    kos_shim_policy_stats_t a = policy_stats();
    CHECK_EQ(1, a.audit);
    CHECK_EQ(2, a.denied); /* unchanged */
    CHECK_EQ(2, a.audit_denied - s.audit_denied);
    /* Calls 7.1, 7.3 and stop (7.2 and 8.1 are would-be denials), plus 5
     * receives and 5 replies. */
    CHECK_EQ(13, a.allowed - s.allowed);
    CHECK_EQ(2, a.generation);
    CHECK_RC(rcOk, kos_shim_policy_rule_hits(hits, 8, &n));
    uint64_t want_audit[4] = {1, 3, 5, 5};
    for (size_t i = 0; i < 4; i++)
        CHECK_EQ(want_audit[i], hits[i]);
    CHECK_EQ(1, a.default_hits);

    unlink(path);
    unlink(audit_path);
    printf("policy_deny: enforce denied 2 of 5 calls and the server saw method 2 0 times; "
           "audit passed 5 of 5 with 2 would-be denials\n");
    return 0;
}
