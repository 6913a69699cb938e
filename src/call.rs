//! What the pipeline knows about one call ([`CallInfo`]) and what the
//! policy and interceptors decided about it ([`Verdict`]): plain data that
//! the pipeline fills and the layers (statistics, trace, policy, faults)
//! and interceptors read. It depends on the message views and the ABI
//! only, so every layer can use it without depending on the pipeline or on
//! each other (the interceptor API, [`crate::intercept`], re-exports both).

use crate::abi::{rcOk, Handle, Retcode};
use crate::msg::{HdrContext, MsgBytes, MsgInfo};
use crate::op::Op;

/// The outcome of the policy and interceptors for one call.
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Verdict {
    /// Allowed (or no policy).
    #[default]
    Allow = 0,
    /// Allowed, and the match is to be reported.
    Log = 1,
    /// Denied: Call/CallEx/Reply return rcSecurityDisallow.
    Deny = 2,
    /// Would have been denied, but the policy is in audit mode (or the
    /// operation is Recv/RecvEx, which the kernel never denies).
    AuditDeny = 3,
    /// Allowed, and a fault rule of the policy injected a fault: the call
    /// failed with the rule's code without reaching the backend, or was
    /// delayed (see `crate::fault`).
    Fault = 4,
}

impl Verdict {
    /// Whether this verdict stops a message that can be denied.
    pub const fn denies(self) -> bool {
        matches!(self, Verdict::Deny)
    }

    /// The stricter of the two (Deny over AuditDeny over Fault over Log
    /// over Allow): what several judges of one call decide together.
    pub(crate) fn stricter(self, other: Verdict) -> Verdict {
        const fn rank(v: Verdict) -> u8 {
            match v {
                Verdict::Allow => 0,
                Verdict::Log => 1,
                Verdict::Fault => 2,
                Verdict::AuditDeny => 3,
                Verdict::Deny => 4,
            }
        }
        if rank(other) > rank(self) {
            other
        } else {
            self
        }
    }

    /// The verdict with this numeric value (`Verdict as u8`), if any.
    pub const fn from_u8(v: u8) -> Option<Verdict> {
        match v {
            0 => Some(Verdict::Allow),
            1 => Some(Verdict::Log),
            2 => Some(Verdict::Deny),
            3 => Some(Verdict::AuditDeny),
            4 => Some(Verdict::Fault),
            _ => None,
        }
    }
}

/// Everything the pipeline knows about one call, borrowed by hooks.
#[derive(Debug, Clone, Copy)]
pub struct CallInfo {
    /// Which system call.
    pub op: Op,
    /// The IPC handle it was made on.
    pub handle: Handle,
    /// What this thread sent: the request of Call/CallEx, the response of Reply.
    pub sent: MsgInfo,
    /// What this thread received: the response of Call/CallEx, the request of
    /// Recv/RecvEx (all zero until the call succeeded).
    pub received: MsgInfo,
    /// Calling thread (OS thread id on hosts).
    pub thread: u64,
    /// Start, in [`crate::clock`] ticks.
    pub start: u64,
    /// End, in [`crate::clock`] ticks (0 in `before`).
    pub end: u64,
    /// Return code (rcOk in `before`).
    pub rc: Retcode,
    /// The decision taken in `before`.
    pub verdict: Verdict,
    /// The shim answered the call itself, without reaching the backend: the
    /// policy denied it, a fault rule failed it (`rc` is the rule's code),
    /// or its headers were invalid. Its message never left (statistics
    /// count no bytes sent). False in `before`.
    pub refused: bool,
    /// Correlation id set by the backend (0: unknown).
    pub correlation: u64,
    /// The message header's context fields. Recv/RecvEx: what the kernel
    /// filled into the received header, `sender` (the client's task),
    /// `thread` (the calling client thread), `trace_id` and `span_id` (all
    /// zero until the call succeeded). Call/CallEx: the sent header's
    /// `trace_id` and `span_id`. Reply: those, and `thread`, the `threadId`
    /// it answers (0: the oldest request). Fields a call does not carry are 0.
    pub context: HdrContext,
    /// Bytes of [`CallInfo::message`], filled only while the trace captures
    /// payloads (`KOS_SHIM_TRACE_PAYLOAD`); empty otherwise.
    pub payload: MsgBytes,
    /// Call/CallEx that succeeded, while the trace captures payloads: the
    /// bytes of the response received; empty otherwise.
    pub response: MsgBytes,
}

impl CallInfo {
    /// A fresh record for `op` on `handle` made by the current thread.
    pub fn new(op: Op, handle: Handle) -> Self {
        CallInfo {
            op,
            handle,
            sent: MsgInfo::default(),
            received: MsgInfo::default(),
            thread: crate::guard::thread_id(),
            start: 0,
            end: 0,
            rc: rcOk,
            verdict: Verdict::Allow,
            refused: false,
            correlation: 0,
            context: HdrContext::EMPTY,
            payload: MsgBytes::EMPTY,
            response: MsgBytes::EMPTY,
        }
    }

    /// The message the call is about: what was sent for Call/CallEx/Reply,
    /// what was received for Recv/RecvEx.
    pub fn message(&self) -> &MsgInfo {
        if matches!(self.op, Op::Recv | Op::RecvEx) {
            &self.received
        } else {
            &self.sent
        }
    }

    /// Interface id of [`CallInfo::message`].
    pub fn iid(&self) -> u16 {
        self.message().iid
    }

    /// Method id of [`CallInfo::message`].
    pub fn mid(&self) -> u16 {
        self.message().mid
    }
}
