//! Channels between processes: the emulator's "world", a shared-memory
//! region every process of one solution maps, so each KasperskyOS entity
//! can run as a Linux process of its own.
//!
//! # Joining a world
//!
//! A process joins through its environment ([`World::attach_from_env`]):
//!
//! | variable | meaning |
//! |---|---|
//! | `KOS_HOST_WORLD=<name>` | the world: `/dev/shm/<name>`, created (`shm_open(O_CREAT)`, mode 0600) and sized by whichever process attaches first. Unset: everything stays in-process. |
//! | `KOS_HOST_ENTITY=<entity>` | this process's entity name (e.g. `echo.Server`); default: the program's file name |
//! | `KOS_HOST_CONNECTIONS=<id>=<entity>,...` | its client connections (from init.yaml): connection id → the entity serving it |
//! | `KOS_HOST_CONNECT_TIMEOUT_MS=<ms>` | how long a connect waits for a listed server to register (default 5000) |
//!
//! [`World::register`] (server side) opens the channel named (this entity,
//! connection id); [`World::connect`] (client side) finds the channel
//! (target entity, connection id) for a connection listed in
//! `KOS_HOST_CONNECTIONS`, waiting for it to be registered. An id that is
//! not listed names a channel of this process's own entity, found only if
//! already registered. `kos_host_server_register` / `kos_host_connect` go
//! to the world whenever `KOS_HOST_WORLD` is set, so SDK-style programs
//! run unchanged when split into processes. The handles are ordinary
//! emulator handles: Call, CallEx, Recv, RecvEx, Reply and KnHandleClose
//! work on them with the in-process semantics (see `host`).
//!
//! # Layout and capacities
//!
//! Fixed arrays of atomics, all zero in a fresh region (`layout`):
//! [`PROCS`] = 64 processes attached at once, [`CHANNELS`] = 256 channels,
//! [`CALLS_PER_PROC`] = 16 calls in progress per process (one more returns
//! rcOutOfMemory), [`SLOT_BYTES`] = 128 KiB of message per call (the
//! constant part rounded up to 8 bytes, plus the arena bytes; a larger
//! request or response returns rcBufferTooLarge, to the caller and to the
//! replying server, and nothing is copied), names of up to [`NAME_MAX`] =
//! 63 bytes. The region is about 128 MiB of address space ([`WORLD_BYTES`]);
//! tmpfs allocates only the pages messages touch.
//!
//! # Protocol
//!
//! No locks but one (the registry's, for register and close), only atomic
//! state words changed by compare-and-swap, so a process killed at any
//! instant leaves nothing held:
//!
//! - A **call** uses one of its process's call slots. The caller writes the
//!   request into the slot, takes a ticket from the channel's counter and
//!   moves the slot's word `(gen, IDLE)` → `(gen + 1, QUEUED)`, then bumps
//!   the channel's `posted` futex. A receiver takes the QUEUED slot of its
//!   channel with the lowest ticket (FIFO) by `QUEUED → RECEIVING`, copies
//!   the request into its buffers and moves on to `RECEIVED`; Reply takes
//!   `RECEIVED → REPLYING`, writes the response and ends in `DONE`; the
//!   caller copies the response out and returns the slot to `IDLE`. The
//!   caller withdraws (timeout, interrupt, channel gone) by a CAS from
//!   QUEUED or RECEIVED; it never leaves while a server copies (RECEIVING,
//!   REPLYING) unless that server's process is dead. Every step that
//!   changes the word for the other side bumps the slot's `bell` futex.
//! - A **channel** is open while its word `(gen, index, owner, owner gen,
//!   OPEN)` is unchanged; ports and requests keep that word, so a closed or
//!   taken-over channel (new generation) is never mistaken for theirs.
//!   Closing CASes the word to FREE and wakes every receiver and every
//!   caller with a request on it; the callers see the word changed and
//!   return rcNotConnected.
//! - The **registry lock** names its holder; a waiter that finds the holder
//!   dead takes the lock over.
//!
//! # Liveness
//!
//! A process slot holds the pid and start time of the process that claimed
//! it (`liveness`). Waiting callers look at their server every
//! [`LIVENESS_SLICE`] (100 ms): a dead server (or a closed channel) ends
//! their call with rcNotConnected, so a caller learns of a killed server
//! within about 0.1–0.2 s (documented bound: 1 s), and the channel is freed
//! for a new server to register. Reply looks at the caller: a dead caller
//! gives rcNotConnected, and its slot is freed. A request of a caller that
//! died while it was queued is still delivered (its Reply returns
//! rcNotConnected). A process attaching takes a free process slot or that
//! of a dead process, whose leftover calls it resets.
//!
//! Everything read from the region is validated before use (indexes,
//! sizes, states): a corrupted world gives error codes (rcFail), never
//! out-of-bounds access in this process. (Shrinking the file under a
//! process would give it SIGBUS; all processes of a world must run the same
//! layout, checked by a magic word and the file's size, and share one PID
//! namespace, or liveness checks take live peers for dead.)
//!
//! After `fork`, the child attaches anew (a process slot of its own) on its
//! first [`World::attach_from_env`]; world handles it inherited belong to
//! the parent and must not be used.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::abi::{rcInvalidArgument, Handle, Retcode};

