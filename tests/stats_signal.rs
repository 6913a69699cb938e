//! `KOS_SHIM_STATS=json:PATH` with `KOS_SHIM_STATS_SIGNAL=1`: a SIGUSR1
//! makes the dump thread write the statistics to PATH while the program
//! runs. Its own process, so the environment is read here first.

use std::time::{Duration, Instant};

use kos_ipc_shim::abi::*;
use kos_ipc_shim::backend::{set_backend, Args, Backend};
use kos_ipc_shim::op::Op;
use kos_ipc_shim::stats;

struct Refuser;
impl Backend for Refuser {
    fn forward(&self, _op: Op, _args: &mut Args<'_>) -> Retcode {
        rcNotConnected
    }
    fn name(&self) -> &'static str {
        "refuser"
    }
}
static REFUSER: Refuser = Refuser;

#[repr(C, align(8))]
struct Buf([u8; 64]);

fn reply(n: usize) {
    let mut msg = Buf([0; 64]);
    let m = nk_message::new(3, 4, 24);
    // SAFETY: 8-aligned buffer larger than nk_message.
    unsafe { (msg.0.as_mut_ptr() as *mut nk_message).write(m) };
    // Filled by hand: descriptor 0 the 24-byte constant part, no arena.
    let mut out = SMsgHdr::ZERO;
    out.set_descs([
        IndirDesc {
            buf: msg.0.as_mut_ptr().cast(),
            size: 24,
        },
        IndirDesc::NONE,
    ]);
    for _ in 0..n {
        // SAFETY: a valid header whose buffer outlives the call.
        assert_eq!(
            unsafe { kos_ipc_shim::entry::Reply(77, &out) },
            rcNotConnected
        );
    }
}

/// Wait (bounded) until `path` holds a JSON document whose global call count is `calls`.
fn wait_for_dump(path: &std::path::Path, calls: u64) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(text) = std::fs::read_to_string(path) {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) {
                if v["global"]["calls"] == calls {
                    return v;
                }
            }
        }
        assert!(
            Instant::now() < deadline,
            "no dump with {calls} calls in {}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn sigusr1_dumps_to_the_configured_file() {
    let path = std::env::temp_dir().join(format!("kos-stats-signal-{}.json", std::process::id()));
    let _ = std::fs::remove_file(&path);
    // SAFETY (edition 2021: safe fn): no other thread reads the environment yet.
    std::env::set_var("KOS_SHIM_STATS", format!("json:{}", path.display()));
    std::env::set_var("KOS_SHIM_STATS_SIGNAL", "1");
    set_backend(&REFUSER).unwrap();
    assert_eq!(stats::level(), stats::Level::Timing);

    reply(7);
    // SAFETY: raise has no memory preconditions; the handler is installed.
    assert_eq!(unsafe { libc::raise(libc::SIGUSR1) }, 0);
    let v = wait_for_dump(&path, 7);
    let k = &v["keys"][0];
    assert_eq!(k["op"], "reply");
    assert_eq!(k["handle"], 77);
    assert_eq!((k["iid"].as_u64(), k["mid"].as_u64()), (Some(3), Some(4)));
    assert_eq!(k["calls"], 7);
    assert_eq!(k["rc"]["rcNotConnected"], 7);

    // A second signal rewrites the file with the new numbers.
    reply(5);
    // SAFETY: as above.
    assert_eq!(unsafe { libc::raise(libc::SIGUSR1) }, 0);
    let v = wait_for_dump(&path, 12);
    assert_eq!(v["keys"][0]["calls"], 12);
    let _ = std::fs::remove_file(&path);
}
