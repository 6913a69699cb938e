//! The service locator on the emulator (`<coresrv/sl/sl_api.h>`):
//! `ServiceLocatorRegister`, `ServiceLocatorConnect`, `ServiceLocatorGetRiid`
//! as KasperskyOS components call them.
//!
//! On KasperskyOS, Einit creates the connections `init.yaml` lists; a server
//! takes its end with `ServiceLocatorRegister("conn", NULL, 0, &id)`, a client
//! its end with `ServiceLocatorConnect("conn")`, and the RIID to put in its
//! requests with `ServiceLocatorGetRiid(handle, "Entity.endpoint")`
//! (shared/kos-abi.md, "Ids and generated names"). Here a connection is the
//! emulator's named channel (`kos_host_server_register` /
//! `kos_host_connect`, in this process or, under `kos-host-run`, between
//! processes), so:
//!
//! - Register gives the server handle of the channel named `conn`
//!   (`INVALID_HANDLE` if the name is taken or the arguments are bad); `*id`,
//!   if given, gets a number for the service (its handle).
//! - Connect gives a new client handle on it. A client may ask before its
//!   server registered (on KasperskyOS the connection exists from the
//!   start): Connect waits for the name up to `KOS_HOST_CONNECT_TIMEOUT_MS`
//!   (default 5000), then gives `INVALID_HANDLE`.
//! - GetRiid answers from the interface descriptions: the endpoint
//!   `Entity.endpoint` (entity by short or qualified name, `comp.ep` for a
//!   component's endpoint) of the entities `KOS_SHIM_EDL` loads, or else of
//!   the entity found by its qualified name in `KOS_SHIM_IDL_PATH`
//!   (`echo.Server.main` → `echo/Server.edl`, endpoint `main`). Its RIID is
//!   the endpoint's index in that entity (see [`crate::idl::load`]).
//!   `INVALID_RIID` for an unknown endpoint or a handle that is not a client
//!   handle.
//!
//! What each call answered is also told to [`crate::locator`], so traces
//! and statistics name the connection and the endpoint, as with the
//! locator wrappers of the wrap archive.

use core::ffi::{c_char, c_void};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::abi::{nk_iid_t, rcOk, rtl_size_t, Handle, INVALID_HANDLE, INVALID_RIID};
use crate::ffi::{boundary_or, c_str};
use crate::idl::model::Schema;

use super::exports::{kos_host_connect, kos_host_server_register};
use super::handles::End;

/// How long Connect waits for a server to register, by default.
const CONNECT_WAIT_MS: u64 = 5000;

/// The server end of `connection`; `*id`, if not NULL, gets the service's
/// number. `services` and `count` (whose SDK types are not public) are not
/// read. `INVALID_HANDLE` when `connection` is NULL or empty, already
/// registered, or the handle table is full.
///
/// # Safety
/// `connection` is NULL or a NUL-terminated string; `id` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ServiceLocatorRegister(
    connection: *const c_char,
    services: *const c_void,
    count: rtl_size_t,
    id: *mut u32,
) -> Handle {
    let _ = (services, count);
    boundary_or(INVALID_HANDLE, || {
        let mut h = INVALID_HANDLE;
        // SAFETY: `connection` per the caller's contract; `h` is writable.
        if unsafe { kos_host_server_register(connection, &mut h) } != rcOk {
            return INVALID_HANDLE;
        }
        if !id.is_null() && id.is_aligned() {
            // SAFETY: non-NULL, aligned, writable per the contract.
            unsafe { id.write(h) };
        }
        // SAFETY: as above; the registration just read it.
        if let Some(c) = unsafe { c_str(connection) } {
            crate::locator::learn_connection(h, crate::locator::Role::Server, c);
        }
        h
    })
}

/// A new client handle on `connection`, waiting up to
/// `KOS_HOST_CONNECT_TIMEOUT_MS` for its server to register;
/// `INVALID_HANDLE` when it does not, or for a NULL or empty name.
///
/// # Safety
/// `connection` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn ServiceLocatorConnect(connection: *const c_char) -> Handle {
    boundary_or(INVALID_HANDLE, || {
        // SAFETY: the caller's contract.
        let Some(name) = (unsafe { c_str(connection) }) else {
            return INVALID_HANDLE;
        };
        if name.is_empty() {
            return INVALID_HANDLE;
        }
        let deadline = Instant::now() + Duration::from_millis(connect_wait_ms());
        loop {
            let mut h = INVALID_HANDLE;
            // SAFETY: `connection` is a valid C string (read above); `h` is writable.
            if unsafe { kos_host_connect(connection, &mut h) } == rcOk {
                crate::locator::learn_connection(h, crate::locator::Role::Client, name);
                return h;
            }
            if Instant::now() >= deadline {
                return INVALID_HANDLE;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    })
}

/// The RIID of `endpoint` (`Entity.endpoint`) for requests on the client
/// handle `handle`; `INVALID_RIID` when the descriptions do not have the
/// endpoint or `handle` is not a client handle.
///
/// # Safety
/// `endpoint` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn ServiceLocatorGetRiid(
    handle: Handle,
    endpoint: *const c_char,
) -> nk_iid_t {
    boundary_or(INVALID_RIID, || {
        // SAFETY: the caller's contract.
        let Some(name) = (unsafe { c_str(endpoint) }) else {
            return INVALID_RIID;
        };
        if !matches!(super::handles::channel(handle), Some((End::Client, _))) {
            return INVALID_RIID;
        }
        let Some(riid) = riid_of(name) else {
            return INVALID_RIID;
        };
        crate::locator::learn_riid(handle, riid, name);
        riid
    })
}

/// Entities GetRiid loaded by name (beside the process's name map).
static LOADED: Mutex<Schema> = Mutex::new(Schema::new());

/// The RIID `Entity.endpoint` has: in the loaded descriptions, else in the
/// entity found by name under `KOS_SHIM_IDL_PATH` (remembered for later
/// questions, which may then use the entity's short name).
fn riid_of(endpoint: &str) -> Option<u16> {
    if let Some((riid, _)) = crate::names::global().schema().endpoint_named(endpoint) {
        return Some(riid);
    }
    let mut loaded = super::lock(&LOADED);
    if let Some((riid, _)) = loaded.endpoint_named(endpoint) {
        return Some(riid);
    }
    let dirs = crate::sys::env("KOS_SHIM_IDL_PATH").unwrap_or("");
    // The entity is a prefix of the name: try the longest first
    // (`a.b.Server.comp.ep`: `a.b.Server.comp`, `a.b.Server`, ...).
    let mut cut = endpoint.len();
    while let Some(dot) = endpoint[..cut].rfind('.') {
        let entity = &endpoint[..dot];
        if let Ok(schema) = crate::names::describe([entity], crate::names::idl_path(dirs)) {
            if let Some((riid, _)) = schema.endpoint_named(endpoint) {
                loaded.merge(schema);
                return Some(riid);
            }
        }
        cut = dot;
    }
    None
}

fn connect_wait_ms() -> u64 {
    crate::sys::env("KOS_HOST_CONNECT_TIMEOUT_MS")
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(CONNECT_WAIT_MS)
}
