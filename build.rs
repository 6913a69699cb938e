//! Builds the ABI profile bridge (src/profile/, see [`profile`]) and the
//! service locator wrappers of the wrap archive.
//!
//! The C header is not made here: `make header` writes it and `make
//! header-check` compares it with cbindgen's output (tools/header-gen), so
//! ordinary builds do not compile cbindgen.

use std::env;
use std::path::{Path, PathBuf};

fn main() {
    profile();
    locator_wrappers();
}

/// The service locator wrappers (`src/locator_wrap.c`, features `wrap` and
/// `clib`): compiled into a static library of their own, which rustc
/// bundles into the wrap archive as a separate member, so that only programs
/// linked with `--wrap=ServiceLocator*` pull it (and its references to
/// `__real_ServiceLocator*`) in.
fn locator_wrappers() {
    println!("cargo:rerun-if-changed=src/locator_wrap.c");
    let wrap = env::var_os("CARGO_FEATURE_WRAP").is_some();
    let clib = env::var_os("CARGO_FEATURE_CLIB").is_some();
    if wrap && clib {
        // A plain CC names the host's compiler (make and CI scripts export
        // it); for a cross target it would put a host object into the
        // target's archive. The cc crate reads CC when nothing target-specific
        // is set, so then leave it out and let cc pick the target's default
        // (aarch64-linux-gnu-gcc, ...). CC_<triple> and TARGET_CC still rule.
        let target = env::var("TARGET").unwrap_or_default();
        let host = env::var("HOST").unwrap_or_default();
        let specific = [
            format!("CC_{target}"),
            format!("CC_{}", target.replace('-', "_")),
            "TARGET_CC".to_string(),
        ];
        if target != host && specific.iter().all(|v| env::var_os(v).is_none()) {
            env::remove_var("CC");
        }
        cc::Build::new()
            .file("src/locator_wrap.c")
            .warnings(true)
            .extra_warnings(true)
            .compile("kos_shim_locator_wrap");
    }
}

#[path = "src/profile/check.rs"]
mod profile_check;

/// The build-time check of the KasperskyOS CE profile (src/profile/):
///
/// - feature `sdk-profile`: against the SDK's headers (`KOS_SDK_SYSROOT`,
///   whose `include/` holds `coresrv/syscalls.h`; `KOS_SDK_PROFILE_FIELDS`
///   an optional header renaming fields for another SDK version;
///   `KOS_SDK_CFLAGS` extra compiler flags). Any difference stops the build.
/// - feature `host`: against this project's own headers (include/kos), so
///   they can never drift from the profile either.
/// - otherwise: nothing (no C compiler needed, e.g. bare-metal).
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
    if !sdk && !host {
        return;
    }
    let crate_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));
    let dir = crate_dir.join("src/profile");

    let (include, what) = if sdk {
        let sysroot = env::var("KOS_SDK_SYSROOT").unwrap_or_else(|_| {
            panic!(
                "feature sdk-profile needs KOS_SDK_SYSROOT: the SDK sysroot whose include/ holds \
                 coresrv/syscalls.h"
            )
        });
        (
            Path::new(&sysroot).join("include"),
            format!("the SDK headers under {sysroot}/include"),
        )
    } else {
        (crate_dir.join("include/kos"), "include/kos".to_string())
    };
    let mut args = vec!["-I".to_string(), include.display().to_string()];
    if sdk {
        if let Ok(fields) = env::var("KOS_SDK_PROFILE_FIELDS") {
            args.push("-include".into());
            args.push(fields);
        }
        args.extend(
            env::var("KOS_SDK_CFLAGS")
                .map(|f| f.split_whitespace().map(String::from).collect::<Vec<_>>())
                .unwrap_or_default(),
        );
    } else {
        // Our headers include kos_ipc_shim.h, which sits beside include/kos.
        args.push("-I".into());
        args.push(crate_dir.join("include").display().to_string());
    }
    let cc = cc::Build::new().get_compiler();
    args.extend(cc.args().iter().map(|a| a.to_string_lossy().into_owned()));
    let compiler = profile_check::Compiler {
        program: cc.path().to_path_buf(),
        args,
        arch: env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default(),
    };
    match profile_check::run(&compiler, &dir, &out_dir) {
        Ok(report) => {
            if let Some(e) = report.error(&what) {
                panic!("{e}");
            }
        }
        Err(e) => panic!("{e}"),
    }
}
