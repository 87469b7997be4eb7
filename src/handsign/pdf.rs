//! A PDF signed by hand: one incremental revision whose signature field shows the strokes as
//! paths and whose PAdES signature (ETSI.CAdES.detached) binds the capture in its signed
//! attributes. Laid out and signed in one step, for the vault to record before it is released.

use time::OffsetDateTime;

use super::{Binding, OID_HANDWRITING_BINDING};
use crate::cms::{self, CmsError, Content, OID_DATA, SignOptions, SignerInput};
use crate::crypto::PrivateKey;
use crate::pdf::{
    self, Appearance, Certify, Limits, PdfError, Placement, Prepared, StampOptions, SubFilter,
    VectorArt,
};
use crate::pki::Certificate;

/// `/Reason` of every handwritten signature.
const REASON: &str = "手写签名 Handwritten signature";

/// What one handwritten signature of a PDF needs.
pub struct PdfSigning<'a> {
    /// The signer's key.
    pub key: &'a PrivateKey,
    /// Its certificate.
    pub cert: &'a Certificate,
    /// The CAs between the certificate and the root, carried in the CMS.
    pub chain: &'a [Certificate],
    /// The strokes, drawn for the widget.
    pub art: &'a VectorArt,
    /// The digests the signature binds.
    pub binding: &'a Binding,
    /// `/Name`: the signer's masked name.
    pub name: &'a str,
    /// Page and lower-left corner.
    pub placement: Placement,
    /// The signing time (whole seconds).
    pub now: OffsetDateTime,
    /// Bytes reserved for the CMS.
    pub capacity: usize,
}

/// Why laying out or signing failed.
#[derive(Debug, thiserror::Error)]
pub enum PdfSignError {
    /// The PDF was refused or could not be laid out.
    #[error(transparent)]
    Pdf(#[from] PdfError),
    /// The CMS could not be made.
    #[error(transparent)]
    Cms(#[from] CmsError),
}

impl PdfSigning<'_> {
    /// Lays out the revision and signs its byte ranges: the update waiting for its CMS, the CMS
    /// and the digest of the ranges.
    pub fn sign(&self, input: &[u8]) -> Result<(Prepared, Vec<u8>, Vec<u8>), PdfSignError> {
        let opts = StampOptions {
            placement: self.placement,
            appearance: Appearance::Vector(self.art),
            certify: Certify::None,
            sub_filter: SubFilter::CadesDetached,
            signer_name: self.name,
            signing_time: self.now,
            text: pdf::SigText {
                reason: Some(REASON),
                location: None,
                contact: None,
            },
            field: None,
            keyword: None,
            capacity: self.capacity,
        };
        let prepared = pdf::prepare(input, &opts, &Limits::default())?;
        let alg = cms::digest_algorithm(self.key.key_type());
        let digest = prepared.digest(alg);
        let cms = cms::sign(
            &SignerInput {
                cert: self.cert,
                key: self.key,
                chain: self.chain,
                include_certs: true,
            },
            Content::Detached { digest: &digest },
            &SignOptions {
                content_type: OID_DATA,
                signing_time: Some(self.now),
                ess_signing_certificate_v2: true,
                extra_signed_attrs: &[(OID_HANDWRITING_BINDING, self.binding.to_der())],
            },
        )?;
        Ok((prepared, cms, digest))
    }
}
