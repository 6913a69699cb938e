//! The solution's init description (`init.yaml`, or a template
//! `init.yaml.in`), read the way KasperskyOS CE's `einit` reads it, checked
//! before anything starts.
//!
//! ```yaml
//! entities:
//! - name: echo.Server          # required, unique
//!   path: EchoServer           # optional: executable (default: last part of name)
//!   args: [-v]                 # optional
//!   env: {LEVEL: "3"}          # optional
//! - name: echo.Client
//!   connections:               # optional: this entity's client connections
//!   - target: echo.Server      # an entity of this file
//!     id: server_connection    # the name the client looks up
//! ```
//!
//! Other keys (`task:`, `dynamic_connection_manager:`, ...) are read and
//! ignored. Placeholders `@NAME@` are replaced by `--define NAME=VALUE`
//! before the YAML is parsed; any left (outside comment lines) is an error.

use std::collections::{BTreeMap, HashSet};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// One entity as written in the file.
#[derive(Debug, Deserialize)]
struct RawEntity {
    name: String,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    args: Vec<Scalar>,
    #[serde(default)]
    env: BTreeMap<String, Scalar>,
    #[serde(default)]
    connections: Vec<RawConnection>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConnection {
    target: String,
    id: String,
}

/// `args` and `env` values: YAML writes `3`, `true` or `'YES'`; the process
/// gets text either way.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Scalar {
    Text(String),
    Int(i64),
    Float(f64),
    Bool(bool),
}

impl Scalar {
    fn text(&self) -> String {
        match self {
            Scalar::Text(s) => s.clone(),
            Scalar::Int(i) => i.to_string(),
            Scalar::Float(f) => f.to_string(),
            Scalar::Bool(b) => b.to_string(),
        }
    }
}

#[derive(Debug, Deserialize)]
struct RawInit {
    entities: Vec<RawEntity>,
}

/// A client connection of an entity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// The name the client looks the connection up by.
    pub id: String,
    /// The server entity.
    pub target: String,
}

/// One entity, checked: its executable exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entity {
    /// `echo.Client`.
    pub name: String,
    /// The executable found.
    pub exe: PathBuf,
    /// Arguments after the program name.
    pub args: Vec<String>,
    /// Variables set on top of the launcher's environment, in file order.
    pub env: Vec<(String, String)>,
    /// Client connections, in file order.
    pub connections: Vec<Connection>,
}

impl Entity {
    /// `KOS_HOST_CONNECTIONS`: `id=target,...`.
    pub fn connections_var(&self) -> String {
        self.connections
            .iter()
            .map(|c| format!("{}={}", c.id, c.target))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Whether the entity's own `env:` sets `var`.
    pub fn sets(&self, var: &str) -> bool {
        self.env.iter().any(|(k, _)| k == var)
    }
}

/// Where to look for executables named without a directory.
pub struct Lookup<'a> {
    /// init.yaml's directory, searched first.
    pub base: &'a Path,
    /// `--bin-dir` directories, in order.
    pub bin_dirs: &'a [PathBuf],
}

/// Replace `@KEY@` by each define's value. A placeholder without a
/// define (outside comment lines) is an error: `FILE:LINE:COL: ...` in the
/// file as written, one line each.
pub fn substitute(file: &str, text: &str, defines: &[(String, String)]) -> Result<String, String> {
    let mut left = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim_start().starts_with('#') {
            continue;
        }
        let b = line.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'@' {
                let name_len = b[i + 1..]
                    .iter()
                    .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
                    .count();
                let end = i + 1 + name_len;
                if name_len > 0 && b.get(end) == Some(&b'@') {
                    let name = &line[i + 1..end];
                    if !defines.iter().any(|(k, _)| k == name) {
                        left.push(format!(
                            "{file}:{}:{}: placeholder @{name}@ has no value (give --define {name}=VALUE; an empty value removes it)",
                            n + 1,
                            line[..i].chars().count() + 1
                        ));
                    }
                    i = end + 1;
                    continue;
                }
            }
            i += 1;
        }
    }
    if !left.is_empty() {
        return Err(left.join("\n"));
    }
    let mut out = text.to_string();
    for (k, v) in defines {
        out = out.replace(&format!("@{k}@"), v);
    }
    Ok(out)
}

