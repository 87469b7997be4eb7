//! Setting a value in its place: wrapped within its `width`, and made smaller until its lines
//! end above whatever the layout puts below it (the next field in its column, the QR code, the
//! bottom margin), so a 2 000-character 经营范围 stays inside its box.

use super::{FaceError, PT};
use crate::licence::catalogue::{Layout, Placement};
use crate::ofd::write::{WriteError, advances};

/// Distance between baselines, in ems.
const PITCH: f64 = 1.35;
/// How far ink reaches below the baseline, in ems (CJK em boxes end 0.12 em below it).
const DESCENT: f64 = 0.2;
/// The smallest type a value is shrunk to, in points.
const MIN_PT: f64 = 4.0;
/// Each try at fitting sets the value this much smaller than the last.
const SHRINK: f64 = 0.94;
/// Nothing is set closer than this to the bottom edge of the page, mm.
const MARGIN: f64 = 5.0;

/// A value set in lines.
#[derive(Debug)]
pub(super) struct Block {
    /// Font size, mm.
    pub(super) size: f64,
    /// Distance between baselines, mm.
    pub(super) pitch: f64,
    /// The lines, none empty.
    pub(super) lines: Vec<String>,
}

/// The width of `text` at `size` mm: for the type's own texts (title), whose missing glyphs
/// may be named.
pub(super) fn width(text: &str, size: f64) -> Result<f64, FaceError> {
    Ok(advances(text, size)?.iter().sum())
}

/// The advances of a value's characters at `size`, or the field named if one cannot be drawn.
fn value_advances(text: &str, size: f64, field: &str) -> Result<Vec<f64>, FaceError> {
    advances(text, size).map_err(|e| match e {
        WriteError::NoGlyph(_) => FaceError::Unprintable {
            field: field.to_owned(),
        },
        other => FaceError::Write(other),
    })
}

/// Control characters a value may hold: a line feed starts a new line, the rest are spaces.
fn printable(value: &str) -> String {
    value
        .chars()
        .filter(|&c| c != '\r')
        .map(|c| if c.is_control() && c != '\n' { ' ' } else { c })
        .collect()
}

/// The horizontal extent of each placement (label and value as set on one line, or the value's
/// `width`), in mm from the left edge: what lies in a value's column.
pub(super) fn spans(
    fields: &[Placement],
    values: &[Option<String>],
) -> Result<Vec<(f64, f64)>, FaceError> {
    fields
        .iter()
        .zip(values)
        .map(|(p, value)| {
            let size = p.size_pt * PT;
            let start = p.value_x.unwrap_or(p.x);
            let label_end = match p.label.as_deref() {
                Some(label) => p.x + width(label, size)?,
                None => p.x,
            };
            let value_end = match (p.width, value) {
                (Some(w), _) => start + w,
                (None, Some(v)) => {
                    start
                        + value_advances(&printable(v), size, &p.field)?
                            .iter()
                            .sum::<f64>()
                }
                (None, None) => start,
            };
            Ok((p.x.min(start), label_end.max(value_end)))
        })
        .collect()
}

/// How far down the value of placement `i` may reach (mm from the top): the top of the first
/// thing below it in its column, or the bottom margin.
pub(super) fn bottom_of(i: usize, layout: &Layout, spans: &[(f64, f64)]) -> f64 {
    let p = &layout.fields[i];
    let left = p.value_x.unwrap_or(p.x);
    let right = left + p.width.unwrap_or(0.0);
    let overlaps = |(a, b): (f64, f64)| a < right && b > left;
    let mut bottom = layout.page.height - MARGIN;
    for (j, q) in layout.fields.iter().enumerate() {
        if j != i && q.y > p.y && overlaps(spans[j]) {
            bottom = bottom.min(q.y - q.size_pt * PT);
        }
    }
    let qr = layout.qr;
    if qr.y > p.y && overlaps((qr.x, qr.x + qr.size)) {
        bottom = bottom.min(qr.y);
    }
    bottom
}

/// `value` set at `size` mm: one line without a `width`; else wrapped within it, at the
/// largest size from `size` down to 4 pt whose lines end within `room` mm below the first
/// baseline.
pub(super) fn fit(
    value: &str,
    size: f64,
    width: Option<f64>,
    room: f64,
    field: &str,
) -> Result<Block, FaceError> {
    let value = printable(value);
    let Some(width) = width else {
        value_advances(&value, size, field)?;
        let line = value.replace('\n', " ");
        return Ok(Block {
            size,
            pitch: PITCH * size,
            lines: (!line.trim().is_empty())
                .then_some(line)
                .into_iter()
                .collect(),
        });
    };
    let chars: Vec<char> = value.chars().collect();
    // Advances scale with the size: measure once, at 1 mm.
    let unit = value_advances(&value, 1.0, field)?;
    let mut s = size;
    while s >= MIN_PT * PT - 1e-9 {
        let advances: Vec<f64> = unit.iter().map(|a| a * s).collect();
        let lines = wrap(&chars, &advances, width);
        let depth = lines.len().saturating_sub(1) as f64 * PITCH * s + DESCENT * s;
        if depth <= room {
            return Ok(Block {
                size: s,
                pitch: PITCH * s,
                lines,
            });
        }
        s *= SHRINK;
    }
    Err(FaceError::DoesNotFit {
        field: field.to_owned(),
    })
}

