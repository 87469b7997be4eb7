//! `/v1/licences`: issue electronic licences, read them, and change their status.

use axum::extract::Query;
use axum::extract::State;
use axum::extract::rejection::QueryRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};

use super::body::RawBody;
use super::idempotency::{HashedJson, IdempotencyKey, stored, stored_response};
use super::openapi::Binary;
use super::page::Page;
use super::seals::IdNumberText;
use super::{ApiJson, ApiPath, ErrorBody, rfc3339, to_b64};
use crate::error::Error;
use crate::ident::mask_id_number;
use crate::store::LicenceFilter;
use crate::vault::{
    AuthClient, ImportOutcome, ImportRow, Importer, Licence, LicenceHolder, LicencePdfSeal,
    LicenceRequest, LicenceUpdate, PublicLicence, Respond, Transition, Vault, date_of,
    valid_to_text,
};

/// The anonymous route: the page a licence's QR code leads to.
pub(super) fn public_router() -> Router<Vault> {
    Router::new().route("/v1/licences/{id}/verify", get(verify_licence))
}

pub(super) fn router() -> Router<Vault> {
    Router::new()
        .route("/v1/licences", post(issue).get(list))
        .route("/v1/licences:batch", post(batch))
        .route("/v1/licences/{id}", get(get_licence))
        .route("/v1/licences/{id}/file", get(licence_file))
        .route("/v1/licences/{id}/change", post(supersede))
        .route("/v1/licences/{id}/{action}", post(change))
}

/// Who holds the licence (持证主体).
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LicenceHolderBody {
    /// 持证主体: the organisation's or the person's name.
    name: String,
    /// 持证主体代码类型: `111` 居民身份证 (GB 11643: check character and a real birth date), `001` 统一社会信用代码 (GB 32100), `414` 护照 (format only).
    id_type: String,
    /// 持证主体代码. A person's is masked (`1101**********002X`) in lists.
    #[schema(value_type = String)]
    id_number: IdNumberText,
}

/// Request to issue a licence.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct IssueLicenceRequest {
    /// 证照类型代码 (`GET /v1/licence-types`).
    #[serde(rename = "type")]
    type_code: String,
    /// The issuer's id; may be left out by a client bound to one issuer.
    #[serde(default)]
    issuer: Option<String>,
    /// The holder.
    holder: LicenceHolderBody,
    /// 证照编号; generated (the identifier's serial) when absent.
    #[serde(default)]
    number: Option<String>,
    /// 有效期起始, `YYYY-MM-DD` (China Standard Time days); default today.
    #[serde(default)]
    valid_from: Option<String>,
    /// 有效期截止, `YYYY-MM-DD` (valid through that day) or `长期`; default from the type's validity.
    #[serde(default)]
    valid_to: Option<String>,
    /// 照面信息: the type's face fields, checked against its schema.
    #[schema(value_type = Object)]
    fields: Value,
}

/// A licence's place in its issuer's status list.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct StatusListRef {
    /// The list (`GET /v1/status-lists/{id}`).
    id: String,
    /// The slot.
    index: i64,
}

/// The issuer of a licence.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct LicenceIssuer {
    /// Issuer id.
    pub(super) id: String,
    /// 颁发机构.
    pub(super) name: String,
    /// 颁发机构代码 (统一社会信用代码).
    pub(super) uscc: String,
}

