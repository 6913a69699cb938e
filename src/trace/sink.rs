//! std: the sinks of a tracing session and the background drainer.
//!
//! One session at a time, behind a mutex that only consumers take (the
//! drainer, `flush`, `start`, `stop`); producers never touch it. The drainer
//! thread holds the re-entrancy guard for its whole life, so whatever IPC its
//! output causes passes straight through the shim untraced.

use std::fs::File;
use std::io::BufWriter;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use super::ctf::CtfWriter;
use super::json::JsonWriter;
use super::kst::{Header, KstWriter};
use super::record::KosShimTraceRecord as Record;
use super::{capi, parse_item, pool, text, SpecItem, MAX_PAYLOAD, OFF, ON, PAYLOAD, STATE};
use crate::abi::{rcFail, Retcode};
use crate::names::NameMap;

enum Out {
    Stderr,
    Kst(KstWriter<BufWriter<File>>),
    Json(JsonWriter<BufWriter<File>>),
    Ctf(CtfWriter),
}

struct Sink {
    what: String,
    out: Out,
    failed: bool,
}

struct Session {
    sinks: Vec<Sink>,
    names: NameMap,
    origin_ns: u64,
}

static SESSION: Mutex<Option<Session>> = Mutex::new(None);
static WAKE: AtomicBool = AtomicBool::new(false);
static DRAINER: OnceLock<Option<std::thread::Thread>> = OnceLock::new();

fn lock() -> MutexGuard<'static, Option<Session>> {
    SESSION.lock().unwrap_or_else(|e| e.into_inner())
}

