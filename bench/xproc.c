/*
 * xproc: round trips between two processes, the way entities under
 * kos-host-run talk: the host emulator across processes (a shared-memory
 * world, KOS_HOST_WORLD) beside the OS mechanisms two processes would use:
 *
 *   emulator  Call / Recv / Reply on a channel the server registered in the
 *             world (kos_host_server_register / kos_host_connect)
 *   futex     a word in a MAP_SHARED page, FUTEX_WAIT / FUTEX_WAKE (shared)
 *   unix      a SOCK_STREAM socketpair, 8-byte messages
 *   pipe      two pipes, 8-byte messages
 *
 * The server is a child process: forked for futex/unix/pipe (the page and
 * the descriptors are inherited), forked and re-executed for the emulator
 * (a process attaches to the world at its first IPC call, so the server
 * must start clean). For each mechanism: SAMPLES round trips timed on the
 * client after MS milliseconds of warm-up (p50, p99, mean in ns), every
 * answer checked (value + 1). Prints one JSON object.
 *
 *   xproc SAMPLES MS [emulator|futex|unix|pipe ...]
 *   xproc --serve-emulator NAME     (internal: the emulator's server)
 */
#define _GNU_SOURCE

#include <coresrv/syscalls.h>
#include <services/rtl/nk_msg.h>

#include <errno.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define STOP UINT64_MAX

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The run's world: removed at exit, also when a mechanism fails. */
static char world_shm[80];

static void unlink_world(void) {
    if (world_shm[0] != 0) {
        shm_unlink(world_shm);
    }
}

static void die(const char *what) {
    fprintf(stderr, "xproc: %s failed (errno %d)\n", what, errno);
    exit(1);
}

typedef struct {
    struct nk_message base_;
    nk_uint64_t value;
} rt_msg;

/* One client/server pair; the server runs in process `child`. */
struct pair {
    pid_t child;
    Handle client;
    int cfd_r, cfd_w, sfd_r, sfd_w;
    atomic_int *word; /* futex: 0 idle, 1 request, 2 response */
    uint64_t *value;
};

struct mech {
    const char *name;
    void (*start)(struct pair *, const char *self);
    uint64_t (*call)(struct pair *, uint64_t);
    void (*finish)(struct pair *);
};

static void reap(struct pair *p, const char *name) {
    int status = 0;
    if (waitpid(p->child, &status, 0) != p->child || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0) {
        fprintf(stderr, "xproc: %s: the server process failed (status 0x%x)\n", name, status);
        exit(1);
    }
}

/* ---- emulator across processes ------------------------------------------ */

