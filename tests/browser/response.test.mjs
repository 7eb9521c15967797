// Browser test of automated response against a real nftables: a policy in approve mode, an
// alert from 127.0.0.2, the approval on the queue page in Japanese, the block read back as
// active (127.0.0.2 can no longer connect), then the revoke on the action's page in English
// (it connects again). The test runs itself again inside `unshare -rn`, a network namespace
// of its own where it is root: nothing outside it is touched.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import { chromium } from 'playwright-core';
import { navTo } from './menu.mjs';

const BIN = resolve(process.env.HIKESHI_BIN ?? '../../target/debug/hikeshi');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const ARTIFACTS = resolve('artifacts');
const PASSWORD = 'browser-test-password';
const RULE_ID = '6f1c6d2e-3b1a-4c53-9a55-0a7e1f3d2b10';
const ATTACKER = '127.0.0.2';

if (!process.env.HIKESHI_BROWSER_NETNS) {
  test('automated response in the browser, inside a network namespace of its own', (t) => {
    // A fresh test run inside: without the outer runner's context, which would make the
    // inner one skip its file and pass.
    const env = { ...process.env, HIKESHI_BROWSER_NETNS: '1' };
    delete env.NODE_TEST_CONTEXT;
    const inner = spawnSync('unshare', ['-rn', process.execPath, '--test', fileURLToPath(import.meta.url)], { env, stdio: 'inherit' });
    const root = process.getuid?.() === 0;
    if (inner.error && !root) {
      // Only where the namespace cannot be had; CI runs as root and must not get here.
      t.skip(`skipped: unshare -rn is not available here (${inner.error.message})`);
      return;
    }
    assert.equal(inner.status, 0, 'the browser test failed inside its network namespace');
  });
} else {
  test('a block approved in Japanese, read back as active, and revoked in English', async () => {
    const up = spawnSync('ip', ['link', 'set', 'lo', 'up']);
    assert.equal(up.status, 0, `ip link set lo up: ${up.stderr}`);
    mkdirSync(ARTIFACTS, { recursive: true });
    const { url, send, stop } = await start();
    const service = await echoServer();
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    try {
      assert.equal(await connects(ATTACKER, service.port), true, 'the attacker connects before the block');
      await send({ SYSLOG_IDENTIFIER: 'sshd', host: 'web1', MESSAGE: `Failed password for root from ${ATTACKER} port 4711 ssh2`, src_ip: ATTACKER });

      const context = await browser.newContext({ locale: 'ja-JP', viewport: { width: 1366, height: 900 } });
      const page = await context.newPage();
      await page.goto(`${url}/login`);
      await page.fill('#username', 'soc');
      await page.fill('#password', PASSWORD);
      await page.click('#login-submit');
      await page.waitForURL(/\/cases$/);
      await navTo(page, 'nav-response');
      await page.waitForURL(/\/response$/);
      assert.equal(await page.locator('h1').first().innerText(), '自動対応');
      const row = page.locator('#response-actions tr', { hasText: `${ATTACKER}/32` });
      await row.waitFor();
      assert.match(await row.innerText(), /承認待ち/);
      assert.equal(await connects(ATTACKER, service.port), true, 'nothing happens before the approval');
      await page.screenshot({ path: join(ARTIFACTS, '40-response-queue-ja.png'), fullPage: true });

      // The approval carries the plan's hash; the reconciler applies and reads it back.
      await row.locator('button.action-approve').click();
      await page.waitForURL(/\/response\/actions\/[^/]+$/);
      assert.match(await page.locator('#action-plan').innerText(), new RegExp(ATTACKER.replaceAll('.', '\\.')));
      await untilText(page, '#action-state', '有効');
      assert.match(await page.locator('#action-answer').innerText(), /read back from nftables/);
      const listing = spawnSync('nft', ['list', 'table', 'inet', 'hikeshi']).stdout.toString();
      assert.match(listing, new RegExp(ATTACKER.replaceAll('.', '\\.')), listing);
      assert.equal(await connects(ATTACKER, service.port), false, 'the attacker is blocked');
      assert.equal(await connects('127.0.0.3', service.port), true, 'another sender still connects');
      await page.screenshot({ path: join(ARTIFACTS, '41-response-active-ja.png'), fullPage: true });

      // English, and the way back: revoke now.
      await page.click('#lang-switch');
      await page.waitForLoadState();
      assert.match(await page.locator('#action-state').innerText(), /^Active \(verified\)/);
      assert.match(await page.locator('#action-history').innerText(), /Waiting for approval[\s\S]*Approved[\s\S]*Active \(verified\)/);
      await page.click('button.action-revoke');
      await page.waitForLoadState();
      await untilText(page, '#action-state', 'Revoked');
      await page.screenshot({ path: join(ARTIFACTS, '42-response-revoked-en.png'), fullPage: true });
      const deadline = Date.now() + 3000;
      while (!(await connects(ATTACKER, service.port))) {
        assert.ok(Date.now() < deadline, 'the attacker connects again after the revoke');
        await new Promise((r) => setTimeout(r, 100));
      }
      await context.close();
    } finally {
      await browser.close();
      service.close();
      await stop();
    }
  });
}

