//! An sRGB ICC profile (ICC.1:2001-04, version 2.1, display class) built here from the numbers
//! IEC 61966-2-1 defines: the primaries adapted to the D50 connection space (Bradford), the D50
//! white, and the sRGB transfer curve sampled at 1024 points. It is the output intent's
//! destination profile of every PDF `pdf::write` makes; being computed, not copied from a
//! profile file, it carries no third party's licence terms.

/// The profile's description (`desc`) and the output condition it names.
pub(super) const DESCRIPTION: &str = "sRGB IEC61966-2.1";

/// D50 (the profile connection space's illuminant), X Y Z.
const D50: [f64; 3] = [0.9642, 1.0, 0.8249];
/// The sRGB red, green and blue colorants adapted to D50 (X Y Z each).
const COLORANTS: [[f64; 3]; 3] = [
    [0.436_074_7, 0.222_504_5, 0.013_932_2],
    [0.385_064_9, 0.716_878_6, 0.097_104_5],
    [0.143_080_4, 0.060_616_9, 0.714_173_3],
];
/// Samples of the transfer curve.
const CURVE_POINTS: u16 = 1024;

/// The profile's bytes.
pub(super) fn srgb() -> Vec<u8> {
    let xyz = |v: [f64; 3]| {
        let mut t = b"XYZ \0\0\0\0".to_vec();
        for c in v {
            t.extend_from_slice(&s15_16(c).to_be_bytes());
        }
        t
    };
    let mut desc = b"desc\0\0\0\0".to_vec();
    desc.extend_from_slice(&u32_len(DESCRIPTION.len() + 1).to_be_bytes());
    desc.extend_from_slice(DESCRIPTION.as_bytes());
    desc.push(0);
    // No Unicode and no ScriptCode description: language, count, code, count, 67 bytes.
    desc.extend_from_slice(&[0; 4 + 4 + 2 + 1 + 67]);
    let mut cprt = b"text\0\0\0\0".to_vec();
    cprt.extend_from_slice(b"No copyright, use freely\0");
    let mut curve = b"curv\0\0\0\0".to_vec();
    curve.extend_from_slice(&u32::from(CURVE_POINTS).to_be_bytes());
    for i in 0..CURVE_POINTS {
        let x = f64::from(i) / f64::from(CURVE_POINTS - 1);
        let y = if x <= 0.040_45 {
            x / 12.92
        } else {
            ((x + 0.055) / 1.055).powf(2.4)
        };
        curve.extend_from_slice(&unit16(y).to_be_bytes());
    }
    let [r, g, b] = COLORANTS;
    // The three curves are one block: tags may share their data.
    let blocks: [(&[&[u8; 4]], Vec<u8>); 7] = [
        (&[b"desc"], desc),
        (&[b"cprt"], cprt),
        (&[b"wtpt"], xyz(D50)),
        (&[b"rXYZ"], xyz(r)),
        (&[b"gXYZ"], xyz(g)),
        (&[b"bXYZ"], xyz(b)),
        (&[b"rTRC", b"gTRC", b"bTRC"], curve),
    ];
    let tags: usize = blocks.iter().map(|(sigs, _)| sigs.len()).sum();
    let mut table = u32_len(tags).to_be_bytes().to_vec();
    let mut data = Vec::new();
    let mut offset = 128 + 4 + 12 * tags;
    for (sigs, block) in &blocks {
        for sig in *sigs {
            table.extend_from_slice(*sig);
            table.extend_from_slice(&u32_len(offset).to_be_bytes());
            table.extend_from_slice(&u32_len(block.len()).to_be_bytes());
        }
        data.extend_from_slice(block);
        let padded = block.len().next_multiple_of(4);
        data.resize(data.len() + padded - block.len(), 0);
        offset += padded;
    }
    let size = 128 + table.len() + data.len();
    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(&u32_len(size).to_be_bytes());
    out.extend_from_slice(&[0; 4]); // preferred CMM: none
    out.extend_from_slice(&[2, 0x10, 0, 0]); // version 2.1
    out.extend_from_slice(b"mntrRGB XYZ ");
    // Creation date and time, fixed so that every PDF embeds the same bytes.
    for v in [2026u16, 1, 1, 0, 0, 0] {
        out.extend_from_slice(&v.to_be_bytes());
    }
    out.extend_from_slice(b"acsp");
    // Platform, flags, manufacturer, model, attributes (8), rendering intent: all zero.
    out.extend_from_slice(&[0; 4 + 4 + 4 + 4 + 8 + 4]);
    for c in D50 {
        out.extend_from_slice(&s15_16(c).to_be_bytes());
    }
    out.resize(128, 0); // creator, reserved
    out.extend_from_slice(&table);
    out.extend_from_slice(&data);
    out
}

/// A number as s15Fixed16Number.
#[allow(clippy::cast_possible_truncation)]
fn s15_16(v: f64) -> i32 {
    (v * 65536.0).round() as i32
}

/// A value in 0…1 as a 16-bit curve entry.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn unit16(v: f64) -> u16 {
    (v.clamp(0.0, 1.0) * 65535.0).round() as u16
}

/// A length or offset as the u32 the format stores (profiles here are a few kilobytes).
fn u32_len(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_profile_is_well_formed() {
        let p = srgb();
        let be32 = |at: usize| u32::from_be_bytes([p[at], p[at + 1], p[at + 2], p[at + 3]]);
        assert_eq!(be32(0) as usize, p.len());
        assert_eq!(&p[36..40], b"acsp");
        assert_eq!(&p[12..24], b"mntrRGB XYZ ");
        let tags = be32(128) as usize;
        assert_eq!(tags, 9);
        for i in 0..tags {
            let at = 132 + 12 * i;
            let (offset, size) = (be32(at + 4) as usize, be32(at + 8) as usize);
            assert!(offset % 4 == 0 && offset + size <= p.len());
        }
        // The curve: 0 and 1 at its ends, and sRGB's 50 % grey at about 21.4 % light.
        let curv = p.windows(4).position(|w| w == b"curv").unwrap_or(0);
        let entry = |i: usize| u16::from_be_bytes([p[curv + 12 + 2 * i], p[curv + 13 + 2 * i]]);
        assert_eq!((entry(0), entry(1023)), (0, 65535));
        let mid = f64::from(entry(511)) / 65535.0;
        assert!((mid - 0.2140).abs() < 0.002, "{mid}");
        // The colorants add up to the white point (each to within rounding).
        let sum_x: f64 = COLORANTS.iter().map(|c| c[0]).sum();
        assert!((sum_x - D50[0]).abs() < 1e-4);
    }
}
