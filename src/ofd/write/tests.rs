#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeSet, HashMap};

use ttf_parser::Face;

use super::*;
use crate::ofd::xml::{Element, parse};
use crate::ofd::{Limits, Package, read_signatures};

fn pt(x: f64, y: f64) -> Point {
    Point { x, y }
}

fn text(x: f64, y: f64, size: f64, s: &str) -> Object {
    Object::Text(Text {
        origin: pt(x, y),
        size,
        color: Color::BLACK,
        text: s.to_owned(),
    })
}

/// A small opaque PNG (`w`×`h`, one grey level) made with the png crate.
fn png(w: u32, h: u32, level: u8) -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, w, h);
    enc.set_color(png::ColorType::Grayscale);
    let mut writer = enc.write_header().unwrap();
    writer
        .write_image_data(&vec![level; (w * h) as usize])
        .unwrap();
    writer.finish().unwrap();
    out
}

fn image(x: f64, y: f64, png: Vec<u8>) -> Object {
    Object::Image(Image {
        png,
        rect: Rect {
            x,
            y,
            width: 40.0,
            height: 20.0,
        },
    })
}

/// Two pages with text, a path and (twice the same) image, a template and a custom tag.
pub(in crate::ofd) fn sample() -> Document {
    let rule = Stroke {
        width: 0.5,
        color: Color { r: 200, g: 0, b: 0 },
    };
    let mut info = DocInfo::new(*b"0123456789abcdef", time::macros::date!(2024 - 05 - 06));
    info.title = Some("行政许可决定书".into());
    info.custom_data = vec![("许可证编号".into(), "鲁2024A001".into())];
    Document {
        info,
        pages: vec![
            Page {
                size: Size::A4,
                objects: vec![
                    text(30.0, 40.0, 8.0, "行政许可决定书"),
                    Object::Path(Path::line(pt(20.0, 50.0), pt(190.0, 50.0), rule)),
                    text(30.0, 70.0, 4.5, "某某有限公司：A-1"),
                    image(140.0, 230.0, png(8, 4, 90)),
                ],
            },
            Page {
                size: Size {
                    width: 297.0,
                    height: 210.0,
                },
                objects: vec![
                    image(20.0, 20.0, png(8, 4, 90)),
                    Object::Path(Path::rect(
                        Rect {
                            x: 10.0,
                            y: 10.0,
                            width: 100.0,
                            height: 50.0,
                        },
                        None,
                        Some(Color { r: 0, g: 0, b: 255 }),
                    )),
                ],
            },
        ],
        template: Some(Template {
            objects: vec![text(10.0, 290.0, 3.0, "第页")],
        }),
        custom_tags: vec![CustomTag {
            type_id: "licence".into(),
            namespace: "urn:sidian:licence".into(),
            root: "Licence".into(),
            fields: vec![
                TagField {
                    name: "Holder".into(),
                    content: TagContent::Objects(vec![ObjectRef { page: 0, object: 2 }]),
                },
                TagField {
                    name: "Number".into(),
                    content: TagContent::Value("鲁2024A001".into()),
                },
            ],
        }],
    }
}

/// The written package, opened by the reader, with each XML file parsed.
struct Written {
    bytes: Vec<u8>,
    pkg: Package,
}

impl Written {
    fn of(doc: &Document) -> Written {
        let bytes = write(doc).unwrap();
        let pkg = Package::open(&bytes, &Limits::default()).unwrap();
        Written { bytes, pkg }
    }

    fn xml(&self, path: &str) -> Element {
        parse(&self.pkg.read(path).unwrap(), path, 64).unwrap()
    }
}

/// Every element below `el` (itself included), depth first.
fn walk(el: &Element) -> Vec<&Element> {
    let mut out = vec![el];
    for c in &el.children {
        out.extend(walk(c));
    }
    out
}

fn num_list(s: &str) -> Vec<f64> {
    s.split_whitespace().map(|v| v.parse().unwrap()).collect()
}

