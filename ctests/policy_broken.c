/*
 * policy_broken: KOS_SHIM_POLICY names a file with an error on line 3, or a
 * missing file. The shim fails closed: Call, CallEx and Reply all return
 * rcSecurityDisallow and the server sees nothing; the reason (file, line,
 * column) is available from kos_shim_policy_env_error. With
 * KOS_SHIM_POLICY_ON_ERROR=allow the program runs without a policy instead.
 * kos_shim_policy_load_file reports the same error text, truncated safely
 * into a small buffer. Each scenario runs in its own child process, since
 * the environment is read once per process.
 */
#include "policy_harness.h"

static char broken[64];
static char want_err[160];

static const char *const BROKEN =
    "# an error on line 3\n"
    "allow call iid=7\n"
    "deny call iid=7 mid=\n"
    "allow recv\n";

static void expect_denied_everything(void)
{
    echo_pair p;
    echo_start(&p);
    CHECK_RC(rcSecurityDisallow, call_method(p.client, 7, 1));

    nk_message req = {0};
    nk_req_reset(&req);
    nk_msg_set_method_id(&req, 7, 1);
    _Alignas(8) unsigned char buf[64];
    nk_message *resp = (nk_message *)buf;
    memset(buf, 0, sizeof buf);
    nk_msg_set_size(resp, sizeof buf);
    SMsgHdr out, in;
    CHECK_RC(rcOk, PackOutMsg(&out, &req, NULL));
    CHECK_RC(rcOk, PackInMsg(&in, resp, NULL));
    CHECK_RC(rcSecurityDisallow, CallEx(p.client, &out, &in, 100, INVALID_HANDLE));
    CHECK_RC(rcSecurityDisallow, Reply(p.arg.server, &out));

    /* Closing the server handle ends the server's Recv with rcNotConnected. */
    CHECK_RC(rcOk, KnHandleClose(p.arg.server));
    CHECK_EQ(0, pthread_join(p.thread, NULL));
    CHECK_RC(rcOk, KnHandleClose(p.client));
    CHECK_EQ(0, atomic_load(&server_seen[7][1]));
    CHECK_EQ(0, p.arg.replies_ok);

    kos_shim_policy_stats_t s = policy_stats();
    CHECK_EQ(1, s.active);
    CHECK_EQ(1, s.failed_closed);
    CHECK_EQ(3, s.denied);
    CHECK_EQ(0, s.allowed);
}

static void broken_file(void)
{
    CHECK_EQ(0, setenv("KOS_SHIM_POLICY", broken, 1));
    expect_denied_everything();
    char err[256];
    CHECK_RC(rcOk, kos_shim_policy_env_error(err, sizeof err));
    CHECK_EQ(0, strcmp(want_err, err));
}

static void missing_file(void)
{
    CHECK_EQ(0, setenv("KOS_SHIM_POLICY", "/nonexistent-dir/app.policy", 1));
    expect_denied_everything();
    char err[256];
    CHECK_RC(rcOk, kos_shim_policy_env_error(err, sizeof err));
    const char *want = "/nonexistent-dir/app.policy: cannot read the policy file: ";
    CHECK_MEM(want, err, strlen(want));
}

static void opt_out(void)
{
    CHECK_EQ(0, setenv("KOS_SHIM_POLICY", broken, 1));
    CHECK_EQ(0, setenv("KOS_SHIM_POLICY_ON_ERROR", "allow", 1));
    echo_pair p;
    echo_start(&p);
    CHECK_RC(rcOk, call_method(p.client, 7, 1));
    echo_stop(&p, 7);
    CHECK_EQ(1, atomic_load(&server_seen[7][1]));
    kos_shim_policy_stats_t s = policy_stats();
    CHECK_EQ(0, s.active);
    CHECK_EQ(0, s.failed_closed);
    CHECK_EQ(0, s.denied);
    /* 2 calls, 2 receives, 2 replies, no policy. */
    CHECK_EQ(6, s.unpoliced);
    char err[256];
    CHECK_RC(rcOk, kos_shim_policy_env_error(err, sizeof err));
    CHECK_EQ(0, strcmp(want_err, err));
}

int main(void)
{
    write_temp(broken, BROKEN);
    snprintf(want_err, sizeof want_err, "%s:3:21: expected a number after 'mid='", broken);

    in_child(broken_file);
    in_child(missing_file);
    in_child(opt_out);

    /* The API reports the same text; a short buffer gets a NUL-terminated prefix. */
    char err[256];
    CHECK_RC(rcInvalidArgument, kos_shim_policy_load_file(broken, err, sizeof err));
    CHECK_EQ(0, strcmp(want_err, err));
    char small[16];
    memset(small, 'x', sizeof small);
    CHECK_RC(rcInvalidArgument, kos_shim_policy_load_file(broken, small, sizeof small));
    CHECK_EQ(15, strlen(small));
    CHECK_MEM(want_err, small, 15);
    CHECK_RC(rcInvalidArgument, kos_shim_policy_load_file(NULL, NULL, 0));
    kos_shim_policy_stats_t s = policy_stats();
    CHECK_EQ(0, s.active);
    CHECK_EQ(2, s.load_errors); /* the NULL path is refused before any load */

    unlink(broken);
    printf("policy_broken: fail closed on a broken and a missing file (3 of 3 denied each), "
           "opt-out allowed, error names line 3\n");
    return 0;
}
