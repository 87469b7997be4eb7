//! The bundled font inside an OFD: a subset with only the glyphs the document uses, and the
//! metrics its text is laid out with.
//!
//! OFD readers map each `TextCode` character to a glyph through the embedded font's `cmap`
//! (nothing in the page names glyph IDs unless `CGTransform` is used), so the subset must keep a
//! Unicode `cmap`. typst's `subsetter` makes the subset (glyphs renumbered, composite components
//! kept) but is built for PDF, where the CID font carries its own mapping: it drops `cmap` and
//! `OS/2`. We add them back: a format 4 `cmap` (platforms 0/3 and 3/1, the one subtable readers
//! and reportlab look for) from each used character to its new glyph, and the original `OS/2`
//! (weight, embedding rights, typographic metrics) with its first/last character fields made
//! true for the subset. The table directory is then written again (sorted, checksummed, head's
//! `checkSumAdjustment` recomputed).
//!
//! Why a subset at all: the bundled font is 3.0 MB (7 546 glyphs), 1.9 MB deflated in the zip.
//! A subset costs 0.3–0.4 KB per distinct hanzi: 18 KB for the 60 characters of
//! `examples/ofd_sample.rs`, about 65 KB for 150 (45 KB deflated at level 6; the zip deflates it
//! at level 1, some 15 % larger, for speed: `package.rs`). Keeping the whole font would
//! need no `cmap` work, but every licence would carry two megabytes of glyphs it never shows.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use ttf_parser::{Face, GlyphId, Rect, Tag};

use super::WriteError;

/// The bundled font with what laying out text needs.
pub(super) struct Font {
    face: &'static Face<'static>,
    /// Units per em.
    upem: f64,
    /// Top of the em box above the baseline, in font units.
    em_top: f64,
}

/// What laying out text needs of one glyph. Its ink box is computed from the outline (the box
/// stored in `glyf` may be wrong), which costs more than the rest of setting a text, so each
/// glyph's is read once per process.
#[derive(Clone, Copy)]
struct Metrics {
    /// Advance width in font units.
    advance: f64,
    /// The outline's bounding box; `None` for a glyph without ink (a space).
    ink: Option<Rect>,
}

/// A line of text measured in font units: where each glyph starts and the ink's extent.
pub(super) struct Measured {
    /// Pen position of each character from the line's start.
    pub(super) pen: Vec<f64>,
    /// Left end of the line's box: the pen start, or ink left of it.
    pub(super) left: f64,
    /// Right end: the last advance, or ink beyond it.
    pub(super) right: f64,
    /// Top above the baseline: the em box's top, or ink above it.
    pub(super) top: f64,
    /// Bottom below the baseline (negative): the em box's bottom, or ink below it.
    pub(super) bottom: f64,
}

impl Font {
    /// The bundled font.
    pub(super) fn bundled() -> Result<Self, WriteError> {
        let face = crate::render::font::face()
            .ok_or_else(|| WriteError::Font("the bundled font does not parse".into()))?;
        Ok(Font {
            face,
            upem: f64::from(face.units_per_em()),
            em_top: f64::from(crate::render::font::em_top(face)),
        })
    }

    /// Units per em.
    pub(super) fn upem(&self) -> f64 {
        self.upem
    }

    /// The family name (`name` ID 1), which the OFD `Font` resource is called by.
    pub(super) fn family(&self) -> Result<String, WriteError> {
        self.face
            .names()
            .into_iter()
            .filter(|n| n.name_id == ttf_parser::name_id::FAMILY && n.is_unicode())
            .find_map(|n| n.to_string())
            .ok_or_else(|| WriteError::Font("the bundled font has no family name".into()))
    }

    /// Whether the font is bold (weight 600 or more).
    pub(super) fn is_bold(&self) -> bool {
        self.face.is_bold()
    }

    /// The glyph for `c`; `None` if the font has none (mapping to `.notdef` counts as none: that
    /// is exactly the blank box we must not draw).
    fn glyph(&self, c: char) -> Option<GlyphId> {
        self.face.glyph_index(c).filter(|g| g.0 != 0)
    }

