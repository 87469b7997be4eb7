//! Verification with the vault's trust anchors and revocation state, on the bounded workers
//! that run every job on untrusted input.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{Vault, pki};
use crate::error::{Error, Result};
use crate::verify::{Format, Report, Verifier};

/// How long the revocation state used by verification may lag behind the database (another
/// process may have revoked something; this process's own revocations apply at once).
const VERIFIER_TTL: Duration = Duration::from_secs(2);

impl Vault {
    /// The verifier with the current trust anchors and revocation state.
    pub async fn verifier(&self) -> Result<Arc<Verifier>> {
        {
            let cached = self.inner.verifier.read().map_err(|_| Error::Unavailable)?;
            if cached.0.elapsed() < VERIFIER_TTL {
                return Ok(cached.1.clone());
            }
        }
        self.refresh_verifier().await
    }

    pub(super) async fn refresh_verifier(&self) -> Result<Arc<Verifier>> {
        let fresh = Arc::new(
            pki::verifier(
                &self.inner.store,
                &self.inner.authorities,
                &self.inner.trust,
            )
            .await?,
        );
        *self
            .inner
            .verifier
            .write()
            .map_err(|_| Error::Unavailable)? = (Instant::now(), fresh.clone());
        Ok(fresh)
    }

    /// Runs one job on untrusted input (a verification, or laying out a PDF to seal) on the
    /// low-priority workers, at most one per core at once, with the current trust anchors and
    /// revocation state.
    pub(super) async fn verifying<T: Send + 'static>(
        &self,
        job: impl FnOnce(&Verifier, time::OffsetDateTime) -> T + Send + 'static,
    ) -> Result<T> {
        self.verifying_at(None, job).await
    }

    /// [`Vault::verifying`] as of `at` (`None`: now), with the revocations known then.
    async fn verifying_at<T: Send + 'static>(
        &self,
        at: Option<time::OffsetDateTime>,
        job: impl FnOnce(&Verifier, time::OffsetDateTime) -> T + Send + 'static,
    ) -> Result<T> {
        let verifier = match at {
            Some(t) => Arc::new(self.verifier().await?.as_of(t)),
            None => self.verifier().await?,
        };
        let now = at.unwrap_or_else(time::OffsetDateTime::now_utc);
        self.inner.verifying.run(move || job(&verifier, now)).await
    }

    /// Verifies a document (OFD, PDF, SES structure; format given or sniffed) at the current
    /// time, with this vault's audit-log finding for its own signers' signatures.
    pub async fn verify_document(&self, bytes: Vec<u8>, format: Option<Format>) -> Result<Report> {
        self.verify_document_at(bytes, format, None).await
    }

    /// [`Vault::verify_document`] as of the validation time `at` (`None`: now): the future-time
    /// checks, a seal's own validity and the revocations known are judged at `at`.
    pub async fn verify_document_at(
        &self,
        bytes: Vec<u8>,
        format: Option<Format>,
        at: Option<time::OffsetDateTime>,
    ) -> Result<Report> {
        let mut report = self
            .verifying_at(at, move |v, now| v.verify_document(&bytes, format, now))
            .await?;
        self.add_audit_findings(&mut report).await?;
        self.add_handwriting_findings(&mut report).await?;
        self.add_licence_finding(&mut report).await?;
        Ok(report)
    }

    /// Verifies a detached SES_Signature (or a SESeal on its own) as of `at` (`None`: now),
    /// against its original when given (without it INDETERMINATE at best).
    pub async fn verify_ses(
        &self,
        signature: Vec<u8>,
        data: Option<Vec<u8>>,
        at: Option<time::OffsetDateTime>,
    ) -> Result<Report> {
        let mut report = self
            .verifying_at(at, move |v, now| {
                let original = match &data {
                    Some(d) => crate::verify::Original::Data(d),
                    None => crate::verify::Original::Absent,
                };
                v.verify_ses(&signature, original, now)
            })
            .await?;
        self.add_audit_findings(&mut report).await?;
        Ok(report)
    }
}
