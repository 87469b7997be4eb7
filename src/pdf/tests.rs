#![allow(clippy::unwrap_used)]

use super::*;

pub(crate) const DOC_1P: &[u8] = include_bytes!("../../tests/data/pdf/doc-1p.pdf");
pub(crate) const DOC_200P: &[u8] = include_bytes!("../../tests/data/pdf/doc-200p.pdf");

#[test]
fn reads_reportlab_documents() {
    for (doc, pages) in [(DOC_1P, 1), (DOC_200P, 200)] {
        let f = PdfFile::open(doc, &Limits::default()).unwrap();
        assert_eq!(f.sections().len(), 1);
        assert_eq!(f.pages_at(1).unwrap().len(), pages);
        assert!(f.check_all_objects().unwrap() > pages);
        let eof = f.sections()[0].eof;
        assert_eq!(&doc[eof - 5..eof], b"%%EOF");
    }
}

#[test]
fn refuses_broken_structure() {
    let l = Limits::default();
    assert!(matches!(PdfFile::open(b"hello", &l), Err(PdfError::NotPdf)));
    let mut cut = DOC_1P.to_vec();
    cut.truncate(cut.len() - 40);
    assert!(PdfFile::open(&cut, &l).is_err());
    // An xref offset that points one byte off is refused, not repaired.
    let s = String::from_utf8_lossy(DOC_1P).into_owned();
    let at = s.rfind("startxref").unwrap();
    let n: usize = s[at + 10..]
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let moved = format!("{}startxref\n{}\n%%EOF\n", &s[..at], n + 1);
    assert!(PdfFile::open(moved.as_bytes(), &l).is_err());
}
