//! The three KasperskyOS CE description grammars, read into a syntax tree
//! that still holds names (typedefs, constants, other packages), and the
//! reader of the canonical one-line form the [`super::model`] `Display`
//! impls print ([`schema_line`]).
//!
//! - IDL: `package a.b.Name`, `import a.b.Other`, `typedef T Name;`,
//!   `const T Name = 5;`, `struct Name { T field; }`, `union Name { ... }`
//!   and one `interface { Method(in T a, out T b, error T c); }`.
//! - EDL: `task class a.b.Name` (or the older `entity a.b.Name`), then
//!   `endpoints { name : a.b.Iface }` (older: `interfaces { }`),
//!   `components { inst : a.b.Comp }` and `security : a.b.X` (ignored).
//! - CDL: `component a.b.Name` with the same blocks.
//!
//! Attribute brackets (`[cpp:...]`) before a declaration are skipped.
//! Nothing here reads other files: [`super::load`] resolves the names.

use alloc::boxed::Box;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use super::lex::{tokens, Error, Pos, Tok, Token};
use super::model::{Dir, Field, Interface, Method, Param, Prim, StructDef, Type, MAX_DEPTH};

/// A name as written, with where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name {
    /// The text (`Point`, `echo.Point`).
    pub text: String,
    /// Where it starts.
    pub pos: Pos,
}

/// A size or a constant's value as written: a number or a const's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A literal (negative only in a `const` with a leading `-`).
    Num(i128, Pos),
    /// A const, by short or qualified name.
    Const(Name),
}

/// A type as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypeExpr {
    /// A scalar.
    Prim(Prim),
    /// `Handle`.
    Handle,
    /// `string<N>`.
    String(Value),
    /// `bytes<N>`.
    Bytes(Value),
    /// `sequence<T, N>`.
    Sequence(Box<TypeExpr>, Value),
    /// `array<T, N>`.
    Array(Box<TypeExpr>, Value),
    /// A typedef, struct or union by name.
    Named(Name),
    /// `union a.b.U` (the canonical form's spelling of an opaque type).
    Union(Name),
}

/// A struct member or a union alternative.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldExpr {
    /// Name.
    pub name: Name,
    /// Type.
    pub ty: TypeExpr,
}

/// A method parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamExpr {
    /// Direction.
    pub dir: Dir,
    /// Name.
    pub name: Name,
    /// Type.
    pub ty: TypeExpr,
}

/// A method of the interface block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MethodExpr {
    /// Name.
    pub name: Name,
    /// Parameters in order.
    pub params: Vec<ParamExpr>,
}

/// A named IDL declaration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decl {
    /// `typedef T Name;`
    Typedef(Name, TypeExpr),
    /// `const T Name = value;`
    Const(Name, TypeExpr, Value),
    /// `struct Name { ... }`
    Struct(Name, Vec<FieldExpr>),
    /// `union Name { ... }`
    Union(Name, Vec<FieldExpr>),
}

impl Decl {
    /// The declared name.
    pub fn name(&self) -> &Name {
        match self {
            Decl::Typedef(n, _) | Decl::Const(n, ..) | Decl::Struct(n, _) | Decl::Union(n, _) => n,
        }
    }

    /// What kind of declaration it is, in words.
    pub fn kind(&self) -> &'static str {
        match self {
            Decl::Typedef(..) => "a typedef",
            Decl::Const(..) => "a const",
            Decl::Struct(..) => "a struct",
            Decl::Union(..) => "a union",
        }
    }
}

/// One IDL file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdlFile {
    /// The file name errors name.
    pub file: String,
    /// `package` name; also the interface's name.
    pub package: Name,
    /// `import`s in order.
    pub imports: Vec<Name>,
    /// Typedefs, consts, structs and unions in order.
    pub decls: Vec<Decl>,
    /// The `interface { }` block's methods, if the file has one.
    pub interface: Option<Vec<MethodExpr>>,
}

