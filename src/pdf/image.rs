//! A seal picture (`SES_ESPictrueInfo`) turned into what a PDF image XObject needs.
//!
//! PNG is decoded and re-encoded: colour and alpha become two FlateDecode streams, the image and
//! its soft mask (ISO 32000-1 §8.9.5, §11.6.5.3). A PNG without any alpha (a scanned seal on
//! white paper) gets a soft mask derived from the paper: white vanishes and ink stays, so a seal
//! printed over text lets the text show through as a real stamp does. JPEG is passed through
//! untouched as DCTDecode; only its frame header is read, for the size and colour space.
//! Everything else (GIF, SVG, OFD vector seals) is refused.
//!
//! The input is untrusted (it comes from an SES seal), so sizes are checked from the headers
//! before anything image-sized is allocated.

use std::io::{Cursor, Write};

use flate2::{Compression, write::ZlibEncoder};

use crate::ses::Picture;

/// Largest width or height accepted, in pixels.
const MAX_SIDE_PX: u32 = 4096;
/// Largest decoded image accepted (8-bit samples, alpha included), in bytes.
const MAX_DECODED_BYTES: usize = 64 * 1024 * 1024;
/// Accepted display sizes in millimetres: real seals are 20–60 mm; the margin admits long
/// signature strips and riding seals without admitting nonsense.
const SIZE_RANGE_MM: std::ops::RangeInclusive<u16> = 1..=200;
/// The zlib level for both streams: the result is cached per seal, so ratio beats speed.
const FLATE_LEVEL: u32 = 6;

/// Derived alpha: a pixel whose darkest channel is at least this light is paper (alpha 0).
const PAPER_LEVEL: u32 = 235;
/// Derived alpha: a pixel whose darkest channel is at most this light is ink (alpha 255).
/// Seal red (#E0201A) has 0x1A and scanned red ink stays well under this.
const INK_LEVEL: u32 = 115;

/// The PNG file signature.
const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
/// The JPEG start-of-image marker followed by the first byte of the next marker.
const JPEG_SOI: &[u8] = &[0xFF, 0xD8, 0xFF];

/// A seal picture ready to be written as a PDF image XObject (with an optional soft mask).
#[derive(Debug, Clone, PartialEq)]
pub struct SealImage {
    /// Width in pixels (`/Width`).
    pub width: u32,
    /// Height in pixels (`/Height`).
    pub height: u32,
    /// `/ColorSpace`: "DeviceRGB" or "DeviceGray".
    pub color_space: &'static str,
    /// `/BitsPerComponent`: always 8.
    pub bits_per_component: u8,
    /// `/Filter`: "FlateDecode" or "DCTDecode".
    pub filter: &'static str,
    /// The stream bytes exactly as written in the PDF.
    pub data: Vec<u8>,
    /// The `/SMask` stream: FlateDecode'd 8-bit DeviceGray alpha, `width`×`height`, when not
    /// fully opaque.
    pub smask: Option<Vec<u8>>,
    /// Display width in millimetres.
    pub width_mm: f64,
    /// Display height in millimetres.
    pub height_mm: f64,
}

/// Why a seal picture cannot be placed in a PDF.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageError {
    /// The picture is neither PNG nor JPEG (GIF, SVG, an OFD vector seal, …).
    #[error("unsupported seal picture format {0:?} (only PNG and JPEG can be placed in a PDF)")]
    Unsupported(String),
    /// The bytes claim to be PNG but do not decode.
    #[error("not a usable PNG image: {0}")]
    InvalidPng(String),
    /// The bytes claim to be JPEG but have no usable frame header.
    #[error("not a usable JPEG image: {0}")]
    InvalidJpeg(String),
    /// The picture has more pixels than a seal needs.
    #[error(
        "the seal picture is {width}×{height} pixels (at most {MAX_SIDE_PX}×{MAX_SIDE_PX} and \
         64 MiB decoded)"
    )]
    TooLarge {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
    },
    /// The display size carried by the seal is zero, negative or absurd.
    #[error("bad seal picture size {width_mm}×{height_mm} mm (each side must be 1–200 mm)")]
    BadSize {
        /// Display width in millimetres, as carried by the seal.
        width_mm: i64,
        /// Display height in millimetres, as carried by the seal.
        height_mm: i64,
    },
    /// zlib failed to compress (does not happen when writing to memory).
    #[error("the seal picture could not be compressed")]
    Compress,
}

