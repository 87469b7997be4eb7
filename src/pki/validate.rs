//! Chain validation of any certificate against configured trust anchors.

use std::path::Path;

use time::OffsetDateTime;

use super::PkiError;
use super::cert::{Certificate, OID_ANY_EKU, OID_KP_TIME_STAMPING, ku, names_match};
use super::crl::{Crl, RevocationReason};
use crate::crypto::SignatureAlgorithm;
use crate::report::Check;

/// Longest path built, in certificates including the leaf and the anchor.
pub const MAX_PATH_LEN: usize = 8;
/// Candidate paths evaluated at most (bounds work on adversarial intermediate sets).
const MAX_PATHS: usize = 8;

/// Trust anchors plus known intermediates.
///
/// An anchor is trusted by configuration: its own signature, basicConstraints absence and
/// issuer are not checked (any certificate may be an anchor, e.g. a foreign end-entity
/// certificate a deployment trusts directly). Its validity period is still checked.
#[derive(Debug, Clone, Default)]
pub struct TrustStore {
    anchors: Vec<Certificate>,
    intermediates: Vec<Certificate>,
}

impl TrustStore {
    /// An empty store (nothing is trusted).
    pub fn new() -> Self {
        Self::default()
    }

    /// Trust `c` as an anchor (duplicates are ignored).
    pub fn add_anchor(&mut self, c: Certificate) {
        if !self.anchors.contains(&c) {
            self.anchors.push(c);
        }
    }

    /// Make `c` available for path building (not trusted by itself).
    pub fn add_intermediate(&mut self, c: Certificate) {
        if !self.intermediates.contains(&c) {
            self.intermediates.push(c);
        }
    }

    /// Adds every certificate in the `*.pem`, `*.crt` and `*.cer` files of `dir` (not
    /// recursive; PEM bundles or single DER certificates) as anchors, in file-name order.
    /// Returns how many certificates were read; any unreadable file is an error.
    pub fn load_pem_dir(&mut self, dir: &Path) -> Result<usize, PkiError> {
        let io = |path: &Path, e: std::io::Error| PkiError::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        };
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(|e| io(dir, e))? {
            let path = entry.map_err(|e| io(dir, e))?.path();
            let ext = path
                .extension()
                .and_then(|e| e.to_str())
                .map(str::to_ascii_lowercase);
            if path.is_file() && matches!(ext.as_deref(), Some("pem" | "crt" | "cer")) {
                files.push(path);
            }
        }
        files.sort();
        let mut count = 0;
        for path in files {
            let bytes = std::fs::read(&path).map_err(|e| io(&path, e))?;
            let certs = match std::str::from_utf8(&bytes) {
                Ok(text) if text.contains("-----BEGIN") => Certificate::parse_pem_bundle(text),
                _ => Certificate::from_der(&bytes).map(|c| vec![c]),
            }
            .map_err(|e| PkiError::Io {
                path: path.display().to_string(),
                message: e.to_string(),
            })?;
            count += certs.len();
            for c in certs {
                self.add_anchor(c);
            }
        }
        Ok(count)
    }

    /// The configured anchors.
    pub fn anchors(&self) -> &[Certificate] {
        &self.anchors
    }

    /// The known intermediates.
    pub fn intermediates(&self) -> &[Certificate] {
        &self.intermediates
    }
}

/// Revocation state of one certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevocationStatus {
    /// Known not revoked.
    Good,
    /// Revoked at `at`.
    Revoked {
        /// When it was revoked.
        at: OffsetDateTime,
        /// Why, if known.
        reason: Option<RevocationReason>,
    },
    /// No information.
    Unknown,
}

/// Where revocation information comes from (the vault's own records, CRLs, …).
pub trait RevocationSource {
    /// Status of `cert`, issued by `issuer` (for a certificate trusted directly as an anchor,
    /// `issuer` is the certificate itself).
    fn status(&self, cert: &Certificate, issuer: &Certificate) -> RevocationStatus;
}

