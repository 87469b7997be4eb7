//! The zip container, byte for byte reproducible: entries in the given order, the 1980-01-01
//! timestamp zip calls "no date", Unix attributes 0644 whatever system builds it, deflate at one
//! fixed level (PNGs are stored: they are compressed already).

use std::io::{Cursor, Write};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, System, ZipWriter};

use super::WriteError;
use super::parts::Part;
use crate::ofd::Package;

/// One file of a package written after another: new bytes, or a file of the source package
/// copied as stored.
pub(in crate::ofd) enum Piece {
    /// Bytes written (and deflated or stored) here.
    New(Part),
    /// A file of the source package, its compressed bytes copied unchanged.
    Kept(String),
}

/// The package holding `parts`.
pub(in crate::ofd) fn zip(parts: &[Part]) -> Result<Vec<u8>, WriteError> {
    let mut w = ZipWriter::new(Cursor::new(Vec::new()));
    for part in parts {
        add(&mut w, part)?;
    }
    finish(w)
}

/// A package of `pieces`, the kept ones copied from `source` without inflating and deflating
/// them again (most of the time of sealing a long document otherwise).
pub(in crate::ofd) fn rezip(source: &Package, pieces: &[Piece]) -> Result<Vec<u8>, WriteError> {
    let mut w = ZipWriter::new(Cursor::new(Vec::new()));
    for piece in pieces {
        match piece {
            Piece::New(part) => add(&mut w, part)?,
            Piece::Kept(name) => source
                .copy_stored(name, &mut w)
                .map_err(|e| WriteError::Package(e.to_string()))?,
        }
    }
    finish(w)
}

fn add(w: &mut ZipWriter<Cursor<Vec<u8>>>, part: &Part) -> Result<(), WriteError> {
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

fn finish(w: ZipWriter<Cursor<Vec<u8>>>) -> Result<Vec<u8>, WriteError> {
    Ok(w.finish()
        .map_err(|e| WriteError::Package(e.to_string()))?
        .into_inner())
}
