//! The pen capture: what a signing pad records of a handwritten signature (the data elements of
//! ISO/IEC 19794-7 time series: x, y, time, pressure), the canvas it was drawn on, the device and
//! the consent text the signer saw, checked before anything is signed, and one canonical byte
//! form whose hash a signature binds.

use serde::{Deserialize, Serialize};

/// The most points a capture may hold (a long signature at 240 Hz for 40 s).
pub const MAX_POINTS: usize = 10_000;
/// The most strokes a capture may hold.
pub const MAX_STROKES: usize = 200;
/// The fewest points of a signature (a tap or a dot is not one).
pub const MIN_POINTS: usize = 10;
/// The shortest time from first to last point, in ms.
pub const MIN_DURATION_MS: f64 = 150.0;
/// The longest time from first to last point, in ms (10 minutes).
pub const MAX_DURATION_MS: f64 = 600_000.0;
/// The shortest pen path, in mm on the canvas.
pub const MIN_PATH_MM: f64 = 5.0;
/// The fastest a pen may move between two points, in mm per ms (5 m/s: a fast flourish moves
/// at about 1 m/s; faster is a pasted or computed trace, or a broken clock).
pub const MAX_SPEED_MM_PER_MS: f64 = 5.0;
/// The longest consent text, in characters.
pub const MAX_CONSENT: usize = 2_000;
/// The longest device description, in characters.
pub const MAX_DEVICE: usize = 200;

/// A handwritten signature as captured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Capture {
    /// The drawing surface.
    pub canvas: Canvas,
    /// What it was drawn on (browser and pointer type, or a pad's model).
    pub device: String,
    /// The consent text shown to the signer before signing.
    pub consent: String,
    /// Pen-down to pen-up runs of points, in drawing order.
    pub strokes: Vec<Vec<Point>>,
}

/// The drawing surface: its size in its own units (CSS pixels on a web page) and how many of
/// them make an inch.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Canvas {
    /// Width in canvas units.
    pub width: f64,
    /// Height in canvas units.
    pub height: f64,
    /// Canvas units per inch (96 for CSS pixels).
    pub dpi: f64,
}

/// One sample of the pen: position from the canvas's top-left corner, time since the capture
/// began, and pressure (0–1) where the device measures it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Point {
    /// Horizontal position, canvas units from the left.
    pub x: f64,
    /// Vertical position, canvas units from the top.
    pub y: f64,
    /// Milliseconds since the capture began.
    pub t_ms: f64,
    /// Pen pressure from 0 to 1, absent where the device has no sensor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pressure: Option<f64>,
}

/// Why a capture is refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CaptureError {
    /// Not JSON of the capture's shape.
    #[error("the capture is not valid: {0}")]
    Malformed(String),
    /// The canvas size or resolution is not usable.
    #[error("`canvas` needs a width and height from 1 to 10000 and a dpi from 50 to 2400")]
    Canvas,
    /// `device` or `consent` is empty, too long or has control characters.
    #[error("`{0}` must be 1 to {1} characters without control characters")]
    Text(&'static str, usize),
    /// No strokes, or an empty stroke.
    #[error("the capture is empty: no strokes, or a stroke without points")]
    Empty,
    /// Too few points, too short a time or too short a path to be a signature.
    #[error("the capture is too short to be a signature: {0}")]
    TooShort(&'static str),
    /// More points or strokes than a signature has.
    #[error("the capture is too long: at most {MAX_POINTS} points in {MAX_STROKES} strokes")]
    TooLong,
    /// A coordinate, time or pressure that is not a finite number in its range.
    #[error("stroke {stroke}, point {point}: {what}")]
    OutOfRange {
        /// 0-based stroke.
        stroke: usize,
        /// 0-based point within the stroke.
        point: usize,
        /// What is wrong.
        what: &'static str,
    },
    /// Time that goes backwards, within a stroke or from one stroke to the next.
    #[error("stroke {stroke}, point {point}: `t_ms` goes backwards")]
    NonMonotonicTime {
        /// 0-based stroke.
        stroke: usize,
        /// 0-based point within the stroke.
        point: usize,
    },
    /// A pen that would have moved faster than a hand can.
    #[error(
        "stroke {stroke}, point {point}: the pen moves faster than a hand can ({speed:.1} m/s)"
    )]
    ImpossibleSpeed {
        /// 0-based stroke.
        stroke: usize,
        /// 0-based point within the stroke.
        point: usize,
        /// The speed in m/s.
        speed: f64,
    },
}

