//! Licence PDFs: a licence face (the page model the OFD is written from) written as a PDF and
//! sealed and certified (DocMDP P1: no change allowed) with the issuer's licence seal.
//!
//! PDF readers validate P-256 but not SM2, so by default the seal is the issuer's P-256 licence
//! seal (made with the issuer, or on first need for issuers registered before it existed); on
//! request its SM2 licence seal, the one on the OFD. Both are the vault's own seals, which no
//! client holds: the caller decides that the client may have the licence's file, and the
//! signature is audited like every seal signature, with that client as the actor.

use super::issuers::{VAULT_OWNER, licence_seal};
use super::ledger::Op;
use super::{AuthClient, Level, StampRequest, Vault};
use crate::crypto::KeyType;
use crate::error::{Error, Result};
use crate::licence::catalogue::SealSpot;
use crate::ofd::write::Document;
use crate::pdf::write::{Metadata, WriteError};
use crate::pdf::{Certify, PT_PER_MM, Placement, SubFilter};
use crate::store::IssuerRow;

/// Which of the issuer's licence seals signs a licence PDF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LicencePdfSeal {
    /// The P-256 seal every PDF reader can validate (`pdf-p256`).
    P256,
    /// The SM2 seal the OFD carries (`pdf-sm2`), for readers that know SM2.
    Sm2,
}

impl LicencePdfSeal {
    /// The `licence_files.format` of a PDF sealed so.
    pub fn format(self) -> &'static str {
        match self {
            LicencePdfSeal::P256 => "pdf-p256",
            LicencePdfSeal::Sm2 => "pdf-sm2",
        }
    }
}

/// A model error as the API reports it: a character the font lacks is the request's problem
/// (a name the bundled font cannot show), anything else a defect of the face's layout.
fn write_error(e: WriteError) -> Error {
    match e {
        WriteError::Model(crate::ofd::write::WriteError::MissingGlyph { .. }) => {
            Error::UnsupportedCharacter(e.to_string())
        }
        e => Error::Corrupt(format!("licence face: {e}")),
    }
}

impl Vault {
    /// The licence face `doc` as a PDF with `meta` (Title and the licence's Info keys), sealed
    /// by the issuer's licence seal centred on `seal_at` of the first page and certified with
    /// DocMDP P1. `client` must be bound to the issuer (or be an admin); the caller checks that
    /// it may have this licence.
    pub async fn licence_pdf(
        &self,
        client: &AuthClient,
        issuer_id: &str,
        doc: &Document,
        meta: &Metadata,
        seal_at: SealSpot,
        which: LicencePdfSeal,
    ) -> Result<Vec<u8>> {
        let issuer = self
            .inner
            .store
            .issuer(issuer_id)
            .await?
            .ok_or(Error::NotFound("issuer"))?;
        if !client.allows("admin")
            && !self
                .inner
                .store
                .client_issuers(&client.id)
                .await?
                .contains(&issuer.id)
        {
            return Err(Error::NotFound("issuer"));
        }
        let seal_id = match which {
            LicencePdfSeal::Sm2 => issuer.seal_id.clone(),
            LicencePdfSeal::P256 => self.issuer_pdf_seal(client, &issuer).await?,
        };
        let seal = self.vault_seal(&seal_id).await?;
        if seal.owner() != VAULT_OWNER {
            return Err(Error::Corrupt(format!(
                "licence seal {seal_id} is not the vault's"
            )));
        }
        let page = doc.pages.first().ok_or(Error::Corrupt(
            "licence face: a document needs at least one page".into(),
        ))?;
        let pdf = crate::pdf::write::document(doc, meta).map_err(write_error)?;
        // The seal's picture has its own size (the seal's); it is centred on the layout's spot.
        let image = seal.pdf_image()?;
        let left = seal_at.x - image.width_mm / 2.0;
        let bottom = page.size.height - seal_at.y - image.height_mm / 2.0;
        let req = StampRequest {
            placement: Placement {
                page: 1,
                x: Some(left.max(0.0) * PT_PER_MM),
                y: Some(bottom.max(0.0) * PT_PER_MM),
                cross_page: false,
            },
            certify: Certify::NoChanges,
            level: Level::BB,
            sub_filter: SubFilter::CadesDetached,
            reason: None,
            location: None,
            contact: None,
            field: None,
            keyword: None,
        };
        Ok(self
            .stamp_pdf_with(client, &seal_id, &seal, pdf, req)
            .await?
            .pdf)
    }

    /// The issuer's P-256 licence seal, made now (audited, `client` as the actor) if the issuer
    /// was registered before issuers had one.
    async fn issuer_pdf_seal(&self, client: &AuthClient, issuer: &IssuerRow) -> Result<String> {
        if let Some(id) = &issuer.pdf_seal_id {
            return Ok(id.clone());
        }
        let (mut issuance, row, _) = self
            .plan_seal(
                client,
                licence_seal(&issuer.name, &issuer.uscc, KeyType::P256),
                Some(VAULT_OWNER.to_owned()),
            )
            .await?;
        issuance.pdf_seal = issuance
            .seal
            .take()
            .map(|(row, event)| (issuer.id.clone(), row, event));
        let made = self.apply(Op::Issue(Box::new(issuance))).await?;
        if made.is_some() {
            return Ok(row.id);
        }
        // Another request made it first: use that one.
        self.inner
            .store
            .issuer(&issuer.id)
            .await?
            .and_then(|i| i.pdf_seal_id)
            .ok_or_else(|| Error::Corrupt(format!("issuer {} has no PDF seal", issuer.id)))
    }
}
