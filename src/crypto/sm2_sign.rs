//! SM2 signing (GB/T 32918.2 §6.1) with the per-key and per-batch work shared: `(1 + d)⁻¹` is
//! computed once per key, and the points `kG` of a batch are made affine together (Montgomery's
//! trick: one field inversion for the batch instead of one per signature). Bulk issuance signs
//! thousands of licences with one key, where these two inversions are a quarter of the cost.
//!
//! The `sm2` crate signs one digest at a time and recomputes both; this module uses its curve
//! arithmetic and derives each nonce exactly as it does (RFC 6979 with SM3 over the key and
//! the digest), so every signature is byte-identical to the crate's (the tests compare them).

use rfc6979::KGenerator;
use sm2::dsa::Signature;
use sm2::elliptic_curve::bigint::U256;
use sm2::elliptic_curve::group::{Curve as _, Group as _};
use sm2::elliptic_curve::ops::Reduce;
use sm2::elliptic_curve::point::AffineCoordinates as _;
use sm2::elliptic_curve::{Curve, PrimeField as _};
use sm2::{AffinePoint, FieldBytes, NonZeroScalar, ProjectivePoint, Scalar, Sm2};

use super::CryptoError;

/// An SM2 private key ready to sign many digests.
pub(crate) struct Sm2Signer {
    d: NonZeroScalar,
    /// `(1 + d)⁻¹ mod n`.
    d_plus_1_inv: Scalar,
}

impl Sm2Signer {
    /// Prepares `d` (nonzero; `1 + d = n` is refused: such a key cannot sign).
    pub(crate) fn new(d: NonZeroScalar) -> Result<Self, CryptoError> {
        let d_plus_1_inv = Option::<Scalar>::from((*d + Scalar::ONE).invert())
            .ok_or(CryptoError::InvalidPrivateKey)?;
        Ok(Self { d, d_plus_1_inv })
    }

    /// Signs each 32-byte digest `e = SM3(Z_A ‖ M)`, in order.
    pub(crate) fn sign_digests(&self, digests: &[[u8; 32]]) -> Result<Vec<Signature>, CryptoError> {
        let d = *self.d;
        let d_repr = d.to_repr();
        let mut es = Vec::with_capacity(digests.len());
        let mut ks = Vec::with_capacity(digests.len());
        let mut points = Vec::with_capacity(digests.len());
        for digest in digests {
            let e = <Scalar as Reduce<FieldBytes>>::reduce(&FieldBytes::from(*digest));
            let mut kgen =
                KGenerator::<sm3::Sm3, U256>::new(&d_repr, &e.to_bytes(), &[], &Sm2::ORDER);
            let mut k_bytes = FieldBytes::default();
            kgen.fill_next_k(&mut k_bytes);
            let k =
                Option::<Scalar>::from(Scalar::from_repr(k_bytes)).ok_or(CryptoError::Signing)?;
            points.push(ProjectivePoint::mul_by_generator(&k));
            es.push(e);
            ks.push(k);
        }
        let mut affine = vec![AffinePoint::IDENTITY; points.len()];
        ProjectivePoint::batch_normalize(&points, &mut affine);
        es.iter()
            .zip(&ks)
            .zip(&affine)
            .map(|((e, k), point)| {
                let r = *e + <Scalar as Reduce<FieldBytes>>::reduce(&point.x());
                // r = 0 or r + k = n: with probability 2⁻²⁵⁵, refused as the crate refuses it.
                if bool::from(r.is_zero() | (r + k).is_zero()) {
                    return Err(CryptoError::Signing);
                }
                let s = self.d_plus_1_inv * (*k - r * d);
                Signature::from_scalars(r, s).map_err(|_| CryptoError::Signing)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sm2::dsa::signature::hazmat::PrehashSigner as _;

    #[test]
    fn signatures_match_the_sm2_crate_byte_for_byte() {
        use sm2::pkcs8::DecodePrivateKey as _;
        let key = crate::crypto::PrivateKey::generate(crate::crypto::KeyType::Sm2).expect("key");
        let secret = sm2::SecretKey::from_pkcs8_der(&key.to_pkcs8_der()).expect("pkcs8");
        let reference =
            sm2::dsa::SigningKey::new(crate::crypto::SM2_DEFAULT_ID, &secret).expect("key");
        let signer = Sm2Signer::new(secret.to_nonzero_scalar()).expect("signer");
        let digests: Vec<[u8; 32]> = (0u8..40)
            .map(|i| crate::crypto::sm3(&[i; 100]))
            .chain([[0u8; 32], [0xff; 32]])
            .collect();
        let ours = signer.sign_digests(&digests).expect("sign");
        assert_eq!(ours.len(), digests.len());
        for (digest, sig) in digests.iter().zip(&ours) {
            let theirs: Signature = reference.sign_prehash(digest).expect("sign");
            assert_eq!(sig.to_bytes(), theirs.to_bytes());
        }
        // A batch of one, and the empty batch.
        let one = signer.sign_digests(&digests[..1]).expect("sign");
        assert_eq!(one[0].to_bytes(), ours[0].to_bytes());
        assert!(signer.sign_digests(&[]).expect("sign").is_empty());
    }
}
