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
//!
//! Two implementations of the reading, one per ABI profile: the host
//! profile's layout read in Rust (module `host_layout`, the default), or,
//! with feature `sdk-profile`, the C bridge `src/profile/kos_profile.c`
//! compiled against the SDK's own headers (module `bridge`; `SMsgHdr` is then
//! opaque to Rust). Both give the same answers; a test checks it on thousands
//! of generated headers.

use core::marker::PhantomData;

use crate::abi::{Retcode, SMsgHdr};

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

/// Where a bound header's buffers are (layout shared with the C bridge).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub(crate) struct Buffers {
    /// The constant part.
    pub msg: *mut u8,
    /// Its bound size: bytes to send, or the receive capacity.
    pub msg_size: usize,
    /// The arena's start; NULL without an arena (or with an empty one).
    pub arena: *mut u8,
    /// Arena bytes in use (`[start, current)`).
    pub arena_used: usize,
    /// Arena capacity (`[start, end)`).
    pub arena_cap: usize,
}

#[cfg(not(feature = "sdk-profile"))]
use host_layout as raw;

#[cfg(feature = "sdk-profile")]
use bridge as raw;

/// The host profile's `SMsgHdr`, read in Rust.
#[cfg(not(feature = "sdk-profile"))]
pub(crate) mod host_layout {
    use core::mem::{align_of, size_of};

    use super::{Buffers, MsgInfo};
    use crate::abi::{
        nk_arena, nk_message, rcInvalidArgument, Retcode, SMsgHdr, NK_ARENA_MAX_SIZE,
        NK_MSG_MAX_SIZE, SMSGHDR_DIR_IN, SMSGHDR_DIR_OUT, SMSGHDR_MAGIC,
    };

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

    /// A bound header in direction `dir`, or rcInvalidArgument.
    ///
    /// # Safety
    /// `hdr` is NULL or points to a readable `SMsgHdr`.
    unsafe fn bound<'h>(hdr: *const SMsgHdr, dir: u32) -> Result<&'h SMsgHdr, Retcode> {
        if hdr.is_null() || !(hdr as usize).is_multiple_of(align_of::<SMsgHdr>()) {
            return Err(rcInvalidArgument);
        }
        // SAFETY: non-NULL and aligned; the caller promised a valid header.
        let h = unsafe { &*hdr };
        if h.magic != SMSGHDR_MAGIC || h.dir != dir {
            return Err(rcInvalidArgument);
        }
        Ok(h)
    }

    /// Validate an outgoing header and read its ids and sizes.
    ///
    /// # Safety
    /// `hdr` is NULL or points to an `SMsgHdr` whose buffers, if bound, are readable.
    pub(crate) unsafe fn check_out(hdr: *const SMsgHdr) -> Result<MsgInfo, Retcode> {
        // SAFETY: the caller's contract.
        let h = unsafe { bound(hdr, SMSGHDR_DIR_OUT) }?;
        check_const(h.msg, h.msg_size)?;
        // SAFETY: check_const proved msg non-NULL, aligned and at least one nk_message long.
        let m = unsafe { *h.msg };
        if m.size as usize != h.msg_size {
            return Err(rcInvalidArgument);
        }
        let (used, _) = check_arena(h.arena)?;
        Ok(MsgInfo {
            iid: m.iid,
            mid: m.mid,
            kind: m.kind,
            ncaps: m.ncaps,
            const_size: m.size,
            arena_size: used as u32,
        })
    }

    /// Validate a receive header.
    ///
    /// # Safety
    /// As for [`check_out`].
    pub(crate) unsafe fn check_in(hdr: *const SMsgHdr) -> Result<(), Retcode> {
        // SAFETY: the caller's contract.
        let h = unsafe { bound(hdr, SMSGHDR_DIR_IN) }?;
        check_const(h.msg, h.msg_size)?;
        check_arena(h.arena)?;
        Ok(())
    }

