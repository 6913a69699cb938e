//! Unit tests of fault rules: parsing, printing, errors, the trigger, and
//! which rule fires (the reference `Policy::inject`).

use super::fault::{below, draw, splitmix64, Effect, CERTAIN};
use super::rules::{Class, Key, OpSet, Span};
use super::{parse, Policy};
use crate::abi::{rcFail, rcTimeout};

fn err(text: &str) -> std::string::String {
    match parse(text) {
        Ok(_) => panic!("{text:?} parsed"),
        Err(e) => e.to_string(),
    }
}

fn key(class: Class, iid: u16, mid: u16) -> Key {
    Key {
        class,
        handle: 5,
        iid,
        mid,
        bytes: 48,
        arena: 0,
        ncaps: 0,
    }
}

/// Which of `n` messages `k` the policy's fault rules fire on (1-based), with
/// fresh counters, under `seed`.
fn fired(p: &Policy, k: &Key, seed: u64, n: u64) -> std::vec::Vec<(u64, usize)> {
    let mut seen = std::vec![0u64; p.fault_groups()];
    (1..=n)
        .filter_map(|i| {
            p.inject(k, seed, |g| {
                seen[g as usize] += 1;
                seen[g as usize]
            })
            .map(|r| (i, r))
        })
        .collect()
}

#[test]
fn fault_rules_parse_to_the_stated_rule_and_print_back() {
    let text = "allow any\n\
                fail call rc=rcTimeout p=0.1 iid=3 mid=1..4\n\
                delay call,reply 5ms every=3 after=10 handle=7\n\
                fail reply rc=0x9000000D bytes>4096\n\
                delay call 1500us p=0.000000001\n\
                fail call rc=rcNotConnected p=1 every=1 after=0\n";
    let p = parse(text).unwrap();
    assert_eq!(p.rules().len(), 1, "fault rules are not access rules");
    let f = p.faults();
    assert_eq!(f.len(), 5);
    assert_eq!(f[0].effect, Effect::Fail(rcTimeout));
    assert_eq!(f[0].p, 100_000_000);
    assert_eq!(f[0].when.ops, OpSet::only(Class::Call));
    assert_eq!(f[0].when.iid, Span { lo: 3, hi: 3 });
    assert_eq!(f[0].when.mid, Span { lo: 1, hi: 4 });
    assert_eq!((f[0].when.line, f[0].group), (2, 0));
    assert_eq!(f[1].effect, Effect::Delay(5_000_000));
    assert_eq!((f[1].every, f[1].after, f[1].p), (3, 10, CERTAIN));
    assert_eq!(f[1].when.handle, Some(7));
    assert_eq!(f[1].when.ops.0, 0b101);
    assert_eq!(f[2].effect, Effect::Fail(rcFail));
    assert_eq!(f[3].effect, Effect::Delay(1_500_000));
    assert_eq!(f[3].p, 1);
    assert_eq!((f[4].p, f[4].every, f[4].after), (CERTAIN, 1, 0));
    let printed: std::vec::Vec<_> = f.iter().map(|f| f.to_string()).collect();
    assert_eq!(
        printed,
        [
            "fail call iid=3 mid=1..4 rc=rcTimeout p=0.1",
            "delay call,reply handle=7 5ms every=3 after=10",
            "fail reply bytes>=4097 rc=rcFail",
            "delay call 1500us p=0.000000001",
            "fail call rc=rcNotConnected every=1",
        ]
    );
    for (f, text) in f.iter().zip(&printed) {
        let again = parse(text).unwrap();
        let mut g = again.faults()[0];
        g.when.line = f.when.line;
        g.group = f.group;
        assert_eq!(&g, f, "{text}");
    }
}

