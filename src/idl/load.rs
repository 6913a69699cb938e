//! Finding description files by name and resolving them into a
//! [`Schema`].
//!
//! **Where files are.** A qualified name `a.b.C` is the file `a/b/C.idl`
//! (`.cdl` for a component, `.edl` for an entity) under the first include
//! directory that has it. The name a file declares (`package`, `component`,
//! `task class`/`entity`) must be the name it was looked up by. An IDL
//! file's imports are loaded the same way; every package is loaded once, so
//! import cycles end.
//!
//! **Names.** A short type or const name is searched in the file's own
//! package, then in its imports in order; `pkg.Name` names one of those
//! packages explicitly. Typedefs and consts resolve fully; a struct is known
//! by `package.Name`, an interface by its package name; a `union` becomes an
//! opaque type.
//!
//! **RIIDs** (shared/kos-abi.md, "Ids and generated names", after the KCE
//! documentation of EDL/CDL and `ServiceLocatorGetRiid`): an entity's
//! endpoints are numbered from 0 in this order: its own `endpoints` in
//! declaration order, then for each `components` entry in declaration order
//! that component's endpoints: its own, then its sub-components', depth
//! first. A component's endpoint is named by the instance path: endpoint
//! `kv` of instance `store` is `store.kv`, two levels down `outer.inner.ep`.
//! MIDs are method indices in declaration order (the order of
//! `Interface::methods`).

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use super::lex::{is_name, Error, Pos};
use super::model::{
    Endpoint, Entity, Field, Interface, Method, Param, Schema, StructDef, Type, MAX_DEPTH,
};
use super::parse::{
    parse_source, Decl, IdlFile, Name, Source, TypeExpr, UnitFile, UnitKind, Value,
};
use crate::sys::{self, FileError, ReadTextError};

/// Where a name was asked for: the file and position errors about it use.
#[derive(Debug, Clone)]
struct Asked {
    file: String,
    pos: Pos,
}

impl Asked {
    fn by(file: &str, n: &Name) -> Asked {
        Asked {
            file: file.to_string(),
            pos: n.pos,
        }
    }

    fn err(&self, msg: impl Into<String>) -> Error {
        Error::at(&self.file, self.pos, msg)
    }
}

/// Reads IDL, CDL, EDL (and, with `std`, nk-driver JSON) files into one
/// [`Schema`], finding named files under include directories.
#[derive(Debug, Clone, Default)]
pub struct Loader {
    include: Vec<String>,
    schema: Schema,
    /// Every IDL package parsed and resolved, by name.
    idl: BTreeMap<String, IdlFile>,
    /// Flattened endpoints of every CDL/EDL unit loaded, by name.
    units: BTreeMap<String, Vec<Endpoint>>,
}

