//! Handwritten e-signatures (电子签名): signers an approval system enrolled with the identity it
//! verified, each with a P-256 and an SM2 key certified by the vault's handwritten signers' CAs;
//! one-time capture sessions behind `/sign/{token}`; signing a PDF with the handwriting drawn as
//! paths and a PAdES signature that binds the capture's and the consent text's digests, the
//! capture kept wrapped as evidence in the same transaction as the signature's audit entry;
//! cancellation (注销), after which the signer signs nothing; the evidence a verification
//! compares; the comparison of a capture with the signer's references.
//!
//! Personal data: the ID number is kept only as a keyed hash and a masked form, the phone only
//! masked; the full name only in the signer's certificate, which the signer's signatures carry
//! anyway. Captures (biometric) are stored only wrapped under the master key, bound to their row.

use ring::rand::SecureRandom;
use time::{Duration, OffsetDateTime};

use std::sync::Arc;

use super::ledger::{Issuance, Op, SignedAs, now_ms, unix_ms};
use super::ofd_stamping::{StampedOfd, ofd_date_time};
use super::pki::{Family, Role, cert_row, publication_points};
use super::seals::{ses_oid, ses_time};
use super::stamping::Stamped;
use super::{AuthClient, Vault, new_key_row, random_id, unwrap_key};
use crate::audit::{Action, Actor, Event};
use crate::cms;
use crate::crypto::{KeyType, PrivateKey, SignatureAlgorithm, sha256};
use crate::error::{Error, Result};
use crate::handsign::compare::{self, Comparison};
use crate::handsign::pdf::{PdfSignError, PdfSigning};
use crate::handsign::{Binding, Capture, OID_HANDWRITING_BINDING, draw};
use crate::ofd;
use crate::pdf::{self, PT_PER_MM};
use crate::pki::{self, Certificate, Name, Profile, RevocationReason};
use crate::ses::{self, SealInfoParams};
use crate::store::{AuditedTx, EvidenceRow, KeyPurpose, SessionRow, SignerRow};
use crate::verify::ses::data_hash;
use crate::verify::{Check, Report, Verdict};

/// The check a handwritten signature's evidence adds to its report.
const EVIDENCE_CHECK: &str = "handwriting.evidence";

/// The scope that enrols signers, opens sessions and signs.
pub const SIGN_SCOPE: &str = "sign";

/// How long a signer's certificates are valid: a short life, as the identity check behind it
/// ages (a signer is enrolled again after it).
const CERT_DAYS: i64 = 365;

/// A capture link's default and longest life.
const SESSION_TTL: Duration = Duration::minutes(15);
const SESSION_TTL_MAX: Duration = Duration::hours(24);

/// How many reference signatures one call adds, and a signer keeps at most.
const REFERENCES_PER_CALL: std::ops::RangeInclusive<usize> = 3..=5;
const MAX_REFERENCES: usize = 10;

/// Room in `/Contents` beyond the certificates and the signature value.
const CMS_OVERHEAD: usize = 2048;

/// How an approval system verified the signer's identity.
const VERIFIED_BY: &[&str] = &["face", "bank_card", "counter"];

/// The identity documents a signer may be enrolled with.
const ID_TYPES: &[&str] = &[
    "resident_id",
    "passport",
    "hk_macao_permit",
    "taiwan_permit",
    "foreign_permanent_resident",
];

/// What an approval system asserts about a signer it verified.
#[derive(Debug, Clone)]
pub struct Enrolment {
    /// The signer's legal name.
    pub name: String,
    /// One of `resident_id`, `passport`, `hk_macao_permit`, `taiwan_permit`,
    /// `foreign_permanent_resident`.
    pub id_type: String,
    /// The document's number (a 公民身份号码 is checked).
    pub id_number: String,
    /// A phone number.
    pub phone: String,
    /// `face`, `bank_card` or `counter`.
    pub verified_by: String,
}

/// A signer as the approval system that enrolled it sees it.
#[derive(Debug, Clone)]
pub struct Signer {
    /// The row (masked identity, keys, status).
    pub row: SignerRow,
    /// The P-256 certificate.
    pub cert: Certificate,
    /// The SM2 certificate.
    pub sm2_cert: Certificate,
}

/// A capture session just opened: the token is shown once, in the link.
#[derive(Debug, Clone)]
pub struct OpenedSession {
    /// The session's id (for polling).
    pub id: String,
    /// The path of the page the signer opens (`/sign/<token>`).
    pub url: String,
    /// When the link stops working (ms).
    pub expires_at: i64,
}

/// Where the handwriting goes on the page.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SignPlacement {
    /// 1-based page.
    pub page: usize,
    /// Left edge, from the page's left.
    pub x: f64,
    /// Bottom edge, from the page's bottom.
    pub y: f64,
    /// Width of the signature box.
    pub width: f64,
    /// Height of the signature box.
    pub height: f64,
    /// `mm` or `pt`.
    pub unit: Unit,
}

/// The unit of a placement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Millimetres.
    Mm,
    /// PDF points (1/72 inch).
    Pt,
}

