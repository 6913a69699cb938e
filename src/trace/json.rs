//! Chrome Trace Event JSON (opens in ui.perfetto.dev and chrome://tracing).
//!
//! JSON array format, streamed: the closing `]` is written by
//! [`JsonWriter::finish`] (viewers also accept a file without it, e.g. after a
//! crash). Per call, a complete event (`"ph":"X"`) on the calling thread's
//! track, named `op Iface.Method`, with every record field in `args` (the
//! header context as `peer_task`, `peer_thread` and, as hex strings because
//! JSON numbers lose 64-bit precision, `trace_id` and `span_id`; and
//! `connection` when the service locator wrappers learned the handle's,
//! [`crate::locator`], whose endpoint names also name the method).
//! Correlated calls are linked by two flows (`s` → `f`, `bp:"e"`):
//! `request` (id `2c`) from the client's Call/CallEx to the server's
//! Recv/RecvEx, and `response` (id `2c+1`) from the server's Reply back to the
//! Call. A flow is written once both of its ends have been seen (in any
//! order), so every flow in the file is paired; calls whose other end is not
//! in the trace (refused, lost, another process) get none. Lost records appear as a `lost records` counter (`"ph":"C"`,
//! cumulative). Times are microseconds of the shim's monotonic clock with
//! nanosecond decimals (viewers show them relative to the first event).

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::format;
use alloc::string::{String, ToString};
use core::fmt::Write as _;

use super::bytes::{ByteSink, WriteError};
use super::kst::split_payload;
use super::record::{verdict_key, KosShimTraceRecord as Record, KOS_SHIM_TRACE_KIND_LOST};
use super::text::{self, hex, rc_name};
use crate::json_text::quoted as js;
use crate::locator;
use crate::names::NameMap;
use crate::op::Op;

/// The flow ends seen so far for one correlation id.
#[derive(Debug, Default, Clone, Copy)]
struct Ends {
    /// Call/CallEx: thread, a point just after its start, one just before its end.
    call: Option<(u64, u64, u64)>,
    /// Recv/RecvEx: thread, a point just before its end.
    recv: Option<(u64, u64)>,
    /// Reply: thread, a point just after its start.
    reply: Option<(u64, u64)>,
    request_done: bool,
    response_done: bool,
}

/// Correlations waiting for their other end are forgotten past this many.
const MAX_PENDING: usize = 1 << 20;

/// Streams trace events as JSON.
pub struct JsonWriter<W: ByteSink> {
    w: W,
    pid: u32,
    origin_ns: u64,
    names: NameMap,
    threads: BTreeSet<u64>,
    pending: BTreeMap<u64, Ends>,
    lost: u64,
    events: u64,
    /// The text of the event being written.
    line: String,
}

/// Microseconds with three decimals (exact nanoseconds).
fn us(ns: u64) -> String {
    format!("{}.{:03}", ns / 1000, ns % 1000)
}

impl<W: ByteSink> JsonWriter<W> {
    /// Start the array with the process's name; `ts` values are
    /// microseconds since `origin_ns`.
    pub fn new(mut w: W, pid: u32, origin_ns: u64, names: NameMap) -> Result<Self, WriteError> {
        w.put(
            format!(
                "[\n{{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":{pid},\"tid\":0,\"args\":{{\"name\":\"kos-ipc-shim trace (pid {pid})\"}}}}"
            )
            .as_bytes(),
        )?;
        Ok(JsonWriter {
            w,
            pid,
            origin_ns,
            names,
            threads: BTreeSet::new(),
            pending: BTreeMap::new(),
            lost: 0,
            events: 0,
            line: String::with_capacity(512),
        })
    }

    /// Write what `f` formats into the line buffer.
    fn emit(&mut self, f: impl FnOnce(&mut String) -> core::fmt::Result) -> Result<(), WriteError> {
        self.line.clear();
        let _ = f(&mut self.line);
        self.w.put(self.line.as_bytes())
    }

    /// Call events written so far.
    pub fn events(&self) -> u64 {
        self.events
    }

    fn thread(&mut self, tid: u64) -> Result<(), WriteError> {
        if self.threads.insert(tid) {
            let pid = self.pid;
            self.emit(|l| write!(
                l,
                ",\n{{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":{pid},\"tid\":{tid},\"args\":{{\"name\":\"thread {tid}\"}}}}"
            ))?;
        }
        Ok(())
    }

    fn flow(&mut self, ph: char, name: &str, id: u64, tid: u64, ts: u64) -> Result<(), WriteError> {
        let bp = if ph == 'f' { ",\"bp\":\"e\"" } else { "" };
        let pid = self.pid;
        self.emit(|l| write!(
            l,
            ",\n{{\"ph\":\"{ph}\",\"name\":\"{name}\",\"cat\":\"ipc.flow\",\"id\":{id},\"pid\":{pid},\"tid\":{tid},\"ts\":{}{bp}}}",
            us(ts)
        ))
    }

