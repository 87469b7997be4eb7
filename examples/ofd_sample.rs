//! A three-page OFD made with `sidian::ofd::write`, for `tools/ofd-interop.sh`: Chinese text in
//! the bundled font on every page, a PNG picture and a rule on page 1, a template line and a
//! custom tag. It writes the OFD to the path given and prints, as JSON on stdout, where each
//! thing was put (millimetres from the top-left corner; rules as `[x, y, length]`), so that the
//! checker looks where the model said and not where the writer's layout says.
//!
//! ```sh
//! cargo run --example ofd_sample -- sample.ofd > layout.json
//! ```

use sidian::ofd::write::{
    Color, CustomTag, DocInfo, Document, Image, Object, ObjectRef, Page, Path, Point, Rect, Size,
    Stroke, TagContent, TagField, Template, Text, write,
};

/// A text line and the box its ink must fall in: from one em above the baseline to a fifth of
/// an em below it, one em per character wide (CJK glyphs are one em; Latin ones narrower).
fn line(x: f64, y: f64, size: f64, s: &str, boxes: &mut Vec<serde_json::Value>) -> Object {
    let n = s.chars().count() as f64;
    boxes.push(serde_json::json!({
        "text": s,
        "box": [x, y - size, n * size, 1.2 * size],
    }));
    Object::Text(Text {
        origin: Point { x, y },
        size,
        color: Color::BLACK,
        text: s.to_owned(),
    })
}

/// An opaque 120×60 RGB picture: blue, with a darker band across the middle.
fn picture() -> Vec<u8> {
    let (w, h) = (120u32, 60u32);
    let mut rgb = Vec::with_capacity((w * h * 3) as usize);
    for y in 0..h {
        for _ in 0..w {
            let band = (20..40).contains(&y);
            rgb.extend_from_slice(if band {
                &[20, 40, 120]
            } else {
                &[60, 110, 220]
            });
        }
    }
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, w, h);
    enc.set_color(png::ColorType::Rgb);
    let mut writer = enc.write_header().expect("PNG header");
    writer.write_image_data(&rgb).expect("PNG data");
    writer.finish().expect("PNG end");
    out
}

fn main() {
    let out = std::env::args()
        .nth(1)
        .expect("usage: ofd_sample OUT.ofd > layout.json");
    let body = [
        "经审查，你单位提交的申请材料齐全、符合法定形式，",
        "根据《中华人民共和国行政许可法》第三十八条第一款",
        "的规定，决定准予行政许可。",
    ];
    let mut pages = Vec::new();
    let mut layout = Vec::new();
    for n in 1..=3 {
        let mut texts = Vec::new();
        let mut objects = vec![
            line(60.0, 40.0, 9.0, "行政许可决定书", &mut texts),
            line(20.0, 70.0, 5.0, "某某有限公司：", &mut texts),
        ];
        for (i, s) in body.iter().enumerate() {
            objects.push(line(20.0, 85.0 + 9.0 * i as f64, 5.0, s, &mut texts));
        }
        objects.push(line(95.0, 280.0, 4.0, &format!("第{n}页"), &mut texts));
        let mut images = Vec::new();
        let mut rules = Vec::new();
        if n == 1 {
            let rect = Rect {
                x: 120.0,
                y: 180.0,
                width: 60.0,
                height: 30.0,
            };
            images.push([rect.x, rect.y, rect.width, rect.height]);
            objects.push(Object::Image(Image {
                png: picture(),
                rect,
            }));
            rules.push([20.0, 50.0, 170.0]);
            objects.push(Object::Path(Path::line(
                Point { x: 20.0, y: 50.0 },
                Point { x: 190.0, y: 50.0 },
                Stroke {
                    width: 0.6,
                    color: Color::BLACK,
                },
            )));
        }
        layout.push(serde_json::json!({
            "size": [210.0, 297.0],
            "texts": texts,
            "images": images,
            "rules": rules,
            "template_rules": [[20.0, 270.0, 170.0]],
        }));
        pages.push(Page {
            size: Size::A4,
            objects,
        });
    }
    let mut info = DocInfo::new(*b"sidian-ofd-demo!", time::macros::date!(2024 - 05 - 06));
    info.title = Some("行政许可决定书".into());
    info.custom_data = vec![("许可证编号".into(), "鲁2024A001".into())];
    let doc = Document {
        info,
        pages,
        // A template line, drawn under every page by readers that honour templates.
        template: Some(Template {
            objects: vec![Object::Path(Path::line(
                Point { x: 20.0, y: 270.0 },
                Point { x: 190.0, y: 270.0 },
                Stroke {
                    width: 0.3,
                    color: Color {
                        r: 160,
                        g: 160,
                        b: 160,
                    },
                },
            ))],
        }),
        custom_tags: vec![CustomTag {
            type_id: "licence".into(),
            namespace: "urn:sidian:licence".into(),
            root: "Licence".into(),
            fields: vec![TagField {
                name: "Holder".into(),
                content: TagContent::Objects(vec![ObjectRef { page: 0, object: 1 }]),
            }],
        }],
    };
    let bytes = write(&doc).expect("write the OFD");
    std::fs::write(&out, bytes).expect("save the OFD");
    println!("{}", serde_json::json!({ "pages": layout }));
}
