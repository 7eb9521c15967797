// Browser test: a CSIRT lead logs in, opens a case from a template, records an observable,
// uploads evidence and sees its SHA-256, switches language and back, and logs out.
// Runs the real binary (HIKESHI_BIN) and Debian's Chromium (CHROMIUM, default /usr/bin/chromium).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { navTo } from './menu.mjs';
import { freePort, launchChromium, seriousViolations, waitReady } from './harness.mjs';

const BIN = resolve(process.env.HIKESHI_BIN ?? '../../target/debug/hikeshi');
const ARTIFACTS = resolve('artifacts');
const PASSWORD = 'browser-test-password';

let server, browser, base, dataDir;

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  dataDir = mkdtempSync(join(tmpdir(), 'hikeshi-browser-'));
  const add = spawnSync(BIN, ['user', 'add', 'lead', '--role', 'manager', '--display-name', '山田 花子', '--data-dir', dataDir], { input: `${PASSWORD}\n` });
  assert.equal(add.status, 0, `user add failed: ${add.stderr}`);
  const viewer = spawnSync(BIN, ['user', 'add', 'eye', '--role', 'viewer', '--data-dir', dataDir], { input: `${PASSWORD}\n` });
  assert.equal(viewer.status, 0, `user add failed: ${viewer.stderr}`);
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  server = spawn(BIN, ['serve', '--listen', `127.0.0.1:${port}`, '--data-dir', dataDir], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, HIKESHI_LOG: 'warn' } });
  await waitReady(`${base}/readyz`);
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  if (server) { server.kill('SIGTERM'); await new Promise((r) => server.once('exit', r)); }
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

test('a case from login to logout in the browser', async () => {
  const context = await browser.newContext({ locale: 'ja-JP', viewport: { width: 1366, height: 900 } });
  const page = await context.newPage();
  const shot = (name) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });

  // Anonymous visitors land on the login page, in Japanese because the browser asks for it.
  await page.goto(`${base}/cases`);
  assert.match(page.url(), /\/login\?next=/);
  assert.equal(await page.locator('h1').innerText(), 'ログイン');
  await shot('01-login');

  await page.fill('#username', 'lead');
  await page.fill('#password', 'wrong-password');
  await page.click('#login-submit');
  assert.equal(await page.locator('#login-error').isVisible(), true);

  await page.fill('#username', 'lead');
  await page.fill('#password', PASSWORD);
  await page.click('#login-submit');
  await page.waitForURL(/\/cases$/);
  assert.equal(await page.locator('#nav-cases').textContent(), '事案一覧');
  assert.match(await page.locator('#who').innerText(), /山田 花子/);

  // A new case from the phishing template.
  await navTo(page, 'nav-new-case');
  await page.selectOption('#new-template', 'phishing');
  await page.fill('#new-title', '標的型メール攻撃の疑い(経理部)');
  await page.fill('#new-description', '経理部の3名が不審な請求書メールを受信。\n\n<script>alert(1)</script>');
  await shot('02-new-case');
  await page.click('#new-submit');
  await page.waitForURL(/\/cases\/\d{4}-\d{4}$/);
  const number = await page.locator('#case-number').innerText();
  assert.match(number, /^\d{4}-0001$/);
  assert.equal(await page.locator('#task-table tbody tr').count(), 7, 'template tasks were created');
  assert.match(await page.locator("#task-table tbody tr").first().innerText(), /報告メールのヘッダーと本文を保全する/, "template order kept");
  assert.match(await page.locator('#case-description').innerText(), /<script>alert\(1\)<\/script>/, 'markup shown as text');

  // An observable, validated and shown.
  await page.selectOption('#observable-kind', 'ip');
  await page.fill('#observable-value', '198.51.100.23');
  await page.click('#observable-submit');
  await page.waitForURL(/#observables$/);
  assert.match(await page.locator('#observable-table').innerText(), /198\.51\.100\.23/);

  // Evidence: the page shows the same SHA-256 we compute here.
  const content = Buffer.from('Received: from attacker.example\r\nSubject: 請求書\r\n\r\nbody\r\n');
  const expected = createHash('sha256').update(content).digest('hex');
  await page.setInputFiles('#evidence-file', { name: 'suspicious.eml', mimeType: 'message/rfc822', buffer: content });
  await page.click('#evidence-submit');
  await page.waitForURL(/#evidence$/);
  assert.equal(await page.locator('#evidence-table .sha256').first().innerText(), expected);
  await shot('03-case-ja');

  // English and back.
  await page.click('#lang-switch');
  await page.waitForLoadState();
  assert.equal(await page.locator('#nav-cases').textContent(), 'Cases');
  assert.match(page.url(), new RegExp(`/cases/${number}`), 'the switch stays on the page');
  assert.match(await page.locator('#tasks h2').innerText(), /^Tasks/);
  await shot('04-case-en');
  await page.click('#lang-switch');
  await page.waitForLoadState();
  assert.equal(await page.locator('#nav-cases').textContent(), '事案一覧');

  // The list finds the case by a Japanese word.
  await page.goto(`${base}/cases`);
  await page.fill('#filter-q', '標的型');
  await page.click('#filter-submit');
  assert.match(await page.locator('#case-table').innerText(), new RegExp(number));
  await shot('05-list');
  // Half-width katakana find the full-width title (NFKC), and an observable finds its case.
  for (const q of ['ﾒｰﾙ攻撃', '１９８．５１．１００．２３']) {
    await page.fill('#filter-q', q);
    await page.click('#filter-submit');
    await page.waitForURL((u) => u.searchParams.get('q') === q);
    assert.match(await page.locator('#case-table').innerText(), new RegExp(number), q);
  }

  await page.click('#logout');
  await page.waitForURL(/\/login$/);
  await page.goto(`${base}/cases/${number}`);
  assert.match(page.url(), /\/login/, 'logged out for real');
  await context.close();
});

