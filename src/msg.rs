//! Validated views of the message headers a caller passes in.
//!
//! The C caller hands us `SMsgHdr` pointers. Everything the shim learns about
//! a message (ids, sizes) is read here, once, after the header passed the
//! checks below; the rest of the crate works with [`MsgOut`], [`MsgIn`] and
//! [`MsgInfo`] and never dereferences a raw header itself.
//!
//! Checks (each failure is `rcInvalidArgument`): the header is non-NULL and
//! bound by `PackOutMsg`/`PackInMsg` in the right direction; the constant part
//! is non-NULL, 8-aligned, at least `sizeof(nk_message)` and at most
//! `NK_MSG_MAX_SIZE`; an outgoing constant part's `size` field matches the
//! bound size; an arena, if any, has `start <= current <= end`, no NULL
//! pointer unless all three are NULL, and is at most `NK_ARENA_MAX_SIZE`.

use core::marker::PhantomData;
use core::mem::{align_of, size_of};

use crate::abi::{
    nk_arena, nk_message, rcInvalidArgument, Retcode, SMsgHdr, NK_ARENA_MAX_SIZE, NK_MSG_MAX_SIZE,
    SMSGHDR_DIR_IN, SMSGHDR_DIR_OUT, SMSGHDR_MAGIC,
};

/// What the shim knows about one message: ids and sizes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MsgInfo {
    /// Interface id.
    pub iid: u16,
    /// Method id.
    pub mid: u16,
    /// `nk_message.kind`.
    pub kind: u16,
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
/// them, through the crate-private [`MsgBytes::get`].
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

fn check_arena(arena: *const nk_arena) -> Result<(usize, usize), Retcode> {
    if arena.is_null() {
        return Ok((0, 0));
    }
    if !(arena as usize).is_multiple_of(align_of::<nk_arena>()) {
        return Err(rcInvalidArgument);
    }
    // SAFETY: non-NULL and aligned; the caller promised a valid nk_arena.
    let a = unsafe { &*arena };
    let (start, cur, end) = (a.start as usize, a.current as usize, a.end as usize);
    if start == 0 && cur == 0 && end == 0 {
        return Ok((0, 0));
    }
    if start == 0 || cur < start || end < cur || end - start > NK_ARENA_MAX_SIZE {
        return Err(rcInvalidArgument);
    }
    Ok((cur - start, end - start))
}

fn check_const(msg: *const nk_message, size: usize) -> Result<(), Retcode> {
    if msg.is_null()
        || !(msg as usize).is_multiple_of(align_of::<nk_message>())
        || size < size_of::<nk_message>()
        || size > NK_MSG_MAX_SIZE as usize
    {
        return Err(rcInvalidArgument);
    }
    Ok(())
}

