#![allow(clippy::unwrap_used, clippy::cast_possible_truncation)]

use std::time::Instant;

use tiny_skia::Pixmap;

use super::seal::*;

/// RGBA (demultiplied) of pixel (x, y).
fn rgba(p: &Pixmap, x: u32, y: u32) -> [u8; 4] {
    let c = p.pixel(x, y).unwrap().demultiply();
    [c.red(), c.green(), c.blue(), c.alpha()]
}

fn is_red_ink(px: [u8; 4]) -> bool {
    px[3] > 200 && px[0] > 180 && px[1] < 80 && px[2] < 80
}

fn render(spec: &SealImageSpec) -> Pixmap {
    let png = render_official_seal(spec).unwrap();
    Pixmap::decode_png(&png).unwrap()
}

/// Writes an example when SEAL_EXAMPLE_DIR is set, for looking at it by eye.
fn maybe_save(name: &str, spec: &SealImageSpec) {
    if let Ok(dir) = std::env::var("SEAL_EXAMPLE_DIR") {
        let png = render_official_seal(spec).unwrap();
        std::fs::write(format!("{dir}/{name}.png"), png).unwrap();
    }
}

#[test]
fn standard_seal_looks_like_a_seal() {
    let spec = SealImageSpec {
        bottom_code: Some("3201000012345"),
        ..SealImageSpec::new("某某市市场监督管理局", "合同专用章")
    };
    let png = render_official_seal(&spec).unwrap();
    // 42 mm at 300 dpi = 496.06 px.
    assert_eq!(png_dimensions(&png).unwrap(), (496, 496));
    let p = Pixmap::decode_png(&png).unwrap();
    let (w, h) = (p.width(), p.height());
    assert_eq!(rgba(&p, 0, 0)[3], 0, "corner is transparent");
    assert_eq!(rgba(&p, w - 1, h - 1)[3], 0, "corner is transparent");
    assert!(is_red_ink(rgba(&p, w / 2, h / 2)), "star in the centre");
    // The rim's midline is 0.6 mm (≈ 7 px) inside the edge: check it at 3, 6 and 9 o'clock.
    let mid = 7;
    assert!(is_red_ink(rgba(&p, w / 2, mid)), "rim at 12 o'clock");
    assert!(is_red_ink(rgba(&p, w - 1 - mid, h / 2)), "rim at 3 o'clock");
    assert!(is_red_ink(rgba(&p, mid, h / 2)), "rim at 9 o'clock");
    // The name has ink in its band along the top arc (≈ 35 px inside the edge).
    let r_text = (w as f32 / 2.0) - 35.0; // ≈ middle of the name's band
    let ink = |x: u32, y: u32| rgba(&p, x, y)[3] > 0;
    let mut text_band_ink = 0;
    for deg in (-120..=120).step_by(2) {
        let a = (deg as f32).to_radians();
        for dr in -15..=15 {
            let r = r_text + dr as f32;
            let x = (w as f32 / 2.0 + r * a.sin()) as u32;
            let y = (h as f32 / 2.0 - r * a.cos()) as u32;
            text_band_ink += u32::from(ink(x, y));
        }
    }
    assert!(
        text_band_ink > 500,
        "the name has ink along the top arc: {text_band_ink}"
    );
    let total: u32 = (0..h)
        .flat_map(|y| (0..w).map(move |x| (x, y)))
        .map(|(x, y)| u32::from(rgba(&p, x, y)[3] > 127))
        .sum();
    let fraction = total as f32 / (w * h) as f32;
    assert!(
        (0.12..0.40).contains(&fraction),
        "ink covers {fraction:.3} of the image"
    );
    // Every inked pixel is seal red (anti-aliasing changes alpha, not colour).
    for y in 0..h {
        for x in 0..w {
            let px = rgba(&p, x, y);
            if px[3] > 127 {
                let red = px[0] > 200 && px[1] < 60 && px[2] < 60;
                assert!(red, "pixel ({x},{y}) = {px:?}");
            }
        }
    }
    maybe_save("seal-standard", &spec);
}

#[test]
fn sizes_follow_diameter_and_dpi() {
    for (mm, dpi, side) in [
        (42.0, 300.0, 496),
        (40.0, 300.0, 472),
        (38.0, 600.0, 898),
        (42.0, 96.0, 159),
    ] {
        let p = render(&SealImageSpec {
            diameter_mm: mm,
            dpi,
            ..SealImageSpec::new("某某有限公司", "")
        });
        assert_eq!(
            (p.width(), p.height()),
            (side, side),
            "{mm} mm at {dpi} dpi"
        );
    }
}

