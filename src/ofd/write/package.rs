//! The zip container, byte for byte reproducible: entries in the given order, the 1980-01-01
//! timestamp zip calls "no date", Unix attributes 0644 whatever system builds it, each kind of
//! file deflated at one fixed level (PNGs and seals are stored: they are compressed already).
//!
//! The levels are zlib-rs's speed against size on a licence's files. XML at level 3: within 1 %
//! of level 6's size in half its time (a licence page's 26 KB: 5.30 against 5.25 KB). The font
//! subset at level 1: its glyph outlines take three times as long at any higher level (0.24
//! against 0.63–0.74 ms for a licence's 52 KB subset) for 12–14 % less (41.8 against 36.2–37.1
//! KB), and deflating it was a third of making a licence's file.

use std::io::{Cursor, Write};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, System, ZipWriter};

use super::WriteError;
use super::parts::{Packing, Part};

/// A zip being written.
pub(in crate::ofd) type Zip = ZipWriter<Cursor<Vec<u8>>>;

/// The package holding `parts`.
pub(in crate::ofd) fn zip(parts: &[Part]) -> Result<Vec<u8>, WriteError> {
    let mut w = writer();
    for part in parts {
        add(&mut w, part)?;
    }
    finish(w)
}

/// An empty zip.
pub(in crate::ofd) fn writer() -> Zip {
    ZipWriter::new(Cursor::new(Vec::new()))
}

/// Adds `part`, deflated or stored as it says.
pub(in crate::ofd) fn add(w: &mut Zip, part: &Part) -> Result<(), WriteError> {
    let base = SimpleFileOptions::default()
        .last_modified_time(DateTime::default())
        .system(System::Unix)
        .unix_permissions(0o644);
    let deflated = |level| {
        base.compression_method(CompressionMethod::Deflated)
            .compression_level(Some(level))
    };
    let options = match part.packing {
        Packing::Stored => base.compression_method(CompressionMethod::Stored),
        Packing::Xml => deflated(3),
        Packing::Font => deflated(1),
    };
    w.start_file(part.path.as_str(), options)
        .map_err(|e| WriteError::Package(e.to_string()))?;
    w.write_all(&part.data)
        .map_err(|e| WriteError::Package(e.to_string()))
}

/// The zip's bytes.
pub(in crate::ofd) fn finish(w: Zip) -> Result<Vec<u8>, WriteError> {
    Ok(w.finish()
        .map_err(|e| WriteError::Package(e.to_string()))?
        .into_inner())
}
