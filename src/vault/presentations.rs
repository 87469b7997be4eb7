//! 亮证 in the vault: presentation tokens made for a licence (its opaque handle, signed with
//! its issuer's presentation key), checked online against the licence's live status, the trust
//! list inspectors check offline with, and the list of a licence's checks.
//!
//! Who may present a licence: a client with the `present` scope (the wallet system, which has
//! authenticated the holder itself) that is bound to the licence's issuer or issued the licence,
//! and `admin`. The same clients, and the client that issued the licence, read its checks.
//!
//! A check costs one SM2 verification only the first time: the SHA-256 of every code this node
//! issued or verified is remembered (bounded), so a code seen before skips the signature, never
//! the expiry, type or live status. The status is read from the database on every check, since
//! another node may have just revoked the licence: in the batch that records the checks
//! (`uses.rs`), one statement for all the checks that arrive together.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use base64::{Engine, engine::general_purpose::STANDARD as B64};
use ring::rand::SecureRandom;

use super::issuers::VAULT_OWNER;
use super::ledger::{Op, now_ms};
use super::licences::{LICENCE_ISSUE_SCOPE, Licence, LicenceStatus, is_licence_scope};
use super::{AuthClient, Vault, new_key_row, random_id};
use crate::crypto::{PrivateKey, sha256};
use crate::error::{Error, Result};
use crate::licence::day_of;
use crate::present::offline::{Shown, TokenFacts};
use crate::present::token::{key_id, masked_name, name_room};
use crate::present::trust::{
    FORMAT, PresentationKey, StatusKey, TrustedIssuer, TypeName, time_text,
};
use crate::present::{
    DEFAULT_TTL_S, Disclosed, Keyring, MIN_TTL_S, Payload, Profile, Token, TrustList, Verdict,
};
use crate::store::{IssuerRow, KeyPurpose, LicenceRow, PresentedLicence, UseRow};

/// Codes remembered per generation; two generations are kept, so between one and two of these
/// are known at any time (32 bytes each).
const REMEMBERED_PER_GENERATION: usize = 1 << 16;

/// How long a built trust list is served before it is built again (keys made on other nodes).
const TRUST_MAX_AGE: Duration = Duration::from_secs(60);

/// A code naming a key id the trust list lacks rebuilds it, at most this often.
const TRUST_RELOAD: Duration = Duration::from_secs(1);

/// The scope of the wallet system that shows licences for their holders.
pub(crate) const PRESENT_SCOPE: &str = "present";

/// The scope of inspectors' systems, which may see a `full` token's whole licence.
pub(crate) const INSPECT_SCOPE: &str = "inspect";

/// The presentation state of a vault: the trust list built from its keys, and the codes known
/// to verify.
#[derive(Default)]
pub(crate) struct Presenting {
    trust: RwLock<Option<Arc<Trust>>>,
    remembered: Mutex<Remembered>,
}

/// The SHA-256 of codes whose signatures verified (or that this node signed), in two
/// generations: when the newer fills up the older is dropped, so a code in use survives.
#[derive(Default)]
struct Remembered {
    newer: HashSet<[u8; 32]>,
    older: HashSet<[u8; 32]>,
}

impl Remembered {
    fn contains(&self, id: &[u8; 32]) -> bool {
        self.newer.contains(id) || self.older.contains(id)
    }

    fn insert(&mut self, id: [u8; 32]) {
        if self.newer.len() >= REMEMBERED_PER_GENERATION {
            self.older = std::mem::take(&mut self.newer);
        }
        self.newer.insert(id);
    }
}

/// The trust list of the vault's presentation keys, as served and as read for checking.
#[derive(Debug)]
pub struct Trust {
    /// The document.
    pub list: TrustList,
    /// Its JSON, as served.
    pub json: String,
    /// Its entity tag (quoted).
    pub etag: String,
    keyring: Keyring,
    built: Instant,
}

