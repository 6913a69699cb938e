//! Names in policy text, resolved to ids against a name map of the loaded
//! interface descriptions ([`crate::names::NameMap`]).
//!
//! - `iid=NAME`: an endpoint (`Server.main`), an `iid` line's name, or an
//!   interface (`demo.Echo`, `Echo`: every RIID serving it).
//! - `mid=NAME`: the method of that name in the interface of each of the
//!   rule's RIIDs (each RIID gets its own lookup).
//! - A method word `Interface.Method` or `Entity.endpoint.Method`.
//!
//! A name standing for several (iid, mid) pairs expands into one rule per
//! pair, with the same action, operations, other matchers and line. Rules
//! keep numbers: nothing after parsing knows about names.
//!
//! The bare core (no C library) has no name map: a name is an error there.

use super::parse::{Cx, Named, PolicyError};
use super::rules::Rule;
use super::store::Store;
use super::MAX_RULES;

/// The name map type of this build (none in the bare core).
#[cfg(feature = "clib")]
pub(crate) type Map = crate::names::NameMap;

/// The name map type of this build: the bare core has none.
#[cfg(not(feature = "clib"))]
pub(crate) enum Map {}

/// Where names are looked up: a given map, or `None` for the process's
/// ([`crate::names::global`], loaded at the first name that needs it).
pub(crate) type Names<'a> = Option<&'a Map>;

/// Append to `rules` the rules `rule` stands for with `named`'s names
/// resolved; `too_many` is the error for a single rule that does not fit.
#[cfg(not(feature = "clib"))]
pub(super) fn expand(
    cx: &Cx,
    _names: Names<'_>,
    _rule: Rule,
    named: &Named<'_>,
    _rules: &mut Store<Rule, MAX_RULES>,
    _too_many: PolicyError,
) -> Result<(), PolicyError> {
    Err(cx.err(named.first_col(), super::parse::ErrorKind::NamesNeedClib))
}

#[cfg(feature = "clib")]
pub(super) use with_map::expand;

#[cfg(feature = "clib")]
mod with_map {
    use alloc::string::String;
    use alloc::vec::Vec;

    use super::super::parse::{col_at, ErrorKind, Snippet, Tok};
    use super::super::rules::Span;
    use super::*;
    use crate::names::NameMap;

    /// Names shown in a hint before it is cut with `...`.
    const HINT_NAMES: usize = 5;

