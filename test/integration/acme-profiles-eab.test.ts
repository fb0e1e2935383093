/**
 * ACME profiles and External Account Binding against Pebble v2.10.3 configured with two profiles and
 * EAB required, on the real stack (console, worker, Temporal, PostgreSQL): the directory's profiles are
 * read by the worker and offered in the forms, an unknown profile is refused with a 4xx, a `shortlived`
 * certificate is issued with that profile's validity and its lifetime shown, its renewal and alert
 * thresholds follow the lifetime, and the account is created with the EAB pair (a clear error without
 * one or with a wrong one). The HMAC key is never in PostgreSQL or a Temporal history in clear.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { acmeClientForDirectory } from '../../activities/acme/accounts';
import { sealEabHmacKey } from '../../activities/crypto/bound-secrets';
import { createSecretBox } from '../../activities/crypto/secret-box';
import { setDirectoryOptions, upsertAcmeDirectory } from '../../activities/db/repositories/acme-directories';
import { expiryCounts, expiringSoon } from '../../activities/db/repositories/dashboard';
import { insertApiToken } from '../../activities/db/repositories/api-tokens';
import { hashToken, TOKEN_PREFIX } from '../../web/operations/api-tokens';
import type { ConsoleClient } from '../support/console-client';
import {
  addCloudflareProvider,
  addPebbleDirectory,
  requestCertificate,
  waitForRunToEnd,
} from '../support/console-actions';
import { eventually, startStack, type Stack } from '../support/stack';
import { pastWindow, setRenewalInfo } from '../support/pebble-ari';
import { TASK_QUEUE, WorkflowType, type ScheduledRenewalResult } from '../../temporal/contract';

const HOUR = 3600;
const SHORTLIVED_SECONDS = 160 * HOUR; // Let's Encrypt's shortlived: 160 hours
const EAB_KID = 'certfleet-kid-1';
const EAB_HMAC = randomBytes(32).toString('base64url');

describe('ACME profiles and External Account Binding on Pebble', () => {
  let stack: Stack;
  let admin: ConsoleClient;
  let directoryId: string;
  let providerId: string;
  let certificateId: string;

  before(async () => {
    stack = await startStack({
      zones: ['example.test'],
      pebble: {
        profiles: {
          classic: { description: 'The 90-day certificate', validityPeriodSeconds: 90 * 24 * HOUR },
          shortlived: { description: 'About six days', validityPeriodSeconds: SHORTLIVED_SECONDS },
        },
        eabKeys: { [EAB_KID]: EAB_HMAC, 'other-kid': randomBytes(32).toString('base64url') },
      },
    });
    await stack.startWorker();
    admin = await stack.admin();
    providerId = await addCloudflareProvider(admin, stack, 'Profiles Cloudflare');
  });
  after(async () => {
    await stack?.stop();
  });

  it('reads the profiles the directory offers and lists them in the forms', async () => {
    await addPebbleDirectory(admin, stack);
    const row = await eventually('the worker read the directory', async () => {
      const rows = await stack.db.db.query<{
        id: string;
        profiles: Record<string, string> | null;
        eab_required: boolean;
      }>('SELECT id, profiles, eab_required FROM acme_directories WHERE url = $1', [stack.pebble.directoryUrl]);
      return rows[0]?.profiles ? rows[0] : undefined;
    });
    directoryId = row.id;
    assert.deepEqual(row.profiles, { classic: 'The 90-day certificate', shortlived: 'About six days' });
    assert.equal(row.eab_required, true);

    const read = await admin.post(`/settings/acme-directories/${directoryId}/read-profiles`, {});
    assert.equal(read.status, 200);
    assert.match(read.text, /offers the profiles classic, shortlived and requires External Account Binding/);
    const form = await admin.get('/certificates/new');
    assert.match(form.text, /<optgroup label="Pebble">/);
    assert.match(form.text, /<option value="shortlived">shortlived — About six days<\/option>/);
  });

  it('refuses a profile the directory does not offer, with a 4xx and nothing stored', async () => {
    await admin.get('/certificates/new');
    const refused = await admin.post('/certificates', {
      commonName: 'nope.example.test',
      dnsProviderId: providerId,
      acmeDirectoryId: directoryId,
      keyType: 'ecdsa-p256',
      renewalMode: 'fraction',
      renewalValue: '',
      acmeProfile: 'tlsserver',
    });
    assert.equal(refused.status, 400);
    assert.match(
      refused.text,
      /Pebble does not offer the profile &quot;tlsserver&quot; \(it offers classic, shortlived\)/,
    );
    const rows = await stack.db.db.query("SELECT 1 FROM certificates WHERE common_name = 'nope.example.test'");
    assert.equal(rows.length, 0);
    await admin.get('/settings');
    const badDefault = await admin.post(`/settings/acme-directories/${directoryId}/options`, {
      defaultProfile: 'bogus',
    });
    assert.equal(badDefault.status, 400);
  });

  it('stores the EAB HMAC key sealed and never shows it back', async () => {
    await admin.get('/settings');
    const saved = await admin.post(`/settings/acme-directories/${directoryId}/options`, {
      defaultProfile: 'classic',
      eabKeyId: EAB_KID,
      eabHmacKey: EAB_HMAC,
    });
    assert.equal(saved.status, 303, saved.text.slice(0, 2000));
    const page = await admin.get('/settings');
    assert.ok(!page.text.includes(EAB_HMAC), 'the settings page does not show the HMAC key');
    assert.match(page.text, /An HMAC key is stored \(encrypted, never shown\)/);
  });

  it('issues a shortlived certificate with that profile, shows its lifetime, and times renewal and alerts by it', async () => {
    certificateId = await requestCertificate(admin, {
      commonName: 'short.example.test',
      dnsProviderId: providerId,
      acmeDirectoryId: directoryId,
      acmeProfile: 'shortlived',
    } as Parameters<typeof requestCertificate>[1]);
    const fragment = await waitForRunToEnd(admin, certificateId);
    assert.match(fragment, /run-COMPLETED/, fragment);

    const [cert] = await stack.db.db.query<{ not_before: Date; not_after: Date; renew_at: Date; profile: string }>(
      `SELECT c.current_not_before AS not_before, c.current_not_after AS not_after, c.renew_at, o.profile
         FROM certificates c JOIN certificate_versions v ON v.id = c.current_version_id JOIN acme_orders o ON o.id = v.order_id
        WHERE c.id = $1`,
      [certificateId],
    );
    assert.ok(cert);
    assert.equal(cert.profile, 'shortlived', 'the order asked for the profile');
    const lifetime = (cert.not_after.getTime() - cert.not_before.getTime()) / 1000;
    assert.equal(lifetime, SHORTLIVED_SECONDS - 1, 'Pebble issued with the shortlived validity');
    // Renewal at a third of the lifetime before expiry: 53⅓ hours, not "N days before".
    assert.equal(cert.not_after.getTime() - cert.renew_at.getTime(), Math.round((lifetime * 1000) / 3));

    const page = await admin.get(`/certificates/${certificateId}`);
    assert.match(page.text, /lifetime <span id="lifetime">160 hours<\/span>/);
    assert.match(page.text, /<td>160 hours<\/td><td>shortlived<\/td>/);
    const [adminUser] = await stack.db.db.query<{ id: string }>("SELECT id FROM users WHERE username = 'admin'");
    const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
    await insertApiToken(stack.db.db, {
      userId: adminUser?.id ?? '',
      name: 'profiles test',
      tokenHash: hashToken(token),
      prefix: token.slice(0, 10),
    });
    const api = await fetch(new URL(`/api/v1/certificates/${certificateId}`, stack.web.url), {
      headers: { authorization: `Bearer ${token}` },
    });
    const apiText = await api.text();
    assert.equal(api.status, 200, apiText.slice(0, 500));
    const body = JSON.parse(apiText) as {
      acmeProfile: string;
      lifetimeSeconds: number;
      versions: { profile: string }[];
    };
    assert.equal(body.acmeProfile, 'shortlived');
    assert.equal(body.lifetimeSeconds, SHORTLIVED_SECONDS - 1);
    assert.equal(body.versions[0]?.profile, 'shortlived');

    // A fresh 6-day certificate is not "expiring within 7 days" (nor 14 or 30): thresholds scale with the lifetime.
    const counts = await expiryCounts(stack.db.db);
    assert.deepEqual([counts.within7, counts.within14, counts.within30], [0, 0, 0]);
    assert.equal((await expiringSoon(stack.db.db, undefined, 10)).length, 0);
    const list = await admin.get('/certificates?expiry=7');
    assert.ok(!list.text.includes('short.example.test'), 'not in the 7-day filter');
    // Two hours before its end it is (7/90 of 160 hours = 12.4 hours).
    await stack.db.db.query(
      `UPDATE certificate_versions SET not_before = now() - interval '158 hours', not_after = now() + interval '2 hours' WHERE certificate_id = $1`,
      [certificateId],
    );
    await stack.db.db.query('UPDATE certificates SET current_version_id = current_version_id WHERE id = $1', [
      certificateId,
    ]);
    await stack.db.db.query(
      `UPDATE certificates SET current_not_before = now() - interval '158 hours', current_not_after = now() + interval '2 hours' WHERE id = $1`,
      [certificateId],
    );
    const late = await expiryCounts(stack.db.db);
    assert.deepEqual([late.within7, late.within14, late.within30], [1, 1, 1]);
  });

  it('renews the shortlived certificate when the CA says so (ARI), with the same profile and lifetime', async () => {
    const [current] = await stack.db.db.query<{ cert_pem: string; version_id: string }>(
      'SELECT v.cert_pem, v.id AS version_id FROM certificates c JOIN certificate_versions v ON v.id = c.current_version_id WHERE c.id = $1',
      [certificateId],
    );
    assert.ok(current);
    // The CA moves the window of this 6-day certificate into the past (renew now), as it would on its day.
    await setRenewalInfo(stack.pebble, current.cert_pem, pastWindow());
    const connection = await Connection.connect({ address: stack.temporal.address });
    try {
      const result = (await new Client({ connection }).workflow.execute(WorkflowType.scheduledRenewal, {
        args: [{ certificateId }],
        taskQueue: TASK_QUEUE,
        workflowId: `test-shortlived-renewal-${certificateId}`,
      })) as ScheduledRenewalResult;
      assert.equal(result.result?.outcome, 'issued', JSON.stringify(result));
    } finally {
      await connection.close();
    }
    const [renewed] = await stack.db.db.query<{ version_id: string; profile: string; seconds: number }>(
      `SELECT v.id AS version_id, o.profile, extract(epoch FROM v.not_after - v.not_before)::int AS seconds
         FROM certificates c JOIN certificate_versions v ON v.id = c.current_version_id JOIN acme_orders o ON o.id = v.order_id
        WHERE c.id = $1`,
      [certificateId],
    );
    assert.ok(renewed);
    assert.notEqual(renewed.version_id, current.version_id, 'a new version');
    assert.equal(renewed.profile, 'shortlived', 'the renewal order asked for the same profile');
    assert.equal(renewed.seconds, SHORTLIVED_SECONDS - 1, 'and got a 6-day certificate again');
  });

  it('created the account with the EAB pair; without one, or with a wrong one, the error names the setting', async () => {
    const accounts = await stack.db.db.query<{ account_url: string | null }>(
      'SELECT account_url FROM acme_accounts WHERE directory_id = $1',
      [directoryId],
    );
    assert.ok(accounts[0]?.account_url, 'the account exists');

    const box = createSecretBox(Buffer.from(stack.masterKey, 'base64'));
    const settings = { backoffMinMs: 100, backoffMaxMs: 500, backoffAttempts: 5 };
    const origin = new URL(stack.pebble.directoryUrl);
    const without = await upsertAcmeDirectory(stack.db.db, {
      name: 'Pebble without EAB',
      url: `https://localhost:${origin.port}/dir`,
      caBundlePem: stack.pebble.caBundlePem,
    });
    await assert.rejects(acmeClientForDirectory(stack.db.db, box, settings, without.id), (error: Error) => {
      assert.match(error.message, /Pebble without EAB requires External Account Binding/);
      assert.match(error.message, /Settings → ACME directories → External Account Binding/);
      return true;
    });
    const wrongUrl = `https://localhost:${origin.port}/dir?wrong-key`;
    const wrong = await upsertAcmeDirectory(stack.db.db, {
      name: 'Pebble wrong EAB',
      url: wrongUrl,
      caBundlePem: stack.pebble.caBundlePem,
    });
    await setDirectoryOptions(stack.db.db, wrong.id, {
      defaultProfile: null,
      eab: { keyId: EAB_KID, hmacKeySealed: sealEabHmacKey(box, wrongUrl, randomBytes(32).toString('base64url')) },
    });
    await assert.rejects(acmeClientForDirectory(stack.db.db, box, settings, wrong.id), (error: Error) => {
      assert.match(
        error.message,
        /Pebble wrong EAB refused the External Account Binding: check the key id and HMAC key/,
      );
      return true;
    });
  });

  it('keeps the HMAC key out of PostgreSQL and Temporal histories in clear', async () => {
    const { stdout } = await promisify(execFile)('pg_dump', ['--data-only', stack.db.url], {
      maxBuffer: 256 * 1024 * 1024,
    });
    assert.ok(stdout.length > 1000, 'the dump has data');
    assert.ok(!stdout.includes(EAB_HMAC), 'HMAC key not in the database dump');
    const connection = await Connection.connect({ address: stack.temporal.address });
    try {
      const client = new Client({ connection });
      // Payloads are bytes: read them as the UTF-8 JSON they are.
      const asText = (_key: string, value: unknown) =>
        value instanceof Uint8Array ? Buffer.from(value).toString('utf8') : value;
      let histories = 0;
      for await (const execution of client.workflow.list()) {
        const history = await client.workflow.getHandle(execution.workflowId, execution.runId).fetchHistory();
        const text = JSON.stringify(history, asText);
        assert.ok(!text.includes(EAB_HMAC), `HMAC key not in ${execution.workflowId}`);
        histories += 1;
      }
      assert.ok(histories >= 2, 'the lifecycle and the directory read were checked');
    } finally {
      await connection.close();
    }
  });
});
