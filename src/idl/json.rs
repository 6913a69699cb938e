//! nk-driver's JSON (`nk-driver -o out.json file.idl`) read into the same
//! syntax tree as an IDL file, so the loader resolves both alike.
//!
//! The shape of structs, typedefs, consts and type objects is the one public
//! tools that read nk-driver output rely on: `{"contents": {"name": pkg,
//! "imports": [...], "entries": [...]}}`, entries with `"kind"` `struct`
//! (`fields: [{name, type}]`), `typedef` (`type`), `const` (`value`: a
//! number, a numeric string or a const name); type objects `basic_type`,
//! `type_definition` (`name`, optional `package`), `string`/`bytes`
//! (`size`), `array` (`element_type`, `size`), `vector` (a sequence:
//! `element_type`, `max_size`) and `handle`.
//!
//! The interface entry's shape is **inferred, not confirmed** by a public
//! sample: `{"kind": "interface", "methods": [{"name", "args"|"params":
//! [{"name", "direction": "in"|"out"|"error", "type"}]}]}` is accepted, and
//! so are per-method `"in"`, `"out"`, `"error"` arrays of `{name, type}`
//! (taken in that order). `union` entries are accepted like structs.

use alloc::boxed::Box;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use serde_json::{Map, Value as Json};

use super::lex::{is_name, number, Error, Pos};
use super::model::{Dir, Prim, MAX_DEPTH};
use super::parse::{Decl, FieldExpr, IdlFile, MethodExpr, Name, ParamExpr, TypeExpr, Value};

/// Reads nk-driver JSON text as an IDL file named `file`.
pub fn parse_json(file: &str, text: &str) -> Result<IdlFile, Error> {
    let v: Json = serde_json::from_str(text).map_err(|e| Error {
        file: file.into(),
        line: u32::try_from(e.line()).unwrap_or(u32::MAX).max(1),
        col: u32::try_from(e.column()).unwrap_or(u32::MAX).max(1),
        message: format!("bad JSON: {e}"),
    })?;
    Reader { file }.file(&v)
}

struct Reader<'a> {
    file: &'a str,
}

