//! CTF 1.8 output: a TSDL `metadata` file and one binary data stream per
//! thread (`stream-<tid>`, plus `stream-lost` for lost records), readable by
//! babeltrace2 (`babeltrace2 DIR`).
//!
//! Each stream file is one packet: packet header (magic, stream id), packet
//! context (begin/end timestamps, content and packet size in bits, thread id),
//! then events. Every field is byte-aligned little-endian, so the layout is
//! exactly the bytes written in order. There is one event class per
//! operation, so readers select by name: `kos_ipc:call`, `kos_ipc:callex`,
//! `kos_ipc:recv`, `kos_ipc:recvex`, `kos_ipc:reply` (ids 0 to 4, the `op`
//! values), each with the fields its operation has (a receive
//! has no sent sizes, a reply no received ones; the header context
//! `peer_task`, `peer_thread`, `trace_id`, `span_id`; `connection`, the
//! handle's connection learned from the service locator, empty when
//! unknown, see [`crate::locator`]), and `kos_ipc:lost` (id 5) with the
//! lost counts. Every event's context is the thread's name
//! (`thread_name`, [`CtfWriter::thread_name`]; empty when unknown). The
//! clock is the shim's monotonic clock in ns with an offset to wall-clock
//! time, so babeltrace2 prints real times of day.
//!
//! A stream file is a sequence of packets, each complete when written: the
//! events of a thread are collected in memory and written as one packet
//! (header and context with its sizes and times first) whenever the writer
//! is flushed — every drain of the tracer — or a packet reaches 64 KiB. So
//! the directory is readable at any time, also after the traced process was
//! killed, and files are only ever appended to (no seeking: the C library
//! layer writes them through stdio).
//!
//! Stream files are numbered `stream-0`, `stream-1`, ... in the order
//! threads first appear (the thread id is in each packet's context).
//! Creating a writer removes the stream files of an earlier trace in the same
//! directory (`stream-0` upwards until one is missing, and `stream-lost`),
//! so readers see only this one.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use super::bytes::WriteError;
use super::kst::split_payload;
use super::record::{KosShimTraceRecord as Record, KOS_SHIM_TRACE_KIND_LOST};
use super::text::{self, hex, rc_name};
use super::threads::ThreadNames;
use crate::locator;
use crate::names::NameMap;
use crate::sys::{self, File, Mode};

/// Bytes of packet header and context before the first event.
const PACKET_PREFIX: usize = 48;
/// A packet is written once its events reach this size.
const PACKET_MAX: usize = 64 << 10;
const CTF_MAGIC: u32 = 0xC1FC_1FC1;
const LOST_STREAM: u64 = u64::MAX;
/// Event class id of lost records; the call classes' ids are the `op` values.
const LOST_ID: u32 = 5;

/// Call, CallEx, Recv, RecvEx, Reply as bits of [`Field::ops`].
const CALLS: u8 = 0b00011;
const RECVS: u8 = 0b01100;
const REPLY: u8 = 0b10000;
const ALL: u8 = CALLS | RECVS | REPLY;

/// The event class names, by `op` value.
const CLASSES: [&str; 5] = [
    "kos_ipc:call",
    "kos_ipc:callex",
    "kos_ipc:recv",
    "kos_ipc:recvex",
    "kos_ipc:reply",
];

/// A field's CTF type.
#[derive(Clone, Copy)]
enum Ty {
    Op,
    Verdict,
    U16,
    U32,
    U64,
    I32,
    Str,
}

/// Where a field's value comes from.
#[derive(Clone, Copy)]
enum Src {
    /// A number of the record (written in the field's width).
    Num(fn(&Record) -> u64),
    /// One of the strings made once per event.
    Text(fn(&Texts) -> &str),
}

/// One field of the call event classes: which operations carry it.
struct Field {
    name: &'static str,
    ty: Ty,
    ops: u8,
    src: Src,
}

const fn f(name: &'static str, ty: Ty, ops: u8, get: fn(&Record) -> u64) -> Field {
    Field {
        name,
        ty,
        ops,
        src: Src::Num(get),
    }
}

const fn t(name: &'static str, ops: u8, get: fn(&Texts) -> &str) -> Field {
    Field {
        name,
        ty: Ty::Str,
        ops,
        src: Src::Text(get),
    }
}

/// The strings of one call event.
struct Texts {
    connection: String,
    method: String,
    rc_name: String,
    payload: String,
    params: String,
}

