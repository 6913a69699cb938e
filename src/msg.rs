//! Validated views of the message headers a caller passes in.
//!
//! The C caller hands us `SMsgHdr` pointers (the KCE layout, [`crate::abi`]).
//! Everything the shim learns about a message (ids, sizes, the trace
//! context) is read here, once, after the header passed the checks below;
//! the rest of the crate works with [`MsgOut`], [`MsgIn`] and [`MsgInfo`] and
//! never dereferences a raw header itself.
//!
//! The checks work on headers as an SDK program fills them, by
//! `PackOutMsg`/`PackInMsg` or by hand; each failure is `rcInvalidArgument`:
//! the header is NULL or misaligned; `immSize` is not 0 (immediate data is
//! not supported); descriptor 0 (the constant part) has no buffer, is
//! shorter than `sizeof(nk_message)` or longer than `KOS_SHIM_MSG_MAX_SIZE`;
//! descriptor 1 (the arena) is longer than `KOS_SHIM_ARENA_MAX_SIZE` or has a size
//! but no buffer; and, for a message to send, `ex.size_ex` differs from
//! descriptor 0's size.

use core::marker::PhantomData;

/// The largest constant part the shim accepts, in bytes (this project's
/// bound: `ex.size_ex` could say up to 256 MiB, far beyond any real message).
pub const KOS_SHIM_MSG_MAX_SIZE: u32 = 64 * 1024;
/// The largest arena the shim transfers in one message, in bytes (this
/// project's bound; descriptor sizes are 32-bit).
pub const KOS_SHIM_ARENA_MAX_SIZE: usize = 16 * 1024 * 1024;

use crate::abi::{Retcode, SMsgHdr};

/// What the shim knows about one message: ids and sizes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MsgInfo {
    /// Interface id.
    pub iid: u16,
    /// Method id.
    pub mid: u16,
    /// `ex.err`: an error response.
    pub err: bool,
    /// Number of handles the message carries.
    pub ncaps: u16,
    /// Constant part size in bytes.
    pub const_size: u32,
    /// Arena bytes in use.
    pub arena_size: u32,
}

impl MsgInfo {
    /// Constant part plus arena.
    pub const fn total_size(&self) -> u64 {
        self.const_size as u64 + self.arena_size as u64
    }
}

/// Where one message's bytes are: its constant part and arena in use.
///
/// The pipeline fills [`crate::CallInfo::payload`] with it only when the trace
/// captures payloads (`KOS_SHIM_TRACE_PAYLOAD`); otherwise it is empty. The
/// pointers are the caller's buffers and are valid only while the call is in
/// progress, so only hooks running inside it (`intercept::after`) may read
/// them, through the crate-private `MsgBytes::get`.
#[derive(Debug, Clone, Copy)]
pub struct MsgBytes {
    constant: *const u8,
    const_len: u32,
    arena: *const u8,
    arena_len: u32,
}

// SAFETY: MsgBytes is only dereferenced by `get`, whose callers run inside the
// call that owns the buffers; moving the pointer values between threads is harmless.
unsafe impl Send for MsgBytes {}
// SAFETY: as above.
unsafe impl Sync for MsgBytes {}

impl Default for MsgBytes {
    fn default() -> Self {
        MsgBytes::EMPTY
    }
}

impl MsgBytes {
    /// No bytes.
    pub const EMPTY: MsgBytes = MsgBytes {
        constant: core::ptr::null(),
        const_len: 0,
        arena: core::ptr::null(),
        arena_len: 0,
    };

