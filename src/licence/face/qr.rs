//! The QR code of a licence file: the verification URL (byte mode, error correction level M,
//! ISO/IEC 18004), drawn as vector paths so it stays sharp at any zoom: a white square over the
//! layout's `qr` place, then every run of dark modules of a row as one straight line along the
//! row's middle, stroked one module wide with butt ends (OFD's default cap), which covers exactly
//! the run's modules. Lines rather than filled rectangles because readers that only stroke
//! paths (easyofd draws every path as its outline) would otherwise draw hollow modules that no
//! scanner reads. The square's margin is the four-module quiet zone readers need, so the code
//! keeps it whatever the face draws around it.
//!
//! The symbol is qrcode's, mask included, but the mask is chosen here: qrcode scores the eight
//! masks (ISO/IEC 18004 §7.8.3) with an allocation per module looked at, which made choosing a
//! mask a sixth of writing a whole licence file. [`best_mask`] scores them by qrcode's own
//! rules on plain arrays, so it picks the same mask.

use qrcode::EcLevel;
use qrcode::canvas::{Canvas, MaskPattern};

use super::FaceError;
use crate::licence::catalogue::QrSpot;
use crate::ofd::write::{Color, Object, Path, Point, Rect, Segment, Stroke};

/// Light modules around the symbol (ISO/IEC 18004: four).
pub(super) const QUIET_ZONE: usize = 4;

const WHITE: Color = Color {
    r: 255,
    g: 255,
    b: 255,
};

/// The QR code of `data` filling `spot` (quiet zone included): the white square, then the dark
/// modules as one stroked path.
pub(super) fn objects(data: &str, spot: QrSpot) -> Result<[Object; 2], FaceError> {
    let (n, dark) = modules(data).ok_or(FaceError::QrTooLong)?;
    let module = spot.size / (n + 2 * QUIET_ZONE) as f64;
    let at = |i: usize| (i + QUIET_ZONE) as f64 * module;
    let mut segments = Vec::new();
    for (row, cells) in dark.chunks(n).enumerate() {
        let mut col = 0;
        while col < n {
            if !cells[col] {
                col += 1;
                continue;
            }
            let run = cells[col..].iter().take_while(|d| **d).count();
            let (x0, x1) = (spot.x + at(col), spot.x + at(col + run));
            let y = spot.y + at(row) + module / 2.0;
            segments.extend([
                Segment::MoveTo(Point { x: x0, y }),
                Segment::LineTo(Point { x: x1, y }),
            ]);
            col += run;
        }
    }
    let background = Path::rect(
        Rect {
            x: spot.x,
            y: spot.y,
            width: spot.size,
            height: spot.size,
        },
        None,
        Some(WHITE),
    );
    let modules = Path {
        segments,
        stroke: Some(Stroke {
            width: module,
            color: Color::BLACK,
        }),
        fill: None,
    };
    Ok([Object::Path(background), Object::Path(modules)])
}

/// The symbol of `data` (level M): its width in modules and whether each module is dark, row
/// by row; `None` if the data is too long for any version.
fn modules(data: &str) -> Option<(usize, Vec<bool>)> {
    let bits = qrcode::bits::encode_auto(data.as_bytes(), EcLevel::M).ok()?;
    let version = bits.version();
    let (codewords, ec) =
        qrcode::ec::construct_codewords(&bits.into_bytes(), version, EcLevel::M).ok()?;
    let mut canvas = Canvas::new(version, EcLevel::M);
    canvas.draw_all_functional_patterns();
    canvas.draw_data(&codewords, &ec);
    let n = usize::try_from(version.width()).ok()?;
    let mask = best_mask(&canvas, n);
    canvas.apply_mask(mask);
    Some((n, dark(canvas)))
}

/// The modules of a masked canvas, dark or not.
fn dark(canvas: Canvas) -> Vec<bool> {
    canvas
        .into_colors()
        .into_iter()
        .map(|c| c == qrcode::Color::Dark)
        .collect()
}

