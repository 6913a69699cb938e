//! Names learned from the service locator (feature `clib`): which connection
//! a handle belongs to, and which `Entity.endpoint` a RIID names on it.
//!
//! Messages carry numbers only (a handle, an `iid` that is the server's RIID,
//! a `mid`). A program gets its handles and RIIDs from the service locator
//! by name: `ServiceLocatorRegister("conn", ...)` gives a server its handle,
//! `ServiceLocatorConnect("conn")` a client its handle, and
//! `ServiceLocatorGetRiid(handle, "Entity.endpoint")` the RIID to put in
//! requests on that handle. A program linked with the wrap archive and the
//! extra flags `-Wl,--wrap=ServiceLocatorRegister,--wrap=ServiceLocatorConnect,--wrap=ServiceLocatorGetRiid`
//! reaches the wrappers in `src/locator_wrap.c` (an archive member of its
//! own, extracted only by those flags), which forward to the real locator
//! and report what it answered to the `kos_shim_locator_*` functions below.
//!
//! The statistics dump and the trace writers ask this registry next to the
//! `KOS_SHIM_NAMES` map ([`crate::names`]): a learned connection is shown
//! with its handle, a learned endpoint as the interface name
//! ([`method`]). A server handle has no RIIDs of its own; its requests are
//! named by the RIIDs a client of the same connection learned in this
//! process (both ends in one program), numbers otherwise.
//!
//! The table is fixed ([`CONNECTIONS`], [`RIIDS`] entries, names up to
//! [`MAX_NAME`] bytes) behind a small spin lock: no allocation, and the IPC
//! path never looks at it (names are looked up when a dump or a trace line
//! is written). A handle or RIID learned again takes the newer name. What
//! does not fit, or is not a name (see [`Name::new`]), is not learned: it
//! keeps its number, and a full table is said once on stderr.

use core::fmt;
use core::sync::atomic::{AtomicBool, Ordering};

use crate::abi::{nk_iid_t, Handle, INVALID_HANDLE, INVALID_RIID};
use crate::names::NameMap;

/// The longest name learned, in bytes.
pub const MAX_NAME: usize = 96;
/// Handles whose connection can be learned.
pub const CONNECTIONS: usize = 64;
/// (handle, RIID) pairs whose endpoint can be learned.
pub const RIIDS: usize = 128;

/// A learned name: at most [`MAX_NAME`] bytes, stored inline.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Name {
    len: u8,
    bytes: [u8; MAX_NAME],
}

impl Name {
    /// `s` as a name, if it is one: 1 to [`MAX_NAME`] bytes, starting with
    /// a letter or `_`, then letters, digits and `_ . : - /` (what
    /// `KOS_SHIM_NAMES` accepts too, so names never break a text column).
    pub fn new(s: &str) -> Option<Name> {
        let b = s.as_bytes();
        let first_ok = b
            .first()
            .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_');
        let rest_ok = b
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || b"_.:-/".contains(c));
        if !first_ok || !rest_ok || b.len() > MAX_NAME {
            return None;
        }
        let mut bytes = [0u8; MAX_NAME];
        bytes[..b.len()].copy_from_slice(b);
        Some(Name {
            len: b.len() as u8,
            bytes,
        })
    }

    /// The name's text.
    pub fn as_str(&self) -> &str {
        // Only ASCII is ever stored (Name::new), so this never fails.
        core::str::from_utf8(&self.bytes[..self.len as usize]).unwrap_or("")
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

/// Which end of a connection a handle is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// From `ServiceLocatorRegister`.
    Server,
    /// From `ServiceLocatorConnect`.
    Client,
}

#[derive(Clone, Copy)]
struct Connection {
    handle: Handle,
    role: Role,
    name: Name,
}

#[derive(Clone, Copy)]
struct Endpoint {
    handle: Handle,
    riid: nk_iid_t,
    name: Name,
}

struct Table {
    connections: [Option<Connection>; CONNECTIONS],
    endpoints: [Option<Endpoint>; RIIDS],
}

static TABLE: spin::Mutex<Table> = spin::Mutex::new(Table {
    connections: [None; CONNECTIONS],
    endpoints: [None; RIIDS],
});
/// In a forked child (`crate::fork`): a thread of the parent that no
/// longer exists may have held the table's lock (the table stays: the
/// child inherited the parent's connections).
#[cfg(feature = "clib")]
pub(crate) fn fork_child() {
    if TABLE.is_locked() {
        // SAFETY: the child has one thread, this one, which is not inside
        // the locator's code; the holder is gone.
        unsafe { TABLE.force_unlock() };
    }
}

/// Whether anything was ever learned: until then lookups take no lock.
static ANY: AtomicBool = AtomicBool::new(false);
/// The "table full" message was said.
static FULL_SAID: AtomicBool = AtomicBool::new(false);

