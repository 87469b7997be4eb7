//! SM2 and ECDSA signature values: DER `SEQUENCE { INTEGER r, INTEGER s }` is what this crate
//! writes and verifies, but some vendors (GB/T 35275 CMS, SES) write the raw fixed-width `r‖s`.

use der::asn1::{Any, AnyRef, UintRef};
use der::{Decode as _, Encode as _, Reader as _, SliceReader, Tag, Tagged as _};

use super::CryptoError;

/// Width of r and s on the curves supported here (SM2 and P-256).
const SCALAR_LEN: usize = 32;

/// A raw `r‖s` (two 32-byte big-endian scalars) as DER `SEQUENCE { INTEGER r, INTEGER s }`:
/// leading zeros dropped, a zero byte put back where the high bit is set.
pub fn der_from_raw(raw: &[u8]) -> Result<Vec<u8>, CryptoError> {
    if raw.len() != 2 * SCALAR_LEN {
        return Err(CryptoError::InvalidSignature);
    }
    let (r, s) = raw.split_at(SCALAR_LEN);
    let encode = || -> der::Result<Vec<u8>> {
        let body = [UintRef::new(r)?.to_der()?, UintRef::new(s)?.to_der()?].concat();
        Any::new(Tag::Sequence, body)?.to_der()
    };
    encode().map_err(|_| CryptoError::InvalidSignature)
}

/// A DER `SEQUENCE { INTEGER r, INTEGER s }` as the raw fixed-width `r‖s` compact formats carry
/// (JWS ES256, 亮证 tokens): each integer unsigned, at most 32 bytes, left-padded with zeros.
pub fn raw_from_der(der: &[u8]) -> Result<[u8; 2 * SCALAR_LEN], CryptoError> {
    let bad = |_| CryptoError::InvalidSignature;
    let seq = AnyRef::from_der(der).map_err(bad)?;
    if seq.tag() != Tag::Sequence {
        return Err(CryptoError::InvalidSignature);
    }
    let mut inner = SliceReader::new(seq.value()).map_err(bad)?;
    let mut out = [0u8; 2 * SCALAR_LEN];
    for half in out.chunks_mut(SCALAR_LEN) {
        let int = UintRef::decode(&mut inner).map_err(bad)?;
        let bytes = int.as_bytes();
        let at = SCALAR_LEN
            .checked_sub(bytes.len())
            .ok_or(CryptoError::InvalidSignature)?;
        half[at..].copy_from_slice(bytes);
    }
    if inner.is_finished() {
        Ok(out)
    } else {
        Err(CryptoError::InvalidSignature)
    }
}

/// Whether `sig` is one DER `SEQUENCE { INTEGER, INTEGER }` and nothing else.
pub fn is_der(sig: &[u8]) -> bool {
    let Ok(seq) = AnyRef::from_der(sig) else {
        return false;
    };
    let Ok(mut inner) = SliceReader::new(seq.value()) else {
        return false;
    };
    let mut integer = || AnyRef::decode(&mut inner).is_ok_and(|i| i.tag() == Tag::Integer);
    seq.tag() == Tag::Sequence && integer() && integer() && inner.is_finished()
}

/// `sig` in the DER form verification takes: a 64-byte value that is not DER is read as a
/// raw `r‖s`; anything else is kept as received, for verification to judge.
pub fn to_der(sig: &[u8]) -> Vec<u8> {
    if sig.len() == 2 * SCALAR_LEN && !is_der(sig) {
        der_from_raw(sig).unwrap_or_else(|_| sig.to_vec())
    } else {
        sig.to_vec()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::crypto::{KeyType, PrivateKey};

    fn raw(r: [u8; 32], s: [u8; 32]) -> Vec<u8> {
        [r, s].concat()
    }

    #[test]
    fn leading_zeros_are_dropped() {
        let mut r = [0u8; 32];
        r[31] = 0x05;
        let mut s = [0u8; 32];
        s[2..].fill(0x11);
        let der = der_from_raw(&raw(r, s)).unwrap();
        let mut want = vec![0x30, 3 + 32, 0x02, 0x01, 0x05, 0x02, 30];
        want.extend_from_slice(&[0x11; 30]);
        assert_eq!(der, want);
        assert!(is_der(&der));
    }

    #[test]
    fn high_bit_gets_a_zero_byte() {
        let der = der_from_raw(&raw([0x80; 32], [0xFF; 32])).unwrap();
        assert_eq!(der.len(), 2 + 2 * 35);
        assert_eq!(&der[..4], &[0x30, 70, 0x02, 33]);
        assert_eq!(der[4], 0);
        assert_eq!(&der[37..40], &[0x02, 33, 0]);
        // Zero is one zero byte, as DER wants.
        let zero = der_from_raw(&[0; 64]).unwrap();
        assert_eq!(zero, [0x30, 6, 0x02, 1, 0, 0x02, 1, 0]);
    }

    #[test]
    fn raw_and_der_round_trip() {
        let mut r = [0u8; 32];
        r[31] = 0x05;
        for rs in [raw(r, [0x80; 32]), raw([0xFF; 32], [0; 32])] {
            assert_eq!(
                raw_from_der(&der_from_raw(&rs).unwrap()).unwrap().to_vec(),
                rs
            );
        }
        // Trailing bytes, a third integer, or a 33-byte magnitude are not a signature.
        let mut der = der_from_raw(&raw(r, r)).unwrap();
        der.push(0);
        assert!(raw_from_der(&der).is_err());
        assert!(raw_from_der(&[0x30, 3, 0x02, 1, 1]).is_err());
        let long = [&[0x30u8, 38, 0x02, 33, 1][..], &[0; 32], &[0x02, 1, 1]].concat();
        assert!(raw_from_der(&long).is_err());
    }

    #[test]
    fn wrong_length_is_refused() {
        for len in [0, 32, 63, 65, 72, 96] {
            assert_eq!(
                der_from_raw(&vec![1; len]),
                Err(CryptoError::InvalidSignature),
                "{len}"
            );
        }
    }

    #[test]
    fn raw_signatures_verify_once_converted() {
        for kt in [KeyType::Sm2, KeyType::P256] {
            let key = PrivateKey::generate(kt).unwrap();
            let alg = kt.default_signature_algorithm();
            let der = key.sign(alg, b"message").unwrap();
            assert!(is_der(&der));
            assert_eq!(to_der(&der), der);
            let rs = match kt {
                KeyType::Sm2 => sm2::dsa::Signature::from_der(&der)
                    .unwrap()
                    .to_bytes()
                    .to_vec(),
                _ => p256::ecdsa::Signature::from_der(&der)
                    .unwrap()
                    .to_bytes()
                    .to_vec(),
            };
            assert!(!is_der(&rs));
            assert_eq!(to_der(&rs), der);
            assert_eq!(raw_from_der(&der).unwrap().to_vec(), rs);
            assert!(
                key.public_key()
                    .verify(alg, b"message", &to_der(&rs))
                    .is_ok()
            );
        }
        // Neither DER nor 64 bytes: kept for verification to refuse.
        assert_eq!(to_der(&[1, 2, 3]), [1, 2, 3]);
    }
}