/// A token made for a licence.
#[derive(Debug, Clone)]
pub struct Presentation {
    /// The code (`LZ1:` and base45), what the QR symbol holds.
    pub token: String,
    /// The QR symbol (level M, version ≤ 10) as SVG.
    pub qr_svg: String,
    /// When the token expires (seconds since the Unix epoch).
    pub expires_at: i64,
    /// The profile it was made with.
    pub profile: Profile,
}

/// Who checks a token.
#[derive(Debug, Clone, Copy)]
pub enum Checker<'a> {
    /// Anyone, without an API key.
    Anonymous,
    /// An authenticated client, with the inspector it names (its own id for the officer).
    Client(&'a AuthClient, Option<&'a str>),
}

/// The answer to an online check.
#[derive(Debug, Clone)]
pub struct PresentationCheck {
    /// The verdict.
    pub verdict: Verdict,
    /// When the status was read (ms).
    pub checked_at: i64,
    /// The token's times and profile (genuine tokens only).
    pub token: Option<TokenFacts>,
    /// What the token shows (genuine tokens only).
    pub shown: Option<Shown>,
    /// The licence's status now, when it was read.
    pub status: Option<LicenceStatus>,
    /// The whole licence: for a client with `inspect` checking a current `full` token.
    pub full: Option<Licence>,
    /// With a challenge given, for a genuine token: whether the licence's device answered it.
    pub device: Option<super::DeviceAnswer>,
}

impl PresentationCheck {
    fn invalid(checked_at: i64) -> Self {
        Self {
            verdict: Verdict::Invalid,
            checked_at,
            token: None,
            shown: None,
            status: None,
            full: None,
            device: None,
        }
    }
}

/// The 16 random bytes of a status list id (`sl_` and 32 hex digits).
fn list_bytes(list_id: &str) -> Result<[u8; 16]> {
    let mut out = [0u8; 16];
    list_id
        .strip_prefix("sl_")
        .and_then(|h| hex::decode(h).ok())
        .filter(|b| b.len() == 16)
        .map(|b| out.copy_from_slice(&b))
        .ok_or_else(|| Error::Corrupt(format!("status list id {list_id}")))?;
    Ok(out)
}

fn random<const N: usize>(rng: &ring::rand::SystemRandom) -> Result<[u8; N]> {
    let mut b = [0u8; N];
    rng.fill(&mut b)
        .map_err(|_| Error::Crypto(crate::crypto::CryptoError::Random))?;
    Ok(b)
}

/// What a genuine token says of its licence, and when it is checked.
#[derive(Debug, Clone)]
struct Expected {
    issuer_id: String,
    type_code: String,
    list_id: String,
    slot: i64,
    /// A verdict the token settled by itself (expired, wrong type).
    settled: Option<Verdict>,
    now: i64,
}

impl Expected {
    /// The verdict and the licence's status now; `None` when the licence disagrees with the
    /// token (a defect, never a verdict).
    fn verdict(&self, licence: &PresentedLicence) -> Result<Option<(Verdict, LicenceStatus)>> {
        if licence.issuer_id != self.issuer_id
            || licence.type_code != self.type_code
            || licence.list_id != self.list_id
            || licence.list_index != self.slot
        {
            return Ok(None);
        }
        let status =
            LicenceStatus::of_stored(&licence.status, licence.valid_to, &licence.id, self.now)?;
        let verdict = self.settled.unwrap_or(match status {
            LicenceStatus::Valid => Verdict::Valid,
            LicenceStatus::Suspended => Verdict::Suspended,
            LicenceStatus::Expired => Verdict::Expired,
            LicenceStatus::Revoked | LicenceStatus::Cancelled | LicenceStatus::Superseded => {
                Verdict::Revoked
            }
        });
        Ok(Some((verdict, status)))
    }
}

/// Whether an inspector may see the whole licence with this verdict.
fn shows_full(verdict: Verdict) -> bool {
    matches!(
        verdict,
        Verdict::Valid | Verdict::Suspended | Verdict::Revoked
    )
}

