//! Fuzz `idl::decode::decode` with arbitrary message bytes against a few
//! fixed signatures that use every type (all scalars, handles, strings,
//! bytes, sequences of scalars, strings, structs and sequences, arrays,
//! nested structs, and a struct holding a sequence of itself).
//!
//! The first `CTL` input bytes choose the signature, the part, where the
//! rest splits into constant part and arena, and the real sizes (equal to,
//! larger than, or unrelated to what was captured). Then:
//!
//! - decoding, the text form and the JSON form never panic;
//! - the JSON form is one valid JSON object (checked by a small validator
//!   below: the fuzz crate has no JSON library);
//! - the output stays bounded whatever the input;
//! - a message whose real sizes equal what was captured never reports a
//!   capture limit (its flaws are inconsistencies, not cuts).
#![no_main]

use std::sync::OnceLock;

use kos_ipc_shim::idl::decode::{decode, Part, Problem, Value};
use kos_ipc_shim::idl::model::{Dir, Field, Method, Param, Prim, Schema, StructDef, Type};
use libfuzzer_sys::fuzz_target;

/// Control bytes at the start of each input.
const CTL: usize = 8;

fn seq(t: Type, n: u32) -> Type {
    Type::Sequence(Box::new(t), n)
}

fn arr(t: Type, n: u32) -> Type {
    Type::Array(Box::new(t), n)
}

fn st(name: &str) -> Type {
    Type::Struct(name.into())
}

fn def(name: &str, fields: Vec<(&str, Type)>) -> StructDef {
    StructDef {
        name: name.into(),
        fields: fields
            .into_iter()
            .map(|(n, ty)| Field { name: n.into(), ty })
            .collect(),
    }
}

fn method(name: &str, params: Vec<(Dir, &str, Type)>) -> Method {
    Method {
        name: name.into(),
        params: params
            .into_iter()
            .map(|(dir, n, ty)| Param {
                dir,
                name: n.into(),
                ty,
            })
            .collect(),
    }
}

fn fixtures() -> &'static (Schema, Vec<Method>) {
    static F: OnceLock<(Schema, Vec<Method>)> = OnceLock::new();
    F.get_or_init(|| {
        let mut s = Schema::default();
        for d in [
            def(
                "f.Point",
                vec![("x", Type::Prim(Prim::S32)), ("y", Type::Prim(Prim::S32))],
            ),
            def(
                "f.Rec",
                vec![
                    ("tag", Type::Prim(Prim::U8)),
                    ("h", Type::Handle),
                    ("name", Type::String(8)),
                    ("pts", arr(st("f.Point"), 2)),
                    ("raw", Type::Bytes(4)),
                ],
            ),
            def(
                "f.Node",
                vec![("v", Type::Prim(Prim::U16)), ("kids", seq(st("f.Node"), 4))],
            ),
        ] {
            s.structs.insert(d.name.clone(), d);
        }
        let scalars: Vec<(Dir, &str, Type)> = Prim::ALL
            .iter()
            .zip(["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k"])
            .map(|(p, n)| (Dir::In, n, Type::Prim(*p)))
            .collect();
        let methods = vec![
            method("Scalars", scalars),
            method(
                "Pointers",
                vec![
                    (Dir::In, "s", Type::String(16)),
                    (Dir::In, "b", Type::Bytes(16)),
                    (Dir::In, "q", seq(Type::Prim(Prim::U32), 8)),
                    (Dir::In, "names", seq(Type::String(8), 4)),
                    (Dir::In, "nested", seq(seq(Type::Prim(Prim::S8), 4), 4)),
                    (Dir::Out, "h", Type::Handle),
                    (Dir::Out, "ok", Type::Prim(Prim::Bool)),
                    (Dir::Error, "code", Type::Prim(Prim::S32)),
                    (Dir::Error, "why", Type::String(32)),
                ],
            ),
            method(
                "Structs",
                vec![
                    (Dir::In, "r", st("f.Rec")),
                    (Dir::In, "rs", seq(st("f.Rec"), 3)),
                    (Dir::In, "tree", seq(st("f.Node"), 4)),
                    (Dir::In, "grid", arr(arr(Type::Prim(Prim::F64), 3), 2)),
                    (Dir::Out, "pts", seq(st("f.Point"), 100)),
                    (Dir::Error, "f", Type::Prim(Prim::F32)),
                ],
            ),
        ];
        (s, methods)
    })
}

/// A real size: what was captured, a little more, or any value.
fn real_size(captured: usize, ctl: u8, raw: u8) -> u32 {
    match ctl % 4 {
        0 | 1 => captured as u32,
        2 => captured as u32 + u32::from(raw),
        _ => u32::from(raw) * 3,
    }
}

fuzz_target!(|data: &[u8]| {
    if data.len() < CTL {
        return;
    }
    let (ctl, rest) = data.split_at(CTL);
    let (schema, methods) = fixtures();
    let m = &methods[ctl[0] as usize % methods.len()];
    let part = if ctl[1] & 1 == 0 {
        Part::Request
    } else {
        Part::Response
    };
    let split = u16::from_le_bytes([ctl[2], ctl[3]]) as usize % (rest.len() + 1);
    let (constant, arena) = rest.split_at(split);
    let const_size = real_size(constant.len(), ctl[4], ctl[5]);
    let arena_size = real_size(arena.len(), ctl[6], ctl[7]);

    let d = decode(schema, m, part, constant, const_size, arena, arena_size);
    let text = d.text();
    let mut json = String::new();
    d.json(&mut json);
    assert!(text.len() < 8 << 20, "text of {} bytes", text.len());
    assert!(json.len() < 8 << 20, "json of {} bytes", json.len());
    assert!(json.starts_with('{'), "{json}");
    if let Err(at) = json::validate(&json) {
        panic!("invalid JSON at byte {at}: {json}");
    }
    if const_size as usize == constant.len() && arena_size as usize == arena.len() {
        assert!(
            d.fields.iter().all(|(_, v)| !cut(v))
                && d.problems.iter().all(|p| !p.contains("not captured")),
            "nothing was cut: {text}"
        );
    }
});

