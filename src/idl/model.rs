//! The resolved model of a component's interface descriptions: types with
//! their NK message layout, methods, interfaces and entities with their
//! endpoints numbered as RIIDs.
//!
//! The parser (`parse`, `load`) turns IDL, CDL and EDL files (or nk-driver's
//! JSON) into a [`Schema`]: typedefs and constants are resolved away, every
//! struct is known by its package-qualified name (`echo.Point`), every
//! interface by its package name (`echo.Echo`), and an entity's endpoints
//! are flattened in RIID order. The decoder (`decode`) reads captured
//! message bytes by this model; the name map (`crate::names`) stores it in
//! its text form, which is what the `Display` impls here print and
//! `parse::schema_line` reads back.
//!
//! Layout rules (shared/kos-abi.md, "Ids and generated names", from the
//! `*.idl.h` headers nk-gen-c generated for KCE 1.2, \[D\]): a request is
//! `struct nk_message base_` (24 bytes, aligned 8) followed by the
//! in-parameters in IDL order, each at the next multiple of its own
//! alignment (the struct is packed, each member carries `__nk_alignas` of its
//! natural alignment). A response is the same with the out-parameters, or,
//! when the header's `err` bit is set, with the error parameters. Strings,
//! byte buffers and sequences are `nk_ptr_t` (u32 offset, u32 size in bytes)
//! into the arena; arrays and structs are stored inline; a `Handle` is an
//! `nk_handle_desc_t` (16 bytes, aligned 8).

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// Size of `struct nk_message`, the constant part's first member
/// (shared/kos-abi.md, `struct nk_message`, \[D\]).
pub const BASE_SIZE: u32 = 24;
/// Size of `nk_ptr_t` (u32 offset, u32 size) \[D\].
pub const PTR_SIZE: u32 = 8;
/// Size of `nk_handle_desc_t` (u32 handle, u32 rights, u64 badge) \[D\].
pub const HANDLE_SIZE: u32 = 16;
/// Struct nesting deeper than this is refused (a struct that contains
/// itself has no layout).
pub const MAX_DEPTH: usize = 32;

/// The IDL's fixed-size scalar types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Prim {
    /// `UInt8`
    U8,
    /// `UInt16`
    U16,
    /// `UInt32`
    U32,
    /// `UInt64`
    U64,
    /// `SInt8`
    S8,
    /// `SInt16`
    S16,
    /// `SInt32`
    S32,
    /// `SInt64`
    S64,
    /// `Bool` (one byte, 0 or 1)
    Bool,
    /// `Float` (IEEE 754 single)
    F32,
    /// `Double` (IEEE 754 double)
    F64,
}

impl Prim {
    /// Every scalar, for lookups by name.
    pub const ALL: [Prim; 11] = [
        Prim::U8,
        Prim::U16,
        Prim::U32,
        Prim::U64,
        Prim::S8,
        Prim::S16,
        Prim::S32,
        Prim::S64,
        Prim::Bool,
        Prim::F32,
        Prim::F64,
    ];

    /// The IDL spelling.
    pub const fn name(self) -> &'static str {
        match self {
            Prim::U8 => "UInt8",
            Prim::U16 => "UInt16",
            Prim::U32 => "UInt32",
            Prim::U64 => "UInt64",
            Prim::S8 => "SInt8",
            Prim::S16 => "SInt16",
            Prim::S32 => "SInt32",
            Prim::S64 => "SInt64",
            Prim::Bool => "Bool",
            Prim::F32 => "Float",
            Prim::F64 => "Double",
        }
    }

    /// The scalar an IDL name spells, if any.
    pub fn from_name(s: &str) -> Option<Prim> {
        Prim::ALL.into_iter().find(|p| p.name() == s)
    }

    /// Size in bytes, which is also its alignment.
    pub const fn size(self) -> u32 {
        match self {
            Prim::U8 | Prim::S8 | Prim::Bool => 1,
            Prim::U16 | Prim::S16 => 2,
            Prim::U32 | Prim::S32 | Prim::F32 => 4,
            Prim::U64 | Prim::S64 | Prim::F64 => 8,
        }
    }

    /// Whether it is a signed integer.
    pub const fn signed(self) -> bool {
        matches!(self, Prim::S8 | Prim::S16 | Prim::S32 | Prim::S64)
    }
}

