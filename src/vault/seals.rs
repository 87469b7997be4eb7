//! Electronic seals: making them (holder key, holder certificate, GB/T 38540 SESeal signed by the
//! maker), signing with them (SES_Signature v4, audited), revoking them, and reading them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use time::{Duration, OffsetDateTime};

use super::ledger::{Issuance, Op, SignedAs, now_ms, unix_ms};
use super::pki::{Family, Role, cert_row, publication_points};
use super::{AuthClient, Vault, new_key_row, random_id};
use crate::audit::{Action, Event};
use crate::crypto::{KeyType, PrivateKey, SignatureAlgorithm, sm3};
use crate::error::{Error, Result};
use crate::ident::IdNumber;
use crate::pdf;
use crate::pki::{self, Certificate, Name, Profile, RevocationReason};
use crate::render::{self, NameSealShape, NameSealSpec, SealImageSpec};
use crate::ses::{self, Picture, SealInfoParams};
use crate::store::{KeyPurpose, SealRow};
use crate::verify::ses::data_hash;

/// The kinds of seal sidian makes, with their `SES_ESPropertyInfo.type` numbers.
///
/// GB/T 38540 leaves the numbering to "business needs"; GM/T 0031-2014 fixed only 1 = 单位印章
/// and 2 = 个人印章, which are kept; the others are sidian's (the tax test CA's invoice seal in
/// the fixtures uses 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealKind {
    /// 公章 (单位印章).
    Official,
    /// 个人印章.
    Personal,
    /// 发票专用章.
    Invoice,
    /// 合同专用章.
    Contract,
    /// 财务专用章.
    Finance,
    /// 业务专用章.
    Business,
}

impl SealKind {
    const ALL: [SealKind; 6] = [
        SealKind::Official,
        SealKind::Personal,
        SealKind::Invoice,
        SealKind::Contract,
        SealKind::Finance,
        SealKind::Business,
    ];

    /// The API name.
    pub fn as_str(self) -> &'static str {
        match self {
            SealKind::Official => "official",
            SealKind::Personal => "personal",
            SealKind::Invoice => "invoice",
            SealKind::Contract => "contract",
            SealKind::Finance => "finance",
            SealKind::Business => "business",
        }
    }

    /// The `SES_ESPropertyInfo.type` number.
    pub fn number(self) -> i64 {
        match self {
            SealKind::Official => 1,
            SealKind::Personal => 2,
            SealKind::Invoice => 3,
            SealKind::Contract => 4,
            SealKind::Finance => 5,
            SealKind::Business => 6,
        }
    }

    /// The purpose printed under the star when the seal's name does not carry one.
    fn purpose(self) -> &'static str {
        match self {
            SealKind::Official | SealKind::Personal => "",
            SealKind::Invoice => "发票专用章",
            SealKind::Contract => "合同专用章",
            SealKind::Finance => "财务专用章",
            SealKind::Business => "业务专用章",
        }
    }

    /// The kind of an API name or a type number.
    pub fn parse(s: &str) -> Option<SealKind> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s || k.number().to_string() == s)
    }

    fn of_number(n: i64) -> Option<SealKind> {
        Self::ALL.into_iter().find(|k| k.number() == n)
    }
}

/// The purpose line drawn under the star: what the seal name says after the holder's name
/// (某某局行政审批专用章 → 行政审批专用章), or a name that is itself a 专用章 (行政审批专用章),
/// else the kind's default. A purpose longer than the renderer's line keeps its end, cut after
/// the last organisation suffix so that no half of a name is drawn.
fn drawn_purpose<'a>(name: &'a str, holder: &str, kind: SealKind) -> &'a str {
    /// Characters that end an organisation's name (某某局, 某某公司, 某某中心 …).
    /// 会, 行 and 办 are left out: 会计, 行政 and 办公 begin purposes.
    const ORG_ENDINGS: [char; 12] = [
        '局', '司', '厅', '委', '院', '部', '处', '所', '室', '心', '站', '校',
    ];
    let name = name.trim();
    let holder = holder.trim();
    let rest = match name.find(holder).filter(|_| !holder.is_empty()) {
        Some(at) => name[at + holder.len()..].trim(),
        None if name.ends_with("专用章") => name,
        None => "",
    };
    if rest.is_empty() {
        return kind.purpose();
    }
    let max = render::seal::CENTER_TEXT_MAX_CHARS;
    if rest.chars().count() <= max {
        return rest;
    }
    // Too long for one line: the longest tail after an organisation suffix that fits, else the
    // last `max` characters.
    let tails = rest.char_indices().skip(1).map(|(i, _)| &rest[i..]);
    let mut fitting = tails.filter(|tail| tail.chars().count() <= max);
    let first_fit = fitting.clone().next().unwrap_or(rest);
    fitting
        .find(|tail| {
            let before = &rest[..rest.len() - tail.len()];
            before.ends_with(ORG_ENDINGS) && !tail.starts_with("专用章")
        })
        .unwrap_or(first_fit)
}

