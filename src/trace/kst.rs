//! The `.kst` binary trace file: writer and validating reader.
//!
//! Layout (all integers little-endian; `docs/kst-format.md` is the reference):
//!
//! ```text
//! header   magic "KOSTRACE" | version u32 (3) | header_len u32 | record_size u32 (112)
//!          | payload_max u32 | clock_freq_hz u64 | start_ns u64 | wall_ns u64
//!          | pid u32 | names_len u32 | clock_name [16] | names text | zero pad to header_len
//! entries  sync u32 ("KREC") | entry_len u32 | record [112] | payload | zero pad to 8
//!      or  sync u32 ("KTHN") | entry_len u32 | thread u64 | name_len u32 | 0 u32
//!          | name (UTF-8) | zero pad to 8
//! ```
//!
//! Version 2 files (no thread-name entries) read as before.
//!
//! The writer needs only `alloc` and a [`ByteSink`] (every build with the C
//! library, the wrap archive included); the reader is std's (the
//! `kos-ipc-trace` tool). It never panics: foreign, truncated and corrupted
//! files give a [`KstError`] whose message starts with the file name.

use alloc::string::{String, ToString};
use alloc::vec::Vec;
#[cfg(feature = "std")]
use std::fmt;
#[cfg(feature = "std")]
use std::io::{self, Read};

use super::bytes::{ByteSink, WriteError};
use super::record::{KosShimTraceRecord as Record, KOS_SHIM_TRACE_RECORD_SIZE};
#[cfg(feature = "std")]
use super::record::{KOS_SHIM_TRACE_KIND_CALL, KOS_SHIM_TRACE_KIND_LOST};
#[cfg(feature = "std")]
use super::threads::ThreadNames;
use crate::names::NameMap;

/// First 8 bytes of every `.kst` file.
pub(crate) const MAGIC: [u8; 8] = *b"KOSTRACE";
/// The format version this code writes. Version 2 grew the record from 88
/// to 112 bytes (the header context: peer task and thread, trace and span
/// ids); version 3 added thread-name entries. Versions 2 and 3 are read;
/// others are refused with [`KstError::Version`].
pub(crate) const VERSION: u32 = 3;
/// The oldest version read.
#[cfg(feature = "std")]
pub(crate) const OLDEST: u32 = 2;
/// `sync` word at the start of every record entry ("KREC" in file byte order).
pub(crate) const ENTRY_SYNC: u32 = u32::from_le_bytes(*b"KREC");
/// `sync` word of a thread-name entry ("KTHN", version 3).
pub(crate) const THREAD_SYNC: u32 = u32::from_le_bytes(*b"KTHN");
/// Bytes of a thread-name entry before the name: sync, length, thread,
/// name length, reserved.
pub(crate) const THREAD_ENTRY_FIXED: usize = 24;
/// Longest thread name an entry holds (bytes of UTF-8).
pub(crate) const THREAD_NAME_MAX: usize = 255;
/// Fixed part of the header, before the name map.
pub(crate) const FIXED_HEADER: usize = 72;
/// Bytes before the record in an entry (sync + length).
pub(crate) const ENTRY_PREFIX: usize = 8;
/// Largest header accepted by the reader (the name map is text, 1 MiB is plenty).
#[cfg(feature = "std")]
const MAX_HEADER: u32 = 1 << 20;

/// What a `.kst` header says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Format version.
    pub version: u32,
    /// Payload bytes captured per message part (0: none).
    pub payload_max: u32,
    /// Units of record times per second (1e9: nanoseconds).
    pub clock_freq_hz: u64,
    /// Clock value when tracing started (ns).
    pub start_ns: u64,
    /// Wall-clock time when tracing started (ns since the Unix epoch).
    pub wall_ns: u64,
    /// Traced process id.
    pub pid: u32,
    /// The counter record times were converted from (`tsc`, `cntvct`,
    /// `monotonic`); the times are nanoseconds whatever it is.
    pub clock_name: String,
    /// Interface and method names known to the tracer.
    pub names: NameMap,
}

