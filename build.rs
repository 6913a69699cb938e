//! Generates the C header from the crate's `extern "C"` items with cbindgen.
//!
//! The header goes to `$OUT_DIR/kos_ipc_shim.h`; with `KOS_SHIM_WRITE_HEADER=1`
//! (what `make header` sets) also to `include/kos_ipc_shim.h` (committed), and a unit test fails when the two
//! differ. The header does not depend on the enabled features: cfg'd items
//! appear under `#if defined(KOS_SHIM_...)` guards (see cbindgen.toml).
//!
//! It also builds the ABI profile bridge (src/profile/, see [`profile`]).

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    profile();
    let crate_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR")).join("kos_ipc_shim.h");
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-env-changed=KOS_SHIM_WRITE_HEADER");
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml"))
        .expect("cbindgen.toml is readable and valid");
    match cbindgen::Builder::new()
        .with_crate(&crate_dir)
        .with_config(config)
        .generate()
    {
        Ok(bindings) => {
            bindings.write_to_file(&out);
            if env::var_os("KOS_SHIM_WRITE_HEADER").is_some() {
                bindings.write_to_file(crate_dir.join("include/kos_ipc_shim.h"));
            }
        }
        Err(e) => panic!("cbindgen could not generate the header: {e}"),
    }
}

/// The ABI profile bridge, compiled with the `cc` crate:
///
/// - feature `sdk-profile`: against the SDK's headers (`KOS_SDK_SYSROOT`,
///   field map `KOS_SDK_PROFILE_FIELDS`, extra flags `KOS_SDK_CFLAGS`), linked
///   into the library; the SDK's rc/handle constants are read from the
///   compiler's output into `$OUT_DIR/profile_consts.rs`.
///   `KOS_SDK_SYSROOT=host-compat` uses our host compatibility headers
///   instead (to test the bridge path without an SDK; loudly labelled).
/// - feature `host` (no SDK): against the host compatibility headers
///   (`include/kos`), linked only into the integration tests, which check
///   that the bridge and the Rust host profile agree; the constants go to
///   `$OUT_DIR/profile_consts_host.rs` for the same check.
/// - otherwise: nothing to build (no C compiler needed, e.g. bare-metal).
fn profile() {
    for var in [
        "KOS_SDK_SYSROOT",
        "KOS_SDK_PROFILE_FIELDS",
        "KOS_SDK_CFLAGS",
    ] {
        println!("cargo:rerun-if-env-changed={var}");
    }
    println!("cargo:rerun-if-changed=include");
    let sdk = env::var_os("CARGO_FEATURE_SDK_PROFILE").is_some();
    let host = env::var_os("CARGO_FEATURE_HOST").is_some();
    if sdk && host {
        panic!(
            "feature sdk-profile replaces the host profile and cannot be combined with feature \
             host: build with --no-default-features --features wrap,sdk-profile"
        );
    }
    if !sdk && !host {
        return;
    }
    let crate_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));
    let dir = crate_dir.join("src/profile");

    let mut includes = vec![dir.clone()];
    let mut defines: Vec<(String, Option<String>)> = Vec::new();
    if sdk {
        let sysroot = env::var("KOS_SDK_SYSROOT").unwrap_or_else(|_| {
            panic!(
                "feature sdk-profile needs KOS_SDK_SYSROOT: the SDK sysroot whose include/ holds \
                 coresrv/syscalls.h (or `host-compat` to test with this crate's host headers)"
            )
        });
        if sysroot == "host-compat" {
            println!(
                "cargo:warning=sdk-profile built against the HOST compatibility headers \
                 (KOS_SDK_SYSROOT=host-compat): host-profile values, for testing only"
            );
            includes.push(crate_dir.join("include/kos"));
        } else {
            includes.push(Path::new(&sysroot).join("include"));
            defines.push(("KOS_PROFILE_SDK".into(), None));
            if let Ok(fields) = env::var("KOS_SDK_PROFILE_FIELDS") {
                defines.push((
                    "KOS_PROFILE_FIELDS_HEADER".into(),
                    Some(format!("\"{fields}\"")),
                ));
            }
        }
    } else {
        includes.push(crate_dir.join("include/kos"));
    }
    let extra: Vec<String> = env::var("KOS_SDK_CFLAGS")
        .map(|f| f.split_whitespace().map(String::from).collect())
        .unwrap_or_default();

    let mut build = cc::Build::new();
    build
        .file(dir.join("kos_profile.c"))
        .flag_if_supported("-std=c11");
    build.warnings(true).extra_warnings(true);
    for i in &includes {
        build.include(i);
    }
    for (k, v) in &defines {
        build.define(k, v.as_deref());
    }
    for f in &extra {
        build.flag(f);
    }

    let consts = read_constants(&build, &includes, &defines, &extra, &dir, &out_dir);
    if sdk {
        build.compile("kos_profile");
        write_constants(
            &out_dir.join("profile_consts.rs"),
            &consts,
            "the SDK's headers",
        );
    } else {
        for obj in build.compile_intermediates() {
            println!("cargo:rustc-link-arg-tests={}", obj.display());
        }
        write_constants(
            &out_dir.join("profile_consts_host.rs"),
            &consts,
            "the host compatibility headers",
        );
    }
}

