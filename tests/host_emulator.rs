//! The host emulator through the exported system calls: round trips, order,
//! concurrency, timeouts, interrupts, closing, buffer limits, stale handles.

mod host_util;

use std::sync::{Arc, Barrier};
use std::thread;

use host_util::*;
use kos_ipc_shim::abi::*;
use kos_ipc_shim::host::exports::*;

#[test]
fn round_trip_copies_constant_part_and_arena_exactly() {
    let (c, s) = channel();
    let server = thread::spawn(move || {
        let mut req = Msg::buffer();
        let mut arena = ArenaBuf::new();
        arena.init(64);
        let mut inp = pack_in(&mut req, Some(&mut arena.arena));
        assert_eq!(recv(s, &mut inp), rcOk);
        assert_eq!(req, Msg::new(NK_MSG_KIND_REQUEST, 41, "ping"));
        assert_eq!(arena.used(), b"hello arena");
        assert!(arena.tail_intact(64));

        let mut resp = Msg::new(NK_MSG_KIND_RESPONSE, 42, "pong");
        let mut ra = ArenaBuf::new();
        ra.init(32);
        let p = ra.store(b"reply bytes!");
        resp.text[8..12].copy_from_slice(&p.offset.to_le_bytes());
        let out = pack_out(&resp, Some(&ra.arena));
        assert_eq!(reply(s, &out), rcOk);
    });

    let req = Msg::new(NK_MSG_KIND_REQUEST, 41, "ping");
    let mut ra = ArenaBuf::new();
    ra.init(64);
    ra.store(b"hello ");
    ra.store(b"arena");
    let out = pack_out(&req, Some(&ra.arena));
    let mut resp = Msg::buffer();
    let mut arena = ArenaBuf::new();
    arena.init(16);
    let mut inp = pack_in(&mut resp, Some(&mut arena.arena));
    assert_eq!(call(c, &out, &mut inp), rcOk);
    server.join().unwrap();

    let mut expect = Msg::new(NK_MSG_KIND_RESPONSE, 42, "pong");
    expect.text[8..12].copy_from_slice(&0u32.to_le_bytes());
    assert_eq!(resp, expect);
    assert_eq!(arena.used(), b"reply bytes!");
    assert!(arena.tail_intact(16));
    close(c);
    close(s);
}

#[test]
fn requests_are_served_in_fifo_order() {
    let (c, s) = channel();
    let clients: Vec<_> = (0..5u64)
        .map(|i| {
            let t = thread::spawn(move || request(c, i));
            wait_for(s, i as usize + 1, 0); // queued one by one: a known order
            t
        })
        .collect();
    let order: Vec<u64> = (0..5).map(|_| serve_one(s).value).collect();
    assert_eq!(order, vec![0, 1, 2, 3, 4]);
    for (i, t) in clients.into_iter().enumerate() {
        let (rc, resp) = t.join().unwrap();
        assert_eq!(rc, rcOk);
        assert_eq!(resp.value, i as u64 * 2 + 1);
    }
    close(c);
    close(s);
}

#[test]
fn four_clients_two_servers_every_reply_matches_its_request() {
    const CLIENTS: u64 = 4;
    const CALLS: u64 = 2000;
    let (c, s) = channel();
    let servers: Vec<_> = (0..2)
        .map(|_| {
            thread::spawn(move || {
                let mut served = 0u64;
                loop {
                    let mut req = Msg::buffer();
                    let mut inp = pack_in(&mut req, None);
                    match recv(s, &mut inp) {
                        rc if rc == rcOk => {}
                        // Closed: while waiting, or before the next Recv.
                        rc if rc == rcNotConnected || rc == rcInvalidArgument => return served,
                        rc => panic!("Recv: {rc:#x}"),
                    }
                    let resp = Msg::new(NK_MSG_KIND_RESPONSE, req.value ^ 0x5555, "r");
                    assert_eq!(reply(s, &pack_out(&resp, None)), rcOk);
                    served += 1;
                }
            })
        })
        .collect();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|id| {
            thread::spawn(move || {
                for seq in 0..CALLS {
                    let v = id << 32 | seq;
                    let (rc, resp) = request(c, v);
                    assert_eq!(rc, rcOk);
                    assert_eq!(resp.value, v ^ 0x5555, "reply for client {id} call {seq}");
                }
            })
        })
        .collect();
    for t in clients {
        t.join().unwrap();
    }
    close(s);
    let served: u64 = servers.into_iter().map(|t| t.join().unwrap()).sum();
    assert_eq!(served, CLIENTS * CALLS);
    close(c);
}