impl Header {
    /// A header for a trace starting now in this process.
    pub fn now(payload_max: u32, names: NameMap) -> Header {
        // Calibrate first: done lazily inside ticks_to_ns, it would fall
        // between the two clock reads below and shift this trace's timeline
        // against the wall clock (by the calibration's ~5 ms), which a merge
        // of several processes' traces aligns on.
        crate::clock::calibrate();
        Header {
            version: VERSION,
            payload_max,
            clock_freq_hz: 1_000_000_000,
            start_ns: crate::clock::ticks_to_ns(crate::clock::now()),
            wall_ns: crate::sys::wall_ns(),
            pid: crate::sys::pid(),
            clock_name: crate::clock::source().name().to_string(),
            names,
        }
    }

    fn encode(&self) -> Vec<u8> {
        let names = self.names.to_text();
        let mut b = Vec::with_capacity(FIXED_HEADER + names.len() + 8);
        b.extend_from_slice(&MAGIC);
        b.extend_from_slice(&self.version.to_le_bytes());
        let len = pad8(FIXED_HEADER + names.len()) as u32;
        b.extend_from_slice(&len.to_le_bytes());
        b.extend_from_slice(&(KOS_SHIM_TRACE_RECORD_SIZE as u32).to_le_bytes());
        b.extend_from_slice(&self.payload_max.to_le_bytes());
        b.extend_from_slice(&self.clock_freq_hz.to_le_bytes());
        b.extend_from_slice(&self.start_ns.to_le_bytes());
        b.extend_from_slice(&self.wall_ns.to_le_bytes());
        b.extend_from_slice(&self.pid.to_le_bytes());
        b.extend_from_slice(&(names.len() as u32).to_le_bytes());
        let mut clock = [0u8; 16];
        let cn = self.clock_name.as_bytes();
        clock[..cn.len().min(15)].copy_from_slice(&cn[..cn.len().min(15)]);
        b.extend_from_slice(&clock);
        debug_assert_eq!(b.len(), FIXED_HEADER);
        b.extend_from_slice(names.as_bytes());
        b.resize(len as usize, 0);
        b
    }
}

fn pad8(n: usize) -> usize {
    (n + 7) & !7
}

/// Writes a `.kst` stream.
pub struct KstWriter<W: ByteSink> {
    w: W,
    payload_max: usize,
}

impl<W: ByteSink> KstWriter<W> {
    /// Write the header and return the writer.
    pub fn new(mut w: W, header: &Header) -> Result<Self, WriteError> {
        w.put(&header.encode())?;
        Ok(KstWriter {
            w,
            payload_max: header.payload_max as usize,
        })
    }

    /// Append one entry. Payload parts longer than the header's
    /// `payload_max` are cut to it.
    pub fn write(&mut self, rec: &Record, payload: &[u8]) -> Result<(), WriteError> {
        let mut r = *rec;
        let max = self.payload_max;
        let parts = split_payload(rec, payload)
            .all()
            .map(|p| &p[..p.len().min(max)]);
        r.payload_const = parts[0].len() as u16;
        r.payload_arena = parts[1].len() as u16;
        r.payload_resp_const = parts[2].len() as u16;
        r.payload_resp_arena = parts[3].len() as u16;
        let used = ENTRY_PREFIX + KOS_SHIM_TRACE_RECORD_SIZE + r.payload_len();
        let len = pad8(used);
        let mut buf = [0u8; ENTRY_PREFIX + KOS_SHIM_TRACE_RECORD_SIZE];
        buf[..4].copy_from_slice(&ENTRY_SYNC.to_le_bytes());
        buf[4..8].copy_from_slice(&(len as u32).to_le_bytes());
        buf[8..].copy_from_slice(&r.to_le_bytes());
        self.w.put(&buf)?;
        for p in parts {
            self.w.put(p)?;
        }
        self.w.put(&[0u8; 8][..len - used])?;
        Ok(())
    }