impl<'a> MsgOut<'a> {
    /// Validate an outgoing header.
    ///
    /// # Safety
    /// `hdr` is NULL or points to an `SMsgHdr` whose buffers, if it is bound,
    /// are valid for reads of their stated sizes for `'a`.
    pub unsafe fn from_raw(hdr: *const SMsgHdr) -> Result<Self, Retcode> {
        if hdr.is_null() || !(hdr as usize).is_multiple_of(align_of::<SMsgHdr>()) {
            return Err(rcInvalidArgument);
        }
        // SAFETY: non-NULL and aligned; the caller promised a valid header.
        let h = unsafe { &*hdr };
        if h.magic != SMSGHDR_MAGIC || h.dir != SMSGHDR_DIR_OUT {
            return Err(rcInvalidArgument);
        }
        check_const(h.msg, h.msg_size)?;
        // SAFETY: check_const proved msg non-NULL, aligned and at least one nk_message long.
        let m = unsafe { *h.msg };
        if m.size as usize != h.msg_size {
            return Err(rcInvalidArgument);
        }
        let (used, _) = check_arena(h.arena)?;
        Ok(MsgOut {
            hdr,
            info: MsgInfo {
                iid: m.iid,
                mid: m.mid,
                kind: m.kind,
                ncaps: m.ncaps,
                const_size: m.size,
                arena_size: used as u32,
            },
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

    /// The constant part as bytes.
    pub fn constant(&self) -> &'a [u8] {
        // SAFETY: validated in from_raw: msg is non-NULL and const_size bytes long.
        unsafe {
            core::slice::from_raw_parts((*self.hdr).msg as *const u8, self.info.const_size as usize)
        }
    }

    /// The arena bytes in use (`[start, current)`), empty without an arena.
    pub fn arena(&self) -> &'a [u8] {
        if self.info.arena_size == 0 {
            return &[];
        }
        // SAFETY: validated in from_raw: arena non-NULL with start..current in bounds.
        unsafe {
            core::slice::from_raw_parts((*(*self.hdr).arena).start, self.info.arena_size as usize)
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
        if hdr.is_null() || !(hdr as usize).is_multiple_of(align_of::<SMsgHdr>()) {
            return Err(rcInvalidArgument);
        }
        // SAFETY: non-NULL and aligned; the caller promised a valid header.
        let h = unsafe { &*hdr };
        if h.magic != SMSGHDR_MAGIC || h.dir != SMSGHDR_DIR_IN {
            return Err(rcInvalidArgument);
        }
        check_const(h.msg, h.msg_size)?;
        check_arena(h.arena)?;
        Ok(MsgIn {
            hdr,
            _life: PhantomData,
        })
    }

    /// The header pointer, for forwarding to the next layer unchanged.
    pub fn as_mut_ptr(&mut self) -> *mut SMsgHdr {
        self.hdr
    }

    /// Capacity of the constant-part buffer.
    pub fn const_capacity(&self) -> usize {
        // SAFETY: validated header, read-only access to a plain field.
        unsafe { (*self.hdr).msg_size }
    }

    /// Capacity of the arena buffer (0 without one).
    pub fn arena_capacity(&self) -> usize {
        // SAFETY: validated header; check_arena passed at construction.
        let a = unsafe { (*self.hdr).arena };
        check_arena(a).map(|(_, cap)| cap).unwrap_or(0)
    }

    /// Copy a message into the buffers: the constant part, then the arena
    /// (whose `current` is set to the end of the copied bytes).
    ///
    /// Nothing is written unless both parts fit: a part larger than its
    /// buffer gives `Err(rcBufferTooSmall)`.
    pub fn write(&mut self, constant: &[u8], arena: &[u8]) -> Result<Received, Retcode> {
        if constant.len() > self.const_capacity() || arena.len() > self.arena_capacity() {
            return Err(crate::abi::rcBufferTooSmall);
        }
        // SAFETY: validated header with const_capacity writable bytes at msg,
        // and the lengths were just checked against both capacities.
        unsafe {
            let h = &mut *self.hdr;
            core::ptr::copy_nonoverlapping(constant.as_ptr(), h.msg as *mut u8, constant.len());
            if !h.arena.is_null() && !(*h.arena).start.is_null() {
                let a = &mut *h.arena;
                core::ptr::copy_nonoverlapping(arena.as_ptr(), a.start, arena.len());
                a.current = a.start.add(arena.len());
            }
        }
        Ok(Received {
            const_size: constant.len(),
            arena_size: arena.len(),
        })
    }

    /// The bytes of the message now in the buffers (after a receive): the
    /// constant part (its `size`, at most the capacity) and the arena in use.
    pub fn received_bytes(&self) -> MsgBytes {
        let info = self.info();
        // SAFETY: validated header: msg holds const_capacity bytes and
        // info.const_size <= that; the arena passed check_arena in info().
        unsafe {
            let h = &*self.hdr;
            let arena = if info.arena_size == 0 {
                core::ptr::null()
            } else {
                (*h.arena).start as *const u8
            };
            MsgBytes {
                constant: h.msg as *const u8,
                const_len: info.const_size,
                arena,
                arena_len: info.arena_size,
            }
        }
    }

    /// Ids and sizes of the message now in the buffers (after a receive).
    pub fn info(&self) -> MsgInfo {
        // SAFETY: validated header; msg holds at least one nk_message and the
        // arena passed check_arena (re-checked here since the callee wrote it).
        unsafe {
            let h = &*self.hdr;
            let m = *h.msg;
            let arena = check_arena(h.arena).map(|(used, _)| used).unwrap_or(0);
            MsgInfo {
                iid: m.iid,
                mid: m.mid,
                kind: m.kind,
                ncaps: m.ncaps,
                const_size: (m.size as usize).min(h.msg_size) as u32,
                arena_size: arena as u32,
            }
        }
    }
}
