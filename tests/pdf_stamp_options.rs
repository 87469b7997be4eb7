//! Stamping options users expect: `reason`, `location` and `contact` land in the signature
//! dictionary as PDF text strings, bad values are refused with the option named; `field` signs
//! into an existing empty signature field, which the verifier accepts in a later revision;
//! `keyword` centres the seal on text found on the page (ASCII and Identity-H CJK fonts).

mod common;

use axum::http::StatusCode;
use common::{TestVault, call_bytes, create_contract_seal, json_answer};
use sidian::pdf::{Limits, Object, PdfFile, Ref, find_signatures, text_string};

const DOC: &[u8] = include_bytes!("data/pdf/doc-1p.pdf");

/// Percent-encodes a query value (UTF-8).
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn reason_location_and_contact_are_in_the_signature_dictionary() {
    let tv = TestVault::open(None).await;
    let key = tv.client("ops", &["seals", "sign"]).await;
    let id = create_contract_seal(&tv, &key, "p256").await;
    let (reason, location, contact) = ("合同签署（盖章）", "Beijing", "legal@example.com");
    let (status, out) = call_bytes(
        &tv,
        &format!(
            "/v1/seals/{id}/stamp?reason={}&location={}&contact={}",
            enc(reason),
            enc(location),
            enc(contact)
        ),
        Some(&key),
        "application/pdf",
        DOC.to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&out));

    // Read back with the strict reader, independently of the verifier's report.
    let file = PdfFile::open(&out, &Limits::default()).expect("opens");
    let sigs = find_signatures(&file).expect("signatures");
    assert_eq!(sigs.len(), 1);
    assert_eq!(sigs[0].reason.as_deref(), Some(reason));
    assert_eq!(sigs[0].location.as_deref(), Some(location));
    let sig = file
        .get(sigs[0].sig_ref.expect("indirect /V"))
        .expect("signature dictionary");
    let dict = sig.as_dict().expect("a dictionary");
    let string = |key: &[u8]| match dict.get(key) {
        Some(Object::String { bytes, .. }) => text_string(bytes),
        other => panic!("{}: {other:?}", String::from_utf8_lossy(key)),
    };
    assert_eq!(string(b"ContactInfo"), contact);
    assert_eq!(string(b"Reason"), reason);
    // ASCII stays a plain literal; other text is UTF-16BE with a byte order mark.
    assert!(
        matches!(dict.get(b"Location"), Some(Object::String { bytes, .. }) if bytes == b"Beijing")
    );
    assert!(
        matches!(dict.get(b"Reason"), Some(Object::String { bytes, .. }) if bytes.starts_with(&[0xFE, 0xFF]))
    );

    let (status, report) =
        json_answer(call_bytes(&tv, "/v1/documents/verify", None, "application/pdf", out).await);
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["verdict"], "VALID", "{report}");
}

#[tokio::test]
async fn bad_texts_are_refused_naming_the_field() {
    let tv = TestVault::open(None).await;
    let key = tv.client("ops", &["seals", "sign"]).await;
    let id = create_contract_seal(&tv, &key, "p256").await;
    let long = "x".repeat(201);
    for (query, field) in [
        (format!("reason={}", enc("a\nb")), "reason"),
        (format!("location={}", enc("a\u{7f}")), "location"),
        (format!("contact={long}"), "contact"),
    ] {
        let (status, body) = json_answer(
            call_bytes(
                &tv,
                &format!("/v1/seals/{id}/stamp?{query}"),
                Some(&key),
                "application/pdf",
                DOC.to_vec(),
            )
            .await,
        );
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(&format!("`{field}`")), "{query}: {body}");
    }
    // 200 characters of CJK text is within the bound.
    let (status, _) = call_bytes(
        &tv,
        &format!("/v1/seals/{id}/stamp?reason={}", enc(&"章".repeat(200))),
        Some(&key),
        "application/pdf",
        DOC.to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

/// A one-page A4 PDF whose page lists `annots` and whose form lists `fields`, with `extra`
/// objects numbered from 5.
fn with_fields(annots: &str, fields: &str, extra: &[&str]) -> Vec<u8> {
    one_page(
        "BT /F1 12 Tf 72 720 Td (Contract) Tj ET",
        "/F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        annots,
        fields,
        extra,
    )
}

/// A one-page A4 PDF showing `content` with `fonts`, its page listing `annots` and its form
/// `fields`, with `extra` objects numbered from 5.
fn one_page(content: &str, fonts: &str, annots: &str, fields: &str, extra: &[&str]) -> Vec<u8> {
    let mut objects = vec![
        format!("<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [{fields}] >> >>"),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R \
             /Resources << /Font << {fonts} >> >> /Annots [{annots}] >>"
        ),
        format!(
            "<< /Length {} >>\nstream\n{content}\nendstream",
            content.len()
        ),
    ];
    objects.extend(extra.iter().map(|s| (*s).to_owned()));
    common::pdf_of(&objects)
}

