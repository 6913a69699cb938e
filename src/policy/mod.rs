//! In-process IPC policy: a small rule language (whose rules may name
//! endpoints, interfaces and methods, resolved to ids at load by
//! `resolve.rs`), first-match-wins decisions through a compiled index,
//! enforce and audit modes, lock-free hot reload, fail-closed loading from
//! `KOS_SHIM_POLICY`, counters, and learn mode.
//!
//! The pipeline asks [`decide`] about every message before it reaches the
//! kernel (see `intercept::before`); a denied Call/CallEx/Reply returns
//! `rcSecurityDisallow` and the backend is never reached, as with the
//! kernel's own security module.
//!
//! **When messages are judged.** Call/CallEx/Reply are judged in `before` on
//! the message being sent. For Recv/RecvEx the message is unknown until the
//! call returns, and the kernel never denies a receive anyway: they are
//! judged in `after`, on the received message (successful receives only), so
//! `recv` rules can use iid/mid/size matchers; a would-be denial is counted
//! and reported as [`Verdict::AuditDeny`].
//!
//! Without a policy everything is allowed (the shim is then a pure tracer).
//!
//! The environment (`KOS_SHIM_POLICY*`), policy files, learn mode and the
//! reports need the C library (feature `clib`: the host, preload and wrap
//! builds alike, from this one implementation); the bare core is configured
//! through the C API (`kos_shim_policy_load`) only.

mod compiled;
#[cfg(feature = "clib")]
mod env;
pub mod fault;
mod ffi;
mod hits;
#[cfg(feature = "clib")]
pub mod learn;
mod memo;
mod parse;
mod reload;
mod resolve;
mod rules;
mod store;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_faults;
#[cfg(test)]
mod tests_names;

use core::fmt;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

pub use compiled::Index;
pub use fault::{Effect, Fault};
pub use ffi::PolicyStats;
pub use parse::{ErrorKind, PolicyError, Snippet};
pub use rules::{verdict_of, Action, Class, Key, Mode, OpSet, Rule, Span};

use crate::call::{CallInfo, Verdict};
use crate::tally::{self, Counter};
use store::Store;

/// Most rules one policy may hold in this build (without a heap, in the
/// bare core, the tables are fixed-size statics).
#[cfg(feature = "clib")]
pub const MAX_RULES: usize = 1 << 16;
/// Most rules one policy may hold in this build (without a heap, in the
/// bare core, the tables are fixed-size statics).
#[cfg(not(feature = "clib"))]
pub const MAX_RULES: usize = 128;

/// At most this many match reports (log rules, audit would-be denials,
/// denials) are emitted per second; the rest are only counted.
pub const REPORTS_PER_SECOND: u32 = 20;

/// The `log` target of policy reports in the bare core (builds with the C
/// library report through [`crate::say`], on stderr and to the `log` facade
/// under its target `kos_ipc_shim`).
pub const LOG_TARGET: &str = "kos_ipc::policy";

/// A parsed policy: mode, default action and rules in text order.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Enforce or audit.
    pub mode: Mode,
    /// Action when no rule matches (`deny` unless the text says otherwise).
    pub default: Action,
    /// Line of the `default` statement (0: implicit).
    pub default_line: u32,
    rules: Store<Rule, MAX_RULES>,
    faults: Store<Fault, { fault::MAX_FAULTS }>,
}

impl Default for Policy {
    fn default() -> Self {
        Self::new()
    }
}

impl Policy {
    /// An empty policy: enforce, default deny, no rules.
    pub const fn new() -> Policy {
        Policy {
            mode: Mode::Enforce,
            default: Action::Deny,
            default_line: 0,
            rules: Store::new(),
            faults: Store::new(),
        }
    }

    fn reset(&mut self) {
        *self = Policy {
            rules: core::mem::take(&mut self.rules),
            faults: core::mem::take(&mut self.faults),
            ..Policy::new()
        };
        self.rules.clear();
        self.faults.clear();
    }

    /// The rules, in text order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The fault rules (`fail`, `delay`), in text order; a name's
    /// expansions are consecutive and share [`Fault::group`].
    pub fn faults(&self) -> &[Fault] {
        &self.faults
    }

    /// Number of fault rules as written (a name's expansions count once).
    pub fn fault_groups(&self) -> usize {
        self.faults.last().map_or(0, |f| f.group as usize + 1)
    }

