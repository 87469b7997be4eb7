//! Arbitrary bytes into the OFD reader: every outcome must be an `Err` or a report, never a
//! panic, an abort or unbounded memory. Limits are tightened so a run stays fast.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sidian::ofd::{Limits, read_signatures, verify_sign_cms};

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_entries: 256,
        max_entry_size: 4 << 20,
        max_total: 16 << 20,
        ..Limits::default()
    };
    if let Ok(found) = read_signatures(data, &limits) {
        for sig in &found.signatures {
            let _ = verify_sign_cms(&sig.signed_value, &sig.signature_xml);
        }
    }
    // The CMS parser is reachable with attacker bytes on its own too.
    let _ = verify_sign_cms(data, b"<Signature/>");
});