/// No revocation information: every certificate is [`RevocationStatus::Unknown`], which
/// validation reports as a passing check with detail "revocation status unknown".
#[derive(Debug, Clone, Copy, Default)]
pub struct NoRevocation;

impl RevocationSource for NoRevocation {
    fn status(&self, _cert: &Certificate, _issuer: &Certificate) -> RevocationStatus {
        RevocationStatus::Unknown
    }
}

/// Revocation from CRLs: a CRL counts for a certificate only if its signature verifies with
/// the certificate's issuer. Listed → Revoked; covered by such a CRL but not listed → Good;
/// no such CRL → Unknown. CRL freshness (nextUpdate) is the caller's policy.
#[derive(Debug, Clone, Default)]
pub struct CrlRevocation {
    crls: Vec<Crl>,
}

impl CrlRevocation {
    /// A source over these CRLs.
    pub fn new(crls: Vec<Crl>) -> Self {
        CrlRevocation { crls }
    }
}

impl RevocationSource for CrlRevocation {
    fn status(&self, cert: &Certificate, issuer: &Certificate) -> RevocationStatus {
        let mut covered = false;
        for crl in self
            .crls
            .iter()
            .filter(|c| c.verify_signature(issuer).is_ok())
        {
            covered = true;
            if let Some((at, reason)) = crl.revoked(&cert.serial_hex()) {
                return RevocationStatus::Revoked { at, reason };
            }
        }
        if covered {
            RevocationStatus::Good
        } else {
            RevocationStatus::Unknown
        }
    }
}

/// What the leaf certificate will be used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Usage {
    /// Signing documents or seals: keyUsage, when present, has digitalSignature or
    /// nonRepudiation; a critical extendedKeyUsage restricting the key to time stamping /
    /// OCSP fails.
    Signing,
    /// Signing SES_SealInfo as seal maker (制章者): the same rules as [`Usage::Signing`] (no
    /// standard marks maker certificates apart).
    SealMaking,
    /// Signing RFC 3161 time stamps: extendedKeyUsage must contain id-kp-timeStamping, and
    /// keyUsage, when present, digitalSignature or nonRepudiation.
    TimeStamping,
    /// No usage requirement.
    Any,
}

/// Outcome of [`validate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validation {
    /// A path to an anchor was found and every check on it passed.
    pub trusted: bool,
    /// Subjects (RFC 4514) from the leaf to the anchor; just the leaf if no path was found.
    pub chain: Vec<String>,
    /// Every check made on the chosen path, in order.
    pub checks: Vec<Check>,
    /// Earliest revocation time found on the path, whether before or after `at`.
    pub revoked_at: Option<OffsetDateTime>,
}

