/*
 * fork: a traced (KOS_SHIM_TRACE file + C sink), counted (KOS_SHIM_STATS
 * text dump) and policed (KOS_SHIM_POLICY) program forks FORKS children
 * while one of its threads calls without pause, so the fork often lands
 * while that thread is inside the shim (and the trace drainer inside its
 * session).
 *
 * Each child, in the only thread it has: makes CHILD_CALLS calls through a
 * channel and server thread of its own and one the policy denies; loads a
 * policy (the reload lock and reader announcements of the parent's threads
 * must not hold it up); flushes the trace; checks that its statistics hold
 * only its own calls and that its trace sink got exactly its own records;
 * exits, writing its own dump (fork-<pid>.stats) and trace
 * (fork-<pid>.kst). A child that does not finish within 60 s counts as
 * deadlocked.
 *
 * A last child execs a shell that finds none of the shim's files among its
 * open descriptors (close-on-exec); and it leaves no file behind (a child
 * claims its output paths when it first has something to write).
 *
 * The parent then checks each child's dump says exactly the child's calls,
 * that its trace file exists, that its own statistics and trace records are
 * exactly its own calls (none of the children's), and that nothing was
 * lost.
 *
 * Output directory: $FORK_DIR (default build/fork-ctest), emptied first.
 */
#include "policy_harness.h"

#include <dirent.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>

#define FORKS 5
#define CHILD_CALLS 50
#define PARENT_CALLS 100

static const char *dir;

/* LeakSanitizer (ctests-san) in a forked child: what only the parent's
 * other threads referred to (their thread-local state: the emulator's
 * per-thread records, the C library's thread-exit lists) and the parent's
 * trace session, which the child forgets on purpose so as not to write to
 * the parent's files, are unreachable there. That is what fork() does to
 * a threaded process, not a leak of the shim's: the check stays on in the
 * parent. */
static volatile int forked_child;
int __lsan_is_turned_off(void);
int __lsan_is_turned_off(void)
{
    return forked_child;
}

/* ---- the trace sink: records delivered in this process ------------------ */

static atomic_ulong records;

static void sink(void *ctx, const KosShimTraceRecord *rec, const uint8_t *payload, size_t len)
{
    (void)ctx;
    (void)payload;
    (void)len;
    if (rec->kind == KOS_SHIM_TRACE_KIND_CALL)
        atomic_fetch_add(&records, 1);
}

/* ---- a thread that calls without pause ------------------------------------ */

static atomic_int busy_stop;
static atomic_ulong busy_calls;

static void *busy(void *p)
{
    Handle client = *(Handle *)p;
    while (!atomic_load(&busy_stop)) {
        CHECK_RC(rcOk, call_method(client, 7, 1));
        atomic_fetch_add(&busy_calls, 1);
        /* Let the trace drainer run on a loaded machine: a full ring drops
         * records by design (the caller never waits), and the test wants
         * every record. The thread still spends most of its time inside
         * the shim, where the forks should find it. */
        sched_yield();
    }
    return NULL;
}

static uint64_t stats_calls(void)
{
    kos_shim_stats_global_t g;
    CHECK_RC(rcOk, kos_shim_stats_global(&g));
    return g.calls;
}

static void child(void)
{
    /* Whatever the sink counted so far was the parent's. */
    atomic_store(&records, 0);
    CHECK_EQ(0, stats_calls());
    echo_pair p;
    echo_start(&p);
    for (int i = 0; i < CHILD_CALLS; i++)
        CHECK_RC(rcOk, call_method(p.client, 7, 3));
    CHECK_RC(rcSecurityDisallow, call_method(p.client, 7, 2));
    echo_stop(&p, 7);
    /* CHILD_CALLS + 2 Calls; CHILD_CALLS + 1 Recv and Reply each. */
    const unsigned long mine = 3 * CHILD_CALLS + 4;
    CHECK_EQ(mine, stats_calls());
    CHECK_EQ(0, stats_sum(KOS_SHIM_OP_CALL, 7, 1).calls); /* the parent's */
    CHECK_EQ(CHILD_CALLS, stats_sum(KOS_SHIM_OP_CALL, 7, 3).calls);
    static const char again[] = "deny call iid=7 mid=2\nallow any\n";
    char err[128];
    CHECK_RC(rcOk, kos_shim_policy_load(again, strlen(again), err, sizeof err));
    CHECK_RC(rcOk, kos_shim_trace_flush());
    CHECK_EQ(mine, atomic_load(&records));
    CHECK_EQ(0, kos_shim_trace_lost());
}

