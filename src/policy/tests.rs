//! Unit tests of the pure parts: parser, index vs linear reference, learner.
//! (Tests that install a process-wide policy live in `tests/policy_*.rs`, each
//! its own process, so they cannot disturb other modules' tests.)

use super::rules::{Action, Class, Key, Mode, OpSet, Rule, Span};
use super::{parse, Index};

fn err(text: &str) -> std::string::String {
    match parse(text) {
        Ok(_) => panic!("{text:?} parsed"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn every_construct_parses_to_the_stated_rule() {
    let text = "# comments and blank lines are ignored\n\
                \n\
                mode audit            # or: enforce\n\
                default allow\n\
                allow call iid=3 mid=1..4\n\
                deny  call handle=7\n\
                log   call iid=9        # trailing comment\n\
                deny  reply bytes>4096\n\
                allow reply\n\
                allow recv\n\
                log any arena>=16 arena<32 ncaps=2\n\
                deny call,reply iid=0x10..0x1F mid=0xFFFF bytes<=100 bytes>=8\n\
                \tallow  recv,call  handle=0xFFFFFFFE bytes<1\r\n";
    let p = parse(text).unwrap();
    assert_eq!(p.mode, Mode::Audit);
    assert_eq!(p.default, Action::Allow);
    assert_eq!(p.default_line, 4);
    let r = p.rules();
    assert_eq!(r.len(), 9);
    let call = OpSet::only(Class::Call);
    let reply = OpSet::only(Class::Reply);
    let recv = OpSet::only(Class::Recv);
    let mut want = Rule::new(Action::Allow, call, 5);
    want.iid = Span { lo: 3, hi: 3 };
    want.mid = Span { lo: 1, hi: 4 };
    assert_eq!(r[0], want);
    let mut want = Rule::new(Action::Deny, call, 6);
    want.handle = Some(7);
    assert_eq!(r[1], want);
    let mut want = Rule::new(Action::Log, call, 7);
    want.iid = Span { lo: 9, hi: 9 };
    assert_eq!(r[2], want);
    let mut want = Rule::new(Action::Deny, reply, 8);
    want.bytes = Span {
        lo: 4097,
        hi: u64::MAX,
    };
    assert_eq!(r[3], want);
    assert_eq!(r[4], Rule::new(Action::Allow, reply, 9));
    assert_eq!(r[5], Rule::new(Action::Allow, recv, 10));
    let mut want = Rule::new(Action::Log, OpSet::ANY, 11);
    want.arena = Span { lo: 16, hi: 31 };
    want.ncaps = Some(2);
    assert_eq!(r[6], want);
    let mut want = Rule::new(Action::Deny, OpSet(call.0 | reply.0), 12);
    want.iid = Span { lo: 16, hi: 31 };
    want.mid = Span {
        lo: 0xFFFF,
        hi: 0xFFFF,
    };
    want.bytes = Span { lo: 8, hi: 100 };
    assert_eq!(r[7], want);
    let mut want = Rule::new(Action::Allow, OpSet(call.0 | recv.0), 13);
    want.handle = Some(0xFFFF_FFFE);
    want.bytes = Span { lo: 0, hi: 0 };
    assert_eq!(r[8], want);
}

#[test]
fn defaults_are_enforce_and_deny() {
    let p = parse("").unwrap();
    assert_eq!(
        (p.mode, p.default, p.rules().len()),
        (Mode::Enforce, Action::Deny, 0)
    );
    let p = parse("mode enforce\ndefault deny\n").unwrap();
    assert_eq!(
        (p.mode, p.default, p.default_line),
        (Mode::Enforce, Action::Deny, 2)
    );
}

#[test]
fn every_error_names_line_column_and_expectation() {
    let cases: &[(&str, &str)] = &[
        ("\n\nallow call mid=", "policy:3:16: expected a number after 'mid='"),
        ("allow call mid=+1", "policy:1:16: expected a number after 'mid='"),
        ("allow call iid=", "policy:1:16: expected a number after 'iid='"),
        ("allow call iid=3..", "policy:1:19: expected a number after '..'"),
        ("allow call iid=70000", "policy:1:16: number too large after 'iid=' (at most 65535)"),
        ("allow call mid=1..0x10000", "policy:1:19: number too large after '..' (at most 65535)"),
        ("allow call iid=5..3", "policy:1:16: empty range 5..3: the start is greater than the end"),
        ("allow call mid=3x", "policy:1:17: unexpected 'x' after the number"),
        ("allow call iid=1..2..3", "policy:1:20: unexpected '..3' after the number"),
        ("allow call handle=", "policy:1:19: expected a number after 'handle='"),
        (
            "allow call handle=0x100000000",
            "policy:1:19: number too large after 'handle=' (at most 4294967295)",
        ),
        ("allow call ncaps=8", "policy:1:18: number too large after 'ncaps=' (at most 7)"),
        ("allow call bytes=4", "policy:1:17: expected '<', '<=', '>' or '>=' after 'bytes'"),
        ("allow call arena", "policy:1:17: expected '<', '<=', '>' or '>=' after 'arena'"),
        ("allow call bytes<", "policy:1:18: expected a number after 'bytes<'"),
        ("allow call bytes<=z", "policy:1:19: expected a number after 'bytes<='"),
        ("allow call arena>", "policy:1:18: expected a number after 'arena>'"),
        ("allow call arena>=", "policy:1:19: expected a number after 'arena>='"),
        (
            "allow call bytes>99999999999999999999",
            "policy:1:18: number too large after 'bytes>' (at most 18446744073709551615)",
        ),
        ("allow call bytes<0", "policy:1:12: the 'bytes' conditions of this rule can never hold"),
        (
            "allow call bytes>18446744073709551615",
            "policy:1:12: the 'bytes' conditions of this rule can never hold",
        ),
        (
            "allow call arena>10 arena<5",
            "policy:1:21: the 'arena' conditions of this rule can never hold",
        ),
        ("allow call iid=1 iid=2", "policy:1:18: duplicate matcher 'iid=' in one rule"),
        ("allow call mid=1 mid=2", "policy:1:18: duplicate matcher 'mid=' in one rule"),
        ("allow call handle=1 handle=2", "policy:1:21: duplicate matcher 'handle=' in one rule"),
        ("allow call ncaps=1 ncaps=2", "policy:1:20: duplicate matcher 'ncaps=' in one rule"),
        (
            "allow call size=4",
            "policy:1:12: unknown matcher 'size=' (expected handle=, iid=, mid=, bytes<>, arena<> or ncaps=)",
        ),
        (
            "allow call foo",
            "policy:1:12: method name 'foo' has no dot: expected Interface.Method or Entity.endpoint.Method (or a matcher: handle=, iid=, mid=, bytes<>, arena<>, ncaps=)",
        ),
        (
            "allow call x+y",
            "policy:1:12: unknown matcher 'x+y' (expected handle=, iid=, mid=, bytes<>, arena<> or ncaps=)",
        ),
        ("allow", "policy:1:6: expected an operation (call, recv, reply or any) after 'allow'"),
        ("  log", "policy:1:6: expected an operation (call, recv, reply or any) after 'log'"),
        (
            "allow call,",
            "policy:1:12: expected an operation (call, recv, reply or any) after ','",
        ),
        (
            "deny ,call",
            "policy:1:6: expected an operation (call, recv, reply or any) after 'deny'",
        ),
        (
            "allow calls",
            "policy:1:7: unknown operation 'calls' (expected call, recv, reply or any)",
        ),
        (
            "allow iid=3",
            "policy:1:7: unknown operation 'iid=3' (expected call, recv, reply or any)",
        ),
        (
            "# x\ndeny call,recv iid=1",
            "policy:2:11: 'deny recv' is not allowed: the kernel has no deny path for Recv/RecvEx (use log, or deny the sender's call)",
        ),
        (
            "permit call",
            "policy:1:1: unknown statement 'permit' (expected allow, deny, log, fail, delay, mode or default)",
        ),
        (
            "Allow call",
            "policy:1:1: unknown statement 'Allow' (expected allow, deny, log, fail, delay, mode or default)",
        ),
        ("mode", "policy:1:5: expected 'enforce' or 'audit' after 'mode'"),
        ("mode strict", "policy:1:6: expected 'enforce' or 'audit' after 'mode'"),
        ("default", "policy:1:8: expected 'allow' or 'deny' after 'default'"),
        ("default log", "policy:1:9: expected 'allow' or 'deny' after 'default'"),
        ("mode audit now", "policy:1:12: unexpected 'now' at the end of the statement"),
        ("default deny x", "policy:1:14: unexpected 'x' at the end of the statement"),
        (
            "mode audit\nmode enforce",
            "policy:2:1: duplicate 'mode' statement (the first is on line 1)",
        ),
        (
            "default deny\n\n default allow",
            "policy:3:2: duplicate 'default' statement (the first is on line 1)",
        ),
        (
            "allow call iid=é",
            "policy:1:16: expected a number after 'iid='",
        ),
        (
            "allow call é=1",
            "policy:1:12: unknown matcher 'é=' (expected handle=, iid=, mid=, bytes<>, arena<> or ncaps=)",
        ),
        (
            "allow call iid=1..2 mid=-ABCDEFGHIJKLMNOPQRSTUVWXYZ",
            "policy:1:25: expected a number after 'mid='",
        ),
        (
            "allow call mid=1zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
            "policy:1:17: unexpected 'zzzzzzzzzzzzzzzzzzzzzzzz...' after the number",
        ),
    ];
    for (text, want) in cases {
        assert_eq!(&err(text), want, "for {text:?}");
    }
}

#[test]
fn invalid_utf8_is_located() {
    let e = super::PolicyError::invalid_utf8(b"allow call\nallow c\xffll").unwrap();
    assert_eq!(
        e.to_string(),
        "policy:2:8: the policy text is not valid UTF-8"
    );
    assert!(super::PolicyError::invalid_utf8(b"allow call").is_none());
}

#[test]
fn rule_text_round_trips() {
    let text = "allow call iid=3 mid=1..4\ndeny reply handle=7 bytes>=10 bytes<=20\nlog any arena>=1 ncaps=0\nallow recv,reply\n";
    let p = parse(text).unwrap();
    for r in p.rules() {
        let again = parse(&std::format!("{r}")).unwrap();
        let mut r2 = again.rules()[0];
        r2.line = r.line;
        assert_eq!(&r2, r);
    }
    assert_eq!(
        std::format!("{}", p.rules()[1]),
        "deny reply handle=7 bytes>=10 bytes<=20"
    );
}

// The PRNG of the integration tests (xorshift64*, reproducible), with a
// span generator added here.
#[path = "../../tests/common/rng.rs"]
mod rng;
use rng::Rng;

impl Rng {
    fn span(&mut self, max: u64) -> Span {
        match self.below(4) {
            0 => Span::ALL16,
            1 => {
                let v = self.below(max);
                Span { lo: v, hi: v }
            }
            _ => {
                let a = self.below(max);
                let b = self.below(max);
                Span {
                    lo: a.min(b),
                    hi: a.max(b),
                }
            }
        }
    }
}

fn random_rule(rng: &mut Rng, line: u32) -> Rule {
    let action = [Action::Allow, Action::Deny, Action::Log][rng.below(3) as usize];
    let mut ops = OpSet(1 + rng.below(7) as u8);
    if action == Action::Deny && ops != OpSet::ANY && ops.contains(Class::Recv) {
        // `deny recv` is a load error; `deny any` is allowed (audit for receives).
        ops = if ops.0 == 0b010 {
            OpSet::ANY
        } else {
            OpSet(ops.0 & !0b010)
        };
    }
    let mut r = Rule::new(action, ops, line);
    r.iid = rng.span(12);
    r.mid = rng.span(12);
    if rng.below(5) == 0 {
        r.handle = Some(rng.below(3) as u32);
    }
    if rng.below(5) == 0 {
        r.bytes = Span {
            lo: rng.below(64),
            hi: u64::MAX,
        };
    }
    if rng.below(6) == 0 {
        r.arena = Span {
            lo: 0,
            hi: rng.below(16),
        };
    }
    if rng.below(6) == 0 {
        r.ncaps = Some(rng.below(2) as u16);
    }
    r
}

fn random_key(rng: &mut Rng) -> Key {
    let arena = rng.below(24);
    Key {
        class: Class::ALL[rng.below(3) as usize],
        handle: rng.below(3) as u32,
        iid: if rng.below(10) == 0 {
            0xFFFF
        } else {
            rng.below(14) as u16
        },
        mid: if rng.below(10) == 0 {
            0xFFFF
        } else {
            rng.below(14) as u16
        },
        bytes: 24 + arena + rng.below(48),
        arena,
        ncaps: rng.below(2) as u16,
    }
}

#[test]
fn index_agrees_with_linear_first_match() {
    let mut rng = Rng(0x1234_5678_9ABC_DEF1);
    for round in 0..400 {
        let n = 1 + rng.below(if round % 10 == 0 { 200 } else { 24 }) as usize;
        let mut text = std::string::String::new();
        for i in 0..n {
            text += &std::format!("{}\n", random_rule(&mut rng, i as u32 + 1));
        }
        if rng.below(2) == 0 {
            text += "default allow\n";
        }
        let p = parse(&text).unwrap();
        let mut ix = Index::new();
        ix.build(p.rules());
        for c in Class::ALL {
            assert!(ix.is_indexed(c));
        }
        let mut linear = Index::new();
        linear.build_linear_only(p.rules());
        assert!(!linear.is_indexed(Class::Call));
        for _ in 0..300 {
            let k = random_key(&mut rng);
            let (want, _) = p.evaluate(&k);
            assert_eq!(
                linear.first_match(p.rules(), &k),
                want,
                "linear, key {k:?}\n{text}"
            );
            let (want, _) = p.evaluate(&k);
            assert_eq!(
                ix.first_match(p.rules(), &k),
                want,
                "round {round} key {k:?}\n{text}"
            );
        }
    }
}

#[test]
fn thousand_rules_index_to_short_candidate_lists() {
    // 1,000 point rules over distinct (iid, mid): each lookup scans at most
    // one candidate, which is what makes the cost independent of the count.
    let mut text = std::string::String::new();
    for i in 0..1000u32 {
        text += &std::format!("allow call iid={} mid={}\n", i / 10, i % 10);
    }
    let p = parse(&text).unwrap();
    let mut ix = Index::new();
    ix.build(p.rules());
    for i in 0..1000u32 {
        let k = Key {
            class: Class::Call,
            handle: 1,
            iid: (i / 10) as u16,
            mid: (i % 10) as u16,
            bytes: 24,
            arena: 0,
            ncaps: 0,
        };
        assert_eq!(ix.first_match(p.rules(), &k), Some(i as usize));
    }
    let miss = Key {
        class: Class::Call,
        handle: 1,
        iid: 100,
        mid: 0,
        bytes: 24,
        arena: 0,
        ncaps: 0,
    };
    assert_eq!(ix.first_match(p.rules(), &miss), None);
    assert!(ix.entries() < 5000, "index has {} entries", ix.entries());
}

#[test]
fn thousand_handle_rules_index_by_handle() {
    let mut text = std::string::String::new();
    for h in 0..1000u32 {
        text += &std::format!("deny call handle={} iid=1\n", 100 + h);
    }
    text += "allow call iid=1 bytes<100\nallow call\n";
    let p = parse(&text).unwrap();
    let mut ix = Index::new();
    ix.build(p.rules());
    let key = |handle, bytes| Key {
        class: Class::Call,
        handle,
        iid: 1,
        mid: 0,
        bytes,
        arena: 0,
        ncaps: 0,
    };
    for h in 0..1000u32 {
        assert_eq!(
            ix.first_match(p.rules(), &key(100 + h, 24)),
            Some(h as usize)
        );
    }
    assert_eq!(ix.first_match(p.rules(), &key(7, 24)), Some(1000));
    assert_eq!(ix.first_match(p.rules(), &key(7, 200)), Some(1001));
    // Each cell holds at most the handle's rule and the two fallbacks.
    assert!(
        ix.entries() < 4 * 2001 + 100,
        "index has {} entries",
        ix.entries()
    );
}

fn call_key(iid: u16, mid: u16) -> Key {
    Key {
        class: Class::Call,
        handle: 1,
        iid,
        mid,
        bytes: 24,
        arena: 0,
        ncaps: 0,
    }
}

/// The ids worth probing for `rules`: 0, 65535, every bound and its
/// neighbours, and every `step`-th id.
fn probe_ids(rules: &[Rule], step: usize, span: impl Fn(&Rule) -> Span) -> std::vec::Vec<u16> {
    let mut v: std::vec::Vec<u64> = (0..=0xFFFF).step_by(step).collect();
    v.extend([0, 1, 0xFFFE, 0xFFFF]);
    for r in rules {
        let s = span(r);
        for x in [s.lo, s.hi] {
            v.extend([x.saturating_sub(1), x, (x + 1).min(0xFFFF)]);
        }
    }
    v.sort_unstable();
    v.dedup();
    v.into_iter().map(|x| x as u16).collect()
}

#[test]
fn bench_policy_uses_one_direct_table_for_the_long_mid_level() {
    // bench/run.py's 1,000-rule policy: 500 mids of iid 1, 499 iids with
    // mid 1, the bench's message allowed by the last rule.
    let mut text = std::string::String::from("mode enforce\ndefault deny\n");
    for j in 0..500 {
        text += &std::format!("allow call iid=1 mid={}\n", 2 + j);
    }
    for j in 0..499 {
        text += &std::format!("allow call iid={} mid=1\n", 2 + j);
    }
    text += "allow call iid=1 mid=1\n";
    let p = parse(&text).unwrap();
    let mut ix = Index::new();
    ix.build(p.rules());
    // 502 iid intervals (0, 1, ..., 500, 501..=65535; each of 2..=500 has
    // its own rule, so none merge): the iid level's direct table; iid 1's
    // 502 mid intervals: a second one; the other iids' 3: binary search.
    assert!(ix.iid_direct(Class::Call));
    assert!(ix.mid_direct(Class::Call, 1));
    assert!(!ix.mid_direct(Class::Call, 2));
    assert!(!ix.mid_direct(Class::Call, 0));
    assert_eq!(ix.direct_tables(), 2);
    assert!(
        (262_144..262_144 + 65_536).contains(&ix.bytes()),
        "{} bytes",
        ix.bytes()
    );
    assert_eq!(ix.first_match(p.rules(), &call_key(1, 1)), Some(999));
    for j in 0..500u16 {
        assert_eq!(
            ix.first_match(p.rules(), &call_key(1, 2 + j)),
            Some(j as usize)
        );
    }
    for j in 0..499u16 {
        assert_eq!(
            ix.first_match(p.rules(), &call_key(2 + j, 1)),
            Some(500 + j as usize)
        );
    }
    for (iid, mid) in [
        (1, 0),
        (1, 502),
        (1, 0xFFFF),
        (0, 1),
        (501, 1),
        (0xFFFF, 0xFFFF),
        (2, 2),
    ] {
        assert_eq!(
            ix.first_match(p.rules(), &call_key(iid, mid)),
            None,
            "{iid} {mid}"
        );
    }
}

#[test]
fn direct_tables_agree_with_linear_first_match_over_the_whole_id_space() {
    let mut rng = Rng(0x0DDB_A11C_0FFE_E123);
    let corner = |rng: &mut Rng| match rng.below(6) {
        0 => 0,
        1 => 0xFFFF,
        2 => rng.below(4),
        3 => 0xFFFF - rng.below(4),
        _ => rng.below(0x10000),
    };
    let (mut with_tables, mut full_budget) = (0, 0);
    for round in 0..12 {
        let mut text = std::string::String::new();
        let n = 40 + rng.below(160) as usize;
        // One dense iid holds many mid intervals, so some mid level is long.
        let dense = corner(&mut rng);
        for i in 0..n {
            let mut r = random_rule(&mut rng, i as u32 + 1);
            let (a, b) = (corner(&mut rng), corner(&mut rng));
            r.iid = match rng.below(5) {
                0 => Span::ALL16,
                1 => Span {
                    lo: dense,
                    hi: dense,
                },
                _ => Span {
                    lo: a.min(b),
                    hi: a.max(b),
                },
            };
            let (a, b) = (corner(&mut rng), corner(&mut rng));
            r.mid = match rng.below(4) {
                0 => Span::ALL16,
                1 => Span { lo: a, hi: a },
                _ => Span {
                    lo: a.min(b),
                    hi: a.max(b),
                },
            };
            text += &std::format!("{r}\n");
        }
        let p = parse(&text).unwrap();
        let mut ix = Index::new();
        ix.build(p.rules());
        for c in Class::ALL {
            assert!(ix.is_indexed(c));
        }
        let tables = ix.direct_tables();
        assert!(tables <= 3 + super::compiled::MID_TABLES, "round {round}");
        with_tables += (tables > 0) as u32;
        full_budget += (tables == 3 + super::compiled::MID_TABLES) as u32;
        let iids = probe_ids(p.rules(), 4099, |r| r.iid);
        let mids = probe_ids(p.rules(), 8191, |r| r.mid);
        for &iid in &iids {
            for &mid in &mids {
                let mut k = random_key(&mut rng);
                k.iid = iid;
                k.mid = mid;
                assert_eq!(
                    ix.first_match(p.rules(), &k),
                    p.evaluate(&k).0,
                    "round {round} key {k:?}\n{text}"
                );
            }
        }
    }
    // The seed makes most rounds build direct tables, some up to the budget
    // (and the rest exercise binary searches only).
    assert!(with_tables >= 8, "{with_tables} rounds with direct tables");
    assert!(full_budget >= 1);
}

#[test]
fn many_iids_and_mids_use_direct_tables_within_the_budget() {
    // 40 iids with 12 point mids each, iid 30 with 30: every one of these
    // mid levels is long enough, only MID_TABLES of them get a table (the
    // longest first: iid 30's); the rest keep the binary search.
    let mut text = std::string::String::new();
    let mut want = std::vec::Vec::new();
    for iid in 0..40u16 {
        let n = if iid == 30 { 30 } else { 12 };
        for mid in 0..n {
            text += &std::format!("allow call iid={} mid={}\n", 1000 + iid * 1000, mid * 2000);
            want.push((1000 + iid * 1000, mid * 2000));
        }
    }
    text +=
        "deny call iid=0..65535 mid=65535\nlog call iid=65535\nallow call mid=0..65535 bytes<32\n";
    let p = parse(&text).unwrap();
    let mut ix = Index::new();
    ix.build(p.rules());
    assert!(ix.iid_direct(Class::Call));
    assert!(!ix.iid_direct(Class::Recv));
    assert_eq!(ix.direct_tables(), 1 + super::compiled::MID_TABLES);
    assert!(ix.mid_direct(Class::Call, 31_000));
    let with_table = (0..40u16)
        .filter(|i| ix.mid_direct(Class::Call, 1000 + i * 1000))
        .count();
    assert_eq!(with_table, super::compiled::MID_TABLES);
    for (i, &(iid, mid)) in want.iter().enumerate() {
        assert_eq!(ix.first_match(p.rules(), &call_key(iid, mid)), Some(i));
        // Next to each rule's point: the size-limited catch-all, or nothing.
        assert_eq!(
            ix.first_match(p.rules(), &call_key(iid, mid + 1)),
            Some(want.len() + 2)
        );
        let mut big = call_key(iid, mid + 1);
        big.bytes = 100;
        assert_eq!(ix.first_match(p.rules(), &big), None);
    }
    let n = want.len();
    assert_eq!(ix.first_match(p.rules(), &call_key(0, 0xFFFF)), Some(n));
    assert_eq!(
        ix.first_match(p.rules(), &call_key(0xFFFF, 0xFFFF)),
        Some(n)
    );
    assert_eq!(ix.first_match(p.rules(), &call_key(0xFFFF, 0)), Some(n + 1));
    assert_eq!(ix.first_match(p.rules(), &call_key(0, 0)), Some(n + 2));
    // Every bound and its neighbours, and a stride through the whole space.
    let iids = probe_ids(p.rules(), 251, |r| r.iid);
    let mids = probe_ids(p.rules(), 251, |r| r.mid);
    for (i, &iid) in iids.iter().enumerate() {
        for &mid in mids.iter().skip(i % 3).step_by(3) {
            let k = call_key(iid, mid);
            assert_eq!(ix.first_match(p.rules(), &k), p.evaluate(&k).0, "{k:?}");
        }
    }
}

#[test]
fn direct_tables_are_rebuilt_on_every_build() {
    let mut text = std::string::String::new();
    for i in 0..20u32 {
        text += &std::format!("allow call iid={i} mid={i}\n");
    }
    let p = parse(&text).unwrap();
    let mut ix = Index::new();
    ix.build(p.rules());
    assert_eq!(ix.direct_tables(), 1);
    assert!(ix.iid_direct(Class::Call));
    let small = parse("allow call iid=3 mid=3\n").unwrap();
    ix.build(small.rules());
    assert_eq!(ix.direct_tables(), 0);
    assert!(!ix.iid_direct(Class::Call));
    assert_eq!(ix.first_match(small.rules(), &call_key(3, 3)), Some(0));
    assert_eq!(ix.first_match(small.rules(), &call_key(4, 4)), None);
    ix.build(p.rules());
    assert_eq!(ix.direct_tables(), 1);
    for i in 0..20u16 {
        assert_eq!(ix.first_match(p.rules(), &call_key(i, i)), Some(i as usize));
        assert_eq!(ix.first_match(p.rules(), &call_key(i, i + 1)), None);
    }
}

#[test]
fn learner_renders_sorted_counted_allow_rules_ending_in_default_deny() {
    use crate::op::Op;
    let l = super::learn::Learner::new();
    for _ in 0..3 {
        l.observe_op(Op::Call, 7, 2);
    }
    l.observe_op(Op::CallEx, 7, 2);
    l.observe_op(Op::Reply, 7, 2);
    l.observe_op(Op::Call, 3, 1);
    l.observe_op(Op::RecvEx, 3, 1);
    let text = l.render(&crate::names::NameMap::new());
    let body: std::vec::Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(
        body,
        [
            "mode enforce",
            "allow call iid=3 mid=1  # 1 hit",
            "allow call iid=7 mid=2  # 4 hits",
            "allow recv iid=3 mid=1  # 1 hit",
            "allow reply iid=7 mid=2  # 1 hit",
            "default deny",
        ]
    );
    assert_eq!(l.total(), 7);
    let p = parse(&text).unwrap();
    let k = |class, iid, mid| Key {
        class,
        handle: 1,
        iid,
        mid,
        bytes: 24,
        arena: 0,
        ncaps: 0,
    };
    assert_eq!(p.evaluate(&k(Class::Call, 7, 2)).1, Action::Allow);
    assert_eq!(p.evaluate(&k(Class::Call, 7, 3)).1, Action::Deny);
    assert_eq!(p.evaluate(&k(Class::Reply, 3, 1)).1, Action::Deny);
}

#[test]
fn full_learner_counts_what_it_drops() {
    let l = super::learn::Learner::with_capacity(16);
    for mid in 0..20u16 {
        l.observe(Class::Call, 1, mid);
    }
    assert_eq!(l.entries().len(), 16);
    assert_eq!(l.dropped(), 4);
    assert!(l
        .render(&crate::names::NameMap::new())
        .contains("# WARNING: 4 observations were not recorded"));
}