test('a case offers only the moves its workflow allows, resolving with open tasks asks first, and a viewer sees no write actions', async () => {
  const context = await browser.newContext({ locale: 'ja-JP', viewport: { width: 1366, height: 900 } });
  const page = await loginAt(context, base, 'lead');
  await navTo(page, 'nav-new-case');
  await page.selectOption('#new-template', 'phishing');
  await page.fill('#new-title', 'ワークフロー確認用の事案');
  await page.click('#new-submit');
  await page.waitForURL(/\/cases\/\d{4}-\d{4}$/);
  const number = await page.locator('#case-number').innerText();
  const offered = async () => page.locator('#case-status-select option').evaluateAll((os) => os.map((o) => o.value));
  assert.deepEqual(await offered(), ['new', 'triage', 'in_progress', 'rejected']);
  assert.match(await page.locator('#case-not-offered').innerText(), /解決.*クローズ/);

  // Forward one step, then ask to resolve while the template's tasks are open.
  await page.selectOption('#case-status-select', 'in_progress');
  await page.selectOption('#triage-form select[name="assignee"]', 'lead');
  await page.click('#triage-submit');
  await page.waitForSelector('#case-status-select option[value="resolved"]', { state: 'attached' });
  assert.deepEqual(await offered(), ['triage', 'in_progress', 'resolved', 'rejected']);

  // A task for myself, already overdue: 自分の担当 lists it first, and the case.
  const taskForm = page.locator('form[action$="/tasks"]');
  await taskForm.locator('input[name="title"]').fill('経理部への聞き取り');
  await taskForm.locator('select[name="assignee"]').selectOption('lead');
  await taskForm.locator('input[name="due_at"]').fill('2026-01-05T10:00');
  await taskForm.locator('button').click();
  await page.waitForURL(/#tasks$/);
  await navTo(page, 'nav-my');
  await page.waitForURL(/\/my$/);
  assert.equal(await page.locator('h1').innerText(), '自分の担当');
  const mine = page.locator('#my-tasks-table tr.my-task').first();
  assert.match(await mine.innerText(), /経理部への聞き取り/);
  assert.match(await mine.innerText(), /期限切れ/);
  assert.match(await mine.innerText(), new RegExp(number));
  assert.match(await page.locator('#my-cases-table').innerText(), /ワークフロー確認用の事案/);
  await page.goto(`${base}/cases/${number}`);
  await page.selectOption('#case-status-select', 'resolved');
  await page.fill('#triage-form textarea[name="resolution_summary"]', '不審メールは削除済み');
  await page.click('#triage-submit');
  await page.waitForSelector('#close-confirm');
  assert.equal(await page.locator('#close-confirm h1').innerText(), '未完了のタスクがあります');
  assert.equal(await page.locator('#close-open-tasks tbody tr').count(), 8);
  assert.match(await page.locator('#close-confirm-why').innerText(), new RegExp(`${number}.*「解決」.*8 件`));
  await page.click('#close-confirm-no');
  await page.waitForURL(new RegExp(`/cases/${number}#tasks$`));
  assert.equal(await page.locator('#case-status').innerText(), '対応中');
  // Asked again, and confirmed: the change goes through with what the form held.
  await page.selectOption('#case-status-select', 'resolved');
  await page.fill('#triage-form textarea[name="resolution_summary"]', '不審メールは削除済み');
  await page.click('#triage-submit');
  await page.waitForSelector('#close-confirm');
  await page.click('#close-confirm-yes');
  await page.waitForURL(new RegExp(`/cases/${number}$`));
  assert.equal(await page.locator('#case-status').innerText(), '解決');
  assert.match(await page.locator('body').innerText(), /不審メールは削除済み/);
  await context.close();

  // A viewer reads the case but is offered nothing that writes.
  const viewing = await browser.newContext({ locale: 'en-US', viewport: { width: 1366, height: 900 } });
  const eye = await loginAt(viewing, base, 'eye');
  assert.equal(await eye.locator('#nav-new-case').count(), 0);
  await eye.goto(`${base}/cases/${number}`);
  assert.equal(await eye.locator('#case-number').innerText(), number);
  assert.equal(await eye.locator('#triage-form, #edit, form[action$="/tasks"], #observable-form, #evidence-form, select.js-autosubmit').count(), 0);
  const refused = await eye.goto(`${base}/cases/new`);
  assert.equal(refused.status(), 403);
  await viewing.close();
});

test('a report through the public form, in Japanese and in English, triaged into a case', async () => {
  const reporter = await browser.newContext({ locale: 'ja-JP', viewport: { width: 1366, height: 900 } });
  const page = await reporter.newPage();
  const shot = (name) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });

  // Japanese: no login needed. The browser does the proof of work while the reporter types;
  // the server refuses forms sent within 3 seconds of loading, so the typing takes its time.
  await page.goto(`${base}/report`);
  assert.match(await page.locator('h1').innerText(), /インシデントの報告/);
  await page.fill('#reporter_name', '佐藤 一郎');
  await page.fill('#reporter_contact', 'ichiro@example.jp');
  await page.fill('#subject', 'フィッシングサイトの報告');
  await page.fill('#body', '当社を騙るフィッシングサイト https://login-example.jp/verify を確認しました。');
  await page.waitForTimeout(3200);
  await shot('10-report-form-ja');
  await page.click('#report-submit');
  await page.waitForURL(/\/report$/);
  const tracking = (await page.locator('#tracking').innerText()).trim();
  assert.match(tracking, /^HK-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/);
  assert.match(await page.locator('h1').innerText(), /報告を受け付けました/);
  await shot('11-report-done-ja');

  // English, anonymous.
  await page.goto(`${base}/report?lang=en`);
  assert.match(await page.locator('h1').innerText(), /Report an incident/);
  await page.fill('#subject', 'Port scan from 198.51.100.23');
  await page.fill('#body', 'We saw a port scan against our VPN gateway from 198.51.100.23 last night.');
  await page.waitForTimeout(3200);
  await page.click('#report-submit');
  await page.waitForURL(/\/report$/);
  assert.match(await page.locator('h1').innerText(), /Your report has been received/);
  assert.match(await page.locator('body').innerText(), /You left no contact/);
  await reporter.close();

  // The team sees both in the queue and opens a case from the Japanese one.
  const team = await browser.newContext({ locale: 'ja-JP', viewport: { width: 1366, height: 900 } });
  const t = await team.newPage();
  await t.goto(`${base}/login`);
  await t.fill('#username', 'lead');
  await t.fill('#password', PASSWORD);
  await t.click('#login-submit');
  await t.waitForURL(/\/cases$/);
  await navTo(t, 'nav-reports');
  await t.waitForURL(/\/reports$/);
  assert.equal(await t.locator('#reports-table tbody tr').count(), 2);
  await t.screenshot({ path: join(ARTIFACTS, '12-triage-queue.png'), fullPage: true });
  await t.click(`a.report-link:has-text("${tracking}")`);
  assert.match(await t.locator('#report-suggested').innerText(), /フィッシング/);
  assert.match(await t.locator('#report-observables').innerText(), /https:\/\/login-example\.jp\/verify/);
  await t.click('#report-to-case');
  await t.waitForURL(/\/cases\/\d{4}-\d{4}$/);
  assert.match(await t.locator('h1').innerText(), /フィッシングサイトの報告/);
  assert.match(await t.locator('body').innerText(), /login-example\.jp/);
  await t.screenshot({ path: join(ARTIFACTS, '13-case-from-report.png'), fullPage: true });
  await team.close();
});

