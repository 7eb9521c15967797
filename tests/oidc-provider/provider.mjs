// A real OpenID provider for hikeshi's tests: the certified `oidc-provider` package on
// loopback, with password accounts and groups the test chooses. Its own small login page
// checks the password; first-party consent is granted without a second page.
//
//   node provider.mjs CONFIG.json
//
// CONFIG: { "port": 0, "host": "127.0.0.1", "client": { "client_id", "client_secret", "redirect_uris": [..] },
//           "accounts": { "login": { "password", "name", "email", "groups": [..] } } }
// Prints `listening ISSUER` on stdout once it answers. The accounts are read again at each
// login, so a test can change someone's groups between two logins.

import { readFileSync } from 'node:fs';
import http from 'node:http';
import Provider from 'oidc-provider';

const configFile = process.argv[2];
const config = JSON.parse(readFileSync(configFile, 'utf8'));
const accounts = () => JSON.parse(readFileSync(configFile, 'utf8')).accounts ?? {};

const server = http.createServer();
await new Promise((resolve) => server.listen(config.port ?? 0, '127.0.0.1', resolve));
// `host` may be `localhost`: another site than hikeshi at 127.0.0.1, as a real provider is.
const issuer = `http://${config.host ?? '127.0.0.1'}:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: [{
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    ...config.client,
  }],
  cookies: { keys: ['hikeshi-test-provider-cookie-key'] },
  claims: {
    openid: ['sub'],
    profile: ['name', 'preferred_username'],
    email: ['email'],
    groups: ['groups'],
  },
  features: { devInteractions: { enabled: false } },
  pkce: { required: () => true },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(ctx, id) {
    const account = accounts()[id];
    if (!account) return undefined;
    return {
      accountId: id,
      async claims() {
        return {
          sub: `sub-${id}`,
          preferred_username: account.preferred_username ?? id,
          name: account.name ?? id,
          email: account.email,
          groups: account.groups ?? [],
        };
      },
    };
  },
  // First-party: the scopes asked for are granted without a consent page.
  async loadExistingGrant(ctx) {
    const existing = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (existing) return ctx.oidc.provider.Grant.find(existing);
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid profile email groups');
    await grant.save();
    return grant;
  },
});

const page = (uid, error) => `<!doctype html><html><head><meta charset="utf-8"><title>Test provider</title></head>
<body><h1>Test provider</h1>${error ? `<p id="idp-error">${error}</p>` : ''}
<form method="post" action="/interaction/${uid}">
<input id="idp-login" name="login" autocomplete="off"><input id="idp-password" name="password" type="password">
<button id="idp-submit" type="submit">Sign in</button></form></body></html>`;

const readForm = (req) => new Promise((resolve, reject) => {
  let body = '';
  req.on('data', (chunk) => {
    body += chunk;
    if (body.length > 10000) reject(new Error('body too large'));
  });
  req.on('end', () => resolve(new URLSearchParams(body)));
  req.on('error', reject);
});

// The login page: GET shows it, POST checks the password and finishes the interaction.
provider.use(async (ctx, next) => {
  const match = ctx.path.match(/^\/interaction\/([\w-]+)$/);
  if (!match) return next();
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  ctx.set('cache-control', 'no-store');
  if (ctx.method === 'GET') {
    ctx.type = 'html';
    ctx.body = page(details.uid);
    return undefined;
  }
  const form = await readForm(ctx.req);
  const login = form.get('login') ?? '';
  const account = accounts()[login];
  if (!account || account.password !== form.get('password')) {
    ctx.type = 'html';
    ctx.status = 401;
    ctx.body = page(details.uid, 'wrong login or password');
    return undefined;
  }
  await provider.interactionFinished(ctx.req, ctx.res, { login: { accountId: login } }, {
    mergeWithLastSubmission: false,
  });
  ctx.respond = false;
  return undefined;
});

server.on('request', provider.callback());
process.stdout.write(`listening ${issuer}\n`);