/// Closing punctuation, which must not start a line.
fn closing(c: char) -> bool {
    "，。、；：？！）》」』】〕”’,.;:?!)]}%".contains(c)
}

/// Opening punctuation, which must not end a line.
fn opening(c: char) -> bool {
    "（《「『【〔“‘([{".contains(c)
}

/// Whether a line may break between `a` and `b`: anywhere between hanzi, not inside a Latin
/// word or number, not before closing or after opening punctuation.
fn may_break(a: char, b: char) -> bool {
    let in_word = a.is_ascii_alphanumeric() && b.is_ascii_alphanumeric();
    !(in_word || closing(b) || opening(a))
}

/// `chars` (with their advances) in lines no wider than `width`, breaking at line feeds and
/// where [`may_break`] allows, or anywhere when a word is wider than the line. Spaces at a
/// break are dropped; empty lines are left out.
fn wrap(chars: &[char], advances: &[f64], width: f64) -> Vec<String> {
    let mut lines = Vec::new();
    let mut emit = |from: usize, to: usize| {
        let line: String = chars[from..to].iter().collect();
        let line = line.trim();
        if !line.is_empty() {
            lines.push(line.to_owned());
        }
    };
    let mut start = 0;
    let mut used = 0.0;
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '\n' {
            emit(start, i);
            start = i + 1;
            used = 0.0;
            i += 1;
            continue;
        }
        if used + advances[i] > width && i > start {
            let at = (start + 1..=i)
                .rev()
                .find(|&b| may_break(chars[b - 1], chars[b]))
                .unwrap_or(i);
            emit(start, at);
            start = at;
            while start < i && chars[start] == ' ' {
                start += 1;
            }
            used = advances[start..i].iter().sum();
            continue;
        }
        used += advances[i];
        i += 1;
    }
    emit(start, chars.len());
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Wraps with every character one unit wide.
    fn wrapped(s: &str, width: f64) -> Vec<String> {
        let chars: Vec<char> = s.chars().collect();
        wrap(&chars, &vec![1.0; chars.len()], width)
    }

    #[test]
    fn wraps_hanzi_anywhere_but_keeps_words_and_punctuation() {
        assert_eq!(
            wrapped("软件开发信息技术", 3.0),
            ["软件开", "发信息", "技术"]
        );
        // 。 does not start a line: the character before it moves down with it.
        assert_eq!(wrapped("软件开。信息", 3.0), ["软件", "开。信", "息"]);
        assert_eq!(wrapped("（软件）开发", 3.0), ["（软", "件）开", "发"]);
        // A Latin word moves down whole; a word longer than the line is cut.
        assert_eq!(wrapped("ab cdef", 4.0), ["ab", "cdef"]);
        assert_eq!(wrapped("abcdefgh", 3.0), ["abc", "def", "gh"]);
        assert_eq!(wrapped("一\n\n二三", 5.0), ["一", "二三"]);
    }

    #[test]
    fn a_long_value_shrinks_until_it_fits_and_then_refuses() {
        let scope = "技术开发、技术咨询、技术服务；".repeat(130);
        let size = 9.0 * PT;
        let block = fit(&scope, size, Some(95.0), 80.0, "business_scope").expect("fits");
        assert!(
            block.size < size && block.size >= MIN_PT * PT,
            "{}",
            block.size
        );
        let depth = (block.lines.len() - 1) as f64 * block.pitch + DESCENT * block.size;
        assert!(depth <= 80.0, "{depth}");
        for line in &block.lines {
            let w: f64 = advances(line, block.size).expect("glyphs").iter().sum();
            assert!(w <= 95.0 + 1e-9, "{w}");
        }
        let all: String = block.lines.concat();
        assert_eq!(all, scope.replace(' ', ""));
        // Short text keeps its size.
        let short = fit("软件开发", size, Some(95.0), 80.0, "f").expect("fits");
        assert_eq!((short.size, short.lines.len()), (size, 1));
        assert!(matches!(
            fit(&scope, size, Some(20.0), 10.0, "business_scope"),
            Err(FaceError::DoesNotFit { field }) if field == "business_scope"
        ));
    }

    #[test]
    fn a_character_the_font_lacks_names_the_field_only() {
        // 𠀀 (U+20000) is outside the bundled font.
        let e = fit("张𠀀", 4.0, Some(50.0), 20.0, "$holder_name").expect_err("refused");
        assert_eq!(e.to_string().split(':').next(), Some("$holder_name"), "{e}");
        assert!(!e.to_string().contains('张'));
    }
}