#[test]
fn servers_timing_out_in_recvex_lose_no_request() {
    // Receivers give up every millisecond (or poll) while callers keep
    // posting: a request handed to a receiver as it gives up is delivered,
    // a wake-up meant for it is passed on; every call gets its own reply.
    const CALLS: u64 = 300;
    let (c, s) = channel();
    let servers: Vec<_> = (0..2u32)
        .map(|k| {
            thread::spawn(move || loop {
                let mut req = Msg::buffer();
                let mut inp = pack_in(&mut req, None);
                match recv_ex(s, &mut inp, k, INVALID_HANDLE) {
                    rc if rc == rcOk => {
                        let resp = Msg::new(NK_MSG_KIND_RESPONSE, req.value + 1, "");
                        assert_eq!(reply(s, &pack_out(&resp, None)), rcOk);
                    }
                    rc if rc == rcTimeout => {}
                    // Closed: while waiting, or before the next RecvEx.
                    rc if rc == rcNotConnected || rc == rcInvalidArgument => return,
                    rc => panic!("RecvEx: {rc:#x}"),
                }
            })
        })
        .collect();
    let clients: Vec<_> = (0..3u64)
        .map(|id| {
            thread::spawn(move || {
                for seq in 0..CALLS {
                    let v = id << 32 | seq;
                    assert_eq!(
                        request(c, v),
                        (rcOk, Msg::new(NK_MSG_KIND_RESPONSE, v + 1, ""))
                    );
                }
            })
        })
        .collect();
    for t in clients {
        t.join().unwrap();
    }
    close(s);
    for t in servers {
        t.join().unwrap();
    }
    close(c);
}

#[test]
fn callex_and_recvex_time_out() {
    let (c, s) = channel();
    let req = Msg::new(NK_MSG_KIND_REQUEST, 1, "t");
    let out = pack_out(&req, None);
    let mut resp = Msg::buffer();
    let mut inp = pack_in(&mut resp, None);
    assert_eq!(call_ex(c, &out, &mut inp, 0, INVALID_HANDLE), rcTimeout);
    assert_eq!(call_ex(c, &out, &mut inp, 15, INVALID_HANDLE), rcTimeout);
    assert_eq!(info(c), (0, 0), "timed-out requests are withdrawn");

    let mut buf = Msg::buffer();
    let mut rin = pack_in(&mut buf, None);
    assert_eq!(recv_ex(s, &mut rin, 0, INVALID_HANDLE), rcTimeout);
    assert_eq!(recv_ex(s, &mut rin, 15, INVALID_HANDLE), rcTimeout);
    assert_eq!(info(s), (0, 0), "a timed-out receiver is no longer listed");

    // A queued request is received by a polling RecvEx.
    let t = thread::spawn(move || request(c, 9));
    wait_for(s, 1, 0);
    assert_eq!(recv_ex(s, &mut rin, 0, INVALID_HANDLE), rcOk);
    assert_eq!(buf.value, 9);
    assert_eq!(
        reply(s, &pack_out(&Msg::new(NK_MSG_KIND_RESPONSE, 10, ""), None)),
        rcOk
    );
    assert_eq!(t.join().unwrap().0, rcOk);
    close(c);
    close(s);
}

