//! Host kernel emulator: in-process IPC with KasperskyOS's documented
//! semantics, so KasperskyOS-style C components build and run on Linux.
//!
//! It is the [`Backend`] the five system calls reach with feature `host`
//! ([`EMULATOR`]), and it exports what such components call besides them:
//! `PackOutMsg`/`PackInMsg` ([`pack`]), the `nk_arena_*` helpers ([`arena`]),
//! channel creation and a name service (`kos_host_*`), sync objects
//! (`KnIpc*`) and `KnHandleClose` ([`exports`]).
//!
//! Semantics in brief (details on each export):
//! - A channel has any number of client handles and one server handle, used
//!   by any number of threads. Requests are served in FIFO order; the
//!   request (constant part and arena bytes) is copied from the caller's
//!   buffers straight into the receiving server's, and the response straight
//!   back into the caller's — no intermediate copy, no allocation per call.
//! - Reply answers the request the calling thread last received on that
//!   server handle. A thread that receives again on the same handle without
//!   replying gives up the earlier request: its caller gets rcNotConnected.
//! - A message larger than the receiving buffers is refused with
//!   rcBufferTooSmall on both sides; nothing is written past any buffer.
//! - CallEx can be interrupted only before a server received the request,
//!   RecvEx only while waiting. A CallEx that times out after its request was
//!   received returns rcTimeout; the server's Reply then returns
//!   rcNotConnected and writes nothing.
//! - `ncaps` is copied as data: the emulator does not transfer handles.
//!
//! Module map (private parts in backticks): `handles` (the handle table),
//! `channel` (request queue and waiting receivers), `receiver` (a waiting
//! server thread, direct hand-off of small requests), `txn` (a caller's
//! per-thread transaction state machine), `client` (Call/CallEx), `server`
//! (Recv/RecvEx/Reply), `sync` (interrupt objects), `thread` (per-thread
//! state), `wait` (deadlines, spin-then-park), `names` (name registry).

use std::sync::{Mutex, MutexGuard};

use crate::abi::Retcode;
use crate::backend::{Args, Backend};
use crate::op::Op;

pub mod arena;
mod channel;
mod client;
pub mod exports;
mod handles;
mod names;
pub mod pack;
mod receiver;
mod server;
mod sync;
mod thread;
mod txn;
mod wait;

/// The emulator backend.
#[derive(Debug)]
pub struct Emulator;

/// The process-wide emulator instance.
pub static EMULATOR: Emulator = Emulator;

impl Backend for Emulator {
    fn forward(&self, op: Op, args: &mut Args<'_>) -> Retcode {
        match op {
            Op::Call => client::call(args, false),
            Op::CallEx => client::call(args, true),
            Op::Recv => server::recv(args, false),
            Op::RecvEx => server::recv(args, true),
            Op::Reply => server::reply(args),
        }
    }

    fn refused(&self, op: Op, args: &mut Args<'_>, rc: Retcode) {
        if op == Op::Reply {
            server::refuse_reply(args, rc);
        }
    }

    fn name(&self) -> &'static str {
        "host"
    }
}

/// Lock a mutex, ignoring poisoning: the emulator's critical sections leave
/// their data consistent at every step, so a panic elsewhere does not make
/// it unusable.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