/// A resolved IDL type (typedefs and named constants already replaced).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Type {
    /// A scalar.
    Prim(Prim),
    /// `Handle`: an `nk_handle_desc_t` in the constant part.
    Handle,
    /// `string<N>`: text of at most N bytes, stored NUL-terminated (N + 1
    /// bytes in the arena at most), an `nk_ptr_t` into the arena.
    String(u32),
    /// `bytes<N>`: at most N bytes, an `nk_ptr_t` into the arena.
    Bytes(u32),
    /// `sequence<T, N>`: at most N elements of T stored in the arena, an
    /// `nk_ptr_t` (size in bytes).
    Sequence(Box<Type>, u32),
    /// `array<T, N>`: exactly N elements of T, inline.
    Array(Box<Type>, u32),
    /// A struct, by its package-qualified name (see [`Schema::structs`]).
    Struct(String),
    /// A type whose layout is not modelled (an IDL `union`): methods that
    /// use it are shown undecoded.
    Opaque(String),
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::Prim(p) => f.write_str(p.name()),
            Type::Handle => f.write_str("Handle"),
            Type::String(n) => write!(f, "string<{n}>"),
            Type::Bytes(n) => write!(f, "bytes<{n}>"),
            Type::Sequence(t, n) => write!(f, "sequence<{t}, {n}>"),
            Type::Array(t, n) => write!(f, "array<{t}, {n}>"),
            Type::Struct(s) => f.write_str(s),
            Type::Opaque(s) => write!(f, "union {s}"),
        }
    }
}

/// One member of a struct.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// The member's name.
    pub name: String,
    /// Its type.
    pub ty: Type,
}

/// A struct type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StructDef {
    /// Package-qualified name (`echo.Point`).
    pub name: String,
    /// Members in declaration order.
    pub fields: Vec<Field>,
}

impl fmt::Display for StructDef {
    /// `struct echo.Point { SInt32 x; SInt32 y; }` (one line).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "struct {} {{", self.name)?;
        for fl in &self.fields {
            write!(f, " {} {};", fl.ty, fl.name)?;
        }
        f.write_str(" }")
    }
}

/// A parameter's direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    /// `in`: sent in the request.
    In,
    /// `out`: sent in a successful response.
    Out,
    /// `error`: sent in an error response (header `err` bit set).
    Error,
}

impl Dir {
    /// The IDL keyword.
    pub const fn key(self) -> &'static str {
        match self {
            Dir::In => "in",
            Dir::Out => "out",
            Dir::Error => "error",
        }
    }
}

/// One parameter of a method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    /// Direction.
    pub dir: Dir,
    /// Name.
    pub name: String,
    /// Type.
    pub ty: Type,
}

/// A method; its MID is its index in [`Interface::methods`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Method {
    /// Name.
    pub name: String,
    /// Parameters in declaration order.
    pub params: Vec<Param>,
}

impl Method {
    /// The parameters of one direction, in declaration order.
    pub fn of(&self, dir: Dir) -> impl Iterator<Item = &Param> {
        self.params.iter().filter(move |p| p.dir == dir)
    }
}

impl fmt::Display for Method {
    /// `Echo(in string<256> value, out UInt32 success)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}(", self.name)?;
        for (i, p) in self.params.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{} {} {}", p.dir.key(), p.ty, p.name)?;
        }
        f.write_str(")")
    }
}

/// An interface: the methods of one IDL package, MID = index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    /// Package-qualified name (`echo.Echo`).
    pub name: String,
    /// Methods in declaration order.
    pub methods: Vec<Method>,
}

impl Interface {
    /// The last part of the qualified name (`Echo` of `echo.Echo`).
    pub fn short_name(&self) -> &str {
        short(&self.name)
    }

    /// The MID of the method called `name`.
    pub fn mid_of(&self, name: &str) -> Option<u16> {
        self.methods
            .iter()
            .position(|m| m.name == name)
            .and_then(|i| u16::try_from(i).ok())
    }
}

impl fmt::Display for Interface {
    /// `interface echo.Echo { Echo(in string<256> value); Ping(); }`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "interface {} {{", self.name)?;
        for m in &self.methods {
            write!(f, " {m};")?;
        }
        f.write_str(" }")
    }
}

/// The last dot-separated part of a qualified name.
pub fn short(qualified: &str) -> &str {
    qualified.rsplit('.').next().unwrap_or(qualified)
}

/// One endpoint of an entity; its RIID is its index in [`Entity::endpoints`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The endpoint's name as `ServiceLocatorGetRiid` takes it after the
    /// entity name: `main`, or `comp.main` for an endpoint of a component
    /// instance `comp` (`a.b.main` two levels down).
    pub name: String,
    /// The package-qualified interface it serves.
    pub interface: String,
}

