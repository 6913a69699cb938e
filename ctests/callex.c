/*
 * callex: the edges of the five calls against the host emulator.
 *
 * CallEx/RecvEx timeouts (mdelay 0 and short), interrupts through IPC sync
 * objects (set before the call, set from another thread while waiting, set
 * after the server received the request: the call then completes), closing
 * a server while clients wait (rcNotConnected), unknown, closed and
 * wrong-type handles, NULL and malformed KCE headers (rcInvalidArgument),
 * the arena helpers' limits (NK_EINVAL, NK_ENOMEM, alignment), and
 * receiving buffers that are too small (rcBufferTooSmall on both sides,
 * guard bytes after the buffers unchanged).
 *
 * Sleeps in here only give other threads time to reach a blocking call;
 * no result depends on how long anything took.
 */
#define _POSIX_C_SOURCE 200809L

#include <coresrv/ipc/ipc_api.h>
#include <coresrv/syscalls.h>
#include <handle/handletype.h>
#include <rtl/retcode.h>
#include <services/rtl/nk_msg.h>

#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "check.h"

#define GUARD 0xA5
#define BIG 256
/* The largest constant part the shim accepts (kos_ipc_shim.h; this
 * project's bound, the SDK's headers do not name one). */
#define SHIM_MSG_MAX ((unsigned)KOS_SHIM_MSG_MAX_SIZE)

static unsigned cases;

#define CASE(name)                                                             \
    do {                                                                       \
        cases++;                                                               \
        printf("case %2u: %s\n", cases, name);                                 \
        fflush(stdout);                                                        \
    } while (0)

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* A message buffer: room for BIG bytes of constant part, 8-aligned. */
union msg {
    struct nk_message base_;
    struct {
        struct nk_message base_;
        nk_uint32_t value;
    } v;
    unsigned char bytes[BIG];
};

/* A request or response of `size` bytes (>= 32) to method 1 of RIID 7,
 * carrying `value`. */
static void fill_msg(union msg *m, size_t size, nk_uint32_t value)
{
    memset(m, 0, sizeof *m);
    nk_msg_set_size(m, size);
    nk_msg_set_method_id(m, 7, 1);
    m->v.value = value;
}

/* Receive buffer with capacity `cap` (its ex.size_ex); bytes from 24 on are GUARD. */
static void guard_msg(union msg *m, size_t cap)
{
    memset(m->bytes, GUARD, sizeof m->bytes);
    memset(&m->base_, 0, sizeof m->base_);
    nk_msg_set_size(m, cap);
}

/* Whether bytes [from, to) of `p` are all GUARD. */
static int guarded(const unsigned char *p, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++)
        if (p[i] != GUARD)
            return 0;
    return 1;
}

static void pack_request(SMsgHdr *out, union msg *m, nk_uint32_t value)
{
    fill_msg(m, 32, value);
    CHECK_RC(rcOk, PackOutMsg(out, &m->base_, NULL));
}

static void pack_buffer(SMsgHdr *in, union msg *m, size_t cap)
{
    guard_msg(m, cap);
    CHECK_RC(rcOk, PackInMsg(in, &m->base_, NULL));
}

/* ---- a client call on its own thread ------------------------------------ */

struct client_job {
    pthread_t thread;
    Handle handle;
    int ex;               /* CallEx instead of Call */
    rtl_uint32_t mdelay;
    Handle sync;
    nk_uint32_t value;    /* sent */
    Retcode rc;
    nk_uint32_t got;      /* response value on rcOk */
    int untouched;        /* response buffer still all GUARD past the header */
    sem_t *done;          /* posted when the call returned (optional) */
};

static void *client_thread(void *arg)
{
    struct client_job *j = arg;
    union msg req, res;
    SMsgHdr out, in;
    pack_request(&out, &req, j->value);
    pack_buffer(&in, &res, BIG);
    j->rc = j->ex ? CallEx(j->handle, &out, &in, j->mdelay, j->sync) : Call(j->handle, &out, &in);
    j->got = j->rc == rcOk ? res.v.value : 0;
    j->untouched = guarded(res.bytes, sizeof res.base_, BIG);
    if (j->done)
        sem_post(j->done);
    return NULL;
}

static void client_start(struct client_job *j)
{
    CHECK_EQ(0, pthread_create(&j->thread, NULL, client_thread, j));
}

static void client_join(struct client_job *j)
{
    CHECK_EQ(0, pthread_join(j->thread, NULL));
}

