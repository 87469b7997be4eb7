#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path as FsPath;

use serde_json::{Map, Value, json};
use time::macros::date;

use super::lines;
use super::*;
use crate::licence::Catalogue;
use crate::ofd::write::{Path, Segment, write};
use crate::ofd::{Limits, Package};
use crate::qr::QUIET_ZONE;

const BUSINESS: &str = "111000009000000146001";
const DISABILITY: &str = "11100000900000049Q001";
const ID: &str =
    "1.2.156.3005.2.111000009000000146001.11370100004312345D.20260101ABCDEF123456.001.X";
const URL: &str = "https://licences.example.gov.cn/v1/licences/1.2.156.3005.2.111000009000000146001.11370100004312345D.20260101ABCDEF123456.001.X/verify";

fn catalogue() -> Catalogue {
    Catalogue::load(FsPath::new("/nonexistent")).unwrap()
}

/// The shipped sample's face fields of a type (tests/data/licences).
fn sample_fields(code: &str) -> Map<String, Value> {
    let path =
        FsPath::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/data/licences/{code}.json"));
    let sample: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    sample["fields"].as_object().unwrap().clone()
}

fn face<'a>(
    fields: &'a Map<String, Value>,
    holder: &'a str,
    holder_id: &'a str,
) -> LicenceFace<'a> {
    LicenceFace {
        id: ID,
        number: "20260101ABCDEF123456",
        holder_name: holder,
        holder_id_type: "001",
        holder_id,
        issuer_name: "济南市市场监督管理局",
        issuer_code: "11370100004312345D",
        issued_on: date!(2026 - 01 - 01),
        valid_from: date!(2026 - 01 - 01),
        valid_to: None,
        fields,
        verify_url: URL,
    }
}

/// The text of every text object of the page, by object index.
fn texts(doc: &Document) -> Vec<(usize, &Text)> {
    doc.pages[0]
        .objects
        .iter()
        .enumerate()
        .filter_map(|(i, o)| match o {
            Object::Text(t) => Some((i, t)),
            _ => None,
        })
        .collect()
}

fn tag(doc: &Document, name: &str) -> TagContent {
    doc.custom_tags[0]
        .fields
        .iter()
        .find(|f| f.name == name)
        .unwrap_or_else(|| panic!("no {name}"))
        .content
        .clone()
}

/// The text shown by the objects a tag field points at.
fn shown(doc: &Document, name: &str) -> String {
    let TagContent::Objects(refs) = tag(doc, name) else {
        panic!("{name} is not shown")
    };
    refs.iter()
        .map(|r| match &doc.pages[r.page].objects[r.object] {
            Object::Text(t) => t.text.clone(),
            other => panic!("{name} points at {other:?}"),
        })
        .collect()
}

