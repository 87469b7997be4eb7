//! Deterministic synthetic signatures for tests and benchmarks (declared `#[doc(hidden)]`: not
//! part of the API).
//!
//! A signer's [`Style`] is a few strokes, each a sum of sinusoids along a time-like parameter,
//! with the signer's own speed profile (a monotone warp of that parameter) and pressure
//! profile. [`genuine`] draws it again with the variation of a real hand: small affine jitter,
//! shape noise, a pace within 15% of the usual one, the rhythm and pressure slightly varied.
//! [`forgery`] draws the same shape (with the same shape noise) with a forger's dynamics: 1.1
//! to 1.8 times slower, the pace partway between the signer's rhythm and the even pace of
//! tracing, longer pauses between strokes, and the signer's mean pressure within ±0.15 but
//! varying in its own way. It is not a model of real handwriting, only data with the
//! properties the comparison must tell apart.

use super::capture::{Canvas, Capture, Point};

/// Canvas units per mm (CSS pixels at 96 dpi).
const PX_PER_MM: f64 = 96.0 / 25.4;
/// The pad's sampling period, in ms.
const PERIOD_MS: f64 = 10.0;

/// A signer: the shape, rhythm and pressure their signatures share.
#[derive(Debug, Clone)]
pub struct Style {
    id: u64,
    strokes: Vec<StrokeStyle>,
    /// Pauses between strokes, in ms.
    gaps: Vec<f64>,
}

/// `amplitude * sin(2π * frequency * u + phase)`.
#[derive(Debug, Clone, Copy)]
struct Wave {
    amplitude: f64,
    frequency: f64,
    phase: f64,
}

#[derive(Debug, Clone)]
struct StrokeStyle {
    /// Start, in mm from the signature's origin.
    origin: (f64, f64),
    /// Left-to-right travel over the stroke, in mm.
    advance: f64,
    x: Vec<Wave>,
    y: Vec<Wave>,
    /// The speed profile: integer-frequency cosines added to a constant speed of 1.
    rhythm: Vec<Wave>,
    pressure: Vec<Wave>,
    pressure_base: f64,
    duration_ms: f64,
}

/// splitmix64: small, fast and good enough for test data.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..hi`.
    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        let unit = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        lo + (hi - lo) * unit
    }

    /// Uniform in `-r..r`.
    fn jitter(&mut self, r: f64) -> f64 {
        self.range(-r, r)
    }

    fn waves(&mut self, count: u32, amplitude: f64, integer: bool) -> Vec<Wave> {
        (1..=count)
            .map(|k| Wave {
                amplitude: self.range(0.3, 1.0) * amplitude / f64::from(k),
                frequency: if integer {
                    f64::from(k)
                } else {
                    f64::from(k) * self.range(0.8, 1.6)
                },
                phase: self.range(0.0, std::f64::consts::TAU),
            })
            .collect()
    }
}

fn sum(waves: &[Wave], u: f64) -> f64 {
    waves
        .iter()
        .map(|w| w.amplitude * (std::f64::consts::TAU * w.frequency * u + w.phase).sin())
        .sum()
}

/// A new signer.
pub fn signer(seed: u64) -> Style {
    let mut rng = Rng::new(seed ^ 0x5157_4e45_5253_0001);
    let count = 1 + rng.next() % 3;
    let mut x = 0.0;
    let strokes = (0..count)
        .map(|i| {
            // The first stroke is the name; later ones are shorter (an initial, a flourish).
            let main = i == 0;
            let advance = if main {
                rng.range(50.0, 80.0)
            } else {
                rng.range(10.0, 25.0)
            };
            let origin = (x + rng.range(-5.0, 5.0), rng.range(-4.0, 4.0));
            x = origin.0 + advance + rng.range(2.0, 6.0);
            let waves = if main { 6 } else { 3 };
            let (ax, ay) = (rng.range(6.0, 10.0), rng.range(8.0, 12.0));
            StrokeStyle {
                origin,
                advance,
                x: rng.waves(waves, ax, false),
                y: rng.waves(waves, ay, false),
                rhythm: rng.waves(3, 0.35, true),
                pressure: rng.waves(3, 0.2, false),
                pressure_base: rng.range(0.35, 0.65),
                duration_ms: if main {
                    rng.range(1_200.0, 2_200.0)
                } else {
                    rng.range(250.0, 600.0)
                },
            }
        })
        .collect();
    let gaps = (1..count).map(|_| rng.range(120.0, 350.0)).collect();
    Style {
        id: seed,
        strokes,
        gaps,
    }
}

