//! The outputs of a tracing session and the background drainer, through the
//! C library (feature `clib`): the same code in the host, preload and wrap
//! builds.
//!
//! One session at a time, behind a mutex that only consumers take (the
//! drainer, `flush`, `start`, `stop`); producers never touch it. Output
//! paths are claimed when the session starts (`outpath`: `%p`/`%t`/`%n`,
//! files created at once, a live process's file never clobbered), so an
//! unusable path is reported then, not at exit; a forked child's, when it
//! first has records (see `fork_child`). The drainer is a C-library
//! thread that holds the re-entrancy guard for its whole life, so whatever
//! IPC its output causes passes straight through the shim untraced. At exit
//! the session is drained and closed, and one line says how many records
//! were lost, if any.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};

use super::ctf::CtfWriter;
use super::json::JsonWriter;
use super::kst::{Header, KstWriter};
use super::record::KosShimTraceRecord as Record;
use super::threads::Tracker;
use super::{capi, parse_item, pool, text, SpecItem, MAX_PAYLOAD, OFF, ON, PAYLOAD, STATE};
use crate::abi::{rcFail, Retcode};
use crate::names::NameMap;
use crate::say::Level;
use crate::sys::{self, File, Mode};

/// What the messages about tracing start with.
const WHAT: &str = "KOS_SHIM_TRACE";

enum Out {
    Stderr,
    Kst(KstWriter<File>),
    Json(JsonWriter<File>),
    Ctf(CtfWriter),
}

struct Sink {
    /// The output as the user named it (`file:/tmp/t-123.kst`).
    what: String,
    out: Out,
    failed: bool,
}

struct Session {
    /// The spec it was started with (a forked child starts its own from it).
    spec: String,
    sinks: Vec<Sink>,
    names: NameMap,
    origin_ns: u64,
    threads: Tracker,
}

/// Waiting for the session lock sleeps: the holder may be writing files.
struct Nap;

impl spin::RelaxStrategy for Nap {
    fn relax() {
        sys::sleep_ms(1);
    }
}

static SESSION: spin::mutex::SpinMutex<Option<Session>, Nap> = spin::mutex::SpinMutex::new(None);

/// A forked child's session before it has anything to write: the spec and
/// the header taken at the fork (its time origin precedes every record of
/// the child). The first pass, flush or stop that finds records opens it
/// ([`open_deferred`]); a child that execs or dies first leaves no file.
/// Taken only with [`SESSION`] held.
static DEFERRED: spin::Mutex<Option<(String, Header)>> = spin::Mutex::new(None);
/// A ring is half full: the drainer should come at once.
static WAKE: AtomicBool = AtomicBool::new(false);
/// Whether the drainer thread runs (false also when it could not start).
static DRAINER: spin::Once<bool> = spin::Once::new();

/// `name` from the environment as a number in `min..=max`; `default` when
/// unset, empty, or not such a number (said on stderr).
fn env_number(name: &str, default: usize, min: usize, max: usize) -> usize {
    match sys::env(name) {
        None => default,
        Some(v) if v.trim().is_empty() => default,
        Some(v) => match v.trim().parse::<usize>() {
            Ok(n) if (min..=max).contains(&n) => n,
            _ => {
                crate::say!(
                    Level::Warn,
                    "{name}={v:?} is not a number in {min}..={max}; using {default}"
                );
                default
            }
        },
    }
}

/// Ring size and payload capture from the environment (once, before any ring).
pub(super) fn configure_from_env() {
    let cap = env_number("KOS_SHIM_TRACE_BUF", 4096, 2, 1 << 20).next_power_of_two();
    pool::CAPACITY.store(cap, Ordering::Relaxed);
    let payload = env_number("KOS_SHIM_TRACE_PAYLOAD", 0, 0, MAX_PAYLOAD);
    PAYLOAD.store(payload, Ordering::Relaxed);
    // A Call's slot holds its request and its response: four parts.
    pool::STRIDE.store(4 * payload, Ordering::Relaxed);
    super::filter::configure_from_env();
}

