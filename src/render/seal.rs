//! The standard round red official seal (公章) as a transparent PNG.
//!
//! Layout follows the GA 241-2000 convention for a 42 mm seal and scales proportionally for
//! other diameters: a 1.2 mm red rim, the organisation name clockwise along the top arc with
//! characters upright relative to the centre, a solid five-pointed star 14 mm across in the
//! centre, the purpose (合同专用章 …) horizontally under the star, and an optional code line
//! (the 13-digit seal code) read left to right along the bottom arc.
//!
//! Text is drawn from the embedded Noto Serif SC Bold subset (GB2312 + ASCII, see
//! `assets/fonts/README.md`); a character the subset lacks is an error, never a tofu box, because
//! a seal with a wrong or blank character is worse than no seal.

use tiny_skia::{Color, FillRule, Paint, Path, PathBuilder, Pixmap, Stroke, Transform};
use ttf_parser::{Face, GlyphId, OutlineBuilder};

/// Seal red (#E0201A): strong enough to read as ink on white paper and on screens.
pub(super) const SEAL_RED: [u8; 3] = [0xE0, 0x20, 0x1A];

/// Default diameter of a 公章 in millimetres.
pub const DEFAULT_DIAMETER_MM: f32 = 42.0;
/// Default rendering resolution in dots per inch (print quality).
pub const DEFAULT_DPI: f32 = 300.0;

/// Fewest characters the organisation name may have.
pub const RIM_TEXT_MIN_CHARS: usize = 2;
/// Most characters the organisation name may have (longer ones become unreadable at 42 mm).
pub const RIM_TEXT_MAX_CHARS: usize = 40;
/// Most characters the purpose line under the star may have.
pub const CENTER_TEXT_MAX_CHARS: usize = 12;
/// Most characters the bottom code line may have (13-digit seal code, 18-character USCC).
pub const BOTTOM_CODE_MAX_CHARS: usize = 24;

/// Accepted diameters in millimetres: real seals are 38–45 mm; the margin allows thumbnails
/// and oversized prints without accepting nonsense.
pub const DIAMETER_RANGE_MM: std::ops::RangeInclusive<f32> = 20.0..=80.0;
/// Accepted resolutions in dots per inch.
const DPI_RANGE: std::ops::RangeInclusive<f32> = 72.0..=1200.0;
/// Largest image side in pixels, to bound memory (4000² RGBA = 64 MB).
const MAX_SIDE_PX: f32 = 4000.0;

