//! A backend given at run time as a table of five C function pointers.
//!
//! `kos_shim_set_backend` lets C (or Rust) code replace the layer the shim
//! forwards to — a test double, a recorder, another kernel interface —
//! without relinking. The table is copied, so the caller's struct may be a
//! temporary; the functions it points to must stay callable for the life of
//! the process (a call may still be running in an older table).

use crate::abi::{rcInvalidArgument, rcOk, rtl_uint32_t, Handle, Retcode, SMsgHdr};
use crate::backend::{self, Args, Backend, MAX_BACKENDS};
use crate::ffi::boundary;
use crate::op::Op;

/// The five system calls of a backend, with the SDK's C signatures.
///
/// Every entry must be non-NULL. The shim calls them with the caller's own
/// header pointers after validation and policy; the return value goes back to
/// the caller unchanged.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
#[allow(non_camel_case_types, non_snake_case)]
pub struct kos_shim_backend {
    /// Reached by `Call`.
    pub call: Option<
        unsafe extern "C" fn(
            handle: Handle,
            msgOut: *const SMsgHdr,
            msgIn: *mut SMsgHdr,
        ) -> Retcode,
    >,
    /// Reached by `CallEx`.
    pub call_ex: Option<
        unsafe extern "C" fn(
            handle: Handle,
            msgOut: *const SMsgHdr,
            msgIn: *mut SMsgHdr,
            mdelay: rtl_uint32_t,
            syncHandle: Handle,
        ) -> Retcode,
    >,
    /// Reached by `Recv`.
    pub recv: Option<unsafe extern "C" fn(handle: Handle, msgIn: *mut SMsgHdr) -> Retcode>,
    /// Reached by `RecvEx`.
    pub recv_ex: Option<
        unsafe extern "C" fn(
            handle: Handle,
            msgIn: *mut SMsgHdr,
            mdelay: rtl_uint32_t,
            syncHandle: Handle,
        ) -> Retcode,
    >,
    /// Reached by `Reply`.
    pub reply: Option<unsafe extern "C" fn(handle: Handle, msgOut: *const SMsgHdr) -> Retcode>,
}

/// A validated copy of a [`kos_shim_backend`]: every entry present.
#[derive(Clone, Copy)]
struct Table {
    call: unsafe extern "C" fn(Handle, *const SMsgHdr, *mut SMsgHdr) -> Retcode,
    call_ex: unsafe extern "C" fn(Handle, *const SMsgHdr, *mut SMsgHdr, u32, Handle) -> Retcode,
    recv: unsafe extern "C" fn(Handle, *mut SMsgHdr) -> Retcode,
    recv_ex: unsafe extern "C" fn(Handle, *mut SMsgHdr, u32, Handle) -> Retcode,
    reply: unsafe extern "C" fn(Handle, *const SMsgHdr) -> Retcode,
}

impl Table {
    fn from_c(t: &kos_shim_backend) -> Option<Table> {
        Some(Table {
            call: t.call?,
            call_ex: t.call_ex?,
            recv: t.recv?,
            recv_ex: t.recv_ex?,
            reply: t.reply?,
        })
    }
}

impl Backend for Table {
    fn forward(&self, op: Op, args: &mut Args<'_>) -> Retcode {
        let (out, inp) = backend::raw_headers(args);
        let (h, mdelay, sync) = (args.handle, args.mdelay, args.sync);
        // SAFETY: the registrant promised five callable functions with the
        // SDK signatures; the header pointers are the caller's own, validated
        // and valid for the duration of the call.
        unsafe {
            match op {
                Op::Call => (self.call)(h, out, inp),
                Op::CallEx => (self.call_ex)(h, out, inp, mdelay, sync),
                Op::Recv => (self.recv)(h, inp),
                Op::RecvEx => (self.recv_ex)(h, inp, mdelay, sync),
                Op::Reply => (self.reply)(h, out),
            }
        }
    }

    fn name(&self) -> &'static str {
        "table"
    }
}

/// Copies of installed tables; a slot is written once and never reused, so a
/// call still running in an old table is safe.
static TABLES: [spin::Once<Table>; MAX_BACKENDS] = [const { spin::Once::new() }; MAX_BACKENDS];
static NEXT_TABLE: spin::Mutex<usize> = spin::Mutex::new(0);

/// Install a copy of `table` (Rust callers: see [`backend::set_backend`]).
fn install(table: Table) -> Retcode {
    // Installing is rare; the mutex only orders installers, never callers.
    let stored: &'static Table = {
        let mut next = NEXT_TABLE.lock();
        if *next >= MAX_BACKENDS {
            return crate::abi::rcOutOfMemory;
        }
        let slot = &TABLES[*next];
        *next += 1;
        slot.call_once(|| table)
    };
    match backend::set_backend(stored) {
        Ok(()) => rcOk,
        Err(rc) => rc,
    }
}

/// Replace the layer the shim forwards to with five C functions.
///
/// `table` is copied; the functions must stay callable for the life of the
/// process. `NULL` goes back to the build's default backend (the host
/// emulator, or the real kernel in a `--wrap` build). Returns rcOk;
/// rcInvalidArgument when an entry is NULL (nothing changes); rcOutOfMemory
/// once the process's 16 backend slots are used up (slots are never reused,
/// so that a call still running in an older table stays safe).
///
/// # Safety
/// `table` is NULL or points to a readable `struct kos_shim_backend` whose
/// non-NULL entries are functions with the declared signatures.
#[no_mangle]
pub unsafe extern "C" fn kos_shim_set_backend(table: *const kos_shim_backend) -> Retcode {
    boundary(|| {
        if table.is_null() {
            backend::reset_backend();
            return rcOk;
        }
        // SAFETY: non-NULL and readable per the caller's contract; copied at once.
        let t = unsafe { *table };
        match Table::from_c(&t) {
            Some(t) => install(t),
            None => rcInvalidArgument,
        }
    })
}
