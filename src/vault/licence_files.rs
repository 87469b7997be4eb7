//! Licence files (GB/T 36905): a licence's OFD is its type's layout filled with its values
//! (`licence::face`), sealed with its issuer's licence seal at the layout's `seal` place, made
//! on the first request for it and kept (`licence_files`), so that every later request, on any
//! node, answers the same bytes.
//!
//! The seal is the vault's, not the requesting client's: no client ownership is checked, but
//! the signature is audited like every seal signature, with the requesting client as its
//! actor. Two first requests at once may each seal a file; the first one stored is kept and
//! both answer it.

use serde_json::{Map, Value};

use super::ledger::now_ms;
use super::ofd_stamping::picture_size;
use super::{AuthClient, Licence, Vault};
use crate::error::{Error, Result};
use crate::licence::day_of;
use crate::licence::{LicenceFace, LicenceType};
use crate::ofd::{Placement, StampOptions};

/// The `licence_files.format` of the OFD.
pub(super) const OFD: &str = "ofd";

impl Vault {
    /// The sealed OFD of a licence the client may read (the rule of [`Vault::licence`]): made
    /// on its first request and kept.
    pub async fn licence_ofd(&self, client: &AuthClient, id: &str) -> Result<Vec<u8>> {
        let licence = self.licence(client, id).await?;
        self.kept_licence_ofd(client, &licence).await
    }

    /// A licence's kept OFD, sealed (with `client` as the signature's actor) and kept now if it
    /// has none yet.
    pub(super) async fn kept_licence_ofd(
        &self,
        client: &AuthClient,
        licence: &Licence,
    ) -> Result<Vec<u8>> {
        let store = &self.inner.store;
        if let Some(kept) = store.licence_file(&licence.row.id, OFD).await? {
            return Ok(kept);
        }
        let sealed = self.seal_licence_ofd(client, licence).await?;
        store
            .keep_licence_file(&licence.row.id, OFD, &sealed, now_ms())
            .await
    }

    /// The catalogue's type of a stored licence (its absence is a defect: types are never
    /// removed while licences of them exist).
    pub(super) fn type_of(&self, licence: &Licence) -> Result<&LicenceType> {
        self.licence_types()
            .get(&licence.row.type_code)
            .ok_or_else(|| {
                Error::Corrupt(format!(
                    "licence {}: its type is not in the catalogue",
                    licence.row.id
                ))
            })
    }

    /// A licence's OFD rendered and sealed with its issuer's licence seal (audited, with
    /// `client` as the actor), not kept: what the first request for its file does.
    pub async fn seal_licence_ofd(
        &self,
        client: &AuthClient,
        licence: &Licence,
    ) -> Result<Vec<u8>> {
        let spot = self.type_of(licence)?.layout.seal;
        let seal_id = &licence.issuer.seal_id;
        let seal = self.vault_seal(seal_id).await?;
        // The picture keeps its proportions at the layout's diameter, centred on its place.
        let (w, h) = picture_size(&seal);
        let size = (spot.diameter, spot.diameter * h / w);
        let placement = Placement::At {
            page: 1,
            x: Some(spot.x - size.0 / 2.0),
            y: Some(spot.y - size.1 / 2.0),
        };
        // Written and laid out for the seal in one job: the files are sealed as written, never
        // zipped and read back first.
        let (vault, licence) = (self.clone(), licence.clone());
        let prepare = move |opts: &StampOptions<'_>| {
            let doc = vault.licence_face(&licence)?;
            let files = crate::ofd::write::files(&doc).map_err(|e| Error::LicenceFace(e.into()))?;
            Ok(crate::ofd::prepare_files(files, opts)?)
        };
        Ok(self
            .seal_ofd(client, seal_id, &seal, size, prepare, placement)
            .await?
            .ofd)
    }

    /// A licence's face as a page model, the one both its OFD and its PDF are written from.
    pub(super) fn licence_face(&self, licence: &Licence) -> Result<crate::ofd::write::Document> {
        let row = &licence.row;
        let licence_type = self
            .licence_types()
            .get(&row.type_code)
            .ok_or_else(|| Error::Corrupt(format!("licence {}: unknown type", row.id)))?;
        let fields: Map<String, Value> = serde_json::from_str(&row.fields)
            .map_err(|_| Error::Corrupt(format!("licence {} fields", row.id)))?;
        let face = LicenceFace {
            id: &row.id,
            number: &row.number,
            holder_name: &row.holder_name,
            holder_id_type: &row.holder_id_type,
            holder_id: &row.holder_id_number,
            issuer_name: &licence.issuer.name,
            issuer_code: &licence.issuer.uscc,
            issued_on: day_of(row.issued_on),
            valid_from: day_of(row.valid_from),
            valid_to: row.valid_to.map(day_of),
            fields: &fields,
            verify_url: &licence.verify_url,
        };
        Ok(crate::licence::face::document(licence_type, &face)?)
    }
}
