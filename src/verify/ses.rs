//! Verification of GB/T 38540 / GM/T 0031 seals and signatures: the whole procedure of
//! GB/T 38540 §6.3 and §7.3 (docs/standards.md §1.7), not just the two signatures that reference
//! implementations stop at — format, maker and signer signatures over the received bytes,
//! certificate-list membership, seal and certificate validity at the signing time, both chains
//! with revocation, and the hash of the original.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use time::OffsetDateTime;

use super::clock::{not_in_future, revocation_check, rfc3339};
use super::signer::readable_name;
use crate::audit::signature_sha256;
use crate::crypto::{SignatureAlgorithm, sha256, sm3};
use crate::pki::{
    self, Certificate, RevocationReason, RevocationSource, RevocationStatus, TrustStore, Usage,
};
use crate::report::{Check, SealSummary, SignatureIdentity, SignatureReport, TimeSource, Verdict};
use crate::ses::{self, Seal, SesVersion, Signature, TimeInfo};

/// The reason `signature.data_hash` cannot decide: the signed original was not supplied, so
/// the signature is INDETERMINATE however intact it is.
pub const ORIGINAL_MISSING: &str = "original_missing";

/// Where a signature's signed original comes from.
#[derive(Debug, Clone, Copy)]
pub enum Original<'a> {
    /// The original bytes (for OFD: the `Signature.xml` file).
    Data(&'a [u8]),
    /// Not supplied: `dataHash` cannot be compared, the verdict is at best INDETERMINATE
    /// ([`ORIGINAL_MISSING`]).
    Absent,
}

/// The vault's revocation knowledge: what it revoked, and which issuers are its own (their
/// other certificates are known good). Foreign certificates are "unknown": the vault never
/// fetches CRLs or OCSP named in them (docs/threats.md §5.4: no outbound requests from verification).
#[derive(Debug, Clone, Default)]
pub struct Revocations {
    authorities: HashSet<String>,
    revoked: HashMap<String, (OffsetDateTime, Option<RevocationReason>)>,
}

impl Revocations {
    /// Revocation state from the vault's authority fingerprints and revoked certificates.
    pub fn new(
        authorities: HashSet<String>,
        revoked: HashMap<String, (OffsetDateTime, Option<RevocationReason>)>,
    ) -> Revocations {
        Revocations {
            authorities,
            revoked,
        }
    }

    /// The state as it stood at `at`: revocations made later are not yet known.
    pub fn as_of(&self, at: OffsetDateTime) -> Revocations {
        Revocations {
            authorities: self.authorities.clone(),
            revoked: self
                .revoked
                .iter()
                .filter(|(_, (when, _))| *when <= at)
                .map(|(k, v)| (k.clone(), *v))
                .collect(),
        }
    }
}

impl RevocationSource for Revocations {
    fn status(&self, cert: &Certificate, issuer: &Certificate) -> RevocationStatus {
        if let Some((at, reason)) = self.revoked.get(&cert.fingerprint_sha256()) {
            RevocationStatus::Revoked {
                at: *at,
                reason: *reason,
            }
        } else if self.authorities.contains(&issuer.fingerprint_sha256()) {
            RevocationStatus::Good
        } else {
            RevocationStatus::Unknown
        }
    }
}

/// Trust anchors plus revocation state: everything a verification needs, no database.
#[derive(Debug)]
pub struct Verifier {
    trust: Arc<TrustStore>,
    revocations: Revocations,
}

/// Outcome of the checks of one artefact, by what a failure means.
#[derive(Default)]
struct Tally {
    checks: Vec<Check>,
    /// A cryptographic, hash or format check failed.
    broken: bool,
    /// A policy check failed (validity period, certificate list, revoked before signing).
    refused: bool,
    /// A chain did not reach a trust anchor.
    untrusted: bool,
    /// A check could not be decided: the original is missing, or a seal checked on its own is
    /// outside its validity period at the verification time (not forged, not current).
    undecided: bool,
    revoked_at: Option<OffsetDateTime>,
}

