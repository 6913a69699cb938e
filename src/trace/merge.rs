//! `kos-ipc-trace merge`: several processes' `.kst` traces as one
//! Chrome/Perfetto timeline, with arrows across processes.
//!
//! Each file becomes one process of the JSON (named by its entity or
//! program, `echo.Client (pid 4242)`), its times moved onto the wall clock
//! its header recorded (`wall_ns - start_ns` maps its clock to times of
//! day), so processes line up; `ts` 0 is the earliest trace start.
//!
//! **Links.** A client's Call/CallEx gets a `request` arrow to the server's
//! Recv/RecvEx of its message and a `response` arrow from the server's
//! Reply back to it. A Call and a Recv of the same interface and method
//! are linked when the Recv completed within the Call (give or take
//! 2 ms of clock alignment) and
//! - both carry the same non-zero correlation id (the cross-process
//!   emulator's ids are unique in the world) and the Recv's client
//!   (`peer_task`, `peer_thread`) is not another merged process's thread;
//! - or else the client context the kernel put in the received header
//!   names the Call's process (`peer_task`) and thread (`peer_thread`).
//!   Correlation ids that differ across two processes do not prevent this
//!   (single-process emulators count them per process).
//!
//! The Reply is then the one of the Recv's process that starts within the
//! Call after the Recv and carries the Call's correlation id, or else
//! answers on the Recv's handle that thread (its `peer_thread`, or 0 for
//! the oldest request). Where several fit, a correlation id wins over the
//! context, then the closest in time.
//!
//! Only records that moved a message take part: Call/CallEx, and
//! Recv/RecvEx/Reply that returned rcOk.
//!
//! **Streaming.** The files are read side by side, always taking the
//! record that ended first among their next ones, so a record waits only
//! for its counterpart to come along: memory grows with the calls
//! outstanding, not with the files. A Call or Reply waits at most 2 s
//! past its end (the timeline's time, as far as the files have been read);
//! a Recv until its client thread has moved past it (a later call of that
//! thread, or the end of its file), at most a minute. Whatever found no
//! partner is counted in the [`Report`].
//!
//! **Threads.** A thread's track is named `name[tid]` from the thread-name
//! entries of its file (`.kst` version 3; `thread <tid>` for files without).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet, VecDeque};
use std::fmt;
use std::fs::File;
use std::hash::Hash;
use std::io::{BufReader, BufWriter};
use std::path::Path;

use super::bytes::{ByteSink, Io};
use super::json::{FlowEnd, JsonWriter, ProcessId};
use super::kst::{Entry, KstError, KstReader};
use super::record::{KosShimTraceRecord as Record, KOS_SHIM_TRACE_KIND_CALL};
use crate::names::NameMap;
use crate::op::Op;

/// Tolerance of the wall-clock alignment between two processes when a
/// Recv is placed within a Call by time (ns).
const SLACK_NS: i64 = 2_000_000;

/// How long past its end a Call or Reply waits in the merge for its
/// counterpart to come along (ns of the timeline): the records of other
/// processes arrive in the order their drains wrote them, a few ms apart.
const WINDOW_NS: i64 = 2_000_000_000;

/// A Recv whose client is not known waits at most this long (ns).
const RECV_WINDOW_NS: i64 = 60_000_000_000;

/// One trace to merge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    /// The `.kst` file.
    pub path: String,
    /// The process's name in the timeline.
    pub name: String,
}

impl Input {
    /// A trace named after its file: `DIR/echo.Client.kst` (or
    /// `echo.Client.kst.4242`, written beside a live owner's) is `echo.Client`.
    pub fn new(path: &str) -> Input {
        let file = Path::new(path)
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.to_string());
        let name = match file.rsplit_once(".kst.") {
            Some((stem, pid)) if pid.bytes().all(|b| b.is_ascii_digit()) => stem.to_string(),
            _ => file.strip_suffix(".kst").unwrap_or(&file).to_string(),
        };
        Input {
            path: path.to_string(),
            name,
        }
    }
}

/// What a merge found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Files merged.
    pub files: usize,
    /// Call records written.
    pub records: u64,
    /// Client Call/CallEx records.
    pub calls: u64,
    /// Calls linked to their server's Recv (request arrows).
    pub linked: u64,
    /// Of those, linked by correlation id.
    pub by_correlation: u64,
    /// Of those, linked by the client task and thread.
    pub by_context: u64,
    /// Replies linked back to their Call (response arrows).
    pub replies_linked: u64,
    /// Server Recv/RecvEx/Reply records (rcOk) that found no client Call.
    pub server_unmatched: u64,
    /// Client Calls that found no server Recv.
    pub client_unmatched: u64,
    /// Records the tracers lost (sum of the files' lost counts).
    pub lost: u64,
    /// Files that end inside an entry (a process killed while its trace
    /// was written), merged up to there: the reader's message for each.
    pub truncated: Vec<String>,
    /// Files left out because not even their header was written (a process
    /// killed early): the reader's message for each.
    pub unreadable: Vec<String>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} trace{}, {} records: {} of {} calls linked to their server ({} by correlation id, {} by client task and thread), {} replies linked; {} server records without a client call, {} calls without a server record, {} lost",
            self.files,
            if self.files == 1 { "" } else { "s" },
            self.records,
            self.linked,
            self.calls,
            self.by_correlation,
            self.by_context,
            self.replies_linked,
            self.server_unmatched,
            self.client_unmatched,
            self.lost,
        )?;
        for t in &self.truncated {
            write!(f, "; {t} (merged up to there)")?;
        }
        for u in &self.unreadable {
            write!(f, "; {u} (left out)")?;
        }
        Ok(())
    }
}

