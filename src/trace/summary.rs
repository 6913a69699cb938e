//! `kos-ipc-trace summary`: a per-method table of a trace, the clients whose
//! requests were received (from the received headers' `sender` and
//! `threadId`), how many calls carried a trace id, and the lost counts.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use super::record::{KosShimTraceRecord as Record, KOS_SHIM_TRACE_KIND_LOST};
use super::text::duration;
use crate::intercept::Verdict;
use crate::names::NameMap;
use crate::op::Op;

/// Totals for one (operation, interface, method).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Row {
    /// Calls.
    pub calls: u64,
    /// Calls whose rc was not rcOk.
    pub errors: u64,
    /// Calls the policy denied (verdict deny or audit-deny).
    pub denied: u64,
    /// Bytes sent (constant part + arena).
    pub bytes_out: u64,
    /// Bytes received.
    pub bytes_in: u64,
    /// Sum of durations (ns).
    pub total_ns: u64,
    /// Shortest call (ns).
    pub min_ns: u64,
    /// Longest call (ns).
    pub max_ns: u64,
}

/// Everything `summary` reports.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Per (op, iid, mid).
    pub rows: BTreeMap<(u8, u16, u16), Row>,
    /// Lost records per ring: (last owner thread, dropped).
    pub lost: BTreeMap<u32, (u64, u64)>,
    /// Call records.
    pub calls: u64,
    /// Threads seen.
    pub threads: BTreeSet<u64>,
    /// Earliest start and latest end (ns).
    pub span: Option<(u64, u64)>,
    /// Requests received (successful Recv/RecvEx) per client (task, thread),
    /// as the kernel reported them in the received headers.
    pub peers: BTreeMap<(u32, u32), u64>,
    /// Call records whose header carried a trace id.
    pub with_trace_id: u64,
}

impl Summary {
    /// Account one record.
    pub fn add(&mut self, r: &Record) {
        if r.kind == KOS_SHIM_TRACE_KIND_LOST {
            let e = self.lost.entry(r.ring).or_insert((r.thread, 0));
            e.0 = r.thread;
            e.1 += r.dropped;
            return;
        }
        self.calls += 1;
        self.threads.insert(r.thread);
        let end = r.start.saturating_add(r.duration);
        self.span = Some(match self.span {
            None => (r.start, end),
            Some((a, b)) => (a.min(r.start), b.max(end)),
        });
        let received = matches!(r.op(), Some(Op::Recv | Op::RecvEx)) && r.rc == crate::abi::rcOk;
        if received && (r.peer_task != 0 || r.peer_thread != 0) {
            *self.peers.entry((r.peer_task, r.peer_thread)).or_default() += 1;
        }
        self.with_trace_id += (r.trace_id != 0) as u64;
        let row = self.rows.entry((r.op, r.iid, r.mid)).or_default();
        if row.calls == 0 || r.duration < row.min_ns {
            row.min_ns = r.duration;
        }
        row.max_ns = row.max_ns.max(r.duration);
        row.calls += 1;
        row.errors += (r.rc != crate::abi::rcOk) as u64;
        row.denied += matches!(r.verdict(), Some(Verdict::Deny | Verdict::AuditDeny)) as u64;
        row.bytes_out += r.const_out as u64 + r.arena_out as u64;
        row.bytes_in += r.const_in as u64 + r.arena_in as u64;
        row.total_ns += r.duration;
    }

    /// Lost records in total.
    pub fn lost_total(&self) -> u64 {
        self.lost.values().map(|v| v.1).sum()
    }