// Geometry, in millimetres of a 42 mm seal; everything scales with the diameter.
/// Reference diameter the constants below are given for.
const REF_DIAMETER: f32 = 42.0;
/// Rim thickness.
const RIM_WIDTH: f32 = 1.2;
/// Gap between the rim's inner edge and the top of the name's em boxes.
const RIM_TEXT_GAP: f32 = 0.6;
/// Em height of the name when it fits at the narrowest glyph proportion allowed.
const RIM_TEXT_EM: f32 = 7.0;
/// Narrowest width/height ratio a name's glyph is drawn at. Engravers compress 宋体 on a seal
/// to about two thirds; beyond that they shrink the characters and widen the arc instead,
/// since a glyph squeezed to a third of its width no longer reads.
const RIM_TEXT_MIN_ASPECT: f32 = 0.62;
/// Names up to this many characters keep the standard arc; longer ones widen it.
const RIM_TEXT_WIDEN_FROM: usize = 18;
/// Names of this many characters or more get the widest arc.
const RIM_TEXT_WIDEST_AT: usize = 30;
/// Space between neighbouring characters of the name, as a fraction of the em.
const RIM_TEXT_TRACKING: f32 = 0.12;
/// Standard arc of the name; its ends (125° either side of the top) stay clear of the
/// purpose line and of the code line.
const RIM_TEXT_MAX_SPAN_DEG: f32 = 250.0;
/// Widest arc, for the longest names: 140° either side of the top, still above the code line
/// (35° either side of the bottom) and beside the purpose line (at most 18 mm wide).
const RIM_TEXT_WIDEST_SPAN_DEG: f32 = 280.0;
/// Smallest arc a name of five or more characters is spread over, so that short names still
/// start lower-left and end lower-right.
const RIM_TEXT_MIN_SPAN_DEG: f32 = 210.0;
/// How much wider than natural a very short name (2–4 characters) may be spread.
const RIM_TEXT_MAX_SPREAD: f32 = 1.4;
/// Radius of the star's circumscribed circle (14 mm across).
const STAR_RADIUS: f32 = 7.0;
/// Inner/outer radius ratio of a regular five-pointed star: sin 18° / sin 54°.
const STAR_INNER_RATIO: f32 = 0.381_966;
/// Em height of the purpose line when it fits in `CENTER_TEXT_MAX_WIDTH`.
const CENTER_TEXT_EM: f32 = 4.6;
/// Smallest em height a long purpose line shrinks to before it is compressed instead.
const CENTER_TEXT_EM_SMALLEST: f32 = 3.2;
/// Distance below the centre of the purpose line's em-box top (clear of the star's lower tips
/// at 5.7 mm).
const CENTER_TEXT_TOP: f32 = 6.8;
/// Widest the purpose line may be before it is compressed.
const CENTER_TEXT_MAX_WIDTH: f32 = 18.0;
/// Em height of the bottom code line.
const CODE_EM: f32 = 2.6;
/// Gap between the rim's inner edge and the outer (bottom) edge of the code's em boxes.
const CODE_GAP: f32 = 0.35;
/// Space between code characters, as a fraction of the em.
const CODE_TRACKING: f32 = 0.08;
/// Largest arc the code line may cover, so that it stays clear of the name's ends.
const CODE_MAX_SPAN_DEG: f32 = 70.0;

/// What to draw: the texts, the real size and the resolution.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SealImageSpec<'a> {
    /// Organisation name along the top arc (2–40 characters).
    pub rim_text: &'a str,
    /// Purpose under the star (e.g. 合同专用章); may be empty.
    pub center_text: &'a str,
    /// Small code line along the bottom arc (e.g. the 13-digit seal code).
    pub bottom_code: Option<&'a str>,
    /// Real diameter in millimetres (42 by default; 40 and 38 are common).
    pub diameter_mm: f32,
    /// Resolution in dots per inch (300 by default).
    pub dpi: f32,
}

impl<'a> SealImageSpec<'a> {
    /// A 42 mm, 300 dpi seal with the given name and purpose and no code line.
    pub fn new(rim_text: &'a str, center_text: &'a str) -> Self {
        Self {
            rim_text,
            center_text,
            bottom_code: None,
            diameter_mm: DEFAULT_DIAMETER_MM,
            dpi: DEFAULT_DPI,
        }
    }
}

/// Why a seal image could not be rendered or a PNG could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RenderError {
    /// The embedded font has no glyph for this character (outside GB2312/ASCII, or an emoji).
    #[error("the seal font has no glyph for {0:?} (U+{code:04X})", code = u32::from(*.0))]
    MissingGlyph(char),
    /// The organisation name is empty or only whitespace.
    #[error("the seal text is empty")]
    EmptyText,
    /// A text has fewer characters than a seal can carry.
    #[error("the seal text is too short (at least {min} characters)")]
    TooShort {
        /// Fewest characters allowed.
        min: usize,
    },
    /// A text has more characters than its place on the seal can carry.
    #[error("the seal text is too long (at most {max} characters)")]
    TooLong {
        /// Most characters allowed.
        max: usize,
    },
    /// Diameter or resolution is out of range or not a number.
    #[error("bad seal size: {0}")]
    BadSize(String),
    /// The rendered image could not be encoded as PNG.
    #[error("the seal image could not be encoded as PNG")]
    Encode,
    /// The bytes are not a PNG this service accepts.
    #[error("not a usable PNG image: {0}")]
    InvalidPng(String),
    /// The embedded font could not be parsed (a build defect, not bad input).
    #[error("the embedded seal font is unusable")]
    Font,
}