/** A second server with `rules` (file name → YAML lines) loaded, on its own data folder, with
 * a handler `soc` and an API token for it. */
async function startLive(rules) {
  const dir = mkdtempSync(join(tmpdir(), 'hikeshi-browser-live-'));
  const folder = join(dir, 'rules');
  mkdirSync(folder);
  for (const [name, lines] of Object.entries(rules)) writeFileSync(join(folder, name), lines.join('\n'));
  for (const [user, role] of [['soc', 'handler'], ['eye', 'viewer']]) {
    const add = spawnSync(BIN, ['user', 'add', user, '--role', role, '--data-dir', dir], { input: `${PASSWORD}\n` });
    assert.equal(add.status, 0, `user add failed: ${add.stderr}`);
  }
  const token = spawnSync(BIN, ['token', 'create', '--user', 'soc', '--data-dir', dir]).stdout.toString().trim();
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const proc = spawn(BIN, ['serve', '--listen', `127.0.0.1:${port}`, '--data-dir', dir, '--rules', folder], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, HIKESHI_LOG: 'warn' } });
  const stop = async () => {
    proc.kill('SIGTERM');
    await new Promise((r) => proc.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  };
  try { await waitReady(`${url}/readyz`); } catch (e) { await stop(); throw e; }
  const send = async (lines) => {
    const r = await fetch(`${url}/api/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: lines.map((l) => JSON.stringify(l)).join('\n') });
    assert.equal(r.status, 200, await r.text());
  };
  return { url, token, send, stop };
}

async function loginAt(context, url, user) {
  const page = await context.newPage();
  await page.goto(`${url}/login`);
  await page.fill('#username', user);
  await page.fill('#password', PASSWORD);
  await page.click('#login-submit');
  await page.waitForURL(/\/cases$/);
  return page;
}

const SHADOWS_RULE = [
  'title: Shadow Copies Deleted', 'id: 0b1c2d3e-0000-4000-8000-0000000000aa', 'level: high',
  'description: Deleting volume shadow copies is what ransomware does before it encrypts.',
  'references:', '  - https://attack.mitre.org/techniques/T1490/',
  'tags:', '  - attack.impact', '  - attack.t1490',
  'logsource: {category: process_creation, product: windows}',
  'detection:', '  sel:', "    CommandLine|contains: 'delete shadows'", '  filter:', '    User: NT AUTHORITY\\SYSTEM', '  condition: sel and not filter', '',
];

const sysmon = (n, cmd, host = 'PC-KEIRI-01') => ({ Channel: 'Microsoft-Windows-Sysmon/Operational', EventID: 1, Computer: host, User: 'CORP\\sato', CommandLine: cmd, RecordID: n });

test('the alert queue updates by itself and escalates selected alerts, in Japanese and English', async () => {
  const { url, token, send, stop } = await startLive({ 'shadows.yml': SHADOWS_RULE });
  try {
    const context = await browser.newContext({ locale: 'ja-JP', viewport: { width: 1366, height: 900 } });
    const page = await loginAt(context, url, 'soc');
    await navTo(page, 'nav-alerts');
    await page.waitForURL(/\/alerts$/);
    assert.equal(await page.locator('h1').first().innerText(), 'アラートキュー');
    assert.equal(await page.locator('#alerts-empty').isVisible(), true);
    await page.waitForSelector('#alerts-live-state.live');

    // Events arrive over the API while the page is open: the rows appear without a reload.
    await send([sysmon(1, 'notepad.exe'), sysmon(2, 'vssadmin delete shadows /all'), sysmon(3, 'vssadmin delete shadows /quiet')]);
    // The PC is in the inventory under its full name: the case will show it as hit.
    const asset = await fetch(`${url}/api/v1/assets`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'pc-keiri-01.corp.example.jp', kind: 'pc', hostnames: ['pc-keiri-01.corp.example.jp'], department: '経理部' }) });
    assert.equal(asset.status, 201, await asset.text());
    await page.waitForSelector('#alert-rows tr.alert-row', { timeout: 10000 });
    assert.equal(await page.locator('#alerts-empty').isVisible(), false);
    const row = page.locator('#alert-rows tr.alert-row').first();
    assert.match(await row.locator('.alert-title').innerText(), /Shadow Copies Deleted/);
    assert.equal(await row.locator('.alert-host').innerText(), 'PC-KEIRI-01');
    assert.equal(await row.locator('.alert-count').innerText(), '2');
    assert.equal(await row.locator('.alert-level').innerText(), '高');
    await page.screenshot({ path: join(ARTIFACTS, '20-alert-queue-ja.png'), fullPage: true });

    // English, then escalate the selected alert to a new case.
    await page.click('#lang-switch');
    await page.waitForLoadState();
    assert.equal(await page.locator('h1').first().innerText(), 'Alert queue');
    assert.equal(await page.locator('#alert-rows .alert-status').first().innerText(), 'New');
    await page.check('#alert-check-all');
    await page.selectOption('#bulk-action', 'escalate');
    await page.screenshot({ path: join(ARTIFACTS, '21-alert-queue-en.png'), fullPage: true });
    await page.click('#bulk-apply');
    await page.waitForURL(/\/cases\/\d{4}-\d{4}$/);
    assert.match(await page.locator('h1').innerText(), /Shadow Copies Deleted \(PC-KEIRI-01\)/);
    assert.match(await page.locator('body').innerText(), /pc-keiri-01/i);
    assert.match(await page.locator('#case-alerts-table').innerText(), /Shadow Copies Deleted/);
    assert.match(await page.locator('#assets-hit').innerText(), /pc-keiri-01\.corp\.example\.jp/);
    await page.goto(`${url}/alerts?status=escalated`);
    assert.equal(await page.locator('#alert-rows .alert-status').first().innerText(), 'Escalated');
    await context.close();
  } finally {
    await stop();
  }
});

test('an alert page shows the rule, the events as stored with the matched field, and suppresses alerts like it in one click, in Japanese and English', async () => {
  const { url, token, send, stop } = await startLive({ 'shadows.yml': SHADOWS_RULE });
  try {
    await send([sysmon(7, 'vssadmin delete shadows /all /quiet')]);
    const api = async (path) => (await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${token}` } })).json();
    let alerts = [];
    for (let i = 0; i < 100 && alerts.length === 0; i++) {
      alerts = await api('/api/v1/alerts?status=new');
      if (alerts.length === 0) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(alerts.length, 1, JSON.stringify(alerts));
    const context = await browser.newContext({ locale: 'ja-JP', viewport: { width: 1366, height: 900 } });
    const page = await loginAt(context, url, 'soc');
    await navTo(page, 'nav-alerts');
    await page.waitForURL(/\/alerts$/);
    await page.click('#alert-rows .alert-link');
    await page.waitForURL(/\/alerts\/[0-9a-z]+$/);
    assert.equal(await page.locator('h1').innerText(), 'Shadow Copies Deleted');
    assert.equal(await page.locator('#alert-rule h2').innerText(), '検知ルール');
    assert.match(await page.locator('#alert-rule-description').innerText(), /ransomware/);
    assert.equal(await page.locator('#alert-tags a.attack-tag').getAttribute('href'), 'https://attack.mitre.org/techniques/T1490/');
    assert.equal(await page.locator('#alert-references a').innerText(), 'https://attack.mitre.org/techniques/T1490/');
    // The field the rule matched is marked; the filter's field (User) is not, though present.
    const matched = page.locator('#alert-events tr.event-field.matched');
    assert.equal(await matched.count(), 1);
    assert.equal(await matched.locator('th').innerText(), 'CommandLine');
    assert.equal(await matched.locator('mark').innerText(), 'vssadmin delete shadows /all /quiet');
    assert.equal(await page.locator('#alert-events tr.event-field:not(.matched) th', { hasText: /^User$/ }).count(), 1);
    await page.click('#alert-events details.stored-event summary');
    const stored = JSON.parse(await page.locator('#alert-events details.stored-event pre').innerText());
    assert.equal(stored.RecordID, 7);
    assert.equal(stored.Computer, 'PC-KEIRI-01');
    assert.match(await page.locator('#alert-history').innerText(), /まだ変更されていません/);
    assert.deepEqual(await seriousViolations(page), [], 'axe-core on the alert page (ja)');
    await page.screenshot({ path: join(ARTIFACTS, '22-alert-page-ja.png'), fullPage: true });

    // Acknowledge from the page: it comes back to the alert, and the history says who.
    await page.selectOption('#alert-move', 'acknowledged');
    await page.click('#alert-move-apply');
    await page.waitForSelector('#alert-status[data-status="acknowledged"]');
    assert.match(await page.locator('#alert-history').innerText(), /soc/);
    assert.equal(await page.locator('#alert-move option[value="acknowledged"]').count(), 0, 'no move to where it already is');

    // English; suppress this rule on this host, without typing the rule's id.
    await page.click('#lang-switch');
    await page.waitForURL(/lang_switched=1/);
    await page.waitForLoadState('load');
    assert.equal(await page.locator('#alert-rule h2').innerText(), 'The rule');
    assert.match(await page.locator('#alert-suppression label.choice').first().innerText(), /This rule on host PC-KEIRI-01/);
    assert.match(await page.locator('#alert-suppression').innerText(), /This rule when CommandLine is/);
    assert.deepEqual(await seriousViolations(page), [], 'axe-core on the alert page (en)');
    await page.fill('#alert-suppress-reason', 'backup software on the accounting PC');
    await page.fill('#alert-suppress-days', '7');
    await page.locator('#alert-suppress-save').click();
    await page.waitForURL(/\/alerts\/[0-9a-z]+#alert-suppression$/);
    await page.screenshot({ path: join(ARTIFACTS, '23-alert-page-en.png'), fullPage: true });
    const rules = await api('/api/v1/suppressions');
    assert.equal(rules.length, 1, JSON.stringify(rules));
    assert.deepEqual([rules[0].rule_id, rules[0].host, rules[0].author], ['0b1c2d3e-0000-4000-8000-0000000000aa', 'PC-KEIRI-01', 'soc']);
    // A new hit on that host is silenced; the same rule on another host is not.
    await send([sysmon(8, 'vssadmin delete shadows /all', 'PC-KEIRI-01'), sysmon(9, 'vssadmin delete shadows /all', 'PC-SOUMU-02')]);
    let silenced = [];
    for (let i = 0; i < 100 && silenced.length === 0; i++) {
      silenced = await api('/api/v1/alerts?status=suppressed');
      if (silenced.length === 0) await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual(silenced.map((a) => a.host), ['PC-KEIRI-01']);
    assert.deepEqual((await api('/api/v1/alerts?status=new')).map((a) => a.host), ['PC-SOUMU-02']);
    await context.close();

    // A viewer reads the same page without any way to change it.
    const viewing = await browser.newContext({ locale: 'en-US', viewport: { width: 1366, height: 900 } });
    const eye = await loginAt(viewing, url, 'eye');
    await eye.goto(`${url}/alerts/${alerts[0].id}`);
    assert.equal(await eye.locator('h1').innerText(), 'Shadow Copies Deleted');
    assert.equal(await eye.locator('#alert-actions, #alert-suppression, #bulk-form').count(), 0);
    await viewing.close();
  } finally {
    await stop();
  }
});

