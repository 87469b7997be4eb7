#![allow(clippy::unwrap_used)]

use super::*;
use crate::pdf::Limits;

/// A one-page document with an exact cross-reference table: the catalog (1) with `catalog`
/// added, the page tree (2), the page (3) with `page` added, then `extra` as objects 4, 5, ….
fn one_page(catalog: &str, page: &str, extra: &[&str]) -> Vec<u8> {
    let mut objects = vec![
        format!("<< /Type /Catalog /Pages 2 0 R {catalog} >>"),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        format!("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] {page} >>"),
    ];
    objects.extend(extra.iter().map(|s| (*s).to_owned()));
    let objects: Vec<Vec<u8>> = objects.into_iter().map(String::into_bytes).collect();
    crate::testutil::minimal_pdf(&objects)
}

fn survey_of(pdf: &[u8]) -> Survey {
    let f = PdfFile::open(pdf, &Limits::default()).unwrap();
    survey(&f, f.sections().len()).unwrap()
}

/// The findings of `pdf`, in words.
fn findings(pdf: &[u8]) -> Vec<String> {
    survey_of(pdf)
        .active
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[track_caller]
fn assert_first(pdf: &[u8], says: &str) {
    let found = findings(pdf);
    assert!(
        found.first().is_some_and(|f| f.contains(says)),
        "the first finding should say {says:?}: {found:?}"
    );
}

#[test]
fn a_plain_page_with_passive_annotations_and_links_is_not_active() {
    let annots = PASSIVE
        .iter()
        .enumerate()
        .map(|(i, _)| format!("{} 0 R", i + 5))
        .collect::<Vec<_>>()
        .join(" ");
    let mut extra = vec![
        "<< /Type /Annot /Subtype /Link /Rect [0 0 10 10] /A << /S /URI /URI (https://example.org/a) >> >>".to_owned(),
    ];
    extra.extend(
        PASSIVE
            .iter()
            .map(|s| format!("<< /Type /Annot /Subtype /{} /Rect [0 0 10 10] >>", name(s))),
    );
    let pdf = one_page(
        "/OpenAction << /S /GoTo /D [3 0 R /Fit] >> /PageMode /UseOutlines",
        &format!(
            "/Annots [4 0 R {annots} << /Subtype /Link /Rect [0 0 1 1] /Dest [3 0 R /XYZ 0 0 0] >> << /Subtype /Link /Rect [0 0 1 1] /A << /S /Named /N /NextPage >> >>]"
        ),
        &extra.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let s = survey_of(&pdf);
    assert_eq!(s.active, [], "{:?}", s.active);
    assert_eq!(
        s.links,
        [Link {
            page: 1,
            uri: "https://example.org/a".into()
        }]
    );
    // A destination array, and a named destination, are go-tos too.
    for open in ["[3 0 R /Fit]", "(Chapter1)", "<< /S /GoTo /D /Chapter1 >>"] {
        assert_eq!(
            findings(&one_page(&format!("/OpenAction {open}"), "", &[])),
            Vec::<String>::new(),
            "{open}"
        );
    }
}

#[test]
fn every_automatic_action_is_active_whatever_it_does() {
    for s in [
        "GoToR /F (other.pdf) /D [0 /Fit]",
        "SubmitForm /F (https://x.test/)",
        "ImportData /F (data.fdf)",
        "URI /URI (https://x.test/)",
        "GoTo /D [3 0 R /Fit]",
    ] {
        let kind = s.split(' ').next().unwrap();
        let page = one_page("", &format!("/AA << /O << /S /{s} >> >>"), &[]);
        assert_first(
            &page,
            &format!("page 1: /AA /O action /{kind} runs by itself"),
        );
        let catalog = one_page(&format!("/AA << /WC << /S /{s} >> >>"), "", &[]);
        assert_first(
            &catalog,
            &format!("document catalog: /AA /WC action /{kind} runs by itself"),
        );
        let annot = one_page(
            "",
            "/Annots [4 0 R]",
            &[&format!(
                "<< /Type /Annot /Subtype /Square /Rect [0 0 9 9] /AA << /E << /S /{s} >> >> >>"
            )],
        );
        assert_first(
            &annot,
            &format!("annotation 4 on page 1: /AA /E action /{kind}"),
        );
    }
    let field = one_page(
        "/AcroForm << /Fields [4 0 R] >>",
        "",
        &[
            "<< /FT /Sig /T (Sig1) /AA << /K 5 0 R >> >>",
            "<< /S /JavaScript /JS (1) >>",
        ],
    );
    assert_first(
        &field,
        "form field \"Sig1\": /AA /K action /JavaScript runs by itself",
    );
}

#[test]
fn an_open_action_other_than_a_local_go_to_is_active() {
    for (open, says) in [
        (
            "<< /S /JavaScript /JS (app.alert(1)) >>",
            "/OpenAction action /JavaScript is active content",
        ),
        (
            "<< /S /URI /URI (https://x.test/) >>",
            "/OpenAction action /URI is active content",
        ),
        (
            "<< /S /GoTo /D [9 0 R /Fit] >>",
            "/OpenAction action /GoTo goes to no page of this document",
        ),
        (
            "<< /S /GoTo /D [3 0 R /Fit] /Next << /S /Launch /F (x.exe) >> >>",
            "chains further actions (/Next)",
        ),
        ("[0 /Fit]", "/OpenAction is no destination in this document"),
    ] {
        assert_first(&one_page(&format!("/OpenAction {open}"), "", &[]), says);
    }
}

#[test]
fn active_annotations_and_link_actions_are_named() {
    for subtype in [
        "3D",
        "RichMedia",
        "Screen",
        "Movie",
        "Sound",
        "FileAttachment",
        "Redact",
        "Projection",
        "Unknown",
    ] {
        let pdf = one_page(
            "",
            "/Annots [4 0 R]",
            &[&format!(
                "<< /Type /Annot /Subtype /{subtype} /Rect [0 0 9 9] >>"
            )],
        );
        assert_first(
            &pdf,
            &format!("annotation 4 on page 1: /Subtype /{subtype} is no passive annotation"),
        );
    }
    for action in [
        "Launch /F (calc.exe)",
        "JavaScript /JS (1)",
        "GoToR /F (x.pdf) /D [0 /Fit]",
        "SubmitForm /F (https://x.test/)",
        "ResetForm",
        "ImportData /F (x.fdf)",
        "Hide /T (a)",
        "Named /N /Print",
        "SetOCGState /State []",
        "GoToE /T << /R /C >>",
        "Rendition /OP 0",
        "Trans /Trans << >>",
        "GoTo3DView /TA 4 0 R /V 0",
        "RichMediaExecute /TA 4 0 R",
        "Thread /D 0",
    ] {
        let kind = action.split(' ').next().unwrap();
        let pdf = one_page(
            "",
            "/Annots [4 0 R]",
            &[&format!(
                "<< /Type /Annot /Subtype /Link /Rect [0 0 9 9] /A << /S /{action} >> >>"
            )],
        );
        assert_first(
            &pdf,
            &format!("annotation 4 on page 1: link action /{kind} is active content"),
        );
    }
    let chained = one_page(
        "",
        "/Annots [4 0 R]",
        &[
            "<< /Subtype /Link /Rect [0 0 9 9] /A << /S /URI /URI (https://a.test/) /Next << /S /URI /URI (https://b.test/) >> >> >>",
        ],
    );
    assert_first(&chained, "link action /URI chains further actions (/Next)");
    for uri in [
        "file:///C:/Windows/System32/calc.exe",
        "javascript:app.alert(1)",
        "/relative",
        "HTTPS",
    ] {
        let pdf = one_page(
            "",
            "/Annots [4 0 R]",
            &[&format!(
                "<< /Subtype /Link /Rect [0 0 9 9] /A << /S /URI /URI ({uri}) >> >>"
            )],
        );
        assert_first(&pdf, "which is no http, https or mailto address");
    }
    for uri in ["HTTPS://example.org/", "mailto:office@example.org"] {
        let pdf = one_page(
            "",
            "/Annots [4 0 R]",
            &[&format!(
                "<< /Subtype /Link /Rect [0 0 9 9] /A << /S /URI /URI ({uri}) >> >>"
            )],
        );
        assert_eq!(survey_of(&pdf).links.len(), 1, "{uri}");
    }
    // A widget belongs to a signature field, and has no action.
    let widget = one_page(
        "",
        "/Annots [4 0 R]",
        &["<< /Subtype /Widget /FT /Btn /T (b) /Rect [0 0 9 9] >>"],
    );
    assert_first(
        &widget,
        "a widget of a form field that is no signature field",
    );
    let sig_widget = one_page(
        "/AcroForm << /Fields [4 0 R] >>",
        "/Annots [4 0 R]",
        &[
            "<< /Subtype /Widget /FT /Sig /T (Sig1) /Rect [0 0 9 9] /A << /S /URI /URI (https://x.test/) >> >>",
        ],
    );
    assert_first(&sig_widget, "a /Widget annotation with an action (/A)");
    let sig_widget = one_page(
        "/AcroForm << /Fields [4 0 R] >>",
        "/Annots [4 0 R]",
        &["<< /Subtype /Widget /FT /Sig /T (Sig1) /Rect [0 0 9 9] >>"],
    );
    assert_eq!(findings(&sig_widget), Vec::<String>::new());
}

#[test]
fn embedded_hidden_and_scripted_content_is_active_wherever_it_hangs() {
    for (catalog, says) in [
        (
            "/Names << /JavaScript 4 0 R >>",
            "the /Names /JavaScript tree",
        ),
        (
            "/Names << /EmbeddedFiles 4 0 R >>",
            "the /Names /EmbeddedFiles tree",
        ),
        (
            "/Names << /Templates 4 0 R >>",
            "the /Names /Templates tree",
        ),
        (
            "/OCProperties << /OCGs [] /D << >> >>",
            "optional content (/OCProperties)",
        ),
        ("/AF [4 0 R]", "associated files (/AF)"),
        ("/Collection << >>", "a portfolio"),
        ("/AcroForm << /Fields [] /XFA 4 0 R >>", "an XFA form"),
        // Hung where no reader looks for it, it is still refused.
        (
            "/Foo << /Bar << /S /JavaScript /JS (1) >> >>",
            "object 1: JavaScript (/JS)",
        ),
        (
            "/Foo << /Type /Filespec /F (a.exe) /EF << /F 4 0 R >> >>",
            "object 1: an embedded file",
        ),
        (
            "/Outlines 4 0 R",
            "object 4: outline item action /URI is active content",
        ),
    ] {
        let extra = if catalog.contains("Outlines") {
            "<< /Title (x) /Parent 1 0 R /A << /S /URI /URI (https://x.test/) >> >>"
        } else {
            "<< /Names [] >>"
        };
        assert!(
            findings(&one_page(catalog, "", &[extra]))
                .iter()
                .any(|f| f.contains(says)),
            "{catalog}: {:?}",
            findings(&one_page(catalog, "", &[extra]))
        );
    }
    // An outline item that goes to a page of the document is fine.
    let outline = one_page(
        "/Outlines 4 0 R",
        "",
        &["<< /Title (x) /Parent 1 0 R /A << /S /GoTo /D [3 0 R /Fit] >> >>"],
    );
    assert_eq!(findings(&outline), Vec::<String>::new());
}