    /// Reference evaluation of the fault rules for `k` under `seed`, given
    /// each group's count of messages seen so far (`seen`, bumped here):
    /// the index of the fault rule that fires, if one does.
    pub fn inject(&self, k: &Key, seed: u64, mut seen: impl FnMut(u32) -> u64) -> Option<usize> {
        let mut skip = u32::MAX;
        for (i, f) in self.faults.iter().enumerate() {
            if f.group == skip || !f.when.matches(k) {
                continue;
            }
            // One expansion of a name matched: the rest of its group are
            // other (iid, mid) pairs, and it counts once.
            skip = f.group;
            if f.fires(seed, f.group, seen(f.group)) {
                return Some(i);
            }
        }
        None
    }

    /// Reference evaluation: a linear first-match scan. Returns the index of
    /// the matching rule (None: the default applies) and the action.
    pub fn evaluate(&self, k: &Key) -> (Option<usize>, Action) {
        match self.rules.iter().position(|r| r.matches(k)) {
            Some(i) => (Some(i), self.rules[i].action),
            None => (None, self.default),
        }
    }
}

/// Parse policy text without installing it. Names (`iid=Server.main`,
/// `mid=Ping`, `Echo.Ping`) are looked up in the process's name map
/// ([`crate::names::global`]) in builds with the C library; the bare core
/// has none, and a name is an error there.
pub fn parse(text: &str) -> Result<Policy, PolicyError> {
    let mut p = Policy::new();
    parse::parse_into(text, &mut p, None)?;
    Ok(p)
}

/// Parse policy text without installing it, looking names up in `names`
/// (for tests and tools that have the descriptions at hand).
#[cfg(feature = "clib")]
pub fn parse_with(text: &str, names: &crate::names::NameMap) -> Result<Policy, PolicyError> {
    let mut p = Policy::new();
    parse::parse_into(text, &mut p, Some(names))?;
    Ok(p)
}

/// Parse `text` and make it the active policy, atomically: on error the
/// previous policy (or none) stays in force. Names resolve as for [`parse`].
pub fn load(text: &str) -> Result<(), PolicyError> {
    init_from_env();
    load_now(text, false)
}

fn load_now(text: &str, failed_closed: bool) -> Result<(), PolicyError> {
    let r = reload::replace(failed_closed, |p| parse::parse_into(text, p, None));
    match r {
        Ok(_) => {
            LOADS.fetch_add(1, Ordering::Relaxed);
            Ok(())
        }
        Err(e) => {
            LOAD_ERRORS.fetch_add(1, Ordering::Relaxed);
            Err(e)
        }
    }
}

/// Remove the active policy: every call is allowed again.
pub fn clear() {
    init_from_env();
    reload::clear();
}

/// Read `path` and load it like [`load`]. The error text names the file,
/// line and column (`/etc/app.policy:3:9: expected a number after 'mid='`).
#[cfg(feature = "clib")]
pub fn load_file(path: &str) -> Result<(), alloc::string::String> {
    init_from_env();
    env::load_file_now(path, false)
}

/// The outcome of one decision, with where it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// The verdict.
    pub verdict: Verdict,
    /// Index of the matching rule (None: the default, or no policy).
    pub rule: Option<u32>,
    /// Text line of the rule or `default` statement (0: none).
    pub line: u32,
    /// Which load produced the policy (0: no policy).
    pub generation: u64,
}

/// The verdict of the active policy for `info`'s message, counted and (for
/// log matches, would-be denials and denials) reported, rate-limited.
///
/// Allocation-free and lock-free. For Recv/RecvEx a denial is
/// [`Verdict::AuditDeny`]; call it with the received message filled in
/// (the pipeline does so from `after`). Reads `KOS_SHIM_POLICY` on first use.
#[inline]
pub fn decide(info: &CallInfo) -> Verdict {
    decide_detail(info).verdict
}

/// Like [`decide`], also telling which rule and which policy generation decided.
pub fn decide_detail(info: &CallInfo) -> Decision {
    init_from_env();
    judge(info)
}