    /// Append a thread-name entry: thread `tid` is called `name` from here
    /// on (cut to 255 bytes at a character boundary; an empty name writes
    /// nothing).
    pub fn write_thread_name(&mut self, tid: u64, name: &str) -> Result<(), WriteError> {
        let mut end = name.len().min(THREAD_NAME_MAX);
        while !name.is_char_boundary(end) {
            end -= 1;
        }
        let name = &name.as_bytes()[..end];
        if name.is_empty() {
            return Ok(());
        }
        let len = pad8(THREAD_ENTRY_FIXED + name.len());
        let mut b = Vec::with_capacity(len);
        b.extend_from_slice(&THREAD_SYNC.to_le_bytes());
        b.extend_from_slice(&(len as u32).to_le_bytes());
        b.extend_from_slice(&tid.to_le_bytes());
        b.extend_from_slice(&(name.len() as u32).to_le_bytes());
        b.extend_from_slice(&0u32.to_le_bytes());
        b.extend_from_slice(name);
        b.resize(len, 0);
        self.w.put(&b)
    }

    /// Flush buffered bytes.
    pub fn flush(&mut self) -> Result<(), WriteError> {
        self.w.flush()
    }

    /// Flush and hand back the underlying writer (to be closed).
    pub fn finish(mut self) -> Result<W, WriteError> {
        self.w.flush()?;
        Ok(self.w)
    }

    /// The underlying writer.
    pub fn into_inner(self) -> W {
        self.w
    }
}

/// A record's captured payload, by part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Parts<'p> {
    /// The message's constant part (the request of Call/CallEx/Recv/RecvEx,
    /// the response of Reply).
    pub constant: &'p [u8],
    /// The message's arena.
    pub arena: &'p [u8],
    /// Call/CallEx: the response's constant part.
    pub resp_constant: &'p [u8],
    /// Call/CallEx: the response's arena.
    pub resp_arena: &'p [u8],
}

impl<'p> Parts<'p> {
    /// The four parts in payload order.
    pub fn all(&self) -> [&'p [u8]; 4] {
        [
            self.constant,
            self.arena,
            self.resp_constant,
            self.resp_arena,
        ]
    }
}

/// Split a record's payload bytes into its parts (as many bytes as the
/// record's `payload_*` lengths say, fewer if `payload` is shorter).
pub fn split_payload<'p>(rec: &Record, payload: &'p [u8]) -> Parts<'p> {
    let mut rest = payload;
    let mut take = |n: u16| {
        let (a, b) = rest.split_at((n as usize).min(rest.len()));
        rest = b;
        a
    };
    Parts {
        constant: take(rec.payload_const),
        arena: take(rec.payload_arena),
        resp_constant: take(rec.payload_resp_const),
        resp_arena: take(rec.payload_resp_arena),
    }
}

#[cfg(feature = "std")]
/// Why a file could not be read as a trace.
#[derive(Debug)]
pub enum KstError {
    /// The file could not be opened or read.
    Io(String, io::Error),
    /// The file does not start with the `.kst` magic.
    BadMagic(String),
    /// The file is a `.kst` of a version this code does not read.
    Version(String, u32),
    /// The file ends in the middle of the header or an entry.
    Truncated(String, String),
    /// A field holds a value the format does not allow.
    Corrupt(String, u64, String),
}

#[cfg(feature = "std")]
impl fmt::Display for KstError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KstError::Io(p, e) => write!(f, "{p}: {e}"),
            KstError::BadMagic(p) => write!(f, "{p}: not a kos-ipc-shim trace (bad magic)"),
            KstError::Version(p, v) => write!(
                f,
                "{p}: unsupported .kst version {v} (this tool reads versions {OLDEST} to {VERSION})"
            ),
            KstError::Truncated(p, what) => write!(f, "{p}: truncated trace: {what}"),
            KstError::Corrupt(p, at, what) => {
                write!(f, "{p}: corrupted trace: {what} at offset {at}")
            }
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for KstError {}