fn env_number(name: &str, default: usize, min: usize, max: usize) -> usize {
    match std::env::var(name) {
        Err(_) => default,
        Ok(v) if v.trim().is_empty() => default,
        Ok(v) => match v.trim().parse::<usize>() {
            Ok(n) if (min..=max).contains(&n) => n,
            _ => {
                eprintln!(
                    "kos_ipc: {name}={v:?} is not a number in {min}..={max}; using {default}"
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
    pool::STRIDE.store(2 * payload, Ordering::Relaxed);
}

/// Start the session `KOS_SHIM_TRACE` asks for, if any.
pub(super) fn start_from_env() {
    let Ok(spec) = std::env::var("KOS_SHIM_TRACE") else {
        return;
    };
    let spec = spec.trim();
    if spec.is_empty() || spec == "off" {
        return;
    }
    if let Err(rc) = super::check_spec(spec).and_then(|_| start(spec)) {
        eprintln!(
            "kos_ipc: KOS_SHIM_TRACE={spec:?} not started ({}); tracing is off",
            text::rc_name(rc)
        );
    }
}

fn open(item: SpecItem<'_>, header: &Header) -> std::io::Result<Option<Out>> {
    let create = |p: &str| File::create(p).map(BufWriter::new);
    Ok(Some(match item {
        SpecItem::Off | SpecItem::Callback => return Ok(None),
        SpecItem::Stderr => {
            text::ensure_logger();
            Out::Stderr
        }
        SpecItem::Kst(p) => Out::Kst(KstWriter::new(create(p)?, header)?),
        SpecItem::Json(p) => Out::Json(JsonWriter::new(
            create(p)?,
            header.pid,
            0,
            header.names.clone(),
        )?),
        SpecItem::Ctf(d) => Out::Ctf(CtfWriter::create(
            std::path::Path::new(d),
            header.pid,
            header.start_ns,
            header.wall_ns,
            header.names.clone(),
        )?),
    }))
}

/// Replace the running session with one for `spec` (already checked).
pub(super) fn start(spec: &str) -> Result<(), Retcode> {
    let mut g = lock();
    if let Some(old) = g.take() {
        STATE.store(OFF, Ordering::Release);
        finish(old);
    }
    // Records pushed by threads that raced the last stop (they saw tracing on
    // just before it ended) missed its final drain: they belong to no
    // session. Counted as lost, never written into this one.
    let stale = super::drain_all(&mut |_, _| {});
    super::count_sink_lost(stale);
    let names = crate::names::global().clone();
    let header = Header::now(PAYLOAD.load(Ordering::Relaxed) as u32, names.clone());
    let mut sinks = Vec::new();
    for item in spec.split(',') {
        let item = parse_item(item)?;
        match open(item, &header) {
            Ok(Some(out)) => sinks.push(Sink {
                what: format!("{item:?}"),
                out,
                failed: false,
            }),
            Ok(None) => {}
            Err(e) => {
                eprintln!("kos_ipc: trace sink {item:?}: {e}; tracing is off");
                for s in sinks {
                    close(s);
                }
                return Err(rcFail);
            }
        }
    }
    *g = Some(Session {
        sinks,
        names,
        origin_ns: header.start_ns,
    });
    drop(g);
    // Records carry start/end: the pipeline must read the clock (stats may not).
    crate::clock::need(crate::clock::User::Trace, true);
    STATE.store(ON, Ordering::Release);
    crate::layers::refresh();
    ensure_drainer();
    ensure_atexit();
    Ok(())
}

fn deliver(session: &mut Session, cb: &capi::Callback, rec: &Record, payload: &[u8]) {
    for s in session.sinks.iter_mut() {
        if s.failed {
            super::count_sink_lost(1);
            continue;
        }
        let r = match &mut s.out {
            Out::Stderr => {
                text::log_record(rec, payload, &session.names, session.origin_ns);
                Ok(())
            }
            Out::Kst(w) => w.write(rec, payload),
            Out::Json(w) => w.write(rec, payload),
            Out::Ctf(w) => w.write(rec, payload),
        };
        if let Err(e) = r {
            eprintln!(
                "kos_ipc: trace sink {}: {e}; its later records are counted as lost",
                s.what
            );
            s.failed = true;
            super::count_sink_lost(1);
        }
    }
    cb.deliver(rec, payload);
}

fn drain(session: &mut Session) -> u64 {
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
            eprintln!("kos_ipc: trace sink {}: {e}", s.what);
            s.failed = true;
        }
    }
}

fn close(s: Sink) {
    let r = match s.out {
        Out::Stderr => Ok(()),
        Out::Kst(mut w) => w.flush(),
        Out::Json(w) => w.finish().map(|_| ()),
        Out::Ctf(w) => w.finish(),
    };
    if let Err(e) = r {
        eprintln!("kos_ipc: trace sink {}: {e}", s.what);
    }
}

fn finish(mut session: Session) {
    drain(&mut session);
    for s in session.sinks {
        close(s);
    }
}

/// Drain now; the number of call records delivered.
pub(super) fn flush() -> u64 {
    let mut g = lock();
    match g.as_mut() {
        Some(s) => {
            let n = drain(s);
            flush_sinks(s);
            n
        }
        None => 0,
    }
}

/// Drain and close the session (STATE is already OFF).
pub(super) fn stop() {
    let _inside = crate::guard::enter();
    let old = lock().take();
    if let Some(s) = old {
        finish(s);
    }
}

/// Ask the drainer for an early pass (the ring is half full).
pub(super) fn wake() {
    if !WAKE.swap(true, Ordering::Relaxed) {
        if let Some(Some(t)) = DRAINER.get() {
            t.unpark();
        }
    }
}

fn ensure_drainer() {
    DRAINER.get_or_init(|| {
        match std::thread::Builder::new()
            .name("kos-ipc-trace".into())
            .spawn(drainer)
        {
            Ok(h) => Some(h.thread().clone()),
            Err(e) => {
                eprintln!(
                    "kos_ipc: trace drainer thread: {e}; records move only on kos_shim_trace_flush()"
                );
                None
            }
        }
    });
}

fn drainer() {
    // Everything this thread does is the shim's own work: never traced.
    let _inside = crate::guard::enter();
    loop {
        WAKE.store(false, Ordering::Relaxed);
        let n = {
            let mut g = lock();
            match g.as_mut() {
                Some(s) => {
                    let n = drain(s);
                    if n > 0 {
                        flush_sinks(s);
                    }
                    n
                }
                None => 0,
            }
        };
        std::thread::park_timeout(if n > 0 {
            Duration::from_millis(1)
        } else {
            Duration::from_millis(20)
        });
    }
}

extern "C" fn at_exit() {
    super::stop();
}

fn ensure_atexit() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        // SAFETY: at_exit is a plain extern "C" fn with no arguments.
        if unsafe { libc::atexit(at_exit) } != 0 {
            eprintln!("kos_ipc: atexit failed; call kos_shim_trace_stop() before exit");
        }
    });
}
