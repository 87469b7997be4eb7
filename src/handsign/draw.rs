//! The handwriting as a reader shows it, fitted into the signature's box with its proportions
//! kept and the line width following the pen's pressure: on a PDF page as path segments (ISO
//! 32000-1 §8.5), sharp at any zoom; in an OFD signature as the seal picture GB/T 38540 carries
//! (a PNG, which OFD readers draw), rendered from the same strokes.

use tiny_skia::{LineCap, LineJoin, Paint, PathBuilder, Pixmap, Stroke, Transform};

use super::capture::{Capture, Point};
use crate::pdf::{PT_PER_MM, VectorArt, write_real};
use crate::render::RenderError;

/// Ink: a dark blue-black, as a ballpoint pen (PDF `RG` and the PNG's one colour).
const INK: [u8; 3] = [13, 26, 89];

/// Pixels per millimetre of the PNG (300 dpi: sharp when printed).
const PX_PER_MM: f64 = 300.0 / 25.4;

/// Where the strokes go in a box of `w` × `h` units, y growing downwards as on the canvas.
struct Fit {
    scale: f64,
    dx: f64,
    dy: f64,
    x0: f64,
    y0: f64,
    /// The line width at pressure 0.5.
    base: f64,
}

impl Fit {
    fn new(capture: &Capture, w: f64, h: f64) -> Fit {
        let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
        for p in capture.points() {
            (x0, y0, x1, y1) = (x0.min(p.x), y0.min(p.y), x1.max(p.x), y1.max(p.y));
        }
        let margin = 0.08;
        let (inner_w, inner_h) = (w * (1.0 - 2.0 * margin), h * (1.0 - 2.0 * margin));
        // A dot or a straight line has no extent on one side: size it by the other.
        let scale = (inner_w / (x1 - x0).max(1e-9)).min(inner_h / (y1 - y0).max(1e-9));
        Fit {
            scale,
            dx: (w - (x1 - x0) * scale) / 2.0,
            dy: (h - (y1 - y0) * scale) / 2.0,
            x0,
            y0,
            // A fortieth of the box's height: about 0.6 mm in a 24 mm box, a pen's line.
            base: h * 0.025,
        }
    }

    /// Where a canvas point lands, from the box's top-left corner.
    fn at(&self, p: &Point) -> (f64, f64) {
        (
            (p.x - self.x0) * self.scale + self.dx,
            (p.y - self.y0) * self.scale + self.dy,
        )
    }

    /// The line width of a segment between two points.
    fn width(&self, a: &Point, b: &Point) -> f64 {
        let pressure = match (a.pressure, b.pressure) {
            (Some(a), Some(b)) => (a + b) / 2.0,
            _ => 0.5,
        };
        self.base * (0.4 + 1.2 * pressure)
    }
}

/// `capture` drawn in a box of `width_mm` × `height_mm` as PDF path operators.
pub fn vector_art(capture: &Capture, width_mm: f64, height_mm: f64) -> VectorArt {
    let (bw, bh) = (width_mm * PT_PER_MM, height_mm * PT_PER_MM);
    let fit = Fit::new(capture, bw, bh);
    let mut out = String::with_capacity(capture.points().count() * 16 + 64);
    // Appends "x y " of a point, PDF y growing upwards.
    let point = |out: &mut String, p: &Point| {
        let (x, y) = fit.at(p);
        write_real(out, x);
        out.push(' ');
        write_real(out, bh - y);
        out.push(' ');
    };
    for c in INK {
        write_real(&mut out, f64::from(c) / 255.0);
        out.push(' ');
    }
    out.push_str("RG 1 J 1 j\n");
    for stroke in &capture.strokes {
        if let [only] = stroke.as_slice() {
            write_real(&mut out, fit.width(only, only));
            out.push_str(" w ");
            point(&mut out, only);
            out.push_str("m ");
            point(&mut out, only);
            out.push_str("l S\n");
            continue;
        }
        // In tenths of a point, so that a new path starts only where the width visibly changes.
        let mut width: Option<i64> = None;
        for pair in stroke.windows(2) {
            #[allow(clippy::cast_possible_truncation)]
            let tenths = (fit.width(&pair[0], &pair[1]) * 10.0).round() as i64;
            if width != Some(tenths) {
                if width.is_some() {
                    out.push_str("S\n");
                }
                #[allow(clippy::cast_precision_loss)]
                write_real(&mut out, tenths.max(1) as f64 / 10.0);
                out.push_str(" w ");
                point(&mut out, &pair[0]);
                out.push_str("m ");
                width = Some(tenths);
            }
            point(&mut out, &pair[1]);
            out.push_str("l ");
        }
        out.push_str("S\n");
    }
    VectorArt {
        width_mm,
        height_mm,
        content: out.into_bytes(),
    }
}

