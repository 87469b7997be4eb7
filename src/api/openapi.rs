//! The OpenAPI 3.1 document, generated from the handlers' annotations, with the error responses
//! every route shares added by [`CommonErrors`] (so that a new route declares only its own).

use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Operation, ParameterIn, PathItem};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, Ref, RefOr, Response, ResponseBuilder, Type,
    schema::{KnownFormat, ObjectBuilder, SchemaFormat, SchemaType},
};
use utoipa::{Modify, OpenApi};

use crate::crypto::{KeyType, SignatureAlgorithm};

#[derive(OpenApi)]
#[openapi(
    info(title = "sidian", description = "四电 trust service: keys, signatures, audit log, electronic seals, PDF stamping, document verification", version = "1"),
    paths(
        super::healthz,
        super::readyz,
        super::metrics,
        super::keys::create_key,
        super::keys::list_keys,
        super::keys::get_key,
        super::keys::disable_key,
        super::keys::rotate_key,
        super::keys::sign,
        super::clients::rotate_self,
        super::verify::verify,
        super::audit::checkpoint,
        super::audit::consistency,
        super::audit::proof,
        super::seals::create_seal,
        super::seals::list_seals,
        super::seals::get_seal,
        super::seals::seal_image,
        super::seals::revoke_seal,
        super::seals::sign,
        super::stamp::stamp,
        super::pki::trust_list,
        super::pki::crl,
        super::pki::ca_certificate,
        super::licence_types::list_licence_types,
        super::licence_types::get_licence_type,
        super::documents::verify_document,
        super::documents::verify_ses,
        super::tsa::timestamp,
        super::issuers::create_issuer,
        super::issuers::list_issuers,
        super::licences::issue,
        super::licences::batch,
        super::licences::list,
        super::licences::get_licence,
        super::licences::licence_file,
        super::licences::change,
        super::licences::supersede,
        super::licences::verify_licence,
        super::status_lists::status_list,
        super::presentations::present_licence,
        super::presentations::verify_presentation,
        super::presentations::presentation_trust,
        super::presentations::licence_uses,
        super::grants::grant_licence,
        super::grants::licence_grants,
        super::grants::withdraw_grant,
        super::licence_use::use_query,
        super::licence_use::use_verify,
        super::licence_use::use_fetch,
        super::licence_use::use_file,
        super::devices::register_device,
        super::devices::create_challenge,
        super::devices::answer_challenge,
        super::handsign::enrol,
        super::handsign::signer,
        super::handsign::cancel,
        super::handsign::references,
        super::handsign::open_session,
        super::handsign::session,
        super::handsign::submit_capture,
        super::handsign::sign,
        super::handsign::compare,
    ),
    components(schemas(super::ErrorBody, super::ErrorDetail, Binary)),
    modifiers(&BearerAuth, &CommonErrors),
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        if let Some(c) = doc.components.as_mut() {
            c.add_security_scheme(
                "bearer",
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
        }
    }
}

/// The error responses the layers and extractors shared by all routes give, declared once in
/// `components.responses` and referenced from every operation they apply to (a status the
/// operation declares with a description of its own keeps it), and a description for every
/// other response.
struct CommonErrors;

/// A shared error response: status, component name, description, and whether it carries
/// `Retry-After`.
struct Shared {
    status: &'static str,
    name: &'static str,
    description: &'static str,
    retry_after: bool,
}