async function untilText(page, selector, text) {
  const deadline = Date.now() + 5000;
  for (;;) {
    const now = await page.locator(selector).innerText();
    if (now.includes(text)) return;
    assert.ok(Date.now() < deadline, `${selector} shows "${now}", not "${text}"`);
    await new Promise((r) => setTimeout(r, 200));
    await page.reload();
  }
}

function freePort() {
  return new Promise((ok, fail) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => { const { port } = srv.address(); srv.close(() => ok(port)); });
    srv.on('error', fail);
  });
}

function echoServer() {
  return new Promise((ok) => {
    const srv = net.createServer((c) => c.pipe(c));
    srv.listen(0, '127.0.0.1', () => ok({ port: srv.address().port, close: () => srv.close() }));
  });
}

// Whether a TCP connection from `from` opens within half a second.
function connects(from, port) {
  return new Promise((ok) => {
    const s = net.connect({ host: '127.0.0.1', port, localAddress: from });
    const done = (v) => { s.destroy(); ok(v); };
    s.setTimeout(500, () => done(false));
    s.on('connect', () => done(true));
    s.on('error', () => done(false));
  });
}

async function start() {
  const dir = mkdtempSync(join(tmpdir(), 'hikeshi-browser-response-'));
  const rules = join(dir, 'rules');
  mkdirSync(rules);
  writeFileSync(join(rules, 'ssh.yml'), [
    'title: SSH Failed password', `id: ${RULE_ID}`, 'level: medium', 'tags: [attack.credential-access, attack.t1110]',
    'logsource: {product: linux, service: sshd}', 'detection:', '  sel:', "    MESSAGE|contains: 'Failed password'", '  condition: sel', '',
  ].join('\n'));
  const config = join(dir, 'hikeshi.toml');
  writeFileSync(config, [
    '[response]', 'reconcile_every_ms = 200', 'lease_ms = 2000', '', '[response.nftables]', '',
    '[[response.policies]]', 'name = "ssh-approve"', `when = { rule_ids = ["${RULE_ID}"] }`, 'target = "src_ip"',
    'action = "block_ip"', 'mode = "approve"', 'ttl_secs = 600', '',
  ].join('\n'));
  const add = spawnSync(BIN, ['user', 'add', 'soc', '--role', 'handler', '--data-dir', dir], { input: `${PASSWORD}\n` });
  assert.equal(add.status, 0, `user add failed: ${add.stderr}`);
  const token = spawnSync(BIN, ['token', 'create', '--user', 'soc', '--data-dir', dir]).stdout.toString().trim();
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const proc = spawn(BIN, ['serve', '--listen', `127.0.0.1:${port}`, '--data-dir', dir, '--rules', rules, '--config', config], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, HIKESHI_LOG: 'warn' } });
  const stop = async () => {
    proc.kill('SIGTERM');
    await new Promise((r) => proc.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  };
  for (let i = 0; ; i++) {
    try { if ((await fetch(`${url}/readyz`)).ok) break; } catch { /* not yet */ }
    if (i > 200) { await stop(); throw new Error(`hikeshi did not become ready at ${url}`); }
    await new Promise((r) => setTimeout(r, 100));
  }
  const send = async (event) => {
    const r = await fetch(`${url}/api/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: JSON.stringify(event) });
    assert.equal(r.status, 200, await r.text());
  };
  return { url, send, stop };
}