enum Kind {
    Integrity,
    Policy,
    Undecidable,
}

impl Tally {
    fn push(&mut self, kind: Kind, check: Check) {
        if !check.ok {
            match kind {
                Kind::Integrity => self.broken = true,
                Kind::Policy => self.refused = true,
                Kind::Undecidable => self.undecided = true,
            }
        }
        self.checks.push(check);
    }

    fn note(&mut self, name: &str, detail: impl Into<String>) {
        self.checks.push(Check::new(name, true, detail));
    }

    fn verdict(&self) -> Verdict {
        if self.broken || self.refused {
            Verdict::Invalid
        } else if self.untrusted {
            Verdict::Untrusted
        } else if self.undecided {
            Verdict::Indeterminate
        } else {
            Verdict::Valid
        }
    }
}

fn kind_name(v: SesVersion) -> &'static str {
    match v {
        SesVersion::V1 => "ses-v1",
        SesVersion::V4 => "ses-v4",
        SesVersion::V5 => "ses-v5",
    }
}

fn within(at: OffsetDateTime, from: OffsetDateTime, to: OffsetDateTime) -> bool {
    from <= at && at <= to
}

/// The hash a signature's `dataHash` holds: SM3 with SM2 (GB/T 38540), SHA-256 otherwise.
pub fn data_hash(sign_alg: &str, data: &[u8]) -> [u8; 32] {
    match ses::signature_algorithm(sign_alg) {
        Some(SignatureAlgorithm::Sm2Sm3) | None => sm3(data),
        Some(_) => sha256(data),
    }
}

impl Verifier {
    /// A verifier trusting `trust`'s anchors, with the vault's revocation state.
    pub fn new(trust: Arc<TrustStore>, revocations: Revocations) -> Verifier {
        Verifier { trust, revocations }
    }

    /// The same verifier as a verifier at `at` would have been: revocations made after `at`
    /// are unknown to it (for a validation time in the past, DSS's "validation time").
    pub fn as_of(&self, at: OffsetDateTime) -> Verifier {
        Verifier::new(self.trust.clone(), self.revocations.as_of(at))
    }

    /// The vault's revocation state.
    pub fn revocations(&self) -> &Revocations {
        &self.revocations
    }

    /// The trust anchors and known intermediates.
    pub fn trust(&self) -> &TrustStore {
        &self.trust
    }

    /// Checks a certificate chain at `at` and records it under `prefix`; the certificate and,
    /// when the chain is trusted, the anchor it reaches.
    fn chain(
        &self,
        tally: &mut Tally,
        prefix: &str,
        cert_der: &[u8],
        at: OffsetDateTime,
        usage: Usage,
    ) -> Option<(Certificate, Option<String>)> {
        let cert = match Certificate::from_der(cert_der) {
            Ok(c) => c,
            Err(e) => {
                tally.push(
                    Kind::Integrity,
                    Check::new(format!("{prefix}.certificate"), false, e.to_string()),
                );
                return None;
            }
        };
        let validity_ok = within(at, cert.not_before(), cert.not_after());
        tally.push(
            Kind::Policy,
            Check::new(
                format!("{prefix}.validity"),
                validity_ok,
                format!(
                    "{} at {}; certificate valid {} to {}",
                    if validity_ok { "valid" } else { "NOT valid" },
                    rfc3339(at),
                    rfc3339(cert.not_before()),
                    rfc3339(cert.not_after())
                ),
            ),
        );
        let v = pki::validate(&cert, &[], &self.trust, at, usage, &self.revocations);
        if let Some(revoked) = v.revoked_at {
            tally.revoked_at = Some(tally.revoked_at.map_or(revoked, |r| r.min(revoked)));
            tally.push(
                Kind::Policy,
                revocation_check(&format!("{prefix}.revocation"), at, revoked),
            );
        }
        for c in v.checks {
            tally
                .checks
                .push(Check::new(format!("{prefix}.{}", c.name), c.ok, c.detail));
        }
        if !v.trusted {
            tally.untrusted = true;
        }
        let anchor = if v.trusted {
            v.chain.last().cloned()
        } else {
            None
        };
        Some((cert, anchor))
    }

