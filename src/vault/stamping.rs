//! Sealing PDFs with a seal the client holds: the PDF laid out off the async threads (it is
//! untrusted input), a PAdES CMS signed by the seal's key and released only after its audit
//! entry commits, and for B-T a signature timestamp from the vault's own TSA.

use std::sync::Arc;

use time::OffsetDateTime;

use super::pki::{Family, Role};
use super::seals::LoadedSeal;
use super::{AuthClient, Vault};
use crate::audit::{Action, Event};
use crate::cms::{
    self, Content, OID_DATA, OID_SIGNATURE_TIME_STAMP_TOKEN, SignOptions, SignerInput,
};
use crate::crypto::KeyType;
use crate::error::{Error, Result};
use crate::pdf::{self, Certify, Limits, PdfError, Placement, StampOptions, SubFilter};
use crate::pki::Certificate;
use crate::tsa::TimeStampReq;

/// PAdES baseline level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// B-B: signed attributes only.
    BB,
    /// B-T: plus an RFC 3161 signature timestamp.
    BT,
    /// B-LT: plus, in a later revision, a DSS with the certificates and current CRLs a
    /// validator needs (the holder's and the vault TSA's chains; no OCSP).
    BLt,
    /// B-LTA: B-LT, then a document time-stamp from the TSA covering the DSS.
    BLta,
}

/// How to stamp a PDF.
#[derive(Debug, Clone, PartialEq)]
pub struct StampRequest {
    /// Page and position (points).
    pub placement: Placement,
    /// DocMDP certification.
    pub certify: Certify,
    /// PAdES level.
    pub level: Level,
    /// `/SubFilter`.
    pub sub_filter: SubFilter,
    /// `/Reason` in the signature dictionary.
    pub reason: Option<String>,
    /// `/Location`.
    pub location: Option<String>,
    /// `/ContactInfo`.
    pub contact: Option<String>,
    /// An existing empty signature field to sign into instead of a new one.
    pub field: Option<String>,
    /// Text to centre the seal on, and the 1-based page to look on (else every page).
    pub keyword: Option<(String, Option<usize>)>,
    /// The seal's width on the page in mm, its height in proportion (default: the size its
    /// picture states).
    pub width_mm: Option<f64>,
}

/// The longest `reason`, `location` or `contact` accepted, in characters.
const MAX_TEXT: usize = 200;

/// The stamping options as the API and CLI spell them (see [`StampParams::resolve`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct StampParams<'a> {
    /// 1-based page (default 1).
    pub page: Option<usize>,
    /// Left edge of the seal (default: 15 mm from the right edge).
    pub x: Option<f64>,
    /// Bottom edge of the seal (default 15 mm; centred for a cross-page seal).
    pub y: Option<f64>,
    /// `mm` (default) or `pt`.
    pub unit: Option<&'a str>,
    /// `none` (default), `p1` or `p2`.
    pub certify: Option<&'a str>,
    /// `b-b` (default), `b-t`, `b-lt` or `b-lta`.
    pub level: Option<&'a str>,
    /// `cades` (default) or `pkcs7`.
    pub subfilter: Option<&'a str>,
    /// A 骑缝章 over the right edge of every page.
    pub cross_page: bool,
    /// Why the document is sealed (`/Reason`).
    pub reason: Option<&'a str>,
    /// Where it is sealed (`/Location`).
    pub location: Option<&'a str>,
    /// How to reach the signer (`/ContactInfo`).
    pub contact: Option<&'a str>,
    /// An existing empty signature field to sign into (its widget gives page and place).
    pub field: Option<&'a str>,
    /// Text to centre the seal on, on `page` if given, else on the first page that has it.
    pub keyword: Option<&'a str>,
}

