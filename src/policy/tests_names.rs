//! Names in policy text, against the name map of `names::tests::demo_schema`:
//! `demo.Server` serves `demo.Echo` (methods Echo, Ping) at RIIDs 0
//! (`main`) and 2 (`db.mirror`), `demo.Store` (Put, Get) at 1 (`db.kv`).

use std::string::{String, ToString};
use std::vec::Vec;

use super::rules::{Action, Class, Key, OpSet, Rule, Span};
use super::{parse, parse_with, Index, Policy, MAX_RULES};
use crate::names::NameMap;

fn demo() -> NameMap {
    NameMap::from_schema(crate::names::tests::demo_schema())
}

fn at(v: u64) -> Span {
    Span { lo: v, hi: v }
}

/// A rule's iid and mid spans as (lo, hi) pairs.
type Ids = ((u64, u64), (u64, u64));

/// The (iid, mid) spans of each rule.
fn spans(p: &Policy) -> Vec<Ids> {
    p.rules()
        .iter()
        .map(|r| ((r.iid.lo, r.iid.hi), (r.mid.lo, r.mid.hi)))
        .collect()
}

fn err_with(text: &str, map: &NameMap) -> String {
    match parse_with(text, map) {
        Ok(p) => panic!("{text:?} parsed to {:?}", p.rules()),
        Err(e) => e.to_string(),
    }
}

const ALL: (u64, u64) = (0, 0xFFFF);

#[test]
fn every_name_form_resolves_to_the_stated_ids() {
    let m = demo();
    let cases: &[(&str, &[Ids])] = &[
        // Endpoints, the entity by short or qualified name.
        ("deny call iid=Server.main", &[((0, 0), ALL)]),
        ("deny call iid=demo.Server.db.kv", &[((1, 1), ALL)]),
        ("deny call iid=Server.db.mirror mid=1", &[((2, 2), (1, 1))]),
        // An interface: every RIID serving it.
        ("deny call iid=Echo", &[((0, 0), ALL), ((2, 2), ALL)]),
        (
            "deny call iid=demo.Echo mid=0..1",
            &[((0, 0), (0, 1)), ((2, 2), (0, 1))],
        ),
        ("deny call iid=Store", &[((1, 1), ALL)]),
        // Numbers and ranges as before.
        ("deny call iid=3", &[((3, 3), ALL)]),
        ("deny call iid=1..4 mid=2", &[((1, 4), (2, 2))]),
        // mid=NAME: looked up in each RIID's interface, before or after iid=.
        ("deny call iid=Server.db.kv mid=Get", &[((1, 1), (1, 1))]),
        (
            "deny call mid=Ping iid=Echo",
            &[((0, 0), (1, 1)), ((2, 2), (1, 1))],
        ),
        ("deny call iid=0 mid=Echo", &[((0, 0), (0, 0))]),
        ("deny call iid=2..2 mid=Ping", &[((2, 2), (1, 1))]),
        // A method word after the operations.
        (
            "allow call Echo.Echo",
            &[((0, 0), (0, 0)), ((2, 2), (0, 0))],
        ),
        (
            "deny call demo.Echo.Ping",
            &[((0, 0), (1, 1)), ((2, 2), (1, 1))],
        ),
        ("deny call Server.main.Ping", &[((0, 0), (1, 1))]),
        ("deny call demo.Server.db.kv.Put", &[((1, 1), (0, 0))]),
    ];
    for (text, want) in cases {
        let p = parse_with(text, &m).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        assert_eq!(&spans(&p), want, "{text:?}");
    }
    // `iid=0..2 mid=Ping`: RIID 1 is a Store, which has no Ping.
    assert_eq!(
        err_with("deny call iid=0..2 mid=Ping", &m),
        "policy:1:24: interface demo.Store has no method 'Ping' (methods: Put, Get)"
    );
}

#[test]
fn hand_written_iid_and_mid_lines_are_names_too() {
    let mut m = NameMap::parse("iid 7 Legacy\nmid 7.3 Hello\niid 9 Twin\niid 10 Twin\n").unwrap();
    m.add_schema(crate::names::tests::demo_schema());
    let p = parse_with("deny call iid=Legacy mid=Hello\nlog call Legacy.Hello", &m).unwrap();
    assert_eq!(spans(&p), [((7, 7), (3, 3)), ((7, 7), (3, 3))]);
    let p = parse_with("deny call iid=Twin", &m).unwrap();
    assert_eq!(spans(&p), [((9, 9), ALL), ((10, 10), ALL)]);
}