/// A checked placement in millimetres.
#[derive(Debug, Clone, Copy)]
struct Area {
    page: usize,
    x_mm: f64,
    y_mm: f64,
    width_mm: f64,
    height_mm: f64,
}

impl SignPlacement {
    /// The placement in millimetres, checked.
    fn resolve(&self) -> Result<Area> {
        let to_mm = match self.unit {
            Unit::Mm => 1.0,
            Unit::Pt => 1.0 / PT_PER_MM,
        };
        let bad = |m: &str| Error::InvalidRequest(format!("placement: {m}"));
        if self.page == 0 {
            return Err(bad("`page` counts from 1"));
        }
        for (v, name) in [(self.x, "x"), (self.y, "y")] {
            if !v.is_finite() || !(0.0..=5_000.0).contains(&(v * to_mm)) {
                return Err(bad(&format!("`{name}` must lie on the page")));
            }
        }
        let (w, h) = (self.width * to_mm, self.height * to_mm);
        if !w.is_finite()
            || !h.is_finite()
            || !(5.0..=300.0).contains(&w)
            || !(3.0..=300.0).contains(&h)
        {
            return Err(bad("the box must be 5–300 mm wide and 3–300 mm high"));
        }
        Ok(Area {
            page: self.page,
            x_mm: self.x * to_mm,
            y_mm: self.y * to_mm,
            width_mm: w,
            height_mm: h,
        })
    }
}

/// What signs one handwritten signature: the signer, its key of one family, the certificate
/// and the signers' CA above it.
struct SigningKey {
    row: SignerRow,
    key_id: String,
    key: Arc<PrivateKey>,
    cert: Certificate,
    ca: Certificate,
}

/// `text` trimmed, refused unless 1..=`max` characters without control characters.
fn field(text: &str, name: &str, max: usize) -> Result<String> {
    let t = text.trim();
    if t.is_empty() || t.chars().count() > max || t.chars().any(char::is_control) {
        return Err(Error::InvalidField(format!(
            "{name}: must be 1 to {max} characters without control characters"
        )));
    }
    Ok(t.to_owned())
}

/// The name with all but its first character masked (张三 → 张*).
fn mask_name(name: &str) -> String {
    name.chars()
        .enumerate()
        .map(|(i, c)| if i == 0 || c == ' ' { c } else { '*' })
        .collect()
}

/// The phone number with all but its first three and last four digits masked.
fn mask_phone(phone: &str) -> String {
    let n = phone.chars().count();
    phone
        .chars()
        .enumerate()
        .map(|(i, c)| if i < 3 || i + 4 >= n { c } else { '*' })
        .collect()
}

/// The AAD that binds a wrapped capture to where it is kept.
fn capture_aad(kind: &str, id: &str) -> Vec<u8> {
    format!("sidian/v1/handsign-{kind}\0{id}").into_bytes()
}

