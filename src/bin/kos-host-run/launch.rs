//! Starting the entities and watching them.
//!
//! Each entity runs in its own process group (so a terminal's Ctrl-C
//! reaches the launcher alone, which then stops every entity, and an
//! entity's own children stop with it), stdin from `/dev/null`, stdout and
//! stderr through [`crate::output`], and `SIGTERM` should the launcher die
//! (`PR_SET_PDEATHSIG`: even a `kill -9` of the launcher leaves no entity
//! running). The launcher polls every 10 ms for exits, a signal, the
//! timeout.
//!
//! Stopping: `SIGTERM` to every running entity's process group, then after
//! the grace period `SIGKILL` (a second SIGINT/SIGTERM to the launcher
//! kills at once). Entities stopped that way are not failures.

use std::io;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::init::Entity;
use crate::output::{forward, Stream};

/// The last SIGINT/SIGTERM the launcher received (0: none since read).
static SIGNAL: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_signal(sig: libc::c_int) {
    SIGNAL.store(sig, Ordering::SeqCst);
}

/// Catch SIGINT and SIGTERM (the handler only stores the number).
pub fn catch_signals() -> io::Result<()> {
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: a zeroed sigaction is a valid value to fill; the handler
        // is async-signal-safe (one atomic store).
        let rc = unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as *const () as libc::sighandler_t;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut())
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

fn take_signal() -> Option<i32> {
    match SIGNAL.swap(0, Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}

/// `SIGTERM`, ... for messages.
fn signal_name(sig: i32) -> String {
    let name = match sig {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGILL => "SIGILL",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGALRM => "SIGALRM",
        libc::SIGTERM => "SIGTERM",
        _ => return format!("signal {sig}"),
    };
    name.to_string()
}

/// How the launcher ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every entity (or every `--main` one) exited 0.
    Done,
    /// An entity failed first: its status (128 + signal for a signal).
    Failed(i32),
    /// The launcher got this signal.
    Signal(i32),
    /// `--timeout` passed.
    Timeout,
    /// An entity could not be started.
    NotStarted,
}

impl Outcome {
    /// The launcher's exit status.
    pub fn code(&self) -> i32 {
        match self {
            Outcome::Done => 0,
            Outcome::Failed(c) => *c,
            Outcome::Signal(s) => 128 + s,
            Outcome::Timeout => 124,
            Outcome::NotStarted => 126,
        }
    }
}

/// What the launcher was asked for.
pub struct Options {
    /// Between SIGTERM and SIGKILL.
    pub grace: Duration,
    /// Stop everything and fail after this long.
    pub timeout: Option<Duration>,
    /// When all of these exited 0, stop the others and succeed.
    pub mains: Vec<String>,
}

struct Running {
    name: String,
    child: Child,
    status: Option<ExitStatus>,
}

/// `exited with status 3` / `died (signal 9)`, and the status it maps to.
fn describe(status: ExitStatus) -> (String, i32) {
    match (status.code(), status.signal()) {
        (Some(c), _) => (format!("exited with status {c}"), c),
        (None, Some(s)) => (format!("died (signal {s})"), 128 + s),
        _ => ("ended".to_string(), 1),
    }
}

fn say(msg: &str) {
    use std::io::Write as _;
    // A closed stderr must not stop the launcher from stopping the entities.
    let _ = writeln!(std::io::stderr().lock(), "kos-host-run: {msg}");
}

