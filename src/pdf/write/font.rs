//! The bundled font inside a PDF: a Type 0 font (`Identity-H`) over a `CIDFontType2` whose
//! `FontFile2` is a subset of the glyphs the document uses.
//!
//! typst's `subsetter` renumbers the kept glyphs 1…n (0 stays `.notdef`) and drops `cmap`,
//! which a CID font does not need: the content streams name glyphs by their new IDs as
//! two-byte CIDs, `CIDToGIDMap /Identity` maps each CID to the glyph of the same number, `W`
//! gives every CID its advance, and the `ToUnicode` CMap maps each CID back to its character
//! so that text can be searched and extracted.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use sha2::{Digest, Sha256};
use ttf_parser::Face;

use super::Body;
use crate::ofd::write::WriteError;
use crate::pdf::object::{Dict, Object, Ref};

/// The bundled font with the glyph of each character the document uses.
pub(super) struct Font {
    face: &'static Face<'static>,
    /// Each character with the glyph it has in the bundled font.
    glyphs: BTreeMap<char, u16>,
}

/// The subset: each character's CID (its glyph in the subset).
pub(super) struct Subset {
    cids: BTreeMap<char, u16>,
}

impl Font {
    /// The bundled font, with no characters yet.
    pub(super) fn bundled() -> Result<Self, WriteError> {
        let face = crate::render::font::face()
            .ok_or_else(|| WriteError::Font("the bundled font does not parse".into()))?;
        Ok(Font {
            face,
            glyphs: BTreeMap::new(),
        })
    }

    /// Records the characters of `text`; the first one without a glyph (mapping to `.notdef`
    /// counts as none: it would draw a blank box) is returned as the error.
    pub(super) fn add(&mut self, text: &str) -> Result<(), char> {
        for c in text.chars() {
            let g = self.face.glyph_index(c).filter(|g| g.0 != 0).ok_or(c)?;
            self.glyphs.insert(c, g.0);
        }
        Ok(())
    }

    /// Writes the font's objects into `body` and returns the Type 0 font's reference and the
    /// CIDs to show text with.
    pub(super) fn write(&self, body: &mut Body) -> Result<(Ref, Subset), WriteError> {
        let mut remapper = subsetter::GlyphRemapper::new();
        let cids: BTreeMap<char, u16> = self
            .glyphs
            .iter()
            .map(|(&c, &g)| (c, remapper.remap(g)))
            .collect();
        let program = subsetter::subset(crate::render::font::DATA, 0, &remapper)
            .map_err(|e| WriteError::Font(format!("subsetting: {e}")))?;
        let name = self.subset_name()?;
        let face = self.face;
        let k = 1000.0 / f64::from(face.units_per_em());
        let scaled = |v: f64| Object::Int(round(v * k));

        let mut file = Dict::default();
        file.set(b"Length1", Object::Int(len(program.len())));
        let file = body.stream(file, &program, true);

        let bbox = face.global_bounding_box();
        let mut descriptor = Dict::default();
        descriptor.set(b"Type", Object::name(b"FontDescriptor"));
        descriptor.set(b"FontName", Object::Name(name.clone()));
        // Symbolic (its glyphs are not the standard Latin set) and serif.
        descriptor.set(b"Flags", Object::Int(4 | 2));
        descriptor.set(
            b"FontBBox",
            Object::Array(
                [bbox.x_min, bbox.y_min, bbox.x_max, bbox.y_max]
                    .map(|v| scaled(f64::from(v)))
                    .to_vec(),
            ),
        );
        descriptor.set(b"ItalicAngle", Object::Int(0));
        descriptor.set(b"Ascent", scaled(f64::from(face.ascender())));
        descriptor.set(b"Descent", scaled(f64::from(face.descender())));
        descriptor.set(
            b"CapHeight",
            scaled(f64::from(face.capital_height().unwrap_or(face.ascender()))),
        );
        // No font program states its stem width; these are the usual estimates for bold and
        // regular weights (only used by readers that substitute the font, never here).
        descriptor.set(b"StemV", Object::Int(if face.is_bold() { 140 } else { 80 }));
        descriptor.set(b"FontFile2", Object::Ref(file));
        let descriptor = body.object(Object::Dict(descriptor));

        // CIDs are 1…n in order of the remapper; one run gives every width.
        let mut advances: BTreeMap<u16, i64> = BTreeMap::new();
        for (&c, &cid) in &cids {
            let g = self.glyphs[&c];
            let advance = face
                .glyph_hor_advance(ttf_parser::GlyphId(g))
                .map_or(1000, |a| round(f64::from(a) * k));
            advances.insert(cid, advance);
        }
        let mut w = Vec::new();
        let mut run: Option<(u16, Vec<Object>)> = None;
        for (&cid, &adv) in &advances {
            match &mut run {
                Some((first, widths)) if usize::from(*first) + widths.len() == usize::from(cid) => {
                    widths.push(Object::Int(adv));
                }
                _ => {
                    if let Some((first, widths)) = run.take() {
                        w.extend([Object::Int(i64::from(first)), Object::Array(widths)]);
                    }
                    run = Some((cid, vec![Object::Int(adv)]));
                }
            }
        }
        if let Some((first, widths)) = run {
            w.extend([Object::Int(i64::from(first)), Object::Array(widths)]);
        }

        let mut system = Dict::default();
        system.set(b"Registry", Object::string(b"Adobe"));
        system.set(b"Ordering", Object::string(b"Identity"));
        system.set(b"Supplement", Object::Int(0));
        let mut cid_font = Dict::default();
        cid_font.set(b"Type", Object::name(b"Font"));
        cid_font.set(b"Subtype", Object::name(b"CIDFontType2"));
        cid_font.set(b"BaseFont", Object::Name(name.clone()));
        cid_font.set(b"CIDSystemInfo", Object::Dict(system));
        cid_font.set(b"FontDescriptor", Object::Ref(descriptor));
        cid_font.set(b"DW", Object::Int(1000));
        cid_font.set(b"W", Object::Array(w));
        cid_font.set(b"CIDToGIDMap", Object::name(b"Identity"));
        let cid_font = body.object(Object::Dict(cid_font));

        let to_unicode = body.stream(Dict::default(), to_unicode(&cids).as_bytes(), true);
        let mut font = Dict::default();
        font.set(b"Type", Object::name(b"Font"));
        font.set(b"Subtype", Object::name(b"Type0"));
        font.set(b"BaseFont", Object::Name(name));
        font.set(b"Encoding", Object::name(b"Identity-H"));
        font.set(
            b"DescendantFonts",
            Object::Array(vec![Object::Ref(cid_font)]),
        );
        font.set(b"ToUnicode", Object::Ref(to_unicode));
        Ok((body.object(Object::Dict(font)), Subset { cids }))
    }