/// The call events' fields in order. One table gives both the metadata and
/// the encoding, so they cannot disagree. A receive sends nothing and a
/// reply receives nothing; only a receive names its client's task.
const FIELDS: &[Field] = &[
    f("op", Ty::Op, ALL, |r| r.op as u64),
    f("verdict", Ty::Verdict, ALL, |r| r.verdict as u64),
    f("thread", Ty::U64, ALL, |r| r.thread),
    f("handle", Ty::U32, ALL, |r| r.handle as u64),
    t("connection", ALL, |s| &s.connection),
    f("iid", Ty::U16, ALL, |r| r.iid as u64),
    f("mid", Ty::U16, ALL, |r| r.mid as u64),
    t("method", ALL, |s| &s.method),
    f("rc", Ty::I32, ALL, |r| r.rc as u32 as u64),
    t("rc_name", ALL, |s| &s.rc_name),
    f("const_out", Ty::U32, CALLS | REPLY, |r| r.const_out as u64),
    f("arena_out", Ty::U32, CALLS | REPLY, |r| r.arena_out as u64),
    f("const_in", Ty::U32, CALLS | RECVS, |r| r.const_in as u64),
    f("arena_in", Ty::U32, CALLS | RECVS, |r| r.arena_in as u64),
    f("ncaps_out", Ty::U16, CALLS | REPLY, |r| r.ncaps_out as u64),
    f("ncaps_in", Ty::U16, CALLS | RECVS, |r| r.ncaps_in as u64),
    f("correlation", Ty::U64, ALL, |r| r.correlation),
    f("duration_ns", Ty::U64, ALL, |r| r.duration),
    f("peer_task", Ty::U32, RECVS, |r| r.peer_task as u64),
    f("peer_thread", Ty::U32, RECVS | REPLY, |r| {
        r.peer_thread as u64
    }),
    f("trace_id", Ty::U64, ALL, |r| r.trace_id),
    f("span_id", Ty::U64, ALL, |r| r.span_id),
    t("payload", ALL, |s| &s.payload),
    t("params", ALL, |s| &s.params),
];

/// The event class declarations: one per operation, then `kos_ipc:lost`.
fn event_classes() -> String {
    let mut s = String::new();
    for (op, name) in CLASSES.iter().enumerate() {
        s.push_str(&format!(
            "event {{\n    name = \"{name}\";\n    id = {op};\n    stream_id = 0;\n    fields := struct {{\n"
        ));
        for fd in FIELDS.iter().filter(|fd| fd.ops & (1 << op) != 0) {
            let ty = match fd.ty {
                Ty::Op => {
                    "enum : uint8_t { Call = 0, CallEx = 1, Recv = 2, RecvEx = 3, Reply = 4 }"
                }
                Ty::Verdict => {
                    "enum : uint8_t { allow = 0, log = 1, deny = 2, audit_deny = 3, fault = 4 }"
                }
                Ty::U16 => "uint16_t",
                Ty::U32 => "uint32_t",
                Ty::U64 => "uint64_t",
                Ty::I32 => "int32_t",
                Ty::Str => "string",
            };
            s.push_str(&format!("        {ty} {};\n", fd.name));
        }
        s.push_str("    };\n};\n\n");
    }
    s.push_str(&format!(
        "event {{\n    name = \"kos_ipc:lost\";\n    id = {LOST_ID};\n    stream_id = 0;\n    fields := struct {{\n        uint32_t ring;\n        uint64_t thread;\n        uint64_t dropped;\n    }};\n}};\n"
    ));
    s
}

/// The TSDL metadata for a trace of process `pid` whose clock read `start_ns`
/// at wall-clock time `wall_ns`.
pub fn metadata(pid: u32, start_ns: u64, wall_ns: u64) -> String {
    let offset = wall_ns.saturating_sub(start_ns);
    format!(
        r#"/* CTF 1.8 */

typealias integer {{ size = 8; align = 8; signed = false; }} := uint8_t;
typealias integer {{ size = 16; align = 8; signed = false; }} := uint16_t;
typealias integer {{ size = 32; align = 8; signed = false; }} := uint32_t;
typealias integer {{ size = 64; align = 8; signed = false; }} := uint64_t;
typealias integer {{ size = 32; align = 8; signed = true; }} := int32_t;

trace {{
    major = 1;
    minor = 8;
    byte_order = le;
    packet.header := struct {{
        uint32_t magic;
        uint32_t stream_id;
    }};
}};

env {{
    domain = "kos-ipc-shim";
    tracer_name = "kos-ipc-shim";
    pid = {pid};
}};

clock {{
    name = monotonic;
    description = "kos-ipc-shim monotonic clock";
    freq = 1000000000;
    offset_s = {offset_s};
    offset = {offset_ns};
}};

typealias integer {{ size = 64; align = 8; signed = false; map = clock.monotonic.value; }} := uint64_clock_t;

stream {{
    id = 0;
    packet.context := struct {{
        uint64_clock_t timestamp_begin;
        uint64_clock_t timestamp_end;
        uint64_t content_size;
        uint64_t packet_size;
        uint64_t thread;
    }};
    event.header := struct {{
        uint32_t id;
        uint64_clock_t timestamp;
    }};
    event.context := struct {{
        string thread_name;
    }};
}};

{classes}"#,
        offset_s = offset / 1_000_000_000,
        offset_ns = offset % 1_000_000_000,
        classes = event_classes(),
    )
}