fn full(what: &str) {
    if !FULL_SAID.swap(true, Ordering::Relaxed) {
        crate::say!(
            crate::say::Level::Warn,
            "service locator names: the table of {what} is full; later ones are shown as numbers"
        );
    }
}

/// Put `value` in the slot `same` picks, or the first free one; false when full.
fn put<T: Copy>(slots: &mut [Option<T>], value: T, same: impl Fn(&T) -> bool) -> bool {
    let slot = match slots.iter().position(|s| s.as_ref().is_some_and(&same)) {
        Some(i) => Some(i),
        None => slots.iter().position(Option::is_none),
    };
    match slot {
        Some(i) => {
            slots[i] = Some(value);
            true
        }
        None => false,
    }
}

/// Learn that `handle` is the `role` end of connection `connection`.
/// False (nothing learned) for `INVALID_HANDLE`, a name [`Name::new`]
/// refuses, or a full table.
pub fn learn_connection(handle: Handle, role: Role, connection: &str) -> bool {
    let Some(name) = Name::new(connection) else {
        return false;
    };
    if handle == INVALID_HANDLE {
        return false;
    }
    let c = Connection { handle, role, name };
    let ok = put(&mut TABLE.lock().connections, c, |o| o.handle == handle);
    if ok {
        ANY.store(true, Ordering::Release);
    } else {
        full("connections");
    }
    ok
}

/// Learn that RIID `riid` on `handle` is endpoint `endpoint`
/// (`Entity.endpoint`). False (nothing learned) for `INVALID_RIID`, a name
/// [`Name::new`] refuses, or a full table.
pub fn learn_riid(handle: Handle, riid: nk_iid_t, endpoint: &str) -> bool {
    let Some(name) = Name::new(endpoint) else {
        return false;
    };
    if riid == INVALID_RIID {
        return false;
    }
    let e = Endpoint { handle, riid, name };
    let ok = put(&mut TABLE.lock().endpoints, e, |o| {
        o.handle == handle && o.riid == riid
    });
    if ok {
        ANY.store(true, Ordering::Release);
    } else {
        full("endpoints");
    }
    ok
}

/// The connection `handle` belongs to, and its end, if learned.
pub fn connection(handle: Handle) -> Option<(Name, Role)> {
    if !ANY.load(Ordering::Acquire) {
        return None;
    }
    let t = TABLE.lock();
    t.connections
        .iter()
        .flatten()
        .find(|c| c.handle == handle)
        .map(|c| (c.name, c.role))
}

/// The endpoint RIID `iid` names on `handle`: learned on that handle, or
/// else on another handle of the same connection (a server handle gets the
/// names its clients in this process learned).
pub fn interface(handle: Handle, iid: nk_iid_t) -> Option<Name> {
    if !ANY.load(Ordering::Acquire) {
        return None;
    }
    let t = TABLE.lock();
    if let Some(e) = t
        .endpoints
        .iter()
        .flatten()
        .find(|e| e.handle == handle && e.riid == iid)
    {
        return Some(e.name);
    }
    let conn = t
        .connections
        .iter()
        .flatten()
        .find(|c| c.handle == handle)?
        .name;
    t.endpoints
        .iter()
        .flatten()
        .filter(|e| e.riid == iid)
        .find(|e| {
            t.connections
                .iter()
                .flatten()
                .any(|c| c.handle == e.handle && c.name == conn)
        })
        .map(|e| e.name)
}

/// The method of a call on `handle`, named as [`NameMap::method_at`] says:
/// the endpoint learned from the service locator first, else the map's
/// names, else numbers.
pub fn method(names: &NameMap, handle: Handle, iid: u16, mid: u16) -> Method<'_> {
    Method {
        learned: interface(handle, iid),
        names,
        iid,
        mid,
    }
}

/// A call's method with the endpoint name learned for its handle, if any
/// (held by value: the registry's names live behind its lock).
#[derive(Clone, Copy)]
pub struct Method<'a> {
    learned: Option<Name>,
    names: &'a NameMap,
    iid: u16,
    mid: u16,
}

impl Method<'_> {
    /// The naming of this call (borrowing the learned name).
    pub fn name(&self) -> crate::names::MethodName<'_> {
        self.names
            .method_at(self.learned.as_ref().map(Name::as_str), self.iid, self.mid)
    }

    /// Whether any part has a name (learned or from the map).
    pub fn is_named(&self) -> bool {
        self.name().is_named()
    }

    /// The endpoint's or interface's name, if any.
    pub fn interface(&self) -> Option<&str> {
        self.name().endpoint()
    }
}

impl fmt::Display for Method<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.name())
    }
}