static int emu_serve(const char *name) {
    Handle h;
    if (kos_host_server_register(name, &h) != rcOk) {
        die("kos_host_server_register");
    }
    for (;;) {
        rt_msg req, resp;
        memset(&req.base_, 0, sizeof req.base_);
        nk_req_reset(&req);
        SMsgHdr in, out;
        if (PackInMsg(&in, &req.base_, NULL) != rcOk || Recv(h, &in) != rcOk) {
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
        if (Reply(h, &out) != rcOk) {
            die("emulator Reply");
        }
        if (req.value == STOP) {
            return 0;
        }
    }
}

static void emu_start(struct pair *p, const char *self) {
    p->child = fork();
    if (p->child < 0) {
        die("fork");
    }
    if (p->child == 0) {
        /* The server is entity bench.Server of the world; the client's
         * connection "xproc.bench" targets it (see main). */
        if (setenv("KOS_HOST_ENTITY", "bench.Server", 1) != 0) {
            die("setenv");
        }
        execl(self, self, "--serve-emulator", "xproc.bench", (char *)NULL);
        die("execl");
    }
    /* kos_host_connect waits for the server to register (bounded). */
    if (kos_host_connect("xproc.bench", &p->client) != rcOk) {
        die("kos_host_connect");
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

static void emu_finish(struct pair *p) {
    reap(p, "emulator");
    KnHandleClose(p->client);
}

/* ---- futex in a shared page ---------------------------------------------- */

static void fwait(atomic_int *w, int val) {
    syscall(SYS_futex, (int *)w, FUTEX_WAIT, val, NULL, NULL, 0);
}

static void fwake(atomic_int *w) {
    syscall(SYS_futex, (int *)w, FUTEX_WAKE, 1, NULL, NULL, 0);
}

static void funtil(atomic_int *w, int want) {
    int v;
    while ((v = atomic_load(w)) != want) {
        fwait(w, v);
    }
}

static void futex_start(struct pair *p, const char *self) {
    (void)self;
    void *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED) {
        die("mmap");
    }
    p->word = page;
    p->value = (uint64_t *)((char *)page + 64);
    atomic_store(p->word, 0);
    p->child = fork();
    if (p->child < 0) {
        die("fork");
    }
    if (p->child == 0) {
        for (;;) {
            funtil(p->word, 1);
            uint64_t v = *p->value;
            *p->value = v + 1;
            atomic_store(p->word, 2);
            fwake(p->word);
            if (v == STOP) {
                _exit(0);
            }
        }
    }
}

static uint64_t futex_call(struct pair *p, uint64_t v) {
    *p->value = v;
    atomic_store(p->word, 1);
    fwake(p->word);
    funtil(p->word, 2);
    uint64_t r = *p->value;
    atomic_store(p->word, 0);
    return r;
}

static void futex_finish(struct pair *p) {
    reap(p, "futex");
    munmap(p->word, 4096);
}

/* ---- pipes and a unix socket --------------------------------------------- */

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

static void fd_fork(struct pair *p) {
    p->child = fork();
    if (p->child < 0) {
        die("fork");
    }
    if (p->child == 0) {
        for (;;) {
            uint64_t v = fd_read(p->sfd_r);
            fd_write(p->sfd_w, v + 1);
            if (v == STOP) {
                _exit(0);
            }
        }
    }
}

static void pipe_start(struct pair *p, const char *self) {
    (void)self;
    int a[2], b[2];
    if (pipe(a) != 0 || pipe(b) != 0) {
        die("pipe");
    }
    p->cfd_w = a[1];
    p->sfd_r = a[0];
    p->sfd_w = b[1];
    p->cfd_r = b[0];
    fd_fork(p);
}

static void unix_start(struct pair *p, const char *self) {
    (void)self;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
        die("socketpair");
    }
    p->cfd_r = p->cfd_w = sv[0];
    p->sfd_r = p->sfd_w = sv[1];
    fd_fork(p);
}

static uint64_t fd_call(struct pair *p, uint64_t v) {
    fd_write(p->cfd_w, v);
    return fd_read(p->cfd_r);
}

static void fd_finish(struct pair *p) {
    reap(p, "fd");
    close(p->cfd_r);
    close(p->sfd_r);
    if (p->cfd_w != p->cfd_r) {
        close(p->cfd_w);
        close(p->sfd_w);
    }
}

static const struct mech MECHS[] = {
    {"emulator", emu_start, emu_call, emu_finish},
    {"futex", futex_start, futex_call, futex_finish},
    {"unix", unix_start, fd_call, fd_finish},
    {"pipe", pipe_start, fd_call, fd_finish},
};
#define NMECHS (sizeof MECHS / sizeof MECHS[0])

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void check(const struct mech *m, uint64_t v, uint64_t r) {
    if (r != v + 1) {
        fprintf(stderr, "xproc: %s: answer %llu to %llu\n", m->name, (unsigned long long)r,
                (unsigned long long)v);
        exit(1);
    }
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "--serve-emulator") == 0) {
        return emu_serve(argv[2]);
    }
    if (argc < 3) {
        fprintf(stderr, "usage: %s SAMPLES MS [emulator|futex|unix|pipe ...]\n", argv[0]);
        return 2;
    }
    long samples = strtol(argv[1], NULL, 10);
    long ms = strtol(argv[2], NULL, 10);
    if (samples < 100 || ms < 1) {
        fprintf(stderr, "xproc: SAMPLES >= 100 and MS >= 1\n");
        return 2;
    }
    /* The emulator's processes share one world, named for this run. */
    char world[64];
    snprintf(world, sizeof world, "kos-bench-%d", (int)getpid());
    if ((getenv("KOS_HOST_WORLD") == NULL && setenv("KOS_HOST_WORLD", world, 1) != 0) ||
        setenv("KOS_HOST_ENTITY", "bench.Client", 1) != 0 ||
        setenv("KOS_HOST_CONNECTIONS", "xproc.bench=bench.Server", 1) != 0) {
        die("setenv");
    }
    snprintf(world_shm, sizeof world_shm, "/%s", getenv("KOS_HOST_WORLD"));
    atexit(unlink_world);
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
        memset(&p, 0, sizeof p);
        m->start(&p, "/proc/self/exe");
        /* The same warm-up by time for every mechanism (see roundtrip.c). */
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
        check(m, STOP, m->call(&p, STOP));
        m->finish(&p);
        qsort(lat, (size_t)samples, sizeof *lat, cmp_u64);
        printf("%s\n  {\"name\": \"%s\", \"p50_ns\": %llu, \"p99_ns\": %llu, \"mean_ns\": %.1f}",
               first ? "" : ",", m->name, (unsigned long long)lat[samples / 2],
               (unsigned long long)lat[samples * 99 / 100], sum / (double)samples);
        first = 0;
        fflush(stdout);
    }
    printf("\n]}\n");
    free(lat);
    return 0;
}