struct Stream {
    file: File,
    path: String,
    thread: u64,
    /// Times of the first and last event of the packet being collected.
    begin: u64,
    end: u64,
    /// Its events.
    events: Vec<u8>,
}

impl Stream {
    /// Write the collected events as one packet.
    fn write_packet(&mut self) -> Result<(), WriteError> {
        if self.events.is_empty() {
            return Ok(());
        }
        let bits = ((PACKET_PREFIX + self.events.len()) * 8) as u64;
        let mut h = [0u8; PACKET_PREFIX];
        h[..4].copy_from_slice(&CTF_MAGIC.to_le_bytes());
        for (i, v) in [self.begin, self.end, bits, bits, self.thread]
            .into_iter()
            .enumerate()
        {
            h[8 + 8 * i..16 + 8 * i].copy_from_slice(&v.to_le_bytes());
        }
        let path = &self.path;
        let named = |e: sys::FileError| WriteError(format!("{path}: {e}"));
        self.file.write_all(&h).map_err(named)?;
        self.file.write_all(&self.events).map_err(named)?;
        self.events.clear();
        Ok(())
    }
}

/// Writes a CTF directory.
pub struct CtfWriter {
    dir: String,
    names: NameMap,
    threads: ThreadNames,
    streams: BTreeMap<u64, Stream>,
    /// Number of the next thread's stream file.
    next: u32,
    events: u64,
}

fn put_cstr(b: &mut Vec<u8>, s: &str) {
    b.extend(s.bytes().filter(|&c| c != 0));
    b.push(0);
}

/// The strings of `rec`'s call event.
fn texts(names: &NameMap, rec: &Record, payload: &[u8]) -> Texts {
    let (payload, params) = match text::decoded(rec, payload, names) {
        Some(d) => (String::new(), d.to_string()),
        None if rec.payload_len() > 0 => {
            let p = split_payload(rec, payload);
            let mut s = format!("{}|{}", hex(p.constant), hex(p.arena));
            if !p.resp_constant.is_empty() || !p.resp_arena.is_empty() {
                s.push_str(&format!(
                    " response={}|{}",
                    hex(p.resp_constant),
                    hex(p.resp_arena)
                ));
            }
            (s, String::new())
        }
        None => (String::new(), String::new()),
    };
    Texts {
        connection: locator::connection(rec.handle)
            .map(|(c, _)| c.as_str().to_string())
            .unwrap_or_default(),
        method: locator::method(names, rec.handle, rec.iid, rec.mid).to_string(),
        rc_name: rc_name(rec.rc),
        payload,
        params,
    }
}

/// Append the event of `rec` at time `ts` on thread `thread_name` to `b`:
/// the class of its operation with that class's fields, or `kos_ipc:lost`.
fn encode(
    b: &mut Vec<u8>,
    names: &NameMap,
    rec: &Record,
    payload: &[u8],
    ts: u64,
    thread_name: &str,
) -> Result<(), WriteError> {
    let lost = rec.kind == KOS_SHIM_TRACE_KIND_LOST;
    if !lost && rec.op as usize >= CLASSES.len() {
        return Err(WriteError(format!("record of operation {}", rec.op)));
    }
    let id = if lost { LOST_ID } else { rec.op as u32 };
    b.extend_from_slice(&id.to_le_bytes());
    b.extend_from_slice(&ts.to_le_bytes());
    put_cstr(b, thread_name);
    if lost {
        b.extend_from_slice(&rec.ring.to_le_bytes());
        b.extend_from_slice(&rec.thread.to_le_bytes());
        b.extend_from_slice(&rec.dropped.to_le_bytes());
        return Ok(());
    }
    let texts = texts(names, rec, payload);
    for fd in FIELDS.iter().filter(|fd| fd.ops & (1 << rec.op) != 0) {
        match fd.src {
            Src::Text(get) => put_cstr(b, get(&texts)),
            Src::Num(get) => {
                let v = get(rec).to_le_bytes();
                let width = match fd.ty {
                    Ty::Op | Ty::Verdict => 1,
                    Ty::U16 => 2,
                    Ty::U32 | Ty::I32 => 4,
                    Ty::U64 | Ty::Str => 8,
                };
                b.extend_from_slice(&v[..width]);
            }
        }
    }
    Ok(())
}

