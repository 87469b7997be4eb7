//! Seal pictures the vault draws itself, through the API: the purpose under the star comes from
//! the seal name whatever its form.

mod common;

use axum::http::StatusCode;
use common::{TestVault, unb64};
use serde_json::json;
use sidian::render::{SealImageSpec, render_official_seal};

const HOLDER: &str = "某某市行政审批局";
const USCC: &str = "11100000000013338W";

/// Makes an official seal named `name` for `HOLDER` and returns its drawn picture.
async fn drawn_picture(tv: &TestVault, key: &str, name: &str) -> Vec<u8> {
    let (status, seal) = tv
        .post(
            "/v1/seals",
            key,
            json!({
                "name": name,
                "type": "official",
                "holder": {"name": HOLDER, "uscc": USCC},
                "valid_from": "2020-01-01",
                "valid_to": "2030-12-31",
                "alg": "p256",
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{seal}");
    let der = unb64(&seal["seal"]);
    let parsed = sidian::ses::Seal::from_der(&der).expect("seal decodes");
    parsed.picture().data.clone()
}

#[tokio::test]
async fn a_specialised_seal_name_is_drawn_under_the_star_whatever_its_form() {
    let tv = TestVault::open(None).await;
    let key = tv.client("drawing", &[]).await;
    let with_purpose =
        render_official_seal(&SealImageSpec::new(HOLDER, "行政审批专用章")).expect("render");
    let without = render_official_seal(&SealImageSpec::new(HOLDER, "")).expect("render");
    assert_ne!(with_purpose, without, "the purpose line must add ink");
    // The bare 专用章 name (formerly drawn with nothing under the star) and the name with the
    // holder's prefix both draw 行政审批专用章.
    for name in ["行政审批专用章", "某某市行政审批局行政审批专用章"] {
        let picture = drawn_picture(&tv, &key, name).await;
        assert_eq!(picture, with_purpose, "{name}: purpose not drawn");
    }
}

#[tokio::test]
async fn utf8_property_info_is_signed_percent_encoded() {
    let tv = TestVault::open(None).await;
    let key = tv.client("property", &[]).await;
    let (status, seal) = tv
        .post(
            "/v1/seals",
            &key,
            json!({
                "name": format!("{HOLDER}行政审批专用章"),
                "type": "official",
                "holder": {"name": HOLDER, "uscc": USCC},
                "alg": "p256",
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{seal}");
    let id = seal["id"].as_str().expect("id");
    let (status, signed) = tv
        .post(
            &format!("/v1/seals/{id}/sign"),
            &key,
            json!({"data": common::b64(b"approval"), "property_info": "审批单 50%"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{signed}");
    let der = unb64(&signed["signature"]);
    let signature = sidian::ses::Signature::from_der(&der).expect("signature decodes");
    assert_eq!(
        signature.property_info(),
        "%E5%AE%A1%E6%89%B9%E5%8D%95 50%25"
    );
}

/// Alpha of every pixel of a seal picture, row by row, and its width and height.
fn coverage(png: &[u8]) -> (Vec<u8>, u32, u32) {
    let pixmap = tiny_skia::Pixmap::decode_png(png).expect("PNG");
    let alphas = pixmap.pixels().iter().map(|p| p.alpha()).collect();
    (alphas, pixmap.width(), pixmap.height())
}

#[tokio::test]
async fn a_personal_seal_is_a_square_or_rectangular_name_seal_without_a_star() {
    let tv = TestVault::open(None).await;
    let key = tv.client("name-seals", &[]).await;
    let round = drawn_picture(&tv, &key, "某某市行政审批局").await;
    let (alpha, w, h) = coverage(&round);
    // The round seal, for contrast: transparent corners, a star in the middle.
    assert_eq!(alpha[0], 0);
    assert_eq!(alpha[(h / 2 * w + w / 2) as usize], 255);

    // 18 mm square and 22 × 11 mm rectangle at 300 dpi.
    for (shape, pixels, mm) in [
        (None, (213, 213), (18, 18)),
        (Some("square"), (213, 213), (18, 18)),
        (Some("rectangle"), (260, 130), (22, 11)),
    ] {
        let mut body = json!({
            "name": "张三",
            "type": "personal",
            "holder": {"name": "张三", "id_number": "11010519491231002X"},
            "alg": "p256",
        });
        if let Some(shape) = shape {
            body["shape"] = json!(shape);
        }
        let (status, seal) = tv.post("/v1/seals", &key, body).await;
        assert_eq!(status, StatusCode::CREATED, "{seal}");
        let der = unb64(&seal["seal"]);
        let parsed = sidian::ses::Seal::from_der(&der).expect("seal decodes");
        let picture = parsed.picture();
        assert_eq!((picture.width_mm, picture.height_mm), mm, "{shape:?}");
        let (alpha, w, h) = coverage(&picture.data);
        assert_eq!((w, h), pixels, "{shape:?}");
        let at = |x: u32, y: u32| alpha[(y * w + x) as usize];
        // The border reaches every corner; the name fills the inside, between the
        // characters (where a round seal has its star) there is no ink.
        for (x, y) in [(0, 0), (w - 1, 0), (0, h - 1), (w - 1, h - 1)] {
            assert_eq!(at(x, y), 255, "{shape:?}: corner ({x}, {y})");
        }
        assert_eq!(at(w / 2, h / 2), 0, "{shape:?}: ink in the middle");
        let inked = alpha.iter().filter(|&&a| a > 127).count() as f64;
        let fraction = inked / f64::from(w * h);
        assert!(
            (0.25..0.75).contains(&fraction),
            "{shape:?}: ink covers {fraction:.2}"
        );
    }
}