/// Validates `leaf` at time `at` for `usage`.
///
/// Path building: from the leaf, issuers are looked up among the store's anchors first, then
/// the store's intermediates and `extra_intermediates`, by issuer/subject name (byte-equal
/// DER, or equal RFC 4514 strings ignoring case and extra spaces) and, when the child has an
/// authorityKeyIdentifier and the candidate a subjectKeyIdentifier, equal key identifiers.
/// A path ends at the first anchor; no certificate appears twice; at most
/// [`MAX_PATH_LEN`] certificates. A leaf byte-equal to an anchor is trusted directly (path of
/// one). When several paths exist, the first fully valid one is reported, otherwise the first.
///
/// Checks on a path `c[0]` (leaf) … `c[n]` (anchor), with stable names:
/// - `chain.path`: a path was found (if not, the only other checks are on the leaf);
/// - `chain.signature[i]` (i < n): `c[i]`'s signature over its received TBS bytes verifies
///   with `c[i+1]`'s key — SM2-with-SM3 (default ID 1234567812345678), ECDSA P-256/SHA-256,
///   RSA PKCS#1 v1.5 SHA-256, Ed25519; anything else fails as "unsupported signature
///   algorithm <oid>", as does an outer algorithm differing from the TBS one;
/// - `chain.validity[i]` (all, anchor included): notBefore ≤ `at` ≤ notAfter;
/// - `chain.extensions[i]` (all): no critical extension that validation does not process,
///   and no unparsable known extension;
/// - `chain.basic_constraints[i]` (i ≥ 1): cA TRUE (an anchor without the extension is
///   accepted, being trusted by configuration) and pathLenConstraint ≥ the number of
///   non-self-issued intermediates below it;
/// - `chain.ca_key_usage[i]` (i ≥ 1): keyUsage, when present, has keyCertSign;
/// - `chain.key_usage` and `chain.extended_key_usage`: the leaf fits `usage` (see [`Usage`]);
/// - `chain.revocation` (leaf) and `chain.revocation[i]` (intermediates): a status of
///   Revoked at or before `at` fails and sets `revoked_at`; Revoked after `at` passes but
///   still sets `revoked_at` (the caller decides what a later revocation means); Unknown
///   passes with detail "revocation status unknown".
///
/// `trusted` is true only if a path was found and every check passed.
pub fn validate(
    leaf: &Certificate,
    extra_intermediates: &[Certificate],
    store: &TrustStore,
    at: OffsetDateTime,
    usage: Usage,
    revocation: &dyn RevocationSource,
) -> Validation {
    if store.anchors.contains(leaf) {
        let mut v = evaluate(&[leaf], at, usage, revocation);
        v.checks.insert(
            0,
            Check::new("chain.path", true, "the certificate is a trust anchor"),
        );
        v.trusted = v.checks.iter().all(|c| c.ok);
        return v;
    }
    let mut paths = Vec::new();
    let mut current = vec![leaf];
    extend(&mut current, store, extra_intermediates, &mut paths);
    if paths.is_empty() {
        let mut checks = vec![Check::new(
            "chain.path",
            false,
            format!(
                "no path to a trust anchor: issuer {:?} not found",
                leaf.issuer()
            ),
        )];
        checks.push(validity_check(0, leaf, at));
        return Validation {
            trusted: false,
            chain: vec![leaf.subject().to_owned()],
            checks,
            revoked_at: None,
        };
    }
    let mut first = None;
    for path in &paths {
        let mut v = evaluate(path, at, usage, revocation);
        let anchor = path.last().map_or("", |c| c.subject());
        v.checks.insert(
            0,
            Check::new(
                "chain.path",
                true,
                format!("{} certificate(s) up to anchor {anchor:?}", path.len()),
            ),
        );
        v.trusted = v.checks.iter().all(|c| c.ok);
        if v.trusted {
            return v;
        }
        first.get_or_insert(v);
    }
    first.unwrap_or_else(|| Validation {
        trusted: false,
        chain: vec![leaf.subject().to_owned()],
        checks: Vec::new(),
        revoked_at: None,
    })
}

/// Whether `cand` can be the issuer of `child`.
fn issued_by(child: &Certificate, cand: &Certificate) -> bool {
    if !names_match(
        child.issuer_der(),
        child.issuer(),
        cand.subject_der(),
        cand.subject(),
    ) {
        return false;
    }
    match (
        child.authority_key_identifier(),
        cand.subject_key_identifier(),
    ) {
        (Some(aki), Some(ski)) => aki == ski,
        _ => true,
    }
}

fn extend<'a>(
    path: &mut Vec<&'a Certificate>,
    store: &'a TrustStore,
    extra: &'a [Certificate],
    out: &mut Vec<Vec<&'a Certificate>>,
) {
    let Some(cur) = path.last().copied() else {
        return;
    };
    if path.len() >= MAX_PATH_LEN {
        return;
    }
    for anchor in &store.anchors {
        if out.len() < MAX_PATHS && !path.contains(&anchor) && issued_by(cur, anchor) {
            let mut done = path.clone();
            done.push(anchor);
            out.push(done);
        }
    }
    for cand in store.intermediates.iter().chain(extra) {
        if out.len() >= MAX_PATHS {
            return;
        }
        if store.anchors.contains(cand) || path.contains(&cand) || !issued_by(cur, cand) {
            continue;
        }
        path.push(cand);
        extend(path, store, extra, out);
        path.pop();
    }
}

