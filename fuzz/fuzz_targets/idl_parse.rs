//! Fuzz the IDL/EDL/CDL grammars, nk-driver JSON, the resolver and the
//! canonical one-line form: any input either parses (and resolves) or gives
//! an error with a position; every struct and interface the loader makes,
//! and every canonical line that parses, prints back to text that parses
//! equal.
#![no_main]

use kos_ipc_shim::idl::parse::{parse_source, schema_line, SchemaItem};
use kos_ipc_shim::idl::{Error, Loader};
use libfuzzer_sys::fuzz_target;

fn located(e: &Error, text: &str) {
    assert!(e.line >= 1 && e.col >= 1, "{e}");
    assert!(e.line as usize <= text.split('\n').count(), "{e}");
    let _ = e.to_string();
}

fn round_trip(item: SchemaItem) {
    let printed = match &item {
        SchemaItem::Struct(s) => s.to_string(),
        SchemaItem::Interface(i) => i.to_string(),
    };
    assert_eq!(schema_line(&printed), Ok(item), "{printed}");
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        let e = Error::not_utf8("f.idl", data);
        assert!(e.line >= 1 && e.col >= 1);
        return;
    };
    for name in ["f.idl", "f.edl", "f.cdl", "f.json", "f"] {
        if let Err(e) = parse_source(name, text) {
            located(&e, text);
        }
        // No include dirs: imports and endpoints fail, the file's own
        // declarations resolve.
        let mut l = Loader::new(Vec::<String>::new());
        match l.load_source(name, text) {
            Err(e) => assert!(e.line >= 1 && e.col >= 1, "{e}"),
            Ok(()) => {
                let s = l.into_schema();
                s.structs
                    .values()
                    .cloned()
                    .map(SchemaItem::Struct)
                    .for_each(round_trip);
                s.interfaces
                    .values()
                    .cloned()
                    .map(SchemaItem::Interface)
                    .for_each(round_trip);
            }
        }
    }
    match schema_line(text) {
        Err(e) => located(&e, text),
        Ok(item) => round_trip(item),
    }
});
