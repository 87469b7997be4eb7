//! The `sidian` command: run the service and operate the vault.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use sidian::audit::Actor;
use sidian::config::{MASTER_KEY_ENV, MasterKeySource};
use sidian::crypto::WrapAlgorithm;
use sidian::{Config, Error, Vault};

/// sidian (四电): keys, signatures and electronic seals for approval systems; seals PDFs and
/// verifies sealed PDF and OFD documents.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// A TOML file whose keys are long flag names of the global and `serve` flags
    /// (`listen = "0.0.0.0:8080"`); precedence: flag > environment > file > default.
    #[arg(long, global = true, env = "SIDIAN_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Log line format on stderr (no colours unless stderr is a terminal).
    #[arg(
        long,
        global = true,
        env = "SIDIAN_LOG_FORMAT",
        value_enum,
        default_value = "text"
    )]
    log_format: LogFormat,
    /// Data directory (SQLite file, master key, audit checkpoint copy).
    #[arg(
        long,
        global = true,
        env = "SIDIAN_DATA",
        default_value = "./sidian-data"
    )]
    data: PathBuf,
    /// Database URL (`sqlite://FILE` or `postgres://…`); default: SQLite in the data directory.
    #[arg(long, global = true, env = "SIDIAN_DATABASE_URL")]
    database: Option<String>,
    /// Algorithm that wraps new private keys at rest.
    #[arg(
        long,
        global = true,
        env = "SIDIAN_WRAP_ALG",
        default_value = "sm4-gcm"
    )]
    wrap_alg: String,
    /// Directory of PEM certificates trusted as anchors besides the vault's roots
    /// (default: certs/trusted/ in the data directory).
    #[arg(long, global = true, env = "SIDIAN_TRUST_DIR")]
    trust_dir: Option<PathBuf>,
    /// External RFC 3161 TSA (`http://host[:port]/path`) for B-T seals; default: the vault's own.
    #[arg(long, global = true, env = "SIDIAN_TSA_URL")]
    tsa_url: Option<String>,
    /// The vault's public base URL (`http(s)://host[:port][/prefix]`): certificates issued
    /// while it is set carry a CRL Distribution Point and an AIA caIssuers URI under it, so
    /// outside validators can check revocation (certificates issued earlier carry none).
    #[arg(long, global = true, env = "SIDIAN_PUBLIC_URL")]
    public_url: Option<String>,
    /// Key type of the presentation keys (亮证 tokens) made for new issuers: sm2, p256 or
    /// ed25519 (existing keys keep theirs).
    #[arg(
        long,
        global = true,
        env = "SIDIAN_PRESENTATION_ALG",
        default_value = "sm2"
    )]
    presentation_alg: String,
    #[command(subcommand)]
    command: Command,
}