impl Vault {
    /// Enrols a signer: checks the asserted identity, makes its P-256 and SM2 keys and their
    /// certificates under the handwritten signers' CAs, and stores it, all in one audited change.
    pub async fn enrol_signer(&self, client: &AuthClient, req: &Enrolment) -> Result<Signer> {
        client.require(SIGN_SCOPE)?;
        let name = field(&req.name, "name", 64)?;
        if !ID_TYPES.contains(&req.id_type.as_str()) {
            return Err(Error::InvalidField(format!(
                "id_type: must be one of {}",
                ID_TYPES.join(", ")
            )));
        }
        let id_number = req.id_number.trim().to_ascii_uppercase();
        let id_masked = if req.id_type == "resident_id" {
            crate::ident::check_id_number(&id_number).map_err(Error::InvalidIdNumber)?;
            crate::ident::mask_id_number(&id_number)
        } else {
            if !(4..=32).contains(&id_number.len())
                || !id_number.bytes().all(|b| b.is_ascii_alphanumeric())
            {
                return Err(Error::InvalidField(
                    "id_number: must be 4 to 32 letters and digits".into(),
                ));
            }
            crate::ident::mask_text(&id_number)
        };
        let phone = req.phone.trim();
        let digits = phone.bytes().filter(u8::is_ascii_digit).count();
        if !(5..=20).contains(&digits)
            || !phone
                .bytes()
                .all(|b| b.is_ascii_digit() || b == b'+' || b == b'-' || b == b' ')
        {
            return Err(Error::InvalidField(
                "phone: must be 5 to 20 digits (with `+`, `-` or spaces)".into(),
            ));
        }
        if !VERIFIED_BY.contains(&req.verified_by.as_str()) {
            return Err(Error::InvalidField(
                "verified_by: must be `face`, `bank_card` or `counter`".into(),
            ));
        }
        let inner = &self.inner;
        let now = OffsetDateTime::now_utc()
            .replace_nanosecond(0)
            .unwrap_or_else(|_| OffsetDateTime::now_utc());
        let id = random_id(&inner.rng, "sgr")?;
        let mut plan = Issuance::default();
        let mut made = Vec::new();
        for family in [Family::P256, Family::Sm2] {
            let kt = match family {
                Family::P256 => KeyType::P256,
                Family::Sm2 => KeyType::Sm2,
            };
            let (key_row, key_event) = new_key_row(
                &inner.master,
                &inner.rng,
                self.config(),
                kt,
                &client.id,
                KeyPurpose::HandwrittenSigner,
                client.actor(),
            )?;
            let ca = inner.authorities.get(family, Role::Signer)?;
            let public = crate::crypto::PublicKey::from_spki_der(&key_row.public_key)?;
            let subject = Name {
                common_name: name.clone(),
                organization: None,
                // X.520 serialNumber is a PrintableString, which has no `*`: the masked number
                // goes in the OU, a UTF8String.
                organizational_unit: Some(format!("{} {id_masked}", req.id_type)),
                serial_number: None,
                country: Some("CN".into()),
            };
            let start = (now - Duration::hours(1)).max(ca.cert.not_before());
            let cert = pki::issue_published(
                &ca.cert,
                &ca.key,
                &public,
                &subject,
                Profile::HandwrittenSigner,
                &pki::random_serial()?,
                (
                    start,
                    (now + Duration::days(CERT_DAYS)).min(ca.cert.not_after()),
                ),
                publication_points(self.config(), &ca.name).as_ref(),
            )?;
            let (crow, cevent) = cert_row(
                &cert,
                Some(&ca.name),
                "handwritten-signer",
                &key_row.id,
                &inner.rng,
                client.actor(),
            )?;
            made.push((key_row.id.clone(), crow.id.clone(), cert));
            plan.keys.push((key_row, key_event));
            plan.certs.push((crow, cevent.with("signer", id.as_str())));
        }
        let [(key_id, cert_id, cert), (sm2_key_id, sm2_cert_id, sm2_cert)]: [_; 2] = made
            .try_into()
            .map_err(|_| Error::Corrupt("two keys were made".into()))?;
        let row = SignerRow {
            id: id.clone(),
            client_id: client.id.clone(),
            name_masked: mask_name(&name),
            id_type: req.id_type.clone(),
            id_hmac: super::licences::holder_id_hmac(&inner.master, &id_number),
            id_masked,
            phone_masked: mask_phone(phone),
            verified_by: req.verified_by.clone(),
            key_id,
            cert_id,
            sm2_key_id,
            sm2_cert_id,
            status: "active".into(),
            created_at: now_ms(),
            cancelled_at: None,
        };
        let event = Event::new(
            client.actor(),
            Action::SignerEnrolled,
            format!("signer:{id}"),
        )
        .with("id_type", row.id_type.as_str())
        .with("id_hmac", row.id_hmac.as_str())
        .with("verified_by", row.verified_by.as_str())
        .with("key", row.key_id.as_str())
        .with("sm2_key", row.sm2_key_id.as_str());
        plan.signer = Some((row.clone(), event));
        self.apply(Op::Issue(Box::new(plan))).await?;
        Ok(Signer {
            row,
            cert,
            sm2_cert,
        })
    }

    /// A signer the client enrolled (404 for anyone else's).
    pub async fn signer(&self, client: &AuthClient, id: &str) -> Result<Signer> {
        client.require(SIGN_SCOPE)?;
        let row = self.owned_signer(client, id).await?;
        let store = &self.inner.store;
        let cert = |cert_id: String| async move {
            let row = store
                .cert(&cert_id)
                .await?
                .ok_or_else(|| Error::Corrupt(format!("certificate {cert_id} is missing")))?;
            Certificate::from_der(&row.der).map_err(|e| Error::Corrupt(e.to_string()))
        };
        Ok(Signer {
            cert: cert(row.cert_id.clone()).await?,
            sm2_cert: cert(row.sm2_cert_id.clone()).await?,
            row,
        })
    }

    async fn owned_signer(&self, client: &AuthClient, id: &str) -> Result<SignerRow> {
        match self.inner.store.signer(id).await? {
            Some(row) if row.client_id == client.id || client.allows("admin") => Ok(row),
            _ => Err(Error::NotFound("signer")),
        }
    }

    /// Cancels (注销) a signer: its certificates revoked, its keys disabled, in one audited
    /// change. What it signed before stays verifiable as signed before the cancellation.
    pub async fn cancel_signer(
        &self,
        client: &AuthClient,
        id: &str,
        reason: &str,
    ) -> Result<Signer> {
        client.require(SIGN_SCOPE)?;
        let reason = field(reason, "reason", 512)?;
        let row = self.owned_signer(client, id).await?;
        self.apply(Op::CancelSigner {
            id: id.to_owned(),
            owner: row.client_id,
            reason,
            actor: client.actor(),
        })
        .await?;
        self.refresh_verifier().await?;
        self.signer(client, id).await
    }

