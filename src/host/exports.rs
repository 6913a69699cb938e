//! The emulator's own C API: channels, names, sync objects, handle closing.
#![allow(non_snake_case)]

use core::ffi::{c_char, CStr};
use std::sync::Arc;

use std::sync::atomic::{AtomicBool, Ordering};

use crate::abi::{rcFail, rcInvalidArgument, rcOk, Handle, Retcode};
use crate::ffi::boundary;
use crate::say::Level;

use super::channel::Channel;
use super::handles::{self, Object};
use super::names;
use super::sync::SyncObject;
use super::world::World;

/// Write `h` through `out` (checked non-NULL and aligned by the caller).
///
/// # Safety
/// `out` is non-NULL, aligned and writable.
unsafe fn put(out: *mut Handle, h: Handle) -> Retcode {
    // SAFETY: the caller's contract.
    unsafe { out.write(h) };
    rcOk
}

fn writable(out: *mut Handle) -> bool {
    !out.is_null() && (out as usize).is_multiple_of(core::mem::align_of::<Handle>())
}

/// The bytes of a non-empty C string, or `None`.
///
/// # Safety
/// `s` is NULL or points to a NUL-terminated string.
unsafe fn name<'a>(s: *const c_char) -> Option<&'a [u8]> {
    if s.is_null() {
        return None;
    }
    // SAFETY: non-NULL and NUL-terminated per the caller's contract.
    let bytes = unsafe { CStr::from_ptr(s) }.to_bytes();
    (!bytes.is_empty()).then_some(bytes)
}

/// The world of `KOS_HOST_WORLD`, if set; rcFail (reported once) when it
/// cannot be attached.
fn world() -> Result<Option<&'static World>, Retcode> {
    static REPORTED: AtomicBool = AtomicBool::new(false);
    World::attach_from_env().map_err(|why| {
        if !REPORTED.swap(true, Ordering::Relaxed) {
            crate::say!(
                Level::Error,
                "{why}; kos_host_server_register and kos_host_connect fail"
            );
        }
        rcFail
    })
}

/// Create an IPC channel: `*client` receives a handle for Call/CallEx,
/// `*server` one for Recv/RecvEx/Reply (host emulator only).
///
/// Returns rcOk; rcInvalidArgument for a NULL pointer; rcOutOfMemory when the
/// handle table (4096 handles) is full. Close both with `KnHandleClose`.
///
/// # Safety
/// `client` and `server` are NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn kos_host_channel_create(
    client: *mut Handle,
    server: *mut Handle,
) -> Retcode {
    boundary(|| {
        if !writable(client) || !writable(server) {
            return rcInvalidArgument;
        }
        let ch = Channel::new();
        let s = match handles::insert(Object::Server(Arc::clone(&ch))) {
            Ok(h) => h,
            Err(rc) => return rc,
        };
        let c = match handles::insert(Object::Client(ch)) {
            Ok(h) => h,
            Err(rc) => {
                if let Ok(Object::Server(ch)) = handles::remove(s) {
                    ch.close();
                }
                return rc;
            }
        };
        // SAFETY: both checked non-NULL and aligned; writable per the contract.
        unsafe {
            put(client, c);
            put(server, s)
        }
    })
}

/// Register the NUL-terminated `name` (the host stand-in for the name
/// server): creates a channel and stores its server handle in `*server`.
///
/// Returns rcOk; rcInvalidArgument for NULL arguments or an empty name;
/// rcBusy when an open channel already has that name (a name is free again
/// once its server handle is closed); rcOutOfMemory when the handle table is
/// full.
///
/// With `KOS_HOST_WORLD` set, `name` is a connection id and the channel
/// (`KOS_HOST_ENTITY`, `name`) is opened in that world, shared with other
/// processes (docs/emulator.md, "Processes: a world in shared memory"): the same
/// codes, rcInvalidArgument also for a name longer than 63 bytes or not
/// UTF-8, rcBusy only while a live process holds the name, rcOutOfMemory
/// also when the world's 256 channels are taken, rcFail when the world
/// cannot be attached (said once on stderr).
///
/// # Safety
/// `name` is NULL or a NUL-terminated string; `server` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn kos_host_server_register(
    name: *const c_char,
    server: *mut Handle,
) -> Retcode {
    boundary(|| {
        // SAFETY: the caller's contract.
        let Some(n) = (unsafe { self::name(name) }) else {
            return rcInvalidArgument;
        };
        if !writable(server) {
            return rcInvalidArgument;
        }
        let registered = match world() {
            Ok(Some(w)) => match core::str::from_utf8(n) {
                Ok(id) => w.register(id),
                Err(_) => Err(rcInvalidArgument),
            },
            Ok(None) => names::register(n),
            Err(rc) => Err(rc),
        };
        match registered {
            // SAFETY: checked non-NULL and aligned; writable per the contract.
            Ok(h) => unsafe { put(server, h) },
            Err(rc) => rc,
        }
    })
}