#[test]
fn fault_rule_errors_name_line_and_column() {
    assert_eq!(
        err("fail call rc=rcTimout"),
        std::format!(
            "policy:1:14: unknown return code 'rcTimout' (expected a non-zero number or one of {})",
            super::fault::RetcodeNames
        )
    );
    assert!(err("fail call rc=rcTimout").contains("rcTimeout, rcSecurityDisallow"));
    assert!(err("fail call rc=rcOk").starts_with("policy:1:14: unknown return code 'rcOk'"));
    assert!(err("fail call rc=0").starts_with("policy:1:14: unknown return code '0'"));
    assert_eq!(
        err("allow call\nfail call iid=3"),
        "policy:2:16: 'fail' needs rc=CODE: the return code the call gets (e.g. rc=rcTimeout)"
    );
    assert_eq!(
        err("delay call"),
        "policy:1:11: 'delay' needs a duration (e.g. 5ms; units ns, us, ms, s)"
    );
    assert_eq!(
        err("fail call rc=rcBusy p=1.5"),
        "policy:1:23: expected a probability from 0 to 1 after 'p=' (at most 9 decimals, e.g. p=0.01)"
    );
    for bad in [
        "p=",
        "p=.5",
        "p=1.",
        "p=-0.1",
        "p=0.1234567891",
        "p=1.0000000001",
        "p=x",
    ] {
        let e = err(&std::format!("fail call rc=rcBusy {bad}"));
        assert!(
            e.starts_with("policy:1:23: expected a probability"),
            "{bad}: {e}"
        );
    }
    assert_eq!(
        err("delay call 5"),
        "policy:1:12: expected a duration with a unit ns, us, ms or s, not '5'"
    );
    assert_eq!(
        err("delay call 5min"),
        "policy:1:12: expected a duration with a unit ns, us, ms or s, not '5min'"
    );
    assert_eq!(
        err("delay call 61s"),
        "policy:1:12: delay too long (at most 60s)"
    );
    assert_eq!(
        err("delay call 99999999999999999999s"),
        "policy:1:12: delay too long (at most 60s)"
    );
    assert_eq!(
        err("delay call 5ms rc=rcTimeout"),
        "policy:1:16: 'rc=rcTimeout' does not belong in a 'delay' rule"
    );
    assert_eq!(
        err("fail call rc=rcBusy 5ms"),
        "policy:1:21: '5ms' does not belong in a 'fail' rule"
    );
    let recv = "policy:1:6: 'fail' applies to call and reply only: a request already received \
                cannot be failed or held without leaving its client waiting (fault the client's \
                call instead)";
    assert_eq!(err("fail recv rc=rcBusy"), recv);
    assert_eq!(err("fail any rc=rcBusy"), recv);
    assert!(err("delay call,recv 1ms").starts_with("policy:1:12: 'delay' applies to call"));
    assert_eq!(
        err("fail"),
        "policy:1:5: expected an operation (call, recv, reply or any) after 'fail'"
    );
    assert_eq!(
        err("fail rc=rcTimeout"),
        "policy:1:6: unknown operation 'rc=rcTimeout' (expected call, recv, reply or any)"
    );
    assert_eq!(
        err("fail call rc=rcBusy rc=rcFail"),
        "policy:1:21: duplicate matcher 'rc=' in one rule"
    );
    assert_eq!(
        err("delay call 1ms 2ms"),
        "policy:1:16: duplicate matcher 'duration' in one rule"
    );
    assert_eq!(
        err("fail call rc=rcBusy every=0"),
        "policy:1:27: the 'every=' conditions of this rule can never hold"
    );
    assert_eq!(
        err("fail call rc=rcBusy after=x"),
        "policy:1:27: expected a number after 'after='"
    );
    assert_eq!(
        err("fail call rc=rcBusy every=2 every=3"),
        "policy:1:29: duplicate matcher 'every=' in one rule"
    );
    assert_eq!(
        err("fail call rc=rcBusy iid=3 frob=1"),
        "policy:1:27: unknown matcher 'frob=' (expected handle=, iid=, mid=, bytes<>, arena<> or ncaps=)"
    );
    assert_eq!(
        err("allow any\nfail call rc=rcBusy\nmode audit"),
        "policy:2:1: fault rules need enforce mode ('mode audit' on line 3 never changes a call)"
    );
    assert!(parse("mode enforce\nfail call rc=rcBusy").is_ok());
    assert!(err("flail call").contains("expected allow, deny, log, fail, delay, mode or default"));
}

#[test]
fn splitmix_and_draw_are_the_published_functions() {
    // The first output of SplitMix64 seeded with 0 (the reference
    // implementation's `next()` adds the constant first, as `splitmix64` does).
    assert_eq!(splitmix64(0), 0xE220_A839_7B1D_CDAF);
    assert_eq!(
        draw(7, 2, 9),
        splitmix64(splitmix64(7 ^ 2u64.wrapping_mul(0xD1B5_4A32_D192_ED03)).wrapping_add(9))
    );
    assert!(below(0, 1));
    assert!(!below(0, 0));
    assert!(below(u64::MAX, CERTAIN));
    assert!(!below(u64::MAX, CERTAIN - 1));
    // p = 1/2: exactly the lower half of the words.
    assert!(below((1 << 63) - 1, CERTAIN / 2));
    assert!(!below(1 << 63, CERTAIN / 2));
}

