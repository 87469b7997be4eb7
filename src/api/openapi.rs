//! The OpenAPI 3.1 document, generated from the handlers' annotations.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

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
        super::documents::verify_document,
        super::documents::verify_ses,
        super::tsa::timestamp,
    ),
    components(schemas(super::ErrorBody, super::ErrorDetail)),
    modifiers(&BearerAuth),
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

/// The OpenAPI document as pretty JSON (what `schemas/openapi.json` holds).
pub fn openapi_json() -> String {
    let mut s = ApiDoc::openapi().to_pretty_json().unwrap_or_default();
    s.push('\n');
    s
}
