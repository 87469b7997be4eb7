#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

use super::*;
use crate::ofd::write::{
    DocInfo, Image, Object as Drawn, Page, Path, Point, Rect, Size, Stroke, Template, Text,
};
use crate::pdf::{Limits, PdfFile};

fn pt(x: f64, y: f64) -> Point {
    Point { x, y }
}

fn text(x: f64, y: f64, size: f64, s: &str) -> Drawn {
    Drawn::Text(Text {
        origin: pt(x, y),
        size,
        color: Color::BLACK,
        text: s.to_owned(),
    })
}

/// A PNG with an alpha channel: a red square, its left half transparent.
fn rgba_png(side: u32) -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, side, side);
    enc.set_color(png::ColorType::Rgba);
    let mut w = enc.write_header().unwrap();
    let px: Vec<u8> = (0..side * side)
        .flat_map(|i| [200, 0, 0, if i % side < side / 2 { 0 } else { 255 }])
        .collect();
    w.write_image_data(&px).unwrap();
    w.finish().unwrap();
    out
}

fn sample() -> Document {
    let mut info = DocInfo::new(*b"0123456789abcdef", time::macros::date!(2024 - 05 - 06));
    info.title = Some("食品经营许可证".into());
    let rule = Stroke {
        width: 0.5,
        color: Color { r: 200, g: 0, b: 0 },
    };
    Document {
        info,
        pages: vec![Page {
            size: Size::A4,
            objects: vec![
                text(60.0, 40.0, 8.0, "食品经营许可证"),
                text(20.0, 70.0, 4.0, "经营者名称：某某餐饮有限公司"),
                text(20.0, 80.0, 4.0, "许可证编号：JY13701020000012"),
                Drawn::Image(Image {
                    png: rgba_png(16),
                    rect: Rect {
                        x: 140.0,
                        y: 200.0,
                        width: 40.0,
                        height: 40.0,
                    },
                }),
            ],
        }],
        template: Some(Template {
            objects: vec![Drawn::Path(Path::rect(
                Rect {
                    x: 10.0,
                    y: 10.0,
                    width: 190.0,
                    height: 277.0,
                },
                Some(rule),
                None,
            ))],
        }),
        custom_tags: Vec::new(),
    }
}

fn meta() -> Metadata {
    Metadata {
        title: "食品经营许可证".into(),
        custom: vec![
            (
                "LicenceID".into(),
                "1.2.156.3005.2.11100000000013338W.JY001.0001".into(),
            ),
            ("LicenceType".into(), "11100000000013338W001".into()),
            ("LicenceIssuer".into(), "11100000000013338W".into()),
        ],
    }
}

#[test]
fn opens_with_our_reader_and_is_the_same_bytes_each_time() {
    let bytes = document(&sample(), &meta()).unwrap();
    assert_eq!(bytes, document(&sample(), &meta()).unwrap());
    let file = PdfFile::open(&bytes, &Limits::default()).unwrap();
    assert_eq!(file.sections().len(), 1);
    assert_eq!(file.sections()[0].kind, crate::pdf::XrefKind::Table);
    assert!(file.check_all_objects().unwrap() >= 10);
    // One revision of reachable objects only: stamping appends to it as it is.
    let existing = crate::pdf::policy::inspect(&file).unwrap();
    assert!(existing.normal && !existing.signed);
    let pages = file.pages_at(bytes.len()).unwrap();
    assert_eq!(pages.len(), 1);
    let page = file.get(pages[0]).unwrap();
    let media = page
        .as_dict()
        .unwrap()
        .get(b"MediaBox")
        .unwrap()
        .as_array()
        .unwrap();
    let w = media[2].as_number().unwrap();
    let h = media[3].as_number().unwrap();
    assert!(
        (w - 595.2756).abs() < 0.001 && (h - 841.8898).abs() < 0.001,
        "{w} {h}"
    );
    // The Info dictionary carries the title and the custom keys as text strings.
    let info = file
        .trailer()
        .get(b"Info")
        .and_then(Object::as_ref)
        .unwrap();
    let info = file.get(info).unwrap();
    let info = info.as_dict().unwrap();
    let text = |k: &[u8]| match info.get(k) {
        Some(Object::String { bytes, .. }) => crate::pdf::text_string(bytes),
        other => panic!("{other:?}"),
    };
    assert_eq!(text(b"Title"), "食品经营许可证");
    assert_eq!(text(b"LicenceType"), "11100000000013338W001");
    // A different model gives another /ID.
    let mut other = sample();
    other.pages[0].objects.pop();
    let b2 = document(&other, &meta()).unwrap();
    let id = |b: &[u8]| {
        PdfFile::open(b, &Limits::default())
            .unwrap()
            .trailer()
            .get(b"ID")
            .cloned()
    };
    assert_ne!(id(&bytes), id(&b2));
}