    /// The advance of `c` in font units; `Err(c)` if the font has no glyph for it.
    pub(super) fn advance(&self, c: char) -> Result<f64, char> {
        Ok(self.metrics(self.glyph(c).ok_or(c)?).advance)
    }

    /// The metrics of glyph `g`: read from the font on its first use in the process, then
    /// kept (one slot per glyph of the bundled font, filled without a lock).
    fn metrics(&self, g: GlyphId) -> Metrics {
        static TABLE: OnceLock<Box<[OnceLock<Metrics>]>> = OnceLock::new();
        let read = || Metrics {
            // One em if the font does not say.
            advance: self.face.glyph_hor_advance(g).map_or(self.upem, f64::from),
            ink: self.face.glyph_bounding_box(g),
        };
        let table = TABLE.get_or_init(|| {
            (0..self.face.number_of_glyphs())
                .map(|_| OnceLock::new())
                .collect()
        });
        match table.get(usize::from(g.0)) {
            Some(slot) => *slot.get_or_init(read),
            None => read(),
        }
    }

    /// Pen positions and extent of `text` set solid at one unit per font unit.
    pub(super) fn measure(&self, text: &str) -> Result<Measured, char> {
        let mut m = Measured {
            pen: Vec::new(),
            left: 0.0,
            right: 0.0,
            top: self.em_top,
            bottom: self.em_top - self.upem,
        };
        let mut pen = 0.0;
        for c in text.chars() {
            let g = self.metrics(self.glyph(c).ok_or(c)?);
            m.pen.push(pen);
            if let Some(b) = g.ink {
                m.left = m.left.min(pen + f64::from(b.x_min));
                m.right = m.right.max(pen + f64::from(b.x_max));
                m.top = m.top.max(f64::from(b.y_max));
                m.bottom = m.bottom.min(f64::from(b.y_min));
            }
            pen += g.advance;
        }
        m.right = m.right.max(pen);
        Ok(m)
    }

    /// A TrueType font with only the glyphs of `chars` (and `.notdef`), mapped by a Unicode
    /// `cmap`. Fails with [`WriteError::Font`] if a character has no glyph (the caller has
    /// measured every text first, so that names the culprit instead).
    pub(super) fn subset(&self, chars: &BTreeSet<char>) -> Result<Vec<u8>, WriteError> {
        let mut remapper = subsetter::GlyphRemapper::new();
        let mut map: Vec<(u16, u16)> = Vec::with_capacity(chars.len());
        for &c in chars {
            let missing = || WriteError::Font(format!("no glyph for {c:?}"));
            // A format 4 cmap holds the BMP; the bundled font has nothing beyond it.
            let code = u16::try_from(u32::from(c)).map_err(|_| missing())?;
            let old = self.glyph(c).ok_or_else(missing)?;
            map.push((code, remapper.remap(old.0)));
        }
        let sub = subsetter::subset(crate::render::font::DATA, 0, &remapper)
            .map_err(|e| WriteError::Font(format!("subsetting: {e}")))?;
        let mut tables = table_directory(&sub)
            .ok_or_else(|| WriteError::Font("the subset's table directory is damaged".into()))?;
        let cmap = cmap_format4(&map)
            .ok_or_else(|| WriteError::Font("too many characters for one cmap".into()))?;
        tables.push((*b"cmap", cmap));
        if let Some(os2) = self.face.raw_face().table(Tag::from_bytes(b"OS/2")) {
            tables.push((*b"OS/2", os2_for(os2, &map)));
        }
        assemble(tables).ok_or_else(|| WriteError::Font("the subset is too large".into()))
    }
}

/// Every (tag, bytes) table of an sfnt, in directory order.
fn table_directory(font: &[u8]) -> Option<Vec<([u8; 4], Vec<u8>)>> {
    let be16 = |at: usize| Some(u16::from_be_bytes(font.get(at..at + 2)?.try_into().ok()?));
    let be32 = |at: usize| {
        let v = u32::from_be_bytes(font.get(at..at + 4)?.try_into().ok()?);
        usize::try_from(v).ok()
    };
    (0..usize::from(be16(4)?))
        .map(|i| {
            let rec = 12 + 16 * i;
            let tag: [u8; 4] = font.get(rec..rec + 4)?.try_into().ok()?;
            let (offset, len) = (be32(rec + 8)?, be32(rec + 12)?);
            Some((tag, font.get(offset..offset.checked_add(len)?)?.to_vec()))
        })
        .collect()
}