/// Turns a seal picture into an image XObject's parts, refusing formats PDF cannot show.
///
/// The content decides the format when it is recognisable (producers write "PNG" over JPEG
/// bytes and vice versa); the declared `kind` is used only otherwise.
pub fn seal_image(picture: &Picture) -> Result<SealImage, ImageError> {
    let (width_mm, height_mm) = display_size(picture)?;
    let data = picture.data.as_slice();
    let kind = picture.kind.trim();
    let is_png = data.starts_with(PNG_SIGNATURE);
    let is_jpeg = data.starts_with(JPEG_SOI);
    let raster = if is_png || (!is_jpeg && kind.eq_ignore_ascii_case("png")) {
        png_raster(data, true)?
    } else if is_jpeg || kind.eq_ignore_ascii_case("jpg") || kind.eq_ignore_ascii_case("jpeg") {
        jpeg_raster(data)?
    } else {
        return Err(ImageError::Unsupported(kind.chars().take(32).collect()));
    };
    Ok(SealImage {
        width: raster.width,
        height: raster.height,
        color_space: raster.color_space,
        bits_per_component: 8,
        filter: raster.filter,
        data: raster.data,
        smask: raster.smask,
        width_mm,
        height_mm,
    })
}

/// The pixel part of a `SealImage`, and of the pictures `pdf::write` places.
pub(crate) struct Raster {
    /// Width in pixels.
    pub(crate) width: u32,
    /// Height in pixels.
    pub(crate) height: u32,
    /// "DeviceRGB" or "DeviceGray".
    pub(crate) color_space: &'static str,
    /// "FlateDecode" or "DCTDecode".
    pub(crate) filter: &'static str,
    /// The image stream.
    pub(crate) data: Vec<u8>,
    /// The soft-mask stream, when some pixel is not opaque.
    pub(crate) smask: Option<Vec<u8>>,
}

/// A PNG as an 8-bit FlateDecode image with its alpha (if any pixel is not opaque) as a soft
/// mask; a PNG without alpha stays opaque (unlike a seal picture, whose paper is made clear).
pub(crate) fn png_image(bytes: &[u8]) -> Result<Raster, ImageError> {
    png_raster(bytes, false)
}

/// The display size in millimetres, when both sides are in `SIZE_RANGE_MM`.
fn display_size(picture: &Picture) -> Result<(f64, f64), ImageError> {
    let side = |mm: i64| {
        u16::try_from(mm)
            .ok()
            .filter(|mm| SIZE_RANGE_MM.contains(mm))
            .map(f64::from)
    };
    match (side(picture.width_mm), side(picture.height_mm)) {
        (Some(width), Some(height)) => Ok((width, height)),
        _ => Err(ImageError::BadSize {
            width_mm: picture.width_mm,
            height_mm: picture.height_mm,
        }),
    }
}

/// Refuses sizes over the pixel or decoded-byte bounds (`channels` 8-bit samples per pixel).
fn check_size(width: u32, height: u32, channels: usize) -> Result<(), ImageError> {
    let bytes = usize::try_from(u64::from(width) * u64::from(height))
        .ok()
        .and_then(|pixels| pixels.checked_mul(channels));
    if width > MAX_SIDE_PX || height > MAX_SIDE_PX || bytes.is_none_or(|b| b > MAX_DECODED_BYTES) {
        return Err(ImageError::TooLarge { width, height });
    }
    Ok(())
}