    /// The process's map; loading it reads files, which on KasperskyOS is
    /// IPC that must bypass the shim.
    fn global() -> &'static NameMap {
        let _inside = crate::guard::enter();
        crate::names::global()
    }

    fn point(v: u16) -> Span {
        Span {
            lo: v as u64,
            hi: v as u64,
        }
    }

    /// Append to `rules` the rules `rule` stands for with `named`'s names
    /// resolved; `too_many` is the error for a single rule that does not fit.
    pub(in super::super) fn expand(
        cx: &Cx,
        names: Names<'_>,
        rule: Rule,
        named: &Named<'_>,
        rules: &mut Store<Rule, MAX_RULES>,
        too_many: PolicyError,
    ) -> Result<(), PolicyError> {
        let map: &NameMap = match names {
            Some(m) => m,
            None => global(),
        };
        if map.is_empty() {
            return Err(cx.err(named.first_col(), ErrorKind::NamesNeedDescriptions));
        }
        let pairs = pairs(cx, map, &rule, named)?;
        if rules.len() + pairs.len() > MAX_RULES {
            if pairs.len() == 1 {
                return Err(too_many);
            }
            // The name that multiplied the rule.
            let t = named
                .method
                .or(named.iid)
                .or(named.mid)
                .unwrap_or(Tok { text: "", col: 1 });
            return Err(cx.err(
                t.col,
                ErrorKind::TooManyExpanded(Snippet::of(t.text), pairs.len(), MAX_RULES),
            ));
        }
        rules.reserve(pairs.len());
        for (iid, mid) in pairs {
            // Checked above: it fits.
            let _ = rules.push(Rule { iid, mid, ..rule });
        }
        Ok(())
    }

    /// The (iid, mid) spans of the rules `rule` expands into.
    fn pairs(
        cx: &Cx,
        map: &NameMap,
        rule: &Rule,
        named: &Named<'_>,
    ) -> Result<Vec<(Span, Span)>, PolicyError> {
        if let Some(m) = named.method {
            let found = map.methods_named(m.text);
            if found.is_empty() {
                return Err(method_error(cx, map, m));
            }
            return Ok(found
                .into_iter()
                .map(|(i, m)| (point(i), point(m)))
                .collect());
        }
        let iids: Vec<u16> = match named.iid {
            Some(t) => {
                let v = map.iids_named(t.text);
                if v.is_empty() {
                    return Err(unknown_name(cx, map, t));
                }
                v
            }
            // A number or a range: each id of it, for the mid's lookup.
            None => (rule.iid.lo..=rule.iid.hi).map(|i| i as u16).collect(),
        };
        let Some(m) = named.mid else {
            return Ok(iids.into_iter().map(|i| (point(i), rule.mid)).collect());
        };
        iids.into_iter()
            .map(|i| match map.mid_named(i, m.text) {
                Some(mid) => Ok((point(i), point(mid))),
                None => Err(no_such_method(cx, map, i, m)),
            })
            .collect()
    }

    /// Why a method word means nothing: its scope, or its last part.
    fn method_error(cx: &Cx, map: &NameMap, t: Tok<'_>) -> PolicyError {
        // The parser only passes words with a dot.
        let Some((scope, _)) = t.text.rsplit_once('.') else {
            return cx.err(t.col, ErrorKind::MethodNeedsDot(Snippet::of(t.text)));
        };
        let scope_tok = Tok {
            text: scope,
            col: t.col,
        };
        let method = Tok {
            text: &t.text[scope.len() + 1..],
            col: col_at(t, scope.len() + 1),
        };
        match map.iids_named(scope).first() {
            None => unknown_name(cx, map, scope_tok),
            Some(&iid) => no_such_method(cx, map, iid, method),
        }
    }

    /// `unknown endpoint or interface 'NAME' (known: ...)`.
    fn unknown_name(cx: &Cx, map: &NameMap, t: Tok<'_>) -> PolicyError {
        let mut known: Vec<&str> = Vec::new();
        for iid in 0..=u16::MAX {
            if known.len() > HINT_NAMES {
                break;
            }
            if let Some(n) = map.iid_name(iid) {
                if !known.contains(&n) {
                    known.push(n);
                }
            }
        }
        for i in map.schema().interfaces.values() {
            if known.len() > HINT_NAMES {
                break;
            }
            // The short name where it is unambiguous, as people write it.
            let unique = map.schema().interface_named(i.short_name()) == Some(i);
            known.push(if unique { i.short_name() } else { &i.name });
        }
        cx.err(
            t.col,
            ErrorKind::UnknownName(Snippet::of(t.text), hint(&known)),
        )
    }

    /// `interface IFACE has no method 'NAME' (methods: ...)` for RIID `iid`.
    fn no_such_method(cx: &Cx, map: &NameMap, iid: u16, t: Tok<'_>) -> PolicyError {
        let iface = map.interface_of(iid);
        let mut label = String::new();
        let label = match (iface, map.iid_name(iid)) {
            (Some(i), _) => i.name.as_str(),
            (None, Some(n)) => n,
            (None, None) => {
                use core::fmt::Write as _;
                let _ = write!(label, "{iid}");
                label.as_str()
            }
        };
        // Methods the descriptions list, or (without them) what `mid`
        // lines name, in MID order.
        let last = iface.map_or(u16::MAX, |i| {
            u16::try_from(i.methods.len().saturating_sub(1)).unwrap_or(u16::MAX)
        });
        let mut methods: Vec<&str> = Vec::new();
        for mid in 0..=last {
            if methods.len() > HINT_NAMES {
                break;
            }
            if let Some(n) = map.mid_name(iid, mid) {
                methods.push(n);
            }
        }
        cx.err(
            t.col,
            ErrorKind::UnknownMethod(Snippet::of(label), Snippet::of(t.text), hint(&methods)),
        )
    }

    /// `a, b, c, d, e, ...`: at most [`HINT_NAMES`] names, fewer if they
    /// do not fit `N` bytes; `none` for no names.
    fn hint<const N: usize>(names: &[&str]) -> Snippet<N> {
        if names.is_empty() {
            return Snippet::of("none");
        }
        let mut n = names.len().min(HINT_NAMES);
        loop {
            let mut s = names[..n].join(", ");
            if n < names.len() {
                s.push_str(", ...");
            }
            if s.len() <= N || n == 1 {
                return Snippet::of(&s);
            }
            n -= 1;
        }
    }
}