#[test]
fn interrupt_before_reception_returns_ipc_interrupt() {
    let (c, s) = channel();
    let sync = sync_object();
    let t = thread::spawn(move || {
        let req = Msg::new(NK_MSG_KIND_REQUEST, 1, "i");
        let out = pack_out(&req, None);
        let mut resp = Msg::buffer();
        let mut inp = pack_in(&mut resp, None);
        call_ex(c, &out, &mut inp, INFINITE_TIMEOUT, sync)
    });
    wait_for(s, 1, 0);
    assert_eq!(KnIpcSetInterrupt(sync), rcOk);
    assert_eq!(t.join().unwrap(), rcIpcInterrupt);
    assert_eq!(info(s), (0, 0), "the interrupted request left the queue");

    // Still set: the next CallEx and RecvEx return at once.
    let req = Msg::new(NK_MSG_KIND_REQUEST, 1, "i");
    let out = pack_out(&req, None);
    let mut resp = Msg::buffer();
    let mut inp = pack_in(&mut resp, None);
    assert_eq!(
        call_ex(c, &out, &mut inp, INFINITE_TIMEOUT, sync),
        rcIpcInterrupt
    );
    let mut buf = Msg::buffer();
    let mut rin = pack_in(&mut buf, None);
    assert_eq!(recv_ex(s, &mut rin, INFINITE_TIMEOUT, sync), rcIpcInterrupt);
    assert_eq!(KnIpcClearInterrupt(sync), rcOk);
    assert_eq!(call_ex(c, &out, &mut inp, 0, sync), rcTimeout);
    close(sync);
    close(c);
    close(s);
}

#[test]
fn interrupt_wakes_a_waiting_recvex() {
    let (c, s) = channel();
    let sync = sync_object();
    let t = thread::spawn(move || {
        let mut buf = Msg::buffer();
        let mut rin = pack_in(&mut buf, None);
        recv_ex(s, &mut rin, INFINITE_TIMEOUT, sync)
    });
    wait_for(s, 0, 1);
    assert_eq!(KnIpcSetInterrupt(sync), rcOk);
    assert_eq!(t.join().unwrap(), rcIpcInterrupt);
    assert_eq!(info(s), (0, 0));
    close(sync);
    close(c);
    close(s);
}

#[test]
fn interrupt_after_reception_does_not_stop_the_call() {
    let (c, s) = channel();
    let sync = sync_object();
    let t = thread::spawn(move || {
        let req = Msg::new(NK_MSG_KIND_REQUEST, 5, "i");
        let out = pack_out(&req, None);
        let mut resp = Msg::buffer();
        let mut inp = pack_in(&mut resp, None);
        (
            call_ex(c, &out, &mut inp, INFINITE_TIMEOUT, sync),
            resp.value,
        )
    });
    let mut buf = Msg::buffer();
    let mut rin = pack_in(&mut buf, None);
    assert_eq!(recv(s, &mut rin), rcOk);
    assert_eq!(KnIpcSetInterrupt(sync), rcOk);
    for _ in 0..100 {
        thread::yield_now(); // give the caller a chance to (wrongly) give up
    }
    let resp = Msg::new(NK_MSG_KIND_RESPONSE, 6, "");
    assert_eq!(reply(s, &pack_out(&resp, None)), rcOk);
    assert_eq!(t.join().unwrap(), (rcOk, 6));
    close(sync);
    close(c);
    close(s);
}

