//! Handwritten e-signatures (scope `sign`): `POST /v1/signers` enrols a signer the approval
//! system verified, `…/cancel` cancels it (注销), `…/references` stores enrolment signatures,
//! `…/sessions` opens a one-time capture link (`/sign/{token}`, whose page posts to
//! `POST /sign/{token}/capture`), `…/sign` signs a PDF with a capture, and
//! `POST /v1/handwriting/compare` scores a capture against the signer's references.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::body::RawBody;
use super::documents::MAX_DOCUMENT;
use super::idempotency::IdempotencyKey;
use super::openapi::Binary;
use super::{ApiJson, ApiPath, ErrorBody, MAX_BODY, rfc3339};
use crate::error::Error;
use crate::handsign::Capture;
use crate::handsign::compare::Comparison;
use crate::vault::{AuthClient, Enrolment, PlacementUnit, SignPlacement, Signer, Vault};

pub(super) fn router() -> Router<Vault> {
    Router::new()
        .route("/v1/signers", post(enrol))
        .route("/v1/signers/{id}", get(signer))
        .route("/v1/signers/{id}/cancel", post(cancel))
        .route("/v1/signers/{id}/references", post(references))
        .route("/v1/signers/{id}/sessions", post(open_session))
        .route("/v1/signers/{id}/sessions/{session}", get(session))
        .route("/v1/signers/{id}/sign", post(sign))
        .route("/v1/handwriting/compare", post(compare))
        .route("/sign/{token}/capture", post(submit_capture))
}

/// The identity an approval system verified.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct EnrolRequest {
    /// The signer's legal name (1–64 characters).
    name: String,
    /// `resident_id` (a 公民身份号码, check digit verified), `passport`, `hk_macao_permit`, `taiwan_permit` or `foreign_permanent_resident`.
    id_type: String,
    /// The document's number; kept only as a keyed hash and a masked form.
    id_number: String,
    /// A phone number; kept only masked.
    phone: String,
    /// How the approval system verified the identity: `face`, `bank_card` or `counter`.
    verified_by: String,
}

/// A signer.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SignerResponse {
    /// `sgr_` and 32 hex digits.
    id: String,
    /// The name, masked (张*).
    name: String,
    /// The identity document's type.
    id_type: String,
    /// Its number, masked.
    id_number: String,
    /// The phone number, masked.
    phone: String,
    /// How the identity was verified.
    verified_by: String,
    /// `active` or `cancelled`.
    status: String,
    /// When enrolled (RFC 3339).
    created_at: String,
    /// When cancelled (RFC 3339), if it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    cancelled_at: Option<String>,
    /// The P-256 certificate (PEM) that signs PDFs, issued by the vault's P-256 handwritten signers' CA (policy 2.25.93028897988627785730385302927956646716.1).
    cert_pem: String,
    /// The SM2 certificate (PEM), for OFD and for PDFs signed with `alg=sm2`.
    sm2_cert_pem: String,
}

impl From<Signer> for SignerResponse {
    fn from(s: Signer) -> SignerResponse {
        let r = s.row;
        SignerResponse {
            id: r.id,
            name: r.name_masked,
            id_type: r.id_type,
            id_number: r.id_masked,
            phone: r.phone_masked,
            verified_by: r.verified_by,
            status: r.status,
            created_at: rfc3339(r.created_at),
            cancelled_at: r.cancelled_at.map(rfc3339),
            cert_pem: s.cert.to_pem(),
            sm2_cert_pem: s.sm2_cert.to_pem(),
        }
    }
}

/// Enrol a handwritten signer whose identity the calling approval system verified (`verified_by`): the vault makes a P-256 and an SM2 key for it, each certified for a year by its handwritten signers' CA (subject: the name, the ID type and masked number in the OU). One audited change (`signer.enrolled`, the ID number as a keyed hash). With an `Idempotency-Key`, a retry replays the first answer.
#[utoipa::path(post, path = "/v1/signers", tag = "handwritten signatures", request_body = EnrolRequest,
    security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "1–255 visible ASCII characters")),
    responses((status = 201, body = SignerResponse),
        (status = 400, body = ErrorBody, description = "invalid_field (naming it) or invalid_id_number"),
        (status = 403, body = ErrorBody, description = "no `sign` scope"),
        (status = 409, body = ErrorBody, description = "idempotency_in_progress: a request with this Idempotency-Key is still running"),
        (status = 422, body = ErrorBody, description = "idempotency_mismatch: this Idempotency-Key was used with another request")))]
