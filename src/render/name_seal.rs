//! The personal name seal (姓名章) as a transparent PNG: a red border and the person's name
//! filling it, no star.
//!
//! Square (方章, the default, 18 mm): the characters stand in two columns read top to bottom,
//! right column first, as seal text is traditionally read. A name too short to fill the grid is
//! completed the way seal engravers complete it: two characters get 之印 (张三 → 张三之印),
//! three or five get 印 (张三丰 → 张三丰印). Rectangle (长方章, 22 × 11 mm by default, twice as
//! wide as high): the name alone in one row, read left to right as modern horizontal text is.
//!
//! The characters are the embedded serif face that official seals use (no seal-script font is
//! bundled), each stretched to fill its cell.

use tiny_skia::{FillRule, PathBuilder, Pixmap, Rect, Transform};

use super::RenderError;
use super::seal::{Font, indexed_png, pixels, seal_paint};

/// Sizes (the longer side) a name seal is drawn at: real ones are 10–30 mm.
pub const SIZE_RANGE_MM: std::ops::RangeInclusive<u32> = 10..=40;
/// Fewest characters a name on a seal may have.
pub const MIN_CHARS: usize = 2;

// Geometry, as fractions of the shorter side.
/// Border width (about 1.1 mm on an 18 mm seal).
const BORDER: f32 = 0.06;
/// Space between the border's inner edge and the characters.
const PADDING: f32 = 0.04;
/// Space between neighbouring characters.
const CELL_GAP: f32 = 0.03;

/// The outline of a name seal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameSealShape {
    /// 方章: two columns, read right to left.
    Square,
    /// 长方章: twice as wide as high, one row, read left to right.
    Rectangle,
}

impl NameSealShape {
    /// The API name.
    pub fn as_str(self) -> &'static str {
        match self {
            NameSealShape::Square => "square",
            NameSealShape::Rectangle => "rectangle",
        }
    }

    /// The shape of an API name.
    pub fn parse(s: &str) -> Option<NameSealShape> {
        [NameSealShape::Square, NameSealShape::Rectangle]
            .into_iter()
            .find(|shape| shape.as_str() == s)
    }

    /// The usual size: 18 mm square, 22 mm wide rectangle.
    pub fn default_size_mm(self) -> u32 {
        match self {
            NameSealShape::Square => 18,
            NameSealShape::Rectangle => 22,
        }
    }

    /// Width and height in whole millimetres of a seal whose longer side is `size_mm`.
    pub fn picture_mm(self, size_mm: u32) -> (u32, u32) {
        match self {
            NameSealShape::Square => (size_mm, size_mm),
            NameSealShape::Rectangle => (size_mm, size_mm.div_ceil(2)),
        }
    }

    /// Most characters of a name the shape holds (three rows of two; four in a row).
    pub fn max_chars(self) -> usize {
        match self {
            NameSealShape::Square => 6,
            NameSealShape::Rectangle => 4,
        }
    }
}

/// What to draw.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NameSealSpec<'a> {
    /// The person's name (2–6 characters square, 2–4 rectangular).
    pub name: &'a str,
    /// Square or rectangle.
    pub shape: NameSealShape,
    /// The longer side in millimetres (see [`SIZE_RANGE_MM`]).
    pub size_mm: u32,
    /// Resolution in dots per inch.
    pub dpi: f32,
}

/// The characters drawn and the grid they fill, in reading order.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Layout {
    /// The name, completed with 之印 or 印 on a square seal.
    text: String,
    /// Rows of the grid.
    rows: usize,
    /// Columns of the grid.
    cols: usize,
}

impl Layout {
    /// The grid of `name` on `shape`.
    fn of(name: &str, shape: NameSealShape) -> Result<Layout, RenderError> {
        let n = name.chars().count();
        if n == 0 {
            return Err(RenderError::EmptyText);
        }
        if n < MIN_CHARS {
            return Err(RenderError::TooShort { min: MIN_CHARS });
        }
        if n > shape.max_chars() {
            return Err(RenderError::TooLong {
                max: shape.max_chars(),
            });
        }
        Ok(match shape {
            NameSealShape::Square => {
                let suffix = match n {
                    2 => "之印",
                    3 | 5 => "印",
                    _ => "",
                };
                let text = format!("{name}{suffix}");
                let rows = text.chars().count() / 2;
                Layout {
                    text,
                    rows,
                    cols: 2,
                }
            }
            NameSealShape::Rectangle => Layout {
                text: name.to_owned(),
                rows: 1,
                cols: n,
            },
        })
    }

    /// Row and column of the `i`-th character: down the columns from the right on a square
    /// seal, along the row from the left on a rectangular one.
    fn cell(&self, i: usize) -> (usize, usize) {
        if self.rows == 1 {
            (0, i)
        } else {
            (i % self.rows, self.cols - 1 - i / self.rows)
        }
    }
}

/// Renders the name seal described by `spec` as PNG bytes (indexed seal red, transparent).
pub fn render_name_seal(spec: &NameSealSpec) -> Result<Vec<u8>, RenderError> {
    indexed_png(&name_seal_pixmap(spec)?, super::seal::SEAL_RED)
}