impl StampParams<'_> {
    /// Checks and converts the options into a [`StampRequest`].
    pub fn resolve(&self) -> Result<StampRequest> {
        let StampParams {
            page,
            x,
            y,
            unit,
            certify,
            level,
            subfilter,
            cross_page,
            reason,
            location,
            contact,
            field,
            keyword,
        } = *self;
        let bad = |m: &str| Error::InvalidRequest(m.to_owned());
        // Shown by readers as the signer's own words: bounded, and no control characters that
        // could break a reader's one-line display or hide part of the text.
        let text = |v: Option<&str>, name: &str| -> Result<Option<String>> {
            match v {
                Some(v) if v.chars().count() > MAX_TEXT => Err(bad(&format!(
                    "`{name}` must be at most {MAX_TEXT} characters"
                ))),
                Some(v) if v.chars().any(char::is_control) => Err(bad(&format!(
                    "`{name}` must not contain control characters"
                ))),
                v => Ok(v.map(str::to_owned)),
            }
        };
        let scale = match unit.unwrap_or("mm") {
            "mm" => pdf::PT_PER_MM,
            "pt" => 1.0,
            _ => return Err(bad("`unit` must be `mm` or `pt`")),
        };
        let coord = |v: Option<f64>, name: &str| -> Result<Option<f64>> {
            match v {
                Some(v) if !v.is_finite() || !(0.0..=20_000.0).contains(&v) => {
                    Err(bad(&format!("`{name}` must be a number from 0 to 20000")))
                }
                v => Ok(v.map(|v| v * scale)),
            }
        };
        if field.is_some() && (x.is_some() || y.is_some() || cross_page || keyword.is_some()) {
            return Err(bad(
                "`field` places the seal in that field's widget: give no `x`, `y`, `cross_page` or `keyword`",
            ));
        }
        if keyword.is_some() && (x.is_some() || y.is_some() || cross_page) {
            return Err(bad(
                "`keyword` places the seal on that text: give no `x`, `y` or `cross_page`",
            ));
        }
        if keyword.is_some_and(|k| k.trim().is_empty()) {
            return Err(bad("`keyword` must not be empty"));
        }
        let keyword = text(keyword, "keyword")?.map(|k| (k, page));
        let page = page.unwrap_or(1);
        if page == 0 {
            return Err(bad("`page` counts from 1"));
        }
        Ok(StampRequest {
            placement: Placement {
                page,
                x: coord(x, "x")?,
                y: coord(y, "y")?,
                cross_page,
            },
            certify: match certify.unwrap_or("none") {
                "none" => Certify::None,
                "p1" => Certify::NoChanges,
                "p2" => Certify::FormFillAndSign,
                _ => return Err(bad("`certify` must be `none`, `p1` or `p2`")),
            },
            level: match level.unwrap_or("b-b") {
                "b-b" => Level::BB,
                "b-t" => Level::BT,
                "b-lt" => Level::BLt,
                "b-lta" => Level::BLta,
                _ => return Err(bad("`level` must be `b-b`, `b-t`, `b-lt` or `b-lta`")),
            },
            sub_filter: match subfilter.unwrap_or("cades") {
                "cades" | "ETSI.CAdES.detached" => SubFilter::CadesDetached,
                "pkcs7" | "adbe.pkcs7.detached" => SubFilter::Pkcs7Detached,
                _ => return Err(bad("`subfilter` must be `cades` or `pkcs7`")),
            },
            reason: text(reason, "reason")?,
            location: text(location, "location")?,
            contact: text(contact, "contact")?,
            field: text(field, "field")?,
            keyword,
            width_mm: None,
        })
    }
}

/// A sealed PDF.
#[derive(Debug, Clone)]
pub struct Stamped {
    /// The sealed file.
    pub pdf: Vec<u8>,
    /// The signature field's name.
    pub field: String,
    /// The claimed signing time (`/M`, signingTime).
    pub signed_at: OffsetDateTime,
    /// Whether the input was rewritten as one clean revision first.
    pub normalised: bool,
    /// Index of the signature's audit entry.
    pub audit_index: u64,
}

/// Room in `/Contents` beyond certificates and signature values: attributes, algorithm
/// identifiers, names and headers take well under this.
const CMS_OVERHEAD: usize = 2048;

/// How long an external TSA may take.
const TSA_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Room for a token from an external TSA (its certificates are not known in advance).
const EXTERNAL_TOKEN: usize = 12 * 1024;

impl Vault {
    /// Seals `input` with seal `id`: a new revision with the seal image and a PAdES signature.
    pub async fn stamp_pdf(
        &self,
        client: &AuthClient,
        id: &str,
        input: Vec<u8>,
        req: StampRequest,
    ) -> Result<Stamped> {
        let seal = self.loaded_seal(client, id).await?;
        self.stamp_pdf_with(client, id, &seal, input, req).await
    }

