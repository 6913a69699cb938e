/*
 * roundtrip: one client thread sends a request to one server thread and
 * waits for the answer; the same harness measures the host kernel emulator
 * (Call -> Recv/Reply through the shim's exports) and four baselines:
 *
 *   emulator  Call / Recv / Reply on a kos_host_channel_create channel
 *   futex     a shared word and raw FUTEX_WAIT / FUTEX_WAKE (always the syscalls)
 *   condvar   pthread mutex + condition variable
 *   unix      a SOCK_STREAM socketpair, 8-byte messages
 *   pipe      two pipes, 8-byte messages
 *
 * For each: the latency of SAMPLES round trips, each timed on the client
 * (p50, p99, mean), then the throughput (round trips per second) of 1 and of
 * 2 independent client/server pairs running for MS milliseconds. Every
 * response is checked (the server answers value + 1). Prints one JSON object.
 *
 *   roundtrip SAMPLES MS [MECHANISM...]
 *
 * Linked with the host archive (target/release/libkos_ipc_shim.a); the shim
 * runs with whatever KOS_SHIM_* configuration the environment gives.
 */
#define _GNU_SOURCE

#include <coresrv/syscalls.h>
#include <services/rtl/nk_msg.h>

#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define STOP UINT64_MAX
#define MAX_PAIRS 2

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *what) {
    fprintf(stderr, "roundtrip: %s failed (errno %d)\n", what, errno);
    exit(1);
}

typedef struct {
    struct nk_message base_;
    nk_uint64_t value;
} rt_msg;

/* One client/server pair of any mechanism. */
struct pair {
    /* emulator */
    Handle client, server;
    /* pipe / unix: the client's and the server's end(s) */
    int cfd_r, cfd_w, sfd_r, sfd_w;
    /* condvar */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int state; /* 0 idle, 1 request, 2 response; also the futex word */
    _Alignas(64) atomic_int word;
    uint64_t value;
    pthread_t thread;
};

struct mech {
    const char *name;
    void (*setup)(struct pair *);
    uint64_t (*call)(struct pair *, uint64_t); /* one round trip: the answer */
    void *(*serve)(void *);                    /* until STOP is answered */
    void (*teardown)(struct pair *);
};

/* ---- emulator ---------------------------------------------------------- */

static void emu_setup(struct pair *p) {
    if (kos_host_channel_create(&p->client, &p->server) != rcOk) {
        die("kos_host_channel_create");
    }
}

static uint64_t emu_call(struct pair *p, uint64_t v) {
    rt_msg req, resp;
    memset(&req.base_, 0, sizeof req.base_);
    nk_req_reset(&req);
    nk_msg_set_method_id(&req, 1, 1);
    req.value = v;
    nk_req_reset(&resp);
    SMsgHdr out, in;
    if (PackOutMsg(&out, &req.base_, NULL) != rcOk || PackInMsg(&in, &resp.base_, NULL) != rcOk ||
        Call(p->client, &out, &in) != rcOk) {
        die("emulator Call");
    }
    return resp.value;
}

static void *emu_serve(void *arg) {
    struct pair *p = arg;
    for (;;) {
        rt_msg req, resp;
        memset(&req.base_, 0, sizeof req.base_);
        nk_req_reset(&req);
        SMsgHdr in, out;
        if (PackInMsg(&in, &req.base_, NULL) != rcOk || Recv(p->server, &in) != rcOk) {
            die("emulator Recv");
        }
        memset(&resp.base_, 0, sizeof resp.base_);
        nk_req_reset(&resp);
        nk_msg_set_method_id(&resp, nk_msg_get_iid(&req), nk_msg_get_mid(&req));
        resp.value = req.value + 1;
        if (PackOutMsg(&out, &resp.base_, NULL) != rcOk) {
            die("emulator PackOutMsg");
        }
        out.threadId = in.threadId;
        if (Reply(p->server, &out) != rcOk) {
            die("emulator Reply");
        }
        if (req.value == STOP) {
            return NULL;
        }
    }
}

static void emu_teardown(struct pair *p) {
    KnHandleClose(p->client);
    KnHandleClose(p->server);
}

/* ---- futex ------------------------------------------------------------- */