#[cfg(feature = "std")]
/// One entry read back: a call or lost record and its payload bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The record.
    pub rec: Record,
    /// Captured payload: constant part, then arena (`rec.payload_*` bytes).
    pub payload: Vec<u8>,
}

#[cfg(feature = "std")]
/// Reads and validates a `.kst` stream.
pub struct KstReader<R: Read> {
    r: R,
    name: String,
    header: Header,
    offset: u64,
    failed: bool,
    threads: ThreadNames,
    fresh: Vec<(u64, String)>,
}

#[cfg(feature = "std")]
/// Read until `buf` is full or EOF; returns the bytes read.
fn read_full<R: Read>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

#[cfg(feature = "std")]
fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

#[cfg(feature = "std")]
fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut x = [0u8; 8];
    x.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(x)
}

#[cfg(feature = "std")]
impl<R: Read> KstReader<R> {
    /// Read and check the header. `name` (usually the path) starts every error message.
    pub fn new(mut r: R, name: &str) -> Result<Self, KstError> {
        let name = name.to_string();
        let io = |e| KstError::Io(name.clone(), e);
        let mut fixed = [0u8; FIXED_HEADER];
        let got = read_full(&mut r, &mut fixed).map_err(io)?;
        let magic_seen = got.min(8);
        if fixed[..magic_seen] != MAGIC[..magic_seen] || got == 0 {
            return Err(if got == 0 {
                KstError::Truncated(name, "empty file".into())
            } else {
                KstError::BadMagic(name)
            });
        }
        if got < 12 {
            return Err(KstError::Truncated(
                name,
                format!("header cut short ({got} of {FIXED_HEADER} bytes)"),
            ));
        }
        let version = u32_at(&fixed, 8);
        if !(OLDEST..=VERSION).contains(&version) {
            return Err(KstError::Version(name, version));
        }
        if got < FIXED_HEADER {
            return Err(KstError::Truncated(
                name,
                format!("header cut short ({got} of {FIXED_HEADER} bytes)"),
            ));
        }
        let header_len = u32_at(&fixed, 12);
        let record_size = u32_at(&fixed, 16);
        let payload_max = u32_at(&fixed, 20);
        let names_len = u32_at(&fixed, 52);
        let corrupt = |at: u64, what: String| Err(KstError::Corrupt(name.clone(), at, what));
        if record_size as usize != KOS_SHIM_TRACE_RECORD_SIZE {
            return corrupt(
                16,
                format!("record size {record_size} (expected {KOS_SHIM_TRACE_RECORD_SIZE})"),
            );
        }
        if payload_max as usize > super::MAX_PAYLOAD {
            return corrupt(
                20,
                format!(
                    "payload size {payload_max} (at most {})",
                    super::MAX_PAYLOAD
                ),
            );
        }
        if header_len > MAX_HEADER
            || !header_len.is_multiple_of(8)
            || (header_len as usize) < FIXED_HEADER + names_len as usize
        {
            return corrupt(
                12,
                format!("header length {header_len} (name map of {names_len} bytes)"),
            );
        }
        let mut rest = vec![0u8; header_len as usize - FIXED_HEADER];
        let got_rest = read_full(&mut r, &mut rest).map_err(io)?;
        if got_rest < rest.len() {
            return Err(KstError::Truncated(
                name,
                format!(
                    "header cut short ({} of {header_len} bytes)",
                    FIXED_HEADER + got_rest
                ),
            ));
        }
        let text = match std::str::from_utf8(&rest[..names_len as usize]) {
            Ok(t) => t,
            Err(_) => return corrupt(FIXED_HEADER as u64, "name map is not UTF-8".into()),
        };
        let names = match NameMap::parse(text) {
            Ok(m) => m,
            Err(e) => {
                return corrupt(
                    FIXED_HEADER as u64,
                    format!("name map line {}: {}", e.line, e.message),
                )
            }
        };
        let clock = &fixed[56..72];
        let clock_name =
            String::from_utf8_lossy(&clock[..clock.iter().position(|&c| c == 0).unwrap_or(16)])
                .into_owned();
        let header = Header {
            version,
            payload_max,
            clock_freq_hz: u64_at(&fixed, 24),
            start_ns: u64_at(&fixed, 32),
            wall_ns: u64_at(&fixed, 40),
            pid: u32_at(&fixed, 48),
            clock_name,
            names,
        };
        Ok(KstReader {
            r,
            name,
            header,
            offset: header_len as u64,
            failed: false,
            threads: ThreadNames::default(),
            fresh: Vec::new(),
        })
    }

