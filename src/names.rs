//! Interface and method names for numeric ids (`KOS_SHIM_NAMES=/path`).
//!
//! Messages carry only numbers (`iid`, `mid`). A name map is a small text
//! file that gives them names for dumps and trace tools:
//!
//! ```text
//! # comments run from '#' to the end of the line
//! iid 7 Echo              # interface 7 is "Echo"
//! mid 7.1 Ping            # method 1 of interface 7 is "Ping"
//! mid 7.0x2 Shutdown      # numbers are decimal or 0x-hex, at most 65535
//! ```
//!
//! A name starts with a letter or `_` and continues with letters, digits and
//! `_ . : - /`. Naming the same id twice is an error. Parse errors carry the
//! line number ([`ParseError`]). [`NameMap::method`] formats `Echo.Ping`,
//! falling back to numbers for what the map does not name (`Echo.3`, `7.3`).
//!
//! The map can also hold the component's interface descriptions (a
//! [`Schema`] read from IDL/CDL/EDL files, see [`crate::idl`]): then the
//! first entity's endpoints name the RIIDs (`Server.main`), the interfaces
//! behind them name the methods, and a method is shown as
//! `Server.main:Echo.Ping` (endpoint, then `Interface.Method`). In the text
//! format the descriptions are one line each, as `kos-ipc-trace names`
//! writes them:
//!
//! ```text
//! entity echo.Server { main: echo.Echo; store.kv: kv.Store; }
//! interface echo.Echo { Echo(in string<256> value, out UInt32 success); Ping(); }
//! struct geo.Point { SInt32 x; SInt32 y; }
//! ```
//!
//! Explicit `iid`/`mid` lines win over names derived from the descriptions.
//!
//! [`global`] is the process's map, loaded once from `KOS_SHIM_NAMES`,
//! `KOS_SHIM_EDL` and `KOS_SHIM_IDL_PATH`; the statistics dump, the trace
//! writers and the policy parser share it.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use crate::idl::model::{short, Endpoint, Entity, Interface, Method, Schema};

/// A parse error in a name map: where and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong with the line.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

#[cfg(feature = "std")]
impl std::error::Error for ParseError {}

/// Names for interface ids and (interface, method) id pairs, and the
/// interface descriptions behind them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NameMap {
    ifaces: BTreeMap<u16, String>,
    methods: BTreeMap<(u16, u16), String>,
    schema: Schema,
    /// `Entity.endpoint` of each RIID of the schema's first entity.
    derived: BTreeMap<u16, String>,
}

/// How [`NameMap::method`] shows one method: `Iface.Method`, or
/// `Entity.endpoint:Interface.Method` when the descriptions say which
/// interface the endpoint serves; numbers where nothing names a part.
#[derive(Debug, Clone, Copy)]
pub struct MethodName<'a> {
    map: &'a NameMap,
    /// A name for the endpoint learned elsewhere (the service locator),
    /// preferred over the map's.
    endpoint: Option<&'a str>,
    iid: u16,
    mid: u16,
}

impl<'a> MethodName<'a> {
    /// The endpoint's (or interface's) name, if anything names it.
    pub fn endpoint(&self) -> Option<&'a str> {
        self.endpoint.or_else(|| self.map.iid_name(self.iid))
    }

    /// The interface the endpoint serves, if the descriptions say: the
    /// endpoint's name when it is one the descriptions have (learned, an
    /// `iid 42 Server.main` line, or derived), else the interface the first
    /// entity serves at the RIID (not for a learned name the descriptions
    /// lack: that is another server's endpoint).
    pub fn interface(&self) -> Option<&'a Interface> {
        if let Some(i) = self
            .endpoint()
            .and_then(|e| self.map.interface_of_endpoint(e))
        {
            return Some(i);
        }
        match self.endpoint {
            Some(_) => None,
            None => self.map.interface_of(self.iid),
        }
    }

    /// The method's name, if anything names it.
    pub fn method(&self) -> Option<&'a str> {
        if let Some(m) = self.map.methods.get(&(self.iid, self.mid)) {
            return Some(m);
        }
        let i = self.interface()?;
        i.methods.get(self.mid as usize).map(|m| m.name.as_str())
    }

    /// The method's signature, if the descriptions have it.
    pub fn signature(&self) -> Option<&'a Method> {
        self.interface()?.methods.get(self.mid as usize)
    }

    /// Whether any part has a name.
    pub fn is_named(&self) -> bool {
        self.endpoint().is_some() || self.method().is_some()
    }
}

