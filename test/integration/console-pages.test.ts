/**
 * The console's pages and forms on real PostgreSQL and the Temporal dev server: customers, the
 * certificate list (search, filters, sorting, paging), the dashboard, targets and DNS providers
 * (edit, delete), deployment history, users and roles, sign-in lockout, the audit log (filters, CSV)
 * and hostile names rendered harmless on every page.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openTargetCredentials } from '../../activities/crypto/bound-secrets';
import { SecretPurpose } from '../../activities/crypto/secret-box';
import { getTarget } from '../../activities/db/repositories/targets';
import { assertAudited } from '../support/audit-log';
import { createApiToken } from '../support/console-actions';
import { ConsoleClient } from '../support/console-client';
import { ROLE_PASSWORD, startConsoleApp, type ConsoleApp } from '../support/console-app';
import { seedFleet, type SeededFleet } from '../support/seed';

/** Markup, quotes and unicode: stored as typed. (Text-direction overrides are refused in names, below.) */
const HOSTILE = `<script>alert("x")</script> "Müller" & 'Søn' 🦊`;
const FINGERPRINT = 'ab'.repeat(32);

let c: ConsoleApp;
let admin: ConsoleClient;
let fleet: SeededFleet;

before(async () => {
  c = await startConsoleApp({ login: { maxFailures: 3, lockMs: 60_000, rateLimit: 1000, rateWindowMs: 60_000 } });
  fleet = await seedFleet(
    c.db.db,
    { customers: 4, certificates: 120, targetsPerCustomer: 2, deploymentRuns: 300, auditEntries: 250 },
    c.box.seal('placeholder', SecretPurpose.versionKey),
  );
  admin = await c.signedIn('admin', 'boss');
});
after(async () => {
  await c?.stop();
});

