//! CTF 1.8 output: a TSDL `metadata` file and one binary data stream per
//! thread (`stream-<tid>`, plus `stream-lost` for lost records), readable by
//! babeltrace2 (`babeltrace2 DIR`).
//!
//! Each stream file is one packet: packet header (magic, stream id), packet
//! context (begin/end timestamps, content and packet size in bits, thread id),
//! then events. Every field is byte-aligned little-endian, so the layout is
//! exactly the bytes written in order. Event `kos_ipc:call` (id 0) carries
//! every record field, the header context included (`peer_task`,
//! `peer_thread`, `trace_id`, `span_id`); `kos_ipc:lost` (id 1) the lost
//! counts. The clock is
//! the shim's monotonic clock in ns with an offset to wall-clock time, so
//! babeltrace2 prints real times of day.
//!
//! The packet sizes are written by [`CtfWriter::finish`]; a directory whose
//! writer never finished (killed process) has zero sizes and is rejected by
//! readers.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::kst::split_payload;
use super::record::{verdict_key, KosShimTraceRecord as Record, KOS_SHIM_TRACE_KIND_LOST};
use super::text::{hex, rc_name};
use crate::names::NameMap;

/// Bytes of packet header and context before the first event.
const PACKET_PREFIX: u64 = 48;
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
    w: BufWriter<File>,
    thread: u64,
    begin: u64,
    end: u64,
    bytes: u64,
}

/// Writes a CTF directory.
pub struct CtfWriter {
    dir: PathBuf,
    names: NameMap,
    streams: HashMap<u64, Stream>,
    buf: Vec<u8>,
    events: u64,
}