/* ---- a server receiving (and maybe answering) one request --------------- */

struct server_job {
    pthread_t thread;
    Handle handle;
    int ex;
    rtl_uint32_t mdelay;
    Handle sync;
    size_t capacity;      /* receive buffer capacity (constant part) */
    int reply;            /* answer the request */
    size_t res_size;      /* response constant part size */
    size_t res_arena;     /* response arena bytes */
    sem_t *received;      /* posted after the receive returned (optional) */
    sem_t *go_reply;      /* waited on before Reply (optional) */
    Retcode recv_rc, reply_rc;
    nk_uint32_t got;      /* request value on rcOk */
    int untouched;        /* on failure: receive buffer still GUARD past the header */
};

static void *server_thread(void *arg)
{
    struct server_job *j = arg;
    union msg req, res;
    unsigned char res_arena_buf[BIG];
    struct nk_arena res_arena;
    SMsgHdr in, out;

    pack_buffer(&in, &req, j->capacity);
    j->recv_rc = j->ex ? RecvEx(j->handle, &in, j->mdelay, j->sync) : Recv(j->handle, &in);
    j->got = j->recv_rc == rcOk ? req.v.value : 0;
    j->untouched = guarded(req.bytes, sizeof req.base_, BIG);
    if (j->received)
        sem_post(j->received);
    if (!j->reply)
        return NULL;
    if (j->go_reply)
        while (sem_wait(j->go_reply) != 0) {
        }
    fill_msg(&res, j->res_size, j->got + 1000);
    memset(res_arena_buf, 'r', sizeof res_arena_buf);
    nk_arena_init(&res_arena, res_arena_buf, res_arena_buf + sizeof res_arena_buf);
    res_arena.current = res_arena_buf + j->res_arena; /* that many bytes to send */
    CHECK_RC(rcOk, PackOutMsg(&out, &res.base_, &res_arena));
    out.threadId = in.threadId; /* the caller this thread received */
    j->reply_rc = Reply(j->handle, &out);
    return NULL;
}

static void server_start(struct server_job *j)
{
    CHECK_EQ(0, pthread_create(&j->thread, NULL, server_thread, j));
}

static void server_join(struct server_job *j)
{
    CHECK_EQ(0, pthread_join(j->thread, NULL));
}

static void sem_wait_ok(sem_t *s)
{
    while (sem_wait(s) != 0) {
    }
}

/* No request is queued on `server`: a polling RecvEx times out. */
static void check_queue_empty(Handle server)
{
    union msg m;
    SMsgHdr in;
    pack_buffer(&in, &m, BIG);
    CHECK_RC(rcTimeout, RecvEx(server, &in, 0, INVALID_HANDLE));
}

/* ---- the cases ---------------------------------------------------------- */

static void timeouts(Handle client, Handle server)
{
    union msg req, res;
    SMsgHdr out, in;

    CASE("RecvEx with nothing queued: rcTimeout for mdelay 0 and 10");
    pack_buffer(&in, &res, BIG);
    CHECK_RC(rcTimeout, RecvEx(server, &in, 0, INVALID_HANDLE));
    CHECK_RC(rcTimeout, RecvEx(server, &in, 10, INVALID_HANDLE));
    CHECK(guarded(res.bytes, sizeof res.base_, BIG));

    CASE("CallEx with no server receiving: rcTimeout, request withdrawn");
    pack_request(&out, &req, 1);
    pack_buffer(&in, &res, BIG);
    CHECK_RC(rcTimeout, CallEx(client, &out, &in, 0, INVALID_HANDLE));
    CHECK_RC(rcTimeout, CallEx(client, &out, &in, 10, INVALID_HANDLE));
    CHECK(guarded(res.bytes, sizeof res.base_, BIG));
    check_queue_empty(server);

    CASE("CallEx with a finite timeout answered in time: rcOk");
    struct server_job s = {.handle = server, .ex = 1, .mdelay = INFINITE_TIMEOUT,
                           .sync = INVALID_HANDLE, .capacity = BIG, .reply = 1,
                           .res_size = 32};
    struct client_job c = {.handle = client, .ex = 1, .mdelay = 60000,
                           .sync = INVALID_HANDLE, .value = 5};
    server_start(&s);
    client_start(&c);
    client_join(&c);
    server_join(&s);
    CHECK_RC(rcOk, c.rc);
    CHECK_EQ(1005, c.got);
    CHECK_RC(rcOk, s.recv_rc);
    CHECK_RC(rcOk, s.reply_rc);

    CASE("CallEx times out after the server received: Reply gets rcNotConnected");
    /* The server must receive before the client's 100 ms pass; if the
     * machine was too busy for that, the request was withdrawn instead and
     * the attempt is repeated. */
    int attempts = 0;
    for (;;) {
        sem_t done;
        CHECK_EQ(0, sem_init(&done, 0, 0));
        struct server_job sj = {.handle = server, .ex = 1, .mdelay = 2000,
                                .sync = INVALID_HANDLE, .capacity = BIG, .reply = 1,
                                .res_size = 32, .go_reply = &done};
        struct client_job cj = {.handle = client, .ex = 1, .mdelay = 100,
                                .sync = INVALID_HANDLE, .value = 6, .done = &done};
        attempts++;
        server_start(&sj);
        sleep_ms(20);
        client_start(&cj);
        client_join(&cj);
        CHECK_RC(rcTimeout, cj.rc);
        CHECK(cj.untouched);
        server_join(&sj);
        sem_destroy(&done);
        if (sj.recv_rc == rcTimeout && attempts < 10)
            continue;
        CHECK_RC(rcOk, sj.recv_rc);
        CHECK_EQ(6, sj.got);
        CHECK_RC(rcNotConnected, sj.reply_rc);
        break;
    }
    check_queue_empty(server);
}

