//! The vault's RFC 3161 time-stamping service: tokens signed by its TSA certificates, each one
//! recorded in the audit log before it is released.

use time::OffsetDateTime;

use super::ledger::Op;
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
        let family = match TimeStampReq::from_der(req_der) {
            Ok(req) if req.hash_alg == HashAlg::Sm3 => Family::Sm2,
            _ => Family::P256,
        };
        let authority = self.inner.authorities.get(family, Role::Tsa)?;
        let issuing = self.inner.authorities.get(family, Role::Issuing)?;
        let serial = crate::pki::random_serial()?;
        let now = OffsetDateTime::now_utc();
        let tsa = Tsa {
            cert: &authority.cert,
            key: &authority.key,
            chain: std::slice::from_ref(&issuing.cert),
            policy: TSA_POLICY,
        };
        let response = tsa.respond(req_der, &serial, now);
        let Some(token) = granted_token(&response) else {
            // A rejection signs nothing: nothing to record.
            return Ok(response);
        };
        let event = Event::new(
            client.actor(),
            Action::TimestampIssued,
            format!("tsa:{}", authority.name),
        )
        .with("serial", hex::encode(serial))
        .with("token_sha256", hex::encode(crate::crypto::sha256(token)));
        match self
            .apply(Op::RecordSignature {
                key_id: authority.key_id.clone(),
                owner: "vault".into(),
                event,
            })
            .await?
        {
            Some(_) => Ok(response),
            None => Err(Error::Unavailable),
        }
    }
}