    /// Whether it holds no bytes (nothing was captured).
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.const_len == 0 && self.arena_len == 0
    }

    /// Remember where `constant` and `arena` are.
    pub(crate) fn of(constant: &[u8], arena: &[u8]) -> Self {
        MsgBytes {
            constant: constant.as_ptr(),
            const_len: constant.len() as u32,
            arena: arena.as_ptr(),
            arena_len: arena.len() as u32,
        }
    }

    /// The constant part and arena bytes.
    ///
    /// # Safety
    /// Only while the call that filled this value is still in progress (from
    /// a hook it runs), when the caller's buffers are valid and unchanged.
    pub(crate) unsafe fn get<'a>(&self) -> (&'a [u8], &'a [u8]) {
        // SAFETY: the caller's contract; a NULL or empty part gives an empty slice.
        unsafe {
            (
                crate::ffi::bytes(self.constant, self.const_len as usize).unwrap_or(&[]),
                crate::ffi::bytes(self.arena, self.arena_len as usize).unwrap_or(&[]),
            )
        }
    }
}

/// A validated outgoing message (bound by `PackOutMsg`).
///
/// Invariant: `hdr` points to a header that passed the checks in this module
/// and whose buffers stay valid and unchanged for `'a` (the C caller's
/// contract for the duration of the system call).
#[derive(Debug, Clone, Copy)]
pub struct MsgOut<'a> {
    hdr: *const SMsgHdr,
    info: MsgInfo,
    _life: PhantomData<&'a SMsgHdr>,
}

/// A validated receive buffer (bound by `PackInMsg`).
///
/// Invariant: as for [`MsgOut`], and the buffers are writable for `'a`.
#[derive(Debug)]
pub struct MsgIn<'a> {
    hdr: *mut SMsgHdr,
    _life: PhantomData<&'a mut SMsgHdr>,
}

// SAFETY: the views only carry pointers the C caller guarantees valid for the
// call; the host emulator hands them to the serving thread while the caller is
// blocked and does not touch them, which is how the kernel treats the buffers.
unsafe impl Send for MsgOut<'_> {}
// SAFETY: as above; MsgOut is read-only.
unsafe impl Sync for MsgOut<'_> {}
// SAFETY: as above; exactly one thread writes through a MsgIn at a time.
unsafe impl Send for MsgIn<'_> {}

/// Where a header's buffers are, read from its descriptors.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Buffers {
    /// The constant part.
    pub msg: *mut u8,
    /// Descriptor 0's size: bytes to send, or the receive capacity.
    pub msg_size: usize,
    /// The arena buffer; NULL without an arena.
    pub arena: *mut u8,
    /// Descriptor 1's size: arena bytes to send, or the receive capacity.
    pub arena_size: usize,
}

/// The SDK's `SMsgHdr`, read in Rust: the layout is the KCE profile's
/// ([`crate::abi`]), checked against a real SDK by the `sdk-profile` build.
pub(crate) mod raw {
    use core::mem::size_of;

    use super::{Buffers, MsgInfo};
    use super::{KOS_SHIM_ARENA_MAX_SIZE, KOS_SHIM_MSG_MAX_SIZE};
    use crate::abi::{nk_message, rcInvalidArgument, Retcode, SMsgHdr};

    /// The header, if non-NULL and aligned.
    ///
    /// # Safety
    /// `hdr` is NULL or points to a readable `SMsgHdr`.
    unsafe fn header<'h>(hdr: *const SMsgHdr) -> Result<&'h SMsgHdr, Retcode> {
        if hdr.is_null() || !(hdr as usize).is_multiple_of(core::mem::align_of::<SMsgHdr>()) {
            return Err(rcInvalidArgument);
        }
        // SAFETY: non-NULL and aligned; the caller promised a valid header.
        Ok(unsafe { &*hdr })
    }

    /// The descriptors of a header without immediate data, checked: the
    /// constant part non-NULL and between `sizeof(nk_message)` and
    /// `KOS_SHIM_MSG_MAX_SIZE` bytes, the arena no larger than `KOS_SHIM_ARENA_MAX_SIZE`
    /// and with a buffer when its size is not 0.
    fn buffers_of(h: &SMsgHdr) -> Result<Buffers, Retcode> {
        // Immediate messages: NK never sends them (PackOutMsg clears
        // immSize) and where their payload starts is not public, so the
        // shim refuses to guess.
        if h.immSize != 0 {
            return Err(rcInvalidArgument);
        }
        let [d0, d1] = h.descs();
        let (msg_size, arena_size) = (d0.size as usize, d1.size as usize);
        if d0.buf.is_null()
            || msg_size < size_of::<nk_message>()
            || msg_size > KOS_SHIM_MSG_MAX_SIZE as usize
            || arena_size > KOS_SHIM_ARENA_MAX_SIZE
            || (d1.buf.is_null() && arena_size != 0)
        {
            return Err(rcInvalidArgument);
        }
        Ok(Buffers {
            msg: d0.buf.cast::<u8>(),
            msg_size,
            arena: d1.buf.cast::<u8>(),
            arena_size,
        })
    }