static void interrupts(Handle client, Handle server)
{
    union msg req, res;
    SMsgHdr out, in;
    Handle sync = INVALID_HANDLE;

    CASE("KnIpcCreateSyncObject gives a valid handle; NULL out is rcInvalidArgument");
    CHECK_RC(rcOk, KnIpcCreateSyncObject(&sync));
    CHECK(sync != INVALID_HANDLE && sync != 0);
    CHECK_RC(rcInvalidArgument, KnIpcCreateSyncObject(NULL));

    CASE("interrupt set before the call: CallEx and RecvEx return rcIpcInterrupt");
    CHECK_RC(rcOk, KnIpcSetInterrupt(sync));
    pack_request(&out, &req, 1);
    pack_buffer(&in, &res, BIG);
    CHECK_RC(rcIpcInterrupt, CallEx(client, &out, &in, INFINITE_TIMEOUT, sync));
    CHECK_RC(rcIpcInterrupt, RecvEx(server, &in, INFINITE_TIMEOUT, sync));
    CHECK(guarded(res.bytes, sizeof res.base_, BIG));
    check_queue_empty(server);

    CASE("cleared interrupt: CallEx with mdelay 0 times out instead");
    CHECK_RC(rcOk, KnIpcClearInterrupt(sync));
    CHECK_RC(rcTimeout, CallEx(client, &out, &in, 0, sync));
    CHECK_RC(rcTimeout, RecvEx(server, &in, 0, sync));

    CASE("interrupt set by another thread while CallEx waits: rcIpcInterrupt");
    struct client_job c = {.handle = client, .ex = 1, .mdelay = INFINITE_TIMEOUT,
                           .sync = sync, .value = 2};
    client_start(&c);
    sleep_ms(20);
    CHECK_RC(rcOk, KnIpcSetInterrupt(sync));
    client_join(&c);
    CHECK_RC(rcIpcInterrupt, c.rc);
    CHECK(c.untouched);
    CHECK_RC(rcOk, KnIpcClearInterrupt(sync));
    check_queue_empty(server);

    CASE("interrupt set by another thread while RecvEx waits: rcIpcInterrupt");
    struct server_job s = {.handle = server, .ex = 1, .mdelay = INFINITE_TIMEOUT,
                           .sync = sync, .capacity = BIG};
    server_start(&s);
    sleep_ms(20);
    CHECK_RC(rcOk, KnIpcSetInterrupt(sync));
    server_join(&s);
    CHECK_RC(rcIpcInterrupt, s.recv_rc);
    CHECK(s.untouched);
    CHECK_RC(rcOk, KnIpcClearInterrupt(sync));

    CASE("interrupt set after the server received: the call completes with rcOk");
    sem_t received, go;
    CHECK_EQ(0, sem_init(&received, 0, 0));
    CHECK_EQ(0, sem_init(&go, 0, 0));
    struct server_job s2 = {.handle = server, .ex = 0, .capacity = BIG, .reply = 1,
                            .res_size = 32, .received = &received, .go_reply = &go};
    struct client_job c2 = {.handle = client, .ex = 1, .mdelay = INFINITE_TIMEOUT,
                            .sync = sync, .value = 3};
    server_start(&s2);
    client_start(&c2);
    sem_wait_ok(&received);
    CHECK_RC(rcOk, s2.recv_rc);
    CHECK_RC(rcOk, KnIpcSetInterrupt(sync));
    sleep_ms(20); /* a wrong implementation would return rcIpcInterrupt now */
    sem_post(&go);
    client_join(&c2);
    server_join(&s2);
    CHECK_RC(rcOk, c2.rc);
    CHECK_EQ(1003, c2.got);
    CHECK_RC(rcOk, s2.reply_rc);
    CHECK_RC(rcOk, KnIpcClearInterrupt(sync));
    sem_destroy(&received);
    sem_destroy(&go);

    CASE("a syncHandle that is not a sync object: rcInvalidArgument");
    CHECK_RC(rcInvalidArgument, CallEx(client, &out, &in, 0, client));
    CHECK_RC(rcInvalidArgument, RecvEx(server, &in, 0, server));
    CHECK_RC(rcInvalidArgument, CallEx(client, &out, &in, 0, 0x7ABCDEF0u));
    CHECK_RC(rcInvalidArgument, KnIpcSetInterrupt(client));
    CHECK_RC(rcInvalidArgument, KnIpcClearInterrupt(server));
    CHECK_RC(rcInvalidArgument, KnIpcSetInterrupt(INVALID_HANDLE));

    CASE("a closed sync object is an unknown handle");
    CHECK_RC(rcOk, KnHandleClose(sync));
    CHECK_RC(rcInvalidArgument, KnIpcSetInterrupt(sync));
    CHECK_RC(rcInvalidArgument, CallEx(client, &out, &in, 0, sync));
    CHECK_RC(rcInvalidArgument, KnHandleClose(sync));
    check_queue_empty(server);
}