impl IdlFile {
    /// An empty file of `package`, named `file` in errors.
    pub fn new(file: &str, package: Name) -> IdlFile {
        IdlFile {
            file: file.to_string(),
            package,
            imports: Vec::new(),
            decls: Vec::new(),
            interface: None,
        }
    }

    /// The declaration called `short` in this file.
    pub fn decl(&self, short: &str) -> Option<&Decl> {
        self.decls.iter().find(|d| d.name().text == short)
    }
}

/// Whether a CDL/EDL file describes an entity or a component.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnitKind {
    /// EDL `task class` / `entity`.
    Entity,
    /// CDL `component`.
    Component,
}

/// `name : a.b.Target` in an `endpoints` or `components` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// Endpoint or instance name.
    pub name: Name,
    /// Interface or component, qualified.
    pub target: Name,
}

/// One EDL or CDL file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitFile {
    /// The file name errors name.
    pub file: String,
    /// Entity or component.
    pub kind: UnitKind,
    /// Its qualified name.
    pub name: Name,
    /// Own endpoints in order.
    pub endpoints: Vec<Binding>,
    /// Component instances in order.
    pub components: Vec<Binding>,
}

/// One parsed file of any of the three languages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// An IDL file (or nk-driver JSON).
    Idl(IdlFile),
    /// An EDL or CDL file.
    Unit(UnitFile),
}

/// Which grammar [`parse_source`] applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// `*.idl`
    Idl,
    /// `*.edl`
    Edl,
    /// `*.cdl`
    Cdl,
}

impl Lang {
    /// The language a file name's extension names.
    pub fn of_path(path: &str) -> Option<Lang> {
        let ext = path.rsplit_once('.').map(|(_, e)| e)?;
        match ext {
            "idl" => Some(Lang::Idl),
            "edl" => Some(Lang::Edl),
            "cdl" => Some(Lang::Cdl),
            _ => None,
        }
    }
}

/// One file's text parsed by the grammar its extension names (`.idl`,
/// `.edl`, `.cdl`; `.json` is nk-driver output, with feature `std`), or else
/// by its first keyword; other files are not read.
pub fn parse_source(file_name: &str, text: &str) -> Result<Source, Error> {
    #[cfg(feature = "std")]
    if file_name.ends_with(".json") {
        return super::json::parse_json(file_name, text).map(Source::Idl);
    }
    let mut p = Parser::new(file_name, text)?;
    let lang = match Lang::of_path(file_name) {
        Some(l) => l,
        None => {
            p.skip_attributes()?;
            match p.peek_name() {
                Some("package") => Lang::Idl,
                Some("task" | "entity") => Lang::Edl,
                Some("component") => Lang::Cdl,
                _ => return Err(p.unexpected("'package', 'task class', 'entity' or 'component'")),
            }
        }
    };
    match lang {
        Lang::Idl => p.idl().map(Source::Idl),
        Lang::Edl => p.unit(UnitKind::Entity).map(Source::Unit),
        Lang::Cdl => p.unit(UnitKind::Component).map(Source::Unit),
    }
}

/// A struct or an interface in the canonical form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemaItem {
    /// `struct a.B { T f; ... }`
    Struct(StructDef),
    /// `interface a.B { M(in T x, ...); ... }`
    Interface(Interface),
}

/// The file name [`schema_line`] errors carry.
pub const SCHEMA_FILE: &str = "<schema>";

