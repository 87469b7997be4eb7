//! The OFD container: a zip archive read with every size bounded.
//!
//! Header sizes in a zip are attacker-controlled, so they are used twice, both times only to
//! refuse early: at [`Package::open`] the declared sizes and ratios must fit the [`Limits`], and at
//! [`Package::read`] the decompressed stream is cut at `min(declared, limits) + 1` bytes and
//! counted chunk by chunk, so a lying header costs at most one chunk beyond the limit.
//!
//! Paths: entry names and requested paths go through [`normalize_path`]: a leading `/` is
//! dropped, `\` becomes `/`, empty and `.` segments vanish, `..` pops a segment and is an error
//! when it would leave the root. Matching is case-sensitive (zip and OFD are). Two entries that
//! normalise to the same name make the package ambiguous and are refused, because a verifier and
//! a renderer could pick different ones.

use std::collections::HashMap;
use std::io::{Cursor, Read};
use std::sync::{Arc, Mutex, PoisonError};

use zip::{CompressionMethod, ZipArchive, ZipWriter};

use super::{Limits, OfdError};

/// Decompressed size below which the ratio limit is not applied (small XML compresses well).
const RATIO_FLOOR: u64 = 1 << 20;
/// Read granularity; also the most a lying header can make us read past a limit.
const CHUNK: usize = 64 * 1024;

/// An opened OFD package (zip); entries are decompressed on demand, each read bounded.
pub struct Package {
    limits: Limits,
    /// Normalised name (no leading `/`) → entry index, files only.
    index: HashMap<String, Entry>,
    /// Sorted normalised names, for [`Package::names`].
    names: Vec<String>,
    state: Mutex<State>,
}

#[derive(Clone, Copy)]
struct Entry {
    index: usize,
    declared: u64,
    compressed: u64,
}

struct State {
    archive: ZipArchive<Cursor<Vec<u8>>>,
    /// Decompressed bytes so far (each entry counted once thanks to the cache).
    total: u64,
    cache: HashMap<usize, Arc<[u8]>>,
}

impl std::fmt::Debug for Package {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Package")
            .field("names", &self.names)
            .finish_non_exhaustive()
    }
}

/// Normalise a package path to its canonical form without a leading `/` (see the module doc).
pub fn normalize_path(path: &str) -> Result<String, OfdError> {
    let mut parts: Vec<&str> = Vec::new();
    for seg in path.split(['/', '\\']) {
        match seg {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(OfdError::PathEscape(path.to_owned()));
                }
            }
            s => parts.push(s),
        }
    }
    if parts.is_empty() {
        return Err(OfdError::PathEscape(path.to_owned()));
    }
    Ok(parts.join("/"))
}

/// Resolve `reference` as written in the file `base` (a package path): absolute when it starts
/// with `/` or `\`, otherwise relative to `base`'s directory. Returns the normalised path.
pub fn resolve_path(base: &str, reference: &str) -> Result<String, OfdError> {
    let reference = reference.trim();
    if reference.starts_with(['/', '\\']) {
        return normalize_path(reference);
    }
    let base = base.replace('\\', "/");
    let dir = match base.rfind('/') {
        Some(i) => &base[..i],
        None => "",
    };
    normalize_path(&format!("{dir}/{reference}"))
}

fn zip_err(e: zip::result::ZipError) -> OfdError {
    OfdError::Zip(e.to_string())
}

impl Package {
    /// Open a package from its bytes, checking entry count, names and declared sizes.
    pub fn open(bytes: &[u8], limits: &Limits) -> Result<Package, OfdError> {
        if !bytes.starts_with(b"PK\x03\x04") {
            return Err(OfdError::NotZip);
        }
        let archive = ZipArchive::new(Cursor::new(bytes.to_vec())).map_err(|e| match e {
            zip::result::ZipError::InvalidArchive(_) | zip::result::ZipError::Io(_) => {
                OfdError::Zip(format!("not a readable zip archive: {e}"))
            }
            other => zip_err(other),
        })?;
        if archive.len() > limits.max_entries {
            return Err(OfdError::TooManyEntries {
                count: archive.len(),
                limit: limits.max_entries,
            });
        }
        let mut index = HashMap::new();
        let mut declared_total: u64 = 0;
        for i in 0..archive.len() {
            let e = archive.by_index_data(i).map_err(zip_err)?;
            let raw_name = e.name().map_err(zip_err)?.into_owned();
            if e.is_dir() || raw_name.ends_with(['/', '\\']) {
                continue;
            }
            let name = normalize_path(&raw_name)?;
            let declared = e.size();
            let compressed = e.compressed_size();
            if declared > limits.max_entry_size {
                return Err(OfdError::TooLarge {
                    path: name,
                    size: declared,
                    limit: limits.max_entry_size,
                });
            }
            declared_total = declared_total.saturating_add(declared);
            if declared_total > limits.max_total {
                return Err(OfdError::TooLarge {
                    path: name,
                    size: declared_total,
                    limit: limits.max_total,
                });
            }
            if declared > RATIO_FLOOR && declared / compressed.max(1) > limits.max_ratio {
                return Err(OfdError::ZipBomb {
                    path: name,
                    ratio: declared / compressed.max(1),
                });
            }
            let entry = Entry {
                index: i,
                declared,
                compressed,
            };
            if index.insert(name.clone(), entry).is_some() {
                return Err(OfdError::DuplicateEntry(name));
            }
        }
        let mut names: Vec<String> = index.keys().cloned().collect();
        names.sort();
        Ok(Package {
            limits: limits.clone(),
            index,
            names,
            state: Mutex::new(State {
                archive,
                total: 0,
                cache: HashMap::new(),
            }),
        })
    }

