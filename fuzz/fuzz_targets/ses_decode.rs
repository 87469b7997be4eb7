//! Arbitrary bytes into the SES decoders: they must return, never panic or overflow the stack.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sidian::ses::{Seal, Signature, verify_maker_signature, verify_signer_signature};

fuzz_target!(|data: &[u8]| {
    if let Ok(seal) = Seal::from_der(data) {
        assert_eq!(seal.der(), data);
        let _ = verify_maker_signature(&seal);
    }
    if let Ok(sig) = Signature::from_der(data) {
        assert_eq!(sig.der(), data);
        let _ = sig.tbs_bytes();
        let _ = verify_signer_signature(&sig);
    }
});
