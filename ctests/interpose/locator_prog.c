/*
 * A client and a server that find each other through the service locator,
 * written the way KasperskyOS SDK programs are: the server registers
 * "echo_connection", the client connects to it and asks for the RIIDs of
 * "Server.main" and "Server.admin", then calls methods on both. Only
 * SDK-path headers (the locator's is the stand-in ctests/standin/coresrv/
 * sl/sl_api.h); it knows nothing of kos-ipc-shim.
 *
 * mk/interpose.mk links it with the wrap archive and the stand-in libkos
 * (which has a stand-in locator), once with the three extra
 * --wrap=ServiceLocator* flags (the shim learns the names) and once without
 * them (the shim shows numbers; the program must link all the same).
 *
 * The client makes MAIN_CALLS Call requests to method 1 of Server.main,
 * ADMIN_CALLS CallEx requests to method 1 of Server.admin, then one Call of
 * method 2 of Server.admin, which stops the server. The server answers each
 * with Reply (echoing the request's ids and sequence number); every
 * response is checked. The program prints the handles and RIIDs it got and
 * what it did, and exits 0 only if all of it succeeded.
 */
#include <coresrv/sl/sl_api.h>
#include <coresrv/syscalls.h>
#include <services/rtl/nk_msg.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define MAIN_CALLS 10
#define ADMIN_CALLS 3
#define MID_WORK 1
#define MID_QUIT 2

/* Laid out as nk-gen-c lays out a method's request and response. */
typedef struct __nk_packed msg_t {
    __nk_alignas(8) struct nk_message base_;
    __nk_alignas(4) nk_uint32_t seq;
} msg_t;

static Handle server_h = INVALID_HANDLE;
static pthread_mutex_t registered_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t registered = PTHREAD_COND_INITIALIZER;
static int register_done;
static unsigned long served;

static void *server(void *arg) {
    (void)arg;
    ServiceId id;
    Handle h = ServiceLocatorRegister("echo_connection", NULL, 0, &id);
    pthread_mutex_lock(&registered_lock);
    server_h = h;
    register_done = 1;
    pthread_cond_broadcast(&registered);
    pthread_mutex_unlock(&registered_lock);
    if (h == INVALID_HANDLE) {
        fprintf(stderr, "server: ServiceLocatorRegister failed\n");
        return (void *)1;
    }
    for (;;) {
        msg_t req, res;
        SMsgHdr in, out;
        memset(&req, 0, sizeof req);
        nk_req_reset(&req);
        if (PackInMsg(&in, &req.base_, NULL) != rcOk || Recv(h, &in) != rcOk) {
            fprintf(stderr, "server: receive failed\n");
            return (void *)1;
        }
        memset(&res, 0, sizeof res);
        nk_req_reset(&res);
        nk_msg_set_method_id(&res, nk_msg_get_iid(&req), nk_msg_get_mid(&req));
        res.seq = req.seq;
        if (PackOutMsg(&out, &res.base_, NULL) != rcOk) {
            return (void *)1;
        }
        out.threadId = in.threadId;
        if (Reply(h, &out) != rcOk) {
            fprintf(stderr, "server: reply failed\n");
            return (void *)1;
        }
        served++;
        if (nk_msg_get_mid(&req) == MID_QUIT) {
            return NULL;
        }
    }
}

/* One request on `h`; 0 when the response echoes it. */
static int request(Handle h, nk_iid_t riid, nk_mid_t mid, unsigned seq, int ex) {
    msg_t req, res;
    SMsgHdr out, in;
    memset(&req, 0, sizeof req);
    nk_req_reset(&req);
    nk_msg_set_method_id(&req, riid, mid);
    req.seq = seq;
    memset(&res, 0, sizeof res);
    nk_req_reset(&res);
    if (PackOutMsg(&out, &req.base_, NULL) != rcOk || PackInMsg(&in, &res.base_, NULL) != rcOk) {
        return 1;
    }
    Retcode rc = ex ? CallEx(h, &out, &in, 60000, INVALID_HANDLE) : Call(h, &out, &in);
    if (rc != rcOk || res.seq != seq || nk_msg_get_iid(&res) != riid ||
        nk_msg_get_mid(&res) != mid) {
        fprintf(stderr, "client: request %u: rc=0x%08x\n", seq, (unsigned)rc);
        return 1;
    }
    return 0;
}

int main(void) {
    pthread_t t;
    if (pthread_create(&t, NULL, server, NULL) != 0) {
        return 1;
    }
    /* Connect once the server has registered, as an init description's
     * start order would have it. */
    pthread_mutex_lock(&registered_lock);
    while (!register_done) {
        pthread_cond_wait(&registered, &registered_lock);
    }
    pthread_mutex_unlock(&registered_lock);
    Handle client_h = ServiceLocatorConnect("echo_connection");
    nk_iid_t main_riid = ServiceLocatorGetRiid(client_h, "Server.main");
    nk_iid_t admin_riid = ServiceLocatorGetRiid(client_h, "Server.admin");
    nk_iid_t no_riid = ServiceLocatorGetRiid(client_h, "Server.nosuch");
    if (client_h == INVALID_HANDLE || main_riid == INVALID_RIID || admin_riid == INVALID_RIID ||
        no_riid != INVALID_RIID) {
        fprintf(stderr, "client: the locator failed\n");
        return 1;
    }
    int failed = 0;
    unsigned seq = 0;
    for (unsigned i = 0; i < MAIN_CALLS && !failed; i++) {
        failed = request(client_h, main_riid, MID_WORK, seq++, 0);
    }
    for (unsigned i = 0; i < ADMIN_CALLS && !failed; i++) {
        failed = request(client_h, admin_riid, MID_WORK, seq++, 1);
    }
    /* Quit, whatever happened, so the server thread ends. */
    failed |= request(client_h, admin_riid, MID_QUIT, seq++, 0);
    void *server_result = NULL;
    pthread_join(t, &server_result);
    if (failed || server_result != NULL) {
        printf("locator_prog: FAILED\n");
        return 1;
    }
    printf("locator_prog: server h=%u client h=%u, Server.main riid=%u, Server.admin riid=%u, "
           "Server.nosuch riid=0x%x; %u round trips ok (served %lu)\n",
           (unsigned)server_h, (unsigned)client_h, (unsigned)main_riid, (unsigned)admin_riid,
           (unsigned)no_riid, seq, served);
    return 0;
}