#[test]
fn closing_the_server_disconnects_queued_received_and_later_calls() {
    let (c, s) = channel();
    // One request received but not answered, two queued behind it.
    let first = thread::spawn(move || request(c, 1).0);
    let mut buf = Msg::buffer();
    let mut rin = pack_in(&mut buf, None);
    assert_eq!(recv(s, &mut rin), rcOk);
    let queued: Vec<_> = (0..2)
        .map(|i| {
            let t = thread::spawn(move || request(c, 10 + i).0);
            wait_for(s, i as usize + 1, 0);
            t
        })
        .collect();
    close(s);
    assert_eq!(first.join().unwrap(), rcNotConnected);
    for t in queued {
        assert_eq!(t.join().unwrap(), rcNotConnected);
    }
    let resp = Msg::new(NK_MSG_KIND_RESPONSE, 0, "");
    assert_eq!(
        reply(s, &pack_out(&resp, None)),
        rcInvalidArgument,
        "closed handle"
    );
    assert_eq!(request(c, 3).0, rcNotConnected, "later calls");
    close(c);
}

#[test]
fn closing_the_server_wakes_a_waiting_recv() {
    let (c, s) = channel();
    let t = thread::spawn(move || {
        let mut buf = Msg::buffer();
        let mut rin = pack_in(&mut buf, None);
        recv(s, &mut rin)
    });
    wait_for(s, 0, 1);
    close(s);
    assert_eq!(t.join().unwrap(), rcNotConnected);
    close(c);
}

#[test]
fn a_closed_client_handle_is_invalid_and_others_still_work() {
    let (c, s) = channel();
    close(c);
    assert_eq!(request(c, 1).0, rcInvalidArgument);
    assert_eq!(KnHandleClose(c), rcInvalidArgument, "double close");
    close(s);
}

#[test]
fn a_request_too_large_for_recv_is_refused_on_both_sides() {
    let (c, s) = channel();
    let t = thread::spawn(move || request(c, 77).0);
    wait_for(s, 1, 0);
    let mut small = Guarded::new();
    let mut rin = pack_in_raw(&mut small.msg, None);
    assert_eq!(recv(s, &mut rin), rcBufferTooSmall);
    assert_eq!(t.join().unwrap(), rcBufferTooSmall);
    assert!(small.guard_intact());
    assert_eq!(small.msg.iid, 0, "nothing written when it does not fit");
    assert_eq!(info(s), (0, 0), "the request was consumed");
    let resp = Msg::new(NK_MSG_KIND_RESPONSE, 0, "");
    assert_eq!(
        reply(s, &pack_out(&resp, None)),
        rcInvalidArgument,
        "nothing to answer"
    );

    // Arena bytes with no arena to receive them.
    let t = thread::spawn(move || {
        let req = Msg::new(NK_MSG_KIND_REQUEST, 1, "");
        let mut ra = ArenaBuf::new();
        ra.init(8);
        ra.store(b"12345678");
        let out = pack_out(&req, Some(&ra.arena));
        let mut resp = Msg::buffer();
        let mut inp = pack_in(&mut resp, None);
        call(c, &out, &mut inp)
    });
    let mut buf = Msg::buffer();
    let mut arena = ArenaBuf::new();
    arena.init(4);
    let mut rin = pack_in(&mut buf, Some(&mut arena.arena));
    assert_eq!(recv(s, &mut rin), rcBufferTooSmall);
    assert_eq!(t.join().unwrap(), rcBufferTooSmall);
    assert!(arena.tail_intact(0));
    close(c);
    close(s);
}

#[test]
fn a_request_too_large_for_a_waiting_receiver_is_refused_on_both_sides() {
    // The server waits first, so the caller hands the request over directly.
    let (c, s) = channel();
    let server = thread::spawn(move || {
        let mut small = Guarded::new();
        let mut rin = pack_in_raw(&mut small.msg, None);
        let rc = recv(s, &mut rin);
        (rc, small.guard_intact(), small.msg.iid)
    });
    wait_for(s, 0, 1);
    assert_eq!(request(c, 5).0, rcBufferTooSmall);
    assert_eq!(server.join().unwrap(), (rcBufferTooSmall, true, 0));
    assert_eq!(info(s), (0, 0));
    close(c);
    close(s);
}

