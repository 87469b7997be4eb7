//! Sealing OFDs (`POST /v1/seals/{id}/stamp` with `application/ofd`, `sidian stamp`): the
//! verifier says VALID; every `CheckValue` is the SM3 of its file and the SES_Signature's
//! dataHash the SM3 of `Signature.xml`, computed here independently of the vault; a later seal
//! leaves every byte of an earlier one's package in place but `Signatures.xml`; a 骑缝章 has a
//! strip on every page; `keyword` lands on the keyword; a third party's seal stays intact.

mod common;

use std::collections::BTreeMap;
use std::io::Read;
use std::process::Command;

use axum::http::StatusCode;
use base64::Engine;
use common::{TestVault, call_bytes, create_contract_seal, json_answer};
use serde_json::Value;
use sidian::ofd::write::{
    Color, DocInfo, Document, Image, Object, Page, Point, Rect, Size, Text, write,
};
use sm3::Digest;

const V4SIGNED: &[u8] = include_bytes!("data/ses/v4signed.ofd");
/// Where the keyword line starts (mm from the top-left; the baseline) and its font size.
const KEYWORD_LINE: (f64, f64, f64) = (30.0, 200.0, 5.0);
const KEYWORD_PREFIX: &str = "申请单位";
const KEYWORD: &str = "（盖章）";

/// A 2×2 PNG.
fn png() -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, 2, 2);
    enc.set_color(png::ColorType::Rgb);
    let mut w = enc.write_header().expect("header");
    w.write_image_data(&[200, 30, 30, 30, 200, 30, 30, 30, 200, 90, 90, 90])
        .expect("data");
    w.finish().expect("end");
    out
}

/// Three A4 pages of Chinese text, a picture on page 1, the keyword line on page 2.
fn document() -> Vec<u8> {
    document_of(3)
}

/// [`document`] with `pages` pages.
fn document_of(pages: usize) -> Vec<u8> {
    let text = |x: f64, y: f64, size: f64, s: &str| {
        Object::Text(Text {
            origin: Point { x, y },
            size,
            color: Color::BLACK,
            text: s.to_owned(),
        })
    };
    let pages = (1..=pages)
        .map(|n| {
            let mut objects = vec![
                text(60.0, 40.0, 9.0, "行政许可决定书"),
                text(
                    20.0,
                    70.0,
                    5.0,
                    "经审查，你单位提交的申请材料齐全，决定准予行政许可。",
                ),
                text(95.0, 280.0, 4.0, &format!("第{n}页")),
            ];
            if n == 1 {
                objects.push(Object::Image(Image {
                    png: png(),
                    rect: Rect {
                        x: 120.0,
                        y: 180.0,
                        width: 40.0,
                        height: 20.0,
                    },
                }));
            }
            if n == 2 {
                let (x, y, size) = KEYWORD_LINE;
                objects.push(text(x, y, size, &format!("{KEYWORD_PREFIX}{KEYWORD}")));
            }
            Page {
                size: Size::A4,
                objects,
            }
        })
        .collect();
    let doc = Document {
        info: DocInfo::new(*b"sidian-ofd-stamp", time::macros::date!(2026 - 01 - 05)),
        pages,
        template: None,
        custom_tags: Vec::new(),
    };
    write(&doc).expect("write the OFD")
}

/// Every entry of a zip, by name, decompressed.
fn entries(zip_bytes: &[u8]) -> BTreeMap<String, Vec<u8>> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip_bytes)).expect("zip");
    let mut out = BTreeMap::new();
    for i in 0..archive.len() {
        let mut f = archive.by_index(i).expect("entry");
        if f.is_dir() {
            continue;
        }
        let name = f.name().expect("name").trim_start_matches('/').to_owned();
        let mut data = Vec::new();
        f.read_to_end(&mut data).expect("read");
        out.insert(name, data);
    }
    out
}

