/*
 * A C stand-in for the kernel's IPC library (libkos), for the interposition
 * tests: it defines the five system calls, PackOutMsg/PackInMsg, the arena
 * functions the <nk/arena.h> macros call and kos_host_channel_create, with
 * the KasperskyOS CE layout (SMsgHdr with two indirect descriptors,
 * nk_message with the ex bit-field), and counts every system call that
 * reaches it (standin_calls). Nothing of the shim is linked into it: in the
 * tests it sits *below* the shim, reached through ld --wrap (__real_Call
 * ...), through dlsym(RTLD_NEXT) from the LD_PRELOAD library, or directly
 * when no shim is present.
 *
 * It reads headers as the kernel does: descriptor 0 is the constant part
 * (bytes to send, or the room to receive into), descriptor 1 the arena
 * (likewise; NULL/0 for none); immSize must be 0 (immediate data is not
 * supported here). Of the message it reads only what the kernel needs: the
 * bytes to copy. On a receive it fills the header as the kernel does:
 * replyHandle (the server handle), sender (this process), threadId (the
 * caller's thread, a number the stand-in gives each calling thread), and,
 * as the host emulator does (this project's convention), the received
 * sizes in the descriptors: constant part in descriptor 0, arena bytes in
 * descriptor 1. Reply answers the request named by threadId (0: the one
 * pending).
 *
 * Semantics: an in-process loopback. A channel has one request slot; Call
 * posts the request and blocks until the server's Reply; Recv blocks until a
 * request is posted and copies it into the receive buffers; Reply copies the
 * response into the caller's buffers and wakes it. CallEx/RecvEx honour a
 * finite mdelay with rcTimeout; sync objects are not supported
 * (syncHandle must be INVALID_HANDLE).
 *
 * The service locator (ServiceLocatorRegister/Connect/GetRiid, declared
 * in the stand-in coresrv/sl/sl_api.h beside this file): a
 * connection name is a channel of this file, made by whichever of Register
 * (its server handle) and Connect (its client handle) comes first; at most
 * STANDIN_SL_CONNECTIONS names of up to 63 bytes, others INVALID_HANDLE.
 * Register's service list and count are not read; *id gets the
 * connection's number. GetRiid on a client handle of the locator answers
 * from a fixed table of one server's endpoints ("Server.main" 0,
 * "Server.admin" 1, in declaration order as RIIDs are numbered), and
 * INVALID_RIID for anything else. Compiled with -DSTANDIN_NO_LOCATOR, the
 * file has no locator (a libkos without one, for the link test of
 * mk/interpose.mk).
 *
 * Loopback channels (standin_loopback_create, for the benchmarks of
 * mk/bench.mk): Call/CallEx on one copies the request into the caller's
 * receive buffers at once, in the calling thread (no server thread, no
 * lock); Recv/RecvEx/Reply on it are rcInvalidArgument. The cost of such a
 * Call is the cost of the kernel entry the shim wraps, without a scheduler
 * in the measurement.
 */
#include "coresrv/sl/sl_api.h" /* the stand-in header beside this file */
#include <coresrv/syscalls.h>
#include <nk/arena.h>
#include <services/rtl/nk_msg.h>

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define STANDIN_CHANNELS 16
#define STANDIN_HANDLE_BASE 0x5100u

enum slot_state { SLOT_IDLE, SLOT_POSTED, SLOT_RECEIVED, SLOT_DONE };

struct channel {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    int used;
    int loopback; /* Call answers itself (standin_loopback_create) */
    enum slot_state state;
    const SMsgHdr *req;  /* the caller's request */
    SMsgHdr *resp;       /* where the caller wants the response */
    Tid caller;          /* the calling thread's number */
    Retcode result;
};

static struct channel channels[STANDIN_CHANNELS];
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long long op_count[5];

/* Reached-here counters, by operation: 0 Call, 1 CallEx, 2 Recv, 3 RecvEx, 4 Reply. */
unsigned long long standin_calls(int op);
unsigned long long standin_calls(int op) {
    if (op < 0 || op > 4) {
        return 0;
    }
    return __atomic_load_n(&op_count[op], __ATOMIC_RELAXED);
}