    /// The header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Bytes consumed so far.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Thread names the file gave so far (the last name of each thread).
    pub fn thread_names(&self) -> &ThreadNames {
        &self.threads
    }

    /// Thread names read since the last call, in file order (version 3
    /// entries; a name may be given again when the thread was renamed).
    pub fn take_thread_names(&mut self) -> Vec<(u64, String)> {
        core::mem::take(&mut self.fresh)
    }

    /// The next record; thread-name entries on the way are taken in.
    fn next_entry(&mut self) -> Result<Option<Entry>, KstError> {
        loop {
            let at = self.offset;
            let mut prefix = [0u8; ENTRY_PREFIX];
            let got = read_full(&mut self.r, &mut prefix)
                .map_err(|e| KstError::Io(self.name.clone(), e))?;
            if got == 0 {
                return Ok(None);
            }
            let sync = (got >= 4).then(|| u32_at(&prefix, 0));
            if sync == Some(THREAD_SYNC) && self.header.version >= 3 {
                if got < ENTRY_PREFIX {
                    return Err(self.truncated(at));
                }
                self.thread_entry(at, u32_at(&prefix, 4) as usize)?;
                continue;
            }
            if sync.is_some_and(|s| s != ENTRY_SYNC) {
                return Err(KstError::Corrupt(
                    self.name.clone(),
                    at,
                    "bad entry marker".into(),
                ));
            }
            if got < ENTRY_PREFIX {
                return Err(self.truncated(at));
            }
            return self.record_entry(at, prefix);
        }
    }

    fn truncated(&self, at: u64) -> KstError {
        KstError::Truncated(self.name.clone(), format!("entry at offset {at} cut short"))
    }

    /// A thread-name entry of `len` bytes at `at`, after its prefix.
    fn thread_entry(&mut self, at: u64, len: usize) -> Result<(), KstError> {
        let corrupt = |what: String| KstError::Corrupt(self.name.clone(), at, what);
        if len < THREAD_ENTRY_FIXED + 8 || len > pad8(THREAD_ENTRY_FIXED + THREAD_NAME_MAX) {
            return Err(corrupt(format!("thread name entry length {len}")));
        }
        let mut body = vec![0u8; len - ENTRY_PREFIX];
        let got =
            read_full(&mut self.r, &mut body).map_err(|e| KstError::Io(self.name.clone(), e))?;
        if got < body.len() {
            return Err(self.truncated(at));
        }
        let tid = u64_at(&body, 0);
        let name_len = u32_at(&body, 8) as usize;
        if name_len == 0 || pad8(THREAD_ENTRY_FIXED + name_len) != len {
            return Err(corrupt(format!("thread name of {name_len} bytes in {len}")));
        }
        let from = THREAD_ENTRY_FIXED - ENTRY_PREFIX;
        let Ok(name) = std::str::from_utf8(&body[from..from + name_len]) else {
            return Err(corrupt("thread name is not UTF-8".into()));
        };
        if self.threads.set(tid, name) {
            self.fresh.push((tid, name.to_string()));
        }
        self.offset += len as u64;
        Ok(())
    }