/// A TrueType file of `tables`: sorted directory, 4-byte aligned tables, checksums and the
/// whole-file checksum adjustment in `head`.
fn assemble(mut tables: Vec<([u8; 4], Vec<u8>)>) -> Option<Vec<u8>> {
    tables.sort_by_key(|(tag, _)| *tag);
    let count = u16::try_from(tables.len()).ok()?;
    let entry_selector = u16::try_from(count.checked_ilog2()?).ok()?;
    let search_range = (1u16 << entry_selector) * 16;
    let mut out = Vec::new();
    out.extend_from_slice(&0x0001_0000u32.to_be_bytes());
    for v in [
        count,
        search_range,
        entry_selector,
        count * 16 - search_range,
    ] {
        out.extend_from_slice(&v.to_be_bytes());
    }
    let mut offset = 12 + 16 * tables.len();
    let mut head_at = None;
    for (tag, data) in &mut tables {
        if tag == b"head" {
            // checkSumAdjustment is computed over the file with this field zero.
            data.get_mut(8..12)?.fill(0);
            head_at = Some(offset + 8);
        }
        out.extend_from_slice(tag);
        out.extend_from_slice(&checksum(data).to_be_bytes());
        out.extend_from_slice(&u32::try_from(offset).ok()?.to_be_bytes());
        out.extend_from_slice(&u32::try_from(data.len()).ok()?.to_be_bytes());
        offset += data.len().next_multiple_of(4);
    }
    for (_, data) in &tables {
        out.extend_from_slice(data);
        out.resize(out.len().next_multiple_of(4), 0);
    }
    let at = head_at?;
    let adjustment = 0xB1B0_AFBAu32.wrapping_sub(checksum(&out));
    out.get_mut(at..at + 4)?
        .copy_from_slice(&adjustment.to_be_bytes());
    Some(out)
}

/// The sfnt checksum: big-endian u32 words summed, the tail padded with zeros.
fn checksum(data: &[u8]) -> u32 {
    data.chunks(4).fold(0u32, |sum, chunk| {
        let mut word = [0u8; 4];
        word[..chunk.len()].copy_from_slice(chunk);
        sum.wrapping_add(u32::from_be_bytes(word))
    })
}

/// A `cmap` table with one format 4 subtable (referenced as Unicode BMP by platforms 0/3 and
/// 3/1) mapping each (code, glyph) of `map`, which is sorted by code; `None` if the subtable
/// would exceed its 64 KiB length field.
fn cmap_format4(map: &[(u16, u16)]) -> Option<Vec<u8>> {
    // Segments of consecutive codes whose glyphs are consecutive too, each one idDelta; the
    // required last segment maps 0xFFFF to .notdef.
    let mut segments: Vec<(u16, u16, u16)> = Vec::new(); // (start, end, delta)
    for &(code, glyph) in map {
        let delta = glyph.wrapping_sub(code);
        match segments.last_mut() {
            Some((_, end, d)) if end.checked_add(1) == Some(code) && *d == delta => *end = code,
            _ => segments.push((code, code, delta)),
        }
    }
    if segments.last().is_none_or(|&(_, end, _)| end != 0xFFFF) {
        segments.push((0xFFFF, 0xFFFF, 1));
    }
    let length = u16::try_from(16 + 8 * segments.len()).ok()?;
    let seg_count = u16::try_from(segments.len()).ok()?;
    let entry_selector = u16::try_from(seg_count.ilog2()).ok()?;
    let search_range = 2u16 << entry_selector;
    let mut sub: Vec<u8> = Vec::new();
    for v in [
        4,
        length,
        0,
        seg_count * 2,
        search_range,
        entry_selector,
        seg_count * 2 - search_range,
    ] {
        sub.extend_from_slice(&u16::to_be_bytes(v));
    }
    sub.extend(segments.iter().flat_map(|s| s.1.to_be_bytes()));
    sub.extend_from_slice(&[0, 0]); // reservedPad
    sub.extend(segments.iter().flat_map(|s| s.0.to_be_bytes()));
    sub.extend(segments.iter().flat_map(|s| s.2.to_be_bytes()));
    sub.extend(segments.iter().flat_map(|_| [0u8, 0])); // idRangeOffset: deltas only
    let mut table = Vec::new();
    // version 0, two encoding records (sorted by platform) sharing the subtable at offset 20.
    for v in [0u16, 2, 0, 3] {
        table.extend_from_slice(&v.to_be_bytes());
    }
    table.extend_from_slice(&20u32.to_be_bytes());
    for v in [3u16, 1] {
        table.extend_from_slice(&v.to_be_bytes());
    }
    table.extend_from_slice(&20u32.to_be_bytes());
    table.extend_from_slice(&sub);
    Some(table)
}