    /// Seals `input` with the loaded seal `id`, whoever owns it (the caller has decided that
    /// `client` may use it); the signature is audited with `client` as the actor.
    pub(crate) async fn stamp_pdf_with(
        &self,
        client: &AuthClient,
        id: &str,
        seal: &Arc<LoadedSeal>,
        input: Vec<u8>,
        req: StampRequest,
    ) -> Result<Stamped> {
        // Whole seconds: CMS signingTime is a UTCTime for 1950–2049 (RFC 5652 §11.3), which has
        // no fraction, and `/M` is a PDF date (ISO 32000 §7.9.4), also to the second.
        let now = OffsetDateTime::now_utc()
            .replace_nanosecond(0)
            .unwrap_or_else(|_| OffsetDateTime::now_utc());
        seal.check_valid_at(now)?;
        let image = match req.width_mm {
            None => seal.pdf_image()?,
            Some(width) => {
                let mut resized = (*seal.pdf_image()?).clone();
                resized.height_mm *= width / resized.width_mm;
                resized.width_mm = width;
                Arc::new(resized)
            }
        };
        let holder = seal.certificate().clone();
        let family = match seal.key_type() {
            KeyType::Sm2 => Family::Sm2,
            _ => Family::P256,
        };
        let issuing = self
            .inner
            .authorities
            .get(family, Role::Issuing)?
            .cert
            .clone();
        let tsa = match req.level {
            Level::BB => None,
            Level::BT | Level::BLt | Level::BLta => {
                Some(self.inner.authorities.get(family, Role::Tsa)?)
            }
        };
        let mut capacity = CMS_OVERHEAD
            + holder.der().len()
            + issuing.der().len()
            + seal.key_type().max_signature_len()
            + match (tsa, &self.config().tsa_url) {
                (None, _) => 0,
                // An external TSA's certificates are unknown until it answers.
                (Some(_), Some(_)) => EXTERNAL_TOKEN,
                (Some(t), None) => CMS_OVERHEAD + t.cert.der().len() + issuing.der().len() + 512,
            };
        for _ in 0..2 {
            let (prepared, cms, digest) = {
                let (seal, image, holder, issuing) =
                    (seal.clone(), image.clone(), holder.clone(), issuing.clone());
                let (input, req) = (input.clone(), req.clone());
                self.verifying(move |_, _| {
                    sign_prepared(
                        &seal, &image, &holder, &issuing, &input, &req, now, capacity,
                    )
                })
                .await??
            };
            let value = cms::signature_value(&cms).map_err(Error::Cms)?;
            let event = Event::new(
                client.actor(),
                Action::SignatureCreated,
                format!("seal:{id}"),
            )
            .with("key", seal.key_id())
            .with("format", "pdf")
            .with("field", prepared.field_name.as_str())
            .with("data_hash", hex::encode(&digest))
            .with_signature(&value);
            // The signature states only its second, which a verifier reads as the whole second:
            // the ledger must date any later revocation after the last instant of it.
            let latest = now + time::Duration::milliseconds(999);
            let audit_index = self.record_seal_use(seal, id, latest, event).await?;
            let cms = match tsa {
                None => cms,
                Some(_) => {
                    let alg = cms::digest_algorithm(seal.key_type());
                    let ts_req = TimeStampReq {
                        hash_alg: alg,
                        hashed_message: alg.digest(&value),
                        policy: None,
                        nonce: Some(crate::pki::random_serial()?.to_vec()),
                        cert_req: true,
                    };
                    let token = self.tsa_token(client, &ts_req).await?;
                    cms::add_unsigned_attribute(&cms, OID_SIGNATURE_TIME_STAMP_TOKEN, &token)
                        .map_err(Error::Cms)?
                }
            };
            let field = prepared.field_name.clone();
            let normalised = prepared.normalised;
            match prepared.finish(&cms) {
                Ok(pdf) => {
                    let pdf = match req.level {
                        Level::BLt => self.with_validation_data(family, &holder, pdf).await?,
                        Level::BLta => {
                            let pdf = self.with_validation_data(family, &holder, pdf).await?;
                            self.with_doc_timestamp(client, family, seal.key_type(), pdf)
                                .await?
                        }
                        Level::BB | Level::BT => pdf,
                    };
                    return Ok(Stamped {
                        pdf,
                        field,
                        signed_at: now,
                        normalised,
                        audit_index,
                    });
                }
                // Never expected (the estimate is an upper bound); one more try with the size
                // now known rather than a failure.
                Err(PdfError::PlaceholderTooSmall { needed, .. }) => capacity = needed + 1024,
                Err(e) => return Err(e.into()),
            }
        }
        Err(Error::Pdf(PdfError::PlaceholderTooSmall {
            needed: capacity,
            capacity,
        }))
    }
}

impl Vault {
    /// A token for `req` from the configured external TSA, else from the vault's own.
    async fn tsa_token(&self, client: &AuthClient, req: &TimeStampReq) -> Result<Vec<u8>> {
        match &self.config().tsa_url {
            Some(url) => crate::tsa::fetch_token(url, req, TSA_TIMEOUT)
                .await
                .map_err(|e| Error::TsaUnavailable(e.to_string())),
            None => self.timestamp_token(client, req).await,
        }
    }