static void count(int op) { __atomic_fetch_add(&op_count[op], 1, __ATOMIC_RELAXED); }

/* The calling thread's number for SMsgHdr.threadId: 1, 2, ... in the order
 * threads first call (0 is reserved: "the first pending" on Reply). */
static Tid next_tid = 1;
static _Thread_local Tid my_tid;

static Tid this_thread(void) {
    if (my_tid == 0) {
        my_tid = __atomic_fetch_add(&next_tid, 1, __ATOMIC_RELAXED);
    }
    return my_tid;
}

static Retcode channel_create(Handle *client, Handle *server, int loopback) {
    if (client == NULL || server == NULL) {
        return rcInvalidArgument;
    }
    pthread_mutex_lock(&table_lock);
    for (unsigned i = 0; i < STANDIN_CHANNELS; i++) {
        if (!channels[i].used) {
            struct channel *ch = &channels[i];
            pthread_mutex_init(&ch->lock, NULL);
            pthread_cond_init(&ch->changed, NULL);
            ch->used = 1;
            ch->loopback = loopback;
            ch->state = SLOT_IDLE;
            pthread_mutex_unlock(&table_lock);
            *client = STANDIN_HANDLE_BASE + 2 * i;
            *server = STANDIN_HANDLE_BASE + 2 * i + 1;
            return rcOk;
        }
    }
    pthread_mutex_unlock(&table_lock);
    return rcOutOfMemory;
}

Retcode kos_host_channel_create(Handle *client, Handle *server) {
    return channel_create(client, server, 0);
}

/* A loopback channel's client handle (see the top of this file). */
Retcode standin_loopback_create(Handle *client);
Retcode standin_loopback_create(Handle *client) {
    Handle server;
    return channel_create(client, &server, 1);
}

/* The channel of `h` if it is a handle of the wanted end (server or client). */
static struct channel *lookup(Handle h, int server) {
    if (h < STANDIN_HANDLE_BASE || h >= STANDIN_HANDLE_BASE + 2 * STANDIN_CHANNELS) {
        return NULL;
    }
    unsigned off = h - STANDIN_HANDLE_BASE;
    if ((int)(off % 2) != server || !channels[off / 2].used) {
        return NULL;
    }
    return &channels[off / 2];
}

/* A header the kernel can use: no immediate data, a constant part at
 * least one nk_message long, an arena buffer whenever it has a size. */
static int header_ok(const SMsgHdr *h) {
    return h != NULL && ((uintptr_t)h % _Alignof(SMsgHdr)) == 0 && h->immSize == 0 &&
           h->indirDescs[0].buf != NULL && h->indirDescs[0].size >= sizeof(nk_message) &&
           (h->indirDescs[1].size == 0 || h->indirDescs[1].buf != NULL);
}

/* Copy message `from` into the buffers of `to` and record the received
 * sizes in `to`'s descriptors; rcBufferTooSmall writes nothing. */
static Retcode copy_message(const SMsgHdr *from, SMsgHdr *to) {
    const IndirDesc *src = from->indirDescs;
    IndirDesc *dst = to->indirDescs;
    if (src[0].size > dst[0].size || src[1].size > dst[1].size) {
        return rcBufferTooSmall;
    }
    memcpy(dst[0].buf, src[0].buf, src[0].size);
    if (src[1].size > 0) {
        memcpy(dst[1].buf, src[1].buf, src[1].size);
    }
    dst[0].size = src[0].size;
    dst[1].size = src[1].size;
    return rcOk;
}

/* Wait on ch->changed until `until` (NULL: forever); 0 or ETIMEDOUT. */
static int wait_changed(struct channel *ch, const struct timespec *until) {
    if (until == NULL) {
        return pthread_cond_wait(&ch->changed, &ch->lock);
    }
    return pthread_cond_timedwait(&ch->changed, &ch->lock, until);
}