    /// Adds 3–5 reference signatures (checked captures) to an active signer; returns how many
    /// it has.
    pub async fn add_references(
        &self,
        client: &AuthClient,
        id: &str,
        captures: &[Capture],
    ) -> Result<usize> {
        client.require(SIGN_SCOPE)?;
        if !REFERENCES_PER_CALL.contains(&captures.len()) {
            return Err(Error::InvalidRequest(
                "`references` must hold 3 to 5 captures".into(),
            ));
        }
        for c in captures {
            c.check()?;
        }
        let row = self.owned_signer(client, id).await?;
        let have = self.inner.store.signer_references(id).await?.len();
        if have + captures.len() > MAX_REFERENCES {
            return Err(Error::Conflict(format!(
                "a signer keeps at most {MAX_REFERENCES} references; it has {have}"
            )));
        }
        let mut wrapped = Vec::new();
        for (k, c) in captures.iter().enumerate() {
            let seq = have + k + 1;
            wrapped.push(self.inner.master.wrap(
                self.config().wrap_alg,
                &c.canonical(),
                &capture_aad("reference", &format!("{id}/{seq}")),
            )?);
        }
        let digests: Vec<String> = captures
            .iter()
            .map(|c| hex::encode(sha256(&c.canonical())))
            .collect();
        let event = Event::new(
            client.actor(),
            Action::SignerReferencesAdded,
            format!("signer:{id}"),
        )
        .with("capture_sha256", digests);
        self.apply(Op::AddReferences {
            signer_id: id.to_owned(),
            owner: row.client_id,
            captures: wrapped,
            event,
        })
        .await?;
        Ok(have + captures.len())
    }

    /// Opens a one-time capture link for an active signer, showing `consent`.
    pub async fn open_signing_session(
        &self,
        client: &AuthClient,
        id: &str,
        consent: &str,
        ttl: Option<Duration>,
    ) -> Result<OpenedSession> {
        client.require(SIGN_SCOPE)?;
        let consent = consent.trim();
        if consent.is_empty()
            || consent.chars().count() > crate::handsign::capture::MAX_CONSENT
            || consent.chars().any(|c| c.is_control() && c != '\n')
        {
            return Err(Error::InvalidField(
                "consent: must be 1 to 2000 characters without control characters".into(),
            ));
        }
        let ttl = ttl.unwrap_or(SESSION_TTL);
        if ttl < Duration::minutes(1) || ttl > SESSION_TTL_MAX {
            return Err(Error::InvalidField(
                "ttl_seconds: must be from 60 to 86400".into(),
            ));
        }
        let row = self.owned_signer(client, id).await?;
        if row.status != "active" {
            return Err(Error::SignerCancelled);
        }
        let mut token = [0u8; 32];
        self.inner
            .rng
            .fill(&mut token)
            .map_err(|_| Error::Crypto(crate::crypto::CryptoError::Random))?;
        use base64::Engine as _;
        let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(token);
        let now = now_ms();
        let ttl_ms = i64::try_from(ttl.whole_milliseconds()).unwrap_or(i64::MAX);
        let session = SessionRow {
            id: random_id(&self.inner.rng, "sss")?,
            token_sha256: hex::encode(sha256(token.as_bytes())),
            signer_id: id.to_owned(),
            client_id: row.client_id,
            consent: consent.to_owned(),
            created_at: now,
            expires_at: now + ttl_ms,
            capture: None,
            captured_at: None,
        };
        self.inner.store.insert_signing_session(&session).await?;
        Ok(OpenedSession {
            id: session.id,
            url: format!("/sign/{token}"),
            expires_at: session.expires_at,
        })
    }

    /// The live, undrawn session behind a link's token and its signer (for the page).
    pub async fn signing_page(&self, token: &str) -> Result<(SessionRow, SignerRow)> {
        let store = &self.inner.store;
        let session = store
            .signing_session_by_token(&hex::encode(sha256(token.as_bytes())))
            .await?
            .filter(|s| s.capture.is_none() && s.expires_at > now_ms())
            .ok_or(Error::NotFound("signing session"))?;
        let signer = store
            .signer(&session.signer_id)
            .await?
            .filter(|s| s.status == "active")
            .ok_or(Error::NotFound("signing session"))?;
        Ok((session, signer))
    }

    /// Takes the capture drawn on a link's page: checked, its consent the session's, kept
    /// wrapped; a second submission is 409.
    pub async fn submit_capture(&self, token: &str, capture: &[u8]) -> Result<()> {
        let (session, _) = match self.signing_page(token).await {
            Ok(found) => found,
            Err(Error::NotFound(w)) => {
                // Drawn already (409) or gone (404): say which.
                let drawn = self
                    .inner
                    .store
                    .signing_session_by_token(&hex::encode(sha256(token.as_bytes())))
                    .await?
                    .is_some_and(|s| s.capture.is_some());
                return Err(if drawn {
                    Error::Conflict("this signature was submitted already".into())
                } else {
                    Error::NotFound(w)
                });
            }
            Err(e) => return Err(e),
        };
        let capture = Capture::from_json(capture)?;
        if capture.consent != session.consent {
            return Err(Error::InvalidField(
                "consent: must be exactly the text this signing link showed".into(),
            ));
        }
        let wrapped = self.inner.master.wrap(
            self.config().wrap_alg,
            &capture.canonical(),
            &capture_aad("session", &session.id),
        )?;
        if self
            .inner
            .store
            .capture_signing_session(&session.id, &wrapped, now_ms())
            .await?
        {
            Ok(())
        } else {
            Err(Error::Conflict(
                "this signature was submitted already".into(),
            ))
        }
    }

