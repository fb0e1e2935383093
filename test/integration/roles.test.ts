/**
 * Roles are enforced on the server, on every route that changes something, in the console and the
 * API alike. The routes are enumerated from the live Express app: a new mutating route without an
 * entry in POLICY fails this test, so none can ship without a decision about who may call it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Role } from '../../activities/db/repositories/users';
import { ConsoleClient } from '../support/console-client';
import { startConsoleApp, type ConsoleApp } from '../support/console-app';
import { isMutating, listRoutes, type AppRoute } from '../support/routes';

type Needs = 'any' | 'technician' | 'admin';

/** Who may call each mutating route ("any" = every signed-in user, e.g. their own password). */
const POLICY: Record<string, Needs> = {
  'POST /customers': 'technician',
  'POST /customers/:id': 'technician',
  'POST /customers/:id/delete': 'technician',
  'POST /dns-providers': 'technician',
  'POST /dns-providers/:id': 'technician',
  'POST /dns-providers/:id/delete': 'technician',
  'POST /dns-providers/:id/verify': 'technician',
  'POST /certificates': 'technician',
  'POST /certificates/:id/renew': 'technician',
  'POST /certificates/:id/delegation/check': 'technician',
  'POST /certificates/:id/settings': 'technician',
  'POST /certificates/:id/delete': 'technician',
  'POST /certificates/:id/download/pfx': 'technician',
  'POST /certificates/:id/deployments': 'technician',
  'POST /certificates/:id/versions/:versionId/revoke': 'technician',
  'POST /targets': 'technician',
  'POST /targets/:id': 'technician',
  'POST /targets/:id/delete': 'technician',
  'POST /targets/:id/preflight': 'technician',
  'POST /targets/fetch-fingerprint': 'technician',
  'POST /deployments/:id/redeploy': 'technician',
  'POST /deployments/:id/retry': 'technician',
  'POST /deployments/:id/mark-done': 'technician',
  'POST /deployments/:id/deploy-now': 'technician',
  'POST /deployments/:id/delete': 'technician',
  'POST /account/password': 'any',
  'POST /account/tokens': 'any',
  'POST /account/tokens/:id/revoke': 'any',
  'POST /account/mfa/setup': 'any',
  'POST /account/mfa/confirm': 'any',
  'POST /account/mfa/disable': 'any',
  'POST /settings/acme-directories': 'admin',
  'POST /settings/acme-directories/:id/key-rollover': 'admin',
  'POST /settings/acme-directories/:id/options': 'admin',
  'POST /settings/acme-directories/:id/read-profiles': 'admin',
  'POST /settings/acme-directories/:id/pacing': 'admin',
  'POST /settings/renewal-defaults': 'admin',
  'POST /settings/email': 'admin',
  'POST /settings/email/test': 'admin',
  'POST /settings/networks': 'admin',
  'POST /settings/users': 'admin',
  'POST /settings/users/:id': 'admin',
  'POST /settings/users/:id/delete': 'admin',
  'POST /settings/users/:id/end-sessions': 'admin',
  'POST /settings/users/:id/reset-mfa': 'admin',
  'POST /settings/security': 'admin',
  'POST /api/v1/customers': 'technician',
  'PATCH /api/v1/customers/:id': 'technician',
  'DELETE /api/v1/customers/:id': 'technician',
  'POST /api/v1/dns-providers': 'technician',
  'PATCH /api/v1/dns-providers/:id': 'technician',
  'DELETE /api/v1/dns-providers/:id': 'technician',
  'POST /api/v1/dns-providers/:id/verify': 'technician',
  'POST /api/v1/targets': 'technician',
  'PATCH /api/v1/targets/:id': 'technician',
  'DELETE /api/v1/targets/:id': 'technician',
  'POST /api/v1/targets/:id/test-connection': 'technician',
  'POST /api/v1/certificates': 'technician',
  'PATCH /api/v1/certificates/:id': 'technician',
  'DELETE /api/v1/certificates/:id': 'technician',
  'POST /api/v1/certificates/:id/renew': 'technician',
  'POST /api/v1/certificates/:id/pfx': 'technician',
  'POST /api/v1/certificates/:id/deployments': 'technician',
  'POST /api/v1/certificates/:id/versions/:versionId/revoke': 'technician',
  'DELETE /api/v1/deployments/:id': 'technician',
  'POST /api/v1/deployments/:id/retry': 'technician',
  'POST /api/v1/deployments/:id/redeploy': 'technician',
  'POST /api/v1/deployments/:id/mark-done': 'technician',
  'POST /api/v1/deployments/:id/deploy-now': 'technician',
  'DELETE /api/v1/me/tokens/:id': 'any',
  'POST /api/v1/users': 'admin',
  'PATCH /api/v1/users/:id': 'admin',
  'DELETE /api/v1/users/:id': 'admin',
  'POST /api/v1/users/:id/end-sessions': 'admin',
  'POST /api/v1/users/:id/reset-mfa': 'admin',
  'PUT /api/v1/settings/security': 'admin',
  'PUT /api/v1/settings/email': 'admin',
  'POST /api/v1/settings/email/test': 'admin',
  'PUT /api/v1/settings/renewal-defaults': 'admin',
  'PUT /api/v1/settings/networks': 'admin',
  'POST /api/v1/settings/acme-directories': 'admin',
  'PUT /api/v1/settings/acme-directories/:id/options': 'admin',
  'POST /api/v1/settings/acme-directories/:id/read-profiles': 'admin',
};