/// Who a seal is made for: a unit by its 统一社会信用代码, or (for a personal seal) a person by
/// the 公民身份号码.
#[derive(Debug, Clone)]
pub enum HolderId {
    /// 统一社会信用代码, checked when the seal is made.
    Uscc(String),
    /// 公民身份号码: kept and shown only masked.
    IdNumber(IdNumber),
}

impl HolderId {
    /// What the seal row keeps: the code, or the number masked.
    fn stored(&self) -> String {
        match self {
            HolderId::Uscc(code) => code.clone(),
            HolderId::IdNumber(id) => id.masked(),
        }
    }

    /// The GB/T 2260 region code that starts the esID: the one inside the 统一社会信用代码, or
    /// for a person the city's (the first four digits, which the masked number shows anyway,
    /// then 00).
    fn region(&self) -> String {
        match self {
            HolderId::Uscc(code) => crate::ident::uscc_region(code)
                .unwrap_or("000000")
                .to_owned(),
            HolderId::IdNumber(id) => format!("{}00", id.masked().get(..4).unwrap_or("0000")),
        }
    }

    /// The holder certificate's serialNumber. X.520 types it PrintableString, which has no
    /// `*`, so a masked number hides its digits behind `-` there (1101----------002X).
    fn serial_number(&self) -> String {
        match self {
            HolderId::Uscc(code) => code.clone(),
            HolderId::IdNumber(id) => id.masked().replace('*', "-"),
        }
    }
}

/// A request to make a seal.
#[derive(Debug, Clone)]
pub struct NewSeal {
    /// Seal name, e.g. 某某有限公司合同专用章.
    pub name: String,
    /// Kind of seal.
    pub kind: SealKind,
    /// Holder organisation name, or the person's name for a personal seal.
    pub holder_name: String,
    /// The holder's identifier: a 公民身份号码 for a personal seal, else a 统一社会信用代码.
    pub holder_id: HolderId,
    /// Start of validity (default: now).
    pub valid_from: Option<OffsetDateTime>,
    /// End of validity (default: five years after the start).
    pub valid_to: Option<OffsetDateTime>,
    /// PNG image; drawn by the vault when absent.
    pub image: Option<Vec<u8>>,
    /// Seal diameter (or width) in millimetres: 20–80 for a drawn round seal (default 42), 10–40
    /// for a drawn personal seal (default 18 square, 22 rectangular), 10–100 for an uploaded
    /// picture (default 42, 18 for a personal seal).
    pub size_mm: Option<u32>,
    /// Outline of a drawn personal seal (default square); for no other seal.
    pub shape: Option<NameSealShape>,
    /// Holder key type: sm2 (default), p256 or rsa2048.
    pub alg: KeyType,
    /// The approval system (client name) the seal is granted to; default the caller. Naming
    /// another one needs the `admin` scope: that is the seal authority making seals for others.
    pub grant_to: Option<String>,
}

/// A seal as shown to its holder.
#[derive(Debug, Clone)]
pub struct SealInfo {
    /// The stored row.
    pub row: SealRow,
    /// The kind, when it is one sidian knows.
    pub kind: Option<SealKind>,
    /// The holder certificate, PEM.
    pub cert_pem: String,
}

/// What to seal: the original, or its hash (SM3 for SM2 seals, SHA-256 for the others).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SealInput {
    /// The original bytes.
    Data(Vec<u8>),
    /// Their hash, 32 bytes.
    Digest(Vec<u8>),
}

/// A SES_Signature made with a seal.
#[derive(Debug, Clone)]
pub struct SealSigned {
    /// DER SES_Signature (v4).
    pub signature: Vec<u8>,
    /// `timeInfo`.
    pub signed_at: OffsetDateTime,
    /// The seal's esID.
    pub es_id: String,
    /// Index of the audit entry.
    pub audit_index: u64,
}

/// A seal loaded for signing.
pub(crate) struct LoadedSeal {
    owner: String,
    key_id: String,
    es_id: String,
    key: PrivateKey,
    alg: SignatureAlgorithm,
    alg_oid: &'static str,
    cert_der: Vec<u8>,
    template: ses::SealTemplate,
    valid_from: i64,
    valid_to: i64,
    /// Z_A of the holder key (SM2 seals).
    z_a: Option<[u8; 32]>,
    /// The holder certificate, parsed.
    cert: Certificate,
    /// The seal name (SESeal `name`).
    name: String,
    /// The seal picture as a PDF image, made on first use.
    pdf_image: OnceLock<Arc<pdf::SealImage>>,
    /// SM3 states after `Z_A ‖ TBS_Sign prefix up to the end of the seal`, keyed by the TBS
    /// length header: the seal (tens of kilobytes with its picture) is the same in every
    /// TBS_Sign of a seal, so a request hashes only its own tail.
    prefixes: Mutex<HashMap<Vec<u8>, sm3::Sm3>>,
}