    /// A session the client opened for signer `id`: whether it was drawn, and the capture.
    pub async fn signing_session(
        &self,
        client: &AuthClient,
        id: &str,
        session_id: &str,
    ) -> Result<(SessionRow, Option<Capture>)> {
        client.require(SIGN_SCOPE)?;
        self.owned_signer(client, id).await?;
        let session = self
            .inner
            .store
            .signing_session(session_id)
            .await?
            .filter(|s| s.signer_id == id)
            .ok_or(Error::NotFound("signing session"))?;
        let capture = match &session.capture {
            Some(blob) => Some(self.unwrap_capture(blob, &capture_aad("session", &session.id))?),
            None => None,
        };
        Ok((session, capture))
    }

    fn unwrap_capture(&self, blob: &[u8], aad: &[u8]) -> Result<Capture> {
        let bytes = self.inner.master.unwrap(blob, aad)?;
        Capture::from_json(&bytes).map_err(|e| Error::Corrupt(format!("a kept capture: {e}")))
    }

    /// How consistent `capture` is with the signer's references (supporting evidence only).
    pub async fn compare_handwriting(
        &self,
        client: &AuthClient,
        id: &str,
        capture: &Capture,
    ) -> Result<Comparison> {
        client.require(SIGN_SCOPE)?;
        capture.check()?;
        self.owned_signer(client, id).await?;
        let mut references = Vec::new();
        for (k, blob) in self
            .inner
            .store
            .signer_references(id)
            .await?
            .iter()
            .enumerate()
        {
            references.push(
                self.unwrap_capture(blob, &capture_aad("reference", &format!("{id}/{}", k + 1)))?,
            );
        }
        if references.len() < 2 {
            return Err(Error::Conflict(
                "the signer has fewer than 2 reference signatures: add them first".into(),
            ));
        }
        let capture = capture.clone();
        self.verifying(move |_, _| compare::compare(&capture, &references))
            .await?
            .map_err(|e| Error::InvalidRequest(e.to_string()))
    }

    /// The active signer `id` of `client` with the key of `family`, its certificate (valid now)
    /// and the signers' CA of that family, for signing at `now`.
    async fn signing_key(
        &self,
        client: &AuthClient,
        id: &str,
        family: Family,
        now: OffsetDateTime,
    ) -> Result<SigningKey> {
        client.require(SIGN_SCOPE)?;
        let row = self.owned_signer(client, id).await?;
        if row.status != "active" {
            return Err(Error::SignerCancelled);
        }
        let (key_id, cert_id) = match family {
            Family::Sm2 => (row.sm2_key_id.clone(), row.sm2_cert_id.clone()),
            Family::P256 => (row.key_id.clone(), row.cert_id.clone()),
        };
        let store = &self.inner.store;
        let key_row = store
            .key(&key_id)
            .await?
            .ok_or_else(|| Error::Corrupt(format!("key {key_id} is missing")))?;
        let key = Arc::new(unwrap_key(&self.inner.master, &key_row)?);
        let cert = store
            .cert(&cert_id)
            .await?
            .ok_or_else(|| Error::Corrupt(format!("certificate {cert_id} is missing")))?;
        let cert = Certificate::from_der(&cert.der).map_err(|e| Error::Corrupt(e.to_string()))?;
        // An expired signer is enrolled again (a fresh identity check), as a cancelled one.
        if now < cert.not_before() || now > cert.not_after() {
            return Err(Error::SignerCancelled);
        }
        let ca = self
            .inner
            .authorities
            .get(family, Role::Signer)?
            .cert
            .clone();
        Ok(SigningKey {
            row,
            key_id,
            key,
            cert,
            ca,
        })
    }

    /// Records a handwritten signature (raw value `value`, binding `binding` of `canonical`)
    /// with its evidence, `event` completed; the result may be released only after this.
    async fn record_handwritten(
        &self,
        signer: &SigningKey,
        value: &[u8],
        binding: &Binding,
        canonical: &[u8],
        signed_at: i64,
        event: Event,
    ) -> Result<u64> {
        let signature_sha256 = hex::encode(crate::audit::signature_sha256(value));
        let evidence = EvidenceRow {
            signature_sha256: signature_sha256.clone(),
            signer_id: signer.row.id.clone(),
            capture: self.inner.master.wrap(
                self.config().wrap_alg,
                canonical,
                &capture_aad("evidence", &signature_sha256),
            )?,
            capture_digest: hex::encode(&binding.capture_digest),
            consent_digest: hex::encode(&binding.consent_digest),
            digest_alg: digest_name(binding.alg).to_owned(),
            created_at: now_ms(),
        };
        let event = event
            .with("key", signer.key_id.as_str())
            .with("capture_digest", evidence.capture_digest.as_str())
            .with("consent_digest", evidence.consent_digest.as_str())
            .with_signature(value);
        let outcome = self
            .apply(Op::RecordSignature {
                key_id: signer.key_id.clone(),
                owner: signer.row.client_id.clone(),
                signed_as: SignedAs::Handwritten(Box::new(evidence)),
                signed_at,
                event,
            })
            .await;
        match outcome {
            Ok(Some(index)) => {
                crate::metrics::signature(signer.key.key_type().as_str());
                Ok(index)
            }
            Ok(None) => Err(Error::Unavailable),
            Err(Error::KeyDisabled | Error::NotFound(_)) => Err(Error::SignerCancelled),
            Err(e) => Err(e),
        }
    }