const BAD_REQUEST: Shared = Shared {
    status: "400",
    name: "BadRequest",
    description: "The request is not valid: malformed JSON, a missing or wrong field, a bad base64 value, or a query or path parameter that does not parse (`invalid_request`, `malformed_json`, `invalid_base64`, …).",
    retry_after: false,
};
const UNAUTHORIZED: Shared = Shared {
    status: "401",
    name: "Unauthorized",
    description: "No valid bearer API key (`unauthorized`, with `WWW-Authenticate: Bearer`).",
    retry_after: false,
};
const FORBIDDEN: Shared = Shared {
    status: "403",
    name: "Forbidden",
    description: "The client lacks the scope this operation needs (`forbidden`).",
    retry_after: false,
};
const NOT_FOUND: Shared = Shared {
    status: "404",
    name: "NotFound",
    description: "No such resource, or not one of yours (`not_found`).",
    retry_after: false,
};
const TIMEOUT: Shared = Shared {
    status: "408",
    name: "RequestTimeout",
    description: "The request took longer than the server's limit (`request_timeout`).",
    retry_after: false,
};
const TOO_LARGE: Shared = Shared {
    status: "413",
    name: "PayloadTooLarge",
    description: "The body is larger than this operation accepts (`payload_too_large`).",
    retry_after: false,
};
const MEDIA_TYPE: Shared = Shared {
    status: "415",
    name: "UnsupportedMediaType",
    description: "The body's Content-Type is not one this operation accepts (`unsupported_media_type`).",
    retry_after: false,
};
const RATE_LIMITED: Shared = Shared {
    status: "429",
    name: "RateLimited",
    description: "Too many requests from this peer to the anonymous routes (`rate_limited`); retry after `Retry-After` seconds.",
    retry_after: true,
};
const INTERNAL: Shared = Shared {
    status: "500",
    name: "Internal",
    description: "An internal error; the incident is logged and the message says nothing more (`internal`).",
    retry_after: false,
};
const UNAVAILABLE: Shared = Shared {
    status: "503",
    name: "Unavailable",
    description: "The server cannot take this request now: the anonymous upload budget is spent (`busy`, with `Retry-After`) or the vault is unavailable (`unavailable`).",
    retry_after: true,
};

impl Shared {
    fn response(&self) -> Response {
        let mut r = ResponseBuilder::new()
            .description(self.description)
            .content("application/json", error_content());
        if self.retry_after {
            r = r.header(
                "Retry-After",
                HeaderBuilder::new()
                    .schema(Some(
                        ObjectBuilder::new()
                            .schema_type(Type::Integer)
                            .minimum(Some(0)),
                    ))
                    .description(Some("Seconds to wait before retrying."))
                    .build(),
            );
        }
        r.build()
    }
}

fn error_content() -> utoipa::openapi::Content {
    ContentBuilder::new()
        .schema(Some(Ref::from_schema_name("ErrorBody")))
        .build()
}

impl Modify for CommonErrors {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let all = [
            &BAD_REQUEST,
            &UNAUTHORIZED,
            &FORBIDDEN,
            &NOT_FOUND,
            &TIMEOUT,
            &TOO_LARGE,
            &MEDIA_TYPE,
            &RATE_LIMITED,
            &INTERNAL,
            &UNAVAILABLE,
        ];
        let components = doc
            .components
            .get_or_insert_with(|| ComponentsBuilder::new().build());
        for shared in all {
            components
                .responses
                .insert(shared.name.to_owned(), RefOr::T(shared.response()));
        }
        for (path, item) in doc.paths.paths.iter_mut() {
            for op in operations(item) {
                let applicable: Vec<&Shared> =
                    all.into_iter().filter(|s| applies(s, path, op)).collect();
                for shared in applicable {
                    let own = op.responses.responses.get(shared.status);
                    if own.is_none_or(|r| matches!(r, RefOr::T(r) if r.description.is_empty())) {
                        op.responses.responses.insert(
                            shared.status.to_owned(),
                            RefOr::Ref(Ref::new(format!("#/components/responses/{}", shared.name))),
                        );
                    }
                }
                for (status, response) in op.responses.responses.iter_mut() {
                    if let RefOr::T(r) = response {
                        describe(status, r);
                    }
                }
            }
        }
    }
}

