//! Unit tests on private tables (the process-wide one is exercised by
//! tests/stats_exact.rs, in a process of its own).

use super::histogram;
use super::*;
use crate::abi::*;
use crate::call::{CallInfo, Verdict};
use crate::clock::Scale;
use crate::msg::MsgInfo;
use crate::names::NameMap;
use crate::op::Op;

fn call(op: Op, handle: u32, iid: u16, mid: u16) -> CallInfo {
    let mut info = CallInfo::new(op, handle);
    let m = MsgInfo {
        iid,
        mid,
        const_size: 32,
        arena_size: 8,
        ..MsgInfo::default()
    };
    if matches!(op, Op::Recv | Op::RecvEx) {
        info.received = m;
    } else {
        info.sent = m;
    }
    info
}

fn no_global() -> Global {
    Global {
        calls: 0,
        by_op: [0; 5],
        reentrant: 0,
        dropped: 0,
        keys: 0,
        capacity: 0,
        level: Level::Timing,
    }
}

fn entries(t: &Table, scale: Scale) -> Vec<Entry> {
    let mut v = Vec::new();
    for_each_entry(t, scale, |e| v.push(*e));
    v
}

#[test]
fn rc_slots_follow_retcode_names() {
    assert_eq!(rc_slot(rcOk), 0);
    assert_eq!(rc_slot(rcFail), 1);
    assert_eq!(rc_slot(rcSecurityDisallow), 8);
    assert_eq!(rc_slot(rcNoCapability), 12);
    assert_eq!(rc_slot(0x7777), RC_OTHER);
    assert_eq!(rc_slot_name(8), "rcSecurityDisallow");
    assert_eq!(rc_slot_name(RC_OTHER), "other");
    for (i, (rc, name)) in COUNTED_RETCODES.iter().enumerate() {
        assert_eq!(rc_slot(*rc), i);
        assert_eq!(rc_slot_name(i), *name);
        assert_eq!(
            retcode_name(*rc),
            Some(*name),
            "a counted code has its SDK name"
        );
    }
    // Every other code of the SDK's table shares the "other" slot.
    for (rc, name) in RETCODE_NAMES {
        if !COUNTED_RETCODES.iter().any(|(c, _)| *c == rc) {
            assert_eq!(rc_slot(rc), RC_OTHER, "{name}");
        }
    }
}

#[test]
fn counts_every_outcome_of_one_key() {
    let t = Table::alloc(8, 0, 2).unwrap();
    // 5 successes on two shards, 2 backend errors, 3 denials, 2 faults,
    // 1 audit, 1 odd code.
    for i in 0..5 {
        let mut c = call(Op::Call, 9, 3, 1);
        c.received = MsgInfo {
            iid: 3,
            mid: 1,
            const_size: 40,
            arena_size: 0,
            ..MsgInfo::default()
        };
        t.record(&c, i, false, false);
    }
    for _ in 0..2 {
        let mut c = call(Op::Call, 9, 3, 1);
        c.rc = rcNotConnected;
        t.record(&c, 0, false, false);
    }
    for _ in 0..3 {
        let mut c = call(Op::Call, 9, 3, 1);
        c.rc = rcSecurityDisallow;
        c.verdict = Verdict::Deny;
        c.refused = true;
        t.record(&c, 1, false, false);
    }
    // A fault rule failed one (it never left) and delayed one (it was sent).
    let mut c = call(Op::Call, 9, 3, 1);
    (c.rc, c.verdict, c.refused) = (rcTimeout, Verdict::Fault, true);
    t.record(&c, 1, false, false);
    let mut c = call(Op::Call, 9, 3, 1);
    (c.rc, c.verdict) = (rcTimeout, Verdict::Fault);
    t.record(&c, 1, false, false);
    let mut c = call(Op::Call, 9, 3, 1);
    c.verdict = Verdict::AuditDeny;
    t.record(&c, 0, false, false);
    let mut c = call(Op::Call, 9, 3, 1);
    c.rc = 0x0042_0042;
    t.record(&c, 1, false, false);

    let e = entries(&t, Scale::identity());
    assert_eq!(e.len(), 1);
    let e = e[0];
    assert_eq!(
        e.key,
        Some(Key {
            op: Op::Call,
            handle: 9,
            iid: 3,
            mid: 1
        })
    );
    assert_eq!(e.calls, 14);
    assert_eq!(e.ok, 6);
    assert_eq!(e.errors, 8);
    assert_eq!(e.denied, 3);
    assert_eq!(e.audit_denied, 1);
    assert_eq!(e.rc[rc_slot(rcNotConnected)], 2);
    assert_eq!(e.rc[rc_slot(rcSecurityDisallow)], 3);
    assert_eq!(e.rc[rc_slot(rcTimeout)], 2);
    assert_eq!(e.rc[RC_OTHER], 1);
    // Denied and failed messages never left: 10 of 14 count as sent.
    assert_eq!(e.out_const, 10 * 32);
    assert_eq!(e.out_arena, 10 * 8);
    assert_eq!(e.in_const, 5 * 40);
    assert_eq!(e.in_arena, 0);
    // Level count: no latency at all.
    assert_eq!(e.latency, None);
}