    /// Signs a PDF by hand: the capture drawn at `placement`, a PAdES signature by the signer's
    /// P-256 key (`sm2`: its SM2 key) binding the capture and consent digests, released after
    /// its audit entry and evidence commit.
    pub async fn handsign_pdf(
        &self,
        client: &AuthClient,
        id: &str,
        input: Vec<u8>,
        capture: &Capture,
        placement: &SignPlacement,
        sm2: bool,
    ) -> Result<Stamped> {
        capture.check()?;
        let area = placement.resolve()?;
        // Whole seconds: CMS signingTime is a UTCTime and `/M` a PDF date, both to the second.
        let now = OffsetDateTime::now_utc()
            .replace_nanosecond(0)
            .unwrap_or_else(|_| OffsetDateTime::now_utc());
        let family = if sm2 { Family::Sm2 } else { Family::P256 };
        let signer = self.signing_key(client, id, family, now).await?;
        let canonical = capture.canonical();
        let binding = Binding::of(
            cms::digest_algorithm(signer.key.key_type()),
            &canonical,
            &capture.consent,
        );
        let art = draw::vector_art(capture, area.width_mm, area.height_mm);
        // Everything in the CMS is known here, so this is an upper bound: no second layout.
        let capacity = CMS_OVERHEAD
            + signer.cert.der().len()
            + signer.ca.der().len()
            + signer.key.key_type().max_signature_len();
        let (prepared, cms, digest) = {
            let (key, cert, ca, b) = (
                signer.key.clone(),
                signer.cert.clone(),
                signer.ca.clone(),
                binding.clone(),
            );
            let name = signer.row.name_masked.clone();
            self.verifying(move |_, _| {
                PdfSigning {
                    key: &key,
                    cert: &cert,
                    chain: std::slice::from_ref(&ca),
                    art: &art,
                    binding: &b,
                    name: &name,
                    placement: pdf::Placement {
                        page: area.page,
                        x: Some(area.x_mm * PT_PER_MM),
                        y: Some(area.y_mm * PT_PER_MM),
                        cross_page: false,
                    },
                    now,
                    capacity,
                }
                .sign(&input)
            })
            .await?
            .map_err(|e| match e {
                PdfSignError::Pdf(e) => Error::Pdf(e),
                PdfSignError::Cms(e) => Error::Cms(e),
            })?
        };
        let value = cms::signature_value(&cms).map_err(Error::Cms)?;
        let event = Event::new(
            client.actor(),
            Action::SignatureCreated,
            format!("signer:{id}"),
        )
        .with("format", "pdf")
        .with("field", prepared.field_name.as_str())
        .with("data_hash", hex::encode(&digest));
        // The signature states only its second: later cancellations come after it.
        let signed_at = unix_ms(now) + 999;
        let audit_index = self
            .record_handwritten(&signer, &value, &binding, &canonical, signed_at, event)
            .await?;
        Ok(Stamped {
            field: prepared.field_name.clone(),
            normalised: prepared.normalised,
            pdf: prepared.finish(&cms)?,
            signed_at: now,
            audit_index,
        })
    }