    /// The seal's own checks; `at` is the signing time, or the verification time when
    /// `signed` is false (a seal on its own). Returns the anchor the maker's chain reaches.
    fn seal_checks(
        &self,
        tally: &mut Tally,
        seal: &Seal,
        at: OffsetDateTime,
        signed: bool,
    ) -> Option<String> {
        let maker = ses::verify_maker_signature(seal);
        tally.push(
            Kind::Integrity,
            Check::new(
                "seal.maker_signature",
                maker.is_ok(),
                match &maker {
                    Ok(()) => format!(
                        "maker signature ({}) verifies over SES_SealInfo",
                        seal.sign_alg()
                    ),
                    Err(e) => e.to_string(),
                },
            ),
        );
        // The maker signed at createDate; a maker certificate that expired since does not
        // unmake the seal (GM/T 0031-2025 makes that explicit).
        let maker_anchor = self
            .chain(
                tally,
                "seal.maker_chain",
                seal.maker_cert(),
                seal.create_date(),
                Usage::SealMaking,
            )
            .and_then(|(_, anchor)| anchor);
        let ok = within(at, seal.valid_start(), seal.valid_end());
        tally.push(
            if signed {
                Kind::Policy
            } else {
                Kind::Undecidable
            },
            Check::new(
                "seal.validity",
                ok,
                format!(
                    "seal valid {} to {}; checked at {}",
                    rfc3339(seal.valid_start()),
                    rfc3339(seal.valid_end()),
                    rfc3339(at)
                ),
            ),
        );
        if seal.timestamp().is_some() {
            tally.note(
                "seal.timestamp",
                "present; GB/T 20520 time-stamp tokens are not evaluated, createDate is used",
            );
        }
        maker_anchor
    }

    /// The seal's name and id, with its holder from the holder certificate when known.
    fn summary(seal: &Seal, holder: Option<&Certificate>) -> SealSummary {
        let (holder, holder_id) = holder
            .map(Certificate::subject_name)
            .map_or((None, None), |n| (n.seal_holder(), n.serial_number));
        SealSummary {
            name: seal.name().to_owned(),
            holder,
            holder_id,
            es_id: Some(seal.es_id().to_owned()),
            version: Some(seal.header_version()),
        }
    }

    /// Verifies a seal on its own, at `now`.
    pub fn verify_seal(&self, der: &[u8], now: OffsetDateTime) -> SignatureReport {
        let mut tally = Tally::default();
        let seal = match Seal::from_der(der) {
            Ok(s) => s,
            Err(e) => return unreadable("ses-seal", "seal.format", &e.to_string()),
        };
        tally.note(
            "seal.format",
            format!(
                "SESeal {:?}, header version {}",
                seal.version(),
                seal.header_version()
            ),
        );
        let anchor = self.seal_checks(&mut tally, &seal, now, false);
        let maker = Certificate::from_der(seal.maker_cert()).ok();
        // The holder: the first certificate the seal lists (a digest list names none).
        let holder = match seal.cert_list() {
            ses::CertList::Certs(certs) => {
                certs.first().and_then(|c| Certificate::from_der(c).ok())
            }
            ses::CertList::Digests(_) => None,
        };
        SignatureReport {
            kind: format!("{}-seal", kind_name(seal.version())),
            intact: !tally.broken,
            trusted: !tally.untrusted,
            identity: maker.as_ref().map(|c| SignatureIdentity {
                signer_fingerprint: c.fingerprint_sha256(),
                signature_sha256: Some(signature_sha256(seal.maker_signature())),
            }),
            signer: maker.as_ref().map(|c| c.subject().to_owned()),
            signer_name: maker.as_ref().map(readable_name),
            seal: Some(Self::summary(&seal, holder.as_ref())),
            signed_at: Some(seal.create_date()),
            signed_at_source: Some(TimeSource::CreateDate),
            trust_anchor: anchor,
            revoked_at: tally.revoked_at,
            verdict: tally.verdict(),
            checks: tally.checks,
            warnings: Vec::new(),
            handwriting: None,
        }
    }