/// `capture` drawn in a box of `width_mm` × `height_mm` as a PNG at 300 dpi (one ink colour,
/// transparent elsewhere), the picture of an OFD signature.
pub fn png(capture: &Capture, width_mm: f64, height_mm: f64) -> Result<Vec<u8>, RenderError> {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let (w, h) = (
        (width_mm * PX_PER_MM).round().max(1.0) as u32,
        (height_mm * PX_PER_MM).round().max(1.0) as u32,
    );
    let mut pixmap =
        Pixmap::new(w, h).ok_or_else(|| RenderError::BadSize(format!("{w}×{h} px")))?;
    let fit = Fit::new(capture, f64::from(w), f64::from(h));
    let mut paint = Paint::default();
    paint.set_color_rgba8(INK[0], INK[1], INK[2], 255);
    paint.anti_alias = true;
    #[allow(clippy::cast_possible_truncation)]
    let f = |v: f64| v as f32;
    for stroke in &capture.strokes {
        let pairs: Vec<(&Point, &Point)> = match stroke.as_slice() {
            [only] => vec![(only, only)],
            s => s.windows(2).map(|p| (&p[0], &p[1])).collect(),
        };
        // One segment at a time: each has its own width.
        for (a, b) in pairs {
            let ((ax, ay), (bx, by)) = (fit.at(a), fit.at(b));
            let mut pb = PathBuilder::new();
            pb.move_to(f(ax), f(ay));
            pb.line_to(f(bx), f(by));
            let Some(path) = pb.finish() else { continue };
            let stroke = Stroke {
                width: f(fit.width(a, b)),
                line_cap: LineCap::Round,
                line_join: LineJoin::Round,
                ..Stroke::default()
            };
            pixmap.stroke_path(&path, &paint, &stroke, Transform::identity(), None);
        }
    }
    crate::render::indexed_png(&pixmap, INK)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handsign::capture::tests::sample;

    #[test]
    fn strokes_become_paths_inside_the_box() {
        let art = vector_art(&sample(), 50.0, 20.0);
        let text = String::from_utf8(art.content).expect("ascii");
        assert!(text.contains(" RG 1 J 1 j"));
        // 59 segments of one stroke at one pressure: one path of 59 lines.
        assert_eq!(text.matches(" l ").count(), 59);
        assert_eq!(text.matches(" m ").count(), 1);
        let nums: Vec<f64> = text
            .split_whitespace()
            .filter_map(|t| t.parse().ok())
            .collect();
        let (w, h) = (50.0 * PT_PER_MM, 20.0 * PT_PER_MM);
        assert!(nums.iter().all(|v| (0.0..=w.max(h)).contains(v)));
    }

    #[test]
    fn the_png_has_ink_where_the_strokes_are_and_nowhere_else() {
        let png = png(&sample(), 50.0, 20.0).expect("png");
        let (w, h) = crate::render::png_dimensions(&png).expect("decodes");
        assert_eq!((w, h), (591, 236));
        let decoder = ::png::Decoder::new(std::io::Cursor::new(&png));
        let mut reader = decoder.read_info().expect("header");
        let mut buf = vec![0; reader.output_buffer_size().expect("size")];
        reader.next_frame(&mut buf).expect("frame");
        // Indexed: each byte is the alpha; the loop covers some of the box, not most of it.
        let inked = buf.iter().filter(|&&a| a > 128).count();
        assert!(
            inked > 1_000 && inked < buf.len() / 4,
            "{inked} of {}",
            buf.len()
        );
    }
}