#[test]
fn missing_glyphs_are_errors_not_tofu() {
    let err = render_official_seal(&SealImageSpec::new("𠮷野家有限公司", "")).unwrap_err();
    assert_eq!(err, RenderError::MissingGlyph('𠮷'));
    assert!(err.to_string().contains("U+20BB7"), "{err}");
    let err = render_official_seal(&SealImageSpec::new("某某公司😀", "")).unwrap_err();
    assert_eq!(err, RenderError::MissingGlyph('😀'));
    assert!(err.to_string().contains("U+1F600"), "{err}");
    let err = render_official_seal(&SealImageSpec::new("某某公司", "財務专用章")).unwrap_err();
    assert_eq!(
        err,
        RenderError::MissingGlyph('財'),
        "traditional forms are outside GB2312"
    );
    let spec = SealImageSpec {
        bottom_code: Some("12\u{7}3"),
        ..SealImageSpec::new("某某公司", "")
    };
    assert_eq!(
        render_official_seal(&spec).unwrap_err(),
        RenderError::MissingGlyph('\u{7}')
    );
}

#[test]
fn text_length_limits() {
    assert_eq!(
        render_official_seal(&SealImageSpec::new("", "合同专用章")).unwrap_err(),
        RenderError::EmptyText
    );
    assert_eq!(
        render_official_seal(&SealImageSpec::new("  \t", "")).unwrap_err(),
        RenderError::EmptyText
    );
    assert_eq!(
        render_official_seal(&SealImageSpec::new("某", "")).unwrap_err(),
        RenderError::TooShort { min: 2 }
    );
    let forty = "某".repeat(40);
    render_official_seal(&SealImageSpec::new(&forty, "")).unwrap();
    let forty_one = "某".repeat(41);
    assert_eq!(
        render_official_seal(&SealImageSpec::new(&forty_one, "")).unwrap_err(),
        RenderError::TooLong { max: 40 }
    );
}

#[test]
fn bad_sizes_are_rejected() {
    for (mm, dpi) in [
        (0.0, 300.0),
        (f32::NAN, 300.0),
        (42.0, f32::INFINITY),
        (42.0, 10.0),
        (81.0, 300.0),
    ] {
        let spec = SealImageSpec {
            diameter_mm: mm,
            dpi,
            ..SealImageSpec::new("某某公司", "")
        };
        assert!(
            matches!(render_official_seal(&spec), Err(RenderError::BadSize(_))),
            "{mm} mm at {dpi} dpi"
        );
    }
}

#[test]
fn ascii_and_mixed_names_render() {
    let p = render(&SealImageSpec::new("ACME Trading Co., Ltd.", "CONTRACT"));
    assert!(is_red_ink(rgba(&p, p.width() / 2, p.height() / 2)));
    let spec = SealImageSpec::new("北京ABC（中国）科技有限公司", "财务专用章");
    render(&spec);
    maybe_save("seal-mixed", &spec);
}

#[test]
fn short_and_long_names_render() {
    let short = SealImageSpec::new("某某公司", "");
    let long = SealImageSpec {
        bottom_code: Some("1101080012345"),
        ..SealImageSpec::new(
            "中华人民共和国某某省某某市某某区人民政府办公室",
            "财务专用章",
        )
    };
    let medium = SealImageSpec::new("某某科技发展有限公司", "发票专用章");
    for spec in [&short, &long, &medium] {
        let p = render(spec);
        assert!(is_red_ink(rgba(&p, p.width() / 2, p.height() / 2)));
    }
    maybe_save("seal-short", &short);
    maybe_save("seal-long", &long);
    maybe_save("seal-medium", &medium);
    maybe_save(
        "seal-longest",
        &SealImageSpec::new(&"国".repeat(40), "合同专用章"),
    );
}

#[test]
fn png_dimensions_rejects_non_png_and_bombs() {
    assert!(matches!(
        png_dimensions(b""),
        Err(RenderError::InvalidPng(_))
    ));
    assert!(matches!(
        png_dimensions(b"GIF89a...."),
        Err(RenderError::InvalidPng(_))
    ));
    let png = render_official_seal(&SealImageSpec::new("某某公司", "")).unwrap();
    assert!(matches!(
        png_dimensions(&png[..png.len() / 2]),
        Err(RenderError::InvalidPng(_))
    ));
    // A valid header claiming 60000×60000 pixels is refused before any allocation.
    let mut bomb = png[..33].to_vec();
    bomb[16..20].copy_from_slice(&60_000u32.to_be_bytes());
    bomb[20..24].copy_from_slice(&60_000u32.to_be_bytes());
    assert!(matches!(
        png_dimensions(&bomb),
        Err(RenderError::InvalidPng(_))
    ));
}

#[test]
fn render_time() {
    let spec = SealImageSpec {
        bottom_code: Some("3201000012345"),
        ..SealImageSpec::new("某某市市场监督管理局", "合同专用章")
    };
    render_official_seal(&spec).unwrap(); // font parse and page-in
    let runs = 10;
    let start = Instant::now();
    for _ in 0..runs {
        render_official_seal(&spec).unwrap();
    }
    let per = start.elapsed() / runs;
    let start = Instant::now();
    for _ in 0..runs {
        render_pixmap(&spec).unwrap();
    }
    let draw = start.elapsed() / runs;
    eprintln!(
        "render_official_seal 42 mm @ 300 dpi: {per:?} per render, of which drawing {draw:?} \
         (this build's profile)"
    );
}

