//! `/v1/seals`: make, read, revoke and sign with electronic seals (GB/T 38540).

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::idempotency::{HashedJson, IdempotencyKey};
use super::openapi::Binary;
use super::page::{Page, PageQuery};
use super::{ApiJson, ApiPath, ErrorBody, b64, rfc3339, to_b64};
use crate::crypto::KeyType;
use crate::error::Error;
use crate::ident::{IdNumber, mask_id_number};
use crate::pki::RevocationReason;
use crate::render::NameSealShape;
use crate::vault::{AuthClient, HolderId, NewSeal, SealInfo, SealInput, SealKind, Vault};

pub(super) fn router() -> Router<Vault> {
    Router::new()
        .route("/v1/seals", post(create_seal).get(list_seals))
        .route("/v1/seals/{id}", get(get_seal))
        .route("/v1/seals/{id}/image.png", get(seal_image))
        .route("/v1/seals/{id}/revoke", post(revoke_seal))
        .route("/v1/seals/{id}/sign", post(sign))
}

/// The organisation, or for a personal seal the person, that holds a seal.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Holder {
    /// Organisation name (drawn around the rim), or the person's name (drawn as a name seal).
    name: String,
    /// 统一社会信用代码 (GB 32100, check character verified): every seal but a personal one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    uscc: Option<String>,
    /// 公民身份号码 (GB 11643, birth date and check character verified): a personal seal only.
    /// Answers show it masked (`1101**********002X`); the vault keeps nothing more.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    id_number: Option<IdNumberText>,
}

/// A 公民身份号码 as sent (or shown masked). `Debug` masks it, and a value that is not a string
/// is refused without serde's message, which would quote it.
#[derive(Serialize)]
#[serde(transparent)]
pub(crate) struct IdNumberText(pub(crate) String);

impl std::fmt::Debug for IdNumberText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&mask_id_number(&self.0))
    }
}

impl<'de> Deserialize<'de> for IdNumberText {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::String(text) => Ok(Self(text)),
            _ => Err(serde::de::Error::custom("`id_number` must be a string")),
        }
    }
}

/// Request to make a seal.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateSealRequest {
    /// Seal name, e.g. `某某有限公司合同专用章`.
    name: String,
    /// `official` (1), `personal` (2), `invoice` (3), `contract` (4), `finance` (5), `business` (6); the number is SES_ESPropertyInfo.type.
    #[serde(rename = "type", default)]
    kind: Option<String>,
    /// The holder.
    holder: Holder,
    /// Start of validity: RFC 3339 or `YYYY-MM-DD` (UTC midnight); default now.
    #[serde(default)]
    valid_from: Option<String>,
    /// End of validity: RFC 3339 or `YYYY-MM-DD` (end of that day, UTC); default five years on.
    #[serde(default)]
    valid_to: Option<String>,
    /// Seal picture, base64 PNG (transparent background); drawn by the vault when absent.
    #[serde(default)]
    image: Option<String>,
    /// Picture size in millimetres: a drawn round seal is drawn at this diameter (20–80, default 42); a drawn personal seal at this width (10–40; default 18 square, 22 rectangle, which is half as high); an uploaded picture is shown this wide and high (10–100; default 42, 18 for a personal seal).
    #[serde(default)]
    size_mm: Option<u32>,
    /// A personal seal's outline: `square` (default; the name in two columns read right to left, completed with 之印 or 印 to fill them) or `rectangle` (half as high as wide; the name in one row). Only for a personal seal the vault draws.
    #[serde(default)]
    shape: Option<String>,
    /// Holder key: `sm2` (default), `p256` or `rsa2048`.
    #[serde(default)]
    alg: Option<String>,
    /// The approval system (client name) the seal is granted to; default: you. Another client needs the `admin` scope.
    #[serde(default)]
    grant_to: Option<String>,
}

/// A seal.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SealResponse {
    /// Seal id (for the routes).
    id: String,
    /// SES_SealInfo.esID.
    es_id: String,
    /// Seal name.
    name: String,
    /// Kind name (or the type number when not one of sidian's).
    #[serde(rename = "type")]
    kind: String,
    /// The holder.
    holder: Holder,
    /// Holder key type.
    alg: String,
    /// `active` or `revoked`.
    status: String,
    /// Start of validity (RFC 3339).
    valid_from: String,
    /// End of validity (RFC 3339).
    valid_to: String,
    /// Holder certificate, PEM.
    cert_pem: String,
    /// The SESeal, base64 DER.
    seal: String,
    /// Holder key id.
    key_id: String,
    /// Creation time (RFC 3339).
    created_at: String,
    /// Revocation time (RFC 3339), when revoked.
    #[serde(skip_serializing_if = "Option::is_none")]
    revoked_at: Option<String>,
    /// Why it was revoked.
    #[serde(skip_serializing_if = "Option::is_none")]
    revoke_reason: Option<String>,
}