/// A genuine signature of `style`, sampled at 100 Hz.
pub fn genuine(style: &Style, seed: u64) -> Capture {
    draw(style, seed, Hand::Genuine, None)
}

/// A genuine signature of `style` with exactly `points` points (at least 10), sampled as
/// densely as that takes.
pub fn genuine_with_points(style: &Style, seed: u64, points: usize) -> Capture {
    draw(style, seed, Hand::Genuine, Some(points.max(10)))
}

/// A skilled forgery of `style`: its shape, traced at an even and slower pace, with a
/// pressure of the forger's own.
pub fn forgery(style: &Style, seed: u64) -> Capture {
    draw(style, seed, Hand::Forger, None)
}

#[derive(Clone, Copy, PartialEq)]
enum Hand {
    Genuine,
    Forger,
}

/// One stroke as this sample draws it.
struct Drawn<'a> {
    style: &'a StrokeStyle,
    start_ms: f64,
    duration_ms: f64,
    noise: (Vec<Wave>, Vec<Wave>),
    rhythm: Vec<Wave>,
    pressure: Vec<Wave>,
    pressure_base: f64,
    /// How far the pace is the even one of tracing (0 for the signer, up to 1).
    traced: f64,
    /// The stroke's arc length at evenly spaced parameters, to trace evenly.
    arc: Vec<f64>,
}

impl Drawn<'_> {
    /// The shape parameter reached at fraction `u` of the stroke's time.
    fn param(&self, u: f64) -> f64 {
        // Integer frequencies integrate to 0 over the stroke, so it still ends at 1; the
        // amplitudes (at most 0.64 + 3 * 0.08 jitter in all) keep the speed positive.
        let own = u + self
            .rhythm
            .iter()
            .map(|w| {
                let a = std::f64::consts::TAU * w.frequency;
                w.amplitude * ((a * u + w.phase).sin() - w.phase.sin()) / a
            })
            .sum::<f64>();
        if self.traced == 0.0 {
            return own;
        }
        let target = u * self.arc[self.arc.len() - 1];
        let i = self.arc.partition_point(|&s| s < target).max(1);
        let (a, b) = (self.arc[i - 1], self.arc[i.min(self.arc.len() - 1)]);
        let f = if b > a { (target - a) / (b - a) } else { 0.0 };
        let even = ((i - 1) as f64 + f) / (self.arc.len() - 1) as f64;
        own + (even - own) * self.traced
    }

    /// The point at shape parameter `v`, in mm.
    fn at(&self, v: f64) -> (f64, f64) {
        let s = self.style;
        (
            s.origin.0 + s.advance * v + sum(&s.x, v) + sum(&self.noise.0, v),
            s.origin.1 + sum(&s.y, v) + sum(&self.noise.1, v),
        )
    }

    fn pressure(&self, u: f64) -> f64 {
        // The pen lands and lifts over the first and last 4% of the stroke.
        let taper = (u / 0.04).min((1.0 - u) / 0.04).clamp(0.0, 1.0).sqrt();
        ((self.pressure_base + sum(&self.pressure, u)) * taper).clamp(0.02, 1.0)
    }
}

