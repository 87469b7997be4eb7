//! `/sign/{token}`: the page on which an applicant signs by hand. It names the signer (masked)
//! and shows the consent text the approval system gave for the session; once the applicant has
//! ticked that they read and agree, they draw their signature on a canvas with a finger, pen or
//! mouse, and `assets/web/sign.js` records the strokes (x, y in CSS pixels, time since the first
//! touch, pen pressure where the device measures it) and sends them with the exact consent text
//! shown to `POST /sign/{token}/capture`, the shape `handsign::capture::Capture` checks. The
//! token rides in the form's `data-token`, since the page may run no inline script.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;

use super::{escape, page, shell};
use crate::error::Error;
use crate::vault::Vault;

/// The page's title.
const TITLE: &str = "手写签名 · sidian";

/// The page for a signing link: the pad for a live, undrawn session, else `GONE` (404); no-store.
pub(super) async fn sign(
    State(vault): State<Vault>,
    Path(token): Path<String>,
) -> Result<Response, Error> {
    let mut response = match vault.signing_page(&token).await {
        Ok((session, signer)) => page(shell(
            TITLE,
            &body(&token, &signer.name_masked, &session.consent),
            &["sign.js"],
        )),
        Err(Error::NotFound(_)) => {
            let mut gone = page(shell(TITLE, GONE, &[]));
            *gone.status_mut() = StatusCode::NOT_FOUND;
            gone
        }
        Err(e) => return Err(e),
    };
    // The link's token is in the address and the page names the signer: keep it out of caches.
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// The signing page's body for `token`'s session: masked signer, consent text and pad, escaped.
pub(super) fn body(token: &str, signer: &str, consent: &str) -> String {
    // The consent sits alone in its element, no whitespace around it: sign.js sends its text
    // back as the consent the signer saw, so it must be exactly the session's text.
    format!(
        r#"<link rel="stylesheet" href="/assets/sign.css">
<h1 data-en="Handwritten signature">手写签名</h1>
<form id="sign-form" class="sign" data-token="{token}" data-state="loading" novalidate>
<dl class="fields">
<dt data-en="Signer">签署人</dt>
<dd id="signer">{signer}</dd>
</dl>
<h2 id="consent-title" data-en="What you are signing">签署内容</h2>
<div id="consent" class="consent">{consent}</div>
<p class="agree"><input type="checkbox" id="agree" name="agree" required aria-describedby="agree-help">
<label for="agree" data-en="I have read and agree to the text above">我已阅读并同意以上内容</label></p>
<p id="agree-help" class="muted" data-en="Your handwritten signature will be bound to this text.">您的手写签名将与以上内容绑定。</p>
<h2 id="pad-title" data-en="Your signature">您的签名</h2>
<p id="pad-help" data-en="Draw your signature in the box below with a finger, pen or mouse, as you would on paper.">请用手指、手写笔或鼠标在下方框内写下您的签名，与纸上签名一样。</p>
<div class="pad">
<canvas id="pad" role="img" aria-label="签名区" data-en-label="Signature pad" aria-describedby="pad-help pad-count"></canvas>
</div>
<p id="pad-count" class="muted" data-en="Nothing drawn yet.">尚未书写。</p>
<p class="actions">
<button type="button" id="clear" class="secondary" data-en="Clear">清除重写</button>
<button type="submit" id="submit" data-en="Submit signature">提交签名</button>
</p>
<p id="status" role="status" aria-live="polite"></p>
<p id="error" class="error" role="alert"></p>
</form>
<section id="done" class="done" hidden>
<h2 id="done-title" tabindex="-1" data-en="Signature received">签名已提交</h2>
<p data-en="Your signature has been received. You may close this page.">您的签名已收到，现在可以关闭此页面。</p>
</section>
<noscript><p class="error" data-en="This page needs JavaScript to record your signature.">本页面需要启用 JavaScript 才能记录签名。</p></noscript>"#,
        token = escape(token),
        signer = escape(signer),
        consent = escape(consent),
    )
}

/// The body for a signing link that is unknown, expired or used already.
pub(super) const GONE: &str = r#"<link rel="stylesheet" href="/assets/sign.css">
<section id="sign-gone" class="gone">
<h1 data-en="This signing link is no longer valid">签名链接已失效</h1>
<p data-en="The link has expired, has been used already, or does not exist. Ask the service that sent it to you for a new one.">该链接已过期、已使用或不存在。请联系向您发送链接的机构重新获取。</p>
</section>"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_escapes_what_it_is_given_and_keeps_the_consent_alone_in_its_element() {
        let html = body("t\"ok", "张*", "<b>本人同意</b>\n第二行 & 'x'");
        assert!(html.contains(r#"data-token="t&quot;ok""#));
        assert!(html.contains(r#"<dd id="signer">张*</dd>"#));
        assert!(html.contains(
            "<div id=\"consent\" class=\"consent\">&lt;b&gt;本人同意&lt;/b&gt;\n第二行 &amp; &#39;x&#39;</div>"
        ));
        assert!(!html.contains("<b>"));
        // The CSP allows no inline script or style.
        assert!(!html.contains("<script") && !html.contains("style="));
    }

    #[test]
    fn every_control_has_a_name_and_the_lines_speak() {
        let html = body("t", "张*", "同意");
        assert!(html.contains(r#"<label for="agree""#));
        assert!(html.contains(r#"id="pad" role="img" aria-label="#));
        assert!(html.contains(r#"aria-describedby="pad-help pad-count""#));
        assert!(html.contains(r#"id="status" role="status" aria-live="polite""#));
        assert!(html.contains(r#"id="error" class="error" role="alert""#));
    }

    #[test]
    fn the_gone_page_says_so_in_both_languages() {
        assert!(GONE.contains("签名链接已失效"));
        assert!(GONE.contains(r#"data-en="This signing link is no longer valid""#));
        assert!(!GONE.contains("<script"));
    }
}
