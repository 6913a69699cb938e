//! Host kernel emulator: in-process IPC with KasperskyOS's documented
//! semantics, so KasperskyOS-style C components build and run on Linux.
//!
//! It is the [`Backend`] the five system calls reach with feature `host`
//! ([`EMULATOR`]), and it exports what such components call besides them:
//! `PackOutMsg`/`PackInMsg` ([`pack`]), the `nk_arena_*` helpers ([`arena`]),
//! the NK transport `NkKosTransport` ([`transport`]),
//! channel creation and a name service (`kos_host_*`), sync objects
//! (`KnIpc*`) and `KnHandleClose` ([`exports`]).
//!
//! Semantics in brief (details on each export):
//! - A channel has any number of client handles and one server handle, used
//!   by any number of threads. Requests are served in FIFO order; the
//!   request (constant part and arena bytes) is copied from the caller's
//!   buffers straight into the receiving server's, and the response straight
//!   back into the caller's — no intermediate copy, no allocation per call.
//! - Recv/RecvEx fill the receive header as the kernel does: `replyHandle`
//!   (the server handle the request came in on), `sender` (the client's
//!   task: this process's id), `threadId` (the calling client thread: its
//!   OS thread id, 32 bits, never 0), and `traceId`/`spanId` copied from the
//!   client's request header. Whether the real kernel copies the trace
//!   context is not public (`shared/kos-abi.md` marks it unknown); the
//!   emulator does, so traces of both ends can be joined. A Call's response
//!   header gets `sender` too; its other context fields are left as the
//!   caller set them.
//! - A server thread may hold several received requests unanswered (up to
//!   16, over all its server handles; a Recv beyond that returns
//!   rcOutOfMemory without taking a request) and answer them in any order:
//!   Reply with `threadId` 0 answers the oldest one received on that
//!   handle, a non-zero `threadId` the one from that client thread; with
//!   none to answer, Reply returns rcInvalidArgument. Receiving again does
//!   not give up earlier requests. Reply reads its header, never writes it.
//! - A server thread that ends with requests unanswered gives them up:
//!   their callers get rcNotConnected.
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
//! state), `wait` (deadlines, spin-then-park), `names` (name registry),
//! [`world`] (channels between processes through shared memory, when
//! `KOS_HOST_WORLD` is set).

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Once};

use crate::abi::{Retcode, TaskId};
use crate::backend::api::{Args, Backend};
use crate::op::Op;

pub mod arena;
mod channel;
mod client;
pub mod exports;
mod handles;
pub mod locator;
mod names;
pub mod pack;
mod receiver;
mod server;
pub(crate) mod sync;
mod thread;
pub mod transport;
mod txn;
mod wait;
pub mod world;

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

/// A reference to `wanted`: the one kept in `spare` when it is to the same
/// object (taken from there), else a new one (`spare` keeps what it held).
/// The hand-off keeps such spares so that a round trip between the same
/// two threads changes no reference count, whose cache line would travel
/// between them.
fn spare_or_clone<T>(spare: &mut Option<Arc<T>>, wanted: &Arc<T>) -> Arc<T> {
    match spare.take() {
        Some(kept) if Arc::ptr_eq(&kept, wanted) => kept,
        other => {
            *spare = other;
            Arc::clone(wanted)
        }
    }
}

/// This process's id, cached (0: not read yet).
static TASK_ID: AtomicU32 = AtomicU32::new(0);
static FORK_RESET: Once = Once::new();

/// A forked child has another process id: read it again.
extern "C" fn forget_task_id() {
    TASK_ID.store(0, Ordering::Relaxed);
}

/// The `sender` of every message in the emulator: the process id
/// (`getpid()`), read once (and again in a forked child) rather than per
/// message, where it would cost a system call.
fn task_id() -> TaskId {
    let pid = TASK_ID.load(Ordering::Relaxed);
    if pid != 0 {
        return pid;
    }
    FORK_RESET.call_once(|| {
        // SAFETY: registers a handler that only stores to an atomic, which
        // is async-signal-safe as a fork handler must be. A failure (no
        // memory) only means a forked child would report its parent's id.
        unsafe { libc::pthread_atfork(None, None, Some(forget_task_id)) };
    });
    let pid = std::process::id();
    TASK_ID.store(pid, Ordering::Relaxed);
    pid
}
