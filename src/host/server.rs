//! The server side: Recv, RecvEx and Reply.

use std::sync::Arc;

use crate::abi::{rcInvalidArgument, rcIpcInterrupt, rcNotConnected, rcOk, rcTimeout, Retcode};
use crate::backend::api::Args;
use crate::msg::{HdrContext, MsgIn, MsgOut};

use super::channel::Channel;
use super::handles::End;
use super::receiver::{self, Handed, Receiver, Request};
use super::sync::{self, SyncObject};
use super::thread::{self, Held, Pending, ThreadState, Via};
use super::txn::{Txn, RECEIVED, REPLYING};
use super::wait::{Backoff, Deadline};
use super::world;

/// Recv (`ex` false: no timeout, not interruptible) or RecvEx.
pub(crate) fn recv(args: &mut Args<'_>, ex: bool) -> Retcode {
    let Some(inp) = args.inp.as_mut() else {
        return rcInvalidArgument;
    };
    let (handle, mdelay, sync_handle) = (args.handle, args.mdelay, args.sync);
    let mut correlation = 0;
    let rc = thread::with(|me| {
        me.with_channel(handle, End::Server, |via| {
            let (deadline, sync) = match sync::enter(ex, sync_handle, mdelay) {
                Ok(v) => v,
                Err(rc) => return rc,
            };
            // Refuse before taking a request, so a full set loses none.
            if let Err(rc) = me.reserve_pending() {
                return rc;
            }
            let ch = match via {
                Via::Local(ch) => ch,
                Via::World(port) => {
                    return match world::recv(port, inp, deadline, sync.as_deref()) {
                        Ok((held, corr)) => {
                            correlation = corr;
                            inp.set_reply_handle(handle);
                            me.add_pending(Pending {
                                handle,
                                held: Held::World(held),
                                correlation: corr,
                            });
                            rcOk
                        }
                        Err(rc) => rc,
                    };
                }
            };
            let incoming = wait_for_request(me, ch, inp, deadline, sync.as_deref());
            let (txn, gen, rc, corr) = match incoming {
                Ok(Incoming::Queued((txn, gen))) => {
                    let rc = copy_request(ch, &txn, gen, inp);
                    let corr = txn.correlation(gen);
                    (txn, gen, rc, corr)
                }
                Ok(Incoming::Handed(h)) => (h.request.0, h.request.1, h.rc, h.correlation),
                Err(rc) => return rc,
            };
            correlation = corr;
            if rc == rcOk {
                inp.set_reply_handle(handle);
                me.add_pending(Pending {
                    handle,
                    held: Held::Local { txn, gen },
                    correlation: corr,
                });
            }
            rc
        })
    })
    .unwrap_or_else(|rc| rc);
    args.correlation = correlation;
    rc
}

/// How a request reached a receiving thread.
enum Incoming {
    /// Taken from the queue, `RECEIVING`: the server copies it.
    Queued(Request),
    /// Copied into our buffers by its caller.
    Handed(Handed),
}

/// Take the oldest request, waiting for one if none is queued.
fn wait_for_request(
    me: &ThreadState,
    ch: &Arc<Channel>,
    inp: &mut MsgIn<'_>,
    deadline: Deadline,
    sync: Option<&SyncObject>,
) -> Result<Incoming, Retcode> {
    let _watch = sync.map(|s| s.watch(me.txn.owner().thread()));
    loop {
        let may_wait = !deadline.passed();
        let listing = may_wait.then_some((&me.rx, inp.as_mut_ptr()));
        if let Some(r) = ch.take_or_wait(listing)? {
            return Ok(Incoming::Queued(r));
        }
        if !may_wait {
            return Err(rcTimeout);
        }
        // Listed as waiting: a caller posting a request (or the closing of
        // the channel) unlists us and sets `notified` under the lock.
        let handed = match wait_notified(&me.rx, deadline, sync) {
            // SAFETY: our own receiver, and `notified` read true.
            None => unsafe { me.rx.take_handed() },
            Some(rc) => match ch.withdraw_receiver(&me.rx) {
                None => return Err(rc),
                handed => handed, // a request arrived as we gave up
            },
        };
        if let Some(h) = handed {
            return Ok(Incoming::Handed(h));
        }
        // Woken for a queued request (or by the closing): look again.
    }
}

