//! The C library the program already links: everything the shim needs from
//! outside its own code, declared here and nowhere else.
//!
//! There is no Rust std for KasperskyOS, but its programs do have a C
//! library: the environment (`init.yaml`'s `env:`), files (through VFS),
//! stderr (the console), POSIX threads and exit hooks. The `no_std` core
//! reaches them through these declarations (feature `clib`, part of every
//! wrap build the Makefile makes); the host and preload builds use the same
//! functions, so each `KOS_SHIM_*` variable has one implementation in every
//! build. Only portable C and POSIX interfaces are used: stdio for files
//! (mode strings, not `O_*` values, which differ between C libraries),
//! descriptor 2 for stderr (the name `stderr` is a macro in some C
//! libraries), and no structure of the C library's besides `timespec`.
//!
//! Every function here is safe to call: the wrappers check their arguments
//! and turn C failures into `None`/`false`.
#![allow(non_camel_case_types)]

use core::ffi::{c_char, c_int, c_long, c_void, CStr};

/// stdio's `FILE`, only ever handled by pointer.
#[repr(C)]
pub struct FILE {
    _opaque: [u8; 0],
}

#[repr(C)]
struct Timespec {
    tv_sec: i64,
    tv_nsec: c_long,
}

/// Room for any C library's `pthread_t` (an integer or a pointer in every
/// C library the shim is built for).
type PthreadT = [u64; 2];

extern "C" {
    fn getenv(name: *const c_char) -> *const c_char;
    fn getpid() -> c_int;
    fn write(fd: c_int, buf: *const c_void, len: usize) -> isize;
    fn fopen(path: *const c_char, mode: *const c_char) -> *mut FILE;
    fn fwrite(buf: *const c_void, size: usize, n: usize, f: *mut FILE) -> usize;
    fn fread(buf: *mut c_void, size: usize, n: usize, f: *mut FILE) -> usize;
    fn fflush(f: *mut FILE) -> c_int;
    fn fclose(f: *mut FILE) -> c_int;
    #[link_name = "remove"]
    fn c_remove(path: *const c_char) -> c_int;
    fn atexit(f: extern "C" fn()) -> c_int;
    fn pthread_create(
        t: *mut PthreadT,
        attr: *const c_void,
        start: extern "C" fn(*mut c_void) -> *mut c_void,
        arg: *mut c_void,
    ) -> c_int;
    fn pthread_detach(t: u64) -> c_int;
    // Host builds only: KasperskyOS's C library has no fork() and no
    // pthread_atfork() (its documentation's POSIX limitations: "not
    // implemented"), so the wrap archive must not reference it.
    #[cfg(feature = "std")]
    fn pthread_atfork(
        prepare: Option<extern "C" fn()>,
        parent: Option<extern "C" fn()>,
        child: Option<extern "C" fn()>,
    ) -> c_int;
    fn nanosleep(req: *const Timespec, rem: *mut Timespec) -> c_int;
    fn clock_gettime(clock: c_int, ts: *mut Timespec) -> c_int;
    fn malloc(size: usize) -> *mut c_void;
    fn free(p: *mut c_void);
    fn posix_memalign(p: *mut *mut c_void, align: usize, size: usize) -> c_int;
    #[link_name = "mkdir"]
    fn c_mkdir(path: *const c_char, mode: core::ffi::c_uint) -> c_int;
    // Statistics: the table's zeroed memory, SIGUSR1 dumps.
    fn calloc(n: usize, size: usize) -> *mut c_void;
    fn signal(sig: c_int, handler: extern "C" fn(c_int)) -> usize;
}

/// `CLOCK_REALTIME`: 0 in every C library the shim is built for.
const CLOCK_REALTIME: c_int = 0;

/// A NUL-terminated copy of `s` in `buf`, or None when it does not fit or
/// `s` holds a NUL.
fn c_str<'b>(s: &str, buf: &'b mut [u8]) -> Option<&'b CStr> {
    if s.len() >= buf.len() || s.as_bytes().contains(&0) {
        return None;
    }
    buf[..s.len()].copy_from_slice(s.as_bytes());
    buf[s.len()] = 0;
    CStr::from_bytes_with_nul(&buf[..=s.len()]).ok()
}

