//! The handwriting as the page shows it: each stroke as PDF path segments (ISO 32000-1 §8.5),
//! fitted into the signature's box, the line width following the pen's pressure, so the
//! signature stays sharp at any zoom and prints as drawn.

use super::capture::Capture;
use crate::pdf::{PT_PER_MM, VectorArt};

/// Ink: a dark blue-black, as a ballpoint pen.
const INK: &str = "0.05 0.1 0.35 RG";

/// The line width, in points, of a pen at pressure 0.5 in a box `height` points tall.
fn base_width(height: f64) -> f64 {
    (height * 0.025).clamp(0.6, 2.4)
}

/// `capture` drawn in a box of `width_mm` × `height_mm`: the strokes' extent centred in it with a
/// margin, their proportions kept.
pub fn vector_art(capture: &Capture, width_mm: f64, height_mm: f64) -> VectorArt {
    let (bw, bh) = (width_mm * PT_PER_MM, height_mm * PT_PER_MM);
    let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for p in capture.points() {
        (x0, y0, x1, y1) = (x0.min(p.x), y0.min(p.y), x1.max(p.x), y1.max(p.y));
    }
    let margin = 0.08;
    let (inner_w, inner_h) = (bw * (1.0 - 2.0 * margin), bh * (1.0 - 2.0 * margin));
    // A dot or a straight line has no extent on one side: size it by the other.
    let scale = (inner_w / (x1 - x0).max(1e-9)).min(inner_h / (y1 - y0).max(1e-9));
    let (dx, dy) = (
        (bw - (x1 - x0) * scale) / 2.0,
        (bh - (y1 - y0) * scale) / 2.0,
    );
    // Canvas y grows downwards, PDF y upwards.
    let at = |x: f64, y: f64| ((x - x0) * scale + dx, bh - ((y - y0) * scale + dy));
    let base = base_width(bh);
    let real = crate::pdf::format_real;
    let mut out = format!("{INK} 1 J 1 j\n");
    for stroke in &capture.strokes {
        let mut width: Option<i64> = None;
        let mut last = at(stroke[0].x, stroke[0].y);
        if stroke.len() == 1 {
            out.push_str(&format!("{} w ", real(base)));
            out.push_str(&format!(
                "{0} {1} m {0} {1} l S\n",
                real(last.0),
                real(last.1)
            ));
            continue;
        }
        for pair in stroke.windows(2) {
            let pressure = match (pair[0].pressure, pair[1].pressure) {
                (Some(a), Some(b)) => (a + b) / 2.0,
                _ => 0.5,
            };
            // In tenths of a point, so that a new path starts only where the width visibly changes.
            #[allow(clippy::cast_possible_truncation)]
            let tenths = (base * (0.4 + 1.2 * pressure) * 10.0).round() as i64;
            let next = at(pair[1].x, pair[1].y);
            if width != Some(tenths) {
                if width.is_some() {
                    out.push_str(" S\n");
                }
                #[allow(clippy::cast_precision_loss)]
                let w = tenths.max(1) as f64 / 10.0;
                out.push_str(&format!(
                    "{} w {} {} m",
                    real(w),
                    real(last.0),
                    real(last.1)
                ));
                width = Some(tenths);
            }
            out.push_str(&format!(" {} {} l", real(next.0), real(next.1)));
            last = next;
        }
        out.push_str(" S\n");
    }
    VectorArt {
        width_mm,
        height_mm,
        content: out.into_bytes(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handsign::capture::tests::sample;

    #[test]
    fn strokes_become_paths_inside_the_box() {
        let art = vector_art(&sample(), 50.0, 20.0);
        let text = String::from_utf8(art.content).expect("ascii");
        assert!(text.starts_with(INK));
        // 59 segments of one stroke at one pressure: one path of 59 lines.
        assert_eq!(text.matches(" l").count(), 59);
        assert_eq!(text.matches(" m").count(), 1);
        let nums: Vec<f64> = text
            .split_whitespace()
            .filter_map(|t| t.parse().ok())
            .collect();
        let (w, h) = (50.0 * PT_PER_MM, 20.0 * PT_PER_MM);
        assert!(nums.iter().all(|v| (0.0..=w.max(h)).contains(v)));
    }
}