impl CtfWriter {
    /// Create `dir` (and parents) and write its metadata. Stream files of an
    /// earlier trace in `dir` (`stream-*`) are removed, so readers see only
    /// this one.
    pub fn create(
        dir: &Path,
        pid: u32,
        start_ns: u64,
        wall_ns: u64,
        names: NameMap,
    ) -> io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        for e in std::fs::read_dir(dir)? {
            let e = e?;
            if e.file_name().to_string_lossy().starts_with("stream-") {
                std::fs::remove_file(e.path())?;
            }
        }
        std::fs::write(dir.join("metadata"), metadata(pid, start_ns, wall_ns))?;
        Ok(CtfWriter {
            dir: dir.to_path_buf(),
            names,
            streams: HashMap::new(),
            buf: Vec::with_capacity(256),
            events: 0,
        })
    }

    /// Events written so far (calls and lost records).
    pub fn events(&self) -> u64 {
        self.events
    }

    fn stream(&mut self, key: u64, thread: u64) -> io::Result<&mut Stream> {
        if !self.streams.contains_key(&key) {
            let name = if key == LOST_STREAM {
                "stream-lost".to_string()
            } else {
                format!("stream-{key}")
            };
            let mut w = BufWriter::new(File::create(self.dir.join(name))?);
            w.write_all(&[0u8; PACKET_PREFIX as usize])?;
            self.streams.insert(
                key,
                Stream {
                    w,
                    thread,
                    begin: 0,
                    end: 0,
                    bytes: PACKET_PREFIX,
                },
            );
        }
        Ok(self.streams.get_mut(&key).expect("inserted above"))
    }

    /// Append one record as an event.
    pub fn write(&mut self, rec: &Record, payload: &[u8]) -> io::Result<()> {
        let mut b = std::mem::take(&mut self.buf);
        b.clear();
        let lost = rec.kind == KOS_SHIM_TRACE_KIND_LOST;
        let key = if lost { LOST_STREAM } else { rec.thread };
        // Timestamps must not go backwards within a stream.
        let last = self.streams.get(&key).map(|s| s.end).unwrap_or(0);
        let ts = rec.start.max(last);
        b.extend_from_slice(&(lost as u32).to_le_bytes());
        b.extend_from_slice(&ts.to_le_bytes());
        if lost {
            b.extend_from_slice(&rec.ring.to_le_bytes());
            b.extend_from_slice(&rec.thread.to_le_bytes());
            b.extend_from_slice(&rec.dropped.to_le_bytes());
        } else {
            let cstr = |b: &mut Vec<u8>, s: &str| {
                b.extend(s.bytes().filter(|&c| c != 0));
                b.push(0);
            };
            b.push(rec.op);
            b.push(rec.verdict);
            b.extend_from_slice(&rec.thread.to_le_bytes());
            b.extend_from_slice(&rec.handle.to_le_bytes());
            b.extend_from_slice(&rec.iid.to_le_bytes());
            b.extend_from_slice(&rec.mid.to_le_bytes());
            cstr(&mut b, &self.names.method(rec.iid, rec.mid).to_string());
            b.extend_from_slice(&rec.rc.to_le_bytes());
            cstr(&mut b, &rc_name(rec.rc));
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
            let p = if rec.payload_len() > 0 {
                let (c, a) = split_payload(rec, payload);
                format!("{}|{}", hex(c), hex(a))
            } else {
                String::new()
            };
            cstr(&mut b, &p);
        }
        let _ = verdict_key;
        let s = self.stream(key, if lost { 0 } else { rec.thread })?;
        if s.bytes == PACKET_PREFIX {
            s.begin = ts;
        }
        s.end = ts;
        s.w.write_all(&b)?;
        s.bytes += b.len() as u64;
        self.events += 1;
        self.buf = b;
        Ok(())
    }

    /// Flush buffered stream bytes (packet sizes are still unset).
    pub fn flush(&mut self) -> io::Result<()> {
        for s in self.streams.values_mut() {
            s.w.flush()?;
        }
        Ok(())
    }

    /// Write every stream's packet header and context, then close the files.
    pub fn finish(self) -> io::Result<()> {
        for (_, s) in self.streams {
            let mut f = s.w.into_inner().map_err(|e| e.into_error())?;
            let bits = s.bytes * 8;
            let mut h = Vec::with_capacity(PACKET_PREFIX as usize);
            h.extend_from_slice(&CTF_MAGIC.to_le_bytes());
            h.extend_from_slice(&0u32.to_le_bytes());
            for v in [s.begin, s.end, bits, bits, s.thread] {
                h.extend_from_slice(&v.to_le_bytes());
            }
            f.seek(SeekFrom::Start(0))?;
            f.write_all(&h)?;
            f.flush()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::record::KOS_SHIM_TRACE_KIND_CALL;

    #[test]
    fn a_call_event_carries_the_header_context_as_the_metadata_declares() {
        let meta = metadata(1, 0, 0);
        let fields = "uint64_t duration_ns;\n        uint32_t peer_task;\n        uint32_t peer_thread;\n        uint64_t trace_id;\n        uint64_t span_id;\n        string payload;";
        assert!(meta.contains(fields), "{meta}");

        let dir = std::env::temp_dir().join(format!("kos-ctf-test-{}", std::process::id()));
        let mut w = CtfWriter::create(&dir, 1, 0, 0, NameMap::new()).unwrap();
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
        let bytes = std::fs::read(dir.join("stream-77")).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        // After the packet prefix: event id and timestamp (12 bytes), then
        // op, verdict, thread, handle, iid, mid, method "1.2", rc, rc_name
        // "rcOk", four sizes, two cap counts, correlation, duration.
        let method = b"1.2\0".len();
        let rc_name = b"rcOk\0".len();
        let at =
            PACKET_PREFIX as usize + 12 + 2 + 8 + 4 + 2 + 2 + method + 4 + rc_name + 16 + 4 + 8 + 8;
        let ctx = &bytes[at..at + 24];
        assert_eq!(&ctx[..4], &1234u32.to_le_bytes());
        assert_eq!(&ctx[4..8], &5678u32.to_le_bytes());
        assert_eq!(&ctx[8..16], &0x1111_2222_3333_4444u64.to_le_bytes());
        assert_eq!(&ctx[16..], &0x5555_6666_7777_8888u64.to_le_bytes());
        assert_eq!(&bytes[at + 24..], b"\0", "then the empty payload string");
    }
}
