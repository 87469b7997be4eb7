// /verify: send a sealed PDF or OFD to POST /v1/documents/verify and show the report as a
// person reads it: the verdict, then each seal or signature, then the raw JSON folded away.
import { el, fields, t, when } from './site.js';

const $ = (id) => document.getElementById(id);
const report = $('report');
const progress = $('progress');

const VERDICTS = {
  VALID: ['ok', '有效：印章真实，文件完好', 'VALID: genuine seals, the document is intact'],
  VALID_WITH_ALLOWED_LATER_CHANGES: ['ok', '有效：盖章后仅有允许的修改', 'VALID: only allowed changes after sealing'],
  MODIFIED_AFTER_SEALING: ['bad', '盖章后文件被修改', 'MODIFIED AFTER SEALING'],
  INVALID: ['bad', '无效：验证未通过', 'INVALID: a check failed'],
  UNTRUSTED: ['bad', '不可信：签章人不在信任列表中', 'UNTRUSTED: the signer is not trusted'],
  INDETERMINATE: ['warn', '无法确定', 'INDETERMINATE: could not decide'],
};

const TIME_SOURCES = {
  time_stamp: ['时间戳', 'a time-stamp'],
  time_info: ['签章中的时间（签章人声明）', "the signature's time (the signer's claim)"],
  signing_time: ['签名时间属性（签章人声明）', 'the signingTime attribute (the signer\'s claim)'],
  pdf_m: ['PDF 签名字典 /M（签章人声明）', "the PDF /M entry (the signer's claim)"],
  create_date: ['印章制作时间', "the seal's creation date"],
  verification_time: ['验证时间（签章中无时间）', 'the verification time (no time in the signature)'],
};

function verdictBox(verdict, large) {
  const [tone, zh, en] = VERDICTS[verdict] || ['warn', verdict, verdict];
  return el(large ? 'div' : 'p', { class: large ? `verdict ${tone}` : `tag ${tone}`, 'data-verdict': verdict }, t(zh, en));
}

function render(r) {
  report.replaceChildren();
  report.dataset.verdict = r.verdict;
  report.append(verdictBox(r.verdict, true));
  const sigs = r.signatures || [];
  report.append(el('p', {}, t(`文件格式 ${String(r.format).toUpperCase()}，共 ${sigs.length} 个签章。验证时间 ${when(r.validation_time) || '现在'}。`,
    `${String(r.format).toUpperCase()} document with ${sigs.length} signature(s), checked as of ${when(r.validation_time) || 'now'}.`)));
  for (const p of r.problems || []) report.append(el('p', { class: 'error' }, p));
  if (r.licence) {
    const l = r.licence;
    report.append(el('h2', {}, t('电子证照', 'Electronic licence')), fields([
      ['证照', 'Licence', l.type_name || l.type_code],
      ['证照标识', 'Licence id', l.id],
      ['确认', 'Confirmed', l.confirmed ? t('是：与登记记录一致', 'yes: matches the record') : t(`否${l.reason ? '（' + l.reason + '）' : ''}`, `no${l.reason ? ' (' + l.reason + ')' : ''}`)],
      ['证照状态', 'Status', l.status],
    ]));
  }
  sigs.forEach((s, i) => {
    const seal = s.seal || {};
    const section = el('section', { class: 'signature', 'aria-label': t(`第 ${i + 1} 个签章`, `Signature ${i + 1}`) });
    section.append(el('h2', {}, t(`第 ${i + 1} 个签章：${seal.name || s.kind}`, `Signature ${i + 1}: ${seal.name || s.kind}`)), verdictBox(s.verdict, false));
    const source = TIME_SOURCES[s.signed_at_source];
    section.append(fields([
      ['印章持有者', 'Seal holder', seal.holder],
      ['持有者代码', 'Holder id', seal.holder_id],
      ['签章人', 'Signed by', s.signer_name || s.signer],
      ['签章时间', 'Signed at', when(s.signed_at)],
      ['时间来源', 'Time from', source ? t(source[0], source[1]) : s.signed_at_source],
      ['信任锚', 'Trust anchor', s.trust_anchor],
      ['证书吊销于', 'Certificate revoked at', when(s.revoked_at)],
      ['完整', 'Intact', s.intact ? t('是', 'yes') : t('否', 'no')],
      ['可信', 'Trusted', s.trusted ? t('是', 'yes') : t('否', 'no')],
    ]));
    const list = el('ul', { class: 'checks' });
    const checks = s.checks || [];
    const failed = checks.filter((c) => !c.ok).length;
    for (const c of checks) {
      list.append(el('li', { class: c.ok ? 'pass' : 'fail' },
        el('strong', {}, c.ok ? t('✓ 通过 ', '✓ pass ') : t('✗ 未通过 ', '✗ fail ')),
        el('code', {}, c.name), ' ', c.detail));
    }
    const summary = failed
      ? t(`各项检查：${failed} 项未通过（共 ${checks.length} 项）`, `Checks: ${failed} of ${checks.length} failed`)
      : t(`各项检查：${checks.length} 项全部通过`, `Checks: all ${checks.length} passed`);
    section.append(el('details', failed ? { open: '' } : {}, el('summary', {}, summary), list));
    for (const w of s.warnings || []) section.append(el('p', { class: 'muted' }, `⚠ ${w.name}: ${w.detail}`));
    report.append(section);
  });
  if ((r.links || []).length) {
    report.append(el('h2', {}, t('文件中的链接', 'Links in the document')),
      el('ul', {}, ...r.links.map((l) => el('li', {}, t(`第 ${l.page} 页：`, `page ${l.page}: `), el('code', {}, l.uri)))));
  }
  report.append(el('details', {}, el('summary', {}, t('原始报告（JSON）', 'Raw report (JSON)')), el('pre', { class: 'raw' }, JSON.stringify(r, null, 2))));
}

function mediaType(file) {
  const name = file.name.toLowerCase();
  if (name.endsWith('.pdf')) return 'application/pdf';
  if (name.endsWith('.ofd')) return 'application/ofd';
  return 'application/octet-stream';
}

async function send(file) {
  if (!file) return;
  progress.textContent = t(`正在验证 ${file.name}…`, `Verifying ${file.name}…`);
  report.replaceChildren();
  try {
    const response = await fetch('/v1/documents/verify', { method: 'POST', headers: { 'content-type': mediaType(file) }, body: file });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      report.append(el('p', { class: 'error' }, `${response.status}: ${body.message || body.error || ''}`));
      progress.textContent = '';
      return;
    }
    progress.textContent = t(`${file.name} 的验证结果：`, `The report on ${file.name}:`);
    render(body);
  } catch (_) {
    progress.textContent = '';
    report.append(el('p', { class: 'error' }, t('无法连接服务，请稍后再试。', 'The service cannot be reached: try again later.')));
  }
}

$('upload-form').addEventListener('submit', (e) => {
  e.preventDefault();
  send($('file').files[0]);
});
$('file').addEventListener('change', () => send($('file').files[0]));

const drop = $('drop');
for (const name of ['dragenter', 'dragover']) {
  drop.addEventListener(name, (e) => { e.preventDefault(); drop.classList.add('over'); });
}
for (const name of ['dragleave', 'drop']) {
  drop.addEventListener(name, () => drop.classList.remove('over'));
}
drop.addEventListener('drop', (e) => {
  e.preventDefault();
  const file = e.dataTransfer && e.dataTransfer.files[0];
  if (file) send(file);
});