impl fmt::Display for MethodName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.endpoint() {
            Some(i) => f.write_str(i)?,
            None => write!(f, "{}", self.iid)?,
        }
        match self.interface() {
            Some(i) => write!(f, ":{}.", i.short_name())?,
            None => f.write_str(".")?,
        }
        match self.method() {
            Some(m) => f.write_str(m),
            None => write!(f, "{}", self.mid),
        }
    }
}

fn parse_u16(tok: &str, what: &str) -> Result<u16, String> {
    let parsed = match tok.strip_prefix("0x").or_else(|| tok.strip_prefix("0X")) {
        Some(hex) if !hex.is_empty() => u32::from_str_radix(hex, 16),
        Some(_) => return Err(format!("{what} '{tok}' is not a number")),
        None => tok.parse::<u32>(),
    };
    match parsed {
        Ok(v) if v <= u16::MAX as u32 => Ok(v as u16),
        Ok(_) => Err(format!("{what} '{tok}' is larger than 65535")),
        Err(_) => Err(format!("{what} '{tok}' is not a number")),
    }
}

fn check_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || "_.:-/".contains(c));
    if first_ok && rest_ok {
        Ok(())
    } else {
        Err(format!(
            "'{name}' is not a valid name (letters, digits and _ . : - /, starting with a letter or _)"
        ))
    }
}

