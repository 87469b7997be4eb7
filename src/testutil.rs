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

/// A file of `objects` (numbers 1…) with catalog 1, page tree 2 and a correct xref.
pub(crate) fn minimal_pdf(objects: &[Vec<u8>]) -> Vec<u8> {
    let mut out = b"%PDF-1.7\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for at in offsets {
        out.extend_from_slice(format!("{at:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}
