//! The zip container, byte for byte reproducible: entries in the given order, the 1980-01-01
//! timestamp zip calls "no date", Unix attributes 0644 whatever system builds it, deflate at one
//! fixed level (PNGs are stored: they are compressed already).

use std::io::{Cursor, Write};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, System, ZipWriter};

use super::WriteError;
use super::parts::Part;

/// The package holding `parts`.
pub(in crate::ofd) fn zip(parts: &[Part]) -> Result<Vec<u8>, WriteError> {
    let err = |e: &dyn std::fmt::Display| WriteError::Package(e.to_string());
    let base = SimpleFileOptions::default()
        .last_modified_time(DateTime::default())
        .system(System::Unix)
        .unix_permissions(0o644);
    let mut w = ZipWriter::new(Cursor::new(Vec::new()));
    for part in parts {
        let options = if part.deflate {
            base.compression_method(CompressionMethod::Deflated)
                .compression_level(Some(6))
        } else {
            base.compression_method(CompressionMethod::Stored)
        };
        w.start_file(part.path.as_str(), options)
            .map_err(|e| err(&e))?;
        w.write_all(&part.data).map_err(|e| err(&e))?;
    }
    Ok(w.finish().map_err(|e| err(&e))?.into_inner())
}