/// Wait, listed, until a caller (or the channel's closing) notifies `rx`
/// (`None`), or the wait is interrupted or times out (that code).
/// Not inlined: the waiting loop is one function a profile can leave out.
#[inline(never)]
fn wait_notified(rx: &Receiver, deadline: Deadline, sync: Option<&SyncObject>) -> Option<Retcode> {
    let mut backoff = Backoff::new(rx.owner());
    loop {
        if rx.notified() {
            return None;
        }
        if sync.is_some_and(SyncObject::is_set) {
            return Some(rcIpcInterrupt);
        }
        if deadline.passed() {
            return Some(rcTimeout);
        }
        backoff.pause(deadline, || rx.notified());
    }
}

/// Copy the request we hold in `RECEIVING` into our buffers; it becomes
/// `RECEIVED`, or `DONE` with the error when it does not fit.
fn copy_request(ch: &Channel, txn: &Txn, gen: u64, inp: &mut MsgIn<'_>) -> Retcode {
    // SAFETY: we hold RECEIVING of generation `gen`, so the caller is blocked
    // in Call/CallEx and cannot return until we move the state on; its
    // request header, validated by its own Call, and the buffers it names
    // stay valid until then (the SDK's contract for Call).
    let copied = unsafe { MsgOut::from_raw(txn.out_ptr()) }
        .and_then(|out| receiver::deliver(txn, &out, inp));
    if let Err(rc) = copied {
        txn.finish(gen, rc);
        return rc;
    }
    txn.mark_received(gen);
    if ch.is_closed() {
        // Closed while we copied: `close` may have missed this request.
        txn.complete(gen, RECEIVED, rcNotConnected);
    }
    rcOk
}

/// Reply: answer a request this thread received on the handle: the one of
/// client thread `msgOut->threadId`, or the oldest one when that is 0.
/// rcInvalidArgument if there is none (or the handle is not a server
/// handle); rcNotConnected if its caller no longer waits (timed out, channel
/// closed). The reply header is only read.
pub(crate) fn reply(args: &mut Args<'_>) -> Retcode {
    let Some(out) = args.out.as_ref() else {
        return rcInvalidArgument;
    };
    let (handle, client) = (args.handle, out.context().thread);
    let mut answered = None;
    let rc = thread::with(|me| {
        let p = me.take_pending(handle, client);
        let is_server = me.with_channel(handle, End::Server, |_| rcOk) == rcOk;
        let Some(p) = p.filter(|_| is_server) else {
            return rcInvalidArgument;
        };
        answered = Some((p.correlation, p.client()));
        let (txn, gen) = match p.held {
            Held::Local { txn, gen } => (txn, gen),
            Held::World(held) => return world::reply(&held, out),
        };
        if !txn.claim(gen, RECEIVED, REPLYING) {
            return rcNotConnected; // the caller timed out or the channel closed
        }
        // SAFETY: we hold REPLYING of generation `gen`: the caller is blocked
        // in Call/CallEx until we finish, and its response header (validated
        // by its Call) and buffers stay valid until then.
        let written = unsafe { MsgIn::from_raw(txn.inp_ptr()) }.and_then(|mut inp| {
            inp.write(out.constant(), out.arena())?;
            // The response's sender is the server's task (this process).
            let ctx = inp.context();
            inp.set_context(&HdrContext {
                sender: super::task_id(),
                ..ctx
            });
            Ok(())
        });
        let rc = match written {
            Ok(()) => rcOk,
            Err(rc) => rc,
        };
        txn.finish(gen, rc);
        // SAFETY: our own receiver, and we are in Reply, not listed.
        unsafe { me.rx.keep_spare(txn) };
        rc
    })
    .unwrap_or_else(|rc| rc);
    if let Some((correlation, client)) = answered {
        args.correlation = correlation;
        args.answered = client;
    }
    rc
}

/// The shim refused a Reply (policy): complete the request it would have
/// answered with `rc` so its caller does not wait forever.
pub(crate) fn refuse_reply(args: &mut Args<'_>, rc: Retcode) {
    let client = args.out.as_ref().map_or(0, |out| out.context().thread);
    if let Ok(Some(p)) = thread::with(|me| me.take_pending(args.handle, client)) {
        args.correlation = p.correlation;
        args.answered = p.client();
        p.complete(rc);
    }
}
