//! Messages built by hand (a header, parameters at their offsets, an
//! arena), decoded, and compared with the exact text and JSON expected.

use super::*;
use crate::idl::model::{Field, Param, StructDef};
use alloc::boxed::Box;
use alloc::vec;
use serde_json::json;

fn prim(p: Prim) -> Type {
    Type::Prim(p)
}

fn seq(t: Type, n: u32) -> Type {
    Type::Sequence(Box::new(t), n)
}

fn arr(t: Type, n: u32) -> Type {
    Type::Array(Box::new(t), n)
}

fn st(name: &str) -> Type {
    Type::Struct(name.into())
}

fn def(name: &str, fields: &[(&str, Type)]) -> StructDef {
    StructDef {
        name: name.into(),
        fields: fields
            .iter()
            .map(|(n, t)| Field {
                name: (*n).into(),
                ty: t.clone(),
            })
            .collect(),
    }
}

fn method(name: &str, params: &[(Dir, &str, Type)]) -> Method {
    Method {
        name: name.into(),
        params: params
            .iter()
            .map(|(d, n, t)| Param {
                dir: *d,
                name: (*n).into(),
                ty: t.clone(),
            })
            .collect(),
    }
}

/// `geo.Point {SInt32 x; SInt32 y}`, `geo.Line {Point a; Point b; string<16>
/// tag}`, `geo.Node {UInt8 v; sequence<Node, 8> kids}`, `geo.Empty {}`.
fn schema() -> Schema {
    let mut s = Schema::default();
    for d in [
        def(
            "geo.Point",
            &[("x", prim(Prim::S32)), ("y", prim(Prim::S32))],
        ),
        def(
            "geo.Line",
            &[
                ("a", st("geo.Point")),
                ("b", st("geo.Point")),
                ("tag", Type::String(16)),
            ],
        ),
        def(
            "geo.Node",
            &[("v", prim(Prim::U8)), ("kids", seq(st("geo.Node"), 8))],
        ),
        def("geo.Empty", &[]),
    ] {
        s.structs.insert(d.name.clone(), d);
    }
    s
}

fn ptr(offset: u32, size: u32) -> Vec<u8> {
    let mut v = offset.to_le_bytes().to_vec();
    v.extend_from_slice(&size.to_le_bytes());
    v
}

fn point(x: i32, y: i32) -> Vec<u8> {
    let mut v = x.to_le_bytes().to_vec();
    v.extend_from_slice(&y.to_le_bytes());
    v
}