/// Whether `v` shows a capture limit anywhere.
fn cut(v: &Value) -> bool {
    match v {
        Value::Problem(Problem::NotCaptured { .. }) => true,
        Value::Str(t) => t.marks.cut.is_some(),
        Value::Bytes(b) => b.marks.cut.is_some(),
        Value::List(l) => {
            l.marks.cut.is_some()
                || matches!(l.marks.truncated, Some(Problem::NotCaptured { .. }))
                || l.items.iter().any(cut)
        }
        Value::Struct(fs) => fs.iter().any(|(_, v)| cut(v)),
        _ => false,
    }
}

/// A strict JSON syntax check (RFC 8259): one value and nothing after it.
mod json {
    pub fn validate(s: &str) -> Result<(), usize> {
        let mut p = P {
            b: s.as_bytes(),
            i: 0,
        };
        p.value(0)?;
        p.ws();
        if p.i == p.b.len() {
            Ok(())
        } else {
            Err(p.i)
        }
    }

    struct P<'a> {
        b: &'a [u8],
        i: usize,
    }

    impl P<'_> {
        fn peek(&self) -> Option<u8> {
            self.b.get(self.i).copied()
        }

        fn ws(&mut self) {
            while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
                self.i += 1;
            }
        }

        fn eat(&mut self, c: u8) -> Result<(), usize> {
            if self.peek() == Some(c) {
                self.i += 1;
                Ok(())
            } else {
                Err(self.i)
            }
        }

        fn value(&mut self, depth: usize) -> Result<(), usize> {
            if depth > 512 {
                return Err(self.i);
            }
            self.ws();
            match self.peek() {
                Some(b'{') => {
                    self.i += 1;
                    self.ws();
                    if self.peek() == Some(b'}') {
                        self.i += 1;
                        return Ok(());
                    }
                    loop {
                        self.ws();
                        self.string()?;
                        self.ws();
                        self.eat(b':')?;
                        self.value(depth + 1)?;
                        self.ws();
                        match self.peek() {
                            Some(b',') => self.i += 1,
                            Some(b'}') => {
                                self.i += 1;
                                return Ok(());
                            }
                            _ => return Err(self.i),
                        }
                    }
                }
                Some(b'[') => {
                    self.i += 1;
                    self.ws();
                    if self.peek() == Some(b']') {
                        self.i += 1;
                        return Ok(());
                    }
                    loop {
                        self.value(depth + 1)?;
                        self.ws();
                        match self.peek() {
                            Some(b',') => self.i += 1,
                            Some(b']') => {
                                self.i += 1;
                                return Ok(());
                            }
                            _ => return Err(self.i),
                        }
                    }
                }
                Some(b'"') => self.string(),
                Some(b't') => self.word(b"true"),
                Some(b'f') => self.word(b"false"),
                Some(b'n') => self.word(b"null"),
                Some(b'-' | b'0'..=b'9') => self.number(),
                _ => Err(self.i),
            }
        }

        fn word(&mut self, w: &[u8]) -> Result<(), usize> {
            if self.b[self.i..].starts_with(w) {
                self.i += w.len();
                Ok(())
            } else {
                Err(self.i)
            }
        }

        fn digits(&mut self) -> Result<(), usize> {
            let start = self.i;
            while matches!(self.peek(), Some(b'0'..=b'9')) {
                self.i += 1;
            }
            if self.i == start {
                Err(self.i)
            } else {
                Ok(())
            }
        }

        fn number(&mut self) -> Result<(), usize> {
            if self.peek() == Some(b'-') {
                self.i += 1;
            }
            if self.peek() == Some(b'0') {
                self.i += 1;
            } else {
                self.digits()?;
            }
            if self.peek() == Some(b'.') {
                self.i += 1;
                self.digits()?;
            }
            if matches!(self.peek(), Some(b'e' | b'E')) {
                self.i += 1;
                if matches!(self.peek(), Some(b'+' | b'-')) {
                    self.i += 1;
                }
                self.digits()?;
            }
            Ok(())
        }

        fn string(&mut self) -> Result<(), usize> {
            self.eat(b'"')?;
            loop {
                match self.peek() {
                    None => return Err(self.i),
                    Some(b'"') => {
                        self.i += 1;
                        return Ok(());
                    }
                    Some(b'\\') => {
                        self.i += 1;
                        match self.peek() {
                            Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {
                                self.i += 1
                            }
                            Some(b'u') => {
                                self.i += 1;
                                for _ in 0..4 {
                                    if !matches!(self.peek(), Some(c) if c.is_ascii_hexdigit()) {
                                        return Err(self.i);
                                    }
                                    self.i += 1;
                                }
                            }
                            _ => return Err(self.i),
                        }
                    }
                    // Control characters must be escaped; the input is a
                    // &str, so the bytes are UTF-8 already.
                    Some(c) if c < 0x20 => return Err(self.i),
                    Some(_) => self.i += 1,
                }
            }
        }
    }
}
