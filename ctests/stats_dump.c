/*
 * stats_dump: statistics of a client/server pair on the host emulator.
 *
 * A policy (KOS_SHIM_POLICY) denies method 7.2. The client makes known
 * numbers of calls: 30 × 7.1, 20 × 7.2 (denied), 10 × 7.3, 1 × 7.99 (stops
 * the server), 5 × 7.1 on a channel whose server end is closed
 * (rcNotConnected) and 2 calls with NULL headers (rcInvalidArgument,
 * iid.mid 0.0). The C API must report exactly those numbers per key, the
 * server's Recv and Reply rows too, and the sum over keys must equal the
 * global count. The text table goes to stdout.
 *
 * `make stats-test` runs it again with KOS_SHIM_STATS=text:...,json:... and
 * KOS_SHIM_NAMES=ctests/stats_names.txt and checks the exit dumps
 * (mk/stats.mk, scripts/stats-check.py).
 */
#include "policy_harness.h"

#define MAX_ROWS 32

static kos_shim_stats_entry rows[MAX_ROWS];
static size_t nrows;

static void take_snapshot(void)
{
    size_t n = 0;
    CHECK_RC(rcOk, kos_shim_stats_snapshot(rows, MAX_ROWS, &n));
    nrows = n;
}

/* The row of (op, handle, iid, mid); fails the test when missing. */
static const kos_shim_stats_entry *row(uint32_t op, Handle h, uint16_t iid, uint16_t mid)
{
    for (size_t i = 0; i < nrows; i++)
        if (rows[i].op == op && rows[i].handle == h && rows[i].iid == iid && rows[i].mid == mid)
            return &rows[i];
    fprintf(stderr, "no row for op %u handle %u %u.%u\n", op, h, iid, mid);
    check_die();
    return NULL;
}

static void check_row(uint32_t op, Handle h, uint16_t iid, uint16_t mid, uint64_t calls,
                      uint64_t ok, uint64_t denied, Retcode err, uint64_t nerr)
{
    const kos_shim_stats_entry *r = row(op, h, iid, mid);
    CHECK_EQ(calls, r->calls);
    CHECK_EQ(ok, r->ok);
    CHECK_EQ(calls - ok, r->errors);
    CHECK_EQ(denied, r->denied);
    CHECK_EQ(ok, r->rc[kos_shim_stats_rc_slot(rcOk)]);
    if (nerr)
        CHECK_EQ(nerr, r->rc[kos_shim_stats_rc_slot(err)]);
    CHECK_EQ(calls, r->timed);
    CHECK(r->min_ns <= r->p50_ns && r->p50_ns <= r->p99_ns && r->p99_ns <= r->max_ns);
}