impl CtfWriter {
    /// Make `dir` (and parents), remove the stream files of an earlier
    /// trace in it, and write the metadata.
    pub fn create(
        dir: &str,
        pid: u32,
        start_ns: u64,
        wall_ns: u64,
        names: NameMap,
    ) -> Result<Self, WriteError> {
        let dir = dir.trim_end_matches('/');
        sys::mkdir_all(dir);
        for n in 0.. {
            if !sys::remove(&format!("{dir}/stream-{n}")) {
                break;
            }
        }
        sys::remove(&format!("{dir}/stream-lost"));
        let path = format!("{dir}/metadata");
        let named = |e: sys::FileError| WriteError(format!("{path}: {e}"));
        let mut f = File::open(&path, Mode::Create).map_err(named)?;
        f.write_all(metadata(pid, start_ns, wall_ns).as_bytes())
            .map_err(named)?;
        f.close().map_err(named)?;
        Ok(CtfWriter {
            dir: dir.to_string(),
            names,
            threads: ThreadNames::default(),
            streams: BTreeMap::new(),
            next: 0,
            events: 0,
        })
    }

    /// Events written so far (calls and lost records).
    pub fn events(&self) -> u64 {
        self.events
    }

    /// Make the stream of `key` if it is new.
    fn open_stream(&mut self, key: u64, thread: u64) -> Result<(), WriteError> {
        if self.streams.contains_key(&key) {
            return Ok(());
        }
        let path = if key == LOST_STREAM {
            format!("{}/stream-lost", self.dir)
        } else {
            self.next += 1;
            format!("{}/stream-{}", self.dir, self.next - 1)
        };
        let file =
            File::open(&path, Mode::Create).map_err(|e| WriteError(format!("{path}: {e}")))?;
        self.streams.insert(
            key,
            Stream {
                file,
                path,
                thread,
                begin: 0,
                end: 0,
                events: Vec::with_capacity(4096),
            },
        );
        Ok(())
    }

    /// Name thread `tid`: its later events carry `name` in their context
    /// (`thread_name`); events before carry the name known then ("" if none).
    pub fn thread_name(&mut self, tid: u64, name: &str) {
        self.threads.set(tid, name);
    }

    /// Append one record as an event.
    pub fn write(&mut self, rec: &Record, payload: &[u8]) -> Result<(), WriteError> {
        let lost = rec.kind == KOS_SHIM_TRACE_KIND_LOST;
        let key = if lost { LOST_STREAM } else { rec.thread };
        self.open_stream(key, if lost { 0 } else { rec.thread })?;
        let s = self.streams.get_mut(&key).expect("opened above");
        // Timestamps must not go backwards within a stream.
        let ts = rec.start.max(s.end);
        if s.events.is_empty() {
            s.begin = ts;
        }
        s.end = ts;
        let name = self.threads.get(rec.thread).unwrap_or("");
        encode(&mut s.events, &self.names, rec, payload, ts, name)?;
        if s.events.len() >= PACKET_MAX {
            s.write_packet()?;
        }
        self.events += 1;
        Ok(())
    }

    /// Write what each stream collected as a packet and hand it to the system.
    pub fn flush(&mut self) -> Result<(), WriteError> {
        for s in self.streams.values_mut() {
            s.write_packet()?;
            let path = &s.path;
            s.file
                .flush()
                .map_err(|e| WriteError(format!("{path}: {e}")))?;
        }
        Ok(())
    }

    /// Write the last packets and close the files.
    pub fn finish(mut self) -> Result<(), WriteError> {
        self.flush()?;
        for (_, s) in core::mem::take(&mut self.streams) {
            let path = s.path;
            s.file
                .close()
                .map_err(|e| WriteError(format!("{path}: {e}")))?;
        }
        Ok(())
    }
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;
    use crate::trace::record::KOS_SHIM_TRACE_KIND_CALL;