/// Keys that differ from the first in one field each (operation, handle,
/// iid, mid), and one with every field at its largest.
const KEYS_ONE_FIELD_APART: [(Op, u32, u16, u16); 7] = [
    (Op::Call, 1, 1, 1),
    (Op::CallEx, 1, 1, 1),
    (Op::Call, 2, 1, 1),
    (Op::Call, 1, 2, 1),
    (Op::Call, 1, 1, 2),
    (Op::Recv, 1, 1, 1),
    (Op::Reply, 0xFFFF_FFFF, 0xFFFF, 0xFFFF),
];

#[test]
fn keys_are_distinct_by_each_field() {
    let t = Table::alloc(16, 0, 1).unwrap();
    let keys = KEYS_ONE_FIELD_APART;
    for (n, &(op, h, i, m)) in keys.iter().enumerate() {
        for _ in 0..=n {
            t.record(&call(op, h, i, m), n, false, false);
        }
    }
    let e = entries(&t, Scale::identity());
    assert_eq!(e.len(), keys.len());
    for (n, &(op, handle, iid, mid)) in keys.iter().enumerate() {
        let k = Key {
            op,
            handle,
            iid,
            mid,
        };
        let got = e.iter().find(|e| e.key == Some(k)).expect("key present");
        assert_eq!(got.calls, n as u64 + 1, "{k:?}");
    }
}

#[test]
fn full_table_counts_the_rest_in_overflow() {
    let t = Table::alloc(4, 0, 2).unwrap();
    let mut total = 0u64;
    let mut dropped = 0u64;
    for k in 0..10u16 {
        for i in 0..(k as u64 + 1) {
            total += 1;
            if !t.record(&call(Op::Call, 1, 7, k), i as usize, false, false) {
                dropped += 1;
            }
        }
    }
    let e = entries(&t, Scale::identity());
    assert_eq!(e.len(), 5, "4 keys + overflow");
    assert_eq!(t.used(), 4);
    // The first 4 keys (mid 0..3) got slots: 1+2+3+4 calls.
    for mid in 0..4u16 {
        let got = e
            .iter()
            .find(|e| e.key.is_some_and(|k| k.mid == mid))
            .unwrap();
        assert_eq!(got.calls, mid as u64 + 1);
    }
    let ovf = e.last().unwrap();
    assert_eq!(ovf.key, None);
    assert_eq!(ovf.calls, (5..=10).sum::<u64>());
    assert_eq!(ovf.calls, dropped);
    assert_eq!(e.iter().map(|e| e.calls).sum::<u64>(), total);
    assert_eq!(total, 55);
}

