//! The fixed-size trace record: one per call, plus lost-count records.
//!
//! The same `#[repr(C)]` struct is what the rings hold, what the C sink
//! callback receives and (little-endian, field by field) what a `.kst` file
//! stores. In a ring, `start` and `duration` are [`crate::clock`] ticks; the
//! drain converts them to nanoseconds with [`crate::clock::ticks_to_ns`]
//! before any sink sees the record.

use crate::call::{CallInfo, Verdict};
use crate::op::Op;

/// `KosShimTraceRecord.kind` of a call record.
pub const KOS_SHIM_TRACE_KIND_CALL: u8 = 1;
/// `KosShimTraceRecord.kind` of a lost-count record: `dropped` records of
/// ring `ring` were dropped (ring full) since the previous lost record.
pub const KOS_SHIM_TRACE_KIND_LOST: u8 = 2;

/// Size of one record in bytes, in memory and in a `.kst` file.
pub const KOS_SHIM_TRACE_RECORD_SIZE: usize = 112;

/// One trace record (see `docs/kst-format.md`).
///
/// Delivered to sinks with times in nanoseconds of the shim's monotonic
/// clock. For `kind == KOS_SHIM_TRACE_KIND_LOST` only `start` (when the loss
/// was noticed), `thread` (the ring's last owner), `ring` and `dropped` are set.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KosShimTraceRecord {
    /// Start of the call (ns).
    pub start: u64,
    /// Duration of the call (ns).
    pub duration: u64,
    /// Calling thread (OS thread id on hosts).
    pub thread: u64,
    /// Correlation id: the client's Call/CallEx and the server's Recv/RecvEx
    /// and Reply of one message share it (0: unknown).
    pub correlation: u64,
    /// The IPC handle.
    pub handle: u32,
    /// Return code.
    pub rc: i32,
    /// Interface id of the message the call is about (sent for
    /// Call/CallEx/Reply, received for Recv/RecvEx).
    pub iid: u16,
    /// Method id of that message.
    pub mid: u16,
    /// Operation: 0 Call, 1 CallEx, 2 Recv, 3 RecvEx, 4 Reply.
    pub op: u8,
    /// Policy verdict: 0 allow, 1 log, 2 deny, 3 audit-deny, 4 fault
    /// (a fault rule failed or delayed the call).
    pub verdict: u8,
    /// `KOS_SHIM_TRACE_KIND_CALL` or `KOS_SHIM_TRACE_KIND_LOST`.
    pub kind: u8,
    /// Reserved, zero.
    pub flags: u8,
    /// Constant-part bytes sent.
    pub const_out: u32,
    /// Arena bytes sent.
    pub arena_out: u32,
    /// Constant-part bytes received.
    pub const_in: u32,
    /// Arena bytes received.
    pub arena_in: u32,
    /// Handles sent with the message.
    pub ncaps_out: u16,
    /// Handles received with the message.
    pub ncaps_in: u16,
    /// Index of the ring the record went through.
    pub ring: u32,
    /// Captured payload bytes of the constant part (`KOS_SHIM_TRACE_PAYLOAD`).
    pub payload_const: u16,
    /// Captured payload bytes of the arena.
    pub payload_arena: u16,
    /// Call/CallEx that succeeded: captured bytes of the response's constant
    /// part (after the request's parts in the payload); 0 otherwise.
    pub payload_resp_const: u16,
    /// Call/CallEx that succeeded: captured bytes of the response's arena.
    pub payload_resp_arena: u16,
    /// Lost records only: how many records were dropped.
    pub dropped: u64,
    /// Recv/RecvEx: the client's task (`sender` of the received header;
    /// the process id on hosts). 0 otherwise or unknown.
    pub peer_task: u32,
    /// Recv/RecvEx: the calling client thread (`threadId` of the received
    /// header). Reply: the `threadId` it answered (0: the oldest request).
    pub peer_thread: u32,
    /// `traceId` of the header: received for Recv/RecvEx, sent otherwise (0: none).
    pub trace_id: u64,
    /// `spanId` of the header, as for `trace_id`.
    pub span_id: u64,
}

const _: () = assert!(core::mem::size_of::<KosShimTraceRecord>() == KOS_SHIM_TRACE_RECORD_SIZE);