impl NameMap {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parse the text format described in the module documentation; the
    /// first bad line is the error.
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let (map, mut errors) = NameMap::parse_lenient(text);
        if errors.is_empty() {
            Ok(map)
        } else {
            Err(errors.swap_remove(0))
        }
    }

    /// Parse what can be parsed: the map of the good lines, and an error for
    /// each bad line (left out), in line order.
    pub fn parse_lenient(text: &str) -> (Self, Vec<ParseError>) {
        let mut map = NameMap::new();
        let mut errors = Vec::new();
        for (n, raw) in text.lines().enumerate() {
            let content = raw.split('#').next().unwrap_or("");
            if let Err(message) = map.parse_line(content) {
                errors.push(ParseError {
                    line: n + 1,
                    message,
                });
            }
        }
        map.derive();
        (map, errors)
    }

    /// Add one line (comment removed) to the map.
    fn parse_line(&mut self, content: &str) -> Result<(), String> {
        let toks: Vec<&str> = content.split_whitespace().collect();
        match toks.as_slice() {
            [] => Ok(()),
            ["struct" | "interface", ..] => {
                let item = crate::idl::parse::schema_line(content.trim())
                    .map_err(|e| format!("column {}: {}", e.col, e.message))?;
                self.add_item(item)
            }
            ["entity", ..] => {
                let e = parse_entity_line(content.trim())?;
                self.add_entity(e)
            }
            ["iid", id, name] => {
                let iid = parse_u16(id, "interface id")?;
                check_name(name)?;
                self.insert_iid(iid, name)
            }
            ["mid", pair, name] => {
                let Some((i, m)) = pair.split_once('.') else {
                    return Err(format!("'{pair}' is not <iid>.<mid> (e.g. 7.1 or 0x7.0x1)"));
                };
                let iid = parse_u16(i, "interface id")?;
                let mid = parse_u16(m, "method id")?;
                check_name(name)?;
                self.insert_mid(iid, mid, name)
            }
            [kw @ ("iid" | "mid"), rest @ ..] => Err(format!(
                "'{kw}' takes an id and one name, found {} word(s) after it",
                rest.len()
            )),
            [other, ..] => Err(format!(
                "unknown keyword '{other}' (expected iid, mid, entity, interface or struct)"
            )),
        }
    }

    /// Read and parse a file; errors read `PATH:LINE: message` or `PATH: what failed`.
    pub fn load(path: &str) -> Result<Self, String> {
        let text = crate::sys::read_text(path).map_err(|e| format!("{path}: {e}"))?;
        NameMap::parse(&text).map_err(|e| format!("{path}:{}: {}", e.line, e.message))
    }

    /// Name interface `iid`; an error if it already has a name.
    pub fn insert_iid(&mut self, iid: u16, name: &str) -> Result<(), String> {
        if let Some(old) = self.ifaces.get(&iid) {
            return Err(format!("interface {iid} is already named '{old}'"));
        }
        self.ifaces.insert(iid, name.to_string());
        Ok(())
    }

    /// Name method `mid` of interface `iid`; an error if it already has a name.
    pub fn insert_mid(&mut self, iid: u16, mid: u16, name: &str) -> Result<(), String> {
        if let Some(old) = self.methods.get(&(iid, mid)) {
            return Err(format!("method {iid}.{mid} is already named '{old}'"));
        }
        self.methods.insert((iid, mid), name.to_string());
        Ok(())
    }

    /// The map with the descriptions of `schema` added (see the module
    /// documentation); the first entity's endpoints name the RIIDs.
    pub fn from_schema(schema: Schema) -> Self {
        let mut m = NameMap::new();
        m.add_schema(schema);
        m
    }

    /// Add the descriptions of `schema`: what is already known keeps its
    /// first definition.
    pub fn add_schema(&mut self, schema: Schema) {
        self.schema.merge(schema);
        self.derive();
    }

    fn add_item(&mut self, item: crate::idl::parse::SchemaItem) -> Result<(), String> {
        use crate::idl::parse::SchemaItem;
        match item {
            SchemaItem::Struct(s) => {
                if self.schema.structs.contains_key(&s.name) {
                    return Err(format!("struct {} is defined twice", s.name));
                }
                self.schema.structs.insert(s.name.clone(), s);
            }
            SchemaItem::Interface(i) => {
                if self.schema.interfaces.contains_key(&i.name) {
                    return Err(format!("interface {} is defined twice", i.name));
                }
                self.schema.interfaces.insert(i.name.clone(), i);
            }
        }
        Ok(())
    }

    fn add_entity(&mut self, e: Entity) -> Result<(), String> {
        if self.schema.entities.iter().any(|x| x.name == e.name) {
            return Err(format!("entity {} is defined twice", e.name));
        }
        self.schema.entities.push(e);
        Ok(())
    }

    /// Recompute the RIID names from the first entity.
    fn derive(&mut self) {
        self.derived.clear();
        if let Some(e) = self.schema.entities.first() {
            for (i, ep) in e.endpoints.iter().enumerate() {
                if let Ok(riid) = u16::try_from(i) {
                    self.derived
                        .insert(riid, format!("{}.{}", short(&e.name), ep.name));
                }
            }
        }
    }

    /// The loaded interface descriptions.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// The interface's (or endpoint's) name: an `iid` line, else the
    /// `Entity.endpoint` the descriptions give the RIID.
    pub fn iid_name(&self, iid: u16) -> Option<&str> {
        self.ifaces
            .get(&iid)
            .or_else(|| self.derived.get(&iid))
            .map(String::as_str)
    }

    /// The method's name: a `mid` line, else the descriptions'.
    pub fn mid_name(&self, iid: u16, mid: u16) -> Option<&str> {
        self.method(iid, mid).method()
    }

    /// The interface the first entity serves at RIID `iid`.
    pub fn interface_of(&self, iid: u16) -> Option<&Interface> {
        let (_, ep) = self.schema.endpoint(iid)?;
        self.schema.interfaces.get(&ep.interface)
    }

    /// The interface behind an endpoint named `Entity.endpoint` (any
    /// loaded entity; the entity by its qualified or short name).
    pub fn interface_of_endpoint(&self, full: &str) -> Option<&Interface> {
        let (_, ep) = self.schema.endpoint_named(full)?;
        self.schema.interfaces.get(&ep.interface)
    }

    /// How the method is shown, numbers where names are missing.
    pub fn method(&self, iid: u16, mid: u16) -> MethodName<'_> {
        MethodName {
            map: self,
            endpoint: None,
            iid,
            mid,
        }
    }

    /// [`NameMap::method`] with an endpoint name learned elsewhere (the
    /// service locator) in place of the map's.
    pub fn method_at<'a>(
        &'a self,
        endpoint: Option<&'a str>,
        iid: u16,
        mid: u16,
    ) -> MethodName<'a> {
        MethodName {
            map: self,
            endpoint,
            iid,
            mid,
        }
    }

    /// The RIIDs a name stands for: an `iid` line's name, an endpoint
    /// (`Entity.endpoint`, the RIID it has in its entity), or an interface
    /// (qualified or short: every RIID of the first entity serving it).
    /// Empty when the name means nothing here.
    pub fn iids_named(&self, name: &str) -> Vec<u16> {
        let mut v: Vec<u16> = self
            .ifaces
            .iter()
            .chain(self.derived.iter())
            .filter(|(_, n)| n.as_str() == name)
            .map(|(i, _)| *i)
            .collect();
        if v.is_empty() {
            if let Some((riid, _)) = self.schema.endpoint_named(name) {
                v.push(riid);
            }
        }
        if v.is_empty() {
            if let Some(i) = self.schema.interface_named(name) {
                if let Some(e) = self.schema.entities.first() {
                    v.extend(serving(e, &i.name));
                }
            }
        }
        v.sort_unstable();
        v.dedup();
        v
    }

    /// The MID called `name` on RIID `iid`.
    pub fn mid_named(&self, iid: u16, name: &str) -> Option<u16> {
        if let Some(((_, m), _)) = self
            .methods
            .iter()
            .find(|((i, _), n)| *i == iid && n.as_str() == name)
        {
            return Some(*m);
        }
        self.interface_of(iid)?.mid_of(name)
    }

    /// The (RIID, MID) pairs a method name stands for: `Interface.Method`
    /// (interface qualified or short, at every RIID serving it) or
    /// `Entity.endpoint.Method`. Empty when it means nothing here.
    pub fn methods_named(&self, name: &str) -> Vec<(u16, u16)> {
        let Some((scope, method)) = name.rsplit_once('.') else {
            return Vec::new();
        };
        let mut v: Vec<(u16, u16)> = self
            .iids_named(scope)
            .into_iter()
            .filter_map(|iid| self.mid_named(iid, method).map(|mid| (iid, mid)))
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// Whether the map names nothing.
    pub fn is_empty(&self) -> bool {
        self.ifaces.is_empty() && self.methods.is_empty() && self.schema == Schema::default()
    }

    /// The map in its text format (canonical order); `parse` reads it back.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        for e in &self.schema.entities {
            s.push_str(&entity_line(e));
            s.push('\n');
        }
        for i in self.schema.interfaces.values() {
            s.push_str(&format!("{i}\n"));
        }
        for st in self.schema.structs.values() {
            s.push_str(&format!("{st}\n"));
        }
        for (iid, name) in &self.ifaces {
            s.push_str(&format!("iid {iid} {name}\n"));
        }
        for ((iid, mid), name) in &self.methods {
            s.push_str(&format!("mid {iid}.{mid} {name}\n"));
        }
        s
    }
}