#[test]
fn reset_zeroes_counters_and_keeps_keys() {
    let t = Table::alloc(4, 0, 2).unwrap();
    for mid in 0..6 {
        t.record(&call(Op::Call, 1, 7, mid), mid as usize, false, true);
    }
    assert_eq!(entries(&t, Scale::identity()).len(), 5);
    t.reset();
    assert!(entries(&t, Scale::identity()).is_empty());
    t.record(&call(Op::Call, 1, 7, 0), 0, false, false);
    let e = entries(&t, Scale::identity());
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].calls, 1);
    assert_eq!(t.used(), 4);
}

/// Known latencies through a fake clock: 2.5 ticks per ns, like a 2.5 GHz
/// TSC. Percentiles must be within the histogram's 1/64 of the exact
/// order statistics; min, max and total are exact.
#[test]
fn histogram_percentiles_with_a_fake_clock() {
    let t = Table::alloc(4, 0, 2).unwrap();
    let scale = Scale::from_hz(2_500_000_000);
    // 10 000 latencies spread log-uniformly from 50 ns to 60 s.
    let n = 10_000u64;
    let mut lat_ns: Vec<u64> = (0..n)
        .map(|i| {
            let f = i as f64 / (n - 1) as f64;
            (50.0 * (60e9f64 / 50.0).powf(f)).round() as u64
        })
        .collect();
    // Record in a scrambled order, from two shards.
    let mut total_ticks = 0u64;
    for i in 0..n {
        let ns = lat_ns[((i * 7919) % n) as usize];
        let ticks = scale.to_ticks(ns);
        total_ticks += ticks;
        let mut c = call(Op::CallEx, 5, 1, 1);
        c.start = 1_000_000;
        c.end = 1_000_000 + ticks;
        t.record(&c, i as usize, false, true);
    }
    lat_ns.sort_unstable();
    let e = entries(&t, scale);
    let l = e[0].latency.expect("timed");
    assert_eq!(l.count, n);
    assert_eq!(l.min_ns, 50);
    assert_eq!(l.max_ns, 60_000_000_000);
    assert_eq!(l.total_ns, scale.to_ns(total_ticks));
    let exact = |per_mille: u64| lat_ns[((n * per_mille).div_ceil(1000) - 1) as usize];
    for (got, q) in [l.p50_ns, l.p90_ns, l.p99_ns, l.p999_ns]
        .into_iter()
        .zip(histogram::QUANTILES_PER_MILLE)
    {
        let want = exact(q) as f64;
        let err = (got as f64 - want).abs() / want;
        assert!(err <= 1.0 / 64.0 + 1e-6, "p{q}: {got} vs {want} ({err})");
    }
}

#[test]
fn latency_of_a_call_without_start_stamp_is_not_recorded() {
    let t = Table::alloc(4, 0, 1).unwrap();
    let mut c = call(Op::Call, 1, 1, 1);
    c.start = 0;
    c.end = 12345;
    t.record(&c, 0, false, true);
    let e = entries(&t, Scale::identity());
    assert_eq!(e[0].calls, 1);
    assert_eq!(e[0].latency, None);
}

fn sample_snapshot() -> Snapshot {
    let t = Table::alloc(4, 0, 2).unwrap();
    let lat = [(1u16, 1000u64, 3u64), (2, 50_000, 2), (3, 200, 1)];
    for (mid, ns, calls) in lat {
        for i in 0..calls {
            let mut c = call(Op::Call, 11, 7, mid);
            c.start = 10;
            c.end = 10 + ns;
            if mid == 2 && i == 0 {
                c.rc = rcSecurityDisallow;
                c.verdict = Verdict::Deny;
                c.refused = true;
            }
            t.record(&c, 0, false, true);
        }
    }
    let mut g = no_global();
    g.calls = 6;
    g.by_op[0] = 6;
    g.keys = 3;
    g.capacity = 4;
    snapshot_of(&t, g, Scale::identity())
}

