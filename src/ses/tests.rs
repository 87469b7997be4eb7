//! Fixture, tolerance, hostile-input and round-trip tests.
use super::*;

const V1: &[u8] = include_bytes!("../../tests/data/ses/UserV1.esl");
const V4: &[u8] = include_bytes!("../../tests/data/ses/UserV4.esl");
const V5: &[u8] = include_bytes!("../../tests/data/ses/UserV5_ts.esl");
const SV4: &[u8] = include_bytes!("../../tests/data/ses/SignedValueV4.dat");
const SV5: &[u8] = include_bytes!("../../tests/data/ses/SignedValueV5.dat");

#[test]
fn smoke() {
    for f in [V1, V4, V5] {
        let s = Seal::from_der(f).expect("seal");
        println!("{:?} {:?} {:?}", s.version(), s.timestamp(), verify_maker_signature(&s));
    }
    for f in [SV4, SV5] {
        let s = Signature::from_der(f).expect("sig");
        println!("{:?} {:?} {:?}", s.version(), verify_signer_signature(&s), verify_maker_signature(s.seal()));
    }
}