static void server_close(void)
{
    enum { WAITERS = 3 };
    Handle client = INVALID_HANDLE, server = INVALID_HANDLE;
    union msg req, res;
    SMsgHdr out, in;
    sem_t received, go;

    CASE("closing the server: received and queued callers get rcNotConnected");
    CHECK_RC(rcOk, kos_host_channel_create(&client, &server));
    CHECK(client != server);
    CHECK_EQ(0, sem_init(&received, 0, 0));
    CHECK_EQ(0, sem_init(&go, 0, 0));
    struct server_job s = {.handle = server, .capacity = BIG, .reply = 1, .res_size = 32,
                           .received = &received, .go_reply = &go};
    struct client_job c[WAITERS];
    server_start(&s);
    for (int i = 0; i < WAITERS; i++) {
        c[i] = (struct client_job){.handle = client, .ex = i == 2,
                                   .mdelay = INFINITE_TIMEOUT, .sync = INVALID_HANDLE,
                                   .value = (nk_uint32_t)i};
        client_start(&c[i]);
        if (i == 0)
            sem_wait_ok(&received); /* the first request is held by the server */
    }
    sleep_ms(20); /* the others queue (if not yet, they find the server closed) */
    CHECK_RC(rcOk, KnHandleClose(server));
    for (int i = 0; i < WAITERS; i++) {
        client_join(&c[i]);
        CHECK_RC(rcNotConnected, c[i].rc);
        CHECK(c[i].untouched);
    }
    sem_post(&go);
    server_join(&s);
    CHECK_RC(rcOk, s.recv_rc);
    CHECK_EQ(0, s.got);
    CHECK_RC(rcInvalidArgument, s.reply_rc); /* its server handle is closed */
    sem_destroy(&received);
    sem_destroy(&go);

    CASE("after the close: calls rcNotConnected, server handle unknown");
    pack_request(&out, &req, 9);
    pack_buffer(&in, &res, BIG);
    CHECK_RC(rcNotConnected, Call(client, &out, &in));
    CHECK_RC(rcNotConnected, CallEx(client, &out, &in, 0, INVALID_HANDLE));
    CHECK_RC(rcInvalidArgument, Recv(server, &in));
    CHECK_RC(rcInvalidArgument, KnHandleClose(server));
    CHECK(guarded(res.bytes, sizeof res.base_, BIG));

    CASE("a closed client handle is an unknown handle");
    CHECK_RC(rcOk, KnHandleClose(client));
    CHECK_RC(rcInvalidArgument, Call(client, &out, &in));
    CHECK_RC(rcInvalidArgument, KnHandleClose(client));
}

