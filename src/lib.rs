//! sidian (四电): the trust service behind provincial approval systems — keys and signatures
//! (SM2/SM3/SM4 by default, ECDSA P-256, Ed25519, RSA), an append-only audit log, and the HTTP
//! API and CLI around them; electronic seals (GB/T 38540), PDF sealing (PAdES) and the
//! verification of sealed PDF, OFD and SES; electronic licences (catalogue, issuers, issuance,
//! lifecycle, signed status lists, licence files, bulk import) and 亮证 presentation tokens.
//! See `ARCHITECTURE.md`.

pub mod api;
pub mod asn1;
pub mod audit;
pub mod cms;
pub mod config;
pub mod crypto;
pub mod error;
pub mod handsign;
pub mod ident;
pub mod licence;
pub mod metrics;
pub mod ofd;
pub mod pdf;
pub mod pki;
mod plain_http;
pub mod present;
mod qr;
pub mod render;
pub mod report;
pub mod request_id;
pub mod ses;
pub mod store;
#[cfg(test)]
pub(crate) mod testutil;
pub mod tsa;
pub mod vault;
pub mod verify;
pub mod web;
pub mod witness;

pub use config::Config;
pub use error::{Error, Result};
pub use vault::Vault;