#[test]
fn the_reader_opens_what_is_written() {
    let w = Written::of(&sample());
    assert_eq!(
        w.pkg.names(),
        [
            "Doc_0/Document.xml",
            "Doc_0/DocumentRes.xml",
            "Doc_0/Pages/Page_0/Content.xml",
            "Doc_0/Pages/Page_1/Content.xml",
            "Doc_0/PublicRes.xml",
            "Doc_0/Res/NotoSerifSC.ttf",
            "Doc_0/Res/image_2.png",
            "Doc_0/Tags/CustomTags.xml",
            "Doc_0/Tags/Tag_0.xml",
            "Doc_0/Tpls/Tpl_0/Content.xml",
            "OFD.xml",
        ]
    );
    assert!(crate::ofd::is_ofd(&w.bytes));
    let sigs = read_signatures(&w.bytes, &Limits::default()).unwrap();
    assert!(sigs.signatures.is_empty() && sigs.problems.is_empty());
    for name in w.pkg.names().iter().filter(|n| n.ends_with(".xml")) {
        w.xml(name);
    }

    let ofd = w.xml("OFD.xml");
    assert_eq!(ofd.name, "OFD");
    assert_eq!(ofd.attr("DocType"), Some("OFD"));
    let body = ofd.child("DocBody").unwrap();
    assert_eq!(body.child_text("DocRoot").unwrap(), "Doc_0/Document.xml");
    let info = body.child("DocInfo").unwrap();
    let order: Vec<&str> = info.children.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        order,
        [
            "DocID",
            "Title",
            "CreationDate",
            "Creator",
            "CreatorVersion",
            "CustomDatas"
        ]
    );
    assert_eq!(
        info.child_text("DocID").unwrap(),
        "30313233343536373839616263646566"
    );
    assert_eq!(info.child_text("CreationDate").unwrap(), "2024-05-06");
    assert_eq!(info.child_text("Creator").unwrap(), "sidian");
    let data = info
        .child("CustomDatas")
        .unwrap()
        .child("CustomData")
        .unwrap();
    assert_eq!(
        (data.attr("Name"), data.text.as_str()),
        (Some("许可证编号"), "鲁2024A001")
    );

    let doc = w.xml("Doc_0/Document.xml");
    let common = doc.child("CommonData").unwrap();
    let order: Vec<&str> = common.children.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        order,
        [
            "MaxUnitID",
            "PageArea",
            "PublicRes",
            "DocumentRes",
            "TemplatePage"
        ]
    );
    assert_eq!(
        common
            .child("PageArea")
            .unwrap()
            .child_text("PhysicalBox")
            .unwrap(),
        "0 0 210 297"
    );
    let pages: Vec<_> = doc.child("Pages").unwrap().children_named("Page").collect();
    assert_eq!(pages[1].attr("BaseLoc"), Some("Pages/Page_1/Content.xml"));
    assert_eq!(doc.child_text("CustomTags").unwrap(), "Tags/CustomTags.xml");
    let page2 = w.xml("Doc_0/Pages/Page_1/Content.xml");
    assert_eq!(
        page2
            .child("Area")
            .unwrap()
            .child_text("PhysicalBox")
            .unwrap(),
        "0 0 297 210"
    );
}

#[test]
fn ids_are_unique_and_max_unit_id_is_the_largest() {
    let w = Written::of(&sample());
    let mut ids = Vec::new();
    for name in w.pkg.names().iter().filter(|n| n.ends_with(".xml")) {
        let root = w.xml(name);
        ids.extend(
            walk(&root)
                .into_iter()
                .filter_map(|e| e.attr("ID"))
                .map(|v| v.parse::<u32>().unwrap()),
        );
    }
    let unique: BTreeSet<u32> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "duplicate IDs in {ids:?}");
    // One font, one image (drawn twice), the template (page, layer, object), two pages with a
    // layer each and six objects: 1..=15 with no gap.
    assert_eq!(unique, (1..=15).collect());
    let doc = w.xml("Doc_0/Document.xml");
    let max = doc.child("CommonData").unwrap().child_text("MaxUnitID");
    assert_eq!(max.unwrap(), "15");
    // Every reference points at an ID that exists.
    let page = w.xml("Doc_0/Pages/Page_0/Content.xml");
    for e in walk(&page) {
        for key in ["Font", "ResourceID", "TemplateID"] {
            if let Some(v) = e.attr(key) {
                assert!(unique.contains(&v.parse().unwrap()), "{key}={v}");
            }
        }
    }
}

