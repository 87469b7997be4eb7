//! Honest and readable verification reports: no VALID without the signed original, the
//! validation time, the seal and signer named in PDF reports, and `sidian verify` choosing
//! between the summary for people and the JSON report.

mod common;

use std::path::Path;
use std::process::Command;

use axum::http::{Method, StatusCode};
use common::{TestVault, b64, call_bytes, create_contract_seal, post_raw, unb64};
use serde_json::{Value, json};

const DOC_1P: &[u8] = include_bytes!("data/pdf/doc-1p.pdf");
const HOLDER: &str = "某某有限公司";
const SEAL_NAME: &str = "某某有限公司合同专用章";
const USCC: &str = "91370406L24894136J";

fn check<'a>(signature: &'a Value, name: &str) -> &'a Value {
    signature["checks"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["name"] == name))
        .unwrap_or_else(|| panic!("no check {name}: {signature:#}"))
}

/// A contract seal of a new client, and one SES_Signature it made over `data`.
async fn signed(tv: &TestVault, data: &[u8]) -> (String, String, Vec<u8>) {
    let client = tv.client("approval", &[]).await;
    let seal = create_contract_seal(tv, &client, "p256").await;
    let (status, answer) = tv
        .post(
            &format!("/v1/seals/{seal}/sign"),
            &client,
            json!({"data": b64(data), "property_info": "decision.xml"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    (client, seal, unb64(&answer["signature"]))
}

async fn ses_verify(tv: &TestVault, body: Value) -> Value {
    let (status, report) = tv
        .call(
            Method::POST,
            "/v1/ses/verify",
            None,
            Some(body.to_string().into()),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    report
}

#[tokio::test]
async fn seal_signature_without_its_original_is_indeterminate_never_valid() {
    let tv = TestVault::open(None).await;
    let data = b"approval decision 2026-0042".as_slice();
    let (_, _, signature) = signed(&tv, data).await;

    let report = ses_verify(&tv, json!({"signature": b64(&signature)})).await;
    assert_eq!(report["verdict"], "INDETERMINATE", "{report:#}");
    let sig = &report["signatures"][0];
    assert_eq!(sig["verdict"], "INDETERMINATE", "{report:#}");
    assert_eq!(
        sig["intact"], true,
        "the signatures themselves verify: {report:#}"
    );
    assert_eq!(sig["trusted"], true, "{report:#}");
    assert_eq!(check(sig, "signature.signer_signature")["ok"], true);
    assert_eq!(check(sig, "seal.maker_signature")["ok"], true);
    let hash = check(sig, "signature.data_hash");
    assert_eq!(hash["ok"], false, "{report:#}");
    assert!(
        hash["detail"]
            .as_str()
            .is_some_and(|d| d.starts_with("original_missing:")),
        "{hash}"
    );
    assert!(
        report["problems"]
            .as_array()
            .is_some_and(|p| p.iter().any(|p| p
                .as_str()
                .is_some_and(|p| p.starts_with("original_missing:")))),
        "{report:#}"
    );
    // The seal is named with its holder from the holder certificate.
    assert_eq!(sig["seal"]["name"], SEAL_NAME);
    assert_eq!(sig["seal"]["holder"], HOLDER);
    assert_eq!(sig["seal"]["holder_id"], USCC);
    assert_eq!(sig["signed_at_source"], "time_info");

    // The same bytes as a document: no original there either.
    let (status, report) = post_raw(
        &tv,
        "/v1/documents/verify",
        "application/octet-stream",
        signature.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["format"], "ses-signature");
    assert_eq!(report["verdict"], "INDETERMINATE", "{report:#}");

    // With the original: VALID.
    let report = ses_verify(
        &tv,
        json!({"signature": b64(&signature), "data": b64(data)}),
    )
    .await;
    assert_eq!(report["verdict"], "VALID", "{report:#}");
    assert_eq!(
        check(&report["signatures"][0], "signature.data_hash")["ok"],
        true
    );
    assert!(report.get("problems").is_none(), "{report:#}");
}

#[tokio::test]
async fn validation_time_is_the_verifiers_now() {
    let tv = TestVault::open(None).await;
    let data = b"approval decision 2026-0043".as_slice();
    let (client, seal, signature) = signed(&tv, data).await;

    // As of a year before the signature was made, its timeInfo lies in the future.
    let report = ses_verify(
        &tv,
        json!({"signature": b64(&signature), "data": b64(data),
               "validation_time": "2025-01-01T00:00:00Z"}),
    )
    .await;
    assert_eq!(report["verdict"], "INVALID", "{report:#}");
    assert_eq!(report["validation_time"], "2025-01-01T00:00:00Z");
    assert_eq!(
        check(&report["signatures"][0], "signature.time_not_in_future")["ok"],
        false
    );

    // A PDF sealed now, checked as of then (query parameter) and as of now.
    let (status, pdf) = call_bytes(
        &tv,
        &format!("/v1/seals/{seal}/stamp"),
        Some(&client),
        "application/pdf",
        DOC_1P.to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&pdf));
    let (status, report) = post_raw(
        &tv,
        "/v1/documents/verify?validation_time=2025-01-01T00:00:00Z",
        "application/pdf",
        pdf.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["verdict"], "INVALID", "{report:#}");
    assert_eq!(
        check(&report["signatures"][0], "cms.signing_time_not_in_future")["ok"],
        false
    );
    let (_, report) = post_raw(&tv, "/v1/documents/verify", "application/pdf", pdf.clone()).await;
    assert_eq!(report["verdict"], "VALID", "{report:#}");
    assert!(report["validation_time"].is_string(), "{report:#}");

    let (status, err) = post_raw(
        &tv,
        "/v1/documents/verify?validation_time=yesterday",
        "application/pdf",
        pdf,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    assert_eq!(err["error"]["code"], "invalid_request");
}

#[tokio::test]
async fn pdf_report_names_the_seal_and_the_signer() {
    let tv = TestVault::open(None).await;
    let client = tv.client("approval", &[]).await;
    let seal = create_contract_seal(&tv, &client, "sm2").await;
    let (status, pdf) = call_bytes(
        &tv,
        &format!("/v1/seals/{seal}/stamp?level=b-t"),
        Some(&client),
        "application/pdf",
        DOC_1P.to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&pdf));
    let (_, report) = post_raw(&tv, "/v1/documents/verify", "application/pdf", pdf).await;
    assert_eq!(report["verdict"], "VALID", "{report:#}");
    let sig = &report["signatures"][0];
    assert_eq!(
        sig["seal"],
        json!({"name": SEAL_NAME, "holder": HOLDER, "holder_id": USCC}),
        "{report:#}"
    );
    assert_eq!(sig["signer_name"], HOLDER, "{report:#}");
    let raw = sig["signer"].as_str().expect("raw subject");
    assert!(raw.contains(&format!("serialNumber={USCC}")), "{raw}");
    assert_eq!(sig["signed_at_source"], "time_stamp", "{report:#}");
    assert!(
        sig["trust_anchor"]
            .as_str()
            .is_some_and(|a| a.contains("CN=")),
        "{report:#}"
    );
    assert_eq!(check(sig, "audit.in_log")["ok"], true);
}

/// Runs the built `sidian` with its stdout piped; (exit code, stdout, stderr).
fn sidian(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sidian"))
        .args(args)
        .env_remove("SIDIAN_DATA")
        .env_remove("SIDIAN_DATABASE_URL")
        .env_remove("SIDIAN_TRUST_DIR")
        .env("RUST_LOG", "error")
        .output()
        .expect("run sidian");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write");
    path.display().to_string()
}

#[tokio::test]
async fn cli_prints_json_when_piped_and_the_summary_when_asked() {
    let tv = TestVault::open(None).await;
    let data = b"approval decision 2026-0044".as_slice();
    let (client, seal, signature) = signed(&tv, data).await;
    let (status, pdf) = call_bytes(
        &tv,
        &format!("/v1/seals/{seal}/stamp"),
        Some(&client),
        "application/pdf",
        DOC_1P.to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // No vault for the command (an empty data directory): the vault's roots and issuing CAs
    // (SES structures carry no intermediates) as the trust directory.
    let dir = tv.dir.path();
    let trust = dir.join("trusted");
    std::fs::create_dir(&trust).expect("trust dir");
    write(
        &trust,
        "roots.pem",
        tv.vault.trust_export(false).expect("export").as_bytes(),
    );
    let base = [
        "--data",
        &dir.join("no-vault").display().to_string(),
        "--trust-dir",
        &trust.display().to_string(),
    ]
    .map(|s| s.to_owned());
    let run = |extra: &[&str]| {
        let mut args: Vec<&str> = base.iter().map(String::as_str).collect();
        args.push("verify");
        args.extend_from_slice(extra);
        sidian(&args)
    };
    let pdf_file = write(dir, "sealed.pdf", &pdf);

    // Piped: the JSON report.
    let (code, stdout, stderr) = run(&[&pdf_file]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let report: Value = serde_json::from_str(&stdout).expect("piped output is the JSON report");
    assert_eq!(report["verdict"], "VALID");
    assert_eq!(report["signatures"][0]["seal"]["name"], SEAL_NAME);

    // --summary: the verdict first, then the signature in words.
    let (code, text, stderr) = run(&["--summary", &pdf_file]);
    assert_eq!(code, 0, "{text}\n{stderr}");
    let first = text.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("VALID: every signature is intact"),
        "{text}"
    );
    for expected in [
        format!("  Seal:       {SEAL_NAME}, held by {HOLDER} ({USCC})"),
        "  Trust:      chains to the trust anchor CN=".to_owned(),
        "  Signed at:  ".to_owned(),
        "  Since:      no changes after the signed revision".to_owned(),
    ] {
        assert!(
            text.lines().any(|l| l.starts_with(&expected)),
            "{expected:?} missing in:\n{text}"
        );
    }
    assert!(serde_json::from_str::<Value>(&text).is_err());

    // On a real terminal (util-linux `script` gives the command a pseudo-terminal), no flag: the
    // summary too.
    if Command::new("script").arg("--version").output().is_ok() {
        let mut line = vec![env!("CARGO_BIN_EXE_sidian").to_owned()];
        line.extend(base.iter().cloned());
        line.extend(["verify".to_owned(), pdf_file.clone()]);
        let line = line
            .iter()
            .map(|a| format!("'{a}'"))
            .collect::<Vec<_>>()
            .join(" ")
            + " 2>/dev/null";
        let out = Command::new("script")
            .args(["-qec", &line, "/dev/null"])
            .env("RUST_LOG", "error")
            .output()
            .expect("run script");
        let tty = String::from_utf8_lossy(&out.stdout).replace('\r', "");
        assert!(out.status.success(), "{tty}");
        assert!(
            tty.lines()
                .next()
                .unwrap_or_default()
                .starts_with("VALID: every signature is intact")
                && tty.contains(&format!("  Seal:       {SEAL_NAME}")),
            "a terminal gets the summary:\n{tty}"
        );
    } else {
        eprintln!("skipped the terminal case: util-linux `script` is not installed");
    }

    // --json and --summary exclude each other.
    let (code, _, stderr) = run(&["--json", "--summary", &pdf_file]);
    assert_eq!(code, 2, "{stderr}");

    // A detached SES_Signature: INDETERMINATE (exit 1) alone, VALID with --original.
    let sig_file = write(dir, "decision.ses", &signature);
    let data_file = write(dir, "decision.xml", data);
    let (code, stdout, _) = run(&["--json", &sig_file]);
    assert_eq!(code, 1, "{stdout}");
    let report: Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(report["verdict"], "INDETERMINATE", "{report:#}");
    let (code, stdout, stderr) = run(&["--original", &data_file, &sig_file]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let report: Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(report["verdict"], "VALID", "{report:#}");
    // --original on anything but a SES_Signature is refused.
    let (code, _, stderr) = run(&["--original", &data_file, &pdf_file]);
    assert_eq!(code, 2, "{stderr}");

    // --validation-time: as of a year before the sealing the PDF's times lie in the future.
    let (code, stdout, _) = run(&["--validation-time", "2025-01-01T00:00:00Z", &pdf_file]);
    assert_eq!(code, 1);
    let report: Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(report["verdict"], "INVALID", "{report:#}");
    assert_eq!(report["validation_time"], "2025-01-01T00:00:00Z");
}