impl Vault {
    /// Makes a presentation token of a licence (scope `present`, and a binding to its issuer
    /// or having issued it): `profile` `valid`, `basic` (default) or `full`, living `ttl_s`
    /// seconds (10–300, default 60). Only a valid licence is shown.
    pub async fn present_licence(
        &self,
        client: &AuthClient,
        id: &str,
        profile: Option<&str>,
        ttl_s: Option<u16>,
    ) -> Result<Presentation> {
        client.require(PRESENT_SCOPE)?;
        let profile = Profile::parse(profile.unwrap_or("basic"))
            .ok_or_else(|| Error::InvalidField("profile: must be valid, basic or full".into()))?;
        let ttl_s = ttl_s.unwrap_or(DEFAULT_TTL_S);
        if !(MIN_TTL_S..=crate::present::token::MAX_TTL_S).contains(&ttl_s) {
            return Err(Error::InvalidField(format!(
                "ttl_s: must be {MIN_TTL_S} to {} seconds",
                crate::present::token::MAX_TTL_S
            )));
        }
        let (row, issuer) = self.presentable(client, id).await?;
        let now = now_ms();
        let status = LicenceStatus::of(&row, now)?;
        if status != LicenceStatus::Valid {
            return Err(Error::Conflict(format!(
                "the licence is {}; only a valid licence is shown",
                status.as_str()
            )));
        }
        let key = self.presentation_key(client, &issuer).await?;
        let handle = self.handle_of(&row.id).await?;
        let rng = &self.inner.rng;
        let disclosed = profile.discloses().then(|| Disclosed {
            holder_name: masked_name(&row.holder_name, name_room(&row.type_code)),
            valid_from: day_of(row.valid_from),
            valid_to: row.valid_to.map(day_of),
        });
        let payload = Payload {
            profile,
            key_id: key_id(key.public_key().spki_der()),
            handle,
            nonce: random(rng)?,
            issued_at: u32::try_from(now / 1000)
                .map_err(|_| Error::Corrupt("the clock is past 2106".into()))?,
            ttl_s,
            list: list_bytes(&row.list_id)?,
            slot: u32::try_from(row.list_index)
                .map_err(|_| Error::Corrupt(format!("slot of licence {}", row.id)))?,
            type_code: row.type_code.clone(),
            disclosed,
        };
        let token = payload
            .sign(&key)
            .map_err(|e| Error::Conflict(format!("the licence cannot be shown as a token: {e}")))?;
        crate::metrics::signature(key.key_type().as_str());
        let symbol = crate::qr::encode(token.as_bytes())
            .filter(|s| s.version <= 10)
            .ok_or_else(|| {
                Error::Corrupt("a presentation code larger than QR version 10".into())
            })?;
        self.remember(&token)?;
        Ok(Presentation {
            qr_svg: symbol.svg(),
            expires_at: payload.expires_at(),
            token,
            profile,
        })
    }

    /// Checks a code online at `now` (ms since the Unix epoch; the API passes the clock's):
    /// against the vault's presentation keys, its expiry (with the leeway), `required_type`, and
    /// the licence's status as stored at that moment. A check of a genuine token is recorded
    /// before it is answered; anything else is `INVALID`, told nothing more.
    pub async fn verify_presentation(
        &self,
        checker: Checker<'_>,
        code: &str,
        required_type: Option<&str>,
        now: i64,
    ) -> Result<PresentationCheck> {
        self.verify_presentation_with(checker, code, required_type, None, now)
            .await
    }