#[test]
fn delta_x_is_the_advances_scaled_to_the_size() {
    let s = "许可A，1";
    let size = 5.0;
    let doc = Document {
        info: DocInfo::new([7; 16], time::macros::date!(2024 - 01 - 01)),
        pages: vec![Page {
            size: Size::A4,
            objects: vec![text(20.0, 30.0, size, s)],
        }],
        template: None,
        custom_tags: Vec::new(),
    };
    let w = Written::of(&doc);
    let page = w.xml("Doc_0/Pages/Page_0/Content.xml");
    let obj = walk(&page)
        .into_iter()
        .find(|e| e.name == "TextObject")
        .unwrap();
    assert_eq!(obj.attr("Size"), Some("5"));
    let code = obj.child("TextCode").unwrap();
    assert_eq!(code.text, s);
    // Independently: hmtx of the bundled font, scaled by size / upem.
    let face = Face::parse(crate::render::font::DATA, 0).unwrap();
    let k = size / f64::from(face.units_per_em());
    let want: Vec<f64> = s
        .chars()
        .take(s.chars().count() - 1)
        .map(|c| {
            f64::from(
                face.glyph_hor_advance(face.glyph_index(c).unwrap())
                    .unwrap(),
            ) * k
        })
        .collect();
    let got = num_list(code.attr("DeltaX").unwrap());
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(&want) {
        assert!((g - w).abs() < 1e-4, "{got:?} vs {want:?}");
    }
    // CJK advance is one em; the Latin letter is narrower.
    assert_eq!(got[0], size);
    assert!(got[2] < size * 0.8);
    // Baseline at (20, 30): Boundary origin + (X, Y).
    let b = num_list(obj.attr("Boundary").unwrap());
    let (x, y) = (
        num_list(code.attr("X").unwrap())[0],
        num_list(code.attr("Y").unwrap())[0],
    );
    assert!(
        (b[0] + x - 20.0).abs() < 1e-4 && (b[1] + y - 30.0).abs() < 1e-4,
        "{b:?} {x} {y}"
    );
    // The box holds the em box: 0.88 em above the baseline, 0.12 em below.
    assert!(y >= 0.88 * size - 1e-4 && b[3] - y >= 0.12 * size - 1e-4);
    assert!(b[2] >= want.iter().sum::<f64>());
}

#[test]
fn the_embedded_subset_draws_every_used_character() {
    let doc = sample();
    let w = Written::of(&doc);
    let res = w.xml("Doc_0/PublicRes.xml");
    assert_eq!(res.attr("BaseLoc"), Some("Res"));
    let font = res.child("Fonts").unwrap().child("Font").unwrap();
    assert_eq!(font.attr("FontName"), Some("Noto Serif SC"));
    assert_eq!(font.attr("Bold"), Some("true"));
    assert_eq!(font.child_text("FontFile").unwrap(), "NotoSerifSC.ttf");
    let bytes = w.pkg.read("Doc_0/Res/NotoSerifSC.ttf").unwrap();
    let sub = Face::parse(&bytes, 0).unwrap();
    let used: BTreeSet<char> = "行政许可决定书某某有限公司：A-1第页".chars().collect();
    for c in &used {
        let g = sub
            .glyph_index(*c)
            .unwrap_or_else(|| panic!("{c:?} not mapped"));
        assert!(g.0 != 0);
        if !c.is_whitespace() {
            assert!(sub.glyph_bounding_box(g).is_some(), "{c:?} has no outline");
        }
    }
    assert_eq!(usize::from(sub.number_of_glyphs()), used.len() + 1);
    assert!(bytes.len() < 40_000, "subset of {} bytes", bytes.len());
}

