/*
 * A C stand-in for the kernel's IPC library (libkos), for the interposition
 * tests: it defines the five system calls, PackOutMsg/PackInMsg, the arena
 * helpers and kos_host_channel_create with the host profile's layout, and
 * counts every system call that reaches it (standin_calls). Nothing of the
 * shim is linked into it: in the tests it sits *below* the shim, reached
 * through ld --wrap (__real_Call ...), through dlsym(RTLD_NEXT) from the
 * LD_PRELOAD library, or directly when no shim is present.
 *
 * Semantics: an in-process loopback. A channel has one request slot; Call
 * posts the request and blocks until the server's Reply; Recv blocks until a
 * request is posted and copies it into the receive buffers; Reply copies the
 * response into the caller's buffers and wakes it. CallEx/RecvEx honour a
 * finite mdelay with rcTimeout; sync objects are not supported
 * (syncHandle must be INVALID_HANDLE).
 *
 * Loopback channels (standin_loopback_create, for the benchmarks of
 * mk/bench.mk): Call/CallEx on one copies the request into the caller's
 * receive buffers at once, in the calling thread, and marks it a response
 * (no server thread, no lock); Recv/RecvEx/Reply on it are rcInvalidArgument.
 * The cost of such a Call is the cost of the kernel entry the shim wraps,
 * without a scheduler in the measurement.
 */
#include <coresrv/syscalls.h>
#include <services/rtl/nk_msg.h>

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

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

static int header_ok(const SMsgHdr *h, uint32_t dir) {
    return h != NULL && h->magic == SMSGHDR_MAGIC && h->dir == dir && h->msg != NULL &&
           h->msg_size >= sizeof(nk_message);
}

static size_t arena_used(const struct nk_arena *a) {
    return (a == NULL || a->start == NULL) ? 0 : (size_t)(a->current - a->start);
}

static size_t arena_room(const struct nk_arena *a) {
    return (a == NULL || a->start == NULL) ? 0 : (size_t)(a->end - a->start);
}

/* Copy message `from` into the buffers of `to`; rcBufferTooSmall writes nothing. */
static Retcode copy_message(const SMsgHdr *from, SMsgHdr *to) {
    size_t used = arena_used(from->arena);
    if (from->msg_size > to->msg_size || used > arena_room(to->arena)) {
        return rcBufferTooSmall;
    }
    memcpy(to->msg, from->msg, from->msg_size);
    if (to->arena != NULL && to->arena->start != NULL) {
        if (used > 0) {
            memcpy(to->arena->start, from->arena->start, used);
        }
        to->arena->current = to->arena->start + used;
    }
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
    if (ch == NULL || syncHandle != INVALID_HANDLE || !header_ok(msgOut, SMSGHDR_DIR_OUT) ||
        !header_ok(msgIn, SMSGHDR_DIR_IN)) {
        return rcInvalidArgument;
    }
    if (ch->loopback) {
        Retcode rc = copy_message(msgOut, msgIn);
        if (rc == rcOk) {
            msgIn->msg->kind = NK_MSG_KIND_RESPONSE;
        }
        return rc;
    }
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
    if (ch == NULL || ch->loopback || syncHandle != INVALID_HANDLE ||
        !header_ok(msgIn, SMSGHDR_DIR_IN)) {
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
    if (ch == NULL || ch->loopback || !header_ok(msgOut, SMSGHDR_DIR_OUT)) {
        return rcInvalidArgument;
    }
    pthread_mutex_lock(&ch->lock);
    if (ch->state != SLOT_RECEIVED) {
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

static Retcode bind(SMsgHdr *hdr, nk_message *msg, struct nk_arena *arena, uint32_t dir) {
    if (hdr == NULL || msg == NULL || ((uintptr_t)msg % 8) != 0 || msg->size < sizeof(nk_message) ||
        msg->size > NK_MSG_MAX_SIZE) {
        return rcInvalidArgument;
    }
    if (arena != NULL && (arena->current < arena->start || arena->end < arena->current)) {
        return rcInvalidArgument;
    }
    hdr->msg = msg;
    hdr->msg_size = msg->size;
    hdr->arena = arena;
    hdr->magic = SMSGHDR_MAGIC;
    hdr->dir = dir;
    return rcOk;
}

Retcode PackOutMsg(SMsgHdr *hdr, const nk_message *msg, const struct nk_arena *arena) {
    /* The header holds non-const pointers; an outgoing message is only read. */
    return bind(hdr, (nk_message *)(uintptr_t)msg, (struct nk_arena *)(uintptr_t)arena,
                SMSGHDR_DIR_OUT);
}

Retcode PackInMsg(SMsgHdr *hdr, nk_message *buf, struct nk_arena *arena) {
    return bind(hdr, buf, arena, SMSGHDR_DIR_IN);
}

void nk_arena_init(struct nk_arena *a, void *buf, rtl_size_t size) {
    if (a == NULL) {
        return;
    }
    a->start = buf;
    a->current = buf;
    a->end = buf == NULL ? NULL : (uint8_t *)buf + size;
}

void nk_arena_reset(struct nk_arena *a) {
    if (a != NULL) {
        a->current = a->start;
    }
}

Retcode nk_arena_store(struct nk_arena *a, nk_ptr_t *ptr, const void *data, rtl_size_t size) {
    if (a == NULL || ptr == NULL || (data == NULL && size > 0) || a->start == NULL) {
        return rcInvalidArgument;
    }
    if (size > (size_t)(a->end - a->current)) {
        return rcBufferTooSmall;
    }
    if (size > 0) {
        memcpy(a->current, data, size);
    }
    ptr->offset = (uint32_t)(a->current - a->start);
    ptr->size = (uint32_t)size;
    a->current += size;
    return rcOk;
}

const void *nk_arena_get(const struct nk_arena *a, const nk_ptr_t *ptr, rtl_size_t *size) {
    if (a == NULL || ptr == NULL || a->start == NULL ||
        (size_t)ptr->offset + ptr->size > (size_t)(a->current - a->start)) {
        return NULL;
    }
    if (size != NULL) {
        *size = ptr->size;
    }
    return a->start + ptr->offset;
}