    /// A record entry at `at` whose prefix was read.
    fn record_entry(
        &mut self,
        at: u64,
        prefix: [u8; ENTRY_PREFIX],
    ) -> Result<Option<Entry>, KstError> {
        let mut fixed = [0u8; ENTRY_PREFIX + KOS_SHIM_TRACE_RECORD_SIZE];
        fixed[..ENTRY_PREFIX].copy_from_slice(&prefix);
        let got = read_full(&mut self.r, &mut fixed[ENTRY_PREFIX..])
            .map_err(|e| KstError::Io(self.name.clone(), e))?;
        let name = self.name.clone();
        let truncated =
            || KstError::Truncated(name.clone(), format!("entry at offset {at} cut short"));
        let corrupt = |off: u64, what: String| KstError::Corrupt(name.clone(), off, what);
        if got < KOS_SHIM_TRACE_RECORD_SIZE {
            return Err(truncated());
        }
        let len = u32_at(&fixed, 4) as usize;
        let mut rb = [0u8; KOS_SHIM_TRACE_RECORD_SIZE];
        rb.copy_from_slice(&fixed[ENTRY_PREFIX..]);
        let rec = Record::from_le_bytes(&rb);
        let max = self.header.payload_max as usize;
        let parts = [
            rec.payload_const,
            rec.payload_arena,
            rec.payload_resp_const,
            rec.payload_resp_arena,
        ];
        if parts.iter().any(|&p| p as usize > max) {
            let [c, a, rc, ra] = parts;
            return Err(corrupt(
                at,
                format!("payload {c}+{a}+{rc}+{ra} bytes exceeds the header's {max} per part"),
            ));
        }
        let total = rec.payload_len();
        if len != pad8(ENTRY_PREFIX + KOS_SHIM_TRACE_RECORD_SIZE + total) {
            return Err(corrupt(at, format!("entry length {len}")));
        }
        match rec.kind {
            KOS_SHIM_TRACE_KIND_CALL => {
                if rec.op().is_none() {
                    return Err(corrupt(at, format!("operation {}", rec.op)));
                }
                if rec.verdict().is_none() {
                    return Err(corrupt(at, format!("verdict {}", rec.verdict)));
                }
            }
            KOS_SHIM_TRACE_KIND_LOST => {}
            k => return Err(corrupt(at, format!("record kind {k}"))),
        }
        let mut tail = vec![0u8; len - fixed.len()];
        let got =
            read_full(&mut self.r, &mut tail).map_err(|e| KstError::Io(self.name.clone(), e))?;
        if got < tail.len() {
            return Err(truncated());
        }
        tail.truncate(total);
        self.offset += len as u64;
        Ok(Some(Entry { rec, payload: tail }))
    }
}