/// `name=value` of `--define`.
pub fn parse_define(s: &str) -> Result<(String, String), String> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| format!("--define {s:?}: expected NAME=VALUE"))?;
    if k.is_empty() || !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(format!(
            "--define {s:?}: NAME takes letters, digits and '_' (it replaces @NAME@)"
        ));
    }
    Ok((k.to_string(), v.to_string()))
}

/// A serde_norway error as `FILE:LINE:COL: message` when it has a position.
fn yaml_error(file: &str, e: &serde_norway::Error) -> String {
    let msg = e.to_string();
    match e.location() {
        Some(loc) => {
            let suffix = format!(" at line {} column {}", loc.line(), loc.column());
            let msg = msg.strip_suffix(&suffix).unwrap_or(&msg);
            format!("{file}:{}:{}: {msg}", loc.line(), loc.column())
        }
        None => format!("{file}: {msg}"),
    }
}

/// Names and ids travel in `KOS_HOST_CONNECTIONS` (`id=target,...`) and
/// name files (`DIR/<entity>.kst`): no separators, no blanks.
fn check_word(what: &str, s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err(format!("{what} is empty"));
    }
    if let Some(c) = s
        .chars()
        .find(|c| matches!(c, ',' | '=' | '/') || c.is_whitespace() || c.is_control())
    {
        return Err(format!(
            "{what} {s:?} contains {c:?} (names and ids cannot hold ',', '=', '/' or blanks)"
        ));
    }
    Ok(())
}

/// The executable `path` names (or, without one, the last part of the
/// entity's name): absolute as it is; with a `/`, relative to init.yaml's
/// directory; a bare name in init.yaml's directory, then each `--bin-dir`.
fn find_exe(entity: &str, path: Option<&str>, lookup: &Lookup) -> Result<PathBuf, String> {
    let (name, from) = match path {
        Some(p) => (p.to_string(), "path"),
        None => (
            entity.rsplit('.').next().unwrap_or(entity).to_string(),
            "name",
        ),
    };
    let p = Path::new(&name);
    let candidates: Vec<PathBuf> = if p.is_absolute() {
        vec![p.to_path_buf()]
    } else if name.contains('/') {
        vec![lookup.base.join(p)]
    } else {
        std::iter::once(lookup.base)
            .chain(lookup.bin_dirs.iter().map(PathBuf::as_path))
            .map(|d| d.join(p))
            .collect()
    };
    for c in &candidates {
        if let Ok(m) = std::fs::metadata(c) {
            if m.is_file() && m.permissions().mode() & 0o111 != 0 {
                return Ok(c.clone());
            }
        }
    }
    let looked: Vec<String> = candidates.iter().map(|c| c.display().to_string()).collect();
    let why = if from == "path" {
        format!("path {name:?}")
    } else {
        format!("no path; {name:?} from the name")
    };
    Err(format!(
        "entity {entity}: no executable ({why}; looked for {})",
        looked.join(", ")
    ))
}