impl Loader {
    /// A loader that finds files under `include_dirs`, tried in order.
    pub fn new<I, S>(include_dirs: I) -> Loader
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Loader {
            include: include_dirs.into_iter().map(Into::into).collect(),
            ..Loader::default()
        }
    }

    /// What has been loaded so far.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// The schema, giving up the loader.
    pub fn into_schema(self) -> Schema {
        self.schema
    }

    /// Loads the file at `path` (`.idl`, `.cdl`, `.edl`, or `.json` with
    /// feature `std`), with the name it declares; the names it uses are
    /// found under the include directories. On error nothing is added.
    pub fn load_file(&mut self, path: &str) -> Result<(), Error> {
        let text = read(path)?
            .ok_or_else(|| Error::at(path, Pos::START, format!("cannot open {path}")))?;
        let src = parse_source(path, &text)?;
        self.add(src, None)
    }

    /// Loads one file's text as [`Loader::load_file`] would (the language
    /// chosen by `file_name`'s extension or the first keyword); for tests,
    /// fuzzing and embedded descriptions. On error nothing is added.
    pub fn load_source(&mut self, file_name: &str, text: &str) -> Result<(), Error> {
        let src = parse_source(file_name, text)?;
        self.add(src, None)
    }

    /// Loads `qualified` (`echo.Server`) from the first include directory
    /// that has `echo/Server.edl`, `.cdl` or `.idl` (in that order of
    /// extensions). On error nothing is added.
    pub fn load_name(&mut self, qualified: &str) -> Result<(), Error> {
        let asked = Asked {
            file: qualified.to_string(),
            pos: Pos::START,
        };
        if !is_name(qualified, true) {
            return Err(asked.err(format!("'{qualified}' is not a qualified name (a.b.Name)")));
        }
        let (path, text) = self.find(qualified, &["edl", "cdl", "idl"], &asked)?;
        let src = parse_source(&path, &text)?;
        self.add(src, Some(qualified))
    }

    /// Adds a parsed file (loaded as `name` when found by name).
    fn add(&mut self, src: Source, name: Option<&str>) -> Result<(), Error> {
        let declared = match &src {
            Source::Idl(f) => &f.package,
            Source::Unit(u) => &u.name,
        };
        let file = match &src {
            Source::Idl(f) => &f.file,
            Source::Unit(u) => &u.file,
        };
        if let Some(n) = name {
            check_name(file, declared, n)?;
        }
        match src {
            Source::Idl(f) => self.add_idl(f),
            Source::Unit(u) => {
                let mut next = self.clone();
                let endpoints = next.flatten_unit(u.clone(), &mut Vec::new())?;
                if u.kind == UnitKind::Entity
                    && !next.schema.entities.iter().any(|e| e.name == u.name.text)
                {
                    next.schema.entities.push(Entity {
                        name: u.name.text,
                        endpoints,
                    });
                }
                *self = next;
                Ok(())
            }
        }
    }

    /// Adds an IDL file and every package it imports (transitively), then
    /// resolves them all; on error nothing is added.
    fn add_idl(&mut self, root: IdlFile) -> Result<(), Error> {
        if self.idl.contains_key(&root.package.text) {
            return Ok(());
        }
        let mut fresh: BTreeMap<String, IdlFile> = BTreeMap::new();
        let mut order = Vec::new();
        let mut todo = Vec::new();
        let push_imports = |f: &IdlFile, todo: &mut Vec<(String, Asked)>| {
            for i in f.imports.iter().rev() {
                todo.push((i.text.clone(), Asked::by(&f.file, i)));
            }
        };
        push_imports(&root, &mut todo);
        order.push(root.package.text.clone());
        fresh.insert(root.package.text.clone(), root);
        while let Some((name, asked)) = todo.pop() {
            if self.idl.contains_key(&name) || fresh.contains_key(&name) {
                continue;
            }
            let f = self.find_idl(&name, &asked)?;
            push_imports(&f, &mut todo);
            order.push(name.clone());
            fresh.insert(name, f);
        }
        let mut all = self.idl.clone();
        all.extend(fresh);
        let mut schema = self.schema.clone();
        for name in &order {
            resolve_package(&all, &all[name], &mut schema)?;
        }
        let mut done = BTreeMap::new();
        for f in order.iter().map(|n| &all[n]) {
            for d in &f.decls {
                if let Decl::Struct(n, _) = d {
                    let q = format!("{}.{}", f.package.text, n.text);
                    nesting(&schema, &q, &mut Vec::new(), &mut done)
                        .map_err(|m| Error::at(&f.file, n.pos, m))?;
                }
            }
        }
        self.idl = all;
        self.schema = schema;
        Ok(())
    }

    /// Reads and parses `name`'s IDL file, found through the include dirs.
    fn find_idl(&self, name: &str, asked: &Asked) -> Result<IdlFile, Error> {
        let (path, text) = self.find(name, &["idl"], asked)?;
        match parse_source(&path, &text)? {
            Source::Idl(f) => {
                check_name(&f.file, &f.package, name)?;
                Ok(f)
            }
            Source::Unit(_) => Err(asked.err(format!("{path} is not an IDL file"))),
        }
    }

    /// Makes sure the interface `iface` is loaded (its package is `iface`).
    fn need_interface(&mut self, iface: &Name, asked: &Asked) -> Result<(), Error> {
        if !self.idl.contains_key(&iface.text) {
            let f = self.find_idl(&iface.text, asked)?;
            self.add_idl(f)?;
        }
        if self.schema.interfaces.contains_key(&iface.text) {
            Ok(())
        } else {
            Err(asked.err(format!(
                "package '{}' declares no interface (it has no 'interface {{ }}' block)",
                iface.text
            )))
        }
    }

    /// A unit's endpoints in RIID order; `stack` holds the components
    /// being flattened above it.
    fn flatten_unit(
        &mut self,
        u: UnitFile,
        stack: &mut Vec<String>,
    ) -> Result<Vec<Endpoint>, Error> {
        let mut out = Vec::new();
        for b in &u.endpoints {
            self.need_interface(&b.target, &Asked::by(&u.file, &b.target))?;
            out.push(Endpoint {
                name: b.name.text.clone(),
                interface: b.target.text.clone(),
            });
        }
        stack.push(u.name.text.clone());
        for c in &u.components {
            let asked = Asked::by(&u.file, &c.target);
            let inner = self.component(&c.target.text, &asked, stack)?;
            out.extend(inner.into_iter().map(|e| Endpoint {
                name: format!("{}.{}", c.name.text, e.name),
                interface: e.interface,
            }));
        }
        stack.pop();
        if u.kind == UnitKind::Component {
            self.units.insert(u.name.text.clone(), out.clone());
        }
        Ok(out)
    }

    /// The endpoints of component `name` (loaded from its CDL file once).
    fn component(
        &mut self,
        name: &str,
        asked: &Asked,
        stack: &mut Vec<String>,
    ) -> Result<Vec<Endpoint>, Error> {
        if let Some(i) = stack.iter().position(|s| s == name) {
            let mut path = stack[i..].join(" -> ");
            path.push_str(" -> ");
            path.push_str(name);
            return Err(asked.err(format!("component cycle: {path}")));
        }
        if stack.len() >= MAX_DEPTH {
            return Err(asked.err(format!("components nested deeper than {MAX_DEPTH} levels")));
        }
        if let Some(eps) = self.units.get(name) {
            return Ok(eps.clone());
        }
        let (path, text) = self.find(name, &["cdl"], asked)?;
        let Source::Unit(u) = parse_source(&path, &text)? else {
            return Err(asked.err(format!("{path} is not a CDL file")));
        };
        check_name(&u.file, &u.name, name)?;
        self.flatten_unit(u, stack)
    }

    /// The path and text of the first `name.ext` file under the include
    /// dirs, for each of `exts` in turn.
    fn find(&self, name: &str, exts: &[&str], asked: &Asked) -> Result<(String, String), Error> {
        let rel = name.replace('.', "/");
        for dir in &self.include {
            for ext in exts {
                let path = if dir.is_empty() {
                    format!("{rel}.{ext}")
                } else {
                    format!("{}/{rel}.{ext}", dir.trim_end_matches('/'))
                };
                if let Some(text) = read(&path)? {
                    return Ok((path, text));
                }
            }
        }
        let wanted = exts
            .iter()
            .map(|e| format!("{rel}.{e}"))
            .collect::<Vec<_>>()
            .join(" or ");
        let dirs = if self.include.is_empty() {
            "(none)".to_string()
        } else {
            self.include.join(", ")
        };
        Err(asked.err(format!("cannot find {wanted} in -I dirs: {dirs}")))
    }
}