#[test]
fn the_business_licence_writes_with_its_text_and_metadata() {
    let catalogue = catalogue();
    let t = catalogue.get(BUSINESS).unwrap();
    let fields = sample_fields(BUSINESS);
    let licence = face(&fields, "济南某某科技有限公司", "91370100MA3C123459");
    let doc = document(t, &licence).unwrap();
    assert_eq!(
        doc.pages[0].size,
        Size {
            width: 297.0,
            height: 210.0
        }
    );
    let all: String = texts(&doc).iter().map(|(_, t)| t.text.as_str()).collect();
    for want in [
        "营业执照",
        "统一社会信用代码",
        "91370100MA3C123459",
        "济南某某科技有限公司",
        "经营范围",
        "陈明远",
        "伍佰万元整",
        "2019-11-04",
        "长期",
        "济南市市场监督管理局",
        "2026-01-01",
    ] {
        assert!(all.contains(want), "{want} not on the face");
    }
    // The business scope is all there, in order, across its lines.
    let scope = fields["business_scope"].as_str().unwrap();
    assert!(all.contains(scope));

    assert_eq!(doc.info.title.as_deref(), Some("营业执照"));
    assert_eq!(doc.info.doc_id, doc_id(ID));
    assert_eq!(
        doc.info.doc_id[..],
        crate::crypto::sha256(ID.as_bytes())[..16]
    );
    assert_eq!(doc.info.creation_date, date!(2026 - 01 - 01));
    assert_eq!(
        doc.info.custom_data,
        [
            ("证照标识".to_owned(), ID.to_owned()),
            ("证照类型代码".to_owned(), BUSINESS.to_owned()),
            ("颁发机构代码".to_owned(), "11370100004312345D".to_owned()),
        ]
    );
    // The metadata: shown values point at what shows them, the rest are values.
    assert_eq!(shown(&doc, "LicenceName"), "营业执照");
    assert_eq!(shown(&doc, "Holder"), "济南某某科技有限公司");
    assert_eq!(shown(&doc, "HolderCode"), "91370100MA3C123459");
    assert_eq!(shown(&doc, "LicenceNumber"), "20260101ABCDEF123456");
    assert_eq!(shown(&doc, "Issuer"), "济南市市场监督管理局");
    assert_eq!(shown(&doc, "IssueDate"), "2026-01-01");
    for (name, value) in [
        ("LicenceID", ID),
        ("LicenceTypeCode", BUSINESS),
        ("IssuerCode", "11370100004312345D"),
        ("HolderCodeType", "001"),
        ("ValidFrom", "2026-01-01"),
        ("ValidTo", "长期"),
    ] {
        assert_eq!(tag(&doc, name), TagContent::Value(value.into()), "{name}");
    }
    let names: Vec<&str> = doc.custom_tags[0]
        .fields
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    assert_eq!(names.len(), 12);

    let bytes = write(&doc).unwrap();
    let pkg = Package::open(&bytes, &Limits::default()).unwrap();
    let content = String::from_utf8(pkg.read("Doc_0/Pages/Page_0/Content.xml").unwrap()).unwrap();
    assert!(content.contains(">济南某某科技有限公司<"));
    let ofd = String::from_utf8(pkg.read("OFD.xml").unwrap()).unwrap();
    assert!(ofd.contains(&format!(
        "<ofd:CustomData Name=\"证照标识\">{ID}</ofd:CustomData>"
    )));
    assert!(ofd.contains("<ofd:Title>营业执照</ofd:Title>"));
    let tag_file = String::from_utf8(pkg.read("Doc_0/Tags/Tag_0.xml").unwrap()).unwrap();
    assert!(tag_file.contains(METADATA_NAMESPACE) && tag_file.contains("<HolderCodeType>001<"));

    // The same licence gives the same bytes; another licence other ones.
    assert_eq!(write(&document(t, &licence).unwrap()).unwrap(), bytes);
    let other = face(&fields, "济南另一科技有限公司", "91370100MA3C123459");
    assert_ne!(write(&document(t, &other).unwrap()).unwrap(), bytes);
}

#[test]
fn a_long_business_scope_wraps_inside_its_box() {
    let catalogue = catalogue();
    let t = catalogue.get(BUSINESS).unwrap();
    let mut fields = sample_fields(BUSINESS);
    let scope = "技术服务、技术开发、技术咨询、技术交流、技术转让、技术推广；软件开发（凭营业执照依法自主开展经营活动）。"
        .repeat(40)
        .chars()
        .take(2000)
        .collect::<String>();
    fields.insert("business_scope".into(), Value::String(scope.clone()));
    let doc = document(
        t,
        &face(&fields, "济南某某科技有限公司", "91370100MA3C123459"),
    )
    .unwrap();
    let place = t
        .layout
        .fields
        .iter()
        .find(|p| p.field == "business_scope")
        .unwrap();
    let (left, width) = (place.value_x.unwrap(), place.width.unwrap());
    // The scope's lines: every text object starting at its column below its label.
    let lines: Vec<&Text> = texts(&doc)
        .into_iter()
        .map(|(_, t)| t)
        .filter(|t| t.origin.x == left && t.origin.y >= place.y)
        .filter(|t| scope.contains(&t.text))
        .collect();
    assert!(lines.len() > 10, "{} lines", lines.len());
    assert_eq!(
        lines.iter().map(|t| t.text.as_str()).collect::<String>(),
        scope
    );
    for line in &lines {
        let w: f64 = crate::ofd::write::advances(&line.text, line.size)
            .unwrap()
            .iter()
            .sum();
        assert!(w <= width + 1e-9, "a line {w} mm wide in {width} mm");
        assert!(
            line.origin.y + 0.2 * line.size <= 210.0 - 5.0,
            "below the page"
        );
    }
    write(&doc).unwrap();
}

