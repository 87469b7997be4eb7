//! Licence PDFs: a licence's face (the page model its OFD is written from, `licence::face`)
//! written as a PDF (`pdf::write`) and sealed and certified (DocMDP P1: no change allowed) with
//! the issuer's licence seal; made on the first request and kept in `licence_files` like the OFD.
//!
//! PDF readers validate P-256 but not SM2, so by default the seal is the issuer's P-256 licence
//! seal (made with the issuer, or on first need for issuers registered before it existed); on
//! request its SM2 licence seal, the one on the OFD. Both are the vault's own seals, which no
//! client holds: whoever may read the licence may have its file, and the signature is audited
//! like every seal signature, with that client as the actor.

use super::issuers::{VAULT_OWNER, licence_seal};
use super::ledger::{Op, now_ms};
use super::{AuthClient, Level, Licence, StampRequest, Vault};
use crate::crypto::KeyType;
use crate::error::{Error, Result};
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

/// A writer error as the API reports it: the model's problems are the face's (422
/// `licence_not_printable`, as for the OFD), a metadata key is a defect here.
fn write_error(e: WriteError) -> Error {
    match e {
        WriteError::Model(m) => Error::LicenceFace(m.into()),
        e => Error::Corrupt(format!("licence PDF: {e}")),
    }
}

impl Vault {
    /// The sealed PDF of a licence the client may read (the rule of [`Vault::licence`]): made
    /// on its first request and kept, one file per seal.
    pub async fn licence_pdf(
        &self,
        client: &AuthClient,
        id: &str,
        which: LicencePdfSeal,
    ) -> Result<Vec<u8>> {
        let licence = self.licence(client, id).await?;
        let store = &self.inner.store;
        if let Some(kept) = store.licence_file(&licence.row.id, which.format()).await? {
            return Ok(kept);
        }
        let sealed = self.seal_licence_pdf(client, &licence, which).await?;
        store
            .keep_licence_file(&licence.row.id, which.format(), &sealed, now_ms())
            .await
    }

    /// A licence's PDF written and sealed (audited, with `client` as the actor) and certified
    /// with DocMDP P1, not kept: its Info dictionary has the type's name as `/Title` and the
    /// licence's `/LicenceID`, `/LicenceType` and `/LicenceIssuer`; the seal is centred on the
    /// layout's `seal` place at its diameter.
    pub async fn seal_licence_pdf(
        &self,
        client: &AuthClient,
        licence: &Licence,
        which: LicencePdfSeal,
    ) -> Result<Vec<u8>> {
        let spot = self.type_of(licence)?.layout.seal;
        let meta = Metadata {
            title: licence.type_name.clone(),
            custom: vec![
                ("LicenceID".into(), licence.row.id.clone()),
                ("LicenceType".into(), licence.row.type_code.clone()),
                ("LicenceIssuer".into(), licence.issuer.uscc.clone()),
            ],
        };
        let (pdf, page_height) = {
            let (vault, licence) = (self.clone(), licence.clone());
            self.verifying(move |_, _| -> Result<_> {
                let doc = vault.licence_face(&licence)?;
                let height = doc.pages.first().map_or(0.0, |p| p.size.height);
                let pdf = crate::pdf::write::document(&doc, &meta).map_err(write_error)?;
                Ok((pdf, height))
            })
            .await??
        };
        let seal_id = match which {
            LicencePdfSeal::Sm2 => licence.issuer.seal_id.clone(),
            LicencePdfSeal::P256 => self.issuer_pdf_seal(client, &licence.issuer).await?,
        };
        let seal = self.vault_seal(&seal_id).await?;
        // The picture keeps its proportions at the layout's diameter, centred on its place.
        let image = seal.pdf_image()?;
        let (width, height) = (
            spot.diameter,
            spot.diameter * image.height_mm / image.width_mm,
        );
        let req = StampRequest {
            placement: Placement {
                page: 1,
                x: Some((spot.x - width / 2.0).max(0.0) * PT_PER_MM),
                y: Some((page_height - spot.y - height / 2.0).max(0.0) * PT_PER_MM),
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
            width_mm: Some(width),
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