/// The value of the environment variable `name`, if it is set and UTF-8.
///
/// The environment is read as the program started (the shim never sets
/// variables), so the value lives as long as the process.
pub fn env(name: &str) -> Option<&'static str> {
    let mut buf = [0u8; 64];
    let name = c_str(name, &mut buf)?;
    // SAFETY: `name` is NUL-terminated; getenv returns NULL or a
    // NUL-terminated string in the environment.
    let value = unsafe { getenv(name.as_ptr()) };
    if value.is_null() {
        return None;
    }
    // SAFETY: non-NULL and NUL-terminated (getenv's contract); the
    // environment is not changed while the shim runs.
    unsafe { CStr::from_ptr(value) }.to_str().ok()
}

/// This process's id.
pub fn pid() -> u32 {
    // SAFETY: getpid has no preconditions.
    unsafe { getpid() as u32 }
}

/// Write all of `bytes` to descriptor 2; false if the C library refused.
pub fn stderr(bytes: &[u8]) -> bool {
    write_fd(2, bytes)
}

/// `clock`'s time in nanoseconds (0 if unavailable).
fn clock_ns(clock: c_int) -> u64 {
    let mut ts = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid out-pointer.
    if unsafe { clock_gettime(clock, &mut ts) } != 0 {
        return 0;
    }
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Wall-clock time in nanoseconds since the Unix epoch (0 if unavailable).
pub fn wall_ns() -> u64 {
    clock_ns(CLOCK_REALTIME)
}

/// Sleep for `ms` milliseconds (less if a signal interrupts it).
pub fn sleep_ms(ms: u64) {
    let ts = Timespec {
        tv_sec: (ms / 1000) as i64,
        tv_nsec: ((ms % 1000) * 1_000_000) as c_long,
    };
    // SAFETY: `ts` is valid; no remainder is wanted.
    unsafe { nanosleep(&ts, core::ptr::null_mut()) };
}

/// Sleep for `ns` nanoseconds (less if a signal interrupts it).
pub fn sleep_ns(ns: u64) {
    let ts = Timespec {
        tv_sec: (ns / 1_000_000_000) as i64,
        tv_nsec: (ns % 1_000_000_000) as c_long,
    };
    // SAFETY: `ts` is valid; no remainder is wanted.
    unsafe { nanosleep(&ts, core::ptr::null_mut()) };
}

/// Run `f` when the process exits normally; false if the C library's table
/// of exit functions is full.
pub fn at_exit(f: extern "C" fn()) -> bool {
    // SAFETY: `f` is a plain function that lives as long as the program.
    unsafe { atexit(f) == 0 }
}

/// Run `child` in the child process after every `fork()` (in the only
/// thread the child has); false if the C library refused. Host builds
/// (std) only: KasperskyOS has no `fork()`.
#[cfg(feature = "std")]
pub fn at_fork_child(child: extern "C" fn()) -> bool {
    // SAFETY: a plain function pointer with the C calling convention.
    unsafe { pthread_atfork(None, None, Some(child)) == 0 }
}

/// Start a detached thread running `entry`; false if it could not start.
pub fn spawn(entry: fn()) -> bool {
    extern "C" fn trampoline(arg: *mut c_void) -> *mut c_void {
        // SAFETY: `arg` is the `fn()` that spawn passed, cast to a pointer.
        let entry: fn() = unsafe { core::mem::transmute::<*mut c_void, fn()>(arg) };
        entry();
        core::ptr::null_mut()
    }
    let mut t: PthreadT = [0; 2];
    let arg = entry as *mut c_void;
    // SAFETY: `t` has room for the thread id; default attributes; the
    // trampoline turns `arg` back into the function it came from.
    if unsafe { pthread_create(&mut t, core::ptr::null(), trampoline, arg) } != 0 {
        return false;
    }
    // SAFETY: `t` names the thread just created (its first word is the id
    // in the C libraries the shim is built for).
    unsafe { pthread_detach(t[0]) };
    true
}

/// A file opened through stdio, closed on drop.
pub struct File {
    f: *mut FILE,
}

// SAFETY: a FILE is internally locked by the C library; the shim moves
// files between its threads but never uses one from two threads at once.
unsafe impl Send for File {}

/// How to open a [`File`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Read.
    Read,
    /// Create or truncate, then write.
    Create,
    /// Create; fail if the file exists.
    CreateNew,
    /// Create if missing, then write at the end.
    Append,
}

/// Why a file operation failed: the C library's `errno` is not portable to
/// read, so only what was attempted is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileError {
    /// The path is too long or holds a NUL.
    BadPath,
    /// `fopen` failed (missing directory, no permission, exists for
    /// `CreateNew`, ...).
    Open,
    /// A write or flush failed (disk full, I/O error).
    Write,
    /// A read failed.
    Read,
}

