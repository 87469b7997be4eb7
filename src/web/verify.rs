//! `/verify`: a sealed PDF or OFD uploaded (file input or dropped) to
//! `POST /v1/documents/verify`, and the report shown as a person reads it: the verdict first,
//! then each seal or signature with its holder, time and checks, the raw JSON folded away.

use axum::response::Response;

use super::{page, shell};

/// The page.
pub(super) async fn verify() -> Response {
    page(shell("文件验章 · 四电", BODY, &["verify.js"]))
}

const BODY: &str = r#"<h1 data-en="Verify a document">文件验章</h1>
<form id="upload-form">
<div id="drop" class="drop">
<label for="file" data-en="A sealed PDF or OFD file">选择盖章的 PDF 或 OFD 文件</label>
<input id="file" name="file" type="file" accept=".pdf,.ofd,application/pdf,application/ofd" required aria-describedby="drop-help">
<p id="drop-help" class="muted" data-en="Or drop the file here. It is sent to this service only to be checked.">也可以把文件拖到这里。文件只发送给本服务用于验证。</p>
</div>
<p><button type="submit" id="verify" data-en="Verify">验证</button></p>
</form>
<p id="progress" class="muted" aria-live="polite"></p>
<div id="report" aria-live="assertive" aria-atomic="true"></div>"#;