static const struct timespec *deadline(rtl_uint32_t mdelay, struct timespec *ts) {
    if (mdelay == INFINITE_TIMEOUT) {
        return NULL;
    }
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += mdelay / 1000;
    ts->tv_nsec += (long)(mdelay % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec += 1;
        ts->tv_nsec -= 1000000000L;
    }
    return ts;
}

static Retcode do_call(Handle handle, const SMsgHdr *msgOut, SMsgHdr *msgIn,
                       rtl_uint32_t mdelay, Handle syncHandle) {
    struct channel *ch = lookup(handle, 0);
    if (ch == NULL || syncHandle != INVALID_HANDLE || !header_ok(msgOut) || !header_ok(msgIn)) {
        return rcInvalidArgument;
    }
    if (ch->loopback) {
        return copy_message(msgOut, msgIn);
    }
    Tid me = this_thread();
    struct timespec ts;
    const struct timespec *until = deadline(mdelay, &ts);
    pthread_mutex_lock(&ch->lock);
    while (ch->state != SLOT_IDLE) {
        if (wait_changed(ch, until) == ETIMEDOUT) {
            pthread_mutex_unlock(&ch->lock);
            return rcTimeout;
        }
    }
    ch->req = msgOut;
    ch->resp = msgIn;
    ch->caller = me;
    ch->state = SLOT_POSTED;
    pthread_cond_broadcast(&ch->changed);
    /* Once posted, the call runs to completion (as a received CallEx does). */
    while (ch->state != SLOT_DONE) {
        pthread_cond_wait(&ch->changed, &ch->lock);
    }
    Retcode rc = ch->result;
    ch->req = NULL;
    ch->resp = NULL;
    ch->state = SLOT_IDLE;
    pthread_cond_broadcast(&ch->changed);
    pthread_mutex_unlock(&ch->lock);
    return rc;
}

static Retcode do_recv(Handle handle, SMsgHdr *msgIn, rtl_uint32_t mdelay, Handle syncHandle) {
    struct channel *ch = lookup(handle, 1);
    if (ch == NULL || ch->loopback || syncHandle != INVALID_HANDLE || !header_ok(msgIn)) {
        return rcInvalidArgument;
    }
    struct timespec ts;
    const struct timespec *until = deadline(mdelay, &ts);
    pthread_mutex_lock(&ch->lock);
    while (ch->state != SLOT_POSTED) {
        if (wait_changed(ch, until) == ETIMEDOUT) {
            pthread_mutex_unlock(&ch->lock);
            return rcTimeout;
        }
    }
    Retcode rc = copy_message(ch->req, msgIn);
    if (rc == rcOk) {
        msgIn->replyHandle = handle;
        msgIn->sender = (TaskId)getpid();
        msgIn->threadId = ch->caller;
        ch->state = SLOT_RECEIVED;
    } else {
        /* The request does not fit: refused, and its caller is told so. */
        ch->result = rc;
        ch->state = SLOT_DONE;
        pthread_cond_broadcast(&ch->changed);
    }
    pthread_mutex_unlock(&ch->lock);
    return rc;
}

Retcode Call(Handle handle, const SMsgHdr *msgOut, SMsgHdr *msgIn) {
    count(0);
    return do_call(handle, msgOut, msgIn, INFINITE_TIMEOUT, INVALID_HANDLE);
}

Retcode CallEx(Handle handle, const SMsgHdr *msgOut, SMsgHdr *msgIn, rtl_uint32_t mdelay,
               Handle syncHandle) {
    count(1);
    return do_call(handle, msgOut, msgIn, mdelay, syncHandle);
}

Retcode Recv(Handle handle, SMsgHdr *msgIn) {
    count(2);
    return do_recv(handle, msgIn, INFINITE_TIMEOUT, INVALID_HANDLE);
}

Retcode RecvEx(Handle handle, SMsgHdr *msgIn, rtl_uint32_t mdelay, Handle syncHandle) {
    count(3);
    return do_recv(handle, msgIn, mdelay, syncHandle);
}