/// Start the session `KOS_SHIM_TRACE` asks for, if any. Each malformed
/// output is named with the valid words and left out; the others run (a
/// typo in one does not turn off the rest). Empty items are skipped. `off`
/// with other outputs is contradictory: tracing is off. An output whose path
/// is unusable is named (by `outpath`) and left out; the others run.
pub(super) fn start_from_env() {
    let Some(spec) = sys::env(WHAT) else {
        return;
    };
    let spec = spec.trim();
    if spec.is_empty() || spec == "off" {
        return;
    }
    // Empty items (`stderr,`, `a,,b`) separate nothing, as in KOS_SHIM_STATS.
    let items: Vec<&str> = spec.split(',').filter(|i| !i.trim().is_empty()).collect();
    if items.iter().all(|i| i.trim() == "off") {
        return;
    }
    if items.iter().any(|i| i.trim() == "off") {
        if let Err(why) = super::explain_spec(&items.join(",")) {
            crate::say!(Level::Error, "{WHAT}={spec:?}: {why}; tracing is off");
        }
        return;
    }
    let mut good = String::new();
    let mut bad = Vec::new();
    for item in items {
        match super::explain_spec(item) {
            Ok(()) => {
                if !good.is_empty() {
                    good.push(',');
                }
                good.push_str(item.trim());
            }
            Err(why) => bad.push(why),
        }
    }
    for why in &bad {
        if good.is_empty() {
            crate::say!(Level::Error, "{WHAT}={spec:?}: {why}; tracing is off");
        } else {
            crate::say!(
                Level::Error,
                "{WHAT}={spec:?}: {why}; left out, tracing to {good}"
            );
        }
    }
    if !good.is_empty() {
        let _ = start_outputs(&good, false);
    }
}

/// Claim `item`'s path and open its writer. Err: said on stderr.
fn open(item: SpecItem<'_>, header: &Header) -> Result<Option<Sink>, ()> {
    let file = |template: &str| -> Result<(String, File), ()> {
        let path = crate::outpath::claim(template, WHAT).map_err(|_| ())?;
        match File::open(&path, Mode::Create) {
            Ok(f) => Ok((path, f)),
            Err(e) => {
                crate::say!(
                    Level::Error,
                    "{WHAT}: cannot write {path} ({e}); this output is off"
                );
                Err(())
            }
        }
    };
    let failed = |what: &str, e: super::bytes::WriteError| -> Result<Option<Sink>, ()> {
        crate::say!(Level::Error, "{WHAT}: {what}: {e}; this output is off");
        Err(())
    };
    let (what, out) = match item {
        SpecItem::Off | SpecItem::Callback => return Ok(None),
        SpecItem::Stderr => {
            text::ensure_logger();
            (String::from("stderr"), Out::Stderr)
        }
        SpecItem::Kst(p) => {
            let (path, f) = file(p)?;
            let what = format!("file:{path}");
            match KstWriter::new(f, header) {
                Ok(w) => (what, Out::Kst(w)),
                Err(e) => return failed(&what, e),
            }
        }
        SpecItem::Json(p) => {
            let (path, f) = file(p)?;
            let what = format!("json:{path}");
            match JsonWriter::new(f, header.pid, 0, header.names.clone()) {
                Ok(w) => (what, Out::Json(w)),
                Err(e) => return failed(&what, e),
            }
        }
        SpecItem::Ctf(d) => {
            let dir = crate::outpath::claim_dir(d, "metadata", WHAT).map_err(|_| ())?;
            let what = format!("ctf:{dir}");
            match CtfWriter::create(
                &dir,
                header.pid,
                header.start_ns,
                header.wall_ns,
                header.names.clone(),
            ) {
                Ok(w) => (what, Out::Ctf(w)),
                Err(e) => return failed(&what, e),
            }
        }
    };
    crate::say!(Level::Info, "tracing to {what}");
    Ok(Some(Sink {
        what,
        out,
        failed: false,
    }))
}

/// Replace the running session with one for `spec` (already checked); an
/// output that cannot be opened fails it all (`kos_shim_trace_start`).
pub(super) fn start(spec: &str) -> Result<(), Retcode> {
    start_outputs(spec, true)
}

/// [`start`]; unless `all`, outputs that cannot be opened are left out
/// (each was named on stderr) and tracing runs if any output is left.
fn start_outputs(spec: &str, all: bool) -> Result<(), Retcode> {
    let _inside = crate::guard::enter();
    let mut g = SESSION.lock();
    if let Some(old) = g.take() {
        STATE.store(OFF, Ordering::Release);
        finish(old);
    }
    // A child's deferred session is replaced, unopened.
    DEFERRED.lock().take();
    // Records pushed by threads that raced the last stop (they saw tracing on
    // just before it ended) missed its final drain: they belong to no
    // session. Counted as lost, never written into this one.
    let stale = super::drain_all(&mut |_, _| {});
    super::count_sink_lost(stale);
    *g = Some(open_session(spec, all, header_now())?);
    drop(g);
    // Records carry start/end: the pipeline must read the clock (stats may not).
    crate::clock::need(crate::clock::User::Trace, true);
    STATE.store(ON, Ordering::Release);
    super::publish();
    ensure_drainer();
    ensure_atexit();
    Ok(())
}

/// The header of a session starting now.
fn header_now() -> Header {
    Header::now(
        PAYLOAD.load(Ordering::Relaxed) as u32,
        crate::names::global().clone(),
    )
}