#[test]
fn a_persons_licence_prints_its_personal_fields() {
    let catalogue = catalogue();
    let t = catalogue.get(DISABILITY).unwrap();
    assert!(t.personal.iter().any(|p| p == "disability_category"));
    let fields = sample_fields(DISABILITY);
    let mut licence = face(&fields, "赵国庆", "330102197211081514");
    licence.holder_id_type = "111";
    licence.valid_to = Some(date!(2032 - 10 - 08));
    let doc = document(t, &licence).unwrap();
    let all: String = texts(&doc).iter().map(|(_, t)| t.text.as_str()).collect();
    for want in [
        "330102197211081514",
        "肢体残疾",
        "三级",
        "1972-11-08",
        "2032-10-08",
    ] {
        assert!(all.contains(want), "{want} not on the face");
    }
    assert_eq!(shown(&doc, "ValidTo"), "2032-10-08");
    // 中华人民共和国残疾人证 is the title, not the name: the name is a value.
    assert_eq!(
        tag(&doc, "LicenceName"),
        TagContent::Value("残疾人证".into())
    );
    write(&doc).unwrap();
}

#[test]
fn a_value_the_font_cannot_draw_names_the_field_not_the_value() {
    let catalogue = catalogue();
    let t = catalogue.get(DISABILITY).unwrap();
    let mut fields = sample_fields(DISABILITY);
    fields.insert("address".into(), json!("杭州市𠀀路1号"));
    let licence = face(&fields, "赵国庆", "330102197211081514");
    let e = document(t, &licence).expect_err("refused").to_string();
    assert!(e.starts_with("address: "), "{e}");
    assert!(!e.contains("杭州") && !e.contains('𠀀'), "{e}");
}

/// The QR objects of a face drawn at `px` pixels per mm (the quiet zone included), as grey.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn raster(doc: &Document, spot: crate::licence::catalogue::QrSpot, px: f32) -> (usize, Vec<u8>) {
    use tiny_skia::{FillRule, Paint, PathBuilder, Pixmap, Transform};
    let side = (spot.size as f32 * px).ceil() as u32;
    let mut pixmap = Pixmap::new(side, side).unwrap();
    // Grey underneath: the code's own white square must cover it.
    pixmap.fill(tiny_skia::Color::from_rgba8(128, 128, 128, 255));
    let to = Transform::from_scale(px, px).pre_translate(-(spot.x as f32), -(spot.y as f32));
    let paths: Vec<&Path> = doc.pages[0]
        .objects
        .iter()
        .filter_map(|o| match o {
            Object::Path(p) => Some(p),
            _ => None,
        })
        .collect();
    assert_eq!(paths.len(), 2, "the white square and the modules");
    for p in paths {
        let mut b = PathBuilder::new();
        for s in &p.segments {
            match *s {
                Segment::MoveTo(a) => b.move_to(a.x as f32, a.y as f32),
                Segment::LineTo(a) => b.line_to(a.x as f32, a.y as f32),
                Segment::CubicTo(..) => panic!("no curves in a QR code"),
                Segment::Close => b.close(),
            }
        }
        let path = b.finish().unwrap();
        let mut paint = Paint::default();
        match (p.fill, p.stroke) {
            (Some(c), None) => {
                paint.set_color_rgba8(c.r, c.g, c.b, 255);
                pixmap.fill_path(&path, &paint, FillRule::Winding, to, None);
            }
            (None, Some(s)) => {
                paint.set_color_rgba8(s.color.r, s.color.g, s.color.b, 255);
                // OFD's default cap, which the writer leaves implicit.
                let stroke = tiny_skia::Stroke {
                    width: s.width as f32,
                    line_cap: tiny_skia::LineCap::Butt,
                    ..tiny_skia::Stroke::default()
                };
                pixmap.stroke_path(&path, &paint, &stroke, to, None);
            }
            other => panic!("a QR path is filled or stroked: {other:?}"),
        }
    }
    let grey = pixmap.pixels().iter().map(|p| p.red()).collect();
    (side as usize, grey)
}

