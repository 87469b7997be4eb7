//! What a seal is added to: a package opened from its bytes, or the files of a document just
//! written ([`write::Files`](super::write::Files)). Sealing a licence's new file from its files
//! spares zipping them, opening the zip and inflating every file again to hash it; both give
//! the same sealed package (names in the same sorted order, files deflated the same way).

use std::borrow::Cow;
use std::collections::BTreeMap;

use super::package::{Package, normalize_path};
use super::write::package::{Zip, add};
use super::write::parts::Part;
use super::write::{Files, WriteError};
use super::{Limits, OfdError};

/// The files a seal is added to.
pub(in crate::ofd) enum Source {
    /// A package read from its bytes, bounded by its limits.
    Package(Package),
    /// Files written here, by normalised name.
    Written(BTreeMap<String, Part>),
}

impl Source {
    /// The package in `input`, opened within `limits`.
    pub(in crate::ofd) fn open(input: &[u8], limits: &Limits) -> Result<Self, OfdError> {
        Ok(Source::Package(Package::open(input, limits)?))
    }

    /// Written files (their paths are normalised already: the writer makes them).
    pub(in crate::ofd) fn written(files: Files) -> Self {
        Source::Written(files.0.into_iter().map(|p| (p.path.clone(), p)).collect())
    }

    /// Normalised names of every file, sorted.
    pub(in crate::ofd) fn names(&self) -> Vec<String> {
        match self {
            Source::Package(pkg) => pkg.names(),
            Source::Written(files) => files.keys().cloned().collect(),
        }
    }

    /// Whether a file exists at `path`.
    pub(in crate::ofd) fn contains(&self, path: &str) -> bool {
        match self {
            Source::Package(pkg) => pkg.contains(path),
            Source::Written(files) => normalize_path(path).is_ok_and(|p| files.contains_key(&p)),
        }
    }

    /// The bytes of the file at `path` (as [`Package::read`] takes paths).
    pub(in crate::ofd) fn read(&self, path: &str) -> Result<Cow<'_, [u8]>, OfdError> {
        match self {
            Source::Package(pkg) => Ok(Cow::Owned(pkg.read(path)?)),
            Source::Written(files) => {
                let name = normalize_path(path)?;
                match files.get(&name) {
                    Some(part) => Ok(Cow::Borrowed(&part.data)),
                    None => Err(OfdError::Missing(name)),
                }
            }
        }
    }

    /// Adds the file `name` to `w` unchanged: a package's compressed bytes as stored, a written
    /// file deflated as the writer would.
    pub(in crate::ofd) fn copy(&self, name: &str, w: &mut Zip) -> Result<(), WriteError> {
        match self {
            Source::Package(pkg) => pkg
                .copy_stored(name, w)
                .map_err(|e| WriteError::Package(e.to_string())),
            Source::Written(files) => match files.get(name) {
                Some(part) => add(w, part),
                None => Err(WriteError::Package(format!("no file {name}"))),
            },
        }
    }
}
