/**
 * The Microsoft identity platform's part of the fake: OpenID discovery and the v2.0 token endpoint's
 * client-credentials grant, as MSAL (through @azure/identity's ClientSecretCredential) uses them.
 * Sources:
 * - OpenID configuration `GET /{tenant}/v2.0/.well-known/openid-configuration` with token_endpoint,
 *   authorization_endpoint, issuer, jwks_uri (msal-common's isOpenIdConfigResponse requires these four;
 *   Microsoft identity platform "OpenID Connect on the Microsoft identity platform");
 * - `POST /{tenant}/oauth2/v2.0/token` with grant_type=client_credentials, client_id, client_secret,
 *   scope=<resource>/.default answers {token_type: "Bearer", expires_in, ext_expires_in, access_token}
 *   ("OAuth 2.0 client credentials flow on the Microsoft identity platform");
 * - a wrong secret: 401 {"error":"invalid_client","error_description":"AADSTS7000215: Invalid client
 *   secret provided. …","error_codes":[7000215],…} (responses quoted in
 *   OfficeDev/microsoft-365-agents-toolkit#8621 and keycloak/keycloak#31294);
 * - ASSUMPTION: an unknown client id answers 400 unauthorized_client AADSTS700016 and an unknown tenant
 *   400 invalid_tenant AADSTS90002 (codes from "Microsoft Entra authentication and authorization error
 *   codes"; status and field layout assumed like the invalid_client answer).
 * Tokens are opaque here (the real ones are JWTs); the resource server only checks them against this map.
 */
import { randomBytes, randomUUID } from 'node:crypto';

export interface FakePrincipal {
  tenantId: string;
  clientId: string;
  clientSecret: string;
}

export interface IssuedToken {
  clientId: string;
  tenantId: string;
  audience: string;
  expiresAt: number;
}

export interface IdentityReply {
  status: number;
  body: unknown;
}

const aadError = (status: number, error: string, code: number, description: string): IdentityReply => {
  const now = new Date().toISOString().replace('T', ' ').slice(0, 19) + 'Z';
  const trace = randomUUID();
  return {
    status,
    body: {
      error,
      error_description: `AADSTS${code}: ${description}\r\nTrace ID: ${trace}\r\nCorrelation ID: ${randomUUID()}\r\nTimestamp: ${now}`,
      error_codes: [code],
      timestamp: now,
      trace_id: trace,
      correlation_id: randomUUID(),
      error_uri: `https://login.microsoftonline.com/error?code=${code}`,
    },
  };
};

export class FakeIdentity {
  readonly tokens = new Map<string, IssuedToken>();
  /** Every token request: client id and grant, never the secret. */
  readonly tokenRequests: { tenantId: string; clientId: string; scope: string; status: number }[] = [];

  constructor(
    private readonly base: () => string,
    private readonly principals: FakePrincipal[],
    private readonly tokenLifetimeSeconds = 3599,
  ) {}

  /** Answers a request under the authority, or undefined when the path is not an identity path. */
  handle(method: string, path: string, form: URLSearchParams): IdentityReply | undefined {
    const discovery = /^\/([^/]+)\/v2\.0\/\.well-known\/openid-configuration$/.exec(path);
    if (discovery && method === 'GET') {
      const tenant = discovery[1] ?? '';
      if (!this.principals.some((p) => p.tenantId === tenant))
        return aadError(400, 'invalid_tenant', 90002, `Tenant '${tenant}' not found.`);
      const root = `${this.base()}/${tenant}`;
      return {
        status: 200,
        body: {
          token_endpoint: `${root}/oauth2/v2.0/token`,
          token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
          jwks_uri: `${root}/discovery/v2.0/keys`,
          response_modes_supported: ['query', 'fragment', 'form_post'],
          subject_types_supported: ['pairwise'],
          id_token_signing_alg_values_supported: ['RS256'],
          response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
          scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
          issuer: `${root}/v2.0`,
          authorization_endpoint: `${root}/oauth2/v2.0/authorize`,
          tenant_region_scope: 'EU',
        },
      };
    }
    const token = /^\/([^/]+)\/oauth2\/v2\.0\/token$/.exec(path);
    if (!token || method !== 'POST') return undefined;
    const tenantId = token[1] ?? '';
    const clientId = form.get('client_id') ?? '';
    const scope = form.get('scope') ?? '';
    const reply = this.issue(tenantId, clientId, form.get('client_secret') ?? '', form.get('grant_type') ?? '', scope);
    this.tokenRequests.push({ tenantId, clientId, scope, status: reply.status });
    return reply;
  }

  private issue(tenantId: string, clientId: string, secret: string, grant: string, scope: string): IdentityReply {
    if (grant !== 'client_credentials')
      return aadError(400, 'unsupported_grant_type', 70003, 'The app requested an unsupported grant type.');
    if (!this.principals.some((p) => p.tenantId === tenantId))
      return aadError(400, 'invalid_tenant', 90002, `Tenant '${tenantId}' not found.`);
    const principal = this.principals.find((p) => p.tenantId === tenantId && p.clientId === clientId);
    if (!principal)
      return aadError(
        400,
        'unauthorized_client',
        700016,
        `Application with identifier '${clientId}' was not found in the directory '${tenantId}'.`,
      );
    if (principal.clientSecret !== secret)
      return aadError(
        401,
        'invalid_client',
        7000215,
        `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${clientId}'.`,
      );
    const audience = scope.split(' ').find((s) => s.endsWith('/.default'));
    if (!audience)
      return aadError(400, 'invalid_scope', 1002012, `The provided value for scope ${scope} is not valid.`);
    const accessToken = `fake-entra.${randomBytes(24).toString('base64url')}`;
    this.tokens.set(accessToken, {
      clientId,
      tenantId,
      audience: audience.replace(/\/\.default$/, ''),
      expiresAt: Date.now() + this.tokenLifetimeSeconds * 1000,
    });
    return {
      status: 200,
      body: {
        token_type: 'Bearer',
        expires_in: this.tokenLifetimeSeconds,
        ext_expires_in: this.tokenLifetimeSeconds,
        access_token: accessToken,
      },
    };
  }
}