fn spawn(e: &Entity, env: &[(String, String)], done: &mpsc::Sender<()>) -> io::Result<Running> {
    let mut cmd = Command::new(&e.exe);
    cmd.args(&e.args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    // SAFETY: runs in the child between fork and exec, where only
    // async-signal-safe calls are allowed: prctl(2) is one, and it touches
    // no memory of the parent.
    unsafe {
        cmd.pre_exec(|| {
            // A launcher killed outright (SIGKILL) leaves no entity behind.
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
            Ok(())
        });
    }
    let mut child = cmd.spawn()?;
    if let Some(out) = child.stdout.take() {
        forward(out, &e.name, Stream::Out, done.clone())?;
    }
    if let Some(err) = child.stderr.take() {
        forward(err, &e.name, Stream::Err, done.clone())?;
    }
    Ok(Running {
        name: e.name.clone(),
        child,
        status: None,
    })
}

/// Send `sig` to the entity's process group (and to the entity itself,
/// should it have left the group).
fn signal(r: &Running, sig: i32) {
    let pid = r.child.id() as libc::pid_t;
    // SAFETY: kill(2) with a pid we spawned and have not reaped (status is
    // None), so neither it nor its group id has been reused; errors (ESRCH)
    // are harmless.
    unsafe {
        libc::kill(-pid, sig);
        libc::kill(pid, sig);
    }
}

/// Reap every entity that has exited; returns the first one that failed.
fn reap(run: &mut [Running]) -> Option<(String, ExitStatus)> {
    let mut failed = None;
    for r in run.iter_mut().filter(|r| r.status.is_none()) {
        if let Ok(Some(st)) = r.child.try_wait() {
            r.status = Some(st);
            if !st.success() && failed.is_none() {
                failed = Some((r.name.clone(), st));
            }
        }
    }
    failed
}

/// SIGTERM every running entity, SIGKILL those still there after `grace`.
fn stop_all(run: &mut [Running], grace: Duration) {
    for r in run.iter().filter(|r| r.status.is_none()) {
        signal(r, libc::SIGTERM);
    }
    let until = Instant::now() + grace;
    loop {
        reap(run);
        if run.iter().all(|r| r.status.is_some()) {
            return;
        }
        let again = take_signal().is_some();
        if again || Instant::now() >= until {
            for r in run.iter().filter(|r| r.status.is_none()) {
                if again {
                    say(&format!("{}: killed (SIGKILL) on a second signal", r.name));
                } else {
                    say(&format!(
                        "{} did not stop within {:.1} s of SIGTERM; killed (SIGKILL)",
                        r.name,
                        grace.as_secs_f64()
                    ));
                }
                signal(r, libc::SIGKILL);
            }
            for r in run.iter_mut().filter(|r| r.status.is_none()) {
                r.status = r.child.wait().ok();
            }
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Start every entity in file order, each with the environment `env_for`
/// gives on top of the launcher's, and watch them until the end; the
/// output threads are given up to a second after the last exit to flush.
pub fn run(
    entities: &[Entity],
    env_for: impl Fn(&Entity) -> Vec<(String, String)>,
    opt: &Options,
) -> Outcome {
    let started = Instant::now();
    let (done_tx, done_rx) = mpsc::channel();
    let mut run: Vec<Running> = Vec::with_capacity(entities.len());
    let mut pipes = 0;
    let mut outcome = None;
    for e in entities {
        match spawn(e, &env_for(e), &done_tx) {
            Ok(r) => {
                run.push(r);
                pipes += 2;
            }
            Err(err) => {
                say(&format!(
                    "{}: cannot start {}: {err}",
                    e.name,
                    e.exe.display()
                ));
                outcome = Some(Outcome::NotStarted);
                break;
            }
        }
    }
    drop(done_tx);
    let outcome = match outcome {
        Some(o) => {
            stop_all(&mut run, opt.grace);
            o
        }
        None => watch(&mut run, opt, started),
    };
    let until = Instant::now() + Duration::from_secs(1);
    for _ in 0..pipes {
        let left = until.saturating_duration_since(Instant::now());
        if done_rx.recv_timeout(left).is_err() {
            break;
        }
    }
    outcome
}

fn watch(run: &mut [Running], opt: &Options, started: Instant) -> Outcome {
    loop {
        if let Some(sig) = take_signal() {
            let live = run.iter().filter(|r| r.status.is_none()).count();
            say(&format!(
                "{}: stopping {live} running entit{}",
                signal_name(sig),
                if live == 1 { "y" } else { "ies" }
            ));
            stop_all(run, opt.grace);
            return Outcome::Signal(sig);
        }
        if let Some((name, st)) = reap(run) {
            let (what, code) = describe(st);
            say(&format!("{name} {what}"));
            stop_all(run, opt.grace);
            return Outcome::Failed(code);
        }
        if run.iter().all(|r| r.status.is_some()) {
            return Outcome::Done;
        }
        if !opt.mains.is_empty()
            && opt.mains.iter().all(|m| {
                run.iter()
                    .any(|r| &r.name == m && r.status.is_some_and(|s| s.success()))
            })
        {
            stop_all(run, opt.grace);
            return Outcome::Done;
        }
        if let Some(t) = opt.timeout {
            if started.elapsed() >= t {
                let live: Vec<&str> = run
                    .iter()
                    .filter(|r| r.status.is_none())
                    .map(|r| r.name.as_str())
                    .collect();
                say(&format!(
                    "timeout: still running after {} s: {}; stopping",
                    t.as_secs_f64(),
                    live.join(", ")
                ));
                stop_all(run, opt.grace);
                return Outcome::Timeout;
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Remove the shared-memory world `name` (`/name`); a world nobody created
/// is not an error.
pub fn remove_world(name: &str) -> io::Result<()> {
    let c = std::ffi::CString::new(format!("/{name}"))
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: `c` is a valid NUL-terminated string for the call's duration.
    if unsafe { libc::shm_unlink(c.as_ptr()) } == 0 {
        return Ok(());
    }
    let e = io::Error::last_os_error();
    if e.raw_os_error() == Some(libc::ENOENT) {
        Ok(())
    } else {
        Err(e)
    }
}