static void bad_handles(Handle client, Handle server)
{
    union msg req, res;
    SMsgHdr out, in;
    Handle h = INVALID_HANDLE;

    CASE("unknown handles and handles of the wrong type: rcInvalidArgument");
    pack_request(&out, &req, 1);
    pack_buffer(&in, &res, BIG);
    CHECK_RC(rcInvalidArgument, Call(0, &out, &in));
    CHECK_RC(rcInvalidArgument, Call(INVALID_HANDLE, &out, &in));
    CHECK_RC(rcInvalidArgument, Call(0x7654321u, &out, &in));
    CHECK_RC(rcInvalidArgument, CallEx(0x7654321u, &out, &in, 0, INVALID_HANDLE));
    CHECK_RC(rcInvalidArgument, Call(server, &out, &in));
    CHECK_RC(rcInvalidArgument, Recv(client, &in));
    CHECK_RC(rcInvalidArgument, RecvEx(0x7654321u, &in, 0, INVALID_HANDLE));
    CHECK_RC(rcInvalidArgument, Reply(client, &out));
    CHECK_RC(rcInvalidArgument, KnHandleClose(0x7654321u));
    CHECK(guarded(res.bytes, sizeof res.base_, BIG));

    CASE("Reply with no received request: rcInvalidArgument");
    fill_msg(&res, 32, 1);
    CHECK_RC(rcOk, PackOutMsg(&out, &res.base_, NULL));
    CHECK_RC(rcInvalidArgument, Reply(server, &out));

    CASE("host set-up functions: NULL, empty and unknown names");
    CHECK_RC(rcInvalidArgument, kos_host_channel_create(NULL, &h));
    CHECK_RC(rcInvalidArgument, kos_host_channel_create(&h, NULL));
    CHECK_RC(rcInvalidArgument, kos_host_server_register(NULL, &h));
    CHECK_RC(rcInvalidArgument, kos_host_server_register("", &h));
    CHECK_RC(rcInvalidArgument, kos_host_server_register("callex.x", NULL));
    CHECK_RC(rcInvalidArgument, kos_host_connect(NULL, &h));
    CHECK_RC(rcInvalidArgument, kos_host_connect("callex.none", NULL));
    CHECK_RC(rcNotConnected, kos_host_connect("callex.none", &h));
    CHECK_EQ(INVALID_HANDLE, h);
    Handle s1 = INVALID_HANDLE, s2 = INVALID_HANDLE;
    CHECK_RC(rcOk, kos_host_server_register("callex.dup", &s1));
    CHECK_RC(rcBusy, kos_host_server_register("callex.dup", &s2));
    CHECK_RC(rcOk, KnHandleClose(s1));
    CHECK_RC(rcOk, kos_host_server_register("callex.dup", &s2));
    CHECK_RC(rcOk, KnHandleClose(s2));
}