/// Two empty signature fields: `Buyer` merged with its widget (object 5), `Seller` with a
/// separate widget (object 7, kid of 6).
fn two_empty_fields() -> Vec<u8> {
    with_fields(
        "5 0 R 7 0 R",
        "5 0 R 6 0 R",
        &[
            "<< /Type /Annot /Subtype /Widget /FT /Sig /T (Buyer) /F 4 /Rect [60 80 260 280] /P 3 0 R >>",
            "<< /FT /Sig /T (Seller) /Kids [7 0 R] >>",
            "<< /Type /Annot /Subtype /Widget /Parent 6 0 R /F 4 /Rect [320 80 520 180] /P 3 0 R >>",
        ],
    )
}

async fn stamp(
    tv: &TestVault,
    key: &str,
    seal: &str,
    query: &str,
    pdf: Vec<u8>,
) -> (StatusCode, Vec<u8>) {
    call_bytes(
        tv,
        &format!("/v1/seals/{seal}/stamp?{query}"),
        Some(key),
        "application/pdf",
        pdf,
    )
    .await
}

#[tokio::test]
async fn field_signs_into_existing_empty_fields_in_turn() {
    let tv = TestVault::open(None).await;
    let key = tv.client("ops", &["seals", "sign"]).await;
    let buyer = create_contract_seal(&tv, &key, "p256").await;
    let seller = create_contract_seal(&tv, &key, "sm2").await;
    let doc = two_empty_fields();

    let (status, once) = stamp(&tv, &key, &buyer, "field=Buyer", doc.clone()).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&once));
    assert_eq!(&once[..doc.len()], doc.as_slice(), "an incremental update");
    let (status, twice) = stamp(&tv, &key, &seller, "field=Seller", once.clone()).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&twice)
    );

    let file = PdfFile::open(&twice, &Limits::default()).expect("opens");
    let sigs = find_signatures(&file).expect("signatures");
    let found: Vec<(&str, Ref, Option<[f64; 4]>)> = sigs
        .iter()
        .map(|s| {
            (
                s.field.name.as_str(),
                s.field.field,
                s.field.widgets[0].rect,
            )
        })
        .collect();
    // The same fields and widgets, no new ones, in the places the document gave them.
    assert_eq!(
        found,
        [
            ("Buyer", Ref::new(5), Some([60.0, 80.0, 260.0, 280.0])),
            ("Seller", Ref::new(6), Some([320.0, 80.0, 520.0, 180.0])),
        ]
    );
    assert_eq!(sigs[1].field.widgets[0].annot, Ref::new(7));
    let (_, catalog) = file.catalog_at(file.sections().len()).expect("catalog");
    let form = file
        .resolve_at(
            catalog.get(b"AcroForm").expect("form"),
            file.sections().len(),
        )
        .expect("form");
    let fields = form.as_dict().and_then(|f| f.get(b"Fields")).cloned();
    assert_eq!(
        fields,
        Some(Object::Array(vec![
            Object::Ref(Ref::new(5)),
            Object::Ref(Ref::new(6))
        ]))
    );

    // Filling an empty field later is an allowed change for the first seal.
    let (status, report) =
        json_answer(call_bytes(&tv, "/v1/documents/verify", None, "application/pdf", twice).await);
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["verdict"], "VALID", "{report}");
    assert_eq!(
        report["signatures"][0]["verdict"], "VALID_WITH_ALLOWED_LATER_CHANGES",
        "{report}"
    );
    assert_eq!(report["signatures"][1]["verdict"], "VALID", "{report}");

    // A filled field and a missing one are refused, naming them.
    for (query, name) in [("field=Buyer", "Buyer"), ("field=Witness", "Witness")] {
        let (status, body) = json_answer(stamp(&tv, &key, &seller, query, once.clone()).await);
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {body}");
        assert_eq!(body["error"]["code"], "pdf_refused", "{body}");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(&format!("{name:?}")), "{query}: {body}");
    }
    // The field gives the place: no coordinates with it.
    let (status, _) = stamp(&tv, &key, &seller, "field=Seller&x=10", once).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

