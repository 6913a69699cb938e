//! The handle table's fixed capacity. Its own test binary: it fills the
//! whole table, which would starve tests running beside it.

mod host_util;

use host_util::*;
use kos_ipc_shim::abi::*;
use kos_ipc_shim::host::exports::{kos_host_channel_create, KnHandleClose, KnIpcCreateSyncObject};

#[test]
fn the_table_holds_4096_handles_and_reuses_closed_slots() {
    let mut open = Vec::new();
    loop {
        let mut h = 0;
        // SAFETY: valid out-pointer.
        match unsafe { KnIpcCreateSyncObject(&mut h) } {
            rc if rc == rcOk => open.push(h),
            rc => {
                assert_eq!(rc, rcOutOfMemory);
                break;
            }
        }
    }
    assert_eq!(open.len(), 4096);
    // A channel needs two handles: with one free, nothing is left open.
    assert_eq!(KnHandleClose(open.pop().unwrap()), rcOk);
    let (mut c, mut s) = (0, 0);
    // SAFETY: valid out-pointers.
    assert_eq!(
        unsafe { kos_host_channel_create(&mut c, &mut s) },
        rcOutOfMemory
    );
    assert_eq!(KnHandleClose(open.pop().unwrap()), rcOk);
    let (c, s) = channel();
    assert_eq!(request_with_server(c, s), rcOk, "the freed slots work");
    for h in open.drain(..) {
        assert_eq!(KnHandleClose(h), rcOk);
    }
    close(c);
    close(s);
}

fn request_with_server(c: Handle, s: Handle) -> Retcode {
    let t = std::thread::spawn(move || serve_one(s).value);
    let (rc, resp) = request(c, 3);
    assert_eq!(t.join().unwrap(), 3);
    assert_eq!(resp.value, 7);
    rc
}
