//! The catalogue of licence types: served to anyone, extended by the operator's files, and a
//! bad type file stops the vault from starting.

mod common;

use axum::http::{Method, StatusCode};
use serde_json::Value;
use sidian::{Config, Vault};

use common::TestVault;

#[tokio::test]
async fn anyone_reads_the_catalogue_and_one_type_by_code() {
    let tv = TestVault::open(None).await;
    let (status, list) = tv.call(Method::GET, "/v1/licence-types", None, None).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let list = list.as_array().expect("an array");
    assert!(list.len() >= 6);
    for t in list {
        for key in [
            "code",
            "name",
            "holder_kind",
            "issuing_level",
            "default_validity",
            "schema",
            "personal",
            "layout",
        ] {
            assert!(t.get(key).is_some(), "{key} in {t}");
        }
        assert!(matches!(
            t["holder_kind"].as_str(),
            Some("person" | "organisation")
        ));
        assert_eq!(t["schema"]["type"], "object");
    }
    let names: Vec<&str> = list.iter().filter_map(|t| t["name"].as_str()).collect();
    assert!(
        names.contains(&"营业执照") && names.contains(&"残疾人证"),
        "{names:?}"
    );

    let (status, one) = tv
        .call(
            Method::GET,
            "/v1/licence-types/11100000000013338W003",
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{one}");
    assert_eq!(one["name"], "建筑施工企业安全生产许可证");
    assert_eq!(one["holder_kind"], "organisation");
    assert_eq!(one["default_validity"], "P3Y");
    assert_eq!(
        one["schema"]["properties"]["principal"]["title"],
        "主要负责人"
    );
    assert_eq!(one["layout"]["page"]["width"], 297.0);

    let (status, missing) = tv
        .call(
            Method::GET,
            "/v1/licence-types/11100000000013338W000",
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(missing["error"]["code"], "not_found");
}

/// A type file of the operator's own: the built-in 营业执照 under another code and name.
fn operator_type(code: &str) -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/schemas/licence-types/business-licence.json"
    );
    let mut t: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("read")).expect("json");
    t["code"] = code.into();
    t["name"] = "个体工商户营业执照".into();
    t
}

#[tokio::test]
async fn the_operators_types_are_served_and_a_bad_one_stops_the_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = Config::new(dir.path().join("data"));
    Vault::open(config.clone(), true)
        .await
        .expect("init")
        .close()
        .await;
    let types = config.data_dir.join("licence-types");
    std::fs::create_dir(&types).expect("mkdir");
    std::fs::write(
        types.join("individual.json"),
        operator_type("111000009000000146009").to_string(),
    )
    .expect("write");
    let vault = Vault::open(config.clone(), false).await.expect("opens");
    assert_eq!(
        vault
            .licence_types()
            .get("111000009000000146009")
            .map(|t| t.name.as_str()),
        Some("个体工商户营业执照")
    );
    vault.close().await;

    let mut bad = operator_type("111000009000000146010");
    bad["schema"]["properties"]["established_on"]["type"] = "date".into();
    std::fs::write(types.join("foo.json"), bad.to_string()).expect("write");
    let e = Vault::open(config.clone(), false)
        .await
        .expect_err("a bad type file stops the start")
        .to_string();
    assert!(
        e.ends_with(
            "licence-types/foo.json: schema.properties.established_on.type: unsupported type \"date\""
        ),
        "{e}"
    );

    // An operator's file may not redefine a built-in type.
    std::fs::write(
        types.join("foo.json"),
        operator_type("111000009000000146001").to_string(),
    )
    .expect("write");
    let e = Vault::open(config, false)
        .await
        .expect_err("a duplicate code stops the start")
        .to_string();
    assert!(
        e.contains("code 111000009000000146001 is already defined by schemas/licence-types/business-licence.json"),
        "{e}"
    );
}