/// A licence.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct LicenceResponse {
    /// 证照标识 (GB/T 36904, with its MOD 37,36 check character).
    id: String,
    /// 证照编号.
    number: String,
    /// `valid`, `suspended`, `revoked`, `cancelled`, `expired` or `superseded`.
    status: &'static str,
    /// The national status code: 01 有效, 02 暂扣, 04 注销, 05 失效 (expired or superseded), 07 吊销 (revoked).
    status_code: &'static str,
    /// Why the status last changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    status_reason: Option<String>,
    /// The licence that superseded this one.
    #[serde(skip_serializing_if = "Option::is_none")]
    superseded_by: Option<String>,
    /// 证照类型代码.
    #[serde(rename = "type")]
    type_code: String,
    /// 证照名称.
    type_name: String,
    /// 颁发机构.
    issuer: LicenceIssuer,
    /// 持证主体.
    holder: LicenceHolderBody,
    /// 颁发日期.
    issued_on: String,
    /// 有效期起始.
    valid_from: String,
    /// 有效期截止, or `长期`.
    valid_to: String,
    /// 照面信息.
    #[schema(value_type = Object)]
    fields: Value,
    /// The issuer's SM2 signature (base64 DER) over the licence's canonical form (JSON, keys sorted, no whitespace).
    signature: String,
    /// Its slot in the issuer's status list.
    status_list: StatusListRef,
    /// The licence file.
    file_url: String,
    /// Where the licence is verified.
    verify_url: String,
    /// When it was issued (RFC 3339).
    issued_at: String,
    /// Last change (RFC 3339).
    updated_at: String,
}

impl LicenceResponse {
    /// A licence as answered; `masked`: a person's identifier and the personal fields masked.
    pub(super) fn of(l: Licence, masked: bool) -> Result<Self, Error> {
        let r = l.row;
        let id_number = if masked && l.personal_holder {
            mask_id_number(&r.holder_id_number)
        } else {
            r.holder_id_number
        };
        let fields = if masked {
            Value::Object(l.masked_fields)
        } else {
            serde_json::from_str::<Map<String, Value>>(&r.fields)
                .map(Value::Object)
                .map_err(|_| Error::Corrupt(format!("licence {} fields", r.id)))?
        };
        Ok(Self {
            number: r.number,
            status: l.status.as_str(),
            status_code: l.status.code(),
            status_reason: r.status_reason,
            superseded_by: r.superseded_by,
            type_code: r.type_code,
            type_name: l.type_name,
            issuer: LicenceIssuer {
                id: l.issuer.id,
                name: l.issuer.name,
                uscc: l.issuer.uscc,
            },
            holder: LicenceHolderBody {
                name: r.holder_name,
                id_type: r.holder_id_type,
                id_number: IdNumberText(id_number),
            },
            issued_on: date_of(r.issued_on),
            valid_from: date_of(r.valid_from),
            valid_to: valid_to_text(r.valid_to),
            fields,
            signature: to_b64(&r.signature),
            status_list: StatusListRef {
                id: r.list_id,
                index: r.list_index,
            },
            file_url: l.file_url,
            verify_url: l.verify_url,
            issued_at: rfc3339(r.created_at),
            updated_at: rfc3339(r.updated_at),
            id: r.id,
        })
    }
}

/// Issue a licence (scope `licence:issue` or `licence:issue:<type code>`, and a binding to the issuer). `Idempotency-Key` is required: a retry with the same key and body replays the first answer; another body under the key is 422. The request is checked field by field (400 `invalid_field` naming the field), the 证照标识 made (type code, issuer's 统一社会信用代码, a random serial, version 001), the canonical form signed with the issuer's SM2 key, and the licence stored with a random slot of the issuer's status list and its audit entry.
#[utoipa::path(post, path = "/v1/licences", tag = "licences", request_body = IssueLicenceRequest,
    security(("bearer" = [])),
    params(("Idempotency-Key" = String, Header, description = "required: 1–255 visible ASCII characters; a retry with the same key and body replays the first answer")),
    responses((status = 201, body = LicenceResponse),
        (status = 400, body = ErrorBody, description = "invalid_field (the message starts with the field), or no Idempotency-Key"),
        (status = 403, body = ErrorBody, description = "no licence:issue scope for the type, or no binding to the issuer"),
        (status = 404, body = ErrorBody, description = "unknown licence type or issuer"),
        (status = 409, body = ErrorBody, description = "the issuer has a licence of this type with this number, or idempotency_in_progress"),
        (status = 422, body = ErrorBody, description = "idempotency_mismatch")))]
