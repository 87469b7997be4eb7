//! Paged lists: `limit` and an opaque `cursor`, stable creation order, no duplicates, each
//! client sees its own objects only, bad values are 400 with the JSON error body.

mod common;

use axum::http::StatusCode;
use common::{PgDatabase, TestVault};
use serde_json::{Value, json};

/// The ids of every page of `path` read with `limit`, and the sizes of the pages.
async fn read_all(
    tv: &TestVault,
    path: &str,
    api_key: &str,
    limit: u32,
) -> (Vec<String>, Vec<usize>) {
    let mut ids = Vec::new();
    let mut sizes = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            None => format!("{path}?limit={limit}"),
            Some(c) => format!("{path}?limit={limit}&cursor={c}"),
        };
        let (status, page) = tv.get(&url, api_key).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let items = page["items"].as_array().expect("items");
        sizes.push(items.len());
        ids.extend(
            items
                .iter()
                .map(|i| i["id"].as_str().expect("id").to_owned()),
        );
        match &page["next_cursor"] {
            Value::Null => return (ids, sizes),
            Value::String(c) => cursor = Some(c.clone()),
            other => panic!("next_cursor is {other}"),
        }
    }
}

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("")
}

async fn pages(tv: &TestVault) {
    let a = tv.client("pager", &[]).await;
    let b = tv.client("other", &[]).await;
    let mut made = Vec::new();
    for _ in 0..7 {
        let (status, key) = tv.post("/v1/keys", &a, json!({"alg": "ed25519"})).await;
        assert_eq!(status, StatusCode::CREATED, "{key}");
        made.push(key["id"].as_str().expect("id").to_owned());
    }
    // A seal's holder key is no general key: it is not listed.
    common::create_contract_seal(tv, &a, "p256").await;

    let (ids, sizes) = read_all(tv, "/v1/keys", &a, 3).await;
    assert_eq!(sizes, [3, 3, 1]);
    // Creation order (ties broken by id), each key once.
    let mut expected = Vec::new();
    for id in &made {
        let (_, k) = tv.get(&format!("/v1/keys/{id}"), &a).await;
        let at = k["created_at"].as_str().expect("time");
        let at = time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339)
            .expect("RFC 3339");
        expected.push((at, id.clone()));
    }
    expected.sort();
    assert_eq!(
        ids,
        expected.into_iter().map(|(_, id)| id).collect::<Vec<_>>()
    );

    // A limit that divides the list ends with an empty next page or none, never a repeat.
    let (ids7, _) = read_all(tv, "/v1/keys", &a, 7).await;
    assert_eq!(ids7, ids);
    let (all, sizes) = read_all(tv, "/v1/keys", &a, 200).await;
    assert_eq!((all, sizes), (ids.clone(), vec![7]));

    // Another client sees none of them.
    let (theirs, _) = read_all(tv, "/v1/keys", &b, 50).await;
    assert!(theirs.is_empty());
    let (theirs, _) = read_all(tv, "/v1/seals", &b, 50).await;
    assert!(theirs.is_empty());
    let (seals, _) = read_all(tv, "/v1/seals", &a, 1).await;
    assert_eq!(seals.len(), 1);

    // Default page size.
    let (status, page) = tv.get("/v1/keys", &a).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["items"].as_array().expect("items").len(), 7);
    assert!(page["next_cursor"].is_null());

    // Bad limits and cursors.
    for q in [
        "limit=0",
        "limit=201",
        "limit=-1",
        "limit=abc",
        "limit=",
        "sort=id",
    ] {
        for route in ["/v1/keys", "/v1/seals"] {
            let (status, body) = tv.get(&format!("{route}?{q}"), &a).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{route}?{q}: {body}");
            assert_eq!(code(&body), "invalid_request", "{route}?{q}");
        }
    }
    let (_, first) = tv.get("/v1/keys?limit=3", &a).await;
    let cursor = first["next_cursor"].as_str().expect("cursor").to_owned();
    let mut tampered = cursor.clone();
    tampered.insert(0, '!');
    for bad in [
        tampered.as_str(),
        "AAAA",
        "bm8tZG90",
        &cursor[..cursor.len() - 2],
    ] {
        let (status, body) = tv.get(&format!("/v1/keys?cursor={bad}"), &a).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert!(
            ["invalid_cursor", "invalid_request"].contains(&code(&body)),
            "{body}"
        );
    }
}

#[tokio::test]
async fn lists_are_paged_sqlite() {
    pages(&TestVault::open(None).await).await;
}

#[tokio::test]
async fn lists_are_paged_postgres() {
    let Some(db) = PgDatabase::create().await else {
        return;
    };
    pages(&TestVault::open(Some(db.url.clone())).await).await;
    db.drop_db().await;
}