/// The text at `path`, None when it cannot be opened.
fn read(path: &str) -> Result<Option<String>, Error> {
    match sys::read_text(path) {
        Ok(t) => Ok(Some(t)),
        Err(ReadTextError::File(FileError::Open | FileError::BadPath)) => Ok(None),
        Err(ReadTextError::File(e)) => Err(Error::at(
            path,
            Pos::START,
            format!("cannot read {path}: {e}"),
        )),
        Err(ReadTextError::Utf8(bytes)) => Err(Error::not_utf8(path, &bytes)),
    }
}

fn check_name(file: &str, declared: &Name, wanted: &str) -> Result<(), Error> {
    if declared.text == wanted {
        return Ok(());
    }
    Err(Error::at(
        file,
        declared.pos,
        format!(
            "this file declares '{}' but was looked up as '{wanted}' (the name must match the path)",
            declared.text
        ),
    ))
}

/// Resolves one package's structs and interface into `schema`, checking
/// its typedefs, consts and unions on the way.
fn resolve_package(
    all: &BTreeMap<String, IdlFile>,
    f: &IdlFile,
    schema: &mut Schema,
) -> Result<(), Error> {
    let r = Resolver { all };
    for d in &f.decls {
        match d {
            Decl::Typedef(n, _) => {
                r.named(f, n, &mut Vec::new())?;
            }
            Decl::Const(n, ..) => {
                r.const_value(f, n, &mut Vec::new())?;
            }
            Decl::Union(_, fields) => {
                for fl in fields {
                    r.ty(f, &fl.ty, &mut Vec::new())?;
                }
            }
            Decl::Struct(n, fields) => {
                let mut out = Vec::new();
                for fl in fields {
                    out.push(Field {
                        name: fl.name.text.clone(),
                        ty: r.ty(f, &fl.ty, &mut Vec::new())?,
                    });
                }
                let name = format!("{}.{}", f.package.text, n.text);
                schema
                    .structs
                    .entry(name.clone())
                    .or_insert(StructDef { name, fields: out });
            }
        }
    }
    if let Some(methods) = &f.interface {
        let mut out = Vec::new();
        for m in methods {
            let mut params = Vec::new();
            for p in &m.params {
                params.push(Param {
                    dir: p.dir,
                    name: p.name.text.clone(),
                    ty: r.ty(f, &p.ty, &mut Vec::new())?,
                });
            }
            out.push(Method {
                name: m.name.text.clone(),
                params,
            });
        }
        let name = f.package.text.clone();
        schema
            .interfaces
            .entry(name.clone())
            .or_insert(Interface { name, methods: out });
    }
    Ok(())
}

