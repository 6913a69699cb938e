/*
 * An echo client/server written the way KasperskyOS SDK programs are written:
 * only SDK-path headers, requests and responses that begin with nk_message,
 * strings in the arena, a server loop that dispatches on iid/mid. It knows
 * nothing of kos-ipc-shim; the interposition tests link this one source
 * unchanged against the host emulator, against a stand-in libkos with
 * ld --wrap, and against a stand-in libkos.so with the shim in LD_PRELOAD.
 *
 * The client makes ROUNDS requests, alternating Call and CallEx, then a quit
 * request; the server alternates Recv and RecvEx and answers each with Reply.
 * Every response is checked (sequence number and echoed text). The program
 * prints what it did, counted on its own side, and exits 0 only if all of it
 * succeeded.
 *
 * The one platform-specific step is getting the channel's two handles: on
 * KasperskyOS they come from the init description (ServiceLocator); here
 * from kos_host_channel_create, which both the emulator and the stand-in
 * offer.
 */
#include <coresrv/syscalls.h>
#include <services/rtl/nk_msg.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define ROUNDS 200
#define ECHO_IID 0x2A
#define MID_ECHO 1
#define MID_QUIT 2
#define TEXT_MAX 64

typedef struct {
    nk_message base;
    nk_ptr_t text; /* in the arena */
    uint32_t seq;
    uint32_t reserved;
} echo_req;

typedef struct {
    nk_message base;
    nk_ptr_t text;
    uint32_t seq;
    uint32_t reserved;
} echo_res;

/* What this program did, counted on its own side: 0 Call .. 4 Reply. */
static unsigned long made[5];
static Handle client_h, server_h;

static void *server(void *arg) {
    (void)arg;
    for (unsigned n = 0;; n++) {
        echo_req req;
        char req_buf[TEXT_MAX];
        struct nk_arena req_arena;
        SMsgHdr in;
        memset(&req, 0, sizeof req);
        req.base.size = sizeof req; /* the receive buffer's capacity */
        nk_arena_init(&req_arena, req_buf, sizeof req_buf);
        if (PackInMsg(&in, &req.base, &req_arena) != rcOk) {
            fprintf(stderr, "server: PackInMsg failed\n");
            return (void *)1;
        }
        Retcode rc;
        if (n % 2 == 0) {
            made[2]++;
            rc = Recv(server_h, &in);
        } else {
            made[3]++;
            rc = RecvEx(server_h, &in, INFINITE_TIMEOUT, INVALID_HANDLE);
        }
        if (rc != rcOk || req.base.iid != ECHO_IID) {
            fprintf(stderr, "server: receive %u: rc=%d iid=%u\n", n, (int)rc, req.base.iid);
            return (void *)1;
        }
        echo_res res;
        char res_buf[TEXT_MAX];
        struct nk_arena res_arena;
        memset(&res, 0, sizeof res);
        res.base.iid = ECHO_IID;
        res.base.mid = req.base.mid;
        res.base.size = sizeof res;
        res.base.kind = NK_MSG_KIND_RESPONSE;
        res.seq = req.seq;
        nk_arena_init(&res_arena, res_buf, sizeof res_buf);
        if (req.base.mid == MID_ECHO) {
            rtl_size_t len = 0;
            const void *text = nk_arena_get(&req_arena, &req.text, &len);
            if (text == NULL || nk_arena_store(&res_arena, &res.text, text, len) != rcOk) {
                fprintf(stderr, "server: request %u has no text\n", n);
                return (void *)1;
            }
        }
        SMsgHdr out;
        made[4]++;
        if (PackOutMsg(&out, &res.base, &res_arena) != rcOk || Reply(server_h, &out) != rcOk) {
            fprintf(stderr, "server: reply %u failed\n", n);
            return (void *)1;
        }
        if (req.base.mid == MID_QUIT) {
            return NULL;
        }
    }
}

/* One request; 0 when the response is the expected echo. */
static int request(unsigned i, unsigned mid) {
    echo_req req;
    char req_buf[TEXT_MAX], text[TEXT_MAX];
    struct nk_arena req_arena;
    memset(&req, 0, sizeof req);
    req.base.iid = ECHO_IID;
    req.base.mid = (nk_mid_t)mid;
    req.base.size = sizeof req;
    req.base.kind = NK_MSG_KIND_REQUEST;
    req.seq = i;
    nk_arena_init(&req_arena, req_buf, sizeof req_buf);
    int len = snprintf(text, sizeof text, "hello %u", i);
    if (mid == MID_ECHO && nk_arena_store(&req_arena, &req.text, text, (rtl_size_t)len + 1) != rcOk) {
        return 1;
    }
    echo_res res;
    char res_buf[TEXT_MAX];
    struct nk_arena res_arena;
    memset(&res, 0, sizeof res);
    res.base.size = sizeof res;
    nk_arena_init(&res_arena, res_buf, sizeof res_buf);
    SMsgHdr out, in;
    if (PackOutMsg(&out, &req.base, &req_arena) != rcOk ||
        PackInMsg(&in, &res.base, &res_arena) != rcOk) {
        return 1;
    }
    Retcode rc;
    if (i % 2 == 0) {
        made[0]++;
        rc = Call(client_h, &out, &in);
    } else {
        made[1]++;
        rc = CallEx(client_h, &out, &in, 60000, INVALID_HANDLE); /* generous: loaded CI */
    }
    if (rc != rcOk || res.seq != i || res.base.mid != mid) {
        fprintf(stderr, "client: request %u: rc=%d seq=%u\n", i, (int)rc, res.seq);
        return 1;
    }
    if (mid == MID_ECHO) {
        rtl_size_t got = 0;
        const char *echoed = nk_arena_get(&res_arena, &res.text, &got);
        if (echoed == NULL || got != (rtl_size_t)len + 1 || strcmp(echoed, text) != 0) {
            fprintf(stderr, "client: request %u: wrong echo\n", i);
            return 1;
        }
    }
    return 0;
}

int main(void) {
    if (kos_host_channel_create(&client_h, &server_h) != rcOk) {
        fprintf(stderr, "no channel\n");
        return 1;
    }
    pthread_t t;
    if (pthread_create(&t, NULL, server, NULL) != 0) {
        return 1;
    }
    int failed = 0;
    for (unsigned i = 0; i < ROUNDS && !failed; i++) {
        failed = request(i, MID_ECHO);
    }
    /* Quit, whatever happened, so the server thread ends. */
    failed |= request(ROUNDS, MID_QUIT);
    void *server_result = NULL;
    pthread_join(t, &server_result);
    if (failed || server_result != NULL) {
        printf("echo_prog: FAILED\n");
        return 1;
    }
    printf("echo_prog: %u round trips ok, made call=%lu callex=%lu recv=%lu recvex=%lu reply=%lu\n",
           ROUNDS + 1, made[0], made[1], made[2], made[3], made[4]);
    return 0;
}
