/*
 * KOS_SHIM_STATS_INTERVAL in the wrap archive (no_std + the C-library
 * layer): the shim's thread appends the statistics to the KOS_SHIM_STATS
 * destinations every interval while the program runs. Run with
 * KOS_SHIM_STATS=json:DIR/periodic-%p.jsonl,text:DIR/periodic-%p.txt, a
 * short KOS_SHIM_STATS_INTERVAL and DIR as the argument; linked with --wrap
 * against the stand-in's loopback channel. Calls until the JSON file holds
 * three periodic dumps (at most 60 s: no assumption on the machine's
 * speed), prints how many calls it made and exits; the final dump follows
 * at exit. scripts/stats-check.py periodic checks the files.
 */
#define _POSIX_C_SOURCE 200809L
#include <coresrv/syscalls.h>
#include <services/rtl/nk_msg.h>

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

/* Periodic dumps in the JSON Lines file so far. */
static unsigned periodic_dumps(const char *path) {
    static const char periodic[] = "{\"dump\":{\"kind\":\"periodic\"";
    static char line[1 << 16];
    unsigned n = 0;
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return 0;
    }
    while (fgets(line, sizeof line, f) != NULL) {
        n += strncmp(line, periodic, sizeof periodic - 1) == 0;
    }
    fclose(f);
    return n;
}

int main(int argc, char **argv) {
    if (argc != 2 || standin_loopback_create(&h) != rcOk) {
        fprintf(stderr, "usage: stats_periodic DIR (with KOS_SHIM_STATS=json:DIR/periodic-%%p.jsonl,...)\n");
        return 2;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/periodic-%ld.jsonl", argv[1], (long)getpid());
    unsigned bad = 0, made = 0;
    int seen = 0;
    for (int i = 0; i < 3000 && !seen; i++) {
        bad += calls(10);
        made += 10;
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
        seen = periodic_dumps(path) >= 3;
    }
    printf("stats_periodic: made %u calls, failed %u; three periodic dumps seen: %s\n", made, bad,
           seen ? "yes" : "no");
    return bad == 0 && seen ? 0 : 1;
}