#[test]
fn a_name_for_several_ids_expands_into_rules_of_one_line() {
    let m = demo();
    let text = "mode audit\nallow recv\nlog call,reply Echo.Ping handle=3 bytes>10 ncaps=1 # two\n\
                deny call iid=Echo mid=Echo\ndefault allow\n";
    let p = parse_with(text, &m).unwrap();
    let r = p.rules();
    assert_eq!(r.len(), 5);
    let mut want = Rule::new(
        Action::Log,
        OpSet(OpSet::only(Class::Call).0 | OpSet::only(Class::Reply).0),
        3,
    );
    want.handle = Some(3);
    want.bytes = Span {
        lo: 11,
        hi: u64::MAX,
    };
    want.ncaps = Some(1);
    for (rule, iid) in r[1..3].iter().zip([0, 2]) {
        assert_eq!(
            *rule,
            Rule {
                iid: at(iid),
                mid: at(1),
                ..want
            }
        );
    }
    for (rule, iid) in r[3..5].iter().zip([0, 2]) {
        let mut want = Rule::new(Action::Deny, OpSet::only(Class::Call), 4);
        want.iid = at(iid);
        want.mid = at(0);
        assert_eq!(*rule, want);
    }
    // Printed, each expanded rule is plain numbers and reads back alone.
    assert_eq!(
        r[2].to_string(),
        "log call,reply handle=3 iid=2 mid=1 bytes>=11 ncaps=1"
    );
    for rule in r {
        let again = parse(&rule.to_string()).unwrap();
        assert_eq!(again.rules()[0], Rule { line: 1, ..*rule });
    }
}

/// Every (class, iid, mid) in 0..4 x 0..4 for the three classes.
fn keys() -> impl Iterator<Item = Key> {
    Class::ALL.into_iter().flat_map(|class| {
        (0..4u16).flat_map(move |iid| {
            (0..4u16).map(move |mid| Key {
                class,
                handle: 1,
                iid,
                mid,
                bytes: 24,
                arena: 0,
                ncaps: 0,
            })
        })
    })
}

#[test]
fn a_policy_with_names_decides_as_the_same_policy_with_numbers() {
    let m = demo();
    // (with names, with numbers, the (iid, mid) calls it denies)
    type Case<'a> = (&'a str, &'a str, &'a [(u16, u16)]);
    let cases: &[Case] = &[
        (
            "deny call Echo.Ping",
            "deny call iid=0 mid=1\ndeny call iid=2 mid=1",
            &[(0, 1), (2, 1)],
        ),
        (
            "deny call Server.main.Ping",
            "deny call iid=0 mid=1",
            &[(0, 1)],
        ),
        (
            "deny call iid=Server.db.kv mid=Get",
            "deny call iid=1 mid=1",
            &[(1, 1)],
        ),
        (
            "deny call iid=Server.db.mirror",
            "deny call iid=2",
            &[(2, 0), (2, 1), (2, 2), (2, 3)],
        ),
        (
            "deny call mid=Echo iid=demo.Echo",
            "deny call iid=0 mid=0\ndeny call iid=2 mid=0",
            &[(0, 0), (2, 0)],
        ),
    ];
    for (named, numbered, denied) in cases {
        let tail = "\nallow recv\nallow call\nallow reply\n";
        let with_names = parse_with(&std::format!("{named}{tail}"), &m).unwrap();
        let with_numbers = parse(&std::format!("{numbered}{tail}")).unwrap();
        let mut ix = Index::new();
        ix.build(with_names.rules());
        let mut seen = Vec::new();
        for k in keys() {
            let (_, action) = with_names.evaluate(&k);
            assert_eq!(action, with_numbers.evaluate(&k).1, "{named:?} at {k:?}");
            assert_eq!(
                ix.first_match(with_names.rules(), &k),
                with_names.evaluate(&k).0
            );
            if action == Action::Deny {
                assert_eq!(k.class, Class::Call, "{named:?} at {k:?}");
                seen.push((k.iid, k.mid));
            }
        }
        assert_eq!(&seen, denied, "{named:?} denies exactly the named method");
    }
}

