//! The vault's own wallet (`/wallet`, `serve --demo-wallet`): a holder's session and their
//! licences. In production the province's app is the wallet and calls `/v1` with scope
//! `present`; the demo logs a holder in by their holder code and name alone, and says so.
//!
//! A session is a cookie the vault seals with its master key's wrapping (AES-256-GCM or
//! SM4-GCM, bound to its purpose): holder code, name and expiry, nothing a browser can read or
//! change. It makes the wallet an internal client with scope `present` restricted to that
//! holder's licences ([`AuthClient::wallet`]), and the vault enforces the restriction.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64URL};
use serde::{Deserialize, Serialize};

use super::ledger::now_ms;
use super::{AuthClient, LicenceStatus, Vault};
use crate::error::{Error, Result};
use crate::store::LicenceRow;

/// How long a wallet session lasts (ms).
pub const SESSION_TTL_MS: i64 = 30 * 60 * 1000;

/// What the sealed session is bound to, so that no other wrapped blob opens as one.
const SESSION_AAD: &[u8] = b"sidian/v1/wallet-session";

/// The most licences the wallet lists for one holder.
const MAX_HOLDER_LICENCES: u32 = 200;

/// A holder logged in to the wallet.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct WalletSession {
    /// 持证主体代码, as the holder's licences store it.
    #[serde(rename = "h")]
    pub holder_code: String,
    /// 持证主体 as typed at login.
    #[serde(rename = "n")]
    pub holder_name: String,
    /// When the session ends (ms).
    #[serde(rename = "e")]
    pub expires_at: i64,
}

impl WalletSession {
    /// The client the wallet acts as for this holder.
    pub fn client(&self) -> AuthClient {
        AuthClient::wallet(&self.holder_code)
    }
}

/// A holder's licence as the wallet lists it.
#[derive(Debug, Clone)]
pub struct HolderLicence {
    /// 证照标识.
    pub id: String,
    /// 证照类型代码.
    pub type_code: String,
    /// 证照名称 (when the type is known).
    pub type_name: Option<String>,
    /// 证照编号, masked.
    pub number_masked: String,
    /// Status now.
    pub status: LicenceStatus,
    /// 有效期起始 (`YYYY-MM-DD`).
    pub valid_from: String,
    /// 有效期截止 (`YYYY-MM-DD`) or `长期`.
    pub valid_to: String,
}

impl Vault {
    /// Opens a demo session for the holder of this code and name: at least one licence must
    /// name both (as stored; the name's surrounding spaces ignored). The sealed cookie value
    /// and the session.
    pub async fn wallet_login(
        &self,
        holder_code: &str,
        holder_name: &str,
    ) -> Result<(String, WalletSession)> {
        let (code, name) = (holder_code.trim(), holder_name.trim());
        if code.is_empty() || name.is_empty() || code.len() > 64 || name.chars().count() > 128 {
            return Err(Error::InvalidField(
                "holder_code and holder_name: 1–64 and 1–128 characters".into(),
            ));
        }
        let held = self
            .inner
            .store
            .licences_of_holder(code, MAX_HOLDER_LICENCES)
            .await?
            .iter()
            .any(|l| l.holder_name == name);
        if !held {
            return Err(Error::InvalidField(
                "no licence is held under this holder code and name".into(),
            ));
        }
        let session = WalletSession {
            holder_code: code.to_owned(),
            holder_name: name.to_owned(),
            expires_at: now_ms() + SESSION_TTL_MS,
        };
        Ok((self.seal_session(&session)?, session))
    }

    /// The session a cookie value holds; 401 `no_session` when it was not sealed by this vault
    /// (forged or altered) or has expired.
    pub fn wallet_session(&self, sealed: &str) -> Result<WalletSession> {
        let blob = B64URL.decode(sealed).map_err(|_| Error::NoSession)?;
        let json = self
            .inner
            .master
            .unwrap(&blob, SESSION_AAD)
            .map_err(|_| Error::NoSession)?;
        let session: WalletSession = serde_json::from_slice(&json).map_err(|_| Error::NoSession)?;
        if session.expires_at <= now_ms() {
            return Err(Error::NoSession);
        }
        Ok(session)
    }

    fn seal_session(&self, session: &WalletSession) -> Result<String> {
        let json =
            serde_json::to_vec(session).map_err(|e| Error::Corrupt(format!("session: {e}")))?;
        let blob = self
            .inner
            .master
            .wrap(self.inner.config.wrap_alg, &json, SESSION_AAD)?;
        Ok(B64URL.encode(blob))
    }

    /// The licences of the session's holder, newest first.
    pub async fn holder_licences(&self, session: &WalletSession) -> Result<Vec<HolderLicence>> {
        let now = now_ms();
        self.inner
            .store
            .licences_of_holder(&session.holder_code, MAX_HOLDER_LICENCES)
            .await?
            .into_iter()
            .map(|row| self.holder_licence(row, now))
            .collect()
    }

    fn holder_licence(&self, row: LicenceRow, now: i64) -> Result<HolderLicence> {
        Ok(HolderLicence {
            status: LicenceStatus::of(&row, now)?,
            type_name: self
                .licence_types()
                .get(&row.type_code)
                .map(|t| t.name.clone()),
            number_masked: crate::ident::mask_text(&row.number),
            valid_from: super::date_of(row.valid_from),
            valid_to: super::valid_to_text(row.valid_to),
            id: row.id,
            type_code: row.type_code,
        })
    }
}