use super::handles::{self, End, Object};

mod call;
mod channel;
mod config;
pub(crate) mod futex;
mod layout;
mod liveness;
mod region;
mod serve;
#[cfg(test)]
mod tests;

pub(crate) use call::call;
pub(crate) use serve::{recv, reply, Held};

pub use config::WorldConfig;

pub use layout::{CALLS_PER_PROC, CHANNELS, NAME_MAX, PROCS, SLOT_BYTES, WORLD_BYTES};

use config::valid_name;
use layout::{ProcWord, Shared, MAGIC};
use liveness::Liveness;

/// How often a waiting caller checks that its server still lives.
pub const LIVENESS_SLICE: Duration = Duration::from_millis(100);
/// Default of `KOS_HOST_CONNECT_TIMEOUT_MS`.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A world this process attached to: its mapping and its process slot.
pub struct World {
    shared: &'static Shared,
    config: WorldConfig,
    /// This process's slot and the word it wrote there.
    me: usize,
    my_word: ProcWord,
    pid: u32,
    live: Liveness,
    /// Which of this process's call slots are in use (bit k: slot `16 me + k`).
    calls: AtomicU32,
}

impl core::fmt::Debug for World {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("World")
            .field("config", &self.config)
            .field("slot", &self.me)
            .finish()
    }
}