/// What `ServiceLocatorRegister(connection, ...)` answered: `handle`, the
/// server end of `connection` (`INVALID_HANDLE`: nothing to learn). Called
/// by the wrapper in `src/locator_wrap.c`, after the real locator.
///
/// # Safety
/// `connection` is NULL or a NUL-terminated string, valid for the call.
#[cfg(feature = "wrap")]
#[no_mangle]
pub unsafe extern "C" fn kos_shim_locator_registered(
    connection: *const core::ffi::c_char,
    handle: Handle,
) {
    crate::ffi::boundary_or((), || {
        // SAFETY: NULL or a C string valid for this call, per the contract.
        if let Some(c) = unsafe { crate::ffi::c_str(connection) } {
            learn_connection(handle, Role::Server, c);
        }
    })
}

/// What `ServiceLocatorConnect(connection)` answered: `handle`, the client
/// end of `connection` (`INVALID_HANDLE`: nothing to learn). Called by the
/// wrapper in `src/locator_wrap.c`, after the real locator.
///
/// # Safety
/// `connection` is NULL or a NUL-terminated string, valid for the call.
#[cfg(feature = "wrap")]
#[no_mangle]
pub unsafe extern "C" fn kos_shim_locator_connected(
    connection: *const core::ffi::c_char,
    handle: Handle,
) {
    crate::ffi::boundary_or((), || {
        // SAFETY: NULL or a C string valid for this call, per the contract.
        if let Some(c) = unsafe { crate::ffi::c_str(connection) } {
            learn_connection(handle, Role::Client, c);
        }
    })
}

/// What `ServiceLocatorGetRiid(handle, endpoint)` answered: `riid`
/// (`INVALID_RIID`: nothing to learn). Called by the wrapper in
/// `src/locator_wrap.c`, after the real locator.
///
/// # Safety
/// `endpoint` is NULL or a NUL-terminated string, valid for the call.
#[cfg(feature = "wrap")]
#[no_mangle]
pub unsafe extern "C" fn kos_shim_locator_riid(
    handle: Handle,
    endpoint: *const core::ffi::c_char,
    riid: nk_iid_t,
) {
    crate::ffi::boundary_or((), || {
        // SAFETY: NULL or a C string valid for this call, per the contract.
        if let Some(e) = unsafe { crate::ffi::c_str(endpoint) } {
            learn_riid(handle, riid, e);
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    // Handles no other test uses: the registry is process-wide.
    const SERVER: Handle = 0x7E57_0001;
    const CLIENT: Handle = 0x7E57_0002;
    const OTHER: Handle = 0x7E57_0003;

    #[test]
    fn learns_connections_and_endpoints_and_names_methods() {
        let mut names = NameMap::new();
        names.insert_iid(0x7E5, "FromFile").unwrap();
        names.insert_mid(0x7E5, 1, "Ping").unwrap();
        assert!(learn_connection(SERVER, Role::Server, "test_connection"));
        assert!(learn_connection(CLIENT, Role::Client, "test_connection"));
        assert!(learn_riid(CLIENT, 0x7E5, "Server.main"));
        assert_eq!(
            connection(CLIENT).map(|(n, r)| (n.to_string(), r)),
            Some(("test_connection".to_string(), Role::Client))
        );
        // The client's own RIID, and through the connection the server's.
        assert_eq!(
            method(&names, CLIENT, 0x7E5, 1).to_string(),
            "Server.main.Ping"
        );
        assert_eq!(
            method(&names, SERVER, 0x7E5, 2).to_string(),
            "Server.main.2"
        );
        // Elsewhere: the file's names, then numbers.
        assert_eq!(method(&names, OTHER, 0x7E5, 2).to_string(), "FromFile.2");
        assert_eq!(method(&names, CLIENT, 0x7E6, 2).to_string(), "2022.2");
        assert!(!method(&names, CLIENT, 0x7E6, 2).is_named());
        assert_eq!(connection(OTHER), None);
        // Learned again: the newer name.
        assert!(learn_riid(CLIENT, 0x7E5, "Server.other"));
        assert_eq!(
            interface(SERVER, 0x7E5).map(|n| n.to_string()),
            Some("Server.other".to_string())
        );
    }

    #[test]
    fn refuses_what_is_not_a_name_or_a_result() {
        assert!(!learn_connection(INVALID_HANDLE, Role::Client, "c"));
        assert!(!learn_connection(OTHER, Role::Client, "has space"));
        assert!(!learn_connection(OTHER, Role::Client, ""));
        assert!(!learn_riid(OTHER, INVALID_RIID, "Server.main"));
        let long = "x".repeat(MAX_NAME + 1);
        assert!(!learn_riid(OTHER, 1, &long));
        assert!(Name::new(&long[1..]).is_some());
        assert_eq!(connection(OTHER), None);
        assert_eq!(interface(OTHER, 1), None);
    }
}