#[test]
fn every_and_after_are_exact() {
    let p = parse("fail call rc=rcBusy every=3 after=4").unwrap();
    let k = key(Class::Call, 1, 1);
    let fires: std::vec::Vec<u64> = fired(&p, &k, 1, 20).into_iter().map(|(n, _)| n).collect();
    assert_eq!(fires, [7, 10, 13, 16, 19]);
    let p = parse("fail call rc=rcBusy after=18").unwrap();
    assert_eq!(fired(&p, &k, 1, 20), [(19, 0), (20, 0)]);
}

#[test]
fn probability_is_reproducible_and_about_right() {
    let p = parse("fail call rc=rcTimeout p=0.1").unwrap();
    let k = key(Class::Call, 1, 1);
    let a = fired(&p, &k, 42, 100_000);
    assert_eq!(a, fired(&p, &k, 42, 100_000), "same seed, same faults");
    assert_ne!(a, fired(&p, &k, 43, 100_000), "another seed, other faults");
    // Binomial(100000, 0.1): mean 10000, sd ~95; 6 sd either side.
    assert!((9_430..=10_570).contains(&a.len()), "{}", a.len());
    // Exactly the messages whose draw is below p.
    let want: std::vec::Vec<u64> = (1..=100_000)
        .filter(|&n| below(draw(42, 0, n), 100_000_000))
        .collect();
    assert_eq!(a.iter().map(|x| x.0).collect::<std::vec::Vec<_>>(), want);
    let never = parse("fail call rc=rcTimeout p=0").unwrap();
    assert!(fired(&never, &k, 42, 1000).is_empty());
}

#[test]
fn first_firing_fault_rule_applies_and_matchers_select() {
    let p = parse(
        "fail call rc=rcBusy iid=2 every=2\n\
         delay call 1ms every=3\n\
         fail reply rc=rcFail\n",
    )
    .unwrap();
    // iid=1: only the delay rule matches; it sees messages 1..6.
    let k1 = key(Class::Call, 1, 0);
    assert_eq!(fired(&p, &k1, 0, 6), [(3, 1), (6, 1)]);
    // iid=2: rule 0 takes every 2nd; rule 1 sees only the others (1, 3, 5,
    // 7, 9, 11: its 3rd and 6th are messages 5 and 11).
    let k2 = key(Class::Call, 2, 0);
    assert_eq!(
        fired(&p, &k2, 0, 12),
        [
            (2, 0),
            (4, 0),
            (5, 1),
            (6, 0),
            (8, 0),
            (10, 0),
            (11, 1),
            (12, 0)
        ]
    );
    let kr = key(Class::Reply, 2, 0);
    assert_eq!(fired(&p, &kr, 0, 2), [(1, 2), (2, 2)]);
    let kv = key(Class::Recv, 2, 0);
    assert!(fired(&p, &kv, 0, 6).is_empty());
}

#[cfg(feature = "clib")]
#[test]
fn a_name_is_one_fault_rule_with_one_count() {
    use crate::names::NameMap;
    // demo.Echo is served at RIIDs 0 and 2 (see tests_names.rs).
    let map = NameMap::from_schema(crate::names::tests::demo_schema());
    let p = super::parse_with(
        "fail call Echo.Ping rc=rcBusy every=2
fail call rc=rcFail every=2",
        &map,
    )
    .unwrap();
    assert_eq!(p.faults().len(), 3);
    assert_eq!(p.fault_groups(), 2);
    assert_eq!(
        p.faults()
            .iter()
            .map(|f| (f.group, f.when.iid.lo))
            .collect::<std::vec::Vec<_>>(),
        [(0, 0), (0, 2), (1, 0)]
    );
    let ping = p.faults()[0].when.mid.lo as u16;
    // Messages alternate between the two RIIDs: one count for the name,
    // so every 2nd of them fails, whichever RIID it went to.
    let mut seen = std::vec![0u64; 2];
    let fired: std::vec::Vec<_> = (0..6u16)
        .map(|i| {
            let k = key(Class::Call, if i % 2 == 0 { 0 } else { 2 }, ping);
            p.inject(&k, 0, |g| {
                seen[g as usize] += 1;
                seen[g as usize]
            })
        })
        .collect();
    assert_eq!(
        fired,
        [None, Some(1), Some(2), Some(1), None, Some(1)],
        "the name's rule fires on its 2nd, 4th, 6th message; the others reach the second rule, \
         which fires on its 2nd (message 3)"
    );
}