fn evaluate(
    path: &[&Certificate],
    at: OffsetDateTime,
    usage: Usage,
    revocation: &dyn RevocationSource,
) -> Validation {
    let mut checks = Vec::new();
    let mut revoked_at: Option<OffsetDateTime> = None;
    let n = path.len() - 1;
    for (i, cert) in path.iter().enumerate() {
        if i < n {
            let (ok, detail) = match check_signature(cert, path[i + 1]) {
                Ok(d) => (true, d),
                Err(d) => (false, d),
            };
            checks.push(Check::new(format!("chain.signature[{i}]"), ok, detail));
        }
        checks.push(validity_check(i, cert, at));
        checks.push(extensions_check(i, cert));
        if i >= 1 {
            checks.push(ca_check(i, cert, path, i == n));
            let (ok, detail) = match cert.key_usage_bits() {
                None => (true, "no keyUsage extension".to_owned()),
                Some(b) if b & ku::KEY_CERT_SIGN != 0 => (true, "keyCertSign set".to_owned()),
                Some(_) => (false, "issuer keyUsage lacks keyCertSign".to_owned()),
            };
            checks.push(Check::new(format!("chain.ca_key_usage[{i}]"), ok, detail));
        }
    }
    checks.extend(usage_checks(path[0], usage));
    // Revocation of every certificate below the anchor; a directly trusted leaf is asked
    // about with itself as issuer.
    let revocable = if n == 0 { 1 } else { n };
    for i in 0..revocable {
        let issuer = path.get(i + 1).copied().unwrap_or(path[i]);
        let name = if i == 0 {
            "chain.revocation".to_owned()
        } else {
            format!("chain.revocation[{i}]")
        };
        let (ok, detail) = match revocation.status(path[i], issuer) {
            RevocationStatus::Good => (true, "not revoked".to_owned()),
            RevocationStatus::Unknown => (true, "revocation status unknown".to_owned()),
            RevocationStatus::Revoked { at: when, reason } => {
                revoked_at = Some(revoked_at.map_or(when, |r| r.min(when)));
                let why = reason.map_or(String::new(), |r| format!(" ({r})"));
                if when <= at {
                    (false, format!("revoked at {}{why}", rfc3339(when)))
                } else {
                    (
                        true,
                        format!(
                            "revoked at {}{why}, after the validation time {}",
                            rfc3339(when),
                            rfc3339(at)
                        ),
                    )
                }
            }
        };
        checks.push(Check::new(name, ok, detail));
    }
    Validation {
        trusted: checks.iter().all(|c| c.ok),
        chain: path.iter().map(|c| c.subject().to_owned()).collect(),
        checks,
        revoked_at,
    }
}

fn check_signature(child: &Certificate, issuer: &Certificate) -> Result<String, String> {
    let oid = child.signature_algorithm_oid();
    if oid != child.tbs_signature_algorithm_oid() {
        return Err("signatureAlgorithm differs from the algorithm inside tbsCertificate".into());
    }
    let alg = SignatureAlgorithm::from_oid(oid)
        .ok_or_else(|| format!("unsupported signature algorithm {oid}"))?;
    let key = issuer
        .public_key()
        .map_err(|e| format!("issuer public key: {e}"))?;
    key.verify_recurring(alg, child.tbs_der(), child.signature_value())
        .map_err(|e| format!("{} signature does not verify: {e}", alg.as_str()))?;
    Ok(format!(
        "{} signature by {:?} verifies",
        alg.as_str(),
        issuer.subject()
    ))
}

