// The OpenID Connect provider the tests of mistral-core start: node-oidc-provider (panva's certified
// OpenID Provider), laid out like a Keycloak realm so that python-mistralclient's `keycloak-oidc`
// auth type works against it unchanged.
//
//   node provider.mjs CONFIG.json
//
// CONFIG.json: {"port": 0, "realm": "mistral", "audience": "...", "clients": [...], "users": [...]}
//   clients: node-oidc-provider client metadata (client_id, client_secret?, ...); by default a client
//            uses the password grant; one given `grant_types: ["authorization_code"]`,
//            `response_types: ["code"]` and its `redirect_uris` signs people in through the login
//            page below (the authorization code flow, PKCE when it sends a challenge).
//   users:   {"username", "password", "sub"?, "alg"? (RS256, PS256, ES256, EdDSA), "ttl"? (s),
//            "audience"? (another than the configured one), "claims"?: {...},
//            "id_token_claims"?: {...}} — the claims go into the user's access tokens as they are,
//            so that a test chooses their layout (roles, realm_access.roles, project, groups...);
//            id_token_claims replace claims of the user's ID tokens after the provider made them
//            (re-signed with the provider's key): a misbehaving provider (another aud, nonce...).
//
// Issuer: http://127.0.0.1:<port>/realms/<realm>, the provider mounted under that path:
//   <issuer>/.well-known/openid-configuration      discovery
//   <issuer>/protocol/openid-connect/certs          the JWKS (one key per algorithm, each with its alg)
//   <issuer>/protocol/openid-connect/auth           the authorization endpoint (code flow)
//   <issuer>/interaction/<uid>                      its login page: a username and password form
//                                                   (and a "Cancel" button: access_denied); consent
//                                                   is given at once (the clients are first-party)
//   <issuer>/protocol/openid-connect/token          the token endpoint, with the standard grants and
//                                                   `password` (RFC 6749 4.3, what the mistral CLI
//                                                   sends). Deprecated for real use; fine for tests.
// Access tokens are JWTs (RFC 9068, typ at+jwt) for the configured audience, signed with the key of
// the user's algorithm, carrying the user's claims — from the password grant and from the code flow
// alike (the code flow's tokens are for the resource indicator urn:mistral-core, by default).
//
// For the tests, outside the issuer's path: GET /test/stats answers how many times the JWKS, the
// discovery document and the token endpoint were asked for.
//
// On start it prints one line of JSON to stdout: {"issuer": ..., "port": ...}.

import { createPrivateKey, generateKeyPairSync, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';

import Provider, { errors } from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const host = '127.0.0.1';
const prefix = `/realms/${config.realm}`;
const users = new Map(config.users.map((user) => [user.username, { sub: user.username, ...user }]));
const subjects = new Map([...users.values()].map((user) => [user.sub, user]));
const stats = { jwks: 0, discovery: 0, token: 0 };

function signingKey(kid, alg, type, options) {
  const { privateKey } = generateKeyPairSync(type, options);
  return { ...privateKey.export({ format: 'jwk' }), kid, alg, use: 'sig' };
}

const jwks = {
  keys: [
    signingKey('rs256-1', 'RS256', 'rsa', { modulusLength: 2048 }),
    signingKey('ps256-1', 'PS256', 'rsa', { modulusLength: 2048 }),
    signingKey('es256-1', 'ES256', 'ec', { namedCurve: 'P-256' }),
    signingKey('eddsa-1', 'EdDSA', 'ed25519', {}),
  ],
};

// The resource indicator the code flow's access tokens are for (an absolute URI, RFC 8707).
const RESOURCE = 'urn:mistral-core';

function resourceServerInfo(user) {
  return {
    audience: user?.audience ?? config.audience,
    scope: 'profile',
    accessTokenFormat: 'jwt',
    accessTokenTTL: user?.ttl ?? 300,
    jwt: { sign: { alg: user?.alg ?? 'RS256' } },
  };
}

function resourceServer(provider, user) {
  const info = resourceServerInfo(user);
  return new provider.ResourceServer(info.audience, info);
}

function start(port) {
  const issuer = `http://${host}:${port}${prefix}`;
  const provider = new Provider(issuer, {
    clients: config.clients.map((client) => ({
      token_endpoint_auth_method: client.client_secret ? 'client_secret_post' : 'none',
      grant_types: ['password'],
      response_types: [],
      redirect_uris: [],
      ...client,
    })),
    jwks,
    routes: {
      authorization: '/protocol/openid-connect/auth',
      token: '/protocol/openid-connect/token',
      jwks: '/protocol/openid-connect/certs',
    },
    features: {
      devInteractions: { enabled: false },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => RESOURCE,
        useGrantedResource: () => true,
        getResourceServerInfo: (ctx) => {
          const accountId = ctx.oidc.entities.AuthorizationCode?.accountId ?? ctx.oidc.session?.accountId;
          return resourceServerInfo(subjects.get(accountId));
        },
      },
    },
    interactions: { url: (ctx, interaction) => `${prefix}/interaction/${interaction.uid}` },
    // The user's claims, as they are, in every access token of the user.
    extraTokenClaims: (ctx, token) => subjects.get(token.accountId)?.claims,
  });

  provider.registerGrantType(
    'password',
    async (ctx) => {
      const { username, password } = ctx.oidc.params;
      const user = users.get(username);
      if (!user || user.password !== password) {
        throw new errors.InvalidGrant('wrong username or password');
      }
      const token = new provider.AccessToken({
        accountId: user.sub,
        client: ctx.oidc.client,
        gty: 'password',
        scope: 'profile',
      });
      token.resourceServer = resourceServer(provider, user);
      ctx.oidc.entity('AccessToken', token);
      const value = await token.save();
      ctx.body = {
        access_token: value,
        token_type: 'Bearer',
        expires_in: token.expiration,
        scope: token.scope,
      };
    },
    ['username', 'password', 'scope'],
  );

  provider.use(async (ctx, next) => {
    await next();
    if (ctx.oidc?.route in stats) stats[ctx.oidc.route] += 1;
    if (ctx.oidc?.route === 'token' && typeof ctx.body?.id_token === 'string') {
      ctx.body = { ...ctx.body, id_token: tamperedIdToken(ctx.body.id_token) };
    }
  });
  return provider;
}