impl KosShimTraceRecord {
    /// A call record from the pipeline's view (times still in ticks).
    #[inline]
    pub fn from_call(info: &CallInfo) -> Self {
        let m = info.message();
        KosShimTraceRecord {
            start: info.start,
            duration: info.end.saturating_sub(info.start),
            thread: info.thread,
            correlation: info.correlation,
            handle: info.handle,
            rc: info.rc,
            iid: m.iid,
            mid: m.mid,
            op: info.op as u8,
            verdict: info.verdict as u8,
            kind: KOS_SHIM_TRACE_KIND_CALL,
            flags: 0,
            const_out: info.sent.const_size,
            arena_out: info.sent.arena_size,
            const_in: info.received.const_size,
            arena_in: info.received.arena_size,
            ncaps_out: info.sent.ncaps,
            ncaps_in: info.received.ncaps,
            ring: 0,
            payload_const: 0,
            payload_arena: 0,
            payload_resp_const: 0,
            payload_resp_arena: 0,
            dropped: 0,
            peer_task: info.context.sender,
            peer_thread: info.context.thread,
            trace_id: info.context.trace_id,
            span_id: info.context.span_id,
        }
    }

    /// A lost-count record.
    pub fn lost(ring: u32, thread: u64, at: u64, dropped: u64) -> Self {
        KosShimTraceRecord {
            start: at,
            thread,
            ring,
            kind: KOS_SHIM_TRACE_KIND_LOST,
            dropped,
            ..Default::default()
        }
    }

    /// The operation, if `op` holds a valid value.
    pub fn op(&self) -> Option<Op> {
        Op::from_u8(self.op)
    }

    /// The verdict, if `verdict` holds a valid value.
    pub fn verdict(&self) -> Option<Verdict> {
        verdict_from_u8(self.verdict)
    }

    /// Captured payload length: the message's constant part and arena, and
    /// for a Call/CallEx the response's.
    pub fn payload_len(&self) -> usize {
        self.payload_const as usize
            + self.payload_arena as usize
            + self.payload_resp_const as usize
            + self.payload_resp_arena as usize
    }

    /// Little-endian encoding, field by field (the `.kst` record layout).
    pub fn to_le_bytes(&self) -> [u8; KOS_SHIM_TRACE_RECORD_SIZE] {
        let mut b = [0u8; KOS_SHIM_TRACE_RECORD_SIZE];
        let mut w = Put { b: &mut b, at: 0 };
        w.u64(self.start);
        w.u64(self.duration);
        w.u64(self.thread);
        w.u64(self.correlation);
        w.u32(self.handle);
        w.u32(self.rc as u32);
        w.u16(self.iid);
        w.u16(self.mid);
        w.u8(self.op);
        w.u8(self.verdict);
        w.u8(self.kind);
        w.u8(self.flags);
        w.u32(self.const_out);
        w.u32(self.arena_out);
        w.u32(self.const_in);
        w.u32(self.arena_in);
        w.u16(self.ncaps_out);
        w.u16(self.ncaps_in);
        w.u32(self.ring);
        w.u16(self.payload_const);
        w.u16(self.payload_arena);
        w.u16(self.payload_resp_const);
        w.u16(self.payload_resp_arena);
        w.u64(self.dropped);
        w.u32(self.peer_task);
        w.u32(self.peer_thread);
        w.u64(self.trace_id);
        w.u64(self.span_id);
        debug_assert_eq!(w.at, KOS_SHIM_TRACE_RECORD_SIZE);
        b
    }

    /// Decode [`KosShimTraceRecord::to_le_bytes`]'s layout (no validation).
    pub fn from_le_bytes(b: &[u8; KOS_SHIM_TRACE_RECORD_SIZE]) -> Self {
        let mut r = Get { b, at: 0 };
        KosShimTraceRecord {
            start: r.u64(),
            duration: r.u64(),
            thread: r.u64(),
            correlation: r.u64(),
            handle: r.u32(),
            rc: r.u32() as i32,
            iid: r.u16(),
            mid: r.u16(),
            op: r.u8(),
            verdict: r.u8(),
            kind: r.u8(),
            flags: r.u8(),
            const_out: r.u32(),
            arena_out: r.u32(),
            const_in: r.u32(),
            arena_in: r.u32(),
            ncaps_out: r.u16(),
            ncaps_in: r.u16(),
            ring: r.u32(),
            payload_const: r.u16(),
            payload_arena: r.u16(),
            payload_resp_const: r.u16(),
            payload_resp_arena: r.u16(),
            dropped: r.u64(),
            peer_task: r.u32(),
            peer_thread: r.u32(),
            trace_id: r.u64(),
            span_id: r.u64(),
        }
    }
}

