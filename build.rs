//! Embeds the licence types of `schemas/licence-types/` (`src/licence/catalogue.rs`): the
//! directory is listed here, so adding a file there adds a type without touching code.

use std::path::PathBuf;
use std::{env, fs};

fn main() {
    let root =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let dir = root.join("schemas/licence-types");
    // A directory is watched as a whole: a file added, removed or changed reruns this script.
    println!("cargo::rerun-if-changed=schemas/licence-types");
    let mut files: Vec<(String, PathBuf)> = fs::read_dir(&dir)
        .expect("schemas/licence-types is readable")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| {
            let name = p
                .file_name()
                .and_then(|n| n.to_str())
                .expect("type file names are UTF-8")
                .to_owned();
            (name, p)
        })
        .collect();
    files.sort();
    let mut out = String::from("const BUILT_IN: &[(&str, &str)] = &[\n");
    for (name, path) in files {
        let path = path.to_str().expect("the crate's path is UTF-8");
        out.push_str(&format!("    ({name:?}, include_str!({path:?})),\n"));
    }
    out.push_str("];\n");
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    fs::write(out_dir.join("licence_types.rs"), out).expect("OUT_DIR is writable");
}