    /// Verifies an SES_Signature against its original.
    pub fn verify_signature(
        &self,
        der: &[u8],
        original: Original<'_>,
        now: OffsetDateTime,
    ) -> SignatureReport {
        let sig = match Signature::from_der(der) {
            Ok(s) => s,
            Err(e) => return unreadable("ses", "signature.format", &e.to_string()),
        };
        self.verify_parsed(&sig, original, now)
    }

    /// Verifies a decoded SES_Signature against its original.
    pub fn verify_parsed(
        &self,
        sig: &Signature,
        original: Original<'_>,
        now: OffsetDateTime,
    ) -> SignatureReport {
        let mut tally = Tally::default();
        tally.note(
            "signature.format",
            format!(
                "SES_Signature {:?}, TBS_Sign version {}",
                sig.version(),
                sig.tbs_version()
            ),
        );
        let (at, source) = match sig.time_info() {
            TimeInfo::Time(t) => {
                tally.push(
                    Kind::Policy,
                    not_in_future("signature.time_not_in_future", "timeInfo", *t, now),
                );
                (*t, TimeSource::TimeInfo)
            }
            TimeInfo::Opaque(_) => {
                tally.note("signature.time", "timeInfo is not a readable time; certificates checked at the verification time");
                (now, TimeSource::VerificationTime)
            }
        };
        let crypto = ses::verify_signer_signature(sig);
        tally.push(
            Kind::Integrity,
            Check::new(
                "signature.signer_signature",
                crypto.is_ok(),
                match &crypto {
                    Ok(()) => format!(
                        "signer signature ({}) verifies over TBS_Sign",
                        sig.sign_alg()
                    ),
                    Err(e) => e.to_string(),
                },
            ),
        );
        match original {
            Original::Data(data) => {
                let expected = data_hash(sig.sign_alg(), data);
                let ok = sig.data_hash() == expected.as_slice();
                tally.push(
                    Kind::Integrity,
                    Check::new(
                        "signature.data_hash",
                        ok,
                        if ok {
                            "dataHash equals the hash of the original".to_owned()
                        } else {
                            format!(
                                "dataHash {} differs from the original's {}",
                                hex::encode(sig.data_hash()),
                                hex::encode(expected)
                            )
                        },
                    ),
                );
            }
            Original::Absent => tally.push(
                Kind::Undecidable,
                Check::new(
                    "signature.data_hash",
                    false,
                    format!(
                        "{ORIGINAL_MISSING}: the signed original was not supplied, so dataHash \
                         was not compared; the signatures are intact over what they sign, but \
                         what that is remains unknown"
                    ),
                ),
            ),
        }
        let listed = sig.seal().cert_list().contains(sig.signer_cert());
        tally.push(
            Kind::Policy,
            Check::new(
                "signature.signer_in_cert_list",
                listed,
                if listed {
                    "the signer certificate is in the seal's certList"
                } else {
                    "the signer certificate is NOT in the seal's certList"
                },
            ),
        );
        let signer = self.chain(
            &mut tally,
            "signature.signer_chain",
            sig.signer_cert(),
            at,
            Usage::Signing,
        );
        if let Some((cert, _)) = &signer {
            let fits = match (ses::signature_algorithm(sig.sign_alg()), cert.public_key()) {
                (Some(alg), Ok(pk)) => pk.key_type().supports(alg),
                _ => false,
            };
            tally.push(
                Kind::Policy,
                Check::new(
                    "signature.algorithm",
                    fits,
                    format!(
                        "signatureAlgID {} {} the signer key",
                        sig.sign_alg(),
                        if fits { "fits" } else { "does not fit" }
                    ),
                ),
            );
        }
        self.seal_checks(&mut tally, sig.seal(), at, true);
        let (signer, anchor) = signer.unzip();
        if sig.timestamp().is_some() {
            tally.note(
                "signature.timestamp",
                "present; GB/T 20520 time-stamp tokens are not evaluated, timeInfo is used",
            );
        }
        let identity = signer.as_ref().map(|c| SignatureIdentity {
            signer_fingerprint: c.fingerprint_sha256(),
            signature_sha256: Some(signature_sha256(sig.signature())),
        });
        // A handwritten signature binds its capture in TBS_Sign's extDatas (signed bytes).
        let handwriting = sig
            .ext_datas()
            .iter()
            .find(|e| e.oid == crate::handsign::OID_HANDWRITING_BINDING)
            .map(|e| crate::handsign::Binding::from_der(&e.value));
        if let Some(None) = handwriting {
            tally.push(
                Kind::Integrity,
                Check::new(
                    "handwriting.binding",
                    false,
                    "the handwriting binding extension is not a HandwritingBinding",
                ),
            );
        }
        let handwriting = handwriting.flatten().map(|b| b.summary());
        SignatureReport {
            kind: if handwriting.is_some() {
                "ses-handwritten".to_owned()
            } else {
                kind_name(sig.version()).to_owned()
            },
            intact: !tally.broken,
            trusted: !tally.untrusted,
            signer: signer.as_ref().map(|c| c.subject().to_owned()),
            signer_name: signer.as_ref().map(readable_name),
            seal: Some(Self::summary(sig.seal(), signer.as_ref())),
            signed_at: Some(at),
            signed_at_source: Some(source),
            trust_anchor: anchor.flatten(),
            revoked_at: tally.revoked_at,
            verdict: tally.verdict(),
            checks: tally.checks,
            warnings: Vec::new(),
            handwriting,
            identity,
        }
    }
}

