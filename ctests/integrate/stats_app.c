/*
 * A small SDK-style client/server for the consumer tests of the installed
 * package (ctests/integrate/CMakeLists.txt): ROUNDS Call -> Recv -> Reply
 * round trips between two threads, then the shim's statistics
 * (kos_shim_stats_global, <kos_ipc_shim.h>) are read and printed.
 *
 * Built twice: interposed (kos_ipc_shim_interpose) on the C stand-in libkos,
 * and against KosIpcShim::host (the emulator). Either way every call must
 * have been counted by the shim: scripts/integrate-test.sh compares the
 * printed line with the exact numbers.
 */
#include <coresrv/syscalls.h>
#include <services/rtl/nk_msg.h>
#include <kos_ipc_shim.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define ROUNDS 25
#define APP_IID 0x77

static Handle client_h, server_h;

static void *server(void *arg) {
    (void)arg;
    for (unsigned n = 0; n < ROUNDS; n++) {
        nk_message req, res;
        SMsgHdr in, out;
        memset(&req, 0, sizeof req);
        nk_req_reset(&req); /* ex.size_ex: the receive buffer's capacity */
        if (PackInMsg(&in, &req, NULL) != rcOk || Recv(server_h, &in) != rcOk ||
            nk_msg_get_iid(&req) != APP_IID) {
            fprintf(stderr, "server: receive %u failed\n", n);
            return (void *)1;
        }
        memset(&res, 0, sizeof res);
        nk_req_reset(&res);
        nk_msg_set_method_id(&res, APP_IID, nk_msg_get_mid(&req));
        if (PackOutMsg(&out, &res, NULL) != rcOk) {
            fprintf(stderr, "server: PackOutMsg %u failed\n", n);
            return (void *)1;
        }
        out.threadId = in.threadId; /* answer the thread that asked */
        if (Reply(server_h, &out) != rcOk) {
            fprintf(stderr, "server: reply %u failed\n", n);
            return (void *)1;
        }
    }
    return NULL;
}

int main(void) {
    if (kos_host_channel_create(&client_h, &server_h) != rcOk) {
        fprintf(stderr, "stats_app: no channel\n");
        return 1;
    }
    pthread_t t;
    if (pthread_create(&t, NULL, server, NULL) != 0) {
        return 1;
    }
    unsigned ok = 0;
    for (unsigned i = 0; i < ROUNDS; i++) {
        nk_message req, res;
        SMsgHdr out, in;
        memset(&req, 0, sizeof req);
        nk_req_reset(&req);
        nk_msg_set_method_id(&req, APP_IID, i + 1);
        memset(&res, 0, sizeof res);
        nk_req_reset(&res);
        if (PackOutMsg(&out, &req, NULL) == rcOk && PackInMsg(&in, &res, NULL) == rcOk &&
            Call(client_h, &out, &in) == rcOk && nk_msg_get_mid(&res) == i + 1 &&
            nk_msg_get_err(&res) == 0) {
            ok++;
        }
    }
    void *server_rc = NULL;
    pthread_join(t, &server_rc);

    kos_shim_stats_global_t g;
    memset(&g, 0, sizeof g);
    if (kos_shim_stats_global(&g) != rcOk) {
        fprintf(stderr, "stats_app: kos_shim_stats_global failed\n");
        return 1;
    }
    printf("stats_app: %u of %u round trips ok; shim statistics: calls=%llu call=%llu callex=%llu "
           "recv=%llu recvex=%llu reply=%llu reentrant=%llu\n",
           ok, ROUNDS, (unsigned long long)g.calls,
           (unsigned long long)g.calls_by_op[KOS_SHIM_OP_CALL],
           (unsigned long long)g.calls_by_op[KOS_SHIM_OP_CALLEX],
           (unsigned long long)g.calls_by_op[KOS_SHIM_OP_RECV],
           (unsigned long long)g.calls_by_op[KOS_SHIM_OP_RECVEX],
           (unsigned long long)g.calls_by_op[KOS_SHIM_OP_REPLY], (unsigned long long)g.reentrant);
    return ok == ROUNDS && server_rc == NULL ? 0 : 1;
}
