/**
 * The trust follows a verified GUI rebinding (activities/management-trust.ts), against a real TLS
 * listener and a real PostgreSQL: a CA-trusted target switches to a pin of the served version unless
 * its CA still verifies it, a pinned one is re-pinned; the credentials and a cached session key are
 * sealed again for the new pin; one audit entry per change (system actor), none on a retry; nothing
 * changes when the port serves something else, when the row changed meanwhile, or when the network
 * policy refuses the address (checked before the handshake).
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { createSecureContext, createServer, type Server } from 'node:tls';
import { after, before, beforeEach, describe, it } from 'node:test';
import {
  openTargetCredentials,
  openTargetSessionKey,
  sealTargetCredentials,
  sealTargetSessionKey,
} from '../../activities/crypto/bound-secrets';
import { createSecretBox } from '../../activities/crypto/secret-box';
import { putSetting, TARGET_NETWORKS_KEY } from '../../activities/db/repositories/settings';
import {
  getTarget,
  insertTarget,
  setTargetSessionKey,
  type TargetRecord,
} from '../../activities/db/repositories/targets';
import { ClassifiedError } from '../../activities/errors';
import { followManagementCertificate, REPIN_AUDIT_ACTION, type FollowDeps } from '../../activities/management-trust';
import { FailureType } from '../../temporal/contract';
import { rejection } from '../support/assertions';
import { createTestCa, type TestCa } from '../support/certificates';
import { createTestDatabase, type TestDatabase } from '../support/db';

describe('the management trust follows a verified GUI rebinding', () => {
  let database: TestDatabase;
  let ca: TestCa;
  let publicCa: TestCa;
  let server: Server;
  let port: number;
  let customerId: string;
  const box = createSecretBox(randomBytes(32));
  const CREDENTIALS = { token: 'fgt-token-follow-1' };
  const SESSION_KEY = 'cached-session-key-1';
  /** The version a deploy bound to the GUI, issued by a public CA for a name (not the management IP). */
  let deployed: ReturnType<TestCa['issue']>;
  /** What the device presented before: issued by the target's CA for 127.0.0.1. */
  let original: ReturnType<TestCa['issue']>;
  /** A version issued by the target's own CA for 127.0.0.1 (an internal CA issuing through ACME). */
  let internal: ReturnType<TestCa['issue']>;

  const deps = (): FollowDeps => ({
    db: database.db,
    box,
    credentialsOf: (t) => openTargetCredentials(box, t),
    sessionKeyOf: (t) => (t.sessionKeySealed ? openTargetSessionKey(box, t, t.sessionKeySealed) : undefined),
  });
  const serve = (cert: ReturnType<TestCa['issue']>, chain: string[]): void =>
    server.setSecureContext({ cert: [cert.certPem, ...chain].join('\n'), key: cert.keyPem });
  let counter = 0;
  const addTarget = async (trust: { caPem: string } | { fingerprint: string }): Promise<TargetRecord> => {
    const fields = {
      vendor: 'fortigate',
      host: '127.0.0.1',
      port,
      options: {},
      trustCaPem: 'caPem' in trust ? trust.caPem : null,
      trustFingerprint: 'fingerprint' in trust ? trust.fingerprint : null,
    };
    const id = await insertTarget(database.db, {
      ...fields,
      name: `FW ${++counter}`,
      credentialsSealed: sealTargetCredentials(box, fields, CREDENTIALS),
      customerId,
      maintenance: null,
    });
    await setTargetSessionKey(database.db, id, sealTargetSessionKey(box, fields, SESSION_KEY));
    const target = await getTarget(database.db, id);
    assert.ok(target);
    return target;
  };
  const audits = async (targetId: string) =>
    database.db.query<{
      actor: string;
      before: { trust: Record<string, string> };
      after: { trust: Record<string, string>; name: string; deploymentId: string; versionId: string };
    }>('SELECT actor, before, after FROM audit_log WHERE action = $1 AND entity_id = $2 ORDER BY id', [
      REPIN_AUDIT_ACTION,
      targetId,
    ]);
  const follow = (target: TargetRecord, fingerprintSha256: string) =>
    followManagementCertificate(deps(), {
      target,
      version: { id: '42', fingerprintSha256 },
      deploymentId: '7',
      commonName: 'vpn.example.com',
    });
  /** Following `fingerprintSha256` changes nothing on `target`, for `reason`: its trust `field` still holds `value`, nothing is audited. */
  const assertNotFollowed = async (
    target: TargetRecord,
    fingerprintSha256: string,
    reason: string,
    [field, value]: ['trustCaPem' | 'trustFingerprint', string | null],
  ): Promise<void> => {
    assert.deepEqual(await follow(target, fingerprintSha256), { changed: false, reason });
    assert.equal((await getTarget(database.db, target.id))?.[field], value);
    assert.deepEqual(await audits(target.id), []);
  };

  before(async () => {
    database = await createTestDatabase();
    ca = createTestCa();
    publicCa = createTestCa();
    deployed = publicCa.issue('vpn.example.com');
    original = ca.issue('fw-management', 'ecdsa-p256', ['IP:127.0.0.1']);
    internal = ca.issue('fw-management-2', 'ecdsa-p256', ['IP:127.0.0.1']);
    server = createServer(
      { secureContext: createSecureContext({ cert: original.certPem, key: original.keyPem }) },
      (socket) => socket.on('error', () => undefined).end(),
    );
    server.on('tlsClientError', () => undefined);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
    const [customer] = await database.db.query<{ id: string }>(
      "INSERT INTO customers (name) VALUES ('Follow tests') RETURNING id",
    );
    assert.ok(customer);
    customerId = customer.id;
  });
  after(async () => {
    await new Promise((resolve) => server?.close(resolve));
    await database?.drop();
    ca?.dispose();
    publicCa?.dispose();
  });
  beforeEach(() => serve(deployed, [publicCa.intermediatePem]));

  it('a CA-trusted target switches to a pin of the served version, secrets sealed for it, audited once', async () => {
    const caPem = ca.rootPem + ca.intermediatePem;
    const target = await addTarget({ caPem });
    const outcome = await follow(target, deployed.fingerprintSha256);
    assert.deepEqual(outcome, {
      changed: true,
      before: { caBundleSha256: createHash('sha256').update(caPem).digest('hex') },
      after: { fingerprintSha256: deployed.fingerprintSha256 },
    });

    const now = await getTarget(database.db, target.id);
    assert.ok(now);
    assert.equal(now.trustFingerprint, deployed.fingerprintSha256);
    assert.equal(now.trustCaPem, null);
    assert.deepEqual(openTargetCredentials(box, now), CREDENTIALS, 'the credentials open for the new pin');
    assert.equal(
      openTargetSessionKey(box, now, now.sessionKeySealed ?? ''),
      SESSION_KEY,
      'so does the cached session key',
    );
    assert.throws(
      () => openTargetCredentials(box, { ...now, trustFingerprint: null, trustCaPem: caPem }),
      'and no longer for the old CA',
    );

    const [entry, ...more] = await audits(target.id);
    assert.deepEqual(more, []);
    assert.equal(entry?.actor, 'certfleet-worker');
    assert.deepEqual(entry?.before, { trust: { caBundleSha256: createHash('sha256').update(caPem).digest('hex') } });
    assert.deepEqual(entry?.after.trust, { fingerprintSha256: deployed.fingerprintSha256 });
    assert.equal(entry?.after.name, target.name);
    assert.equal(entry?.after.deploymentId, '7');
    assert.doesNotMatch(
      JSON.stringify(entry),
      /BEGIN CERTIFICATE|fgt-token|cached-session/,
      'no PEM and no secret in the audit log',
    );

    // A retry of finishDeploymentRun reads the row again: already pinned, nothing more is written.
    assert.deepEqual(await follow(now, deployed.fingerprintSha256), { changed: false, reason: 'already pinned' });
    assert.equal((await audits(target.id)).length, 1);
  });

  it('a pinned target is re-pinned, audited with the old pin', async () => {
    const target = await addTarget({ fingerprint: original.fingerprintSha256 });
    const outcome = await follow(target, deployed.fingerprintSha256);
    assert.equal(outcome.changed, true);
    const now = await getTarget(database.db, target.id);
    assert.equal(now?.trustFingerprint, deployed.fingerprintSha256);
    assert.deepEqual(now && openTargetCredentials(box, now), CREDENTIALS);
    assert.deepEqual((await audits(target.id))[0]?.before, {
      trust: { fingerprintSha256: original.fingerprintSha256 },
    });
  });

  it('keeps the CA when it still verifies the new certificate for the host', async () => {
    serve(internal, [ca.intermediatePem]);
    const target = await addTarget({ caPem: ca.rootPem });
    await assertNotFollowed(target, internal.fingerprintSha256, 'its CA still verifies it', ['trustCaPem', ca.rootPem]);
  });

  it('changes nothing when the management port serves another certificate', async () => {
    serve(original, [ca.intermediatePem]);
    const target = await addTarget({ caPem: ca.rootPem });
    await assertNotFollowed(target, deployed.fingerprintSha256, 'serves another certificate', [
      'trustFingerprint',
      null,
    ]);
  });

  it('changes nothing when the target was edited meanwhile (the edit wins)', async () => {
    const stale = await addTarget({ caPem: ca.rootPem });
    await database.db.query('UPDATE targets SET credentials_encrypted = $2 WHERE id = $1', [
      stale.id,
      sealTargetCredentials(box, stale, { token: 'new-token' }),
    ]);
    await assertNotFollowed(stale, deployed.fingerprintSha256, 'the target changed meanwhile', [
      'trustCaPem',
      ca.rootPem,
    ]);
  });

  it('respects the target network policy: a refused address is never contacted', async () => {
    const target = await addTarget({ caPem: ca.rootPem });
    let handshakes = 0;
    const count = (): void => void handshakes++;
    server.on('secureConnection', count);
    await putSetting(database.db, TARGET_NETWORKS_KEY, { allowed: ['10.0.0.0/8'] });
    try {
      const error = await rejection(follow(target, deployed.fingerprintSha256), ClassifiedError);
      assert.equal(error.type, FailureType.targetAddressRefused);
    } finally {
      await putSetting(database.db, TARGET_NETWORKS_KEY, { allowed: [] });
      server.off('secureConnection', count);
    }
    assert.equal(handshakes, 0);
    assert.equal((await getTarget(database.db, target.id))?.trustCaPem, ca.rootPem);
  });

  it('a target without management TLS (SSH, manual) is left alone', async () => {
    const fields = { vendor: 'nginx', host: '127.0.0.1', port, options: {}, trustCaPem: null, trustFingerprint: null };
    const id = await insertTarget(database.db, {
      ...fields,
      name: 'Web',
      credentialsSealed: sealTargetCredentials(box, fields, {}),
      customerId,
      maintenance: null,
    });
    const target = await getTarget(database.db, id);
    assert.ok(target);
    assert.deepEqual(await follow(target, deployed.fingerprintSha256), { changed: false, reason: 'no management TLS' });
  });
});