#[test]
fn png_is_indexed_seal_red_and_lossless() {
    let spec = SealImageSpec::new("某某市市场监督管理局", "合同专用章");
    let png = render_official_seal(&spec).expect("render");
    // IHDR: bit depth 8, colour type 3 (indexed).
    assert_eq!(&png[12..16], b"IHDR");
    assert_eq!((png[24], png[25]), (8, 3));
    assert!(png.len() < 32 * 1024, "{} bytes", png.len());
    // Decoded, every pixel's coverage matches the RGBA drawing (premultiplication rounds by 1).
    let drawn = render_pixmap(&spec).expect("pixmap");
    let decoded = Pixmap::decode_png(&png).expect("decode");
    let off = drawn
        .pixels()
        .iter()
        .zip(decoded.pixels())
        .filter(|(a, b)| a.alpha().abs_diff(b.alpha()) > 1)
        .count();
    assert_eq!(off, 0, "pixels whose coverage changed");
}

/// Red ink pixels in the band under the star where the purpose line goes.
fn purpose_band_ink(p: &Pixmap) -> usize {
    let mm = p.width() as f32 / DEFAULT_DIAMETER_MM;
    let c = p.width() as f32 / 2.0;
    let (y0, y1) = ((c + 6.8 * mm) as u32, (c + 11.4 * mm) as u32);
    let (x0, x1) = ((c - 9.5 * mm) as u32, (c + 9.5 * mm) as u32);
    (y0..y1)
        .flat_map(|y| (x0..x1).map(move |x| (x, y)))
        .filter(|&(x, y)| is_red_ink(rgba(p, x, y)))
        .count()
}

#[test]
fn long_purposes_are_drawn_shrunk_not_dropped() {
    let name = "某某市行政审批局";
    let bare = render(&SealImageSpec::new(name, ""));
    assert_eq!(
        purpose_band_ink(&bare),
        0,
        "ink under the star without a purpose"
    );
    for purpose in ["合同专用章", "行政审批专用章", "建设工程质量检测专用章"]
    {
        let spec = SealImageSpec::new(name, purpose);
        let ink = purpose_band_ink(&render(&spec));
        // A longer purpose is drawn smaller, but it is drawn: plenty of ink in its band.
        assert!(ink > 1200, "{purpose}: {ink} ink pixels");
        maybe_save(&format!("seal-purpose-{}", purpose.chars().count()), &spec);
    }
}

#[test]
fn name_seals_are_a_full_border_around_the_name() {
    use super::name_seal::*;
    for (name, shape, size) in [
        ("张三", NameSealShape::Square, (213, 213)),
        ("张三丰", NameSealShape::Square, (213, 213)),
        ("欧阳娜娜", NameSealShape::Square, (213, 213)),
        ("爱新觉罗溥仪", NameSealShape::Square, (213, 213)),
        ("张三", NameSealShape::Rectangle, (260, 130)),
        ("欧阳娜娜", NameSealShape::Rectangle, (260, 130)),
    ] {
        let spec = NameSealSpec {
            name,
            shape,
            size_mm: shape.default_size_mm(),
            dpi: DEFAULT_DPI,
        };
        let png = render_name_seal(&spec).unwrap();
        assert_eq!(png_dimensions(&png).unwrap(), size, "{name}");
        let p = Pixmap::decode_png(&png).unwrap();
        let (w, h) = (p.width(), p.height());
        // The border: solid red along every edge, corners included.
        for (x, y) in [
            (0, 0),
            (w - 1, 0),
            (0, h - 1),
            (w - 1, h - 1),
            (w / 2, 2),
            (2, h / 2),
        ] {
            assert!(is_red_ink(rgba(&p, x, y)), "{name}: ({x}, {y})");
        }
        // Inside it, ink in every cell of the grid: each quarter (each end of a row) has some.
        let quarter = |x0: u32, y0: u32| {
            (y0 + h / 8..y0 + h / 2 - h / 8)
                .flat_map(|y| (x0 + w / 8..x0 + w / 2 - w / 8).map(move |x| (x, y)))
                .filter(|&(x, y)| is_red_ink(rgba(&p, x, y)))
                .count()
        };
        let quarters = [(0, 0), (w / 2, 0), (0, h / 2), (w / 2, h / 2)].map(|(x, y)| quarter(x, y));
        assert!(quarters.iter().all(|&n| n > 50), "{name}: {quarters:?}");
        if let Ok(dir) = std::env::var("SEAL_EXAMPLE_DIR") {
            std::fs::write(format!("{dir}/name-{}-{name}.png", shape.as_str()), png).unwrap();
        }
    }
}