/// The mask qrcode's `apply_best_mask` picks for a (not micro) symbol: the first of the lowest
/// penalty.
fn best_mask(canvas: &Canvas, n: usize) -> MaskPattern {
    const MASKS: [MaskPattern; 8] = [
        MaskPattern::Checkerboard,
        MaskPattern::HorizontalLines,
        MaskPattern::VerticalLines,
        MaskPattern::DiagonalLines,
        MaskPattern::LargeCheckerboard,
        MaskPattern::Fields,
        MaskPattern::Diamonds,
        MaskPattern::Meadow,
    ];
    MASKS
        .into_iter()
        .min_by_key(|&mask| {
            let mut c = canvas.clone();
            c.apply_mask(mask);
            penalty(&dark(c), n)
        })
        .unwrap_or(MaskPattern::Checkerboard)
}

/// qrcode's penalty of an `n`×`n` symbol (rows of `dark`), less the constant its finder
/// patterns add to every mask: runs of five or more (N1), 2×2 blocks (N2), finder-like
/// patterns (N3) and the dark/light balance (N4).
fn penalty(dark: &[bool], n: usize) -> u32 {
    let columns: Vec<bool> = (0..n * n).map(|i| dark[(i % n) * n + i / n]).collect();
    let lines = dark.chunks(n).chain(columns.chunks(n));
    let mut score: u32 = lines.map(line_penalty).sum();
    for (row, below) in dark.chunks(n).zip(dark.chunks(n).skip(1)) {
        for j in 0..n - 1 {
            let c = row[j];
            if row[j + 1] == c && below[j] == c && below[j + 1] == c {
                score += 3;
            }
        }
    }
    let ratio = dark.iter().filter(|d| **d).count() * 200 / dark.len();
    score + u32::try_from(ratio.abs_diff(100)).unwrap_or(u32::MAX)
}

/// N1 and N3 of one row or column.
fn line_penalty(line: &[bool]) -> u32 {
    const FINDER: [bool; 7] = [true, false, true, true, true, false, true];
    let mut score = 0;
    let mut run = 1;
    for pair in line.windows(2) {
        if pair[0] == pair[1] {
            run += 1;
        } else {
            if run >= 5 {
                score += run - 2;
            }
            run = 1;
        }
    }
    if run >= 5 {
        score += run - 2;
    }
    // qrcode's N3: the pattern with four light modules (or the edge) on at least one side.
    for (j, window) in line.windows(7).enumerate() {
        if window == FINDER {
            let before = line[j.saturating_sub(4)..j].iter().any(|d| *d);
            let after = line[j + 7..(j + 11).min(line.len())].iter().any(|d| *d);
            if !before || !after {
                score += 40;
            }
        }
    }
    score
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_symbol_is_the_one_qrcode_makes() {
        // URLs of several lengths (several versions), each with the mask qrcode itself picks.
        let base =
            "https://licences.example.gov.cn/v1/licences/1.2.156.3005.2.111000009000000146001";
        for tail in [
            "",
            "/verify",
            ".11370100004312345D.20260101ABCDEF123456.001.X/verify",
        ] {
            for extra in 0..12 {
                let url = format!("{base}{tail}{}", "Z".repeat(extra * 7));
                let code = qrcode::QrCode::with_error_correction_level(url.as_bytes(), EcLevel::M)
                    .unwrap();
                let want: Vec<bool> = code
                    .to_colors()
                    .into_iter()
                    .map(|c| c == qrcode::Color::Dark)
                    .collect();
                assert_eq!(modules(&url).unwrap(), (code.width(), want), "{url}");
            }
        }
    }

    #[test]
    fn penalty_counts_runs_blocks_finders_and_balance() {
        // A 7-module line holding only the finder pattern: edge on both sides, so N3 counts.
        let finder = [true, false, true, true, true, false, true];
        assert_eq!(line_penalty(&finder), 40);
        // Six dark in a row: N1 = 3 + 1.
        assert_eq!(line_penalty(&[true; 6]), 4);
        assert_eq!(line_penalty(&[true, false, true, false, true]), 0);
    }
}