async fn issue(
    State(vault): State<Vault>,
    client: AuthClient,
    idempotency: IdempotencyKey,
    body: HashedJson<IssueLicenceRequest>,
) -> Result<Response, Error> {
    idempotency.require()?;
    let req = body.value;
    let request = LicenceRequest {
        type_code: req.type_code,
        issuer: req.issuer,
        holder: LicenceHolder {
            name: req.holder.name,
            id_type: req.holder.id_type,
            id_number: req.holder.id_number.0,
        },
        number: req.number,
        valid_from: req.valid_from,
        valid_to: req.valid_to,
        fields: req.fields,
    };
    // Present: required above.
    let idempotency = idempotency
        .request(&body.sha256)
        .ok_or(Error::Unavailable)?;
    // The answer is made inside the ledger's transaction, so that it is stored with the licence.
    let respond: Respond = Box::new(|licence| {
        let body = serde_json::to_vec(&LicenceResponse::of(licence, false)?)
            .map_err(|e| Error::Corrupt(format!("licence answer: {e}")))?;
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        Ok(stored(&headers, StatusCode::CREATED, body))
    });
    // Its own task: a caller who disconnects cannot cut the issuance short between the ledger
    // and the answer.
    let task = tokio::spawn(async move {
        vault
            .issue_licence_once(&client, request, &idempotency, respond)
            .await
    });
    let (answer, replayed) = task.await.map_err(|_| Error::Unavailable)??;
    Ok(stored_response(answer, replayed))
}

/// Most lines in one `POST /v1/licences:batch`.
const MAX_BATCH_LINES: usize = 10_000;
/// Largest body of a batch (10,000 licences of ~3 KB).
const MAX_BATCH_BODY: usize = 32 << 20;
/// Lines signed and committed together; each group's results are streamed when it commits.
const BATCH_GROUP: usize = 1000;

/// One line of `POST /v1/licences:batch`: the body of `POST /v1/licences` with the 证照编号
/// required, and the original 颁发日期 of an existing licence.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct BatchLicenceLine {
    /// 证照类型代码.
    #[serde(rename = "type")]
    type_code: String,
    /// The issuer's id; may be left out by a client bound to one issuer.
    #[serde(default)]
    issuer: Option<String>,
    /// The holder.
    holder: LicenceHolderBody,
    /// 证照编号: with the issuer and type it identifies the licence, so a repeated line is
    /// answered `exists` instead of issuing it twice.
    number: String,
    /// 有效期起始, `YYYY-MM-DD`; default today.
    #[serde(default)]
    valid_from: Option<String>,
    /// 有效期截止, `YYYY-MM-DD` or `长期`; default from the type's validity.
    #[serde(default)]
    valid_to: Option<String>,
    /// 颁发日期 of the original licence, `YYYY-MM-DD`; default today.
    #[serde(default)]
    issued_on: Option<String>,
    /// 照面信息.
    #[schema(value_type = Object)]
    fields: Value,
}

/// The result of one line of a batch: `id` and `status`, or `error`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct BatchLineResult {
    /// The line of the request (from 1, blank lines counted).
    line: u64,
    /// 证照标识 of the licence created now or before.
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    /// `created`, or `exists` (the same licence was issued before).
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<&'static str>,
    /// Why the line was refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<BatchLineError>,
}

/// Why a line of a batch was refused.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct BatchLineError {
    /// The stable code, as in error bodies (`invalid_field`, `conflict`, `forbidden`, …).
    code: &'static str,
    /// What is wrong.
    message: String,
    /// The field, when one is to blame (`holder.id_number`, `fields.domicile`, `number`).
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<String>,
}

impl BatchLineResult {
    fn of(line: u64, outcome: ImportOutcome) -> Self {
        let (id, status, error) = match outcome {
            ImportOutcome::Created(id) => (Some(id), Some("created"), None),
            ImportOutcome::Exists(id) => (Some(id), Some("exists"), None),
            ImportOutcome::Rejected(e) => (None, None, Some(BatchLineError::of(&e))),
        };
        Self {
            line,
            id,
            status,
            error,
        }
    }

    fn refused(line: u64, e: &Error) -> Self {
        Self {
            line,
            id: None,
            status: None,
            error: Some(BatchLineError::of(e)),
        }
    }
}

