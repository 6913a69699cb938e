/*
 * Shared parts of the policy C tests: an echo server on the host emulator
 * that counts what it receives per (iid, mid), a client call helper, and
 * small file and fork helpers.
 *
 * The server answers every request with a response carrying the same iid
 * and mid. A request with mid == POLICY_STOP_MID ends the server loop after
 * its reply.
 */
#ifndef KOS_SHIM_CTESTS_POLICY_HARNESS_H
#define KOS_SHIM_CTESTS_POLICY_HARNESS_H

#define _GNU_SOURCE 1
#include <pthread.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <unistd.h>

#include <coresrv/syscalls.h>
#include <services/rtl/nk_msg.h>

#include "check.h"

#define POLICY_STOP_MID 99
#define POLICY_MAX_IID 16
#define POLICY_MAX_MID 128

/* Requests the server received, per (iid, mid). */
static atomic_ulong server_seen[POLICY_MAX_IID][POLICY_MAX_MID];

typedef struct {
    Handle server;
    int replies_ok;
} server_arg;

static void *echo_server(void *p)
{
    server_arg *a = (server_arg *)p;
    for (;;) {
        _Alignas(8) unsigned char buf[64];
        nk_message *req = (nk_message *)buf;
        memset(buf, 0, sizeof buf);
        nk_msg_set_size(req, sizeof buf); /* the receive capacity */
        SMsgHdr in;
        CHECK_RC(rcOk, PackInMsg(&in, req, NULL));
        Retcode rc = Recv(a->server, &in);
        /* The server handle was closed: while waiting (rcNotConnected) or
         * before this Recv started (rcInvalidArgument). */
        if (rc == rcNotConnected || rc == rcInvalidArgument)
            break;
        CHECK_RC(rcOk, rc);
        if (req->iid < POLICY_MAX_IID && req->mid < POLICY_MAX_MID)
            atomic_fetch_add(&server_seen[req->iid][req->mid], 1);
        nk_message resp = {0};
        nk_req_reset(&resp);
        nk_msg_set_method_id(&resp, req->iid, req->mid);
        SMsgHdr out;
        CHECK_RC(rcOk, PackOutMsg(&out, &resp, NULL));
        out.threadId = in.threadId; /* answer the caller just received */
        if (Reply(a->server, &out) == rcOk)
            a->replies_ok++;
        if (req->mid == POLICY_STOP_MID)
            break;
    }
    return NULL;
}

/* One Call (`ex` 0) or CallEx (with `mdelay` and `sync`) of (iid, mid) on
 * `client`; on rcOk the response must echo the ids. */
static inline Retcode request_method(Handle client, nk_iid_t iid, nk_mid_t mid, int ex,
                                     rtl_uint32_t mdelay, Handle sync)
{
    nk_message req = {0};
    nk_req_reset(&req);
    nk_msg_set_method_id(&req, iid, mid);
    _Alignas(8) unsigned char buf[64];
    nk_message *resp = (nk_message *)buf;
    memset(buf, 0, sizeof buf);
    nk_msg_set_size(resp, sizeof buf);
    SMsgHdr out, in;
    CHECK_RC(rcOk, PackOutMsg(&out, &req, NULL));
    CHECK_RC(rcOk, PackInMsg(&in, resp, NULL));
    Retcode rc = ex ? CallEx(client, &out, &in, mdelay, sync) : Call(client, &out, &in);
    if (rc == rcOk) {
        CHECK_EQ(iid, resp->iid);
        CHECK_EQ(mid, resp->mid);
        CHECK_EQ(sizeof(nk_message), nk_msg_get_size(resp));
        CHECK_EQ(sizeof(nk_message), in.indirDescs[0].size);
    }
    return rc;
}

static inline Retcode call_method(Handle client, nk_iid_t iid, nk_mid_t mid)
{
    return request_method(client, iid, mid, 0, 0, INVALID_HANDLE);
}

static inline Retcode callex_method(Handle client, nk_iid_t iid, nk_mid_t mid,
                                    rtl_uint32_t mdelay, Handle sync)
{
    return request_method(client, iid, mid, 1, mdelay, sync);
}

/* A connected pair with a running echo server thread. */
typedef struct {
    Handle client;
    server_arg arg;
    pthread_t thread;
} echo_pair;

static inline void echo_start(echo_pair *p)
{
    CHECK_RC(rcOk, kos_host_channel_create(&p->client, &p->arg.server));
    p->arg.replies_ok = 0;
    CHECK_EQ(0, pthread_create(&p->thread, NULL, echo_server, &p->arg));
}

/* Stop the server with a POLICY_STOP_MID request on `iid` (which the
 * policy must allow) and wait for it. */
static inline void echo_stop(echo_pair *p, nk_iid_t iid)
{
    CHECK_RC(rcOk, call_method(p->client, iid, POLICY_STOP_MID));
    CHECK_EQ(0, pthread_join(p->thread, NULL));
    CHECK_RC(rcOk, KnHandleClose(p->client));
    CHECK_RC(rcOk, KnHandleClose(p->arg.server));
}

/* Write `text` to a fresh temporary file; its path goes to `path` (64 bytes). */
static inline void write_temp(char *path, const char *text)
{
    snprintf(path, 64, "/tmp/kos-shim-policy-XXXXXX");
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    size_t len = strlen(text);
    CHECK_EQ((long long)len, (long long)write(fd, text, len));
    CHECK_EQ(0, close(fd));
}

/* Read a whole file into `buf` (NUL-terminated); returns its length. */
static inline size_t read_file(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    size_t n = fread(buf, 1, cap - 1, f);
    buf[n] = 0;
    fclose(f);
    return n;
}

/* Run `fn` in a child process (so it reads the environment afresh) and
 * require that it exits with 0. */
static inline void in_child(void (*fn)(void))
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        fn();
        fflush(stdout);
        exit(0); /* runs atexit handlers (learn mode writes its file there) */
    }
    int status = 0;
    CHECK_EQ(pid, waitpid(pid, &status, 0));
    CHECK(WIFEXITED(status));
    CHECK_EQ(0, WEXITSTATUS(status));
}

static inline kos_shim_policy_stats_t policy_stats(void)
{
    kos_shim_policy_stats_t s;
    CHECK_RC(rcOk, kos_shim_policy_stats(&s));
    return s;
}

/* The statistics of (op, iid, mid) added up over every handle (a test may
 * use several channels): calls, calls per return code and bytes. */
static inline struct kos_shim_stats_entry stats_sum(uint32_t op, nk_iid_t iid, nk_mid_t mid)
{
    static struct kos_shim_stats_entry e[64];
    struct kos_shim_stats_entry sum;
    memset(&sum, 0, sizeof sum);
    size_t n = 0;
    CHECK_RC(rcOk, kos_shim_stats_snapshot(e, 64, &n));
    for (size_t i = 0; i < n; i++) {
        if (e[i].op != op || e[i].iid != iid || e[i].mid != mid)
            continue;
        sum.calls += e[i].calls;
        for (size_t r = 0; r < KOS_SHIM_STATS_RC_SLOTS; r++)
            sum.rc[r] += e[i].rc[r];
        sum.out_const += e[i].out_const;
        sum.out_arena += e[i].out_arena;
        sum.in_const += e[i].in_const;
        sum.in_arena += e[i].in_arena;
    }
    return sum;
}

#endif /* KOS_SHIM_CTESTS_POLICY_HARNESS_H */