// Parsed once per process: the size of the largest variant (`stamp`'s options) costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
enum Command {
    /// Create the data directory, master key, database and the vault's own keys (idempotent).
    Init,
    /// Run the HTTP API (initialises on first start).
    Serve {
        /// Address to listen on.
        #[arg(long, env = "SIDIAN_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        #[command(flatten)]
        limits: LimitArgs,
        /// Start even though the log is shorter than a checkpoint the vault published (after
        /// restoring an older backup): the checkpoints beyond it are moved aside and the
        /// decision is recorded in the audit log. Witnesses will still report the rollback.
        #[arg(long)]
        allow_log_rollback: bool,
        /// Offer the demo login on `/wallet`: a holder signs in with their holder code and name
        /// alone (marked 演示登录 Demo login). Without it the wallet page says the wallet is the
        /// province's app and its API routes answer 404. Never on a production vault.
        #[arg(long, env = "SIDIAN_DEMO_WALLET", value_parser = clap::builder::BoolishValueParser::new())]
        demo_wallet: bool,
    },
    /// Write a consistent backup of a running or stopped vault to one archive: the database
    /// (SQLite snapshot, or `pg_dump` for PostgreSQL), the audit checkpoints, the pinned audit
    /// key and the trusted certificates, with a manifest. Never the master key.
    Backup {
        /// The archive to write (must not exist).
        #[arg(long)]
        out: PathBuf,
    },
    /// Restore a backup into a new data directory (`--data`, absent or empty) and, for a
    /// PostgreSQL backup, into the empty database given by `--database` (`pg_restore`).
    Restore {
        /// The archive written by `sidian backup`.
        #[arg(long)]
        from: PathBuf,
    },
    /// Manage approval systems (API clients).
    #[command(subcommand)]
    Client(ClientCommand),
    /// Manage the issuing authorities (颁证单位) licences are issued for.
    #[command(subcommand)]
    Issuer(IssuerCommand),
    /// Import existing licences (存量证照电子化) of one type for one issuer from a CSV or JSON
    /// Lines file (UTF-8 or GB18030; docs/import.md). Rerunning it imports only what is missing:
    /// a licence already imported (same issuer, type and number, same content) is skipped.
    /// Rejected rows are listed with their row number and reason in the report file.
    Import {
        /// 证照类型代码 of every licence in the file.
        #[arg(long = "type", value_name = "CODE")]
        type_code: String,
        /// The issuer's id (`sidian issuer list`).
        #[arg(long, value_name = "ID")]
        issuer: String,
        /// How the file is written; default told by its extension or first character.
        #[arg(long, value_enum)]
        format: Option<ImportFormat>,
        /// Where the rejected rows are listed (CSV); default FILE.rejected.csv.
        #[arg(long, value_name = "FILE")]
        report: Option<PathBuf>,
        /// The file to import.
        file: PathBuf,
    },
    /// Inspect the audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Print the OpenAPI document.
    Openapi,
    /// Seal a PDF (PAdES, visible seal) or an OFD (GB/T 33190 §18, told by its content) with a
    /// seal of the vault, without a server: for operators and benchmarks. PDF: position in
    /// `--unit` (default mm) from the page's bottom-left corner; OFD: in mm from the top-left, as
    /// OFD measures, of the seal's top-left corner; default 15 mm from the bottom-right.
    Stamp {
        /// Seal id.
        #[arg(long)]
        seal: String,
        /// 1-based page (default 1; with --keyword, default every page).
        #[arg(long)]
        page: Option<usize>,
        /// Left edge of the seal.
        #[arg(long)]
        x: Option<f64>,
        /// Bottom edge of the seal (OFD: top edge, from the page's top).
        #[arg(long)]
        y: Option<f64>,
        /// `mm` or `pt` (PDF only).
        #[arg(long, default_value = "mm")]
        unit: String,
        /// `none`, `p1` or `p2` (DocMDP certification).
        #[arg(long, default_value = "none")]
        certify: String,
        /// `b-b`, `b-t` (with a timestamp from the vault's TSA), `b-lt` (plus a DSS with the
        /// certificates and CRLs that validate it) or `b-lta` (plus a document time-stamp).
        #[arg(long, default_value = "b-b")]
        level: String,
        /// `cades` (ETSI.CAdES.detached) or `pkcs7` (adbe.pkcs7.detached).
        #[arg(long, default_value = "cades")]
        subfilter: String,
        /// A 骑缝章: the seal split over the right edge of every page (at --y, default centred).
        #[arg(long)]
        cross_page: bool,
        /// Why the document is sealed (`/Reason`).
        #[arg(long)]
        reason: Option<String>,
        /// Where it is sealed (`/Location`).
        #[arg(long)]
        location: Option<String>,
        /// How to reach the signer (`/ContactInfo`).
        #[arg(long)]
        contact: Option<String>,
        /// Sign into this existing empty signature field (its widget gives page and place).
        #[arg(long, conflicts_with_all = ["x", "y", "cross_page", "keyword"])]
        field: Option<String>,
        /// Centre the seal on this text (e.g. the date line or （盖章）), on --page if given,
        /// else on the first page that has it.
        #[arg(long, conflicts_with_all = ["x", "y", "cross_page"])]
        keyword: Option<String>,
        /// The PDF or OFD to seal.
        input: PathBuf,
        /// Where to write the sealed document.
        output: PathBuf,
    },
    /// Verify a signed document (PDF, OFD, or a DER SES_Signature / SESeal): a short summary on a
    /// terminal, the JSON report with --json or when the output is piped; exit 0 only if the
    /// verdict is VALID or VALID_WITH_ALLOWED_LATER_CHANGES.
    Verify {
        /// The document: PDF, OFD, or a DER SES_Signature / SESeal.
        file: PathBuf,
        /// The signed original of a detached SES_Signature, whose dataHash is compared with it;
        /// without it a bare SES_Signature is INDETERMINATE at best (`original_missing`).
        #[arg(long, value_name = "FILE")]
        original: Option<PathBuf>,
        /// Check as of this time (RFC 3339, e.g. 2026-01-31T12:00:00Z) instead of now: future
        /// times, a seal's own validity and the revocations known are judged then.
        #[arg(long, value_name = "RFC3339", value_parser = parse_rfc3339)]
        validation_time: Option<time::OffsetDateTime>,
        /// Print the JSON report (the default when stdout is not a terminal).
        #[arg(long, conflicts_with = "summary")]
        json: bool,
        /// Print the summary for people (the default when stdout is a terminal).
        #[arg(long)]
        summary: bool,
    },
    /// The vault's trust anchors.
    #[command(subcommand)]
    Trust(TrustCommand),
    /// 亮证 presentation tokens.
    #[command(subcommand)]
    Present(PresentCommand),
}