/// The RIIDs at which entity `e` serves interface `iface`.
fn serving<'a>(e: &'a Entity, iface: &'a str) -> impl Iterator<Item = u16> + 'a {
    e.endpoints
        .iter()
        .enumerate()
        .filter(move |(_, ep)| ep.interface == iface)
        .filter_map(|(i, _)| u16::try_from(i).ok())
}

/// `entity echo.Server { main: echo.Echo; store.kv: kv.Store; }`.
fn entity_line(e: &Entity) -> String {
    let mut s = format!("entity {} {{", e.name);
    for ep in &e.endpoints {
        s.push_str(&format!(" {}: {};", ep.name, ep.interface));
    }
    s.push_str(" }");
    s
}

/// Read back what [`entity_line`] writes.
fn parse_entity_line(line: &str) -> Result<Entity, String> {
    let body = line.strip_prefix("entity").unwrap_or(line).trim();
    let (name, rest) = body
        .split_once('{')
        .ok_or("an entity line is 'entity NAME { endpoint: pkg.Interface; ... }'")?;
    let name = name.trim();
    check_name(name)?;
    let inner = rest
        .trim()
        .strip_suffix('}')
        .ok_or("the entity's endpoint list does not end with '}'")?;
    let mut endpoints = Vec::new();
    for item in inner.split(';').map(str::trim).filter(|x| !x.is_empty()) {
        let (ep, iface) = item
            .split_once(':')
            .ok_or_else(|| format!("'{item}' is not 'endpoint: pkg.Interface'"))?;
        let (ep, iface) = (ep.trim(), iface.trim());
        check_name(ep)?;
        check_name(iface)?;
        if endpoints.iter().any(|x: &Endpoint| x.name == ep) {
            return Err(format!("endpoint '{ep}' is listed twice"));
        }
        endpoints.push(Endpoint {
            name: ep.to_string(),
            interface: iface.to_string(),
        });
    }
    Ok(Entity {
        name: name.to_string(),
        endpoints,
    })
}