/** Like assert.match, but reports the pattern only (pages are long); entities in attributes are decoded first. */
function matches(html: string, pattern: RegExp, message?: string): void {
  const text = html.replace(/&#x3D;/g, '=');
  assert.ok(pattern.test(text), message ?? `page does not match ${pattern}`);
}

/** Certificate names in a page's certificate table, in order. */
const namesIn = (html: string): string[] =>
  [...html.matchAll(/<a href="\/certificates\/\d+">(cert-[^<]+)<\/a>/g)].map((m) => m[1] as string);

describe('customers', () => {
  it('creates, refuses duplicates and bad input next to the field, edits, and deletes only when empty', async () => {
    await admin.get('/customers');
    const created = await admin.post('/customers', { name: '  Kunde Zürich AG ', notes: 'Ticket #42' });
    assert.equal(created.status, 303);
    const id = /\/customers\/(\d+)$/.exec(created.location ?? '')?.[1];
    assert.ok(id);
    const duplicate = await admin.post('/customers', { name: 'kunde zürich ag' });
    assert.equal(duplicate.status, 400);
    matches(duplicate.text, /<p class="field-error" id="e-name">Another customer has this name already.<\/p>/);
    const control = await admin.post('/customers', { name: 'bad\u0007bell' });
    assert.equal(control.status, 400);
    const edited = await admin.post(`/customers/${id}`, {
      name: 'Kunde Zürich AG',
      notes: 'moved to the new contract',
    });
    assert.equal(edited.status, 303);
    const page = await admin.get(`/customers/${id}`);
    matches(page.text, /moved to the new contract/);

    // A customer with certificates cannot be deleted.
    const busy = await admin.post(`/customers/${fleet.customerIds[0]}/delete`, {});
    assert.equal(busy.status, 409);
    matches(busy.text, /still has \d+ certificate\(s\)/);
    assert.equal((await admin.post(`/customers/${id}/delete`, {})).status, 303);
    assert.equal((await admin.get(`/customers/${id}`)).status, 404);
    const audit = await c.db.db.query<{
      action: string;
      actor: string;
      actor_ip: string;
      before: unknown;
      after: unknown;
    }>(
      "SELECT action, actor, actor_ip, before, after FROM audit_log WHERE entity_type = 'customer' AND entity_id = $1 ORDER BY id",
      [id],
    );
    assert.deepEqual(
      audit.map((a) => a.action),
      ['customer.create', 'customer.update', 'customer.delete'],
    );
    assert.ok(audit.every((a) => a.actor === 'boss' && /127\.0\.0\.1/.test(a.actor_ip)));
    assert.deepEqual(audit[1]?.before, { name: 'Kunde Zürich AG', notes: 'Ticket #42', alertRecipients: [] });
    assert.deepEqual(audit[1]?.after, {
      name: 'Kunde Zürich AG',
      notes: 'moved to the new contract',
      alertRecipients: [],
    });
  });
});

describe('certificate list', () => {
  it('pages 50 at a time and keeps the filters in the pager links', async () => {
    const first = await admin.get('/certificates');
    assert.equal(first.status, 200);
    assert.equal(namesIn(first.text).length, 50);
    matches(first.text, /1–50 of 120/);
    const third = await admin.get('/certificates?page=3');
    assert.equal(namesIn(third.text).length, 20);
    const filtered = await admin.get('/certificates?status=valid');
    matches(filtered.text, /href="\/certificates\?status=valid&amp;page=2" rel="next"/);
    assert.equal((await admin.get('/certificates?page=99')).status, 200);
  });

  it('searches by name, filters by status, customer, expiry and vendor, and sorts', async () => {
    assert.deepEqual(namesIn((await admin.get('/certificates?q=cert-77.')).text), ['cert-77.c1.example.test']);
    // A search with LIKE wildcards matches them literally.
    assert.deepEqual(namesIn((await admin.get('/certificates?q=%25')).text), []);
    const failed = namesIn((await admin.get('/certificates?status=failed')).text);
    assert.deepEqual(failed.sort(), ['cert-120.c0.example.test', 'cert-40.c0.example.test', 'cert-80.c0.example.test']);
    const pending = namesIn((await admin.get('/certificates?expiry=none')).text);
    assert.deepEqual(pending.sort(), ['cert-100.c0.example.test', 'cert-50.c2.example.test']);
    const customerRows = await c.db.db.query<{ n: string }>(
      'SELECT count(*) AS n FROM certificates WHERE customer_id = $1',
      [fleet.customerIds[2]],
    );
    matches(
      (await admin.get(`/certificates?customer=${fleet.customerIds[2]}`)).text,
      new RegExp(`of ${customerRows[0]?.n}<`),
    );
    const week = await c.db.db.query<{ common_name: string }>(
      `SELECT c.common_name FROM certificates c JOIN certificate_versions v ON v.id = c.current_version_id
        WHERE v.not_after > now() AND v.not_after <= now() + interval '7 days' ORDER BY v.not_after, c.id`,
    );
    assert.deepEqual(
      namesIn((await admin.get('/certificates?expiry=7')).text),
      week.map((r) => r.common_name),
    );
    const viaF5 = await c.db.db.query<{ n: string }>(
      "SELECT count(DISTINCT d.certificate_id) AS n FROM deployments d JOIN targets t ON t.id = d.target_id WHERE t.vendor = 'f5-bigip'",
    );
    matches((await admin.get('/certificates?vendor=f5-bigip')).text, new RegExp(`of ${viaF5[0]?.n}<`));
    const byNameDesc = namesIn((await admin.get('/certificates?sort=name&dir=desc')).text);
    assert.deepEqual(byNameDesc, [...byNameDesc].sort().reverse());
    const byExpiry = await admin.get('/certificates?sort=expiry');
    assert.ok(
      namesIn(byExpiry.text)
        .slice(0, 2)
        .every((n) => pending.includes(n)),
      'not yet issued first when sorting by expiry',
    );
    // Unknown filter values are ignored, not errors.
    assert.equal(
      (await admin.get('/certificates?status=bogus&sort=drop%20table&dir=sideways&customer=abc')).status,
      200,
    );
  });
});

describe('dashboard', () => {
  it('counts by status and expiry, lists failing deployments and next renewals, and links everything', async () => {
    const page = await admin.get('/');
    assert.equal(page.status, 200);
    const [valid] = await c.db.db.query<{ n: string }>("SELECT count(*) AS n FROM certificates WHERE status = 'valid'");
    matches(
      page.text,
      new RegExp(`<a class="tile good" href="/certificates\\?status=valid"><strong>${valid?.n}</strong> valid</a>`),
    );
    const [expired] = await c.db.db.query<{ n: string }>(
      'SELECT count(*) AS n FROM certificates c JOIN certificate_versions v ON v.id = c.current_version_id WHERE v.not_after <= now()',
    );
    matches(page.text, new RegExp(`href="/certificates\\?expiry=expired"><strong>${expired?.n}</strong> expired`));
    matches(page.text, /<table id="failing">[\s\S]*fortigate: the management API did not answer \(seeded\)/);
    matches(page.text, /<table id="renewals">[\s\S]*href="\/certificates\/\d+"/);
    matches(page.text, /Not checked yet/);
    const oneCustomer = await admin.get(`/?customer=${fleet.customerIds[3]}`);
    const [mine] = await c.db.db.query<{ n: string }>('SELECT count(*) AS n FROM certificates WHERE customer_id = $1', [
      fleet.customerIds[3],
    ]);
    matches(oneCustomer.text, new RegExp(`<strong>${mine?.n}</strong> certificates`));
    const running = await admin.get('/dashboard/running', { 'HX-Request': 'true' });
    matches(running.text, /Nothing is running|running/);
  });
});

describe('targets and DNS providers', () => {
  it('edits a target keeping its stored secret, refuses to delete one in use, deletes an unused one', async () => {
    /** The FortiGate form of the first customer's "Edge FW" at fw.example.test:8443, pinned, with `fields` on top. */
    const fortigateForm = (fields: Record<string, string>): Record<string, string> => ({
      vendor: 'fortigate',
      customerId: fleet.customerIds[0] as string,
      name: 'Edge FW',
      host: 'fw.example.test',
      port: '8443',
      trustMode: 'fingerprint',
      trustFingerprint: FINGERPRINT,
      opt_vdom: 'root',
      ...fields,
    });
    await admin.get('/targets/new?vendor=fortigate');
    const created = await admin.post('/targets', fortigateForm({ cred_token: 'fortigate-secret-token-1' }));
    assert.equal(created.status, 303, created.text.slice(0, 400));
    const id = /\/targets\/(\d+)$/.exec(created.location ?? '')?.[1] as string;
    const editForm = await admin.get(`/targets/${id}/edit`);
    assert.ok(!editForm.text.includes('fortigate-secret-token-1'), 'the stored secret is never sent back');
    const saved = await admin.post(`/targets/${id}`, fortigateForm({ name: 'Edge FW 2', cred_token: '' }));
    assert.equal(saved.status, 303, saved.text.slice(0, 400));
    const row = await getTarget(c.db.db, id);
    assert.equal(row?.name, 'Edge FW 2');
    assert.equal(openTargetCredentials(c.box, row).token, 'fortigate-secret-token-1');
    const bad = await admin.post(`/targets/${id}`, {
      vendor: 'fortigate',
      customerId: fleet.customerIds[0] as string,
      name: '',
      host: 'not a host',
      port: '70000',
      trustMode: 'fingerprint',
      trustFingerprint: 'zz',
    });
    assert.equal(bad.status, 400);
    for (const field of ['name', 'host', 'port'])
      matches(bad.text, new RegExp(`id="e-${field}"`), `error next to ${field}`);
    assert.equal(
      (await c.db.db.query<{ name: string }>('SELECT name FROM targets WHERE id = $1', [id]))[0]?.name,
      'Edge FW 2',
      'a refused edit changes nothing',
    );

    const [inUse] = await c.db.db.query<{ id: string }>(
      'SELECT target_id AS id FROM deployments WHERE deleted_at IS NULL LIMIT 1',
    );
    const refused = await admin.post(`/targets/${inUse?.id}/delete`, {});
    assert.equal(refused.status, 409);
    matches(refused.text, /Unlink those certificates from it first/);
    assert.equal((await admin.post(`/targets/${id}/delete`, { confirm: 'Edge FW 2' })).status, 303);
    assert.equal((await admin.get(`/targets/${id}`)).status, 404);
    const listed = await admin.get(`/targets?customer=${fleet.customerIds[0]}&vendor=fortigate`);
    assert.ok(!listed.text.includes('Edge FW 2'));
  });

  it('edits a DNS provider keeping its token, and deletes it only when no certificate uses it', async () => {
    await admin.get('/dns-providers');
    const created = await admin.post('/dns-providers', { name: 'Spare CF', kind: 'cloudflare', token: 'cf-token-1' });
    assert.equal(created.status, 303);
    const [row] = await c.db.db.query<{ id: string; secrets_encrypted: Record<string, string> }>(
      "SELECT id, secrets_encrypted FROM dns_providers WHERE name = 'Spare CF'",
    );
    const edited = await admin.post(`/dns-providers/${row?.id}`, {
      name: 'Spare Cloudflare',
      token: '',
      zoneName: 'example.test',
    });
    assert.equal(edited.status, 303, edited.text.slice(0, 300));
    const [after] = await c.db.db.query<{
      name: string;
      secrets_encrypted: Record<string, string>;
      config: Record<string, unknown>;
    }>('SELECT name, secrets_encrypted, config FROM dns_providers WHERE id = $1', [row?.id]);
    assert.equal(after?.name, 'Spare Cloudflare');
    assert.deepEqual(after?.secrets_encrypted, row?.secrets_encrypted, 'an empty token field keeps the stored token');
    assert.deepEqual(after?.config, { zoneName: 'example.test' });
    const used = await admin.post(`/dns-providers/${fleet.dnsProviderId}/delete`, {});
    assert.equal(used.status, 409);
    matches(used.text, /is used by cert-/);
    assert.equal((await admin.post(`/dns-providers/${row?.id}/delete`, { confirm: 'Spare Cloudflare' })).status, 303);
    assert.ok(!(await admin.get('/dns-providers')).text.includes('Spare Cloudflare'));
    // The name is free again.
    assert.equal(
      (await admin.post('/dns-providers', { name: 'Spare Cloudflare', kind: 'cloudflare', token: 'cf-token-2' }))
        .status,
      303,
    );
  });
});

describe('deployment history', () => {
  const runIds = (html: string): string[] => [...html.matchAll(/<tr data-run="(\d+)">/g)].map((m) => m[1] as string);
  const expected = async (where: string, params: unknown[], limit = 50): Promise<string[]> =>
    (
      await c.db.db.query<{ id: string }>(
        `SELECT r.id FROM deployment_runs r JOIN deployments d ON d.id = r.deployment_id JOIN certificates c ON c.id = d.certificate_id
         JOIN targets t ON t.id = d.target_id WHERE ${where} ORDER BY r.id DESC LIMIT ${limit}`,
        params,
      )
    ).map((r) => r.id);

  it('lists every run across deployments, newest first, with filters and keyset paging', async () => {
    const all = await admin.get('/deployments');
    assert.deepEqual(runIds(all.text), await expected('true', []));
    matches(
      all.text,
      /href="http:\/\/127\.0\.0\.1:8233\/namespaces\/default\/workflows\/deploy%3A\d+%3A\d+\/seed-\d+\/history"/,
      'every run links to the Temporal UI',
    );
    const next = /href="(\/deployments\?before=\d+)" rel="next"/.exec(all.text.replace(/&#x3D;/g, '='))?.[1];
    assert.ok(next);
    const second = await admin.get(next);
    assert.deepEqual(runIds(second.text), (await expected('true', [], 100)).slice(50));
    assert.deepEqual(
      runIds((await admin.get('/deployments?outcome=failed')).text),
      await expected("r.outcome = 'failed'", []),
    );
    assert.deepEqual(
      runIds((await admin.get(`/deployments?customer=${fleet.customerIds[1]}`)).text),
      await expected('c.customer_id = $1', [fleet.customerIds[1]]),
    );
    const nginx = await expected("t.vendor = 'nginx'", []);
    assert.ok(nginx.length > 0, 'the seed deploys to nginx targets');
    assert.deepEqual(runIds((await admin.get('/deployments?vendor=nginx')).text), nginx);
  });

  it('lists only the runs of one target, or of one certificate, when asked', async () => {
    // The busiest target and certificate: more than one run each, and not every run of the fleet.
    const busiest = async (column: 'target_id' | 'certificate_id'): Promise<string> => {
      const [row] = await c.db.db.query<{ id: string; runs: number }>(
        `SELECT d.${column} AS id, count(*)::int AS runs FROM deployment_runs r JOIN deployments d ON d.id = r.deployment_id GROUP BY d.${column} ORDER BY count(*) DESC, d.${column} LIMIT 1`,
      );
      assert.ok(row && row.runs > 1, `the seed gives some ${column} several runs`);
      return row.id;
    };
    const all = runIds((await admin.get('/deployments')).text);

    /** Filters the list by `?param=` the busiest id of `column`: only (and all) its runs. Returns that id. */
    const filteredBy = async (column: 'target_id' | 'certificate_id', param: string): Promise<string> => {
      const id = await busiest(column);
      const ofId = await expected(`d.${column} = $1`, [id]);
      assert.ok(ofId.length > 1);
      assert.notDeepEqual(ofId, all, 'the filter must narrow the list');
      const page = await admin.get(`/deployments?${param}=${id}`);
      assert.equal(page.status, 200);
      assert.deepEqual(runIds(page.text), ofId);
      return id;
    };
    const targetId = await filteredBy('target_id', 'target');
    const certificateId = await filteredBy('certificate_id', 'certificate');

    // Both at once: the runs of that certificate on that target only.
    assert.deepEqual(
      runIds((await admin.get(`/deployments?target=${targetId}&certificate=${certificateId}`)).text),
      await expected('d.target_id = $1 AND d.certificate_id = $2', [targetId, certificateId]),
    );
  });

  it('links runs to the Temporal UI for admins only', async () => {
    const [run] = await c.db.db.query<{ deployment_id: string }>(
      'SELECT deployment_id FROM deployment_runs ORDER BY id DESC LIMIT 1',
    );
    assert.ok(run);
    const pages = ['/deployments', `/deployments/${run.deployment_id}`];
    const uiLink = /href="http:\/\/127\.0\.0\.1:8233\//;
    for (const path of pages)
      matches((await admin.get(path)).text, uiLink, `an admin sees Temporal UI links on ${path}`);
    for (const role of ['technician', 'readonly'] as const) {
      const user = await c.signedIn(role);
      for (const path of pages) {
        const page = await user.get(path);
        assert.equal(page.status, 200);
        assert.ok(
          !uiLink.test(page.text) && !page.text.includes('Temporal UI'),
          `a ${role} sees no Temporal UI link on ${path}`,
        );
      }
    }
  });
});

describe('linking a certificate to a target', () => {
  it("refuses a target of another customer with a 400 and creates nothing; the same form with the customer's own target is accepted", async () => {
    // A certificate, a PAN-OS target of another customer, and a PAN-OS target of its own customer it is not deployed to.
    const [pick] = await c.db.db.query<{
      cert_id: string;
      cert_customer: string;
      foreign_id: string;
      foreign_name: string;
      foreign_customer: string;
      own_id: string;
    }>(
      `SELECT c.id AS cert_id, cc.name AS cert_customer, f.id AS foreign_id, f.name AS foreign_name, fc.name AS foreign_customer, o.id AS own_id
         FROM certificates c JOIN customers cc ON cc.id = c.customer_id
         JOIN targets o ON o.customer_id = c.customer_id AND o.vendor = 'panos'
         JOIN targets f ON f.customer_id <> c.customer_id AND f.vendor = 'panos' JOIN customers fc ON fc.id = f.customer_id
        WHERE c.current_version_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM deployments d WHERE d.certificate_id = c.id AND d.target_id = o.id)
        ORDER BY c.id, f.id, o.id LIMIT 1`,
    );
    assert.ok(pick, 'the seed has PAN-OS targets at two customers');
    const deploymentsOf = () =>
      c.db.db.query<{ target_id: string }>('SELECT target_id FROM deployments WHERE certificate_id = $1 ORDER BY id', [
        pick.cert_id,
      ]);
    const linkAudits = () => c.db.db.query("SELECT id FROM audit_log WHERE action = 'deployment.create'");
    const [deploymentsBefore, auditsBefore] = [await deploymentsOf(), await linkAudits()];
    const form = (targetId: string) => ({ targetId, bind_profiles: 'gp-portal', verifyEndpoints: '' });

    await admin.get(`/certificates/${pick.cert_id}/deployments/new?target=${pick.foreign_id}`);
    const refused = await admin.post(`/certificates/${pick.cert_id}/deployments`, form(pick.foreign_id));
    assert.equal(refused.status, 400);
    assert.ok(
      refused.text.includes(
        `${pick.foreign_name} belongs to ${pick.foreign_customer}, the certificate to ${pick.cert_customer}.`,
      ),
      'the form names both customers next to the target field',
    );
    assert.deepEqual(await deploymentsOf(), deploymentsBefore, 'no deployment was created');
    assert.equal((await linkAudits()).length, auditsBefore.length, 'nothing was audited as linked');

    // The JSON API goes through the same check.
    const token = await createApiToken(admin, 'link guard');
    const viaApi = await c.api(token, 'POST', `/api/v1/certificates/${pick.cert_id}/deployments`, {
      targetId: pick.foreign_id,
      binding: { profiles: ['gp-portal'] },
    });
    assert.equal(viaApi.status, 400, viaApi.text);
    assert.ok(viaApi.text.includes(`belongs to ${pick.foreign_customer}`), viaApi.text);
    assert.deepEqual(await deploymentsOf(), deploymentsBefore, 'the API created nothing either');
    await admin.get(`/certificates/${pick.cert_id}/deployments/new?target=${pick.own_id}`);

    // The premise: the refusal was about the customer, not the form.
    const accepted = await admin.post(`/certificates/${pick.cert_id}/deployments`, form(pick.own_id));
    assert.equal(accepted.status, 303, accepted.text.slice(0, 500));
    assert.deepEqual(
      (await deploymentsOf()).map((d) => d.target_id),
      [...deploymentsBefore.map((d) => d.target_id), pick.own_id],
    );
  });
});

describe('users and sign-in', () => {
  it('an admin adds a technician, who may not see settings; the last admin cannot be demoted or deleted', async () => {
    await admin.get('/settings/users');
    const short = await admin.post('/settings/users', { username: 'tina', role: 'technician', password: 'short' });
    assert.equal(short.status, 400);
    matches(short.text, /id="e-password"/);
    assert.equal(
      (await admin.post('/settings/users', { username: 'tina', role: 'technician', password: 'tina-password-1' }))
        .status,
      303,
    );
    const tina = new ConsoleClient(c.url);
    await tina.login('tina', 'tina-password-1');
    assert.equal((await tina.get('/settings/users')).status, 403);
    assert.equal((await tina.get('/certificates')).status, 200);
    assert.ok(!(await tina.get('/')).text.includes('href="/settings"'), 'no Settings link for technicians');

    const admins = await c.db.db.query<{ id: string }>("SELECT id FROM users WHERE role = 'admin'");
    assert.equal(admins.length, 1);
    const demote = await admin.post(`/settings/users/${admins[0]?.id}`, { role: 'readonly' });
    assert.equal(demote.status, 400);
    matches(demote.text, /This is the last admin/);
    assert.equal((await admin.post(`/settings/users/${admins[0]?.id}/delete`, {})).status, 409);
  });

  it('locks an account after repeated wrong passwords; an admin unlocks it; a new session id at login', async () => {
    const victim = await c.addUser('readonly', 'victim');
    const attacker = new ConsoleClient(c.url);
    await attacker.get('/login');
    for (let i = 0; i < 2; i += 1)
      assert.equal((await attacker.post('/login', { username: 'victim', password: `wrong-${i}` })).status, 401);
    const locked = await attacker.post('/login', { username: 'victim', password: 'wrong-3' });
    assert.equal(locked.status, 423);
    matches(locked.text, /Too many failed sign-ins with this user name from your address: refused until/);
    // Even the right password is refused while locked.
    assert.equal((await attacker.post('/login', { username: 'victim', password: ROLE_PASSWORD })).status, 423);
    matches((await admin.get('/settings/users')).text, /locked until/);
    await admin.get(`/settings/users/${victim.id}`);
    assert.equal((await admin.post(`/settings/users/${victim.id}`, { role: 'readonly', unlock: 'on' })).status, 303);
    const before = attacker.cookie('certfleet.sid');
    const ok = await attacker.post('/login', { username: 'victim', password: ROLE_PASSWORD, next: '/' });
    assert.equal(ok.status, 303);
    assert.notEqual(attacker.cookie('certfleet.sid'), before, 'a fresh session id at login');
    await assertAudited(c.db.db, ['login-failed', 'user.locked', 'login-locked', 'user.update']);
  });

  it('rate-limits sign-in attempts from one address', async () => {
    const limited = await startConsoleApp({
      login: { maxFailures: 1000, lockMs: 60_000, rateLimit: 3, rateWindowMs: 60_000 },
    });
    try {
      const client = new ConsoleClient(limited.url);
      await client.get('/login');
      const statuses: number[] = [];
      for (let i = 0; i < 5; i += 1)
        statuses.push((await client.post('/login', { username: 'nobody', password: 'x' })).status);
      assert.deepEqual(statuses, [401, 401, 401, 429, 429]);
      const last = await client.post('/login', { username: 'nobody', password: 'x' });
      matches(last.text, /Too many sign-in attempts from your address/);
      assert.ok(last.headers.get('ratelimit-policy') || last.headers.get('ratelimit'), 'standard rate limit headers');
    } finally {
      await limited.stop();
    }
  });

  it('your account: change your own password with the current one', async () => {
    const me = await c.signedIn('technician', 'pat');
    await me.get('/account');
    const wrong = await me.post('/account/password', { currentPassword: 'nope', newPassword: 'pat-new-password-1' });
    assert.equal(wrong.status, 400);
    matches(wrong.text, /id="e-currentPassword"/);
    const changed = await me.post('/account/password', {
      currentPassword: ROLE_PASSWORD,
      newPassword: 'pat-new-password-1',
    });
    assert.equal(changed.status, 303, 'POST-redirect-GET');
    matches((await me.get(changed.location ?? '/account')).text, /Your password was changed/);
    assert.doesNotMatch((await me.get('/account')).text, /Your password was changed/, 'said once');
    const again = new ConsoleClient(c.url);
    await again.login('pat', 'pat-new-password-1');
  });
});

describe('audit log', () => {
  it('filters by who, action prefix, entity and dates, pages by keyset, and exports CSV safe for spreadsheets', async () => {
    const byActor = await admin.get('/audit?actor=boss');
    assert.equal(byActor.status, 200);
    matches(byActor.text, /customer\.create/);
    assert.ok(!/<td>alice<\/td>/.test(byActor.text));
    const prefix = await admin.get('/audit?action=customer.');
    matches(prefix.text, /customer\.update/);
    assert.ok(!/<td>login<\/td>/.test(prefix.text));
    assert.equal((await admin.get('/audit?from=not-a-date')).status, 400);
    const today = new Date().toISOString().slice(0, 10);
    matches((await admin.get(`/audit?from=${today}&to=${today}&actor=boss`)).text, /customer\.create/);
    const first = await admin.get('/audit');
    const next = /href="(\/audit\?before=\d+)"/.exec(first.text.replace(/&#x3D;/g, '='))?.[1];
    assert.ok(next, 'more than one page of entries');
    assert.equal((await admin.get(next.replace(/&amp;/g, '&'))).status, 200);

    // A name that a spreadsheet would run as a formula is defused in the export.
    await admin.get('/customers');
    assert.equal((await admin.post('/customers', { name: '=HYPERLINK("http://evil.example","x")' })).status, 303);
    const csv = await admin.getBytes('/audit.csv?action=customer.create');
    assert.equal(csv.status, 200);
    matches(csv.headers.get('content-type') ?? '', /text\/csv/);
    const text = csv.body.toString('utf8');
    matches(text, /^id,at,actor,actor_ip,action,entity_type,entity_id,before,after\r\n/);
    assert.ok(
      text.includes(
        `"{""name"":""=HYPERLINK(\\""http://evil.example\\"",\\""x\\"")"",""notes"":"""",""alertRecipients"":[]}"`,
      ),
      'JSON cell quoted',
    );
    assert.ok(!/\r\n=|,=/.test(text), 'no cell starts with =');
    const readonly = await c.signedIn('readonly');
    assert.equal((await readonly.get('/audit')).status, 200, 'read-only users see the audit log');
  });

  it('the application cannot rewrite history: UPDATE and DELETE on audit_log fail in the database', async () => {
    await assert.rejects(c.db.db.query("UPDATE audit_log SET actor = 'mallory'"), /append-only/);
    await assert.rejects(c.db.db.query('DELETE FROM audit_log'), /append-only/);
  });
});

describe('hostile names', () => {
  it('are stored as typed and rendered as text on every page that shows them', async () => {
    await admin.get('/customers');
    const created = await admin.post('/customers', { name: HOSTILE, notes: `${HOSTILE}\nsecond line` });
    assert.equal(created.status, 303);
    const id = /\/customers\/(\d+)$/.exec(created.location ?? '')?.[1] as string;
    // A target and a certificate of that customer, so the name shows on their pages and lists too.
    await c.db.db.query(
      "INSERT INTO targets (name, vendor, host, port, credentials_encrypted, customer_id, trust_fingerprint) VALUES ('Hostile FW', 'fortigate', 'fw.example.test', 443, $1, $2, $3)",
      [c.box.seal('{}', SecretPurpose.targetCredentials), id, FINGERPRINT],
    );
    await c.db.db.query(
      "INSERT INTO certificates (common_name, customer_id, dns_provider_id, acme_directory_id, key_type) VALUES ('hostile.example.test', $1, $2, $3, 'ecdsa-p256')",
      [id, fleet.dnsProviderId, fleet.directoryId],
    );
    const [cert] = await c.db.db.query<{ id: string }>(
      "SELECT id FROM certificates WHERE common_name = 'hostile.example.test'",
    );
    const [target] = await c.db.db.query<{ id: string }>("SELECT id FROM targets WHERE name = 'Hostile FW'");
    const pages = [
      '/',
      '/customers',
      `/customers/${id}`,
      '/certificates',
      `/certificates?customer=${id}`,
      `/certificates?q=${encodeURIComponent(HOSTILE)}`,
      `/certificates/${cert?.id}`,
      '/targets',
      `/targets/${target?.id}`,
      `/targets/${target?.id}/edit`,
      '/certificates/new',
      `/audit?entityId=${id}`,
    ];
    for (const path of pages) {
      const page = await admin.get(path);
      assert.equal(page.status, 200, path);
      assert.ok(!page.text.includes('<script>alert'), `${path}: no live script tag`);
      assert.ok(!page.text.includes('"Müller" &'), `${path}: quotes and ampersands are escaped`);
    }
    assert.ok((await admin.get(`/customers/${id}`)).text.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;'));
    const [stored] = await c.db.db.query<{ name: string }>('SELECT name FROM customers WHERE id = $1', [id]);
    assert.equal(stored?.name, HOSTILE.trim());
    // The JSON API returns it as data.
    const token = await c.apiToken('readonly');
    const api = await c.api(token, 'GET', `/api/v1/customers/${id}`);
    assert.equal((api.json as { name: string }).name, HOSTILE.trim());
    matches(api.headers.get('content-type') ?? '', /application\/json/);
  });

  it('with a text-direction override are refused next to the field (they display other than they read)', async () => {
    await admin.get('/customers');
    const refused = await admin.post('/customers', { name: 'invoice\u202Etxt.exe' });
    assert.equal(refused.status, 400);
    matches(refused.text, /text-direction/);
  });

  it('security headers: a CSP without inline script, no framing, no sniffing', async () => {
    const page = await admin.get('/');
    const csp = page.headers.get('content-security-policy') ?? '';
    matches(csp, /script-src 'self'/);
    assert.ok(!/unsafe-inline|unsafe-eval/.test(csp));
    matches(csp, /frame-ancestors 'none'/);
    assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
    assert.ok(!/<script>/.test(page.text), 'no inline script in the layout');
  });
});
