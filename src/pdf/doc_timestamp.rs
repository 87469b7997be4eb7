//! A document time-stamp (PAdES B-LTA, ETSI EN 319 142-1 §5.5; ISO 32000-2 §12.8.5): an
//! incremental update with a `/DocTimeStamp` signature dictionary whose `/Contents` is an
//! RFC 3161 token over the byte ranges, in an invisible signature field. It covers everything
//! before it, the DSS included, so the validation data is itself protected by a time-stamp.
//!
//! The same two steps as a seal: [`prepare_doc_timestamp`] → [`Prepared::digest`] → ask the
//! TSA for a token over that digest → [`Prepared::finish`].

use super::file::PdfFile;
use super::object::{Dict, Object};
use super::signatures::SubFilter;
use super::stamp::{
    Numbers, Prepared, add_annot, add_field, close_byte_range, end_update, open_signature,
    write_obj,
};
use super::{Limits, PdfError, policy};

/// Lays out the time-stamp update of `input` with `capacity` bytes for the token. The field's
/// widget is invisible (`/Rect [0 0 0 0]`, no appearance) on the first page, as pyHanko does.
pub fn prepare_doc_timestamp(
    input: &[u8],
    capacity: usize,
    limits: &Limits,
) -> Result<Prepared, PdfError> {
    let file = PdfFile::open(input, limits)?;
    let existing = policy::inspect(&file)?;
    let upto = file.sections().len();
    let page = *file
        .pages_at(upto)?
        .first()
        .ok_or_else(|| PdfError::Structure("document without pages".into()))?;
    let trailer = file.trailer();
    let mut nums = Numbers::after(trailer)?;
    let sig = nums.next();
    let field = nums.next();

    let mut out = input.to_vec();
    if !out.ends_with(b"\n") && !out.ends_with(b"\r") {
        out.push(b'\n');
    }
    let mut offsets = Vec::new();
    let (byte_range_at, hole) = open_signature(
        &mut out,
        &mut offsets,
        sig,
        b"DocTimeStamp",
        SubFilter::Rfc3161,
        capacity,
    );
    out.extend_from_slice(b">>\nendobj\n");

    let field_name = (1..)
        .map(|n| format!("DocTimeStamp{n}"))
        .find(|n| !existing.field_names.contains(n))
        .unwrap_or_default();
    let mut wd = Dict::default();
    wd.set(b"Type", Object::name(b"Annot"));
    wd.set(b"Subtype", Object::name(b"Widget"));
    wd.set(b"FT", Object::name(b"Sig"));
    wd.set(b"T", Object::string(field_name.as_bytes()));
    wd.set(b"V", Object::Ref(sig));
    // Print + Locked, like the seal's widget; a zero rectangle shows nothing.
    wd.set(b"F", Object::Int(132));
    wd.set(b"Rect", Object::Array(vec![Object::Int(0); 4]));
    wd.set(b"P", Object::Ref(page));
    write_obj(&mut out, &mut offsets, field, &Object::Dict(wd));
    add_annot(&file, &mut out, &mut offsets, page, field)?;
    let (root, mut catalog) = file.catalog_at(upto)?;
    if add_field(
        &file,
        &mut out,
        &mut offsets,
        &mut nums,
        &mut catalog,
        Some(field),
    )? {
        write_obj(&mut out, &mut offsets, root, &Object::Dict(catalog));
    }

    end_update(&file, &mut out, trailer, &mut offsets, &mut nums)?;
    close_byte_range(&mut out, byte_range_at, &hole)?;
    Ok(Prepared {
        bytes: out,
        hole,
        normalised: false,
        field_name,
        rect: [0.0; 4],
    })
}