static void bad_headers(Handle client, Handle server)
{
    union msg req, res;
    SMsgHdr out, in, bad;
    unsigned char arena_buf[64];
    struct nk_arena arena;

    CASE("NULL headers: rcInvalidArgument from all five calls");
    pack_request(&out, &req, 1);
    pack_buffer(&in, &res, BIG);
    CHECK_RC(rcInvalidArgument, Call(client, NULL, &in));
    CHECK_RC(rcInvalidArgument, Call(client, &out, NULL));
    CHECK_RC(rcInvalidArgument, CallEx(client, NULL, NULL, 0, INVALID_HANDLE));
    CHECK_RC(rcInvalidArgument, Recv(server, NULL));
    CHECK_RC(rcInvalidArgument, RecvEx(server, NULL, 0, INVALID_HANDLE));
    CHECK_RC(rcInvalidArgument, Reply(server, NULL));

    CASE("malformed KCE headers: no buffer, short, immediate data, arena size without buffer");
    memset(&bad, 0, sizeof bad); /* descriptor 0 without a buffer */
    CHECK_RC(rcInvalidArgument, Call(client, &bad, &in));
    CHECK_RC(rcInvalidArgument, Call(client, &out, &bad));
    CHECK_RC(rcInvalidArgument, Recv(server, &bad));
    CHECK_RC(rcInvalidArgument, Reply(server, &bad));
    bad = out; /* constant part shorter than nk_message */
    bad.indirDescs[0].size = sizeof(struct nk_message) - 1;
    CHECK_RC(rcInvalidArgument, Call(client, &bad, &in));
    bad = in;
    bad.indirDescs[0].size = sizeof(struct nk_message) - 1;
    CHECK_RC(rcInvalidArgument, Call(client, &out, &bad));
    CHECK_RC(rcInvalidArgument, Recv(server, &bad));
    bad = out; /* immediate data: never sent by NK, refused */
    bad.immSize = 4;
    CHECK_RC(rcInvalidArgument, Call(client, &bad, &in));
    bad = in;
    bad.immSize = 4;
    CHECK_RC(rcInvalidArgument, Recv(server, &bad));
    bad = out; /* an arena size with no arena buffer */
    bad.indirDescs[1].buf = NULL;
    bad.indirDescs[1].size = 8;
    CHECK_RC(rcInvalidArgument, Call(client, &bad, &in));
    bad = in;
    bad.indirDescs[1].buf = NULL;
    bad.indirDescs[1].size = 8;
    CHECK_RC(rcInvalidArgument, Recv(server, &bad));
    bad = out; /* a message to send whose ex.size_ex is not descriptor 0's size */
    bad.indirDescs[0].size = 40;
    CHECK_RC(rcInvalidArgument, Call(client, &bad, &in));
    CHECK(guarded(res.bytes, sizeof res.base_, BIG));

    CASE("PackOutMsg/PackInMsg refuse NULLs and leave descriptor 0 empty");
    CHECK_RC(rcInvalidArgument, PackOutMsg(NULL, &req.base_, NULL));
    CHECK_RC(rcInvalidArgument, PackInMsg(NULL, &res.base_, NULL));
    CHECK_RC(rcInvalidArgument, PackOutMsg(&out, NULL, NULL));
    CHECK(out.indirDescs[0].buf == NULL);
    CHECK_RC(rcInvalidArgument, Call(client, &out, &in)); /* was packed before */
    CHECK_RC(rcInvalidArgument, PackInMsg(&in, NULL, NULL));
    CHECK(in.indirDescs[0].buf == NULL);
    CHECK_RC(rcInvalidArgument, Recv(server, &in));

    CASE("constant part smaller than nk_message or larger than the shim's bound");
    fill_msg(&req, sizeof(struct nk_message) - 1, 1);
    CHECK_RC(rcInvalidArgument, PackOutMsg(&out, &req.base_, NULL));
    fill_msg(&req, 0, 1);
    CHECK_RC(rcInvalidArgument, PackOutMsg(&out, &req.base_, NULL));
    guard_msg(&res, 8);
    CHECK_RC(rcInvalidArgument, PackInMsg(&in, &res.base_, NULL));
    fill_msg(&req, (size_t)SHIM_MSG_MAX + 8, 1);
    CHECK_RC(rcInvalidArgument, PackOutMsg(&out, &req.base_, NULL));

    CASE("misaligned constant part: rcInvalidArgument");
    CHECK_RC(rcInvalidArgument, PackOutMsg(&out, (struct nk_message *)(void *)(req.bytes + 4), NULL));
    CHECK_RC(rcInvalidArgument, PackInMsg(&in, (struct nk_message *)(void *)(res.bytes + 4), NULL));

    CASE("arena with end < start or current > end: rcInvalidArgument");
    fill_msg(&req, 32, 1);
    arena.start = arena_buf + 32;
    arena.current = arena_buf + 32;
    arena.end = arena_buf + 8;
    CHECK_RC(rcInvalidArgument, PackOutMsg(&out, &req.base_, &arena));
    guard_msg(&res, BIG);
    CHECK_RC(rcInvalidArgument, PackInMsg(&in, &res.base_, &arena));
    arena.start = arena_buf;
    arena.current = arena_buf + 40;
    arena.end = arena_buf + 32;
    CHECK_RC(rcInvalidArgument, PackOutMsg(&out, &req.base_, &arena));

    CASE("a message changed after packing is checked again by the call");
    nk_arena_init(&arena, arena_buf, arena_buf + sizeof arena_buf);
    CHECK_RC(rcOk, PackOutMsg(&out, &req.base_, &arena));
    pack_buffer(&in, &res, BIG);
    nk_msg_set_size(&req, 48); /* no longer descriptor 0's size */
    CHECK_RC(rcInvalidArgument, Call(client, &out, &in));
    CHECK(guarded(res.bytes, sizeof res.base_, BIG));
    check_queue_empty(server); /* none of these reached the server */
}