impl BatchLineError {
    fn of(e: &Error) -> Self {
        let field = match e {
            Error::InvalidField(m) | Error::Conflict(m) => m
                .split_once(": ")
                .map(|(f, _)| f)
                .filter(|f| !f.contains(' '))
                .map(str::to_owned),
            _ => None,
        };
        Self {
            code: e.code(),
            message: e.to_string(),
            field,
        }
    }
}

/// Issue (or import) many licences: the body is NDJSON (`application/x-ndjson`), one licence per line in the body of `POST /v1/licences` with `number` required (and `issued_on`, the original issue date, allowed); at most 10,000 lines and 32 MiB. Same scopes and bindings as `POST /v1/licences`. Each line is idempotent by (issuer, type, number): a licence already issued with the same content is answered `exists`, with other content 409 `conflict`; so a batch cut off is simply sent again, and no `Idempotency-Key` is needed. The answer is NDJSON, streamed as groups of lines commit: one object per non-blank input line, in order, `{"line", "id", "status": "created"|"exists"}` or `{"line", "error": {"code", "message", "field"}}`. Each licence is stored with its audit entry in one transaction.
#[utoipa::path(post, path = "/v1/licences:batch", tag = "licences",
    request_body(content = BatchLicenceLine, content_type = "application/x-ndjson", description = "one licence per line"),
    security(("bearer" = [])),
    responses((status = 200, body = BatchLineResult, content_type = "application/x-ndjson", description = "one result per line, in order"),
        (status = 400, body = ErrorBody, description = "more than 10,000 lines, a body that is not UTF-8, or a line that is not a licence request in JSON (the message names the line; nothing is issued)"),
        (status = 413, body = ErrorBody, description = "the body exceeds 32 MiB"),
        (status = 415, body = ErrorBody, description = "not application/x-ndjson")))]
async fn batch(
    State(vault): State<Vault>,
    client: AuthClient,
    headers: axum::http::HeaderMap,
    RawBody(body): RawBody<MAX_BATCH_BODY>,
) -> Result<Response, Error> {
    if super::media_type(&headers) != NDJSON {
        return Err(Error::UnsupportedMediaType(NDJSON));
    }
    let text = String::from_utf8(body)
        .map_err(|_| Error::InvalidRequest("the body is not UTF-8".into()))?;
    let lines: Vec<(u64, &str)> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| (u64::try_from(i).unwrap_or(u64::MAX - 1) + 1, l))
        .collect();
    if lines.len() > MAX_BATCH_LINES {
        return Err(Error::InvalidRequest(format!(
            "at most {MAX_BATCH_LINES} lines per batch"
        )));
    }
    // A line that is not a licence request in JSON makes the body malformed: refused whole,
    // before anything is issued. What a well-formed line asks for is judged line by line.
    let parsed: Vec<BatchLine> = lines
        .into_iter()
        .map(|(n, l)| {
            parse_batch_line(l)
                .map(|row| (n, row))
                .map_err(|e| Error::InvalidRequest(format!("line {n}: {e}")))
        })
        .collect::<Result<_, Error>>()?;
    let (tx, rx) = tokio::sync::mpsc::channel::<Vec<u8>>(4);
    // The importers pick up the request id from this task.
    let request = crate::request_id::current();
    let scope = crate::request_id::Scope::new(request.unwrap_or_default());
    tokio::spawn(scope.run(run_batch(vault, client, parsed, tx)));
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|chunk| (Ok::<_, std::convert::Infallible>(chunk), rx))
    });
    Ok((
        [(axum::http::header::CONTENT_TYPE, NDJSON)],
        axum::body::Body::from_stream(stream),
    )
        .into_response())
}

const NDJSON: &str = "application/x-ndjson";

/// The importer a line needs: its type code and issuer.
type ImporterKey = (String, Option<String>);
/// A line of a batch (its number) and what it asks for.
type BatchLine = (u64, (ImporterKey, ImportRow));
/// A row with its place in its group and its line.
type Placed = (usize, u64, ImportRow);