    /// Signs an OFD by hand (GB/T 33190 §18): a personal SESeal made for this signature, its
    /// picture the handwriting and its certificate the signer's SM2 one, signed by the vault's
    /// SM2 seal maker, and an SES_Signature by the signer's SM2 key whose TBS_Sign binds the
    /// capture and consent digests in its extDatas; `placement` from the page's top-left, as
    /// OFD measures. Released after its audit entry and evidence commit.
    pub async fn handsign_ofd(
        &self,
        client: &AuthClient,
        id: &str,
        input: Vec<u8>,
        capture: &Capture,
        placement: &SignPlacement,
    ) -> Result<StampedOfd> {
        capture.check()?;
        let area = placement.resolve()?;
        let now = ses_time(OffsetDateTime::now_utc());
        let signer = self.signing_key(client, id, Family::Sm2, now).await?;
        let canonical = capture.canonical();
        let binding = Binding::of(cms::DigestAlg::Sm3, &canonical, &capture.consent);
        let picture = draw::png(capture, area.width_mm, area.height_mm)
            .map_err(|e| Error::Corrupt(format!("drawing the handwriting: {e}")))?;
        let maker = self.inner.authorities.get(Family::Sm2, Role::Maker)?;
        // Whole millimetres, as SES_ESPictrueInfo states them; the OFD annotation takes the box.
        #[allow(clippy::cast_possible_truncation)]
        let mm = |v: f64| v.round().max(1.0) as i64;
        let info = ses::encode_seal_info(&SealInfoParams {
            vid: "sidian".into(),
            es_id: format!("HW{}", now.unix_timestamp_nanos() / 1_000_000),
            seal_type: 2,
            name: format!("{} 手写签名", signer.row.name_masked),
            certs: vec![signer.cert.der().to_vec()],
            create_date: now,
            valid_start: now,
            valid_end: signer.cert.not_after(),
            picture: ses::Picture {
                kind: "PNG".into(),
                data: picture,
                width_mm: mm(area.width_mm),
                height_mm: mm(area.height_mm),
            },
            ext_datas: Vec::new(),
        })?;
        let maker_alg = maker.key.key_type().default_signature_algorithm();
        let maker_sig = maker.key.sign(maker_alg, &info)?;
        let seal_der =
            ses::assemble_seal(&info, maker.cert.der(), ses_oid(maker_alg)?, &maker_sig)?;
        let template = ses::SealTemplate::new(seal_der.clone())?;
        let sign_alg = SignatureAlgorithm::Sm2Sm3;
        let sign_oid = ses_oid(sign_alg)?;
        let date_time = ofd_date_time(now)?;
        let prepared = {
            let size = (area.width_mm, area.height_mm);
            self.verifying(move |_, _| {
                ofd::prepare(
                    &input,
                    &ofd::StampOptions {
                        placement: &ofd::Placement::At {
                            page: area.page,
                            x: Some(area.x_mm),
                            y: Some(area.y_mm),
                        },
                        seal_esl: &seal_der,
                        size_mm: size,
                        method_oid: sign_oid,
                        date_time: &date_time,
                        provider: ("sidian", env!("CARGO_PKG_VERSION")),
                    },
                    &ofd::Limits::default(),
                )
            })
            .await??
        };
        let hash = data_hash(sign_oid, prepared.signature_xml());
        let tbs = template.tbs_sign_with(
            now,
            &hash,
            prepared.property_info(),
            &[ses::ExtData {
                oid: OID_HANDWRITING_BINDING.into(),
                critical: false,
                value: binding.to_der(),
            }],
        )?;
        let sig = signer.key.sign(sign_alg, tbs.der())?;
        let der = template.signature(&tbs, signer.cert.der(), sign_oid, &sig)?;
        let signature = prepared.property_info().to_owned();
        let event = Event::new(
            client.actor(),
            Action::SignatureCreated,
            format!("signer:{id}"),
        )
        .with("format", "ofd")
        .with("data_hash", hex::encode(hash))
        // The seal made for this signature: its maker signature is released with it.
        .with("seal_sm3", hex::encode(crate::crypto::sm3(template.der())))
        .with(
            "seal_maker_signature_sha256",
            hex::encode(crate::audit::signature_sha256(&maker_sig)),
        );
        let (audit_index, ofd) = tokio::try_join!(
            self.record_handwritten(&signer, &sig, &binding, &canonical, unix_ms(now), event),
            async { Ok::<_, Error>(self.verifying(move |_, _| prepared.finish(&der)).await??) },
        )?;
        Ok(StampedOfd {
            ofd,
            signature,
            signed_at: now,
            audit_index,
        })
    }

    /// Adds, to every handwritten signature of `report` whose signer this vault enrolled, the
    /// signer (masked), its status and whether the capture evidence kept for the signature
    /// still hashes to what it bound: a mismatch is INVALID (the evidence or the binding was
    /// replaced), evidence missing INDETERMINATE.
    pub(crate) async fn add_handwriting_findings(&self, report: &mut Report) -> Result<()> {
        for i in 0..report.signatures.len() {
            let sig = &report.signatures[i];
            let (Some(hw), Some(id)) = (&sig.handwriting, &sig.identity) else {
                continue;
            };
            let Some(signer) = self
                .inner
                .store
                .signer_by_cert_fingerprint(&id.signer_fingerprint)
                .await?
            else {
                continue;
            };
            let bound = Binding {
                alg: if hw.digest_alg == "sm3" {
                    cms::DigestAlg::Sm3
                } else {
                    cms::DigestAlg::Sha256
                },
                capture_digest: hex::decode(&hw.capture_digest).unwrap_or_default(),
                consent_digest: hex::decode(&hw.consent_digest).unwrap_or_default(),
            };
            let matched = match id.signature_sha256 {
                Some(sha) => {
                    self.evidence_matches(&hex::encode(sha), &signer.id, &bound)
                        .await?
                }
                None => None,
            };
            let signed_at = sig.signed_at;
            let sig = &mut report.signatures[i];
            let (check, verdict) = match matched {
                Some(true) => (
                    Check::new(
                        EVIDENCE_CHECK,
                        true,
                        "the pen capture this vault keeps as evidence hashes to the digests signed",
                    ),
                    None,
                ),
                Some(false) => (
                    Check::new(
                        EVIDENCE_CHECK,
                        false,
                        "the pen capture this vault keeps does not hash to the digests signed: \
                         the evidence or the signed binding was replaced",
                    ),
                    Some(Verdict::Invalid),
                ),
                None => (
                    Check::new(
                        EVIDENCE_CHECK,
                        false,
                        "this vault enrolled the signer but keeps no pen capture for this signature",
                    ),
                    Some(Verdict::Indeterminate),
                ),
            };
            let cancelled_at = signer.cancelled_at.and_then(|ms| {
                OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
            });
            if let Some(hw) = sig.handwriting.as_mut() {
                hw.evidence = match matched {
                    Some(true) => "matched",
                    Some(false) => "mismatch",
                    None => "missing",
                }
                .into();
                hw.signer = Some(signer.name_masked.clone());
                hw.verified_by = Some(signer.verified_by.clone());
                hw.signer_status = Some(signer.status.clone());
                hw.cancelled_at = cancelled_at;
                hw.signed_before_cancellation =
                    cancelled_at.map(|c| signed_at.is_some_and(|t| t < c));
            }
            if let Some(v) = verdict {
                report
                    .problems
                    .push(format!("signature {}: {}", i + 1, check.detail));
                sig.verdict = sig.verdict.worst(v);
                report.verdict = report.verdict.worst(v);
            }
            sig.checks.push(check);
        }
        Ok(())
    }