static GLOBAL: spin::Once<NameMap> = spin::Once::new();

/// The process's name map, loaded on first use: the map file named by
/// `KOS_SHIM_NAMES`, then the entities `KOS_SHIM_EDL` lists (`:`-separated
/// EDL paths, or qualified entity names looked up in the directories of
/// `KOS_SHIM_IDL_PATH`, `:`-separated, which also hold what they import and
/// use). What cannot be read or parsed is reported once on stderr
/// (`kos-ipc-shim: KOS_SHIM_EDL: FILE:LINE:COL: ...`) and left out: numbers
/// are shown instead of those names.
pub fn global() -> &'static NameMap {
    GLOBAL.call_once(|| {
        // Reading files is IPC on KasperskyOS: it must pass through the
        // shim unobserved (and must not come back here).
        let _inside = crate::guard::enter();
        let mut map = match crate::sys::env("KOS_SHIM_NAMES") {
            None | Some("") => NameMap::new(),
            Some(p) => load_reporting(p),
        };
        if let Some(edl) = crate::sys::env("KOS_SHIM_EDL").filter(|s| !s.is_empty()) {
            let dirs = crate::sys::env("KOS_SHIM_IDL_PATH").unwrap_or("");
            match load_descriptions(edl, dirs) {
                Ok(schema) => map.add_schema(schema),
                Err(e) => crate::say!(
                    crate::say::Level::Warn,
                    "KOS_SHIM_EDL: {e}; ids are shown as numbers"
                ),
            }
        }
        map
    })
}

