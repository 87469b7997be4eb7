//! The vault's certificate authority: its authorities (made once, with the vault), seal-holder
//! certificates, CRLs, the trust list, and the verifier built from them.
//!
//! Two families: SM2 (the default, for SM2 seals) and P-256 (for P-256 and RSA seals, which
//! international PDF software can check). Each family has a root, an issuing CA (pathLen 0) and
//! a seal maker (制章者) whose certificate signs every SES_SealInfo of that family.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use ring::rand::SystemRandom;
use time::{Duration, OffsetDateTime};

use super::ledger::{Issuance, now_ms};
use super::{key_aad, new_key_row, random_id};
use crate::audit::{Action, Actor, Event};
use crate::config::Config;
use crate::crypto::{KeyType, MasterKey, PrivateKey};
use crate::error::{Error, Result};
use crate::pki::{
    self, Certificate, Name, Profile, PublicationPoints, RevocationReason, RevokedEntry, TrustStore,
};
use crate::store::{AuthorityRow, CertRow, KeyPurpose, KeyRow, Store};
use crate::verify::{Revocations, Verifier};

/// An algorithm family of authorities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// SM2 with SM3.
    Sm2,
    /// ECDSA P-256 with SHA-256 (also certifies RSA keys).
    P256,
}

impl Family {
    /// The family that certifies keys of this type.
    pub fn of(key_type: KeyType) -> Family {
        match key_type {
            KeyType::Sm2 => Family::Sm2,
            _ => Family::P256,
        }
    }

    fn key_type(self) -> KeyType {
        match self {
            Family::Sm2 => KeyType::Sm2,
            Family::P256 => KeyType::P256,
        }
    }

    /// The stable lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Sm2 => "sm2",
            Family::P256 => "p256",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Family::Sm2 => "SM2",
            Family::P256 => "P-256",
        }
    }
}

/// What an authority is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Self-signed trust anchor.
    Root,
    /// Issues end-entity certificates.
    Issuing,
    /// Signs seals (制章者).
    Maker,
    /// Signs RFC 3161 time-stamp tokens.
    Tsa,
    /// Issues handwritten signers' certificates: a CA of its own under the root (pathLen 0), so
    /// that a relying party can trust signers and seals apart.
    Signer,
}

impl Role {
    /// The stable lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Root => "root",
            Role::Issuing => "issuing",
            Role::Maker => "maker",
            Role::Tsa => "tsa",
            Role::Signer => "signer",
        }
    }

    /// The purpose its key was made for.
    fn key_purpose(self) -> KeyPurpose {
        match self {
            Role::Root | Role::Issuing | Role::Signer => KeyPurpose::Ca,
            Role::Maker => KeyPurpose::SealMaker,
            Role::Tsa => KeyPurpose::Tsa,
        }
    }

    fn parse(s: &str) -> Option<Role> {
        match s {
            "root" => Some(Role::Root),
            "issuing" => Some(Role::Issuing),
            "maker" => Some(Role::Maker),
            "tsa" => Some(Role::Tsa),
            "signer" => Some(Role::Signer),
            _ => None,
        }
    }
}

/// One authority, loaded with its private key.
pub(crate) struct Authority {
    pub(crate) name: String,
    pub(crate) family: Family,
    pub(crate) role: Role,
    pub(crate) cert: Certificate,
    pub(crate) key: PrivateKey,
    pub(crate) key_id: String,
}

/// The vault's authorities.
pub(crate) struct Authorities(Vec<Authority>);

impl Authorities {
    pub(crate) fn get(&self, family: Family, role: Role) -> Result<&Authority> {
        self.0
            .iter()
            .find(|a| a.family == family && a.role == role)
            .ok_or_else(|| {
                Error::Corrupt(format!(
                    "the {} {} authority is missing",
                    family.as_str(),
                    role.as_str()
                ))
            })
    }

