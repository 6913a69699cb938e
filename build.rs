//! Generates the C header from the crate's `extern "C"` items with cbindgen.
//!
//! The header goes to `$OUT_DIR/kos_ipc_shim.h`; with `KOS_SHIM_WRITE_HEADER=1`
//! (what `make header` sets) also to `include/kos_ipc_shim.h` (committed), and a unit test fails when the two
//! differ. The header does not depend on the enabled features: cfg'd items
//! appear under `#if defined(KOS_SHIM_...)` guards (see cbindgen.toml).

use std::env;
use std::path::PathBuf;

fn main() {
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