int main(void)
{
    char path[64];
    write_temp(path, "deny  call iid=7 mid=2\n"
                     "allow call\n"
                     "allow recv\n"
                     "allow reply\n"
                     "default deny\n");
    CHECK_EQ(0, setenv("KOS_SHIM_POLICY", path, 1));
    /* Timing even without KOS_SHIM_STATS (whose exit dumps stay as set). */
    CHECK_RC(rcOk, kos_shim_stats_set_level(KOS_SHIM_STATS_LEVEL_TIMING));
    CHECK_RC(rcInvalidArgument, kos_shim_stats_set_level(7));
    CHECK_RC(rcInvalidArgument, kos_shim_stats_snapshot(NULL, 0, NULL));
    CHECK_RC(rcInvalidArgument, kos_shim_stats_snapshot(NULL, 4, &nrows));
    CHECK_RC(rcInvalidArgument, kos_shim_stats_global(NULL));

    /* Calls before a reset are forgotten by it. */
    CHECK_RC(rcInvalidArgument, Call(1, NULL, NULL));
    kos_shim_stats_global_t g;
    CHECK_RC(rcOk, kos_shim_stats_global(&g));
    CHECK_EQ(1, g.calls);
    CHECK_RC(rcOk, kos_shim_stats_reset());
    CHECK_RC(rcOk, kos_shim_stats_global(&g));
    CHECK_EQ(0, g.calls);
    size_t n = 99;
    CHECK_RC(rcOk, kos_shim_stats_snapshot(NULL, 0, &n));
    CHECK_EQ(0, n);

    echo_pair p;
    echo_start(&p);
    for (int i = 0; i < 30; i++)
        CHECK_RC(rcOk, call_method(p.client, 7, 1));
    for (int i = 0; i < 20; i++)
        CHECK_RC(rcSecurityDisallow, call_method(p.client, 7, 2));
    for (int i = 0; i < 10; i++)
        CHECK_RC(rcOk, call_method(p.client, 7, 3));
    Handle client = p.client, server = p.arg.server;
    echo_stop(&p, 7); /* 7.99, and closes both handles */

    Handle dead_client, dead_server;
    CHECK_RC(rcOk, kos_host_channel_create(&dead_client, &dead_server));
    CHECK_RC(rcOk, KnHandleClose(dead_server));
    for (int i = 0; i < 5; i++)
        CHECK_RC(rcNotConnected, call_method(dead_client, 7, 1));
    CHECK_RC(rcOk, KnHandleClose(dead_client));
    for (int i = 0; i < 2; i++)
        CHECK_RC(rcInvalidArgument, Call(dead_client, NULL, NULL));

    take_snapshot();
    /* op, handle, iid.mid, calls, ok, denied, error code, its count */
    check_row(KOS_SHIM_OP_CALL, client, 7, 1, 30, 30, 0, rcOk, 0);
    check_row(KOS_SHIM_OP_CALL, client, 7, 2, 20, 0, 20, rcSecurityDisallow, 20);
    check_row(KOS_SHIM_OP_CALL, client, 7, 3, 10, 10, 0, rcOk, 0);
    check_row(KOS_SHIM_OP_CALL, client, 7, 99, 1, 1, 0, rcOk, 0);
    check_row(KOS_SHIM_OP_RECV, server, 7, 1, 30, 30, 0, rcOk, 0);
    check_row(KOS_SHIM_OP_RECV, server, 7, 3, 10, 10, 0, rcOk, 0);
    check_row(KOS_SHIM_OP_RECV, server, 7, 99, 1, 1, 0, rcOk, 0);
    check_row(KOS_SHIM_OP_REPLY, server, 7, 1, 30, 30, 0, rcOk, 0);
    check_row(KOS_SHIM_OP_REPLY, server, 7, 3, 10, 10, 0, rcOk, 0);
    check_row(KOS_SHIM_OP_REPLY, server, 7, 99, 1, 1, 0, rcOk, 0);
    check_row(KOS_SHIM_OP_CALL, dead_client, 7, 1, 5, 0, 0, rcNotConnected, 5);
    check_row(KOS_SHIM_OP_CALL, dead_client, 0, 0, 2, 0, 0, rcInvalidArgument, 2);
    CHECK_EQ(12, nrows);
    /* Bytes: requests and responses are a bare nk_message (24 bytes). */
    CHECK_EQ(30 * 24, row(KOS_SHIM_OP_CALL, client, 7, 1)->out_const);
    CHECK_EQ(30 * 24, row(KOS_SHIM_OP_CALL, client, 7, 1)->in_const);
    CHECK_EQ(0, row(KOS_SHIM_OP_CALL, client, 7, 2)->out_const);
    CHECK_EQ(30 * 24, row(KOS_SHIM_OP_RECV, server, 7, 1)->in_const);

    uint64_t sum = 0;
    for (size_t i = 0; i < nrows; i++)
        sum += rows[i].calls;
    CHECK_RC(rcOk, kos_shim_stats_global(&g));
    CHECK_EQ(sum, g.calls);
    CHECK_EQ(68, g.calls_by_op[KOS_SHIM_OP_CALL]);
    CHECK_EQ(41, g.calls_by_op[KOS_SHIM_OP_RECV]);
    CHECK_EQ(41, g.calls_by_op[KOS_SHIM_OP_REPLY]);
    CHECK_EQ(0, g.dropped);
    CHECK_EQ(KOS_SHIM_STATS_LEVEL_TIMING, g.level);

    /* A short array: filled as far as it goes. */
    kos_shim_stats_entry two[2];
    CHECK_RC(rcBufferTooSmall, kos_shim_stats_snapshot(two, 2, &n));
    CHECK_EQ(12, n);
    CHECK(memcmp(two, rows, sizeof two) == 0);

    fflush(stdout);
    CHECK_RC(rcOk, kos_shim_stats_write(1, KOS_SHIM_FORMAT_TEXT));
    CHECK_RC(rcInvalidArgument, kos_shim_stats_write(1, 9));
    CHECK_RC(rcFail, kos_shim_stats_write(9999, KOS_SHIM_FORMAT_JSON));
    printf("stats_dump: %zu keys, %llu calls, counts exact\n", nrows, (unsigned long long)g.calls);
    unlink(path);
    return 0;
}