static void arena_helpers(void)
{
    _Alignas(8) unsigned char buf[16];
    struct nk_arena a;
    nk_ptr_t p, q, r;
    nk_uint32_t n = 99;

    CASE("nk_arena_store: NULLs are NK_EINVAL, a full arena NK_ENOMEM (arena unchanged)");
    nk_arena_init(&a, buf, buf + sizeof buf);
    CHECK_EQ(NK_EINVAL, nk_arena_store(nk_char_t, NULL, &p, "abc", 3));
    CHECK_EQ(NK_EINVAL, nk_arena_store(nk_char_t, &a, NULL, "abc", 3));
    CHECK_EQ(NK_EINVAL, nk_arena_store(nk_char_t, &a, &p, NULL, 3));
    CHECK_EQ(NK_EOK, nk_arena_store(nk_char_t, &a, &p, "0123456789", 10));
    CHECK_EQ(0, p.offset);
    CHECK_EQ(10, p.size);
    CHECK_EQ(NK_ENOMEM, nk_arena_store(nk_char_t, &a, &q, "0123456789", 10));
    CHECK(a.current == buf + 10);
    CHECK_EQ(10, nk_arena_size(&a));
    CHECK_EQ(16, nk_arena_capacity(&a));

    CASE("nk_arena_store aligns each block for its type; nk_arena_alloc likewise");
    nk_uint32_t word = 0xC0FFEEu;
    CHECK_EQ(NK_EOK, nk_arena_store(nk_uint32_t, &a, &q, &word, 1));
    CHECK_EQ(12, q.offset); /* 10 rounded up to 4 */
    CHECK_EQ(4, q.size);
    CHECK(a.current == a.end);
    nk_arena_reset(&a);
    CHECK(a.current == a.start);
    CHECK_EQ(NK_EOK, nk_arena_store(nk_char_t, &a, &p, "x", 1));
    nk_uint64_t *big = nk_arena_alloc(nk_uint64_t, &a, &r, 1);
    CHECK(big == (nk_uint64_t *)(void *)(buf + 8));
    CHECK_EQ(8, r.offset);
    CHECK_EQ(8, r.size);
    CHECK(nk_arena_alloc(nk_uint64_t, &a, &r, 1) == NULL); /* full */
    CHECK(a.current == a.end);

    CASE("nk_arena_get: element counts, and NULL with count 0 for bad references");
    nk_arena_reset(&a);
    CHECK_EQ(NK_EOK, nk_arena_store(nk_char_t, &a, &p, "0123456789", 10));
    CHECK_EQ(NK_EOK, nk_arena_store(nk_uint32_t, &a, &q, &word, 1));
    const nk_char_t *got = nk_arena_get(nk_char_t, &a, &p, &n);
    CHECK(got != NULL);
    CHECK_EQ(10, n);
    CHECK_MEM("0123456789", got, 10);
    nk_size_t wide = 0;
    const nk_uint32_t *w = nk_arena_get(nk_uint32_t, &a, &q, &wide);
    CHECK(w != NULL);
    CHECK_EQ(1, wide);
    CHECK_EQ(0xC0FFEEu, *w);
    CHECK(nk_arena_get(nk_uint32_t, &a, &p, &n) == NULL); /* 10 bytes: not whole u32s */
    CHECK_EQ(0, n);
    nk_ptr_t past = {12, 5};
    n = 99;
    CHECK(nk_arena_get(nk_char_t, &a, &past, &n) == NULL);
    CHECK_EQ(0, n);
    nk_ptr_t huge = {0xFFFFFFF0u, 0x20};
    CHECK(nk_arena_get(nk_char_t, &a, &huge, &n) == NULL);
    CHECK(nk_arena_get(nk_char_t, (struct nk_arena *)NULL, &p, &n) == NULL);
    CHECK(nk_arena_get(nk_char_t, &a, (nk_ptr_t *)NULL, &n) == NULL);
    nk_arena_reset(&a);
    CHECK(nk_arena_get(nk_char_t, &a, &p, &n) == NULL); /* nothing in use after a reset */
}