/// Renders the official seal described by `spec` as PNG bytes (RGBA, transparent background).
pub fn render_official_seal(spec: &SealImageSpec) -> Result<Vec<u8>, RenderError> {
    indexed_png(&render_pixmap(spec)?, SEAL_RED)
}

/// Encodes a one-colour drawing as an 8-bit indexed PNG whose palette is `ink` at every
/// opacity (PLTE + tRNS): a quarter of the RGBA bytes before compression, so the picture —
/// which every SESeal and every signature made with it carries — is about a third the size.
pub fn indexed_png(pixmap: &Pixmap, ink: [u8; 3]) -> Result<Vec<u8>, RenderError> {
    // Ink is one colour everywhere (only its coverage varies), so a pixel's index is its alpha.
    let indices: Vec<u8> = pixmap.pixels().iter().map(|p| p.alpha()).collect();
    let palette: Vec<u8> = (0..=255u8).flat_map(|_| ink).collect();
    let alphas: Vec<u8> = (0..=255u8).collect();
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, pixmap.width(), pixmap.height());
    encoder.set_color(png::ColorType::Indexed);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_palette(palette);
    encoder.set_trns(alphas);
    encoder.set_compression(png::Compression::High);
    let mut writer = encoder.write_header().map_err(|_| RenderError::Encode)?;
    writer
        .write_image_data(&indices)
        .map_err(|_| RenderError::Encode)?;
    writer.finish().map_err(|_| RenderError::Encode)?;
    Ok(out)
}

/// Largest width or height `png_dimensions` accepts.
pub const PNG_MAX_SIDE: u32 = 8192;
/// Largest pixel count `png_dimensions` accepts (64 MB decoded as RGBA).
pub const PNG_MAX_PIXELS: u64 = 16 * 1024 * 1024;

/// Width and height of a PNG, after checking that it decodes completely.
///
/// The header's size is checked first: the decoder allocates the whole frame up front, so a
/// tiny file claiming 60000×60000 pixels would otherwise allocate gigabytes.
pub fn png_dimensions(png: &[u8]) -> Result<(u32, u32), RenderError> {
    let (width, height) = png_header_size(png)?;
    if width == 0
        || height == 0
        || width > PNG_MAX_SIDE
        || height > PNG_MAX_SIDE
        || u64::from(width) * u64::from(height) > PNG_MAX_PIXELS
    {
        return Err(RenderError::InvalidPng(format!(
            "{width}×{height} pixels is outside the accepted size"
        )));
    }
    let pixmap = Pixmap::decode_png(png).map_err(|e| RenderError::InvalidPng(e.to_string()))?;
    Ok((pixmap.width(), pixmap.height()))
}

/// Reads width and height from the IHDR chunk, which PNG requires to come first.
fn png_header_size(png: &[u8]) -> Result<(u32, u32), RenderError> {
    const SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
    let bad = |why: &str| RenderError::InvalidPng(why.to_owned());
    let rest = png
        .strip_prefix(SIGNATURE)
        .ok_or_else(|| bad("no PNG signature"))?;
    let chunk_type = rest.get(4..8).ok_or_else(|| bad("truncated header"))?;
    if chunk_type != b"IHDR" {
        return Err(bad("the first chunk is not IHDR"));
    }
    let be_u32 = |range: std::ops::Range<usize>| -> Result<u32, RenderError> {
        let bytes: [u8; 4] = rest
            .get(range)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| bad("truncated header"))?;
        Ok(u32::from_be_bytes(bytes))
    };
    Ok((be_u32(8..12)?, be_u32(12..16)?))
}

/// The font plus the metrics every text placement needs.
pub(super) struct Font {
    /// The parsed face.
    face: &'static Face<'static>,
    /// Units per em.
    pub(super) upem: f32,
    /// Top of the ideographic em box above the baseline, in font units: CJK glyphs are
    /// designed in that box, so aligning boxes (not ink) keeps 一 and 口 on the same line.
    pub(super) em_top: f32,
}