/* Wait for `pid` up to 60 s; a child still running then is killed. */
static void wait_child(pid_t pid)
{
    for (int i = 0; i < 6000; i++) {
        int status = 0;
        pid_t r = waitpid(pid, &status, WNOHANG);
        CHECK(r >= 0);
        if (r == pid) {
            CHECK(WIFEXITED(status));
            CHECK_EQ(0, WEXITSTATUS(status));
            return;
        }
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    fprintf(stderr, "fork: child %d still running after 60 s: deadlocked\n", (int)pid);
    exit(1);
}

static void check_child_files(pid_t pid)
{
    char path[512], text[8192];
    snprintf(path, sizeof path, "%s/fork-%d.stats", dir, (int)pid);
    read_file(path, text, sizeof text);
    char want[64];
    snprintf(want, sizeof want, "\ncalls %d, ", 3 * CHILD_CALLS + 4);
    if (!strstr(text, want)) {
        fprintf(stderr, "fork: %s lacks '%s':\n%s\n", path, want + 1, text);
        exit(1);
    }
    CHECK(strstr(text, " 7.1 ") == NULL); /* none of the parent's calls */
    CHECK_EQ(0, unlink(path));
    snprintf(path, sizeof path, "%s/fork-%d.kst", dir, (int)pid);
    struct stat st;
    CHECK_EQ(0, stat(path, &st));
    CHECK(st.st_size > 0);
    CHECK_EQ(0, unlink(path));
}

/* No file in the output directory is named after `pid`. */
static void check_no_files_of(pid_t pid)
{
    char prefix[32];
    snprintf(prefix, sizeof prefix, "fork-%d.", (int)pid);
    DIR *d = opendir(dir);
    CHECK(d != NULL);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, prefix, strlen(prefix)) == 0) {
            fprintf(stderr, "fork: the exec'd child left %s/%s behind\n", dir, e->d_name);
            exit(1);
        }
    }
    closedir(d);
}

static void empty_dir(void)
{
    mkdir("build", 0777);
    mkdir(dir, 0777);
    DIR *d = opendir(dir);
    CHECK(d != NULL);
    struct dirent *e;
    char path[512];
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "fork-", 5) == 0) {
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            unlink(path);
        }
    }
    closedir(d);
}

int main(void)
{
    dir = getenv("FORK_DIR") ? getenv("FORK_DIR") : "build/fork-ctest";
    empty_dir();
    char path[64], spec[512];
    write_temp(path, "deny call iid=7 mid=2\nallow any\n");
    CHECK_EQ(0, setenv("KOS_SHIM_POLICY", path, 1));
    snprintf(spec, sizeof spec, "file:%s/fork-%%p.kst", dir);
    CHECK_EQ(0, setenv("KOS_SHIM_TRACE", spec, 1));
    /* Rings with room for ~20 ms of the busy thread's records, so that a
     * drainer kept off the CPU by a loaded machine loses nothing (CI saw
     * 7131 records dropped with the default 4096). */
    CHECK_EQ(0, setenv("KOS_SHIM_TRACE_BUF", "65536", 1));
    snprintf(spec, sizeof spec, "text:%s/fork-%%p.stats", dir);
    CHECK_EQ(0, setenv("KOS_SHIM_STATS", spec, 1));
    CHECK_RC(rcOk, kos_shim_trace_set_sink(sink, NULL));

    echo_pair p;
    echo_start(&p);
    pthread_t t;
    CHECK_EQ(0, pthread_create(&t, NULL, busy, &p.client));
    unsigned long parent_calls = 0;
    pid_t kids[FORKS];
    for (int k = 0; k < FORKS; k++) {
        for (int i = 0; i < PARENT_CALLS / FORKS; i++, parent_calls++)
            CHECK_RC(rcOk, call_method(p.client, 7, 1));
        fflush(stdout);
        fflush(stderr);
        kids[k] = fork();
        CHECK(kids[k] >= 0);
        if (kids[k] == 0) {
            forked_child = 1;
            child();
            fflush(stdout);
            exit(0);
        }
    }
    for (int k = 0; k < FORKS; k++)
        wait_child(kids[k]);
    /* fork + exec: the new program holds none of the shim's files. */
    pid_t ex = fork();
    CHECK(ex >= 0);
    if (ex == 0) {
        char cmd[512];
        snprintf(cmd, sizeof cmd,
                 "for f in /proc/$$/fd/*; do case \"$(readlink $f)\" in *%s/fork-*) "
                 "echo \"leaked: $f -> $(readlink $f)\" >&2; exit 3;; esac; done; exit 0",
                 dir);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    wait_child(ex);
    check_no_files_of(ex);
    atomic_store(&busy_stop, 1);
    CHECK_EQ(0, pthread_join(t, NULL));
    CHECK_RC(rcSecurityDisallow, call_method(p.client, 7, 2));
    echo_stop(&p, 7);
    for (int k = 0; k < FORKS; k++)
        check_child_files(kids[k]);

    /* The parent's own: its calls, the busy thread's, the denied one and the
     * stop; each answered one also received and replied by its server. */
    unsigned long answered = parent_calls + atomic_load(&busy_calls) + 1;
    unsigned long total = 3 * answered + 1;
    CHECK_EQ(total, stats_calls());
    CHECK_EQ(0, stats_sum(KOS_SHIM_OP_CALL, 7, 3).calls); /* the children's */
    CHECK_RC(rcOk, kos_shim_trace_flush());
    CHECK_EQ(total, atomic_load(&records));
    CHECK_EQ(0, kos_shim_trace_lost());
    unlink(path);
    printf("fork: %d children forked while a thread called, each with exactly its own "
           "statistics, trace and policy; the parent's exact too\n",
           FORKS);
    return 0;
}
