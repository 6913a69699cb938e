//! The five IPC operations the shim intercepts.

/// Which system call a record or decision is about.
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Op {
    /// `Call`: send a request, wait for the response.
    Call = 0,
    /// `CallEx`: `Call` with a timeout and an interrupt object.
    CallEx = 1,
    /// `Recv`: wait for a request.
    Recv = 2,
    /// `RecvEx`: `Recv` with a timeout and an interrupt object.
    RecvEx = 3,
    /// `Reply`: answer a received request (`threadId` names its client
    /// thread; 0: the oldest one).
    Reply = 4,
}

impl Op {
    /// All operations, in numeric order.
    pub const ALL: [Op; 5] = [Op::Call, Op::CallEx, Op::Recv, Op::RecvEx, Op::Reply];

    /// The SDK function name.
    pub const fn name(self) -> &'static str {
        match self {
            Op::Call => "Call",
            Op::CallEx => "CallEx",
            Op::Recv => "Recv",
            Op::RecvEx => "RecvEx",
            Op::Reply => "Reply",
        }
    }

    /// Lower-case name used in dumps and policy text (`call`, `callex`, ...).
    pub const fn key(self) -> &'static str {
        match self {
            Op::Call => "call",
            Op::CallEx => "callex",
            Op::Recv => "recv",
            Op::RecvEx => "recvex",
            Op::Reply => "reply",
        }
    }

    /// The operation with this numeric value.
    pub const fn from_u8(v: u8) -> Option<Op> {
        match v {
            0 => Some(Op::Call),
            1 => Some(Op::CallEx),
            2 => Some(Op::Recv),
            3 => Some(Op::RecvEx),
            4 => Some(Op::Reply),
            _ => None,
        }
    }

    /// Whether this operation sends a message (Call, CallEx, Reply): the
    /// kernel's security module may deny these; Recv/RecvEx it only audits.
    pub const fn sends(self) -> bool {
        matches!(self, Op::Call | Op::CallEx | Op::Reply)
    }

    /// Whether this operation receives a message (everything but Reply).
    pub const fn receives(self) -> bool {
        !matches!(self, Op::Reply)
    }

    /// Whether the operation takes a timeout and an interrupt object.
    pub const fn is_ex(self) -> bool {
        matches!(self, Op::CallEx | Op::RecvEx)
    }
}

/// `Op::Call` in the C API (`kos_shim_stats_global_t.calls_by_op`, ...).
pub const KOS_SHIM_OP_CALL: u32 = 0;
/// `Op::CallEx` in the C API.
pub const KOS_SHIM_OP_CALLEX: u32 = 1;
/// `Op::Recv` in the C API.
pub const KOS_SHIM_OP_RECV: u32 = 2;
/// `Op::RecvEx` in the C API.
pub const KOS_SHIM_OP_RECVEX: u32 = 3;
/// `Op::Reply` in the C API.
pub const KOS_SHIM_OP_REPLY: u32 = 4;

const _: () = {
    assert!(KOS_SHIM_OP_CALL == Op::Call as u32);
    assert!(KOS_SHIM_OP_CALLEX == Op::CallEx as u32);
    assert!(KOS_SHIM_OP_RECV == Op::Recv as u32);
    assert!(KOS_SHIM_OP_RECVEX == Op::RecvEx as u32);
    assert!(KOS_SHIM_OP_REPLY == Op::Reply as u32);
};