/// The map file `path` as far as it parses: a file that cannot be read is
/// said once and gives an empty map; each bad line is said (the first
/// [`BAD_LINES_SAID`]) and left out, and the other lines name their ids.
fn load_reporting(path: &str) -> NameMap {
    let text = match crate::sys::read_text(path) {
        Ok(text) => text,
        Err(e) => {
            crate::say!(
                crate::say::Level::Warn,
                "KOS_SHIM_NAMES: {path}: {e}; ids are shown as numbers"
            );
            return NameMap::new();
        }
    };
    let (map, errors) = NameMap::parse_lenient(&text);
    for e in errors.iter().take(BAD_LINES_SAID) {
        crate::say!(
            crate::say::Level::Warn,
            "KOS_SHIM_NAMES: {path}:{}: {}; line left out",
            e.line,
            e.message
        );
    }
    if errors.len() > BAD_LINES_SAID {
        crate::say!(
            crate::say::Level::Warn,
            "KOS_SHIM_NAMES: {path}: {} more bad lines left out",
            errors.len() - BAD_LINES_SAID
        );
    }
    map
}

/// Bad lines of a map file said one by one at most.
const BAD_LINES_SAID: usize = 5;

/// Load the entities `edl` lists (`:`-separated paths or qualified names)
/// with `dirs` (`:`-separated) as the include path.
fn load_descriptions(edl: &str, dirs: &str) -> Result<Schema, String> {
    describe(edl.split(':').filter(|s| !s.is_empty()), idl_path(dirs))
}

/// The include directories a `KOS_SHIM_IDL_PATH` value lists
/// (`:`-separated, empty parts skipped).
pub fn idl_path(dirs: &str) -> Vec<String> {
    dirs.split(':')
        .filter(|d| !d.is_empty())
        .map(String::from)
        .collect()
}