    /// Ids and sizes of what a validated receive header's buffers hold.
    ///
    /// # Safety
    /// `hdr` passed [`check_in`] and its buffers are still valid.
    pub(crate) unsafe fn in_info(hdr: *const SMsgHdr) -> MsgInfo {
        // SAFETY: validated header; msg holds at least one nk_message and the
        // arena passed check_arena (re-checked here since the callee wrote it).
        unsafe {
            let h = &*hdr;
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

    /// Where a validated header's buffers are.
    ///
    /// # Safety
    /// `hdr` passed [`check_out`] or [`check_in`] and is still valid.
    pub(crate) unsafe fn buffers(hdr: *const SMsgHdr) -> Buffers {
        // SAFETY: validated header, plain field reads.
        let h = unsafe { &*hdr };
        let (used, cap) = check_arena(h.arena).unwrap_or((0, 0));
        Buffers {
            msg: h.msg.cast::<u8>(),
            msg_size: h.msg_size,
            // SAFETY (read): cap > 0 means check_arena read a valid, non-NULL arena.
            arena: if cap == 0 {
                core::ptr::null_mut()
            } else {
                unsafe { (*h.arena).start }
            },
            arena_used: used,
            arena_cap: cap,
        }
    }

    /// Mark `used` arena bytes in use after they were written at the start.
    ///
    /// # Safety
    /// `hdr` passed [`check_in`]; `used` is at most the arena's capacity.
    pub(crate) unsafe fn set_arena_used(hdr: *mut SMsgHdr, used: usize) {
        // SAFETY: validated header; the arena is valid and `used` fits it.
        unsafe {
            let h = &mut *hdr;
            if !h.arena.is_null() && !(*h.arena).start.is_null() {
                let a = &mut *h.arena;
                a.current = a.start.add(used);
            }
        }
    }
}

/// The C bridge compiled against the SDK's headers (feature `sdk-profile`).
#[cfg(feature = "sdk-profile")]
pub(crate) mod bridge {
    use super::{Buffers, MsgInfo};
    use crate::abi::{rcOk, Retcode, SMsgHdr};

    /// `kos_shim_profile_info_t` of the bridge.
    #[repr(C)]
    #[derive(Default)]
    struct Info {
        iid: u16,
        mid: u16,
        kind: u16,
        ncaps: u16,
        const_size: u32,
        arena_size: u32,
    }

    impl From<Info> for MsgInfo {
        fn from(i: Info) -> MsgInfo {
            MsgInfo {
                iid: i.iid,
                mid: i.mid,
                kind: i.kind,
                ncaps: i.ncaps,
                const_size: i.const_size,
                arena_size: i.arena_size,
            }
        }
    }

    extern "C" {
        fn kos_shim_profile_out(h: *const SMsgHdr, info: *mut Info) -> Retcode;
        fn kos_shim_profile_in(h: *const SMsgHdr) -> Retcode;
        fn kos_shim_profile_in_info(h: *const SMsgHdr, info: *mut Info);
        fn kos_shim_profile_buffers(h: *const SMsgHdr, b: *mut Buffers);
        fn kos_shim_profile_set_arena_used(h: *mut SMsgHdr, used: usize);
    }

    /// See `host_layout::check_out`.
    ///
    /// # Safety
    /// `hdr` is NULL or points to an `SMsgHdr` whose buffers, if bound, are readable.
    pub(crate) unsafe fn check_out(hdr: *const SMsgHdr) -> Result<MsgInfo, Retcode> {
        let mut info = Info::default();
        // SAFETY: the bridge checks hdr before reading; info is a valid out-pointer.
        match unsafe { kos_shim_profile_out(hdr, &mut info) } {
            rc if rc == rcOk => Ok(info.into()),
            rc => Err(rc),
        }
    }

    /// See `host_layout::check_in`.
    ///
    /// # Safety
    /// As for [`check_out`].
    pub(crate) unsafe fn check_in(hdr: *const SMsgHdr) -> Result<(), Retcode> {
        // SAFETY: the bridge checks hdr before reading.
        match unsafe { kos_shim_profile_in(hdr) } {
            rc if rc == rcOk => Ok(()),
            rc => Err(rc),
        }
    }

    /// See `host_layout::in_info`.
    ///
    /// # Safety
    /// `hdr` passed [`check_in`] and its buffers are still valid.
    pub(crate) unsafe fn in_info(hdr: *const SMsgHdr) -> MsgInfo {
        let mut info = Info::default();
        // SAFETY: validated header; info is a valid out-pointer.
        unsafe { kos_shim_profile_in_info(hdr, &mut info) };
        info.into()
    }

    /// See `host_layout::buffers`.
    ///
    /// # Safety
    /// `hdr` passed [`check_out`] or [`check_in`] and is still valid.
    pub(crate) unsafe fn buffers(hdr: *const SMsgHdr) -> Buffers {
        let mut b = Buffers {
            msg: core::ptr::null_mut(),
            msg_size: 0,
            arena: core::ptr::null_mut(),
            arena_used: 0,
            arena_cap: 0,
        };
        // SAFETY: validated header; b is a valid out-pointer with the bridge's layout.
        unsafe { kos_shim_profile_buffers(hdr, &mut b) };
        b
    }

    /// See `host_layout::set_arena_used`.
    ///
    /// # Safety
    /// `hdr` passed [`check_in`]; `used` is at most the arena's capacity.
    pub(crate) unsafe fn set_arena_used(hdr: *mut SMsgHdr, used: usize) {
        // SAFETY: the caller's contract.
        unsafe { kos_shim_profile_set_arena_used(hdr, used) }
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

    /// Capacity of the constant-part buffer.
    pub fn const_capacity(&self) -> usize {
        // SAFETY: validated header.
        unsafe { raw::buffers(self.hdr) }.msg_size
    }

    /// Capacity of the arena buffer (0 without one).
    pub fn arena_capacity(&self) -> usize {
        // SAFETY: validated header.
        unsafe { raw::buffers(self.hdr) }.arena_cap
    }

    /// Copy a message into the buffers: the constant part, then the arena
    /// (whose `current` is set to the end of the copied bytes).
    ///
    /// Nothing is written unless both parts fit: a part larger than its
    /// buffer gives `Err(rcBufferTooSmall)`.
    pub fn write(&mut self, constant: &[u8], arena: &[u8]) -> Result<Received, Retcode> {
        // SAFETY: validated header.
        let b = unsafe { raw::buffers(self.hdr) };
        if constant.len() > b.msg_size || arena.len() > b.arena_cap {
            return Err(crate::abi::rcBufferTooSmall);
        }
        // SAFETY: the buffers are writable for their capacities (the caller's
        // contract, checked at construction) and the lengths fit them.
        unsafe {
            core::ptr::copy_nonoverlapping(constant.as_ptr(), b.msg, constant.len());
            if !b.arena.is_null() {
                core::ptr::copy_nonoverlapping(arena.as_ptr(), b.arena, arena.len());
                raw::set_arena_used(self.hdr, arena.len());
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
