//! What the vault publishes for relying parties: its trust list, the PEM `openssl` needs, CRLs.

use super::Vault;
use super::pki::{self, Family, Role};
use crate::error::Result;

/// One entry of the trust list.
#[derive(Debug, Clone)]
pub struct TrustEntry {
    /// Authority name, e.g. `sm2-root` (the `{ca}` of the CRL route).
    pub name: String,
    /// `sm2` or `p256`.
    pub family: Family,
    /// `root` or `issuing`.
    pub role: Role,
    /// The certificate.
    pub cert: crate::pki::Certificate,
}

impl Vault {
    /// The vault's roots and the CAs under them (seal holders' and handwritten signers').
    pub fn trust_list(&self) -> Vec<TrustEntry> {
        self.inner
            .authorities
            .iter()
            .filter(|a| matches!(a.role, Role::Root | Role::Issuing | Role::Signer))
            .map(|a| TrustEntry {
                name: a.name.clone(),
                family: a.family,
                role: a.role,
                cert: a.cert.clone(),
            })
            .collect()
    }

    /// PEM for `openssl verify -CAfile`: the roots, then (unless `roots_only`) the CAs under them,
    /// SM2 ones re-signed over the same TBS with the empty ID OpenSSL 3.0 expects of CA
    /// certificates ([`crate::pki::sm2_empty_id_rendering`]).
    pub fn trust_export(&self, roots_only: bool) -> Result<String> {
        let mut pem = String::new();
        let authorities = &self.inner.authorities;
        for a in authorities.iter().filter(|a| a.role == Role::Root) {
            pem.push_str(&a.cert.to_pem());
        }
        if !roots_only {
            for a in authorities
                .iter()
                .filter(|a| matches!(a.role, Role::Issuing | Role::Signer))
            {
                let cert = match a.family {
                    Family::Sm2 => {
                        let root = authorities.get(Family::Sm2, Role::Root)?;
                        crate::pki::sm2_empty_id_rendering(&a.cert, &root.key)?
                    }
                    Family::P256 => a.cert.clone(),
                };
                pem.push_str(&cert.to_pem());
            }
        }
        Ok(pem)
    }

    /// A freshly signed CRL (DER) of one of the vault's CAs.
    pub async fn crl(&self, ca: &str) -> Result<Vec<u8>> {
        pki::crl(&self.inner.store, &self.inner.authorities, ca).await
    }
}