/// Checks `s` is 1..=`max` characters without control characters.
fn text(s: &str, name: &'static str, max: usize) -> Result<(), CaptureError> {
    let n = s.chars().count();
    if n == 0 || n > max || s.chars().any(|c| c.is_control() && c != '\n') || s.trim().is_empty() {
        return Err(CaptureError::Text(name, max));
    }
    Ok(())
}

impl Capture {
    /// Parses and checks a capture from JSON, its samples rounded as [`Capture::rounded`] says.
    pub fn from_json(bytes: &[u8]) -> Result<Capture, CaptureError> {
        let capture: Capture = serde_json::from_slice(bytes).map_err(|e| {
            // serde's message names no Rust type for these shapes, but keep it to its first line.
            CaptureError::Malformed(e.to_string().lines().next().unwrap_or_default().to_owned())
        })?;
        let capture = capture.rounded();
        capture.check()?;
        Ok(capture)
    }

    /// The capture with positions and times to 1/100 of a canvas unit and of a millisecond and
    /// pressure to 1/1000: finer than any pad measures, and short numbers make the canonical
    /// form (what is hashed, signed and kept) a third of the size.
    pub fn rounded(mut self) -> Capture {
        let to = |v: f64, k: f64| {
            if v.is_finite() {
                (v * k).round() / k
            } else {
                v
            }
        };
        for p in self.strokes.iter_mut().flatten() {
            p.x = to(p.x, 100.0);
            p.y = to(p.y, 100.0);
            p.t_ms = to(p.t_ms, 100.0);
            p.pressure = p.pressure.map(|v| to(v, 1000.0));
        }
        self
    }

    /// The checks a capture must pass before it is signed or compared.
    pub fn check(&self) -> Result<(), CaptureError> {
        let c = self.canvas;
        if !(1.0..=10_000.0).contains(&c.width)
            || !(1.0..=10_000.0).contains(&c.height)
            || !(50.0..=2_400.0).contains(&c.dpi)
        {
            return Err(CaptureError::Canvas);
        }
        text(&self.device, "device", MAX_DEVICE)?;
        text(&self.consent, "consent", MAX_CONSENT)?;
        if self.strokes.is_empty() || self.strokes.iter().any(Vec::is_empty) {
            return Err(CaptureError::Empty);
        }
        let points: usize = self.strokes.iter().map(Vec::len).sum();
        if points > MAX_POINTS || self.strokes.len() > MAX_STROKES {
            return Err(CaptureError::TooLong);
        }
        if points < MIN_POINTS {
            return Err(CaptureError::TooShort("fewer than 10 points"));
        }
        let mm = 25.4 / c.dpi;
        let mut last_t = 0.0;
        let mut path_mm = 0.0;
        for (s, stroke) in self.strokes.iter().enumerate() {
            let mut prev: Option<&Point> = None;
            for (i, p) in stroke.iter().enumerate() {
                let bad = |what| CaptureError::OutOfRange {
                    stroke: s,
                    point: i,
                    what,
                };
                // A pointer may stray a little past the edge while the button is down.
                let (mx, my) = (c.width * 0.05, c.height * 0.05);
                if !p.x.is_finite() || p.x < -mx || p.x > c.width + mx {
                    return Err(bad("`x` is outside the canvas"));
                }
                if !p.y.is_finite() || p.y < -my || p.y > c.height + my {
                    return Err(bad("`y` is outside the canvas"));
                }
                if !p.t_ms.is_finite() || p.t_ms < 0.0 || p.t_ms > MAX_DURATION_MS {
                    return Err(bad("`t_ms` must be from 0 to 600000"));
                }
                if p.pressure.is_some_and(|v| !(0.0..=1.0).contains(&v)) {
                    return Err(bad("`pressure` must be from 0 to 1"));
                }
                if p.t_ms < last_t {
                    return Err(CaptureError::NonMonotonicTime {
                        stroke: s,
                        point: i,
                    });
                }
                if let Some(q) = prev {
                    let d = (p.x - q.x).hypot(p.y - q.y) * mm;
                    // Events a browser coalesces can share a millisecond: a 1 ms floor.
                    let speed = d / (p.t_ms - q.t_ms).max(1.0);
                    if speed > MAX_SPEED_MM_PER_MS {
                        return Err(CaptureError::ImpossibleSpeed {
                            stroke: s,
                            point: i,
                            speed,
                        });
                    }
                    path_mm += d;
                }
                last_t = p.t_ms;
                prev = Some(p);
            }
        }
        let first = self.strokes[0][0].t_ms;
        if last_t - first < MIN_DURATION_MS {
            return Err(CaptureError::TooShort("drawn in less than 150 ms"));
        }
        if path_mm < MIN_PATH_MM {
            return Err(CaptureError::TooShort("a pen path shorter than 5 mm"));
        }
        Ok(())
    }

