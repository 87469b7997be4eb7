//! Helpers shared by the unit tests of several modules (test builds only).

use std::path::Path;
use std::process::Command;

/// Whether the `openssl` CLI runs here; says so when a cross-check is skipped.
pub(crate) fn openssl_available() -> bool {
    let ok = Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        println!("openssl not found: skipping the OpenSSL cross-check");
    }
    ok
}

/// Runs `openssl ARGS` in `dir`; returns whether it succeeded and its stdout + stderr (also
/// printed, so a failing test shows what OpenSSL said).
pub(crate) fn openssl(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run openssl");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("$ openssl {}\n{text}", args.join(" "));
    (out.status.success(), text)
}
