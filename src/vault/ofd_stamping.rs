//! Sealing OFDs with a seal the client holds (GB/T 33190 §18): the package laid out off the async
//! threads (it is untrusted input), an SES_Signature over the new `Signature.xml` signed by the
//! seal's key, and the sealed package released only after the signature's audit entry commits.

use time::OffsetDateTime;
use time::macros::format_description;

use super::seals::{LoadedSeal, ses_signature, ses_time};
use super::{AuthClient, StampParams, Vault};
use crate::error::{Error, Result};
use crate::ofd::{self, Limits, Placement, Prepared, StampOptions};
use crate::verify::ses::data_hash;

/// A sealed OFD.
#[derive(Debug, Clone)]
pub struct StampedOfd {
    /// The sealed package.
    pub ofd: Vec<u8>,
    /// The new signature's `Signature.xml` (absolute package path).
    pub signature: String,
    /// The signature's `timeInfo`.
    pub signed_at: OffsetDateTime,
    /// Index of the signature's audit entry.
    pub audit_index: u64,
}

impl StampParams<'_> {
    /// Checks the options for an OFD: `x` and `y` in mm from the page's top-left (the top-left
    /// corner of the seal), `page`, `cross_page` and `keyword` as for a PDF; the PDF-only
    /// options are refused unless they have their default value.
    pub fn resolve_ofd(&self) -> Result<Placement> {
        let pdf_only = [
            ("unit", self.unit.is_some_and(|v| v != "mm")),
            ("certify", self.certify.is_some_and(|v| v != "none")),
            ("level", self.level.is_some_and(|v| v != "b-b")),
            ("subfilter", self.subfilter.is_some_and(|v| v != "cades")),
            ("reason", self.reason.is_some()),
            ("location", self.location.is_some()),
            ("contact", self.contact.is_some()),
            ("field", self.field.is_some()),
        ];
        if let Some((name, _)) = pdf_only.iter().find(|(_, given)| *given) {
            return Err(Error::InvalidRequest(format!(
                "`{name}` applies to PDFs only, not to OFDs"
            )));
        }
        // The PDF rules check page, coordinates and keyword; in points nothing is scaled, so
        // the values come back as given (mm for an OFD).
        let req = StampParams {
            unit: Some("pt"),
            ..*self
        }
        .resolve()?;
        let p = req.placement;
        Ok(match (req.keyword, p.cross_page) {
            (Some((text, page)), _) => Placement::Keyword { text, page },
            (None, true) => Placement::CrossPage { y: p.y },
            (None, false) => Placement::At {
                page: p.page,
                x: p.x,
                y: p.y,
            },
        })
    }
}

impl Vault {
    /// Seals the OFD `input` with seal `id`: one more signature, every earlier byte kept.
    pub async fn stamp_ofd(
        &self,
        client: &AuthClient,
        id: &str,
        input: Vec<u8>,
        placement: Placement,
    ) -> Result<StampedOfd> {
        let seal = self.loaded_seal(client, id).await?;
        let size = picture_size(&seal);
        self.seal_ofd(
            client,
            id,
            &seal,
            size,
            move |opts| Ok(ofd::prepare(&input, opts, &Limits::default())?),
            placement,
        )
        .await
    }

    /// Seals an OFD with `seal` (seal `id`, its use already allowed), its picture drawn
    /// `size_mm` (width, height) large at `placement`: `prepare` lays the package out for the
    /// signature (on the workers: a package to seal is untrusted input, a file to write is
    /// work). The signature is audited with `client` as the actor, and the sealed package,
    /// assembled while its entry commits, is released after it has.
    pub(crate) async fn seal_ofd(
        &self,
        client: &AuthClient,
        id: &str,
        seal: &LoadedSeal,
        size_mm: (f64, f64),
        prepare: impl FnOnce(&StampOptions<'_>) -> Result<Prepared> + Send + 'static,
        placement: Placement,
    ) -> Result<StampedOfd> {
        let now = ses_time(OffsetDateTime::now_utc());
        seal.check_valid_at(now)?;
        let date_time = ofd_date_time(now)?;
        let prepared = {
            let (esl, oid) = (seal.seal_der().to_vec(), seal.alg_oid());
            self.verifying(move |_, _| {
                prepare(&StampOptions {
                    placement: &placement,
                    seal_esl: &esl,
                    size_mm,
                    method_oid: oid,
                    date_time: &date_time,
                    provider: ("sidian", env!("CARGO_PKG_VERSION")),
                })
            })
            .await??
        };
        let hash = data_hash(seal.alg_oid(), prepared.signature_xml());
        let signature = prepared.property_info().to_owned();
        let (signed, event) = ses_signature(client, id, seal, now, &hash, &signature, Some("ofd"))?;
        // Zipping (and deflating a new file's parts) overlaps the durable commit; nothing is
        // answered before both are done.
        let (audit_index, ofd) =
            tokio::try_join!(self.record_seal_use(seal, id, now, event), async {
                Ok::<_, Error>(
                    self.verifying(move |_, _| prepared.finish(&signed))
                        .await??,
                )
            },)?;
        Ok(StampedOfd {
            ofd,
            signature,
            signed_at: now,
            audit_index,
        })
    }
}

/// `SignatureDateTime` as `Signature.xml` writes it (`YYYYMMDDhhmmss`, UTC).
pub(crate) fn ofd_date_time(t: OffsetDateTime) -> Result<String> {
    t.format(format_description!(
        "[year][month][day][hour][minute][second]"
    ))
    .map_err(|e| Error::Corrupt(format!("signing time: {e}")))
}

/// The size of a seal's picture as its SESeal gives it, mm (width, height).
pub(crate) fn picture_size(seal: &LoadedSeal) -> (f64, f64) {
    let (w, h) = seal.picture_mm();
    (w as f64, h as f64)
}