/// Length-header variants kept per seal (one per distinct TBS length class in use).
const MAX_PREFIXES: usize = 16;

impl LoadedSeal {
    /// Refuses use outside the seal's validity period.
    pub(crate) fn check_valid_at(&self, now: OffsetDateTime) -> Result<()> {
        let now_ms = now.unix_timestamp() * 1000 + i64::from(now.millisecond());
        if now_ms < self.valid_from || now_ms > self.valid_to {
            return Err(Error::SealNotValid(format!(
                "valid {} to {}",
                ms_to_time(self.valid_from),
                ms_to_time(self.valid_to)
            )));
        }
        Ok(())
    }

    /// The seal picture as a PDF image XObject, converted once per loaded seal.
    pub(crate) fn pdf_image(&self) -> Result<Arc<pdf::SealImage>> {
        if let Some(i) = self.pdf_image.get() {
            return Ok(i.clone());
        }
        let seal = ses::Seal::from_der(self.template.der())?;
        let image = Arc::new(
            pdf::seal_image(seal.picture()).map_err(|e| Error::InvalidImage(e.to_string()))?,
        );
        Ok(self.pdf_image.get_or_init(|| image).clone())
    }

    /// The holder certificate.
    pub(crate) fn certificate(&self) -> &Certificate {
        &self.cert
    }

    /// The holder key.
    pub(crate) fn key(&self) -> &PrivateKey {
        &self.key
    }

    /// The holder key's type.
    pub(crate) fn key_type(&self) -> crate::crypto::KeyType {
        self.key.key_type()
    }

    /// The id of the holder key.
    pub(crate) fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The SESeal (DER), as `Seal.esl` holds it.
    pub(crate) fn seal_der(&self) -> &[u8] {
        self.template.der()
    }

    /// The size of the seal's picture as the SESeal gives it, mm (width, height).
    pub(crate) fn picture_mm(&self) -> (i64, i64) {
        self.template.picture_mm()
    }

    /// The OID of the holder key's signature algorithm (SES `signatureAlgID`).
    pub(crate) fn alg_oid(&self) -> &'static str {
        self.alg_oid
    }

    /// The seal's name.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// The digest the holder key signs for `tbs`: SM3(Z_A ‖ TBS) for SM2 (from the cached
    /// prefix state when `tbs` is laid out as [`ses::encode_tbs_sign`] makes it), else the
    /// algorithm's own message digest.
    fn tbs_digest(&self, tbs: &[u8]) -> Result<[u8; 32]> {
        use sm3::Digest;
        let Some(z_a) = self.z_a else {
            return Ok(self.key.public_key().message_digest(self.alg, tbs)?);
        };
        let header = match tbs.get(1) {
            Some(&b) if b & 0x80 == 0 => 2,
            Some(&b) => 2 + usize::from(b & 0x7f),
            None => return Err(Error::Corrupt("empty TBS_Sign".into())),
        };
        let seal_at = header + 3;
        let prefix_end = seal_at + self.template.der().len();
        let laid_out = tbs.get(header..seal_at) == Some(&[0x02, 0x01, 0x04][..])
            && tbs.get(seal_at..prefix_end) == Some(self.template.der());
        let mut state = if laid_out {
            let cached = self
                .prefixes
                .lock()
                .map_err(|_| Error::Unavailable)?
                .get(&tbs[..header])
                .cloned();
            match cached {
                Some(state) => state,
                None => {
                    let mut state = sm3::Sm3::new();
                    state.update(z_a);
                    state.update(&tbs[..prefix_end]);
                    let mut map = self.prefixes.lock().map_err(|_| Error::Unavailable)?;
                    if map.len() < MAX_PREFIXES {
                        map.insert(tbs[..header].to_vec(), state.clone());
                    }
                    state
                }
            }
        } else {
            let mut state = sm3::Sm3::new();
            state.update(z_a);
            state.update(&tbs[..prefix_end.min(tbs.len())]);
            state
        };
        state.update(tbs.get(prefix_end..).unwrap_or_default());
        Ok(state.finalize().into())
    }
}

/// Vendor id written into SES_Header.
const VID: &str = "sidian";
const MAX_IMAGE: usize = 512 * 1024;
/// Sizes an uploaded picture may be given: it is not redrawn, only shown at that size.
const UPLOADED_SIZE_MM: std::ops::RangeInclusive<u32> = 10..=100;

pub(crate) fn ses_oid(alg: SignatureAlgorithm) -> Result<&'static str> {
    ses::signature_algorithm_oid(alg)
        .ok_or_else(|| crate::crypto::CryptoError::UnsupportedAlgorithm.into())
}