impl core::fmt::Display for FileError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            FileError::BadPath => "path too long or not a C string",
            FileError::Open => "cannot open",
            FileError::Write => "write failed",
            FileError::Read => "read failed",
        })
    }
}

impl File {
    /// Open `path`.
    pub fn open(path: &str, mode: Mode) -> Result<File, FileError> {
        let mut buf = [0u8; 4096];
        let path = c_str(path, &mut buf).ok_or(FileError::BadPath)?;
        // `e`: close on exec (O_CLOEXEC), so a program that forks and execs
        // leaks none of the shim's files into the new image (glibc, musl).
        // Host builds only: the wrap archive's C library may be
        // KasperskyOS's, which has no exec and is not known to accept `e`.
        #[cfg(all(target_os = "linux", feature = "std"))]
        let mode: &CStr = match mode {
            Mode::Read => c"rbe",
            Mode::Create => c"wbe",
            Mode::CreateNew => c"wbxe",
            Mode::Append => c"abe",
        };
        #[cfg(not(all(target_os = "linux", feature = "std")))]
        let mode: &CStr = match mode {
            Mode::Read => c"rb",
            Mode::Create => c"wb",
            Mode::CreateNew => c"wbx",
            Mode::Append => c"ab",
        };
        // SAFETY: both strings are NUL-terminated.
        let f = unsafe { fopen(path.as_ptr(), mode.as_ptr()) };
        if f.is_null() {
            return Err(FileError::Open);
        }
        Ok(File { f })
    }

    /// Write all of `bytes` (buffered by stdio).
    pub fn write_all(&mut self, bytes: &[u8]) -> Result<(), FileError> {
        if bytes.is_empty() {
            return Ok(());
        }
        // SAFETY: `bytes` is valid for its length; `self.f` is open.
        let n = unsafe { fwrite(bytes.as_ptr().cast(), 1, bytes.len(), self.f) };
        if n == bytes.len() {
            Ok(())
        } else {
            Err(FileError::Write)
        }
    }

    /// Hand buffered bytes to the system.
    pub fn flush(&mut self) -> Result<(), FileError> {
        // SAFETY: `self.f` is open.
        if unsafe { fflush(self.f) } == 0 {
            Ok(())
        } else {
            Err(FileError::Write)
        }
    }

    /// Read up to `buf.len()` bytes; 0 at the end of the file.
    pub fn read(&mut self, buf: &mut [u8]) -> Result<usize, FileError> {
        // SAFETY: `buf` is writable for its length; `self.f` is open.
        let n = unsafe { fread(buf.as_mut_ptr().cast(), 1, buf.len(), self.f) };
        if n == 0 && !buf.is_empty() {
            // End of file or an error: one more zero-length answer tells
            // nothing, so both read as the end (stdio gives no portable
            // way to tell them apart without errno).
            return Ok(0);
        }
        Ok(n)
    }

    /// Close, reporting a failed final flush.
    pub fn close(mut self) -> Result<(), FileError> {
        let f = core::mem::replace(&mut self.f, core::ptr::null_mut());
        // SAFETY: `f` is open and closed exactly once (drop skips NULL).
        if unsafe { fclose(f) } == 0 {
            Ok(())
        } else {
            Err(FileError::Write)
        }
    }
}

impl Drop for File {
    fn drop(&mut self) {
        if !self.f.is_null() {
            // SAFETY: open, and closed only here.
            unsafe { fclose(self.f) };
        }
    }
}

/// Delete the file at `path`; false if it could not be.
pub fn remove(path: &str) -> bool {
    let mut buf = [0u8; 4096];
    let Some(path) = c_str(path, &mut buf) else {
        return false;
    };
    // SAFETY: `path` is NUL-terminated.
    unsafe { c_remove(path.as_ptr()) == 0 }
}

/// The whole file at `path`.
pub fn read_file(path: &str) -> Result<alloc::vec::Vec<u8>, FileError> {
    let mut f = File::open(path, Mode::Read)?;
    let mut out = alloc::vec::Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match f.read(&mut chunk)? {
            0 => return Ok(out),
            n => out.extend_from_slice(&chunk[..n]),
        }
    }
}

/// The whole file at `path` as UTF-8 text.
pub fn read_text(path: &str) -> Result<alloc::string::String, ReadTextError> {
    let bytes = read_file(path).map_err(ReadTextError::File)?;
    alloc::string::String::from_utf8(bytes).map_err(|e| ReadTextError::Utf8(e.into_bytes()))
}