#[derive(Debug, Subcommand)]
enum PresentCommand {
    /// Check a presentation token without the server, against a trust list (the body of
    /// `GET /v1/presentations/trust`) and the issuers' signed status lists (bodies of
    /// `GET /v1/status-lists/{id}`, one per file in a directory). A list past its `exp` (or
    /// `--max-age`) leaves the status unknown: the verdict is then UNKNOWN, never VALID. Prints
    /// the verdict first (JSON with --json); exit 0 only if VALID.
    Verify {
        /// The trust list (JSON); default: the trust list of the vault in --data.
        #[arg(long, value_name = "FILE")]
        trust: Option<PathBuf>,
        /// A directory of status list tokens (`statuslist+jwt`); without it the status is
        /// unknown.
        #[arg(long, value_name = "DIR")]
        status: Option<PathBuf>,
        /// The licence type (证照类型代码) the token must be of: another is WRONG_TYPE.
        #[arg(long = "type", value_name = "CODE")]
        type_code: Option<String>,
        /// A status list older than this many seconds says nothing (default: until its `exp`).
        #[arg(long, value_name = "SECONDS")]
        max_age: Option<u32>,
        /// Check as of this time (RFC 3339) instead of now.
        #[arg(long, value_name = "RFC3339", value_parser = parse_rfc3339)]
        at: Option<time::OffsetDateTime>,
        /// Print the JSON report.
        #[arg(long)]
        json: bool,
        /// The code, `LZ1:…` (quote it: base45 has spaces).
        token: String,
    },
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line (the request's span fields included).
    Json,
}

/// Limits on anonymous callers (defaults: `sidian::api::Limits`).
#[derive(Debug, clap::Args)]
struct LimitArgs {
    /// MiB of anonymous uploads held in memory at once, across all peers [default: 192].
    #[arg(long, env = "SIDIAN_UPLOAD_BUDGET_MIB")]
    upload_budget_mib: Option<usize>,
    /// MiB of anonymous uploads one peer may hold at once [default: 64].
    #[arg(long, env = "SIDIAN_UPLOAD_PER_PEER_MIB")]
    upload_per_peer_mib: Option<usize>,
    /// Requests per second one peer may send to the anonymous routes, sustained [default: 20].
    #[arg(long, env = "SIDIAN_ANON_RATE")]
    anon_rate: Option<f64>,
    /// Requests one peer may send to the anonymous routes in a burst [default: 100].
    #[arg(long, env = "SIDIAN_ANON_BURST")]
    anon_burst: Option<u32>,
    /// Peers whose request rate is remembered [default: 10000].
    #[arg(long, env = "SIDIAN_ANON_PEERS")]
    anon_peers: Option<usize>,
    /// Seconds a request, body included, may take [default: 30].
    #[arg(long, env = "SIDIAN_REQUEST_TIMEOUT")]
    request_timeout: Option<u64>,
}

impl LimitArgs {
    fn limits(&self) -> anyhow::Result<sidian::api::Limits> {
        let mut l = sidian::api::Limits::default();
        let mib = |n: usize| n.checked_mul(1 << 20).context("too many MiB");
        if let Some(n) = self.upload_budget_mib {
            l.upload_budget = mib(n)?;
        }
        if let Some(n) = self.upload_per_peer_mib {
            l.upload_per_peer = mib(n)?;
        }
        if let Some(r) = self.anon_rate {
            anyhow::ensure!(r.is_finite() && r > 0.0, "--anon-rate must be positive");
            l.rate_per_sec = r;
        }
        if let Some(n) = self.anon_burst {
            l.rate_burst = n;
        }
        if let Some(n) = self.anon_peers {
            l.max_peers = n;
        }
        if let Some(s) = self.request_timeout {
            l.request_timeout = std::time::Duration::from_secs(s);
        }
        Ok(l)
    }
}

#[derive(Debug, Subcommand)]
enum TrustCommand {
    /// Write the vault's root certificates as PEM to stdout, then its issuing CAs (so that
    /// `openssl verify -CAfile` can build chains without `-untrusted`; the SM2 issuing CA in
    /// OpenSSL 3.0's rendering, see `pki::sm2_empty_id_rendering`).
    Export {
        /// Only the roots.
        #[arg(long)]
        roots_only: bool,
    },
}

#[derive(Debug, Subcommand)]
enum ClientCommand {
    /// Register an approval system; its API key is printed once, alone on the last line.
    Add {
        /// Unique name.
        name: String,
        /// A scope the client may use (repeatable): admin, audit, keys, seals, sign, verify,
        /// present (show licences of its issuers as 亮证 tokens), inspect (see a `full` token's
        /// whole licence), licence:use (a department's 用证: query, verify, fetch with a reason),
        /// licence:issue (every licence type) or licence:issue:<type code> (one type); none =
        /// keys, sign, verify, seals.
        #[arg(long = "scope", value_parser = parse_scope)]
        scopes: Vec<String>,
        /// An issuer (id) the client may issue licences for (repeatable).
        #[arg(long = "issuer", value_name = "ID")]
        issuers: Vec<String>,
    },
    /// Give an active client a new API key, printed once alone on the last line; the old key
    /// keeps working for the overlap, then is refused.
    Rotate {
        /// The client's name.
        name: String,
        /// How long the old key stays valid: `0` (refused at once), or a number with `s`, `m`,
        /// `h` or `d` (at most 7 days).
        #[arg(long, default_value = "24h", value_parser = parse_overlap)]
        overlap: std::time::Duration,
    },
    /// List registered clients.
    List,
    /// Revoke a client's API key.
    Revoke {
        /// The client's name.
        name: String,
    },
}

/// The file formats `sidian import` reads.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum ImportFormat {
    /// Comma-separated values with a header row.
    Csv,
    /// One JSON object per line.
    Jsonl,
}

#[derive(Debug, Subcommand)]
enum IssuerCommand {
    /// Register an issuing authority with its licence seal, keys and status list; its id is
    /// printed alone on the last line.
    Add {
        /// Its name, e.g. 某某市市场监督管理局.
        name: String,
        /// Its 统一社会信用代码.
        #[arg(long)]
        uscc: String,
        /// GB/T 2260 region code (six digits); default the one inside the 统一社会信用代码.
        #[arg(long)]
        region: Option<String>,
    },
    /// List the issuing authorities.
    List,
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Check every entry and signed checkpoint; exit 0 only if the log is intact.
    Verify {
        /// A checkpoint saved away from the data directory (the body of
        /// `GET /v1/audit/checkpoint`, JSON or signed note, or a witness state file): the log
        /// must extend it.
        #[arg(long, value_name = "CHECKPOINT_FILE")]
        against: Option<PathBuf>,
    },
    /// Witness a vault's log over HTTP: accept its newest checkpoint only if it is signed by the
    /// pinned audit key and extends the last one accepted; exit 1 on a fork or a rollback.
    Watch {
        /// The vault's base URL, `http://host[:port]`.
        url: String,
        /// Where the pinned key and the last accepted checkpoint are kept.
        #[arg(
            long,
            env = "SIDIAN_WITNESS_STATE",
            default_value = "audit-witness.json"
        )]
        state: PathBuf,
        /// The vault's audit public key (a copy of `DATA/audit-key.pem`), needed on the first
        /// check only; without it the first check trusts the key the server names.
        #[arg(long, env = "SIDIAN_WITNESS_KEY", value_name = "PEM")]
        key: Option<PathBuf>,
        /// Check once and exit (for cron and tests).
        #[arg(long)]
        once: bool,
        /// Seconds between checks when not `--once`.
        #[arg(long, env = "SIDIAN_WITNESS_INTERVAL", default_value_t = 60)]
        interval: u64,
    },
}

