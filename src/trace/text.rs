//! One text line per record, for stderr (through `log`, target `kos_ipc`)
//! and `kos-ipc-trace export --format text`.
//!
//! ```text
//! 0.000123456 client[4242] call   h=3 Echo.Ping out=32+5 in=32+5 caps=0/0 rcOk 12.345us trace=0x00000000000000ab corr=7
//! 0.000124000 tid=4243 recv   h=4 Echo.Ping out=0+0 in=32+5 caps=0/0 rcOk 3.000us from task 1234 thread 4242 trace=0x00000000000000ab corr=7
//! 0.000200000 client[4242] lost=17 ring=0
//! ```
//!
//! Time is seconds since tracing started (negative for a call that was
//! already in progress then); the thread is `name[tid]`, or `tid=N` when
//! its name is not known ([`super::threads`]); `out`/`in` are constant-part +
//! arena bytes sent/received; a handle whose connection was learned from the
//! service locator reads `h=3(echo_connection)`, and a learned endpoint names
//! the interface (`Server.main.1`, see [`crate::locator`]); `caps` handles sent/received; the verdict is
//! shown when not `allow`; then the header context when present: for
//! Recv/RecvEx `from task T thread N` (the client's task and thread the
//! kernel reported), for Reply `to thread N` (the `threadId` it answered),
//! and `trace=`/`span=` (the header's trace and span ids, 16 hex digits);
//! the correlation when known; a captured payload (`KOS_SHIM_TRACE_PAYLOAD`)
//! read by the method's IDL signature when the name map has it
//! (`Hello(name: "ann", level: 3)` for a request, `-> (greeted: 3)` or
//! `-> error (code: 7)` for a Reply, see [`crate::idl::decode`]), else as
//! `payload=<constant hex>|<arena hex>`.

use alloc::format;
use alloc::string::{String, ToString};
use core::fmt::Write as _;

use super::kst::split_payload;
use super::record::{
    verdict_key, KosShimTraceRecord as Record, KOS_SHIM_TRACE_KIND_CALL, KOS_SHIM_TRACE_KIND_LOST,
};
use super::threads::{Label, ThreadNames};
use crate::call::Verdict;
use crate::idl::decode::{decode, Decoded, Part};
use crate::locator;
use crate::names::NameMap;
use crate::op::Op;

/// `(connection)` after a handle whose connection the service locator
/// wrappers learned ([`crate::locator`]); nothing otherwise.
struct Connection(u32);

impl core::fmt::Display for Connection {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match locator::connection(self.0) {
            Some((name, _)) => write!(f, "({name})"),
            None => Ok(()),
        }
    }
}

/// `seconds.nanoseconds` of `ns`.
pub fn seconds(ns: u64) -> String {
    format!("{}.{:09}", ns / 1_000_000_000, ns % 1_000_000_000)
}

/// A duration with a unit: `850ns`, `12.345us`, `1.234ms`, `2.500s`.
pub fn duration(ns: u64) -> String {
    if ns < 1_000 {
        format!("{ns}ns")
    } else if ns < 1_000_000 {
        format!("{}.{:03}us", ns / 1_000, ns % 1_000)
    } else if ns < 1_000_000_000 {
        format!("{}.{:03}ms", ns / 1_000_000, (ns / 1_000) % 1_000)
    } else {
        format!("{}.{:03}s", ns / 1_000_000_000, (ns / 1_000_000) % 1_000)
    }
}

/// The SDK name of `rc`, or its value in hex.
pub fn rc_name(rc: i32) -> String {
    match crate::abi::retcode_name(rc) {
        Some(n) => n.to_string(),
        None => format!("rc=0x{:08x}", rc as u32),
    }
}

/// Lower-case hex of `b`.
pub fn hex(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        let _ = write!(s, "{x:02x}");
    }
    s
}

/// A record's captured payload read by its method's IDL signature.
#[derive(Debug, Clone)]
pub struct DecodedCall {
    /// The message the record is about: the request of Call/CallEx/Recv/
    /// RecvEx, the response of Reply.
    pub message: Decoded,
    /// Call/CallEx that succeeded: the response it received.
    pub response: Option<Decoded>,
}

impl core::fmt::Display for DecodedCall {
    /// `Upper(text: "hi") -> (answer: "HI")`, or either part alone.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}", self.message)?;
        if let Some(r) = &self.response {
            write!(f, " {r}")?;
        }
        Ok(())
    }
}

