//! CTF 1.8 output: a TSDL `metadata` file and one binary data stream per
//! thread (`stream-<tid>`, plus `stream-lost` for lost records), readable by
//! babeltrace2 (`babeltrace2 DIR`).
//!
//! Each stream file is one packet: packet header (magic, stream id), packet
//! context (begin/end timestamps, content and packet size in bits, thread id),
//! then events. Every field is byte-aligned little-endian, so the layout is
//! exactly the bytes written in order. Event `kos_ipc:call` (id 0) carries
//! every record field, the header context included (`peer_task`,
//! `peer_thread`, `trace_id`, `span_id`; `connection`, the handle's
//! connection learned from the service locator, empty when unknown, see
//! [`crate::locator`]); `kos_ipc:lost` (id 1) the lost
//! counts. The clock is
//! the shim's monotonic clock in ns with an offset to wall-clock time, so
//! babeltrace2 prints real times of day.
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
use crate::locator;
use crate::names::NameMap;
use crate::sys::{self, File, Mode};

/// Bytes of packet header and context before the first event.
const PACKET_PREFIX: usize = 48;
/// A packet is written once its events reach this size.
const PACKET_MAX: usize = 64 << 10;
const CTF_MAGIC: u32 = 0xC1FC_1FC1;
const LOST_STREAM: u64 = u64::MAX;

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
}};

event {{
    name = "kos_ipc:call";
    id = 0;
    stream_id = 0;
    fields := struct {{
        enum : uint8_t {{ Call = 0, CallEx = 1, Recv = 2, RecvEx = 3, Reply = 4 }} op;
        enum : uint8_t {{ allow = 0, log = 1, deny = 2, audit_deny = 3 }} verdict;
        uint64_t thread;
        uint32_t handle;
        string connection;
        uint16_t iid;
        uint16_t mid;
        string method;
        int32_t rc;
        string rc_name;
        uint32_t const_out;
        uint32_t arena_out;
        uint32_t const_in;
        uint32_t arena_in;
        uint16_t ncaps_out;
        uint16_t ncaps_in;
        uint64_t correlation;
        uint64_t duration_ns;
        uint32_t peer_task;
        uint32_t peer_thread;
        uint64_t trace_id;
        uint64_t span_id;
        string payload;
        string params;
    }};
}};

event {{
    name = "kos_ipc:lost";
    id = 1;
    stream_id = 0;
    fields := struct {{
        uint32_t ring;
        uint64_t thread;
        uint64_t dropped;
    }};
}};
"#,
        offset_s = offset / 1_000_000_000,
        offset_ns = offset % 1_000_000_000,
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
    streams: BTreeMap<u64, Stream>,
    /// Number of the next thread's stream file.
    next: u32,
    events: u64,
}

fn put_cstr(b: &mut Vec<u8>, s: &str) {
    b.extend(s.bytes().filter(|&c| c != 0));
    b.push(0);
}

/// Append the event of `rec` at time `ts` to `b`.
fn encode(b: &mut Vec<u8>, names: &NameMap, rec: &Record, payload: &[u8], ts: u64) {
    let lost = rec.kind == KOS_SHIM_TRACE_KIND_LOST;
    b.extend_from_slice(&(lost as u32).to_le_bytes());
    b.extend_from_slice(&ts.to_le_bytes());
    if lost {
        b.extend_from_slice(&rec.ring.to_le_bytes());
        b.extend_from_slice(&rec.thread.to_le_bytes());
        b.extend_from_slice(&rec.dropped.to_le_bytes());
        return;
    }
    b.push(rec.op);
    b.push(rec.verdict);
    b.extend_from_slice(&rec.thread.to_le_bytes());
    b.extend_from_slice(&rec.handle.to_le_bytes());
    match locator::connection(rec.handle) {
        Some((conn, _)) => put_cstr(b, conn.as_str()),
        None => put_cstr(b, ""),
    }
    b.extend_from_slice(&rec.iid.to_le_bytes());
    b.extend_from_slice(&rec.mid.to_le_bytes());
    put_cstr(
        b,
        &locator::method(names, rec.handle, rec.iid, rec.mid).to_string(),
    );
    b.extend_from_slice(&rec.rc.to_le_bytes());
    put_cstr(b, &rc_name(rec.rc));
    for v in [rec.const_out, rec.arena_out, rec.const_in, rec.arena_in] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    b.extend_from_slice(&rec.ncaps_out.to_le_bytes());
    b.extend_from_slice(&rec.ncaps_in.to_le_bytes());
    b.extend_from_slice(&rec.correlation.to_le_bytes());
    b.extend_from_slice(&rec.duration.to_le_bytes());
    b.extend_from_slice(&rec.peer_task.to_le_bytes());
    b.extend_from_slice(&rec.peer_thread.to_le_bytes());
    b.extend_from_slice(&rec.trace_id.to_le_bytes());
    b.extend_from_slice(&rec.span_id.to_le_bytes());
    match text::decoded(rec, payload, names) {
        Some(d) => {
            put_cstr(b, "");
            put_cstr(b, &d.to_string());
        }
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
            put_cstr(b, &s);
            put_cstr(b, "");
        }
        None => {
            put_cstr(b, "");
            put_cstr(b, "");
        }
    }
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
        encode(&mut s.events, &self.names, rec, payload, ts);
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

    #[test]
    fn a_call_event_carries_the_header_context_as_the_metadata_declares() {
        let meta = metadata(1, 0, 0);
        let fields = "uint64_t duration_ns;\n        uint32_t peer_task;\n        uint32_t peer_thread;\n        uint64_t trace_id;\n        uint64_t span_id;\n        string payload;\n        string params;";
        assert!(meta.contains(fields), "{meta}");

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
            peer_task: 1234,
            peer_thread: 5678,
            trace_id: 0x1111_2222_3333_4444,
            span_id: 0x5555_6666_7777_8888,
            ..Default::default()
        };
        w.write(&rec, &[]).unwrap();
        w.finish().unwrap();
        let bytes = std::fs::read(dir.join("stream-0")).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        // After the packet prefix: event id and timestamp (12 bytes), then
        // op, verdict, thread, handle, connection "" (none learned), iid,
        // mid, method "1.2", rc, rc_name "rcOk", four sizes, two cap counts,
        // correlation, duration.
        let connection = b"\0".len();
        let method = b"1.2\0".len();
        let rc_name = b"rcOk\0".len();
        let at = PACKET_PREFIX
            + 12
            + 2
            + 8
            + 4
            + connection
            + 2
            + 2
            + method
            + 4
            + rc_name
            + 16
            + 4
            + 8
            + 8;
        let ctx = &bytes[at..at + 24];
        assert_eq!(&ctx[..4], &1234u32.to_le_bytes());
        assert_eq!(&ctx[4..8], &5678u32.to_le_bytes());
        assert_eq!(&ctx[8..16], &0x1111_2222_3333_4444u64.to_le_bytes());
        assert_eq!(&ctx[16..], &0x5555_6666_7777_8888u64.to_le_bytes());
        assert_eq!(
            &bytes[at + 24..],
            b"\0\0",
            "then the empty payload and params strings"
        );
    }
}