/// The centre of the sealed document's only signature widget.
fn widget_centre(pdf: &[u8]) -> [f64; 2] {
    let file = PdfFile::open(pdf, &Limits::default()).expect("opens");
    let sigs = find_signatures(&file).expect("signatures");
    let r = sigs[0].field.widgets[0].rect.expect("a rectangle");
    [(r[0] + r[2]) / 2.0, (r[1] + r[3]) / 2.0]
}

fn near(a: [f64; 2], b: [f64; 2]) -> bool {
    (a[0] - b[0]).abs() < 3.0 && (a[1] - b[1]).abs() < 3.0
}

#[tokio::test]
async fn keyword_centres_the_seal_on_the_text() {
    let tv = TestVault::open(None).await;
    let key = tv.client("ops", &["seals", "sign"]).await;
    let seal = create_contract_seal(&tv, &key, "p256").await;

    // A simple font with /Widths: 600/1000 of 12 pt a glyph; the date line's 16 glyphs from
    // x = 72 on the baseline y = 300.
    let widths = vec!["600"; 95].join(" ");
    let ascii = one_page(
        "BT /F1 12 Tf 72 700 Td (Contract) Tj 0 -400 Td (Date: ) Tj [(2026-01) -0 (-31)] TJ ET",
        &format!(
            "/F1 << /Type /Font /Subtype /Type1 /BaseFont /Courier /FirstChar 32 /LastChar 126 /Widths [{widths}] >>"
        ),
        "",
        "",
        &[],
    );
    let (status, out) = stamp(
        &tv,
        &key,
        &seal,
        &format!("keyword={}", enc("Date: 2026-01-31")),
        ascii.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&out));
    let expected = [72.0 + 16.0 * 7.2 / 2.0, 300.0 + 12.0 * 0.35];
    assert!(
        near(widget_centre(&out), expected),
        "{:?}",
        widget_centre(&out)
    );
    let (status, report) =
        json_answer(call_bytes(&tv, "/v1/documents/verify", None, "application/pdf", out).await);
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["verdict"], "VALID", "{report}");

    // A Type0 font with Identity-H and a ToUnicode CMap, as Chinese documents have: （盖章）
    // at 14 pt, 1000 wide, from (400, 150).
    let cmap = "/CIDInit /ProcSet findresource begin 12 dict begin begincmap \
        1 begincodespacerange <0000> <FFFF> endcodespacerange \
        2 beginbfchar <0001> <76D6> <0002> <7AE0> endbfchar \
        1 beginbfrange <0003> <0004> [<FF08> <FF09>] endbfrange \
        endcmap end end";
    let cjk = one_page(
        "BT /F2 14 Tf 1 0 0 1 400 150 Tm <0003000100020004> Tj ET",
        "/F2 << /Type /Font /Subtype /Type0 /BaseFont /SimSun /Encoding /Identity-H \
         /DescendantFonts [<< /Type /Font /Subtype /CIDFontType2 /BaseFont /SimSun \
         /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /DW 1000 >>] \
         /ToUnicode 5 0 R >>",
        "",
        "",
        &[&format!(
            "<< /Length {} >>\nstream\n{cmap}\nendstream",
            cmap.len()
        )],
    );
    let (status, out) = stamp(
        &tv,
        &key,
        &seal,
        &format!("keyword={}", enc("（盖章）")),
        cjk.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&out));
    assert!(
        near(widget_centre(&out), [428.0, 150.0 + 14.0 * 0.35]),
        "{:?}",
        widget_centre(&out)
    );

    // Text that is not there, or not on the page asked for.
    for (pdf, query) in [
        (cjk.clone(), format!("keyword={}", enc("签字"))),
        (cjk, format!("keyword={}&page=2", enc("盖章"))),
        (ascii, "keyword=Signature".to_owned()),
    ] {
        let (status, body) = json_answer(stamp(&tv, &key, &seal, &query, pdf).await);
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {body}");
        assert_eq!(body["error"]["code"], "keyword_not_found", "{body}");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(
            ["签字", "盖章", "Signature"]
                .iter()
                .any(|k| message.contains(k)),
            "{body}"
        );
    }
    let (status, _) = stamp(&tv, &key, &seal, "keyword=Date&x=10", two_empty_fields()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}