    /// The `nk_message` at the start of a checked constant part.
    ///
    /// # Safety
    /// `b` came from [`buffers_of`] on a header whose buffers are readable.
    unsafe fn message(b: &Buffers) -> nk_message {
        // SAFETY: buffers_of proved msg non-NULL and at least one nk_message
        // long; the read is unaligned because the SDK does not promise more.
        unsafe { b.msg.cast::<nk_message>().read_unaligned() }
    }

    /// Validate an outgoing header and read its ids and sizes: on top of the
    /// descriptor checks, `ex.size_ex` must equal descriptor 0's size.
    ///
    /// # Safety
    /// `hdr` is NULL or points to an `SMsgHdr` whose buffers are readable.
    pub(crate) unsafe fn check_out(hdr: *const SMsgHdr) -> Result<MsgInfo, Retcode> {
        // SAFETY: the caller's contract.
        let b = buffers_of(unsafe { header(hdr) }?)?;
        // SAFETY: checked buffers, readable per the caller's contract.
        let m = unsafe { message(&b) };
        if m.size_ex() as usize != b.msg_size {
            return Err(rcInvalidArgument);
        }
        Ok(MsgInfo {
            iid: m.iid,
            mid: m.mid,
            err: m.err(),
            ncaps: m.ncaps(),
            const_size: m.size_ex(),
            arena_size: b.arena_size as u32,
        })
    }

    /// Validate a receive header.
    ///
    /// # Safety
    /// As for [`check_out`].
    pub(crate) unsafe fn check_in(hdr: *const SMsgHdr) -> Result<(), Retcode> {
        // SAFETY: the caller's contract.
        buffers_of(unsafe { header(hdr) }?).map(|_| ())
    }

    /// Ids and sizes of what a receive header's buffers hold after a
    /// receive: the constant part's own `size_ex` (at most the capacity)
    /// and descriptor 1's size, which a receive sets to the arena bytes
    /// that arrived.
    ///
    /// # Safety
    /// `hdr` passed [`check_in`] and its buffers are still valid.
    pub(crate) unsafe fn in_info(hdr: *const SMsgHdr) -> MsgInfo {
        // SAFETY: validated header (the callee may have rewritten the
        // descriptor sizes, so they are checked again).
        unsafe { received(hdr) }.map_or(MsgInfo::default(), |(m, _)| m)
    }

    /// [`in_info`] and the context fields of a receive header, checked
    /// here (not known to have passed [`check_in`]); `None` if it fails.
    ///
    /// # Safety
    /// `hdr` is NULL or points to an `SMsgHdr` whose buffers are readable.
    pub(crate) unsafe fn received(hdr: *const SMsgHdr) -> Option<(MsgInfo, super::HdrContext)> {
        // SAFETY: the caller's contract.
        let h = unsafe { header(hdr) }.ok()?;
        let b = buffers_of(h).ok()?;
        // SAFETY: checked buffers, readable per the caller's contract.
        let m = unsafe { message(&b) };
        let info = MsgInfo {
            iid: m.iid,
            mid: m.mid,
            err: m.err(),
            ncaps: m.ncaps(),
            const_size: (m.size_ex() as usize).min(b.msg_size) as u32,
            arena_size: b.arena_size as u32,
        };
        Some((info, super::HdrContext::of(h)))
    }

