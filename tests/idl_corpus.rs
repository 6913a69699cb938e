//! The IDL/CDL/EDL loader on the corpus in tests/idl/corpus/: every RIID,
//! endpoint path, MID and resolved type it reads is stated in
//! tests/idl/corpus/EXPECTED.txt; canonical lines read back equal; the
//! nk-driver JSON twin of demo/Echo.idl gives the same interface and
//! structs; and a table of bad inputs, each with its exact message.

use std::fmt::Write as _;
use std::path::PathBuf;

use kos_ipc_shim::idl::model::Schema;
use kos_ipc_shim::idl::parse::{parse_source, schema_line, SchemaItem};
use kos_ipc_shim::idl::Loader;

fn corpus() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/tests/idl/corpus").to_string()
}

fn load_corpus() -> Schema {
    let mut l = Loader::new([corpus()]);
    l.load_name("demo.Server").unwrap();
    l.load_name("legacy.Client").unwrap();
    l.into_schema()
}

/// The schema in EXPECTED.txt's form.
fn render(s: &Schema) -> String {
    let mut out = String::new();
    for e in &s.entities {
        writeln!(out, "entity {}", e.name).unwrap();
        for (riid, ep) in e.endpoints.iter().enumerate() {
            writeln!(out, "{riid} {} {}", ep.name, ep.interface).unwrap();
        }
    }
    for i in s.interfaces.values() {
        writeln!(out, "interface {}", i.name).unwrap();
        for (mid, m) in i.methods.iter().enumerate() {
            writeln!(out, "{mid} {}", m.name).unwrap();
        }
    }
    for st in s.structs.values() {
        writeln!(out, "line {st}").unwrap();
    }
    for i in s.interfaces.values() {
        writeln!(out, "line {i}").unwrap();
    }
    out
}

#[test]
fn corpus_gives_the_expected_riids_mids_and_types() {
    let expected: String = std::fs::read_to_string(format!("{}/EXPECTED.txt", corpus()))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| format!("{l}\n"))
        .collect();
    let s = load_corpus();
    assert_eq!(render(&s), expected);
    // The RIIDs as the decoder will ask for them.
    assert_eq!(s.endpoint(5).unwrap().1.name, "store.inner.blob");
    assert_eq!(s.endpoint_named("Server.log.sink").unwrap().0, 8);
    assert_eq!(s.interface_named("Kv").unwrap().mid_of("Near"), Some(2));
}

#[test]
fn canonical_lines_read_back_equal() {
    let s = load_corpus();
    for st in s.structs.values() {
        assert_eq!(
            schema_line(&st.to_string()),
            Ok(SchemaItem::Struct(st.clone()))
        );
    }
    for i in s.interfaces.values() {
        assert_eq!(
            schema_line(&i.to_string()),
            Ok(SchemaItem::Interface(i.clone()))
        );
    }
}

#[test]
fn nk_driver_json_twin_gives_the_same_interface_and_structs() {
    let idl = load_corpus();
    let mut l = Loader::new([corpus()]);
    l.load_file(&format!("{}/json/Echo.json", corpus()))
        .unwrap();
    let json = l.into_schema();
    assert_eq!(json.interfaces["demo.Echo"], idl.interfaces["demo.Echo"]);
    assert_eq!(
        json.structs["demo.Echo.Reply"],
        idl.structs["demo.Echo.Reply"]
    );
    // The imported package came from the IDL file in both.
    assert_eq!(
        json.structs["demo.Types.Label"],
        idl.structs["demo.Types.Label"]
    );
}

#[test]
fn files_load_by_path_and_components_are_not_entities() {
    let c = corpus();
    let mut l = Loader::new([c.clone()]);
    l.load_file(&format!("{c}/store/Shelf.cdl")).unwrap();
    assert!(l.schema().entities.is_empty());
    assert!(l.schema().interfaces.contains_key("store.Kv"));
    l.load_file(&format!("{c}/demo/Server.edl")).unwrap();
    l.load_file(&format!("{c}/demo/Server.edl")).unwrap();
    assert_eq!(l.schema().entities.len(), 1);
    assert_eq!(l.schema().entities[0].endpoints.len(), 9);
}