#[test]
fn text_dump_is_an_aligned_table_sorted_by_total_time() {
    let s = sample_snapshot();
    let mut names = NameMap::new();
    names.insert_iid(7, "Echo").unwrap();
    names.insert_mid(7, 1, "Ping").unwrap();
    let text = dump::text(&s, &names);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("kos-ipc-shim statistics: level timing, clock "));
    assert_eq!(lines[1], "calls 6, re-entrant 0, dropped 0, keys 3 of 4");
    let cols = |l: &str| l.split_whitespace().map(String::from).collect::<Vec<_>>();
    assert_eq!(
        cols(lines[2]),
        [
            "op", "handle", "iid.mid", "name", "calls", "errors", "denied", "p50", "p99", "max",
            "total", "%time", "out", "in"
        ]
    );
    // 7.2: 2 × 50 us = 100 us total, one denied (its bytes not sent).
    assert_eq!(
        cols(lines[3]),
        [
            "call", "11", "7.2", "Echo.2", "2", "1", "1", "50.0us", "50.0us", "50.0us", "100us",
            "96.90", "40", "0"
        ]
    );
    assert_eq!(
        cols(lines[4]),
        [
            "call",
            "11",
            "7.1",
            "Echo.Ping",
            "3",
            "0",
            "0",
            "1.00us",
            "1.00us",
            "1.00us",
            "3.00us",
            "2.91",
            "120",
            "0"
        ]
    );
    assert_eq!(
        cols(lines[5]),
        [
            "call", "11", "7.3", "Echo.3", "1", "0", "0", "200ns", "200ns", "200ns", "200ns",
            "0.19", "40", "0"
        ]
    );
    // 103.2 us in all; the % column is each row's share of it, rounded half up.
    assert_eq!(
        cols(lines[6]),
        [
            "total", "-", "-", "-", "6", "1", "1", "-", "-", "50.0us", "103us", "100.00", "200",
            "0"
        ]
    );
    assert_eq!(lines.len(), 7);
    // Aligned: numbers end under the right edge of their heading.
    let calls_end = lines[2].find("calls").unwrap() + "calls".len();
    for l in &lines[3..] {
        let b = l.as_bytes();
        assert!(b[calls_end - 1].is_ascii_digit(), "{l}");
        assert_eq!(b[calls_end], b' ', "{l}");
    }
    // Without names there is no name column.
    let plain = dump::text(&s, &NameMap::new());
    assert!(plain
        .lines()
        .nth(2)
        .unwrap()
        .split_whitespace()
        .all(|c| c != "name"));
}

