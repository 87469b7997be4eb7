//! Bulk conversion of existing licences: `sidian import` (CSV, JSON Lines, GB18030), its report
//! of rejected rows, reruns that import nothing twice, a kill -9 in the middle, and
//! `POST /v1/licences:batch`.
//!
//! The big file has `SIDIAN_IMPORT_ROWS` rows (default 100,000 under `CI=true`, 20,000 else),
//! one in a hundred bad.

mod common;
#[path = "../examples/licence_csv.rs"]
#[allow(dead_code)]
mod generator;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::Row;

use common::ISSUER_USCC;
use common::TestVault;
use generator::{BUSINESS, Bad, bad_row, number, uscc, write_csv};

/// 残疾人证 (held by a person).
const DISABILITY: &str = "11100000900000049Q001";
const BAD_EVERY: u64 = 100;

/// A valid 公民身份号码 for `n` (< 10^6), its check character from GB 11643: region 370102, a birth date in 1950–2002, a sequence
/// number, the check character.
fn citizen_id(n: u64) -> String {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: &[u8; 11] = b"10X98765432";
    let year = 1950 + (n / 1000) % 53;
    let month = 1 + (n / 53_000) % 12;
    let day = 1 + (n / 10) % 28;
    let body = format!("370102{year:04}{month:02}{day:02}{:03}", n % 1000);
    let sum: u32 = body
        .bytes()
        .zip(WEIGHTS)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    format!("{body}{}", char::from(CHECK[(sum % 11) as usize]))
}

/// The column the report names for a bad row.
fn field_of(bad: Bad) -> &'static str {
    match bad {
        Bad::CheckCharacter => "holder_id_number",
        Bad::MissingField => "domicile",
        Bad::ImpossibleDate => "valid_from",
        Bad::DuplicateNumber => "number",
    }
}

fn rows() -> u64 {
    std::env::var("SIDIAN_IMPORT_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if std::env::var("CI").is_ok_and(|v| v == "true") {
            100_000
        } else {
            20_000
        })
}

fn sidian(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sidian"))
        .arg("--data")
        .arg(data)
        .args(args)
        .env("RUST_LOG", "warn")
        .env_remove("SIDIAN_DATABASE_URL")
        .env_remove("SIDIAN_MASTER_KEY")
        .output()
        .expect("run sidian")
}

fn stdout_of(o: &Output) -> String {
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A new data dir with an issuer; its id.
fn vault_with_issuer(data: &Path) -> String {
    stdout_of(&sidian(data, &["init"]));
    let out = stdout_of(&sidian(
        data,
        &[
            "issuer",
            "add",
            "济南市市场监督管理局",
            "--uscc",
            ISSUER_USCC,
        ],
    ));
    out.lines().last().expect("issuer id").to_owned()
}

fn import(data: &Path, issuer: &str, type_code: &str, file: &Path) -> (String, PathBuf) {
    let out = stdout_of(&sidian(
        data,
        &[
            "import",
            "--type",
            type_code,
            "--issuer",
            issuer,
            file.to_str().expect("path"),
        ],
    ));
    let mut report = file.as_os_str().to_owned();
    report.push(".rejected.csv");
    (out, PathBuf::from(report))
}

/// `(imported, skipped, rejected)` of the summary line.
fn summary(out: &str) -> (u64, u64, u64) {
    let line = out
        .lines()
        .find(|l| l.starts_with("imported "))
        .unwrap_or_else(|| panic!("no summary in {out}"));
    let n: Vec<u64> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|w| w.parse().ok())
        .collect();
    assert_eq!(n.len(), 3, "{line}");
    (n[0], n[1], n[2])
}

/// The report's rows: data row → (field, reason); data row n is on line n + `header` (a CSV's
/// header is line 1).
fn report(path: &Path, header: u64) -> BTreeMap<u64, (String, String)> {
    let mut r = csv::Reader::from_path(path).expect("report");
    assert_eq!(
        r.headers().expect("header").iter().collect::<Vec<_>>(),
        ["row", "line", "number", "field", "reason"]
    );
    let mut out = BTreeMap::new();
    for rec in r.records() {
        let rec = rec.expect("record");
        let row: u64 = rec[0].parse().expect("row");
        let line: u64 = rec[1].parse().expect("line");
        assert_eq!(line, row + header);
        assert!(
            out.insert(row, (rec[3].to_owned(), rec[4].to_owned()))
                .is_none(),
            "row {row} reported twice"
        );
    }
    out
}