/// A scratch include directory holding `files`.
struct Dir(PathBuf);

impl Dir {
    fn new(tag: usize, files: &[(&str, Vec<u8>)]) -> Dir {
        let d = std::env::temp_dir().join(format!("idl-corpus-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        for (rel, text) in files {
            let p = d.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        std::fs::create_dir_all(&d).unwrap();
        Dir(d)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A scratch dir's files: path under it, contents.
type Files = Vec<(&'static str, Vec<u8>)>;

/// How a bad case is loaded.
enum How {
    Name(&'static str),
    File(&'static str),
}

fn nested(depth: usize) -> Vec<u8> {
    let ty = (0..depth).fold("UInt8".to_string(), |t, _| format!("array<{t}, 1>"));
    format!("package a.B\ntypedef {ty} T;\n").into_bytes()
}

fn nested_through_typedef(inner: usize, outer: usize) -> Vec<u8> {
    let wrap = |t: String, n| (0..n).fold(t, |t, _| format!("array<{t}, 1>"));
    let t0 = wrap("UInt8".into(), inner);
    let t1 = wrap("T0".into(), outer);
    format!("package a.B\ntypedef {t0} T0;\ntypedef {t1} T1;\n").into_bytes()
}

fn chained_typedefs(n: usize) -> Vec<u8> {
    let mut s = "package a.B\ntypedef array<UInt8, 1> T0;\n".to_string();
    for i in 1..n {
        writeln!(s, "typedef array<T{}, 1> T{i};", i - 1).unwrap();
    }
    s.into_bytes()
}

fn chained_structs(n: usize) -> Vec<u8> {
    let mut s = "package a.B\nstruct S0 { UInt8 x; }\n".to_string();
    for i in 1..n {
        writeln!(s, "struct S{i} {{ S{} inner; }}", i - 1).unwrap();
    }
    s.into_bytes()
}

#[test]
fn bad_inputs_give_exact_messages() {
    let b = |s: &str| s.as_bytes().to_vec();
    // Paths in messages are shown relative to the scratch dir, which is $I.
    let cases: Vec<(Files, How, &str)> = vec![
        (
            vec![("a/B.idl", b("package a.B\nstruct S {\n    UInt8 x\n}\n"))],
            How::Name("a.B"),
            "$I/a/B.idl:4:1: expected ';' after field 'x', found '}'",
        ),
        (
            vec![("a/B.idl", b("package a.B\nimport a.C\ntypedef Foo T;\n")), ("a/C.idl", b("package a.C\n"))],
            How::Name("a.B"),
            "$I/a/B.idl:3:9: unknown type 'Foo' (not in package a.B nor its imports a.C)",
        ),
        (
            vec![("a/B.idl", b("package a.B\nstruct S { Foo f; }\n"))],
            How::Name("a.B"),
            "$I/a/B.idl:2:12: unknown type 'Foo' (not in package a.B, which imports nothing)",
        ),
        (
            vec![("a/B.idl", b("package a.B\nimport a.Gone\n"))],
            How::Name("a.B"),
            "$I/a/B.idl:2:8: cannot find a/Gone.idl in -I dirs: $I",
        ),
        (
            vec![("a/B.idl", b("package a.B\nconst UInt32 N = 0x;\n"))],
            How::Name("a.B"),
            "$I/a/B.idl:2:18: bad number '0x'",
        ),
        (
            vec![("a/B.idl", b("package a.B\nconst UInt32 N = M;\nconst UInt32 M = N;\n"))],
            How::Name("a.B"),
            "$I/a/B.idl:3:18: const cycle: a.B.N -> a.B.M -> a.B.N",
        ),
        (
            vec![("a/B.idl", b("package a.B\ntypedef T2 T1;\ntypedef T1 T2;\n"))],
            How::Name("a.B"),
            "$I/a/B.idl:3:9: typedef cycle: a.B.T1 -> a.B.T2 -> a.B.T1",
        ),
        (
            vec![("a/B.idl", b("package a.B\nconst UInt32 N = T;\ntypedef UInt8 T;\n"))],
            How::Name("a.B"),
            "$I/a/B.idl:2:18: 'T' is a typedef, not a const number",
        ),
        (
            vec![("a/B.idl", b("package a.B\ninterface {\n  Ping();\n  Ping(in UInt8 x);\n}\n"))],
            How::Name("a.B"),
            "$I/a/B.idl:4:3: duplicate method 'Ping'",
        ),
        (
            vec![("a/B.idl", b("package a.B\nstruct S { UInt8 x; UInt16 x; }\n"))],
            How::Name("a.B"),
            "$I/a/B.idl:2:28: duplicate field 'x' in struct 'S'",
        ),
        (
            vec![
                ("a/S.edl", b("task class a.S\nendpoints {\n  main : a.I;\n  main : a.I;\n}\n")),
                ("a/I.idl", b("package a.I\ninterface { }\n")),
            ],
            How::Name("a.S"),
            "$I/a/S.edl:4:3: duplicate endpoint 'main'",
        ),
        (
            vec![("a/B.idl", b("// wrong name\npackage a.Other\n"))],
            How::Name("a.B"),
            "$I/a/B.idl:2:9: this file declares 'a.Other' but was looked up as 'a.B' (the name must match the path)",
        ),
        (
            vec![("a/B.idl", b("package a.B\n/* never\nclosed\n"))],
            How::Name("a.B"),
            "$I/a/B.idl:2:1: unterminated comment: '/*' without '*/'",
        ),
        (
            vec![("a/B.idl", b("package a.B\ntypedef sequence<string<8>> S;\n"))],
            How::Name("a.B"),
            "$I/a/B.idl:2:27: 'sequence' needs a size: sequence<T, N>",
        ),
        (
            vec![("a/B.idl", nested(33))],
            How::Name("a.B"),
            "$I/a/B.idl:2:207: types nested deeper than 32 levels",
        ),
        (
            vec![("a/B.idl", chained_typedefs(33))],
            How::Name("a.B"),
            "$I/a/B.idl:3:15: typedefs chained deeper than 32 levels",
        ),
        (
            vec![("a/B.idl", nested_through_typedef(20, 13))],
            How::Name("a.B"),
            "$I/a/B.idl:3:139: types nested deeper than 32 levels (through typedefs)",
        ),
        (
            vec![("a/B.idl", chained_structs(34))],
            How::Name("a.B"),
            "$I/a/B.idl:34:8: struct 'a.B.S32' nests structs deeper than 32 levels",
        ),
        (
            vec![("a/B.idl", b("package a.B\nstruct S { array<T, 2> t; }\nstruct T { S s; }\n"))],
            How::Name("a.B"),
            "$I/a/B.idl:2:8: struct 'a.B.S' contains itself: a.B.S -> a.B.T -> a.B.S",
        ),
        (
            vec![("a/B.idl", b("package a.B\ninterface {\n  Ping("))],
            How::Name("a.B"),
            "$I/a/B.idl:3:8: expected 'in', 'out' or 'error', found end of file",
        ),
        (
            vec![("a/B.idl", b"package a.B\n// caf\xe9\n".to_vec())],
            How::Name("a.B"),
            "$I/a/B.idl:2:7: not UTF-8 text (byte 0xe9)",
        ),
        (
            vec![("a/S.edl", b("task class a.S\nendpoints { main : a.Nope }\n"))],
            How::Name("a.S"),
            "$I/a/S.edl:2:20: cannot find a/Nope.idl in -I dirs: $I",
        ),
        (
            vec![("a/S.edl", b("entity a.S\ninterfaces { t : a.T }\n")), ("a/T.idl", b("package a.T\ntypedef UInt8 X;\n"))],
            How::Name("a.S"),
            "$I/a/S.edl:2:18: package 'a.T' declares no interface (it has no 'interface { }' block)",
        ),
        (
            vec![
                ("a/S.edl", b("task class a.S\ncomponents { c : a.C }\n")),
                ("a/C.cdl", b("component a.C\ncomponents {\n  me : a.C\n}\n")),
            ],
            How::Name("a.S"),
            "$I/a/C.cdl:3:8: component cycle: a.C -> a.C",
        ),
        (
            vec![],
            How::Name("a.Missing"),
            "a.Missing:1:1: cannot find a/Missing.edl or a/Missing.cdl or a/Missing.idl in -I dirs: $I",
        ),
        (
            vec![("a/B.idl", b("package a.B\ntypedef string<0x100000000> S;\n"))],
            How::Name("a.B"),
            "$I/a/B.idl:2:16: size 4294967296 is not in 0..=4294967295",
        ),
        (
            vec![("a/B.idl", b("package a.B\nconst SInt32 N = -1;\ntypedef bytes<N> S;\n"))],
            How::Name("a.B"),
            "$I/a/B.idl:3:15: size -1 is not in 0..=4294967295",
        ),
        (
            vec![("a/B.idl", b("package a.B\ntypedef x.Y.Z T;\n"))],
            How::Name("a.B"),
            "$I/a/B.idl:2:9: 'x.Y.Z': package 'x.Y' is not imported by 'a.B'",
        ),
        (
            vec![("a/B.idl", b("package a.B\nimport a.C\ntypedef a.C.Z T;\n")), ("a/C.idl", b("package a.C\n"))],
            How::Name("a.B"),
            "$I/a/B.idl:3:9: unknown name 'a.C.Z': package 'a.C' has no 'Z'",
        ),
        (
            vec![("a/S.cdl", b("task class a.S\n"))],
            How::File("a/S.cdl"),
            "$I/a/S.cdl:1:1: expected 'component' first in a CDL file, found 'task'",
        ),
        (
            vec![("x.json", b("{\"contents\": {\"name\": \"a.B\", \"entries\": [{\"kind\": \"enum\"}]}}"))],
            How::File("x.json"),
            "$I/x.json:1:1: entries[0]: unknown entry kind 'enum'",
        ),
        (
            vec![("x.json", b("{\"contents\": {\"name\": \"a.B\",\n  \"entries\": [}}"))],
            How::File("x.json"),
            "$I/x.json:2:15: bad JSON: expected value at line 2 column 15",
        ),
        (vec![], How::Name("a..B"), "a..B:1:1: 'a..B' is not a qualified name (a.b.Name)"),
        (vec![], How::File("none.idl"), "$I/none.idl:1:1: cannot open $I/none.idl"),
    ];
    assert!(cases.len() >= 15);
    let mut failed = Vec::new();
    for (i, (files, how, want)) in cases.iter().enumerate() {
        let d = Dir::new(i, files);
        let inc = d.0.to_str().unwrap().to_string();
        let mut l = Loader::new([inc.clone()]);
        let before = l.schema().clone();
        let r = match how {
            How::Name(n) => l.load_name(n),
            How::File(f) => l.load_file(&format!("{inc}/{f}")),
        };
        let got = match r {
            Ok(()) => "Ok".to_string(),
            Err(e) => {
                assert!(e.line >= 1 && e.col >= 1);
                e.to_string().replace(&inc, "$I")
            }
        };
        // A failed load adds nothing.
        assert_eq!(l.schema(), &before, "case {i}");
        if got != *want {
            failed.push(format!("case {i}:\n  got  {got}\n  want {want}"));
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

#[test]
fn parse_source_picks_the_grammar_by_extension_or_first_word() {
    assert!(parse_source("x.txt", "component a.C\n").is_ok());
    assert!(parse_source("x.txt", "/* c */ package a.B\n").is_ok());
    assert_eq!(
        parse_source("x.txt", "hello").unwrap_err().to_string(),
        "x.txt:1:1: expected 'package', 'task class', 'entity' or 'component', found 'hello'"
    );
}