    /// Where a validated header's buffers are.
    ///
    /// # Safety
    /// `hdr` passed [`check_out`] or [`check_in`] and is still valid.
    pub(crate) unsafe fn buffers(hdr: *const SMsgHdr) -> Buffers {
        // SAFETY: validated header, plain field reads.
        buffers_of(unsafe { &*hdr }).unwrap_or(Buffers {
            msg: core::ptr::null_mut(),
            msg_size: 0,
            arena: core::ptr::null_mut(),
            arena_size: 0,
        })
    }

    /// Record what a receive wrote: descriptor 0's size becomes the constant
    /// bytes, descriptor 1's the arena bytes (this project's convention for
    /// the emulator: the SDK does not document what its kernel writes back).
    ///
    /// # Safety
    /// `hdr` passed [`check_in`]; the sizes are at most the capacities.
    pub(crate) unsafe fn set_received(hdr: *mut SMsgHdr, const_size: usize, arena_size: usize) {
        // SAFETY: validated, writable header (the caller's contract).
        let h = unsafe { &mut *hdr };
        let mut d = h.descs();
        d[0].size = const_size as u32;
        d[1].size = arena_size as u32;
        h.set_descs(d);
    }
}

/// The reads of the pipeline's lean path ([`crate::pipeline`]), which keeps
/// no views: the same checks as [`MsgOut::from_raw`] and [`MsgIn::from_raw`],
/// and only the fields the active layers use.
pub(crate) mod peek {
    use super::{raw, HdrContext, MsgInfo};
    use crate::abi::SMsgHdr;

    /// Ids and sizes of an outgoing header that passes [`MsgOut::from_raw`]'s
    /// checks; `None` when it does not.
    ///
    /// # Safety
    /// As for [`MsgOut::from_raw`].
    ///
    /// [`MsgOut::from_raw`]: super::MsgOut::from_raw
    #[inline(always)]
    pub(crate) unsafe fn sent(hdr: *const SMsgHdr) -> Option<MsgInfo> {
        // SAFETY: the caller's contract.
        unsafe { raw::check_out(hdr) }.ok()
    }

    /// Ids and sizes of what a receive header holds after a successful
    /// receive, and its context fields; `None` when the header fails
    /// [`MsgIn::from_raw`]'s checks (the lower layer checked it, not the shim).
    ///
    /// # Safety
    /// As for [`MsgIn::from_raw`].
    ///
    /// [`MsgIn::from_raw`]: super::MsgIn::from_raw
    #[inline(always)]
    pub(crate) unsafe fn received(hdr: *const SMsgHdr) -> Option<(MsgInfo, HdrContext)> {
        // SAFETY: the caller's contract.
        unsafe { raw::received(hdr) }
    }

    /// The context fields of a header that passed [`sent`].
    ///
    /// # Safety
    /// `hdr` passed [`sent`] and is still valid.
    #[inline(always)]
    pub(crate) unsafe fn context(hdr: *const SMsgHdr) -> HdrContext {
        // SAFETY: a checked header is non-NULL, aligned and readable.
        HdrContext::of(unsafe { &*hdr })
    }
}

/// The header fields the kernel fills on a receive, and the trace context
/// a sender puts in: what the trace records of a message carry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HdrContext {
    /// `sender`: the peer's task (the client's process on Recv).
    pub sender: u32,
    /// `threadId`: the client's thread on Recv; the thread answered on Reply.
    pub thread: u32,
    /// `traceId`.
    pub trace_id: u64,
    /// `spanId`.
    pub span_id: u64,
}

impl HdrContext {
    /// No context (all zero).
    pub const EMPTY: HdrContext = HdrContext {
        sender: 0,
        thread: 0,
        trace_id: 0,
        span_id: 0,
    };

    /// The context fields of a header.
    pub(crate) fn of(h: &crate::abi::SMsgHdr) -> Self {
        HdrContext {
            sender: h.sender,
            thread: h.threadId,
            trace_id: h.traceId,
            span_id: h.spanId,
        }
    }
}