    /// [`Vault::verify_presentation`] given the challenge the inspector showed (8 digits): the
    /// answer then says whether a device registered to the token's licence answered it, and
    /// the record of the check keeps that.
    pub async fn verify_presentation_with(
        &self,
        checker: Checker<'_>,
        code: &str,
        required_type: Option<&str>,
        challenge: Option<&str>,
        now: i64,
    ) -> Result<PresentationCheck> {
        if challenge.is_some_and(|c| !super::devices::is_challenge(c)) {
            return Err(Error::InvalidField("challenge: must be 8 digits".into()));
        }
        let now_s = now.div_euclid(1000);
        let fingerprint = sha256(code.as_bytes());
        let known = self
            .inner
            .presenting
            .remembered
            .lock()
            .map_err(|_| Error::Unavailable)?
            .contains(&fingerprint);
        let Ok(token) = Token::parse(code) else {
            return Ok(PresentationCheck::invalid(now));
        };
        let trust = self.trust_for(&token).await?;
        let Some(a) =
            crate::present::authenticate(&trust.keyring, token, now_s, required_type, known)
        else {
            return Ok(PresentationCheck::invalid(now));
        };
        if !known {
            self.inner
                .presenting
                .remembered
                .lock()
                .map_err(|_| Error::Unavailable)?
                .insert(fingerprint);
        }
        let p = &a.token.payload;
        let store = &self.inner.store;
        let handle = hex::encode(p.handle);
        let (client, inspector) = match checker {
            Checker::Anonymous => (None, None),
            Checker::Client(c, inspector) => (Some(c), inspector),
        };
        // A device's answer is looked up by the licence, so a check with a challenge reads the
        // licence once before the batch (rare: an officer asks for it by hand).
        let device = match challenge {
            Some(c) => match store.presented_licences(&[&handle]).await?.remove(&handle) {
                Some(l) => Some(self.device_answer(c, &l.id, now).await?),
                None => return Ok(PresentationCheck::invalid(now)),
            },
            None => None,
        };
        let expected = Expected {
            issuer_id: a.issuer.id.clone(),
            type_code: p.type_code.clone(),
            list_id: p.list_id(),
            slot: i64::from(p.slot),
            settled: a.settled,
            now,
        };
        // `inspect` sees a `full` code's whole licence, but not for a code expired or of
        // another type than required: those show nothing more.
        let may_see_full =
            client.is_some_and(|c| c.allows(INSPECT_SCOPE)) && p.profile == Profile::Full;
        let row = UseRow {
            id: random_id(&self.inner.rng, "use")?,
            licence_id: String::new(),
            at: now,
            kind: "inspection".into(),
            client_id: client.map(|c| c.id.clone()).filter(|id| !id.is_empty()),
            client_name: None,
            inspector: inspector.map(str::to_owned),
            verdict: String::new(),
            view: String::new(),
            reason: None,
            case_number: None,
            grant_id: None,
            device: device.map(|d| d.as_str().to_owned()),
        };
        let judge = expected.clone();
        let decide: super::uses::Decide = Box::new(move |licence| {
            let Some(licence) = licence else {
                return Ok(None);
            };
            let Some((verdict, _)) = judge.verdict(licence)? else {
                return Ok(None);
            };
            Ok(Some(UseRow {
                licence_id: licence.id.clone(),
                verdict: verdict.as_str().to_owned(),
                view: if may_see_full && shows_full(verdict) {
                    "full"
                } else {
                    "minimal"
                }
                .to_owned(),
                ..row
            }))
        });
        let licence = match &self.uses {
            Some(recorder) => recorder.check(handle, decide).await?,
            None => super::uses::check_now(store, &handle, decide).await?,
        };
        let Some(licence) = licence else {
            return Ok(PresentationCheck::invalid(now));
        };
        let Some((verdict, status)) = expected.verdict(&licence)? else {
            tracing::error!(licence = %licence.id, "a genuine token disagrees with its licence");
            return Ok(PresentationCheck::invalid(now));
        };
        let full = if may_see_full && shows_full(verdict) {
            let row = store.licence(&licence.id).await?;
            let issuer = store.issuer(&licence.issuer_id).await?;
            match (row, issuer) {
                (Some(row), Some(issuer)) => Some(self.shown(row, issuer)?),
                _ => None,
            }
        } else {
            None
        };
        Ok(PresentationCheck {
            verdict,
            checked_at: now,
            token: Some(TokenFacts::of(&a.token)),
            shown: Some(Shown::of(
                &a.token,
                a.issuer,
                trust.keyring.type_name(&p.type_code),
            )),
            status: Some(status),
            full,
            device,
        })
    }