#[test]
fn images_are_stored_once_and_scaled_into_their_box() {
    let w = Written::of(&sample());
    let res = w.xml("Doc_0/DocumentRes.xml");
    let media: Vec<_> = res
        .child("MultiMedias")
        .unwrap()
        .children_named("MultiMedia")
        .collect();
    assert_eq!(media.len(), 1);
    assert_eq!(media[0].attr("Type"), Some("Image"));
    let file = media[0].child_text("MediaFile").unwrap();
    assert_eq!(
        w.pkg.read(&format!("Doc_0/Res/{file}")).unwrap(),
        png(8, 4, 90)
    );
    for page in [
        "Doc_0/Pages/Page_0/Content.xml",
        "Doc_0/Pages/Page_1/Content.xml",
    ] {
        let root = w.xml(page);
        let img = walk(&root)
            .into_iter()
            .find(|e| e.name == "ImageObject")
            .unwrap();
        assert_eq!(img.attr("ResourceID"), media[0].attr("ID"));
        assert_eq!(img.attr("CTM"), Some("40 0 0 20 0 0"));
    }
}

#[test]
fn paths_are_written_relative_to_a_box_that_holds_the_stroke() {
    let w = Written::of(&sample());
    let root = w.xml("Doc_0/Pages/Page_0/Content.xml");
    let path = walk(&root)
        .into_iter()
        .find(|e| e.name == "PathObject")
        .unwrap();
    assert_eq!(path.attr("Boundary"), Some("19.75 49.75 170.5 0.5"));
    assert_eq!(path.attr("LineWidth"), Some("0.5"));
    assert_eq!(
        (path.attr("Stroke"), path.attr("Fill")),
        (Some("true"), Some("false"))
    );
    assert_eq!(
        path.child("StrokeColor").unwrap().attr("Value"),
        Some("200 0 0")
    );
    assert_eq!(
        path.child_text("AbbreviatedData").unwrap(),
        "M 0.25 0.25 L 170.25 0.25"
    );
    let root = w.xml("Doc_0/Pages/Page_1/Content.xml");
    let rect = walk(&root)
        .into_iter()
        .find(|e| e.name == "PathObject")
        .unwrap();
    assert_eq!(rect.attr("Boundary"), Some("10 10 100 50"));
    assert_eq!(
        (rect.attr("Stroke"), rect.attr("Fill")),
        (Some("false"), Some("true"))
    );
    assert_eq!(
        rect.child_text("AbbreviatedData").unwrap(),
        "M 0 0 L 100 0 L 100 50 L 0 50 C"
    );
}

#[test]
fn template_and_custom_tags_point_at_the_right_things() {
    let w = Written::of(&sample());
    let doc = w.xml("Doc_0/Document.xml");
    let tpl = doc
        .child("CommonData")
        .unwrap()
        .child("TemplatePage")
        .unwrap();
    assert_eq!(tpl.attr("BaseLoc"), Some("Tpls/Tpl_0/Content.xml"));
    for i in 0..2 {
        let page = w.xml(&format!("Doc_0/Pages/Page_{i}/Content.xml"));
        assert_eq!(
            page.children[0].name, "Template",
            "schema order: Template first"
        );
        assert_eq!(page.children[0].attr("TemplateID"), tpl.attr("ID"));
    }
    let tpl_content = w.xml("Doc_0/Tpls/Tpl_0/Content.xml");
    assert!(
        walk(&tpl_content)
            .iter()
            .any(|e| e.name == "TextCode" && e.text == "第页")
    );

    let list = w.xml("Doc_0/Tags/CustomTags.xml");
    let tag = list.child("CustomTag").unwrap();
    assert_eq!(tag.attr("TypeID"), Some("licence"));
    assert_eq!(tag.attr("NameSpace"), Some("urn:sidian:licence"));
    let file = tag.child_text("FileLoc").unwrap();
    let raw = String::from_utf8(w.pkg.read(&format!("Doc_0/Tags/{file}")).unwrap()).unwrap();
    assert!(raw.contains(
        r#"<Licence xmlns="urn:sidian:licence" xmlns:ofd="http://www.ofdspec.org/2016">"#
    ));
    let tags = w.xml(&format!("Doc_0/Tags/{file}"));
    assert_eq!(tags.child_text("Number").unwrap(), "鲁2024A001");
    let r = tags.child("Holder").unwrap().child("ObjectRef").unwrap();
    // PageRef is page 1's ID, the object is the text that shows the holder.
    let page_id = doc
        .child("Pages")
        .unwrap()
        .child("Page")
        .unwrap()
        .attr("ID");
    assert_eq!(r.attr("PageRef"), page_id);
    let page = w.xml("Doc_0/Pages/Page_0/Content.xml");
    let target = walk(&page)
        .into_iter()
        .find(|e| e.attr("ID") == Some(r.text.as_str()))
        .unwrap();
    assert_eq!(target.child("TextCode").unwrap().text, "某某有限公司：A-1");
}