/// Decodes a PNG to 8-bit samples and splits it into a colour and an alpha stream; without an
/// alpha channel, `paper` derives one from the paper's whiteness, else the image is opaque.
fn png_raster(bytes: &[u8], paper: bool) -> Result<Raster, ImageError> {
    let invalid = |e: png::DecodingError| ImageError::InvalidPng(e.to_string());
    // The limit bounds the decoder's own buffers (chunks, rows); the frame buffer is ours and
    // is sized only after the header has been checked.
    let limits = png::Limits {
        bytes: MAX_DECODED_BYTES,
    };
    let mut decoder = png::Decoder::new_with_limits(Cursor::new(bytes), limits);
    // Palette, tRNS and 1/2/4-bit samples expand to 8-bit Gray(A)/RGB(A); 16-bit drops to 8.
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    decoder.set_ignore_text_chunk(true);
    decoder.set_ignore_iccp_chunk(true);
    let header = decoder.read_header_info().map_err(invalid)?;
    let (width, height) = (header.width, header.height);
    check_size(width, height, 4)?;
    let mut reader = decoder.read_info().map_err(invalid)?;
    let frame_len = reader
        .output_buffer_size()
        .filter(|&len| len <= MAX_DECODED_BYTES)
        .ok_or(ImageError::TooLarge { width, height })?;
    let mut samples = vec![0; frame_len];
    let frame = reader.next_frame(&mut samples).map_err(invalid)?;
    samples.truncate(frame.buffer_size());

    let (channels, has_alpha) = match frame.color_type {
        png::ColorType::Grayscale => (1, false),
        png::ColorType::GrayscaleAlpha => (2, true),
        png::ColorType::Rgb => (3, false),
        png::ColorType::Rgba => (4, true),
        // EXPAND turns every palette image into RGB or RGBA.
        png::ColorType::Indexed => {
            return Err(ImageError::InvalidPng("palette was not expanded".into()));
        }
    };
    let (color, alpha) = if has_alpha {
        split_alpha(samples, channels)
    } else if paper {
        let mut color = samples;
        let alpha = alpha_from_paper(&mut color, channels);
        (color, alpha)
    } else {
        (samples, Vec::new())
    };
    let smask = if alpha.iter().all(|&a| a == u8::MAX) {
        None
    } else {
        Some(deflate(&alpha)?)
    };
    Ok(Raster {
        width,
        height,
        color_space: if channels <= 2 {
            "DeviceGray"
        } else {
            "DeviceRGB"
        },
        filter: "FlateDecode",
        data: deflate(&color)?,
        smask,
    })
}

/// Splits interleaved colour+alpha samples (`channels` per pixel, alpha last) in place.
fn split_alpha(mut samples: Vec<u8>, channels: usize) -> (Vec<u8>, Vec<u8>) {
    let colors = channels - 1;
    let alpha: Vec<u8> = samples
        .chunks_exact(channels)
        .map(|px| px[colors])
        .collect();
    // Compact the colour samples to the front: pixel i moves from i*channels to i*colors,
    // never past unread data, so one forward pass suffices.
    for i in 0..alpha.len() {
        samples.copy_within(i * channels..i * channels + colors, i * colors);
    }
    samples.truncate(alpha.len() * colors);
    (samples, alpha)
}

/// Derives alpha for a picture with none (a seal scanned on white paper) and un-mixes the
/// white out of the colour, so that the result over white looks as before.
///
/// Alpha follows the darkest channel: paper (`PAPER_LEVEL` and lighter) becomes transparent,
/// ink (`INK_LEVEL` and darker) stays opaque, with a linear ramp between for anti-aliased
/// edges.
fn alpha_from_paper(color: &mut [u8], channels: usize) -> Vec<u8> {
    color
        .chunks_exact_mut(channels)
        .map(|px| {
            let darkest = u32::from(px.iter().copied().min().unwrap_or(u8::MAX));
            let alpha = if darkest >= PAPER_LEVEL {
                0
            } else if darkest <= INK_LEVEL {
                255
            } else {
                ((PAPER_LEVEL - darkest) * 255 + (PAPER_LEVEL - INK_LEVEL) / 2)
                    / (PAPER_LEVEL - INK_LEVEL)
            };
            match alpha {
                // Fully transparent: white compresses best and is what the pixel was.
                0 => px.fill(u8::MAX),
                255 => {}
                // c = a·c' + (1−a)·255, so c' = 255 − (255 − c)/a.
                _ => {
                    for c in px.iter_mut() {
                        let ink = (u32::from(u8::MAX - *c) * 255 + alpha / 2) / alpha;
                        *c = u8::try_from(255_u32.saturating_sub(ink)).unwrap_or(0);
                    }
                }
            }
            u8::try_from(alpha).unwrap_or(u8::MAX)
        })
        .collect()
}