const b64url = (data) => Buffer.from(data).toString('base64url');

// The ID token with the user's id_token_claims in place of the provider's, signed again with the
// provider's RS256 key (as the provider signs ID tokens); unchanged for other users.
function tamperedIdToken(idToken) {
  const [header, payload] = idToken.split('.');
  const claims = JSON.parse(Buffer.from(payload, 'base64url'));
  const replaced = subjects.get(claims.sub)?.id_token_claims;
  if (!replaced) return idToken;
  const input = `${header}.${b64url(JSON.stringify({ ...claims, ...replaced }))}`;
  const key = createPrivateKey({ key: jwks.keys.find((k) => k.alg === 'RS256'), format: 'jwk' });
  return `${input}.${b64url(sign('sha256', Buffer.from(input), key))}`;
}

// -- the login page of the code flow ------------------------------------------------------------

const escapeHtml = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function loginPage(res, uid, error) {
  res.statusCode = error ? 401 : 200;
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  const action = `${prefix}/interaction/${escapeHtml(uid)}`;
  res.end(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in to ${escapeHtml(config.realm)}</title></head>
<body><main>
<h1>Sign in to ${escapeHtml(config.realm)}</h1>
${error ? `<p role="alert" id="login-error">${escapeHtml(error)}</p>` : ''}
<form method="post" action="${action}/login">
  <p><label for="username">Username</label> <input id="username" name="username" autocomplete="username" required></p>
  <p><label for="password">Password</label> <input id="password" name="password" type="password" autocomplete="current-password" required></p>
  <p><button type="submit" id="sign-in">Sign in</button></p>
</form>
<form method="post" action="${action}/abort"><p><button type="submit" id="cancel">Cancel</button></p></form>
</main></body></html>`);
}

async function readForm(req) {
  let body = '';
  for await (const chunk of req) {
    body += chunk;
    if (body.length > 65536) throw new Error('form too large');
  }
  return new URLSearchParams(body);
}

// Consent is given at once: the grant takes whatever the client asked for.
async function consent(provider, details) {
  const { prompt, params, session, grantId } = details;
  const grant = grantId
    ? await provider.Grant.find(grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  const { missingOIDCScope, missingOIDCClaims, missingResourceScopes } = prompt.details;
  if (missingOIDCScope) grant.addOIDCScope(missingOIDCScope.join(' '));
  if (missingOIDCClaims) grant.addOIDCClaims(missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(missingResourceScopes ?? {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  return grant.save();
}

async function interaction(provider, req, res, path) {
  const [uid, step] = path.split('/');
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) throw new Error('not this interaction');
  if (req.method === 'GET' && details.prompt.name === 'consent') {
    const grantId = await consent(provider, details);
    return provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  }
  if (req.method === 'GET') return loginPage(res, uid);
  if (step === 'abort') {
    const result = { error: 'access_denied', error_description: 'the person cancelled the sign-in' };
    return provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
  }
  const form = await readForm(req);
  const user = users.get(form.get('username'));
  if (!user || user.password !== form.get('password')) return loginPage(res, uid, 'Wrong username or password');
  return provider.interactionFinished(req, res, { login: { accountId: user.sub } }, { mergeWithLastSubmission: false });
}

const server = http.createServer();
server.listen(config.port ?? 0, host, () => {
  const { port } = server.address();
  const provider = start(port);
  const callback = provider.callback();
  server.on('request', (req, res) => {
    const interactionPath = `${prefix}/interaction/`;
    if (req.url === '/test/stats') {
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify(stats));
    } else if (req.url.startsWith(interactionPath)) {
      interaction(provider, req, res, req.url.slice(interactionPath.length)).catch((err) => {
        res.statusCode = 400;
        res.end(`interaction failed: ${err.message}`);
      });
    } else if (req.url.startsWith(`${prefix}/`)) {
      req.originalUrl = req.url;
      req.url = req.url.slice(prefix.length);
      callback(req, res);
    } else {
      res.statusCode = 404;
      res.end();
    }
  });
  process.stdout.write(`${JSON.stringify({ issuer: provider.issuer, port })}\n`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
