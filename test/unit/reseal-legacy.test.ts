/** The one-time re-seal of secrets sealed before endpoint binding, against a real PostgreSQL database. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  openDnsSecrets,
  openSmtpPassword,
  openTargetCredentials,
  openTargetSessionKey,
  sealTargetCredentials,
} from '../../activities/crypto/bound-secrets';
import { resealLegacySecrets } from '../../activities/crypto/reseal-legacy';
import { createSecretBox, SecretBoxError, SecretPurpose } from '../../activities/crypto/secret-box';
import { getDnsProvider, insertDnsProvider } from '../../activities/db/repositories/dns-providers';
import {
  getSetting,
  putSetting,
  SMTP_SETTING_KEY,
  type StoredSmtpSettings,
} from '../../activities/db/repositories/settings';
import { getTarget, insertTarget, setTargetSessionKey } from '../../activities/db/repositories/targets';
import { createTestDatabase, type TestDatabase } from '../support/db';

const box = createSecretBox(randomBytes(32));
let t: TestDatabase;

before(async () => {
  t = await createTestDatabase();
});
after(async () => {
  await t?.drop();
});

describe('resealLegacySecrets', () => {
  it("binds purpose-only secrets to their row's endpoint once, and leaves bound ones alone", async () => {
    const [customer] = await t.db.query<{ id: string }>("INSERT INTO customers (name) VALUES ('Reseal') RETURNING id");
    const target = {
      name: 'Legacy FW',
      vendor: 'fortigate',
      host: 'fw.legacy.test',
      port: 443,
      options: { vdom: 'root' },
      trustCaPem: null,
      trustFingerprint: 'ab'.repeat(32),
      customerId: customer?.id ?? '',
      maintenance: null,
    };
    const legacyId = await insertTarget(t.db, {
      ...target,
      credentialsSealed: box.seal(JSON.stringify({ token: 'legacy-token' }), SecretPurpose.targetCredentials),
    });
    await setTargetSessionKey(t.db, legacyId, box.seal('legacy-session', SecretPurpose.targetSessionKey));
    // Bound to another endpoint (its row was re-pointed): must stay unusable, never "upgraded".
    const movedSealed = sealTargetCredentials(box, { ...target, host: 'fw.original.test' }, { token: 'moved-token' });
    const movedId = await insertTarget(t.db, { ...target, name: 'Moved FW', credentialsSealed: movedSealed });
    const provider = await insertDnsProvider(t.db, {
      name: 'Legacy CF',
      kind: 'cloudflare',
      customerId: null,
      config: { apiBaseUrl: 'https://proxy.example' },
      secretsSealed: { token: box.seal('legacy-cf', SecretPurpose.dnsProviderToken) },
    });
    const smtp: StoredSmtpSettings = {
      host: 'smtp.legacy.test',
      port: 587,
      secure: false,
      username: 'u',
      passwordSealed: box.seal('legacy-smtp', SecretPurpose.smtpPassword),
      from: 'a@b.test',
      recipients: ['a@b.test'],
    };
    await putSetting(t.db, SMTP_SETTING_KEY, smtp);

    assert.equal(await resealLegacySecrets(t.db, box), 4);
    const legacy = await getTarget(t.db, legacyId);
    assert.ok(legacy?.sessionKeySealed);
    assert.deepEqual(openTargetCredentials(box, legacy), { token: 'legacy-token' });
    assert.equal(openTargetSessionKey(box, legacy, legacy.sessionKeySealed), 'legacy-session');
    assert.throws(
      () => box.open(legacy.credentialsSealed, SecretPurpose.targetCredentials),
      SecretBoxError,
      'no longer opens without its endpoint',
    );
    assert.deepEqual(openDnsSecrets(box, (await getDnsProvider(t.db, provider.id))!), { token: 'legacy-cf' });
    const stored = (await getSetting<StoredSmtpSettings>(t.db, SMTP_SETTING_KEY))!;
    assert.equal(openSmtpPassword(box, stored, stored.passwordSealed ?? ''), 'legacy-smtp');
    const moved = await getTarget(t.db, movedId);
    assert.equal(moved?.credentialsSealed, movedSealed, 'a secret bound to another endpoint is left as it is');

    assert.equal(await resealLegacySecrets(t.db, box), 0, 'idempotent');
    // Done once: a purpose-only value planted afterwards (an old backup, into a re-pointed row) stays unusable.
    const planted = box.seal(JSON.stringify({ token: 'planted' }), SecretPurpose.targetCredentials);
    await t.db.query('UPDATE targets SET credentials_encrypted = $2, host = $3 WHERE id = $1', [
      legacyId,
      planted,
      'evil.example.test',
    ]);
    assert.equal(await resealLegacySecrets(t.db, box), 0);
    assert.equal((await getTarget(t.db, legacyId))?.credentialsSealed, planted);
  });
});
