//! The run-time C backend table: `kos_shim_set_backend` copies the table,
//! rejects a table with a NULL entry, and NULL goes back to the default
//! backend (the host emulator here).
#![cfg(feature = "host")]

mod interpose_util;

use std::sync::atomic::{AtomicU64, Ordering};

use interpose_util::{in_hdr, out_hdr, Msg};
use kos_ipc_shim::abi::*;
use kos_ipc_shim::backend::table::{kos_shim_backend, kos_shim_set_backend};
use kos_ipc_shim::entry::{Call, CallEx, Recv, RecvEx, Reply};

static REACHED: [AtomicU64; 5] = [const { AtomicU64::new(0) }; 5];
/// What the table's functions return, so the test can tell who answered.
const TABLE_RC: Retcode = rcBusy;

unsafe extern "C" fn t_call(_: Handle, _: *const SMsgHdr, _: *mut SMsgHdr) -> Retcode {
    REACHED[0].fetch_add(1, Ordering::SeqCst);
    TABLE_RC
}
unsafe extern "C" fn t_call_ex(
    _: Handle,
    _: *const SMsgHdr,
    _: *mut SMsgHdr,
    _: u32,
    _: Handle,
) -> Retcode {
    REACHED[1].fetch_add(1, Ordering::SeqCst);
    TABLE_RC
}
unsafe extern "C" fn t_recv(_: Handle, _: *mut SMsgHdr) -> Retcode {
    REACHED[2].fetch_add(1, Ordering::SeqCst);
    TABLE_RC
}
unsafe extern "C" fn t_recv_ex(_: Handle, _: *mut SMsgHdr, _: u32, _: Handle) -> Retcode {
    REACHED[3].fetch_add(1, Ordering::SeqCst);
    TABLE_RC
}
unsafe extern "C" fn t_reply(_: Handle, _: *const SMsgHdr) -> Retcode {
    REACHED[4].fetch_add(1, Ordering::SeqCst);
    TABLE_RC
}

fn reached() -> [u64; 5] {
    std::array::from_fn(|i| REACHED[i].load(Ordering::SeqCst))
}

/// All five calls on an unknown handle; their return codes.
fn all_five() -> [Retcode; 5] {
    let req = Msg::request(1, 1);
    let out = out_hdr(&req);
    let mut resp = Msg::buffer();
    let mut inp = in_hdr(&mut resp);
    let h = 0x0BAD_0001;
    // SAFETY: headers pointing at live buffers.
    unsafe {
        [
            Call(h, &out, &mut inp),
            CallEx(h, &out, &mut inp, 10, INVALID_HANDLE),
            Recv(h, &mut inp),
            RecvEx(h, &mut inp, 10, INVALID_HANDLE),
            Reply(h, &out),
        ]
    }
}

#[test]
fn a_c_table_replaces_the_backend_and_null_restores_the_default() {
    let full = kos_shim_backend {
        call: Some(t_call),
        call_ex: Some(t_call_ex),
        recv: Some(t_recv),
        recv_ex: Some(t_recv_ex),
        reply: Some(t_reply),
    };
    // A NULL entry: rejected, nothing changes (the emulator still answers).
    let mut partial = full;
    partial.recv_ex = None;
    // SAFETY: a valid table.
    assert_eq!(unsafe { kos_shim_set_backend(&partial) }, rcInvalidArgument);
    let emulator = all_five();
    assert!(emulator.iter().all(|&rc| rc != TABLE_RC), "{emulator:?}");
    assert_eq!(reached(), [0; 5]);

    {
        // The table is copied: the struct may go away after the call.
        let temporary = full;
        // SAFETY: a valid table.
        assert_eq!(unsafe { kos_shim_set_backend(&temporary) }, rcOk);
    }
    assert_eq!(all_five(), [TABLE_RC; 5]);
    assert_eq!(reached(), [1; 5]);

    // NULL: back to the default backend; the table is not reached any more.
    // SAFETY: NULL is allowed.
    assert_eq!(unsafe { kos_shim_set_backend(std::ptr::null()) }, rcOk);
    assert_eq!(all_five(), emulator);
    assert_eq!(reached(), [1; 5]);
}
