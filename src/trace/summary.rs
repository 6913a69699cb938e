//! `kos-ipc-trace summary`: a per-method table of a trace, the clients whose
//! requests were received (from the received headers' `sender` and
//! `threadId`), how many calls carried a trace id, and the lost counts.
//!
//! The table reads like `top` or `strace -c`: rows sorted by total time
//! (then calls), a `%time` column (each row's share of the summed time,
//! as the statistics table computes it: [`crate::stats::dump::percent`]),
//! and a `total` row. Each section of the report has its own function
//! below; [`Summary::render`] puts them in order.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use super::record::{KosShimTraceRecord as Record, KOS_SHIM_TRACE_KIND_LOST};
use super::text::duration;
use crate::call::Verdict;
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
    /// Faults a policy's fault rule injected (verdict fault), per (op, iid,
    /// mid, rc): a failure's code, or the delayed call's own result.
    pub faults: BTreeMap<(u8, u16, u16, i32), u64>,
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
        if r.verdict() == Some(Verdict::Fault) {
            *self.faults.entry((r.op, r.iid, r.mid, r.rc)).or_default() += 1;
        }
        row.bytes_out += r.const_out as u64 + r.arena_out as u64;
        row.bytes_in += r.const_in as u64 + r.arena_in as u64;
        row.total_ns += r.duration;
    }

    /// Lost records in total.
    pub fn lost_total(&self) -> u64 {
        self.lost.values().map(|v| v.1).sum()
    }

    /// The report text: the head line, the table, then the other sections.
    pub fn render(&self, names: &NameMap) -> String {
        let mut s = String::new();
        self.render_head(&mut s);
        self.render_table(&mut s, names);
        self.render_faults(&mut s, names);
        self.render_peers(&mut s);
        self.render_lost(&mut s);
        s
    }

    fn render_head(&self, s: &mut String) {
        let span = self.span.map(|(a, b)| b - a).unwrap_or(0);
        let _ = writeln!(
            s,
            "{} calls, {} threads, {} traced, {} lost",
            self.calls,
            self.threads.len(),
            duration(span),
            self.lost_total()
        );
    }

    /// Rows by total time, then calls (descending), then key; the total row.
    fn render_table(&self, s: &mut String, names: &NameMap) {
        let line = |s: &mut String, c: [&str; 12]| {
            let _ = writeln!(
                s,
                "{:<7} {:<24} {:>8} {:>7} {:>7} {:>10} {:>10} {:>10} {:>10} {:>7} {:>11} {:>11}",
                c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9], c[10], c[11]
            );
        };
        line(
            s,
            [
                "op",
                "method",
                "calls",
                "errors",
                "denied",
                "min",
                "avg",
                "max",
                "total",
                "%time",
                "bytes out",
                "bytes in",
            ],
        );
        let mut rows: Vec<_> = self.rows.iter().collect();
        rows.sort_by(|(ka, a), (kb, b)| {
            b.total_ns
                .cmp(&a.total_ns)
                .then(b.calls.cmp(&a.calls))
                .then(ka.cmp(kb))
        });
        let mut all = Row::default();
        for (_, r) in &rows {
            if all.calls == 0 || r.min_ns < all.min_ns {
                all.min_ns = r.min_ns;
            }
            all.max_ns = all.max_ns.max(r.max_ns);
            all.calls += r.calls;
            all.errors += r.errors;
            all.denied += r.denied;
            all.bytes_out += r.bytes_out;
            all.bytes_in += r.bytes_in;
            all.total_ns += r.total_ns;
        }
        let cells = |op: &str, method: String, r: &Row| {
            let pct = crate::stats::dump::percent(r.total_ns, all.total_ns);
            [
                op.to_string(),
                method,
                r.calls.to_string(),
                r.errors.to_string(),
                r.denied.to_string(),
                duration(r.min_ns),
                duration(r.total_ns / r.calls.max(1)),
                duration(r.max_ns),
                duration(r.total_ns),
                pct.unwrap_or_else(|| "-".into()),
                r.bytes_out.to_string(),
                r.bytes_in.to_string(),
            ]
        };
        let mut put = |c: [String; 12]| line(s, c.each_ref().map(String::as_str));
        for ((op, iid, mid), r) in rows {
            let op = Op::from_u8(*op).map(|o| o.key()).unwrap_or("?");
            put(cells(op, names.method(*iid, *mid).to_string(), r));
        }
        if all.calls > 0 {
            put(cells("total", "-".into(), &all));
        }
    }

    fn render_faults(&self, s: &mut String, names: &NameMap) {
        for ((op, iid, mid, rc), n) in &self.faults {
            let op = Op::from_u8(*op).map(|o| o.key()).unwrap_or("?");
            let rc =
                crate::abi::retcode_name(*rc).map_or_else(|| format!("{rc:#x}"), str::to_string);
            let method = names.method(*iid, *mid);
            let _ = writeln!(s, "injected faults: {op} {method} {rc}: {n}");
        }
    }

    fn render_peers(&self, s: &mut String) {
        for ((task, thread), n) in &self.peers {
            let _ = writeln!(s, "received from task {task} thread {thread}: {n}");
        }
        if self.with_trace_id > 0 {
            let _ = writeln!(s, "calls with a trace id: {}", self.with_trace_id);
        }
    }

    fn render_lost(&self, s: &mut String) {
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
             op      method                      calls  errors  denied        min        avg        max      total   %time   bytes out    bytes in\n\
             call    Echo.Ping                       3       1       1      100ns      200ns      300ns      600ns  100.00          75          72\n\
             total   -                               3       1       1      100ns      200ns      300ns      600ns  100.00          75          72\n\
             lost records: 7 in ring 2 (last thread 6)\n"
        );
    }

    #[test]
    fn rows_sort_by_total_time_with_shares_and_a_total_row() {
        let names = NameMap::new();
        let mut sum = Summary::default();
        // (op, mid, durations): reply 1 has the most calls, recv 2 the most time.
        for (op, mid, durs) in [
            (4u8, 1u16, &[10u64, 10, 10, 10][..]),
            (2, 2, &[500, 1500]),
            (0, 3, &[960]),
        ] {
            for &d in durs {
                sum.add(&Record {
                    op,
                    iid: 9,
                    mid,
                    duration: d,
                    kind: KOS_SHIM_TRACE_KIND_CALL,
                    ..Default::default()
                });
            }
        }
        let text = sum.render(&names);
        let rows: Vec<Vec<&str>> = text
            .lines()
            .skip(2)
            .take(4)
            .map(|l| l.split_whitespace().collect())
            .collect();
        // 3000 ns in all: 2000 (66.67 %), 960 (32.00 %), 40 (1.33 %).
        assert_eq!(
            rows[0][..10],
            ["recv", "9.2", "2", "0", "0", "500ns", "1.000us", "1.500us", "2.000us", "66.67"]
        );
        assert_eq!(
            rows[1][..10],
            ["call", "9.3", "1", "0", "0", "960ns", "960ns", "960ns", "960ns", "32.00"]
        );
        assert_eq!(
            rows[2][..10],
            ["reply", "9.1", "4", "0", "0", "10ns", "10ns", "10ns", "40ns", "1.33"]
        );
        assert_eq!(
            rows[3][..10],
            ["total", "-", "7", "0", "0", "10ns", "428ns", "1.500us", "3.000us", "100.00"]
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