#[test]
fn every_name_error_names_line_column_and_what_is_known() {
    let m = demo();
    let mut more = demo();
    more.insert_iid(9, "Extra").unwrap();
    let none = NameMap::new();
    let known = "Server.main, Server.db.kv, Server.db.mirror, Echo, Store";
    let cases: &[(&str, &NameMap, String)] = &[
        (
            "deny call iid=Foo",
            &m,
            std::format!("policy:1:15: unknown endpoint or interface 'Foo' (known: {known})"),
        ),
        (
            "allow recv\n\n  deny call handle=1 iid=Server.nope",
            &m,
            std::format!(
                "policy:3:26: unknown endpoint or interface 'Server.nope' (known: {known})"
            ),
        ),
        (
            "deny call iid=Foo",
            &more,
            "policy:1:15: unknown endpoint or interface 'Foo' (known: Server.main, Server.db.kv, \
             Server.db.mirror, Extra, Echo, ...)"
                .to_string(),
        ),
        (
            "deny call Foo.Ping",
            &m,
            std::format!("policy:1:11: unknown endpoint or interface 'Foo' (known: {known})"),
        ),
        (
            "deny call Echo.Nope",
            &m,
            "policy:1:16: interface demo.Echo has no method 'Nope' (methods: Echo, Ping)"
                .to_string(),
        ),
        (
            "deny call Server.db.kv.Ping",
            &m,
            "policy:1:24: interface demo.Store has no method 'Ping' (methods: Put, Get)"
                .to_string(),
        ),
        (
            "deny call iid=Echo mid=Nope",
            &m,
            "policy:1:24: interface demo.Echo has no method 'Nope' (methods: Echo, Ping)"
                .to_string(),
        ),
        (
            "deny call mid=Nope iid=Server.main",
            &m,
            "policy:1:15: interface demo.Echo has no method 'Nope' (methods: Echo, Ping)"
                .to_string(),
        ),
        (
            "deny call iid=5 mid=Ping",
            &m,
            "policy:1:21: interface 5 has no method 'Ping' (methods: none)".to_string(),
        ),
        (
            "deny call mid=Ping",
            &m,
            "policy:1:15: 'mid=Ping' needs an 'iid=' in the same rule: the method is looked up \
             in its interface"
                .to_string(),
        ),
        (
            "deny call Ping",
            &m,
            "policy:1:11: method name 'Ping' has no dot: expected Interface.Method or \
             Entity.endpoint.Method (or a matcher: handle=, iid=, mid=, bytes<>, arena<>, ncaps=)"
                .to_string(),
        ),
        (
            "deny call Echo.Ping iid=0",
            &m,
            "policy:1:11: method name 'Echo.Ping' and iid=/mid= in one rule: use one or the other"
                .to_string(),
        ),
        (
            "deny call mid=1 Echo.Ping",
            &m,
            "policy:1:17: method name 'Echo.Ping' and iid=/mid= in one rule: use one or the other"
                .to_string(),
        ),
        (
            "deny call Echo.Ping Echo.Echo",
            &m,
            "policy:1:21: duplicate matcher 'method' in one rule".to_string(),
        ),
        (
            "deny call iid=Echo iid=1",
            &m,
            "policy:1:20: duplicate matcher 'iid=' in one rule".to_string(),
        ),
        (
            "allow call\ndeny call bytes<9 iid=Server.main",
            &none,
            "policy:2:23: names need interface descriptions: set KOS_SHIM_EDL (and \
             KOS_SHIM_IDL_PATH) or KOS_SHIM_NAMES"
                .to_string(),
        ),
        (
            "deny call iid=3 mid=Ping Echo.x",
            &none,
            "policy:1:26: method name 'Echo.x' and iid=/mid= in one rule: use one or the other"
                .to_string(),
        ),
        (
            "deny call Server.main.Ping",
            &none,
            "policy:1:11: names need interface descriptions: set KOS_SHIM_EDL (and \
             KOS_SHIM_IDL_PATH) or KOS_SHIM_NAMES"
                .to_string(),
        ),
    ];
    for (text, map, want) in cases {
        assert_eq!(&err_with(text, map), want, "for {text:?}");
    }
}