impl Font {
    /// The embedded font with its em-box metrics.
    pub(super) fn embedded() -> Result<Self, RenderError> {
        let face = super::font::face().ok_or(RenderError::Font)?;
        Ok(Self {
            face,
            upem: f32::from(face.units_per_em()),
            em_top: super::font::em_top(face),
        })
    }

    /// Glyph and advance for every character, failing on the first one the font lacks.
    pub(super) fn shape(&self, text: &str) -> Result<Vec<Glyph>, RenderError> {
        text.chars()
            .map(|c| {
                let id = self
                    .face
                    .glyph_index(c)
                    .ok_or(RenderError::MissingGlyph(c))?;
                // A mapped glyph id 0 is .notdef, i.e. exactly the tofu box we must not draw.
                if id.0 == 0 {
                    return Err(RenderError::MissingGlyph(c));
                }
                let advance = self.face.glyph_hor_advance(id).map_or(self.upem, f32::from);
                let path = glyph_path(self.face, id);
                Ok(Glyph { advance, path })
            })
            .collect()
    }
}

/// One character ready to draw.
pub(super) struct Glyph {
    /// Horizontal advance in font units.
    pub(super) advance: f32,
    /// Outline in font units (y up); `None` for blank glyphs such as spaces.
    pub(super) path: Option<Path>,
}

/// Collects a glyph outline from ttf-parser into a tiny-skia path.
struct PathSink(PathBuilder);

impl OutlineBuilder for PathSink {
    fn move_to(&mut self, x: f32, y: f32) {
        self.0.move_to(x, y);
    }
    fn line_to(&mut self, x: f32, y: f32) {
        self.0.line_to(x, y);
    }
    fn quad_to(&mut self, x1: f32, y1: f32, x: f32, y: f32) {
        self.0.quad_to(x1, y1, x, y);
    }
    fn curve_to(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, x: f32, y: f32) {
        self.0.cubic_to(x1, y1, x2, y2, x, y);
    }
    fn close(&mut self) {
        self.0.close();
    }
}

/// The outline of a glyph in font units, or `None` if it has no ink.
fn glyph_path(face: &Face<'_>, id: GlyphId) -> Option<Path> {
    let mut sink = PathSink(PathBuilder::new());
    face.outline_glyph(id, &mut sink)?;
    sink.0.finish()
}

/// Validated texts of a spec, trimmed.
struct Texts<'a> {
    /// Organisation name.
    rim: &'a str,
    /// Purpose line; may be empty.
    center: &'a str,
    /// Code line; may be empty.
    code: &'a str,
}

/// Checks lengths; glyph coverage is checked when shaping.
fn validate_texts<'a>(spec: &SealImageSpec<'a>) -> Result<Texts<'a>, RenderError> {
    let rim = spec.rim_text.trim();
    let rim_len = rim.chars().count();
    if rim_len == 0 {
        return Err(RenderError::EmptyText);
    }
    if rim_len < RIM_TEXT_MIN_CHARS {
        return Err(RenderError::TooShort {
            min: RIM_TEXT_MIN_CHARS,
        });
    }
    if rim_len > RIM_TEXT_MAX_CHARS {
        return Err(RenderError::TooLong {
            max: RIM_TEXT_MAX_CHARS,
        });
    }
    let center = spec.center_text.trim();
    if center.chars().count() > CENTER_TEXT_MAX_CHARS {
        return Err(RenderError::TooLong {
            max: CENTER_TEXT_MAX_CHARS,
        });
    }
    let code = spec.bottom_code.unwrap_or("").trim();
    if code.chars().count() > BOTTOM_CODE_MAX_CHARS {
        return Err(RenderError::TooLong {
            max: BOTTOM_CODE_MAX_CHARS,
        });
    }
    Ok(Texts { rim, center, code })
}

/// Side of the square image in pixels for a diameter and resolution.
fn image_side(diameter_mm: f32, dpi: f32) -> Result<u32, RenderError> {
    if !diameter_mm.is_finite() || !DIAMETER_RANGE_MM.contains(&diameter_mm) {
        return Err(RenderError::BadSize(format!(
            "diameter {diameter_mm} mm is outside {}–{} mm",
            DIAMETER_RANGE_MM.start(),
            DIAMETER_RANGE_MM.end()
        )));
    }
    pixels(diameter_mm, dpi)
}

