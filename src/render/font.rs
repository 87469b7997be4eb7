//! The bundled CJK font: Noto Serif SC Bold subset to GB2312, ASCII and common punctuation
//! (`assets/fonts/README.md`), parsed once per process. The seal renderer draws with it and the
//! OFD writer embeds subsets of it.

use std::sync::OnceLock;

use ttf_parser::Face;

/// The font file's bytes.
pub(crate) static DATA: &[u8] = include_bytes!("../../assets/fonts/NotoSerifSC-Bold-GB2312.ttf");

/// The parsed font, or `None` if the bundled file is unusable (a build defect, not bad input).
pub(crate) fn face() -> Option<&'static Face<'static>> {
    static FACE: OnceLock<Option<Face<'static>>> = OnceLock::new();
    FACE.get_or_init(|| Face::parse(DATA, 0).ok()).as_ref()
}

/// Top of the ideographic em box above the baseline, in font units: CJK glyphs are designed in
/// that box (its bottom lies one em lower), so aligning boxes rather than ink keeps 一 and 口 on
/// the same line.
pub(crate) fn em_top(face: &Face<'_>) -> f32 {
    let upem = f32::from(face.units_per_em());
    // Noto CJK's typographic ascender/descender (880/−120) are exactly the em box; fall back to
    // the usual 88 % if a regenerated subset ever lacks them.
    match (face.typographic_ascender(), face.typographic_descender()) {
        (Some(asc), Some(desc)) if f32::from(asc) - f32::from(desc) == upem => f32::from(asc),
        _ => upem * 0.88,
    }
}
