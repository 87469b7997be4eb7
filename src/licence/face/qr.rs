//! The QR code of a licence file: the verification URL (byte mode, error correction level M,
//! ISO/IEC 18004), drawn as vector paths so it stays sharp at any zoom: a white square over the
//! layout's `qr` place, then every run of dark modules of a row as one straight line along the
//! row's middle, stroked one module wide with butt ends (OFD's default cap), which covers exactly
//! the run's modules. Lines rather than filled rectangles because readers that only stroke
//! paths (easyofd draws every path as its outline) would otherwise draw hollow modules that no
//! scanner reads. The square's margin is the four-module quiet zone readers need, so the code
//! keeps it whatever the face draws around it.

use qrcode::{EcLevel, QrCode};

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
    let code = QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M)
        .map_err(|_| FaceError::QrTooLong)?;
    let n = code.width();
    let colors = code.to_colors();
    let module = spot.size / (n + 2 * QUIET_ZONE) as f64;
    let at = |i: usize| (i + QUIET_ZONE) as f64 * module;
    let mut segments = Vec::new();
    for (row, cells) in colors.chunks(n).enumerate() {
        let mut col = 0;
        while col < n {
            if cells[col] != qrcode::Color::Dark {
                col += 1;
                continue;
            }
            let run = cells[col..]
                .iter()
                .take_while(|c| **c == qrcode::Color::Dark)
                .count();
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