fn parse_batch_line(line: &str) -> Result<(ImporterKey, ImportRow), Error> {
    let l: BatchLicenceLine = super::json_object(line.as_bytes())?;
    // `fields` is free-form JSON to serde; its schema says object, and the line is malformed
    // otherwise (the type's own schema is checked line by line).
    if !l.fields.is_object() {
        return Err(Error::InvalidRequest(
            "`fields` must be a JSON object".into(),
        ));
    }
    Ok((
        (l.type_code, l.issuer),
        ImportRow {
            holder: LicenceHolder {
                name: l.holder.name,
                id_type: l.holder.id_type,
                id_number: l.holder.id_number.0,
            },
            number: l.number,
            valid_from: l.valid_from,
            valid_to: l.valid_to,
            issued_on: l.issued_on,
            fields: l.fields,
        },
    ))
}

/// Imports a batch group by group (each group's lines split by type and issuer, one importer
/// each), sending each group's results in line order once it committed. After a failure of the
/// database every remaining line is answered `unavailable`: each line gets one answer.
async fn run_batch(
    vault: Vault,
    client: AuthClient,
    lines: Vec<BatchLine>,
    out: tokio::sync::mpsc::Sender<Vec<u8>>,
) {
    let mut importers: std::collections::HashMap<
        (String, Option<String>),
        Result<Importer, Error>,
    > = std::collections::HashMap::new();
    let mut failed = false;
    let mut lines = lines.into_iter().peekable();
    while lines.peek().is_some() {
        let group: Vec<BatchLine> = lines.by_ref().take(BATCH_GROUP).collect();
        let mut results: Vec<Option<BatchLineResult>> = Vec::with_capacity(group.len());
        // Line positions of each importer's rows in this group.
        let mut by_importer: std::collections::HashMap<ImporterKey, Vec<Placed>> =
            std::collections::HashMap::new();
        for (pos, (line, (key, row))) in group.into_iter().enumerate() {
            if failed {
                results.push(Some(BatchLineResult::refused(line, &Error::Unavailable)));
            } else {
                results.push(None);
                by_importer.entry(key).or_default().push((pos, line, row));
            }
        }
        for (key, rows) in by_importer {
            if !importers.contains_key(&key) {
                let made = vault.importer(&client, key.1.as_deref(), &key.0).await;
                importers.insert(key.clone(), made);
            }
            let importer = match importers.get(&key) {
                Some(Ok(i)) => i.clone(),
                Some(Err(e)) => {
                    for (pos, line, _) in rows {
                        results[pos] = Some(BatchLineResult::refused(line, e));
                    }
                    continue;
                }
                None => continue,
            };
            let places: Vec<(usize, u64)> =
                rows.iter().map(|(pos, line, _)| (*pos, *line)).collect();
            let rows: Vec<Result<ImportRow, Error>> =
                rows.into_iter().map(|(_, _, row)| Ok(row)).collect();
            let committed = match importer.known_numbers(&rows).await {
                Ok(known) => {
                    let signer = importer.clone();
                    match tokio::task::spawn_blocking(move || signer.prepare(rows, &known)).await {
                        Ok(prepared) => importer.commit(prepared).await,
                        Err(_) => Err(Error::Unavailable),
                    }
                }
                Err(e) => Err(e),
            };
            let outcomes = committed.unwrap_or_else(|e| {
                tracing::error!(error = %e, "licence batch failed; nothing of the group was committed");
                failed = true;
                places
                    .iter()
                    .map(|_| ImportOutcome::Rejected(Error::Unavailable))
                    .collect()
            });
            for ((pos, line), outcome) in places.into_iter().zip(outcomes) {
                results[pos] = Some(BatchLineResult::of(line, outcome));
            }
        }
        let mut chunk = Vec::new();
        for r in results.into_iter().flatten() {
            if serde_json::to_writer(&mut chunk, &r).is_ok() {
                chunk.push(b'\n');
            }
        }
        if out.send(chunk).await.is_err() {
            // The caller hung up: what committed stays, and a resend answers it `exists`.
            return;
        }
    }
    vault.checkpoint_soon().await;
}

/// Read a licence you issued (any with `admin`); another client's is 404 as if absent.
#[utoipa::path(get, path = "/v1/licences/{id}", tag = "licences", security(("bearer" = [])),
    params(("id" = String, Path, description = "证照标识")),
    responses((status = 200, body = LicenceResponse), (status = 404, body = ErrorBody)))]