/// zlib-compresses `data` for a FlateDecode stream.
fn deflate(data: &[u8]) -> Result<Vec<u8>, ImageError> {
    let mut encoder = ZlibEncoder::new(
        Vec::with_capacity(data.len() / 8),
        Compression::new(FLATE_LEVEL),
    );
    encoder.write_all(data).map_err(|_| ImageError::Compress)?;
    encoder.finish().map_err(|_| ImageError::Compress)
}

/// Reads a JPEG's frame header and passes the bytes through as DCTDecode.
fn jpeg_raster(bytes: &[u8]) -> Result<Raster, ImageError> {
    let frame = jpeg_frame(bytes)?;
    let color_space = match frame.components {
        1 => "DeviceGray",
        3 => "DeviceRGB",
        n => {
            return Err(ImageError::InvalidJpeg(format!(
                "{n} colour components (only grey and RGB/YCbCr)"
            )));
        }
    };
    check_size(frame.width, frame.height, usize::from(frame.components))?;
    Ok(Raster {
        width: frame.width,
        height: frame.height,
        color_space,
        filter: "DCTDecode",
        data: bytes.to_vec(),
        smask: None,
    })
}

/// What a JPEG frame header (SOFn, ITU-T T.81 §B.2.2) says about the image.
#[derive(Debug, PartialEq, Eq)]
struct JpegFrame {
    /// Samples per line.
    width: u32,
    /// Number of lines.
    height: u32,
    /// Number of image components.
    components: u8,
}

