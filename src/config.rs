//! Where the vault keeps its files, which database it uses and where its master key comes from.

use std::io::Write;
use std::path::{Path, PathBuf};

use base64::{Engine, engine::general_purpose::STANDARD as B64};

use crate::crypto::{MasterKey, WrapAlgorithm};
use crate::error::{Error, Result};

/// Environment variable that may hold the master key (base64 of 32 bytes).
pub const MASTER_KEY_ENV: &str = "SIDIAN_MASTER_KEY";

/// Where the master key comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MasterKeySource {
    /// A file (base64 of 32 bytes, mode 0600), created on first start.
    File(PathBuf),
    /// An environment variable holding base64 of 32 bytes; never created by the vault.
    Env(String),
}

/// Everything the vault needs to open.
#[derive(Debug, Clone)]
pub struct Config {
    /// The data directory (SQLite file, master key file, checkpoint copies).
    pub data_dir: PathBuf,
    /// Database URL; `None` means the SQLite file in the data directory.
    pub database_url: Option<String>,
    /// Master key source.
    pub master_key: MasterKeySource,
    /// Algorithm for wrapping new private keys.
    pub wrap_alg: WrapAlgorithm,
    /// Directory of extra trust anchors (PEM); `None` means `certs/trusted/` in the data directory.
    pub trust_dir: Option<PathBuf>,
    /// An external RFC 3161 TSA (`http://…`) for PAdES B-T; `None` means the vault's own TSA.
    pub tsa_url: Option<String>,
    /// The vault's public base URL (`https://host[/prefix]`): certificates issued while it is
    /// set name its CRL and issuer-certificate routes; `None` means they name none.
    pub public_url: Option<String>,
    /// The key type of new presentation keys (亮证 tokens): SM2, P-256 or Ed25519.
    pub presentation_alg: crate::crypto::KeyType,
    /// Whether `/wallet` offers its demo login (`serve --demo-wallet`): a holder logs in with
    /// their holder code and name alone. Off, the wallet's API routes answer 404.
    pub demo_wallet: bool,
}

impl Config {
    /// The defaults for a data directory: SQLite inside it, master key file inside it, SM4-GCM.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        let data_dir = data_dir.into();
        Self {
            master_key: MasterKeySource::File(data_dir.join("master.key")),
            data_dir,
            database_url: None,
            wrap_alg: WrapAlgorithm::Sm4Gcm,
            trust_dir: None,
            tsa_url: None,
            public_url: None,
            presentation_alg: crate::crypto::KeyType::Sm2,
            demo_wallet: false,
        }
    }

    /// The directory of the operator's own licence types (`*.json`), besides the built-in ones.
    pub fn licence_types_dir(&self) -> PathBuf {
        self.data_dir.join("licence-types")
    }

    /// The directory whose PEM certificates are trust anchors besides the vault's own roots.
    pub fn trust_dir(&self) -> PathBuf {
        self.trust_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("certs").join("trusted"))
    }

    /// The database URL in force.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("sidian.db").display()
            ),
        }
    }

    /// The file that keeps a copy of every signed checkpoint outside the database.
    pub fn checkpoint_file(&self) -> PathBuf {
        self.data_dir.join("audit-checkpoints.jsonl")
    }

    /// The file that pins the audit public key outside the database.
    pub fn audit_key_file(&self) -> PathBuf {
        self.data_dir.join("audit-key.pem")
    }

    /// Creates the data directory (mode 0700) if it does not exist.
    pub fn ensure_data_dir(&self) -> Result<()> {
        if self.data_dir.is_dir() {
            return Ok(());
        }
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(&self.data_dir)?;
        set_mode(&self.data_dir, 0o700)
    }

    /// Refuses a data directory that group or others may write: whoever can write it can replace
    /// the database, the pinned audit key and the checkpoint copy.
    pub fn check_data_dir(&self) -> Result<()> {
        match loose_mode(&self.data_dir, 0o022)? {
            None => Ok(()),
            Some(mode) => Err(Error::Config(format!(
                "data directory {} is writable by group or others (mode {mode:o}); chmod 700 it",
                self.data_dir.display()
            ))),
        }
    }

    /// Makes the default SQLite database file (and its `-wal`/`-shm` files, which SQLite creates
    /// with the database file's mode) readable by the owner only; nothing to do for other URLs.
    pub fn protect_database_file(&self) -> Result<()> {
        if self.database_url.is_some() {
            return Ok(());
        }
        let db = self.data_dir.join("sidian.db");
        match private_options().write(true).create_new(true).open(&db) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e.into()),
        }
        for suffix in ["", "-wal", "-shm"] {
            let path = self.data_dir.join(format!("sidian.db{suffix}"));
            if path.exists() {
                set_mode(&path, 0o600)?;
            }
        }
        Ok(())
    }

    /// Loads the master key; a missing key file is created only when `create` is true.
    pub fn load_master_key(&self, create: bool) -> Result<MasterKey> {
        match &self.master_key {
            MasterKeySource::Env(var) => {
                let text = std::env::var(var).map_err(|_| {
                    Error::MasterKey(format!("environment variable {var} is not set"))
                })?;
                decode_master(&text, var)
            }
            MasterKeySource::File(path) => match std::fs::read_to_string(path) {
                Ok(text) => {
                    check_private(path)?;
                    decode_master(&text, &path.display().to_string())
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => {
                    let key = MasterKey::generate()?;
                    write_private(path, B64.encode(key.expose_secret()).as_bytes())?;
                    Ok(key)
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Error::MasterKey(
                    format!("{} does not exist; run `sidian init` first", path.display()),
                )),
                Err(e) => Err(e.into()),
            },
        }
    }
}

