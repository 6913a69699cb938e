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
//! in the trace (refused, lost, another process) get none. A thread's
//! track is named `name[tid]` (a `thread_name` metadata event, `"ph":"M"`,
//! written again if the name changes) once its name is known
//! ([`JsonWriter::thread_name`]), `thread <tid>` until then. Lost records appear as a `lost records` counter (`"ph":"C"`,
//! cumulative). Times are microseconds of the shim's monotonic clock with
//! nanosecond decimals (viewers show them relative to the first event).

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
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
    /// Call/CallEx: a point just after its start, one just before its end.
    call: Option<(FlowEnd, FlowEnd)>,
    /// Recv/RecvEx: a point just before its end.
    recv: Option<FlowEnd>,
    /// Reply: a point just after its start.
    reply: Option<FlowEnd>,
    request_done: bool,
    response_done: bool,
}

/// Correlations waiting for their other end are forgotten past this many.
const MAX_PENDING: usize = 1 << 20;

/// One process of the output: its events' `pid`, clock origin and names.
struct Process {
    pid: u32,
    /// The process's clock value (ns) at `ts` 0; below 0 when the timeline
    /// starts before the process's clock did.
    origin_ns: i128,
    names: NameMap,
    lost: u64,
}

/// A process of a timeline, as [`JsonWriter::add_process`] returned it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcessId(usize);

/// One end of a flow arrow: a point inside a call's slice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowEnd {
    /// The process whose slice it is.
    pub process: ProcessId,
    /// The slice's thread.
    pub thread: u64,
    /// Time on the process's clock (ns).
    pub at_ns: u64,
}

impl FlowEnd {
    /// A point just after the start of `rec`'s slice (strictly inside it,
    /// so viewers bind the arrow to that slice).
    pub fn after_start(process: ProcessId, rec: &Record) -> FlowEnd {
        FlowEnd {
            process,
            thread: rec.thread,
            at_ns: rec.start + if rec.duration >= 2 { 1 } else { 0 },
        }
    }

    /// A point just before the end of `rec`'s slice.
    pub fn before_end(process: ProcessId, rec: &Record) -> FlowEnd {
        FlowEnd {
            process,
            thread: rec.thread,
            at_ns: rec.start + rec.duration.saturating_sub(1),
        }
    }
}

/// Streams trace events as JSON.
///
/// [`JsonWriter::new`] writes one process's trace and draws its flows
/// itself (by correlation id); [`JsonWriter::timeline`] starts an empty
/// timeline to which [`JsonWriter::add_process`] adds processes and whose
/// flows the caller draws with [`JsonWriter::flow`] (`trace::merge`).
pub struct JsonWriter<W: ByteSink> {
    w: W,
    procs: Vec<Process>,
    /// Threads whose `thread_name` event was written, with that name.
    threads: BTreeMap<(u32, u64), String>,
    /// Whether [`JsonWriter::write`] links calls by correlation id.
    link: bool,
    pending: BTreeMap<u64, Ends>,
    events: u64,
    /// Nothing written after the opening `[` yet.
    first: bool,
    /// The text of the event being written.
    line: String,
}

/// Microseconds with three decimals (exact nanoseconds).
fn us(ns: u64) -> String {
    format!("{}.{:03}", ns / 1000, ns % 1000)
}

impl<W: ByteSink> JsonWriter<W> {
    /// Start the array with the process's name; `ts` values are
    /// microseconds since `origin_ns`. Calls sharing a correlation id are
    /// linked by flows.
    pub fn new(w: W, pid: u32, origin_ns: u64, names: NameMap) -> Result<Self, WriteError> {
        let mut j = Self::timeline(w)?;
        j.link = true;
        j.add_process(
            pid,
            &format!("kos-ipc-shim trace (pid {pid})"),
            origin_ns as i128,
            names,
        )?;
        Ok(j)
    }

    /// Start an empty timeline: no process yet, no flows drawn but those
    /// given to [`JsonWriter::flow`].
    pub fn timeline(mut w: W) -> Result<Self, WriteError> {
        w.put(b"[")?;
        Ok(JsonWriter {
            w,
            procs: Vec::new(),
            threads: BTreeMap::new(),
            link: false,
            pending: BTreeMap::new(),
            events: 0,
            first: true,
            line: String::with_capacity(512),
        })
    }

