//! The QR code of a licence file: the verification URL (byte mode, error correction level M,
//! ISO/IEC 18004), drawn as vector paths so it stays sharp at any zoom: a white square over the
//! layout's `qr` place, then every run of dark modules of a row as one straight line along the
//! row's middle, stroked one module wide with butt ends (OFD's default cap), which covers exactly
//! the run's modules. Lines rather than filled rectangles because readers that only stroke
//! paths (easyofd draws every path as its outline) would otherwise draw hollow modules that no
//! scanner reads. The square's margin is the four-module quiet zone readers need, so the code
//! keeps it whatever the face draws around it.

use super::FaceError;
use crate::licence::catalogue::QrSpot;
use crate::ofd::write::{Color, Object, Path, Point, Rect, Segment, Stroke};
use crate::qr::QUIET_ZONE;

const WHITE: Color = Color {
    r: 255,
    g: 255,
    b: 255,
};

/// The QR code of `data` filling `spot` (quiet zone included): the white square, then the dark
/// modules as one stroked path.
pub(super) fn objects(data: &str, spot: QrSpot) -> Result<[Object; 2], FaceError> {
    let symbol = crate::qr::encode(data.as_bytes()).ok_or(FaceError::QrTooLong)?;
    let module = spot.size / (symbol.width + 2 * QUIET_ZONE) as f64;
    let at = |i: usize| (i + QUIET_ZONE) as f64 * module;
    let mut segments = Vec::with_capacity(2 * symbol.runs.len());
    for run in &symbol.runs {
        let (x0, x1) = (spot.x + at(run.col), spot.x + at(run.col + run.len));
        let y = spot.y + at(run.row) + module / 2.0;
        segments.extend([
            Segment::MoveTo(Point { x: x0, y }),
            Segment::LineTo(Point { x: x1, y }),
        ]);
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