#[test]
fn a_large_arena_reaches_a_waiting_receiver_intact() {
    const N: usize = 200 * 1024; // above the direct hand-off limit
    let (c, s) = channel();
    let server = thread::spawn(move || {
        let mut buf = Msg::buffer();
        let mut bytes = vec![0u8; N + 16];
        let mut arena = nk_arena {
            start: std::ptr::null_mut(),
            current: std::ptr::null_mut(),
            end: std::ptr::null_mut(),
        };
        // SAFETY: `bytes` outlives the arena's use.
        unsafe {
            kos_ipc_shim::host::arena::nk_arena_init(&mut arena, bytes.as_mut_ptr().cast(), N + 16)
        };
        let mut rin = pack_in(&mut buf, Some(&mut arena));
        assert_eq!(recv(s, &mut rin), rcOk);
        let used = arena.current as usize - arena.start as usize;
        assert_eq!(
            reply(s, &pack_out(&Msg::new(NK_MSG_KIND_RESPONSE, 0, ""), None)),
            rcOk
        );
        (
            used,
            bytes[..N]
                .iter()
                .enumerate()
                .all(|(i, &b)| b == (i % 251) as u8),
        )
    });
    wait_for(s, 0, 1);
    let mut data: Vec<u8> = (0..N).map(|i| (i % 251) as u8).collect();
    let arena = nk_arena {
        start: data.as_mut_ptr(),
        current: data.as_mut_ptr().wrapping_add(N),
        end: data.as_mut_ptr().wrapping_add(N),
    };
    let req = Msg::new(NK_MSG_KIND_REQUEST, 1, "big");
    let out = pack_out(&req, Some(&arena));
    let mut resp = Msg::buffer();
    let mut inp = pack_in(&mut resp, None);
    assert_eq!(call(c, &out, &mut inp), rcOk);
    assert_eq!(server.join().unwrap(), (N, true));
    close(c);
    close(s);
}

#[test]
fn a_response_too_large_for_the_caller_is_refused_on_both_sides() {
    let (c, s) = channel();
    let t = thread::spawn(move || {
        let req = Msg::new(NK_MSG_KIND_REQUEST, 1, "");
        let out = pack_out(&req, None);
        let mut small = Guarded::new();
        let mut inp = pack_in_raw(&mut small.msg, None);
        let rc = call(c, &out, &mut inp);
        (rc, small.guard_intact(), small.msg.iid)
    });
    let mut buf = Msg::buffer();
    let mut rin = pack_in(&mut buf, None);
    assert_eq!(recv(s, &mut rin), rcOk);
    let resp = Msg::new(NK_MSG_KIND_RESPONSE, 2, "too big");
    assert_eq!(reply(s, &pack_out(&resp, None)), rcBufferTooSmall);
    assert_eq!(t.join().unwrap(), (rcBufferTooSmall, true, 0));
    close(c);
    close(s);
}

#[test]
fn reply_needs_a_pending_request_on_a_server_handle() {
    let (c, s) = channel();
    let resp = Msg::new(NK_MSG_KIND_RESPONSE, 0, "");
    let out = pack_out(&resp, None);
    assert_eq!(reply(s, &out), rcInvalidArgument);
    assert_eq!(reply(c, &out), rcInvalidArgument);
    // Wrong handle kinds for Call and Recv.
    let sync = sync_object();
    assert_eq!(request(s, 1).0, rcInvalidArgument);
    assert_eq!(request(sync, 1).0, rcInvalidArgument);
    let mut buf = Msg::buffer();
    let mut rin = pack_in(&mut buf, None);
    assert_eq!(recv(c, &mut rin), rcInvalidArgument);
    assert_eq!(recv(sync, &mut rin), rcInvalidArgument);
    // A syncHandle that is not a sync object.
    assert_eq!(recv_ex(s, &mut rin, 0, c), rcInvalidArgument);
    let req = Msg::new(NK_MSG_KIND_REQUEST, 1, "");
    let mut resp_buf = Msg::buffer();
    let mut inp = pack_in(&mut resp_buf, None);
    assert_eq!(
        call_ex(c, &pack_out(&req, None), &mut inp, 0, s),
        rcInvalidArgument
    );
    close(sync);
    close(c);
    close(s);
}