/// Open the outputs of `spec` with `header`; unless `all`, outputs that
/// cannot be opened are left out (each was named on stderr).
fn open_session(spec: &str, all: bool, header: Header) -> Result<Session, Retcode> {
    let mut sinks = Vec::new();
    let mut callback = false;
    for item in spec.split(',') {
        let item = parse_item(item)?;
        callback |= item == SpecItem::Callback;
        match open(item, &header) {
            Ok(Some(sink)) => sinks.push(sink),
            Ok(None) => {}
            Err(()) if !all => {}
            Err(()) => {
                for s in sinks {
                    close(s);
                }
                return Err(rcFail);
            }
        }
    }
    if sinks.is_empty() && !callback {
        // Every output was left out: nothing would see a record.
        return Err(rcFail);
    }
    Ok(Session {
        spec: String::from(spec),
        sinks,
        origin_ns: header.start_ns,
        names: header.names,
        threads: Tracker::default(),
    })
}

/// With `g` (the session lock) held: open a forked child's deferred session
/// once the rings hold records or lost some (see [`DEFERRED`]).
fn open_deferred(g: &mut Option<Session>) {
    if g.is_some() {
        return;
    }
    let mut d = DEFERRED.lock();
    if d.is_none() {
        return;
    }
    let mut waiting = super::lost() > 0;
    pool::for_each(&mut |r, _| waiting |= !r.is_empty());
    if !waiting {
        return;
    }
    let Some((spec, header)) = d.take() else {
        return;
    };
    drop(d);
    // Outputs that cannot be opened were named on stderr; with none left
    // the child's records are counted lost as they are drained.
    *g = open_session(&spec, false, header).ok();
}

/// Report a failed output once; its later records count as lost.
fn failed(s: &mut Sink, e: super::bytes::WriteError) {
    crate::say!(
        Level::Error,
        "{WHAT}: {}: {e}; its later records are counted as lost",
        s.what
    );
    s.failed = true;
}

/// Tell the outputs that keep names that thread `tid` is called `name`
/// (text lines look it up when written).
fn announce(sinks: &mut [Sink], tid: u64, name: &str) {
    for s in sinks.iter_mut().filter(|s| !s.failed) {
        let r = match &mut s.out {
            Out::Stderr => Ok(()),
            Out::Kst(w) => w.write_thread_name(tid, name),
            Out::Json(w) => w.thread_name(tid, name),
            Out::Ctf(w) => {
                w.thread_name(tid, name);
                Ok(())
            }
        };
        if let Err(e) = r {
            failed(s, e);
        }
    }
}

fn deliver(session: &mut Session, cb: &capi::Callback, rec: &Record, payload: &[u8]) {
    let Session {
        sinks,
        names,
        origin_ns,
        threads,
        ..
    } = session;
    threads.on_record(rec.thread, &mut |tid, name| announce(sinks, tid, name));
    for s in sinks.iter_mut() {
        if s.failed {
            super::count_sink_lost(1);
            continue;
        }
        let r = match &mut s.out {
            Out::Stderr => {
                text::log_record(rec, payload, names, threads.names(), *origin_ns);
                Ok(())
            }
            Out::Kst(w) => w.write(rec, payload),
            Out::Json(w) => w.write(rec, payload),
            Out::Ctf(w) => w.write(rec, payload),
        };
        if let Err(e) = r {
            failed(s, e);
            super::count_sink_lost(1);
        }
    }
    cb.deliver(rec, payload);
}

/// Drain every ring to the outputs, in time order across threads within
/// the pass ([`super::drain_all`]); first re-read the names of threads
/// that had records (every [`super::threads::REFRESH_NS`]; with `last`,
/// of every thread seen: the session ends).
fn drain(session: &mut Session, last: bool) -> u64 {
    let now = crate::clock::ticks_to_ns(crate::clock::now());
    let sinks = &mut session.sinks;
    session
        .threads
        .refresh(now, last, &mut |tid, name| announce(sinks, tid, name));
    let cb = capi::callback();
    super::drain_all(&mut |r, p| deliver(session, &cb, r, p))
}

fn flush_sinks(session: &mut Session) {
    for s in session.sinks.iter_mut().filter(|s| !s.failed) {
        let r = match &mut s.out {
            Out::Stderr => Ok(()),
            Out::Kst(w) => w.flush(),
            Out::Json(w) => w.flush(),
            Out::Ctf(w) => w.flush(),
        };
        if let Err(e) = r {
            failed(s, e);
        }
    }
}

fn close(s: Sink) {
    let r = match s.out {
        Out::Stderr => Ok(()),
        Out::Kst(w) => w.finish().and_then(|f| Ok(f.close()?)),
        Out::Json(w) => w.finish().and_then(|f| Ok(f.close()?)),
        Out::Ctf(w) => w.finish(),
    };
    if let Err(e) = r {
        crate::say!(Level::Error, "{WHAT}: {}: {e}", s.what);
    }
}

