//! The zip container, byte for byte reproducible: entries in the given order, the 1980-01-01
//! timestamp zip calls "no date", Unix attributes 0644 whatever system builds it, deflate at one
//! fixed level (PNGs are stored: they are compressed already).

use std::io::{Cursor, Write};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, System, ZipWriter};

use super::WriteError;
use super::parts::Part;

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
    let options = if part.deflate {
        base.compression_method(CompressionMethod::Deflated)
            .compression_level(Some(6))
    } else {
        base.compression_method(CompressionMethod::Stored)
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