/// `t` as an SES `timeInfo` states it. timeInfo carries milliseconds (a GeneralizedTime
/// fraction), the precision revocation times are stored at, so a verifier can tell a signature
/// from a revocation in the same second. DER drops a `.000` fraction, and a time without one is
/// read as covering its whole second: such a time moves to the next millisecond, so the
/// precision stays visible.
pub(crate) fn ses_time(t: OffsetDateTime) -> OffsetDateTime {
    let t = t.replace_millisecond(t.millisecond()).unwrap_or(t);
    match t.millisecond() {
        0 => t + Duration::MILLISECOND,
        _ => t,
    }
}

fn seconds(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_nanosecond(0).unwrap_or(t)
}

fn ms_to_time(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000)).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// Invisible characters that make two names look alike or reorder what is shown
/// (docs/threats.md §6.8): zero-width, bidi embeddings, overrides and isolates, word joiners, BOM.
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

/// A name that ends up in a certificate and a signed seal: bounded, no control or invisible
/// characters, no surrounding spaces.
fn text_field(name: &'static str, value: &str, max: usize) -> Result<()> {
    let n = value.chars().count();
    if n == 0
        || n > max
        || value.chars().any(|c| c.is_control() || is_invisible(c))
        || value.trim() != value
    {
        return Err(Error::InvalidRequest(format!(
            "`{name}` must be 1–{max} characters without control or invisible characters or surrounding spaces"
        )));
    }
    Ok(())
}

impl Vault {
    /// Makes a seal for `client`: holder key and certificate, image, SESeal signed by the maker.
    pub async fn create_seal(&self, client: &AuthClient, req: NewSeal) -> Result<SealInfo> {
        let (issuance, seal_row, cert_pem) = self.plan_seal(client, req, None).await?;
        self.apply(Op::Issue(Box::new(issuance))).await?;
        Ok(SealInfo {
            kind: SealKind::of_number(seal_row.seal_type),
            row: seal_row,
            cert_pem,
        })
    }