/// [`decide_detail`] once the environment was read.
#[inline(always)]
fn judge(info: &CallInfo) -> Decision {
    const NO_POLICY: Decision = Decision {
        verdict: Verdict::Allow,
        rule: None,
        line: 0,
        generation: 0,
    };
    // Without a policy there is nothing to keep alive: no reader
    // registration (two atomic read-modify-writes fewer per call).
    let d = if reload::is_set() {
        let key = Key::of(info);
        reload::read_as(|a, lease| match a {
            Some(a) => a.decide_as(&key, lease),
            None => NO_POLICY,
        })
    } else {
        NO_POLICY
    };
    count(&d);
    if d.generation != 0 && d.verdict != Verdict::Allow {
        report(info, &d);
    }
    d
}

/// Pipeline hook before forwarding: judges what Call/CallEx/Reply send.
#[inline]
pub(crate) fn before(info: &CallInfo) -> Verdict {
    if !info.op.sends() {
        return Verdict::Allow;
    }
    if unpoliced() {
        return Verdict::Allow;
    }
    init_from_env(); // before observing: it may start learn mode
    #[cfg(feature = "clib")]
    learn::observe_global(info.op, info.sent.iid, info.sent.mid);
    judge(info).verdict
}

/// Pipeline hook after the call: judges what Recv/RecvEx received (audit
/// only) and returns `info` with the verdict merged in.
#[inline]
pub(crate) fn after(info: &CallInfo) -> CallInfo {
    let mut out = *info;
    if !info.op.sends() && info.rc == crate::abi::rcOk {
        if unpoliced() {
            return out;
        }
        init_from_env();
        #[cfg(feature = "clib")]
        learn::observe_global(info.op, info.received.iid, info.received.mid);
        out.verdict = out.verdict.stricter(judge(info).verdict);
    }
    out
}

fn init_from_env() {
    #[cfg(feature = "clib")]
    env::init_once();
}

/// In a forked child (`crate::fork`): free what threads that no longer
/// exist may hold (the reload lock, their reader announcements, the
/// environment's last error, learn mode's exit path).
#[cfg(feature = "clib")]
pub(crate) fn fork_child() {
    reload::fork_child();
    env::fork_child();
    learn::fork_child();
}

/// Configured, no policy, not learning: nothing to judge. Counts the message
/// as unpoliced and says so.
#[inline]
fn unpoliced() -> bool {
    if crate::layers::on() & crate::layers::POLICY != 0 {
        return false;
    }
    tally::bump(Counter::PolicyNone);
    true
}

/// Read `KOS_SHIM_POLICY*` now if not done yet (for [`crate::layers`]).
pub(crate) fn configure() {
    init_from_env();
}

/// Whether a policy is installed or learning is on, or the environment has
/// not been read yet (for [`crate::layers`]).
#[inline]
pub(crate) fn layer_on() -> bool {
    #[cfg(feature = "clib")]
    {
        !env::initialized() || reload::is_set() || learn::global().is_some()
    }
    #[cfg(not(feature = "clib"))]
    {
        reload::is_set()
    }
}

// ---- counters -------------------------------------------------------------

static REPORTS: AtomicU64 = AtomicU64::new(0);
static SUPPRESSED: AtomicU64 = AtomicU64::new(0);
static LOADS: AtomicU64 = AtomicU64::new(0);
static LOAD_ERRORS: AtomicU64 = AtomicU64::new(0);

/// Count a decision (per-thread counters: a plain load and store).
#[inline]
fn count(d: &Decision) {
    tally::bump(if d.generation == 0 {
        Counter::PolicyNone
    } else {
        match d.verdict {
            Verdict::Allow => Counter::PolicyAllow,
            Verdict::Log => Counter::PolicyLog,
            Verdict::Deny => Counter::PolicyDeny,
            Verdict::AuditDeny => Counter::PolicyAudit,
            // Never a decision's verdict: the fault rules run after it.
            Verdict::Fault => Counter::PolicyAllow,
        }
    });
}

