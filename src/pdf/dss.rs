//! PAdES B-LT validation data (ETSI EN 319 142-1 §5.4): a Document Security Store added by an
//! incremental update after the signatures, holding the certificates and CRLs a validator needs
//! to check them later without fetching anything.

use super::file::PdfFile;
use super::object::{Dict, Object};
use super::stamp::{Numbers, end_update, write_obj, write_stream};
use super::{Limits, PdfError};

/// Appends an update whose catalog has a `/DSS` with `certs` (DER certificates) and `crls`
/// (DER CRLs), each an uncompressed stream. An existing DSS keeps its entries; the new ones are
/// added after them, duplicates (by bytes) skipped.
pub fn add_dss(
    input: &[u8],
    certs: &[Vec<u8>],
    crls: &[Vec<u8>],
    limits: &Limits,
) -> Result<Vec<u8>, PdfError> {
    let file = PdfFile::open(input, limits)?;
    let upto = file.sections().len();
    let trailer = file.trailer();
    let mut nums = Numbers::after(trailer)?;
    let (root, mut catalog) = file.catalog_at(upto)?;
    let mut dss = match catalog.get(b"DSS") {
        Some(o) => match file.resolve_at(o, upto)? {
            Object::Dict(d) => d,
            _ => return Err(PdfError::Structure("/DSS is not a dictionary".into())),
        },
        None => Dict::default(),
    };
    let mut out = input.to_vec();
    if !out.ends_with(b"\n") && !out.ends_with(b"\r") {
        out.push(b'\n');
    }
    let mut offsets = Vec::new();
    for (key, items) in [(&b"Certs"[..], certs), (b"CRLs", crls)] {
        let mut refs = match dss.get(key) {
            Some(o) => match file.resolve_at(o, upto)? {
                Object::Array(a) => a,
                _ => return Err(PdfError::Structure("a /DSS entry is not an array".into())),
            },
            None => Vec::new(),
        };
        let mut present = Vec::new();
        for r in &refs {
            if let Object::Stream(s) = file.resolve_at(r, upto)? {
                present.push(file.decode(&s)?);
            }
        }
        for der in items {
            if present.contains(der) {
                continue;
            }
            let r = nums.next();
            write_stream(&mut out, &mut offsets, r, Dict::default(), der);
            refs.push(Object::Ref(r));
            present.push(der.clone());
        }
        dss.set(key, Object::Array(refs));
    }
    let dss_ref = nums.next();
    write_obj(&mut out, &mut offsets, dss_ref, &Object::Dict(dss));
    catalog.set(b"DSS", Object::Ref(dss_ref));
    write_obj(&mut out, &mut offsets, root, &Object::Dict(catalog));
    end_update(&file, &mut out, trailer, &mut offsets, &mut nums)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &[u8] = include_bytes!("../../tests/data/pdf/doc-1p.pdf");

    /// The decoded streams of the last revision's `/DSS /key`.
    fn items(pdf: &[u8], key: &[u8]) -> Vec<Vec<u8>> {
        let file = PdfFile::open(pdf, &Limits::default()).expect("test PDF reads");
        let upto = file.sections().len();
        let (_, catalog) = file.catalog_at(upto).expect("test PDF reads");
        let Object::Dict(dss) = file
            .resolve_at(catalog.get(b"DSS").expect("test PDF reads"), upto)
            .expect("test PDF reads")
        else {
            panic!("/DSS is not a dictionary")
        };
        let Some(Object::Array(refs)) = dss.get(key) else {
            return Vec::new();
        };
        refs.iter()
            .map(
                |r| match file.resolve_at(r, upto).expect("test PDF reads") {
                    Object::Stream(s) => file.decode(&s).expect("test PDF reads"),
                    other => panic!("{other:?}"),
                },
            )
            .collect()
    }

    #[test]
    fn a_second_dss_update_keeps_the_first_and_skips_duplicates() {
        let (a, b, c) = (b"cert a".to_vec(), b"cert b".to_vec(), b"crl c".to_vec());
        let once = add_dss(
            DOC,
            std::slice::from_ref(&a),
            std::slice::from_ref(&c),
            &Limits::default(),
        )
        .expect("test PDF reads");
        assert!(once.starts_with(DOC), "an incremental update");
        let twice = add_dss(
            &once,
            &[a.clone(), b.clone()],
            std::slice::from_ref(&c),
            &Limits::default(),
        )
        .expect("test PDF reads");
        assert!(twice.starts_with(&once));
        assert_eq!(items(&twice, b"Certs"), [a, b]);
        assert_eq!(items(&twice, b"CRLs"), [c]);
        let revisions = |pdf: &[u8]| {
            PdfFile::open(pdf, &Limits::default())
                .expect("test PDF reads")
                .sections()
                .len()
        };
        assert_eq!(revisions(&twice), revisions(DOC) + 2);
    }
}
