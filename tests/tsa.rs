//! The vault's RFC 3161 time-stamping service through the API: tokens that verify and chain to
//! the vault's roots, rejections with a reason, and the HTTP contract.

mod common;

use axum::http::StatusCode;
use common::{TestVault, call_bytes};
use sidian::crypto::sha256;
use sidian::pki::{self, TrustStore, Usage};
use sidian::tsa::{HashAlg, TimeStampReq, granted_token, verify_token};
use sidian::vault::Role;

fn request(hash_alg: HashAlg, hash: Vec<u8>) -> Vec<u8> {
    TimeStampReq {
        hash_alg,
        hashed_message: hash,
        policy: None,
        nonce: Some(vec![0x12, 0x34, 0x56]),
        cert_req: true,
    }
    .to_der()
}

#[tokio::test]
async fn tokens_verify_and_chain_to_the_vault_roots() {
    let tv = TestVault::open(None).await;
    let key = tv.client("stamper", &[]).await;
    let mut trust = TrustStore::new();
    for e in tv.vault.trust_list() {
        match e.role {
            Role::Root => trust.add_anchor(e.cert),
            _ => trust.add_intermediate(e.cert),
        }
    }
    for (alg, family) in [(HashAlg::Sha256, "P-256"), (HashAlg::Sm3, "SM2")] {
        let hash = alg.digest(b"the signature value being time-stamped");
        let (status, resp) = call_bytes(
            &tv,
            "/v1/tsa",
            Some(&key),
            "application/timestamp-query",
            request(alg, hash.clone()),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let token = granted_token(&resp).expect("granted");
        let check = verify_token(token, Some((alg, &hash)), &[]);
        assert!(check.ok(), "{family}: {:?}", check.checks);
        let info = check.tst_info.expect("tst info");
        assert_eq!(info.policy, sidian::vault::TSA_POLICY);
        assert_eq!(info.nonce.as_deref(), Some(&[0x12, 0x34, 0x56][..]));
        let signer = check.signer.expect("signer");
        assert!(signer.subject().contains(family), "{}", signer.subject());
        let v = pki::validate(
            &signer,
            &[],
            &trust,
            info.gen_time,
            Usage::TimeStamping,
            &pki::NoRevocation,
        );
        assert!(v.trusted, "{family}: {:?}", v.checks);
    }
    // Every token is in the audit log, which still verifies.
    tv.vault.verify_audit_log().await.expect("audit log");
}

#[tokio::test]
async fn rejections_and_the_http_contract() {
    let tv = TestVault::open(None).await;
    let key = tv.client("stamper", &[]).await;
    // SHA-1 is refused with a TimeStampResp rejection (HTTP 200, as RFC 3161 §3.4 has it).
    let sha1 = {
        // A SHA-1 TimeStampReq built by hand: TimeStampReq::to_der only writes supported hashes.
        let imprint = [
            &[
                0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04,
                0x14,
            ][..],
            &[0xAB; 20],
        ]
        .concat();
        [&[0x30, 0x26, 0x02, 0x01, 0x01][..], &imprint].concat()
    };
    for (what, body) in [("sha1", sha1), ("garbage", b"not DER".to_vec())] {
        let (status, resp) = call_bytes(
            &tv,
            "/v1/tsa",
            Some(&key),
            "application/timestamp-query",
            body,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{what}");
        assert!(granted_token(&resp).is_none(), "{what} was granted");
    }
    let good = request(HashAlg::Sha256, sha256(b"x").to_vec());
    let (status, _) = call_bytes(
        &tv,
        "/v1/tsa",
        None,
        "application/timestamp-query",
        good.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) =
        call_bytes(&tv, "/v1/tsa", Some(&key), "application/octet-stream", good).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let (status, _) = call_bytes(
        &tv,
        "/v1/tsa",
        Some(&key),
        "application/timestamp-query",
        vec![0x30; 64 << 10],
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}
