//! The two cryptographic checks (maker over the seal, signer over `TBS_Sign`)
//! and EC signature normalisation. No chains, trust or times here.

use crate::crypto::{PublicKey, SignatureAlgorithm, ec_signature};

use super::{Seal, SesError, Signature};

/// Map an SES signature-algorithm OID to the crate's algorithm, if SES may carry it: a
/// hash-then-sign algorithm, since `dataHash` is that hash (Ed25519 has none).
pub fn signature_algorithm(oid: &str) -> Option<SignatureAlgorithm> {
    SignatureAlgorithm::from_oid(oid).filter(|alg| alg.hash_algorithm().is_some())
}

/// The OID an SES structure names `alg` by, if SES may carry it ([`signature_algorithm`]).
pub fn signature_algorithm_oid(alg: SignatureAlgorithm) -> Option<&'static str> {
    alg.oid()
        .filter(|oid| signature_algorithm(oid) == Some(alg))
}

/// The public key of a DER X.509 certificate.
pub fn spki_of_cert(cert_der: &[u8]) -> Result<PublicKey, SesError> {
    key_of("X.509", cert_der)
}

fn key_of(which: &'static str, cert_der: &[u8]) -> Result<PublicKey, SesError> {
    let bad = |reason: String| SesError::Certificate { which, reason };
    let (rest, cert) = x509_parser::parse_x509_certificate(cert_der)
        .map_err(|e| bad(format!("not a DER X.509 certificate ({e})")))?;
    if !rest.is_empty() {
        return Err(bad(format!("{} bytes after the certificate", rest.len())));
    }
    PublicKey::from_spki_der(cert.tbs_certificate.subject_pki.raw).map_err(|e| bad(e.to_string()))
}

/// `recurring`: the signature is the same in every document (a seal maker's), so a success may
/// be remembered (`PublicKey::verify_recurring`).
fn check(
    which: &'static str,
    cert: &[u8],
    alg_oid: &str,
    message: &[u8],
    signature: &[u8],
    recurring: bool,
) -> Result<(), SesError> {
    let alg = signature_algorithm(alg_oid)
        .ok_or_else(|| SesError::UnsupportedAlgorithm(alg_oid.to_owned()))?;
    let key = key_of(which, cert)?;
    if !key.key_type().supports(alg) {
        return Err(SesError::KeyAlgorithmMismatch {
            which,
            alg: alg_oid.to_owned(),
        });
    }
    let verified = if recurring {
        key.verify_recurring(alg, message, signature)
    } else {
        key.verify(alg, message, signature)
    };
    verified.map_err(|_| SesError::BadSignature { which })
}

/// Verify the maker's signature over [`Seal::signed_bytes`] with the maker certificate's key.
pub fn verify_maker_signature(seal: &Seal) -> Result<(), SesError> {
    check(
        "maker",
        seal.maker_cert(),
        seal.sign_alg(),
        seal.signed_bytes(),
        seal.maker_signature(),
        true,
    )
}

/// Verify the signer's signature over the received `TBS_Sign` with the signer certificate's key.
pub fn verify_signer_signature(sig: &Signature) -> Result<(), SesError> {
    check(
        "signer",
        sig.signer_cert(),
        sig.sign_alg(),
        sig.tbs_bytes(),
        sig.signature(),
        false,
    )
}

fn is_ec(oid: &str) -> bool {
    // SM2 and the ECDSA family (1.2.840.10045.4.*).
    SignatureAlgorithm::Sm2Sm3.oid() == Some(oid) || oid.starts_with("1.2.840.10045.4.")
}

/// EC signatures as DER `SEQUENCE{r,s}`: a raw 64-byte `r‖s` (written by
/// some vendors instead of GB/T 35276 DER) is converted; anything else is
/// kept as received so verification reports it.
pub(crate) fn normalise_signature(alg_oid: &str, sig: &[u8]) -> Vec<u8> {
    if is_ec(alg_oid) {
        ec_signature::to_der(sig)
    } else {
        sig.to_vec()
    }
}