/// An entity (EDL `task class` / `entity`) with its endpoints flattened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entity {
    /// Package-qualified name (`echo.Server`).
    pub name: String,
    /// Endpoints in RIID order.
    pub endpoints: Vec<Endpoint>,
}

/// Everything known from the loaded descriptions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Schema {
    /// Struct types by qualified name.
    pub structs: BTreeMap<String, StructDef>,
    /// Interfaces by qualified name.
    pub interfaces: BTreeMap<String, Interface>,
    /// Entities in load order.
    pub entities: Vec<Entity>,
}

/// Size and alignment of a type in the constant part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// Bytes.
    pub size: u32,
    /// Alignment in bytes (a power of two).
    pub align: u32,
}

/// `v` rounded up to a multiple of `align` (a power of two); None on overflow.
pub fn align_up(v: u32, align: u32) -> Option<u32> {
    let a = align.max(1);
    v.checked_add(a - 1).map(|x| x & !(a - 1))
}

impl Schema {
    /// An empty schema (usable in statics).
    pub const fn new() -> Schema {
        Schema {
            structs: BTreeMap::new(),
            interfaces: BTreeMap::new(),
            entities: Vec::new(),
        }
    }

    /// Layout of `ty` in the constant part; None when it has none (an
    /// unknown or opaque type, nesting over [`MAX_DEPTH`], size overflow).
    pub fn layout(&self, ty: &Type) -> Option<Layout> {
        self.layout_at(ty, 0)
    }

    fn layout_at(&self, ty: &Type, depth: usize) -> Option<Layout> {
        if depth > MAX_DEPTH {
            return None;
        }
        match ty {
            Type::Prim(p) => Some(Layout {
                size: p.size(),
                align: p.size(),
            }),
            Type::Handle => Some(Layout {
                size: HANDLE_SIZE,
                align: 8,
            }),
            Type::String(_) | Type::Bytes(_) | Type::Sequence(..) => Some(Layout {
                size: PTR_SIZE,
                align: 4,
            }),
            Type::Array(t, n) => {
                let e = self.layout_at(t, depth + 1)?;
                let stride = align_up(e.size, e.align)?;
                Some(Layout {
                    size: stride.checked_mul(*n)?,
                    align: e.align,
                })
            }
            Type::Struct(name) => {
                let s = self.structs.get(name)?;
                let mut off = 0u32;
                let mut align = 1u32;
                for fl in &s.fields {
                    let l = self.layout_at(&fl.ty, depth + 1)?;
                    off = align_up(off, l.align)?.checked_add(l.size)?;
                    align = align.max(l.align);
                }
                Some(Layout {
                    size: align_up(off, align)?,
                    align,
                })
            }
            Type::Opaque(_) => None,
        }
    }

    /// Offsets of `dir`'s parameters of `m` in the constant part (after
    /// `base_`), and the part's total size; None when a type has no layout.
    pub fn offsets(&self, m: &Method, dir: Dir) -> Option<(Vec<u32>, u32)> {
        let mut off = BASE_SIZE;
        let mut v = Vec::new();
        for p in m.of(dir) {
            let l = self.layout(&p.ty)?;
            let at = align_up(off, l.align)?;
            v.push(at);
            off = at.checked_add(l.size)?;
        }
        Some((v, off))
    }

    /// The interface served at `riid` by the first entity (the one whose
    /// RIIDs number the process's messages), with the endpoint.
    pub fn endpoint(&self, riid: u16) -> Option<(&Entity, &Endpoint)> {
        let e = self.entities.first()?;
        e.endpoints.get(riid as usize).map(|ep| (e, ep))
    }

    /// The endpoint called `Entity.endpoint` (entity by qualified or short
    /// name) in any loaded entity, with its RIID.
    pub fn endpoint_named(&self, full: &str) -> Option<(u16, &Endpoint)> {
        for e in &self.entities {
            for prefix in [e.name.as_str(), short(&e.name)] {
                let Some(rest) = full.strip_prefix(prefix).and_then(|r| r.strip_prefix('.')) else {
                    continue;
                };
                if let Some(i) = e.endpoints.iter().position(|ep| ep.name == rest) {
                    return Some((u16::try_from(i).ok()?, &e.endpoints[i]));
                }
            }
        }
        None
    }

