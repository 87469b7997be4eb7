//! The QR symbols the vault draws (ISO/IEC 18004, error correction level M): a licence file's
//! verification URL and a 亮证 presentation code. Both are drawn from the same thing, each row's
//! runs of dark modules, so the OFD page and the SVG come from one reading of the symbol.

use qrcode::{Color, EcLevel, QrCode, Version};

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
    let code = QrCode::with_error_correction_level(data, EcLevel::M).ok()?;
    let width = code.width();
    let version = match code.version() {
        Version::Normal(v) | Version::Micro(v) => v,
    };
    let mut runs = Vec::new();
    for (row, cells) in code.to_colors().chunks(width).enumerate() {
        let mut col = 0;
        while col < width {
            let len = cells[col..]
                .iter()
                .take_while(|c| **c == Color::Dark)
                .count();
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
}
