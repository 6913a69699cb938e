/*
 * KOS_SHIM_STATS_SIGNAL=1 in the wrap archive (no_std + the C-library
 * layer): each SIGUSR1 makes the shim's dump thread rewrite the
 * KOS_SHIM_STATS file while the program runs. Run with
 * KOS_SHIM_STATS=json:DIR/signal-%p.json, KOS_SHIM_STATS_SIGNAL=1 and DIR as
 * the argument; linked with --wrap against the stand-in's loopback channel
 * (answered in the calling thread). Prints what it saw; exits 0 only if
 * both dumps came with the counts made so far.
 */
#define _POSIX_C_SOURCE 200809L
#include <coresrv/syscalls.h>
#include <services/rtl/nk_msg.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

Retcode standin_loopback_create(Handle *client);

typedef struct {
    struct nk_message base_;
    nk_uint64_t value;
} msg_t;

static Handle h;

/* n calls of method 1; how many did not return rcOk. */
static unsigned calls(unsigned n) {
    unsigned bad = 0;
    for (unsigned i = 0; i < n; i++) {
        msg_t req, res;
        SMsgHdr out, in;
        memset(&req, 0, sizeof req);
        nk_req_reset(&req);
        nk_msg_set_method_id(&req, 7, 1);
        memset(&res, 0, sizeof res);
        nk_req_reset(&res);
        bad += PackOutMsg(&out, &req.base_, NULL) != rcOk ||
               PackInMsg(&in, &res.base_, NULL) != rcOk || Call(h, &out, &in) != rcOk;
    }
    return bad;
}

/* Wait (at most 20 s) until `path` holds a whole dump of `n` calls. */
static int dumped(const char *path, unsigned n) {
    static char buf[1 << 16];
    char want[64];
    snprintf(want, sizeof want, "\"global\":{\"calls\":%u,", n);
    for (int i = 0; i < 2000; i++) {
        FILE *f = fopen(path, "rb");
        if (f != NULL) {
            size_t len = fread(buf, 1, sizeof buf - 1, f);
            fclose(f);
            buf[len] = 0;
            if (strstr(buf, want) != NULL && strstr(buf, "\n]}\n") != NULL) {
                return 1;
            }
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 2 || standin_loopback_create(&h) != rcOk) {
        fprintf(stderr, "usage: stats_signal DIR (with KOS_SHIM_STATS=json:DIR/signal-%%p.json)\n");
        return 2;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/signal-%ld.json", argv[1], (long)getpid());
    unsigned bad = calls(7);
    raise(SIGUSR1);
    int first = dumped(path, 7);
    bad += calls(5);
    raise(SIGUSR1);
    int second = dumped(path, 12);
    printf("stats_signal: failed calls %u; after the first SIGUSR1 the dump has 7 calls: %s; "
           "after the second 12: %s\n",
           bad, first ? "yes" : "no", second ? "yes" : "no");
    return bad == 0 && first && second ? 0 : 1;
}