test('the vulnerability queue and an asset page, in Japanese and English', async () => {
  const token = spawnSync(BIN, ['token', 'create', '--user', 'lead', '--data-dir', dataDir]).stdout.toString().trim();
  const cve = (id, vector, pkg) => [id, { cveID: id, confidences: [{ score: 100, detectionMethod: 'OvalMatch' }],
    affectedPackages: [{ name: pkg, fixedIn: '2.0' }],
    cveContents: { nvd: [{ type: 'nvd', cveID: id, cvss3Vector: vector }] } }];
  const report = { jsonVersion: 4, serverName: 'web-kansai-01', family: 'ubuntu', release: '22.04', ipv4Addrs: ['192.0.2.50'],
    scannedCves: Object.fromEntries([
      cve('CVE-2024-3400', 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', 'pan-os'),
      cve('CVE-2023-0002', 'CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:L/I:L/A:N', 'zlib'),
    ]) };
  const post = (path, body) => fetch(`${base}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body });
  let r = await post('/api/v1/imports/vulns?name=web.json', JSON.stringify(report));
  assert.equal(r.status, 200, await r.text());
  r = await post('/api/v1/intel/kev', JSON.stringify({ vulnerabilities: [{ cveID: 'CVE-2024-3400', dateAdded: '2024-04-12' }] }));
  assert.equal(r.status, 200, await r.text());

  const context = await browser.newContext({ locale: 'ja-JP', viewport: { width: 1366, height: 900 } });
  const page = await context.newPage();
  await page.goto(`${base}/login`);
  await page.fill('#username', 'lead');
  await page.fill('#password', PASSWORD);
  await page.click('#login-submit');
  await page.waitForURL(/\/cases$/);
  await navTo(page, 'nav-vulns');
  await page.waitForURL(/\/vulns$/);
  assert.equal(await page.locator('h1').first().innerText(), '脆弱性キュー');
  const first = page.locator('tr.finding-row').first();
  assert.equal(await first.locator('.finding-cve').innerText(), 'CVE-2024-3400');
  assert.match(await first.locator('.finding-why').innerText(), /KEV掲載 CVE-2024-3400 \(\+25\)/);
  assert.match(await first.locator('.finding-why').innerText(), /資産価値 3 \(本番\) \(\+10\)/);
  await page.check('#filter-kev');
  await page.click('#vuln-filter-submit');
  await page.waitForURL(/kev=1/);
  assert.equal(await page.locator('tr.finding-row').count(), 1);
  await page.screenshot({ path: join(ARTIFACTS, '30-vulns-ja.png'), fullPage: true });
  await page.click('tr.finding-row a');
  await page.waitForURL(/\/assets\/[0-9a-z]+$/);
  assert.equal(await page.locator('#asset-name').innerText(), 'web-kansai-01');
  assert.match(await page.locator('#asset-identifiers').innerText(), /192\.0\.2\.50/);
  assert.match(await page.locator('#asset-damage').innerText(), /^3 × 5\.0 × 1 = 15\.0$/);
  assert.equal(await page.locator('#asset-history .history-damage').first().innerText(), '15.0');
  await page.click('#lang-switch');
  await page.waitForLoadState();
  assert.match(await page.locator('#findings h2').innerText(), /^Findings \(2\)/);
  assert.match(await page.locator('.finding-why').first().innerText(), /asset value 3 \(Production\) \(\+10\), CVSS v3 9\.8 \(\+29\), KEV CVE-2024-3400 \(\+25\)/);
  await navTo(page, 'nav-assets');
  await page.waitForURL(/\/assets$/);
  assert.equal(await page.locator('h1').first().innerText(), 'Assets by expected damage');
  assert.equal(await page.locator('#assets-table .asset-damage').first().innerText(), '15.0');
  await page.screenshot({ path: join(ARTIFACTS, '31-assets-en.png'), fullPage: true });
  // Register an asset by hand, then mark it internet-facing.
  await page.fill('#asset-form-name', 'nas-01');
  await page.fill('#asset-form-hostnames', 'nas-01.corp.example.jp nas-01');
  await page.fill('#asset-form-ips', '192.0.2.60');
  await page.fill('#asset-form-c', '5');
  await page.click('#asset-form-save');
  await page.waitForURL(/\/assets\/[0-9a-z]+$/);
  assert.equal(await page.locator('#asset-name').innerText(), 'nas-01');
  assert.match(await page.locator('#asset-identifiers').innerText(), /nas-01\.corp\.example\.jp/);
  await page.check('#asset-form-facing');
  await page.click('#asset-form-save');
  await page.waitForLoadState();
  assert.match(await page.locator('.facts').innerText(), /internet-facing/);
  await context.close();
});

test('the CISO dashboard, the monthly report, statistics, the countermeasure map and the self-check, in Japanese and English', async () => {
  const context = await browser.newContext({ locale: 'ja-JP', viewport: { width: 1366, height: 900 } });
  const page = await context.newPage();
  await page.goto(`${base}/login`);
  await page.fill('#username', 'lead');
  await page.fill('#password', PASSWORD);
  await page.click('#login-submit');
  await page.waitForURL(/\/cases$/);
  await navTo(page, 'nav-dashboard');
  await page.waitForURL(/\/dashboard$/);
  // An earlier test may have left this user in English.
  if ((await page.locator('html').getAttribute('lang')) === 'en') {
    await page.click('#lang-switch');
    await page.waitForLoadState();
  }
  assert.match(await page.locator('h1').first().innerText(), /^CISOダッシュボード/);
  for (const kpi of ['attack', 'protect', 'suspicious', 'indirect']) {
    assert.equal(await page.locator(`#kpi-${kpi}`).count(), 1, kpi);
  }
  const attackBefore = Number(await page.locator('#kpi-attack .kpi-headline strong').innerText());

  // An external event raises the attack headline by one.
  await page.selectOption('#entry-kind', 'external_event');
  await page.fill('#entry-title', '同業他社でランサムウェア被害の報道');
  await page.click('#entry-save');
  await page.waitForURL(/\/dashboard\?month=/);
  assert.match(await page.locator('#entries-table').innerText(), /同業他社でランサムウェア被害の報道/);
  assert.equal(Number(await page.locator('#kpi-attack .kpi-headline strong').innerText()), attackBefore + 1);
  assert.equal(await page.locator('#kpi-attack .badge').getAttribute('data-level'), '2');

  // A leaver's accounts are an indirect risk until someone marks them done.
  const headline = async (kpi) => Number(await page.locator(`#kpi-${kpi} .kpi-headline strong`).innerText());
  const indirectBefore = await headline('indirect');
  await page.selectOption('#entry-kind', 'leaver');
  await page.fill('#entry-title', '営業部 退職者のアカウント');
  await Promise.all([page.waitForNavigation(), page.click('#entry-save')]);
  assert.equal(await headline('indirect'), indirectBefore + 1);
  await Promise.all([
    page.waitForNavigation(),
    page.locator('#entries-table tr', { hasText: '営業部 退職者のアカウント' }).locator('.entry-done').click(),
  ]);
  assert.equal(await headline('indirect'), indirectBefore);

  // The CISO raises the level to 3, with a reason.
  await page.selectOption('#override-kpi', 'attack');
  await page.selectOption('#override-level', '3');
  await page.fill('#override-remark', '取引先を狙う攻撃が続いています');
  await page.fill('#override-reason', '業界団体からの注意喚起');
  // Already on /dashboard?month=…: wait for the navigation the submit starts, not the URL.
  await Promise.all([page.waitForNavigation(), page.click('#override-save')]);
  assert.equal(await page.locator('#kpi-attack .badge').getAttribute('data-level'), '3');
  assert.match(await page.locator('#kpi-attack .badge').innerText(), /要対応/);
  assert.match(await page.locator('#kpi-attack').innerText(), /CISOによる上書き/);
  assert.match(await page.locator('#override-history').innerText(), /業界団体からの注意喚起/);
  await page.screenshot({ path: join(ARTIFACTS, '40-dashboard-ja.png'), fullPage: true });

  // Issue the Japanese report: it is listed with its hash and downloads as a PDF.
  await page.selectOption('#issue-lang', 'ja');
  await Promise.all([page.waitForNavigation(), page.click('#issue-save')]);
  assert.match(await page.locator('#issued-reports').innerText(), /[0-9a-f]{64}/);
  const issued = await page.request.get(`${base}${await page.locator('#issued-reports .issued-link').first().getAttribute('href')}`);
  assert.equal(issued.headers()['content-type'], 'application/pdf');

  // The monthly report in Japanese, as a page and as a PDF.
  const month = await page.locator('#dashboard-month').innerText();
  await page.click('#report-html-ja');
  await page.waitForURL(/\/monthly\?/);
  assert.equal(await page.locator('#report-title').innerText(), `月次セキュリティ報告 ${month}`);
  assert.equal(await page.locator('#report-kpi-attack .badge').getAttribute('data-level'), '3');
  assert.match(await page.locator('#report-kpi-attack').innerText(), /取引先を狙う攻撃が続いています/);
  assert.equal(await page.locator('svg#report-trend rect').count(), 13);
  await page.screenshot({ path: join(ARTIFACTS, '41-monthly-ja.png'), fullPage: true });
  const pdf = await page.request.get(`${base}/monthly?month=${month}&lang=ja&format=pdf`);
  assert.equal(pdf.status(), 200);
  assert.equal(pdf.headers()['content-type'], 'application/pdf');
  assert.equal((await pdf.body()).subarray(0, 5).toString(), '%PDF-');

  // English: the dashboard and the report.
  await page.goto(`${base}/dashboard`);
  await page.click('#lang-switch');
  await page.waitForLoadState();
  assert.match(await page.locator('h1').first().innerText(), /^CISO dashboard/);
  assert.match(await page.locator('#kpi-attack .badge').innerText(), /Action needed/);
  assert.match(await page.locator('#kpi-attack').innerText(), /Overridden by the CISO/);
  await page.screenshot({ path: join(ARTIFACTS, '42-dashboard-en.png'), fullPage: true });
  await page.click('#report-html-en');
  await page.waitForURL(/\/monthly\?/);
  assert.equal(await page.locator('#report-title').innerText(), `Monthly security report ${month}`);
  assert.match(await page.locator('#report-kpi-protect').innerText(), /Protect condition/);

  // Statistics with their charts and CSV.
  await page.goto(`${base}/stats`);
  assert.match(await page.locator('h1').first().innerText(), /^Incident statistics/);
  assert.equal(await page.locator('svg#chart-category').count(), 1);
  assert.equal(await page.locator('svg#chart-monthly rect').count(), 13);
  assert.match(await page.locator('#response-table').innerText(), /Time to acknowledge/);
  const csv = await page.request.get(`${base}${await page.locator('#stats-csv').getAttribute('href')}`);
  assert.equal(csv.status(), 200);
  assert.match(await csv.text(), /^dimension,code,period,count/);
  await page.screenshot({ path: join(ARTIFACTS, '43-stats-en.png'), fullPage: true });

  // The countermeasure map: a registered control fills its cell.
  await navTo(page, 'nav-coverage');
  await page.waitForURL(/\/coverage$/);
  await page.fill('#control-name', 'EDR (全端末)');
  await page.selectOption('#control-layer', 'endpoint');
  await page.selectOption('#control-function', 'protect');
  await page.selectOption('#control-effectiveness', 'effective');
  await page.click('#control-save');
  await page.waitForURL(/\/coverage$/);
  assert.match(await page.locator('#controls').innerText(), /EDR \(全端末\)/);
  const endpointRow = page.locator('#coverage-map tbody tr').nth(2);
  assert.equal(await endpointRow.locator('td').nth(2).getAttribute('data-coverage'), 'covered');
  assert.match(await page.locator('#gaps').innerText(), /No control registered/);
  await page.screenshot({ path: join(ARTIFACTS, '44-coverage-en.png'), fullPage: true });

  // The self-check in Japanese: the radar and the gap list.
  await page.click('#lang-switch');
  await page.waitForLoadState();
  await navTo(page, 'nav-maturity');
  await page.waitForURL(/\/maturity$/);
  assert.match(await page.locator('h1').first().innerText(), /^成熟度セルフチェック/);
  await page.fill('#maturity-title', '2026年度 上期');
  await page.selectOption('#as_is_exercises', '0');
  await page.selectOption('#to_be_exercises', '3');
  await page.selectOption('#as_is_monitoring_detection', '2');
  await page.selectOption('#to_be_monitoring_detection', '3');
  await page.click('#maturity-save');
  await page.waitForURL(/\/maturity$/);
  assert.equal(await page.locator('svg#maturity-radar').count(), 1);
  const firstGap = page.locator('#maturity-gaps tbody tr').first();
  assert.match(await firstGap.innerText(), /演習/);
  assert.match(await page.locator('#maturity-history').innerText(), /2026年度 上期/);
  await page.screenshot({ path: join(ARTIFACTS, '45-maturity-ja.png'), fullPage: true });
  await context.close();
});

test('a case shared as STIX 2.1: the preview shows what leaves and why the rest stays, in Japanese and English', async () => {
  const token = spawnSync(BIN, ['token', 'create', '--user', 'lead', '--data-dir', dataDir]).stdout.toString().trim();
  const api = async (method, path, body) => {
    const r = await fetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const text = await r.text();
    assert.ok(r.ok, `${method} ${path}: ${r.status} ${text}`);
    return JSON.parse(text);
  };
  const created = await api('POST', '/api/v1/cases', { title: '請求書を装う標的型メール', description: '経理部の 10.20.30.40 が C2 203.0.113.99 に接続。', tlp: 'green' });
  const number = created.number;
  for (const [kind, value, tlp] of [['ip', '203.0.113.99', 'green'], ['domain', 'invoice-c2.example', 'green'], ['ip', '10.20.30.40', 'green'], ['domain', 'red-only-canary.example', 'red']]) {
    await api('POST', `/api/v1/cases/${number}/observables`, { kind, value, tlp, ioc: true });
  }

  const context = await browser.newContext({ locale: 'ja-JP', viewport: { width: 1366, height: 900 } });
  const page = await loginAt(context, base, 'lead');
  if ((await page.locator('html').getAttribute('lang')) === 'en') {
    await page.click('#lang-switch');
    await page.waitForURL(/lang_switched=1/);
  }
  await page.goto(`${base}/cases/${number}`);
  await page.click('#case-share');
  await page.waitForURL(new RegExp(`/cases/${number}/share$`));
  assert.equal(await page.locator('h1').innerText(), `STIX 2.1 で共有 — ${number}`);
  await page.selectOption('#share-audience', 'community');
  await page.check('#share-include-summary');
  await page.click('#share-preview');
  await page.waitForURL(/audience=community/);
  assert.equal(await page.locator('#share-description').innerText(), '経理部の [redacted] が C2 203.0.113.99 に接続。');
  const leaves = await page.locator('tr.share-leaves').allInnerTexts();
  assert.equal(leaves.length, 2, leaves.join('\n'));
  assert.match(leaves.join('\n'), /invoice-c2\.example/);
  const stays = await page.locator('tr.share-stays').allInnerTexts();
  assert.equal(stays.length, 2, stays.join('\n'));
  assert.match(stays.find((r) => r.includes('10.20.30.40')), /内部アドレスです/);
  assert.match(stays.find((r) => r.includes('red-only-canary')), /TLP:RED.*共有コミュニティには出せません/);
  assert.deepEqual(await seriousViolations(page), []);
  await page.screenshot({ path: join(ARTIFACTS, '60-share-preview-ja.png'), fullPage: true });

  // The download is the same decision, as a bundle.
  const href = await page.locator('#share-download').getAttribute('href');
  const download = await page.request.get(`${base}${href}`);
  assert.equal(download.status(), 200);
  assert.equal(download.headers()['content-type'], 'application/stix+json;version=2.1');
  const bundle = await download.text();
  assert.match(bundle, /\[domain-name:value = 'invoice-c2\.example'\]/);
  for (const held of ['10.20.30.40', 'red-only-canary', 'e828b379-4e03-4974-9ac4-e53a884c97c1']) assert.ok(!bundle.includes(held), `${held} left`);
  const misp = await page.request.get(`${base}${await page.locator('#share-download-misp').getAttribute('href')}`);
  assert.equal(misp.status(), 200);
  const event = (await misp.json()).Event;
  assert.equal(event.info, '請求書を装う標的型メール');
  assert.deepEqual(event.Attribute.map((a) => a.value).sort(), ['203.0.113.99', 'invoice-c2.example']);
  assert.deepEqual(event.Tag, [{ name: 'tlp:green' }]);

  // In English the reasons are English, and the public gets nothing of a GREEN case.
  await page.click('#lang-switch');
  await page.waitForURL(/lang_switched=1/);
  await page.waitForLoadState('load');
  await page.goto(`${base}/cases/${number}/share?audience=community`);
  assert.match((await page.locator('tr.share-stays').allInnerTexts()).join('\n'), /An internal address/);
  await page.selectOption('#share-audience', 'public');
  await page.click('#share-preview');
  await page.waitForURL(/audience=public/);
  assert.match(await page.locator('#share-refused').innerText(), /The case is marked TLP:GREEN: nothing of it may go to the public/);
  assert.equal(await page.locator('#share-download').count(), 0);
  await page.click('#lang-switch');
  await page.waitForURL(/lang_switched=1/);
  await context.close();
});

async function logIn(page) {
  await page.goto(`${base}/login`);
  await page.fill('#username', 'lead');
  await page.fill('#password', PASSWORD);
  await page.click('#login-submit');
  await page.waitForURL(/\/cases$/);
}

test('the menu on a phone is one button; a skip link, landmarks and a 404 page in both languages', async () => {
  const context = await browser.newContext({ locale: 'ja-JP', viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const page = await context.newPage();
  await logIn(page);
  if ((await page.locator('html').getAttribute('lang')) === 'en') {
    await page.click('#lang-switch');
    await page.waitForLoadState();
  }
  assert.equal(await page.locator('#nav-menu').isVisible(), true, 'one menu button');
  assert.equal(await page.locator('#nav-main').isVisible(), false, 'the links wait behind it');
  assert.equal(await page.locator('header nav').count(), 1);
  await page.screenshot({ path: join(ARTIFACTS, '50-phone-menu-closed.png') });
  const pageWidth = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(pageWidth <= 390, `the page fits the phone (${pageWidth} px)`);
  await page.click('#nav-menu');
  for (const id of ['nav-cases', 'nav-alerts', 'nav-reports', 'nav-assets', 'nav-dashboard', 'nav-settings']) {
    assert.equal(await page.locator(`#${id}`).isVisible(), true, `${id} shows once the menu is open`);
  }
  await page.screenshot({ path: join(ARTIFACTS, '51-phone-menu-open.png') });
  await page.click('#nav-alerts');
  await page.waitForURL(/\/alerts$/);

  // The first Tab reaches the skip link, which moves to the page's main landmark.
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.className), 'skip-link');
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), '本文へ移動');
  await page.keyboard.press('Enter');
  await page.waitForURL(/#main$/);
  assert.equal(await page.locator('header[class="top"], main#main, nav[aria-label]').count(), 3);

  // An unknown address is a real page, in the viewer's language, with the menu.
  const missing = await page.goto(`${base}/no-such-page`);
  assert.equal(missing.status(), 404);
  assert.equal(await page.locator('#error-title').innerText(), '見つかりません');
  assert.equal(await page.locator('#nav-menu').count(), 1);
  await page.click('#lang-switch');
  await page.waitForLoadState();
  assert.equal(await page.locator('#error-title').innerText(), 'Not found');
  await page.click('#lang-switch');
  await page.waitForLoadState();
  await context.close();
});

