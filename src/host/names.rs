//! Named channels: `kos_host_server_register` / `kos_host_connect`.
//!
//! The host stand-in for the KasperskyOS name server: a server registers a
//! name and receives the server handle of a new channel; clients connect by
//! name and receive a new client handle on it. A name is free again once its
//! server handle is closed.

use std::sync::{Arc, Mutex};

use crate::abi::{rcBusy, rcNotConnected, Handle, Retcode};

use super::channel::Channel;
use super::handles::{self, Object};

/// A registered name and its channel.
type Entry = (Box<[u8]>, Arc<Channel>);

static NAMES: Mutex<Vec<Entry>> = Mutex::new(Vec::new());

/// Register `name` with a new channel; returns its server handle.
/// rcBusy if the name is taken, rcOutOfMemory if the handle table is full.
pub(crate) fn register(name: &[u8]) -> Result<Handle, Retcode> {
    let mut names = super::lock(&NAMES);
    if names.iter().any(|(n, ch)| &**n == name && !ch.is_closed()) {
        return Err(rcBusy);
    }
    let ch = Channel::new();
    let server = handles::insert(Object::Server(Arc::clone(&ch)))?;
    names.retain(|(_, ch)| !ch.is_closed());
    names.push((name.into(), ch));
    Ok(server)
}

/// A new client handle on the channel registered as `name`; rcNotConnected
/// if no open channel has that name.
pub(crate) fn connect(name: &[u8]) -> Result<Handle, Retcode> {
    let names = super::lock(&NAMES);
    let ch = names
        .iter()
        .find(|(n, ch)| &**n == name && !ch.is_closed())
        .map(|(_, ch)| Arc::clone(ch))
        .ok_or(rcNotConnected)?;
    handles::insert(Object::Client(ch))
}

/// Forget the name of a channel whose server end was closed.
pub(crate) fn forget(ch: &Channel) {
    super::lock(&NAMES).retain(|(_, c)| c.id() != ch.id());
}
