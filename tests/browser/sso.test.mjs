// Browser test of single sign-on: a directory user logs in with the company password (Debian's
// slapd, started here), and a provider user signs in through a real OpenID provider (the
// certified oidc-provider package, started here on `localhost`, another site than hikeshi at
// 127.0.0.1, as a real provider is). A provider user in no mapped group is told why, in
// Japanese and in English.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import net from 'node:net';
import { chromium } from 'playwright-core';

const BIN = resolve(process.env.HIKESHI_BIN ?? '../../target/debug/hikeshi');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const ARTIFACTS = resolve('artifacts');
const BASE_DN = 'dc=example,dc=jp';
const CLIENT_SECRET = 'browser-test-client-secret';

let dir, slapd, provider, server, browser, base;

function freePort() {
  return new Promise((ok, fail) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => { const { port } = srv.address(); srv.close(() => ok(port)); });
    srv.on('error', fail);
  });
}

async function waitFor(what, check) {
  for (let i = 0; i < 200; i++) {
    try { if (await check()) return; } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not start`);
}

const portOpen = (port) => new Promise((ok) => {
  const socket = net.connect(port, '127.0.0.1', () => { socket.end(); ok(true); });
  socket.on('error', () => ok(false));
});

function run(cmd, args, input) {
  const done = spawnSync(cmd, args, { input });
  assert.equal(done.status, 0, `${cmd}: ${done.stderr}`);
  return done.stdout.toString().trim();
}

// slapd with two people, one in the handlers' group.
async function startDirectory() {
  const db = join(dir, 'ldap-db');
  mkdirSync(db);
  const conf = join(dir, 'slapd.conf');
  writeFileSync(conf, [
    'include /etc/ldap/schema/core.schema', 'include /etc/ldap/schema/cosine.schema',
    'include /etc/ldap/schema/inetorgperson.schema', 'modulepath /usr/lib/ldap', 'moduleload back_mdb',
    `pidfile ${dir}/slapd.pid`, 'database mdb', `suffix "${BASE_DN}"`, `rootdn "cn=admin,${BASE_DN}"`,
    'rootpw admin-secret', `directory ${db}`, '',
  ].join('\n'));
  const person = (uid, cn, pw) => `dn: uid=${uid},ou=people,${BASE_DN}\nobjectClass: inetOrgPerson\nuid: ${uid}\ncn: ${cn}\nsn: ${cn}\nuserPassword: ${run('/usr/sbin/slappasswd', ['-s', pw])}\n\n`;
  const ldif = `dn: ${BASE_DN}\nobjectClass: dcObject\nobjectClass: organization\no: Example\ndc: example\n\n`
    + `dn: ou=people,${BASE_DN}\nobjectClass: organizationalUnit\nou: people\n\n`
    + `dn: ou=groups,${BASE_DN}\nobjectClass: organizationalUnit\nou: groups\n\n`
    + person('sato', '佐藤 花子', 'sato-directory-pw')
    + `dn: cn=csirt-handlers,ou=groups,${BASE_DN}\nobjectClass: groupOfNames\ncn: csirt-handlers\nmember: uid=sato,ou=people,${BASE_DN}\n`;
  run('/usr/sbin/slapadd', ['-f', conf], ldif);
  const port = await freePort();
  slapd = spawn('/usr/sbin/slapd', ['-f', conf, '-h', `ldap://127.0.0.1:${port}/`, '-d', '0'], { stdio: 'ignore' });
  await waitFor('slapd', () => portOpen(port));
  return port;
}

// The OpenID provider on localhost; resolves to its issuer.
async function startProvider(callback) {
  const config = join(dir, 'provider.json');
  writeFileSync(config, JSON.stringify({
    host: 'localhost',
    client: { client_id: 'hikeshi', client_secret: CLIENT_SECRET, redirect_uris: [callback] },
    accounts: {
      suzuki: { password: 'suzuki-at-provider', name: '鈴木 一郎', groups: ['csirt-managers'] },
      tanaka: { password: 'tanaka-at-provider', name: 'Tanaka Jiro', groups: ['sales'] },
    },
  }));
  provider = spawn('node', [resolve('../oidc-provider/provider.mjs'), config], { stdio: ['ignore', 'pipe', 'ignore'] });
  const lines = createInterface({ input: provider.stdout });
  const [line] = await Promise.race([
    new Promise((ok) => lines.once('line', (l) => ok([l]))),
    new Promise((_, fail) => setTimeout(() => fail(new Error('the provider did not start')), 20000)),
  ]);
  // Keep reading: the provider dies of EPIPE if its stdout closes.
  lines.on('line', () => {});
  return line.replace(/^listening /, '').trim();
}

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  dir = mkdtempSync(join(tmpdir(), 'hikeshi-sso-'));
  const ldapPort = await startDirectory();
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const issuer = await startProvider(`${base}/login/oidc/callback`);
  const secretFile = join(dir, 'client-secret');
  writeFileSync(secretFile, `${CLIENT_SECRET}\n`);
  chmodSync(secretFile, 0o600);
  const config = join(dir, 'hikeshi.toml');
  writeFileSync(config, [
    `public_url = "${base}"`,
    '[auth.ldap]', `url = "ldap://127.0.0.1:${ldapPort}"`,
    '# The directory runs on this host for the test; over the network use StartTLS or ldaps.',
    'allow_plaintext = true', `user_dn = "uid={user},ou=people,${BASE_DN}"`, `group_base = "ou=groups,${BASE_DN}"`,
    '[auth.ldap.roles]', `"cn=csirt-handlers,ou=groups,${BASE_DN}" = "handler"`,
    '[auth.oidc]', `issuer = "${issuer}"`, 'client_id = "hikeshi"', `client_secret_file = "${secretFile}"`, 'label = "Test IdP"',
    '[auth.oidc.roles]', '"csirt-managers" = "manager"', '',
  ].join('\n'));
  const dataDir = join(dir, 'data');
  server = spawn(BIN, ['serve', '--listen', `127.0.0.1:${port}`, '--data-dir', dataDir, '--config', config], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, HIKESHI_LOG: 'warn' } });
  await waitFor('hikeshi', async () => (await fetch(`${base}/readyz`)).ok);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
  for (const child of [server, provider, slapd]) {
    if (child && child.exitCode === null) { child.kill('SIGTERM'); await new Promise((r) => child.once('exit', r)); }
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('a directory user logs in with the company password', async () => {
  const context = await browser.newContext({ locale: 'ja-JP' });
  const page = await context.newPage();
  await page.goto(`${base}/cases`);
  await page.fill('#username', 'sato');
  await page.fill('#password', 'wrong');
  await page.click('#login-submit');
  assert.equal(await page.locator('#login-error').isVisible(), true);
  await page.fill('#username', 'sato');
  await page.fill('#password', 'sato-directory-pw');
  await page.click('#login-submit');
  await page.waitForURL(/\/cases$/);
  assert.match(await page.locator('#who').innerText(), /佐藤 花子/);
  await page.screenshot({ path: join(ARTIFACTS, 'sso-01-directory.png'), fullPage: true });
  await context.close();
});

test('a provider user signs in through the OpenID provider and lands where they were going', async () => {
  const context = await browser.newContext({ locale: 'ja-JP' });
  const page = await context.newPage();
  await page.goto(`${base}/alerts`);
  assert.match(page.url(), /\/login\?next=/);
  assert.equal(await page.locator('#login-oidc').innerText(), 'ログイン: Test IdP');
  await page.click('#login-oidc');
  await page.waitForURL(/localhost:\d+\/interaction\//);
  await page.fill('#idp-login', 'suzuki');
  await page.fill('#idp-password', 'suzuki-at-provider');
  await page.click('#idp-submit');
  // Back at hikeshi, signed in although the provider is another site (SameSite=Strict session).
  await page.waitForURL(`${base}/alerts`);
  assert.match(await page.locator('#who').innerText(), /鈴木 一郎/);
  assert.equal(await page.locator('#nav-mail').count(), 1, 'a manager sees the commands');
  await page.screenshot({ path: join(ARTIFACTS, 'sso-02-provider.png'), fullPage: true });
  await context.close();
});

test('a provider user in no mapped group is told why, in Japanese and in English', async () => {
  for (const [locale, message] of [['ja-JP', /ロールに対応するグループに属していません/], ['en-US', /in no group that has a role/]]) {
    const context = await browser.newContext({ locale });
    const page = await context.newPage();
    await page.goto(`${base}/login`);
    await page.click('#login-oidc');
    await page.waitForURL(/\/interaction\//);
    await page.fill('#idp-login', 'tanaka');
    await page.fill('#idp-password', 'tanaka-at-provider');
    await page.click('#idp-submit');
    await page.waitForURL(/\/login\/oidc\/callback/);
    assert.match(await page.locator('#login-error').innerText(), message);
    assert.equal(await page.locator('#who').count(), 0, 'not signed in');
    await context.close();
  }
});