/// How deep structs nest inline (through fields and arrays) below the
/// struct `name`; Err when it contains itself or nests deeper than
/// [`MAX_DEPTH`]. `done` remembers the structs already measured.
fn nesting(
    schema: &Schema,
    name: &str,
    stack: &mut Vec<String>,
    done: &mut BTreeMap<String, usize>,
) -> Result<usize, String> {
    if let Some(d) = done.get(name) {
        return Ok(*d);
    }
    if let Some(i) = stack.iter().position(|s| s == name) {
        let mut path = stack[i..].join(" -> ");
        path.push_str(" -> ");
        path.push_str(name);
        return Err(format!("struct '{name}' contains itself: {path}"));
    }
    if stack.len() >= MAX_DEPTH {
        return Err(format!("structs nested deeper than {MAX_DEPTH} levels"));
    }
    let Some(s) = schema.structs.get(name) else {
        return Ok(0);
    };
    stack.push(name.to_string());
    let mut deepest = 0;
    for fl in &s.fields {
        let mut t = &fl.ty;
        while let Type::Array(inner, _) = t {
            t = inner;
        }
        if let Type::Struct(n) = t {
            deepest = deepest.max(nesting(schema, n, stack, done)? + 1);
        }
    }
    stack.pop();
    if deepest >= MAX_DEPTH {
        return Err(format!(
            "struct '{name}' nests structs deeper than {MAX_DEPTH} levels"
        ));
    }
    done.insert(name.to_string(), deepest);
    Ok(deepest)
}

/// How many sequences and arrays `t` nests.
fn nest(mut t: &Type) -> usize {
    let mut n = 0;
    while let Type::Sequence(inner, _) | Type::Array(inner, _) = t {
        n += 1;
        t = inner;
    }
    n
}

/// Looks names up among parsed packages.
struct Resolver<'a> {
    all: &'a BTreeMap<String, IdlFile>,
}