/// The attribute `name` of every element `tag` in `xml` (a tiny reader, not the vault's).
fn attrs(xml: &str, tag: &str, name: &str) -> Vec<String> {
    xml.split(&format!("<{tag} "))
        .skip(1)
        .filter_map(|s| {
            let s = &s[..s.find('>')?];
            let at = s.find(&format!("{name}=\""))? + name.len() + 2;
            Some(s[at..at + s[at..].find('"')?].to_owned())
        })
        .collect()
}

/// Checks `Sign_dir` independently: each Reference's CheckValue is the SM3 of its file, every
/// file but the signature lists and folders is referenced, and the SES_Signature's dataHash is
/// the SM3 of `Signature.xml` with propertyInfo its path. Returns the Signature.xml text.
fn check_signature(files: &BTreeMap<String, Vec<u8>>, dir: &str) -> String {
    let xml = String::from_utf8(files[&format!("{dir}/Signature.xml")].clone()).expect("utf-8");
    let mut referenced = Vec::new();
    for part in xml.split("<ofd:Reference FileRef=\"").skip(1) {
        let path = &part[..part.find('"').expect("quote")];
        let value = part
            .split("<ofd:CheckValue>")
            .nth(1)
            .and_then(|v| v.split("</ofd:CheckValue>").next())
            .expect("CheckValue");
        let file = &files[path.trim_start_matches('/')];
        assert_eq!(
            base64::engine::general_purpose::STANDARD
                .decode(value)
                .expect("base64"),
            sm3::Sm3::digest(file).to_vec(),
            "CheckValue of {path}"
        );
        referenced.push(path.trim_start_matches('/').to_owned());
    }
    assert!(
        xml.contains(r#"CheckMethod="1.2.156.10197.1.401""#),
        "{xml}"
    );
    for name in files.keys() {
        let own = name.starts_with("Doc_0/Signs/Sign_") && name.starts_with(&format!("{dir}/"));
        if !own && name != "Doc_0/Signs/Signatures.xml" {
            assert!(referenced.contains(name), "{name} is not referenced");
        }
    }
    let ses = sidian::ses::Signature::from_der(&files[&format!("{dir}/SignedValue.dat")])
        .expect("SES_Signature");
    if ses.sign_alg() == "1.2.156.10197.1.501" {
        assert_eq!(
            ses.data_hash(),
            sm3::Sm3::digest(xml.as_bytes()).as_slice(),
            "dataHash = SM3(Signature.xml)"
        );
    }
    assert_eq!(ses.property_info(), format!("/{dir}/Signature.xml"));
    assert_eq!(
        files[&format!("{dir}/Seal.esl")],
        ses.seal().der(),
        "Seal.esl is the signature's seal"
    );
    xml
}

async fn stamp(tv: &TestVault, key: &str, id: &str, query: &str, ofd: Vec<u8>) -> Vec<u8> {
    let (status, out) = call_bytes(
        tv,
        &format!("/v1/seals/{id}/stamp{query}"),
        Some(key),
        "application/ofd",
        ofd,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&out));
    out
}

async fn verify(tv: &TestVault, ofd: Vec<u8>) -> Value {
    let (status, report) =
        json_answer(call_bytes(tv, "/v1/documents/verify", None, "application/ofd", ofd).await);
    assert_eq!(status, StatusCode::OK, "{report}");
    report
}