/// Pixels for a length at a resolution, after checking the resolution and the largest side.
pub(super) fn pixels(mm: f32, dpi: f32) -> Result<u32, RenderError> {
    if !dpi.is_finite() || !DPI_RANGE.contains(&dpi) {
        return Err(RenderError::BadSize(format!(
            "resolution {dpi} dpi is outside {}–{} dpi",
            DPI_RANGE.start(),
            DPI_RANGE.end()
        )));
    }
    let side = (mm / 25.4 * dpi).round();
    if !(1.0..=MAX_SIDE_PX).contains(&side) {
        return Err(RenderError::BadSize(format!(
            "{mm} mm at {dpi} dpi is {side} px, outside 1–{MAX_SIDE_PX} px"
        )));
    }
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "side is a rounded value in 1..=4000, checked above"
    )]
    Ok(side as u32)
}

/// Renders the seal into a pixmap (premultiplied RGBA).
pub(crate) fn render_pixmap(spec: &SealImageSpec) -> Result<Pixmap, RenderError> {
    let texts = validate_texts(spec)?;
    let side = image_side(spec.diameter_mm, spec.dpi)?;
    let font = Font::embedded()?;
    // Shape everything before drawing anything, so a missing glyph fails fast.
    let rim = font.shape(texts.rim)?;
    let center = font.shape(texts.center)?;
    let code = font.shape(texts.code)?;

    let mut pixmap =
        Pixmap::new(side, side).ok_or_else(|| RenderError::BadSize(format!("{side} px")))?;
    let side_f = pixmap.width() as f32;
    let geo = Geometry {
        c: side_f / 2.0,
        u: side_f / REF_DIAMETER,
        // Half a pixel of margin keeps the anti-aliased outer edge inside the image.
        outer: side_f / 2.0 - 0.5,
    };
    let paint = seal_paint();
    draw_rim(&mut pixmap, &paint, &geo);
    draw_star(&mut pixmap, &paint, &geo);
    draw_rim_text(&mut pixmap, &paint, &geo, &font, &rim);
    draw_center_text(&mut pixmap, &paint, &geo, &font, &center);
    draw_code(&mut pixmap, &paint, &geo, &font, &code);
    Ok(pixmap)
}

/// Seal red, anti-aliased: the only ink a seal has.
pub(super) fn seal_paint() -> Paint<'static> {
    let mut paint = Paint::default();
    paint.set_color(Color::from_rgba8(
        SEAL_RED[0],
        SEAL_RED[1],
        SEAL_RED[2],
        0xFF,
    ));
    paint.anti_alias = true;
    paint
}

/// Where things go, in pixels.
struct Geometry {
    /// Centre coordinate (x and y).
    c: f32,
    /// Pixels per millimetre of the 42 mm reference seal.
    u: f32,
    /// Outer radius of the rim.
    outer: f32,
}

impl Geometry {
    /// Inner radius of the rim.
    fn rim_inner(&self) -> f32 {
        self.outer - RIM_WIDTH * self.u
    }
}

/// The red circle outline.
fn draw_rim(pixmap: &mut Pixmap, paint: &Paint, geo: &Geometry) {
    let width = RIM_WIDTH * geo.u;
    if let Some(circle) = PathBuilder::from_circle(geo.c, geo.c, geo.outer - width / 2.0) {
        let stroke = Stroke {
            width,
            ..Stroke::default()
        };
        pixmap.stroke_path(&circle, paint, &stroke, Transform::identity(), None);
    }
}