/// Whether a shared error can answer this operation, from what its declaration says: its
/// parameters and body can be malformed, its bearer key missing, and the anonymous `/v1`
/// routes sit behind the per-peer rate limit. Every route has the timeout and can fail.
fn applies(shared: &Shared, path: &str, op: &Operation) -> bool {
    let has_params = op.parameters.as_ref().is_some_and(|p| !p.is_empty());
    let has_path_params = op.parameters.as_ref().is_some_and(|ps| {
        ps.iter()
            .any(|p| matches!(p, RefOr::T(p) if p.parameter_in == ParameterIn::Path))
    });
    let has_body = op.request_body.is_some();
    let authenticated = op.security.as_ref().is_some_and(|s| !s.is_empty());
    let api = path.starts_with("/v1/");
    match shared.status {
        "400" => has_params || has_body,
        "401" | "403" => authenticated,
        "404" => has_path_params,
        "413" | "415" => has_body,
        "429" => api && !authenticated,
        "503" => api,
        _ => true,
    }
}

/// The operations of a path item.
fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.options,
        &mut item.head,
        &mut item.patch,
        &mut item.trace,
    ]
    .into_iter()
    .filter_map(Option::as_mut)
}

/// OpenAPI requires a description on every response: an annotation without one gets the
/// status's meaning.
fn describe(status: &str, response: &mut Response) {
    if !response.description.is_empty() {
        return;
    }
    let text = match status {
        "200" => "OK",
        "201" => "Created",
        "400" => "The request is not valid (`invalid_request`, `malformed_json`, …)",
        "404" => "No such resource, or not one of yours (`not_found`)",
        "409" => {
            "The resource's state forbids this (disabled key, revoked or expired seal: `key_disabled`, `seal_revoked`, `seal_not_valid`, `conflict`)"
        }
        "413" => "The body is too large (`payload_too_large`)",
        "415" => "Unsupported Content-Type (`unsupported_media_type`)",
        "422" => {
            "Understood but refused (algorithm mismatch, unsupported character, refused or invalid PDF, …)"
        }
        _ => "See the error code",
    };
    response.description = text.to_owned();
}

/// An optional name field: one of `names`, or null (the default). `schema_with` replaces the
/// field's doc comment, so the description is given here.
fn optional_name(
    description: &str,
    names: impl IntoIterator<Item = &'static str>,
) -> ObjectBuilder {
    let mut values: Vec<serde_json::Value> = Vec::new();
    for name in names {
        if !values.iter().any(|v| v == name) {
            values.push(name.into());
        }
    }
    values.push(serde_json::Value::Null);
    ObjectBuilder::new()
        .description(Some(description))
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .enum_values(Some(values))
}

/// The schema of an optional key type name.
pub(super) fn key_type_name() -> ObjectBuilder {
    optional_name(
        "Key type (default `sm2`).",
        KeyType::ALL.map(|k| k.as_str()),
    )
}

/// The schema of an optional signature scheme name.
pub(super) fn signature_alg_name() -> ObjectBuilder {
    optional_name(
        "Signature scheme; default: the key's (`rsa-pkcs1-sha256` for RSA).",
        SignatureAlgorithm::ALL.map(|a| a.as_str()),
    )
}

/// The schema of an optional key type or signature scheme name.
pub(super) fn key_type_or_signature_alg_name() -> ObjectBuilder {
    optional_name(
        "A key type (its default scheme) or a signature scheme; default: the key's.",
        KeyType::ALL
            .map(|k| k.as_str())
            .into_iter()
            .chain(SignatureAlgorithm::ALL.map(|a| a.as_str())),
    )
}

/// A binary body (PDF, DER, PNG): `{"type": "string", "format": "binary"}`, not the array of
/// integers a `Vec<u8>` would be described as.
pub(super) struct Binary;

impl utoipa::PartialSchema for Binary {
    fn schema() -> RefOr<utoipa::openapi::schema::Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
            .into()
    }
}

impl utoipa::ToSchema for Binary {}

/// The OpenAPI document as pretty JSON (what `schemas/openapi.json` holds).
pub fn openapi_json() -> String {
    let mut s = ApiDoc::openapi().to_pretty_json().unwrap_or_default();
    s.push('\n');
    s
}