async fn get_licence(
    State(vault): State<Vault>,
    client: AuthClient,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<LicenceResponse>, Error> {
    Ok(Json(LicenceResponse::of(
        vault.licence(&client, &id).await?,
        false,
    )?))
}

/// The format of a licence file.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct FileQuery {
    /// `ofd` (default): the GB/T 36905 OFD sealed with the issuer's licence seal; `pdf`: the same face as a PDF, PAdES-sealed and certified (DocMDP P1) with the issuer's licence seal.
    format: Option<String>,
    /// With `format=pdf`: `p256` (default), the issuer's P-256 licence seal any PDF reader validates; `sm2`, its SM2 licence seal (the OFD's).
    alg: Option<String>,
}

/// The licence file of a licence you issued (any with `admin`; another client's is 404 as for `GET /v1/licences/{id}`): an OFD (GB/T 36905) with the type's layout filled in, a QR code of `verify_url`, the GB/T 36903 metadata in `DocInfo` and a custom tag, sealed with the issuer's licence seal; or with `format=pdf` the same face as a PDF (`/LicenceID`, `/LicenceType`, `/LicenceIssuer` in its Info dictionary), PAdES-sealed and certified (DocMDP P1) with the issuer's P-256 licence seal, or its SM2 one with `alg=sm2`. Made on the first request and kept: every request answers the same bytes. A value the licence font cannot draw, or too long for its place, is 422 `licence_not_printable` naming the field.
#[utoipa::path(get, path = "/v1/licences/{id}/file", tag = "licences", security(("bearer" = [])),
    params(("id" = String, Path, description = "证照标识"), FileQuery),
    responses((status = 200, description = "the file", content((Binary = "application/ofd"), (Binary = "application/pdf")),
            headers(("Content-Disposition" = String, description = "attachment; filename=\"<证照标识>.ofd\" (or .pdf)"))),
        (status = 400, body = ErrorBody, description = "an unknown format or alg"),
        (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "licence_not_printable")))]
async fn licence_file(
    State(vault): State<Vault>,
    client: AuthClient,
    ApiPath(id): ApiPath<String>,
    query: Result<Query<FileQuery>, QueryRejection>,
) -> Result<Response, Error> {
    let Query(q) = query.map_err(|e| Error::InvalidRequest(e.body_text()))?;
    let (file, content_type, extension) =
        match (q.format.as_deref().unwrap_or("ofd"), q.alg.as_deref()) {
            ("ofd", None) => (
                vault.licence_ofd(&client, &id).await?,
                "application/ofd",
                "ofd",
            ),
            ("ofd", Some(_)) => {
                return Err(Error::InvalidRequest(
                    "`alg` chooses the seal of a PDF: give it with `format=pdf` only".into(),
                ));
            }
            ("pdf", alg) => {
                let which = match alg.unwrap_or("p256") {
                    "p256" => LicencePdfSeal::P256,
                    "sm2" => LicencePdfSeal::Sm2,
                    _ => {
                        return Err(Error::InvalidRequest(
                            "`alg` must be `p256` or `sm2`".into(),
                        ));
                    }
                };
                (
                    vault.licence_pdf(&client, &id, which).await?,
                    "application/pdf",
                    "pdf",
                )
            }
            _ => {
                return Err(Error::InvalidRequest(
                    "`format` must be `ofd` or `pdf`".into(),
                ));
            }
        };
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{id}.{extension}\""),
            ),
        ],
        file,
    )
        .into_response())
}

/// Filters of the licence list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct LicenceQuery {
    /// Only the licences of this 持证主体代码.
    holder_code: Option<String>,
    /// Only this 证照类型代码.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    type_code: Option<String>,
    /// Items per page: 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<u32>,
    /// Where to continue: the `next_cursor` of the previous page (absent for the first page).
    cursor: Option<String>,
}

/// A page of licences.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct LicenceList {
    /// Licences in issuing order; a person's 持证主体代码 and the type's personal fields masked.
    items: Vec<LicenceResponse>,
    /// The `cursor` of the next page; null on the last page.
    next_cursor: Option<String>,
}