#[test]
fn long_names_are_cut_in_messages() {
    let m = demo();
    assert_eq!(
        err_with("deny call iid=Abcdefghijklmnopqrstuvwxyz_0123456789", &m),
        "policy:1:15: unknown endpoint or interface 'Abcdefghijklmnopqrstuvwx...' (known: \
         Server.main, Server.db.kv, Server.db.mirror, Echo, Store)"
    );
    // The error value stays small enough to pass around by value.
    assert!(core::mem::size_of::<super::PolicyError>() <= 128);
}

#[test]
fn expanded_rules_respect_the_rule_capacity() {
    let m = demo();
    let filler = "allow call iid=9\n".repeat(MAX_RULES - 2);
    // Exactly full: 65,534 rules and the two of `iid=Echo`.
    let p = parse_with(&std::format!("{filler}deny call iid=Echo\n"), &m).unwrap();
    assert_eq!(p.rules().len(), MAX_RULES);
    let line = MAX_RULES - 1;
    assert_eq!(
        err_with(&std::format!("{filler}allow call\ndeny call iid=Echo\n"), &m),
        std::format!(
            "policy:{}:15: too many rules: 'Echo' adds 2 rules, past the {MAX_RULES} this build holds",
            line + 1
        )
    );
    assert_eq!(
        err_with(
            &std::format!("{filler}allow call\nallow call\n log call Server.main.Ping\n"),
            &m
        ),
        std::format!(
            "policy:{}:2: too many rules (this build holds {MAX_RULES})",
            line + 2
        )
    );
}

#[test]
fn a_learned_policy_names_what_the_map_names_and_loads_back_to_the_same_rules() {
    use crate::op::Op;
    let mut m = demo();
    m.insert_iid(7, "Twin").unwrap();
    m.insert_iid(8, "Twin").unwrap();
    m.insert_mid(7, 0, "Go").unwrap();
    let l = super::learn::Learner::new();
    for (op, iid, mid, n) in [
        (Op::Call, 0, 0, 1),
        (Op::Call, 0, 1, 3),
        (Op::CallEx, 0, 1, 9),
        (Op::Call, 1, 1, 1),
        (Op::Call, 2, 1, 1),
        (Op::Call, 0, 7, 1), // no method 7: numbers
        (Op::Call, 7, 0, 1), // "Twin" names two RIIDs: numbers
        (Op::Recv, 0, 1, 2),
        (Op::Reply, 5, 3, 1), // nothing names RIID 5
    ] {
        for _ in 0..n {
            l.observe_op(op, iid, mid);
        }
    }
    let named = l.render(&m);
    let body: Vec<&str> = named.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(
        body,
        [
            "mode enforce",
            "allow call iid=Server.main mid=Echo  # 1 hit",
            "allow call iid=Server.main mid=Ping  # 12 hits",
            "allow call iid=0 mid=7  # 1 hit",
            "allow call iid=Server.db.kv mid=Get  # 1 hit",
            "allow call iid=Server.db.mirror mid=Ping  # 1 hit",
            "allow call iid=7 mid=0  # 1 hit",
            "allow recv iid=Server.main mid=Ping  # 2 hits",
            "allow reply iid=5 mid=3  # 1 hit",
            "default deny",
        ]
    );
    assert!(named.contains("# Its names need the interface descriptions"));
    // Without names: numbers, exactly as before.
    let numbered = l.render(&NameMap::new());
    assert!(numbered.contains("allow call iid=0 mid=1  # 12 hits\n"));
    assert!(!numbered.contains("Its names"));
    let a = parse_with(&named, &m).unwrap();
    let b = parse(&numbered).unwrap();
    let strip =
        |p: &Policy| -> Vec<Rule> { p.rules().iter().map(|r| Rule { line: 0, ..*r }).collect() };
    assert_eq!(strip(&a), strip(&b));
    assert_eq!((a.mode, a.default), (b.mode, b.default));
    for k in keys() {
        assert_eq!(a.evaluate(&k).1, b.evaluate(&k).1, "{k:?}");
    }
}