    /// Checks a seal request and makes what the seal is made of (holder key, certificate,
    /// SESeal) without storing it: the rows, the seal row and the certificate (PEM). The owner
    /// is `owner` when given (the vault's own seals), else the caller or `grant_to`.
    pub(crate) async fn plan_seal(
        &self,
        client: &AuthClient,
        req: NewSeal,
        owner: Option<String>,
    ) -> Result<(Issuance, SealRow, String)> {
        text_field("name", &req.name, 64)?;
        text_field("holder.name", &req.holder_name, 40)?;
        let personal = req.kind == SealKind::Personal;
        match &req.holder_id {
            HolderId::Uscc(_) if personal => {
                return Err(Error::InvalidRequest(
                    "a personal seal is held by a person: give `holder.id_number` (公民身份号码), \
                     not `holder.uscc`"
                        .into(),
                ));
            }
            HolderId::Uscc(code) => {
                crate::ident::check_uscc(code).map_err(|e| Error::InvalidUscc(e.to_string()))?;
            }
            HolderId::IdNumber(_) if !personal => {
                return Err(Error::InvalidRequest(
                    "only a personal seal is held by a person: give `holder.uscc` \
                     (统一社会信用代码), not `holder.id_number`"
                        .into(),
                ));
            }
            HolderId::IdNumber(_) => {}
        }
        if !matches!(req.alg, KeyType::Sm2 | KeyType::P256 | KeyType::Rsa2048) {
            return Err(Error::InvalidRequest(
                "`alg` must be sm2, p256 or rsa2048".into(),
            ));
        }
        // A personal seal the vault draws is a name seal; every other drawn seal is round.
        let name_shape =
            (personal && req.image.is_none()).then(|| req.shape.unwrap_or(NameSealShape::Square));
        if req.shape.is_some() && name_shape.is_none() {
            return Err(Error::InvalidRequest(
                "`shape` is for a personal seal the vault draws".into(),
            ));
        }
        let size_mm = req.size_mm.unwrap_or(if personal {
            name_shape
                .unwrap_or(NameSealShape::Square)
                .default_size_mm()
        } else {
            42
        });
        let (round, named) = (
            &render::seal::DIAMETER_RANGE_MM,
            &render::name_seal::SIZE_RANGE_MM,
        );
        let (fits, what, min, max) = match (&req.image, name_shape) {
            (Some(_), _) => (
                UPLOADED_SIZE_MM.contains(&size_mm),
                "an uploaded picture",
                UPLOADED_SIZE_MM.start().to_string(),
                UPLOADED_SIZE_MM.end().to_string(),
            ),
            (None, Some(_)) => (
                named.contains(&size_mm),
                "a drawn personal seal",
                named.start().to_string(),
                named.end().to_string(),
            ),
            (None, None) => (
                round.contains(&(size_mm as f32)),
                "a drawn seal",
                round.start().to_string(),
                round.end().to_string(),
            ),
        };
        if !fits {
            return Err(Error::InvalidRequest(format!(
                "`size_mm` of {what} must be {min}–{max}"
            )));
        }
        let now = seconds(OffsetDateTime::now_utc());
        let valid_from = seconds(req.valid_from.unwrap_or(now));
        let valid_to = seconds(
            req.valid_to
                .unwrap_or(valid_from + Duration::days(5 * 365 + 1)),
        );
        if valid_to <= valid_from {
            return Err(Error::InvalidRequest(
                "`valid_to` must be after `valid_from`".into(),
            ));
        }
        if valid_to <= now {
            return Err(Error::InvalidRequest("`valid_to` is in the past".into()));
        }
        let family = Family::of(req.alg);
        let issuing_until = self
            .inner
            .authorities
            .get(family, Role::Issuing)?
            .cert
            .not_after();
        if valid_to > issuing_until {
            return Err(Error::InvalidRequest(format!(
                "`valid_to` is after the issuing CA expires ({issuing_until})"
            )));
        }
        if let Some(png) = &req.image {
            if png.len() > MAX_IMAGE {
                return Err(Error::InvalidImage(format!(
                    "larger than {MAX_IMAGE} bytes"
                )));
            }
            render::png_dimensions(png).map_err(|e| Error::InvalidImage(e.to_string()))?;
        }
        let inner = self.inner.clone();
        let owner = match (owner, &req.grant_to) {
            (Some(owner), _) => owner,
            (None, None) => client.id.clone(),
            (None, Some(name)) => {
                client.require("admin")?;
                match self.inner.store.client_by_name(name).await? {
                    Some(c) if c.status == "active" => c.id,
                    _ => {
                        return Err(Error::InvalidRequest(format!(
                            "`grant_to`: no active client named `{}`",
                            name.chars().take(64).collect::<String>()
                        )));
                    }
                }
            }
        };
        let actor = client.actor();
        // Key generation (RSA), rendering and two signatures: keep them off the async workers.
        tokio::task::spawn_blocking(move || -> Result<_> {
            let drawn = match (req.image, name_shape) {
                (Some(png), _) => Ok(png),
                (None, Some(shape)) => render::render_name_seal(&NameSealSpec {
                    name: &req.holder_name,
                    shape,
                    size_mm,
                    dpi: render::seal::DEFAULT_DPI,
                }),
                (None, None) => render::render_official_seal(&SealImageSpec {
                    rim_text: &req.holder_name,
                    center_text: drawn_purpose(&req.name, &req.holder_name, req.kind),
                    bottom_code: None,
                    diameter_mm: size_mm as f32,
                    dpi: render::seal::DEFAULT_DPI,
                }),
            };
            let image = drawn.map_err(|e| match e {
                render::RenderError::MissingGlyph(_) => Error::UnsupportedCharacter(e.to_string()),
                other => Error::InvalidRequest(format!("`holder.name`: {other}")),
            })?;
            let (width_mm, height_mm) =
                name_shape.map_or((size_mm, size_mm), |shape| shape.picture_mm(size_mm));
            let (key_row, key_event) = new_key_row(
                &inner.master,
                &inner.rng,
                &inner.config,
                req.alg,
                &owner,
                KeyPurpose::Seal,
                actor.clone(),
            )?;
            let issuing = inner.authorities.get(family, Role::Issuing)?;
            let maker = inner.authorities.get(family, Role::Maker)?;
            let holder_key = crate::crypto::PublicKey::from_spki_der(&key_row.public_key)?;
            // A person is no organisation: the commonName alone names them.
            let subject = Name {
                common_name: req.holder_name.clone(),
                organization: (!personal).then(|| req.holder_name.clone()),
                organizational_unit: Some(req.name.clone()),
                serial_number: Some(req.holder_id.serial_number()),
                country: Some("CN".into()),
            };
            // A seal may be dated before the CA existed (paper seals being digitised); its
            // certificate cannot, and nothing can be signed before now anyway.
            let cert_from = valid_from.max(issuing.cert.not_before());
            let cert = pki::issue_published(
                &issuing.cert,
                &issuing.key,
                &holder_key,
                &subject,
                Profile::SealHolder,
                &pki::random_serial()?,
                (cert_from, valid_to),
                publication_points(&inner.config, &issuing.name).as_ref(),
            )?;
            let (cert_row, cert_event) = cert_row(
                &cert,
                Some(&issuing.name),
                "seal-holder",
                &key_row.id,
                &inner.rng,
                actor.clone(),
            )?;
            let es_id = format!(
                "{}{}",
                req.holder_id.region(),
                random_digits(&inner.rng, 8)?
            );
            let info = ses::encode_seal_info(&SealInfoParams {
                vid: VID.into(),
                es_id: es_id.clone(),
                seal_type: req.kind.number(),
                name: req.name.clone(),
                certs: vec![cert.der().to_vec()],
                create_date: now,
                valid_start: valid_from,
                valid_end: valid_to,
                picture: Picture {
                    kind: "PNG".into(),
                    data: image.clone(),
                    width_mm: i64::from(width_mm),
                    height_mm: i64::from(height_mm),
                },
                ext_datas: Vec::new(),
            })?;
            let maker_alg = maker.key.key_type().default_signature_algorithm();
            let maker_sig = maker.key.sign(maker_alg, &info)?;
            let seal_der =
                ses::assemble_seal(&info, maker.cert.der(), ses_oid(maker_alg)?, &maker_sig)?;
            let id = random_id(&inner.rng, "seal")?;
            let mut seal_event = Event::new(actor, Action::SealCreated, format!("seal:{id}"))
                .with("es_id", es_id.as_str())
                .with("kind", req.kind.as_str())
                .with("key", key_row.id.as_str())
                .with("certificate", cert_row.id.as_str())
                .with("seal_sm3", hex::encode(sm3(&seal_der)))
                // DER EC signatures are kept as they are: the seal's signature BIT STRING.
                .with_signature(&maker_sig);
            if let HolderId::IdNumber(number) = &req.holder_id {
                // Binds the seal to the whole number the vault checked. Keyed: the numbers
                // that pass GB 11643 are few enough to hash them all, so a plain hash in a
                // public log would be the number itself.
                seal_event = seal_event.with(
                    "holder_id_hmac",
                    super::licences::holder_id_hmac(&inner.master, number.reveal()),
                );
            }
            let row = SealRow {
                id,
                es_id,
                owner,
                name: req.name,
                seal_type: req.kind.number(),
                holder_name: req.holder_name,
                holder_id: req.holder_id.stored(),
                alg: req.alg.as_str().to_owned(),
                key_id: key_row.id.clone(),
                cert_id: cert_row.id.clone(),
                valid_from: valid_from.unix_timestamp() * 1000,
                valid_to: valid_to.unix_timestamp() * 1000,
                image,
                seal_der,
                status: "active".into(),
                created_at: now_ms(),
                revoked_at: None,
                revoke_reason: None,
            };
            let issuance = Issuance {
                keys: vec![(key_row, key_event)],
                certs: vec![(cert_row, cert_event)],
                seal: Some((row.clone(), seal_event)),
                ..Issuance::default()
            };
            Ok((issuance, row, cert.to_pem()))
        })
        .await
        .map_err(|_| Error::Unavailable)?
    }