    /// The trust list of the vault's presentation keys (public), built again after a minute or
    /// when this node made a key.
    pub async fn presentation_trust(&self) -> Result<Arc<Trust>> {
        let cached = self
            .inner
            .presenting
            .trust
            .read()
            .map_err(|_| Error::Unavailable)?
            .clone();
        match cached {
            Some(t) if t.built.elapsed() < TRUST_MAX_AGE => Ok(t),
            _ => self.rebuild_trust().await,
        }
    }

    /// Up to `limit` checks of a licence, oldest first, after the `(at, id)` position `after`:
    /// for the client that issued it, a client with `present` bound to its issuer, and `admin`.
    pub async fn licence_uses(
        &self,
        client: &AuthClient,
        id: &str,
        after: Option<(i64, &str)>,
        limit: u32,
    ) -> Result<Vec<UseRow>> {
        let issues = client.scopes.iter().any(|s| is_licence_scope(s));
        if !client.allows(PRESENT_SCOPE) && !issues {
            return Err(Error::Forbidden(format!(
                "{PRESENT_SCOPE} or {LICENCE_ISSUE_SCOPE}"
            )));
        }
        let (row, _) = self.presentable(client, id).await?;
        self.inner.store.uses_page(&row.id, after, limit).await
    }

    /// A licence `client` issued, or may present (scope `present` and a binding to its
    /// issuer), or any for `admin`; for a client restricted to a holder (the wallet's session),
    /// only that holder's. Another is 404 as if absent.
    pub(super) async fn presentable(
        &self,
        client: &AuthClient,
        id: &str,
    ) -> Result<(LicenceRow, IssuerRow)> {
        let store = &self.inner.store;
        let Some(row) = store.licence(id).await? else {
            return Err(Error::NotFound("licence"));
        };
        let allowed = match &client.holder {
            // A holder's session: that holder's licences, whoever issued them, and no other.
            Some(holder) => client.allows(PRESENT_SCOPE) && row.holder_id_number == *holder,
            None => {
                client.allows("admin")
                    || row.owner == client.id
                    || (client.allows(PRESENT_SCOPE)
                        && store
                            .client_issuers(&client.id)
                            .await?
                            .contains(&row.issuer_id))
            }
        };
        if !allowed {
            return Err(Error::NotFound("licence"));
        }
        let issuer = store
            .issuer(&row.issuer_id)
            .await?
            .ok_or_else(|| Error::Corrupt(format!("issuer of licence {id} is missing")))?;
        Ok((row, issuer))
    }

    /// The issuer's presentation key, made now (audited, `client` as the actor) if the issuer
    /// was registered before issuers had one.
    async fn presentation_key(
        &self,
        client: &AuthClient,
        issuer: &IssuerRow,
    ) -> Result<Arc<PrivateKey>> {
        let id = match &issuer.presentation_key_id {
            Some(id) => id.clone(),
            None => {
                let inner = &self.inner;
                let (key, event) = new_key_row(
                    &inner.master,
                    &inner.rng,
                    &inner.config,
                    inner.config.presentation_alg,
                    VAULT_OWNER,
                    KeyPurpose::Presentation,
                    client.actor(),
                )?;
                let event = event.with("issuer", issuer.id.as_str());
                self.apply(Op::AddPresentationKey {
                    issuer_id: issuer.id.clone(),
                    key,
                    event,
                })
                .await?;
                self.forget_trust()?;
                // This request's key, or the one another request made first.
                inner
                    .store
                    .issuer(&issuer.id)
                    .await?
                    .and_then(|i| i.presentation_key_id)
                    .ok_or_else(|| {
                        Error::Corrupt(format!("issuer {} has no presentation key", issuer.id))
                    })?
            }
        };
        self.issuer_key(&id, KeyPurpose::Presentation).await
    }

