/**
 * Revocation and account key rollover against Pebble 2.10.3 (its management API reports a serial's
 * Status and Reason): a revocation with a reason; a key compromise that replaces the version with a new
 * key on a manual target and revokes the old one only once the replacement is marked done there; roles
 * and objects refused; deletion with revocation; a key rollover after which a new order works with the
 * new key and the CA refuses the old one.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import * as https from 'node:https';
import { after, before, it } from 'node:test';
import * as acme from 'acme-client';
import { createSecretBox, SecretPurpose } from '../../activities/crypto/secret-box';
import { insertUser } from '../../activities/db/repositories/users';
import { hashPassword } from '../../web/passwords';
import { ConsoleClient } from '../support/console-client';
import { apiCall, createApiToken, linkDeployment, renewNow, waitForRunToEnd } from '../support/console-actions';
import { signInWithIssuer, type ConsoleIssuer } from '../support/issuing-stack';
import { eventually, startStack, type Stack } from '../support/stack';

let stack: Stack;
let admin: ConsoleClient;
let directoryId: string;
let issuer: ConsoleIssuer;

before(async () => {
  stack = await startStack({ env: { REVOCATION_POLL_MS: '200', REVOCATION_WAIT_MS: '120000' } });
  await stack.startWorker();
  issuer = await signInWithIssuer(stack, 'Revocation');
  ({ admin, directoryId } = issuer);
});
after(async () => {
  await stack?.stop();
});

/** Pebble's view of a serial: management GET /cert-status-by-serial/<hex>. */
function pebbleStatus(serialHex: string): Promise<{ Status: string; Reason?: number }> {
  return new Promise((resolve, reject) => {
    https
      .get(
        `${stack.pebble.managementUrl}/cert-status-by-serial/${serialHex}`,
        { ca: stack.pebble.caBundlePem },
        (res) => {
          let body = '';
          res.on('data', (chunk: Buffer) => (body += chunk.toString()));
          res.on('end', () => {
            try {
              resolve(JSON.parse(body) as { Status: string; Reason?: number });
            } catch {
              reject(new Error(`pebble cert-status ${serialHex}: HTTP ${res.statusCode}: ${body.slice(0, 200)}`));
            }
          });
        },
      )
      .on('error', reject);
  });
}

interface VersionRow {
  id: string;
  serial_hex: string;
  cert_pem: string;
  revoked_at: Date | null;
  revocation_reason: number | null;
}
const versionsOf = (certificateId: string) =>
  stack.db.db.query<VersionRow>(
    'SELECT id, serial_hex, cert_pem, revoked_at, revocation_reason FROM certificate_versions WHERE certificate_id = $1 ORDER BY id',
    [certificateId],
  );

async function issued(commonName: string): Promise<{ certificateId: string; version: VersionRow }> {
  const { id: certificateId } = await issuer.issue(commonName);
  const [version] = await versionsOf(certificateId);
  assert.ok(version, `${commonName} was issued`);
  return { certificateId, version };
}

const revoke = async (client: ConsoleClient, certificateId: string, versionId: string, reason: string) => {
  await client.get(`/certificates/${certificateId}`);
  return client.post(`/certificates/${certificateId}/versions/${versionId}/revoke`, { reason });
};

const revokedInDb = (certificateId: string, versionId: string) =>
  eventually(`version ${versionId} revoked`, async () => {
    const row = (await versionsOf(certificateId)).find((v) => v.id === versionId);
    return row?.revoked_at ? row : undefined;
  });

