//! Arbitrary bytes into PDF verification (reader, signature facts, later-change analysis, CMS):
//! every outcome must be a report, never a panic, an abort or unbounded memory. The default
//! limits apply; an empty trust store is enough to reach every parser.
#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use sidian::pki::TrustStore;
use sidian::verify::{Revocations, Verifier};

fuzz_target!(|data: &[u8]| {
    let verifier = Verifier::new(Arc::new(TrustStore::new()), Revocations::default());
    let _ = verifier.verify_pdf(data, time::OffsetDateTime::UNIX_EPOCH);
});