/// List the licences you issued, oldest first, a page at a time, optionally of one holder or type; personal data masked.
#[utoipa::path(get, path = "/v1/licences", tag = "licences", security(("bearer" = [])),
    params(LicenceQuery),
    responses((status = 200, body = LicenceList), (status = 400, body = ErrorBody)))]
async fn list(
    State(vault): State<Vault>,
    client: AuthClient,
    query: Result<Query<LicenceQuery>, QueryRejection>,
) -> Result<Json<LicenceList>, Error> {
    let Query(q) = query.map_err(|e| Error::InvalidRequest(e.body_text()))?;
    let page = Page::new(q.limit, q.cursor.as_deref())?;
    let filter = LicenceFilter {
        holder_code: q.holder_code,
        type_code: q.type_code,
    };
    let rows = vault
        .licences(&client, &filter, page.after(), page.fetch())
        .await?;
    let (rows, next_cursor) = page.finish(rows, |l| (l.row.created_at, l.row.id.as_str()));
    Ok(Json(LicenceList {
        items: rows
            .into_iter()
            .map(|l| LicenceResponse::of(l, true))
            .collect::<Result<_, _>>()?,
        next_cursor,
    }))
}

/// Request to change a licence's status.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ChangeRequest {
    /// Why (kept with the licence; the audit log holds its hash): 1–512 characters.
    reason: String,
}

/// Change a licence's status: `suspend` (valid → suspended, 暂扣), `reinstate` (suspended → valid), `revoke` (→ revoked, 吊销), `cancel` (→ cancelled, 注销). Revoked, cancelled, superseded and expired are final; any other change is 409 `invalid_transition` naming the current status. Each change is audited with its actor and shows in the status list at once.
#[utoipa::path(post, path = "/v1/licences/{id}/{action}", tag = "licences", request_body = ChangeRequest,
    security(("bearer" = [])),
    params(("id" = String, Path, description = "证照标识"),
        ("action" = String, Path, description = "suspend, reinstate, revoke or cancel")),
    responses((status = 200, body = LicenceResponse), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "invalid_transition")))]
async fn change(
    State(vault): State<Vault>,
    client: AuthClient,
    ApiPath((id, action)): ApiPath<(String, String)>,
    ApiJson(req): ApiJson<ChangeRequest>,
) -> Result<Json<LicenceResponse>, Error> {
    let transition = Transition::parse(&action).ok_or(Error::NotFound("route"))?;
    let licence = vault
        .change_licence(&client, &id, transition, &req.reason)
        .await?;
    Ok(Json(LicenceResponse::of(licence, false)?))
}

/// Request to change a licence (变更).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SupersedeRequest {
    /// 照面信息 of the next version, whole, checked against the type's schema.
    #[schema(value_type = Object)]
    fields: Value,
    /// A new 持证主体 name (a renamed holder); default unchanged.
    #[serde(default)]
    holder_name: Option<String>,
    /// 有效期起始 `YYYY-MM-DD`; default unchanged.
    #[serde(default)]
    valid_from: Option<String>,
    /// 有效期截止 `YYYY-MM-DD` or `长期`; default unchanged.
    #[serde(default)]
    valid_to: Option<String>,
    /// Why: 1–512 characters (kept with the superseded licence; the audit log holds its hash).
    reason: String,
}

/// Change a valid licence (变更): its next version (same 证照编号, the 证照标识's version + 1, a new slot) is issued and signed, and the licence becomes `superseded` (05 失效) with `superseded_by` naming it, in one audited operation. `Idempotency-Key` is required, as for issuance. Not valid: 409 `invalid_transition`.
#[utoipa::path(post, path = "/v1/licences/{id}/change", tag = "licences", request_body = SupersedeRequest,
    security(("bearer" = [])),
    params(("id" = String, Path, description = "证照标识"),
        ("Idempotency-Key" = String, Header, description = "required: 1–255 visible ASCII characters")),
    responses((status = 201, body = LicenceResponse), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "invalid_transition"),
        (status = 422, body = ErrorBody, description = "idempotency_mismatch")))]
