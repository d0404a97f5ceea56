// The OpenID Connect provider the tests of mistral-core start: node-oidc-provider (panva's certified
// OpenID Provider), laid out like a Keycloak realm so that python-mistralclient's `keycloak-oidc`
// auth type works against it unchanged.
//
//   node provider.mjs CONFIG.json
//
// CONFIG.json: {"port": 0, "realm": "mistral", "audience": "...", "clients": [...], "users": [...]}
//   clients: node-oidc-provider client metadata (client_id, client_secret?); each may use the
//            password grant.
//   users:   {"username", "password", "sub"?, "alg"? (RS256, PS256, ES256, EdDSA), "ttl"? (s),
//            "audience"? (another than the configured one), "claims"?: {...}} — the claims go into the user's access tokens as they are, so a test
//            chooses their layout (roles, realm_access.roles, project, groups...).
//
// Issuer: http://127.0.0.1:<port>/realms/<realm>, the provider mounted under that path:
//   <issuer>/.well-known/openid-configuration      discovery
//   <issuer>/protocol/openid-connect/certs          the JWKS (one key per algorithm, each with its alg)
//   <issuer>/protocol/openid-connect/token          the token endpoint, with the standard grants and
//                                                   `password` (RFC 6749 4.3, what the mistral CLI
//                                                   sends). Deprecated for real use; fine for tests.
// Access tokens are JWTs (RFC 9068, typ at+jwt) for the configured audience, signed with the key of
// the user's algorithm, carrying the user's claims.
//
// For the tests, outside the issuer's path: GET /test/stats answers how many times the JWKS, the
// discovery document and the token endpoint were asked for.
//
// On start it prints one line of JSON to stdout: {"issuer": ..., "port": ...}.

import { generateKeyPairSync } from 'node:crypto';
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

function resourceServer(provider, user) {
  const audience = user.audience ?? config.audience;
  return new provider.ResourceServer(audience, {
    audience,
    scope: 'profile',
    accessTokenFormat: 'jwt',
    accessTokenTTL: user.ttl ?? 300,
    jwt: { sign: { alg: user.alg ?? 'RS256' } },
  });
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
      token: '/protocol/openid-connect/token',
      jwks: '/protocol/openid-connect/certs',
    },
    features: { devInteractions: { enabled: false } },
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
  });
  return provider;
}

const server = http.createServer();
server.listen(config.port ?? 0, host, () => {
  const { port } = server.address();
  const provider = start(port);
  const callback = provider.callback();
  server.on('request', (req, res) => {
    if (req.url === '/test/stats') {
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify(stats));
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