/// The original `OS/2` table with usFirstCharIndex / usLastCharIndex set to the subset's.
fn os2_for(original: &[u8], map: &[(u16, u16)]) -> Vec<u8> {
    let mut os2 = original.to_vec();
    if let (Some(first), Some(last), Some(fields)) = (map.first(), map.last(), os2.get_mut(64..68))
    {
        fields[..2].copy_from_slice(&first.0.to_be_bytes());
        fields[2..].copy_from_slice(&last.0.to_be_bytes());
    }
    os2
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn subset_maps_every_used_character_to_the_same_outline() {
        let font = Font::bundled().unwrap();
        let text = "行政许可决定书 某某有限公司（2024）No.7";
        let chars: BTreeSet<char> = text.chars().collect();
        let bytes = font.subset(&chars).unwrap();
        let sub = Face::parse(&bytes, 0).unwrap();
        // .notdef plus one glyph per distinct character (the font has no composites for these).
        assert_eq!(usize::from(sub.number_of_glyphs()), chars.len() + 1);
        assert_eq!(sub.units_per_em(), font.face.units_per_em());
        for &c in &chars {
            let new = sub
                .glyph_index(c)
                .unwrap_or_else(|| panic!("{c:?} not in the subset"));
            assert_ne!(new.0, 0, "{c:?}");
            let old = font.glyph(c).unwrap();
            assert_eq!(
                sub.glyph_hor_advance(new),
                font.face.glyph_hor_advance(old),
                "{c:?}"
            );
            assert_eq!(
                sub.glyph_bounding_box(new),
                font.face.glyph_bounding_box(old),
                "{c:?}"
            );
        }
        // Characters the document does not use are gone.
        assert_eq!(sub.glyph_index('国'), None);
        assert!(sub.is_bold());
        assert!(bytes.len() < 40_000, "{} bytes", bytes.len());
        // The whole-file checksum (with head's adjustment) comes out as the magic number.
        assert_eq!(checksum(&bytes), 0xB1B0_AFBA);
    }

    #[test]
    fn cmap_segments_merge_runs_and_end_with_ffff() {
        let t = cmap_format4(&[(0x41, 1), (0x42, 2), (0x43, 3), (0x4E00, 4), (0x4E01, 9)]).unwrap();
        let sub = &t[20..];
        let seg_count = usize::from(u16::from_be_bytes([sub[6], sub[7]]) / 2);
        // A-C is one segment, 一 and 丁 are two (their glyphs are not consecutive), plus 0xFFFF.
        assert_eq!(seg_count, 4);
        let face_like = ttf_parser::cmap::Subtable4::parse(sub).unwrap();
        assert_eq!(face_like.glyph_index(0x42), Some(GlyphId(2)));
        assert_eq!(face_like.glyph_index(0x4E01), Some(GlyphId(9)));
        assert_eq!(face_like.glyph_index(0x44), None);
    }

    #[test]
    fn measure_names_the_missing_character() {
        let font = Font::bundled().unwrap();
        assert!(font.measure("许可").is_ok());
        assert_eq!(font.measure("许可😀").err(), Some('😀'));
        assert_eq!(font.measure("\u{7}").err(), Some('\u{7}'));
    }
}