impl From<SealInfo> for SealResponse {
    fn from(s: SealInfo) -> Self {
        let r = s.row;
        Self {
            id: r.id,
            es_id: r.es_id,
            name: r.name,
            kind: s
                .kind
                .map_or_else(|| r.seal_type.to_string(), |k| k.as_str().to_owned()),
            // A personal seal's row holds the masked 公民身份号码; one made before personal seals
            // took one holds a 统一社会信用代码, which has no `*`.
            holder: match s.kind {
                Some(SealKind::Personal) if r.holder_id.contains('*') => Holder {
                    name: r.holder_name,
                    uscc: None,
                    id_number: Some(IdNumberText(r.holder_id)),
                },
                _ => Holder {
                    name: r.holder_name,
                    uscc: Some(r.holder_id),
                    id_number: None,
                },
            },
            alg: r.alg,
            status: r.status,
            valid_from: rfc3339(r.valid_from),
            valid_to: rfc3339(r.valid_to),
            cert_pem: s.cert_pem,
            seal: to_b64(&r.seal_der),
            key_id: r.key_id,
            created_at: rfc3339(r.created_at),
            revoked_at: r.revoked_at.map(rfc3339),
            revoke_reason: r.revoke_reason,
        }
    }
}

/// Parses RFC 3339, or a date (start of day for `from`, end of day otherwise).
fn parse_time(
    value: &str,
    field: &'static str,
    start_of_day: bool,
) -> Result<OffsetDateTime, Error> {
    use time::format_description::well_known::Rfc3339;
    if let Ok(t) = OffsetDateTime::parse(value, &Rfc3339) {
        return Ok(t);
    }
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    let date = time::Date::parse(value, &fmt)
        .map_err(|_| Error::InvalidRequest(format!("`{field}` must be RFC 3339 or YYYY-MM-DD")))?;
    let t = if start_of_day {
        time::Time::MIDNIGHT
    } else {
        time::macros::time!(23:59:59)
    };
    Ok(date.with_time(t).assume_utc())
}

/// Make a seal: holder key and certificate under the vault CA, the seal picture, and a GB/T 38540 SESeal signed by the vault's seal maker. With an `Idempotency-Key`, a repeated request (same key, same body, within 24 h) makes nothing and replays the first answer with `Idempotent-Replayed: true`.
#[utoipa::path(post, path = "/v1/seals", tag = "seals", request_body = CreateSealRequest,
    security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "1–255 visible ASCII characters; a retry with the same key and body replays the first answer")),
    responses((status = 201, body = SealResponse), (status = 400, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "idempotency_in_progress"),
        (status = 422, body = ErrorBody, description = "invalid seal, or idempotency_mismatch")))]
async fn create_seal(
    State(vault): State<Vault>,
    client: AuthClient,
    idempotency: IdempotencyKey,
    body: HashedJson<CreateSealRequest>,
) -> Result<Response, Error> {
    client.require("seals")?;
    let req = body.value;
    let kind = match req.kind.as_deref() {
        None => SealKind::Official,
        Some(k) => SealKind::parse(k).ok_or_else(|| {
            Error::InvalidRequest(format!(
                "unknown seal type `{}`: official, personal, invoice, contract, finance or business",
                k.chars().take(32).collect::<String>()
            ))
        })?,
    };
    let alg = match req.alg.as_deref() {
        None => KeyType::Sm2,
        Some(a) => a.parse::<KeyType>()?,
    };
    let holder_id = match (req.holder.uscc, req.holder.id_number) {
        (Some(code), None) => HolderId::Uscc(code),
        (None, Some(id)) => {
            HolderId::IdNumber(IdNumber::parse(&id.0).map_err(Error::InvalidIdNumber)?)
        }
        (Some(_), Some(_)) => {
            return Err(Error::InvalidRequest(
                "give one of `holder.uscc` and `holder.id_number`".into(),
            ));
        }
        (None, None) if kind == SealKind::Personal => {
            return Err(Error::InvalidRequest(
                "a personal seal needs `holder.id_number` (公民身份号码)".into(),
            ));
        }
        (None, None) => {
            return Err(Error::InvalidRequest(
                "`holder.uscc` (统一社会信用代码) is required".into(),
            ));
        }
    };
    let shape = req
        .shape
        .as_deref()
        .map(|s| {
            NameSealShape::parse(s)
                .ok_or_else(|| Error::InvalidRequest("`shape` must be square or rectangle".into()))
        })
        .transpose()?;
    let new = NewSeal {
        name: req.name,
        kind,
        holder_name: req.holder.name,
        holder_id,
        valid_from: req
            .valid_from
            .as_deref()
            .map(|v| parse_time(v, "valid_from", true))
            .transpose()?,
        valid_to: req
            .valid_to
            .as_deref()
            .map(|v| parse_time(v, "valid_to", false))
            .transpose()?,
        image: req.image.as_deref().map(|i| b64(i, "image")).transpose()?,
        size_mm: req.size_mm,
        shape,
        alg,
        grant_to: req.grant_to,
    };
    let (v, c) = (vault.clone(), client.clone());
    idempotency
        .answer(&vault, &client, &body.sha256, async move {
            let info = v.create_seal(&c, new).await?;
            Ok((StatusCode::CREATED, Json(SealResponse::from(info))).into_response())
        })
        .await
}