fn decode_master(text: &str, source: &str) -> Result<MasterKey> {
    let bytes = B64
        .decode(text.trim())
        .map_err(|_| Error::MasterKey(format!("{source} is not base64")))?;
    MasterKey::from_bytes(&bytes)
        .map_err(|_| Error::MasterKey(format!("{source} must hold exactly 32 bytes")))
}

/// Options that create files readable and writable by their owner only (mode 0600).
pub(crate) fn private_options() -> std::fs::OpenOptions {
    let mut opts = std::fs::OpenOptions::new();
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    opts
}

/// Writes a new file readable by its owner only, then a newline; never overwrites.
pub(crate) fn write_private(path: &Path, contents: &[u8]) -> Result<()> {
    let mut f = private_options().write(true).create_new(true).open(path)?;
    f.write_all(contents)?;
    if !contents.ends_with(b"\n") {
        f.write_all(b"\n")?;
    }
    f.sync_all()?;
    Ok(())
}

/// Refuses a key file that others can read, as ssh does.
fn check_private(path: &Path) -> Result<()> {
    match loose_mode(path, 0o077)? {
        None => Ok(()),
        Some(mode) => Err(Error::MasterKey(format!(
            "{} is accessible by group or others (mode {mode:o}); chmod 600 it",
            path.display(),
        ))),
    }
}

/// The permission bits of `path` when any bit of `mask` is set in them.
fn loose_mode(path: &Path, mask: u32) -> Result<Option<u32>> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)?.permissions().mode() & 0o777;
        if mode & mask != 0 {
            return Ok(Some(mode));
        }
    }
    let _ = (path, mask);
    Ok(None)
}

fn set_mode(path: &Path, mode: u32) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    }
    let _ = (path, mode);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn master_key_file_is_created_private_and_reloaded() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cfg = Config::new(dir.path().join("d"));
        cfg.ensure_data_dir().expect("dir");
        assert!(matches!(
            cfg.load_master_key(false),
            Err(Error::MasterKey(_))
        ));
        let k1 = cfg.load_master_key(true).expect("create");
        let k2 = cfg.load_master_key(false).expect("reload");
        assert_eq!(k1.expose_secret(), k2.expose_secret());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let path = cfg.data_dir.join("master.key");
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
            assert!(matches!(
                cfg.load_master_key(false),
                Err(Error::MasterKey(_))
            ));
        }
    }
}
