//! Fuzz the policy parser and compiler: any input either parses or gives an
//! error with a position; a parsed policy's rules (fault rules too) print
//! back to text that parses to the same rules; the compiled index agrees with the linear
//! first-match reference on keys drawn from the input.
#![no_main]

use kos_ipc_shim::policy::{self, Class, Index, Key, PolicyError};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        let e = PolicyError::invalid_utf8(data).expect("non-UTF-8 input is located");
        assert!(e.line >= 1 && e.col >= 1);
        return;
    };
    let p = match policy::parse(text) {
        Ok(p) => p,
        Err(e) => {
            assert!(e.line >= 1 && e.col >= 1);
            assert!(e.line as usize <= text.split('\n').count());
            let _ = e.to_string();
            return;
        }
    };
    for r in p.rules() {
        let again = policy::parse(&r.to_string()).expect("a printed rule parses");
        let mut r2 = again.rules()[0];
        r2.line = r.line;
        assert_eq!(&r2, r);
    }
    for f in p.faults() {
        let text = f.to_string();
        let again = policy::parse(&text).expect("a printed fault rule parses");
        let mut f2 = again.faults()[0];
        f2.when.line = f.when.line;
        f2.group = f.group;
        assert_eq!(&f2, f, "{text}");
    }
    let mut ix = Index::new();
    ix.build(p.rules());
    for (i, w) in data.chunks(8).enumerate() {
        let b = |j: usize| *w.get(j).unwrap_or(&0);
        let k = Key {
            class: Class::ALL[i % 3],
            handle: b(0) as u32 % 4,
            iid: u16::from_le_bytes([b(1), b(2) % 4]),
            mid: u16::from_le_bytes([b(3), b(4) % 4]),
            bytes: 24 + b(5) as u64 * 17,
            arena: b(6) as u64 * 3,
            ncaps: (b(7) % 3) as u16,
        };
        assert_eq!(ix.first_match(p.rules(), &k), p.evaluate(&k).0, "key {k:?}");
    }
});