Retcode Reply(Handle handle, const SMsgHdr *msgOut) {
    count(4);
    struct channel *ch = lookup(handle, 1);
    if (ch == NULL || ch->loopback || !header_ok(msgOut)) {
        return rcInvalidArgument;
    }
    pthread_mutex_lock(&ch->lock);
    /* threadId names the caller to answer; 0 is the one pending. */
    if (ch->state != SLOT_RECEIVED || (msgOut->threadId != 0 && msgOut->threadId != ch->caller)) {
        pthread_mutex_unlock(&ch->lock);
        return rcInvalidArgument;
    }
    Retcode rc = copy_message(msgOut, ch->resp);
    ch->result = rc;
    ch->state = SLOT_DONE;
    pthread_cond_broadcast(&ch->changed);
    pthread_mutex_unlock(&ch->lock);
    return rc;
}

/* PackOutMsg / PackInMsg as the SDK fills the header [B]: immSize 0,
 * descriptor 0 the constant part with ex.size_ex bytes, descriptor 1 the
 * arena's start with its used bytes (sending) or its capacity (receiving),
 * NULL/0 without an arena. The other fields become 0, and missing or
 * inconsistent input is refused, as the shim's PackOutMsg does. */
static Retcode pack(SMsgHdr *hdr, const nk_message *msg, const struct nk_arena *arena,
                    int receiving) {
    if (hdr == NULL) {
        return rcInvalidArgument;
    }
    memset(hdr, 0, sizeof *hdr);
    if (msg == NULL || ((uintptr_t)msg % _Alignof(nk_message)) != 0 ||
        nk_msg_get_size(msg) < sizeof(nk_message)) {
        return rcInvalidArgument;
    }
    void *start = NULL;
    size_t size = 0;
    if (arena != NULL && arena->start != NULL) {
        const char *s = arena->start, *c = arena->current, *e = arena->end;
        if (c < s || e < c) {
            return rcInvalidArgument;
        }
        start = arena->start;
        size = (size_t)((receiving ? e : c) - s);
    } else if (arena != NULL && (arena->current != NULL || arena->end != NULL)) {
        return rcInvalidArgument;
    }
    hdr->indirDescs[0].buf = (void *)(uintptr_t)msg; /* only read when sending */
    hdr->indirDescs[0].size = nk_msg_get_size(msg);
    hdr->indirDescs[1].buf = start;
    hdr->indirDescs[1].size = (rtl_uint32_t)size;
    return rcOk;
}

Retcode PackOutMsg(SMsgHdr *hdr, const nk_message *msg, const nk_arena *arena) {
    return pack(hdr, msg, arena, 0);
}

Retcode PackInMsg(SMsgHdr *hdr, nk_message *buf, nk_arena *arena) {
    return pack(hdr, buf, arena, 1);
}

/* What the <nk/arena.h> macros call (their contracts are in
 * kos_ipc_shim.h): blocks aligned for their type, NK_E* results. */
static void *reserve(nk_arena *a, nk_ptr_t *ptr, rtl_size_t size, rtl_size_t align,
                     nk_err_t *err) {
    if (a == NULL || ptr == NULL || a->start == NULL || align == 0 || (align & (align - 1)) != 0 ||
        (char *)a->current < (char *)a->start || (char *)a->end < (char *)a->current) {
        *err = NK_EINVAL;
        return NULL;
    }
    size_t used = (size_t)((char *)a->current - (char *)a->start);
    size_t room = (size_t)((char *)a->end - (char *)a->start);
    size_t offset = (used + align - 1) & ~(align - 1);
    if (offset < used || offset > room || size > room - offset || offset + size > UINT32_MAX) {
        *err = NK_ENOMEM;
        return NULL;
    }
    ptr->offset = (nk_uint32_t)offset;
    ptr->size = (nk_uint32_t)size;
    a->current = (char *)a->start + offset + size;
    *err = NK_EOK;
    return (char *)a->start + offset;
}

void *kos_nk_arena_alloc(nk_arena *a, nk_ptr_t *ptr, rtl_size_t size, rtl_size_t align) {
    nk_err_t err;
    return reserve(a, ptr, size, align, &err);
}