/// The solid five-pointed star in the centre, one point up.
fn draw_star(pixmap: &mut Pixmap, paint: &Paint, geo: &Geometry) {
    let outer = STAR_RADIUS * geo.u;
    let mut pb = PathBuilder::new();
    for i in 0..10u8 {
        let r = if i % 2 == 0 {
            outer
        } else {
            outer * STAR_INNER_RATIO
        };
        let a = (f32::from(i) * 36.0).to_radians();
        let (x, y) = (geo.c + r * a.sin(), geo.c - r * a.cos());
        if i == 0 {
            pb.move_to(x, y);
        } else {
            pb.line_to(x, y);
        }
    }
    pb.close();
    if let Some(star) = pb.finish() {
        pixmap.fill_path(&star, paint, FillRule::Winding, Transform::identity(), None);
    }
}

/// Angular layout of a line of glyphs along an arc.
struct ArcLayout {
    /// Centre angle of each glyph, in degrees, measured from the arc's middle.
    centres_deg: Vec<f32>,
    /// Horizontal scale applied to glyphs (1 = natural, < 1 = compressed).
    hscale: f32,
}

/// Narrowest a glyph is compressed to before the gaps between glyphs give way instead.
const MIN_HSCALE: f32 = 0.3;

/// Spreads glyphs over an arc: natural width if it fits within `max_span_deg`, compressed
/// horizontally if not, spread out to `min_span_deg` if shorter.
///
/// `radius` is where glyph widths are measured; callers pass a radius near the glyphs' inner
/// edge, where neighbours on an arc come closest. Compression narrows the glyphs and keeps the
/// gaps (`tracking`, in pixels), as seal engravers do, so long names stay separate characters.
fn arc_layout(
    glyphs: &[Glyph],
    scale: f32,
    tracking: f32,
    radius: f32,
    min_span_deg: f32,
    max_span_deg: f32,
) -> ArcLayout {
    let n = glyphs.len().max(1) as f32;
    let ink: f32 = glyphs.iter().map(|g| g.advance * scale).sum();
    let natural = (ink + n * tracking) / radius;
    let max_span = max_span_deg.to_radians();
    let (span, hscale, gap) = if natural > max_span {
        let hscale = ((max_span * radius - n * tracking) / ink).max(MIN_HSCALE);
        // At the narrowest glyphs, what is left of the arc is shared out as (smaller) gaps.
        let gap = (max_span * radius - ink * hscale) / n;
        (max_span, hscale, gap)
    } else {
        // Spreading puts the extra angle into the gaps, never into the glyphs.
        let span = natural.max(min_span_deg.to_radians());
        (span, 1.0, (span * radius - ink) / n)
    };
    let mut angle = -span / 2.0;
    let centres_deg = glyphs
        .iter()
        .map(|g| {
            let slot = (g.advance * scale * hscale + gap) / radius;
            let centre = angle + slot / 2.0;
            angle += slot;
            centre.to_degrees()
        })
        .collect();
    ArcLayout {
        centres_deg,
        hscale,
    }
}

/// Arc the name covers at most, in degrees, for a name of `n` characters: the standard arc up
/// to `RIM_TEXT_WIDEN_FROM` characters, widening linearly to the widest arc.
fn rim_span_deg(n: usize) -> f32 {
    let t = n.saturating_sub(RIM_TEXT_WIDEN_FROM) as f32
        / (RIM_TEXT_WIDEST_AT - RIM_TEXT_WIDEN_FROM) as f32;
    RIM_TEXT_MAX_SPAN_DEG + (RIM_TEXT_WIDEST_SPAN_DEG - RIM_TEXT_MAX_SPAN_DEG) * t.min(1.0)
}

/// Em height of the name in reference millimetres for a name of `n` characters: the largest
/// em, up to `RIM_TEXT_EM`, at which `n` glyphs of at least `RIM_TEXT_MIN_ASPECT` width plus
/// tracking fit the arc measured at their inner ends (`top - 0.8 em`), i.e. solving
/// `n·em·(aspect + tracking) = span·(top − 0.8·em)` for em.
fn rim_em(n: usize, top_mm: f32) -> f32 {
    let span = rim_span_deg(n).to_radians();
    let per_char = RIM_TEXT_MIN_ASPECT + RIM_TEXT_TRACKING;
    let fit = span * top_mm / (n.max(1) as f32 * per_char + 0.8 * span);
    fit.min(RIM_TEXT_EM)
}

