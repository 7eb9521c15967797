// Browser test, PSIRT: a researcher reports a vulnerability in a product through the public
// form with the PSIRT choice (Japanese, then the English form), the PSIRT turns the report into
// a product vulnerability, states its versions and publishes a signed advisory (four eyes, at
// its release time), and the public advisory pages show it in both languages with working
// links to the CSAF JSON, its hash and its OpenPGP signature.
// Runs the real binary (HIKESHI_BIN), Debian's Chromium (CHROMIUM) and gpg.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort, launchChromium, seriousViolations, waitReady } from './harness.mjs';

const BIN = resolve(process.env.HIKESHI_BIN ?? '../../target/debug/hikeshi');
const ARTIFACTS = resolve('artifacts');
const PASSWORD = 'browser-test-password';

let server, browser, base, dir;

function run(cmd, args, input) {
  const r = spawnSync(cmd, args, { input });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.toString();
}

// The team's signing key: a fresh Ed25519 key without a passphrase, exported to a 0600 file.
function signingKey() {
  const home = join(dir, 'gnupg');
  mkdirSync(home, { mode: 0o700 });
  const gpg = ['--homedir', home, '--batch', '--pinentry-mode', 'loopback', '--passphrase', ''];
  run('gpg', [...gpg, '--quick-gen-key', 'Example PSIRT <psirt@example.jp>', 'ed25519', 'sign', 'never']);
  const key = join(dir, 'psirt-key.asc');
  writeFileSync(key, run('gpg', [...gpg, '--armor', '--export-secret-keys']));
  chmodSync(key, 0o600);
  spawnSync('gpgconf', ['--homedir', home, '--kill', 'gpg-agent']);
  return key;
}

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  dir = mkdtempSync(join(tmpdir(), 'hikeshi-psirt-'));
  const data = join(dir, 'data');
  for (const user of ['alice', 'bob']) run(BIN, ['user', 'add', user, '--role', 'handler', '--data-dir', data], `${PASSWORD}\n`);
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const config = join(dir, 'hikeshi.toml');
  writeFileSync(config, `public_url = "${base}"\n[psirt]\nopenpgp_key_file = "${signingKey()}"\n`);
  server = spawn(BIN, ['serve', '--listen', `127.0.0.1:${port}`, '--data-dir', data, '--config', config], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, HIKESHI_LOG: 'warn' } });
  await waitReady(`${base}/readyz`);
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  if (server) { server.kill('SIGTERM'); await new Promise((r) => server.once('exit', r)); }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function api(user) {
  const token = run(BIN, ['token', 'create', '--user', user, '--data-dir', join(dir, 'data')]).trim();
  return async (method, path, body) => {
    const r = await fetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body && JSON.stringify(body) });
    const json = await r.json();
    assert.ok(r.ok, `${method} ${path}: ${r.status} ${JSON.stringify(json)}`);
    return json;
  };
}