#[test]
fn the_same_model_gives_the_same_bytes() {
    let a = write(&sample()).unwrap();
    assert_eq!(a, write(&sample()).unwrap());
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(&a)).unwrap();
    for i in 0..z.len() {
        let f = z.by_index(i).unwrap();
        assert_eq!(f.last_modified(), Some(zip::DateTime::default()));
    }
    let mut other = sample();
    other.info.doc_id[0] ^= 1;
    assert_ne!(a, write(&other).unwrap());
}

#[test]
fn bad_models_are_refused_with_their_place() {
    let with = |f: &dyn Fn(&mut Document)| {
        let mut d = sample();
        f(&mut d);
        write(&d).unwrap_err()
    };
    assert_eq!(with(&|d| d.pages.clear()), WriteError::NoPages);
    assert_eq!(
        with(&|d| d.pages[1].objects.push(text(1.0, 9.0, 3.0, "許可"))),
        WriteError::MissingGlyph {
            at: Place::Object { page: 1, object: 2 },
            ch: '許'
        }
    );
    assert_eq!(
        with(&|d| d.template.as_mut().unwrap().objects[0] = text(1.0, 9.0, 0.0, "页")),
        WriteError::Invalid {
            at: Place::Template(0),
            problem: "the font size is not a positive number"
        }
    );
    assert!(matches!(
        with(&|d| d.pages[0].objects[3] = image(1.0, 1.0, b"GIF89a".to_vec())),
        WriteError::InvalidPng {
            at: Place::Object { page: 0, object: 3 },
            ..
        }
    ));
    assert!(matches!(
        with(&|d| d.pages[1].size.height = f64::NAN),
        WriteError::Invalid {
            at: Place::Page(1),
            ..
        }
    ));
    assert!(matches!(
        with(&|d| d.pages[0].objects[1] = Object::Path(Path {
            segments: vec![Segment::LineTo(pt(1.0, 1.0))],
            stroke: None,
            fill: Some(Color::BLACK),
        })),
        WriteError::Invalid {
            at: Place::Object { page: 0, object: 1 },
            ..
        }
    ));
    let bad_ref = ObjectRef { page: 1, object: 2 };
    assert_eq!(
        with(&|d| d.custom_tags[0].fields[0].content = TagContent::Objects(vec![bad_ref])),
        WriteError::BadObjectRef(bad_ref)
    );
    assert_eq!(
        with(&|d| d.custom_tags[0].root = "许可".into()),
        WriteError::BadTagName("许可".into())
    );
    assert_eq!(
        with(&|d| d.info.creator = "a\u{1}b".into()),
        WriteError::InvalidXmlChar('\u{1}')
    );
}

#[test]
fn a_document_without_text_or_images_has_no_resources() {
    let doc = Document {
        info: DocInfo::new([1; 16], time::macros::date!(2024 - 01 - 01)),
        pages: vec![Page {
            size: Size::A4,
            objects: vec![Object::Path(Path::line(
                pt(0.0, 0.0),
                pt(10.0, 10.0),
                Stroke {
                    width: 1.0,
                    color: Color::BLACK,
                },
            ))],
        }],
        template: None,
        custom_tags: Vec::new(),
    };
    let w = Written::of(&doc);
    assert_eq!(
        w.pkg.names(),
        [
            "Doc_0/Document.xml",
            "Doc_0/Pages/Page_0/Content.xml",
            "OFD.xml"
        ]
    );
    let common = w.xml("Doc_0/Document.xml");
    let names: HashMap<&str, usize> = common
        .child("CommonData")
        .unwrap()
        .children
        .iter()
        .map(|c| (c.name.as_str(), 1))
        .collect();
    assert!(!names.contains_key("PublicRes") && !names.contains_key("DocumentRes"));
}