#[cfg(feature = "std")]
impl<R: Read> Iterator for KstReader<R> {
    type Item = Result<Entry, KstError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        match self.next_entry() {
            Ok(e) => e.map(Ok),
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

#[cfg(feature = "std")]
/// Open a `.kst` file for reading (buffered); also returns its size in bytes.
pub fn open(path: &str) -> Result<(KstReader<io::BufReader<std::fs::File>>, u64), KstError> {
    let f = std::fs::File::open(path).map_err(|e| KstError::Io(path.to_string(), e))?;
    let size = f.metadata().map(|m| m.len()).unwrap_or(0);
    Ok((KstReader::new(io::BufReader::new(f), path)?, size))
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;

    fn sample() -> (Vec<u8>, Vec<Entry>) {
        let mut names = NameMap::new();
        names.insert_iid(7, "Echo").unwrap();
        let mut h = Header::now(8, names);
        h.pid = 42;
        let mut w = KstWriter::new(Vec::new(), &h).unwrap();
        let mut entries = vec![];
        for i in 0..3u64 {
            let rec = Record {
                start: 100 + i,
                duration: 5,
                thread: 9,
                correlation: i,
                iid: 7,
                mid: 1,
                op: (i % 5) as u8,
                kind: KOS_SHIM_TRACE_KIND_CALL,
                payload_const: if i == 1 { 3 } else { 0 },
                payload_arena: if i == 1 { 2 } else { 0 },
                peer_task: 42,
                peer_thread: 100 + i as u32,
                trace_id: 0xABCD_0000 + i,
                span_id: u64::MAX - i,
                ..Default::default()
            };
            let payload = if i == 1 { b"abcde".to_vec() } else { vec![] };
            w.write(&rec, &payload).unwrap();
            entries.push(Entry { rec, payload });
        }
        let lost = Record::lost(0, 9, 200, 17);
        w.write(&lost, &[]).unwrap();
        entries.push(Entry {
            rec: lost,
            payload: vec![],
        });
        (w.into_inner(), entries)
    }

    fn read_all(b: &[u8]) -> Result<Vec<Entry>, String> {
        let r = KstReader::new(b, "t.kst").map_err(|e| e.to_string())?;
        r.collect::<Result<Vec<_>, _>>().map_err(|e| e.to_string())
    }

    #[test]
    fn round_trip_keeps_records_payload_and_header() {
        let (bytes, entries) = sample();
        let r = KstReader::new(&bytes[..], "t.kst").unwrap();
        assert_eq!(r.header().pid, 42);
        assert_eq!(r.header().payload_max, 8);
        assert_eq!(r.header().names.iid_name(7), Some("Echo"));
        assert_eq!(r.header().clock_name, crate::clock::source().name());
        assert_eq!(read_all(&bytes).unwrap(), entries);
    }

    /// `sample()` with thread names: one before the records, a rename
    /// after the first, a name of a thread without records at the end.
    fn named_sample() -> Vec<u8> {
        let (plain, _) = sample();
        let header_len = u32_at(&plain, 12) as usize;
        let entries = &plain[header_len..];
        let one = u32_at(entries, 4) as usize;
        // Thread-name entries as a writer makes them.
        let names = |list: &[(u64, &str)]| {
            let mut w = KstWriter::new(Vec::new(), &Header::now(0, NameMap::new())).unwrap();
            let skip = w.w.len();
            for (tid, name) in list {
                w.write_thread_name(*tid, name).unwrap();
            }
            w.w[skip..].to_vec()
        };
        let long = "x".repeat(300);
        [
            &plain[..header_len],
            &names(&[(9, "client")]),
            &entries[..one],
            &names(&[(9, "client.renamed"), (0x1234_5678_9abc, &long), (5, "")]),
            &entries[one..],
        ]
        .concat()
    }

    #[test]
    fn thread_names_are_read_between_records_and_version_2_files_still_read() {
        let (plain, entries) = sample();
        let named = named_sample();
        let mut r = KstReader::new(&named[..], "t.kst").unwrap();
        let first = r.next().unwrap().unwrap();
        assert_eq!(first, entries[0]);
        assert_eq!(r.take_thread_names(), [(9, "client".to_string())]);
        let second = r.next().unwrap().unwrap();
        assert_eq!(second, entries[1]);
        assert_eq!(
            r.take_thread_names(),
            [
                (9, "client.renamed".to_string()),
                (0x1234_5678_9abc, "x".repeat(255))
            ]
        );
        let rest: Vec<Entry> = r.by_ref().map(Result::unwrap).collect();
        assert_eq!(rest, entries[2..]);
        assert_eq!(r.thread_names().get(9), Some("client.renamed"));
        assert_eq!(r.thread_names().len(), 2);
        // The same records as version 2 (no names): read, no names.
        let mut v2 = plain.clone();
        v2[8] = 2;
        let mut r = KstReader::new(&v2[..], "t.kst").unwrap();
        assert_eq!(r.by_ref().map(Result::unwrap).collect::<Vec<_>>(), entries);
        assert!(r.thread_names().is_empty());
        // A name entry is not a version 2 entry.
        let mut bad = named.clone();
        bad[8] = 2;
        let header_len = u32_at(&named, 12);
        assert_eq!(
            read_all(&bad).unwrap_err(),
            format!("t.kst: corrupted trace: bad entry marker at offset {header_len}")
        );
        // Corrupt name entries are named errors; every cut a clean prefix or an error.
        let at = header_len as usize;
        let mut long = named.clone();
        long[at + 4..at + 8].copy_from_slice(&4096u32.to_le_bytes());
        assert_eq!(
            read_all(&long).unwrap_err(),
            format!("t.kst: corrupted trace: thread name entry length 4096 at offset {at}")
        );
        let mut mismatch = named.clone();
        mismatch[at + 16] = 40;
        assert_eq!(
            read_all(&mismatch).unwrap_err(),
            format!("t.kst: corrupted trace: thread name of 40 bytes in 32 at offset {at}")
        );
        let mut utf = named.clone();
        utf[at + 24] = 0xFF;
        assert_eq!(
            read_all(&utf).unwrap_err(),
            format!("t.kst: corrupted trace: thread name is not UTF-8 at offset {at}")
        );
        assert_eq!(
            read_all(&named[..at + 20]).unwrap_err(),
            format!("t.kst: truncated trace: entry at offset {at} cut short")
        );
        for n in 0..named.len() {
            let _ = read_all(&named[..n]);
        }
    }

    #[test]
    fn foreign_truncated_and_corrupted_files_are_named_errors() {
        let (bytes, _) = sample();
        assert_eq!(
            read_all(b"\x7fELF\x02\x01\x01\0garbage").unwrap_err(),
            "t.kst: not a kos-ipc-shim trace (bad magic)"
        );
        assert_eq!(
            read_all(b"").unwrap_err(),
            "t.kst: truncated trace: empty file"
        );
        assert_eq!(
            read_all(&bytes[..5]).unwrap_err(),
            "t.kst: truncated trace: header cut short (5 of 72 bytes)"
        );
        assert_eq!(
            read_all(&bytes[..40]).unwrap_err(),
            "t.kst: truncated trace: header cut short (40 of 72 bytes)"
        );
        // A file of version 1 (88-byte records) and one of a future version.
        let mut v1 = bytes.clone();
        v1[8] = 1;
        v1[16..20].copy_from_slice(&88u32.to_le_bytes());
        assert_eq!(
            read_all(&v1).unwrap_err(),
            "t.kst: unsupported .kst version 1 (this tool reads versions 2 to 3)"
        );
        let mut v4 = bytes.clone();
        v4[8] = 4;
        assert_eq!(
            read_all(&v4).unwrap_err(),
            "t.kst: unsupported .kst version 4 (this tool reads versions 2 to 3)"
        );
        let header_len = u32_at(&bytes, 12) as usize;
        let cut = header_len + 50;
        assert_eq!(
            read_all(&bytes[..cut]).unwrap_err(),
            format!("t.kst: truncated trace: entry at offset {header_len} cut short")
        );
        let mut bad = bytes.clone();
        bad[header_len] ^= 0xFF;
        assert_eq!(
            read_all(&bad).unwrap_err(),
            format!("t.kst: corrupted trace: bad entry marker at offset {header_len}")
        );
        let mut bad_op = bytes.clone();
        bad_op[header_len + ENTRY_PREFIX + 44] = 9;
        assert_eq!(
            read_all(&bad_op).unwrap_err(),
            format!("t.kst: corrupted trace: operation 9 at offset {header_len}")
        );
        let mut bad_kind = bytes.clone();
        bad_kind[header_len + ENTRY_PREFIX + 46] = 7;
        assert_eq!(
            read_all(&bad_kind).unwrap_err(),
            format!("t.kst: corrupted trace: record kind 7 at offset {header_len}")
        );
        // Every possible cut is an error or a clean prefix, never a panic.
        for n in 0..bytes.len() {
            let _ = read_all(&bytes[..n]);
        }
    }
}