/// One file being read.
struct Source {
    reader: KstReader<BufReader<File>>,
    pid: u32,
    process: ProcessId,
    /// Add to a record's clock ns for timeline ns.
    shift: i128,
    done: bool,
}

impl Source {
    /// The next entry; a file cut inside an entry ends there, noted in
    /// `truncated`.
    fn next(&mut self, truncated: &mut Vec<String>) -> Result<Option<Entry>, String> {
        if self.done {
            return Ok(None);
        }
        match self.reader.next() {
            Some(Ok(e)) => Ok(Some(e)),
            Some(Err(e @ KstError::Truncated(..))) => {
                truncated.push(e.to_string());
                self.done = true;
                Ok(None)
            }
            Some(Err(e)) => Err(e.to_string()),
            None => {
                self.done = true;
                Ok(None)
            }
        }
    }

    /// Name in `out` the threads whose names the reader met since the last call.
    fn name_threads<W: ByteSink>(&mut self, out: &mut JsonWriter<W>) -> Result<(), String> {
        for (tid, name) in self.reader.take_thread_names() {
            out.thread_name_in(self.process, tid, &name)
                .map_err(|e| format!("output: {e}"))?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Call,
    Recv,
    Reply,
}

/// The fields of a record that linking reads.
#[derive(Debug, Clone, Copy)]
struct Msg {
    thread: u64,
    correlation: u64,
    handle: u32,
    iid: u16,
    mid: u16,
    peer_task: u32,
    peer_thread: u32,
    /// Where its arrows start or end: just after its start, just before its end.
    first: FlowEnd,
    last: FlowEnd,
}

impl Msg {
    fn of(process: ProcessId, r: &Record) -> Msg {
        Msg {
            thread: r.thread,
            correlation: r.correlation,
            handle: r.handle,
            iid: r.iid,
            mid: r.mid,
            peer_task: r.peer_task,
            peer_thread: r.peer_thread,
            first: FlowEnd::after_start(process, r),
            last: FlowEnd::before_end(process, r),
        }
    }
}

/// What the linker keeps of a record.
#[derive(Debug, Clone, Copy)]
struct Item {
    kind: Kind,
    /// Index of the source (process).
    src: usize,
    pid: u32,
    rec: Msg,
    /// Timeline ns.
    start: i64,
    end: i64,
    /// Call: the Recv it was linked to (its source, handle, end).
    recv: Option<(usize, u32, i64)>,
    /// Call: linked to its Reply.
    replied: bool,
}

impl Item {
    fn client(&self) -> (u32, u32) {
        (self.pid, self.rec.thread as u32)
    }
}

/// Clock ns `ns` moved by `shift` onto the timeline.
fn on_timeline(ns: u64, shift: i128) -> i64 {
    (ns as i128 + shift).clamp(i64::MIN as i128, i64::MAX as i128) as i64
}

/// Pending records and their indexes.
#[derive(Default)]
struct Linker {
    /// Pending records by id: ids are given in order and records leave
    /// about in that order, so a queue from the oldest id still pending
    /// (`base`) holds them without a hash table's overhead.
    items: VecDeque<Option<Item>>,
    base: u64,
    by_corr: HashMap<u64, VecDeque<u64>>,
    /// Calls by (pid, thread).
    calls_by_client: HashMap<(u32, u32), VecDeque<u64>>,
    /// Calls linked to a Recv, by the Recv's (source, handle).
    calls_by_server: HashMap<(usize, u32), VecDeque<u64>>,
    /// Recvs by (peer_task, peer_thread).
    recvs_by_client: HashMap<(u32, u32), VecDeque<u64>>,
    /// Replies by (source, handle).
    replies_by_server: HashMap<(usize, u32), VecDeque<u64>>,
    /// When each pending record is given up (timeline ns), earliest first.
    deadlines: BinaryHeap<Reverse<(i64, u64)>>,
    /// The processes merged.
    pids: HashSet<u32>,
    flows: u64,
    report: Report,
}

/// Put `id` in `index` under `key`, or take it out (records leave about
/// in the order they came, so it is found near the front).
fn index_put<K: Hash + Eq>(index: &mut HashMap<K, VecDeque<u64>>, key: K, id: u64, add: bool) {
    if add {
        index.entry(key).or_default().push_back(id);
    } else if let Some(ids) = index.get_mut(&key) {
        if let Some(pos) = ids.iter().position(|&x| x == id) {
            ids.remove(pos);
        }
        if ids.is_empty() {
            index.remove(&key);
        }
    }
}

/// How a Call and a Recv belong together, if they do: `Some(true)` by
/// correlation id, `Some(false)` by the client context. `pids` are the
/// processes merged: a `peer_task` that is none of them (a KasperskyOS task
/// id, say) says nothing either way.
fn request_link(call: &Item, recv: &Item, pids: &HashSet<u32>) -> Option<bool> {
    let (c, r) = (&call.rec, &recv.rec);
    let inside = recv.end >= call.start - SLACK_NS && recv.end <= call.end + SLACK_NS;
    if c.iid != r.iid || c.mid != r.mid || !inside {
        return None;
    }
    let same_client = r.peer_task == call.pid && r.peer_thread == c.thread as u32;
    let other_client = pids.contains(&r.peer_task) && !same_client;
    if c.correlation != 0 && c.correlation == r.correlation && !other_client {
        return Some(true);
    }
    if c.correlation != 0 && r.correlation != 0 && call.src == recv.src {
        // One process, one counter: different ids are different messages.
        return None;
    }
    same_client.then_some(false)
}

/// Whether `reply` answers `call` (already linked to its Recv).
fn response_link(call: &Item, reply: &Item) -> bool {
    let Some((src, handle, recv_end)) = call.recv else {
        return false;
    };
    let (c, r) = (&call.rec, &reply.rec);
    if reply.src != src || reply.start < recv_end - SLACK_NS || reply.start > call.end + SLACK_NS {
        return false;
    }
    if c.correlation != 0 && c.correlation == r.correlation {
        return true;
    }
    if c.correlation != 0 && r.correlation != 0 && call.src == reply.src {
        return false;
    }
    r.handle == handle && (r.peer_thread == 0 || r.peer_thread == c.thread as u32)
}

/// Distance of `t` from `[a, b]`.
fn outside(t: i64, a: i64, b: i64) -> i64 {
    if t < a {
        a - t
    } else if t > b {
        t - b
    } else {
        0
    }
}

impl Linker {
    /// Keep `it` pending until its partner comes or its deadline passes.
    fn add(&mut self, it: Item) -> u64 {
        let id = self.base + self.items.len() as u64;
        self.index(id, &it, true);
        let wait = if it.kind == Kind::Recv {
            RECV_WINDOW_NS
        } else {
            WINDOW_NS
        };
        self.deadlines
            .push(Reverse((it.end.saturating_add(wait), id)));
        self.items.push_back(Some(it));
        id
    }

    /// Add `id` to (or take it out of) the indexes that find `it`.
    fn index(&mut self, id: u64, it: &Item, add: bool) {
        if it.rec.correlation != 0 {
            index_put(&mut self.by_corr, it.rec.correlation, id, add);
        }
        match it.kind {
            Kind::Call => {
                index_put(&mut self.calls_by_client, it.client(), id, add);
                if let Some((src, handle, _)) = it.recv {
                    index_put(&mut self.calls_by_server, (src, handle), id, add);
                }
            }
            Kind::Recv => index_put(
                &mut self.recvs_by_client,
                (it.rec.peer_task, it.rec.peer_thread),
                id,
                add,
            ),
            Kind::Reply => index_put(
                &mut self.replies_by_server,
                (it.src, it.rec.handle),
                id,
                add,
            ),
        }
    }

    /// The pending record `id`, if it still is.
    fn get(&self, id: u64) -> Option<&Item> {
        let at = usize::try_from(id.checked_sub(self.base)?).ok()?;
        self.items.get(at)?.as_ref()
    }

    /// The pending record `id` (it is).
    fn items_at(&self, id: u64) -> &Item {
        self.get(id).expect("a pending item")
    }

    /// Take a pending record out.
    fn take(&mut self, id: u64) -> Item {
        let at = (id - self.base) as usize;
        let it = self.items[at].take().expect("a pending item");
        while let Some(None) = self.items.front() {
            self.items.pop_front();
            self.base += 1;
        }
        self.index(id, &it, false);
        it
    }

    /// Give up on a pending record, counting it if it found no partner.
    fn give_up(&mut self, id: u64) {
        if self.get(id).is_none() {
            return;
        }
        let it = self.take(id);
        match it.kind {
            Kind::Call if it.recv.is_none() => self.report.client_unmatched += 1,
            Kind::Call => {}
            Kind::Recv | Kind::Reply => self.report.server_unmatched += 1,
        }
    }

    /// Give up on the records whose deadline is before `now`.
    fn expire(&mut self, now: i64) {
        while let Some(&Reverse((when, id))) = self.deadlines.peek() {
            if when >= now {
                break;
            }
            self.deadlines.pop();
            self.give_up(id);
        }
    }

    /// Client thread (`pid`, `thread`) started a call at `start`: its
    /// Call of any Recv that ended before then was already read.
    fn client_moved_on(&mut self, pid: u32, thread: u32, start: i64) {
        let Some(ids) = self.recvs_by_client.get(&(pid, thread)) else {
            return;
        };
        let done: Vec<u64> = ids
            .iter()
            .copied()
            .filter(|&id| self.get(id).is_some_and(|r| r.end + SLACK_NS < start))
            .collect();
        for id in done {
            self.give_up(id);
        }
    }

    /// Process `pid`'s trace ended: Recvs from it have seen their Calls.
    fn client_ended(&mut self, pid: u32) {
        let done: Vec<u64> = self
            .recvs_by_client
            .iter()
            .filter(|(k, _)| k.0 == pid)
            .flat_map(|(_, ids)| ids.iter().copied())
            .collect();
        for id in done {
            self.give_up(id);
        }
    }

    /// The end: whatever is still pending found no partner.
    fn expire_all(&mut self) {
        for it in self.items.drain(..).flatten() {
            match it.kind {
                Kind::Call if it.recv.is_none() => self.report.client_unmatched += 1,
                Kind::Call => {}
                Kind::Recv | Kind::Reply => self.report.server_unmatched += 1,
            }
        }
        self.by_corr.clear();
        self.calls_by_client.clear();
        self.calls_by_server.clear();
        self.recvs_by_client.clear();
        self.replies_by_server.clear();
        self.deadlines.clear();
    }

    /// Ids of pending items of `kind` that could pair with `it`.
    fn candidates(&self, it: &Item, kind: Kind) -> Vec<u64> {
        let mut ids: Vec<u64> = Vec::new();
        if it.rec.correlation != 0 {
            ids.extend(self.by_corr.get(&it.rec.correlation).into_iter().flatten());
        }
        let by_ctx = match (it.kind, kind) {
            (Kind::Call, Kind::Recv) => self.recvs_by_client.get(&it.client()),
            (Kind::Recv, Kind::Call) => self
                .calls_by_client
                .get(&(it.rec.peer_task, it.rec.peer_thread)),
            (Kind::Call, Kind::Reply) => it
                .recv
                .and_then(|(src, h, _)| self.replies_by_server.get(&(src, h))),
            (Kind::Reply, Kind::Call) => self.calls_by_server.get(&(it.src, it.rec.handle)),
            _ => None,
        };
        ids.extend(by_ctx.into_iter().flatten());
        ids.retain(|&id| self.get(id).is_some_and(|c| c.kind == kind));
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// Link `call` to the best pending Recv; returns whether it did.
    fn find_recv<W: ByteSink>(
        &mut self,
        out: &mut JsonWriter<W>,
        call: &mut Item,
    ) -> Result<bool, String> {
        let mut best: Option<(bool, i64, u64)> = None;
        for id in self.candidates(call, Kind::Recv) {
            let r = &self.items_at(id);
            if let Some(by_corr) = request_link(call, r, &self.pids) {
                let d = outside(r.end, call.start, call.end);
                let better = match best {
                    None => true,
                    Some((bc, bd, _)) => (by_corr && !bc) || (by_corr == bc && d < bd),
                };
                if better {
                    best = Some((by_corr, d, id));
                }
            }
        }
        let Some((by_corr, _, id)) = best else {
            return Ok(false);
        };
        let recv = self.take(id);
        self.link_request(out, call, &recv, by_corr)?;
        Ok(true)
    }

    fn link_request<W: ByteSink>(
        &mut self,
        out: &mut JsonWriter<W>,
        call: &mut Item,
        recv: &Item,
        by_corr: bool,
    ) -> Result<(), String> {
        self.flows += 1;
        out.flow("request", self.flows, call.rec.first, recv.rec.last)
            .map_err(|e| format!("output: {e}"))?;
        call.recv = Some((recv.src, recv.rec.handle, recv.end));
        self.report.linked += 1;
        if by_corr {
            self.report.by_correlation += 1;
        } else {
            self.report.by_context += 1;
        }
        Ok(())
    }

    /// Link `call` (with its Recv) to the earliest pending Reply answering it.
    fn find_reply<W: ByteSink>(
        &mut self,
        out: &mut JsonWriter<W>,
        call: &mut Item,
    ) -> Result<(), String> {
        let best = self
            .candidates(call, Kind::Reply)
            .into_iter()
            .filter(|id| response_link(call, self.items_at(*id)))
            .min_by_key(|id| self.items_at(*id).start);
        if let Some(id) = best {
            let reply = self.take(id);
            self.link_response(out, call, &reply)?;
        }
        Ok(())
    }

    fn link_response<W: ByteSink>(
        &mut self,
        out: &mut JsonWriter<W>,
        call: &mut Item,
        reply: &Item,
    ) -> Result<(), String> {
        self.flows += 1;
        out.flow("response", self.flows, reply.rec.first, call.rec.last)
            .map_err(|e| format!("output: {e}"))?;
        call.replied = true;
        self.report.replies_linked += 1;
        Ok(())
    }

    /// One record of the merged stream.
    fn push<W: ByteSink>(&mut self, out: &mut JsonWriter<W>, mut it: Item) -> Result<(), String> {
        match it.kind {
            Kind::Call => {
                self.report.calls += 1;
                self.find_recv(out, &mut it)?;
                if it.recv.is_some() {
                    self.find_reply(out, &mut it)?;
                }
                if !it.replied {
                    self.add(it);
                }
            }
            Kind::Recv => {
                // A Call already waiting (its file ran ahead)?
                let mut best: Option<(bool, i64, u64)> = None;
                for id in self.candidates(&it, Kind::Call) {
                    let c = &self.items_at(id);
                    if c.recv.is_some() {
                        continue;
                    }
                    if let Some(by_corr) = request_link(c, &it, &self.pids) {
                        let d = outside(it.end, c.start, c.end);
                        if best
                            .is_none_or(|(bc, bd, _)| (by_corr && !bc) || (by_corr == bc && d < bd))
                        {
                            best = Some((by_corr, d, id));
                        }
                    }
                }
                match best {
                    Some((by_corr, _, id)) => {
                        let mut call = self.take(id);
                        self.link_request(out, &mut call, &it, by_corr)?;
                        self.find_reply(out, &mut call)?;
                        if !call.replied {
                            self.add(call);
                        }
                    }
                    None => {
                        self.add(it);
                    }
                }
            }
            Kind::Reply => {
                let mut best: Option<(i64, u64)> = None;
                for id in self.candidates(&it, Kind::Call) {
                    let c = &self.items_at(id);
                    if c.recv.is_some() && !c.replied && response_link(c, &it) {
                        let key = c.start;
                        if best.is_none_or(|(k, _)| key < k) {
                            best = Some((key, id));
                        }
                    }
                }
                match best {
                    Some((_, id)) => {
                        let mut call = self.take(id);
                        self.link_response(out, &mut call, &it)?;
                    }
                    None => {
                        self.add(it);
                    }
                }
            }
        }
        Ok(())
    }
}

/// Whether a record takes part in linking, and as what.
fn kind_of(rec: &Record) -> Option<Kind> {
    if rec.kind != KOS_SHIM_TRACE_KIND_CALL {
        return None;
    }
    match rec.op()? {
        Op::Call | Op::CallEx => Some(Kind::Call),
        Op::Recv | Op::RecvEx if rec.rc == 0 => Some(Kind::Recv),
        Op::Reply if rec.rc == 0 => Some(Kind::Reply),
        _ => None,
    }
}

/// Merge `inputs` into one Chrome Trace Event JSON timeline written to
/// `out`; `names` replaces every file's own name map. Errors name the file.
pub fn merge<W: ByteSink>(
    inputs: &[Input],
    names: Option<&NameMap>,
    out: W,
) -> Result<(Report, W), String> {
    let mut sources = Vec::with_capacity(inputs.len());
    let mut kept = Vec::with_capacity(inputs.len());
    let mut unreadable = Vec::new();
    for input in inputs {
        let f = File::open(&input.path).map_err(|e| format!("{}: {e}", input.path))?;
        match KstReader::new(BufReader::with_capacity(1 << 16, f), &input.path) {
            Ok(reader) => {
                sources.push(reader);
                kept.push(input.clone());
            }
            // A process killed before its trace's header was written leaves
            // an empty or cut file: the others still make a timeline.
            Err(e @ KstError::Truncated(..)) => unreadable.push(e.to_string()),
            Err(e) => return Err(e.to_string()),
        }
    }
    if sources.is_empty() && !unreadable.is_empty() {
        return Err(unreadable.join("; "));
    }
    let inputs = &kept[..];
    let t0 = sources
        .iter()
        .map(|r| r.header().wall_ns as i128)
        .min()
        .unwrap_or(0);
    let mut out = JsonWriter::timeline(out).map_err(|e| format!("output: {e}"))?;
    let mut used_pids = HashSet::new();
    let mut srcs = Vec::with_capacity(sources.len());
    for (i, (reader, input)) in sources.into_iter().zip(inputs).enumerate() {
        let h = reader.header().clone();
        // Clock ns + shift = ns since the earliest trace start.
        let shift = h.wall_ns as i128 - h.start_ns as i128 - t0;
        // Two traces of one pid (runs of different days) stay apart.
        let mut json_pid = h.pid;
        while !used_pids.insert(json_pid) {
            json_pid = json_pid.wrapping_add(1_000_000 + i as u32);
        }
        let label = format!("{} (pid {})", input.name, h.pid);
        let process = out
            .add_process(
                json_pid,
                &label,
                -shift,
                names.cloned().unwrap_or_else(|| h.names.clone()),
            )
            .map_err(|e| format!("output: {e}"))?;
        srcs.push(Source {
            reader,
            pid: h.pid,
            process,
            shift,
            done: false,
        });
    }
    let pids: HashSet<u32> = srcs.iter().map(|s| s.pid).collect();
    let mut linker = Linker {
        pids: pids.clone(),
        report: Report {
            files: srcs.len(),
            unreadable,
            ..Default::default()
        },
        ..Default::default()
    };
    // Next entry of each source, ordered by the end of its call.
    let mut heads: Vec<Option<Entry>> = Vec::with_capacity(srcs.len());
    let mut queue = BinaryHeap::new();
    let end_of =
        |s: &Source, e: &Entry| on_timeline(e.rec.start.saturating_add(e.rec.duration), s.shift);
    for (i, s) in srcs.iter_mut().enumerate() {
        let e = s.next(&mut linker.report.truncated)?;
        s.name_threads(&mut out)?;
        if let Some(e) = &e {
            queue.push(Reverse((end_of(s, e), i)));
        }
        heads.push(e);
    }
    for s in srcs.iter().filter(|s| s.done) {
        linker.client_ended(s.pid);
    }
    let mut now = i64::MIN;
    while let Some(Reverse((key, i))) = queue.pop() {
        let e = heads[i].take().expect("queued head");
        let s = &srcs[i];
        now = now.max(key);
        out.write_in(s.process, &e.rec, &e.payload)
            .map_err(|e| format!("output: {e}"))?;
        if e.rec.kind == KOS_SHIM_TRACE_KIND_CALL {
            linker.report.records += 1;
        } else {
            linker.report.lost += e.rec.dropped;
        }
        let start = on_timeline(e.rec.start, s.shift);
        if e.rec.kind == KOS_SHIM_TRACE_KIND_CALL {
            linker.client_moved_on(s.pid, e.rec.thread as u32, start);
        }
        let kind = kind_of(&e.rec);
        if kind == Some(Kind::Recv) && e.rec.correlation == 0 && !pids.contains(&e.rec.peer_task) {
            // From a client whose trace is not here: nothing to link to.
            linker.report.server_unmatched += 1;
        } else if let Some(kind) = kind {
            linker.push(
                &mut out,
                Item {
                    kind,
                    src: i,
                    pid: s.pid,
                    rec: Msg::of(s.process, &e.rec),
                    start,
                    end: key,
                    recv: None,
                    replied: false,
                },
            )?;
        }
        let s = &mut srcs[i];
        let next = s.next(&mut linker.report.truncated)?;
        s.name_threads(&mut out)?;
        match next {
            Some(next) => {
                queue.push(Reverse((end_of(s, &next), i)));
                heads[i] = Some(next);
            }
            None => linker.client_ended(s.pid),
        }
        linker.expire(now);
    }
    linker.expire_all();
    let w = out.finish().map_err(|e| format!("output: {e}"))?;
    Ok((linker.report, w))
}

/// [`merge`] into the file `out`.
pub fn merge_to_file(
    inputs: &[Input],
    names: Option<&NameMap>,
    out: &Path,
) -> Result<Report, String> {
    let f = File::create(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let (report, _) =
        merge(inputs, names, Io(BufWriter::with_capacity(1 << 16, f))).map_err(|e| {
            match e.strip_prefix("output: ") {
                Some(rest) => format!("{}: {rest}", out.display()),
                None => e,
            }
        })?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::kst::{Header, KstWriter};
    use crate::trace::record::KOS_SHIM_TRACE_KIND_LOST;
    use serde_json::Value;

    /// Wall clock of the client's trace start; the server's starts 10 us later.
    const WALL: u64 = 1_700_000_000_000_000_000;
    const CLIENT: u32 = 100;
    const SERVER: u32 = 200;
    /// Each process's clock at the timeline's 0 (the client's trace start).
    const CLIENT_CLOCK: u64 = 1_000_000;
    const SERVER_CLOCK: u64 = 50_000_000;
    const SERVER_LATE: u64 = 10_000;

    fn header(pid: u32, start_ns: u64, wall_ns: u64) -> Header {
        let mut h = Header::now(0, NameMap::parse("iid 1 Echo\nmid 1.2 Ping\n").unwrap());
        h.pid = pid;
        h.start_ns = start_ns;
        h.wall_ns = wall_ns;
        h
    }

    /// A call record `[t, t + dur]` in timeline ns, on the process's clock.
    fn rec(op: Op, clock: u64, t: u64, dur: u64, thread: u64) -> Record {
        Record {
            start: clock + t,
            duration: dur,
            thread,
            op: op as u8,
            kind: KOS_SHIM_TRACE_KIND_CALL,
            iid: 1,
            mid: 2,
            handle: 5,
            ..Default::default()
        }
    }

    fn call(t: u64, dur: u64, corr: u64) -> Record {
        Record {
            correlation: corr,
            ..rec(Op::Call, CLIENT_CLOCK, t, dur, 101)
        }
    }

    fn recv(t: u64, dur: u64, corr: u64, task: u32, thread: u32) -> Record {
        Record {
            correlation: corr,
            peer_task: task,
            peer_thread: thread,
            handle: 9,
            ..rec(Op::Recv, SERVER_CLOCK - SERVER_LATE, t, dur, 201)
        }
    }

    fn reply(t: u64, dur: u64, corr: u64, thread: u32) -> Record {
        Record {
            correlation: corr,
            peer_thread: thread,
            handle: 9,
            ..rec(Op::Reply, SERVER_CLOCK - SERVER_LATE, t, dur, 201)
        }
    }

    fn kst(dir: &Path, name: &str, h: &Header, recs: &[Record]) -> String {
        let mut w = KstWriter::new(Vec::new(), h).unwrap();
        for r in recs {
            w.write(r, &[]).unwrap();
        }
        let path = dir.join(name);
        std::fs::write(&path, w.into_inner()).unwrap();
        path.to_str().unwrap().to_string()
    }

    fn tmp(tag: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("kos-merge-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    /// Merge a client and a server trace; the report and the JSON events.
    fn run(tag: &str, client: &[Record], server: &[Record]) -> (Report, Vec<Value>) {
        let d = tmp(tag);
        let c = kst(
            &d,
            "echo.Client.kst",
            &header(CLIENT, CLIENT_CLOCK, WALL),
            client,
        );
        let s = kst(
            &d,
            "echo.Server.kst.4242",
            &header(SERVER, SERVER_CLOCK, WALL + SERVER_LATE),
            server,
        );
        let (report, out) = merge(&[Input::new(&c), Input::new(&s)], None, Vec::new()).unwrap();
        let _ = std::fs::remove_dir_all(&d);
        let v: Value = serde_json::from_slice(&out).expect("valid JSON");
        (report, v.as_array().unwrap().clone())
    }

    fn flows(events: &[Value], name: &str) -> Vec<(char, u64, u64, String)> {
        let mut f: Vec<_> = events
            .iter()
            .filter(|e| e["cat"] == "ipc.flow" && e["name"] == name)
            .map(|e| {
                (
                    e["ph"].as_str().unwrap().chars().next().unwrap(),
                    e["pid"].as_u64().unwrap(),
                    e["tid"].as_u64().unwrap(),
                    e["ts"].to_string(),
                )
            })
            .collect();
        f.sort();
        f
    }

    #[test]
    fn processes_are_named_and_aligned_on_the_wall_clock() {
        let (report, ev) = run(
            "align",
            &[call(1_000, 5_000, 7)],
            &[recv(500, 1_500, 7, CLIENT, 101)],
        );
        assert_eq!(report.files, 2);
        let names: Vec<_> = ev
            .iter()
            .filter(|e| e["name"] == "process_name")
            .map(|e| (e["pid"].as_u64().unwrap(), e["args"]["name"].clone()))
            .collect();
        assert_eq!(
            names,
            vec![
                (100, Value::from("echo.Client (pid 100)")),
                (200, Value::from("echo.Server (pid 200)"))
            ]
        );
        let x: Vec<_> = ev
            .iter()
            .filter(|e| e["ph"] == "X")
            .map(|e| {
                (
                    e["pid"].as_u64().unwrap(),
                    e["name"].clone(),
                    e["ts"].to_string(),
                )
            })
            .collect();
        // Ordered by end: the Recv (ends at 2 us) before the Call (6 us);
        // both on the client's timeline although their clocks differ.
        assert_eq!(
            x,
            vec![
                (200, Value::from("Recv Echo.Ping"), "0.5".to_string()),
                (100, Value::from("Call Echo.Ping"), "1.0".to_string()),
            ]
        );
    }

    #[test]
    fn calls_are_linked_by_correlation_id_across_processes() {
        let (report, ev) = run(
            "corr",
            &[call(1_000, 5_000, 7), call(10_000, 5_000, 8)],
            &[
                recv(500, 1_500, 7, CLIENT, 101),
                reply(3_000, 500, 7, 101),
                recv(10_500, 1_000, 8, CLIENT, 101),
                reply(12_000, 500, 8, 0),
            ],
        );
        assert_eq!(
            (
                report.calls,
                report.linked,
                report.by_correlation,
                report.replies_linked
            ),
            (2, 2, 2, 2)
        );
        assert_eq!((report.server_unmatched, report.client_unmatched), (0, 0));
        assert_eq!(
            flows(&ev, "request"),
            vec![
                ('f', 200, 201, "1.999".into()),
                ('f', 200, 201, "11.499".into()),
                ('s', 100, 101, "1.001".into()),
                ('s', 100, 101, "10.001".into()),
            ]
        );
        assert_eq!(
            flows(&ev, "response"),
            vec![
                ('f', 100, 101, "14.999".into()),
                ('f', 100, 101, "5.999".into()),
                ('s', 200, 201, "12.001".into()),
                ('s', 200, 201, "3.001".into()),
            ]
        );
        // Every flow id has its start and its end.
        let mut ids: HashMap<u64, String> = HashMap::new();
        for e in ev.iter().filter(|e| e["cat"] == "ipc.flow") {
            ids.entry(e["id"].as_u64().unwrap())
                .or_default()
                .push_str(e["ph"].as_str().unwrap());
        }
        assert_eq!(ids.len(), 4);
        assert!(ids.values().all(|p| p == "sf"), "{ids:?}");
    }

    #[test]
    fn without_correlation_ids_the_client_task_thread_and_time_link_them() {
        let (report, ev) = run(
            "context",
            &[
                call(1_000, 5_000, 0),
                call(10_000, 5_000, 0),
                // No server saw this one.
                call(20_000, 1_000, 0),
            ],
            &[
                recv(500, 1_500, 0, CLIENT, 101),
                reply(3_000, 500, 0, 101),
                recv(10_500, 1_000, 0, CLIENT, 101),
                reply(12_000, 500, 0, 0),
                // From a process that is not in the merge.
                recv(30_000, 100, 0, 999, 5),
                // From the client's process but a thread that made no call then.
                recv(40_000, 100, 0, CLIENT, 102),
            ],
        );
        assert_eq!(
            (
                report.calls,
                report.linked,
                report.by_context,
                report.replies_linked
            ),
            (3, 2, 2, 2)
        );
        assert_eq!((report.server_unmatched, report.client_unmatched), (2, 1));
        assert_eq!(
            flows(&ev, "request")
                .into_iter()
                .filter(|f| f.0 == 'f')
                .map(|f| f.3)
                .collect::<Vec<_>>(),
            vec!["1.999".to_string(), "11.499".to_string()]
        );
        assert_eq!(flows(&ev, "response").len(), 4);
    }

    #[test]
    fn ids_of_per_process_counters_do_not_link_the_wrong_calls() {
        // The server counts its own ids: its Recv of the first call has 3,
        // which is the client's id of another call; the context decides.
        let (report, ev) = run(
            "collide",
            &[call(1_000, 5_000, 1), call(10_000, 5_000, 3)],
            &[
                recv(500, 1_500, 3, CLIENT, 101),
                reply(3_000, 500, 3, 101),
                recv(10_500, 1_000, 4, CLIENT, 101),
                reply(12_000, 500, 4, 101),
            ],
        );
        // The Recv with id 3 ends at 2 us, within the first call, not the
        // second (id 3): times and the context link both right.
        assert_eq!((report.linked, report.replies_linked), (2, 2));
        let s: Vec<String> = flows(&ev, "request")
            .into_iter()
            .filter(|f| f.0 == 'f')
            .map(|f| f.3)
            .collect();
        assert_eq!(s, vec!["1.999".to_string(), "11.499".to_string()]);
        let _ = report;
    }

    #[test]
    fn a_correlation_id_links_when_the_client_task_is_no_merged_process() {
        // On KasperskyOS `sender` is a task id, not the client's pid.
        let (report, _) = run(
            "task",
            &[call(1_000, 5_000, 7)],
            &[recv(500, 1_500, 7, 77, 3), reply(3_000, 500, 7, 3)],
        );
        assert_eq!(
            (report.linked, report.by_correlation, report.replies_linked),
            (1, 1, 1)
        );
    }

    #[test]
    fn lost_records_and_failed_receives_are_counted_not_linked() {
        let mut lost = Record::lost(0, 101, CLIENT_CLOCK + 50_000, 17);
        lost.kind = KOS_SHIM_TRACE_KIND_LOST;
        let failed = Record {
            rc: -1,
            ..recv(100, 100, 0, 0, 0)
        };
        let (report, ev) = run(
            "lost",
            &[call(1_000, 5_000, 0), lost],
            &[failed, recv(500, 1_500, 0, CLIENT, 101)],
        );
        assert_eq!(report.records, 3);
        assert_eq!(report.lost, 17);
        assert_eq!((report.linked, report.server_unmatched), (1, 0));
        assert!(ev
            .iter()
            .any(|e| e["ph"] == "C" && e["pid"] == 100 && e["args"]["lost"] == 17));
        assert_eq!(
            report.to_string(),
            "2 traces, 3 records: 1 of 1 calls linked to their server (0 by correlation id, 1 by client task and thread), 0 replies linked; 0 server records without a client call, 0 calls without a server record, 17 lost"
        );
    }

    #[test]
    fn a_trace_cut_inside_an_entry_is_merged_up_to_there() {
        let d = tmp("cut");
        let c = kst(
            &d,
            "echo.Client.kst",
            &header(CLIENT, CLIENT_CLOCK, WALL),
            &[call(1_000, 5_000, 7), call(10_000, 5_000, 8)],
        );
        let bytes = std::fs::read(&c).unwrap();
        std::fs::write(&c, &bytes[..bytes.len() - 50]).unwrap();
        let (report, _) = merge(&[Input::new(&c)], None, Vec::new()).unwrap();
        assert_eq!((report.records, report.client_unmatched), (1, 1));
        assert_eq!(report.truncated.len(), 1);
        assert!(report.to_string().ends_with(&format!(
            "; {c}: truncated trace: entry at offset {} cut short (merged up to there)",
            bytes.len() - 120
        )));
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_file_name_gives_the_process_name() {
        assert_eq!(Input::new("t/echo.Client.kst").name, "echo.Client");
        assert_eq!(Input::new("echo.Server.kst.4242").name, "echo.Server");
        assert_eq!(Input::new("trace").name, "trace");
    }

    #[test]
    fn a_trace_without_its_header_is_left_out_and_said() {
        let d = tmp("empty");
        let c = kst(
            &d,
            "echo.Client.kst",
            &header(CLIENT, CLIENT_CLOCK, WALL),
            &[call(1_000, 5_000, 7)],
        );
        let empty = d.join("echo.Server.kst");
        std::fs::write(&empty, b"").unwrap();
        let inputs = [Input::new(&c), Input::new(empty.to_str().unwrap())];
        let (report, _) = merge(&inputs, None, Vec::new()).unwrap();
        assert_eq!((report.files, report.records), (1, 1));
        assert_eq!(report.unreadable.len(), 1);
        assert!(report.to_string().ends_with(&format!(
            "; {}: truncated trace: empty file (left out)",
            empty.display()
        )));
        // Nothing readable at all is an error.
        let e = merge(&inputs[1..], None, Vec::new()).unwrap_err();
        assert_eq!(
            e,
            format!("{}: truncated trace: empty file", empty.display())
        );
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn bad_files_are_named_errors() {
        let d = tmp("bad");
        let p = d.join("x.kst");
        std::fs::write(&p, b"nonsense").unwrap();
        let e = merge(&[Input::new(p.to_str().unwrap())], None, Vec::new()).unwrap_err();
        assert_eq!(
            e,
            format!("{}: not a kos-ipc-shim trace (bad magic)", p.display())
        );
        let _ = std::fs::remove_dir_all(&d);
    }
}
