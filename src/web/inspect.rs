//! `/inspect`: the officer's page. A licence's 亮证 code is scanned with the camera (jsQR) or
//! pasted, checked online (`POST /v1/presentations/verify`), and when the network is gone,
//! checked on the device against the trust list and the signed status lists it kept
//! (`assets/web/offline.mjs`, the same procedure as `src/present/offline.rs`). The service
//! worker (`/inspect-sw.js`, at the root so that its scope covers this page) keeps the page and
//! its scripts for visits without a network.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::{page, shell};

/// The service worker: served from the root path so that its scope covers `/inspect`.
const SERVICE_WORKER: &[u8] = include_bytes!("../../assets/web/inspect-sw.js");

/// The page.
pub(super) async fn inspect() -> Response {
    page(shell("扫码核验 · 四电", BODY, &["inspect.js"]))
}

/// `/inspect-sw.js`: always revalidated, so that a new version takes over at the next visit.
pub(super) async fn service_worker() -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/javascript; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        SERVICE_WORKER,
    )
        .into_response()
}

const BODY: &str = r#"<h1 data-en="Inspect a licence">扫码核验</h1>
<section aria-labelledby="scan-h">
<h2 id="scan-h" data-en="Read the code">读取二维码</h2>
<p><button type="button" id="camera" data-en="Scan with the camera">用摄像头扫码</button>
<button type="button" id="camera-stop" class="secondary" hidden data-en="Stop the camera">关闭摄像头</button></p>
<video id="video" playsinline muted hidden aria-label="摄像头画面" data-en-label="Camera view"></video>
<canvas id="frame" hidden></canvas>
<p id="camera-note" class="muted" aria-live="polite"></p>
<form id="check-form">
<label for="code" data-en="Or paste the code (LZ1:…)">或粘贴二维码内容（LZ1:…）</label>
<textarea id="code" name="code" rows="3" autocomplete="off" autocapitalize="characters" spellcheck="false" required aria-describedby="code-help"></textarea>
<p id="code-help" class="muted" data-en="The code the holder's phone shows, starting with LZ1:">持证人手机上显示的二维码内容，以 LZ1: 开头。</p>
<label for="type" data-en="Required licence type code (optional)">要求的证照类型代码（可选）</label>
<input id="type" name="type" autocomplete="off" inputmode="numeric">
<p><button type="submit" id="check" data-en="Check">核验</button></p>
</form>
</section>
<section id="challenge-box" hidden aria-labelledby="challenge-h">
<h2 id="challenge-h" data-en="Device answer">设备应答</h2>
<p><button type="button" id="challenge" class="secondary" data-en="Ask the device to answer">要求设备应答</button></p>
<p id="challenge-help" class="muted" hidden data-en="Ask the holder to type these digits into their wallet, then check the code.">请持证人在证照钱包中输入以下数字，然后核验二维码。</p>
<p id="challenge-digits" class="digits" aria-live="polite"></p>
</section>
<div id="result" aria-live="assertive" aria-atomic="true" data-offline-ms=""></div>
<p id="offline-state" class="muted" aria-live="polite"></p>
<details id="key-box">
<summary data-en="Inspector API key">检查员 API 密钥</summary>
<p class="muted" data-en="With an inspector's key the full licence is shown for a full code. It is kept on this device only.">填写检查员密钥后，完整亮证可显示证照全部信息。密钥只保存在本设备。</p>
<label for="api-key" data-en="API key">API 密钥</label>
<input id="api-key" type="password" autocomplete="off">
<p><button type="button" id="save-key" data-en="Save">保存</button>
<button type="button" id="forget-key" class="secondary" data-en="Forget">清除</button></p>
<p id="key-state" class="muted" aria-live="polite"></p>
</details>"#;