    pub(crate) fn by_name(&self, name: &str) -> Option<&Authority> {
        self.0.iter().find(|a| a.name == name)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &Authority> {
        self.0.iter()
    }
}

const ROOT_YEARS: i64 = 20;
const ISSUING_YEARS: i64 = 10;

fn years(n: i64) -> Duration {
    Duration::days(365 * n + n / 4)
}

/// A certificate row and its audit event.
pub(crate) fn cert_row(
    cert: &Certificate,
    issuer: Option<&str>,
    kind: &str,
    key_id: &str,
    rng: &SystemRandom,
    actor: Actor,
) -> Result<(CertRow, Event)> {
    let id = random_id(rng, "crt")?;
    let event = Event::new(
        actor,
        Action::CertificateIssued,
        format!("certificate:{id}"),
    )
    .with("kind", kind)
    .with("issuer", issuer.unwrap_or("self"))
    .with("serial", cert.serial_hex())
    .with("key", key_id)
    .with("sha256", cert.fingerprint_sha256())
    .with_signature(cert.signature_value());
    let row = CertRow {
        id,
        issuer: issuer.map(str::to_owned),
        serial: cert.serial_hex(),
        kind: kind.to_owned(),
        key_id: key_id.to_owned(),
        subject: cert.subject().to_owned(),
        fingerprint: cert.fingerprint_sha256(),
        der: cert.der().to_vec(),
        not_before: cert.not_before().unix_timestamp() * 1000,
        not_after: cert.not_after().unix_timestamp() * 1000,
        status: "good".into(),
        revoked_at: None,
        revocation_reason: None,
        created_at: now_ms(),
    };
    Ok((row, event))
}

fn vault_name(cn: String, vault_id: &str) -> Name {
    Name {
        common_name: cn,
        organization: Some("sidian".into()),
        organizational_unit: Some(vault_id.to_owned()),
        serial_number: None,
        country: Some("CN".into()),
    }
}

/// Where the CA `issuer` (an authority name such as `p256-issuing`) publishes its CRL and
/// certificate under the configured public URL; `None` when no public URL is configured.
pub(crate) fn publication_points(config: &Config, issuer: &str) -> Option<PublicationPoints> {
    config.public_url.as_deref().map(|base| PublicationPoints {
        crl: format!("{base}/v1/pki/crl/{issuer}"),
        ca_issuers: format!("{base}/v1/pki/ca/{issuer}.cer"),
    })
}

/// Generates the authorities of both families: keys, certificates and rows, ready to commit.
pub(crate) fn plan_authorities(
    master: &MasterKey,
    rng: &SystemRandom,
    config: &Config,
    vault_id: &str,
) -> Result<Issuance> {
    let mut plan = Issuance::default();
    let now = OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or_else(|_| OffsetDateTime::now_utc());
    // Back-dated an hour so that clocks a little behind ours accept fresh certificates.
    let start = now - Duration::hours(1);
    for family in [Family::Sm2, Family::P256] {
        let kt = family.key_type();
        let mut make = |purpose: KeyPurpose| -> Result<(KeyRow, PrivateKey)> {
            let (row, event) =
                new_key_row(master, rng, config, kt, "vault", purpose, Actor::Vault)?;
            let key = PrivateKey::from_pkcs8_der(
                kt,
                &master.unwrap(
                    &row.wrapped_private,
                    &key_aad(&row.id, &row.owner, &row.key_type),
                )?,
            )?;
            plan.keys.push((row.clone(), event));
            Ok((row, key))
        };
        let (root_row, root_key) = make(KeyPurpose::Ca)?;
        let (issuing_row, issuing_key) = make(KeyPurpose::Ca)?;
        let root = pki::self_signed(
            &root_key,
            &vault_name(format!("sidian {} Root CA", family.label()), vault_id),
            start,
            start + years(ROOT_YEARS),
        )?;
        let root_name = format!("{}-root", family.as_str());
        let issuing = pki::issue_published(
            &root,
            &root_key,
            &issuing_key.public_key(),
            &vault_name(format!("sidian {} Issuing CA", family.label()), vault_id),
            Profile::IssuingCa,
            &pki::random_serial()?,
            (start, start + years(ISSUING_YEARS)),
            publication_points(config, &root_name).as_ref(),
        )?;
        for (cert, issuer, kind, key_row, role) in [
            (&root, None, "root", &root_row, Role::Root),
            (
                &issuing,
                Some(root_name.as_str()),
                "issuing-ca",
                &issuing_row,
                Role::Issuing,
            ),
        ] {
            push_authority(&mut plan, cert, issuer, kind, key_row, family, role, rng)?;
        }
        let issuer = Issuer {
            family,
            name: format!("{}-issuing", family.as_str()),
            cert: &issuing,
            key: &issuing_key,
        };
        for role in [Role::Maker, Role::Tsa] {
            plan_leaf(
                &mut plan, master, rng, config, vault_id, &issuer, role, start,
            )?;
        }
        let root = Issuer {
            family,
            name: root_name,
            cert: &root,
            key: &root_key,
        };
        plan_leaf(
            &mut plan,
            master,
            rng,
            config,
            vault_id,
            &root,
            Role::Signer,
            start,
        )?;
    }
    Ok(plan)
}

/// A CA about to certify one of the vault's own authorities.
struct Issuer<'a> {
    family: Family,
    /// Its authority name (`p256-issuing`).
    name: String,
    cert: &'a Certificate,
    key: &'a PrivateKey,
}