/** Reads that hand out keys or settings: not for every role either. */
const SENSITIVE_READS: Record<string, Needs> = {
  'GET /targets/fetch-fingerprint': 'technician',
  'GET /certificates/:id/download/key.pem': 'technician',
  'GET /deployments/:id/runs/:runId/transcript': 'technician',
  'GET /api/v1/certificates/:id/key.pem': 'technician',
  'GET /settings': 'admin',
  'GET /settings/email': 'admin',
  'GET /settings/networks': 'admin',
  'GET /settings/users': 'admin',
  'GET /settings/users/:id': 'admin',
  'GET /api/v1/users': 'admin',
  'GET /api/v1/users/:id': 'admin',
  'GET /api/v1/settings/email': 'admin',
  'GET /api/v1/settings/security': 'admin',
  'GET /api/v1/settings/renewal-defaults': 'admin',
  'GET /api/v1/settings/networks': 'admin',
  'GET /api/v1/settings/acme-directories': 'admin',
};

/** Sign-in (with its code step) and sign-out (here or everywhere) are for everyone by nature. */
const UNRESTRICTED = new Set(['POST /login', 'POST /login/mfa', 'POST /logout', 'POST /account/sign-out-everywhere']);

const allowed = (needs: Needs, role: Role): boolean =>
  needs === 'any' || role === 'admin' || (needs === 'technician' && role === 'technician');
const key = (r: AppRoute): string => `${r.method} ${r.path}`;
/** Ids that do not exist: an allowed role gets a 4xx about the missing thing, and nothing changes. */
const concrete = (path: string): string =>
  path.replace(/:workflowId/g, 'test-email:00000000-0000-0000-0000-000000000000').replace(/:[a-zA-Z]+/g, '999999999');

describe('role checks on every route', () => {
  let c: ConsoleApp;
  const clients = new Map<Role, ConsoleClient>();
  const tokens = new Map<Role, string>();
  const roles: Role[] = ['admin', 'technician', 'readonly'];

  before(async () => {
    c = await startConsoleApp();
    for (const role of roles) {
      clients.set(role, await c.signedIn(role));
      tokens.set(role, await c.apiToken(role));
    }
  });
  after(async () => {
    await c?.stop();
  });

  it('every mutating route of the console and the API has a policy entry', () => {
    const routes = listRoutes(c.app)
      .filter(isMutating)
      .map(key)
      .filter((k) => !UNRESTRICTED.has(k));
    const missing = routes.filter((k) => !(k in POLICY));
    assert.deepEqual(missing, [], `mutating routes without a role decision in POLICY: ${missing.join(', ')}`);
    const stale = Object.keys(POLICY).filter((k) => !routes.includes(k));
    assert.deepEqual(stale, [], `POLICY lists routes the app no longer has: ${stale.join(', ')}`);
    assert.ok(routes.length >= 55, `found ${routes.length} mutating routes`);
  });

  const call = async (role: Role, entry: string): Promise<number> => {
    const [method, path] = entry.split(' ') as [string, string];
    const url = concrete(path);
    if (path.startsWith('/api/'))
      return (await c.api(tokens.get(role), method, url, method === 'GET' || method === 'DELETE' ? undefined : {}))
        .status;
    const client = clients.get(role) as ConsoleClient;
    if (method === 'GET') return (await client.get(url)).status;
    return (await client.post(url, {})).status;
  };

  for (const role of ['admin', 'technician', 'readonly'] as Role[]) {
    it(`${role}: 403 exactly where the role forbids, and never a 5xx`, async () => {
      const problems: string[] = [];
      for (const [entry, needs] of Object.entries({ ...POLICY, ...SENSITIVE_READS })) {
        const status = await call(role, entry);
        const expectForbidden = !allowed(needs, role);
        if (expectForbidden && status !== 403) problems.push(`${entry}: expected 403, got ${status}`);
        if (!expectForbidden && status === 403) problems.push(`${entry}: allowed for ${role} but got 403`);
        if (status >= 500) problems.push(`${entry}: ${status}`);
      }
      assert.deepEqual(problems, []);
    });
  }

  it('without a session the console redirects to sign-in; without a token the API answers 401', async () => {
    const anonymous = new ConsoleClient(c.url);
    await anonymous.get('/login');
    for (const entry of Object.keys(POLICY)) {
      const [method, path] = entry.split(' ') as [string, string];
      const url = concrete(path);
      const status = path.startsWith('/api/')
        ? (await c.api(undefined, method, url, method === 'DELETE' ? undefined : {})).status
        : (await anonymous.post(url, {})).status;
      assert.equal(status, path.startsWith('/api/') ? 401 : 303, `${entry} without credentials`);
    }
    assert.equal((await c.api('cft_not-a-real-token', 'GET', '/api/v1/certificates')).status, 401);
  });

  it('a state change without the CSRF token is refused, whatever the role', async () => {
    const admin = clients.get('admin') as ConsoleClient;
    const saved = admin.csrf;
    admin.csrf = 'forged';
    try {
      assert.equal((await admin.post('/customers', { name: 'Forged Ltd' })).status, 403);
    } finally {
      admin.csrf = saved;
    }
    assert.equal((await c.db.db.query("SELECT 1 FROM customers WHERE name = 'Forged Ltd'")).length, 0);
  });
});