/// Load the descriptions of `entities` (EDL, CDL or IDL paths, nk-driver
/// JSON files, or qualified names looked up in `include`) with what they
/// import and use; the first entity's endpoints will number the RIIDs.
pub fn describe<'a>(
    entities: impl IntoIterator<Item = &'a str>,
    include: Vec<String>,
) -> Result<Schema, String> {
    let mut loader = crate::idl::Loader::new(include);
    for item in entities {
        let by_path = item.contains('/')
            || [".edl", ".cdl", ".idl", ".json"]
                .iter()
                .any(|x| item.ends_with(x));
        let r = if by_path {
            loader.load_file(item)
        } else {
            loader.load_name(item)
        };
        r.map_err(|e| e.to_string())?;
    }
    Ok(loader.into_schema())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn parses_ids_names_and_comments() {
        let m = NameMap::parse(
            "# a map\n\niid 7 Echo\nmid 7.1 Ping   # trailing comment\nmid 0x7.0x2 Shut_down\niid 65535 kl.core.Max\n",
        )
        .unwrap();
        assert_eq!(m.iid_name(7), Some("Echo"));
        assert_eq!(m.mid_name(7, 1), Some("Ping"));
        assert_eq!(m.mid_name(7, 2), Some("Shut_down"));
        assert_eq!(m.iid_name(65535), Some("kl.core.Max"));
        assert_eq!(m.method(7, 1).to_string(), "Echo.Ping");
        assert_eq!(m.method(7, 9).to_string(), "Echo.9");
        assert_eq!(m.method(8, 1).to_string(), "8.1");
        assert_eq!(
            m.to_text(),
            "iid 7 Echo\niid 65535 kl.core.Max\nmid 7.1 Ping\nmid 7.2 Shut_down\n"
        );
        assert_eq!(NameMap::parse(&m.to_text()).unwrap(), m);
    }

    fn err(text: &str) -> (usize, String) {
        let e = NameMap::parse(text).unwrap_err();
        (e.line, e.message)
    }

    #[test]
    fn a_lenient_parse_keeps_the_good_lines_and_names_each_bad_one() {
        let text = "iid 7 Echo\nmidd 7.1 Ping\nmid 7.2 Stop\niid 7 Again\nmid 7.3 Ok # fine\n";
        let (m, errors) = NameMap::parse_lenient(text);
        assert_eq!(m.method(7, 2).to_string(), "Echo.Stop");
        assert_eq!(m.method(7, 3).to_string(), "Echo.Ok");
        assert_eq!(m.method(7, 1).to_string(), "Echo.1");
        let lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [2, 4]);
        assert!(errors[1].message.contains("already named 'Echo'"));
        // The strict parse fails on the first of them.
        assert_eq!(NameMap::parse(text).unwrap_err(), errors[0]);
    }

    #[test]
    fn errors_name_the_line_and_the_problem() {
        assert_eq!(
            err("iid 1 A\n\nfoo 1 B\n"),
            (
                3,
                "unknown keyword 'foo' (expected iid, mid, entity, interface or struct)"
                    .to_string()
            )
        );
        assert_eq!(
            err("iid 70000 A"),
            (1, "interface id '70000' is larger than 65535".to_string())
        );
        assert_eq!(
            err("iid x A"),
            (1, "interface id 'x' is not a number".to_string())
        );
        assert_eq!(
            err("mid 7 A"),
            (
                1,
                "'7' is not <iid>.<mid> (e.g. 7.1 or 0x7.0x1)".to_string()
            )
        );
        assert_eq!(
            err("mid 7.0x A"),
            (1, "method id '0x' is not a number".to_string())
        );
        assert_eq!(
            err("iid 1 A\niid 1 B"),
            (2, "interface 1 is already named 'A'".to_string())
        );
        assert_eq!(
            err("mid 1.2 A\nmid 1.2 B"),
            (2, "method 1.2 is already named 'A'".to_string())
        );
        assert_eq!(
            err("iid 1"),
            (
                1,
                "'iid' takes an id and one name, found 1 word(s) after it".to_string()
            )
        );
        assert_eq!(
            err("iid 1 A B"),
            (
                1,
                "'iid' takes an id and one name, found 3 word(s) after it".to_string()
            )
        );
        assert_eq!(
            err("iid 1 9lives"),
            (
                1,
                "'9lives' is not a valid name (letters, digits and _ . : - /, starting with a letter or _)"
                    .to_string()
            )
        );
    }

    /// An entity serving `demo.Echo` at RIIDs 0 and 2 and `demo.Store` at 1.
    pub(crate) fn demo_schema() -> Schema {
        use crate::idl::model::{Dir, Param, Prim, Type};
        let m = |name: &str, params: Vec<Param>| Method {
            name: name.into(),
            params,
        };
        let p = |dir, name: &str, ty| Param {
            dir,
            name: name.into(),
            ty,
        };
        let mut s = Schema::default();
        s.interfaces.insert(
            "demo.Echo".into(),
            Interface {
                name: "demo.Echo".into(),
                methods: vec![
                    m(
                        "Echo",
                        vec![
                            p(Dir::In, "value", Type::String(64)),
                            p(Dir::Out, "len", Type::Prim(Prim::U32)),
                        ],
                    ),
                    m("Ping", vec![]),
                ],
            },
        );
        s.interfaces.insert(
            "demo.Store".into(),
            Interface {
                name: "demo.Store".into(),
                methods: vec![m("Put", vec![]), m("Get", vec![])],
            },
        );
        let ep = |name: &str, iface: &str| Endpoint {
            name: name.into(),
            interface: iface.into(),
        };
        s.entities.push(Entity {
            name: "demo.Server".into(),
            endpoints: vec![
                ep("main", "demo.Echo"),
                ep("db.kv", "demo.Store"),
                ep("db.mirror", "demo.Echo"),
            ],
        });
        s.entities.push(Entity {
            name: "demo.Other".into(),
            endpoints: vec![ep("x", "demo.Store"), ep("y", "demo.Echo")],
        });
        s
    }

    #[test]
    fn descriptions_name_endpoints_interfaces_and_methods() {
        let mut m = NameMap::from_schema(demo_schema());
        assert_eq!(m.iid_name(0), Some("Server.main"));
        assert_eq!(m.iid_name(1), Some("Server.db.kv"));
        assert_eq!(m.method(0, 0).to_string(), "Server.main:Echo.Echo");
        assert_eq!(m.method(1, 1).to_string(), "Server.db.kv:Store.Get");
        assert_eq!(m.method(2, 7).to_string(), "Server.db.mirror:Echo.7");
        assert_eq!(m.method(9, 1).to_string(), "9.1");
        assert_eq!(m.mid_name(2, 1), Some("Ping"));
        assert_eq!(
            m.method(0, 0).signature().unwrap().to_string(),
            "Echo(in string<64> value, out UInt32 len)"
        );
        // An endpoint learned elsewhere names its own interface.
        assert_eq!(
            m.method_at(Some("Other.y"), 0, 1).to_string(),
            "Other.y:Echo.Ping"
        );
        assert_eq!(
            m.method_at(Some("Elsewhere"), 0, 1).to_string(),
            "Elsewhere.1"
        );
        // An iid line naming an endpoint gives that RIID its interface.
        m.insert_iid(7, "Server.db.kv").unwrap();
        assert_eq!(m.method(7, 1).to_string(), "Server.db.kv:Store.Get");
        // Explicit lines win.
        m.insert_iid(0, "Front").unwrap();
        m.insert_mid(0, 1, "Hello").unwrap();
        assert_eq!(m.method(0, 1).to_string(), "Front:Echo.Hello");
    }

    #[test]
    fn names_resolve_to_ids() {
        let m = NameMap::from_schema(demo_schema());
        assert_eq!(m.iids_named("Server.main"), vec![0]);
        assert_eq!(m.iids_named("demo.Server.db.kv"), vec![1]);
        assert_eq!(m.iids_named("Echo"), vec![0, 2]);
        assert_eq!(m.iids_named("demo.Store"), vec![1]);
        assert_eq!(m.iids_named("Other.y"), vec![1]);
        assert!(m.iids_named("Nope").is_empty());
        assert_eq!(m.mid_named(1, "Get"), Some(1));
        assert_eq!(m.mid_named(0, "Get"), None);
        assert_eq!(m.methods_named("Echo.Ping"), vec![(0, 1), (2, 1)]);
        assert_eq!(m.methods_named("Server.db.kv.Put"), vec![(1, 0)]);
        assert!(m.methods_named("Echo.Nope").is_empty());
        assert!(m.methods_named("Ping").is_empty());
    }

    #[test]
    fn entity_lines_round_trip() {
        let m = NameMap::from_schema(demo_schema());
        let text = m.to_text();
        assert!(text.starts_with(
            "entity demo.Server { main: demo.Echo; db.kv: demo.Store; db.mirror: demo.Echo; }\n"
        ));
        for e in &m.schema().entities {
            assert_eq!(&parse_entity_line(&entity_line(e)).unwrap(), e);
        }
        assert_eq!(
            err("entity a.B { x: c.D; x: e.F; }"),
            (1, "endpoint 'x' is listed twice".to_string())
        );
        assert_eq!(
            err("entity a.B x: c.D"),
            (
                1,
                "an entity line is 'entity NAME { endpoint: pkg.Interface; ... }'".to_string()
            )
        );
    }

    #[test]
    fn load_reports_path_and_line() {
        let dir = std::env::temp_dir().join(format!("kos-names-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("bad.names");
        std::fs::write(&p, "iid 1 A\nmid 1.1\n").unwrap();
        assert_eq!(
            NameMap::load(p.to_str().unwrap()).unwrap_err(),
            format!(
                "{}:2: 'mid' takes an id and one name, found 1 word(s) after it",
                p.display()
            )
        );
        let missing = dir.join("missing.names");
        assert_eq!(
            NameMap::load(missing.to_str().unwrap()).unwrap_err(),
            format!("{}: cannot open", missing.display())
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