    /// The interface called `name`: qualified, or by its short name when
    /// exactly one loaded interface has it.
    pub fn interface_named(&self, name: &str) -> Option<&Interface> {
        if let Some(i) = self.interfaces.get(name) {
            return Some(i);
        }
        let mut found = self.interfaces.values().filter(|i| i.short_name() == name);
        match (found.next(), found.next()) {
            (Some(i), None) => Some(i),
            _ => None,
        }
    }

    /// Merge `other` in: a struct or interface already known keeps its
    /// first definition; an entity already loaded is not added twice.
    pub fn merge(&mut self, other: Schema) {
        for (k, v) in other.structs {
            self.structs.entry(k).or_insert(v);
        }
        for (k, v) in other.interfaces {
            self.interfaces.entry(k).or_insert(v);
        }
        for e in other.entities {
            if !self.entities.iter().any(|x| x.name == e.name) {
                self.entities.push(e);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec;

    fn point() -> StructDef {
        StructDef {
            name: "geo.Point".into(),
            fields: vec![
                Field {
                    name: "tag".into(),
                    ty: Type::Prim(Prim::U8),
                },
                Field {
                    name: "x".into(),
                    ty: Type::Prim(Prim::S64),
                },
                Field {
                    name: "name".into(),
                    ty: Type::String(16),
                },
            ],
        }
    }

    #[test]
    fn layouts_follow_natural_alignment() {
        let mut s = Schema::default();
        s.structs.insert("geo.Point".into(), point());
        // tag@0, x@8, name@16..24: size 24, align 8.
        let p = s.layout(&Type::Struct("geo.Point".into())).unwrap();
        assert_eq!((p.size, p.align), (24, 8));
        let a = s
            .layout(&Type::Array(Box::new(Type::Prim(Prim::U16)), 3))
            .unwrap();
        assert_eq!((a.size, a.align), (6, 2));
        let m = Method {
            name: "Put".into(),
            params: vec![
                Param {
                    dir: Dir::In,
                    name: "flag".into(),
                    ty: Type::Prim(Prim::U8),
                },
                Param {
                    dir: Dir::Out,
                    name: "ok".into(),
                    ty: Type::Prim(Prim::U32),
                },
                Param {
                    dir: Dir::In,
                    name: "h".into(),
                    ty: Type::Handle,
                },
                Param {
                    dir: Dir::In,
                    name: "p".into(),
                    ty: Type::Struct("geo.Point".into()),
                },
            ],
        };
        assert_eq!(s.offsets(&m, Dir::In), Some((vec![24, 32, 48], 72)));
        assert_eq!(s.offsets(&m, Dir::Out), Some((vec![24], 28)));
        assert_eq!(
            m.to_string(),
            "Put(in UInt8 flag, out UInt32 ok, in Handle h, in geo.Point p)"
        );
        assert_eq!(
            point().to_string(),
            "struct geo.Point { UInt8 tag; SInt64 x; string<16> name; }"
        );
    }

    #[test]
    fn unknown_and_recursive_types_have_no_layout() {
        let mut s = Schema::default();
        assert_eq!(s.layout(&Type::Struct("a.B".into())), None);
        s.structs.insert(
            "a.B".into(),
            StructDef {
                name: "a.B".into(),
                fields: vec![Field {
                    name: "me".into(),
                    ty: Type::Array(Box::new(Type::Struct("a.B".into())), 1),
                }],
            },
        );
        assert_eq!(s.layout(&Type::Struct("a.B".into())), None);
        assert_eq!(s.layout(&Type::Opaque("a.U".into())), None);
        assert_eq!(
            s.layout(&Type::Array(Box::new(Type::Prim(Prim::U64)), u32::MAX)),
            None
        );
    }

    #[test]
    fn endpoints_resolve_by_riid_and_by_name() {
        let mut s = Schema::default();
        s.entities.push(Entity {
            name: "echo.Server".into(),
            endpoints: vec![
                Endpoint {
                    name: "main".into(),
                    interface: "echo.Echo".into(),
                },
                Endpoint {
                    name: "store.kv".into(),
                    interface: "kv.Store".into(),
                },
            ],
        });
        assert_eq!(s.endpoint(1).unwrap().1.interface, "kv.Store");
        assert_eq!(s.endpoint_named("Server.store.kv").unwrap().0, 1);
        assert_eq!(s.endpoint_named("echo.Server.main").unwrap().0, 0);
        assert_eq!(s.endpoint_named("Server.nope"), None);
        assert_eq!(short("echo.Echo"), "Echo");
    }
}