    async fn seal_row(&self, client: &AuthClient, id: &str) -> Result<SealRow> {
        match self.inner.store.seal(id).await? {
            Some(row) if row.owner == client.id || client.allows("admin") => Ok(row),
            _ => Err(Error::NotFound("seal")),
        }
    }

    /// A seal the client holds (any seal with `admin`).
    pub async fn seal(&self, client: &AuthClient, id: &str) -> Result<SealInfo> {
        let row = self.seal_row(client, id).await?;
        let cert = self
            .inner
            .store
            .cert(&row.cert_id)
            .await?
            .ok_or_else(|| Error::Corrupt(format!("certificate of seal {id} is missing")))?;
        let cert_pem = Certificate::from_der(&cert.der)
            .map_err(|e| Error::Corrupt(e.to_string()))?
            .to_pem();
        Ok(SealInfo {
            kind: SealKind::of_number(row.seal_type),
            row,
            cert_pem,
        })
    }

    /// Up to `limit` of the seals granted to the client in creation order, after the
    /// `(created_at, id)` position `after`.
    pub async fn seals(
        &self,
        client: &AuthClient,
        after: Option<(i64, &str)>,
        limit: u32,
    ) -> Result<Vec<SealRow>> {
        self.inner.store.seals_page(&client.id, after, limit).await
    }

    /// Revokes a seal, its holder certificate (listed in the CRL with `reason_code`) and its key
    /// in one audited transaction.
    pub async fn revoke_seal(
        &self,
        client: &AuthClient,
        id: &str,
        reason: &str,
        reason_code: RevocationReason,
    ) -> Result<SealInfo> {
        if reason.chars().count() > 512 || reason.chars().any(char::is_control) {
            return Err(Error::InvalidRequest(
                "`reason` must be at most 512 characters without control characters".into(),
            ));
        }
        self.apply(Op::RevokeSeal {
            id: id.to_owned(),
            owner: (!client.allows("admin")).then(|| client.id.clone()),
            reason: reason.to_owned(),
            reason_code,
            actor: client.actor(),
        })
        .await?;
        self.inner
            .seals
            .write()
            .map_err(|_| Error::Unavailable)?
            .remove(id);
        self.refresh_verifier().await?;
        self.seal(client, id).await
    }

    /// A seal the client holds (any with `admin`), loaded for signing.
    pub(crate) async fn loaded_seal(
        &self,
        client: &AuthClient,
        id: &str,
    ) -> Result<Arc<LoadedSeal>> {
        self.seal_for_signing(id, |owner| owner == client.id || client.allows("admin"))
            .await
    }