impl<'a> Resolver<'a> {
    /// The declaration `n` names, seen from package `f`, with its package.
    fn lookup(&self, f: &'a IdlFile, n: &Name) -> Result<(&'a IdlFile, &'a Decl), Error> {
        let visible = core::iter::once(&f.package).chain(f.imports.iter());
        if let Some((pkg, short)) = n.text.rsplit_once('.') {
            if !visible.clone().any(|p| p.text == pkg) {
                return Err(Error::at(
                    &f.file,
                    n.pos,
                    format!(
                        "'{}': package '{pkg}' is not imported by '{}'",
                        n.text, f.package.text
                    ),
                ));
            }
            if let Some(p) = self.all.get(pkg) {
                if let Some(d) = p.decl(short) {
                    return Ok((p, d));
                }
            }
            return Err(Error::at(
                &f.file,
                n.pos,
                format!(
                    "unknown name '{}': package '{pkg}' has no '{short}'",
                    n.text
                ),
            ));
        }
        for p in visible.clone() {
            if let Some(p) = self.all.get(&p.text) {
                if let Some(d) = p.decl(&n.text) {
                    return Ok((p, d));
                }
            }
        }
        let imports = f
            .imports
            .iter()
            .map(|i| i.text.as_str())
            .collect::<Vec<_>>();
        let where_ = if imports.is_empty() {
            format!("not in package {}, which imports nothing", f.package.text)
        } else {
            format!(
                "not in package {} nor its imports {}",
                f.package.text,
                imports.join(", ")
            )
        };
        Err(Error::at(
            &f.file,
            n.pos,
            format!("unknown type '{}' ({where_})", n.text),
        ))
    }

    /// Guards against cycles and runaway chains while following `n`.
    fn enter(
        &self,
        f: &IdlFile,
        n: &Name,
        q: String,
        stack: &mut Vec<String>,
        what: &str,
    ) -> Result<(), Error> {
        if let Some(i) = stack.iter().position(|s| *s == q) {
            let mut path = stack[i..].join(" -> ");
            path.push_str(" -> ");
            path.push_str(&q);
            return Err(Error::at(&f.file, n.pos, format!("{what} cycle: {path}")));
        }
        if stack.len() >= MAX_DEPTH {
            return Err(Error::at(
                &f.file,
                n.pos,
                format!("{what}s chained deeper than {MAX_DEPTH} levels"),
            ));
        }
        stack.push(q);
        Ok(())
    }

    /// The type the name `n` stands for in package `f`.
    fn named(&self, f: &'a IdlFile, n: &Name, stack: &mut Vec<String>) -> Result<Type, Error> {
        let (p, d) = self.lookup(f, n)?;
        let q = format!("{}.{}", p.package.text, d.name().text);
        match d {
            Decl::Struct(..) => Ok(Type::Struct(q)),
            Decl::Union(..) => Ok(Type::Opaque(q)),
            Decl::Typedef(_, ty) => {
                self.enter(f, n, q, stack, "typedef")?;
                let t = self.ty(p, ty, stack)?;
                stack.pop();
                Ok(t)
            }
            Decl::Const(..) => Err(Error::at(
                &f.file,
                n.pos,
                format!("'{}' is a const, not a type", n.text),
            )),
        }
    }

    fn ty(&self, f: &'a IdlFile, ty: &TypeExpr, stack: &mut Vec<String>) -> Result<Type, Error> {
        Ok(match ty {
            TypeExpr::Prim(p) => Type::Prim(*p),
            TypeExpr::Handle => Type::Handle,
            TypeExpr::String(v) => Type::String(self.size(f, v, stack)?),
            TypeExpr::Bytes(v) => Type::Bytes(self.size(f, v, stack)?),
            TypeExpr::Sequence(t, v) | TypeExpr::Array(t, v) => {
                let elem = self.ty(f, t, stack)?;
                let n = self.size(f, v, stack)?;
                if nest(&elem) >= MAX_DEPTH {
                    let pos = match v {
                        Value::Num(_, p) => *p,
                        Value::Const(c) => c.pos,
                    };
                    let msg =
                        format!("types nested deeper than {MAX_DEPTH} levels (through typedefs)");
                    return Err(Error::at(&f.file, pos, msg));
                }
                let elem = alloc::boxed::Box::new(elem);
                match ty {
                    TypeExpr::Sequence(..) => Type::Sequence(elem, n),
                    _ => Type::Array(elem, n),
                }
            }
            TypeExpr::Named(n) | TypeExpr::Union(n) => self.named(f, n, stack)?,
        })
    }