async fn enrol(
    State(vault): State<Vault>,
    client: AuthClient,
    idempotency: IdempotencyKey,
    headers: HeaderMap,
    RawBody(body): RawBody<MAX_BODY>,
) -> Result<Response, Error> {
    super::require_json(&headers)?;
    let req: EnrolRequest = super::json_object(&body)?;
    let sha: [u8; 32] = Sha256::digest(&body).into();
    let (v, c) = (vault.clone(), client.clone());
    idempotency
        .answer(&vault, &client, &sha, async move {
            let s = v
                .enrol_signer(
                    &c,
                    &Enrolment {
                        name: req.name,
                        id_type: req.id_type,
                        id_number: req.id_number,
                        phone: req.phone,
                        verified_by: req.verified_by,
                    },
                )
                .await?;
            Ok((StatusCode::CREATED, Json(SignerResponse::from(s))).into_response())
        })
        .await
}

/// A signer you enrolled (another client's is 404).
#[utoipa::path(get, path = "/v1/signers/{id}", tag = "handwritten signatures",
    security(("bearer" = [])), params(("id" = String, Path, description = "signer id")),
    responses((status = 200, body = SignerResponse), (status = 404, body = ErrorBody)))]
async fn signer(
    State(vault): State<Vault>,
    client: AuthClient,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<SignerResponse>, Error> {
    Ok(Json(vault.signer(&client, &id).await?.into()))
}

/// Why a signer is cancelled.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CancelRequest {
    /// 1–512 characters; the audit log keeps its SHA-256.
    reason: String,
}

/// Cancel (注销) a signer: both certificates revoked (cessationOfOperation, in the signers' CA's CRL), both keys disabled, in one audited change. It signs nothing after (409 `signer_cancelled`); documents it signed before still verify, reported as signed before the cancellation. Cancelling again changes nothing.
#[utoipa::path(post, path = "/v1/signers/{id}/cancel", tag = "handwritten signatures", request_body = CancelRequest,
    security(("bearer" = [])), params(("id" = String, Path, description = "signer id")),
    responses((status = 200, body = SignerResponse), (status = 404, body = ErrorBody)))]
async fn cancel(
    State(vault): State<Vault>,
    client: AuthClient,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<CancelRequest>,
) -> Result<Json<SignerResponse>, Error> {
    Ok(Json(
        vault.cancel_signer(&client, &id, &req.reason).await?.into(),
    ))
}

/// Enrolment signatures.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReferencesRequest {
    /// 3 to 5 captures (the capture format of `POST /v1/signers/{id}/sign`).
    references: Vec<Capture>,
}

/// How many references a signer has.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ReferencesResponse {
    /// The count after this call (at most 10).
    references: usize,
}

/// Store 3–5 reference signatures of an active signer (each checked as a capture), kept wrapped under the master key; audited (`signer.references_added`, their SHA-256). `POST /v1/handwriting/compare` measures captures against them.
#[utoipa::path(post, path = "/v1/signers/{id}/references", tag = "handwritten signatures", request_body = ReferencesRequest,
    security(("bearer" = [])), params(("id" = String, Path, description = "signer id")),
    responses((status = 201, body = ReferencesResponse),
        (status = 400, body = ErrorBody, description = "invalid_capture (which and why) or not 3–5 references"),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "cancelled, or more than 10 references")))]
async fn references(
    State(vault): State<Vault>,
    client: AuthClient,
    ApiPath(id): ApiPath<String>,
    headers: HeaderMap,
    RawBody(body): RawBody<{ 4 * MAX_BODY }>,
) -> Result<Response, Error> {
    super::require_json(&headers)?;
    let req: ReferencesRequest = super::json_object(&body)?;
    let n = vault.add_references(&client, &id, &req.references).await?;
    Ok((
        StatusCode::CREATED,
        Json(ReferencesResponse { references: n }),
    )
        .into_response())
}

/// A capture link to open.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SessionRequest {
    /// The text the signer reads and agrees to before drawing (1–2000 characters); the capture must carry it unchanged.
    consent: String,
    /// How long the link works (60–86400 s, default 900).
    #[serde(default)]
    ttl_seconds: Option<u32>,
}