/// A seal in a listing.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SealListItem {
    /// Seal id.
    id: String,
    /// esID.
    es_id: String,
    /// Seal name.
    name: String,
    /// `active` or `revoked`.
    status: String,
    /// Creation time (RFC 3339).
    created_at: String,
}

/// A page of seals.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SealList {
    /// Seals in creation order.
    items: Vec<SealListItem>,
    /// The `cursor` of the next page; null on the last page.
    next_cursor: Option<String>,
}

/// List the seals granted to you (active and revoked), oldest first, a page at a time.
#[utoipa::path(get, path = "/v1/seals", tag = "seals", security(("bearer" = [])),
    params(PageQuery),
    responses((status = 200, body = SealList), (status = 400, body = ErrorBody)))]
async fn list_seals(
    State(vault): State<Vault>,
    client: AuthClient,
    page: Page,
) -> Result<Json<SealList>, Error> {
    client.require("seals")?;
    let rows = vault.seals(&client, page.after(), page.fetch()).await?;
    let (rows, next_cursor) = page.finish(rows, |r| (r.created_at, r.id.as_str()));
    Ok(Json(SealList {
        items: rows
            .into_iter()
            .map(|r| SealListItem {
                created_at: rfc3339(r.created_at),
                id: r.id,
                es_id: r.es_id,
                name: r.name,
                status: r.status,
            })
            .collect(),
        next_cursor,
    }))
}

/// Read a seal granted to you.
#[utoipa::path(get, path = "/v1/seals/{id}", tag = "seals", security(("bearer" = [])),
    params(("id" = String, Path, description = "seal id")),
    responses((status = 200, body = SealResponse), (status = 404, body = ErrorBody)))]
async fn get_seal(
    State(vault): State<Vault>,
    client: AuthClient,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<SealResponse>, Error> {
    client.require("seals")?;
    Ok(Json(vault.seal(&client, &id).await?.into()))
}

/// The seal picture (PNG, transparent background).
#[utoipa::path(get, path = "/v1/seals/{id}/image.png", tag = "seals", security(("bearer" = [])),
    params(("id" = String, Path, description = "seal id")),
    responses((status = 200, content_type = "image/png", body = Binary), (status = 404, body = ErrorBody)))]
async fn seal_image(
    State(vault): State<Vault>,
    client: AuthClient,
    ApiPath(id): ApiPath<String>,
) -> Result<impl IntoResponse, Error> {
    client.require("seals")?;
    let info = vault.seal(&client, &id).await?;
    Ok(([(header::CONTENT_TYPE, "image/png")], info.row.image))
}

/// Request to revoke a seal.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RevokeRequest {
    /// Why (kept with the seal; the audit log holds its hash).
    #[serde(default)]
    reason: Option<String>,
    /// The CRLReason of the holder certificate's CRL entry, by its RFC 5280 name:
    /// `unspecified`, `keyCompromise`, `affiliationChanged`, `superseded`,
    /// `cessationOfOperation` (the default) or `privilegeWithdrawn`.
    #[serde(default)]
    reason_code: Option<String>,
}