impl<'a> MsgOut<'a> {
    /// Validate an outgoing header.
    ///
    /// # Safety
    /// `hdr` is NULL or points to an `SMsgHdr` whose buffers, if it is bound,
    /// are valid for reads of their stated sizes for `'a`.
    pub unsafe fn from_raw(hdr: *const SMsgHdr) -> Result<Self, Retcode> {
        // SAFETY: the caller's contract.
        let info = unsafe { raw::check_out(hdr) }?;
        Ok(MsgOut {
            hdr,
            info,
            _life: PhantomData,
        })
    }

    /// Ids and sizes of the message.
    pub fn info(&self) -> MsgInfo {
        self.info
    }

    /// The header pointer, for forwarding to the next layer unchanged.
    pub fn as_ptr(&self) -> *const SMsgHdr {
        self.hdr
    }

    /// The header's context fields as the sender set them: `traceId`,
    /// `spanId`, and `threadId` (on Reply: the client thread to answer, 0
    /// for the first one waiting) and `sender`.
    pub fn context(&self) -> HdrContext {
        // SAFETY: validated in from_raw; the header stays readable for 'a.
        HdrContext::of(unsafe { &*self.hdr })
    }

    /// The constant part as bytes.
    pub fn constant(&self) -> &'a [u8] {
        // SAFETY: validated in from_raw: msg is non-NULL and const_size bytes long.
        unsafe {
            let b = raw::buffers(self.hdr);
            core::slice::from_raw_parts(b.msg, self.info.const_size as usize)
        }
    }

    /// The arena bytes in use (`[start, current)`), empty without an arena.
    pub fn arena(&self) -> &'a [u8] {
        if self.info.arena_size == 0 {
            return &[];
        }
        // SAFETY: validated in from_raw: arena non-NULL with start..current in bounds.
        unsafe {
            let b = raw::buffers(self.hdr);
            core::slice::from_raw_parts(b.arena, self.info.arena_size as usize)
        }
    }
}

/// Where a received message was written: sizes of what landed in the buffers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received {
    /// Bytes written to the constant part.
    pub const_size: usize,
    /// Bytes written to the arena.
    pub arena_size: usize,
}

impl<'a> MsgIn<'a> {
    /// Validate a receive header.
    ///
    /// # Safety
    /// `hdr` is NULL or points to an `SMsgHdr` whose buffers, if it is bound,
    /// are valid for writes of their stated capacities for `'a`.
    pub unsafe fn from_raw(hdr: *mut SMsgHdr) -> Result<Self, Retcode> {
        // SAFETY: the caller's contract.
        unsafe { raw::check_in(hdr) }?;
        Ok(MsgIn {
            hdr,
            _life: PhantomData,
        })
    }

    /// The header pointer, for forwarding to the next layer unchanged.
    pub fn as_mut_ptr(&mut self) -> *mut SMsgHdr {
        self.hdr
    }

    /// The header's context fields now (after a receive: what the kernel
    /// filled in, see [`MsgIn::set_context`]).
    pub fn context(&self) -> HdrContext {
        // SAFETY: validated in from_raw; the header stays readable for 'a.
        HdrContext::of(unsafe { &*self.hdr })
    }

    /// Fill the header fields a receive sets besides the descriptors, as
    /// the kernel does: `sender`, `threadId`, `traceId` and `spanId` from
    /// `ctx`. A backend calls it after [`MsgIn::write`].
    pub fn set_context(&mut self, ctx: &HdrContext) {
        // SAFETY: validated in from_raw; the header is writable for 'a and
        // no other reference to it is live while this view exists.
        let h = unsafe { &mut *self.hdr };
        h.sender = ctx.sender;
        h.threadId = ctx.thread;
        h.traceId = ctx.trace_id;
        h.spanId = ctx.span_id;
    }

    /// Set `replyHandle`: the server handle a received request is answered
    /// on (what the kernel fills in on Recv).
    pub fn set_reply_handle(&mut self, handle: crate::abi::Handle) {
        // SAFETY: as in set_context.
        unsafe { (*self.hdr).replyHandle = handle };
    }

