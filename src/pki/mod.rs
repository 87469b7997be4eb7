//! The vault's certificate authority: certificate and CRL building, parsing, and chain validation.