    /// A seal the vault itself holds (an issuer's licence seal), loaded for signing: no client
    /// owns it, so no client's ownership is checked; what it signs is still audited with the
    /// acting client.
    pub(crate) async fn vault_seal(&self, id: &str) -> Result<Arc<LoadedSeal>> {
        self.seal_for_signing(id, |owner| owner == super::issuers::VAULT_OWNER)
            .await
    }

    /// A seal loaded for signing (from the cache, or read and cached), if `may_use` accepts its
    /// owner; otherwise 404 as if absent, before anything about its state is told.
    async fn seal_for_signing(
        &self,
        id: &str,
        may_use: impl Fn(&str) -> bool,
    ) -> Result<Arc<LoadedSeal>> {
        let cached = self
            .inner
            .seals
            .read()
            .map_err(|_| Error::Unavailable)?
            .get(id)
            .cloned();
        let loaded =
            match cached {
                Some(s) => s,
                None => {
                    let row = match self.inner.store.seal(id).await? {
                        Some(row) if may_use(&row.owner) => row,
                        _ => return Err(Error::NotFound("seal")),
                    };
                    if row.status != "active" {
                        return Err(Error::SealRevoked);
                    }
                    let key_row =
                        self.inner.store.key(&row.key_id).await?.ok_or_else(|| {
                            Error::Corrupt(format!("key of seal {id} is missing"))
                        })?;
                    if key_row.purpose != KeyPurpose::Seal {
                        return Err(Error::Corrupt(format!(
                            "key of seal {id} is not a seal key"
                        )));
                    }
                    if key_row.status != "active" {
                        return Err(Error::SealRevoked);
                    }
                    let cert = self.inner.store.cert(&row.cert_id).await?.ok_or_else(|| {
                        Error::Corrupt(format!("certificate of seal {id} is missing"))
                    })?;
                    let key = super::unwrap_key(&self.inner.master, &key_row)?;
                    let alg = key.key_type().default_signature_algorithm();
                    let z_a = key.public_key().sm2_z_a();
                    let parsed = Certificate::from_der(&cert.der)?;
                    let loaded = Arc::new(LoadedSeal {
                        cert: parsed,
                        name: row.name.clone(),
                        pdf_image: OnceLock::new(),
                        owner: row.owner,
                        key_id: row.key_id,
                        es_id: row.es_id,
                        key,
                        alg,
                        alg_oid: ses_oid(alg)?,
                        cert_der: cert.der,
                        template: ses::SealTemplate::new(row.seal_der)?,
                        valid_from: row.valid_from,
                        valid_to: row.valid_to,
                        z_a,
                        prefixes: Mutex::default(),
                    });
                    self.inner
                        .seals
                        .write()
                        .map_err(|_| Error::Unavailable)?
                        .insert(id.to_owned(), loaded.clone());
                    loaded
                }
            };
        if !may_use(&loaded.owner) {
            return Err(Error::NotFound("seal"));
        }
        Ok(loaded)
    }

    /// Seals data (or its hash) with a seal the client holds: an SES_Signature v4 over
    /// TBS_Sign{4, seal, now, dataHash, propertyInfo}, released after its audit entry commits.
    pub async fn seal_sign(
        &self,
        client: &AuthClient,
        id: &str,
        input: &SealInput,
        property_info: &str,
    ) -> Result<SealSigned> {
        if property_info.is_empty()
            || property_info.len() > 1024
            || !property_info.bytes().all(|b| (0x20..0x7f).contains(&b))
        {
            return Err(Error::InvalidRequest(
                "`property_info` must be 1–1024 printable ASCII characters (an IA5String)".into(),
            ));
        }
        let seal = self.loaded_seal(client, id).await?;
        let now = ses_time(OffsetDateTime::now_utc());
        seal.check_valid_at(now)?;
        let hash = match input {
            SealInput::Data(data) => data_hash(seal.alg_oid, data).to_vec(),
            SealInput::Digest(d) if d.len() == 32 => d.clone(),
            SealInput::Digest(_) => {
                return Err(crate::crypto::CryptoError::BadDigestLength { expected: 32 }.into());
            }
        };
        self.ses_sign(client, id, &seal, now, &hash, property_info, None)
            .await
    }