/// Where and how large the name's glyphs go.
struct RimPlacement {
    /// Radius of the em boxes' tops, in pixels.
    top: f32,
    /// Em height in pixels.
    em: f32,
    /// Angles and horizontal scale.
    layout: ArcLayout,
}

/// Sizes the name from its length and spreads it over its arc.
fn rim_placement(geo: &Geometry, font: &Font, glyphs: &[Glyph]) -> RimPlacement {
    let top = geo.rim_inner() - RIM_TEXT_GAP * geo.u;
    let em = rim_em(glyphs.len(), top / geo.u) * geo.u;
    let s = em / font.upem;
    // Characters' inner ends (a fifth of the em above the box bottom, where CJK ink ends) are
    // where neighbours on the arc come closest.
    let inner = top - 0.8 * em;
    let natural_deg = glyphs
        .iter()
        .map(|g| g.advance * s + RIM_TEXT_TRACKING * em)
        .sum::<f32>()
        / inner;
    let min_span = RIM_TEXT_MIN_SPAN_DEG.min(natural_deg.to_degrees() * RIM_TEXT_MAX_SPREAD);
    let layout = arc_layout(
        glyphs,
        s,
        RIM_TEXT_TRACKING * em,
        inner,
        min_span,
        rim_span_deg(glyphs.len()),
    );
    RimPlacement { top, em, layout }
}

/// The organisation name, clockwise along the top arc, tops of the characters outward.
fn draw_rim_text(
    pixmap: &mut Pixmap,
    paint: &Paint,
    geo: &Geometry,
    font: &Font,
    glyphs: &[Glyph],
) {
    let RimPlacement { top, em, layout } = rim_placement(geo, font, glyphs);
    let s = em / font.upem;
    // Upright at 12 o'clock with the em-box top at radius `top`, turned clockwise into place.
    fill_on_arc(
        pixmap,
        paint,
        geo,
        glyphs,
        &layout,
        s,
        -top + font.em_top * s,
        1.0,
    );
}

/// Fills glyphs along an arc: each one centred on its angle, upright towards (or away from)
/// the centre, its em box placed `dy` from the centre before turning by `turn × angle`.
#[allow(clippy::too_many_arguments)]
fn fill_on_arc(
    pixmap: &mut Pixmap,
    paint: &Paint,
    geo: &Geometry,
    glyphs: &[Glyph],
    layout: &ArcLayout,
    s: f32,
    dy: f32,
    turn: f32,
) {
    let sx = s * layout.hscale;
    for (glyph, centre) in glyphs.iter().zip(&layout.centres_deg) {
        let Some(path) = &glyph.path else { continue };
        let local = Transform::from_row(sx, 0.0, 0.0, -s, -glyph.advance / 2.0 * sx, dy);
        let t = Transform::from_translate(geo.c, geo.c)
            .pre_rotate(turn * *centre)
            .pre_concat(local);
        pixmap.fill_path(path, paint, FillRule::Winding, t, None);
    }
}

/// The purpose line, horizontal and centred under the star.
fn draw_center_text(
    pixmap: &mut Pixmap,
    paint: &Paint,
    geo: &Geometry,
    font: &Font,
    glyphs: &[Glyph],
) {
    let max = CENTER_TEXT_MAX_WIDTH * geo.u;
    let advances_em = glyphs.iter().map(|g| g.advance).sum::<f32>() / font.upem;
    // Shrink a long purpose (行政审批专用章 …) to fit before compressing it, so it stays legible.
    let em = if advances_em > 0.0 {
        (max / advances_em).clamp(CENTER_TEXT_EM_SMALLEST * geo.u, CENTER_TEXT_EM * geo.u)
    } else {
        CENTER_TEXT_EM * geo.u
    };
    let s = em / font.upem;
    let natural = advances_em * em;
    let hscale = if natural > max { max / natural } else { 1.0 };
    let top = geo.c + CENTER_TEXT_TOP * geo.u;
    let mut pen = geo.c - natural * hscale / 2.0;
    for glyph in glyphs {
        if let Some(path) = &glyph.path {
            let t = Transform::from_row(s * hscale, 0.0, 0.0, -s, pen, top + font.em_top * s);
            pixmap.fill_path(path, paint, FillRule::Winding, t, None);
        }
        pen += glyph.advance * s * hscale;
    }
}