nk_err_t kos_nk_arena_store(nk_arena *a, nk_ptr_t *ptr, const void *data, rtl_size_t size,
                            rtl_size_t align) {
    if (data == NULL && size > 0) {
        return NK_EINVAL;
    }
    nk_err_t err;
    void *block = reserve(a, ptr, size, align, &err);
    if (block != NULL && size > 0) {
        memcpy(block, data, size);
    }
    return err;
}

void *kos_nk_arena_get(const nk_arena *a, const nk_ptr_t *ptr, rtl_size_t elem_size, void *count,
                       rtl_size_t count_width) {
    void *block = NULL;
    size_t n = 0;
    if (a != NULL && ptr != NULL && a->start != NULL && elem_size != 0 &&
        (char *)a->current >= (char *)a->start &&
        (size_t)ptr->offset + ptr->size <= (size_t)((char *)a->current - (char *)a->start) &&
        ptr->size % elem_size == 0) {
        block = (char *)a->start + ptr->offset;
        n = ptr->size / elem_size;
    }
    if (count != NULL) {
        switch (count_width) {
        case 2: *(uint16_t *)count = (uint16_t)n; break;
        case 4: *(uint32_t *)count = (uint32_t)n; break;
        case 8: *(uint64_t *)count = (uint64_t)n; break;
        default: break;
        }
    }
    return block;
}

#ifndef STANDIN_NO_LOCATOR
/* The stand-in service locator (see the top of this file). */
#define STANDIN_SL_CONNECTIONS 4
#define STANDIN_SL_NAME_MAX 64

static struct {
    char name[STANDIN_SL_NAME_MAX];
    Handle client, server;
} sl_connections[STANDIN_SL_CONNECTIONS];
static unsigned sl_count;
static pthread_mutex_t sl_lock = PTHREAD_MUTEX_INITIALIZER;

static const struct {
    const char *endpoint;
    nk_iid_t riid;
} sl_endpoints[] = {{"Server.main", 0}, {"Server.admin", 1}};

/* The connection named `name`, made on first use; -1 when it cannot be. */
static int sl_connection(const char *name) {
    if (name == NULL || strlen(name) >= STANDIN_SL_NAME_MAX) {
        return -1;
    }
    int found = -1;
    pthread_mutex_lock(&sl_lock);
    for (unsigned i = 0; i < sl_count; i++) {
        if (strcmp(sl_connections[i].name, name) == 0) {
            found = (int)i;
        }
    }
    if (found < 0 && sl_count < STANDIN_SL_CONNECTIONS &&
        kos_host_channel_create(&sl_connections[sl_count].client,
                                &sl_connections[sl_count].server) == rcOk) {
        strcpy(sl_connections[sl_count].name, name);
        found = (int)sl_count++;
    }
    pthread_mutex_unlock(&sl_lock);
    return found;
}

Handle ServiceLocatorRegister(const char *connection, const void *services, rtl_size_t count,
                              ServiceId *id) {
    (void)services;
    (void)count;
    int c = sl_connection(connection);
    if (c < 0) {
        return INVALID_HANDLE;
    }
    if (id != NULL) {
        *id = (ServiceId)c;
    }
    return sl_connections[c].server;
}

Handle ServiceLocatorConnect(const char *connection) {
    int c = sl_connection(connection);
    return c < 0 ? INVALID_HANDLE : sl_connections[c].client;
}

nk_iid_t ServiceLocatorGetRiid(Handle handle, const char *endpoint) {
    int known = 0;
    pthread_mutex_lock(&sl_lock);
    for (unsigned i = 0; i < sl_count; i++) {
        known |= sl_connections[i].client == handle;
    }
    pthread_mutex_unlock(&sl_lock);
    for (size_t i = 0; known && endpoint != NULL && i < sizeof sl_endpoints / sizeof sl_endpoints[0];
         i++) {
        if (strcmp(sl_endpoints[i].endpoint, endpoint) == 0) {
            return sl_endpoints[i].riid;
        }
    }
    return INVALID_RIID;
}
#endif /* STANDIN_NO_LOCATOR */
