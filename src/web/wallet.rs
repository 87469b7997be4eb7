//! `/wallet`: the holder's page on a phone. With `serve --demo-wallet` it offers the demo
//! login (holder code and name, under a yellow 「演示登录 Demo login」 banner) and then the
//! holder's licences, the presentation QR code with its countdown and refresh, the answer to an
//! inspector's challenge with this device's key, the list of uses and the grants to
//! departments; `assets/web/wallet.js` drives it through `/wallet/api/` (`api::wallet`).
//! Without the flag it says the wallet is the province's app and loads no script.

use axum::extract::State;
use axum::response::Response;

use super::{page, shell};
use crate::vault::Vault;

/// The page.
pub(super) async fn wallet(State(vault): State<Vault>) -> Response {
    if !vault.config().demo_wallet {
        return page(shell("我的证照 · sidian", OFF, &[]));
    }
    page(shell("我的证照 · sidian", DEMO, &["wallet.js"]))
}

/// Without the demo: where holders find their wallet.
const OFF: &str = r#"<h1 data-en="My licences">我的证照</h1>
<section id="wallet-off">
<p data-en="Your licence wallet is operated by the province's government services app. Open that app to show your licence as a QR code, see who has checked it and manage grants to departments.">亮证钱包由本省政务服务 App 提供。请在该 App 中出示证照二维码、查看核验记录、管理对部门的授权。</p>
<p class="muted" data-en="This service checks the codes the app shows; it keeps no holder accounts.">本服务负责核验 App 出示的二维码，不保存持证人账号。</p>
</section>"#;

/// With the demo: every part of the page, shown and filled by `wallet.js`.
const DEMO: &str = r#"<link rel="stylesheet" href="/assets/wallet.css">
<p class="demo" role="note"><strong>演示登录 Demo login</strong> · <span data-en="For trying the service only: anyone who knows a holder's code and name can sign in here. The province's app signs holders in properly.">仅供体验：知道持证主体代码和名称即可登录。正式使用请通过本省政务服务 App。</span></p>
<h1 data-en="My licences">我的证照</h1>

<form id="login" class="card" hidden>
<h2 data-en="Sign in (demo)">登录（演示）</h2>
<label for="holder-code" data-en="Holder code (ID number or unified social credit code)">持证主体代码（身份证号或统一社会信用代码）</label>
<input id="holder-code" name="holder_code" autocomplete="off" required maxlength="64">
<label for="holder-name" data-en="Holder name">持证主体名称</label>
<input id="holder-name" name="holder_name" autocomplete="off" required maxlength="128">
<p><button type="submit" data-en="Sign in">登录</button></p>
<p id="login-error" class="error" role="alert"></p>
</form>

<section id="session" hidden>
<p><span id="holder-name-shown"></span> · <button type="button" id="logout" class="secondary" data-en="Sign out">退出</button></p>
</section>

<section id="licences-section" hidden>
<h2 data-en="Choose a licence">选择证照</h2>
<ul id="licences" class="licences"></ul>
<p id="licences-empty" class="muted" hidden data-en="No licence is held under this code.">名下暂无证照。</p>
</section>

<section id="present" hidden>
<h2 id="present-title"></h2>
<fieldset class="profiles">
<legend data-en="What the code shows">二维码展示内容</legend>
<label><input type="radio" name="profile" value="valid"> <span data-en="Only that it is valid">仅有效性</span></label>
<label><input type="radio" name="profile" value="basic" checked> <span data-en="Basic details (masked name, validity)">基本信息（名称部分隐藏、有效期）</span></label>
</fieldset>
<figure id="qr" class="qr-box"><img class="qr" id="qr-img" alt="亮证二维码" data-en-label="Licence QR code"><figcaption id="countdown" aria-hidden="true"></figcaption></figure>
<p id="countdown-live" class="visually-hidden" aria-live="polite"></p>
<label for="token" data-en="The code as text (to paste)">二维码文本（可复制粘贴）</label>
<textarea id="token" readonly rows="4" spellcheck="false"></textarea>
<p id="present-error" class="error" role="alert"></p>

<section id="device" class="card">
<h3 data-en="Answer an officer's check code">回应核验码</h3>
<p class="muted" data-en="If the officer shows an 8-digit check code, type it here: this phone signs it, proving the code on screen is shown from this phone.">如核验人员出示 8 位核验码，请在此输入：本机签名回应，证明二维码由本机出示。</p>
<label for="challenge" data-en="Enter the check code">输入核验码</label>
<input id="challenge" inputmode="numeric" pattern="[0-9]{8}" maxlength="8" autocomplete="off">
<p><button type="button" id="answer" data-en="Sign and answer">签名回应</button></p>
<p id="answer-status" role="status"></p>
</section>

<section id="uses-section">
<h3 data-en="Who checked or used this licence">核验与使用记录</h3>
<p><button type="button" id="uses-refresh" class="secondary" data-en="Refresh">刷新记录</button></p>
<table id="uses"><thead><tr><th data-en="Time">时间</th><th data-en="Who">使用方</th><th data-en="Result or use">结果或用途</th><th data-en="Reason">事由</th></tr></thead><tbody></tbody></table>
<p id="uses-empty" class="muted" hidden data-en="No checks yet.">暂无记录。</p>
</section>

<section id="grants-section" hidden>
<h3 data-en="Grants to departments">部门授权</h3>
<ul id="grants" class="grants"></ul>
<p id="grants-empty" class="muted" hidden data-en="No grants.">暂无授权。</p>
<form id="grant-form" class="card">
<h4 data-en="Grant a department use of this licence">授权部门使用本证照</h4>
<label for="grant-dept-id" data-en="Department code">部门代码</label>
<input id="grant-dept-id" required maxlength="64" autocomplete="off">
<label for="grant-dept-name" data-en="Department name">部门名称</label>
<input id="grant-dept-name" required maxlength="128" autocomplete="off">
<label for="grant-purpose" data-en="Purpose">用途</label>
<input id="grant-purpose" required maxlength="200" autocomplete="off">
<label for="grant-expires" data-en="Valid for">有效期</label>
<select id="grant-expires">
<option value="86400" data-en="1 day">1 天</option>
<option value="604800" selected data-en="7 days">7 天</option>
<option value="2592000" data-en="30 days">30 天</option>
</select>
<p><button type="submit" data-en="Grant">授权</button></p>
<p id="grant-error" class="error" role="alert"></p>
</form>
<div id="grant-code-box" class="card grant-code" hidden>
<p data-en="One-time code for the department (shown once):">部门使用的一次性授权码（仅显示一次）：</p>
<p id="grant-code" class="code"></p>
<p><button type="button" id="grant-copy" class="secondary" data-en="Copy">复制</button> <span id="grant-copied" role="status"></span></p>
</div>
</section>
</section>"#;
