//! The client side: Call and CallEx.

use std::sync::Arc;

use crate::abi::{rcInvalidArgument, rcIpcInterrupt, rcTimeout, Retcode};
use crate::backend::api::Args;

use super::channel::Channel;
use super::handles::End;
use super::sync::{self, SyncObject};
use super::thread::{self, Via};
use super::txn::{Txn, DONE, QUEUED, RECEIVED};
use super::wait::{Backoff, Deadline};
use super::world;

/// Call (`ex` false: no timeout, not interruptible) or CallEx.
pub(crate) fn call(args: &mut Args<'_>, ex: bool) -> Retcode {
    let (Some(out), Some(inp)) = (args.out, args.inp.as_mut()) else {
        return rcInvalidArgument;
    };
    let (handle, mdelay, sync_handle) = (args.handle, args.mdelay, args.sync);
    let mut correlation = 0;
    let rc = thread::with(|me| {
        me.with_channel(handle, End::Client, |via| {
            let (deadline, sync) = match sync::enter(ex, sync_handle, mdelay) {
                Ok(v) => v,
                Err(rc) => return rc,
            };
            let ch = match via {
                Via::Local(ch) => ch,
                Via::World(port) => {
                    return world::call(
                        port,
                        &out,
                        inp,
                        deadline,
                        sync.as_deref(),
                        &mut correlation,
                    )
                }
            };
            let inp = inp.as_mut_ptr();
            let txn = &me.txn;
            let gen = txn.begin(ch.id(), out.as_ptr(), inp);
            correlation = txn.correlation(gen);
            if let Err(rc) = ch.post(txn, gen, &out) {
                txn.end(gen);
                return rc;
            }
            let _watch = sync.as_ref().map(|s| s.watch(txn.owner().thread()));
            wait_for_reply(ch, txn, gen, deadline, sync.as_deref())
        })
    })
    .unwrap_or_else(|rc| rc);
    args.correlation = correlation;
    rc
}

/// Block until the call `(txn, gen)` completes, times out or (while still
/// queued) is interrupted. Returns only when no server can touch the
/// caller's buffers any more. Not inlined: the waiting loop is one
/// function a profile can leave out.
#[inline(never)]
fn wait_for_reply(
    ch: &Arc<Channel>,
    txn: &Arc<Txn>,
    gen: u64,
    deadline: Deadline,
    sync: Option<&SyncObject>,
) -> Retcode {
    let mut backoff = Backoff::new(txn.owner());
    loop {
        let (_, state) = txn.load();
        let wait = match state {
            DONE => {
                let rc = txn.rc();
                txn.end(gen);
                return rc;
            }
            QUEUED => {
                let gave_up = if sync.is_some_and(SyncObject::is_set) {
                    Some(rcIpcInterrupt)
                } else if deadline.passed() {
                    Some(rcTimeout)
                } else {
                    None
                };
                if let Some(rc) = gave_up {
                    if ch.withdraw_request(txn, gen) {
                        return rc;
                    }
                    continue; // a server took it meanwhile
                }
                deadline
            }
            RECEIVED => {
                if deadline.passed() {
                    if txn.claim(gen, RECEIVED, super::txn::IDLE) {
                        return rcTimeout;
                    }
                    continue;
                }
                deadline
            }
            // RECEIVING / REPLYING: a server is copying to or from our
            // buffers; it unparks us when done, whatever our deadline.
            _ => Deadline::Never,
        };
        backoff.pause(wait, || txn.load().1 != state);
    }
}