/// Why [`read_text`] failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadTextError {
    /// Opening or reading failed.
    File(FileError),
    /// The bytes (returned) are not UTF-8.
    Utf8(alloc::vec::Vec<u8>),
}

impl core::fmt::Display for ReadTextError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ReadTextError::File(e) => write!(f, "{e}"),
            ReadTextError::Utf8(_) => f.write_str("not UTF-8 text"),
        }
    }
}

/// The process's heap through `malloc`/`free`: the global allocator of
/// builds with the C library but without std (std brings its own, which is
/// the same `malloc`).
pub struct CAlloc;

// SAFETY: malloc/posix_memalign return NULL or a block of at least `size`
// bytes aligned as asked; free releases what they returned.
unsafe impl core::alloc::GlobalAlloc for CAlloc {
    unsafe fn alloc(&self, layout: core::alloc::Layout) -> *mut u8 {
        // malloc's blocks are aligned for any fundamental type (16 bytes on
        // the 64-bit targets); larger alignments take posix_memalign.
        if layout.align() <= 16 {
            // SAFETY: any size is a valid request.
            return unsafe { malloc(layout.size().max(1)) }.cast();
        }
        let mut p = core::ptr::null_mut();
        // SAFETY: the alignment is a power of two and a multiple of a pointer's size.
        if unsafe { posix_memalign(&mut p, layout.align(), layout.size().max(1)) } != 0 {
            return core::ptr::null_mut();
        }
        p.cast()
    }

    unsafe fn dealloc(&self, p: *mut u8, _: core::alloc::Layout) {
        // SAFETY: `p` came from alloc above (GlobalAlloc's contract).
        unsafe { free(p.cast()) }
    }
}

/// Create the directory `path` (permissions 0777 less the umask); false if
/// it could not be made, which includes when it already exists (the C
/// library's reason, `errno`, is not portable to read).
pub fn mkdir(path: &str) -> bool {
    let mut buf = [0u8; 4096];
    let Some(path) = c_str(path, &mut buf) else {
        return false;
    };
    // SAFETY: `path` is NUL-terminated. `mode_t` is an unsigned int in the
    // C libraries the shim is built for.
    unsafe { c_mkdir(path.as_ptr(), 0o777) == 0 }
}

/// Create the directory `path` and its missing parents. Best effort:
/// whether the directory is usable shows when a file is created in it.
pub fn mkdir_all(path: &str) {
    for (i, c) in path.char_indices() {
        if c == '/' && i > 0 {
            mkdir(&path[..i]);
        }
    }
    mkdir(path.trim_end_matches('/'));
}

// The precompiled `alloc` of the Linux targets was built to unwind: a few of
// its functions (`format!`'s `format_inner`) keep landing pads that name
// `rust_eh_personality`, which only std defines. With the C library but
// without std (the wrap archive, `panic = "abort"`) nothing ever unwinds
// through them, so the name only has to resolve: a trap, defined LOCAL in
// the archive's one object (not exported; `make symbols-check`).
#[cfg(all(
    feature = "clib",
    not(feature = "std"),
    not(test),
    target_os = "linux",
    target_arch = "x86_64"
))]
core::arch::global_asm!(
    ".pushsection .text.kos_shim_no_unwind,\"ax\",@progbits",
    ".type rust_eh_personality,@function",
    "rust_eh_personality:",
    "ud2",
    ".popsection",
);
#[cfg(all(
    feature = "clib",
    not(feature = "std"),
    not(test),
    target_os = "linux",
    target_arch = "aarch64"
))]
core::arch::global_asm!(
    ".pushsection .text.kos_shim_no_unwind,\"ax\",%progbits",
    ".type rust_eh_personality,%function",
    "rust_eh_personality:",
    "brk #1",
    ".popsection",
);

/// `CLOCK_MONOTONIC`: 1 in the Linux C libraries and KasperskyOS's POSIX
/// layer.
const CLOCK_MONOTONIC: c_int = 1;

/// Monotonic time in nanoseconds (`clock_gettime(CLOCK_MONOTONIC)`; 0 if
/// unavailable).
pub fn monotonic_ns() -> u64 {
    clock_ns(CLOCK_MONOTONIC)
}

/// SIGUSR1's number in the Linux C libraries (glibc, musl) on x86-64 and
/// aarch64. Other systems number it differently, or have no signals: dumps
/// on a signal are for Linux C libraries.
pub const SIGUSR1: c_int = 10;