    /// The fields `metadata` declares for event class `name`.
    fn declared(meta: &str, name: &str) -> Vec<String> {
        let at = meta
            .find(&format!("name = \"{name}\";"))
            .expect("class declared");
        let body = &meta[at..];
        let body = &body[body.find("struct {").unwrap() + 8..body.find("};").unwrap()];
        body.lines()
            .filter_map(|l| l.trim().strip_suffix(';'))
            .map(|l| l.rsplit(' ').next().unwrap().to_string())
            .collect()
    }

    #[test]
    fn each_operation_has_its_own_class_with_its_own_fields() {
        let meta = metadata(1, 0, 0);
        for (id, name) in CLASSES.iter().enumerate() {
            assert!(
                meta.contains(&format!("name = \"{name}\";\n    id = {id};")),
                "{meta}"
            );
        }
        assert!(meta.contains("name = \"kos_ipc:lost\";\n    id = 5;"));
        assert!(meta.contains("event.context := struct {\n        string thread_name;"));
        let recv = declared(&meta, "kos_ipc:recv");
        assert!(recv.contains(&"peer_task".into()) && recv.contains(&"const_in".into()));
        assert!(!recv.contains(&"const_out".into()) && !recv.contains(&"ncaps_out".into()));
        let reply = declared(&meta, "kos_ipc:reply");
        assert!(reply.contains(&"const_out".into()) && reply.contains(&"peer_thread".into()));
        assert!(!reply.contains(&"arena_in".into()) && !reply.contains(&"peer_task".into()));
        let call = declared(&meta, "kos_ipc:callex");
        assert!(call.contains(&"const_out".into()) && call.contains(&"const_in".into()));
        assert!(!call.contains(&"peer_task".into()) && !call.contains(&"peer_thread".into()));
        assert_eq!(call.last().map(String::as_str), Some("params"));
        assert_eq!(
            declared(&meta, "kos_ipc:lost"),
            ["ring", "thread", "dropped"]
        );
    }

    #[test]
    fn a_recv_event_is_encoded_as_its_class_declares() {
        let dir = std::env::temp_dir().join(format!("kos-ctf-test-{}", std::process::id()));
        let mut w = CtfWriter::create(dir.to_str().unwrap(), 1, 0, 0, NameMap::new()).unwrap();
        let rec = Record {
            start: 5,
            duration: 6,
            thread: 77,
            iid: 1,
            mid: 2,
            op: 2,
            kind: KOS_SHIM_TRACE_KIND_CALL,
            const_in: 40,
            arena_in: 3,
            ncaps_in: 1,
            peer_task: 1234,
            peer_thread: 5678,
            trace_id: 0x1111_2222_3333_4444,
            span_id: 0x5555_6666_7777_8888,
            ..Default::default()
        };
        w.thread_name(77, "srv");
        w.write(&rec, &[]).unwrap();
        let bad = Record { op: 9, ..rec };
        assert_eq!(
            w.write(&bad, &[]).unwrap_err().to_string(),
            "record of operation 9"
        );
        w.finish().unwrap();
        let bytes = std::fs::read(dir.join("stream-0")).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        let ev = &bytes[PACKET_PREFIX..];
        assert_eq!(&ev[..4], &2u32.to_le_bytes(), "class id: the op");
        assert_eq!(&ev[12..16], b"srv\0", "context: thread_name");
        // op, verdict, thread, handle, connection "" (none learned), iid,
        // mid, method "1.2", rc, rc_name "rcOk", then a receive's sizes:
        // const_in, arena_in, ncaps_in; correlation, duration.
        let mut at = 16 + 2 + 8 + 4 + 1 + 2 + 2 + b"1.2\0".len() + 4 + b"rcOk\0".len();
        assert_eq!(&ev[at..at + 4], &40u32.to_le_bytes());
        assert_eq!(&ev[at + 4..at + 8], &3u32.to_le_bytes());
        assert_eq!(&ev[at + 8..at + 10], &1u16.to_le_bytes());
        at += 10 + 8 + 8;
        let ctx = &ev[at..at + 24];
        assert_eq!(&ctx[..4], &1234u32.to_le_bytes());
        assert_eq!(&ctx[4..8], &5678u32.to_le_bytes());
        assert_eq!(&ctx[8..16], &0x1111_2222_3333_4444u64.to_le_bytes());
        assert_eq!(&ctx[16..], &0x5555_6666_7777_8888u64.to_le_bytes());
        assert_eq!(
            &ev[at + 24..],
            b"\0\0",
            "then the empty payload and params strings"
        );
    }
}