    /// The report text.
    pub fn render(&self, names: &NameMap) -> String {
        let mut s = String::new();
        let span = self.span.map(|(a, b)| b - a).unwrap_or(0);
        let _ = writeln!(
            s,
            "{} calls, {} threads, {} traced, {} lost",
            self.calls,
            self.threads.len(),
            duration(span),
            self.lost_total()
        );
        let _ = writeln!(
            s,
            "{:<7} {:<24} {:>8} {:>7} {:>7} {:>10} {:>10} {:>10} {:>11} {:>11}",
            "op",
            "method",
            "calls",
            "errors",
            "denied",
            "min",
            "avg",
            "max",
            "bytes out",
            "bytes in"
        );
        for ((op, iid, mid), r) in &self.rows {
            let op = Op::from_u8(*op).map(|o| o.key()).unwrap_or("?");
            let _ = writeln!(
                s,
                "{:<7} {:<24} {:>8} {:>7} {:>7} {:>10} {:>10} {:>10} {:>11} {:>11}",
                op,
                names.method(*iid, *mid).to_string(),
                r.calls,
                r.errors,
                r.denied,
                duration(r.min_ns),
                duration(r.total_ns / r.calls.max(1)),
                duration(r.max_ns),
                r.bytes_out,
                r.bytes_in
            );
        }
        for ((task, thread), n) in &self.peers {
            let _ = writeln!(s, "received from task {task} thread {thread}: {n}");
        }
        if self.with_trace_id > 0 {
            let _ = writeln!(s, "calls with a trace id: {}", self.with_trace_id);
        }
        if self.lost.is_empty() {
            let _ = writeln!(s, "lost records: none");
        } else {
            for (ring, (tid, n)) in &self.lost {
                if *ring == u32::MAX {
                    let _ = writeln!(s, "lost records: {n} (threads without a ring)");
                } else {
                    let _ = writeln!(s, "lost records: {n} in ring {ring} (last thread {tid})");
                }
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::record::KOS_SHIM_TRACE_KIND_CALL;

    #[test]
    fn table_counts_calls_errors_bytes_and_lost() {
        let mut names = NameMap::new();
        names.insert_iid(7, "Echo").unwrap();
        names.insert_mid(7, 1, "Ping").unwrap();
        let mut sum = Summary::default();
        for (i, rc) in [(0u64, 0), (1, 0), (2, crate::abi::rcSecurityDisallow)] {
            sum.add(&Record {
                start: 1000 * i,
                duration: 100 * (i + 1),
                thread: 5 + i % 2,
                iid: 7,
                mid: 1,
                op: 0,
                rc,
                verdict: if rc == 0 { 0 } else { 2 },
                kind: KOS_SHIM_TRACE_KIND_CALL,
                const_out: 24,
                arena_out: 1,
                const_in: 24,
                ..Default::default()
            });
        }
        sum.add(&Record::lost(2, 6, 0, 4));
        sum.add(&Record::lost(2, 6, 0, 3));
        assert_eq!(
            sum.render(&names),
            "3 calls, 2 threads, 2.300us traced, 7 lost\n\
             op      method                      calls  errors  denied        min        avg        max   bytes out    bytes in\n\
             call    Echo.Ping                       3       1       1      100ns      200ns      300ns          75          72\n\
             lost records: 7 in ring 2 (last thread 6)\n"
        );
    }

    #[test]
    fn received_requests_are_counted_per_client_thread() {
        let names = NameMap::new();
        let mut sum = Summary::default();
        let recv = |thread: u32, rc: i32, trace_id: u64| Record {
            op: 2,
            rc,
            kind: KOS_SHIM_TRACE_KIND_CALL,
            peer_task: 1234,
            peer_thread: thread,
            trace_id,
            ..Default::default()
        };
        sum.add(&recv(11, 0, 0xA));
        sum.add(&recv(11, 0, 0xB));
        sum.add(&recv(12, 0, 0));
        sum.add(&recv(13, crate::abi::rcTimeout, 0)); // nothing received
        let text = sum.render(&names);
        assert!(
            text.ends_with(
                "received from task 1234 thread 11: 2\n\
                 received from task 1234 thread 12: 1\n\
                 calls with a trace id: 2\n\
                 lost records: none\n"
            ),
            "{text}"
        );
    }
}