    /// Capacity of the constant-part buffer.
    pub fn const_capacity(&self) -> usize {
        // SAFETY: validated header.
        unsafe { raw::buffers(self.hdr) }.msg_size
    }

    /// Capacity of the arena buffer (0 without one).
    pub fn arena_capacity(&self) -> usize {
        // SAFETY: validated header.
        unsafe { raw::buffers(self.hdr) }.arena_size
    }

    /// Copy a message into the buffers: the constant part, then the arena
    /// (whose `current` is set to the end of the copied bytes).
    ///
    /// Nothing is written unless both parts fit: a part larger than its
    /// buffer gives `Err(rcBufferTooSmall)`.
    pub fn write(&mut self, constant: &[u8], arena: &[u8]) -> Result<Received, Retcode> {
        // SAFETY: validated header.
        let b = unsafe { raw::buffers(self.hdr) };
        if constant.len() > b.msg_size || arena.len() > b.arena_size {
            return Err(crate::abi::rcBufferTooSmall);
        }
        // SAFETY: the buffers are writable for their capacities (the caller's
        // contract, checked at construction) and the lengths fit them.
        unsafe {
            core::ptr::copy_nonoverlapping(constant.as_ptr(), b.msg, constant.len());
            if !b.arena.is_null() {
                core::ptr::copy_nonoverlapping(arena.as_ptr(), b.arena, arena.len());
            }
            raw::set_received(self.hdr, constant.len(), arena.len());
        }
        Ok(Received {
            const_size: constant.len(),
            arena_size: arena.len(),
        })
    }

    /// Like [`MsgIn::write`], for bytes that are not in a slice: after the
    /// same capacity check, `fill(0, dst)` fills the `const_len` bytes of the
    /// constant part, then `fill(1, dst)` the `arena_len` arena bytes (never
    /// both at once, so the two buffers may even overlap).
    #[cfg(feature = "host")]
    pub(crate) fn write_with(
        &mut self,
        const_len: usize,
        arena_len: usize,
        mut fill: impl FnMut(usize, &mut [u8]),
    ) -> Result<Received, Retcode> {
        // SAFETY: validated header.
        let b = unsafe { raw::buffers(self.hdr) };
        if const_len > b.msg_size || arena_len > b.arena_size {
            return Err(crate::abi::rcBufferTooSmall);
        }
        // SAFETY: the constant-part buffer is writable for its capacity
        // (the caller's contract, checked at construction), const_len fits
        // it, and no other reference to it lives during `fill`.
        fill(0, unsafe {
            core::slice::from_raw_parts_mut(b.msg, const_len)
        });
        if arena_len != 0 {
            // SAFETY: as above for the arena buffer, non-NULL when its
            // capacity is not 0 (checked at construction).
            fill(1, unsafe {
                core::slice::from_raw_parts_mut(b.arena, arena_len)
            });
        }
        // SAFETY: validated header; the sizes fit the capacities.
        unsafe { raw::set_received(self.hdr, const_len, arena_len) };
        Ok(Received {
            const_size: const_len,
            arena_size: arena_len,
        })
    }

    /// The bytes of the message now in the buffers (after a receive): the
    /// constant part (its `size`, at most the capacity) and the arena in use.
    pub fn received_bytes(&self) -> MsgBytes {
        let info = self.info();
        // SAFETY: validated header: msg holds const_capacity bytes and
        // info.const_size <= that; the arena in use is info.arena_size bytes.
        let b = unsafe { raw::buffers(self.hdr) };
        MsgBytes {
            constant: b.msg as *const u8,
            const_len: info.const_size,
            arena: if info.arena_size == 0 {
                core::ptr::null()
            } else {
                b.arena as *const u8
            },
            arena_len: info.arena_size,
        }
    }

    /// Ids and sizes of the message now in the buffers (after a receive).
    pub fn info(&self) -> MsgInfo {
        // SAFETY: validated header, buffers valid for 'a.
        unsafe { raw::in_info(self.hdr) }
    }
}