/// A capture link.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SessionResponse {
    /// The session's id, for `GET /v1/signers/{id}/sessions/{session}`.
    id: String,
    /// The page the signer opens (`/sign/<token>`, relative to this service); shown once, only its hash is kept.
    url: String,
    /// When the link stops working (RFC 3339).
    expires_at: String,
}

/// Open a one-time capture link for an active signer: the approval system gives `url` to its applicant, who reads the consent text and draws the signature on `/sign/<token>` (pen, touch or mouse); the capture is then read with `GET /v1/signers/{id}/sessions/{session}`. One drawing per link.
#[utoipa::path(post, path = "/v1/signers/{id}/sessions", tag = "handwritten signatures", request_body = SessionRequest,
    security(("bearer" = [])), params(("id" = String, Path, description = "signer id")),
    responses((status = 201, body = SessionResponse),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "signer_cancelled")))]
async fn open_session(
    State(vault): State<Vault>,
    client: AuthClient,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<SessionRequest>,
) -> Result<Response, Error> {
    let ttl = req
        .ttl_seconds
        .map(|s| time::Duration::seconds(i64::from(s)));
    let s = vault
        .open_signing_session(&client, &id, &req.consent, ttl)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(SessionResponse {
            id: s.id,
            url: s.url,
            expires_at: rfc3339(s.expires_at),
        }),
    )
        .into_response())
}

/// A capture session's state.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SessionState {
    /// The session's id.
    id: String,
    /// `pending`, `captured` or `expired`.
    status: String,
    /// When the link stops (or stopped) working (RFC 3339).
    expires_at: String,
    /// When the signature was drawn (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    captured_at: Option<String>,
    /// The capture, once drawn: pass it as the `capture` part of `POST /v1/signers/{id}/sign`.
    #[serde(skip_serializing_if = "Option::is_none")]
    capture: Option<Capture>,
}

/// A capture session you opened: `pending` until the signer draws, then `captured` with the capture. `Cache-Control: no-store`.
#[utoipa::path(get, path = "/v1/signers/{id}/sessions/{session}", tag = "handwritten signatures",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "signer id"), ("session" = String, Path, description = "session id")),
    responses((status = 200, body = SessionState), (status = 404, body = ErrorBody)))]
async fn session(
    State(vault): State<Vault>,
    client: AuthClient,
    ApiPath((id, session)): ApiPath<(String, String)>,
) -> Result<Response, Error> {
    let (row, capture) = vault.signing_session(&client, &id, &session).await?;
    let live = row.expires_at > time::OffsetDateTime::now_utc().unix_timestamp() * 1000;
    let status = match (&capture, live) {
        (Some(_), _) => "captured",
        (None, true) => "pending",
        (None, false) => "expired",
    };
    let mut response = Json(SessionState {
        id: row.id,
        status: status.into(),
        expires_at: rfc3339(row.expires_at),
        captured_at: row.captured_at.map(rfc3339),
        capture,
    })
    .into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// What the capture page submits.
#[utoipa::path(post, path = "/sign/{token}/capture", tag = "handwritten signatures", request_body = Capture,
    params(("token" = String, Path, description = "the token of the signing link")),
    responses((status = 200, description = "`{\"status\": \"captured\"}`"),
        (status = 400, body = ErrorBody, description = "invalid_capture: empty, too short, time going backwards, impossible speed (which point and why); invalid_field: the consent is not the link's"),
        (status = 404, body = ErrorBody, description = "no such link, or it expired"),
        (status = 409, body = ErrorBody, description = "a signature was submitted already")))]
async fn submit_capture(
    State(vault): State<Vault>,
    ApiPath(token): ApiPath<String>,
    headers: HeaderMap,
    RawBody(body): RawBody<MAX_BODY>,
) -> Result<Response, Error> {
    super::require_json(&headers)?;
    vault.submit_capture(&token, &body).await?;
    Ok(Json(serde_json::json!({"status": "captured"})).into_response())
}