test('a researcher report through the PSIRT choice to a published advisory, in Japanese and English', async () => {
  const context = await browser.newContext({ locale: 'ja-JP', viewport: { width: 1366, height: 900 } });
  const page = await context.newPage();
  const shot = (name) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });

  // The form: the PSIRT part (policy, safe harbour, credit) shows only with the PSIRT choice.
  await page.goto(`${base}/report`);
  assert.equal(await page.locator('#psirt-block').isVisible(), false);
  await page.check('#kind-psirt');
  assert.equal(await page.locator('#psirt-block').isVisible(), true);
  assert.match(await page.locator('#psirt-policy').innerText(), /公表日/);
  assert.match(await page.locator('#safe-harbour').innerText(), /法的措置/);
  assert.deepEqual(await seriousViolations(page), [], 'axe-core on the PSIRT form (ja)');
  await page.fill('#reporter_name', '山田 太郎');
  await page.fill('#reporter_contact', 'taro@example.net');
  await page.fill('#credit', 'Taro Yamada (Example Lab)');
  await page.fill('#subject', 'Router X の管理画面に XSS');
  await page.fill('#body', '機器名の入力欄がエスケープされずに /admin/status に表示されます。');
  await page.waitForTimeout(3200);
  await shot('40-psirt-report-ja');
  await page.click('#report-submit');
  await page.waitForURL(/\/report$/);
  const tracking = (await page.locator('#tracking').innerText()).trim();
  assert.match(tracking, /^HK-/);

  // The English form, opened on the PSIRT choice by a link.
  await page.goto(`${base}/report?lang=en&kind=product_vulnerability`);
  assert.equal(await page.locator('#kind-psirt').isChecked(), true);
  assert.match(await page.locator('#psirt-block').innerText(), /Our disclosure policy[\s\S]*Safe harbour/);
  assert.deepEqual(await seriousViolations(page), [], 'axe-core on the PSIRT form (en)');

  // Triage: the report becomes a product vulnerability; versions, advisory, four eyes.
  const alice = api('alice');
  const bob = api('bob');
  const report = await alice('GET', `/api/v1/reports/${tracking}`);
  assert.equal(report.report.kind, 'product_vulnerability');
  assert.equal(report.report.suggested_category, 'vulnerability');
  const product = await alice('POST', '/api/v1/psirt/products', { vendor: 'Example Corp', name: 'Router X' });
  const version = (v) => alice('POST', `/api/v1/psirt/products/${product.id}/versions`, { version: v, purl: `pkg:generic/example/router-x@${v}` });
  const [v200, v210] = [await version('2.0.0'), await version('2.1.0')];
  const vuln = await alice('POST', '/api/v1/psirt/vulnerabilities', {
    title: 'Stored XSS in the Router X admin page', description: 'The device name is shown on the admin page without escaping.',
    cve: 'CVE-2026-12345', cwe_id: 'CWE-79', cwe_name: "Improper Neutralization of Input During Web Page Generation ('Cross-site Scripting')",
    cvss3_vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N', coordinator: 'jpcert', coordinator_ref: 'JVNVU#12345678', report: tracking,
  });
  assert.equal(vuln.credit, 'Taro Yamada (Example Lab)');
  await alice('PUT', `/api/v1/psirt/vulnerabilities/${vuln.id}/versions`, { versions: [
    { version_id: v200.id, status: 'known_affected', remediation: 'vendor_fix', remediation_details: 'Update to version 2.1.0.', remediation_url: `${base}/downloads/router-x-2.1.0` },
    { version_id: v210.id, status: 'fixed' },
  ] });
  const advisory = await alice('POST', `/api/v1/psirt/vulnerabilities/${vuln.id}/advisories`, { tracking_id: 'EXAMPLE-SA-2026-001', profile: 'csaf_security_advisory', summary: 'Router X 2.0.0 is affected; update to 2.1.0.' });
  const releaseAt = new Date(Date.now() + 3000);
  const revision = await alice('POST', `/api/v1/psirt/advisories/${advisory.id}/revisions`, { status: 'final', summary: 'Initial release', release_at: releaseAt.toISOString() });
  await bob('POST', `/api/v1/psirt/advisories/${advisory.id}/revisions/1/approve`, { sha256: revision.sha256 });

  // Before the release time the public page knows nothing of it.
  await page.goto(`${base}/advisories`);
  assert.equal(await page.locator('#advisories-none').isVisible(), true);
  await page.waitForTimeout(Math.max(0, releaseAt - Date.now()) + 500);

  for (const [lang, affected, fixed, credits] of [['ja', '影響あり', '修正済み', '謝辞'], ['en', 'Affected', 'Fixed', 'Credits']]) {
    await page.goto(`${base}/advisories?lang=${lang}`);
    assert.equal(await page.getAttribute('html', 'lang'), lang);
    assert.match(await page.locator('#advisories').innerText(), /EXAMPLE-SA-2026-001/);
    await page.click('#advisories a:has-text("Stored XSS")');
    await page.waitForURL(/\/advisories\/\d{4}\/example-sa-2026-001/);
    const text = await page.locator('#advisory').innerText();
    for (const needle of [affected, fixed, credits, 'Taro Yamada (Example Lab)', 'Router X 2.0.0', 'Router X 2.1.0', 'Update to version 2.1.0.', 'CVE-2026-12345', 'CWE-79', '1.0.0']) {
      assert.ok(text.includes(needle), `${lang}: ${needle} in ${text}`);
    }
    assert.deepEqual(await seriousViolations(page), [], `axe-core on the advisory page (${lang})`);
    await shot(`41-advisory-${lang}`);
  }

  // The links: the JSON, its hash (matching) and its signature.
  const href = async (id) => new URL(await page.locator(id).getAttribute('href'), base).href;
  const json = await (await page.request.get(await href('#link-json'))).text();
  assert.equal(JSON.parse(json).document.tracking.id, 'EXAMPLE-SA-2026-001');
  const sha = await (await page.request.get(await href('#link-sha256'))).text();
  assert.equal(sha.split(/\s+/)[0], createHash('sha256').update(json).digest('hex'));
  const signature = await page.request.get(await href('#link-signature'));
  assert.equal(signature.status(), 200);
  assert.match(await signature.text(), /^-----BEGIN PGP SIGNATURE-----/);
  await context.close();
});