async fn supersede(
    State(vault): State<Vault>,
    client: AuthClient,
    ApiPath(id): ApiPath<String>,
    idempotency: IdempotencyKey,
    body: HashedJson<SupersedeRequest>,
) -> Result<Response, Error> {
    idempotency.require()?;
    let req = body.value;
    let update = LicenceUpdate {
        fields: req.fields,
        holder_name: req.holder_name,
        valid_from: req.valid_from,
        valid_to: req.valid_to,
        reason: req.reason,
    };
    let (v, c) = (vault.clone(), client.clone());
    idempotency
        .answer(&vault, &client, &body.sha256, async move {
            let licence = v.supersede_licence(&c, &id, update).await?;
            Ok((
                StatusCode::CREATED,
                Json(LicenceResponse::of(licence, false)?),
            )
                .into_response())
        })
        .await
}

/// A licence's place in its issuer's status list, with where the list is served.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PublicStatusListRef {
    /// The list (`GET /v1/status-lists/{id}`).
    id: String,
    /// The slot.
    index: i64,
    /// The list's URL: check the slot there offline, against the issuer's status list key.
    uri: String,
}

/// The holder as the public page shows it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PublicHolder {
    /// 持证主体: an organisation's name as it is; a person's masked (a quarter of it, at most four characters, kept at either end).
    name: String,
}

/// What anyone holding a licence may check: its identity, issuer, status and validity, nothing the paper does not show, personal data masked and no holder identifier.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct LicenceVerification {
    /// 证照标识.
    id: String,
    /// 证照类型代码.
    #[serde(rename = "type")]
    type_code: String,
    /// 证照名称.
    type_name: String,
    /// 颁发机构.
    issuer: LicenceIssuer,
    /// `valid`, `suspended`, `revoked`, `cancelled`, `expired` or `superseded`, as of `checked_at`.
    status: &'static str,
    /// The national status code: 01 有效, 02 暂扣, 04 注销, 05 失效 (expired or superseded), 07 吊销 (revoked).
    status_code: &'static str,
    /// Its slot in the issuer's signed status list.
    status_list: PublicStatusListRef,
    /// 有效期起始, `YYYY-MM-DD`.
    valid_from: String,
    /// 有效期截止, `YYYY-MM-DD` or `长期`.
    valid_to: String,
    /// 持证主体.
    holder: PublicHolder,
    /// When the status was read (RFC 3339).
    checked_at: String,
}

impl From<PublicLicence> for LicenceVerification {
    fn from(l: PublicLicence) -> Self {
        let (list_id, index, uri) = l.slot;
        Self {
            id: l.id,
            type_code: l.type_code,
            type_name: l.type_name,
            issuer: LicenceIssuer {
                id: l.issuer.id,
                name: l.issuer.name,
                uscc: l.issuer.uscc,
            },
            status: l.status.as_str(),
            status_code: l.status.code(),
            status_list: PublicStatusListRef {
                id: list_id,
                index,
                uri,
            },
            valid_from: l.valid_from,
            valid_to: l.valid_to,
            holder: PublicHolder {
                name: l.holder_name,
            },
            checked_at: rfc3339(l.checked_at),
        }
    }
}

/// Verify a licence (no auth; the `verify_url` its QR code leads to): its type, issuer, current status and validity, the holder's name (a person's masked) and never an identifier number. `Cache-Control: no-store`: the status must be current. An `id` that is not a GB/T 36904 证照标识 (its check character included) is 400 `invalid_field` naming `id`; one the vault did not issue is 404.
#[utoipa::path(get, path = "/v1/licences/{id}/verify", tag = "licences",
    params(("id" = String, Path, description = "证照标识")),
    responses((status = 200, body = LicenceVerification,
            headers(("Cache-Control" = String, description = "no-store"))),
        (status = 400, body = ErrorBody, description = "invalid_field: `id` is not a 证照标识"),
        (status = 404, body = ErrorBody)))]
async fn verify_licence(
    State(vault): State<Vault>,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, Error> {
    let licence = vault.public_licence(&id).await?;
    let mut response = Json(LicenceVerification::from(licence)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}