static void futex_wait(atomic_int *w, int val) {
    syscall(SYS_futex, (int *)w, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void futex_wake(atomic_int *w) {
    syscall(SYS_futex, (int *)w, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static void futex_setup(struct pair *p) { atomic_store(&p->word, 0); }

/* Wait (always in the kernel) until the word is `want`. */
static void futex_until(atomic_int *w, int want) {
    int v;
    while ((v = atomic_load_explicit(w, memory_order_acquire)) != want) {
        futex_wait(w, v);
    }
}

static uint64_t futex_call(struct pair *p, uint64_t v) {
    p->value = v;
    atomic_store_explicit(&p->word, 1, memory_order_release);
    futex_wake(&p->word);
    futex_until(&p->word, 2);
    uint64_t r = p->value;
    atomic_store_explicit(&p->word, 0, memory_order_relaxed);
    return r;
}

static void *futex_serve(void *arg) {
    struct pair *p = arg;
    for (;;) {
        futex_until(&p->word, 1);
        uint64_t v = p->value;
        p->value = v + 1;
        atomic_store_explicit(&p->word, 2, memory_order_release);
        futex_wake(&p->word);
        if (v == STOP) {
            return NULL;
        }
    }
}

static void nothing(struct pair *p) { (void)p; }

/* ---- condvar ----------------------------------------------------------- */

static void cv_setup(struct pair *p) {
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->cond, NULL);
    p->state = 0;
}

static uint64_t cv_call(struct pair *p, uint64_t v) {
    pthread_mutex_lock(&p->lock);
    p->value = v;
    p->state = 1;
    pthread_cond_broadcast(&p->cond);
    while (p->state != 2) {
        pthread_cond_wait(&p->cond, &p->lock);
    }
    uint64_t r = p->value;
    p->state = 0;
    pthread_mutex_unlock(&p->lock);
    return r;
}

static void *cv_serve(void *arg) {
    struct pair *p = arg;
    for (;;) {
        pthread_mutex_lock(&p->lock);
        while (p->state != 1) {
            pthread_cond_wait(&p->cond, &p->lock);
        }
        uint64_t v = p->value;
        p->value = v + 1;
        p->state = 2;
        pthread_cond_broadcast(&p->cond);
        pthread_mutex_unlock(&p->lock);
        if (v == STOP) {
            return NULL;
        }
    }
}

static void cv_teardown(struct pair *p) {
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->cond);
}

/* ---- pipe and unix socket: 8-byte messages over file descriptors -------- */

static void pipe_setup(struct pair *p) {
    int a[2], b[2];
    if (pipe(a) != 0 || pipe(b) != 0) {
        die("pipe");
    }
    p->sfd_r = a[0];
    p->cfd_w = a[1];
    p->cfd_r = b[0];
    p->sfd_w = b[1];
}

static void unix_setup(struct pair *p) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
        die("socketpair");
    }
    p->cfd_r = p->cfd_w = sv[0];
    p->sfd_r = p->sfd_w = sv[1];
}

static void fd_write(int fd, uint64_t v) {
    if (write(fd, &v, sizeof v) != (ssize_t)sizeof v) {
        die("write");
    }
}

static uint64_t fd_read(int fd) {
    uint64_t v;
    size_t got = 0;
    while (got < sizeof v) {
        ssize_t n = read(fd, (char *)&v + got, sizeof v - got);
        if (n <= 0) {
            die("read");
        }
        got += (size_t)n;
    }
    return v;
}

static uint64_t fd_call(struct pair *p, uint64_t v) {
    fd_write(p->cfd_w, v);
    return fd_read(p->cfd_r);
}

static void *fd_serve(void *arg) {
    struct pair *p = arg;
    for (;;) {
        uint64_t v = fd_read(p->sfd_r);
        fd_write(p->sfd_w, v + 1);
        if (v == STOP) {
            return NULL;
        }
    }
}

static void fd_teardown(struct pair *p) {
    close(p->cfd_r);
    close(p->sfd_r);
    if (p->cfd_w != p->cfd_r) {
        close(p->cfd_w);
        close(p->sfd_w);
    }
}

static const struct mech MECHS[] = {
    {"emulator", emu_setup, emu_call, emu_serve, emu_teardown},
    {"futex", futex_setup, futex_call, futex_serve, nothing},
    {"condvar", cv_setup, cv_call, cv_serve, cv_teardown},
    {"unix", unix_setup, fd_call, fd_serve, fd_teardown},
    {"pipe", pipe_setup, fd_call, fd_serve, fd_teardown},
};
#define NMECHS (sizeof MECHS / sizeof MECHS[0])

/* ---- harness ----------------------------------------------------------- */

static void start_pair(const struct mech *m, struct pair *p) {
    memset(p, 0, sizeof *p);
    m->setup(p);
    if (pthread_create(&p->thread, NULL, m->serve, p) != 0) {
        die("pthread_create");
    }
}

static void stop_pair(const struct mech *m, struct pair *p) {
    if (m->call(p, STOP) != STOP + 1) { /* wraps to 0 */
        fprintf(stderr, "roundtrip: %s: bad answer to STOP\n", m->name);
        exit(1);
    }
    pthread_join(p->thread, NULL);
    m->teardown(p);
}