/// Parse, check and resolve a (substituted) init description. Every
/// problem is reported, one per line, before anything starts.
pub fn parse(file: &str, text: &str, lookup: &Lookup) -> Result<Vec<Entity>, String> {
    let raw: RawInit = serde_norway::from_str(text).map_err(|e| yaml_error(file, &e))?;
    let mut errors = Vec::new();
    let mut names = HashSet::new();
    for e in &raw.entities {
        if let Err(m) = check_word("name", &e.name) {
            errors.push(format!("{file}: entity {:?}: {m}", e.name));
        } else if !names.insert(e.name.as_str()) {
            errors.push(format!(
                "{file}: entity {}: duplicate name (entity names are unique)",
                e.name
            ));
        }
    }
    let mut out = Vec::new();
    for e in &raw.entities {
        let mut ids = HashSet::new();
        for (i, c) in e.connections.iter().enumerate() {
            let at = format!("{file}: entity {}: connections[{i}]", e.name);
            if let Err(m) = check_word("id", &c.id).and(check_word("target", &c.target)) {
                errors.push(format!("{at}: {m}"));
                continue;
            }
            if !names.contains(c.target.as_str()) {
                errors.push(format!(
                    "{at}: target {} is not an entity of this file",
                    c.target
                ));
            }
            if !ids.insert(c.id.as_str()) {
                errors.push(format!("{at}: id {} is used twice", c.id));
            }
        }
        for k in e.env.keys() {
            if k.is_empty() || k.contains('=') || k.contains('\0') {
                errors.push(format!(
                    "{file}: entity {}: env: {k:?} is not a variable name",
                    e.name
                ));
            }
        }
        match find_exe(&e.name, e.path.as_deref(), lookup) {
            Ok(exe) => out.push(Entity {
                name: e.name.clone(),
                exe,
                args: e.args.iter().map(Scalar::text).collect(),
                env: e.env.iter().map(|(k, v)| (k.clone(), v.text())).collect(),
                connections: e
                    .connections
                    .iter()
                    .map(|c| Connection {
                        id: c.id.clone(),
                        target: c.target.clone(),
                    })
                    .collect(),
            }),
            Err(m) => errors.push(format!("{file}: {m}")),
        }
    }
    if raw.entities.is_empty() {
        errors.push(format!("{file}: entities: the list is empty"));
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors.join("\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup() -> Lookup<'static> {
        Lookup {
            base: Path::new("/"),
            bin_dirs: &[],
        }
    }

    #[test]
    fn the_sdk_shape_is_read_with_scalars_as_text() {
        let text = "entities:\n\n- name: test.Fuzzer\n  task: test.Fuzzer\n  path: /bin/sh\n  connections:\n  - target: kl.VfsRamFs\n    id: kl.VfsRamFs\n  env:\n    DISABLE_COVERAGE: 'YES'\n    LEVEL: 3\n- name: kl.VfsRamFs\n  path: /bin/sh\n  args:\n  - -l\n  - 0\n  dynamic_connection_manager: true\n";
        let es = parse("init.yaml", text, &lookup()).unwrap();
        assert_eq!(es.len(), 2);
        assert_eq!(es[0].connections_var(), "kl.VfsRamFs=kl.VfsRamFs");
        assert_eq!(
            es[0].env,
            vec![
                ("DISABLE_COVERAGE".to_string(), "YES".to_string()),
                ("LEVEL".to_string(), "3".to_string())
            ]
        );
        assert_eq!(es[1].args, vec!["-l", "0"]);
        assert_eq!(es[1].exe, Path::new("/bin/sh"));
    }

    #[test]
    fn placeholders_are_replaced_or_reported_with_their_position() {
        let defs = vec![("A".to_string(), "x".to_string())];
        assert_eq!(substitute("f", "a: @A@\n", &defs).unwrap(), "a: x\n");
        assert_eq!(
            substitute("f", "# @B@ in a comment\na: @A@ @B@\n", &defs).unwrap_err(),
            "f:2:8: placeholder @B@ has no value (give --define B=VALUE; an empty value removes it)"
        );
        // Not placeholders: a mail address, a lone @.
        assert!(substitute("f", "a: me@host, @\n", &[]).is_ok());
        assert!(parse_define("A=b=c").unwrap() == ("A".into(), "b=c".into()));
        assert!(parse_define("A-B=1").is_err());
        assert!(parse_define("AB").is_err());
    }

    #[test]
    fn yaml_errors_carry_file_line_and_column() {
        let e = parse("i.yaml", "entities:\n- name: a\n  args: [1\n", &lookup()).unwrap_err();
        assert!(e.starts_with("i.yaml:"), "{e}");
        let e = parse("i.yaml", "entities:\n- path: /bin/sh\n", &lookup()).unwrap_err();
        assert!(
            e.starts_with("i.yaml:2:3: entities[0]: missing field `name`"),
            "{e}"
        );
    }
}