/// Connect to the channel registered as `name`: `*client` receives a new
/// client handle on it (each connect gives a distinct handle).
///
/// Returns rcOk; rcInvalidArgument for NULL arguments or an empty name;
/// rcNotConnected when no open channel has that name; rcOutOfMemory when the
/// handle table is full.
///
/// With `KOS_HOST_WORLD` set, `name` is a connection id: listed in
/// `KOS_HOST_CONNECTIONS` (`name=entity`), the channel (entity, `name`) is
/// waited for until a live process registers it, up to
/// `KOS_HOST_CONNECT_TIMEOUT_MS` (default 5000; then rcNotConnected); not
/// listed, it names a channel of this process's own entity, looked up once.
/// rcFail when the world cannot be attached (said once on stderr).
///
/// # Safety
/// `name` is NULL or a NUL-terminated string; `client` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn kos_host_connect(name: *const c_char, client: *mut Handle) -> Retcode {
    boundary(|| {
        // SAFETY: the caller's contract.
        let Some(n) = (unsafe { self::name(name) }) else {
            return rcInvalidArgument;
        };
        if !writable(client) {
            return rcInvalidArgument;
        }
        let connected = match world() {
            Ok(Some(w)) => match core::str::from_utf8(n) {
                Ok(id) => w.connect(id),
                Err(_) => Err(rcInvalidArgument),
            },
            Ok(None) => names::connect(n),
            Err(rc) => Err(rc),
        };
        match connected {
            // SAFETY: checked non-NULL and aligned; writable per the contract.
            Ok(h) => unsafe { put(client, h) },
            Err(rc) => rc,
        }
    })
}

/// Diagnostics for tests and tools: the number of requests queued on the
/// channel of `handle` (a client or server handle) that no server has
/// received yet, and the number of server threads waiting in Recv/RecvEx.
/// Either out-pointer may be NULL.
///
/// Returns rcOk, or rcInvalidArgument if `handle` is not an open channel handle.
///
/// # Safety
/// `queued` and `waiting` are NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn kos_host_channel_info(
    handle: Handle,
    queued: *mut usize,
    waiting: *mut usize,
) -> Retcode {
    boundary(|| {
        let (q, w) = match handles::get(handle) {
            Some(Object::Client(ch) | Object::Server(ch)) => ch.counts(),
            Some(Object::World(port)) => port.counts(),
            _ => return rcInvalidArgument,
        };
        // SAFETY: each pointer is NULL (skipped) or writable per the contract.
        unsafe {
            if !queued.is_null() {
                queued.write_unaligned(q);
            }
            if !waiting.is_null() {
                waiting.write_unaligned(w);
            }
        }
        rcOk
    })
}

/// Create an IPC synchronization object in the "don't interrupt" state;
/// its handle goes to `*out`. Pass it as `syncHandle` to CallEx/RecvEx;
/// delete it with `KnHandleClose`.
///
/// Returns rcOk; rcInvalidArgument for NULL `out`; rcOutOfMemory when the
/// handle table is full.
///
/// # Safety
/// `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn KnIpcCreateSyncObject(out: *mut Handle) -> Retcode {
    boundary(|| {
        if !writable(out) {
            return rcInvalidArgument;
        }
        match handles::insert(Object::Sync(Arc::new(SyncObject::new()))) {
            // SAFETY: checked non-NULL and aligned; writable per the contract.
            Ok(h) => unsafe { put(out, h) },
            Err(rc) => rc,
        }
    })
}

/// Set the interrupt of the sync object `handle`: CallEx calls whose request
/// no server has received yet, and RecvEx calls waiting for a request, that
/// use it return rcIpcInterrupt at once; so do later ones until it is
/// cleared. Returns rcOk, or rcInvalidArgument if `handle` is not a sync
/// object.
#[no_mangle]
pub extern "C" fn KnIpcSetInterrupt(handle: Handle) -> Retcode {
    boundary(|| match handles::get(handle) {
        Some(Object::Sync(s)) => {
            s.set();
            rcOk
        }
        _ => rcInvalidArgument,
    })
}

/// Clear the interrupt of the sync object `handle`. Returns rcOk, or
/// rcInvalidArgument if `handle` is not a sync object.
#[no_mangle]
pub extern "C" fn KnIpcClearInterrupt(handle: Handle) -> Retcode {
    boundary(|| match handles::get(handle) {
        Some(Object::Sync(s)) => {
            s.clear();
            rcOk
        }
        _ => rcInvalidArgument,
    })
}

/// Close any handle. Later use of the value gives rcInvalidArgument.
///
/// Closing a channel's server handle disconnects the channel: waiting and
/// later Call/CallEx on it return rcNotConnected, requests queued or received
/// but not yet answered complete with rcNotConnected, and Recv/RecvEx waiting
/// on it return rcNotConnected (in every process, for a world channel); its
/// registered name becomes free. Closing a client handle affects only that
/// handle (a call already in progress on it runs to its end). Closing a
/// sync object does not interrupt its waiters.
///
/// Returns rcOk, or rcInvalidArgument if `handle` is not an open handle.
#[no_mangle]
pub extern "C" fn KnHandleClose(handle: Handle) -> Retcode {
    boundary(|| match handles::remove(handle) {
        Ok(Object::Server(ch)) => {
            ch.close();
            names::forget(&ch);
            rcOk
        }
        Ok(Object::World(port)) => {
            port.close();
            rcOk
        }
        Ok(_) => rcOk,
        Err(rc) => rc,
    })
}