it('revokes a version with its reason (Pebble reports it), audited; roles, other objects and bad reasons are refused', async () => {
  const { certificateId, version } = await issued('revoke.example.test');
  const other = await issued('other.example.test');

  await insertUser(stack.db.db, {
    username: 'viewer',
    role: 'readonly',
    passwordHash: await hashPassword('viewer-password'),
  });
  const viewer = new ConsoleClient(stack.web.url);
  await viewer.login('viewer', 'viewer-password');
  assert.equal((await revoke(viewer, certificateId, version.id, 'superseded')).status, 403, 'read-only may not revoke');
  const viewerToken = await createApiToken(viewer, 'viewer');
  const refused = await apiCall(
    stack.web.url,
    viewerToken,
    'POST',
    `/api/v1/certificates/${certificateId}/versions/${version.id}/revoke`,
    { reason: 'superseded' },
    [403],
  );
  assert.equal(refused.status, 403);
  assert.equal(
    (await revoke(admin, certificateId, other.version.id, 'superseded')).status,
    404,
    "another certificate's version",
  );
  const bad = await revoke(admin, certificateId, version.id, 'privilegeWithdrawn');
  assert.equal(bad.status, 400);
  assert.match(bad.text, /Choose a reason/);
  assert.equal((await pebbleStatus(version.serial_hex)).Status, 'Valid', 'nothing was revoked by the refused requests');

  const done = await revoke(admin, certificateId, version.id, 'superseded');
  assert.equal(done.status, 303, done.text.slice(0, 500));
  const row = await revokedInDb(certificateId, version.id);
  assert.equal(row.revocation_reason, 4);
  const status = await pebbleStatus(version.serial_hex);
  assert.equal(status.Status, 'Revoked');
  assert.equal(status.Reason, 4);
  assert.match((await admin.get(`/certificates/${certificateId}`)).text, /revoked \(superseded, /);
  assert.equal((await revoke(admin, certificateId, version.id, 'keyCompromise')).status, 409, 'revoked already');
  const audit = await stack.db.db.query<{ actor: string; after: { reason: string } }>(
    "SELECT actor, after FROM audit_log WHERE action = 'certificate.revoke' AND entity_id = $1",
    [certificateId],
  );
  assert.deepEqual(
    audit.map((a) => [a.actor, a.after.reason]),
    [['admin', 'superseded']],
  );

  // The API, with a technician's token and a reason code.
  const otherToken = await createApiToken(admin, 'admin-api');
  const api = await apiCall<{ revocationId: string; replace: boolean }>(
    stack.web.url,
    otherToken,
    'POST',
    `/api/v1/certificates/${other.certificateId}/versions/${other.version.id}/revoke`,
    { reason: 0 },
  );
  assert.equal(api.status, 202);
  assert.equal(api.json.replace, false);
  await revokedInDb(other.certificateId, other.version.id);
  assert.equal((await pebbleStatus(other.version.serial_hex)).Status, 'Revoked');
});

it('key compromise: a replacement with a new key is deployed, and the old version is revoked only once it is live on every target', async () => {
  const { certificateId, version: old } = await issued('compromised.example.test');
  const saved = await admin.post('/targets', { vendor: 'manual', name: 'Hand-installed appliance' });
  const targetId = /\/targets\/(\d+)/.exec(saved.location ?? '')?.[1];
  assert.ok(targetId, saved.text.slice(0, 500));
  await linkDeployment(admin, certificateId, targetId, {}, []);

  const asked = await revoke(admin, certificateId, old.id, 'keyCompromise');
  assert.equal(asked.status, 303, asked.text.slice(0, 500));
  const waiting = await eventually(
    'the revocation waits for the manual target',
    async () => {
      const [r] = await stack.db.db.query<{
        status: string;
        detail: string | null;
        replacement_version_id: string | null;
      }>('SELECT status, detail, replacement_version_id FROM revocations WHERE version_id = $1', [old.id]);
      // The first check may run while the replacement's deploy is still `pending`; the workflow checks
      // again when the renewal ends and the detail then names what the technician does.
      return r?.status === 'waiting' && /install it by hand/.test(r.detail ?? '') ? r : undefined;
    },
    90_000,
  );
  assert.match(waiting.detail ?? '', /Hand-installed appliance: install it by hand, then press "Mark as done"/);
  const replacement = (await versionsOf(certificateId)).find((v) => v.id === waiting.replacement_version_id);
  assert.ok(replacement, 'a replacement was issued');
  const spki = (pem: string) =>
    new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' }).toString('hex');
  assert.notEqual(spki(replacement.cert_pem), spki(old.cert_pem), 'the replacement has a new key');
  // Not yet live everywhere: the compromised version is still valid at the CA, and the page says why.
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  assert.equal((await pebbleStatus(old.serial_hex)).Status, 'Valid');
  assert.equal((await versionsOf(certificateId)).find((v) => v.id === old.id)?.revoked_at, null);
  assert.match((await admin.get(`/certificates/${certificateId}`)).text, /Mark as done/);

  const [deployment] = await stack.db.db.query<{ id: string }>('SELECT id FROM deployments WHERE certificate_id = $1', [
    certificateId,
  ]);
  assert.ok(deployment);
  await eventually('the replacement is ready on the manual target', async () => {
    const [d] = await stack.db.db.query<{ status: string }>('SELECT status FROM deployments WHERE id = $1', [
      deployment.id,
    ]);
    return d?.status === 'ready' ? true : undefined;
  });
  await admin.get(`/deployments/${deployment.id}`);
  assert.equal((await admin.post(`/deployments/${deployment.id}/mark-done`, {})).status, 303);

  const row = await revokedInDb(certificateId, old.id);
  assert.equal(row.revocation_reason, 1);
  const status = await pebbleStatus(old.serial_hex);
  assert.equal(status.Status, 'Revoked');
  assert.equal(status.Reason, 1);
  assert.equal((await pebbleStatus(replacement.serial_hex)).Status, 'Valid', 'the replacement stays valid');
});

it('deleting a certificate can revoke its still-valid versions first', async () => {
  const { certificateId, version } = await issued('retired.example.test');
  await admin.get(`/certificates/${certificateId}`);
  const wrongName = await admin.post(`/certificates/${certificateId}/delete`, { confirm: 'nope', revoke: 'on' });
  assert.equal(wrongName.status, 400);
  assert.equal((await pebbleStatus(version.serial_hex)).Status, 'Valid', 'an unconfirmed deletion revokes nothing');
  const deleted = await admin.post(`/certificates/${certificateId}/delete`, {
    confirm: 'retired.example.test',
    revoke: 'on',
    revokeReason: 'cessationOfOperation',
  });
  assert.equal(deleted.status, 303, deleted.text.slice(0, 1000));
  const status = await pebbleStatus(version.serial_hex);
  assert.equal(status.Status, 'Revoked');
  assert.equal(status.Reason, 5);
  const [cert] = await stack.db.db.query<{ deleted: boolean }>(
    'SELECT deleted_at IS NOT NULL AS deleted FROM certificates WHERE id = $1',
    [certificateId],
  );
  assert.equal(cert?.deleted, true);
});

it('rolls the ACME account key over: new orders work with the new key, the CA refuses the old one', async () => {
  const box = createSecretBox(Buffer.from(stack.masterKey, 'base64'));
  const keyOf = async () => {
    const [row] = await stack.db.db.query<{ key_encrypted: string; account_url: string; pending: string | null }>(
      'SELECT key_encrypted, account_url, pending_key_encrypted AS pending FROM acme_accounts WHERE directory_id = $1',
      [directoryId],
    );
    assert.ok(row);
    return {
      key: box.open(row.key_encrypted, SecretPurpose.acmeAccountKey),
      url: row.account_url,
      pending: row.pending,
    };
  };
  const before = await keyOf();
  await admin.get('/settings');
  const page = await admin.post(`/settings/acme-directories/${directoryId}/key-rollover`, {});
  assert.equal(page.status, 200, page.text.slice(0, 1000));
  assert.match(page.text, /The account key was rolled over/);
  const afterRollover = await keyOf();
  assert.notEqual(afterRollover.key.toString(), before.key.toString());
  assert.equal(afterRollover.url, before.url, 'the same account');
  assert.equal(afterRollover.pending, null);
  assert.match((await admin.get('/settings')).text, /rolled over /);

  acme.axios.defaults.httpsAgent = new https.Agent({ ca: stack.pebble.caBundlePem });
  const lookUp = async (key: Buffer) => {
    const client = new acme.Client({ directoryUrl: stack.pebble.directoryUrl, accountKey: key });
    await client.createAccount({ onlyReturnExisting: true });
    return client.getAccountUrl();
  };
  assert.equal(await lookUp(afterRollover.key), before.url, 'the CA knows the account by its new key');
  await assert.rejects(lookUp(before.key), /unable to find existing account/, 'the old key is refused');

  // A crash after the CA took the new key but before it was promoted: the stored key is the old one and
  // the new one is still pending. Rolling over again converges on the key the CA has (no second keyChange).
  await stack.db.db.query(
    'UPDATE acme_accounts SET key_encrypted = $2, pending_key_encrypted = $3 WHERE directory_id = $1',
    [
      directoryId,
      box.seal(before.key, SecretPurpose.acmeAccountKey),
      box.seal(afterRollover.key, SecretPurpose.acmeAccountKey),
    ],
  );
  await admin.get('/settings');
  const again = await admin.post(`/settings/acme-directories/${directoryId}/key-rollover`, {});
  assert.match(again.text, /The account key was rolled over/, again.text.slice(0, 1000));
  const converged = await keyOf();
  assert.equal(converged.key.toString(), afterRollover.key.toString(), 'the pending key the CA has is promoted');
  assert.equal(converged.pending, null);

  const { certificateId } = await issued('after-rollover.example.test');
  await renewNow(admin, certificateId);
  await waitForRunToEnd(admin, certificateId);
  assert.equal((await versionsOf(certificateId)).length, 2, 'orders after the rollover are issued');
  const audit = await stack.db.db.query<{ actor: string }>(
    "SELECT actor FROM audit_log WHERE action = 'acme-account.key-rollover' AND entity_id = $1",
    [directoryId],
  );
  assert.deepEqual(
    audit.map((a) => a.actor),
    ['admin', 'admin'],
    'both rollovers are audited',
  );
});