/// Counters since the process started, and facts about the active policy.
pub fn stats() -> PolicyStats {
    let (active, rules, default_hits, generation, audit, failed_closed, fault_rules) =
        reload::read(|a| match a {
            Some(a) => (
                1,
                a.policy.rules().len() as u32,
                a.default_hits(),
                a.generation,
                (a.policy.mode == Mode::Audit) as u32,
                a.failed_closed as u32,
                a.policy.fault_groups() as u32,
            ),
            None => (0, 0, 0, 0, 0, 0, 0),
        });
    PolicyStats {
        allowed: tally::sum(Counter::PolicyAllow),
        logged: tally::sum(Counter::PolicyLog),
        denied: tally::sum(Counter::PolicyDeny),
        audit_denied: tally::sum(Counter::PolicyAudit),
        unpoliced: tally::sum(Counter::PolicyNone),
        reports: REPORTS.load(Ordering::Relaxed),
        reports_suppressed: SUPPRESSED.load(Ordering::Relaxed),
        loads: LOADS.load(Ordering::Relaxed),
        load_errors: LOAD_ERRORS.load(Ordering::Relaxed),
        generation,
        default_hits,
        rules,
        active,
        audit,
        failed_closed,
        learning: learning() as u32,
        fault_rules,
        faults_injected: FAULTS_INJECTED.load(Ordering::Relaxed),
        fault_seed: fault_seed(),
    }
}

fn learning() -> bool {
    #[cfg(feature = "clib")]
    {
        learn::global().is_some()
    }
    #[cfg(not(feature = "clib"))]
    {
        false
    }
}

/// Copy the active policy's per-rule hit counts (rule order) into `out`;
/// returns the number of rules (0 without a policy). Counts reset on load.
/// A name standing for several (iid, mid) counts per expanded rule; each
/// expanded rule keeps its source line ([`Rule::line`]), which reports and
/// [`write_stats`] show (`policy rule line 3 (2 of 2): ...`).
pub fn rule_hits(out: &mut [u64]) -> usize {
    reload::read(|a| match a {
        Some(a) => {
            let n = a.policy.rules().len();
            for (i, o) in out.iter_mut().take(n).enumerate() {
                *o = a.hits.get(i);
            }
            a.policy.rules().len()
        }
        None => 0,
    })
}

/// Write the counters and each rule's hits as text (for the statistics dump).
pub fn write_stats(w: &mut dyn fmt::Write) -> fmt::Result {
    let s = stats();
    writeln!(
        w,
        "policy: active={} mode={} failed_closed={} rules={} generation={}",
        s.active,
        if s.audit != 0 { "audit" } else { "enforce" },
        s.failed_closed,
        s.rules,
        s.generation
    )?;
    writeln!(
        w,
        "policy verdicts: allow={} log={} deny={} audit_deny={} unpoliced={} reports={} suppressed={}",
        s.allowed, s.logged, s.denied, s.audit_denied, s.unpoliced, s.reports, s.reports_suppressed
    )?;
    reload::read(|a| {
        if let Some(a) = a {
            let rules = a.policy.rules();
            // A name standing for several (iid, mid) expanded into
            // consecutive rules of one line: "line 3 (2 of 4)".
            let mut group = 0..0;
            for (i, r) in rules.iter().enumerate() {
                if !group.contains(&i) {
                    let n = rules[i..].iter().take_while(|x| x.line == r.line).count();
                    group = i..i + n;
                }
                write!(w, "policy rule line {}", r.line)?;
                if group.len() > 1 {
                    write!(w, " ({} of {})", i - group.start + 1, group.len())?;
                }
                writeln!(w, ": {} hits={}", r, a.hits.get(i))?;
            }
            writeln!(
                w,
                "policy default {}: hits={}",
                a.policy.default.key(),
                a.default_hits()
            )?;
            write_faults(w, a)?;
        }
        Ok(())
    })
}

/// The `faults` lines of the statistics dump: the seed, then per fault rule
/// (as written: a name's expansions once) its text, messages seen and
/// faults injected.
fn write_faults(w: &mut dyn fmt::Write, a: &reload::Active) -> fmt::Result {
    let faults = a.policy.faults();
    if faults.is_empty() {
        return Ok(());
    }
    writeln!(
        w,
        "faults: rules={} injected={} seed={}",
        a.policy.fault_groups(),
        FAULTS_INJECTED.load(Ordering::Relaxed),
        fault_seed()
    )?;
    let mut last = u32::MAX;
    for f in faults
        .iter()
        .filter(|f| core::mem::replace(&mut last, f.group) != f.group)
    {
        let (seen, injected) = a.faults.get(f.group as usize);
        writeln!(
            w,
            "faults rule line {}: {} seen={seen} injected={injected}",
            f.when.line, f
        )?;
    }
    Ok(())
}

// ---- fault injection --------------------------------------------------------