test('axe-core finds no serious or critical violation on the main pages, in Japanese and English', async () => {
  const context = await browser.newContext({ locale: 'ja-JP', viewport: { width: 1366, height: 900 } });
  const page = await context.newPage();
  const found = [];
  for (const path of ['/login', '/report']) {
    await page.goto(`${base}${path}`);
    for (const v of await seriousViolations(page)) found.push(`${path}: ${v}`);
  }
  await logIn(page);
  // The earlier tests left cases, reports and assets behind: their pages are checked too.
  const firstLink = async (list, pattern) => {
    await page.goto(`${base}${list}`);
    const hrefs = await page.locator('main a[href]').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
    return hrefs.find((h) => pattern.test(h));
  };
  const details = [await firstLink('/cases', /^\/cases\/\d{4}-\d+$/), await firstLink('/reports', /^\/reports\/[^/]+$/), await firstLink('/assets', /^\/assets\/[^/]+$/)];
  assert.equal(details.filter(Boolean).length, 3, `a case, a report and an asset to check: ${details}`);
  const pages = [...details, '/cases', '/cases/new', '/my', '/alerts', '/reports', '/contacts', '/assets', '/vulns', '/dashboard', '/stats', '/coverage', '/maturity', '/settings', '/admin/tokens', '/admin/mail'];
  for (const lang of ['ja', 'en']) {
    if ((await page.locator('html').getAttribute('lang')) !== lang) {
      await page.click('#lang-switch');
      await page.waitForLoadState();
    }
    for (const path of pages) {
      await page.goto(`${base}${path}`);
      for (const v of await seriousViolations(page)) found.push(`${lang} ${path}: ${v}`);
    }
  }
  await context.close();
  assert.deepEqual(found, []);
});