/// Revoke a seal: its holder certificate is revoked (published in the CRL) and its key disabled, in one transaction. Older signatures still verify and report the revocation time.
#[utoipa::path(post, path = "/v1/seals/{id}/revoke", tag = "seals", request_body = RevokeRequest,
    security(("bearer" = [])), params(("id" = String, Path, description = "seal id")),
    responses((status = 200, body = SealResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn revoke_seal(
    State(vault): State<Vault>,
    client: AuthClient,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<RevokeRequest>,
) -> Result<Json<SealResponse>, Error> {
    client.require("seals")?;
    let reason = req.reason.unwrap_or_default();
    let code = match req.reason_code.as_deref() {
        None => RevocationReason::CessationOfOperation,
        Some(name) => RevocationReason::from_end_entity_name(name).ok_or_else(|| {
            Error::InvalidRequest(
                "`reason_code` must be one of unspecified, keyCompromise, affiliationChanged, \
                 superseded, cessationOfOperation, privilegeWithdrawn"
                    .into(),
            )
        })?,
    };
    Ok(Json(
        vault.revoke_seal(&client, &id, &reason, code).await?.into(),
    ))
}

/// Request to seal data: exactly one of `data` and `digest`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SealSignRequest {
    /// The original, base64.
    #[serde(default)]
    data: Option<String>,
    /// Its hash, base64 (SM3 for SM2 seals, SHA-256 for P-256/RSA seals): becomes dataHash.
    #[serde(default)]
    digest: Option<String>,
    /// TBS_Sign.propertyInfo: what was sealed, e.g. a file path, URI or title; UTF-8 text. The
    /// ASN.1 type is IA5String, so bytes outside printable ASCII and `%` are percent-encoded
    /// (RFC 3986) as signed; printable ASCII is signed unchanged.
    #[serde(default)]
    property_info: Option<String>,
}

/// An electronic signature made with a seal.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SealSignResponse {
    /// SES_Signature v4, base64 DER.
    signature: String,
    /// Seal id.
    seal_id: String,
    /// esID.
    es_id: String,
    /// TBS_Sign.timeInfo (RFC 3339).
    signed_at: String,
    /// Audit entry of this signature.
    audit_index: u64,
}

/// Written by hand: serde_json scans every byte of a string for characters to escape, and the
/// 30–40 KB base64 signature (which has none) made that scan 7 % of the server's CPU under load
/// (tools/bench/README.md). The short fields still go through serde_json.
impl IntoResponse for SealSignResponse {
    fn into_response(self) -> axum::response::Response {
        let field = |v: &str| serde_json::to_string(v).unwrap_or_else(|_| "\"\"".into());
        let mut body = String::with_capacity(self.signature.len() + 160);
        body.push_str("{\"signature\":\"");
        body.push_str(&self.signature);
        body.push_str("\",\"seal_id\":");
        body.push_str(&field(&self.seal_id));
        body.push_str(",\"es_id\":");
        body.push_str(&field(&self.es_id));
        body.push_str(",\"signed_at\":");
        body.push_str(&field(&self.signed_at));
        body.push_str(",\"audit_index\":");
        body.push_str(&self.audit_index.to_string());
        body.push('}');
        ([(header::CONTENT_TYPE, "application/json")], body).into_response()
    }
}

/// Seal data with a seal granted to you (GB/T 38540 SES_Signature v4).
#[utoipa::path(post, path = "/v1/seals/{id}/sign", tag = "seals", operation_id = "sign_with_seal", request_body = SealSignRequest,
    security(("bearer" = [])), params(("id" = String, Path, description = "seal id")),
    responses((status = 200, body = SealSignResponse), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn sign(
    State(vault): State<Vault>,
    client: AuthClient,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<SealSignRequest>,
) -> Result<SealSignResponse, Error> {
    client.require("sign")?;
    let input = match (req.data, req.digest) {
        (Some(d), None) => SealInput::Data(b64(&d, "data")?),
        (None, Some(d)) => SealInput::Digest(b64(&d, "digest")?),
        _ => {
            return Err(Error::InvalidRequest(
                "give exactly one of `data` and `digest`".into(),
            ));
        }
    };
    let property = req
        .property_info
        .map_or_else(|| "sidian".to_owned(), |text| ia5_property_info(&text));
    let signed = vault.seal_sign(&client, &id, &input, &property).await?;
    Ok(SealSignResponse {
        signature: to_b64(&signed.signature),
        seal_id: id,
        es_id: signed.es_id,
        // timeInfo's milliseconds, as signed.
        signed_at: rfc3339(
            signed.signed_at.unix_timestamp() * 1000 + i64::from(signed.signed_at.millisecond()),
        ),
        audit_index: signed.audit_index,
    })
}

/// UTF-8 text as an IA5String `propertyInfo`: GB/T 38540 types it IA5String and readers such
/// as ofdrw put an ASCII path there, so text beyond printable ASCII is percent-encoded the way
/// a URI would carry it (`%` itself too, so that decoding is unambiguous) rather than refused.
fn ia5_property_info(text: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if (0x20..0x7F).contains(&b) && b != b'%' {
            out.push(char::from(b));
        } else {
            // Writing into a String cannot fail.
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::ia5_property_info;

    #[test]
    fn property_info_keeps_ascii_and_percent_encodes_the_rest() {
        assert_eq!(
            ia5_property_info("Doc_0/Signs/Sign_0/Signature.xml"),
            "Doc_0/Signs/Sign_0/Signature.xml"
        );
        assert_eq!(ia5_property_info("合同"), "%E5%90%88%E5%90%8C");
        assert_eq!(ia5_property_info("50% off\n"), "50%25 off%0A");
        assert!(ia5_property_info("审批单 №7").is_ascii());
    }
}