async fn db(data: &Path) -> sqlx::AnyPool {
    sqlx::any::install_default_drivers();
    let url = format!("sqlite://{}", data.join("sidian.db").display());
    sqlx::any::AnyPoolOptions::new()
        .max_connections(1)
        .connect(&url)
        .await
        .expect("open the database")
}

async fn numbers(data: &Path) -> BTreeSet<String> {
    let pool = db(data).await;
    let rows = sqlx::query("SELECT number FROM licences")
        .fetch_all(&pool)
        .await
        .expect("numbers");
    pool.close().await;
    rows.iter()
        .map(|r| r.try_get::<String, _>("number").expect("number"))
        .collect()
}

async fn count(pool: &sqlx::AnyPool) -> i64 {
    sqlx::query("SELECT COUNT(*) AS n FROM licences")
        .fetch_one(pool)
        .await
        .and_then(|r| r.try_get::<i64, _>("n"))
        .unwrap_or(0)
}

/// The big file: every good row imported, every bad one reported with its row and column; a
/// rerun imports nothing; a run killed with SIGKILL and rerun ends where an uninterrupted run
/// does, and the audit log verifies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_reports_bad_rows_reruns_and_survives_kill() {
    let n = rows();
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("licences.csv");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&file).expect("file"));
    write_csv(&mut out, n, BAD_EVERY).expect("write");
    drop(out);
    let bad: BTreeMap<u64, &str> = (1..=n)
        .filter_map(|r| bad_row(r, BAD_EVERY).map(|b| (r, field_of(b))))
        .collect();
    let good = n - u64::try_from(bad.len()).expect("count");

    // Uninterrupted.
    let a = dir.path().join("a");
    let issuer_a = vault_with_issuer(&a);
    let started = Instant::now();
    let (out, report_path) = import(&a, &issuer_a, BUSINESS, &file);
    eprintln!("{n} rows imported in {:?}", started.elapsed());
    assert_eq!(
        summary(&out),
        (good, 0, u64::try_from(bad.len()).expect("count"))
    );
    let reported = report(&report_path, 1);
    assert_eq!(
        reported.keys().copied().collect::<Vec<_>>(),
        bad.keys().copied().collect::<Vec<_>>()
    );
    for (row, field) in &bad {
        let (f, reason) = &reported[row];
        assert_eq!(f, field, "row {row}: {reason}");
        assert!(!reason.is_empty());
    }
    let imported = numbers(&a).await;
    let expected: BTreeSet<String> = (1..=n)
        .filter(|r| !bad.contains_key(r))
        .map(number)
        .collect();
    assert_eq!(imported, expected);

    // A rerun: everything good is there already.
    let (out, _) = import(&a, &issuer_a, BUSINESS, &file);
    assert_eq!(
        summary(&out),
        (0, good, u64::try_from(bad.len()).expect("count"))
    );
    assert_eq!(report(&report_path, 1).len(), bad.len());

    // Killed after a fifth of the rows, then rerun.
    let b = dir.path().join("b");
    let issuer_b = vault_with_issuer(&b);
    let mut child = Command::new(env!("CARGO_BIN_EXE_sidian"))
        .arg("--data")
        .arg(&b)
        .args(["import", "--type", BUSINESS, "--issuer", &issuer_b])
        .arg(&file)
        .env("RUST_LOG", "warn")
        .env_remove("SIDIAN_DATABASE_URL")
        .env_remove("SIDIAN_MASTER_KEY")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let pool = db(&b).await;
    let deadline = Instant::now() + Duration::from_secs(600);
    while count(&pool).await <= i64::try_from(n / 5).expect("n") {
        assert!(Instant::now() < deadline, "the import made no progress");
        assert!(
            child.try_wait().expect("wait").is_none(),
            "the import ended before it could be killed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");
    let before = count(&pool).await;
    pool.close().await;
    assert!(
        before < i64::try_from(good).expect("good"),
        "killed too late"
    );
    let (out, _) = import(&b, &issuer_b, BUSINESS, &file);
    let (imported_now, skipped, rejected) = summary(&out);
    assert_eq!(skipped, u64::try_from(before).expect("before"));
    assert_eq!(imported_now + skipped, good);
    assert_eq!(rejected, u64::try_from(bad.len()).expect("count"));
    assert_eq!(numbers(&b).await, imported);
    stdout_of(&sidian(&b, &["audit", "verify"]));
}