    /// The licence's handle, made on its first presentation.
    async fn handle_of(&self, licence_id: &str) -> Result<[u8; 16]> {
        let store = &self.inner.store;
        let stored = match store.licence_handle(licence_id).await? {
            Some(h) => h,
            None => {
                let fresh = hex::encode(random::<16>(&self.inner.rng)?);
                store
                    .keep_licence_handle(licence_id, &fresh, now_ms())
                    .await?
                    .ok_or_else(|| Error::Corrupt(format!("handle of licence {licence_id}")))?
            }
        };
        let mut out = [0u8; 16];
        hex::decode_to_slice(&stored, &mut out)
            .map_err(|_| Error::Corrupt(format!("handle of licence {licence_id}")))?;
        Ok(out)
    }

    fn remember(&self, code: &str) -> Result<()> {
        self.inner
            .presenting
            .remembered
            .lock()
            .map_err(|_| Error::Unavailable)?
            .insert(sha256(code.as_bytes()));
        Ok(())
    }

    /// The trust list to check `token` with: the cached one, built again first if the token
    /// names a key id it lacks (a key made on another node) and it is older than a second.
    async fn trust_for(&self, token: &Token) -> Result<Arc<Trust>> {
        let trust = self.presentation_trust().await?;
        if !trust.keyring.knows(&token.payload.key_id) && trust.built.elapsed() >= TRUST_RELOAD {
            return self.rebuild_trust().await;
        }
        Ok(trust)
    }

    fn forget_trust(&self) -> Result<()> {
        *self
            .inner
            .presenting
            .trust
            .write()
            .map_err(|_| Error::Unavailable)? = None;
        Ok(())
    }

    async fn rebuild_trust(&self) -> Result<Arc<Trust>> {
        let store = &self.inner.store;
        let mut issuers = Vec::new();
        for issuer in store.issuers().await? {
            let key = |id: String| async move {
                store
                    .key(&id)
                    .await?
                    .ok_or_else(|| Error::Corrupt(format!("issuer key {id} is missing")))
            };
            let status = key(issuer.status_key_id.clone()).await?;
            let mut presentation_keys = Vec::new();
            if let Some(id) = &issuer.presentation_key_id {
                let k = key(id.clone()).await?;
                presentation_keys.push(PresentationKey {
                    kid: hex::encode(key_id(&k.public_key)),
                    alg: k.key_type.clone(),
                    public_key: B64.encode(&k.public_key),
                    not_before: time_text(k.created_at.div_euclid(1000)),
                    // A token of the second the key was disabled in may predate it: that second counts.
                    not_after: k
                        .disabled_at
                        .map(|at| time_text((at + 999).div_euclid(1000))),
                });
            }
            let status_lists = store.issuer_status_list_ids(&issuer.id).await?;
            issuers.push(TrustedIssuer {
                id: issuer.id,
                name: issuer.name,
                uscc: issuer.uscc,
                presentation_keys,
                status_key: StatusKey {
                    kid: issuer.status_key_id,
                    alg: "ES256".into(),
                    public_key: B64.encode(&status.public_key),
                },
                status_lists,
            });
        }
        let list = TrustList {
            format: FORMAT.to_owned(),
            issuers,
            licence_types: self
                .licence_types()
                .iter()
                .map(|t| TypeName {
                    code: t.code.clone(),
                    name: t.name.clone(),
                })
                .collect(),
        };
        let keyring =
            Keyring::new(&list).map_err(|e| Error::Corrupt(format!("presentation keys: {e}")))?;
        let json =
            serde_json::to_string(&list).map_err(|e| Error::Corrupt(format!("trust list: {e}")))?;
        let trust = Arc::new(Trust {
            etag: format!("\"{}\"", &hex::encode(sha256(json.as_bytes()))[..32]),
            json,
            list,
            keyring,
            built: Instant::now(),
        });
        *self
            .inner
            .presenting
            .trust
            .write()
            .map_err(|_| Error::Unavailable)? = Some(trust.clone());
        Ok(trust)
    }

    pub(super) async fn record_use(&self, row: UseRow) -> Result<()> {
        match &self.uses {
            Some(recorder) => recorder.record(row).await,
            None => {
                self.inner
                    .store
                    .insert_uses(std::slice::from_ref(&row))
                    .await
            }
        }
    }
}
