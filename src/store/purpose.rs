//! What a key is for: fixed when the key is made, stored with it, checked on every use.

use crate::error::{Error, Result};

/// What a key is for. A key signs only in the role it was made for: a seal's holder key only
/// as that seal, a CA key only certificates, and only general keys are reachable through
/// `/v1/keys` (docs/threats.md §6.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyPurpose {
    /// A client's general-purpose key, made and used through `/v1/keys`.
    General,
    /// The holder key of an electronic seal: signs only through the seal routes.
    Seal,
    /// A handwritten signer's key (reserved: nothing makes one yet).
    HandwrittenSigner,
    /// A root or issuing CA of the vault.
    Ca,
    /// A seal maker (制章者) of the vault: signs SES_SealInfo.
    SealMaker,
    /// A time-stamping authority of the vault.
    Tsa,
    /// The vault's audit key: signs checkpoints.
    Audit,
    /// An issuer's licence signing key (SM2): signs each licence's canonical form.
    LicenceSigner,
    /// An issuer's status list key (P-256): signs its status list tokens (ES256).
    StatusList,
    /// An issuer's presentation key (SM2 by default): signs its 亮证 tokens.
    Presentation,
}

impl KeyPurpose {
    const ALL: [KeyPurpose; 10] = [
        KeyPurpose::General,
        KeyPurpose::Seal,
        KeyPurpose::HandwrittenSigner,
        KeyPurpose::Ca,
        KeyPurpose::SealMaker,
        KeyPurpose::Tsa,
        KeyPurpose::Audit,
        KeyPurpose::LicenceSigner,
        KeyPurpose::StatusList,
        KeyPurpose::Presentation,
    ];

    /// The stored name (`client` for general keys, the name they had before purposes were typed).
    pub fn as_str(self) -> &'static str {
        match self {
            KeyPurpose::General => "client",
            KeyPurpose::Seal => "seal",
            KeyPurpose::HandwrittenSigner => "handwritten-signer",
            KeyPurpose::Ca => "ca",
            KeyPurpose::SealMaker => "seal-maker",
            KeyPurpose::Tsa => "tsa",
            KeyPurpose::Audit => "audit",
            KeyPurpose::LicenceSigner => "licence-signer",
            KeyPurpose::StatusList => "status-list",
            KeyPurpose::Presentation => "presentation",
        }
    }

    /// The purpose of a stored name; an unknown one means the row is not what the vault wrote.
    pub fn parse(stored: &str, key_id: &str) -> Result<KeyPurpose> {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str() == stored)
            .ok_or_else(|| Error::Corrupt(format!("key {key_id} has an unknown purpose")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_names_round_trip_and_unknown_ones_are_corrupt() {
        for p in KeyPurpose::ALL {
            assert_eq!(KeyPurpose::parse(p.as_str(), "k").ok(), Some(p));
        }
        assert!(matches!(
            KeyPurpose::parse("Client", "k"),
            Err(Error::Corrupt(_))
        ));
    }
}
