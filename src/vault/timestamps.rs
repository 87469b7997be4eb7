//! The vault's RFC 3161 time-stamping service: tokens signed by its TSA certificates, each one
//! recorded in the audit log before it is released.

use time::OffsetDateTime;

use super::ledger::{Op, SignedAs, unix_ms};
use super::pki::{Family, Role};
use super::{AuthClient, Vault};
use crate::audit::{Action, Event};
use crate::error::{Error, Result};
use crate::tsa::{HashAlg, TimeStampReq, Tsa, granted_token};

/// The policy every token of the vault names: an OID under 2.25 (ITU-T X.667, derived from a
/// UUID), which needs no registration and cannot collide with anyone's.
pub const TSA_POLICY: &str = "2.25.87169175931882567125674093570108489358";

impl Vault {
    /// Answers a TimeStampReq (DER) with a TimeStampResp (DER): a token from the SM2 TSA for an
    /// SM3 imprint, from the P-256 TSA otherwise (what PDF software checks), or a rejection.
    pub async fn timestamp(&self, client: &AuthClient, req_der: &[u8]) -> Result<Vec<u8>> {
        let req = TimeStampReq::from_der(req_der);
        let (tsa, authority) = self.tsa(req.as_ref().map_or(HashAlg::Sha256, |r| r.hash_alg))?;
        let serial = crate::pki::random_serial()?;
        let now = OffsetDateTime::now_utc();
        let response = tsa.respond(req_der, &serial, now);
        let Some(token) = granted_token(&response) else {
            // A rejection signs nothing: nothing to record.
            return Ok(response);
        };
        self.record_token(client, authority, &serial, now, token)
            .await?;
        Ok(response)
    }

    /// A token (ContentInfo DER) for a request the vault made itself, e.g. a PDF signature
    /// timestamp; recorded like any other.
    pub(crate) async fn timestamp_token(
        &self,
        client: &AuthClient,
        req: &TimeStampReq,
    ) -> Result<Vec<u8>> {
        let (tsa, authority) = self.tsa(req.hash_alg)?;
        let serial = crate::pki::random_serial()?;
        let now = OffsetDateTime::now_utc();
        let token = tsa
            .token(req, &serial, now)
            .map_err(|e| Error::InvalidRequest(e.to_string()))?;
        self.record_token(client, authority, &serial, now, &token)
            .await?;
        Ok(token)
    }

    /// The TSA for an imprint hashed with `alg` (SM2 for SM3, P-256 otherwise) and its authority.
    fn tsa(&self, alg: HashAlg) -> Result<(Tsa<'_>, &super::pki::Authority)> {
        let family = match alg {
            HashAlg::Sm3 => Family::Sm2,
            _ => Family::P256,
        };
        let authority = self.inner.authorities.get(family, Role::Tsa)?;
        let issuing = self.inner.authorities.get(family, Role::Issuing)?;
        let tsa = Tsa {
            cert: &authority.cert,
            key: &authority.key,
            chain: std::slice::from_ref(&issuing.cert),
            policy: TSA_POLICY,
        };
        Ok((tsa, authority))
    }

    /// Records a token of `authority` made at `gen_time` for `client`, who must still be active.
    async fn record_token(
        &self,
        client: &AuthClient,
        authority: &super::pki::Authority,
        serial: &[u8],
        gen_time: OffsetDateTime,
        token: &[u8],
    ) -> Result<()> {
        let event = Event::new(
            client.actor(),
            Action::TimestampIssued,
            format!("tsa:{}", authority.name),
        )
        .with("serial", hex::encode(serial))
        .with("token_sha256", hex::encode(crate::crypto::sha256(token)))
        .with_signature(&crate::cms::signature_value(token).map_err(Error::Cms)?);
        match self
            .apply(Op::RecordSignature {
                key_id: authority.key_id.clone(),
                owner: "vault".into(),
                signed_as: SignedAs::Tsa,
                signed_at: unix_ms(gen_time),
                event,
            })
            .await?
        {
            Some(_) => Ok(()),
            None => Err(Error::Unavailable),
        }
    }
}