/// Renders the name seal into a pixmap (premultiplied RGBA).
pub(crate) fn name_seal_pixmap(spec: &NameSealSpec) -> Result<Pixmap, RenderError> {
    let layout = Layout::of(spec.name.trim(), spec.shape)?;
    if !SIZE_RANGE_MM.contains(&spec.size_mm) {
        return Err(RenderError::BadSize(format!(
            "{} mm is outside {}–{} mm",
            spec.size_mm,
            SIZE_RANGE_MM.start(),
            SIZE_RANGE_MM.end()
        )));
    }
    let (width_mm, height_mm) = spec.shape.picture_mm(spec.size_mm);
    let (width, height) = (
        pixels(width_mm as f32, spec.dpi)?,
        pixels(height_mm as f32, spec.dpi)?,
    );
    let font = Font::embedded()?;
    let glyphs = font.shape(&layout.text)?;
    let mut pixmap = Pixmap::new(width, height)
        .ok_or_else(|| RenderError::BadSize(format!("{width}×{height} px")))?;
    let paint = seal_paint();
    let (w, h) = (width as f32, height as f32);
    let short = w.min(h);

    // The border: the whole picture minus its inside, so that the corners are square and inked.
    let border = (BORDER * short).max(1.0);
    let mut pb = PathBuilder::new();
    for rect in [
        Rect::from_xywh(0.0, 0.0, w, h),
        Rect::from_xywh(border, border, w - 2.0 * border, h - 2.0 * border),
    ]
    .into_iter()
    .flatten()
    {
        pb.push_rect(rect);
    }
    if let Some(frame) = pb.finish() {
        pixmap.fill_path(
            &frame,
            &paint,
            FillRule::EvenOdd,
            Transform::identity(),
            None,
        );
    }

    // Each character's em box stretched to its cell.
    let inset = border + PADDING * short;
    let gap = CELL_GAP * short;
    let cell_w = (w - 2.0 * inset - (layout.cols - 1) as f32 * gap) / layout.cols as f32;
    let cell_h = (h - 2.0 * inset - (layout.rows - 1) as f32 * gap) / layout.rows as f32;
    let (sx, sy) = (cell_w / font.upem, cell_h / font.upem);
    for (i, glyph) in glyphs.iter().enumerate() {
        let Some(path) = &glyph.path else { continue };
        let (row, col) = layout.cell(i);
        // Narrow characters (Latin letters) are centred in their cell.
        let x = inset + col as f32 * (cell_w + gap) + (cell_w - glyph.advance * sx) / 2.0;
        let top = inset + row as f32 * (cell_h + gap);
        let t = Transform::from_row(sx, 0.0, 0.0, -sy, x, top + font.em_top * sy);
        pixmap.fill_path(path, &paint, FillRule::Winding, t, None);
    }
    Ok(pixmap)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_completed_and_read_right_to_left_down_the_columns() {
        let square = |name| Layout::of(name, NameSealShape::Square).map(|l| l.text);
        assert_eq!(square("张三").as_deref(), Ok("张三之印"));
        assert_eq!(square("张三丰").as_deref(), Ok("张三丰印"));
        assert_eq!(square("欧阳娜娜").as_deref(), Ok("欧阳娜娜"));
        assert_eq!(square("爱新觉罗溥").as_deref(), Ok("爱新觉罗溥印"));
        // 张三之印: 张 top right, 三 below it, 之 top left, 印 bottom left.
        let l = Layout::of("张三", NameSealShape::Square).expect("layout");
        let cells: Vec<_> = (0..4).map(|i| l.cell(i)).collect();
        assert_eq!(cells, [(0, 1), (1, 1), (0, 0), (1, 0)]);
        let six = Layout::of("爱新觉罗溥仪", NameSealShape::Square).expect("layout");
        assert_eq!((six.rows, six.cols), (3, 2));
        assert_eq!(six.cell(3), (0, 0));
        // A rectangle keeps the name as it is, left to right.
        let r = Layout::of("张三丰", NameSealShape::Rectangle).expect("layout");
        assert_eq!((r.text.as_str(), r.rows, r.cols), ("张三丰", 1, 3));
        assert_eq!(r.cell(0), (0, 0));
        assert_eq!(r.cell(2), (0, 2));
    }

    #[test]
    fn names_outside_the_grid_are_refused() {
        for (name, shape, err) in [
            ("", NameSealShape::Square, RenderError::EmptyText),
            (
                "张",
                NameSealShape::Square,
                RenderError::TooShort { min: 2 },
            ),
            (
                "张三丰张三丰张",
                NameSealShape::Square,
                RenderError::TooLong { max: 6 },
            ),
            (
                "欧阳娜娜娜",
                NameSealShape::Rectangle,
                RenderError::TooLong { max: 4 },
            ),
        ] {
            assert_eq!(Layout::of(name, shape), Err(err), "{name}");
        }
        let spec = |name, size_mm| NameSealSpec {
            name,
            shape: NameSealShape::Square,
            size_mm,
            dpi: 300.0,
        };
        for size in [9, 41] {
            assert!(
                matches!(
                    render_name_seal(&spec("张三", size)),
                    Err(RenderError::BadSize(_))
                ),
                "{size} mm"
            );
        }
        // 喆 is outside GB2312, and so outside the font: an error, not a blank cell.
        assert_eq!(
            render_name_seal(&spec("张喆", 18)),
            Err(RenderError::MissingGlyph('喆'))
        );
    }
}