/// Run `handler` when signal `sig` arrives (C's `signal()`, which keeps the
/// handler installed and restarts interrupted calls in glibc and musl);
/// false if the C library refused. The handler runs in signal context: it
/// may only touch atomics.
pub fn on_signal(sig: c_int, handler: extern "C" fn(c_int)) -> bool {
    // SIG_ERR is (void (*)(int))-1 in every C library the shim is built for.
    const SIG_ERR: usize = usize::MAX;
    // SAFETY: `handler` is a plain function that lives as long as the
    // program; an unknown signal number is refused with SIG_ERR.
    unsafe { signal(sig, handler) != SIG_ERR }
}

/// `size` zeroed bytes aligned to `align` (a power of two), kept for the
/// life of the process; None if the heap has no room. `calloc` leaves fresh
/// memory as the system gave it (zero pages mapped on first touch in the
/// Linux C libraries), so a large table costs only the pages it uses.
pub fn zeroed_forever(size: usize, align: usize) -> Option<core::ptr::NonNull<u8>> {
    if !align.is_power_of_two() {
        return None;
    }
    let padded = size.checked_add(align - 1)?.max(1);
    // SAFETY: any size is a valid request; the block is never freed.
    let p = unsafe { calloc(1, padded) }.cast::<u8>();
    if p.is_null() {
        return None;
    }
    let skip = p.align_offset(align);
    // SAFETY: skip < align, so the aligned start and its `size` bytes lie
    // inside the `size + align - 1` bytes allocated.
    core::ptr::NonNull::new(unsafe { p.add(skip) })
}

/// Write all of `bytes` to descriptor `fd`; false if the C library refused.
pub fn write_fd(fd: c_int, bytes: &[u8]) -> bool {
    let mut rest = bytes;
    while !rest.is_empty() {
        // SAFETY: `rest` is a valid buffer of its length; a bad `fd` fails.
        let n = unsafe { write(fd, rest.as_ptr().cast(), rest.len()) };
        if n <= 0 {
            return false;
        }
        rest = &rest[n as usize..];
    }
    true
}

#[cfg(target_os = "linux")]
extern "C" {
    // `pthread_t` is an integer or a pointer, one word, in the Linux C
    // libraries (glibc, musl); other systems are not asked.
    fn pthread_self() -> usize;
    fn pthread_getname_np(t: usize, name: *mut c_char, len: usize) -> c_int;
}

/// Longest thread name kept (Linux allows 15 bytes; other systems more).
pub const THREAD_NAME_MAX: usize = 64;

/// The calling thread's name (`pthread_getname_np`); `None` where the C
/// library has no such call, on error, or when the name is empty.
pub fn thread_name() -> Option<alloc::string::String> {
    #[cfg(target_os = "linux")]
    {
        let mut buf = [0u8; THREAD_NAME_MAX];
        // SAFETY: `buf` is writable for its length; pthread_getname_np
        // writes at most that many bytes, NUL included, for the calling
        // thread (alive: it is us).
        let rc = unsafe { pthread_getname_np(pthread_self(), buf.as_mut_ptr().cast(), buf.len()) };
        if rc != 0 {
            return None;
        }
        let end = buf.iter().position(|&c| c == 0).unwrap_or(buf.len());
        clean_thread_name(&buf[..end])
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}

/// The name of thread `tid` of this process as the system shows it now
/// (Linux: `/proc/self/task/<tid>/comm`, which stays readable after the
/// thread renames itself and fails once it has exited); `None` elsewhere.
/// For threads other than the caller, whose `pthread_t` may be gone.
pub fn thread_name_of(tid: u64) -> Option<alloc::string::String> {
    #[cfg(target_os = "linux")]
    {
        // Linux thread ids are positive `pid_t`s; builds without std name
        // threads by `pthread_self` values, which /proc does not know.
        if tid == 0 || tid > i32::MAX as u64 {
            return None;
        }
        let bytes = read_file(&alloc::format!("/proc/self/task/{tid}/comm")).ok()?;
        let text = bytes.strip_suffix(b"\n").unwrap_or(&bytes);
        clean_thread_name(&text[..text.len().min(THREAD_NAME_MAX - 1)])
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = tid;
        None
    }
}

/// A thread name as text (invalid UTF-8 replaced); `None` when empty.
fn clean_thread_name(b: &[u8]) -> Option<alloc::string::String> {
    let s = alloc::string::String::from_utf8_lossy(b);
    (!s.is_empty()).then(|| s.into_owned())
}