    /// Whether the evidence kept for the signature whose value hashes to `signature_sha256`
    /// (by `signer_id`) still hashes to `bound`; `None` when there is none.
    async fn evidence_matches(
        &self,
        signature_sha256: &str,
        signer_id: &str,
        bound: &Binding,
    ) -> Result<Option<bool>> {
        let Some(evidence) = self.inner.store.handsign_evidence(signature_sha256).await? else {
            return Ok(None);
        };
        if evidence.signer_id != signer_id {
            return Ok(Some(false));
        }
        Ok(Some(
            match self.unwrap_capture(
                &evidence.capture,
                &capture_aad("evidence", &evidence.signature_sha256),
            ) {
                Ok(capture) => {
                    Binding::of(bound.alg, &capture.canonical(), &capture.consent) == *bound
                }
                // A blob that does not open under its own row's binding was replaced.
                Err(_) => false,
            },
        ))
    }
}

/// The stored name of a digest algorithm.
fn digest_name(alg: cms::DigestAlg) -> &'static str {
    match alg {
        cms::DigestAlg::Sm3 => "sm3",
        _ => "sha256",
    }
}

/// Applies a cancellation under the log lock: the signer marked, both certificates revoked
/// (cessationOfOperation), both keys disabled, each change audited; no change if cancelled.
pub(super) async fn apply_cancel(
    tx: &mut AuditedTx,
    batch: &mut super::ledger::Batch,
    id: &str,
    owner: &str,
    reason: &str,
    actor: &Actor,
) -> Result<super::ledger::Outcome> {
    let signer = match tx.signer(id).await? {
        Some(s) if s.client_id == owner => s,
        _ => return Err(Error::NotFound("signer")),
    };
    let at = batch.revocation_time();
    if !tx.cancel_signer(id, at).await? {
        return Ok(None);
    }
    let code = RevocationReason::CessationOfOperation;
    for (key_id, cert_id) in [
        (&signer.key_id, &signer.cert_id),
        (&signer.sm2_key_id, &signer.sm2_cert_id),
    ] {
        if tx.revoke_cert(cert_id, at, code.as_str()).await? {
            let event = Event::new(
                actor.clone(),
                Action::CertificateRevoked,
                format!("certificate:{cert_id}"),
            )
            .with("reason", code.as_str())
            .with("signer", id);
            tx.append(event, at);
        }
        if tx.disable_key(key_id, owner, at).await? {
            tx.append(
                Event::new(actor.clone(), Action::KeyDisabled, format!("key:{key_id}")),
                at,
            );
        }
        batch.key_disabled(key_id);
    }
    let event = Event::new(
        actor.clone(),
        Action::SignerCancelled,
        format!("signer:{id}"),
    )
    .with("reason_sha256", hex::encode(sha256(reason.as_bytes())));
    Ok(Some(tx.append(event, at)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_keep_only_what_identifies_nobody() {
        assert_eq!(mask_name("张三丰"), "张**");
        assert_eq!(mask_phone("13800138000"), "138****8000");
    }

    #[test]
    fn placements_are_checked_and_converted() {
        let p = SignPlacement {
            page: 1,
            x: 20.0,
            y: 30.0,
            width: 50.0,
            height: 20.0,
            unit: Unit::Mm,
        };
        let area = p.resolve().expect("valid");
        assert_eq!(
            (area.width_mm, area.height_mm, area.x_mm),
            (50.0, 20.0, 20.0)
        );
        assert!(SignPlacement { page: 0, ..p }.resolve().is_err());
        assert!(SignPlacement { width: 1.0, ..p }.resolve().is_err());
        assert!(
            SignPlacement {
                width: 144.0,
                height: 72.0,
                unit: Unit::Pt,
                ..p
            }
            .resolve()
            .is_ok()
        );
    }
}