/// A fault the active policy injects into one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Injection {
    /// Fail with a code, or delay.
    pub effect: Effect,
    /// The fault rule's line.
    pub line: u32,
    /// The fault rule's number (0-based, in text order; [`Fault::group`]).
    pub rule: u32,
}

static FAULTS_INJECTED: AtomicU64 = AtomicU64::new(0);
static SEED: spin::Once<u64> = spin::Once::new();
static SEED_SET: AtomicBool = AtomicBool::new(false);
static SEED_VALUE: AtomicU64 = AtomicU64::new(0);

/// Whether the active policy has fault rules (the pipeline's layers word).
#[inline]
pub(crate) fn faults_on() -> bool {
    reload::has_faults()
}

/// Put whether a policy (or learning) is on, and has fault rules, into the
/// pipeline's layers word.
pub(crate) fn publish() {
    use crate::layers::{FAULTS as F, POLICY as P};
    crate::layers::update(P | F, || {
        (if layer_on() { P } else { 0 }) | (if faults_on() { F } else { 0 })
    });
}

/// The fault the active policy's fault rules inject into the message
/// `info` sends, if one fires (counted). Only Call/CallEx/Reply, only in
/// enforce mode, and only for a message the access rules allowed (the
/// pipeline asks after [`before`]). Lock-free; one policy read, and none
/// while the active policy has no fault rules.
#[inline]
pub(crate) fn injection(info: &CallInfo) -> Option<Injection> {
    if !reload::has_faults() || !info.op.sends() {
        return None;
    }
    let key = Key::of(info);
    let seed = fault_seed();
    let injected = reload::read(|a| {
        let a = a.filter(|a| a.policy.mode == Mode::Enforce)?;
        a.inject(&key, seed).map(|f| Injection {
            effect: f.effect,
            line: f.when.line,
            rule: f.group,
        })
    })?;
    FAULTS_INJECTED.fetch_add(1, Ordering::Relaxed);
    Some(injected)
}

/// The seed fault rules draw from: [`set_fault_seed`]'s, else
/// `KOS_SHIM_FAULT_SEED` (builds with the C library; a random one when it
/// is unset), else 0 (the bare core).
pub fn fault_seed() -> u64 {
    if SEED_SET.load(Ordering::Acquire) {
        return SEED_VALUE.load(Ordering::Relaxed);
    }
    *SEED.call_once(|| {
        #[cfg(feature = "clib")]
        {
            env::fault_seed()
        }
        #[cfg(not(feature = "clib"))]
        {
            0
        }
    })
}

/// Use `seed` for the fault rules from now on (see [`fault_seed`]).
pub fn set_fault_seed(seed: u64) {
    SEED_VALUE.store(seed, Ordering::Relaxed);
    SEED_SET.store(true, Ordering::Release);
}

/// Call `each(i, seen, injected)` for every fault rule of the active
/// policy (as written, in text order); returns their number.
pub fn fault_counts(mut each: impl FnMut(usize, u64, u64)) -> usize {
    reload::read(|a| match a {
        Some(a) => {
            let n = a.policy.fault_groups();
            for i in 0..n {
                let (s, j) = a.faults.get(i);
                each(i, s, j);
            }
            n
        }
        None => 0,
    })
}

// ---- rate-limited reports ---------------------------------------------------

/// What the rate limit says about one more report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Admit {
    /// It fits this second's budget.
    Yes,
    /// The first one over the budget this second: say that the rest are
    /// only counted.
    FirstRefused,
    /// Over the budget: only counted.
    Refused,
}

/// A per-second report budget.
struct RateLimit {
    window: AtomicU64,
    used: AtomicU32,
}

impl RateLimit {
    const fn new() -> RateLimit {
        RateLimit {
            window: AtomicU64::new(0),
            used: AtomicU32::new(0),
        }
    }

    /// Whether one more report fits the budget of second `sec`. Approximate
    /// under races at a second's boundary (a report may land in either).
    fn admit_at(&self, sec: u64, per_second: u32) -> Admit {
        let w = self.window.load(Ordering::Relaxed);
        if w != sec
            && self
                .window
                .compare_exchange(w, sec, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            self.used.store(0, Ordering::Relaxed);
        }
        let n = self.used.fetch_add(1, Ordering::Relaxed);
        if n < per_second {
            Admit::Yes
        } else if n == per_second {
            Admit::FirstRefused
        } else {
            Admit::Refused
        }
    }
}

static LIMIT: RateLimit = RateLimit::new();