/// Reads back one line that `StructDef`'s or `Interface`'s `Display`
/// printed: types already resolved (numbers only, qualified struct names,
/// `union a.b.U` for an opaque type). Errors name the file `<schema>`.
pub fn schema_line(line: &str) -> Result<SchemaItem, Error> {
    let mut p = Parser::new(SCHEMA_FILE, line)?;
    let item = match p.peek_name() {
        Some("struct") => {
            p.bump();
            let name = p.name("a struct name")?;
            let fields = p.fields("struct", &name.text)?;
            let fields = fields
                .into_iter()
                .map(|f| {
                    Ok(Field {
                        name: f.name.text,
                        ty: p.resolved(f.ty)?,
                    })
                })
                .collect::<Result<_, Error>>()?;
            SchemaItem::Struct(StructDef {
                name: name.text,
                fields,
            })
        }
        Some("interface") => {
            p.bump();
            let name = p.name("an interface name")?;
            let methods = p.methods()?;
            let mut out = Vec::new();
            for m in methods {
                let mut params = Vec::new();
                for pe in m.params {
                    params.push(Param {
                        dir: pe.dir,
                        name: pe.name.text,
                        ty: p.resolved(pe.ty)?,
                    });
                }
                out.push(Method {
                    name: m.name.text,
                    params,
                });
            }
            SchemaItem::Interface(Interface {
                name: name.text,
                methods: out,
            })
        }
        _ => return Err(p.unexpected("'struct' or 'interface'")),
    };
    p.expect_eof()?;
    Ok(item)
}

/// Words that start a type and so cannot name a struct in the canonical form.
const TYPE_WORDS: [&str; 6] = ["Handle", "string", "bytes", "sequence", "array", "union"];

struct Parser<'a> {
    file: &'a str,
    toks: Vec<Token>,
    i: usize,
}