static void check(const struct mech *m, uint64_t v, uint64_t r) {
    if (r != v + 1) {
        fprintf(stderr, "roundtrip: %s: answer %llu to %llu\n", m->name, (unsigned long long)r,
                (unsigned long long)v);
        exit(1);
    }
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

struct client_arg {
    const struct mech *m;
    struct pair *p;
    atomic_int *go;
    atomic_int *stop;
    uint64_t done;
};

static void *client_loop(void *arg) {
    struct client_arg *c = arg;
    while (!atomic_load(c->go)) {
    }
    uint64_t n = 0;
    while (!atomic_load_explicit(c->stop, memory_order_relaxed)) {
        for (int i = 0; i < 64; i++, n++) {
            check(c->m, n, c->m->call(c->p, n));
        }
    }
    c->done = n;
    return NULL;
}

/* Round trips per second of `k` pairs running for `ms` milliseconds. */
static double throughput(const struct mech *m, int k, unsigned ms) {
    struct pair pairs[MAX_PAIRS];
    struct client_arg args[MAX_PAIRS];
    pthread_t clients[MAX_PAIRS];
    atomic_int go = 0, stop = 0;
    for (int i = 0; i < k; i++) {
        start_pair(m, &pairs[i]);
        args[i] = (struct client_arg){m, &pairs[i], &go, &stop, 0};
        if (pthread_create(&clients[i], NULL, client_loop, &args[i]) != 0) {
            die("pthread_create");
        }
    }
    uint64_t t0 = now_ns();
    atomic_store(&go, 1);
    struct timespec d = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&d, NULL);
    atomic_store(&stop, 1);
    uint64_t total = 0;
    for (int i = 0; i < k; i++) {
        pthread_join(clients[i], NULL);
        total += args[i].done;
    }
    uint64_t t1 = now_ns();
    for (int i = 0; i < k; i++) {
        stop_pair(m, &pairs[i]);
    }
    return (double)total * 1e9 / (double)(t1 - t0);
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s SAMPLES MS [emulator|futex|condvar|unix|pipe ...]\n", argv[0]);
        return 2;
    }
    long samples = strtol(argv[1], NULL, 10);
    long ms = strtol(argv[2], NULL, 10);
    if (samples < 100 || ms < 1) {
        fprintf(stderr, "roundtrip: SAMPLES >= 100 and MS >= 1\n");
        return 2;
    }
    uint64_t *lat = malloc((size_t)samples * sizeof *lat);
    if (lat == NULL) {
        die("malloc");
    }
    printf("{\"samples\": %ld, \"ms\": %ld, \"mechanisms\": [", samples, ms);
    int first = 1;
    for (size_t i = 0; i < NMECHS; i++) {
        const struct mech *m = &MECHS[i];
        int wanted = argc == 3;
        for (int a = 3; a < argc; a++) {
            wanted |= strcmp(argv[a], m->name) == 0;
        }
        if (!wanted) {
            continue;
        }
        struct pair p;
        start_pair(m, &p);
        /* Warm-up by time, not by count: a VM's host adapts to a workload
         * (KVM's halt polling grows while wake-ups come soon), so the first
         * ~100 ms of any ping-pong are slower whatever the mechanism. Every
         * mechanism gets the same MS of round trips first. */
        uint64_t warm_until = now_ns() + (uint64_t)ms * 1000000u;
        for (uint64_t s = 0; s < 1000 || now_ns() < warm_until; s++) {
            check(m, s, m->call(&p, s));
        }
        double sum = 0;
        for (long s = 0; s < samples; s++) {
            uint64_t t0 = now_ns();
            uint64_t r = m->call(&p, (uint64_t)s);
            uint64_t t1 = now_ns();
            check(m, (uint64_t)s, r);
            lat[s] = t1 - t0;
            sum += (double)(t1 - t0);
        }
        stop_pair(m, &p);
        qsort(lat, (size_t)samples, sizeof *lat, cmp_u64);
        double t1p = throughput(m, 1, (unsigned)ms);
        double t2p = throughput(m, 2, (unsigned)ms);
        printf("%s\n  {\"name\": \"%s\", \"p50_ns\": %llu, \"p99_ns\": %llu, \"mean_ns\": %.1f, "
               "\"pairs1_per_s\": %.0f, \"pairs2_per_s\": %.0f}",
               first ? "" : ",", m->name, (unsigned long long)lat[samples / 2],
               (unsigned long long)lat[samples * 99 / 100], sum / (double)samples, t1p, t2p);
        first = 0;
        fflush(stdout);
    }
    printf("\n]}\n");
    free(lat);
    return 0;
}