/// Whether one more report fits this second's budget.
fn admit() -> Admit {
    // Not the call clock's ticks: converting them could wait for the TSC's calibration.
    let sec = crate::clock::seconds() + 1;
    LIMIT.admit_at(sec, REPORTS_PER_SECOND)
}

#[cfg(test)]
#[test]
fn rate_limit_admits_the_budget_per_second_and_counts_the_rest() {
    let l = RateLimit::new();
    let admitted = |sec| {
        let v: std::vec::Vec<Admit> = (0..50).map(|_| l.admit_at(sec, 20)).collect();
        let yes = v.iter().filter(|&&a| a == Admit::Yes).count();
        let first = v.iter().filter(|&&a| a == Admit::FirstRefused).count();
        (yes, first)
    };
    assert_eq!(admitted(7), (20, 1));
    assert_eq!(admitted(7), (0, 0));
    assert_eq!(admitted(8), (20, 1));
}

/// Where a decision came from: line, rule (None: the default), and whether
/// the policy is the fail-closed stand-in for one that did not load.
struct Source(u32, Option<u32>, bool);

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.2 {
            return f.write_str("the fail-closed policy (KOS_SHIM_POLICY did not load)");
        }
        match (self.1, self.0) {
            (Some(_), line) => write!(f, "rule on line {line}"),
            (None, 0) => f.write_str("implicit 'default deny'"),
            (None, line) => write!(f, "default on line {line}"),
        }
    }
}

/// Tell the user: on stderr (`kos-ipc-shim: policy: ...`, at level `warn`,
/// see [`crate::say`]) in builds with the C library, through the `log`
/// facade in the bare core.
#[cfg(feature = "clib")]
fn speak(message: fmt::Arguments<'_>) {
    crate::say::say(crate::say::Level::Warn, format_args!("policy: {message}"));
}

#[cfg(not(feature = "clib"))]
fn speak(message: fmt::Arguments<'_>) {
    log::warn!(target: LOG_TARGET, "policy: {message}");
}

/// `iid=0 mid=1`, and with the C library `iid=0 mid=1 (Server.main:Echo.Upper)`
/// when the process's names say what the ids are.
// The handle names learned endpoints, which only builds with the C library have.
#[cfg_attr(not(feature = "clib"), allow(dead_code))]
struct Ids(crate::abi::Handle, u16, u16);

impl fmt::Display for Ids {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "iid={} mid={}", self.1, self.2)?;
        #[cfg(feature = "clib")]
        {
            let m = crate::locator::method(crate::names::global(), self.0, self.1, self.2);
            if m.is_named() {
                write!(f, " ({m})")?;
            }
        }
        Ok(())
    }
}

// Out of line: its formatting would otherwise widen every decision's frame.
#[cold]
#[inline(never)]
fn report(info: &CallInfo, d: &Decision) {
    match admit() {
        Admit::Yes => {}
        Admit::FirstRefused => {
            SUPPRESSED.fetch_add(1, Ordering::Relaxed);
            speak(format_args!(
                "more than {REPORTS_PER_SECOND} reports this second; the rest of this second's \
                 are only counted (reports_suppressed)"
            ));
            return;
        }
        Admit::Refused => {
            SUPPRESSED.fetch_add(1, Ordering::Relaxed);
            return;
        }
    }
    REPORTS.fetch_add(1, Ordering::Relaxed);
    let m = info.message();
    let closed =
        reload::read(|a| a.is_some_and(|a| a.generation == d.generation && a.failed_closed));
    let src = Source(d.line, d.rule, closed);
    let (op, h, bytes) = (info.op.name(), info.handle, m.total_size());
    let iid = Ids(h, m.iid, m.mid);
    match d.verdict {
        Verdict::Log => speak(format_args!(
            "{op} handle={h} {iid} bytes={bytes}: logged by {src}"
        )),
        Verdict::AuditDeny => speak(format_args!(
            "{op} handle={h} {iid} bytes={bytes}: would be denied by {src} ({})",
            if info.op.sends() {
                "audit mode"
            } else {
                "receives are never denied"
            }
        )),
        Verdict::Deny => speak(format_args!(
            "{op} handle={h} {iid} bytes={bytes}: denied by {src} \
             (rcSecurityDisallow)"
        )),
        Verdict::Allow | Verdict::Fault => {}
    }
}
