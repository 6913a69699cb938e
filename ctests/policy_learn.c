/*
 * policy_learn: learn mode round trip. A run with KOS_SHIM_POLICY_LEARN
 * writes, at exit, the minimal policy allowing what it did; replaying the
 * same run under that policy gives 0 denials (and 0 would-be denials of
 * receives); a run that calls one new method is denied exactly there.
 * Then the API: kos_shim_policy_learn_start / kos_shim_policy_learn_write.
 */
#include "policy_harness.h"

static char learned[64];

static const char *const WANT_BODY =
    "mode enforce\n"
    "allow call iid=7 mid=1  # 3 hits\n"
    "allow call iid=7 mid=2  # 1 hit\n"
    "allow call iid=7 mid=3  # 1 hit\n"
    "allow call iid=7 mid=99  # 1 hit\n"
    "allow recv iid=7 mid=1  # 3 hits\n"
    "allow recv iid=7 mid=2  # 1 hit\n"
    "allow recv iid=7 mid=3  # 1 hit\n"
    "allow recv iid=7 mid=99  # 1 hit\n"
    "allow reply iid=7 mid=1  # 3 hits\n"
    "allow reply iid=7 mid=2  # 1 hit\n"
    "allow reply iid=7 mid=3  # 1 hit\n"
    "allow reply iid=7 mid=99  # 1 hit\n"
    "default deny\n";

static void workload(int new_method)
{
    echo_pair p;
    echo_start(&p);
    for (int i = 0; i < 3; i++)
        CHECK_RC(rcOk, call_method(p.client, 7, 1));
    CHECK_RC(rcOk, call_method(p.client, 7, 2));
    CHECK_RC(rcOk, call_method(p.client, 7, 3));
    if (new_method)
        CHECK_RC(rcSecurityDisallow, call_method(p.client, 7, 4));
    echo_stop(&p, 7);
    CHECK_EQ(0, atomic_load(&server_seen[7][4]));
}

static void learn_run(void)
{
    CHECK_EQ(0, setenv("KOS_SHIM_POLICY_LEARN", learned, 1));
    workload(0);
    CHECK_EQ(1, policy_stats().learning);
}

static void replay(void)
{
    CHECK_EQ(0, setenv("KOS_SHIM_POLICY", learned, 1));
    workload(0);
    kos_shim_policy_stats_t s = policy_stats();
    CHECK_EQ(1, s.active);
    CHECK_EQ(12, s.rules);
    CHECK_EQ(0, s.denied);
    CHECK_EQ(0, s.audit_denied);
    CHECK_EQ(18, s.allowed); /* 6 calls, 6 receives, 6 replies */
}

static void new_method(void)
{
    CHECK_EQ(0, setenv("KOS_SHIM_POLICY", learned, 1));
    workload(1);
    kos_shim_policy_stats_t s = policy_stats();
    CHECK_EQ(1, s.denied);
    CHECK_EQ(0, s.audit_denied);
    CHECK_EQ(1, s.default_hits);
    CHECK_EQ(18, s.allowed);
}

int main(void)
{
    write_temp(learned, "");
    in_child(learn_run);
    char text[4096];
    read_file(learned, text, sizeof text);
    const char *body = strstr(text, "mode enforce\n");
    CHECK(body != NULL);
    CHECK_EQ(strlen(WANT_BODY), strlen(body));
    CHECK_MEM(WANT_BODY, body, strlen(WANT_BODY));
    CHECK_EQ('#', text[0]);

    in_child(replay);
    in_child(new_method);

    /* The API, in this process. */
    char api_out[64];
    write_temp(api_out, "");
    CHECK_RC(rcInvalidArgument, kos_shim_policy_learn_write(api_out)); /* learning is off */
    CHECK_RC(rcOk, kos_shim_policy_learn_start());
    echo_pair p;
    echo_start(&p);
    CHECK_RC(rcOk, call_method(p.client, 9, 5));
    echo_stop(&p, 9);
    CHECK_RC(rcInvalidArgument, kos_shim_policy_learn_write(NULL));
    CHECK_RC(rcOk, kos_shim_policy_learn_write(api_out));
    read_file(api_out, text, sizeof text);
    CHECK(strstr(text, "\nallow call iid=9 mid=5  # 1 hit\nallow call iid=9 mid=99  # 1 hit\n") != NULL);
    CHECK_RC(rcFail, kos_shim_policy_learn_write("/nonexistent-dir/out.policy"));

    unlink(learned);
    unlink(api_out);
    printf("policy_learn: learned 12 rules; replay 0 denials; new method denied 1 of 7 calls\n");
    return 0;
}