fn draw(style: &Style, seed: u64, hand: Hand, points: Option<usize>) -> Capture {
    let mut rng = Rng::new(seed.wrapping_mul(0x2545_f491_4f6c_dd1d) ^ style.id);
    let forger = hand == Hand::Forger;
    // A forger is slower as a whole, pauses longer between strokes to find the next start,
    // and follows the lines at a more even pace than the signer's own rhythm.
    let (pace, traced) = if forger {
        (rng.range(1.1, 1.8), rng.range(0.3, 0.9))
    } else {
        (rng.range(0.85, 1.15), 0.0)
    };
    let mut start = 0.0;
    let mut strokes = Vec::new();
    for (i, s) in style.strokes.iter().enumerate() {
        if i > 0 {
            let gap = style.gaps[i - 1] * rng.range(0.8, 1.25);
            start += if forger {
                gap * rng.range(1.5, 3.0)
            } else {
                gap
            };
        }
        let noise = (rng.waves(3, 1.0, false), rng.waves(3, 1.0, false));
        let rhythm = s
            .rhythm
            .iter()
            .map(|w| Wave {
                amplitude: w.amplitude + rng.jitter(0.08),
                phase: w.phase + rng.jitter(0.3),
                ..*w
            })
            .collect();
        let (pressure, pressure_base) = if forger {
            // What the ink shows of the signer's pressure, not how it varies.
            (rng.waves(3, 0.1, false), s.pressure_base + rng.jitter(0.15))
        } else {
            let p = s
                .pressure
                .iter()
                .map(|w| Wave {
                    amplitude: w.amplitude * rng.range(0.85, 1.15),
                    phase: w.phase + rng.jitter(0.25),
                    ..*w
                })
                .collect();
            (p, s.pressure_base + rng.jitter(0.06))
        };
        let duration_ms = s.duration_ms * pace * rng.range(0.92, 1.08);
        let mut d = Drawn {
            style: s,
            start_ms: start,
            duration_ms,
            noise,
            rhythm,
            pressure,
            pressure_base,
            traced,
            arc: Vec::new(),
        };
        if traced > 0.0 {
            let mut arc = vec![0.0];
            let mut last = d.at(0.0);
            for k in 1..=256 {
                let p = d.at(f64::from(k) / 256.0);
                arc.push(arc[arc.len() - 1] + (p.0 - last.0).hypot(p.1 - last.1));
                last = p;
            }
            d.arc = arc;
        }
        start += duration_ms;
        strokes.push(d);
    }

    // Sampling times as (stroke, fraction of its time).
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); strokes.len()];
    match points {
        None => {
            for (i, d) in strokes.iter().enumerate() {
                let mut t = rng.range(0.0, PERIOD_MS);
                while t < d.duration_ms {
                    times[i].push(t / d.duration_ms);
                    t += PERIOD_MS + rng.jitter(1.0);
                }
                times[i].push(1.0);
            }
        }
        Some(n) => {
            // Evenly over the pen-down time, so each stroke gets its share.
            let total: f64 = strokes.iter().map(|d| d.duration_ms).sum();
            let (mut i, mut before) = (0, 0.0);
            for k in 0..n {
                let t = total * k as f64 / (n - 1) as f64;
                while i + 1 < strokes.len() && t > before + strokes[i].duration_ms {
                    before += strokes[i].duration_ms;
                    i += 1;
                }
                times[i].push(((t - before) / strokes[i].duration_ms).clamp(0.0, 1.0));
            }
        }
    }

    // Where this sample lands on the canvas, and how the hand turned and stretched it.
    let scale = rng.range(0.9, 1.1);
    let (angle, shear) = (rng.jitter(0.06), rng.jitter(0.05));
    let (cos, sin) = (angle.cos() * scale, angle.sin() * scale);
    let (ox, oy) = (40.0 + rng.jitter(8.0), 50.0 + rng.jitter(5.0));
    let strokes = strokes
        .iter()
        .zip(&times)
        .filter(|(_, us)| !us.is_empty())
        .map(|(d, us)| {
            us.iter()
                .map(|&u| {
                    let (x, y) = d.at(d.param(u));
                    let x = x + shear * y;
                    Point {
                        x: (ox + cos * x - sin * y) * PX_PER_MM,
                        y: (oy + sin * x + cos * y) * PX_PER_MM,
                        t_ms: d.start_ms + u * d.duration_ms,
                        pressure: Some(d.pressure(u)),
                    }
                })
                .collect()
        })
        .collect();
    Capture {
        canvas: Canvas {
            width: 1_000.0,
            height: 400.0,
            dpi: 96.0,
        },
        device: "synthetic pad".into(),
        consent: "I sign this document.".into(),
        strokes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_are_valid_and_deterministic() {
        for s in 0..50 {
            let style = signer(s);
            for c in [
                genuine(&style, s),
                forgery(&style, s),
                genuine_with_points(&style, s, 2_000),
            ] {
                c.check().unwrap_or_else(|e| panic!("signer {s}: {e}"));
            }
            assert_eq!(genuine(&style, 3), genuine(&style, 3));
            assert_ne!(genuine(&style, 3), genuine(&style, 4));
        }
        let c = genuine_with_points(&signer(1), 1, 2_000);
        assert_eq!(c.points().count(), 2_000);
    }

    #[test]
    fn forgeries_are_slower() {
        let duration = |c: &Capture| {
            let last = c
                .strokes
                .last()
                .and_then(|s| s.last())
                .map_or(0.0, |p| p.t_ms);
            last - c.strokes[0][0].t_ms
        };
        for s in 0..20 {
            let style = signer(s);
            assert!(duration(&forgery(&style, 1)) > 1.05 * duration(&genuine(&style, 1)));
        }
    }
}
