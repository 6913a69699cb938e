//! The build-time check of the KasperskyOS CE profile (src/profile/), run
//! here on stand-in SDK sysroots made from this project's headers: the
//! headers as they are pass; a copy with one fact changed fails, and the
//! report names that fact with both values. The profile's expected values
//! are also compared with the Rust mirrors in `kos_ipc_shim::abi`.
#![cfg(feature = "host")]

use std::path::{Path, PathBuf};

#[path = "../src/profile/check.rs"]
mod profile_check;

use profile_check::{Compiler, Mismatch, Report};

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A stand-in sysroot: include/ is a copy of include/kos (plus
/// kos_ipc_shim.h where our headers look for it), with `edit` applied to
/// the file at `rel`.
fn sysroot(name: &str, rel: &str, edit: impl Fn(String) -> String) -> PathBuf {
    let root = std::env::temp_dir().join(format!("kos-profile-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    copy_dir(&crate_dir().join("include/kos"), &root.join("include"));
    std::fs::copy(
        crate_dir().join("include/kos_ipc_shim.h"),
        root.join("kos_ipc_shim.h"),
    )
    .unwrap();
    let file = root.join("include").join(rel);
    let text = std::fs::read_to_string(&file).unwrap();
    let changed = edit(text.clone());
    assert_ne!(text, changed, "the edit of {rel} changed nothing");
    std::fs::write(&file, changed).unwrap();
    root
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

fn check(root: &Path) -> Result<Report, String> {
    check_with(root, &[])
}

fn check_with(root: &Path, flags: &[&str]) -> Result<Report, String> {
    let mut args = vec!["-I".into(), root.join("include").display().to_string()];
    args.extend(flags.iter().map(|f| f.to_string()));
    let cc = Compiler {
        program: std::env::var_os("CC").unwrap_or("cc".into()).into(),
        args,
        arch: std::env::consts::ARCH.to_string(),
    };
    let out = root.join("out");
    std::fs::create_dir_all(&out).unwrap();
    profile_check::run(&cc, &crate_dir().join("src/profile"), &out)
}

/// Our headers, compiled with `flags`, pass every fact of the profile.
fn passes_with(name: &str, flags: &[&str]) {
    let root = sysroot(name, "nk/errno.h", |t| t + "\n/* unchanged */\n");
    let report = check_with(&root, flags).expect("the check compiles");
    assert!(
        report.mismatches.is_empty(),
        "{:?}",
        report.error("include/kos")
    );
    // Every layout fact, constant and bit-field of the profile is compared.
    assert_eq!(report.facts, 65 + 3);
}

#[test]
fn our_headers_pass_every_fact() {
    passes_with("same", &[]);
}

#[test]
fn sanitizer_red_zones_do_not_hide_the_tables() {
    // cargo fuzz builds the crate with CFLAGS for AddressSanitizer, which
    // pads every global with a red zone after the table's end marker.
    passes_with("asan", &["-fsanitize=address"]);
}

#[test]
fn a_moved_field_stops_the_build_naming_it() {
    // threadId moved before sender: both offsets change.
    let root = sysroot("moved", "ipc/if_rend.h", |t| {
        let sender = "    TaskId sender;         /* the sender's task (process) id */\n";
        assert!(t.contains(sender));
        let t = t.replace(sender, "");
        t.replace(
            "    rtl_uint64_t traceId;",
            &format!("{sender}    rtl_uint64_t traceId;"),
        )
    });
    let report = check(&root).expect("the check compiles");
    let names: Vec<&str> = report.mismatches.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["SMsgHdr.sender", "SMsgHdr.threadId"]);
    assert_eq!(
        report.mismatches[1],
        Mismatch {
            name: "SMsgHdr.threadId".into(),
            sdk: 4,
            kce: 8
        }
    );
    let msg = report.error("the stand-in").unwrap();
    assert!(
        msg.contains("SMsgHdr.threadId: the headers give 4 (0x4), the KCE profile 8 (0x8)"),
        "{msg}"
    );
}

#[test]
fn reordered_bit_fields_and_a_changed_code_are_named() {
    let root = sysroot("bits", "nk/types.h", |t| {
        t.replace(
            "        nk_uint32_t ncaps : 3;\n        nk_uint32_t err : 1;",
            "        nk_uint32_t err : 1;\n        nk_uint32_t ncaps : 3;",
        )
    });
    let report = check(&root).expect("the check compiles");
    let got: Vec<(&str, i64)> = report
        .mismatches
        .iter()
        .map(|m| (m.name.as_str(), m.sdk))
        .collect();
    assert_eq!(
        got,
        [
            ("nk_message.ex.ncaps (bits 28..30)", 0xE000_0000),
            ("nk_message.ex.err (bit 31)", 0x1000_0000)
        ]
    );

    let root = sysroot("rc", "rtl/retcode.h", |t| {
        t.replace("KOS_SHIM_RC(0x14)", "KOS_SHIM_RC(0x06)")
    });
    let report = check(&root).expect("the check compiles");
    assert_eq!(
        report.mismatches,
        [Mismatch {
            name: "rcTimeout".into(),
            sdk: 0x9000_0006,
            kce: 0x9000_0014
        }]
    );
}

#[test]
fn a_missing_name_is_a_clear_error() {
    let root = sysroot("missing", "nk/errno.h", |t| {
        t.replace("#define NK_EBADMSG (-74)\n", "")
    });
    let err = check(&root).unwrap_err();
    assert!(
        err.contains("does not compile against these headers"),
        "{err}"
    );
    assert!(err.contains("NK_EBADMSG"), "{err}");
}

#[test]
fn the_profile_matches_the_rust_mirrors() {
    use kos_ipc_shim::abi::*;
    use std::mem::{offset_of, size_of};
    // The check's KCE column, as the compiled table holds it, equals Rust's.
    let root = sysroot("mirror", "nk/errno.h", |t| t + "\n");
    check(&root).unwrap();
    let asm = std::fs::read_to_string(root.join("out/kos_profile_check.s")).unwrap();
    let rust: &[(&str, i64)] = &[
        ("sizeof(SMsgHdr)", size_of::<SMsgHdr>() as i64),
        ("SMsgHdr.threadId", offset_of!(SMsgHdr, threadId) as i64),
        ("SMsgHdr.spanId", offset_of!(SMsgHdr, spanId) as i64),
        ("SMsgHdr.indirDescs", offset_of!(SMsgHdr, u) as i64),
        ("sizeof(nk_message)", size_of::<nk_message>() as i64),
        ("nk_message.self", offset_of!(nk_message, self_) as i64),
        ("rcTimeout", rcTimeout as u32 as i64),
        ("rcSecurityDisallow", rcSecurityDisallow as u32 as i64),
        ("NK_ENOTCONN", NK_ENOTCONN as i64),
        ("INVALID_HANDLE", INVALID_HANDLE as i64),
    ];
    let expect = kce_column(&asm);
    for (name, value) in rust {
        assert_eq!(expect.get(*name), Some(value), "{name}");
    }
}

/// The KCE column of the compiled table, by fact name.
fn kce_column(asm: &str) -> std::collections::HashMap<String, i64> {
    profile_check::facts(asm, std::env::consts::ARCH)
        .unwrap()
        .into_iter()
        .map(|f| (f.name, f.kce))
        .collect()
}