/* One call whose response (or request) does not fit; both sides see rcBufferTooSmall. */
static void too_small(Handle client, Handle server)
{
    union msg req, res;
    SMsgHdr out, in;
    unsigned char arena_buf[64];
    struct nk_arena arena;

    CASE("response constant part too small: rcBufferTooSmall, nothing written");
    struct server_job s = {.handle = server, .capacity = BIG, .reply = 1, .res_size = 64};
    server_start(&s);
    pack_request(&out, &req, 11);
    pack_buffer(&in, &res, 32); /* capacity 32, the response has 64 */
    CHECK_RC(rcBufferTooSmall, Call(client, &out, &in));
    server_join(&s);
    CHECK_RC(rcOk, s.recv_rc);
    CHECK_RC(rcBufferTooSmall, s.reply_rc);
    CHECK_EQ(32, nk_msg_get_size(&res));
    CHECK_EQ(32, in.indirDescs[0].size); /* nothing received: capacity unchanged */
    CHECK(guarded(res.bytes, sizeof res.base_, BIG));

    CASE("response arena too small: rcBufferTooSmall, guard after the arena unchanged");
    struct server_job s2 = {.handle = server, .capacity = BIG, .reply = 1, .res_size = 32,
                            .res_arena = 40};
    server_start(&s2);
    memset(arena_buf, GUARD, sizeof arena_buf);
    nk_arena_init(&arena, arena_buf, arena_buf + 8); /* 8 bytes; the response has 40 */
    pack_request(&out, &req, 12);
    guard_msg(&res, BIG);
    CHECK_RC(rcOk, PackInMsg(&in, &res.base_, &arena));
    CHECK_EQ(8, in.indirDescs[1].size);
    CHECK_RC(rcBufferTooSmall, Call(client, &out, &in));
    server_join(&s2);
    CHECK_RC(rcBufferTooSmall, s2.reply_rc);
    CHECK(guarded(arena_buf, 0, sizeof arena_buf));
    CHECK_EQ(8, in.indirDescs[1].size); /* nothing received: capacity unchanged */
    CHECK(guarded(res.bytes, sizeof res.base_, BIG));

    CASE("request larger than the server's buffer: rcBufferTooSmall on both sides");
    struct server_job s3 = {.handle = server, .capacity = 32, .reply = 0};
    server_start(&s3);
    fill_msg(&req, 64, 13);
    CHECK_RC(rcOk, PackOutMsg(&out, &req.base_, NULL));
    pack_buffer(&in, &res, BIG);
    CHECK_RC(rcBufferTooSmall, Call(client, &out, &in));
    server_join(&s3);
    CHECK_RC(rcBufferTooSmall, s3.recv_rc);
    CHECK(s3.untouched);
    CHECK(guarded(res.bytes, sizeof res.base_, BIG));
    fill_msg(&res, 32, 0);
    CHECK_RC(rcOk, PackOutMsg(&out, &res.base_, NULL));
    CHECK_RC(rcInvalidArgument, Reply(server, &out)); /* nothing to answer */

    CASE("a response exactly as large as the buffer fits: rcOk");
    struct server_job s4 = {.handle = server, .capacity = BIG, .reply = 1, .res_size = 40,
                            .res_arena = 8};
    server_start(&s4);
    memset(arena_buf, GUARD, sizeof arena_buf);
    nk_arena_init(&arena, arena_buf, arena_buf + 8);
    pack_request(&out, &req, 14);
    guard_msg(&res, 40);
    CHECK_RC(rcOk, PackInMsg(&in, &res.base_, &arena));
    CHECK_RC(rcOk, Call(client, &out, &in));
    server_join(&s4);
    CHECK_RC(rcOk, s4.reply_rc);
    CHECK_EQ(40, nk_msg_get_size(&res));
    CHECK_EQ(40, in.indirDescs[0].size); /* what arrived: constant part, */
    CHECK_EQ(8, in.indirDescs[1].size);  /* arena bytes */
    CHECK_EQ(1014, res.v.value);
    CHECK(guarded(res.bytes, 40, BIG));
    CHECK_MEM("rrrrrrrr", arena_buf, 8);
    CHECK(guarded(arena_buf, 8, sizeof arena_buf));
}

int main(void)
{
    Handle client = INVALID_HANDLE, server = INVALID_HANDLE;
    CHECK_RC(rcOk, kos_host_channel_create(&client, &server));

    timeouts(client, server);
    interrupts(client, server);
    server_close();
    bad_handles(client, server);
    bad_headers(client, server);
    arena_helpers();
    too_small(client, server);

    CHECK_RC(rcOk, KnHandleClose(client));
    CHECK_RC(rcOk, KnHandleClose(server));
    printf("callex: %u cases ok\n", cases);
    return 0;
}