fn validity_check(i: usize, cert: &Certificate, at: OffsetDateTime) -> Check {
    let (nb, na) = (cert.not_before(), cert.not_after());
    let (ok, detail) = if at < nb {
        (false, format!("not valid before {}", rfc3339(nb)))
    } else if at > na {
        (false, format!("expired at {}", rfc3339(na)))
    } else {
        (
            true,
            format!("valid from {} to {}", rfc3339(nb), rfc3339(na)),
        )
    };
    Check::new(format!("chain.validity[{i}]"), ok, detail)
}

fn extensions_check(i: usize, cert: &Certificate) -> Check {
    let mut problems = Vec::new();
    for e in cert.extensions() {
        if let Some(err) = &e.parse_error {
            problems.push(format!("extension {} cannot be parsed: {err}", e.oid));
        } else if e.critical && !e.understood {
            problems.push(format!("unknown critical extension {}", e.oid));
        }
    }
    let detail = if problems.is_empty() {
        "no unprocessed critical extension".to_owned()
    } else {
        problems.join("; ")
    };
    Check::new(
        format!("chain.extensions[{i}]"),
        problems.is_empty(),
        detail,
    )
}

fn ca_check(i: usize, cert: &Certificate, path: &[&Certificate], is_anchor: bool) -> Check {
    let name = format!("chain.basic_constraints[{i}]");
    match cert.basic_constraints() {
        None if is_anchor => Check::new(name, true, "trust anchor without basicConstraints"),
        None => Check::new(name, false, "issuer has no basicConstraints: not a CA"),
        Some((false, _)) => Check::new(name, false, "issuer has basicConstraints cA FALSE"),
        Some((true, None)) => Check::new(name, true, "CA without path length limit"),
        Some((true, Some(limit))) => {
            // Intermediates between this CA and the leaf; self-issued ones do not count.
            let below = path[1..i].iter().filter(|c| !c.is_self_issued()).count();
            let ok = u64::try_from(below).is_ok_and(|b| b <= u64::from(limit));
            let detail = format!("pathLenConstraint {limit}, {below} intermediate CA(s) below");
            Check::new(name, ok, detail)
        }
    }
}

fn usage_checks(leaf: &Certificate, usage: Usage) -> Vec<Check> {
    let signing_bits = ku::DIGITAL_SIGNATURE | ku::NON_REPUDIATION;
    let ku_check = match (usage, leaf.key_usage_bits()) {
        (Usage::Any, _) => (true, "no usage required".to_owned()),
        (_, None) => (true, "no keyUsage extension: unrestricted".to_owned()),
        (_, Some(b)) if b & signing_bits != 0 => {
            (true, "digitalSignature or nonRepudiation set".to_owned())
        }
        (_, Some(_)) => (
            false,
            "keyUsage has neither digitalSignature nor nonRepudiation".to_owned(),
        ),
    };
    let eku = leaf.extended_key_usage();
    let eku_check = match (usage, eku) {
        (Usage::Any, _) => (true, "no usage required".to_owned()),
        (Usage::TimeStamping, Some((_, list)))
            if list.iter().any(|o| o == OID_KP_TIME_STAMPING) =>
        {
            (true, "id-kp-timeStamping present".to_owned())
        }
        (Usage::TimeStamping, _) => (
            false,
            "extendedKeyUsage lacks id-kp-timeStamping".to_owned(),
        ),
        (_, Some((true, list)))
            if !list.iter().any(|o| o == OID_ANY_EKU)
                && list
                    .iter()
                    .all(|o| o == OID_KP_TIME_STAMPING || o == "1.3.6.1.5.5.7.3.9") =>
        {
            (
                false,
                "critical extendedKeyUsage restricts the key to time stamping / OCSP".to_owned(),
            )
        }
        (_, _) => (true, "extendedKeyUsage permits signing".to_owned()),
    };
    vec![
        Check::new("chain.key_usage", ku_check.0, ku_check.1),
        Check::new("chain.extended_key_usage", eku_check.0, eku_check.1),
    ]
}

/// Times in check details, e.g. `2026-11-24T17:37:00Z`.
fn rfc3339(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}