#[test]
fn reply_after_the_caller_timed_out_is_not_connected_and_writes_nothing() {
    let (c, s) = channel();
    // The caller must time out *after* the server received its request; on
    // a loaded machine it may time out before, so retry until it happened.
    loop {
        let t = thread::spawn(move || {
            let req = Msg::new(NK_MSG_KIND_REQUEST, 1, "");
            let out = pack_out(&req, None);
            let mut resp = Msg::buffer();
            resp.value = 0xDEAD;
            let mut inp = pack_in(&mut resp, None);
            let rc = call_ex(c, &out, &mut inp, 30, INVALID_HANDLE);
            (rc, resp.value)
        });
        let mut buf = Msg::buffer();
        let mut rin = pack_in(&mut buf, None);
        let received = recv_ex(s, &mut rin, 1000, INVALID_HANDLE);
        assert_eq!(t.join().unwrap(), (rcTimeout, 0xDEAD));
        if received != rcOk {
            assert_eq!(received, rcTimeout);
            continue;
        }
        let resp = Msg::new(NK_MSG_KIND_RESPONSE, 0xBEEF, "");
        assert_eq!(reply(s, &pack_out(&resp, None)), rcNotConnected);
        break;
    }
    // The next call is unaffected by the stale request.
    let t = thread::spawn(move || request(c, 4));
    assert_eq!(serve_one(s).value, 4);
    assert_eq!(t.join().unwrap().0, rcOk);
    close(c);
    close(s);
}

#[test]
fn receiving_again_without_reply_gives_up_the_earlier_request() {
    let (c, s) = channel();
    let first = thread::spawn(move || request(c, 1).0);
    let mut buf = Msg::buffer();
    let mut rin = pack_in(&mut buf, None);
    assert_eq!(recv(s, &mut rin), rcOk);
    let second = thread::spawn(move || request(c, 2));
    assert_eq!(recv(s, &mut rin), rcOk);
    assert_eq!(buf.value, 2);
    assert_eq!(first.join().unwrap(), rcNotConnected);
    assert_eq!(
        reply(s, &pack_out(&Msg::new(NK_MSG_KIND_RESPONSE, 3, ""), None)),
        rcOk
    );
    assert_eq!(second.join().unwrap().0, rcOk);
    close(c);
    close(s);
}

#[test]
fn a_server_thread_ending_without_reply_disconnects_its_caller() {
    let (c, s) = channel();
    let t = thread::spawn(move || request(c, 1).0);
    thread::spawn(move || {
        let mut buf = Msg::buffer();
        let mut rin = pack_in(&mut buf, None);
        assert_eq!(recv(s, &mut rin), rcOk);
    })
    .join()
    .unwrap();
    assert_eq!(t.join().unwrap(), rcNotConnected);
    close(c);
    close(s);
}

#[test]
fn stale_and_foreign_handle_values_are_rejected() {
    let (c, s) = channel();
    close(c);
    close(s);
    let (c2, s2) = channel();
    assert_ne!((c, s), (c2, s2), "a reused slot gets a new generation");
    for h in [c, s, 0, INVALID_HANDLE, 0x1234_5FFF] {
        assert_eq!(request(h, 1).0, rcInvalidArgument, "handle {h:#x}");
        assert_eq!(KnHandleClose(h), rcInvalidArgument, "handle {h:#x}");
        assert_eq!(KnIpcSetInterrupt(h), rcInvalidArgument, "handle {h:#x}");
    }
    assert_eq!(
        KnIpcSetInterrupt(c2),
        rcInvalidArgument,
        "not a sync object"
    );
    assert_eq!(
        KnIpcClearInterrupt(s2),
        rcInvalidArgument,
        "not a sync object"
    );
    close(c2);
    close(s2);
}