/// Where the handwriting goes.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PlacementPart {
    /// 1-based page (default 1).
    #[serde(default)]
    page: Option<usize>,
    /// Left edge from the page's left edge.
    x: f64,
    /// PDF: bottom edge from the page's bottom edge. OFD: top edge from the page's top edge, as OFD measures.
    y: f64,
    /// Width of the signature box (5–300 mm).
    width: f64,
    /// Height of the signature box (3–300 mm).
    height: f64,
    /// `mm` (default) or `pt`.
    #[serde(default)]
    unit: Option<String>,
    /// PDF: `p256` (default: what pdfsig, pyHanko and Acrobat check) or `sm2`. OFD: `sm2` (the default and only choice).
    #[serde(default)]
    alg: Option<String>,
}

/// The parts of a signing request.
struct SignParts {
    /// The document and whether it is an OFD.
    document: (Vec<u8>, bool),
    capture: Capture,
    placement: PlacementPart,
}

fn part_error(m: impl std::fmt::Display) -> Error {
    Error::InvalidRequest(format!("multipart: {m}"))
}

/// Reads `document`, `capture` and `placement` from a multipart/form-data body.
async fn sign_parts(headers: &HeaderMap, body: Vec<u8>) -> Result<SignParts, Error> {
    let boundary = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|ct| multer::parse_boundary(ct).ok())
        .ok_or(Error::UnsupportedMediaType("multipart/form-data"))?;
    let stream =
        futures_util::stream::once(
            async move { Ok::<_, std::convert::Infallible>(Bytes::from(body)) },
        );
    let mut form = multer::Multipart::new(stream, boundary);
    let (mut document, mut capture, mut placement) = (None, None, None);
    while let Some(field) = form.next_field().await.map_err(part_error)? {
        let name = field.name().unwrap_or_default().to_owned();
        let media = field.content_type().map(|m| m.essence_str().to_owned());
        let data = field.bytes().await.map_err(part_error)?;
        match name.as_str() {
            "document" => {
                let ofd = match media.as_deref() {
                    Some("application/ofd") => true,
                    Some("application/pdf") => false,
                    _ => crate::ofd::is_ofd(&data),
                };
                document = Some((data.to_vec(), ofd));
            }
            "capture" => capture = Some(Capture::from_json(&data)?),
            "placement" => {
                placement = Some(
                    super::json_object::<PlacementPart>(&data)
                        .map_err(|e| Error::InvalidRequest(format!("placement: {e}")))?,
                );
            }
            other => return Err(part_error(format!("unknown part `{other}`"))),
        }
    }
    Ok(SignParts {
        document: document.ok_or_else(|| part_error("the `document` part is missing"))?,
        capture: capture.ok_or_else(|| part_error("the `capture` part is missing"))?,
        placement: placement.ok_or_else(|| part_error("the `placement` part is missing"))?,
    })
}

/// Sign a PDF or an OFD by hand, as `multipart/form-data` with the parts `document` (the PDF or OFD), `capture` (the pen capture JSON: `{"canvas": {"width", "height", "dpi"}, "device", "consent", "strokes": [[{"x", "y", "t_ms", "pressure"}, …], …]}`) and `placement` (`{"page", "x", "y", "width", "height", "unit": "mm"|"pt", "alg": "p256"|"sm2"}`). The answer is the PDF with a new revision: a signature field whose appearance draws the strokes as vector paths (line width following pressure) and a PAdES B-B signature by the signer's key whose signed attributes bind the digests of the canonical capture and of the consent text (attribute 2.25.93028897988627785730385302927956646716.2). The capture is kept wrapped as evidence in the transaction that records the signature. A cancelled signer is 409 `signer_cancelled`; a bad capture 400 `invalid_capture`. Active content, forms and encryption are refused as for seals (422 `pdf_refused`). An OFD `document` (`application/ofd`) gains one GB/T 33190 §18 signature, as a seal's: its `Seal.esl` a personal SESeal made for this signature (the handwriting as its PNG picture, the signer's SM2 certificate, signed by the vault's SM2 seal maker) and its `SignedValue.dat` an SES_Signature by the signer's SM2 key whose TBS_Sign binds the same digests (SM3) in its extDatas; `x`, `y` from the page's top-left in mm.
#[utoipa::path(post, path = "/v1/signers/{id}/sign", tag = "handwritten signatures",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "signer id"),
        ("Idempotency-Key" = Option<String>, Header, description = "1–255 visible ASCII characters")),
    request_body(content((Binary = "multipart/form-data"))),
    responses((status = 200, content((Binary = "application/pdf"), (Binary = "application/ofd"))),
        (status = 400, body = ErrorBody, description = "invalid_capture, invalid_request (a missing or unknown part, a bad placement)"),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "signer_cancelled, or idempotency_in_progress"),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody, description = "PDF or OFD refused, or idempotency_mismatch")))]