/// The record's captured payload read by its method's IDL signature, when
/// the name map has the signature and its types have a layout.
pub fn decoded(rec: &Record, payload: &[u8], names: &NameMap) -> Option<DecodedCall> {
    if rec.kind != KOS_SHIM_TRACE_KIND_CALL || rec.payload_len() == 0 {
        return None;
    }
    let op = rec.op()?;
    let (part, const_size, arena_size) = match op {
        Op::Call | Op::CallEx => (Part::Request, rec.const_out, rec.arena_out),
        Op::Recv | Op::RecvEx => (Part::Request, rec.const_in, rec.arena_in),
        Op::Reply => (Part::Response, rec.const_out, rec.arena_out),
    };
    let m = locator::method(names, rec.handle, rec.iid, rec.mid);
    let name = m.name();
    let sig = name.signature()?;
    let p = split_payload(rec, payload);
    let schema = names.schema();
    let message = decode(
        schema, sig, part, p.constant, const_size, p.arena, arena_size,
    );
    if message.not_decodable.is_some() {
        return None;
    }
    let captured = rec.payload_resp_const > 0 || rec.payload_resp_arena > 0;
    let response = (op.sends() && captured).then(|| {
        decode(
            schema,
            sig,
            Part::Response,
            p.resp_constant,
            rec.const_in,
            p.resp_arena,
            rec.arena_in,
        )
    });
    Some(DecodedCall { message, response })
}

/// The captured payload as hex: `payload=<constant>|<arena>`, then for a
/// Call/CallEx ` response=<constant>|<arena>` when its response was captured.
pub fn payload_hex(rec: &Record, payload: &[u8]) -> String {
    let p = split_payload(rec, payload);
    let mut s = format!("payload={}|{}", hex(p.constant), hex(p.arena));
    if !p.resp_constant.is_empty() || !p.resp_arena.is_empty() {
        let _ = write!(
            s,
            " response={}|{}",
            hex(p.resp_constant),
            hex(p.resp_arena)
        );
    }
    s
}

/// The text line of one record; times relative to `origin_ns`; the thread
/// named by `threads` ([`Label`]).
pub fn line(
    rec: &Record,
    payload: &[u8],
    names: &NameMap,
    threads: &ThreadNames,
    origin_ns: u64,
) -> String {
    let who = Label(rec.thread, threads.get(rec.thread));
    // Calls already in progress when tracing started began before the origin.
    let t = if rec.start >= origin_ns {
        seconds(rec.start - origin_ns)
    } else {
        format!("-{}", seconds(origin_ns - rec.start))
    };
    if rec.kind == KOS_SHIM_TRACE_KIND_LOST {
        return format!("{t} {who} lost={} ring={}", rec.dropped, rec.ring);
    }
    let op = rec.op().map(|o| o.key()).unwrap_or("?");
    let mut s = format!(
        "{t} {who} {op:<6} h={}{} {} out={}+{} in={}+{} caps={}/{} {} {}",
        rec.handle,
        Connection(rec.handle),
        locator::method(names, rec.handle, rec.iid, rec.mid),
        rec.const_out,
        rec.arena_out,
        rec.const_in,
        rec.arena_in,
        rec.ncaps_out,
        rec.ncaps_in,
        rc_name(rec.rc),
        duration(rec.duration),
    );
    match rec.verdict() {
        Some(Verdict::Allow) => {}
        Some(v) => {
            let _ = write!(s, " verdict={}", verdict_key(v));
        }
        None => {
            let _ = write!(s, " verdict={}", rec.verdict);
        }
    }
    context(&mut s, rec);
    if rec.correlation != 0 {
        let _ = write!(s, " corr={}", rec.correlation);
    }
    if let Some(d) = decoded(rec, payload, names) {
        let _ = write!(s, " {d}");
    } else if rec.payload_len() > 0 {
        let _ = write!(s, " {}", payload_hex(rec, payload));
    }
    s
}

/// Append the header context of a call record: who sent a received request,
/// which thread a Reply answered, the trace and span ids; nothing for fields
/// that are 0.
fn context(s: &mut String, rec: &Record) {
    match rec.op() {
        Some(Op::Recv | Op::RecvEx) if rec.peer_task != 0 || rec.peer_thread != 0 => {
            let _ = write!(s, " from task {} thread {}", rec.peer_task, rec.peer_thread);
        }
        Some(Op::Reply) if rec.peer_thread != 0 => {
            let _ = write!(s, " to thread {}", rec.peer_thread);
        }
        _ => {}
    }
    if rec.trace_id != 0 {
        let _ = write!(s, " trace=0x{:016x}", rec.trace_id);
    }
    if rec.span_id != 0 {
        let _ = write!(s, " span=0x{:016x}", rec.span_id);
    }
}

/// Send one record to the `log` facade (target `kos_ipc`): calls at info
/// level, lost records at warn level.
pub fn log_record(
    rec: &Record,
    payload: &[u8],
    names: &NameMap,
    threads: &ThreadNames,
    origin_ns: u64,
) {
    let level = if rec.kind == KOS_SHIM_TRACE_KIND_LOST {
        log::Level::Warn
    } else {
        log::Level::Info
    };
    if log::log_enabled!(target: "kos_ipc", level) {
        log::log!(target: "kos_ipc", level, "{}", line(rec, payload, names, threads, origin_ns));
    }
}

/// Minimal logger for programs (C ones) that installed none: the trace
/// lines (target `kos_ipc`) on stderr as `kos-ipc-shim trace: <line>` (the
/// project's one prefix; `trace` keeps them apart from the shim's messages,
/// `kos-ipc-shim: ...`), one write each
/// (through the C library, in every build). The shim's own messages are not
/// its business: `say` already wrote them.
struct StderrLogger;

