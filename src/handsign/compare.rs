//! How consistent a handwritten signature is with the signer's enrolled references.
//!
//! Each capture becomes a sequence of per-point features: the pen's position (moved to the
//! centroid and divided by the RMS radius, so where and how large it was drawn do not count),
//! its velocity (in the same units per ms, divided by the references' mean speed, so a slower
//! or faster hand does count), its pressure where every capture has one, and whether the pen
//! was in the air. Strokes are joined by the straight pen-up path between them, and every
//! capture is resampled to 256 points evenly spaced along that path, which bounds the cost
//! whatever the pad's sampling rate or the signature's length. Two sequences are compared by
//! dynamic time warping within a Sakoe-Chiba band, normalised by the warping path's length: the
//! distance is a mean feature distance per step.
//!
//! The score sets the sample's mean distance to the references against the references' mean
//! distance to each other, the signer's own variability: a ratio near 1 is a sample as close
//! as the signer's genuine signatures are to one another, and the score falls as the ratio
//! grows (see [`score`]). Where to draw a line on it is a policy to set on real signatures:
//! on the synthetic set of `tests/handsign_compare.rs` the equal error rates fall at a ratio
//! of about 1.4 (a score of about 0.74), and references taken in one sitting vary less than
//! signatures made on other days.
//!
//! The score is supporting evidence, never the only gate. A forger who traces or copies the
//! shape can come close in shape; what separates them is the dynamics (speed, rhythm,
//! pressure), and a web pointer without pressure carries less of it. Weigh the score with the
//! signing's other evidence (identity checks, the channel, the consent shown), and keep it
//! with that evidence rather than act on it alone.

use serde::Serialize;

use super::capture::{Capture, CaptureError, Point};

/// How many points every capture is resampled to.
const POINTS: usize = 256;
/// The Sakoe-Chiba band's half-width, in percent of the longer sequence.
const BAND_PERCENT: usize = 10;
/// The distance ratio (sample to references over references among themselves) that scores 0.5.
pub const HALF_SCORE_RATIO: f64 = 2.0;
/// A floor for the references' spread, so near-identical references (a replayed capture)
/// do not turn every other sample's ratio into a division by almost nothing.
const SPREAD_FLOOR: f64 = 0.02;

// Weights of the features against position, whose unit is the RMS radius.
const W_VELOCITY: f64 = 1.0;
const W_PRESSURE: f64 = 2.0;
const W_PEN_UP: f64 = 0.5;

/// x, y, vx, vy, pressure, pen up.
const DIMS: usize = 6;
type Feature = [f64; DIMS];

/// How a sample compares with the signer's references.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    /// From 0 to 1, higher is more consistent with the references: [`score`] of the ratio
    /// `distance / reference_spread`.
    pub score: f64,
    /// The sample's mean distance to the references.
    pub distance: f64,
    /// The references' mean distance to each other.
    pub reference_spread: f64,
    /// How many references the sample was compared with.
    pub references: usize,
    /// The sample's distance to each reference, in their order.
    pub per_reference: Vec<f64>,
    /// Whether pressure counted (every capture had it).
    pub pressure: bool,
}

/// Why a comparison cannot be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CompareError {
    /// Fewer than two references: the signer's own variability cannot be measured.
    #[error(
        "comparing needs at least 2 reference signatures to measure how much the signer's \
         own signatures vary, and {0} were given"
    )]
    TooFewReferences(usize),
    /// The sample fails the capture checks.
    #[error("the sample signature is not valid: {0}")]
    Sample(#[source] CaptureError),
    /// A reference fails the capture checks.
    #[error("reference signature {index} is not valid: {source}")]
    Reference {
        /// 0-based position in the references.
        index: usize,
        /// What is wrong with it.
        source: CaptureError,
    },
}

/// Compares `sample` with two or more `references` of the same signer.
pub fn compare(sample: &Capture, references: &[Capture]) -> Result<Comparison, CompareError> {
    if references.len() < 2 {
        return Err(CompareError::TooFewReferences(references.len()));
    }
    sample.check().map_err(CompareError::Sample)?;
    for (index, r) in references.iter().enumerate() {
        r.check()
            .map_err(|source| CompareError::Reference { index, source })?;
    }
    let pressure = has_pressure(sample) && references.iter().all(has_pressure);
    let refs: Vec<Track> = references.iter().map(Track::new).collect();
    let speed = refs.iter().map(|r| r.speed).sum::<f64>() / refs.len() as f64;
    let refs: Vec<Vec<Feature>> = refs.iter().map(|r| r.features(speed, pressure)).collect();
    let s = Track::new(sample).features(speed, pressure);

    let per_reference: Vec<f64> = refs.iter().map(|r| dtw(&s, r)).collect();
    let distance = mean(&per_reference);
    let mut pairs = Vec::new();
    for (i, a) in refs.iter().enumerate() {
        for b in &refs[i + 1..] {
            pairs.push(dtw(a, b));
        }
    }
    let reference_spread = mean(&pairs);
    Ok(Comparison {
        score: score(distance / reference_spread.max(SPREAD_FLOOR)),
        distance,
        reference_spread,
        references: references.len(),
        per_reference,
        pressure,
    })
}