    /// Add a process named `name` (its events get `"pid":pid`, unique per
    /// output), whose clock reads `origin_ns` at the timeline's `ts` 0 and
    /// whose records are named by `names`. Processes are shown in the order
    /// they are added.
    pub fn add_process(
        &mut self,
        pid: u32,
        name: &str,
        origin_ns: i128,
        names: NameMap,
    ) -> Result<ProcessId, WriteError> {
        let id = ProcessId(self.procs.len());
        self.procs.push(Process {
            pid,
            origin_ns,
            names,
            lost: 0,
        });
        let order = id.0;
        self.emit(|l| write!(
            l,
            "{{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":{pid},\"tid\":0,\"args\":{{\"name\":{}}}}}",
            js(name)
        ))?;
        if order > 0 {
            self.emit(|l| write!(
                l,
                "{{\"ph\":\"M\",\"name\":\"process_sort_index\",\"pid\":{pid},\"tid\":0,\"args\":{{\"sort_index\":{order}}}}}"
            ))?;
        }
        Ok(id)
    }

    /// `ns` of process `p`'s clock as the timeline's `ts` (ns, 0 at the
    /// earliest).
    fn ts(&self, p: ProcessId, ns: u64) -> u64 {
        (ns as i128 - self.procs[p.0].origin_ns).clamp(0, u64::MAX as i128) as u64
    }

    /// Write the event `f` formats into the line buffer, after the
    /// separator.
    fn emit(&mut self, f: impl FnOnce(&mut String) -> core::fmt::Result) -> Result<(), WriteError> {
        self.line.clear();
        self.line.push_str(if core::mem::take(&mut self.first) {
            "\n"
        } else {
            ",\n"
        });
        let _ = f(&mut self.line);
        self.w.put(self.line.as_bytes())
    }

    /// Call events written so far.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// Name the track of thread `tid` (of the first process) `name[tid]`.
    pub fn thread_name(&mut self, tid: u64, name: &str) -> Result<(), WriteError> {
        self.thread_name_in(ProcessId(0), tid, name)
    }

    /// Name the track of process `p`'s thread `tid` `name[tid]` (a
    /// `thread_name` metadata event; written again when the name changes,
    /// viewers keep the last).
    pub fn thread_name_in(&mut self, p: ProcessId, tid: u64, name: &str) -> Result<(), WriteError> {
        let pid = self.procs[p.0].pid;
        self.name_track(pid, tid, format!("{name}[{tid}]"))
    }

    fn name_track(&mut self, pid: u32, tid: u64, label: String) -> Result<(), WriteError> {
        if self.threads.get(&(pid, tid)) == Some(&label) {
            return Ok(());
        }
        let quoted = js(&label);
        self.emit(|l| write!(
            l,
            "{{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":{pid},\"tid\":{tid},\"args\":{{\"name\":{quoted}}}}}"
        ))?;
        self.threads.insert((pid, tid), label);
        Ok(())
    }

    /// A track for thread `tid`: named `thread <tid>` until a name is given.
    fn thread(&mut self, pid: u32, tid: u64) -> Result<(), WriteError> {
        if !self.threads.contains_key(&(pid, tid)) {
            self.name_track(pid, tid, format!("thread {tid}"))?;
        }
        Ok(())
    }

    /// One flow arrow `name` (`id` unique in the output) from `from` to `to`.
    pub fn flow(
        &mut self,
        name: &str,
        id: u64,
        from: FlowEnd,
        to: FlowEnd,
    ) -> Result<(), WriteError> {
        self.flow_event('s', name, id, from)?;
        self.flow_event('f', name, id, to)
    }

    fn flow_event(&mut self, ph: char, name: &str, id: u64, at: FlowEnd) -> Result<(), WriteError> {
        let bp = if ph == 'f' { ",\"bp\":\"e\"" } else { "" };
        let pid = self.procs[at.process.0].pid;
        let tid = at.thread;
        let ts = self.ts(at.process, at.at_ns);
        self.emit(|l| write!(
            l,
            "{{\"ph\":\"{ph}\",\"name\":\"{name}\",\"cat\":\"ipc.flow\",\"id\":{id},\"pid\":{pid},\"tid\":{tid},\"ts\":{}{bp}}}",
            us(ts)
        ))
    }