/// The code line, left to right along the bottom arc, tops of the characters inward.
fn draw_code(pixmap: &mut Pixmap, paint: &Paint, geo: &Geometry, font: &Font, glyphs: &[Glyph]) {
    if glyphs.is_empty() {
        return;
    }
    let em = CODE_EM * geo.u;
    let s = em / font.upem;
    let bottom = geo.rim_inner() - CODE_GAP * geo.u;
    let mid = bottom - em / 2.0;
    let layout = arc_layout(glyphs, s, CODE_TRACKING * em, mid, 0.0, CODE_MAX_SPAN_DEG);
    // Upright at 6 o'clock with the em-box bottom at radius `bottom`; a positive arc angle is
    // to the right, which at the bottom is a counter-clockwise turn.
    let dy = bottom - em + font.em_top * s;
    fill_on_arc(pixmap, paint, geo, glyphs, &layout, s, dy, -1.0);
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod layout_tests {
    use super::*;

    /// Geometry of a 42 mm seal at 300 dpi, as `render_pixmap` computes it.
    fn geometry() -> Geometry {
        let side = image_side(DEFAULT_DIAMETER_MM, DEFAULT_DPI).unwrap() as f32;
        Geometry {
            c: side / 2.0,
            u: side / REF_DIAMETER,
            outer: side / 2.0 - 0.5,
        }
    }

    #[test]
    fn long_names_shrink_and_widen_instead_of_squeezing() {
        let geo = geometry();
        let font = Font::embedded().unwrap();
        let mut last_em = f32::INFINITY;
        let mut last_span = 0.0;
        for n in [6, 12, 18, 24, 30] {
            let glyphs = font.shape(&"国".repeat(n)).unwrap();
            let p = rim_placement(&geo, &font, &glyphs);
            let em_mm = p.em / geo.u;
            // 国 is a full-width glyph: its drawn width/height is the horizontal scale.
            let aspect = p.layout.hscale;
            assert!(
                (RIM_TEXT_MIN_ASPECT - 0.01..=1.0).contains(&aspect),
                "{n} characters drawn at aspect {aspect}"
            );
            assert!(em_mm >= 3.5, "{n} characters at {em_mm} mm");
            assert!(
                em_mm <= last_em + 1e-3,
                "em grows at {n}: {em_mm} > {last_em}"
            );
            let c = &p.layout.centres_deg;
            let span = c[n - 1] - c[0];
            assert!(span >= last_span, "arc shrinks at {n}");
            // Centre to centre plus half a slot at either end is the whole arc.
            let whole = span * n as f32 / (n - 1) as f32;
            assert!(whole <= RIM_TEXT_WIDEST_SPAN_DEG + 0.5, "{n}: {whole}°");
            // Even spacing: every neighbour is the same angle apart.
            let step = span / (n - 1) as f32;
            for w in c.windows(2) {
                assert!(((w[1] - w[0]) - step).abs() < 0.01, "uneven at {n}");
            }
            // Neighbours' inner ends do not touch: the gap at the inner radius stays positive.
            let inner = p.top - 0.8 * p.em;
            let gap = step.to_radians() * inner - p.em * aspect;
            assert!(gap > 0.05 * p.em, "{n}: glyphs touch ({gap} px)");
            last_em = em_mm;
            last_span = span;
        }
        // Short names keep the full size; long ones shrink and widen the arc.
        assert_eq!(rim_em(6, 19.2), RIM_TEXT_EM);
        assert!(rim_em(30, 19.2) < 4.5);
        assert_eq!(rim_span_deg(12), RIM_TEXT_MAX_SPAN_DEG);
        assert_eq!(rim_span_deg(30), RIM_TEXT_WIDEST_SPAN_DEG);
    }
}
