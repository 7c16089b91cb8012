// A strict OpenID provider for the OIDC tests: panva's oidc-provider (OpenID Certified),
// configured the way production providers often are.
//
//   node provider.js '<json config>'
//
// It listens on 127.0.0.1 on a free port and prints one line of JSON, {"issuer": ...},
// once it serves. It stops on SIGTERM, SIGINT, or when its standard input closes (so a
// test run that dies never leaves it behind).
//
// What makes it strict, compared with oidc-provider-mock:
// * PKCE (S256) is required of every client; the code verifier is checked.
// * Sign-in is two real interaction pages: a login form, then a consent form.
// * `offline_access` is granted only when the request says `prompt=consent` (OpenID Connect
//   Core 11). Clients with "refresh": "always" still get a refresh token without it (as
//   Keycloak, Okta and others issue them), so their refresh token carries a reduced scope;
//   clients with "refresh": "offline_access" get one only with that scope (oidc-provider's
//   default).
// * ID tokens carry only protocol claims when an access token is issued; profile claims
//   (name, email, groups) come from the userinfo endpoint.
// * The authorization response carries `iss` (RFC 9207) and the metadata says so.
// * Short-lived access tokens, refresh tokens, RFC 7009 revocation, RP-initiated logout
//   with a confirmation form.
// * Scripts get JWT access tokens (RFC 9068) for the resource `api://dash-app` through the
//   client-credentials grant.
//
// Config (JSON): {"clients": [{client_id, client_secret, redirect_uris,
// post_logout_redirect_uris, token_endpoint_auth_method, refresh, access_token_ttl}],
// "users": {sub: claims}, "accessTokenTTL": seconds (default 30)}.
//
// Test-only control route (not part of any protocol): PUT /_test/users/<sub> with a JSON
// object replaces that user's claims.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import http from 'node:http';

import Provider, { errors } from 'oidc-provider';

const config = JSON.parse(process.argv[2] || '{}');
const users = { ...(config.users || {}) };
const RESOURCE = 'api://dash-app';
const alwaysRefresh = new Set(
  (config.clients || []).filter((c) => c.refresh === 'always').map((c) => c.client_id),
);
const accessTokenTTL = Object.fromEntries(
  (config.clients || []).filter((c) => c.access_token_ttl).map((c) => [c.client_id, c.access_token_ttl]),
);
const clients = (config.clients || []).map(({ refresh, access_token_ttl: _ttl, ...client }) => ({
  grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
  response_types: ['code'],
  ...client,
}));

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'strict-1', use: 'sig', alg: 'RS256' };

const configuration = {
  clients,
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username', 'groups'],
  },
  async findAccount(_ctx, sub) {
    return {
      accountId: sub,
      async claims() {
        return { ...(users[sub] || {}), sub };
      },
    };
  },
  pkce: { required: () => true },
  clockTolerance: 0, // an expired token is expired (the default accepts them for 15 more seconds)
  async issueRefreshToken(_ctx, client, code) {
    if (!client.grantTypeAllowed('refresh_token')) return false;
    return alwaysRefresh.has(client.clientId) || code.scopes.has('offline_access');
  },
  ttl: {
    AccessToken: (_ctx, _token, client) => accessTokenTTL[client?.clientId] || config.accessTokenTTL || 30,
    ClientCredentials: 600,
    AuthorizationCode: 60,
    IdToken: 3600,
    RefreshToken: 86400,
    Grant: 86400,
    Interaction: 600,
    Session: 86400,
  },
  features: {
    devInteractions: { enabled: true }, // the login and consent pages the tests fill in
    revocation: { enabled: true },
    rpInitiatedLogout: { enabled: true },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: async (_ctx, _client, oneOf) => oneOf,
      useGrantedResource: async () => false,
      async getResourceServerInfo(_ctx, indicator) {
        if (indicator !== RESOURCE) throw new errors.InvalidTarget();
        return { scope: 'read', audience: RESOURCE, accessTokenFormat: 'jwt', accessTokenTTL: 600 };
      },
    },
  },
  async extraTokenClaims(_ctx, token) {
    // A resource server sees the user's groups in its JWT access tokens.
    if (token.accountId && users[token.accountId]?.groups) return { groups: users[token.accountId].groups };
    return undefined;
  },
};

const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, configuration);
  provider.on('server_error', (_ctx, err) => console.error('server_error', err));
  provider.use(async (ctx, next) => {
    const match = /^\/_test\/users\/([^/]+)$/.exec(ctx.path);
    if (!match || ctx.method !== 'PUT') return next();
    const chunks = [];
    for await (const chunk of ctx.req) chunks.push(chunk);
    users[decodeURIComponent(match[1])] = JSON.parse(Buffer.concat(chunks).toString() || '{}');
    ctx.status = 204;
    return undefined;
  });
  server.on('request', provider.callback());
  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
});

const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