    fn size(&self, f: &'a IdlFile, v: &Value, stack: &mut Vec<String>) -> Result<u32, Error> {
        let (n, pos) = match v {
            Value::Num(n, pos) => (*n, *pos),
            Value::Const(c) => (self.const_value(f, c, stack)?, c.pos),
        };
        u32::try_from(n)
            .map_err(|_| Error::at(&f.file, pos, format!("size {n} is not in 0..={}", u32::MAX)))
    }

    /// The number the const `n` stands for in package `f`.
    fn const_value(
        &self,
        f: &'a IdlFile,
        n: &Name,
        stack: &mut Vec<String>,
    ) -> Result<i128, Error> {
        let (p, d) = self.lookup(f, n)?;
        let Decl::Const(cn, _, v) = d else {
            return Err(Error::at(
                &f.file,
                n.pos,
                format!("'{}' is {}, not a const number", n.text, d.kind()),
            ));
        };
        self.enter(
            f,
            n,
            format!("{}.{}", p.package.text, cn.text),
            stack,
            "const",
        )?;
        let out = match v {
            Value::Num(x, _) => *x,
            Value::Const(c) => self.const_value(p, c, stack)?,
        };
        stack.pop();
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::idl::model::Prim;
    use alloc::boxed::Box;
    use alloc::string::ToString;
    use alloc::vec;

    #[test]
    fn one_package_resolves_without_files() {
        let mut l = Loader::new(Vec::<String>::new());
        l.load_source(
            "p.idl",
            "package p.Q\nconst UInt8 A = B; const UInt8 B = 0x3;\ntypedef T2 T1; typedef array<S, A> T2;\n\
             struct S { union U u; } union U { UInt8 x; }\ninterface { M(in T1 t); }",
        )
        .unwrap();
        let s = l.schema();
        let arr = Type::Array(Box::new(Type::Struct("p.Q.S".into())), 3);
        assert_eq!(s.interfaces["p.Q"].methods[0].params[0].ty, arr);
        assert_eq!(
            s.structs["p.Q.S"].fields[0].ty,
            Type::Opaque("p.Q.U".into())
        );
        assert_eq!(nest(&Type::Sequence(Box::new(arr), 1)), 2);
        assert_eq!(nest(&Type::Prim(Prim::U8)), 0);
    }

    #[test]
    fn names_resolve_own_package_first_then_imports_in_order() {
        let a = "package a.A\ntypedef UInt8 T;\n";
        let b = "package b.B\ntypedef UInt16 T; typedef UInt32 U;\n";
        let c = "package c.C\nimport a.A\nimport b.B\ntypedef UInt64 U;\ninterface { M(in T t, in U u, in b.B.T bt); }";
        let mut all = BTreeMap::new();
        for text in [a, b, c] {
            let Source::Idl(f) = parse_source("x.idl", text).unwrap() else {
                panic!("not IDL")
            };
            all.insert(f.package.text.clone(), f);
        }
        let mut s = Schema::default();
        resolve_package(&all, &all["c.C"], &mut s).unwrap();
        let types: Vec<_> = s.interfaces["c.C"].methods[0]
            .params
            .iter()
            .map(|p| p.ty.to_string())
            .collect();
        assert_eq!(types, vec!["UInt8", "UInt64", "UInt16"]);
    }

    #[test]
    fn a_failed_load_adds_nothing() {
        let mut l = Loader::new(["/nonexistent-dir"]);
        l.load_source("ok.idl", "package ok.P\ninterface { M(); }")
            .unwrap();
        let before = l.schema().clone();
        let e = l
            .load_source(
                "bad.edl",
                "task class x.S\nendpoints { m : ok.P }\ncomponents { c : x.C }",
            )
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "bad.edl:3:18: cannot find x/C.cdl in -I dirs: /nonexistent-dir"
        );
        assert_eq!(l.schema(), &before);
    }
}