/// The report for an artefact that could not be decoded at all.
pub(crate) fn unreadable(kind: &str, check: &str, why: &str) -> SignatureReport {
    let mut report = SignatureReport::blank(kind);
    report.checks.push(Check::new(check, false, why));
    report
}

#[cfg(test)]
mod tests {
    use time::Duration;
    use time::macros::datetime;

    use super::*;
    use crate::crypto::{KeyType, PrivateKey};
    use crate::pki::{Name, self_signed};

    fn cert(cn: &str) -> Certificate {
        let key = PrivateKey::generate(KeyType::P256).expect("key");
        let t0 = datetime!(2025-01-01 0:00 UTC);
        self_signed(&key, &Name::cn(cn), t0, t0 + Duration::days(730)).expect("certificate")
    }

    #[test]
    fn revocations_as_of_a_time_forget_later_revocations() {
        let (leaf, issuer) = (cert("holder"), cert("issuing CA"));
        let revoked_at = datetime!(2026-01-01 0:00 UTC);
        let now = Revocations::new(
            HashSet::from([issuer.fingerprint_sha256()]),
            HashMap::from([(leaf.fingerprint_sha256(), (revoked_at, None))]),
        );
        let revoked = |r: &Revocations| matches!(r.status(&leaf, &issuer), RevocationStatus::Revoked { at, .. } if at == revoked_at);
        assert!(revoked(&now));
        assert!(revoked(&now.as_of(revoked_at)));
        let before = now.as_of(revoked_at - Duration::SECOND);
        assert!(matches!(
            before.status(&leaf, &issuer),
            RevocationStatus::Good
        ));
    }
}