    /// Normalised names of every file entry (no leading `/`, directories omitted), sorted.
    pub fn names(&self) -> Vec<String> {
        self.names.clone()
    }

    /// Whether a file exists at `path` (normalised as in [`Package::read`]).
    pub fn contains(&self, path: &str) -> bool {
        normalize_path(path).is_ok_and(|p| self.index.contains_key(&p))
    }

    /// The decompressed bytes of the entry at `path` (leading `/` optional, `\` accepted,
    /// `..` may not leave the root, case-sensitive), bounded by the [`Limits`].
    pub fn read(&self, path: &str) -> Result<Vec<u8>, OfdError> {
        let name = normalize_path(path)?;
        let entry = *self
            .index
            .get(&name)
            .ok_or_else(|| OfdError::Missing(name.clone()))?;
        // A poisoned lock only means another reader panicked; the archive is still usable.
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(data) = state.cache.get(&entry.index) {
            return Ok(data.to_vec());
        }
        let budget = self.limits.max_total.saturating_sub(state.total);
        let limit = entry.declared.min(self.limits.max_entry_size).min(budget);
        let data = {
            let file = state.archive.by_index(entry.index).map_err(zip_err)?;
            if file.encrypted() {
                return Err(OfdError::Encrypted(name));
            }
            match file.compression() {
                CompressionMethod::Stored | CompressionMethod::Deflated => {}
                other => {
                    return Err(OfdError::UnsupportedCompression {
                        path: name,
                        method: format!("{other:?}"),
                    });
                }
            }
            self.read_bounded(file, &name, entry, limit, budget)?
        };
        state.total = state.total.saturating_add(data.len() as u64);
        let data: Arc<[u8]> = data.into();
        state.cache.insert(entry.index, Arc::clone(&data));
        Ok(data.to_vec())
    }

    /// Copies the file `path` into `w` as stored (its compressed bytes unchanged, under its
    /// normalised name), after reading it once through [`Package::read`], so what is copied has
    /// passed the limits and its CRC check.
    pub(in crate::ofd) fn copy_stored(
        &self,
        path: &str,
        w: &mut ZipWriter<Cursor<Vec<u8>>>,
    ) -> Result<(), OfdError> {
        let name = normalize_path(path)?;
        let entry = *self
            .index
            .get(&name)
            .ok_or_else(|| OfdError::Missing(name.clone()))?;
        let read = self
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .cache
            .contains_key(&entry.index);
        if !read {
            self.read(&name)?;
        }
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let file = state.archive.by_index_raw(entry.index).map_err(zip_err)?;
        w.raw_copy_file_rename(file, name).map_err(zip_err)
    }

    fn read_bounded(
        &self,
        file: impl Read,
        name: &str,
        entry: Entry,
        limit: u64,
        budget: u64,
    ) -> Result<Vec<u8>, OfdError> {
        let mut reader = file.take(limit.saturating_add(1));
        // Never trust the header for the allocation either.
        let mut out = Vec::with_capacity(usize::try_from(limit.min(1 << 20)).unwrap_or(1 << 20));
        let mut buf = vec![0u8; CHUNK];
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(OfdError::Zip(format!("{name}: {e}"))),
            };
            out.extend_from_slice(&buf[..n]);
            let got = out.len() as u64;
            if got > self.limits.max_entry_size {
                return Err(OfdError::TooLarge {
                    path: name.to_owned(),
                    size: got,
                    limit: self.limits.max_entry_size,
                });
            }
            if got > budget {
                return Err(OfdError::TooLarge {
                    path: name.to_owned(),
                    size: got,
                    limit: self.limits.max_total,
                });
            }
            if got > entry.declared {
                return Err(OfdError::SizeMismatch {
                    path: name.to_owned(),
                    declared: entry.declared,
                    actual: got,
                });
            }
            if got > RATIO_FLOOR && got / entry.compressed.max(1) > self.limits.max_ratio {
                return Err(OfdError::ZipBomb {
                    path: name.to_owned(),
                    ratio: got / entry.compressed.max(1),
                });
            }
        }
        if out.len() as u64 != entry.declared {
            return Err(OfdError::SizeMismatch {
                path: name.to_owned(),
                declared: entry.declared,
                actual: out.len() as u64,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn normalisation() {
        assert_eq!(
            normalize_path("/Doc_0/Document.xml").unwrap(),
            "Doc_0/Document.xml"
        );
        assert_eq!(
            normalize_path("Doc_0\\Signs\\.\\x.xml").unwrap(),
            "Doc_0/Signs/x.xml"
        );
        assert_eq!(normalize_path("/a/b/../c").unwrap(), "a/c");
        assert!(matches!(
            normalize_path("/../etc/passwd"),
            Err(OfdError::PathEscape(_))
        ));
        assert!(matches!(
            normalize_path("a/../../b"),
            Err(OfdError::PathEscape(_))
        ));
        assert!(normalize_path("/").is_err());
        assert_eq!(
            resolve_path("/Doc_0/Signs/Sign_0/Signature.xml", "SignedValue.dat").unwrap(),
            "Doc_0/Signs/Sign_0/SignedValue.dat"
        );
        assert_eq!(
            resolve_path("OFD.xml", "Doc_0/Signs/Signatures.xml").unwrap(),
            "Doc_0/Signs/Signatures.xml"
        );
        assert_eq!(
            resolve_path(
                "Doc_0/Signs/Signatures.xml",
                "/Doc_0/Signs/Sign_0/Signature.xml"
            )
            .unwrap(),
            "Doc_0/Signs/Sign_0/Signature.xml"
        );
        assert!(resolve_path("Doc_0/Signs/Signatures.xml", "../../../x").is_err());
    }
}