fn finish(mut session: Session) {
    drain(&mut session, true);
    for s in session.sinks {
        close(s);
    }
}

/// Drain now; the number of call records delivered.
pub(super) fn flush() -> u64 {
    let mut g = SESSION.lock();
    open_deferred(&mut g);
    match g.as_mut() {
        Some(s) => {
            let n = drain(s, false);
            flush_sinks(s);
            n
        }
        None => 0,
    }
}

/// Drain and close the session (STATE is already OFF).
pub(super) fn stop() {
    let _inside = crate::guard::enter();
    let old = {
        let mut g = SESSION.lock();
        open_deferred(&mut g);
        DEFERRED.lock().take();
        g.take()
    };
    if let Some(s) = old {
        finish(s);
    }
}

/// Ask the drainer for an early pass (a ring is half full): one store, it
/// looks every millisecond.
#[inline]
pub(super) fn wake() {
    WAKE.store(true, Ordering::Relaxed);
}

fn ensure_drainer() {
    DRAINER.call_once(|| {
        let running = sys::spawn(drainer);
        if !running {
            crate::say!(
                Level::Error,
                "{WHAT}: the drainer thread could not start; records move only on kos_shim_trace_flush() and at exit"
            );
        }
        running
    });
}

/// The drainer's pass interval when the last pass found records, and when
/// it found none (ms); it looks for a wake-up every millisecond.
const BUSY_MS: u32 = 1;
const IDLE_MS: u32 = 20;

fn drainer() {
    // Everything this thread does is the shim's own work: never traced.
    let _inside = crate::guard::enter();
    loop {
        WAKE.store(false, Ordering::Relaxed);
        let n = {
            let mut g = SESSION.lock();
            open_deferred(&mut g);
            match g.as_mut() {
                Some(s) => {
                    let n = drain(s, false);
                    if n > 0 {
                        flush_sinks(s);
                    }
                    n
                }
                None => 0,
            }
        };
        let pause = if n > 0 { BUSY_MS } else { IDLE_MS };
        for _ in 0..pause {
            sys::sleep_ms(1);
            if WAKE.load(Ordering::Relaxed) {
                break;
            }
        }
    }
}

/// In a forked child (`crate::fork`, after the rings were emptied): the
/// parent's session is the parent's (its files, with bytes it has not
/// written yet, and its drainer, which the child does not have). The child
/// forgets it without a write. Its own session, from the same spec, is
/// opened when it first has records to write ([`DEFERRED`]: a child that
/// execs at once leaves no file behind); paths are claimed then (`%p` is
/// the child's id; a path without one becomes `<path>.<pid>`). Tracing
/// stays on, and the child gets a drainer thread of its own.
pub(super) fn fork_child() {
    if SESSION.is_locked() {
        // SAFETY: the child has one thread, this one, which is not inside a
        // drain (it called fork() from the program); the holder, the
        // drainer or another consumer of the parent, is gone.
        unsafe { SESSION.force_unlock() };
    }
    if DEFERRED.is_locked() {
        // SAFETY: as above (taken only under SESSION).
        unsafe { DEFERRED.force_unlock() };
    }
    let mut g = SESSION.lock();
    // A session the parent had not opened yet (it was a forked child
    // itself) carries on as the child's.
    let spec = match g.take() {
        Some(old) => {
            let spec = old.spec.clone();
            // Not finished or closed: that would write the parent's
            // buffered bytes (and a trailer) into the parent's files.
            core::mem::forget(old);
            spec
        }
        None => match DEFERRED.lock().take() {
            Some((spec, _)) => spec,
            None => return,
        },
    };
    *DEFERRED.lock() = Some((spec, header_now()));
    drop(g);
    if DRAINER.get() == Some(&true) && !sys::spawn(drainer) {
        crate::say!(
            Level::Error,
            "{WHAT}: the forked child's drainer thread could not start; records move only on kos_shim_trace_flush() and at exit"
        );
    }
}

extern "C" fn at_exit() {
    let _inside = crate::guard::enter();
    super::stop();
    let lost = super::lost();
    if lost > 0 {
        crate::say!(
            Level::Warn,
            "{WHAT}: {lost} trace records were lost (rings full: a larger KOS_SHIM_TRACE_BUF keeps more; or an output failed)"
        );
    }
}

fn ensure_atexit() {
    static ONCE: spin::Once<()> = spin::Once::new();
    ONCE.call_once(|| {
        if !sys::at_exit(at_exit) {
            crate::say!(
                Level::Error,
                "{WHAT}: atexit failed; call kos_shim_trace_stop() before exit"
            );
        }
    });
}