/// Names of the values in src/profile/kos_profile_consts.c, in order.
const CONSTANT_NAMES: [&str; 17] = [
    "rcOk",
    "rcFail",
    "rcInvalidArgument",
    "rcNotConnected",
    "rcOutOfMemory",
    "rcBufferTooSmall",
    "rcTimeout",
    "rcIpcInterrupt",
    "rcSecurityDisallow",
    "rcUnimplemented",
    "rcBusy",
    "rcHandleRevoked",
    "rcNoCapability",
    "INVALID_HANDLE",
    "INFINITE_TIMEOUT",
    "SIZEOF_RETCODE",
    "SIZEOF_HANDLE",
];
const START_MARKER: i64 = 0x4B4F_5350_524F_4631;
const END_MARKER: i64 = 0x4B4F_5350_524F_4632;

/// Compile kos_profile_consts.c to assembly (never run: works for cross
/// compilers) and read the table of 64-bit values the compiler computed.
fn read_constants(
    build: &cc::Build,
    includes: &[PathBuf],
    defines: &[(String, Option<String>)],
    extra: &[String],
    dir: &Path,
    out_dir: &Path,
) -> Vec<i64> {
    let src = dir.join("kos_profile_consts.c");
    let asm = out_dir.join("kos_profile_consts.s");
    let mut cmd: Command = build.get_compiler().to_command();
    for i in includes {
        cmd.arg("-I").arg(i);
    }
    for (k, v) in defines {
        cmd.arg(match v {
            Some(v) => format!("-D{k}={v}"),
            None => format!("-D{k}"),
        });
    }
    cmd.args(extra)
        .arg("-std=c11")
        .arg("-S")
        .arg("-o")
        .arg(&asm)
        .arg(&src);
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("profile: cannot run the C compiler ({cmd:?}): {e}"));
    assert!(status.success(), "profile: {cmd:?} failed");
    let text = std::fs::read_to_string(&asm).expect("profile: assembly output readable");
    let mut values = Vec::new();
    for line in text.lines() {
        let mut words = line.split_whitespace();
        let (Some(directive), Some(value)) = (words.next(), words.next()) else {
            continue;
        };
        if matches!(directive, ".quad" | ".xword" | ".dword" | ".8byte") {
            if let Ok(v) = value.parse::<i64>() {
                values.push(v);
            } else if let Ok(v) = value.parse::<u64>() {
                values.push(v as i64);
            }
        }
    }
    let start = values
        .iter()
        .position(|&v| v == START_MARKER)
        .expect("profile: constant table not found in the assembly output");
    let table = &values[start + 1..];
    assert!(
        table.len() > CONSTANT_NAMES.len() && table[CONSTANT_NAMES.len()] == END_MARKER,
        "profile: constant table malformed in {}",
        asm.display()
    );
    table[..CONSTANT_NAMES.len()].to_vec()
}

/// Write the constants as Rust items (included by abi.rs or a test).
fn write_constants(path: &Path, values: &[i64], from: &str) {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(s, "// Generated by build.rs from {from}; do not edit.");
    for (name, &v) in CONSTANT_NAMES.iter().zip(values) {
        match *name {
            "INVALID_HANDLE" => {
                let _ = writeln!(s, "/// `INVALID_HANDLE` as defined by {from}.");
                let _ = writeln!(s, "pub const INVALID_HANDLE: Handle = {};", v as u32);
            }
            "INFINITE_TIMEOUT" => {
                let _ = writeln!(s, "/// `INFINITE_TIMEOUT` as defined by {from}.");
                let _ = writeln!(
                    s,
                    "pub const INFINITE_TIMEOUT: rtl_uint32_t = {};",
                    v as u32
                );
            }
            "SIZEOF_RETCODE" | "SIZEOF_HANDLE" => {
                let ty = if *name == "SIZEOF_RETCODE" {
                    "Retcode"
                } else {
                    "Handle"
                };
                let _ = writeln!(
                    s,
                    "const _: () = assert!(core::mem::size_of::<{ty}>() == {v}, \"sizeof({ty}) differs from {from}\");"
                );
            }
            rc => {
                assert!(
                    i32::try_from(v).is_ok() || u32::try_from(v).is_ok(),
                    "profile: {rc} = {v} does not fit a Retcode"
                );
                let _ = writeln!(s, "/// `{rc}` as defined by {from}.");
                let _ = writeln!(s, "pub const {rc}: Retcode = {};", v as i32);
            }
        }
    }
    std::fs::write(path, s).expect("profile: constants written");
}