/// Records an authority's certificate (with its audit event) and its row in `plan`.
#[allow(clippy::too_many_arguments)]
fn push_authority(
    plan: &mut Issuance,
    cert: &Certificate,
    issuer: Option<&str>,
    kind: &str,
    key_row: &KeyRow,
    family: Family,
    role: Role,
    rng: &SystemRandom,
) -> Result<()> {
    let (row, event) = cert_row(cert, issuer, kind, &key_row.id, rng, Actor::Vault)?;
    plan.authorities.push(AuthorityRow {
        name: format!("{}-{}", family.as_str(), role.as_str()),
        family: family.as_str().to_owned(),
        role: role.as_str().to_owned(),
        cert_id: row.id.clone(),
        key_id: key_row.id.clone(),
    });
    plan.certs.push((row, event));
    Ok(())
}

/// Adds a seal maker or a time-stamping authority (certified by an issuing CA), or a
/// handwritten signers' CA (by a root), to `plan`.
#[allow(clippy::too_many_arguments)]
fn plan_leaf(
    plan: &mut Issuance,
    master: &MasterKey,
    rng: &SystemRandom,
    config: &Config,
    vault_id: &str,
    issuer: &Issuer<'_>,
    role: Role,
    start: OffsetDateTime,
) -> Result<()> {
    let (purpose, kind, label, profile) = match role {
        Role::Maker => (
            KeyPurpose::SealMaker,
            "seal-maker",
            "电子印章制章者",
            Profile::SealMaker,
        ),
        Role::Tsa => (KeyPurpose::Tsa, "tsa", "时间戳服务", Profile::TimeStamping),
        Role::Signer => (
            KeyPurpose::Ca,
            "signer-ca",
            "Handwritten Signer CA",
            Profile::IssuingCa,
        ),
        Role::Root | Role::Issuing => {
            return Err(Error::Corrupt("a CA is not planned as a leaf".into()));
        }
    };
    let family = issuer.family;
    let (key_row, event) = new_key_row(
        master,
        rng,
        config,
        family.key_type(),
        "vault",
        purpose,
        Actor::Vault,
    )?;
    let public = crate::crypto::PublicKey::from_spki_der(&key_row.public_key)?;
    let issuer_name = issuer.name.as_str();
    let cert = pki::issue_published(
        issuer.cert,
        issuer.key,
        &public,
        &vault_name(format!("sidian {label} ({})", family.label()), vault_id),
        profile,
        &pki::random_serial()?,
        (
            start.max(issuer.cert.not_before()),
            issuer.cert.not_after() - Duration::days(1),
        ),
        publication_points(config, issuer_name).as_ref(),
    )?;
    plan.keys.push((key_row.clone(), event));
    push_authority(
        plan,
        &cert,
        Some(issuer_name),
        kind,
        &key_row,
        family,
        role,
        rng,
    )
}

/// The authorities a vault made by an earlier version lacks (the time-stamping authorities,
/// certified by its issuing CAs; the handwritten signers' CAs, by its roots).
pub(crate) fn plan_missing(
    authorities: &Authorities,
    master: &MasterKey,
    rng: &SystemRandom,
    config: &Config,
    vault_id: &str,
) -> Result<Option<Issuance>> {
    let mut plan = Issuance::default();
    let now = OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or_else(|_| OffsetDateTime::now_utc());
    for family in [Family::Sm2, Family::P256] {
        if authorities.get(family, Role::Signer).is_err() {
            let root = authorities.get(family, Role::Root)?;
            let root = Issuer {
                family,
                name: root.name.clone(),
                cert: &root.cert,
                key: &root.key,
            };
            plan_leaf(
                &mut plan,
                master,
                rng,
                config,
                vault_id,
                &root,
                Role::Signer,
                now,
            )?;
        }
        if authorities.get(family, Role::Tsa).is_ok() {
            continue;
        }
        let issuing = authorities.get(family, Role::Issuing)?;
        let issuer = Issuer {
            family,
            name: issuing.name.clone(),
            cert: &issuing.cert,
            key: &issuing.key,
        };
        plan_leaf(
            &mut plan,
            master,
            rng,
            config,
            vault_id,
            &issuer,
            Role::Tsa,
            now,
        )?;
    }
    Ok((!plan.authorities.is_empty()).then_some(plan))
}

