//! Test helpers for building and tampering with OFD packages (shared with integration-style
//! tests elsewhere in the crate: `crate::ofd::testutil::{v4signed, rewrite_zip, build_zip}`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Cursor, Read, Write};

use zip::write::SimpleFileOptions;

use crate::crypto::{KeyType, PrivateKey, SignatureAlgorithm, sm3};
use zip::{CompressionMethod, ZipArchive, ZipWriter};

/// The real tax e-invoice fixture (one Seal signature).
pub(crate) fn v4signed() -> Vec<u8> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/ses/v4signed.ofd");
    std::fs::read(path).expect("fixture tests/data/ses/v4signed.ofd")
}

fn options() -> SimpleFileOptions {
    SimpleFileOptions::default().compression_method(CompressionMethod::Deflated)
}

/// A zip with these (name, bytes) entries, deflated, in this order.
pub(crate) fn build_zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = ZipWriter::new(Cursor::new(Vec::new()));
    for (name, data) in entries {
        w.start_file(*name, options()).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// Every (name, bytes) entry of a zip, in order.
pub(crate) fn unzip(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut z = ZipArchive::new(Cursor::new(bytes)).unwrap();
    (0..z.len())
        .map(|i| {
            let mut f = z.by_index(i).unwrap();
            let mut data = Vec::new();
            f.read_to_end(&mut data).unwrap();
            (f.name().unwrap().into_owned(), data)
        })
        .collect()
}

/// Rebuild the zip `bytes` with the entry `name` passed through `edit` (every other entry
/// copied unchanged, order kept). Panics if `name` is not an entry.
pub(crate) fn rewrite_zip(bytes: &[u8], name: &str, edit: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut entries = unzip(bytes);
    let entry = entries
        .iter_mut()
        .find(|(n, _)| n == name)
        .expect("entry to rewrite");
    edit(&mut entry.1);
    let refs: Vec<(&str, &[u8])> = entries
        .iter()
        .map(|(n, d)| (n.as_str(), d.as_slice()))
        .collect();
    build_zip(&refs)
}

/// Like [`rewrite_zip`] but adds (or replaces) whole entries.
pub(crate) fn with_entries(bytes: &[u8], extra: &[(&str, &[u8])]) -> Vec<u8> {
    let mut entries = unzip(bytes);
    for (name, data) in extra {
        match entries.iter_mut().find(|(n, _)| n == name) {
            Some(e) => e.1 = data.to_vec(),
            None => entries.push(((*name).to_owned(), data.to_vec())),
        }
    }
    let refs: Vec<(&str, &[u8])> = entries
        .iter()
        .map(|(n, d)| (n.as_str(), d.as_slice()))
        .collect();
    build_zip(&refs)
}

/// A zip holding one deflated entry of `size` zero bytes at deflate `level`, written by streaming
/// (bounded memory).
pub(crate) fn zeros_zip(name: &str, size: u64, level: i64) -> Vec<u8> {
    let mut w = ZipWriter::new(Cursor::new(Vec::new()));
    let opts = options()
        .compression_level(Some(level))
        .large_file(size >= u64::from(u32::MAX));
    w.start_file(name, opts).unwrap();
    let chunk = vec![0u8; 1 << 20];
    let mut left = size;
    while left > 0 {
        let n = left.min(chunk.len() as u64);
        w.write_all(&chunk[..usize::try_from(n).unwrap()]).unwrap();
        left -= n;
    }
    w.finish().unwrap().into_inner()
}

/// Overwrite the uncompressed-size field of every local and central header (lying headers).
pub(crate) fn patch_declared_size(zip: &mut [u8], size: u32) {
    let mut i = 0;
    while i + 4 <= zip.len() {
        match &zip[i..i + 4] {
            b"PK\x03\x04" if i + 26 <= zip.len() => {
                zip[i + 22..i + 26].copy_from_slice(&size.to_le_bytes())
            }
            b"PK\x01\x02" if i + 28 <= zip.len() => {
                zip[i + 24..i + 28].copy_from_slice(&size.to_le_bytes())
            }
            _ => {}
        }
        i += 1;
    }
}

/// DER TLV with a definite length.
pub(crate) fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(u8::try_from(len).unwrap());
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().position(|&b| b != 0).unwrap();
        out.push(0x80 | u8::try_from(bytes.len() - skip).unwrap());
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

/// DER OBJECT IDENTIFIER.
pub(crate) fn oid(s: &str) -> Vec<u8> {
    let o = der::asn1::ObjectIdentifier::new(s).unwrap();
    tlv(0x06, o.as_bytes())
}

/// Concatenation of DER elements.
pub(crate) fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// A test signer: an SM2 key and its self-signed certificate.
pub(crate) struct TestSigner {
    /// The key.
    pub(crate) key: PrivateKey,
    /// The certificate (DER).
    pub(crate) cert: Vec<u8>,
    name: Vec<u8>,
    serial: Vec<u8>,
}

/// An SM2 key and a minimal self-signed certificate for it, built by hand (no openssl needed).
pub(crate) fn signer() -> TestSigner {
    let key = PrivateKey::generate(KeyType::Sm2).unwrap();
    let alg = tlv(0x30, &oid("1.2.156.10197.1.501"));
    let cn = tlv(
        0x30,
        &cat(&[&oid("2.5.4.3"), &tlv(0x0C, b"sidian test signer")]),
    );
    let name = tlv(0x30, &tlv(0x31, &cn));
    let serial = tlv(0x02, &[0x01, 0x23, 0x45]);
    let validity = tlv(
        0x30,
        &cat(&[&tlv(0x17, b"240101000000Z"), &tlv(0x17, b"340101000000Z")]),
    );
    let version = tlv(0xA0, &tlv(0x02, &[2]));
    let tbs = tlv(
        0x30,
        &cat(&[
            &version,
            &serial,
            &alg,
            &name,
            &validity,
            &name,
            key.public_key().spki_der(),
        ]),
    );
    let sig = key.sign(SignatureAlgorithm::Sm2Sm3, &tbs).unwrap();
    let bits = tlv(0x03, &cat(&[&[0], &sig]));
    let cert = tlv(0x30, &cat(&[&tbs, &alg, &bits]));
    TestSigner {
        key,
        cert,
        name,
        serial,
    }
}

/// SignedData over `content` (detached unless `attached`), with or without authenticated attributes.
pub(crate) fn build_cms(
    s: &TestSigner,
    content: &[u8],
    attached: bool,
    with_attrs: bool,
    certs: bool,
) -> Vec<u8> {
    let sm3_alg = tlv(0x30, &oid("1.2.156.10197.1.401"));
    let data_oid = oid("1.2.156.10197.6.1.4.2.1");
    let attrs = cat(&[
        &tlv(
            0x30,
            &cat(&[&oid("1.2.840.113549.1.9.3"), &tlv(0x31, &data_oid)]),
        ),
        &tlv(
            0x30,
            &cat(&[
                &oid("1.2.840.113549.1.9.5"),
                &tlv(0x31, &tlv(0x17, b"240102030405Z")),
            ]),
        ),
        &tlv(
            0x30,
            &cat(&[
                &oid("1.2.840.113549.1.9.4"),
                &tlv(0x31, &tlv(0x04, &sm3(content))),
            ]),
        ),
    ]);
    let (signed, attr_field) = if with_attrs {
        (tlv(0x31, &attrs), tlv(0xA0, &attrs))
    } else {
        (content.to_vec(), Vec::new())
    };
    let sig = s.key.sign(SignatureAlgorithm::Sm2Sm3, &signed).unwrap();
    let sid = tlv(0x30, &cat(&[&s.name, &s.serial]));
    let si = tlv(
        0x30,
        &cat(&[
            &tlv(0x02, &[1]),
            &sid,
            &sm3_alg,
            &attr_field,
            &tlv(0x30, &oid("1.2.156.10197.1.301.1")),
            &tlv(0x04, &sig),
        ]),
    );
    let econtent = if attached {
        tlv(0xA0, &tlv(0x04, content))
    } else {
        Vec::new()
    };
    let eci = tlv(0x30, &cat(&[&data_oid, &econtent]));
    let certs = if certs {
        tlv(0xA0, &s.cert)
    } else {
        Vec::new()
    };
    let sd = tlv(
        0x30,
        &cat(&[
            &tlv(0x02, &[1]),
            &tlv(0x31, &sm3_alg),
            &eci,
            &certs,
            &tlv(0x31, &si),
        ]),
    );
    tlv(
        0x30,
        &cat(&[&oid("1.2.156.10197.6.1.4.2.2"), &tlv(0xA0, &sd)]),
    )
}