#[test]
fn json_dump_parses_and_carries_the_numbers() {
    let s = sample_snapshot();
    let mut names = NameMap::new();
    names.insert_iid(7, "Echo").unwrap();
    names.insert_mid(7, 1, "Ping").unwrap();
    let j: serde_json::Value = serde_json::from_str(&dump::json(&s, &names)).expect("valid JSON");
    assert_eq!(j["version"], 1);
    assert_eq!(j["level"], "timing");
    assert_eq!(j["global"]["calls"], 6);
    assert_eq!(j["global"]["calls_by_op"]["call"], 6);
    assert_eq!(j["global"]["capacity"], 4);
    let keys = j["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 3);
    let k = &keys[0];
    assert_eq!(k["overflow"], false);
    assert_eq!(k["op"], "call");
    assert_eq!(k["handle"], 11);
    assert_eq!((k["iid"].as_u64(), k["mid"].as_u64()), (Some(7), Some(2)));
    assert_eq!(k["interface"], "Echo");
    assert_eq!(k["method"], serde_json::Value::Null);
    assert_eq!(k["calls"], 2);
    assert_eq!(k["ok"], 1);
    assert_eq!(k["errors"], 1);
    assert_eq!(k["denied"], 1);
    assert_eq!(k["rc"]["rcSecurityDisallow"], 1);
    assert_eq!(k["rc"].as_object().unwrap().len(), 1);
    assert_eq!(k["bytes"]["out_const"], 32);
    assert_eq!(k["bytes"]["out_arena"], 8);
    assert_eq!(k["latency_ns"]["count"], 2);
    assert_eq!(k["latency_ns"]["total"], 100_000);
    assert_eq!(k["latency_ns"]["p50"], 50_000);
    assert_eq!(keys[1]["method"], "Ping");
    let sum: u64 = keys.iter().map(|k| k["calls"].as_u64().unwrap()).sum();
    assert_eq!(sum, 6);
    // The totals: sums of the keys, as the text's total row.
    let t = &j["totals"];
    assert_eq!((t["calls"].as_u64(), t["ok"].as_u64()), (Some(6), Some(5)));
    assert_eq!(
        (t["errors"].as_u64(), t["denied"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(t["bytes"]["out_const"], 5 * 32);
    assert_eq!(t["bytes"]["out_arena"], 5 * 8);
    assert_eq!(t["latency_ns"]["count"], 6);
    assert_eq!(t["latency_ns"]["total"], 103_200);
    assert_eq!(t["latency_ns"]["max"], 50_000);
}

#[test]
fn percentages_round_half_up_from_integers() {
    assert_eq!(dump::percent(1, 0), None);
    assert_eq!(dump::percent(0, 7).as_deref(), Some("0.00"));
    assert_eq!(dump::percent(7, 7).as_deref(), Some("100.00"));
    assert_eq!(dump::percent(1, 3).as_deref(), Some("33.33"));
    assert_eq!(dump::percent(2, 3).as_deref(), Some("66.67"));
    // 1/8 = 12.5 %, 1/16 = 6.25 %, 1/1600 = 0.0625 % -> 0.06, 1/800 -> 0.13
    assert_eq!(dump::percent(1, 8).as_deref(), Some("12.50"));
    assert_eq!(dump::percent(1, 16).as_deref(), Some("6.25"));
    assert_eq!(dump::percent(1, 1600).as_deref(), Some("0.06"));
    assert_eq!(dump::percent(1, 800).as_deref(), Some("0.13"));
    assert_eq!(dump::percent(u64::MAX, u64::MAX).as_deref(), Some("100.00"));
}

#[test]
fn text_dump_without_timing_has_no_time_shares_and_sorts_by_calls() {
    let t = Table::alloc(4, 0, 1).unwrap();
    for (mid, n) in [(1u16, 2u32), (2, 5)] {
        for _ in 0..n {
            t.record(&call(Op::Recv, 3, 9, mid), 0, false, false);
        }
    }
    let mut g = no_global();
    g.level = Level::Count;
    let text = dump::text(&snapshot_of(&t, g, Scale::identity()), &NameMap::new());
    let lines: Vec<Vec<&str>> = text
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        lines[3],
        ["recv", "3", "9.2", "5", "0", "0", "-", "-", "-", "-", "-", "0", "200"]
    );
    assert_eq!(
        lines[4],
        ["recv", "3", "9.1", "2", "0", "0", "-", "-", "-", "-", "-", "0", "80"]
    );
    assert_eq!(
        lines[5],
        ["total", "-", "-", "7", "0", "0", "-", "-", "-", "-", "-", "0", "280"]
    );
    assert_eq!(lines.len(), 6);
    let j: serde_json::Value = serde_json::from_str(&dump::json(
        &snapshot_of(&t, g, Scale::identity()),
        &NameMap::new(),
    ))
    .unwrap();
    assert_eq!(j["totals"]["calls"], 7);
    assert_eq!(j["totals"]["latency_ns"], serde_json::Value::Null);
}

#[test]
fn durations_read_well() {
    assert_eq!(dump::duration(0), "0ns");
    assert_eq!(dump::duration(999), "999ns");
    assert_eq!(dump::duration(1_234), "1.23us");
    assert_eq!(dump::duration(45_600), "45.6us");
    assert_eq!(dump::duration(999_999), "1000us");
    assert_eq!(dump::duration(12_345_678), "12.3ms");
    assert_eq!(dump::duration(61_000_000_000), "61.0s");
}

/// The C snapshot: counts rows, fills what fits, reports rcBufferTooSmall.
#[test]
fn c_snapshot_argument_checks() {
    let mut n = 0usize;
    // SAFETY: NULL out with cap 0 is allowed; n is a live usize.
    let rc = unsafe { ffi::kos_shim_stats_snapshot(core::ptr::null_mut(), 0, &mut n) };
    assert!(rc == rcOk || rc == rcBufferTooSmall);
    // SAFETY: NULL n is rejected before any write.
    let rc =
        unsafe { ffi::kos_shim_stats_snapshot(core::ptr::null_mut(), 0, core::ptr::null_mut()) };
    assert_eq!(rc, rcInvalidArgument);
    // SAFETY: NULL out with cap > 0 is rejected before any write.
    let rc = unsafe { ffi::kos_shim_stats_snapshot(core::ptr::null_mut(), 3, &mut n) };
    assert_eq!(rc, rcInvalidArgument);
    // SAFETY: NULL out-pointer is rejected.
    assert_eq!(
        unsafe { ffi::kos_shim_stats_global(core::ptr::null_mut()) },
        rcInvalidArgument
    );
    assert_eq!(ffi::kos_shim_stats_set_level(3), rcInvalidArgument);
    assert_eq!(ffi::kos_shim_stats_set_capacity(0), rcInvalidArgument);
    assert_eq!(ffi::kos_shim_stats_rc_slot(rcTimeout), 6);
    assert_eq!(ffi::kos_shim_stats_write(-1, 0), rcInvalidArgument);
    assert_eq!(ffi::kos_shim_stats_write(1, 7), rcInvalidArgument);
}

/// Exclusive shards: claimed one per owner, updated without locked
/// instructions; a reset of an owned shard waits for its owner, and readers
/// count it as zero meanwhile.
#[test]
fn exclusive_shards_claim_release_and_reset_by_owner() {
    let t = Table::alloc(4, 2, 1).unwrap();
    let a = t.claim().expect("first exclusive shard");
    let b = t.claim().expect("second exclusive shard");
    assert_ne!(a, b);
    assert_eq!(t.claim(), None, "only two exclusive shards");
    for _ in 0..3 {
        let mut c = call(Op::Call, 1, 7, 1);
        (c.start, c.end) = (10, 110);
        t.record(&c, a, true, true);
    }
    t.record(&call(Op::Call, 1, 7, 1), b, true, false);
    t.record(&call(Op::Call, 1, 7, 1), t.shared_shard(42), false, false);
    let e = entries(&t, Scale::identity());
    assert_eq!(e[0].calls, 5);
    assert_eq!(e[0].out_const, 5 * 32);
    assert_eq!(e[0].latency.map(|l| (l.count, l.total_ns)), Some((3, 300)));
    assert_eq!(t.global_sums().0[Op::Call as usize], 5);

    // `b` is released: the reset zeroes it at once; `a` is owned: pending.
    t.release(b);
    t.reset();
    assert!(entries(&t, Scale::identity()).is_empty());
    assert_eq!(t.global_sums().0, [0; 5]);
    // The owner's next call zeroes its shard first, then counts.
    t.record(&call(Op::Call, 1, 7, 1), a, true, false);
    let e = entries(&t, Scale::identity());
    assert_eq!(e[0].calls, 1);
    assert_eq!(t.global_sums().0[Op::Call as usize], 1);
    // A released shard can be claimed again and keeps its counts.
    t.release(a);
    let again = t.claim().unwrap();
    t.record(&call(Op::Call, 1, 7, 1), again, true, false);
    assert_eq!(entries(&t, Scale::identity())[0].calls, 2);
}

/// The per-thread memo of the last key never sends a call to another key's
/// block: keys differing in one field each, interleaved and repeated, keep
/// exact counts; a full table still counts the rest in the overflow key.
#[test]
fn memo_of_the_last_key_keeps_counts_exact() {
    let t = Table::alloc(4, 1, 1).unwrap();
    let memo = table::Memo::new();
    let keys = KEYS_ONE_FIELD_APART;
    let mut want = std::collections::HashMap::new();
    for round in 0..50usize {
        for (n, &(op, h, i, m)) in keys.iter().enumerate() {
            // Runs of the same key (memo hits) and switches (misses).
            for _ in 0..=(round + n) % 3 {
                t.record_memo(&call(op, h, i, m), 0, round % 2 == 0, false, &memo);
                *want.entry(n).or_insert(0u64) += 1;
            }
        }
    }
    let e = entries(&t, Scale::identity());
    let mut overflow = 0;
    for (n, &(op, handle, iid, mid)) in keys.iter().enumerate() {
        let k = Key {
            op,
            handle,
            iid,
            mid,
        };
        match e.iter().find(|e| e.key == Some(k)) {
            Some(got) => assert_eq!(got.calls, want[&n], "{k:?}"),
            None => overflow += want[&n],
        }
    }
    // Capacity 4: the last three keys went to the overflow key.
    assert_eq!(e.iter().filter(|e| e.key.is_some()).count(), 4);
    assert_eq!(
        e.iter().find(|e| e.key.is_none()).map(|e| e.calls),
        Some(overflow)
    );
    assert_eq!(
        t.global_sums().0.iter().sum::<u64>(),
        want.values().sum::<u64>()
    );
}

/// The owner's line ([`table::count_on_line`]) counts exactly what the
/// table's long way counts: keys one field apart in runs and switches, every
/// return code and verdict, timed calls, a reset waiting on the owner, a
/// full table (overflow calls never go on the line), and a cut line.
#[test]
fn the_owners_line_counts_what_the_long_way_counts() {
    let lined: &'static Table = Box::leak(Box::new(Table::alloc(4, 2, 1).unwrap()));
    let plain = Table::alloc(4, 2, 1).unwrap();
    let (a, pa) = (lined.claim().unwrap(), plain.claim().unwrap());
    let (memo, line) = (table::Memo::new(), table::Line::new());
    let mut on_line = 0;
    let mut record = |c: &CallInfo, line: &table::Line| {
        if table::count_on_line(line, c, true) {
            on_line += 1;
        } else {
            lined.record_lined(c, a, true, true, &memo, line);
        }
        plain.record(c, pa, true, true);
    };
    let verdicts = [
        Verdict::Allow,
        Verdict::Deny,
        Verdict::AuditDeny,
        Verdict::Log,
    ];
    for round in 0..60usize {
        for (n, &(op, h, i, m)) in KEYS_ONE_FIELD_APART.iter().enumerate() {
            for k in 0..=(round + n) % 3 {
                let mut c = call(op, h, i, m);
                c.rc = [rcOk, rcTimeout, rcSecurityDisallow][(round + k) % 3];
                c.verdict = verdicts[(round + n + k) % 4];
                c.refused = c.verdict == Verdict::Deny;
                c.received.const_size = (round * 7 + k) as u32;
                (c.start, c.end) = (100, 100 + (round * 13 + n) as u64);
                record(&c, &line);
            }
        }
        if round == 20 {
            // The owner holds shard `a`: the reset waits for its next call,
            // made with a key that is on the line (the last Call key with a
            // block: the fifth went to the overflow key).
            lined.reset();
            plain.reset();
            let (op, h, i, m) = KEYS_ONE_FIELD_APART[3];
            record(&call(op, h, i, m), &line);
        }
        if round == 40 {
            line.cut();
        }
    }
    assert!(on_line > 100, "the line served repeated keys ({on_line})");
    assert_eq!(
        entries(lined, Scale::identity()),
        entries(&plain, Scale::identity())
    );
    assert_eq!(lined.global_sums(), plain.global_sums());
}