    /// Write one record's events (of the first process).
    pub fn write(&mut self, rec: &Record, payload: &[u8]) -> Result<(), WriteError> {
        self.write_in(ProcessId(0), rec, payload)
    }

    /// Write one record's events as process `p`'s.
    pub fn write_in(
        &mut self,
        p: ProcessId,
        rec: &Record,
        payload: &[u8],
    ) -> Result<(), WriteError> {
        let ts = self.ts(p, rec.start);
        let pid = self.procs[p.0].pid;
        if rec.kind == KOS_SHIM_TRACE_KIND_LOST {
            self.procs[p.0].lost += rec.dropped;
            let lost = self.procs[p.0].lost;
            return self.emit(|l| write!(
                l,
                "{{\"ph\":\"C\",\"name\":\"lost records\",\"pid\":{pid},\"tid\":0,\"ts\":{},\"args\":{{\"lost\":{lost}}}}}",
                us(ts),
            ));
        }
        self.thread(pid, rec.thread)?;
        let op = rec.op();
        let names = &self.procs[p.0].names;
        let method = locator::method(names, rec.handle, rec.iid, rec.mid).to_string();
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
        if let Some(d) = text::decoded(rec, payload, names) {
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
            "{{\"ph\":\"X\",\"name\":{},\"cat\":\"ipc\",\"pid\":{pid},\"tid\":{},\"ts\":{},\"dur\":{},\"args\":{{{args}}}}}",
            js(&format!("{} {method}", op.map(|o| o.name()).unwrap_or("?"))),
            rec.thread,
            us(ts),
            us(rec.duration),
        ))?;
        self.events += 1;
        if self.link && rec.correlation != 0 {
            self.flow_ends(p, rec)?;
        }
        Ok(())
    }

    /// Remember this call's flow ends; write each flow once both ends are known.
    fn flow_ends(&mut self, p: ProcessId, rec: &Record) -> Result<(), WriteError> {
        let c = rec.correlation;
        if !self.pending.contains_key(&c) && self.pending.len() >= MAX_PENDING {
            return Ok(());
        }
        let e = self.pending.entry(c).or_default();
        match rec.op() {
            Some(Op::Call | Op::CallEx) => {
                e.call = Some((FlowEnd::after_start(p, rec), FlowEnd::before_end(p, rec)))
            }
            Some(Op::Recv | Op::RecvEx) => e.recv = Some(FlowEnd::before_end(p, rec)),
            Some(Op::Reply) => e.reply = Some(FlowEnd::after_start(p, rec)),
            None => {}
        }
        let ends = *e;
        if let (Some(call), Some(recv), false) = (ends.call, ends.recv, ends.request_done) {
            self.flow("request", 2 * c, call.0, recv)?;
            self.pending.entry(c).or_default().request_done = true;
        }
        if let (Some(call), Some(reply), false) = (ends.call, ends.reply, ends.response_done) {
            self.flow("response", 2 * c + 1, reply, call.1)?;
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
        self.w.put(if self.first {
            b"]\n" as &[u8]
        } else {
            b"\n]\n"
        })?;
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
        w.thread_name(77, "Server.main").unwrap();
        w.write(&rec, &[]).unwrap();
        w.thread_name(77, "Server.main").unwrap();
        w.thread_name(78, "late").unwrap();
        let out = String::from_utf8(w.finish().unwrap()).unwrap();
        let names: Vec<&str> = out.lines().filter(|l| l.contains("thread_name")).collect();
        assert_eq!(
            names,
            [
                "{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":9,\"tid\":77,\"args\":{\"name\":\"Server.main[77]\"}},",
                "{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":9,\"tid\":78,\"args\":{\"name\":\"late[78]\"}}",
            ]
        );
        assert!(
            out.contains(",\"peer_task\":1234,\"peer_thread\":5678,\"trace_id\":\"0xffffffffffffffff\",\"span_id\":\"0x00000000000000ab\"}"),
            "{out}"
        );
    }
}