/// A GB18030 file (person-held type, CSV) imports with the right Chinese names; a bad 公民身份号码
/// is reported; the same rows as JSON Lines (UTF-8) are all `skipped` on the same vault.
#[tokio::test]
async fn gb18030_and_json_lines() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let issuer = vault_with_issuer(&data);
    let names = ["张三", "李四", "王五", "赵六"];
    let mut csv_text = String::from(
        "number,holder_name,holder_id_number,valid_from,sex,ethnicity,birth_date,address,disability_category,disability_grade\n",
    );
    let mut jsonl = String::new();
    for (i, name) in names.iter().enumerate() {
        let mut id = citizen_id(1000 + i as u64);
        if i == 2 {
            // A wrong check character.
            let last = id.pop().expect("id");
            id.push(if last == '0' { '1' } else { '0' });
        }
        let fields = json!({"sex": "男", "ethnicity": "汉族", "birth_date": "1980-01-01",
            "address": format!("济南市历下区某某街道{i}号"), "disability_category": "肢体残疾",
            "disability_grade": "三级"});
        csv_text.push_str(&format!(
            "CJ{i:04},{name},{id},2024-03-01,男,汉族,1980-01-01,济南市历下区某某街道{i}号,肢体残疾,三级\n"
        ));
        jsonl.push_str(
            &json!({"number": format!("CJ{i:04}"), "holder_name": name, "holder_id_type": "111",
                "holder_id_number": id, "valid_from": "2024-03-01", "fields": fields})
            .to_string(),
        );
        jsonl.push('\n');
    }
    let (gb, _, unmappable) = encoding_rs::GB18030.encode(&csv_text);
    assert!(!unmappable);
    assert!(
        std::str::from_utf8(&gb).is_err(),
        "the file must not be UTF-8"
    );
    let file = dir.path().join("disabled.csv");
    std::fs::write(&file, &gb).expect("write");
    let (out, report_path) = import(&data, &issuer, DISABILITY, &file);
    assert_eq!(summary(&out), (3, 0, 1));
    let reported = report(&report_path, 1);
    assert_eq!(reported.keys().copied().collect::<Vec<_>>(), [3]);
    assert_eq!(reported[&3].0, "holder_id_number");

    let pool = db(&data).await;
    let stored: BTreeMap<String, String> = sqlx::query("SELECT number, holder_name FROM licences")
        .fetch_all(&pool)
        .await
        .expect("rows")
        .iter()
        .map(|r| {
            (
                r.try_get("number").expect("number"),
                r.try_get("holder_name").expect("name"),
            )
        })
        .collect();
    pool.close().await;
    let expected: BTreeMap<String, String> = [0, 1, 3]
        .iter()
        .map(|&i| (format!("CJ{i:04}"), names[i].to_owned()))
        .collect();
    assert_eq!(stored, expected);

    let file = dir.path().join("disabled.jsonl");
    std::fs::write(&file, jsonl).expect("write");
    let (out, report_path) = import(&data, &issuer, DISABILITY, &file);
    assert_eq!(summary(&out), (0, 3, 1));
    assert_eq!(report(&report_path, 0)[&3].0, "holder_id_number");

    // A file that is neither UTF-8 nor GB18030 is refused whole, naming the line.
    let file = dir.path().join("broken.csv");
    let mut bytes = gb.to_vec();
    bytes.extend_from_slice(b"CJ9999,\xFF\xFF,x\n");
    std::fs::write(&file, bytes).expect("write");
    let o = sidian(
        &data,
        &[
            "import",
            "--type",
            DISABILITY,
            "--issuer",
            &issuer,
            file.to_str().expect("path"),
        ],
    );
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("line 6"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn business_line(number: &str, holder: u64, name: &str) -> Value {
    json!({
        "type": BUSINESS,
        "number": number,
        "holder": {"name": name, "id_type": "001", "id_number": uscc(holder)},
        "valid_from": "2020-05-01",
        "issued_on": "2020-05-01",
        "fields": {
            "entity_type": "有限责任公司",
            "legal_representative": "张三",
            "established_on": "2020-05-01",
            "operating_from": "2020-05-01",
            "operating_to": "长期",
            "domicile": "山东省济南市历下区某某路1号",
            "business_scope": "软件开发",
        },
    })
}

async fn post_batch(tv: &TestVault, key: &str, body: String) -> (StatusCode, Vec<Value>) {
    let (status, bytes) = tv
        .send(
            Method::POST,
            "/v1/licences:batch",
            Some(key),
            Some(Body::from(body)),
            "application/x-ndjson",
        )
        .await;
    let text = String::from_utf8(bytes).expect("utf-8");
    if status != StatusCode::OK {
        return (
            status,
            vec![serde_json::from_str(&text).expect("error body")],
        );
    }
    let lines = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    (status, lines)
}

/// `POST /v1/licences:batch`: one answer per line in order, good lines created, bad ones named,
/// a repeated line `exists`, a changed one a conflict; the whole batch again creates nothing.
#[tokio::test]
async fn batch_api() {
    let tv = TestVault::open(None).await;
    let admin = tv.client("admin", &["admin"]).await;
    let issuer = tv.licence_issuer(&admin).await;
    let scope = format!("licence:issue:{BUSINESS}");
    let key = tv.bound_client("registry", &[&scope], &issuer).await;

    let mut bad_uscc = business_line("B-2", 2, "乙公司");
    bad_uscc["holder"]["id_number"] = json!("91370100000000002X");
    let mut bad_date = business_line("B-4", 4, "丁公司");
    bad_date["valid_from"] = json!("2020-02-30");
    let mut other_type = business_line("B-6", 6, "己公司");
    other_type["type"] = json!(DISABILITY);
    let lines = [
        business_line("B-1", 1, "甲公司").to_string(),
        bad_uscc.to_string(),
        business_line("B-3", 3, "丙公司").to_string(),
        String::new(),
        bad_date.to_string(),
        // Line 6 repeats line 1; line 7 reuses its number with another holder.
        business_line("B-1", 1, "甲公司").to_string(),
        business_line("B-1", 9, "壬公司").to_string(),
        other_type.to_string(),
    ];
    let (st, answers) = post_batch(&tv, &key, lines.join("\n")).await;
    assert_eq!(st, StatusCode::OK);
    let got: Vec<(u64, String)> = answers
        .iter()
        .map(|a| {
            let line = a["line"].as_u64().expect("line");
            let what = match a["status"].as_str() {
                Some(s) => s.to_owned(),
                None => format!(
                    "{}:{}",
                    a["error"]["code"].as_str().expect("code"),
                    a["error"]["field"].as_str().unwrap_or("")
                ),
            };
            (line, what)
        })
        .collect();
    let want: Vec<(u64, String)> = [
        (1, "created"),
        (2, "invalid_field:holder.id_number"),
        (3, "created"),
        (5, "invalid_field:valid_from"),
        (6, "exists"),
        (7, "conflict:number"),
        (8, "forbidden:"),
    ]
    .iter()
    .map(|(l, w)| (*l, (*w).to_owned()))
    .collect();
    assert_eq!(got, want, "{answers:#?}");
    assert_eq!(answers[0]["id"], answers[4]["id"]);
    let id = answers[0]["id"].as_str().expect("id");
    let (st, licence) = tv.get(&format!("/v1/licences/{id}"), &key).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(licence["number"], "B-1");
    assert_eq!(licence["issued_on"], "2020-05-01");

    // Sent again: nothing new.
    let (_, again) = post_batch(&tv, &key, lines.join("\n")).await;
    let statuses: Vec<&str> = again.iter().filter_map(|a| a["status"].as_str()).collect();
    assert_eq!(statuses, ["exists", "exists", "exists"]);

    // A line that is not a licence request: the whole body is refused, nothing issued.
    let malformed = [
        business_line("B-10", 10, "癸公司").to_string(),
        "{not json".into(),
    ];
    let mut array_fields = business_line("B-11", 11, "子公司");
    array_fields["fields"] = json!([null]);
    let (st, answer) = post_batch(&tv, &key, array_fields.to_string()).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{answer:?}");
    let (st, answer) = post_batch(&tv, &key, malformed.join("\n")).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{answer:?}");
    assert_eq!(answer[0]["error"]["code"], "invalid_request");
    assert!(
        answer[0]["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("line 2")),
        "{answer:?}"
    );
    let (_, again) = post_batch(&tv, &key, malformed[0].clone()).await;
    assert_eq!(again[0]["status"], "created", "B-10 was not issued before");

    // Limits: the media type, and 10,000 lines.
    let (st, body) = tv
        .send(
            Method::POST,
            "/v1/licences:batch",
            Some(&key),
            Some(Body::from(lines[0].clone())),
            "application/json",
        )
        .await;
    assert_eq!(st, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{body:?}");
    let (st, answer) = post_batch(&tv, &key, "{}\n".repeat(10_001)).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(answer[0]["error"]["code"], "invalid_request");
}
