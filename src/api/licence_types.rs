//! Public licence-type routes: the catalogue (no auth: what a licence of each type must carry
//! and how its file looks is not secret, and relying parties read the labels from it).

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};

use super::{ApiPath, ErrorBody};
use crate::error::Error;
use crate::licence::LicenceType;
use crate::vault::Vault;

pub(super) fn router() -> Router<Vault> {
    Router::new()
        .route("/v1/licence-types", get(list_licence_types))
        .route("/v1/licence-types/{code}", get(get_licence_type))
}

/// Every licence type of the catalogue, ordered by code.
#[utoipa::path(get, path = "/v1/licence-types", tag = "licences",
    responses((status = 200, description = "The catalogue", body = [LicenceType])))]
async fn list_licence_types(State(vault): State<Vault>) -> Json<Vec<LicenceType>> {
    Json(vault.licence_types().iter().cloned().collect())
}

/// One licence type by its 证照类型代码.
#[utoipa::path(get, path = "/v1/licence-types/{code}", tag = "licences",
    params(("code" = String, Path, description = "证照类型代码, e.g. 11100000000013338W003")),
    responses((status = 200, body = LicenceType), (status = 404, body = ErrorBody)))]
async fn get_licence_type(
    State(vault): State<Vault>,
    ApiPath(code): ApiPath<String>,
) -> Result<Json<LicenceType>, Error> {
    vault
        .licence_types()
        .get(&code)
        .cloned()
        .map(Json)
        .ok_or(Error::NotFound("licence type"))
}
