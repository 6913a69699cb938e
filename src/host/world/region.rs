//! The shared region: its name under `/dev/shm`, mapping it (creating and
//! sizing it first if needed), and claiming a process slot in it.

use std::sync::atomic::Ordering;

use super::layout::{ProcWord, Shared, PROC_FREE, PROC_LIVE, WORLD_BYTES};
use super::liveness::Liveness;

/// `"/<name>"` as a C string, for a valid world name.
pub(crate) fn shm_path(name: &str) -> Result<std::ffi::CString, String> {
    let ok = !name.is_empty()
        && name.len() <= 200
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if !ok || name.starts_with('.') {
        return Err(format!(
            "KOS_HOST_WORLD={name:?}: use 1 to 200 letters, digits, '.', '_' or '-'"
        ));
    }
    std::ffi::CString::new(format!("/{name}")).map_err(|e| e.to_string())
}

/// Open (creating if needed) and map the region `name`.
pub(crate) fn map(name: &str) -> Result<&'static Shared, String> {
    let path = shm_path(name)?;
    let fail = |what: &str| {
        format!(
            "world {name:?}: {what}: {}",
            std::io::Error::last_os_error()
        )
    };
    // SAFETY: a NUL-terminated path; returns a new fd or -1.
    let fd = unsafe {
        libc::shm_open(
            path.as_ptr(),
            libc::O_RDWR | libc::O_CREAT | libc::O_CLOEXEC,
            0o600 as libc::mode_t,
        )
    };
    if fd < 0 {
        return Err(fail("shm_open"));
    }
    let mapped = (|| {
        // SAFETY: an fstat of our fd into a zeroed struct on our stack.
        let mut st: libc::stat = unsafe { core::mem::zeroed() };
        // SAFETY: as above.
        if unsafe { libc::fstat(fd, &mut st) } != 0 {
            return Err(fail("fstat"));
        }
        let size = st.st_size as u64;
        if size == 0 {
            // The first to attach sizes it; a racer doing the same is harmless.
            // SAFETY: ftruncate of our fd.
            if unsafe { libc::ftruncate(fd, WORLD_BYTES as libc::off_t) } != 0 {
                return Err(fail("ftruncate"));
            }
        } else if size != WORLD_BYTES as u64 {
            return Err(format!(
                "world {name:?} is {size} bytes, this build's layout is {WORLD_BYTES}"
            ));
        }
        // SAFETY: a new shared mapping of the whole file; the kernel picks
        // the address.
        let p = unsafe {
            libc::mmap(
                core::ptr::null_mut(),
                WORLD_BYTES,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(fail("mmap"));
        }
        // SAFETY: the mapping is WORLD_BYTES long, page-aligned (enough for
        // Shared's 64-byte alignment), never unmapped, and every field of
        // Shared is an atomic for which any bit pattern (zero in a new file)
        // is valid; other processes change it only through atomics too.
        Ok(unsafe { &*(p as *const Shared) })
    })();
    // SAFETY: our fd; the mapping keeps the file.
    unsafe { libc::close(fd) };
    mapped
}

/// Claim a free process slot, or that of a dead process.
pub(crate) fn claim_proc(shared: &Shared, live: &Liveness, pid: u32) -> Option<(usize, ProcWord)> {
    for (i, slot) in shared.procs.iter().enumerate() {
        let w = ProcWord(slot.word.load(Ordering::Acquire));
        let takeable = match w.state() {
            PROC_FREE => true,
            PROC_LIVE => !live.alive(shared, i, |now| now == w),
            _ => true, // corrupted: reuse it
        };
        if !takeable {
            continue;
        }
        // Nothing refers to the new word before `attach` returns, so the
        // start time may follow the claim.
        let mine = ProcWord::new(w.gen().wrapping_add(1), pid, PROC_LIVE);
        if slot
            .word
            .compare_exchange(w.0, mine.0, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
        {
            return Some((i, mine));
        }
    }
    None
}