    /// `pdf` with a document time-stamp revision (PAdES B-LTA) whose token's imprint is the
    /// digest of its byte ranges, hashed as the seal's signature was.
    async fn with_doc_timestamp(
        &self,
        client: &AuthClient,
        family: Family,
        key_type: KeyType,
        pdf: Vec<u8>,
    ) -> Result<Vec<u8>> {
        let alg = cms::digest_algorithm(key_type);
        let mut capacity = match &self.config().tsa_url {
            Some(_) => EXTERNAL_TOKEN,
            None => {
                let authorities = &self.inner.authorities;
                CMS_OVERHEAD
                    + authorities.get(family, Role::Tsa)?.cert.der().len()
                    + authorities.get(family, Role::Issuing)?.cert.der().len()
                    + 512
            }
        };
        for _ in 0..2 {
            let prepared = {
                let pdf = pdf.clone();
                self.verifying(move |_, _| {
                    pdf::prepare_doc_timestamp(&pdf, capacity, &Limits::default())
                })
                .await??
            };
            let ts_req = TimeStampReq {
                hash_alg: alg,
                hashed_message: prepared.digest(alg),
                policy: None,
                nonce: Some(crate::pki::random_serial()?.to_vec()),
                cert_req: true,
            };
            let token = self.tsa_token(client, &ts_req).await?;
            match prepared.finish(&token) {
                Ok(pdf) => return Ok(pdf),
                // As for the seal: the estimate is an upper bound, a retry rather than a failure.
                Err(PdfError::PlaceholderTooSmall { needed, .. }) => capacity = needed + 1024,
                Err(e) => return Err(e.into()),
            }
        }
        Err(Error::Pdf(PdfError::PlaceholderTooSmall {
            needed: capacity,
            capacity,
        }))
    }

    /// `pdf` with a DSS revision (PAdES B-LT): the holder certificate, the family's issuing CA
    /// and root, the vault TSA's certificate (unless an external TSA stamped: its chain travels
    /// in its token) and freshly signed CRLs of the issuing CA and the root.
    async fn with_validation_data(
        &self,
        family: Family,
        holder: &Certificate,
        pdf: Vec<u8>,
    ) -> Result<Vec<u8>> {
        let authorities = &self.inner.authorities;
        let root = authorities.get(family, Role::Root)?;
        let issuing = authorities.get(family, Role::Issuing)?;
        let mut certs = vec![
            holder.der().to_vec(),
            issuing.cert.der().to_vec(),
            root.cert.der().to_vec(),
        ];
        if self.config().tsa_url.is_none() {
            certs.push(authorities.get(family, Role::Tsa)?.cert.der().to_vec());
        }
        let mut crls = Vec::new();
        for ca in [issuing, root] {
            crls.push(self.crl(&ca.name).await?);
        }
        self.verifying(move |_, _| pdf::add_dss(&pdf, &certs, &crls, &Limits::default()))
            .await?
            .map_err(Error::from)
    }
}

/// Lays out the update and signs its byte ranges (runs on a blocking thread).
#[allow(clippy::too_many_arguments)]
fn sign_prepared(
    seal: &LoadedSeal,
    image: &pdf::SealImage,
    holder: &Certificate,
    issuing: &Certificate,
    input: &[u8],
    req: &StampRequest,
    now: OffsetDateTime,
    capacity: usize,
) -> Result<(pdf::Prepared, Vec<u8>, Vec<u8>)> {
    let opts = StampOptions {
        placement: req.placement,
        appearance: pdf::Appearance::Image(image),
        certify: req.certify,
        sub_filter: req.sub_filter,
        signer_name: seal.name(),
        signing_time: now,
        text: pdf::SigText {
            reason: req.reason.as_deref(),
            location: req.location.as_deref(),
            contact: req.contact.as_deref(),
        },
        field: req.field.as_deref(),
        keyword: req
            .keyword
            .as_ref()
            .map(|(text, page)| pdf::Keyword { text, page: *page }),
        capacity,
    };
    let prepared = pdf::prepare(input, &opts, &Limits::default())?;
    let alg = cms::digest_algorithm(seal.key_type());
    let digest = prepared.digest(alg);
    let signer = SignerInput {
        cert: holder,
        key: seal.key(),
        chain: std::slice::from_ref(issuing),
        include_certs: true,
    };
    let cms = cms::sign(
        &signer,
        Content::Detached { digest: &digest },
        &SignOptions {
            content_type: OID_DATA,
            signing_time: Some(now),
            ess_signing_certificate_v2: true,
            extra_signed_attrs: &[],
        },
    )
    .map_err(Error::Cms)?;
    Ok((prepared, cms, digest))
}
