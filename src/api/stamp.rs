//! `POST /v1/seals/{id}/stamp`: seal a PDF (PAdES, visible seal) or an OFD (GB/T 33190 §18,
//! GB/T 38540 seal) with a seal granted to you.

use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use utoipa::IntoParams;

use super::body::RawBody;
use super::documents::MAX_DOCUMENT;
use super::idempotency::IdempotencyKey;
use super::openapi::Binary;
use super::{ApiPath, ErrorBody};
use crate::error::Error;
use crate::vault::{AuthClient, StampParams, Vault};

pub(super) fn router() -> Router<Vault> {
    Router::new().route("/v1/seals/{id}/stamp", post(stamp))
}

/// Where and how to stamp.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct StampQuery {
    /// 1-based page (default 1).
    page: Option<usize>,
    /// Distance of the seal's left edge from the page's left edge (default: 15 mm from the right).
    x: Option<f64>,
    /// PDF: distance of the seal's bottom edge from the page's bottom edge (default 15 mm). OFD: distance of the seal's top edge from the page's top edge, in mm, as OFD measures (default: 15 mm from the bottom).
    y: Option<f64>,
    /// `mm` (default) or `pt` (PDF only).
    unit: Option<String>,
    /// `none` (default), `p1` (certify, no changes) or `p2` (certify, form filling and signing allowed).
    certify: Option<String>,
    /// `b-b` (default), `b-t` (with a signature timestamp from the vault's TSA) `b-lt` (B-T plus a later revision with a DSS holding the certificates and current CRLs that validate the seal and its timestamp) or `b-lta` (B-LT plus a document time-stamp revision covering the DSS).
    level: Option<String>,
    /// `cades` (ETSI.CAdES.detached, default) or `pkcs7` (adbe.pkcs7.detached).
    subfilter: Option<String>,
    /// `true` for a 骑缝章 (cross-page seal): the seal split into strips over the right edge of every page, at `y` (default: centred); `page` and `x` are then unused.
    cross_page: Option<bool>,
    /// Why the document is sealed, written as `/Reason` in the signature dictionary (at most 200 characters, no control characters).
    reason: Option<String>,
    /// Where it is sealed (`/Location`; at most 200 characters, no control characters).
    location: Option<String>,
    /// How to reach the signer (`/ContactInfo`; at most 200 characters, no control characters).
    contact: Option<String>,
    /// The name of an existing empty signature field to sign into instead of adding a field: the seal goes centred in its widget (shrunk to fit); `x`, `y` and `cross_page` must then be absent. A missing, filled or non-signature field is refused (422 `pdf_refused`, naming it).
    field: Option<String>,
    /// Text to centre the seal on (white space ignored), e.g. the date line or `（盖章）`: looked for on `page` if given, else on every page in order, first occurrence; `x`, `y` and `cross_page` must then be absent. Text not found: 422 `keyword_not_found`.
    keyword: Option<String>,
}