    /// Write one record's events.
    pub fn write(&mut self, rec: &Record, payload: &[u8]) -> Result<(), WriteError> {
        let ts = rec.start.saturating_sub(self.origin_ns);
        let pid = self.pid;
        if rec.kind == KOS_SHIM_TRACE_KIND_LOST {
            self.lost += rec.dropped;
            let lost = self.lost;
            return self.emit(|l| write!(
                l,
                ",\n{{\"ph\":\"C\",\"name\":\"lost records\",\"pid\":{pid},\"tid\":0,\"ts\":{},\"args\":{{\"lost\":{lost}}}}}",
                us(ts),
            ));
        }
        self.thread(rec.thread)?;
        let op = rec.op();
        let method = locator::method(&self.names, rec.handle, rec.iid, rec.mid).to_string();
        let verdict = rec.verdict().map(verdict_key).unwrap_or("?");
        let mut args = format!(
            "\"handle\":{},\"iid\":{},\"mid\":{},\"method\":{},\"rc\":{},\"rc_name\":{},\"verdict\":\"{verdict}\",\"const_out\":{},\"arena_out\":{},\"const_in\":{},\"arena_in\":{},\"ncaps_out\":{},\"ncaps_in\":{},\"correlation\":{},\"ring\":{},\"peer_task\":{},\"peer_thread\":{},\"trace_id\":\"0x{:016x}\",\"span_id\":\"0x{:016x}\"",
            rec.handle,
            rec.iid,
            rec.mid,
            js(&method),
            rec.rc,
            js(&rc_name(rec.rc)),
            rec.const_out,
            rec.arena_out,
            rec.const_in,
            rec.arena_in,
            rec.ncaps_out,
            rec.ncaps_in,
            rec.correlation,
            rec.ring,
            rec.peer_task,
            rec.peer_thread,
            rec.trace_id,
            rec.span_id,
        );
        if let Some((conn, _)) = locator::connection(rec.handle) {
            let _ = write!(args, ",\"connection\":{}", js(conn.as_str()));
        }
        if let Some(d) = text::decoded(rec, payload, &self.names) {
            args.push_str(",\"params\":");
            d.message.json(&mut args);
            if let Some(r) = &d.response {
                args.push_str(",\"result\":");
                r.json(&mut args);
            }
        } else if rec.payload_len() > 0 {
            let p = split_payload(rec, payload);
            let _ = write!(
                args,
                ",\"payload_const\":\"{}\",\"payload_arena\":\"{}\"",
                hex(p.constant),
                hex(p.arena)
            );
            if !p.resp_constant.is_empty() || !p.resp_arena.is_empty() {
                let _ = write!(
                    args,
                    ",\"response_const\":\"{}\",\"response_arena\":\"{}\"",
                    hex(p.resp_constant),
                    hex(p.resp_arena)
                );
            }
        }
        self.emit(|l| write!(
            l,
            ",\n{{\"ph\":\"X\",\"name\":{},\"cat\":\"ipc\",\"pid\":{pid},\"tid\":{},\"ts\":{},\"dur\":{},\"args\":{{{args}}}}}",
            js(&format!("{} {method}", op.map(|o| o.name()).unwrap_or("?"))),
            rec.thread,
            us(ts),
            us(rec.duration),
        ))?;
        self.events += 1;
        if rec.correlation != 0 {
            self.flow_ends(rec, ts)?;
        }
        Ok(())
    }

    /// Remember this call's flow ends; write each flow once both ends are known.
    fn flow_ends(&mut self, rec: &Record, ts: u64) -> Result<(), WriteError> {
        let c = rec.correlation;
        // Flow ends sit strictly inside the slice so viewers bind them to it.
        let d = rec.duration;
        let first = ts + if d >= 2 { 1 } else { 0 };
        let last = ts + d.saturating_sub(1);
        if !self.pending.contains_key(&c) && self.pending.len() >= MAX_PENDING {
            return Ok(());
        }
        let e = self.pending.entry(c).or_default();
        match rec.op() {
            Some(Op::Call | Op::CallEx) => e.call = Some((rec.thread, first, last)),
            Some(Op::Recv | Op::RecvEx) => e.recv = Some((rec.thread, last)),
            Some(Op::Reply) => e.reply = Some((rec.thread, first)),
            None => {}
        }
        let ends = *e;
        if let (Some(call), Some(recv), false) = (ends.call, ends.recv, ends.request_done) {
            self.flow('s', "request", 2 * c, call.0, call.1)?;
            self.flow('f', "request", 2 * c, recv.0, recv.1)?;
            self.pending.entry(c).or_default().request_done = true;
        }
        if let (Some(call), Some(reply), false) = (ends.call, ends.reply, ends.response_done) {
            self.flow('s', "response", 2 * c + 1, reply.0, reply.1)?;
            self.flow('f', "response", 2 * c + 1, call.0, call.2)?;
            self.pending.entry(c).or_default().response_done = true;
        }
        if self
            .pending
            .get(&c)
            .is_some_and(|e| e.request_done && e.response_done)
        {
            self.pending.remove(&c);
        }
        Ok(())
    }

    /// Close the array and flush.
    pub fn finish(mut self) -> Result<W, WriteError> {
        self.w.put(b"\n]\n")?;
        self.w.flush()?;
        Ok(self.w)
    }

    /// Flush buffered output (the array stays open).
    pub fn flush(&mut self) -> Result<(), WriteError> {
        self.w.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::record::KOS_SHIM_TRACE_KIND_CALL;

    #[test]
    fn a_call_event_names_the_header_context_in_args() {
        let mut w = JsonWriter::new(Vec::new(), 9, 0, NameMap::new()).unwrap();
        let rec = Record {
            start: 1_000,
            duration: 500,
            thread: 77,
            op: 2,
            kind: KOS_SHIM_TRACE_KIND_CALL,
            peer_task: 1234,
            peer_thread: 5678,
            trace_id: u64::MAX,
            span_id: 0xAB,
            ..Default::default()
        };
        w.write(&rec, &[]).unwrap();
        let out = String::from_utf8(w.finish().unwrap()).unwrap();
        assert!(
            out.contains(",\"peer_task\":1234,\"peer_thread\":5678,\"trace_id\":\"0xffffffffffffffff\",\"span_id\":\"0x00000000000000ab\"}"),
            "{out}"
        );
    }
}