async fn sign(
    State(vault): State<Vault>,
    client: AuthClient,
    ApiPath(id): ApiPath<String>,
    idempotency: IdempotencyKey,
    headers: HeaderMap,
    RawBody(body): RawBody<{ MAX_DOCUMENT + MAX_BODY }>,
) -> Result<Response, Error> {
    client.require(crate::vault::SIGN_SCOPE)?;
    let sha: [u8; 32] = Sha256::digest(&body).into();
    let parts = sign_parts(&headers, body).await?;
    let p = parts.placement;
    let placement = SignPlacement {
        page: p.page.unwrap_or(1),
        x: p.x,
        y: p.y,
        width: p.width,
        height: p.height,
        unit: match p.unit.as_deref().unwrap_or("mm") {
            "mm" => PlacementUnit::Mm,
            "pt" => PlacementUnit::Pt,
            _ => {
                return Err(Error::InvalidRequest(
                    "placement: `unit` must be `mm` or `pt`".into(),
                ));
            }
        },
    };
    let sm2_asked = match p.alg.as_deref() {
        None => None,
        Some("p256") => Some(false),
        Some("sm2") => Some(true),
        Some(_) => {
            return Err(Error::InvalidRequest(
                "placement: `alg` must be `p256` or `sm2`".into(),
            ));
        }
    };
    let (v, c) = (vault.clone(), client.clone());
    let ((document, is_ofd), capture) = (parts.document, parts.capture);
    idempotency
        .answer(&vault, &client, &sha, async move {
            if is_ofd {
                if sm2_asked.is_some_and(|sm2| !sm2) {
                    return Err(Error::InvalidRequest(
                        "placement: an OFD is signed with the signer's SM2 key; `alg` must be `sm2` or absent".into(),
                    ));
                }
                let signed = v.handsign_ofd(&c, &id, document, &capture, &placement).await?;
                let mut response =
                    ([(header::CONTENT_TYPE, "application/ofd")], signed.ofd).into_response();
                let h = response.headers_mut();
                if let Ok(v) = HeaderValue::from_str(&signed.signature) {
                    h.insert("x-sidian-signature", v);
                }
                h.insert("x-sidian-audit-index", HeaderValue::from(signed.audit_index));
                return Ok(response);
            }
            let signed = v
                .handsign_pdf(&c, &id, document, &capture, &placement, sm2_asked.unwrap_or(false))
                .await?;
            let mut response =
                ([(header::CONTENT_TYPE, "application/pdf")], signed.pdf).into_response();
            let h = response.headers_mut();
            if let Ok(v) = HeaderValue::from_str(&signed.field) {
                h.insert("x-sidian-field", v);
            }
            h.insert("x-sidian-audit-index", HeaderValue::from(signed.audit_index));
            Ok(response)
        })
        .await
}

/// A capture to compare.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CompareRequest {
    /// The signer whose references the capture is measured against.
    signer_id: String,
    /// The capture.
    capture: Capture,
}

/// How consistent a capture is with a signer's reference signatures: dynamic time warping over the normalised trajectory, velocity and (when both have it) pressure, the distance judged against the spread among the references themselves. `score` runs from 0 to 1 (higher: more consistent). Supporting evidence for a person deciding, never the only gate: it is not a forensic examination.
#[utoipa::path(post, path = "/v1/handwriting/compare", tag = "handwritten signatures", request_body = CompareRequest,
    security(("bearer" = [])),
    responses((status = 200, body = Object, description = "`score`, `distance`, `reference_spread`, `references`, `per_reference`"),
        (status = 400, body = ErrorBody, description = "invalid_capture"),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "fewer than 2 references")))]
async fn compare(
    State(vault): State<Vault>,
    client: AuthClient,
    headers: HeaderMap,
    RawBody(body): RawBody<MAX_BODY>,
) -> Result<Json<Comparison>, Error> {
    super::require_json(&headers)?;
    let req: CompareRequest = super::json_object(&body)?;
    Ok(Json(
        vault
            .compare_handwriting(&client, &req.signer_id, &req.capture)
            .await?,
    ))
}