/// Walks the marker segments after SOI up to the first frame header and reads it.
///
/// Only baseline, extended sequential and progressive Huffman coding (SOF0–SOF2) at 8 bits are
/// accepted: those are what PDF viewers' DCTDecode implementations decode.
fn jpeg_frame(bytes: &[u8]) -> Result<JpegFrame, ImageError> {
    let bad = |why: &str| ImageError::InvalidJpeg(why.to_owned());
    let mut rest = bytes
        .strip_prefix(&[0xFF, 0xD8])
        .ok_or_else(|| bad("no SOI marker"))?;
    loop {
        // A marker is 0xFF, optional 0xFF fill bytes, then a code other than 0x00 and 0xFF.
        let Some((&0xFF, after)) = rest.split_first() else {
            return Err(bad("expected a marker"));
        };
        rest = after;
        let code = loop {
            match rest.split_first() {
                Some((&0xFF, after)) => rest = after,
                Some((&code, after)) => {
                    rest = after;
                    break code;
                }
                None => return Err(bad("truncated before the frame header")),
            }
        };
        match code {
            // Standalone markers: TEM and RST0–7 carry no length.
            0x01 | 0xD0..=0xD7 => continue,
            0x00 | 0xD8 => return Err(bad("misplaced marker")),
            0xD9 | 0xDA => return Err(bad("no frame header before the image data")),
            _ => {}
        }
        let length = rest
            .get(..2)
            .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
            .filter(|&len| len >= 2)
            .ok_or_else(|| bad("bad segment length"))?;
        let segment = rest
            .get(2..length)
            .ok_or_else(|| bad("truncated segment"))?;
        rest = &rest[length..];
        // SOF0–SOF15, except DHT (C4), JPG (C8) and DAC (CC) which share the range.
        if !matches!(code, 0xC0..=0xCF) || matches!(code, 0xC4 | 0xC8 | 0xCC) {
            continue;
        }
        if !matches!(code, 0xC0..=0xC2) {
            return Err(ImageError::InvalidJpeg(format!(
                "SOF{} coding (lossless, arithmetic or hierarchical) which PDF viewers do not \
                 decode",
                code - 0xC0
            )));
        }
        let &[precision, h1, h0, w1, w0, components, ..] = segment else {
            return Err(bad("truncated frame header"));
        };
        if precision != 8 {
            return Err(ImageError::InvalidJpeg(format!(
                "{precision}-bit samples (only 8)"
            )));
        }
        let (height, width) = (u16::from_be_bytes([h1, h0]), u16::from_be_bytes([w1, w0]));
        if width == 0 || height == 0 {
            return Err(bad(
                "zero width or height (DNL-defined heights are not accepted)",
            ));
        }
        return Ok(JpegFrame {
            width: u32::from(width),
            height: u32::from(height),
            components,
        });
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::io::Read;

    use super::*;
    use crate::render::{SealImageSpec, render_official_seal};

    fn picture(kind: &str, data: Vec<u8>) -> Picture {
        Picture {
            kind: kind.to_owned(),
            data,
            width_mm: 42,
            height_mm: 42,
        }
    }

    fn inflate(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::ZlibDecoder::new(data)
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    /// Encodes a PNG; `header_only` writes signature, IHDR and IEND with no image data.
    fn png(
        width: u32,
        height: u32,
        color: png::ColorType,
        depth: png::BitDepth,
        samples: Option<&[u8]>,
    ) -> Vec<u8> {
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, width, height);
        encoder.set_color(color);
        encoder.set_depth(depth);
        let mut writer = encoder.write_header().unwrap();
        if let Some(samples) = samples {
            writer.write_image_data(samples).unwrap();
        }
        writer.finish().unwrap();
        out
    }

    fn rgb_png(pixels: &[[u8; 3]]) -> Vec<u8> {
        let samples: Vec<u8> = pixels.concat();
        let width = u32::try_from(pixels.len()).unwrap();
        png(
            width,
            1,
            png::ColorType::Rgb,
            png::BitDepth::Eight,
            Some(&samples),
        )
    }

    /// SOI, a JFIF APP0, a DHT whose bytes look like a frame header, then the frame header.
    fn jpeg(sof: u8, precision: u8, width: u16, height: u16, components: u8) -> Vec<u8> {
        let mut out = vec![0xFF, 0xD8];
        out.extend([0xFF, 0xE0, 0x00, 0x10]);
        out.extend(b"JFIF\0\x01\x01\x00\x00\x01\x00\x01\x00\x00");
        out.extend([0xFF, 0xC4, 0x00, 0x08, 0x08, 0x77, 0x77, 0x66, 0x66, 0x03]);
        out.extend([0xFF, 0xFF, sof]); // with a fill byte
        let length = 8 + 3 * u16::from(components);
        out.extend(length.to_be_bytes());
        out.push(precision);
        out.extend(height.to_be_bytes());
        out.extend(width.to_be_bytes());
        out.push(components);
        for id in 1..=components {
            out.extend([id, 0x11, 0x00]);
        }
        out.extend([0xFF, 0xDA, 0x00, 0x02, 0x12, 0x34, 0xFF, 0xD9]);
        out
    }

    #[test]
    fn rendered_seal_becomes_red_rgb_with_a_soft_mask() {
        let png = render_official_seal(&SealImageSpec::new("某某市市场监督管理局", "合同专用章"))
            .unwrap();
        let (w, h) = crate::render::png_dimensions(&png).unwrap();
        let image = seal_image(&picture("PNG", png)).unwrap();
        assert_eq!((image.width, image.height), (w, h));
        assert_eq!(image.color_space, "DeviceRGB");
        assert_eq!(image.filter, "FlateDecode");
        assert_eq!(image.bits_per_component, 8);
        assert_eq!((image.width_mm, image.height_mm), (42.0, 42.0));

        let (w, h) = (w as usize, h as usize);
        let rgb = inflate(&image.data);
        assert_eq!(rgb.len(), w * h * 3);
        let alpha = inflate(image.smask.as_ref().unwrap());
        assert_eq!(alpha.len(), w * h);
        assert!(alpha.contains(&0) && alpha.contains(&255));
        assert_eq!(alpha[0], 0, "corner is transparent");
        assert_eq!(alpha[w * h - 1], 0, "corner is transparent");

        // The first opaque pixel down the middle column is the rim at the top: seal red.
        let top = (0..h).map(|y| y * w + w / 2).find(|&i| alpha[i] == 255);
        let px = &rgb[top.unwrap() * 3..][..3];
        assert!(px[0] > 180 && px[1] < 80 && px[2] < 80, "{px:?}");
        // The centre is the star.
        let centre = h / 2 * w + w / 2;
        assert_eq!(alpha[centre], 255);
        assert!(rgb[centre * 3] > 180 && rgb[centre * 3 + 1] < 80);
    }

    #[test]
    fn rgb_on_white_gets_a_mask_where_white_is_transparent() {
        let image = seal_image(&picture(
            "png",
            rgb_png(&[
                [255, 255, 255],
                [0xE0, 0x20, 0x1A],
                [245, 242, 238], // paper tint
                [240, 144, 140], // anti-aliased edge of red on white
                [20, 20, 20],    // black text
            ]),
        ))
        .unwrap();
        assert_eq!(image.color_space, "DeviceRGB");
        let alpha = inflate(image.smask.as_ref().unwrap());
        assert_eq!(alpha[..3], [0, 255, 0]);
        assert!((1..255).contains(&alpha[3]), "edge is partly transparent");
        assert_eq!(alpha[4], 255);
        let rgb = inflate(&image.data);
        assert_eq!(rgb[3..6], [0xE0, 0x20, 0x1A], "opaque ink is unchanged");
        // The edge, composited back over white, is the original pixel (±1 for rounding).
        let a = f64::from(alpha[3]) / 255.0;
        for (c, orig) in rgb[9..12].iter().zip([240, 144, 140]) {
            let over_white = a * f64::from(*c) + (1.0 - a) * 255.0;
            assert!(
                (over_white - f64::from(orig)).abs() <= 1.5,
                "{over_white} vs {orig}"
            );
        }
    }

    #[test]
    fn gray_png_stays_gray() {
        let png = png(
            3,
            1,
            png::ColorType::Grayscale,
            png::BitDepth::Eight,
            Some(&[255, 0, 128]),
        );
        let image = seal_image(&picture("PNG", png)).unwrap();
        assert_eq!(image.color_space, "DeviceGray");
        assert_eq!(inflate(&image.data).len(), 3);
        assert_eq!(inflate(&image.smask.unwrap())[..2], [0, 255]);
    }

    #[test]
    fn opaque_png_has_no_mask_and_16_bit_drops_to_8() {
        // Two RGBA pixels at 16 bits, both opaque: (0x12.., 0x34.., 0x56..) and black.
        let samples = [
            0x12, 0xFF, 0x34, 0xFF, 0x56, 0xFF, 0xFF, 0xFF, //
            0, 0, 0, 0, 0, 0, 0xFF, 0xFF,
        ];
        let png = png(
            2,
            1,
            png::ColorType::Rgba,
            png::BitDepth::Sixteen,
            Some(&samples),
        );
        let image = seal_image(&picture("PNG", png)).unwrap();
        assert_eq!(image.smask, None);
        assert_eq!(inflate(&image.data), [0x12, 0x34, 0x56, 0, 0, 0]);
    }

    #[test]
    fn content_decides_over_the_declared_kind() {
        let png = rgb_png(&[[0, 0, 0]]);
        assert_eq!(
            seal_image(&picture("GIF", png)).unwrap().filter,
            "FlateDecode"
        );
        let jpeg = jpeg(0xC0, 8, 3, 2, 3);
        assert_eq!(
            seal_image(&picture("png", jpeg)).unwrap().filter,
            "DCTDecode"
        );
    }

    #[test]
    fn jpeg_passes_through_with_the_frame_header_size() {
        let bytes = jpeg(0xC0, 8, 640, 480, 3);
        let image = seal_image(&picture("jpg", bytes.clone())).unwrap();
        assert_eq!((image.width, image.height), (640, 480));
        assert_eq!(image.color_space, "DeviceRGB");
        assert_eq!(image.filter, "DCTDecode");
        assert_eq!(image.data, bytes);
        assert_eq!(image.smask, None);

        let gray = seal_image(&picture("JPEG", jpeg(0xC2, 8, 7, 9, 1))).unwrap();
        assert_eq!(
            (gray.width, gray.height, gray.color_space),
            (7, 9, "DeviceGray")
        );
    }

    #[test]
    fn jpeg_that_pdf_cannot_show_is_refused() {
        for bytes in [
            jpeg(0xC0, 8, 10, 10, 4),  // CMYK
            jpeg(0xC3, 8, 10, 10, 3),  // lossless
            jpeg(0xC9, 8, 10, 10, 3),  // arithmetic
            jpeg(0xC1, 12, 10, 10, 3), // 12-bit
            jpeg(0xC0, 8, 10, 0, 3),   // height from DNL
        ] {
            let err = seal_image(&picture("jpg", bytes)).unwrap_err();
            assert!(matches!(err, ImageError::InvalidJpeg(_)), "{err}");
        }
        let big = jpeg(0xC0, 8, 5000, 10, 3);
        assert_eq!(
            seal_image(&picture("jpg", big)).unwrap_err(),
            ImageError::TooLarge {
                width: 5000,
                height: 10
            }
        );
        let mut truncated = jpeg(0xC0, 8, 10, 10, 3);
        truncated.truncate(30);
        assert!(matches!(
            seal_image(&picture("jpg", truncated)),
            Err(ImageError::InvalidJpeg(_))
        ));
        // SOS before any frame header.
        let no_frame = vec![0xFF, 0xD8, 0xFF, 0xDA, 0x00, 0x02];
        assert!(matches!(
            seal_image(&picture("jpg", no_frame)),
            Err(ImageError::InvalidJpeg(_))
        ));
    }

    #[test]
    fn other_formats_are_unsupported() {
        let gif = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;".to_vec();
        assert_eq!(
            seal_image(&picture("GIF", gif.clone())).unwrap_err(),
            ImageError::Unsupported("GIF".into())
        );
        assert_eq!(
            seal_image(&picture("ofd", b"<ofd:OFD/>".to_vec())).unwrap_err(),
            ImageError::Unsupported("ofd".into())
        );
        // Declared PNG, but not one.
        assert!(matches!(
            seal_image(&picture("PNG", gif)),
            Err(ImageError::InvalidPng(_))
        ));
    }

    #[test]
    fn huge_png_header_is_refused_before_decoding() {
        for (w, h) in [(100_000, 100_000), (4097, 1), (1, 4097)] {
            let header = png(w, h, png::ColorType::Rgba, png::BitDepth::Sixteen, None);
            assert!(header.len() < 100);
            assert_eq!(
                seal_image(&picture("PNG", header)).unwrap_err(),
                ImageError::TooLarge {
                    width: w,
                    height: h
                }
            );
        }
    }

    #[test]
    fn truncated_png_is_refused() {
        let png = render_official_seal(&SealImageSpec::new("某某市市场监督管理局", "合同专用章"))
            .unwrap();
        for len in [0, 8, 20, 40, png.len() / 2, png.len() - 13] {
            let err = seal_image(&picture("PNG", png[..len].to_vec())).unwrap_err();
            assert!(matches!(err, ImageError::InvalidPng(_)), "{len}: {err}");
        }
    }

    #[test]
    fn display_size_must_be_1_to_200_mm() {
        let png = rgb_png(&[[0, 0, 0]]);
        for (w, h) in [(0, 42), (42, 0), (-40, 40), (201, 40), (40, i64::MAX)] {
            let mut p = picture("PNG", png.clone());
            (p.width_mm, p.height_mm) = (w, h);
            assert_eq!(
                seal_image(&p).unwrap_err(),
                ImageError::BadSize {
                    width_mm: w,
                    height_mm: h
                }
            );
        }
        let mut p = picture("PNG", png);
        (p.width_mm, p.height_mm) = (1, 200);
        let image = seal_image(&p).unwrap();
        assert_eq!((image.width_mm, image.height_mm), (1.0, 200.0));
    }
}