/// Seal a PDF or an OFD (with an `Idempotency-Key`, a repeated request — same key, same query and PDF, within 24 h — stamps nothing and replays the first answer, headers included, with `Idempotent-Replayed: true`): the body is the PDF, the answer the sealed PDF (an incremental update with the seal image in a signature field and a PAdES B-B or B-T signature). Unsigned documents with several revisions or unreferenced objects are normalised first; documents with active content (any automatic action, an `/OpenAction` other than a go-to within the document, annotations other than passive ones, links other than to an address or within the document, JavaScript, embedded files, XFA, optional content), form fields other than signature fields, or encryption are refused (422 `pdf_refused`, the message naming the construct and where it is). An OFD (`application/ofd`, or `application/octet-stream` with an OFD body) gains one GB/T 33190 §18 signature: `Signatures.xml` (created and referenced from `OFD.xml` on the first seal, extended by later ones) and a `Sign_N` folder with `Signature.xml` (SM3 `CheckValue`s of every file outside the signature folders, a `StampAnnot` per page sealed), `Seal.esl` and `SignedValue.dat` (an SES_Signature whose dataHash is over `Signature.xml` and whose propertyInfo is its path); every existing file keeps its bytes, so earlier signatures stay intact. Only `page`, `x`, `y`, `cross_page` and `keyword` apply; an unreadable package is 422 `invalid_ofd`, a structure that cannot be sealed (no such page, no page size) 422 `ofd_refused`.
#[utoipa::path(post, path = "/v1/seals/{id}/stamp", tag = "seals", security(("bearer" = [])),
    params(("id" = String, Path, description = "seal id"), StampQuery,
        ("Idempotency-Key" = Option<String>, Header, description = "1–255 visible ASCII characters; a retry with the same key, query and body replays the first answer")),
    request_body(content((Binary = "application/pdf"), (Binary = "application/ofd"), (Binary = "application/octet-stream"))),
    responses((status = 200, content((Binary = "application/pdf"), (Binary = "application/ofd"))),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "seal revoked or not valid, or idempotency_in_progress"),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody, description = "PDF or OFD refused, keyword_not_found, or idempotency_mismatch")))]
async fn stamp(
    State(vault): State<Vault>,
    client: AuthClient,
    ApiPath(id): ApiPath<String>,
    query: Result<Query<StampQuery>, QueryRejection>,
    idempotency: IdempotencyKey,
    headers: HeaderMap,
    RawBody(body): RawBody<MAX_DOCUMENT>,
) -> Result<Response, Error> {
    client.require("sign")?;
    let Query(q) = query.map_err(|e| Error::InvalidRequest(e.body_text()))?;
    let base = super::media_type(&headers);
    let is_ofd = match base.as_str() {
        "application/ofd" => true,
        "application/pdf" => false,
        "application/octet-stream" => crate::ofd::is_ofd(&body),
        _ => {
            return Err(Error::UnsupportedMediaType(
                "application/pdf or application/ofd",
            ));
        }
    };
    let params = StampParams {
        page: q.page,
        x: q.x,
        y: q.y,
        unit: q.unit.as_deref(),
        certify: q.certify.as_deref(),
        level: q.level.as_deref(),
        subfilter: q.subfilter.as_deref(),
        cross_page: q.cross_page.unwrap_or(false),
        reason: q.reason.as_deref(),
        location: q.location.as_deref(),
        contact: q.contact.as_deref(),
        field: q.field.as_deref(),
        keyword: q.keyword.as_deref(),
    };
    let body_sha256: [u8; 32] = Sha256::digest(&body).into();
    let (v, c) = (vault.clone(), client.clone());
    if is_ofd {
        let placement = params.resolve_ofd()?;
        return idempotency
            .answer(&vault, &client, &body_sha256, async move {
                let stamped = v.stamp_ofd(&c, &id, body, placement).await?;
                let mut response =
                    ([(header::CONTENT_TYPE, "application/ofd")], stamped.ofd).into_response();
                let h = response.headers_mut();
                if let Ok(v) = HeaderValue::from_str(&stamped.signature) {
                    h.insert("x-sidian-signature", v);
                }
                h.insert(
                    "x-sidian-audit-index",
                    HeaderValue::from(stamped.audit_index),
                );
                Ok(response)
            })
            .await;
    }
    let req = params.resolve()?;
    idempotency
        .answer(&vault, &client, &body_sha256, async move {
            let stamped = v.stamp_pdf(&c, &id, body, req).await?;
            let mut response =
                ([(header::CONTENT_TYPE, "application/pdf")], stamped.pdf).into_response();
            let h = response.headers_mut();
            if let Ok(v) = HeaderValue::from_str(&stamped.field) {
                h.insert("x-sidian-field", v);
            }
            h.insert(
                "x-sidian-audit-index",
                HeaderValue::from(stamped.audit_index),
            );
            h.insert(
                "x-sidian-normalised",
                HeaderValue::from_static(if stamped.normalised { "true" } else { "false" }),
            );
            Ok(response)
        })
        .await
}