fn parse_rfc3339(s: &str) -> Result<time::OffsetDateTime, String> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map_err(|e| format!("not an RFC 3339 time ({e}), e.g. 2026-01-31T12:00:00Z"))
}

fn config(cli: &Cli) -> anyhow::Result<Config> {
    let mut config = Config::new(&cli.data);
    config.database_url = cli.database.clone();
    config.wrap_alg = cli
        .wrap_alg
        .parse::<WrapAlgorithm>()
        .map_err(|e| anyhow::anyhow!("--wrap-alg: {e}"))?;
    config.presentation_alg = cli
        .presentation_alg
        .parse::<sidian::crypto::KeyType>()
        .ok()
        .filter(|k| sidian::present::token::signature_algorithm(*k).is_some())
        .ok_or_else(|| anyhow::anyhow!("--presentation-alg: one of sm2, p256, ed25519"))?;
    config.trust_dir = cli.trust_dir.clone();
    config.tsa_url = cli.tsa_url.clone();
    config.public_url = cli
        .public_url
        .as_deref()
        .map(|u| {
            let base = u.trim_end_matches('/');
            if (base.starts_with("http://") || base.starts_with("https://"))
                && base.bytes().all(|b| b.is_ascii_graphic())
            {
                Ok(base.to_owned())
            } else {
                Err(anyhow::anyhow!("--public-url: {u:?} is not an http(s) URL"))
            }
        })
        .transpose()?;
    if std::env::var_os(MASTER_KEY_ENV).is_some() {
        config.master_key = MasterKeySource::Env(MASTER_KEY_ENV.to_owned());
    }
    Ok(config)
}

/// `0`, or a whole number followed by `s`, `m`, `h` or `d`.
fn parse_overlap(text: &str) -> Result<std::time::Duration, String> {
    if text == "0" {
        return Ok(std::time::Duration::ZERO);
    }
    let unit = match text.chars().last() {
        Some('s') => 1,
        Some('m') => 60,
        Some('h') => 3600,
        Some('d') => 86_400,
        _ => return Err("expected 0 or a number with s, m, h or d (e.g. 24h)".into()),
    };
    text[..text.len() - 1]
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(unit))
        .map(std::time::Duration::from_secs)
        .ok_or_else(|| "expected 0 or a number with s, m, h or d (e.g. 24h)".into())
}

/// A scope `client add` accepts: one of the fixed scopes, or a licence scope.
fn parse_scope(s: &str) -> Result<String, String> {
    if sidian::vault::SCOPES.contains(&s) || sidian::vault::is_licence_scope(s) {
        Ok(s.to_owned())
    } else {
        Err(format!(
            "one of {}, licence:issue, licence:issue:<type code>",
            sidian::vault::SCOPES.join(", ")
        ))
    }
}

fn operator() -> Actor {
    Actor::Operator(operator_name())
}