/// Loads the authorities with their private keys.
pub(crate) async fn load_authorities(store: &Store, master: &MasterKey) -> Result<Authorities> {
    let mut list = Vec::new();
    for row in store.authorities().await? {
        let family = match row.family.as_str() {
            "sm2" => Family::Sm2,
            "p256" => Family::P256,
            other => {
                return Err(Error::Corrupt(format!(
                    "authority {} has unknown family {other}",
                    row.name
                )));
            }
        };
        let role = Role::parse(&row.role)
            .ok_or_else(|| Error::Corrupt(format!("authority {} has unknown role", row.name)))?;
        let cert_row = store
            .cert(&row.cert_id)
            .await?
            .ok_or_else(|| Error::Corrupt(format!("certificate of {} is missing", row.name)))?;
        let key_row = store
            .key(&row.key_id)
            .await?
            .ok_or_else(|| Error::Corrupt(format!("key of {} is missing", row.name)))?;
        if key_row.purpose != role.key_purpose() {
            return Err(Error::Corrupt(format!(
                "key of {} was not made for it",
                row.name
            )));
        }
        let key = super::unwrap_key(master, &key_row)?;
        let cert = Certificate::from_der(&cert_row.der)
            .map_err(|e| Error::Corrupt(format!("certificate of {}: {e}", row.name)))?;
        if cert
            .public_key()
            .map_err(|e| Error::Corrupt(e.to_string()))?
            != key.public_key()
        {
            return Err(Error::Corrupt(format!(
                "certificate and key of {} do not match",
                row.name
            )));
        }
        list.push(Authority {
            name: row.name,
            family,
            role,
            cert,
            key,
            key_id: row.key_id,
        });
    }
    Ok(Authorities(list))
}

/// The vault's roots and issuing CAs plus the PEM anchors of the trust directory.
pub(crate) fn trust_store(authorities: &Authorities, config: &Config) -> Result<TrustStore> {
    let mut trust = TrustStore::new();
    for a in authorities.iter() {
        match a.role {
            Role::Root => trust.add_anchor(a.cert.clone()),
            Role::Issuing | Role::Signer => trust.add_intermediate(a.cert.clone()),
            Role::Maker | Role::Tsa => {}
        }
    }
    let dir = config.trust_dir();
    if dir.is_dir() {
        let n = trust
            .load_pem_dir(&dir)
            .map_err(|e| Error::Config(format!("trust directory {}: {e}", dir.display())))?;
        tracing::info!(anchors = n, dir = %dir.display(), "loaded extra trust anchors");
    }
    Ok(trust)
}

/// The revocation state of everything the vault issued.
pub(crate) async fn revocations(store: &Store, authorities: &Authorities) -> Result<Revocations> {
    let own: HashSet<String> = authorities
        .iter()
        .map(|a| a.cert.fingerprint_sha256())
        .collect();
    let mut revoked = HashMap::new();
    for row in store.revoked_certs().await? {
        // Milliseconds kept: a signature made earlier in the same second stays valid.
        let at = OffsetDateTime::from_unix_timestamp_nanos(
            i128::from(row.revoked_at.unwrap_or(0)) * 1_000_000,
        )
        .map_err(|e| Error::Corrupt(e.to_string()))?;
        let reason = row
            .revocation_reason
            .as_deref()
            .and_then(|r| r.parse::<RevocationReason>().ok());
        revoked.insert(row.fingerprint, (at, reason));
    }
    Ok(Revocations::new(own, revoked))
}

/// A verifier over the vault's trust anchors and current revocation state.
pub(crate) async fn verifier(
    store: &Store,
    authorities: &Authorities,
    trust: &Arc<TrustStore>,
) -> Result<Verifier> {
    Ok(Verifier::new(
        trust.clone(),
        revocations(store, authorities).await?,
    ))
}

/// A signed CRL of one of the vault's CAs, covering every certificate it revoked.
pub(crate) async fn crl(store: &Store, authorities: &Authorities, ca: &str) -> Result<Vec<u8>> {
    let authority = authorities
        .by_name(ca)
        .filter(|a| matches!(a.role, Role::Root | Role::Issuing | Role::Signer))
        .ok_or(Error::NotFound("certificate authority"))?;
    let entries: Vec<RevokedEntry> = store
        .revoked_certs()
        .await?
        .into_iter()
        .filter(|r| r.issuer.as_deref() == Some(ca))
        .map(|r| -> Result<RevokedEntry> {
            Ok(RevokedEntry {
                serial: hex::decode(&r.serial)
                    .map_err(|_| Error::Corrupt("certificate serial is not hex".into()))?,
                revoked_at: OffsetDateTime::from_unix_timestamp(r.revoked_at.unwrap_or(0) / 1000)
                    .map_err(|e| Error::Corrupt(e.to_string()))?,
                reason: r.revocation_reason.as_deref().and_then(|s| s.parse().ok()),
            })
        })
        .collect::<Result<_>>()?;
    let now = OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or_else(|_| OffsetDateTime::now_utc());
    // cRLNumber must grow with every CRL issued: the second of issue does, across restarts too.
    let number = u64::try_from(now.unix_timestamp()).unwrap_or(0);
    Ok(pki::build_crl(
        &authority.cert,
        &authority.key,
        &entries,
        now,
        now + Duration::days(1),
        number,
    )?)
}
