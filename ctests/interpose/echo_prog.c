/*
 * An echo client/server written the way KasperskyOS SDK programs are written:
 * only SDK-path headers, requests and responses laid out as nk-gen-c lays
 * them out (base_, a struct nk_message, first), strings in the arena, a
 * server loop that dispatches on iid/mid and answers the thread it
 * received from (threadId). It knows
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

/* Laid out as nk-gen-c lays out a method's request and response. */
typedef struct __nk_packed echo_req {
    __nk_alignas(8) struct nk_message base_;
    __nk_alignas(4) nk_ptr_t text; /* in the arena */
    __nk_alignas(4) nk_uint32_t seq;
} echo_req;

typedef struct __nk_packed echo_res {
    __nk_alignas(8) struct nk_message base_;
    __nk_alignas(4) nk_ptr_t text;
    __nk_alignas(4) nk_uint32_t seq;
} echo_res;

/* What this program did, counted on its own side: 0 Call .. 4 Reply. */
static unsigned long made[5];
static Handle client_h, server_h;

static void *server(void *arg) {
    (void)arg;
    for (unsigned n = 0;; n++) {
        echo_req req;
        char req_buf[TEXT_MAX];
        struct nk_arena req_arena = NK_ARENA_INITIALIZER(req_buf, req_buf + sizeof req_buf);
        SMsgHdr in;
        memset(&req, 0, sizeof req);
        nk_req_reset(&req); /* ex.size_ex: the receive buffer's capacity */
        if (PackInMsg(&in, &req.base_, &req_arena) != rcOk) {
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
        if (rc != rcOk || nk_msg_get_iid(&req) != ECHO_IID ||
            in.indirDescs[0].size != sizeof req) {
            fprintf(stderr, "server: receive %u: rc=0x%08x iid=%u\n", n, (unsigned)rc,
                    nk_msg_get_iid(&req));
            return (void *)1;
        }
        /* The arena bytes that arrived are in descriptor 1 (this project's
         * convention for the host; the NK transport will do this step). */
        req_arena.current = (char *)req_arena.start + in.indirDescs[1].size;
        echo_res res;
        char res_buf[TEXT_MAX];
        struct nk_arena res_arena = NK_ARENA_INITIALIZER(res_buf, res_buf + sizeof res_buf);
        memset(&res, 0, sizeof res);
        nk_req_reset(&res);
        nk_msg_set_method_id(&res, ECHO_IID, nk_msg_get_mid(&req));
        res.seq = req.seq;
        if (nk_msg_get_mid(&req) == MID_ECHO) {
            nk_uint32_t len = 0;
            const nk_char_t *text = nk_arena_get(nk_char_t, &req_arena, &req.text, &len);
            if (text == NULL ||
                nk_arena_store(nk_char_t, &res_arena, &res.text, text, len) != NK_EOK) {
                fprintf(stderr, "server: request %u has no text\n", n);
                return (void *)1;
            }
        }
        SMsgHdr out;
        made[4]++;
        if (PackOutMsg(&out, &res.base_, &res_arena) != rcOk) {
            fprintf(stderr, "server: PackOutMsg %u failed\n", n);
            return (void *)1;
        }
        out.threadId = in.threadId; /* answer the thread that asked */
        if (Reply(server_h, &out) != rcOk) {
            fprintf(stderr, "server: reply %u failed\n", n);
            return (void *)1;
        }
        if (nk_msg_get_mid(&req) == MID_QUIT) {
            return NULL;
        }
    }
}

/* One request; 0 when the response is the expected echo. */
static int request(unsigned i, unsigned mid) {
    echo_req req;
    char req_buf[TEXT_MAX], text[TEXT_MAX];
    struct nk_arena req_arena = NK_ARENA_INITIALIZER(req_buf, req_buf + sizeof req_buf);
    memset(&req, 0, sizeof req);
    nk_req_reset(&req);
    nk_msg_set_method_id(&req, ECHO_IID, mid);
    req.seq = i;
    int len = snprintf(text, sizeof text, "hello %u", i);
    if (mid == MID_ECHO &&
        nk_arena_store(nk_char_t, &req_arena, &req.text, text, (nk_size_t)len + 1) != NK_EOK) {
        return 1;
    }
    echo_res res;
    char res_buf[TEXT_MAX];
    struct nk_arena res_arena = NK_ARENA_INITIALIZER(res_buf, res_buf + sizeof res_buf);
    memset(&res, 0, sizeof res);
    nk_req_reset(&res);
    SMsgHdr out, in;
    if (PackOutMsg(&out, &req.base_, &req_arena) != rcOk ||
        PackInMsg(&in, &res.base_, &res_arena) != rcOk) {
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
    if (rc != rcOk || res.seq != i || nk_msg_get_mid(&res) != mid || nk_msg_get_err(&res) ||
        in.indirDescs[0].size != sizeof res) {
        fprintf(stderr, "client: request %u: rc=0x%08x seq=%u\n", i, (unsigned)rc, res.seq);
        return 1;
    }
    res_arena.current = (char *)res_arena.start + in.indirDescs[1].size;
    if (mid == MID_ECHO) {
        nk_uint32_t got = 0;
        const nk_char_t *echoed = nk_arena_get(nk_char_t, &res_arena, &res.text, &got);
        if (echoed == NULL || got != (nk_uint32_t)len + 1 || strcmp(echoed, text) != 0) {
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