/// The distance between two captures as [`compare`] measures a sample against one reference
/// (velocity in units of the reference's mean speed).
pub fn distance(sample: &Capture, reference: &Capture) -> Result<f64, CompareError> {
    sample.check().map_err(CompareError::Sample)?;
    reference
        .check()
        .map_err(|source| CompareError::Reference { index: 0, source })?;
    let pressure = has_pressure(sample) && has_pressure(reference);
    let r = Track::new(reference);
    let speed = r.speed;
    Ok(dtw(
        &Track::new(sample).features(speed, pressure),
        &r.features(speed, pressure),
    ))
}

/// Maps the distance ratio to a score: `1 / (1 + (ratio / HALF_SCORE_RATIO)^3)`, 1 at 0,
/// about 0.89 at a ratio of 1 (as close as the references are to one another), 0.5 at
/// [`HALF_SCORE_RATIO`], and falling towards 0; strictly decreasing, so a threshold on the
/// score is a threshold on the ratio.
pub fn score(ratio: f64) -> f64 {
    1.0 / (1.0 + (ratio.max(0.0) / HALF_SCORE_RATIO).powi(3))
}

fn has_pressure(c: &Capture) -> bool {
    c.points().all(|p| p.pressure.is_some())
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

/// One resampled point: normalised position, time, pressure, pen up.
#[derive(Clone, Copy)]
struct Resampled {
    x: f64,
    y: f64,
    t: f64,
    p: f64,
    up: bool,
}

/// A capture resampled and normalised, before the features that depend on the references.
struct Track {
    points: Vec<Resampled>,
    /// Velocities, in RMS radii per ms, lightly smoothed.
    velocity: Vec<(f64, f64)>,
    /// Mean speed, pen down and up.
    speed: f64,
}

impl Track {
    fn new(c: &Capture) -> Track {
        let mut points = resample(c);
        let n = points.len() as f64;
        let cx = points.iter().map(|p| p.x).sum::<f64>() / n;
        let cy = points.iter().map(|p| p.y).sum::<f64>() / n;
        let rms = (points
            .iter()
            .map(|p| (p.x - cx).powi(2) + (p.y - cy).powi(2))
            .sum::<f64>()
            / n)
            .sqrt()
            .max(f64::MIN_POSITIVE);
        for p in &mut points {
            p.x = (p.x - cx) / rms;
            p.y = (p.y - cy) / rms;
        }
        let last = points.len() - 1;
        let raw: Vec<(f64, f64)> = (0..points.len())
            .map(|i| {
                let (a, b) = (points[i.saturating_sub(1)], points[(i + 1).min(last)]);
                // Coalesced events can share a millisecond: the same 1 ms floor as the checks.
                let dt = (b.t - a.t).max(1.0);
                ((b.x - a.x) / dt, (b.y - a.y) / dt)
            })
            .collect();
        // A 5-point moving average: the resampled velocity jitters with the pad's clock.
        let velocity: Vec<(f64, f64)> = (0..raw.len())
            .map(|i| {
                let w = &raw[i.saturating_sub(2)..(i + 3).min(raw.len())];
                let k = w.len() as f64;
                (
                    w.iter().map(|v| v.0).sum::<f64>() / k,
                    w.iter().map(|v| v.1).sum::<f64>() / k,
                )
            })
            .collect();
        let speeds: Vec<f64> = velocity.iter().map(|v| v.0.hypot(v.1)).collect();
        // Some motion is certain after `check()`; the floor keeps features finite regardless.
        let speed = mean(&speeds).max(1e-12);
        Track {
            points,
            velocity,
            speed,
        }
    }

    fn features(&self, speed: f64, pressure: bool) -> Vec<Feature> {
        let wv = W_VELOCITY / speed;
        let wp = if pressure { W_PRESSURE } else { 0.0 };
        self.points
            .iter()
            .zip(&self.velocity)
            .map(|(p, v)| {
                let up = if p.up { W_PEN_UP } else { 0.0 };
                [p.x, p.y, v.0 * wv, v.1 * wv, p.p * wp, up]
            })
            .collect()
    }
}

/// [`POINTS`] points evenly spaced along the pen's path, strokes joined by straight pen-up
/// segments, time and pressure interpolated (pressure 0 in the air).
fn resample(c: &Capture) -> Vec<Resampled> {
    // Each vertex with whether the segment reaching it is pen-up.
    let vertices: Vec<(&Point, bool)> = c
        .strokes
        .iter()
        .enumerate()
        .flat_map(|(s, stroke)| {
            stroke
                .iter()
                .enumerate()
                .map(move |(i, p)| (p, s > 0 && i == 0))
        })
        .collect();
    let mut arc = Vec::with_capacity(vertices.len());
    let mut total = 0.0;
    for (i, (p, _)) in vertices.iter().enumerate() {
        if i > 0 {
            let q = vertices[i - 1].0;
            let (dx, dy) = (p.x - q.x, p.y - q.y);
            total += (dx * dx + dy * dy).sqrt();
        }
        arc.push(total);
    }
    let pressure = |p: &Point| p.pressure.unwrap_or(0.0);
    let mut out = Vec::with_capacity(POINTS);
    let mut j = 0;
    for k in 0..POINTS {
        let target = total * k as f64 / (POINTS - 1) as f64;
        while j + 2 < vertices.len() && arc[j + 1] < target {
            j += 1;
        }
        let Some(&(b, up)) = vertices.get(j + 1) else {
            // A single point: check() refuses it, but resampling stays total.
            let a = vertices[0].0;
            out.push(Resampled {
                x: a.x,
                y: a.y,
                t: a.t_ms,
                p: pressure(a),
                up: false,
            });
            continue;
        };
        let a = vertices[j].0;
        let len = arc[j + 1] - arc[j];
        let f = if len > 0.0 {
            ((target - arc[j]) / len).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let lerp = |u: f64, v: f64| u + (v - u) * f;
        out.push(Resampled {
            x: lerp(a.x, b.x),
            y: lerp(a.y, b.y),
            t: lerp(a.t_ms, b.t_ms),
            p: if up {
                0.0
            } else {
                lerp(pressure(a), pressure(b))
            },
            up,
        });
    }
    out
}

/// Dynamic time warping within a Sakoe-Chiba band around the (scaled) diagonal, in Sakoe and
/// Chiba's symmetric form: a diagonal step weighs twice, so every warping path weighs `n + m`
/// and the least weighted sum of Euclidean feature distances divided by `n + m` is a mean
/// distance per step of path, whatever the path.
fn dtw(a: &[Feature], b: &[Feature]) -> f64 {
    let (n, m) = (a.len(), b.len());
    if n == 0 || m == 0 {
        return 0.0;
    }
    // Wide enough to hold the diagonal of unequal lengths and keep consecutive rows connected.
    let band = n.max(m) * BAND_PERCENT / 100 + n.abs_diff(m) + 1;
    let mut prev = vec![f64::INFINITY; m];
    let mut cur = prev.clone();
    let mut dist = vec![0.0; m];
    for (i, fa) in a.iter().enumerate() {
        let centre = i * m / n;
        let (lo, hi) = (centre.saturating_sub(band), (centre + band).min(m - 1) + 1);
        std::mem::swap(&mut prev, &mut cur);
        // Plain slices and arithmetic: this crate runs unoptimised in debug builds, where
        // `Vec` indexing and iterator adaptors are calls.
        let (prev, cur, dist) = (prev.as_slice(), cur.as_mut_slice(), &mut dist[..]);
        cur.fill(f64::INFINITY);
        // The row's distances apart from its serial chain of minima, which they would stall.
        let [a0, a1, a2, a3, a4, a5] = *fa;
        for j in lo..hi {
            let [b0, b1, b2, b3, b4, b5] = b[j];
            let (d0, d1, d2, d3, d4, d5) = (a0 - b0, a1 - b1, a2 - b2, a3 - b3, a4 - b4, a5 - b5);
            dist[j] = (d0 * d0 + d1 * d1 + d2 * d2 + d3 * d3 + d4 * d4 + d5 * d5).sqrt();
        }
        for j in lo..hi {
            let d = dist[j];
            cur[j] = if j == 0 {
                if i == 0 { 2.0 * d } else { prev[0] + d }
            } else {
                // The left neighbour last: it is the one that waits on the previous cell.
                let up = prev[j] + d;
                let diagonal = prev[j - 1] + 2.0 * d;
                let left = cur[j - 1] + d;
                let best = if up < diagonal { up } else { diagonal };
                if left < best { left } else { best }
            };
        }
    }
    cur[m - 1] / (n + m) as f64
}

#[cfg(test)]
mod tests {
    use super::super::synthetic;
    use super::*;

    fn refs(style: &synthetic::Style) -> Vec<Capture> {
        (0..4).map(|i| synthetic::genuine(style, 100 + i)).collect()
    }

    #[test]
    fn fewer_than_two_references_are_refused() {
        let style = synthetic::signer(1);
        let s = synthetic::genuine(&style, 1);
        let one = [synthetic::genuine(&style, 2)];
        let err = compare(&s, &one).expect_err("one reference");
        assert_eq!(err, CompareError::TooFewReferences(1));
        assert!(err.to_string().contains("at least 2"));
        assert!(matches!(
            compare(&s, &[]),
            Err(CompareError::TooFewReferences(0))
        ));
    }

    #[test]
    fn invalid_captures_are_refused() {
        let style = synthetic::signer(1);
        let mut bad = synthetic::genuine(&style, 1);
        bad.strokes[0].truncate(1);
        bad.strokes.truncate(1);
        let r = refs(&style);
        assert!(matches!(compare(&bad, &r), Err(CompareError::Sample(_))));
        let mut r2 = r.clone();
        r2[2] = bad;
        assert!(matches!(
            compare(&r[0], &r2),
            Err(CompareError::Reference { index: 2, .. })
        ));
    }

    #[test]
    fn distance_is_zero_to_itself_and_ignores_position_and_size() {
        let style = synthetic::signer(7);
        let a = synthetic::genuine(&style, 1);
        assert!(distance(&a, &a).expect("valid") < 1e-12);
        // Half the size, moved: the same signature drawn smaller elsewhere, at the same pace
        // in canvas units per ms halved, which is the same pace relative to its size.
        let mut b = a.clone();
        for p in b.strokes.iter_mut().flatten() {
            p.x = p.x * 0.5 + 30.0;
            p.y = p.y * 0.5 + 20.0;
        }
        assert!(distance(&b, &a).expect("valid") < 1e-9);
    }

    #[test]
    fn speed_counts() {
        let style = synthetic::signer(7);
        let a = synthetic::genuine(&style, 1);
        let mut slow = a.clone();
        for p in slow.strokes.iter_mut().flatten() {
            p.t_ms *= 2.0;
        }
        let d = distance(&slow, &a).expect("valid");
        assert!(d > 0.2, "{d}");
    }

    #[test]
    fn genuine_scores_above_skilled_and_random_forgeries() {
        let style = synthetic::signer(3);
        let r = refs(&style);
        let genuine = compare(&synthetic::genuine(&style, 9), &r).expect("compare");
        let skilled = compare(&synthetic::forgery(&style, 9), &r).expect("compare");
        let random = compare(&synthetic::genuine(&synthetic::signer(4), 9), &r).expect("compare");
        assert_eq!(genuine.references, 4);
        assert_eq!(genuine.per_reference.len(), 4);
        assert!(genuine.pressure);
        for c in [&genuine, &skilled, &random] {
            assert!((0.0..=1.0).contains(&c.score), "{c:?}");
        }
        assert!(genuine.score > 0.7, "{genuine:?}");
        assert!(skilled.score < genuine.score, "{skilled:?}");
        assert!(random.score < skilled.score, "{random:?}");
    }

    #[test]
    fn pressure_counts_only_when_every_capture_has_it() {
        let style = synthetic::signer(5);
        let mut r = refs(&style);
        let s = synthetic::genuine(&style, 9);
        assert!(compare(&s, &r).expect("compare").pressure);
        for p in r[1].strokes.iter_mut().flatten() {
            p.pressure = None;
        }
        assert!(!compare(&s, &r).expect("compare").pressure);
    }

    #[test]
    fn score_is_monotone_and_bounded() {
        assert!((score(0.0) - 1.0).abs() < 1e-12);
        assert!((score(HALF_SCORE_RATIO) - 0.5).abs() < 1e-12);
        let mut last = 1.0;
        for i in 1..100 {
            let s = score(f64::from(i) / 10.0);
            assert!(s < last && s > 0.0);
            last = s;
        }
    }

    #[test]
    fn dtw_absorbs_a_time_shift_within_the_band() {
        let wave = |shift: f64| -> Vec<Feature> {
            (0..100)
                .map(|i| {
                    let x = (f64::from(i) / 100.0 - shift).clamp(0.0, 1.0);
                    [(x * 6.0).sin(), 0.0, 0.0, 0.0, 0.0, 0.0]
                })
                .collect()
        };
        let (a, b) = (wave(0.0), wave(0.05));
        let lockstep = a
            .iter()
            .zip(&b)
            .map(|(u, v)| (u[0] - v[0]).abs())
            .sum::<f64>()
            / a.len() as f64;
        assert!(dtw(&a, &b) < lockstep / 4.0, "{} {lockstep}", dtw(&a, &b));
        // Unequal lengths still reach the far corner.
        assert!(dtw(&a, &b[..60]).is_finite() && dtw(&a[..7], &b).is_finite());
    }
}