    /// The canonical bytes: compact JSON, fields in declaration order, numbers as serde_json
    /// writes an f64 (shortest round-trip form). Parsing them back gives the same capture, so
    /// evidence kept in this form hashes the same forever (it is of the rounded capture, and
    /// rounding again changes nothing).
    pub fn canonical(&self) -> Vec<u8> {
        // Rounded here too, so that a capture built in code (the references and compare
        // requests serde reads, a library caller's) hashes as its stored form will. Serializing
        // plain structs of f64, String and Vec cannot fail.
        serde_json::to_vec(&self.clone().rounded()).unwrap_or_default()
    }

    /// Every point, in order.
    pub fn points(&self) -> impl Iterator<Item = &Point> {
        self.strokes.iter().flatten()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A loop drawn over 600 ms in 60 points.
    pub(crate) fn sample() -> Capture {
        let stroke = (0..60)
            .map(|i| {
                let a = f64::from(i) / 10.0;
                Point {
                    x: 200.0 + 80.0 * a.cos(),
                    y: 100.0 + 40.0 * a.sin(),
                    t_ms: f64::from(i) * 10.0,
                    pressure: Some(0.5),
                }
            })
            .collect();
        Capture {
            canvas: Canvas {
                width: 400.0,
                height: 200.0,
                dpi: 96.0,
            },
            device: "test pad".into(),
            consent: "本人确认签署".into(),
            strokes: vec![stroke],
        }
    }

    #[test]
    fn a_signature_passes_and_its_canonical_form_round_trips() {
        let c = sample();
        c.check().expect("valid");
        let parsed = Capture::from_json(&c.canonical()).expect("parses");
        assert_eq!(parsed, c.clone().rounded());
        assert!(
            (parsed.strokes[0][1].y - 103.99).abs() < 1e-9,
            "rounded to 1/100"
        );
        let bytes = parsed.canonical();
        assert_eq!(
            Capture::from_json(&bytes).expect("parses").canonical(),
            bytes
        );
    }

    #[test]
    fn bad_captures_are_refused_with_their_reason() {
        let mut c = sample();
        c.strokes.clear();
        assert_eq!(c.check(), Err(CaptureError::Empty));

        let mut c = sample();
        c.strokes[0].truncate(5);
        assert!(matches!(c.check(), Err(CaptureError::TooShort(_))));

        let mut c = sample();
        c.strokes[0][7].t_ms = 1.0;
        assert_eq!(
            c.check(),
            Err(CaptureError::NonMonotonicTime {
                stroke: 0,
                point: 7
            })
        );

        let mut c = sample();
        c.strokes[0][8].x = 10.0;
        c.strokes[0][8].t_ms = c.strokes[0][7].t_ms;
        assert!(matches!(
            c.check(),
            Err(CaptureError::ImpossibleSpeed { point: 8, .. })
        ));

        let mut c = sample();
        c.strokes[0][3].pressure = Some(1.5);
        assert!(matches!(c.check(), Err(CaptureError::OutOfRange { .. })));

        let mut c = sample();
        c.consent = "  ".into();
        assert_eq!(c.check(), Err(CaptureError::Text("consent", MAX_CONSENT)));

        let mut c = sample();
        for p in &mut c.strokes[0] {
            p.t_ms /= 10.0;
        }
        assert!(matches!(c.check(), Err(CaptureError::TooShort(_))));

        assert!(matches!(
            Capture::from_json(br#"{"canvas":{}}"#),
            Err(CaptureError::Malformed(_))
        ));
        let mut v = serde_json::to_value(sample()).expect("json");
        v["extra"] = 1.into();
        assert!(matches!(
            Capture::from_json(v.to_string().as_bytes()),
            Err(CaptureError::Malformed(_))
        ));
    }
}
