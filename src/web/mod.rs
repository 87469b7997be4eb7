//! The pages people use (`/`, `/inspect`, `/verify`, `/wallet`): server-rendered HTML in one
//! shell, a little JavaScript, and the static files under `assets/web/` compiled into the
//! binary, so `sidian serve` needs nothing beside it.
//!
//! Every page is Chinese first, with English where the browser asks for it: an element's English
//! text sits in its `data-en` attribute and `site.js` swaps it in. Pages load no script or style
//! from elsewhere, and the Content-Security-Policy says so.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::error::Error;
use crate::vault::Vault;

mod inspect;
mod sign;
mod verify;
mod wallet;

/// The static files the pages load: name, media type, bytes.
const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "ui.css",
        "text/css; charset=utf-8",
        include_bytes!("../../assets/web/ui.css"),
    ),
    (
        "site.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/web/site.js"),
    ),
    (
        "inspect.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/web/inspect.js"),
    ),
    (
        "offline.mjs",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/web/offline.mjs"),
    ),
    (
        "sm2.mjs",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/web/sm2.mjs"),
    ),
    (
        "verify.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/web/verify.js"),
    ),
    (
        "vendor/jsQR.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/web/vendor/jsQR.js"),
    ),
    (
        "sign.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/web/sign.js"),
    ),
    (
        "sign.css",
        "text/css; charset=utf-8",
        include_bytes!("../../assets/web/sign.css"),
    ),
    (
        "wallet.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/web/wallet.js"),
    ),
    (
        "wallet.css",
        "text/css; charset=utf-8",
        include_bytes!("../../assets/web/wallet.css"),
    ),
];

/// What the pages may load and where they may send: only this origin, no inline script.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; \
     media-src 'self' blob:; connect-src 'self'; worker-src 'self'; frame-ancestors 'none'; \
     base-uri 'none'; form-action 'self'; object-src 'none'";

/// The pages' routes.
pub fn router() -> Router<Vault> {
    Router::new()
        .route("/", get(index))
        .route("/inspect", get(inspect::inspect))
        .route("/inspect-sw.js", get(inspect::service_worker))
        .route("/verify", get(verify::verify))
        .route("/wallet", get(wallet::wallet))
        .route("/sign/{token}", get(sign::sign))
        .route("/assets/{*name}", get(asset))
}

/// The start page: what each page is for.
async fn index() -> Response {
    page(shell(
        "四电 sidian",
        r#"<h1 data-en="sidian trust service">四电 可信服务</h1>
<ul class="cards">
<li><a href="/inspect"><strong data-en="Inspect a licence">扫码核验</strong><span data-en="Scan a citizen's licence code and see at once whether it is genuine, current and not revoked.">扫描亮证二维码，立即得知证照是否真实、有效、未注销。</span></a></li>
<li><a href="/verify"><strong data-en="Verify a document">文件验章</strong><span data-en="Upload a sealed PDF or OFD and read who sealed it, when, and whether it is intact.">上传盖章的 PDF 或 OFD，查看由谁、何时盖章，文件是否完好。</span></a></li>
<li><a href="/wallet"><strong data-en="My licences">我的证照</strong><span data-en="Show your licence as a QR code and see who has checked or used it.">出示证照二维码，查看谁核验或使用过您的证照。</span></a></li>
</ul>"#,
        &[],
    ))
}

/// One static file, cached by browsers for an hour (the service worker refreshes its copy).
async fn asset(Path(name): Path<String>) -> Result<Response, Error> {
    let (_, media, bytes) = ASSETS
        .iter()
        .find(|(n, _, _)| *n == name)
        .ok_or(Error::NotFound("asset"))?;
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(media)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        *bytes,
    )
        .into_response())
}

/// A page in the common shell: header with the large-type switch, `body_html` in `<main>`, then
/// the given scripts (paths under `/assets/`, loaded as modules).
pub(crate) fn shell(title: &str, body_html: &str, scripts: &[&str]) -> String {
    let mut tags = String::new();
    for s in scripts {
        tags.push_str(&format!(
            "<script type=\"module\" src=\"/assets/{}\"></script>\n",
            escape(s)
        ));
    }
    format!(
        r##"<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="/assets/ui.css">
<script type="module" src="/assets/site.js"></script>
</head>
<body>
<a class="skip" href="#main" data-en="Skip to content">跳到正文</a>
<header><a href="/" class="brand">四电 sidian</a>
<button type="button" id="large-type" aria-pressed="false" data-en="Large text">大字模式</button></header>
<main id="main">
{body_html}
</main>
{tags}</body>
</html>
"##,
        title = escape(title),
    )
}

/// An HTML answer with the pages' security headers; never cached by shared caches.
pub(crate) fn page(html: String) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(CSP),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            (
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        html,
    )
        .into_response()
}

/// `s` safe inside HTML text and quoted attributes.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_neutralises_markup() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn shell_escapes_title_and_loads_scripts_as_modules() {
        let html = shell("<x>", "<p>b</p>", &["inspect.js"]);
        assert!(html.contains("<title>&lt;x&gt;</title>"));
        assert!(html.contains(r#"<script type="module" src="/assets/inspect.js">"#));
        assert!(html.contains("<p>b</p>"));
    }
}