fn u32s(vals: &[u32]) -> Vec<u8> {
    vals.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// A message being built: the constant part and the arena.
struct Msg {
    c: Vec<u8>,
    a: Vec<u8>,
}

impl Msg {
    /// A 24-byte header (iid 1, mid 2, the `err` bit as asked).
    fn new(err: bool) -> Msg {
        let mut c = vec![0u8; 24];
        c[0] = 1;
        c[2] = 2;
        if err {
            c[4..8].copy_from_slice(&ERR_BIT.to_le_bytes());
        }
        Msg { c, a: Vec::new() }
    }

    /// `bytes` at offset `at` of the constant part.
    fn put(&mut self, at: u32, bytes: &[u8]) {
        let at = at as usize;
        if self.c.len() < at + bytes.len() {
            self.c.resize(at + bytes.len(), 0);
        }
        self.c[at..at + bytes.len()].copy_from_slice(bytes);
    }

    /// The `dir` parameters of `m`, encoded, each at its offset; the
    /// constant part ends with the last one (no padding after it).
    fn params(&mut self, s: &Schema, m: &Method, dir: Dir, vals: &[Vec<u8>]) {
        let (offs, _) = s.offsets(m, dir).unwrap();
        assert_eq!(offs.len(), vals.len());
        for (at, v) in offs.into_iter().zip(vals) {
            self.put(at, v);
        }
    }

    /// `bytes` stored in the arena at the next multiple of 8; its `nk_ptr_t`.
    fn store(&mut self, bytes: &[u8]) -> Vec<u8> {
        self.a.resize(self.a.len().next_multiple_of(8), 0);
        let off = self.a.len() as u32;
        self.a.extend_from_slice(bytes);
        ptr(off, bytes.len() as u32)
    }

    /// A NUL-terminated string stored in the arena.
    fn string(&mut self, s: &str) -> Vec<u8> {
        let mut b = s.as_bytes().to_vec();
        b.push(0);
        self.store(&b)
    }

    /// Decoded with everything captured.
    fn decode(&self, s: &Schema, m: &Method, part: Part) -> Decoded {
        self.cut(s, m, part, self.c.len(), self.a.len())
    }

    /// Decoded with the first `cl` constant and `al` arena bytes captured.
    fn cut(&self, s: &Schema, m: &Method, part: Part, cl: usize, al: usize) -> Decoded {
        decode(
            s,
            m,
            part,
            &self.c[..cl],
            self.c.len() as u32,
            &self.a[..al],
            self.a.len() as u32,
        )
    }
}

/// The JSON form, parsed (so it is valid JSON).
fn js(d: &Decoded) -> serde_json::Value {
    let mut s = String::new();
    d.json(&mut s);
    serde_json::from_str(&s).unwrap_or_else(|e| panic!("{e}: {s}"))
}

/// The text and the JSON of a request of `m` holding `vals`.
fn request(s: &Schema, m: &Method, msg: &mut Msg, vals: &[Vec<u8>]) -> (String, serde_json::Value) {
    msg.params(s, m, Dir::In, vals);
    let d = msg.decode(s, m, Part::Request);
    (d.text(), js(&d))
}

fn one(name: &str, ty: Type) -> Method {
    method("M", &[(Dir::In, name, ty)])
}

#[test]
fn scalars_at_their_natural_offsets() {
    let s = schema();
    let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k"];
    let params: Vec<(Dir, &str, Type)> = Prim::ALL
        .iter()
        .zip(names)
        .map(|(p, n)| (Dir::In, n, prim(*p)))
        .collect();
    let m = method("All", &params);
    assert_eq!(
        s.offsets(&m, Dir::In).unwrap(),
        (vec![24, 26, 28, 32, 40, 42, 44, 48, 56, 60, 64], 72)
    );
    let mut msg = Msg::new(false);
    let (text, j) = request(
        &s,
        &m,
        &mut msg,
        &[
            vec![255],
            65535u16.to_le_bytes().to_vec(),
            4_000_000_000u32.to_le_bytes().to_vec(),
            u64::MAX.to_le_bytes().to_vec(),
            (-128i8).to_le_bytes().to_vec(),
            (-2i16).to_le_bytes().to_vec(),
            (-3i32).to_le_bytes().to_vec(),
            i64::MIN.to_le_bytes().to_vec(),
            vec![1],
            1.5f32.to_le_bytes().to_vec(),
            (-0.25f64).to_le_bytes().to_vec(),
        ],
    );
    assert_eq!(
        text,
        "All(a: 255, b: 65535, c: 4000000000, d: 18446744073709551615, e: -128, f: -2, \
         g: -3, h: -9223372036854775808, i: true, j: 1.5, k: -0.25)"
    );
    assert_eq!(
        j,
        json!({"a": 255, "b": 65535, "c": 4000000000u32, "d": "18446744073709551615",
               "e": -128, "f": -2, "g": -3, "h": "-9223372036854775808", "i": true,
               "j": 1.5, "k": -0.25})
    );
}

#[test]
fn json_numbers_are_exact_up_to_2_pow_53() {
    let s = schema();
    let m = method(
        "N",
        &[
            (Dir::In, "a", prim(Prim::U64)),
            (Dir::In, "b", prim(Prim::U64)),
            (Dir::In, "c", prim(Prim::S64)),
            (Dir::In, "d", prim(Prim::S64)),
            (Dir::In, "e", prim(Prim::Bool)),
        ],
    );
    let big = 1u64 << 53;
    let (text, j) = request(
        &s,
        &m,
        &mut Msg::new(false),
        &[
            big.to_le_bytes().to_vec(),
            (big + 1).to_le_bytes().to_vec(),
            (-(big as i64)).to_le_bytes().to_vec(),
            (-(big as i64) - 1).to_le_bytes().to_vec(),
            vec![0],
        ],
    );
    assert_eq!(
        text,
        "N(a: 9007199254740992, b: 9007199254740993, c: -9007199254740992, \
         d: -9007199254740993, e: false)"
    );
    assert_eq!(
        j,
        json!({"a": 9007199254740992u64, "b": "9007199254740993",
               "c": -9007199254740992i64, "d": "-9007199254740993", "e": false})
    );
}

#[test]
fn floats_nan_and_infinities() {
    let s = schema();
    let m = method(
        "F",
        &[
            (Dir::In, "a", prim(Prim::F32)),
            (Dir::In, "b", prim(Prim::F64)),
            (Dir::In, "c", prim(Prim::F64)),
            (Dir::In, "d", prim(Prim::F32)),
        ],
    );
    let (text, j) = request(
        &s,
        &m,
        &mut Msg::new(false),
        &[
            f32::NAN.to_le_bytes().to_vec(),
            f64::INFINITY.to_le_bytes().to_vec(),
            f64::NEG_INFINITY.to_le_bytes().to_vec(),
            0.1f32.to_le_bytes().to_vec(),
        ],
    );
    assert_eq!(text, "F(a: nan, b: inf, c: -inf, d: 0.1)");
    assert_eq!(
        j,
        json!({"a": "NaN", "b": "Infinity", "c": "-Infinity", "d": 0.1})
    );
}

#[test]
fn a_bool_other_than_0_or_1_is_shown_as_its_number() {
    let s = schema();
    let m = one("flag", prim(Prim::Bool));
    let (text, j) = request(&s, &m, &mut Msg::new(false), &[vec![2]]);
    assert_eq!(text, "M(flag: 2 <Bool not 0 or 1>)");
    assert_eq!(
        j,
        json!({"flag": {"value": 2, "problem": "Bool not 0 or 1"}})
    );
}

#[test]
fn handles_with_rights_and_badge() {
    let s = schema();
    let m = method(
        "H",
        &[
            (Dir::In, "n", prim(Prim::U8)),
            (Dir::In, "h", Type::Handle),
            (Dir::In, "g", Type::Handle),
        ],
    );
    let handle = |h: u32, r: u32, b: u64| {
        let mut v = h.to_le_bytes().to_vec();
        v.extend_from_slice(&r.to_le_bytes());
        v.extend_from_slice(&b.to_le_bytes());
        v
    };
    assert_eq!(s.offsets(&m, Dir::In).unwrap(), (vec![24, 32, 48], 64));
    let (text, j) = request(
        &s,
        &m,
        &mut Msg::new(false),
        &[vec![1], handle(7, 3, 0), handle(9, 0x1f, u64::MAX)],
    );
    assert_eq!(
        text,
        "H(n: 1, h: handle(7, rights 0x3), g: handle(9, rights 0x1f, badge 0xffffffffffffffff))"
    );
    assert_eq!(
        j,
        json!({"n": 1, "h": {"handle": 7, "rights": 3, "badge": 0},
               "g": {"handle": 9, "rights": 31, "badge": "18446744073709551615"}})
    );
}

fn echo() -> Method {
    method(
        "Echo",
        &[
            (Dir::In, "value", Type::String(256)),
            (Dir::In, "p", st("geo.Point")),
            (Dir::In, "data", seq(prim(Prim::U32), 16)),
            (Dir::Out, "success", prim(Prim::U32)),
            (Dir::Error, "code", prim(Prim::U32)),
        ],
    )
}

/// The request of [`echo`]: "hello", {1, -2}, [1, 2, 3].
fn echo_request() -> Msg {
    let s = schema();
    let mut msg = Msg::new(false);
    let value = msg.string("hello");
    let data = msg.store(&u32s(&[1, 2, 3]));
    msg.params(&s, &echo(), Dir::In, &[value, point(1, -2), data]);
    msg
}

#[test]
fn a_request_with_string_struct_and_sequence() {
    let s = schema();
    let msg = echo_request();
    let d = msg.decode(&s, &echo(), Part::Request);
    assert!(!d.has_problems());
    assert_eq!(
        d.text(),
        r#"Echo(value: "hello", p: {x: 1, y: -2}, data: [1, 2, 3])"#
    );
    assert_eq!(
        js(&d),
        json!({"value": "hello", "p": {"x": 1, "y": -2}, "data": [1, 2, 3]})
    );
}

#[test]
fn a_response_and_an_error_response() {
    let s = schema();
    let m = echo();
    let mut ok = Msg::new(false);
    ok.params(&s, &m, Dir::Out, &[u32s(&[1])]);
    let d = ok.decode(&s, &m, Part::Response);
    assert!(!d.is_error);
    assert_eq!(d.text(), "-> (success: 1)");
    assert_eq!(js(&d), json!({"success": 1}));

    let mut err = Msg::new(true);
    err.params(&s, &m, Dir::Error, &[u32s(&[5])]);
    let d = err.decode(&s, &m, Part::Response);
    assert!(d.is_error);
    assert_eq!(d.text(), "-> error (code: 5)");
    assert_eq!(js(&d), json!({"code": 5, "_error": true}));

    // A request ignores the err bit.
    let mut req = echo_request();
    req.c[7] |= 0x80;
    assert_eq!(
        req.decode(&s, &m, Part::Request).text(),
        r#"Echo(value: "hello", p: {x: 1, y: -2}, data: [1, 2, 3])"#
    );
}

#[test]
fn a_method_without_parameters() {
    let s = schema();
    let m = method("Ping", &[]);
    let msg = Msg::new(false);
    assert_eq!(msg.decode(&s, &m, Part::Request).text(), "Ping()");
    assert_eq!(msg.decode(&s, &m, Part::Response).text(), "-> ()");
    assert_eq!(js(&msg.decode(&s, &m, Part::Request)), json!({}));
}

#[test]
fn strings_are_escaped() {
    let s = schema();
    let m = one("s", Type::String(64));
    let mut msg = Msg::new(false);
    let v = msg.string("a\"b\\c\n\t\r\x01\x7f\u{85}é");
    let (text, j) = request(&s, &m, &mut msg, &[v]);
    assert_eq!(text, r#"M(s: "a\"b\\c\n\t\r\x01\x7f\u{85}é")"#);
    assert_eq!(j, json!({"s": "a\"b\\c\n\t\r\x01\x7f\u{85}é"}));
}

#[test]
fn a_string_without_nul() {
    let s = schema();
    let m = one("s", Type::String(64));
    let mut msg = Msg::new(false);
    let v = msg.store(b"abc");
    let (text, j) = request(&s, &m, &mut msg, &[v]);
    assert_eq!(text, r#"M(s: "abc" <no NUL within 3 bytes>)"#);
    assert_eq!(
        j,
        json!({"s": {"text": "abc", "problems": ["no NUL within 3 bytes"]}})
    );
    // Size 0 has no room for the NUL either.
    let mut msg = Msg::new(false);
    let (text, _) = request(&s, &m, &mut msg, &[ptr(0, 0)]);
    assert_eq!(text, r#"M(s: "" <no NUL within 0 bytes>)"#);
}

#[test]
fn a_string_over_its_bound() {
    let s = schema();
    let m = one("s", Type::String(4));
    let mut msg = Msg::new(false);
    let v = msg.string("hello");
    let (text, j) = request(&s, &m, &mut msg, &[v]);
    assert_eq!(text, r#"M(s: "hello" <over max 4: 6 bytes>)"#);
    assert_eq!(
        j,
        json!({"s": {"text": "hello", "problems": ["over max 4: 6 bytes"]}})
    );
}

#[test]
fn a_string_that_is_not_utf8() {
    let s = schema();
    let m = one("s", Type::String(64));
    let mut msg = Msg::new(false);
    let v = msg.store(b"a\xffb\0");
    let (text, j) = request(&s, &m, &mut msg, &[v]);
    assert_eq!(text, r#"M(s: "a\xffb" <invalid UTF-8>)"#);
    assert_eq!(
        j,
        json!({"s": {"text": "a\u{fffd}b", "problems": ["invalid UTF-8"]}})
    );
}

#[test]
fn a_string_cut_by_the_capture_limit() {
    let s = schema();
    let m = one("s", Type::String(64));
    let mut msg = Msg::new(false);
    let v = msg.string("hello, this string has forty bytes.....");
    msg.params(&s, &m, Dir::In, &[v]);
    let d = msg.cut(&s, &m, Part::Request, msg.c.len(), 3);
    assert!(d.has_problems());
    assert_eq!(d.text(), r#"M(s: "hel"…(cut: 3 of 40 bytes captured))"#);
    assert_eq!(
        js(&d),
        json!({"s": {"text": "hel", "cut": {"captured": 3, "size": 40}}})
    );
    // A multi-byte character split by the cut is not a UTF-8 error.
    let mut msg = Msg::new(false);
    let v = msg.string("aé");
    msg.params(&s, &m, Dir::In, &[v]);
    let d = msg.cut(&s, &m, Part::Request, msg.c.len(), 2);
    assert_eq!(d.text(), r#"M(s: "a\xc3"…(cut: 2 of 4 bytes captured))"#);
}

#[test]
fn a_long_string_is_shown_up_to_max_text() {
    let s = schema();
    let m = one("s", Type::String(1000));
    let mut msg = Msg::new(false);
    let long: String = "é".repeat(200); // 400 bytes
    let v = msg.string(&long);
    let (text, j) = request(&s, &m, &mut msg, &[v]);
    // 256 bytes: 128 characters.
    assert_eq!(
        text,
        format!("M(s: \"{}\"…(+144 more bytes))", "é".repeat(128))
    );
    assert_eq!(j, json!({"s": {"text": "é".repeat(128), "more": 144}}));
}

#[test]
fn a_pointer_past_the_arena() {
    let s = schema();
    let m = method(
        "P",
        &[
            (Dir::In, "name", Type::String(64)),
            (Dir::In, "raw", Type::Bytes(64)),
            (Dir::In, "list", seq(prim(Prim::U8), 64)),
        ],
    );
    let mut msg = Msg::new(false);
    msg.a = vec![0; 64];
    let (text, j) = request(
        &s,
        &m,
        &mut msg,
        &[ptr(90, 8), ptr(60, 5), ptr(u32::MAX, u32::MAX)],
    );
    assert_eq!(
        text,
        "P(name: <bad pointer: offset 90 + size 8 past arena 64>, \
         raw: <bad pointer: offset 60 + size 5 past arena 64>, \
         list: <bad pointer: offset 4294967295 + size 4294967295 past arena 64>)"
    );
    assert_eq!(
        j["name"],
        json!({"problem": "bad pointer: offset 90 + size 8 past arena 64"})
    );
}

#[test]
fn bytes_as_hex() {
    let s = schema();
    let m = method(
        "B",
        &[
            (Dir::In, "a", Type::Bytes(8)),
            (Dir::In, "b", Type::Bytes(200)),
            (Dir::In, "c", Type::Bytes(2)),
            (Dir::In, "e", Type::Bytes(2)),
        ],
    );
    let mut msg = Msg::new(false);
    let a = msg.store(&[0x0a, 0x0b, 0x0c]);
    let hundred: Vec<u8> = (0..100).collect();
    let b = msg.store(&hundred);
    let c = msg.store(&[1, 2, 3]);
    let (text, j) = request(&s, &m, &mut msg, &[a, b, c, ptr(0, 0)]);
    let first64: String = (0..64u8).map(|x| format!("{x:02x}")).collect();
    assert_eq!(
        text,
        format!("B(a: <0a0b0c>, b: <{first64}>…(+36 more bytes), c: <010203> <over max 2: 3 bytes>, e: <>)")
    );
    assert_eq!(
        j,
        json!({"a": "0a0b0c", "b": {"hex": first64, "size": 100, "more": 36},
               "c": {"hex": "010203", "size": 3, "problems": ["over max 2: 3 bytes"]},
               "e": ""})
    );
}

#[test]
fn bytes_cut_by_the_capture_limit() {
    let s = schema();
    let m = one("b", Type::Bytes(64));
    let mut msg = Msg::new(false);
    let v = msg.store(&[0xab; 40]);
    msg.params(&s, &m, Dir::In, &[v]);
    let d = msg.cut(&s, &m, Part::Request, msg.c.len(), 12);
    assert_eq!(
        d.text(),
        format!("M(b: <{}>…(cut: 12 of 40 bytes captured))", "ab".repeat(12))
    );
    assert_eq!(
        js(&d),
        json!({"b": {"hex": "ab".repeat(12), "size": 40, "cut": {"captured": 12, "size": 40}}})
    );
}

#[test]
fn sequences_of_scalars_and_their_flaws() {
    let s = schema();
    let m = method(
        "S",
        &[
            (Dir::In, "ok", seq(prim(Prim::U32), 4)),
            (Dir::In, "ragged", seq(prim(Prim::U32), 4)),
            (Dir::In, "over", seq(prim(Prim::U32), 2)),
            (Dir::In, "long", seq(prim(Prim::U8), 1000)),
            (Dir::In, "neg", seq(prim(Prim::S16), 4)),
        ],
    );
    let mut msg = Msg::new(false);
    let ok = msg.store(&u32s(&[1, 2, 3]));
    let mut r = u32s(&[1, 2]);
    r.extend_from_slice(&[9, 9]);
    let ragged = msg.store(&r);
    let over = msg.store(&u32s(&[1, 2, 3]));
    let long = msg.store(&(0..100).collect::<Vec<u8>>());
    let neg = msg.store(&(-5i16).to_le_bytes());
    let (text, j) = request(&s, &m, &mut msg, &[ok, ragged, over, long, neg]);
    let first64: Vec<String> = (0..64).map(|x: u32| x.to_string()).collect();
    assert_eq!(
        text,
        format!(
            "S(ok: [1, 2, 3], ragged: [1, 2] <size 10 not a multiple of element size 4>, \
             over: [1, 2, 3] <over max 2: 3 elements>, long: [{}, …(+36 more)], neg: [-5])",
            first64.join(", ")
        )
    );
    assert_eq!(j["ok"], json!([1, 2, 3]));
    assert_eq!(
        j["ragged"],
        json!({"items": [1, 2], "count": 2,
               "problems": ["size 10 not a multiple of element size 4"]})
    );
    assert_eq!(
        j["over"],
        json!({"items": [1, 2, 3], "count": 3, "problems": ["over max 2: 3 elements"]})
    );
    assert_eq!(
        j["long"],
        json!({"items": (0..64).collect::<Vec<u32>>(), "count": 100, "more": 36})
    );
    assert_eq!(j["neg"], json!([-5]));
}

#[test]
fn a_sequence_cut_by_the_capture_limit_shows_its_whole_elements() {
    let s = schema();
    let m = one("d", seq(prim(Prim::U32), 16));
    let mut msg = Msg::new(false);
    let v = msg.store(&u32s(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]));
    msg.params(&s, &m, Dir::In, &[v]);
    let d = msg.cut(&s, &m, Part::Request, msg.c.len(), 18);
    assert_eq!(
        d.text(),
        "M(d: [1, 2, 3, 4, …(cut: 18 of 40 bytes captured)])"
    );
    assert_eq!(
        js(&d),
        json!({"d": {"items": [1, 2, 3, 4], "count": 10, "cut": {"captured": 18, "size": 40}}})
    );
    let d = msg.cut(&s, &m, Part::Request, msg.c.len(), 0);
    assert_eq!(d.text(), "M(d: […(cut: 0 of 40 bytes captured)])");
}

#[test]
fn sequences_of_strings_and_of_structs() {
    let s = schema();
    let m = method(
        "Q",
        &[
            (Dir::In, "names", seq(Type::String(8), 4)),
            (Dir::In, "pts", seq(st("geo.Point"), 4)),
            (Dir::In, "lines", seq(st("geo.Line"), 4)),
        ],
    );
    let mut msg = Msg::new(false);
    let a = msg.string("a");
    let bc = msg.string("bc");
    let names = msg.store(&[a, bc].concat());
    let pts = msg.store(&[point(1, -2), point(3, 4)].concat());
    let tag = msg.string("t");
    let line = msg.store(&[point(5, 6), point(7, 8), tag].concat());
    let (text, j) = request(&s, &m, &mut msg, &[names, pts, line]);
    assert_eq!(
        text,
        r#"Q(names: ["a", "bc"], pts: [{x: 1, y: -2}, {x: 3, y: 4}], lines: [{a: {x: 5, y: 6}, b: {x: 7, y: 8}, tag: "t"}])"#
    );
    assert_eq!(
        j,
        json!({"names": ["a", "bc"], "pts": [{"x": 1, "y": -2}, {"x": 3, "y": 4}],
               "lines": [{"a": {"x": 5, "y": 6}, "b": {"x": 7, "y": 8}, "tag": "t"}]})
    );
}

#[test]
fn arrays_and_structs_inline() {
    let s = schema();
    let m = method(
        "A",
        &[
            (Dir::In, "flag", prim(Prim::U8)),
            (Dir::In, "pts", arr(st("geo.Point"), 2)),
            (Dir::In, "line", st("geo.Line")),
            (Dir::In, "grid", arr(arr(prim(Prim::U16), 2), 2)),
        ],
    );
    assert_eq!(s.offsets(&m, Dir::In).unwrap(), (vec![24, 28, 44, 68], 76));
    let mut msg = Msg::new(false);
    let tag = msg.string("north");
    let (text, j) = request(
        &s,
        &m,
        &mut msg,
        &[
            vec![1],
            [point(1, 2), point(3, 4)].concat(),
            [point(-1, -2), point(-3, -4), tag].concat(),
            [1u16, 2, 3, 4]
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect(),
        ],
    );
    assert_eq!(
        text,
        r#"A(flag: 1, pts: [{x: 1, y: 2}, {x: 3, y: 4}], line: {a: {x: -1, y: -2}, b: {x: -3, y: -4}, tag: "north"}, grid: [[1, 2], [3, 4]])"#
    );
    assert_eq!(
        j,
        json!({"flag": 1, "pts": [{"x": 1, "y": 2}, {"x": 3, "y": 4}],
               "line": {"a": {"x": -1, "y": -2}, "b": {"x": -3, "y": -4}, "tag": "north"},
               "grid": [[1, 2], [3, 4]]})
    );
}

#[test]
fn a_long_array_is_shown_up_to_max_shown() {
    let s = schema();
    let m = one("a", arr(prim(Prim::U8), 100));
    let (text, j) = request(
        &s,
        &m,
        &mut Msg::new(false),
        &[(0..100).collect::<Vec<u8>>()],
    );
    let first64: Vec<String> = (0..64).map(|x: u32| x.to_string()).collect();
    assert_eq!(text, format!("M(a: [{}, …(+36 more)])", first64.join(", ")));
    assert_eq!(j["a"]["count"], json!(100));
    assert_eq!(j["a"]["more"], json!(36));
}

#[test]
fn a_constant_part_cut_by_the_capture_limit() {
    let s = schema();
    let msg = echo_request();
    assert_eq!(msg.c.len(), 48);
    // value@24, p@32 (x@32, y@36), data@40: 36 bytes reach p.x only.
    let d = msg.cut(&s, &echo(), Part::Request, 36, msg.a.len());
    assert!(d.has_problems());
    assert_eq!(
        d.text(),
        r#"Echo(value: "hello", p: {x: 1, y: <truncated: 36 of 48 bytes captured>}, data: <truncated: 36 of 48 bytes captured>)"#
    );
    assert_eq!(
        js(&d),
        json!({"value": "hello",
               "p": {"x": 1, "y": {"problem": "truncated: 36 of 48 bytes captured"}},
               "data": {"problem": "truncated: 36 of 48 bytes captured"}})
    );
    // Only the header.
    let d = msg.cut(&s, &echo(), Part::Request, 24, 0);
    assert_eq!(
        d.text(),
        "Echo(value: <truncated: 24 of 48 bytes captured>, p: <truncated: 24 of 48 bytes captured>, \
         data: <truncated: 24 of 48 bytes captured>)"
    );
}

#[test]
fn a_message_shorter_than_its_signature() {
    let s = schema();
    let msg = echo_request();
    // The message itself has 36 bytes, all captured.
    let d = decode(
        &s,
        &echo(),
        Part::Request,
        &msg.c[..36],
        36,
        &msg.a,
        msg.a.len() as u32,
    );
    assert_eq!(
        d.text(),
        r#"Echo(value: "hello", p: {x: 1, y: <truncated: message has 36 bytes, signature needs 48>}, data: <truncated: message has 36 bytes, signature needs 48>)"#
    );
    // Shorter than its header.
    let d = decode(&s, &echo(), Part::Request, &msg.c[..10], 10, &[], 0);
    assert_eq!(
        d.text(),
        "Echo(value: <truncated: message has 10 bytes, signature needs 48>, \
         p: <truncated: message has 10 bytes, signature needs 48>, \
         data: <truncated: message has 10 bytes, signature needs 48>) \
         <message has 10 bytes, shorter than its 24-byte header>"
    );
    assert_eq!(
        js(&d)["_problems"],
        json!(["message has 10 bytes, shorter than its 24-byte header"])
    );
    // Captured bytes past the real size are not read.
    let d = decode(
        &s,
        &echo(),
        Part::Request,
        &msg.c,
        40,
        &msg.a,
        msg.a.len() as u32,
    );
    assert_eq!(
        d.text(),
        r#"Echo(value: "hello", p: {x: 1, y: -2}, data: <truncated: message has 40 bytes, signature needs 48>)"#
    );
}

#[test]
fn a_response_whose_err_bit_was_not_captured() {
    let s = schema();
    let m = echo();
    let mut msg = Msg::new(true);
    msg.params(&s, &m, Dir::Error, &[u32s(&[5])]);
    let d = msg.cut(&s, &m, Part::Response, 6, 0);
    assert!(!d.is_error);
    assert_eq!(
        d.text(),
        "-> (success: <truncated: 6 of 28 bytes captured>) \
         <err bit not captured (6 of 28 bytes): shown as out-parameters>"
    );
    assert_eq!(
        js(&d),
        json!({"success": {"problem": "truncated: 6 of 28 bytes captured"},
               "_problems": ["err bit not captured (6 of 28 bytes): shown as out-parameters"]})
    );
}

#[test]
fn types_without_layout_are_not_decodable() {
    let mut s = schema();
    s.structs
        .insert("a.B".into(), def("a.B", &[("me", arr(st("a.B"), 1))]));
    let cases = [
        (Type::Opaque("x.U".into()), "u: union x.U has no modelled layout"),
        (st("x.Nope"), "u: unknown struct x.Nope"),
        (
            seq(Type::Opaque("x.U".into()), 4),
            "u: union x.U has no modelled layout",
        ),
        (
            seq(st("a.B"), 4),
            "u: a.B has no layout (it contains itself, nests deeper than 32 levels or is too large)",
        ),
    ];
    let msg = Msg::new(false);
    for (ty, why) in cases {
        let m = method("U", &[(Dir::In, "u", ty), (Dir::Out, "ok", prim(Prim::U8))]);
        let d = msg.decode(&s, &m, Part::Request);
        assert_eq!(d.not_decodable.as_deref(), Some(why));
        assert!(d.has_problems());
        assert_eq!(d.text(), format!("U(<not decodable: {why}>)"));
        assert_eq!(js(&d), json!({"_not_decodable": why}));
        // The response has a layout.
        let mut r = Msg::new(false);
        r.put(24, &[1]);
        assert_eq!(r.decode(&s, &m, Part::Response).text(), "-> (ok: 1)");
    }
}

#[test]
fn a_tree_is_decoded_but_a_self_reference_stops_at_max_depth() {
    let s = schema();
    let m = one("n", seq(st("geo.Node"), 8));
    // Node: v@0, kids@4; stride 12.
    let mut msg = Msg::new(false);
    let leaf = msg.store(&[&[2u8, 0, 0, 0][..], &ptr(0, 0)].concat());
    let root = msg.store(&[&[1u8, 0, 0, 0][..], &leaf].concat());
    let (text, _) = request(&s, &m, &mut msg, &[root]);
    assert_eq!(text, "M(n: [{v: 1, kids: [{v: 2, kids: []}]}])");

    // One node whose kids are itself.
    let mut msg = Msg::new(false);
    let me = [&[7u8, 0, 0, 0][..], &ptr(0, 12)].concat();
    msg.store(&me);
    let d = {
        msg.params(&s, &m, Dir::In, &[ptr(0, 12)]);
        msg.decode(&s, &m, Part::Request)
    };
    let text = d.text();
    assert_eq!(text.matches("{v: 7").count(), 16);
    assert_eq!(text.matches("<nesting deeper than 32>").count(), 1);
    let tail = format!("kids: [<nesting deeper than 32>{}])", "]}".repeat(16));
    assert!(text.ends_with(&tail), "{text}");
    assert!(d.has_problems());
    js(&d);
}

#[test]
fn sequences_of_sequences_stop_at_the_value_budget() {
    let s = schema();
    let m = one("s", seq(seq(prim(Prim::U8), 4096), 4096));
    let mut msg = Msg::new(false);
    let inner = msg.store(&(0..100).collect::<Vec<u8>>());
    // 100 outer elements, all the same 100 inner bytes: 1 + 64 × 65 values
    // would be shown without the budget.
    let outer = msg.store(&inner.repeat(100));
    let (text, j) = request(&s, &m, &mut msg, &[outer]);
    // 4096 values: the outer list and 63 inner lists of 1 + 64 values.
    assert!(
        text.ends_with(", 63, …(+36 more)], …(+37 not shown: output budget spent)])"),
        "{}",
        &text[text.len() - 200..]
    );
    let shown: usize = j["s"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            l.as_array()
                .or_else(|| l["items"].as_array())
                .map_or(0, |v| v.len() + 1)
        })
        .sum();
    assert_eq!(shown + 1, VALUE_BUDGET as usize);
    assert_eq!(j["s"]["budget_spent"], json!(true));
}

#[test]
fn strings_stop_at_the_byte_budget() {
    let s = schema();
    let m = one("s", seq(Type::String(100_000), 64));
    let mut msg = Msg::new(false);
    // 64 pointers at the same 10 000 bytes without NUL: 640 000 bytes to
    // examine, more than BYTE_BUDGET.
    let text = msg.store(&[b'x'; 10_000]);
    let list = msg.store(&text.repeat(64));
    let (out, _) = request(&s, &m, &mut msg, &[list]);
    let full = BYTE_BUDGET / 10_000; // 26 strings examined whole
    assert_eq!(out.matches("<no NUL within 10000 bytes>").count(), full);
    assert_eq!(out.matches("…(+9744 more bytes) <no NUL").count(), full);
    // The 27th has 2 144 bytes of budget left: 256 shown, 1 888 examined
    // but not shown, 7 856 not examined.
    assert_eq!(
        out.matches("…(+9744 bytes not shown: output budget spent)")
            .count(),
        1
    );
    assert_eq!(
        out.matches("\"\"…(+10000 bytes not shown: output budget spent)")
            .count(),
        64 - full - 1
    );
    assert!(out.len() < 64 * (MAX_TEXT + 100));
}

#[test]
fn empty_structs_have_no_stride() {
    let s = schema();
    let m = method(
        "E",
        &[
            (Dir::In, "e", st("geo.Empty")),
            (Dir::In, "none", seq(st("geo.Empty"), 4)),
            (Dir::In, "bad", seq(st("geo.Empty"), 4)),
            (Dir::In, "arr", arr(st("geo.Empty"), 100)),
        ],
    );
    let mut msg = Msg::new(false);
    msg.a = vec![0; 8];
    let (text, _) = request(&s, &m, &mut msg, &[vec![], ptr(0, 0), ptr(0, 8), vec![]]);
    let empties = vec!["{}"; 64].join(", ");
    assert_eq!(
        text,
        format!(
            "E(e: {{}}, none: [], bad: [] <size 8 not a multiple of element size 0>, arr: [{empties}, …(+36 more)])"
        )
    );
}

/// Valid messages of several signatures, each cut at every pair of
/// constant and arena lengths: no panic, valid JSON, and the cut is shown
/// as a capture limit whenever a byte the message uses is missing.
#[test]
fn every_truncation_is_marked_as_a_capture_limit() {
    let s = schema();
    let mut cases: Vec<(Method, Msg, Part)> = vec![(echo(), echo_request(), Part::Request)];

    let m = method(
        "Mix",
        &[
            (Dir::In, "flag", prim(Prim::Bool)),
            (Dir::In, "h", Type::Handle),
            (Dir::In, "names", seq(Type::String(8), 4)),
            (Dir::In, "raw", Type::Bytes(16)),
            (Dir::In, "pts", arr(st("geo.Point"), 2)),
            (Dir::In, "d", prim(Prim::F64)),
        ],
    );
    let mut msg = Msg::new(false);
    let a = msg.string("a");
    let bc = msg.string("bc");
    let names = msg.store(&[a, bc].concat());
    let raw = msg.store(&[1, 2, 3, 4, 5]);
    let handle = [7u32.to_le_bytes(), 1u32.to_le_bytes(), [0; 4], [0; 4]].concat();
    msg.params(
        &s,
        &m,
        Dir::In,
        &[
            vec![1],
            handle,
            names,
            raw,
            [point(1, 2), point(3, 4)].concat(),
            2.5f64.to_le_bytes().to_vec(),
        ],
    );
    cases.push((m, msg, Part::Request));

    let m = method(
        "Lines",
        &[
            (Dir::Error, "code", prim(Prim::S32)),
            (Dir::Error, "lines", seq(st("geo.Line"), 4)),
            (Dir::Error, "tree", seq(st("geo.Node"), 4)),
        ],
    );
    let mut msg = Msg::new(true);
    let t1 = msg.string("one");
    let t2 = msg.string("two");
    let lines = msg.store(&[point(1, 2), point(3, 4), t1, point(5, 6), point(7, 8), t2].concat());
    let leaf = msg.store(&[&[2u8, 0, 0, 0][..], &ptr(0, 0)].concat());
    let tree = msg.store(&[&[1u8, 0, 0, 0][..], &leaf].concat());
    msg.params(
        &s,
        &m,
        Dir::Error,
        &[(-3i32).to_le_bytes().to_vec(), lines, tree],
    );
    cases.push((m, msg, Part::Response));

    for (m, msg, part) in &cases {
        let whole = msg.decode(&s, m, *part);
        assert!(!whole.has_problems(), "{}", whole.text());
        for cl in 0..=msg.c.len() {
            for al in 0..=msg.a.len() {
                let d = msg.cut(&s, m, *part, cl, al);
                let text = d.text();
                js(&d);
                let cut = cl < msg.c.len() || al < msg.a.len();
                assert_eq!(d.has_problems(), cut, "{cl} {al}: {text}");
                if cut {
                    assert!(text.contains("captured"), "{cl} {al}: {text}");
                }
                for wrong in ["bad pointer", "message has", "NUL", "over max", "multiple"] {
                    assert!(!text.contains(wrong), "{cl} {al}: {text}");
                }
            }
        }
    }
}

/// Random bytes against every type: no panic, valid JSON, bounded output.
#[test]
fn arbitrary_bytes_never_panic() {
    let s = schema();
    let m = method(
        "Any",
        &[
            (Dir::In, "a", prim(Prim::U8)),
            (Dir::In, "b", prim(Prim::Bool)),
            (Dir::In, "c", prim(Prim::F32)),
            (Dir::In, "h", Type::Handle),
            (Dir::In, "s", Type::String(8)),
            (Dir::In, "y", Type::Bytes(8)),
            (Dir::In, "q", seq(seq(Type::String(4), 4), 4)),
            (Dir::In, "n", seq(st("geo.Node"), 4)),
            (Dir::In, "l", arr(st("geo.Line"), 2)),
        ],
    );
    // xorshift: deterministic, no dependency.
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for _ in 0..3000 {
        let cl = (next() % 160) as usize;
        let al = (next() % 96) as usize;
        // Small values make pointers land inside the arena more often.
        let mut byte = || {
            let r = next();
            if r % 3 == 0 {
                (r >> 8) as u8
            } else {
                ((r >> 8) % 24) as u8
            }
        };
        let c: Vec<u8> = (0..cl).map(|_| byte()).collect();
        let a: Vec<u8> = (0..al).map(|_| byte()).collect();
        let cs = cl as u32 + (next() % 3) as u32 * 8;
        let asz = al as u32 + (next() % 3) as u32 * 8;
        for part in [Part::Request, Part::Response] {
            let d = decode(&s, &m, part, &c, cs, &a, asz);
            assert!(d.text().len() < 1 << 20);
            js(&d);
        }
    }
}