#[test]
fn refuses_what_it_cannot_draw() {
    let mut doc = sample();
    doc.pages[0].objects.push(text(1.0, 1.0, 3.0, "许可😀"));
    assert!(matches!(
        document(&doc, &meta()),
        Err(WriteError::Model(
            crate::ofd::write::WriteError::MissingGlyph { ch: '😀', .. }
        ))
    ));
    let mut doc = sample();
    doc.pages[0].size.height = 0.0;
    assert!(matches!(document(&doc, &meta()), Err(WriteError::Model(_))));
    let mut doc = sample();
    doc.pages[0].objects.push(Drawn::Image(Image {
        png: b"GIF89a".to_vec(),
        rect: Rect {
            x: 0.0,
            y: 0.0,
            width: 1.0,
            height: 1.0,
        },
    }));
    assert!(matches!(
        document(&doc, &meta()),
        Err(WriteError::Model(
            crate::ofd::write::WriteError::InvalidPng { .. }
        ))
    ));
    let mut m = meta();
    m.custom.push(("Producer".into(), "x".into()));
    assert_eq!(
        document(&sample(), &m),
        Err(WriteError::BadMetadataKey("Producer".into()))
    );
    m.custom.pop();
    m.custom.push(("Bad Key".into(), "x".into()));
    assert!(document(&sample(), &m).is_err());
}

#[test]
fn to_unicode_maps_every_cid_back() {
    let mut font = font::Font::bundled().unwrap();
    font.add("许可证ABC").unwrap();
    let mut body = Body::new();
    let (_, subset) = font.write(&mut body).unwrap();
    let cids = subset.encode("许可").unwrap();
    assert_eq!(cids.len(), 4);
    assert_ne!(cids[..2], [0, 0]);
    assert_eq!(subset.encode("国"), Err('国'));
}

/// Runs a poppler/qpdf tool on `file`; `None` (after saying so) when it is not installed
/// outside CI, where it must be.
fn run(tool: &str, args: &[&str], file: &std::path::Path) -> Option<(bool, String)> {
    match Command::new(tool).args(args).arg(file).output() {
        Ok(out) => {
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            println!("$ {tool} {}\n{text}", args.join(" "));
            Some((out.status.success(), text))
        }
        Err(_) => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "{tool} is required under CI"
            );
            println!("{tool} not found: skipping");
            None
        }
    }
}

#[test]
fn poppler_and_qpdf_read_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("licence.pdf");
    std::fs::write(&file, document(&sample(), &meta()).unwrap()).unwrap();
    if let Some((ok, out)) = run("pdftotext", &["-layout"], &file) {
        assert!(ok);
        let txt = std::fs::read_to_string(dir.path().join("licence.txt")).unwrap();
        for s in [
            "食品经营许可证",
            "经营者名称：某某餐饮有限公司",
            "JY13701020000012",
        ] {
            assert!(txt.contains(s), "{s:?} not in {txt:?} ({out})");
        }
    }
    if let Some((ok, out)) = run("pdffonts", &[], &file) {
        assert!(ok);
        // name, type CID TrueType, encoding Identity-H, emb yes, sub yes, uni yes
        let line = out.lines().find(|l| l.contains("+NotoSerifSC")).unwrap();
        assert!(line.contains("CID TrueType"), "{line}");
        assert!(line.contains("Identity-H"), "{line}");
        let cols: Vec<&str> = line.split_whitespace().collect();
        // … emb sub uni, then the object number and generation.
        assert_eq!(
            cols[cols.len() - 5..cols.len() - 2],
            ["yes", "yes", "yes"],
            "{line}"
        );
    }
    if let Some((ok, out)) = run("pdfinfo", &[], &file) {
        assert!(ok);
        assert!(out.contains("Title:           食品经营许可证"), "{out}");
        assert!(
            out.contains("Page size:       595.276 x 841.89 pts (A4)"),
            "{out}"
        );
        assert!(out.contains("Pages:           1"), "{out}");
    }
    if let Some((ok, out)) = run("qpdf", &["--check"], &file) {
        assert!(ok, "{out}");
        assert!(out.contains("No syntax or stream encoding errors"), "{out}");
    }
}