/// The world of `attach_from_env`, per process id (a forked child attaches anew).
type FromEnv = Option<(u32, Result<Option<&'static World>, String>)>;
static FROM_ENV: Mutex<FromEnv> = Mutex::new(None);

impl World {
    /// The world named by the environment (see the module documentation),
    /// attached on the first call and kept for the process's life; `None`
    /// when `KOS_HOST_WORLD` is unset. An error (a malformed variable, a
    /// region that cannot be mapped or was made by another layout, all
    /// process slots taken) is returned again on every call.
    pub fn attach_from_env() -> Result<Option<&'static World>, String> {
        let pid = std::process::id();
        let mut cached = super::lock(&FROM_ENV);
        if let Some((p, r)) = cached.as_ref() {
            if *p == pid {
                return r.clone();
            }
        }
        let r = WorldConfig::from_env().and_then(|c| c.map(|c| World::attach(&c)).transpose());
        *cached = Some((pid, r.clone()));
        r
    }

    /// Attach to the world `config.name`, creating it if needed, and claim a
    /// process slot. The mapping and the slot are kept for the process's
    /// life (the returned reference is never freed).
    pub fn attach(config: &WorldConfig) -> Result<&'static World, String> {
        for n in [&config.entity]
            .into_iter()
            .chain(config.connections.iter().flat_map(|(a, b)| [a, b]))
        {
            if !valid_name(n) {
                return Err(format!(
                    "entity or connection name {n:?}: 1 to {NAME_MAX} bytes"
                ));
            }
        }
        let shared = region::map(&config.name)?;
        match shared
            .header
            .magic
            .compare_exchange(0, MAGIC, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => {}
            Err(m) if m == MAGIC => {}
            Err(m) => {
                return Err(format!(
                    "world {:?} has layout {m:#x}, this build uses {MAGIC:#x}",
                    config.name
                ))
            }
        }
        let live = Liveness::new();
        let pid = std::process::id();
        let (me, my_word) = region::claim_proc(shared, &live, pid).ok_or_else(|| {
            format!(
                "world {:?} is full: {PROCS} processes attached",
                config.name
            )
        })?;
        shared.procs[me]
            .start_time
            .store(liveness::start_time(pid), Ordering::Release);
        let world = Box::leak(Box::new(World {
            shared,
            config: config.clone(),
            me,
            my_word,
            pid,
            live,
            calls: AtomicU32::new(0),
        }));
        Ok(world)
    }

    /// Remove the region `name` from `/dev/shm` (processes that mapped it
    /// keep it until they exit). For launchers and tests.
    pub fn unlink(name: &str) -> Result<(), String> {
        let path = region::shm_path(name)?;
        // SAFETY: a NUL-terminated path; shm_unlink only reads it.
        if unsafe { libc::shm_unlink(path.as_ptr()) } != 0 {
            return Err(format!(
                "shm_unlink {name:?}: {}",
                std::io::Error::last_os_error()
            ));
        }
        Ok(())
    }

    /// The configuration this process attached with.
    pub fn config(&self) -> &WorldConfig {
        &self.config
    }

    /// Server side: register the channel (this entity, `connection_id`) and
    /// return its server handle. rcInvalidArgument for a name that is empty
    /// or longer than [`NAME_MAX`]; rcBusy if a live process has it
    /// registered (a dead one's registration is taken over); rcOutOfMemory
    /// when all [`CHANNELS`] are registered or the handle table is full.
    pub fn register(&'static self, connection_id: &str) -> Result<Handle, Retcode> {
        if !valid_name(connection_id) {
            return Err(rcInvalidArgument);
        }
        let (index, word) = self.open_channel(connection_id)?;
        let port = Port {
            world: self,
            end: End::Server,
            index,
            word,
        };
        match handles::insert(Object::World(Arc::new(port))) {
            Ok(h) => Ok(h),
            Err(rc) => {
                self.retire(index, word);
                Err(rc)
            }
        }
    }

    /// Client side: a client handle on the channel serving `connection_id`:
    /// (target entity, `connection_id`), the target from
    /// `KOS_HOST_CONNECTIONS`, waiting up to the connect timeout for it to
    /// be registered; an id not listed there is looked up once, as a
    /// channel of this process's own entity. rcInvalidArgument for a bad
    /// name; rcNotConnected when no live server registered it in time;
    /// rcOutOfMemory when the handle table is full.
    pub fn connect(&'static self, connection_id: &str) -> Result<Handle, Retcode> {
        if !valid_name(connection_id) {
            return Err(rcInvalidArgument);
        }
        let listed = self
            .config
            .connections
            .iter()
            .find(|(id, _)| id == connection_id);
        let (target, wait) = match listed {
            Some((_, target)) => (target.as_str(), self.config.connect_timeout),
            None => (self.config.entity.as_str(), Duration::ZERO),
        };
        let (index, word) = self.find_channel(target, connection_id, wait)?;
        handles::insert(Object::World(Arc::new(Port {
            world: self,
            end: End::Client,
            index,
            word,
        })))
    }
}

/// An open world channel end: what a world handle refers to.
#[derive(Debug)]
pub(crate) struct Port {
    world: &'static World,
    end: End,
    /// The channel slot and the word it had when this end was made.
    index: usize,
    word: layout::ChanWord,
}

impl Port {
    /// Which end this is.
    pub(crate) fn end(&self) -> End {
        self.end
    }

    /// The handle is closed: a server end closes the channel (waiting and
    /// later calls get rcNotConnected, the name is free again); a client
    /// end changes nothing (a call in progress on it runs to its end).
    pub(crate) fn close(&self) {
        if self.end == End::Server {
            self.world.retire(self.index, self.word);
        }
    }

    /// (requests queued, receivers waiting) on the channel.
    pub(crate) fn counts(&self) -> (usize, usize) {
        self.world.counts(self.index, self.word)
    }
}