impl<'a> Parser<'a> {
    fn new(file: &'a str, text: &str) -> Result<Parser<'a>, Error> {
        Ok(Parser {
            file,
            toks: tokens(file, text)?,
            i: 0,
        })
    }

    fn peek(&self) -> &Token {
        // `tokens` always ends with Eof, and `bump` never passes it.
        &self.toks[self.i.min(self.toks.len() - 1)]
    }

    fn peek_name(&self) -> Option<&str> {
        match &self.peek().tok {
            Tok::Name(s) => Some(s),
            _ => None,
        }
    }

    fn is_punct(&self, c: char) -> bool {
        self.peek().tok == Tok::Punct(c)
    }

    fn bump(&mut self) -> Token {
        let t = self.peek().clone();
        if t.tok != Tok::Eof {
            self.i += 1;
        }
        t
    }

    fn err(&self, pos: Pos, msg: impl Into<String>) -> Error {
        Error::at(self.file, pos, msg)
    }

    fn unexpected(&self, what: &str) -> Error {
        let t = self.peek();
        self.err(t.pos, format!("expected {what}, found {}", t.tok))
    }

    fn eat_punct(&mut self, c: char) -> bool {
        let yes = self.is_punct(c);
        if yes {
            self.bump();
        }
        yes
    }

    fn expect_punct(&mut self, c: char, context: &str) -> Result<Pos, Error> {
        if self.is_punct(c) {
            Ok(self.bump().pos)
        } else {
            Err(self.unexpected(&format!("'{c}' {context}")))
        }
    }

    fn keyword(&mut self, k: &str) -> bool {
        let yes = self.peek_name() == Some(k);
        if yes {
            self.bump();
        }
        yes
    }

    fn expect_eof(&self) -> Result<(), Error> {
        match self.peek().tok {
            Tok::Eof => Ok(()),
            _ => Err(self.unexpected("end of file")),
        }
    }

    /// Any name, dotted or not.
    fn name(&mut self, what: &str) -> Result<Name, Error> {
        match &self.peek().tok {
            Tok::Name(s) => {
                let n = Name {
                    text: s.clone(),
                    pos: self.peek().pos,
                };
                self.bump();
                Ok(n)
            }
            _ => Err(self.unexpected(what)),
        }
    }

    /// A name that declares something here, so without dots.
    fn plain_name(&mut self, what: &str) -> Result<Name, Error> {
        let n = self.name(what)?;
        if n.text.contains('.') {
            return Err(self.err(n.pos, format!("{what} cannot contain '.': '{}'", n.text)));
        }
        Ok(n)
    }

    /// Skips `[ ... ]` attribute brackets.
    fn skip_attributes(&mut self) -> Result<(), Error> {
        while self.is_punct('[') {
            let open = self.bump().pos;
            let mut depth = 1u32;
            while depth > 0 {
                match self.bump().tok {
                    Tok::Punct('[') => depth += 1,
                    Tok::Punct(']') => depth -= 1,
                    Tok::Eof => {
                        return Err(self.err(open, "unterminated attribute: '[' without ']'"))
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }

    fn value(&mut self, what: &str) -> Result<Value, Error> {
        let t = self.peek().clone();
        match t.tok {
            Tok::Num(n) => {
                self.bump();
                Ok(Value::Num(i128::from(n), t.pos))
            }
            Tok::Name(_) => Ok(Value::Const(self.name(what)?)),
            _ => Err(self.unexpected(what)),
        }
    }

    fn ty(&mut self, depth: usize) -> Result<TypeExpr, Error> {
        let t = self.peek().clone();
        if depth > MAX_DEPTH {
            return Err(self.err(
                t.pos,
                format!("types nested deeper than {MAX_DEPTH} levels"),
            ));
        }
        let Tok::Name(word) = &t.tok else {
            return Err(self.unexpected("a type"));
        };
        if let Some(p) = Prim::from_name(word) {
            self.bump();
            return Ok(TypeExpr::Prim(p));
        }
        match word.as_str() {
            "Handle" => {
                self.bump();
                Ok(TypeExpr::Handle)
            }
            "union" => {
                self.bump();
                Ok(TypeExpr::Union(self.name("a union name after 'union'")?))
            }
            "string" | "bytes" => {
                self.bump();
                let w = word.clone();
                self.expect_punct('<', &format!("after '{w}'"))?;
                let n = self.value(&format!("a size in '{w}<N>'"))?;
                self.expect_punct('>', &format!("after the size of '{w}<N>'"))?;
                Ok(if w == "string" {
                    TypeExpr::String(n)
                } else {
                    TypeExpr::Bytes(n)
                })
            }
            "sequence" | "array" => {
                self.bump();
                let w = word.clone();
                self.expect_punct('<', &format!("after '{w}'"))?;
                let elem = self.ty(depth + 1)?;
                if self.is_punct('>') {
                    return Err(self.err(self.peek().pos, format!("'{w}' needs a size: {w}<T, N>")));
                }
                self.expect_punct(',', &format!("after the element type of '{w}<T, N>'"))?;
                let n = self.value(&format!("a size in '{w}<T, N>'"))?;
                self.expect_punct('>', &format!("after the size of '{w}<T, N>'"))?;
                Ok(if w == "sequence" {
                    TypeExpr::Sequence(Box::new(elem), n)
                } else {
                    TypeExpr::Array(Box::new(elem), n)
                })
            }
            _ => Ok(TypeExpr::Named(self.name("a type")?)),
        }
    }

    /// `{ T a; T b; }` with an optional `;` after the brace.
    fn fields(&mut self, what: &str, owner: &str) -> Result<Vec<FieldExpr>, Error> {
        self.expect_punct('{', &format!("after {what} '{owner}'"))?;
        let mut out: Vec<FieldExpr> = Vec::new();
        while !self.eat_punct('}') {
            self.skip_attributes()?;
            let ty = self.ty(0)?;
            let name = self.plain_name("a field name after the field type")?;
            if out.iter().any(|f| f.name.text == name.text) {
                return Err(self.err(
                    name.pos,
                    format!("duplicate field '{}' in {what} '{owner}'", name.text),
                ));
            }
            self.expect_punct(';', &format!("after field '{}'", name.text))?;
            out.push(FieldExpr { name, ty });
        }
        self.eat_punct(';');
        Ok(out)
    }

    /// `{ M(in T a, out T b); ... }` with an optional `;` after the brace.
    fn methods(&mut self) -> Result<Vec<MethodExpr>, Error> {
        self.expect_punct('{', "to open the interface")?;
        let mut out: Vec<MethodExpr> = Vec::new();
        while !self.eat_punct('}') {
            self.skip_attributes()?;
            let name = self.plain_name("a method name")?;
            if out.iter().any(|m| m.name.text == name.text) {
                return Err(self.err(name.pos, format!("duplicate method '{}'", name.text)));
            }
            self.expect_punct('(', &format!("after method name '{}'", name.text))?;
            let mut params: Vec<ParamExpr> = Vec::new();
            if !self.eat_punct(')') {
                loop {
                    let dir = match self.peek_name() {
                        Some("in") => Dir::In,
                        Some("out") => Dir::Out,
                        Some("error") => Dir::Error,
                        _ => return Err(self.unexpected("'in', 'out' or 'error'")),
                    };
                    self.bump();
                    let ty = self.ty(0)?;
                    let pname = self.plain_name("a parameter name after its type")?;
                    if params.iter().any(|p| p.name.text == pname.text) {
                        return Err(self.err(
                            pname.pos,
                            format!(
                                "duplicate parameter '{}' in method '{}'",
                                pname.text, name.text
                            ),
                        ));
                    }
                    params.push(ParamExpr {
                        dir,
                        name: pname,
                        ty,
                    });
                    if self.eat_punct(')') {
                        break;
                    }
                    self.expect_punct(',', "or ')' after a parameter")?;
                }
            }
            self.expect_punct(';', &format!("after method '{}'", name.text))?;
            out.push(MethodExpr { name, params });
        }
        self.eat_punct(';');
        Ok(out)
    }

    fn idl(&mut self) -> Result<IdlFile, Error> {
        self.skip_attributes()?;
        if !self.keyword("package") {
            return Err(self.unexpected("'package' first in an IDL file"));
        }
        let package = self.name("a package name")?;
        self.eat_punct(';');
        let mut f = IdlFile::new(self.file, package);
        loop {
            self.skip_attributes()?;
            let at = self.peek().pos;
            let decl = match self.peek_name() {
                None if self.peek().tok == Tok::Eof => return Ok(f),
                Some("import") => {
                    self.bump();
                    f.imports.push(self.name("a package name after 'import'")?);
                    self.eat_punct(';');
                    continue;
                }
                Some("interface") => {
                    self.bump();
                    if f.interface.is_some() {
                        return Err(self.err(
                            at,
                            "a second 'interface' block (a package declares one interface)",
                        ));
                    }
                    f.interface = Some(self.methods()?);
                    continue;
                }
                Some("typedef") => {
                    self.bump();
                    let ty = self.ty(0)?;
                    let name = self.plain_name("a typedef name after its type")?;
                    self.expect_punct(';', &format!("after typedef '{}'", name.text))?;
                    Decl::Typedef(name, ty)
                }
                Some("const") => {
                    self.bump();
                    let ty = self.ty(0)?;
                    let name = self.plain_name("a const name after its type")?;
                    self.expect_punct('=', &format!("after const '{}'", name.text))?;
                    let value = if self.is_punct('-') {
                        let minus = self.bump().pos;
                        match self.value("a number after '-'")? {
                            Value::Num(n, _) => Value::Num(-n, minus),
                            Value::Const(c) => {
                                return Err(self.err(c.pos, "expected a number after '-'"))
                            }
                        }
                    } else {
                        self.value("a number or a const name")?
                    };
                    self.expect_punct(';', &format!("after const '{}'", name.text))?;
                    Decl::Const(name, ty, value)
                }
                Some(w @ ("struct" | "union")) => {
                    let is_struct = w == "struct";
                    self.bump();
                    let what = if is_struct { "struct" } else { "union" };
                    let name = self.plain_name(&format!("a {what} name"))?;
                    let fields = self.fields(what, &name.text)?;
                    if is_struct {
                        Decl::Struct(name, fields)
                    } else {
                        Decl::Union(name, fields)
                    }
                }
                _ => {
                    return Err(self.unexpected(
                        "'import', 'typedef', 'const', 'struct', 'union' or 'interface'",
                    ))
                }
            };
            if let Some(first) = f.decl(&decl.name().text) {
                let p = first.name().pos;
                return Err(self.err(
                    decl.name().pos,
                    format!(
                        "duplicate name '{}' (first declared at {}:{})",
                        decl.name().text,
                        p.line,
                        p.col
                    ),
                ));
            }
            f.decls.push(decl);
        }
    }

    /// `name : a.b.Target` entries up to `}`, `;` after each optional.
    fn bindings(&mut self, block: &str, into: &mut Vec<Binding>) -> Result<(), Error> {
        self.expect_punct('{', &format!("after '{block}'"))?;
        while !self.eat_punct('}') {
            let what = if block == "components" {
                "a component instance name"
            } else {
                "an endpoint name"
            };
            let name = self.plain_name(what)?;
            if into.iter().any(|b| b.name.text == name.text) {
                let kind = if block == "components" {
                    "component instance"
                } else {
                    "endpoint"
                };
                return Err(self.err(name.pos, format!("duplicate {kind} '{}'", name.text)));
            }
            self.expect_punct(':', &format!("after '{}'", name.text))?;
            let target = self.name("a qualified name after ':'")?;
            self.eat_punct(';');
            into.push(Binding { name, target });
        }
        self.eat_punct(';');
        Ok(())
    }

    fn unit(&mut self, kind: UnitKind) -> Result<UnitFile, Error> {
        self.skip_attributes()?;
        let ok = match kind {
            UnitKind::Entity => {
                self.keyword("entity") || (self.keyword("task") && self.class_keyword()?)
            }
            UnitKind::Component => self.keyword("component"),
        };
        if !ok {
            return Err(self.unexpected(match kind {
                UnitKind::Entity => "'task class' or 'entity' first in an EDL file",
                UnitKind::Component => "'component' first in a CDL file",
            }));
        }
        let name = self.name("a qualified name")?;
        self.eat_punct(';');
        let mut u = UnitFile {
            file: self.file.to_string(),
            kind,
            name,
            endpoints: Vec::new(),
            components: Vec::new(),
        };
        loop {
            self.skip_attributes()?;
            match self.peek_name() {
                None if self.peek().tok == Tok::Eof => return Ok(u),
                Some(b @ ("endpoints" | "interfaces")) => {
                    let b = b.to_string();
                    self.bump();
                    self.bindings(&b, &mut u.endpoints)?;
                }
                Some("components") => {
                    self.bump();
                    self.bindings("components", &mut u.components)?;
                }
                Some("security") => {
                    self.bump();
                    self.expect_punct(':', "after 'security'")?;
                    self.name("a qualified name after 'security :'")?;
                    self.eat_punct(';');
                }
                _ => return Err(self.unexpected("'endpoints', 'components' or 'security'")),
            }
        }
    }

    fn class_keyword(&mut self) -> Result<bool, Error> {
        if self.keyword("class") {
            Ok(true)
        } else {
            Err(self.unexpected("'class' after 'task'"))
        }
    }

    /// A canonical-form type: numbers only, names are structs.
    fn resolved(&self, ty: TypeExpr) -> Result<Type, Error> {
        let size = |v: Value| match v {
            Value::Num(n, pos) => u32::try_from(n)
                .map_err(|_| self.err(pos, format!("size {n} is over {}", u32::MAX))),
            Value::Const(c) => {
                Err(self.err(c.pos, format!("expected a number, found '{}'", c.text)))
            }
        };
        Ok(match ty {
            TypeExpr::Prim(p) => Type::Prim(p),
            TypeExpr::Handle => Type::Handle,
            TypeExpr::String(n) => Type::String(size(n)?),
            TypeExpr::Bytes(n) => Type::Bytes(size(n)?),
            TypeExpr::Sequence(t, n) => Type::Sequence(Box::new(self.resolved(*t)?), size(n)?),
            TypeExpr::Array(t, n) => Type::Array(Box::new(self.resolved(*t)?), size(n)?),
            TypeExpr::Union(n) => Type::Opaque(n.text),
            TypeExpr::Named(n) => {
                if TYPE_WORDS.contains(&n.text.as_str()) {
                    return Err(self.err(n.pos, format!("'{}' cannot name a struct", n.text)));
                }
                Type::Struct(n.text)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(file: &str, text: &str) -> String {
        parse_source(file, text).unwrap_err().to_string()
    }

    #[test]
    fn idl_file_parts() {
        let Source::Idl(f) = parse_source(
            "a/B.idl",
            "package a.B\nimport c.D\n[cpp:x] typedef array<UInt8, N> Buf;\nconst UInt32 N = -0x2;\n\
             struct P { sequence<string<4>, c.D.M> s; };\ninterface { Ping(); Put(in P p, error Handle h); }",
        )
        .unwrap() else {
            panic!("not IDL")
        };
        assert_eq!(f.package.text, "a.B");
        assert_eq!(f.imports[0].text, "c.D");
        assert_eq!(f.decls.len(), 3);
        assert!(matches!(&f.decls[1], Decl::Const(_, _, Value::Num(-2, _))));
        let m = f.interface.unwrap();
        assert_eq!((m[0].params.len(), m[1].params[1].dir), (0, Dir::Error));
    }

    #[test]
    fn unit_files_and_first_keyword() {
        let Source::Unit(u) = parse_source(
            "x",
            "task class a.Srv\nsecurity: a.Sec\nendpoints { main : a.If; aux: a.If }\ncomponents { c : a.Comp }",
        )
        .unwrap() else {
            panic!("not a unit")
        };
        assert_eq!(
            (u.kind, u.endpoints.len(), u.components.len()),
            (UnitKind::Entity, 2, 1)
        );
        assert_eq!(u.endpoints[1].name.text, "aux");
        let Source::Unit(c) =
            parse_source("a/C.cdl", "component a.C interfaces { x : a.If }").unwrap()
        else {
            panic!("not a unit")
        };
        assert_eq!(
            (c.kind, c.endpoints[0].target.text.as_str()),
            (UnitKind::Component, "a.If")
        );
    }

    #[test]
    fn syntax_errors_point_at_the_token() {
        assert_eq!(
            err("a.idl", "package a\nstruct S { UInt8 x }"),
            "a.idl:2:20: expected ';' after field 'x', found '}'"
        );
        assert_eq!(
            err("a.idl", "package a\ninterface { M(); M(); }"),
            "a.idl:2:18: duplicate method 'M'"
        );
        assert_eq!(
            err("a.edl", "component a"),
            "a.edl:1:1: expected 'task class' or 'entity' first in an EDL file, found 'component'"
        );
        assert_eq!(
            err("a.idl", "package a\n[x"),
            "a.idl:2:1: unterminated attribute: '[' without ']'"
        );
        assert_eq!(
            err("a.idl", "package a\ntypedef sequence<UInt8> S;"),
            "a.idl:2:23: 'sequence' needs a size: sequence<T, N>"
        );
    }

    #[test]
    fn schema_lines_read_back() {
        let s = "struct a.P { UInt8 t; array<a.Q, 3> q; union a.U u; sequence<string<4>, 2> s; }";
        let SchemaItem::Struct(d) = schema_line(s).unwrap() else {
            panic!("not a struct")
        };
        assert_eq!(d.to_string(), s);
        let i = "interface a.I { Ping(); Put(in bytes<8> b, out Handle h, error SInt64 e); }";
        let SchemaItem::Interface(d) = schema_line(i).unwrap() else {
            panic!("not an interface")
        };
        assert_eq!(d.to_string(), i);
        assert_eq!(
            schema_line("struct a.P { string<N> s; }")
                .unwrap_err()
                .to_string(),
            "<schema>:1:21: expected a number, found 'N'"
        );
        assert_eq!(
            schema_line("struct a.P { UInt8 x; } x")
                .unwrap_err()
                .to_string(),
            "<schema>:1:25: expected end of file, found 'x'"
        );
    }
}