impl log::Log for StderrLogger {
    fn enabled(&self, m: &log::Metadata<'_>) -> bool {
        m.level() <= log::Level::Info && m.target() == "kos_ipc"
    }

    fn log(&self, r: &log::Record<'_>) {
        if self.enabled(r.metadata()) {
            let mut line = String::with_capacity(160);
            let _ = writeln!(line, "kos-ipc-shim trace: {}", r.args());
            crate::sys::stderr(line.as_bytes());
        }
    }

    fn flush(&self) {}
}

static STDERR_LOGGER: StderrLogger = StderrLogger;

/// Install the stderr logger at info level unless the program set a logger.
pub fn ensure_logger() {
    if log::set_logger(&STDERR_LOGGER).is_ok() {
        log::set_max_level(log::LevelFilter::Info);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::record::KOS_SHIM_TRACE_KIND_CALL;

    #[test]
    fn call_and_lost_lines() {
        let mut names = NameMap::new();
        names.insert_iid(7, "Echo").unwrap();
        names.insert_mid(7, 1, "Ping").unwrap();
        let rec = Record {
            start: 1_000_123_456,
            duration: 12_345,
            thread: 4242,
            correlation: 7,
            handle: 3,
            rc: 0,
            iid: 7,
            mid: 1,
            op: 0,
            verdict: 1,
            kind: KOS_SHIM_TRACE_KIND_CALL,
            const_out: 32,
            arena_out: 5,
            const_in: 32,
            arena_in: 4,
            payload_const: 2,
            payload_arena: 1,
            ..Default::default()
        };
        assert_eq!(
            line(&rec, b"\x01\xabZ", &names, &ThreadNames::default(), 1_000_000_000),
            "0.000123456 tid=4242 call   h=3 Echo.Ping out=32+5 in=32+4 caps=0/0 rcOk 12.345us verdict=log corr=7 payload=01ab|5a"
        );
        let failed = Record {
            rc: crate::abi::rcSecurityDisallow,
            verdict: 2,
            op: 4,
            iid: 9,
            mid: 2,
            kind: KOS_SHIM_TRACE_KIND_CALL,
            duration: 2_500_000,
            ..Default::default()
        };
        assert_eq!(
            line(&failed, &[], &names, &ThreadNames::default(), 0),
            "0.000000000 tid=0 reply  h=0 9.2 out=0+0 in=0+0 caps=0/0 rcSecurityDisallow 2.500ms verdict=deny"
        );
        let received = Record {
            start: 1_000_124_000,
            duration: 3_000,
            thread: 4243,
            correlation: 7,
            handle: 4,
            iid: 7,
            mid: 1,
            op: 3,
            kind: KOS_SHIM_TRACE_KIND_CALL,
            const_in: 32,
            peer_task: 1234,
            peer_thread: 4242,
            trace_id: 0xab,
            span_id: 0x0102_0304_0506_0708,
            ..Default::default()
        };
        assert_eq!(
            line(&received, &[], &names, &ThreadNames::default(), 1_000_000_000),
            "0.000124000 tid=4243 recvex h=4 Echo.Ping out=0+0 in=32+0 caps=0/0 rcOk 3.000us from task 1234 thread 4242 trace=0x00000000000000ab span=0x0102030405060708 corr=7"
        );
        let answered = Record {
            op: 4,
            peer_thread: 4242,
            span_id: 9,
            ..received
        };
        assert!(line(
            &answered,
            &[],
            &names,
            &ThreadNames::default(),
            1_000_000_000
        )
        .ends_with(
            "rcOk 3.000us to thread 4242 trace=0x00000000000000ab span=0x0000000000000009 corr=7"
        ));
        let sent = Record {
            op: 0,
            peer_task: 0,
            peer_thread: 0,
            trace_id: 0,
            ..received
        };
        assert!(
            line(&sent, &[], &names, &ThreadNames::default(), 1_000_000_000)
                .ends_with("rcOk 3.000us span=0x0102030405060708 corr=7")
        );
        assert_eq!(
            line(
                &Record::lost(3, 11, 5, 17),
                &[],
                &names,
                &ThreadNames::default(),
                0
            ),
            "0.000000005 tid=11 lost=17 ring=3"
        );
        let mut threads = ThreadNames::default();
        threads.set(4243, "Server.main");
        assert!(line(&received, &[], &names, &threads, 1_000_000_000)
            .starts_with("0.000124000 Server.main[4243] recvex h=4 Echo.Ping "));
        threads.set(11, "client");
        assert_eq!(
            line(&Record::lost(3, 11, 5, 17), &[], &names, &threads, 0),
            "0.000000005 client[11] lost=17 ring=3"
        );
        assert_eq!(rc_name(0x7777), "rc=0x00007777");
        assert_eq!(duration(850), "850ns");
        assert_eq!(duration(3_000_000_001), "3.000s");
    }
}