fn decode(side: usize, grey: &[u8]) -> String {
    let mut img =
        rqrr::PreparedImage::prepare_from_greyscale(side, side, |x, y| grey[y * side + x]);
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code");
    let (meta, content) = grids[0].decode().expect("decodes");
    assert_eq!(meta.ecc_level, 0, "error correction level M");
    content
}

#[test]
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn the_qr_code_decodes_to_the_verification_url_with_its_quiet_zone() {
    let catalogue = catalogue();
    for (code, px) in [(BUSINESS, 8.0), (DISABILITY, 12.0)] {
        let t = catalogue.get(code).unwrap();
        let fields = sample_fields(code);
        let mut licence = face(&fields, "赵国庆", "330102197211081514");
        licence.holder_id_type = if code == DISABILITY { "111" } else { "001" };
        let doc = document(t, &licence).unwrap();
        let spot = t.layout.qr;
        let (side, grey) = raster(&doc, spot, px);
        assert_eq!(decode(side, &grey), URL, "{code}");
        // The quiet zone: the outer four modules' worth of the square are white, not the grey
        // beneath; the modules start right inside it.
        let Object::Path(modules) = doc.pages[0].objects.last().unwrap() else {
            panic!()
        };
        let xs = modules.segments.iter().filter_map(|s| match s {
            Segment::MoveTo(p) => Some(p.x),
            _ => None,
        });
        let first = xs.fold(f64::MAX, f64::min) - spot.x;
        let n = qrcode::QrCode::with_error_correction_level(URL, qrcode::EcLevel::M)
            .unwrap()
            .width();
        let module = spot.size / (n + 2 * QUIET_ZONE) as f64;
        assert!((first - 4.0 * module).abs() < 1e-9, "{first} {module}");
        let quiet = (4.0 * module * f64::from(px)).floor() as usize - 1;
        for i in 0..side {
            for j in 0..quiet {
                for (x, y) in [(i, j), (j, i), (i, side - 1 - j), (side - 1 - j, i)] {
                    assert!(grey[y * side + x] > 250, "({x}, {y}) in the quiet zone");
                }
            }
        }
    }
}

#[test]
fn a_url_too_long_for_a_qr_code_is_refused() {
    let catalogue = catalogue();
    let t = catalogue.get(BUSINESS).unwrap();
    let fields = sample_fields(BUSINESS);
    let long = "x".repeat(3000);
    let mut licence = face(&fields, "济南某某科技有限公司", "91370100MA3C123459");
    licence.verify_url = &long;
    assert!(matches!(document(t, &licence), Err(FaceError::QrTooLong)));
    // The title is centred on its x.
    let doc = document(
        t,
        &face(&fields, "济南某某科技有限公司", "91370100MA3C123459"),
    )
    .unwrap();
    let Object::Text(title) = &doc.pages[0].objects[0] else {
        panic!()
    };
    let w = lines::width("营业执照", title.size).unwrap();
    assert!((title.origin.x + w / 2.0 - t.layout.title.x).abs() < 1e-9);
}
