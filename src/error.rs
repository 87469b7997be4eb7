//! The one error type of the vault, and its mapping to HTTP status and stable machine-readable codes.

use crate::crypto::CryptoError;

/// Everything that can go wrong in the vault, from bad input to a broken database.
///
/// Messages never carry key material, API keys or SQL; internal causes are logged, not returned.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No API key, or one that is unknown or revoked.
    #[error("missing or invalid API key")]
    Unauthorized,
    /// The client lacks the scope the route needs.
    #[error("this client lacks the scope `{0}`")]
    Forbidden(String),
    /// A 用证 request a department is not authorised for, whatever the cause (no grant, another
    /// department's, expired, withdrawn or used, no such licence or holder): one fixed answer,
    /// so a department learns nothing about whether a licence exists.
    #[error("this use of a licence is not authorised")]
    UseDenied,
    /// A wallet call without a session cookie, or with one that is forged, altered or expired.
    #[error("no wallet session: log in again")]
    NoSession,
    /// A wallet call without the `X-Sidian-Wallet: 1` header (what a cross-site form cannot send).
    #[error("wallet calls must carry the header `X-Sidian-Wallet: 1`")]
    WalletHeader,
    /// A challenge's answer not signed by a device key registered to the licence it names.
    #[error("the answer is not signed by a device key registered to this licence")]
    DeviceNotVerified,
    /// The resource does not exist or belongs to another client (indistinguishable on purpose).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The key exists but is disabled.
    #[error("key is disabled")]
    KeyDisabled,
    /// The seal is revoked (or its certificate is): it signs nothing any more.
    #[error("seal is revoked")]
    SealRevoked,
    /// The handwritten signer is cancelled (注销): it signs nothing any more.
    #[error("the signer is cancelled")]
    SignerCancelled,
    /// A pen capture that is not a signature (empty, too short, time going backwards, a pen
    /// faster than a hand): the reason says which, and where.
    #[error("{0}")]
    InvalidCapture(#[from] crate::handsign::CaptureError),
    /// The seal is outside its validity period.
    #[error("seal is not valid now: {0}")]
    SealNotValid(String),
    /// The request conflicts with the current state (e.g. a generated identifier was taken).
    #[error("conflict: {0}")]
    Conflict(String),
    /// An idempotency key reused with another request.
    #[error("this Idempotency-Key was used with another request")]
    IdempotencyMismatch,
    /// An idempotency key whose first request is still running.
    #[error("a request with this Idempotency-Key is still in progress; retry later")]
    IdempotencyInProgress,
    /// A list cursor the vault did not make.
    #[error("the cursor is not one this list gave")]
    InvalidCursor,
    /// A 统一社会信用代码 that fails GB 32100's format or check character.
    #[error("invalid 统一社会信用代码: {0}")]
    InvalidUscc(String),
    /// A 公民身份号码 that fails GB 11643's format, birth date or check character (the reason
    /// never carries the number).
    #[error("invalid 公民身份号码: {0}")]
    InvalidIdNumber(crate::ident::IdNumberError),
    /// A licence request field that is not valid; the message starts with the field's path
    /// (`holder.id_number: …`, `fields.business_scope: …`) and never quotes personal data.
    #[error("{0}")]
    InvalidField(String),
    /// A licence status change that is not allowed from the licence's current status (named).
    #[error("the licence is {0}; this change is not allowed from that status")]
    InvalidTransition(&'static str),
    /// An uploaded image that is not a decodable PNG, or too large.
    #[error("invalid image: {0}")]
    InvalidImage(String),
    /// Text the vault must draw contains a character its font lacks.
    #[error("unsupported character: {0}")]
    UnsupportedCharacter(String),
    /// A client with this name is already registered.
    #[error("a client named `{0}` already exists")]
    ClientExists(String),
    /// A field is not valid base64.
    #[error("field `{0}` is not valid base64")]
    InvalidBase64(&'static str),
    /// The JSON is well-formed but does not match the request schema.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The body is not well-formed JSON (or nests too deeply).
    #[error("malformed JSON: {0}")]
    MalformedJson(String),
    /// The body is not `application/json`.
    #[error("expected Content-Type: {0}")]
    UnsupportedMediaType(&'static str),
    /// The body exceeds the route's limit.
    #[error("request body exceeds {0} bytes")]
    PayloadTooLarge(usize),
    /// An algorithm name that sidian does not know.
    #[error("unknown algorithm `{0}`")]
    UnknownAlgorithm(String),
    /// A cryptographic operation refused its input.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    /// The route exists but not with this method.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The vault is shutting down or its writer stopped.
    #[error("service unavailable")]
    Unavailable,
    /// A readiness check failed: the service is up but cannot serve yet (or any more).
    #[error("not ready: {0}")]
    NotReady(&'static str),
    /// Too many uploads are held already (by everyone, or by this peer): try again later.
    #[error("too many uploads in progress; retry in {retry_after} s")]
    Busy {
        /// Seconds to wait before retrying (the `Retry-After` header).
        retry_after: u64,
    },
    /// This peer sent more requests to the anonymous routes than its rate allows.
    #[error("too many requests; retry in {retry_after} s")]
    RateLimited {
        /// Seconds until the peer may send again (the `Retry-After` header).
        retry_after: u64,
    },
    /// The request, body included, took longer than the server allows.
    #[error("the request took too long")]
    RequestTimeout,
    /// The master key does not match the database, or cannot be read.
    #[error("master key: {0}")]
    MasterKey(String),
    /// The configuration cannot be used.
    #[error("configuration: {0}")]
    Config(String),
    /// The audit log failed verification.
    #[error("audit log entry {index}: {reason}")]
    AuditBroken {
        /// Index of the first bad entry (or the checkpoint size that failed).
        index: u64,
        /// What is wrong with it.
        reason: String,
    },
    /// A stored row is not what the vault wrote (tampering or a bug).
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
    /// The database failed.
    #[error("database error")]
    Database(#[from] sqlx::Error),
    /// A migration failed.
    #[error("database migration failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Building or parsing a certificate or CRL failed.
    #[error("certificate authority: {0}")]
    Pki(#[from] crate::pki::PkiError),
    /// Encoding a seal or signature failed.
    #[error("seal structure: {0}")]
    Ses(#[from] crate::ses::SesError),
    /// The external time-stamping authority gave no usable token.
    #[error("time-stamping authority: {0}")]
    TsaUnavailable(String),
    /// A PDF could not be read, or the vault will not seal it.
    #[error("PDF: {0}")]
    Pdf(#[from] crate::pdf::PdfError),
    /// An OFD could not be read, or the vault will not seal it.
    #[error("OFD: {0}")]
    OfdStamp(#[from] crate::ofd::StampError),
    /// A CMS structure could not be written.
    #[error("CMS: {0}")]
    Cms(crate::cms::CmsError),
    /// The catalogue of licence types could not be loaded (the message names the file and key).
    #[error(transparent)]
    LicenceTypes(#[from] crate::licence::CatalogueError),
    /// A licence's face could not be laid out (the message names the field, never its value).
    #[error("licence file: {0}")]
    LicenceFace(#[from] crate::licence::FaceError),
    /// A file could not be read or written.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

impl Error {
    /// The HTTP status this error answers with.
    pub fn status(&self) -> u16 {
        match self {
            Error::Unauthorized | Error::NoSession => 401,
            Error::Forbidden(_)
            | Error::UseDenied
            | Error::WalletHeader
            | Error::DeviceNotVerified => 403,
            Error::NotFound(_) => 404,
            Error::MethodNotAllowed => 405,
            Error::RequestTimeout => 408,
            Error::RateLimited { .. } => 429,
            Error::Busy { .. } => 503,
            Error::KeyDisabled
            | Error::ClientExists(_)
            | Error::SealRevoked
            | Error::SignerCancelled
            | Error::SealNotValid(_)
            | Error::Conflict(_)
            | Error::InvalidTransition(_)
            | Error::IdempotencyInProgress => 409,
            Error::UnsupportedCharacter(_) | Error::IdempotencyMismatch => 422,
            Error::PayloadTooLarge(_) => 413,
            Error::UnsupportedMediaType(_) => 415,
            Error::InvalidBase64(_)
            | Error::InvalidRequest(_)
            | Error::MalformedJson(_)
            | Error::UnknownAlgorithm(_)
            | Error::InvalidUscc(_)
            | Error::InvalidIdNumber(_)
            | Error::InvalidField(_)
            | Error::InvalidImage(_)
            | Error::InvalidCapture(_)
            | Error::InvalidCursor => 400,
            Error::Crypto(e) => match e {
                CryptoError::UnsupportedAlgorithm | CryptoError::DigestSigningUnsupported => 422,
                CryptoError::BadDigestLength { .. }
                | CryptoError::InvalidPublicKey(_)
                | CryptoError::UnknownAlgorithm(_) => 400,
                _ => 500,
            },
            Error::TsaUnavailable(_) => 502,
            Error::Pdf(crate::pdf::PdfError::PlaceholderTooSmall { .. }) => 500,
            Error::Pdf(_) => 422,
            Error::OfdStamp(crate::ofd::StampError::Write(_)) => 500,
            Error::OfdStamp(_) => 422,
            Error::LicenceFace(
                crate::licence::FaceError::Unprintable { .. }
                | crate::licence::FaceError::DoesNotFit { .. },
            ) => 422,
            Error::Unavailable | Error::NotReady(_) => 503,
            _ => 500,
        }
    }

    /// The stable snake_case code clients can match on.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Unauthorized => "unauthorized",
            Error::Forbidden(_) => "forbidden",
            Error::UseDenied => "use_denied",
            Error::NoSession => "no_session",
            Error::WalletHeader => "wallet_header_required",
            Error::DeviceNotVerified => "device_not_verified",
            Error::NotFound(_) => "not_found",
            Error::MethodNotAllowed => "method_not_allowed",
            Error::RequestTimeout => "request_timeout",
            Error::RateLimited { .. } => "rate_limited",
            Error::Busy { .. } => "busy",
            Error::KeyDisabled => "key_disabled",
            Error::ClientExists(_) => "client_exists",
            Error::SealRevoked => "seal_revoked",
            Error::SignerCancelled => "signer_cancelled",
            Error::InvalidCapture(_) => "invalid_capture",
            Error::SealNotValid(_) => "seal_not_valid",
            Error::Conflict(_) => "conflict",
            Error::IdempotencyMismatch => "idempotency_mismatch",
            Error::IdempotencyInProgress => "idempotency_in_progress",
            Error::InvalidCursor => "invalid_cursor",
            Error::InvalidUscc(_) => "invalid_uscc",
            Error::InvalidIdNumber(_) => "invalid_id_number",
            Error::InvalidField(_) => "invalid_field",
            Error::InvalidTransition(_) => "invalid_transition",
            Error::InvalidImage(_) => "invalid_image",
            Error::UnsupportedCharacter(_) => "unsupported_character",
            Error::PayloadTooLarge(_) => "payload_too_large",
            Error::UnsupportedMediaType(_) => "unsupported_media_type",
            Error::InvalidBase64(_) => "invalid_base64",
            Error::InvalidRequest(_) => "invalid_request",
            Error::MalformedJson(_) => "malformed_json",
            Error::UnknownAlgorithm(_) => "unknown_algorithm",
            Error::Crypto(e) => match e {
                CryptoError::UnsupportedAlgorithm => "algorithm_mismatch",
                CryptoError::DigestSigningUnsupported => "digest_signing_unsupported",
                CryptoError::BadDigestLength { .. } => "bad_digest_length",
                CryptoError::InvalidPublicKey(_) => "invalid_public_key",
                CryptoError::UnknownAlgorithm(_) => "unknown_algorithm",
                _ => "internal",
            },
            Error::TsaUnavailable(_) => "tsa_unavailable",
            Error::Pdf(crate::pdf::PdfError::Refused(_)) => "pdf_refused",
            Error::Pdf(crate::pdf::PdfError::KeywordNotFound(_)) => "keyword_not_found",
            Error::Pdf(crate::pdf::PdfError::PlaceholderTooSmall { .. }) => "internal",
            Error::Pdf(_) => "invalid_pdf",
            Error::OfdStamp(crate::ofd::StampError::Refused(_)) => "ofd_refused",
            Error::OfdStamp(crate::ofd::StampError::KeywordNotFound(_)) => "keyword_not_found",
            Error::OfdStamp(crate::ofd::StampError::Ofd(_)) => "invalid_ofd",
            Error::LicenceFace(
                crate::licence::FaceError::Unprintable { .. }
                | crate::licence::FaceError::DoesNotFit { .. },
            ) => "licence_not_printable",
            Error::Unavailable => "unavailable",
            Error::NotReady(_) => "not_ready",
            _ => "internal",
        }
    }

    /// The message safe to show a client: internal causes are replaced by a generic text.
    pub fn public_message(&self) -> String {
        if self.status() >= 500
            && !matches!(
                self,
                Error::Unavailable | Error::Busy { .. } | Error::NotReady(_)
            )
        {
            "internal error; the incident has been logged".to_owned()
        } else {
            self.to_string()
        }
    }

    /// Seconds a client should wait before retrying, for the errors that say so.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Error::Busy { retry_after } | Error::RateLimited { retry_after } => Some(*retry_after),
            Error::IdempotencyInProgress => Some(1),
            _ => None,
        }
    }
}

/// Result with the vault's error.
pub type Result<T, E = Error> = std::result::Result<T, E>;