    /// `ABCDEF+Family-Style`: the PostScript name behind a tag of six capitals that depends on
    /// the glyphs kept (ISO 32000-1 §9.6.4), so the same text always gives the same name.
    fn subset_name(&self) -> Result<Vec<u8>, WriteError> {
        let ps = self
            .face
            .names()
            .into_iter()
            .filter(|n| n.name_id == ttf_parser::name_id::POST_SCRIPT_NAME)
            .find_map(|n| n.to_string())
            .ok_or_else(|| WriteError::Font("the bundled font has no PostScript name".into()))?;
        let glyphs: BTreeSet<u16> = self.glyphs.values().copied().collect();
        let mut h = Sha256::new();
        for g in &glyphs {
            h.update(g.to_be_bytes());
        }
        let tag: Vec<u8> = h.finalize()[..6].iter().map(|b| b'A' + b % 26).collect();
        let mut name = tag;
        name.push(b'+');
        name.extend(ps.bytes().filter(u8::is_ascii_graphic));
        Ok(name)
    }
}

impl Subset {
    /// `text` as a string of two-byte CIDs (`Identity-H`), or the first character the subset
    /// lacks.
    pub(super) fn encode(&self, text: &str) -> Result<Vec<u8>, char> {
        let mut out = Vec::with_capacity(text.len() * 2);
        for c in text.chars() {
            out.extend_from_slice(&self.cids.get(&c).ok_or(c)?.to_be_bytes());
        }
        Ok(out)
    }
}

/// A `ToUnicode` CMap (Adobe technical note #5411) from each CID to its character, in
/// `bfchar` blocks of at most 100 entries as the format requires.
fn to_unicode(cids: &BTreeMap<char, u16>) -> String {
    let mut by_cid: BTreeMap<u16, char> = BTreeMap::new();
    for (&c, &cid) in cids {
        // Two characters on one glyph: the first (lowest code point) is what extraction gives.
        by_cid.entry(cid).or_insert(c);
    }
    let mut s = String::from(
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n\
         /CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n\
         /CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n\
         1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n",
    );
    let entries: Vec<(u16, char)> = by_cid.into_iter().collect();
    for block in entries.chunks(100) {
        let _ = writeln!(s, "{} beginbfchar", block.len());
        for &(cid, c) in block {
            let mut units = [0u16; 2];
            let hex: String = c
                .encode_utf16(&mut units)
                .iter()
                .map(|u| format!("{u:04X}"))
                .collect();
            let _ = writeln!(s, "<{cid:04X}> <{hex}>");
        }
        s.push_str("endbfchar\n");
    }
    s.push_str("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n");
    s
}

/// A font-unit value scaled to glyph space, to the nearest integer.
#[allow(clippy::cast_possible_truncation)]
fn round(v: f64) -> i64 {
    v.round() as i64
}

/// A byte count as a PDF integer.
fn len(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
