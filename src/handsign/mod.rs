//! Handwritten e-signatures as formats, without a database: the pen capture and its checks
//! ([`capture`]), what a signature binds of it ([`binding`]), how it is drawn on a PDF page
//! ([`draw`]) and signed there ([`pdf`]), and how consistent a capture is with a signer's reference signatures
//! ([`compare`]). The signers, sessions and evidence live in `vault::handsign`.

pub mod binding;
pub mod capture;
pub mod compare;
pub mod draw;
pub mod pdf;
#[doc(hidden)]
pub mod synthetic;

pub use binding::{Binding, OID_HANDWRITING_BINDING};
pub use capture::{Canvas, Capture, CaptureError, Point};