    /// Signs an SES_Signature v4 over TBS_Sign{4, seal, `now`, `hash`, `property_info`} with
    /// `seal` and records it (the audit event naming `format` when given); the signature may be
    /// released once this returns.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn ses_sign(
        &self,
        client: &AuthClient,
        id: &str,
        seal: &LoadedSeal,
        now: OffsetDateTime,
        hash: &[u8],
        property_info: &str,
        format: Option<&str>,
    ) -> Result<SealSigned> {
        let (der, event) = ses_signature(client, id, seal, now, hash, property_info, format)?;
        let audit_index = self.record_seal_use(seal, id, now, event).await?;
        Ok(SealSigned {
            signature: der,
            signed_at: now,
            es_id: seal.es_id.clone(),
            audit_index,
        })
    }

    /// Records one use of a seal, signed at `signed_at`; the result may be released only after
    /// this returns `Ok`. A seal revoked meanwhile (perhaps by another process) is dropped from
    /// the cache.
    pub(crate) async fn record_seal_use(
        &self,
        seal: &LoadedSeal,
        id: &str,
        signed_at: OffsetDateTime,
        event: Event,
    ) -> Result<u64> {
        let outcome = self
            .apply(Op::RecordSignature {
                key_id: seal.key_id.clone(),
                owner: seal.owner.clone(),
                signed_as: SignedAs::Seal(id.to_owned()),
                signed_at: unix_ms(signed_at),
                event,
            })
            .await;
        match outcome {
            Ok(Some(audit_index)) => {
                crate::metrics::signature(seal.key_type().as_str());
                Ok(audit_index)
            }
            Ok(None) => Err(Error::Unavailable),
            Err(Error::KeyDisabled | Error::NotFound(_)) => {
                self.inner
                    .seals
                    .write()
                    .map_err(|_| Error::Unavailable)?
                    .remove(id);
                Err(Error::SealRevoked)
            }
            Err(e) => Err(e),
        }
    }
}

/// An SES_Signature v4 over TBS_Sign{4, seal, `now`, `hash`, `property_info`} signed with
/// `seal`, and the audit event (naming `format` when given) that must commit, through
/// [`Vault::record_seal_use`], before the signature is released.
#[allow(clippy::too_many_arguments)]
pub(crate) fn ses_signature(
    client: &AuthClient,
    id: &str,
    seal: &LoadedSeal,
    now: OffsetDateTime,
    hash: &[u8],
    property_info: &str,
    format: Option<&str>,
) -> Result<(Vec<u8>, Event)> {
    let tbs = seal.template.tbs_sign(now, hash, property_info)?;
    let digest = seal.tbs_digest(tbs.der())?;
    let sig = seal.key.sign_digest(seal.alg, &digest)?;
    let der = seal
        .template
        .signature(&tbs, &seal.cert_der, seal.alg_oid, &sig)?;
    // The signed digest commits to the whole TBS_Sign (seal, time, dataHash, propertyInfo).
    let mut event = Event::new(
        client.actor(),
        Action::SignatureCreated,
        format!("seal:{id}"),
    )
    .with("key", seal.key_id.as_str())
    .with("alg", seal.alg.as_str());
    if let Some(format) = format {
        event = event.with("format", format);
    }
    let event = event
        .with("data_hash", hex::encode(hash))
        .with("tbs_digest", hex::encode(digest))
        // The key writes DER EC signatures, which the SES encoder keeps as they are: `sig`
        // is the BIT STRING content a verifier reads.
        .with_signature(&sig);
    Ok((der, event))
}

fn random_digits(rng: &ring::rand::SystemRandom, n: usize) -> Result<String> {
    use ring::rand::SecureRandom;
    let mut out = String::with_capacity(n);
    while out.len() < n {
        let mut b = [0u8; 1];
        rng.fill(&mut b)
            .map_err(|_| Error::Crypto(crate::crypto::CryptoError::Random))?;
        // Rejection sampling keeps the digits uniform.
        if b[0] < 250 {
            out.push(char::from(b'0' + b[0] % 10));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purpose_is_the_names_specialised_part_whatever_its_form() {
        let official = SealKind::Official;
        // Holder prefix stripped, as before.
        assert_eq!(
            drawn_purpose("某某市某某局行政审批专用章", "某某市某某局", official),
            "行政审批专用章"
        );
        // A bare 专用章 name without the holder was drawn as nothing.
        assert_eq!(
            drawn_purpose("行政审批专用章", "某某市行政审批局", official),
            "行政审批专用章"
        );
        // The holder inside the name, after a region prefix.
        assert_eq!(
            drawn_purpose("北京市某某区财政局会计核算专用章", "某某区财政局", official),
            "会计核算专用章"
        );
        // Too long for a line: cut after the organisation, not inside a word.
        assert_eq!(
            drawn_purpose("某某省人民政府办公厅行政审批专用章", "某某公司", official),
            "行政审批专用章"
        );
        // No purpose in the name: the kind's default.
        assert_eq!(
            drawn_purpose("某某公司", "某某公司", SealKind::Contract),
            "合同专用章"
        );
        assert_eq!(drawn_purpose("某某公司印章", "别的公司", official), "");
        for name in [
            "某某省人民政府办公厅行政审批专用章",
            "某某市某某局行政审批专用章",
        ] {
            let drawn = drawn_purpose(name, "x", official);
            assert!(
                drawn.chars().count() <= render::seal::CENTER_TEXT_MAX_CHARS,
                "{drawn}"
            );
            assert!(drawn.ends_with("专用章"), "{drawn}");
        }
    }
}
