import assert from 'node:assert/strict';
import { it } from 'node:test';
import { checkEabInput, checkProfileChoice, directoryMetaOf } from '../../activities/domain/acme-options';
import { describeLifetime, expiresWithin, expiryThresholdMs } from '../../activities/domain/expiry-threshold';

const DAY = 86_400_000;
const HMAC = Buffer.alloc(32, 7).toString('base64url');

it('reads meta.profiles and externalAccountRequired, leaving out odd names', () => {
  const meta = directoryMetaOf({
    meta: {
      profiles: { classic: 'The 90-day', shortlived: 'Six days', 'bad name': 'x' },
      externalAccountRequired: true,
    },
  });
  assert.deepEqual(meta, { profiles: { classic: 'The 90-day', shortlived: 'Six days' }, eabRequired: true });
  assert.deepEqual(directoryMetaOf({}), { profiles: {}, eabRequired: false });
});

it('accepts only a profile the directory offers', () => {
  const offered = { classic: '', shortlived: '' };
  assert.deepEqual(checkProfileChoice('', offered, 'LE'), { ok: true, profile: null });
  assert.deepEqual(checkProfileChoice('shortlived', offered, 'LE'), { ok: true, profile: 'shortlived' });
  const refused = checkProfileChoice('tlsserver', offered, 'LE');
  assert.equal(refused.ok, false);
  assert.match(
    !refused.ok ? refused.error : '',
    /LE does not offer the profile "tlsserver" \(it offers classic, shortlived\)/,
  );
  assert.equal(checkProfileChoice('classic', null, 'LE').ok, false, 'profiles not read yet');
});

it('EAB: a new key id needs its HMAC key; empty both removes; a stored key is kept', () => {
  assert.deepEqual(checkEabInput('kid-1', `${HMAC}=`, { keyId: null }), {
    ok: true,
    change: 'set',
    keyId: 'kid-1',
    hmacKey: HMAC,
  });
  assert.equal(checkEabInput('kid-1', '', { keyId: null }).ok, false);
  assert.deepEqual(checkEabInput('kid-1', '', { keyId: 'kid-1' }), { ok: true, change: 'keep' });
  assert.equal(checkEabInput('kid-2', '', { keyId: 'kid-1' }).ok, false);
  assert.deepEqual(checkEabInput('', '', { keyId: 'kid-1' }), { ok: true, change: 'remove' });
  assert.equal(checkEabInput('kid', 'not base64url!', { keyId: null }).ok, false);
  assert.equal(checkEabInput('kid', 'c2hvcnQ', { keyId: null }).ok, false, 'too short');
});

it('expiry thresholds scale with the lifetime: a 6-day certificate is not "within 7 days" all its life', () => {
  const now = new Date('2027-01-01T00:00:00Z');
  const six = { notBefore: now, notAfter: new Date(now.getTime() + 6 * DAY) };
  assert.equal(expiresWithin(7, six, now), false);
  assert.equal(expiryThresholdMs(7, six.notBefore, six.notAfter), (6 * DAY * 7) / 90);
  assert.equal(expiresWithin(7, six, new Date(six.notAfter.getTime() - 10 * 3_600_000)), true);
  const ninety = { notBefore: now, notAfter: new Date(now.getTime() + 90 * DAY) };
  assert.equal(expiryThresholdMs(30, ninety.notBefore, ninety.notAfter), 30 * DAY, '90 days keeps N');
  const year = { notBefore: now, notAfter: new Date(now.getTime() + 365 * DAY) };
  assert.equal(expiryThresholdMs(30, year.notBefore, year.notAfter), 30 * DAY, 'longer lifetimes keep N');
  assert.equal(expiryThresholdMs(7, null, six.notAfter), 7 * DAY, 'unknown start: N days');
  assert.equal(describeLifetime(now, new Date(now.getTime() + 90 * DAY - 1000)), '90 days');
  assert.equal(describeLifetime(now, new Date(now.getTime() + 160 * 3_600_000 - 1000)), '160 hours');
});