#[tokio::test]
async fn sealed_twice_both_valid_and_nothing_earlier_changes() {
    let tv = TestVault::open(None).await;
    let key = tv.client("ops", &["seals", "sign"]).await;
    let sm2 = create_contract_seal(&tv, &key, "sm2").await;
    let p256 = create_contract_seal(&tv, &key, "p256").await;
    let doc = document();

    let once = stamp(&tv, &key, &sm2, "?page=1&x=20&y=30", doc.clone()).await;
    let report = verify(&tv, once.clone()).await;
    assert_eq!(report["verdict"], "VALID", "{report}");
    let before = entries(&doc);
    let after = entries(&once);
    for (name, data) in &before {
        if name != "OFD.xml" {
            assert_eq!(&after[name], data, "{name} changed");
        }
    }
    let ofd_xml = String::from_utf8(after["OFD.xml"].clone()).expect("utf-8");
    assert!(
        ofd_xml.contains("<ofd:Signatures>/Doc_0/Signs/Signatures.xml</ofd:Signatures>"),
        "{ofd_xml}"
    );
    let xml = check_signature(&after, "Doc_0/Signs/Sign_0");
    assert!(
        xml.contains("<ofd:SignatureMethod>1.2.156.10197.1.501<"),
        "{xml}"
    );
    assert!(xml.contains(r#"ProviderName="sidian""#), "{xml}");
    let boundary = attrs(&xml, "ofd:StampAnnot", "Boundary");
    assert_eq!(boundary.len(), 1);
    assert!(boundary[0].starts_with("20 30 "), "{boundary:?}");

    let twice = stamp(&tv, &key, &p256, "?page=3", once.clone()).await;
    let report = verify(&tv, twice.clone()).await;
    assert_eq!(report["verdict"], "VALID", "{report}");
    let sigs = report["signatures"].as_array().expect("signatures");
    assert_eq!(sigs.len(), 2, "{report}");
    assert!(sigs.iter().all(|s| s["intact"] == true), "{report}");
    let third = entries(&twice);
    for (name, data) in &after {
        if name != "Doc_0/Signs/Signatures.xml" {
            assert_eq!(&third[name], data, "{name} changed");
        }
    }
    let list = String::from_utf8(third["Doc_0/Signs/Signatures.xml"].clone()).expect("utf-8");
    assert_eq!(
        attrs(&list, "ofd:Signature", "BaseLoc"),
        [
            "/Doc_0/Signs/Sign_0/Signature.xml",
            "/Doc_0/Signs/Sign_1/Signature.xml"
        ]
    );
    assert!(list.contains("<ofd:MaxSignId>2</ofd:MaxSignId>"), "{list}");
    let xml = check_signature(&third, "Doc_0/Signs/Sign_1");
    assert!(
        xml.contains("<ofd:SignatureMethod>1.2.840.10045.4.3.2<"),
        "{xml}"
    );
    // The second signature protects the first one's files.
    assert!(xml.contains(r#"FileRef="/Doc_0/Signs/Sign_0/SignedValue.dat""#));
}

#[tokio::test]
async fn cross_page_seal_has_a_strip_on_every_page() {
    let tv = TestVault::open(None).await;
    let key = tv.client("ops", &["seals", "sign"]).await;
    let id = create_contract_seal(&tv, &key, "sm2").await;
    let out = stamp(&tv, &key, &id, "?cross_page=true", document()).await;
    let report = verify(&tv, out.clone()).await;
    assert_eq!(report["verdict"], "VALID", "{report}");
    assert_eq!(report["signatures"].as_array().map(Vec::len), Some(1));
    let files = entries(&out);
    let xml = check_signature(&files, "Doc_0/Signs/Sign_0");
    let pages = attrs(&xml, "ofd:StampAnnot", "PageRef");
    assert_eq!(pages.len(), 3, "{xml}");
    let doc_xml = String::from_utf8(files["Doc_0/Document.xml"].clone()).expect("utf-8");
    assert_eq!(
        pages,
        attrs(&doc_xml, "ofd:Page", "ID"),
        "one strip per page, in order"
    );
    let nums = |s: &str| -> Vec<f64> {
        s.split_whitespace()
            .map(|n| n.parse().expect("number"))
            .collect()
    };
    for (i, (b, c)) in attrs(&xml, "ofd:StampAnnot", "Boundary")
        .iter()
        .zip(attrs(&xml, "ofd:StampAnnot", "Clip"))
        .enumerate()
    {
        let (b, c) = (nums(b), nums(&c));
        let strip = b[2] / 3.0;
        // Strip i of the seal (the clip) lies on the page's right edge (A4: 210 mm).
        assert!((c[0] - i as f64 * strip).abs() < 0.01 && (c[2] - strip).abs() < 0.01);
        assert!((b[0] + c[0] + c[2] - 210.0).abs() < 0.01, "{b:?} {c:?}");
        assert!(
            (b[1] + b[3] / 2.0 - 297.0 / 2.0).abs() < 0.01,
            "centred: {b:?}"
        );
    }

    // 20 pages and a 42 mm seal: two groups of 10 pages, 4.2 mm strips, rather than 2.1 mm ones.
    let out = stamp(&tv, &key, &id, "?cross_page=true", document_of(20)).await;
    let report = verify(&tv, out.clone()).await;
    assert_eq!(report["verdict"], "VALID", "{report}");
    let xml = check_signature(&entries(&out), "Doc_0/Signs/Sign_0");
    let clips: Vec<Vec<f64>> = attrs(&xml, "ofd:StampAnnot", "Clip")
        .iter()
        .map(|c| nums(c))
        .collect();
    assert_eq!(clips.len(), 20);
    assert!(clips.iter().all(|c| (c[2] - 4.2).abs() < 0.01), "{clips:?}");
    assert_eq!(clips[10][0], 0.0, "the second group starts the seal again");
}

#[tokio::test]
async fn keyword_centres_the_seal_on_the_text() {
    let tv = TestVault::open(None).await;
    let key = tv.client("ops", &["seals", "sign"]).await;
    let id = create_contract_seal(&tv, &key, "sm2").await;
    let query = format!(
        "?keyword={}",
        KEYWORD
            .bytes()
            .map(|b| format!("%{b:02X}"))
            .collect::<String>()
    );
    let out = stamp(&tv, &key, &id, &query, document()).await;
    let report = verify(&tv, out.clone()).await;
    assert_eq!(report["verdict"], "VALID", "{report}");
    let files = entries(&out);
    let xml = check_signature(&files, "Doc_0/Signs/Sign_0");
    let doc_xml = String::from_utf8(files["Doc_0/Document.xml"].clone()).expect("utf-8");
    assert_eq!(
        attrs(&xml, "ofd:StampAnnot", "PageRef"),
        [attrs(&doc_xml, "ofd:Page", "ID")[1].clone()],
        "on page 2"
    );
    let b: Vec<f64> = attrs(&xml, "ofd:StampAnnot", "Boundary")[0]
        .split_whitespace()
        .map(|n| n.parse().expect("number"))
        .collect();
    // CJK glyphs are one em wide: the keyword's 4 characters follow the prefix's.
    let (x, y, size) = KEYWORD_LINE;
    let before = KEYWORD_PREFIX.chars().count() as f64;
    let centre_x = x + (before + 2.0) * size;
    assert!((b[0] + b[2] / 2.0 - centre_x).abs() < 1.0, "{b:?}");
    let centre_y = b[1] + b[3] / 2.0;
    assert!(centre_y > y - size && centre_y < y + size * 0.3, "{b:?}");

    // Near the bottom edge (第3页 at 280 mm): moved up just enough to stay on the page.
    let out = stamp(&tv, &key, &id, "?keyword=%E7%AC%AC3%E9%A1%B5", document()).await;
    let xml = check_signature(&entries(&out), "Doc_0/Signs/Sign_0");
    assert_eq!(
        attrs(&xml, "ofd:StampAnnot", "PageRef"),
        [attrs(&doc_xml, "ofd:Page", "ID")[2].clone()],
        "on page 3"
    );
    let b: Vec<f64> = attrs(&xml, "ofd:StampAnnot", "Boundary")[0]
        .split_whitespace()
        .map(|n| n.parse().expect("number"))
        .collect();
    assert!((b[1] + b[3] - 297.0).abs() < 0.01, "{b:?}");
    assert!(
        (b[0] + b[2] / 2.0 - (95.0 + 1.5 * 4.0)).abs() < 1.0,
        "{b:?}"
    );

    let (status, answer) = json_answer(
        call_bytes(
            &tv,
            &format!("/v1/seals/{id}/stamp?keyword=%E6%97%A0"),
            Some(&key),
            "application/ofd",
            document(),
        )
        .await,
    );
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(answer["error"]["code"], "keyword_not_found");
}

#[tokio::test]
async fn refusals_are_typed() {
    let tv = TestVault::open(None).await;
    let key = tv.client("ops", &["seals", "sign"]).await;
    let id = create_contract_seal(&tv, &key, "sm2").await;
    let send = |query: &str, body: Vec<u8>| {
        let path = format!("/v1/seals/{id}/stamp{query}");
        let (tv, key) = (&tv, &key);
        async move { json_answer(call_bytes(tv, &path, Some(key), "application/ofd", body).await) }
    };
    let (status, answer) = send("", b"%PDF-1.7 not an OFD".to_vec()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(answer["error"]["code"], "invalid_ofd");
    let (status, answer) = send("?page=4", document()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(answer["error"]["code"], "ofd_refused");
    let (status, answer) = send("?page=1&x=200&y=30", document()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(answer["error"]["code"], "ofd_refused");
    assert!(
        answer["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("does not fit on page 1")),
        "{answer}"
    );
    // A name XML cannot carry is the document's fault, not the vault's.
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, data) in entries(&document())
        .into_iter()
        .chain([("Doc_0/odd\u{1}.txt".to_owned(), b"x".to_vec())])
    {
        w.start_file(name, zip::write::SimpleFileOptions::default())
            .expect("start");
        std::io::Write::write_all(&mut w, &data).expect("write");
    }
    let odd = w.finish().expect("zip").into_inner();
    let (status, answer) = send("", odd).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(answer["error"]["code"], "ofd_refused");
    assert!(answer.to_string().contains("U+0001"), "{answer}");
    let (status, answer) = send("?level=b-t", document()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(answer["error"]["code"], "invalid_request");

    let (status, later) = tv
        .post(
            "/v1/seals",
            &key,
            serde_json::json!({
                "name": "某某有限公司合同专用章",
                "type": "contract",
                "holder": {"name": "某某有限公司", "uscc": "91370406L24894136J"},
                "valid_from": "2030-01-01",
                "valid_to": "2030-12-31",
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{later}");
    let (status, answer) = json_answer(
        call_bytes(
            &tv,
            &format!("/v1/seals/{}/stamp", later["id"].as_str().expect("id")),
            Some(&key),
            "application/ofd",
            document(),
        )
        .await,
    );
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    assert_eq!(answer["error"]["code"], "seal_not_valid");

    let (status, revoked) = tv
        .post(
            &format!("/v1/seals/{id}/revoke"),
            &key,
            serde_json::json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{revoked}");
    let (status, answer) = send("", document()).await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    assert_eq!(answer["error"]["code"], "seal_revoked");
}

#[tokio::test]
async fn a_third_partys_seal_stays_intact() {
    let tv = TestVault::open(None).await;
    let key = tv.client("ops", &["seals", "sign"]).await;
    let id = create_contract_seal(&tv, &key, "sm2").await;
    let before = verify(&tv, V4SIGNED.to_vec()).await;
    let out = stamp(&tv, &key, &id, "", V4SIGNED.to_vec()).await;
    let report = verify(&tv, out.clone()).await;
    let sigs = report["signatures"].as_array().expect("signatures");
    assert_eq!(sigs.len(), 2, "{report}");
    assert_eq!(sigs[0]["intact"], true, "{report}");
    assert_eq!(sigs[0]["intact"], before["signatures"][0]["intact"]);
    // Every check of the third party's signature is as before; one is added: our seal, listed
    // as the allowed later change.
    let without_later = |checks: &Value| -> Vec<Value> {
        checks
            .as_array()
            .expect("checks")
            .iter()
            .filter(|c| c["name"] != "ofd.later_changes")
            .cloned()
            .collect()
    };
    assert_eq!(
        without_later(&sigs[0]["checks"]),
        without_later(&before["signatures"][0]["checks"]),
        "{report}"
    );
    let later = sigs[0]["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["name"] == "ofd.later_changes")
        .expect("later changes listed");
    assert_eq!(later["ok"], true, "{later}");
    assert!(
        later["detail"]
            .as_str()
            .is_some_and(|d| d.contains("allowed") && d.contains("Sign_1")),
        "{later}"
    );
    assert_eq!(sigs[1]["intact"], true, "{report}");
    assert_eq!(sigs[1]["trusted"], true, "{report}");
    let (original, sealed) = (entries(V4SIGNED), entries(&out));
    for (name, data) in &original {
        if name != "Doc_0/Signs/Signatures.xml" {
            assert_eq!(&sealed[name], data, "{name} changed");
        }
    }
    check_signature(&sealed, "Doc_0/Signs/Sign_1");
}

#[tokio::test]
async fn cli_stamps_an_ofd() {
    let tv = TestVault::open(None).await;
    let key = tv.client("ops", &["seals", "sign"]).await;
    let id = create_contract_seal(&tv, &key, "sm2").await;
    let dir = tv.dir.path();
    let (input, output) = (dir.join("in.ofd"), dir.join("out.ofd"));
    std::fs::write(&input, document()).expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_sidian"))
        .arg("--data")
        .arg(&tv.config.data_dir)
        .args(["stamp", "--seal", &id, "--page", "2"])
        .arg(&input)
        .arg(&output)
        .env_remove("SIDIAN_DATABASE_URL")
        .env_remove("SIDIAN_DATA")
        .env("RUST_LOG", "error")
        .output()
        .expect("run sidian");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sealed = std::fs::read(&output).expect("sealed OFD");
    let report = verify(&tv, sealed.clone()).await;
    assert_eq!(report["verdict"], "VALID", "{report}");
    check_signature(&entries(&sealed), "Doc_0/Signs/Sign_0");
}

#[tokio::test]
async fn a_retry_with_the_same_idempotency_key_replays_the_sealed_ofd() {
    use axum::body::Body;
    use axum::http::{Method, Request};
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    let tv = TestVault::open(None).await;
    let key = tv.client("ops", &["seals", "sign"]).await;
    let id = create_contract_seal(&tv, &key, "sm2").await;
    let send = || async {
        let req = Request::builder()
            .method(Method::POST)
            .uri(format!("/v1/seals/{id}/stamp?page=2"))
            .header("authorization", format!("Bearer {key}"))
            .header("content-type", "application/ofd")
            .header("idempotency-key", "ofd-once")
            .body(Body::from(document()))
            .expect("request");
        let resp = sidian::api::app(tv.vault.clone())
            .oneshot(req)
            .await
            .expect("infallible");
        let (status, headers) = (resp.status(), resp.headers().clone());
        let body = resp.into_body().collect().await.expect("body").to_bytes();
        (status, headers, body.to_vec())
    };
    let (status, first_headers, first) = send().await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(first_headers["content-type"], "application/ofd");
    assert_eq!(
        first_headers["x-sidian-signature"],
        "/Doc_0/Signs/Sign_0/Signature.xml"
    );
    let (status, headers, again) = send().await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["idempotent-replayed"], "true");
    assert_eq!(
        headers["x-sidian-audit-index"],
        first_headers["x-sidian-audit-index"]
    );
    assert_eq!(again, first, "the first answer, not a second seal");
}