#[test]
fn names_register_connect_and_free_on_close() {
    let name = c"host-test-service";
    let (mut s, mut s2, mut c) = (0, 0, 0);
    // SAFETY (all calls below): valid C strings and out-pointers, or NULL on purpose.
    unsafe {
        assert_eq!(kos_host_server_register(name.as_ptr(), &mut s), rcOk);
        assert_eq!(kos_host_server_register(name.as_ptr(), &mut s2), rcBusy);
        assert_eq!(
            kos_host_connect(c"host-test-nobody".as_ptr(), &mut c),
            rcNotConnected
        );
        assert_eq!(
            kos_host_connect(std::ptr::null(), &mut c),
            rcInvalidArgument
        );
        assert_eq!(
            kos_host_connect(name.as_ptr(), std::ptr::null_mut()),
            rcInvalidArgument
        );
        assert_eq!(kos_host_connect(c"".as_ptr(), &mut c), rcInvalidArgument);
        assert_eq!(
            kos_host_server_register(std::ptr::null(), &mut s2),
            rcInvalidArgument
        );
        assert_eq!(
            kos_host_channel_create(std::ptr::null_mut(), &mut s2),
            rcInvalidArgument
        );
        assert_eq!(
            KnIpcCreateSyncObject(std::ptr::null_mut()),
            rcInvalidArgument
        );
        assert_eq!(kos_host_connect(name.as_ptr(), &mut c), rcOk);
    }
    let t = thread::spawn(move || request(c, 20));
    assert_eq!(serve_one(s).value, 20);
    assert_eq!(
        t.join().unwrap(),
        (rcOk, Msg::new(NK_MSG_KIND_RESPONSE, 41, "resp"))
    );
    close(s);
    assert_eq!(request(c, 1).0, rcNotConnected);
    // SAFETY: valid C strings and out-pointers.
    unsafe {
        let mut gone = 0;
        assert_eq!(kos_host_connect(name.as_ptr(), &mut gone), rcNotConnected);
        assert_eq!(kos_host_server_register(name.as_ptr(), &mut s2), rcOk);
    }
    close(s2);
    close(c);
}

#[test]
fn many_threads_close_while_calls_are_in_flight_without_hanging() {
    // Clients keep calling with short timeouts while the server closes:
    // every call ends with one of the documented codes, none hangs.
    let (c, s) = channel();
    let start = Arc::new(Barrier::new(4));
    let clients: Vec<_> = (0..3)
        .map(|i| {
            let start = Arc::clone(&start);
            thread::spawn(move || {
                start.wait();
                loop {
                    let req = Msg::new(NK_MSG_KIND_REQUEST, i, "");
                    let out = pack_out(&req, None);
                    let mut resp = Msg::buffer();
                    let mut inp = pack_in(&mut resp, None);
                    match call_ex(c, &out, &mut inp, 5, INVALID_HANDLE) {
                        rc if rc == rcOk || rc == rcTimeout => {}
                        rc if rc == rcNotConnected => return,
                        rc => panic!("CallEx: {rc:#x}"),
                    }
                }
            })
        })
        .collect();
    start.wait();
    for _ in 0..200 {
        let mut buf = Msg::buffer();
        let mut rin = pack_in(&mut buf, None);
        if recv_ex(s, &mut rin, 5, INVALID_HANDLE) == rcOk {
            let r = reply(s, &pack_out(&Msg::new(NK_MSG_KIND_RESPONSE, 0, ""), None));
            assert!(r == rcOk || r == rcNotConnected, "Reply: {r:#x}");
        }
    }
    close(s);
    for t in clients {
        t.join().unwrap();
    }
    close(c);
}
