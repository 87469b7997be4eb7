//! What a signer's certificate contributes to the report ([`crate::report`]): its subject as a
//! person reads it, and for a PDF the seal its holder certificate names.

use crate::pki::Certificate;
use crate::report::{SealSummary, SignatureReport};

// Inherent impls of the leaf's types: the report knows no certificates, verification does.
impl SignatureReport {
    /// Records `cert` as the signer, its subject both as RFC 4514 and as a person reads it.
    pub(crate) fn set_signer(&mut self, cert: &Certificate) {
        self.signer = Some(cert.subject().to_owned());
        self.signer_name = Some(readable_name(cert));
    }
}

impl SealSummary {
    /// The seal a holder certificate names (organizationalUnitName = seal name,
    /// organizationName = holder, serialNumber = holder id, as the vault issues them); `None`
    /// when the certificate names no organizational unit and so no seal.
    pub fn from_holder(cert: &Certificate) -> Option<SealSummary> {
        let name = cert.subject_name();
        Some(SealSummary {
            holder: name.seal_holder(),
            name: name.organizational_unit?,
            holder_id: name.serial_number,
            es_id: None,
            version: None,
        })
    }
}

/// A certificate's subject as a person reads it: commonName, then the organizationName in
/// parentheses when it differs; the RFC 4514 subject when there is no commonName.
pub fn readable_name(cert: &Certificate) -> String {
    let name = cert.subject_name();
    match (name.common_name.is_empty(), name.organization) {
        (true, _) => cert.subject().to_owned(),
        (false, Some(o)) if o != name.common_name => format!("{} ({o})", name.common_name),
        (false, _) => name.common_name,
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::crypto::{KeyType, PrivateKey};
    use crate::pki::{Name, self_signed};

    fn cert(name: Name) -> Certificate {
        let key = PrivateKey::generate(KeyType::P256).expect("key");
        let t0 = datetime!(2025-01-01 0:00 UTC);
        self_signed(&key, &name, t0, t0 + time::Duration::days(730)).expect("certificate")
    }

    #[test]
    fn a_holder_certificate_names_the_seal_and_the_signer_readably() {
        // As the vault issues seal holder certificates (vault::seals).
        let holder = cert(Name {
            common_name: "某某有限公司".into(),
            organization: Some("某某有限公司".into()),
            organizational_unit: Some("某某有限公司合同专用章".into()),
            serial_number: Some("91370406L24894136J".into()),
            country: Some("CN".into()),
        });
        assert_eq!(
            SealSummary::from_holder(&holder),
            Some(SealSummary {
                name: "某某有限公司合同专用章".into(),
                holder: Some("某某有限公司".into()),
                holder_id: Some("91370406L24894136J".into()),
                es_id: None,
                version: None,
            })
        );
        assert_eq!(readable_name(&holder), "某某有限公司");

        // A person's certificate names no seal; its organisation is shown after the name.
        let person = cert(Name {
            common_name: "张三".into(),
            organization: Some("某某有限公司".into()),
            ..Name::default()
        });
        assert_eq!(SealSummary::from_holder(&person), None);
        assert_eq!(readable_name(&person), "张三 (某某有限公司)");
    }
}
