//! The QR symbols the vault draws (ISO/IEC 18004, error correction level M): a licence file's
//! verification URL and a 亮证 presentation code. Both are drawn from the same thing, each row's
//! runs of dark modules, so the OFD page and the SVG come from one reading of the symbol.
//!
//! The symbol is qrcode's, mask included, but the mask is chosen here: qrcode scores the eight
//! masks (ISO/IEC 18004 §7.8.3) with an allocation per module looked at, which made choosing a
//! mask a sixth of writing a whole licence file. [`best_mask`] scores them by qrcode's own
//! rules on plain arrays, so it picks the same mask.

use qrcode::canvas::{Canvas, MaskPattern};
use qrcode::{EcLevel, Version};

/// Light modules around a symbol (ISO/IEC 18004: four).
pub(crate) const QUIET_ZONE: usize = 4;

/// A horizontal run of dark modules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Run {
    /// Its row, from the top (quiet zone not counted).
    pub(crate) row: usize,
    /// Its first column, from the left.
    pub(crate) col: usize,
    /// How many modules it covers.
    pub(crate) len: usize,
}

/// An encoded symbol.
#[derive(Debug, Clone)]
pub(crate) struct Symbol {
    /// Modules per side, quiet zone not counted.
    pub(crate) width: usize,
    /// The version (1–40) the encoder chose: the smallest that holds the data at level M.
    pub(crate) version: i16,
    /// The dark runs, row by row, left to right.
    pub(crate) runs: Vec<Run>,
}

/// `data` as the smallest symbol at level M (the encoder picks numeric, alphanumeric or byte
/// segments); `None` when it does not fit in version 40.
pub(crate) fn encode(data: &[u8]) -> Option<Symbol> {
    let (width, version, dark) = modules(data)?;
    let mut runs = Vec::new();
    for (row, cells) in dark.chunks(width).enumerate() {
        let mut col = 0;
        while col < width {
            let len = cells[col..].iter().take_while(|d| **d).count();
            if len > 0 {
                runs.push(Run { row, col, len });
            }
            col += len.max(1);
        }
    }
    Some(Symbol {
        width,
        version,
        runs,
    })
}

/// The symbol of `data` (level M): its width in modules, its version and whether each module
/// is dark, row by row; `None` if the data is too long for any version.
fn modules(data: &[u8]) -> Option<(usize, i16, Vec<bool>)> {
    let bits = qrcode::bits::encode_auto(data, EcLevel::M).ok()?;
    let version = bits.version();
    let (codewords, ec) =
        qrcode::ec::construct_codewords(&bits.into_bytes(), version, EcLevel::M).ok()?;
    let mut canvas = Canvas::new(version, EcLevel::M);
    canvas.draw_all_functional_patterns();
    canvas.draw_data(&codewords, &ec);
    let n = usize::try_from(version.width()).ok()?;
    let mask = best_mask(&canvas, n);
    canvas.apply_mask(mask);
    let number = match version {
        Version::Normal(v) | Version::Micro(v) => v,
    };
    Some((n, number, dark(canvas)))
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

impl Symbol {
    /// The symbol as an SVG image, one module per user unit with the quiet zone, black on white,
    /// every dark run one horizontal line of the path (`shape-rendering="crispEdges"`).
    pub(crate) fn svg(&self) -> String {
        use std::fmt::Write as _;
        let side = self.width + 2 * QUIET_ZONE;
        let mut d = String::with_capacity(self.runs.len() * 12);
        for r in &self.runs {
            // Each run: from its left edge on the row's middle, `len` modules to the right.
            let _ = write!(
                d,
                "M{} {}.5h{}",
                r.col + QUIET_ZONE,
                r.row + QUIET_ZONE,
                r.len
            );
        }
        format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {side} {side}\" \
             shape-rendering=\"crispEdges\"><rect width=\"{side}\" height=\"{side}\" fill=\"#fff\"/>\
             <path stroke=\"#000\" stroke-width=\"1\" d=\"{d}\"/></svg>"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use qrcode::{Color, QrCode};

    #[test]
    fn runs_cover_exactly_the_dark_modules() {
        let code = QrCode::with_error_correction_level(b"LZ1:ABC", EcLevel::M).expect("code");
        let symbol = encode(b"LZ1:ABC").expect("symbol");
        assert_eq!(symbol.width, code.width());
        let mut drawn = vec![Color::Light; code.width() * code.width()];
        for r in &symbol.runs {
            for c in r.col..r.col + r.len {
                drawn[r.row * symbol.width + c] = Color::Dark;
            }
        }
        assert_eq!(drawn, code.to_colors());
        assert!(symbol.svg().starts_with("<svg"));
    }

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
                    .expect("symbol");
                let want: Vec<bool> = code
                    .to_colors()
                    .into_iter()
                    .map(|c| c == qrcode::Color::Dark)
                    .collect();
                let (n, _, dark) = modules(url.as_bytes()).expect("symbol");
                assert_eq!((n, dark), (code.width(), want), "{url}");
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