/// The verdict with this numeric value.
pub fn verdict_from_u8(v: u8) -> Option<Verdict> {
    Verdict::from_u8(v)
}

/// Lower-case name of a verdict for text outputs.
pub fn verdict_key(v: Verdict) -> &'static str {
    match v {
        Verdict::Allow => "allow",
        Verdict::Log => "log",
        Verdict::Deny => "deny",
        Verdict::AuditDeny => "audit-deny",
        Verdict::Fault => "fault",
    }
}

struct Put<'a> {
    b: &'a mut [u8; KOS_SHIM_TRACE_RECORD_SIZE],
    at: usize,
}

impl Put<'_> {
    fn bytes(&mut self, v: &[u8]) {
        self.b[self.at..self.at + v.len()].copy_from_slice(v);
        self.at += v.len();
    }
    fn u8(&mut self, v: u8) {
        self.bytes(&[v]);
    }
    fn u16(&mut self, v: u16) {
        self.bytes(&v.to_le_bytes());
    }
    fn u32(&mut self, v: u32) {
        self.bytes(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.bytes(&v.to_le_bytes());
    }
}

struct Get<'a> {
    b: &'a [u8; KOS_SHIM_TRACE_RECORD_SIZE],
    at: usize,
}

impl Get<'_> {
    fn take<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        out.copy_from_slice(&self.b[self.at..self.at + N]);
        self.at += N;
        out
    }
    fn u8(&mut self) -> u8 {
        self.take::<1>()[0]
    }
    fn u16(&mut self) -> u16 {
        u16::from_le_bytes(self.take())
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.take())
    }
    fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.take())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msg::HdrContext;

    #[test]
    fn le_encoding_round_trips_every_field() {
        let r = KosShimTraceRecord {
            start: 0x0102_0304_0506_0708,
            duration: 2,
            thread: 3,
            correlation: 4,
            handle: 5,
            rc: -6,
            iid: 7,
            mid: 8,
            op: 4,
            verdict: 3,
            kind: KOS_SHIM_TRACE_KIND_CALL,
            flags: 0,
            const_out: 9,
            arena_out: 10,
            const_in: 11,
            arena_in: 12,
            ncaps_out: 13,
            ncaps_in: 14,
            ring: 15,
            payload_const: 16,
            payload_arena: 17,
            payload_resp_const: 0x1a1b,
            payload_resp_arena: 0x1c1d,
            dropped: 18,
            peer_task: 19,
            peer_thread: 20,
            trace_id: 0x2122_2324_2526_2728,
            span_id: 0x3132_3334_3536_3738,
        };
        let b = r.to_le_bytes();
        assert_eq!(&b[..8], &[8, 7, 6, 5, 4, 3, 2, 1]);
        assert_eq!(&b[88..96], &[19, 0, 0, 0, 20, 0, 0, 0]);
        assert_eq!(&b[96..104], &0x2122_2324_2526_2728u64.to_le_bytes());
        assert_eq!(&b[104..], &0x3132_3334_3536_3738u64.to_le_bytes());
        assert_eq!(KosShimTraceRecord::from_le_bytes(&b), r);
    }

    #[test]
    fn a_call_record_carries_the_header_context() {
        let mut info = CallInfo::new(Op::RecvEx, 3);
        info.context = HdrContext {
            sender: 1234,
            thread: 5678,
            trace_id: 0xAB,
            span_id: 0xCD,
        };
        let r = KosShimTraceRecord::from_call(&info);
        assert_eq!(
            (r.peer_task, r.peer_thread, r.trace_id, r.span_id),
            (1234, 5678, 0xAB, 0xCD)
        );
        let lost = KosShimTraceRecord::lost(1, 2, 3, 4);
        assert_eq!((lost.peer_task, lost.trace_id), (0, 0));
    }
}