impl Reader<'_> {
    fn err(&self, at: &str, msg: impl core::fmt::Display) -> Error {
        Error::at(self.file, Pos::START, format!("{at}: {msg}"))
    }

    fn obj<'v>(&self, v: &'v Json, at: &str) -> Result<&'v Map<String, Json>, Error> {
        v.as_object()
            .ok_or_else(|| self.err(at, "expected an object"))
    }

    fn arr<'v>(&self, o: &'v Map<String, Json>, key: &str, at: &str) -> Result<&'v [Json], Error> {
        match o.get(key) {
            None => Ok(&[]),
            Some(Json::Array(a)) => Ok(a),
            Some(_) => Err(self.err(at, format!("\"{key}\" is not an array"))),
        }
    }

    fn str<'v>(&self, o: &'v Map<String, Json>, key: &str, at: &str) -> Result<&'v str, Error> {
        o.get(key)
            .and_then(Json::as_str)
            .ok_or_else(|| self.err(at, format!("missing string \"{key}\"")))
    }

    fn name(
        &self,
        o: &Map<String, Json>,
        key: &str,
        dotted: bool,
        at: &str,
    ) -> Result<Name, Error> {
        let s = self.str(o, key, at)?;
        if !is_name(s, dotted) {
            return Err(self.err(at, format!("'{s}' is not a valid name")));
        }
        Ok(Name {
            text: s.to_string(),
            pos: Pos::START,
        })
    }

    fn file(&self, v: &Json) -> Result<IdlFile, Error> {
        let top = self.obj(v, "top level")?;
        let c = self.obj(top.get("contents").unwrap_or(&Json::Null), "\"contents\"")?;
        let package = self.name(c, "name", true, "contents")?;
        let mut f = IdlFile::new(self.file, package);
        for (i, imp) in self.arr(c, "imports", "contents")?.iter().enumerate() {
            let at = format!("imports[{i}]");
            match imp.as_str() {
                Some(s) if is_name(s, true) => f.imports.push(Name {
                    text: s.to_string(),
                    pos: Pos::START,
                }),
                _ => return Err(self.err(&at, "expected a qualified package name")),
            }
        }
        for (i, e) in self.arr(c, "entries", "contents")?.iter().enumerate() {
            let at = format!("entries[{i}]");
            let o = self.obj(e, &at)?;
            let decl = match self.str(o, "kind", &at)? {
                "interface" => {
                    if f.interface.is_some() {
                        return Err(
                            self.err(&at, "a second interface (a package declares one interface)")
                        );
                    }
                    f.interface = Some(self.methods(o, &at)?);
                    continue;
                }
                "struct" => Decl::Struct(self.name(o, "name", false, &at)?, self.fields(o, &at)?),
                "union" => Decl::Union(self.name(o, "name", false, &at)?, self.fields(o, &at)?),
                "typedef" => Decl::Typedef(
                    self.name(o, "name", false, &at)?,
                    self.ty_of(o, "type", &at, 0)?,
                ),
                "const" => {
                    let name = self.name(o, "name", false, &at)?;
                    let ty = match o.get("type") {
                        Some(_) => self.ty_of(o, "type", &at, 0)?,
                        None => TypeExpr::Prim(Prim::U64),
                    };
                    let value = self.value(o.get("value"), &format!("{at}.value"))?;
                    Decl::Const(name, ty, value)
                }
                k => return Err(self.err(&at, format!("unknown entry kind '{k}'"))),
            };
            if f.decl(&decl.name().text).is_some() {
                return Err(self.err(&at, format!("duplicate name '{}'", decl.name().text)));
            }
            f.decls.push(decl);
        }
        Ok(f)
    }

    fn fields(&self, o: &Map<String, Json>, at: &str) -> Result<Vec<FieldExpr>, Error> {
        let mut out: Vec<FieldExpr> = Vec::new();
        for (i, fl) in self.arr(o, "fields", at)?.iter().enumerate() {
            let at = format!("{at}.fields[{i}]");
            let fo = self.obj(fl, &at)?;
            let name = self.name(fo, "name", false, &at)?;
            if out.iter().any(|f| f.name.text == name.text) {
                return Err(self.err(&at, format!("duplicate field '{}'", name.text)));
            }
            out.push(FieldExpr {
                name,
                ty: self.ty_of(fo, "type", &at, 0)?,
            });
        }
        Ok(out)
    }

    fn methods(&self, o: &Map<String, Json>, at: &str) -> Result<Vec<MethodExpr>, Error> {
        let mut out: Vec<MethodExpr> = Vec::new();
        for (i, m) in self.arr(o, "methods", at)?.iter().enumerate() {
            let at = format!("{at}.methods[{i}]");
            let mo = self.obj(m, &at)?;
            let name = self.name(mo, "name", false, &at)?;
            if out.iter().any(|m| m.name.text == name.text) {
                return Err(self.err(&at, format!("duplicate method '{}'", name.text)));
            }
            let mut params: Vec<ParamExpr> = Vec::new();
            let key = if mo.contains_key("args") {
                "args"
            } else {
                "params"
            };
            let mut all: Vec<(Option<Dir>, &Json)> =
                self.arr(mo, key, &at)?.iter().map(|p| (None, p)).collect();
            for dir in [Dir::In, Dir::Out, Dir::Error] {
                all.extend(self.arr(mo, dir.key(), &at)?.iter().map(|p| (Some(dir), p)));
            }
            for (j, (dir, p)) in all.into_iter().enumerate() {
                let at = format!("{at}.params[{j}]");
                let po = self.obj(p, &at)?;
                let dir = match dir {
                    Some(d) => d,
                    None => match self.str(po, "direction", &at)? {
                        "in" => Dir::In,
                        "out" => Dir::Out,
                        "error" => Dir::Error,
                        d => {
                            return Err(
                                self.err(&at, format!("direction '{d}' is not in, out or error"))
                            )
                        }
                    },
                };
                let pname = self.name(po, "name", false, &at)?;
                if params.iter().any(|p| p.name.text == pname.text) {
                    return Err(self.err(&at, format!("duplicate parameter '{}'", pname.text)));
                }
                params.push(ParamExpr {
                    dir,
                    name: pname,
                    ty: self.ty_of(po, "type", &at, 0)?,
                });
            }
            out.push(MethodExpr { name, params });
        }
        Ok(out)
    }

    fn ty_of(
        &self,
        o: &Map<String, Json>,
        key: &str,
        at: &str,
        depth: usize,
    ) -> Result<TypeExpr, Error> {
        let at = format!("{at}.{key}");
        if depth > MAX_DEPTH {
            return Err(self.err(&at, format!("types nested deeper than {MAX_DEPTH} levels")));
        }
        let t = self.obj(o.get(key).unwrap_or(&Json::Null), &at)?;
        let elem = || self.ty_of(t, "element_type", &at, depth + 1).map(Box::new);
        let size = |k: &str| self.value(t.get(k), &format!("{at}.{k}"));
        Ok(match self.str(t, "kind", &at)? {
            "basic_type" => match self.str(t, "basic_type", &at)? {
                "Handle" => TypeExpr::Handle,
                b => TypeExpr::Prim(
                    Prim::from_name(b)
                        .ok_or_else(|| self.err(&at, format!("unknown basic type '{b}'")))?,
                ),
            },
            "handle" => TypeExpr::Handle,
            "type_definition" => {
                let n = self.name(t, "name", true, &at)?;
                match t.get("package").and_then(Json::as_str) {
                    Some(p) if is_name(p, true) && !n.text.contains('.') => TypeExpr::Named(Name {
                        text: format!("{p}.{}", n.text),
                        pos: Pos::START,
                    }),
                    _ => TypeExpr::Named(n),
                }
            }
            "string" => TypeExpr::String(size("size")?),
            "bytes" => TypeExpr::Bytes(size("size")?),
            "array" => TypeExpr::Array(elem()?, size("size")?),
            "vector" | "sequence" => {
                let k = if t.contains_key("max_size") {
                    "max_size"
                } else {
                    "size"
                };
                TypeExpr::Sequence(elem()?, size(k)?)
            }
            k => return Err(self.err(&at, format!("unknown type kind '{k}'"))),
        })
    }

    /// A size or const value: a number, a numeric string, or a const name.
    fn value(&self, v: Option<&Json>, at: &str) -> Result<Value, Error> {
        match v {
            Some(Json::Number(n)) => match n.as_i64() {
                Some(x) => Ok(Value::Num(i128::from(x), Pos::START)),
                None => match n.as_u64() {
                    Some(x) => Ok(Value::Num(i128::from(x), Pos::START)),
                    None => Err(self.err(at, format!("{n} is not an integer"))),
                },
            },
            Some(Json::String(s)) => {
                let (neg, digits) = match s.strip_prefix('-') {
                    Some(d) => (true, d),
                    None => (false, s.as_str()),
                };
                if let Some(x) = number(digits) {
                    let x = i128::from(x);
                    Ok(Value::Num(if neg { -x } else { x }, Pos::START))
                } else if is_name(s, true) {
                    Ok(Value::Const(Name {
                        text: s.clone(),
                        pos: Pos::START,
                    }))
                } else {
                    Err(self.err(at, format!("'{s}' is not a number nor a const name")))
                }
            }
            _ => Err(self.err(at, "expected a number or a const name")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn entries_and_types() {
        let f = parse_json(
            "e.json",
            r#"{"contents": {"name": "a.B", "imports": ["c.D"], "entries": [
              {"kind": "const", "name": "N", "value": "0x10"},
              {"kind": "typedef", "name": "T", "type": {"kind": "vector",
                "element_type": {"kind": "string", "size": "N"}, "max_size": 4}},
              {"kind": "interface", "methods": [{"name": "M", "in": [{"name": "x",
                "type": {"kind": "type_definition", "name": "P", "package": "c.D"}}],
                "out": [{"name": "h", "type": {"kind": "handle"}}]}]}]}}"#,
        )
        .unwrap();
        assert!(matches!(&f.decls[0], Decl::Const(_, _, Value::Num(16, _))));
        let m = &f.interface.unwrap()[0];
        assert_eq!(
            m.params[0].ty,
            TypeExpr::Named(Name {
                text: "c.D.P".into(),
                pos: Pos::START
            })
        );
        assert_eq!(m.params[1].dir, Dir::Out);
    }

    #[test]
    fn errors_name_the_entry() {
        let e = |t: &str| parse_json("e.json", t).unwrap_err().to_string();
        assert_eq!(
            e("{\n  \"contents\": ["),
            "e.json:2:15: bad JSON: EOF while parsing a list at line 2 column 15"
        );
        assert_eq!(
            e(
                r#"{"contents": {"name": "a", "entries": [{"kind": "struct", "name": "S", "fields": [{"name": "x", "type": {"kind": "basic_type", "basic_type": "Int"}}]}]}}"#
            ),
            "e.json:1:1: entries[0].fields[0].type: unknown basic type 'Int'"
        );
    }
}