fn operator_name() -> String {
    std::env::var("USER").unwrap_or_else(|_| "unknown".into())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    if let Command::Openapi = cli.command {
        print!("{}", sidian::api::openapi_json());
        return Ok(ExitCode::SUCCESS);
    }
    if let Command::Audit(AuditCommand::Watch {
        url,
        state,
        key,
        once,
        interval,
    }) = &cli.command
    {
        return watch(url, state, key.as_deref(), *once, *interval).await;
    }
    let config = config(&cli)?;
    match cli.command {
        Command::Openapi | Command::Audit(AuditCommand::Watch { .. }) => {
            unreachable!("handled above")
        }
        Command::Init => {
            let vault = Vault::open(config, true).await?;
            println!("vault ready in {}", vault.config().data_dir.display());
            vault.close().await;
        }
        Command::Serve {
            listen,
            limits,
            allow_log_rollback,
            demo_wallet,
        } => {
            let limits = limits.limits()?;
            let mut config = config;
            config.demo_wallet = demo_wallet;
            if demo_wallet {
                tracing::warn!(
                    "the demo wallet login is on (--demo-wallet): anyone who knows a holder's code and name can present their licences"
                );
            }
            let mut vault = Vault::open(config, true).await?;
            if allow_log_rollback {
                if let Some(b) = vault.accept_log_rollback(operator()).await? {
                    tracing::warn!(
                        log_size = b.log_size,
                        published = b.published,
                        "starting on a log shorter than a published checkpoint (--allow-log-rollback); \
                         the later checkpoints were moved aside and the decision audited"
                    );
                }
            } else if let Err(e) = vault.check_log_not_behind().await {
                vault.close().await;
                return Err(e.into());
            }
            let writer = vault.start_writer()?;
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .with_context(|| format!("cannot listen on {listen}"))?;
            println!("sidian listening on http://{}", listener.local_addr()?);
            let app = sidian::api::app_with(vault.clone(), limits);
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(shutdown_signal())
            .await?;
            tracing::info!("shutting down: draining the audit writer");
            vault.shutdown(writer).await;
            tracing::info!("stopped");
        }
        Command::Client(ClientCommand::Add {
            name,
            scopes,
            issuers,
        }) => {
            let vault = Vault::open(config, false).await?;
            // Checked before the client exists, so that a mistyped issuer registers nothing.
            let known = vault
                .issuers(&sidian::vault::AuthClient::operator(&operator_name()))
                .await?;
            if let Some(id) = issuers
                .iter()
                .find(|id| !known.iter().any(|i| &i.row.id == *id))
            {
                anyhow::bail!("no issuer {id}");
            }
            let (client, key) = vault.add_client(&name, &scopes, operator()).await?;
            if !issuers.is_empty() {
                vault.bind_issuers(&name, &issuers, operator()).await?;
                println!("bound to issuers {}", issuers.join(" "));
            }
            let shown = if scopes.is_empty() {
                "(default: keys sign verify seals)".to_owned()
            } else {
                scopes.join(" ")
            };
            println!(
                "registered client {} ({}) with scopes {shown}",
                client.name, client.id
            );
            println!("API key (shown once; store it now):");
            println!("{key}");
            vault.close().await;
        }
        Command::Issuer(IssuerCommand::Add { name, uscc, region }) => {
            let vault = Vault::open(config, false).await?;
            let admin = sidian::vault::AuthClient::operator(&operator_name());
            let issuer = vault
                .create_issuer(&admin, sidian::vault::NewIssuer { name, uscc, region })
                .await?;
            println!(
                "registered issuer {} ({}, region {}) with seal {} (SM2), PDF seal {} (P-256) \
                 and status list {}",
                issuer.row.name,
                issuer.row.uscc,
                issuer.row.region,
                issuer.row.seal_id,
                issuer.row.pdf_seal_id.as_deref().unwrap_or("-"),
                issuer.status_list_id
            );
            println!("{}", issuer.row.id);
            vault.close().await;
        }
        Command::Import {
            type_code,
            issuer,
            format,
            report,
            file,
        } => {
            let vault = Vault::open(config, false).await?;
            let format = format.map(|f| match f {
                ImportFormat::Csv => sidian::licence::import::Format::Csv,
                ImportFormat::Jsonl => sidian::licence::import::Format::JsonLines,
            });
            let result = import(&vault, &type_code, &issuer, format, report, &file).await;
            vault.close().await;
            return result;
        }
        Command::Issuer(IssuerCommand::List) => {
            let vault = Vault::open(config, false).await?;
            let admin = sidian::vault::AuthClient::operator(&operator_name());
            for i in vault.issuers(&admin).await? {
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    i.row.id, i.row.uscc, i.row.region, i.status_list_id, i.row.name
                );
            }
            vault.close().await;
        }
        Command::Client(ClientCommand::Rotate { name, overlap }) => {
            let vault = Vault::open(config, false).await?;
            let rotated = vault.rotate_client_key(&name, overlap, operator()).await;
            vault.close().await;
            let rotated = rotated?;
            let expires = time::OffsetDateTime::from_unix_timestamp_nanos(
                i128::from(rotated.old_key_expires_at) * 1_000_000,
            )?
            .format(&time::format_description::well_known::Rfc3339)?;
            println!(
                "new API key for client {name} ({}); the old key is refused from {expires}",
                rotated.client_id
            );
            println!("API key (shown once; store it now):");
            println!("{}", rotated.api_key);
        }
        Command::Backup { out } => {
            let vault = Vault::open(config, false).await?;
            let manifest = vault.backup(&out).await;
            vault.close().await;
            let manifest = manifest?;
            eprintln!(
                "NOTE: the master key is not in the backup; back it up separately \
                 (without it the backup cannot be opened)"
            );
            println!(
                "backup of the {} vault written to {} (log size {} at root {})",
                manifest.backend,
                out.display(),
                manifest.log_size,
                manifest.log_root
            );
        }
        Command::Restore { from } => {
            let manifest = sidian::vault::restore(&from, &config).await?;
            println!(
                "restored a {} backup (log size {} at root {}) into {}",
                manifest.backend,
                manifest.log_size,
                manifest.log_root,
                config.data_dir.display()
            );
            eprintln!(
                "now put the master key in place ({}/master.key, mode 0600, or {MASTER_KEY_ENV}) \
                 and run `sidian audit verify`",
                config.data_dir.display()
            );
        }
        Command::Client(ClientCommand::List) => {
            let vault = Vault::open(config, false).await?;
            for c in vault.clients().await? {
                let scopes = if c.scopes.is_empty() {
                    "(default)"
                } else {
                    c.scopes.as_str()
                };
                println!("{}\t{}\t{}\t{}", c.name, c.id, c.status, scopes);
            }
            vault.close().await;
        }
        Command::Present(PresentCommand::Verify {
            trust,
            status,
            type_code,
            max_age,
            at,
            json,
            token,
        }) => {
            let trust = match trust {
                Some(file) => std::fs::read_to_string(&file)
                    .with_context(|| format!("cannot read {}", file.display()))?,
                None => {
                    let vault = Vault::open(config, false).await?;
                    let trust = vault.presentation_trust().await;
                    vault.close().await;
                    trust?.json.clone()
                }
            };
            let list: sidian::present::TrustList =
                serde_json::from_str(&trust).context("the trust list is not one")?;
            let keyring = sidian::present::Keyring::new(&list)?;
            let mut lists = sidian::present::StatusLists::default();
            if let Some(dir) = status {
                for entry in std::fs::read_dir(&dir)
                    .with_context(|| format!("cannot read {}", dir.display()))?
                {
                    let path = entry?.path();
                    if !path.is_file() {
                        continue;
                    }
                    let text = std::fs::read_to_string(&path)
                        .with_context(|| format!("cannot read {}", path.display()))?;
                    if let Err(e) = lists.add(&text) {
                        eprintln!("skipped {}: {e}", path.display());
                    }
                }
            }
            let now = at
                .unwrap_or_else(time::OffsetDateTime::now_utc)
                .unix_timestamp();
            let report = sidian::present::offline::verify(
                &token,
                &keyring,
                &lists,
                now,
                type_code.as_deref(),
                max_age.map(i64::from),
            );
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", report.summary());
            }
            return Ok(if report.verdict == sidian::present::Verdict::Valid {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            });
        }
        Command::Client(ClientCommand::Revoke { name }) => {
            let vault = Vault::open(config, false).await?;
            vault.revoke_client(&name, operator()).await?;
            println!("revoked client {name}");
            vault.close().await;
        }
        Command::Stamp {
            seal,
            page,
            x,
            y,
            unit,
            certify,
            level,
            subfilter,
            cross_page,
            reason,
            location,
            contact,
            field,
            keyword,
            input,
            output,
        } => {
            let params = sidian::vault::StampParams {
                page,
                x,
                y,
                unit: Some(&unit),
                certify: Some(&certify),
                level: Some(&level),
                subfilter: Some(&subfilter),
                cross_page,
                reason: reason.as_deref(),
                location: location.as_deref(),
                contact: contact.as_deref(),
                field: field.as_deref(),
                keyword: keyword.as_deref(),
            };
            let document = std::fs::read(&input)
                .with_context(|| format!("cannot read {}", input.display()))?;
            let client = sidian::vault::AuthClient::operator(&operator_name());
            let (sealed, what) = if sidian::ofd::is_ofd(&document) {
                let placement = params.resolve_ofd()?;
                let vault = Vault::open(config, false).await?;
                let stamped = vault.stamp_ofd(&client, &seal, document, placement).await;
                vault.close().await;
                let stamped = stamped?;
                let what = format!("signature {}", stamped.signature);
                (stamped.ofd, (what, stamped.audit_index))
            } else {
                let req = params.resolve()?;
                let vault = Vault::open(config, false).await?;
                let stamped = vault.stamp_pdf(&client, &seal, document, req).await;
                vault.close().await;
                let stamped = stamped?;
                let what = format!("field {}", stamped.field);
                (stamped.pdf, (what, stamped.audit_index))
            };
            std::fs::write(&output, &sealed)
                .with_context(|| format!("cannot write {}", output.display()))?;
            eprintln!(
                "sealed {} → {} ({}, audit entry {})",
                input.display(),
                output.display(),
                what.0,
                what.1
            );
        }
        Command::Verify {
            file,
            original,
            validation_time,
            json,
            summary,
        } => {
            let read = |f: &PathBuf| {
                std::fs::read(f).with_context(|| format!("cannot read {}", f.display()))
            };
            let bytes = read(&file)?;
            let original = original.as_ref().map(read).transpose()?;
            if original.is_some() {
                anyhow::ensure!(
                    sidian::verify::Format::sniff(&bytes)
                        == Some(sidian::verify::Format::SesSignature),
                    "--original applies to a detached SES_Signature only"
                );
            }
            // The vault's roots and revocations count when there is a vault to open; without
            // one (or without its master key) only the trust directory's anchors do.
            let trust_dir = config.trust_dir();
            let report = match Vault::open(config, false).await {
                Ok(vault) => {
                    let report = match original {
                        Some(o) => vault.verify_ses(bytes, Some(o), validation_time).await,
                        None => vault.verify_document_at(bytes, None, validation_time).await,
                    };
                    vault.close().await;
                    report?
                }
                Err(e) => {
                    eprintln!(
                        "note: no vault opened ({e}); trusting only {}",
                        trust_dir.display()
                    );
                    let mut trust = sidian::pki::TrustStore::new();
                    if trust_dir.is_dir() {
                        trust.load_pem_dir(&trust_dir)?;
                    }
                    let verifier = sidian::verify::Verifier::new(
                        std::sync::Arc::new(trust),
                        sidian::verify::Revocations::default(),
                    );
                    let now = validation_time.unwrap_or_else(time::OffsetDateTime::now_utc);
                    let mut report = match &original {
                        Some(o) => {
                            verifier.verify_ses(&bytes, sidian::verify::Original::Data(o), now)
                        }
                        None => verifier.verify_document(&bytes, None, now),
                    };
                    report.apply_licence(sidian::verify::LicenceLookup::NoVault);
                    report
                }
            };
            if summary || (!json && std::io::stdout().is_terminal()) {
                print!("{}", sidian::verify::summary(&report));
            } else {
                println!("{}", serde_json::to_string_pretty(&report)?);
            }
            if !report.verdict.is_accepted() {
                return Ok(ExitCode::FAILURE);
            }
        }
        Command::Trust(TrustCommand::Export { roots_only }) => {
            let vault = Vault::open(config, false).await?;
            print!("{}", vault.trust_export(roots_only)?);
            vault.close().await;
        }
        Command::Audit(AuditCommand::Verify { against }) => {
            let saved = against
                .map(|f| {
                    std::fs::read_to_string(&f)
                        .with_context(|| format!("cannot read {}", f.display()))
                })
                .transpose()?;
            let vault = Vault::open(config, false).await?;
            let result = vault.verify_audit_log_against(saved.as_deref()).await;
            vault.close().await;
            match result {
                Ok(s) => println!(
                    "audit log intact: {} entries, {} signed checkpoints, root {}",
                    s.entries,
                    s.checkpoints,
                    hex::encode(s.root)
                ),
                Err(e @ Error::AuditBroken { .. }) => {
                    println!("audit log BROKEN: {e}");
                    return Ok(ExitCode::FAILURE);
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `sidian audit watch`: exit 1 on misbehaviour of the log (at once, also in a loop), 2 when a
/// `--once` check could not be made; a loop reports unreachable checks and goes on.
/// `sidian import`: reads the file, imports it in batches with a progress bar on stderr, lists
/// rejected rows in the report, and prints the summary line.
async fn import(
    vault: &Vault,
    type_code: &str,
    issuer: &str,
    format: Option<sidian::licence::import::Format>,
    report: Option<PathBuf>,
    file: &Path,
) -> anyhow::Result<ExitCode> {
    use sidian::licence::import::{Format, decode, field_of, rows};
    use sidian::vault::{IMPORT_BATCH, ImportOutcome};

    let admin = sidian::vault::AuthClient::operator(&operator_name());
    let importer = vault.importer(&admin, Some(issuer), type_code).await?;
    let licence_type = vault
        .licence_types()
        .get(type_code)
        .context("no such licence type")?;
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let text = decode(bytes)?;
    let format = format.unwrap_or_else(|| Format::guess(file, &text));
    let report_path = report.unwrap_or_else(|| {
        let mut name = file.as_os_str().to_owned();
        name.push(".rejected.csv");
        PathBuf::from(name)
    });
    let mut source = rows(&text, format, licence_type)?.peekable();
    let mut report = csv::Writer::from_path(&report_path)
        .with_context(|| format!("writing {}", report_path.display()))?;
    report.write_record(["row", "line", "number", "field", "reason"])?;
    report.flush()?;

    // Lines estimate the rows (a CSV cell may span lines; the bar just ends early then).
    let estimate = text.lines().filter(|l| !l.trim().is_empty()).count();
    let estimate = match format {
        Format::Csv => estimate.saturating_sub(1),
        Format::JsonLines => estimate,
    };
    let bar = if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(u64::try_from(estimate).unwrap_or(u64::MAX));
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {pos}/{len} rows  {per_sec}  ETA {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    let batches = std::iter::from_fn(|| {
        let batch: Vec<_> = source
            .by_ref()
            .take(IMPORT_BATCH)
            .map(|r| {
                let parsed = r.parsed.map_err(|e| {
                    Error::InvalidField(if e.field.is_empty() {
                        e.reason
                    } else {
                        format!("{}: {}", e.field, e.reason)
                    })
                });
                ((r.row, r.line, r.number), parsed)
            })
            .collect();
        (!batch.is_empty()).then_some(batch)
    });
    let (mut imported, mut skipped, mut rejected) = (0u64, 0u64, 0u64);
    let mut write_error = None;
    importer
        .run(batches, |(row, line, number), outcome| {
            bar.inc(1);
            match outcome {
                ImportOutcome::Created(_) => imported += 1,
                ImportOutcome::Exists(_) => skipped += 1,
                ImportOutcome::Rejected(e) => {
                    rejected += 1;
                    let (field, reason) = match &e {
                        Error::InvalidField(m) | Error::Conflict(m) => (field_of(m), m.clone()),
                        other => (String::new(), other.to_string()),
                    };
                    let record = [
                        row.to_string(),
                        line.to_string(),
                        number.unwrap_or_default(),
                        field,
                        reason,
                    ];
                    if let Err(e) = report.write_record(&record) {
                        write_error.get_or_insert(e);
                    }
                }
            }
        })
        .await?;
    bar.finish_and_clear();
    report.flush()?;
    if let Some(e) = write_error {
        return Err(e).with_context(|| format!("writing {}", report_path.display()));
    }
    println!("imported {imported}, skipped {skipped} (already imported), rejected {rejected}");
    if rejected > 0 {
        println!("rejected rows: {}", report_path.display());
    }
    Ok(ExitCode::SUCCESS)
}

async fn watch(
    url: &str,
    state: &std::path::Path,
    key: Option<&std::path::Path>,
    once: bool,
    interval: u64,
) -> anyhow::Result<ExitCode> {
    use sidian::witness::{KeySource, check};
    let key_pem = key
        .map(|f| std::fs::read_to_string(f).with_context(|| format!("cannot read {}", f.display())))
        .transpose()?;
    loop {
        match check(url, state, key_pem.as_deref()).await {
            Ok(o) => {
                if o.key_source == KeySource::FirstUse {
                    eprintln!(
                        "WARNING: no --key given: trusting the audit key the server named on first use.\n\
                         Compare it with the vault's DATA/audit-key.pem before relying on this witness;\n\
                         it is now pinned in {}:\n{}",
                        state.display(),
                        o.public_key_pem
                    );
                }
                let root = hex::encode(o.root);
                match o.previous {
                    None => println!("pinned checkpoint of size {} (root {root})", o.size),
                    Some(p) if p == o.size => {
                        println!("unchanged at size {} (root {root})", o.size)
                    }
                    Some(p) => println!("size {p} → {} consistent (root {root})", o.size),
                }
            }
            Err(e) if e.is_alert() => {
                eprintln!("ALERT from the audit witness of {url}: {e}");
                return Ok(ExitCode::FAILURE);
            }
            Err(e) if once => {
                eprintln!("error: {e}");
                return Ok(ExitCode::from(2));
            }
            Err(e) => eprintln!("warning: check failed, retrying: {e}"),
        }
        if once {
            return Ok(ExitCode::SUCCESS);
        }
        tokio::time::sleep(std::time::Duration::from_secs(interval.max(1))).await;
    }
}

/// Parses the command line, with the `--config` file's keys as defaults when one is named.
fn parse_cli() -> anyhow::Result<Cli> {
    let cli = Cli::parse();
    let Some(path) = &cli.config else {
        return Ok(cli);
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the config file {}", path.display()))?;
    let cmd = with_file_defaults(Cli::command(), &text, path)?;
    Ok(Cli::from_arg_matches(&cmd.get_matches())?)
}

/// Makes each key of a TOML config file the default of the flag of that long name, among the
/// global flags and those of `serve`: an explicit flag and its environment variable still win
/// (clap reads them before defaults). An unknown key is an error naming it.
fn with_file_defaults(
    mut cmd: clap::Command,
    text: &str,
    path: &Path,
) -> anyhow::Result<clap::Command> {
    let table: toml::Table = text
        .parse()
        .with_context(|| format!("{} is not valid TOML", path.display()))?;
    for (key, value) in table {
        let value = match value {
            toml::Value::String(s) => s,
            toml::Value::Integer(n) => n.to_string(),
            toml::Value::Float(x) => x.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            _ => anyhow::bail!(
                "{}: `{key}` must be a string, number or boolean",
                path.display()
            ),
        };
        let named = |c: &clap::Command| {
            c.get_arguments()
                .find(|a| key != "config" && a.get_long() == Some(key.as_str()))
                .map(|a| a.get_id().clone())
        };
        if let Some(id) = named(&cmd) {
            cmd = cmd.mut_arg(id, |a| a.default_value(value));
        } else if let Some(id) = cmd.find_subcommand("serve").and_then(named) {
            cmd = cmd.mut_subcommand("serve", |s| s.mut_arg(id, |a| a.default_value(value)));
        } else {
            anyhow::bail!(
                "{}: unknown key `{key}` (keys are the long names of the global and `serve` flags)",
                path.display()
            );
        }
    }
    Ok(cmd)
}

/// Logs to stderr in `format`, coloured only on a terminal; `RUST_LOG` filters.
fn init_logging(format: LogFormat) {
    let fmt = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn".into()),
        );
    match format {
        LogFormat::Text => fmt.init(),
        LogFormat::Json => fmt
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .init(),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = match parse_cli() {
        Ok(cli) => cli,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(2);
        }
    };
    init_logging(cli.log_format);
    match run(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(file: &str, args: &[&str]) -> anyhow::Result<Cli> {
        let cmd = with_file_defaults(Cli::command(), file, Path::new("sidian.toml"))?;
        Ok(Cli::from_arg_matches(&cmd.try_get_matches_from(args)?)?)
    }

    fn listen(cli: &Cli) -> String {
        match &cli.command {
            Command::Serve { listen, .. } => listen.to_string(),
            other => panic!("not serve: {other:?}"),
        }
    }

    #[test]
    fn demo_wallet_from_the_flag_or_the_file() {
        let demo = |file: &str, args: &[&str]| match parse(file, args).expect("parse").command {
            Command::Serve { demo_wallet, .. } => demo_wallet,
            other => panic!("not serve: {other:?}"),
        };
        assert!(!demo("", &["sidian", "serve"]));
        assert!(demo("", &["sidian", "serve", "--demo-wallet"]));
        assert!(demo("demo-wallet = true\n", &["sidian", "serve"]));
        assert!(!demo("demo-wallet = false\n", &["sidian", "serve"]));
    }

    #[test]
    fn the_file_sets_defaults_and_flags_win() {
        let file = "listen = \"127.0.0.1:9999\"\nwrap-alg = \"aes-256-gcm\"\nanon-burst = 7\n";
        let cli = parse(file, &["sidian", "serve"]).expect("parse");
        assert_eq!(listen(&cli), "127.0.0.1:9999");
        assert_eq!(cli.wrap_alg, "aes-256-gcm");
        let Command::Serve { limits, .. } = &cli.command else {
            panic!("not serve")
        };
        assert_eq!(limits.anon_burst, Some(7));

        let cli = parse(
            file,
            &[
                "sidian",
                "--wrap-alg",
                "sm4-gcm",
                "serve",
                "--listen",
                "0.0.0.0:1",
            ],
        )
        .expect("parse");
        assert_eq!(listen(&cli), "0.0.0.0:1");
        assert_eq!(cli.wrap_alg, "sm4-gcm");

        // Without the file, the built-in default.
        let cli = parse("", &["sidian", "serve"]).expect("parse");
        assert_eq!(listen(&cli), "127.0.0.1:8080");
    }

    #[test]
    fn the_environment_wins_over_the_file() {
        // Edition 2024 makes setting a variable unsafe, so use one every test process has.
        let path = std::env::var("PATH").expect("PATH is set");
        let cmd = clap::Command::new("t").arg(clap::Arg::new("path").long("path").env("PATH"));
        let cmd = with_file_defaults(cmd, "path = \"/from/file\"", Path::new("t.toml"))
            .expect("known key");
        let m = cmd.try_get_matches_from(["t"]).expect("parse");
        assert_eq!(m.get_one::<String>("path"), Some(&path));
    }

    #[test]
    fn unknown_or_nested_keys_are_refused_by_name() {
        for (file, named) in [
            ("listn = \"x\"", "`listn`"),
            ("config = \"other.toml\"", "`config`"),
            ("[serve]\nlisten = \"x\"", "`serve`"),
        ] {
            let e = parse(file, &["sidian", "serve"])
                .expect_err("refused")
                .to_string();
            assert!(e.contains(named), "{e}");
        }
    }
}
