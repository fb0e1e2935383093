/**
 * ARI against real CAs: Pebble v2.10.3 (renewalInfo, windows forced through its management API) and
 * Pebble v2.5.1 (no ARI). The fetch module, then the check's stored state: polls only when due,
 * keeps its chosen moment while the window stays, falls back with the reason when the CA's answer is unusable.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ariCertIdOf } from '../../activities/acme/ari-cert-id';
import { checkRenewalInfo } from '../../activities/acme/ari-check';
import { fetchRenewalInfo, RenewalInfoError } from '../../activities/acme/ari-fetch';
import { scheduledCheckFactsOf } from '../../activities/certificates';
import { getCertificate } from '../../activities/db/repositories/certificates';
import { getRenewalInfo } from '../../activities/db/repositories/renewal-info';
import { readCertificateFacts } from '../../activities/crypto/pem';
import { DEFAULT_POLL_BOUNDS } from '../../activities/domain/renewal-info';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { pebbleTool, startPebble, type PebbleStack } from '../support/pebble';
import { issueFromPebble, pastWindow, PEBBLE_WITHOUT_ARI, setRenewalInfo } from '../support/pebble-ari';

let pebble: PebbleStack;
let oldPebble: PebbleStack;
let t: TestDatabase;

before(async () => {
  [pebble, oldPebble, t] = await Promise.all([
    startPebble(),
    pebbleTool(PEBBLE_WITHOUT_ARI).then((pebbleBinary) => startPebble({ pebbleBinary })),
    createTestDatabase(),
  ]);
});
after(async () => {
  await Promise.all([pebble?.stop(), oldPebble?.stop(), t?.drop()]);
});

const directoryOf = (p: PebbleStack) => ({ url: p.directoryUrl, caBundlePem: p.caBundlePem });

describe('fetching renewalInfo (RFC 9773 §4.1)', () => {
  it("gets Pebble's own window inside the validity, and its Retry-After", async () => {
    const { certPem } = await issueFromPebble(pebble, 'inside.ari.test');
    const answer = await fetchRenewalInfo(directoryOf(pebble), ariCertIdOf(certPem));
    assert.equal(answer.kind, 'window');
    if (answer.kind !== 'window') return;
    const cert = new X509Certificate(certPem);
    assert.ok(answer.start.getTime() > Date.parse(cert.validFrom), 'starts after notBefore');
    assert.ok(answer.end.getTime() < Date.parse(cert.validTo), 'ends before notAfter');
    assert.ok(answer.start.getTime() > Date.now(), 'in the future for a new certificate');
    assert.equal(answer.retryAfterSeconds, 21_600);
  });

  it('reads a window moved into the past, with its https explanationURL', async () => {
    const { certPem } = await issueFromPebble(pebble, 'past.ari.test');
    await setRenewalInfo(pebble, certPem, pastWindow('https://ca.example/incident/2026-1'));
    const answer = await fetchRenewalInfo(directoryOf(pebble), ariCertIdOf(certPem));
    assert.equal(answer.kind, 'window');
    if (answer.kind !== 'window') return;
    assert.ok(answer.end.getTime() < Date.now());
    assert.equal(answer.explanationUrl, 'https://ca.example/incident/2026-1');
    await setRenewalInfo(pebble, certPem, pastWindow('javascript:alert(1)'));
    const unsafe = await fetchRenewalInfo(directoryOf(pebble), ariCertIdOf(certPem));
    assert.equal(unsafe.kind === 'window' ? unsafe.explanationUrl : 'not a window', undefined);
  });

  it('says why an answer is unusable: not JSON, no window, a window ending before it starts, an unknown certificate', async () => {
    const { certPem } = await issueFromPebble(pebble, 'broken.ari.test');
    const certId = ariCertIdOf(certPem);
    for (const [body, why] of [
      ['this is not json', /no valid suggestedWindow/],
      ['{"suggestedWindow":{}}', /no valid suggestedWindow/],
      ['{"suggestedWindow":{"start":"2026-01-02T00:00:00Z","end":"2026-01-01T00:00:00Z"}}', /ends before it starts/],
    ] as const) {
      await setRenewalInfo(pebble, certPem, body);
      await assert.rejects(
        fetchRenewalInfo(directoryOf(pebble), certId),
        (e: unknown) => e instanceof RenewalInfoError && why.test(e.message),
      );
    }
    const unknown = `${certId.split('.')[0]}.AQIDBA`;
    await assert.rejects(
      fetchRenewalInfo(directoryOf(pebble), unknown),
      /HTTP 404: malformed: failed to retrieve existing certificate serial/,
    );
  });

  it('a CA whose directory has no renewalInfo (Pebble v2.5.1) is "unsupported", not an error', async () => {
    const { certPem } = await issueFromPebble(oldPebble, 'old.ari.test');
    assert.deepEqual(await fetchRenewalInfo(directoryOf(oldPebble), ariCertIdOf(certPem)), { kind: 'unsupported' });
  });
});

/** A certificate row whose current version is `certPem`, on a directory pointing at `p`. */
async function storedCertificate(p: PebbleStack, name: string, certPem: string): Promise<string> {
  const q = t.db.query.bind(t.db);
  const [dir] = await q<{ id: string }>(
    `INSERT INTO acme_directories (name, url, ca_bundle_pem) VALUES ($1, $2, $3)
     ON CONFLICT (url) DO UPDATE SET name = EXCLUDED.name RETURNING id`,
    [`dir ${p.directoryUrl}`, p.directoryUrl, p.caBundlePem],
  );
  const [customer] = await q<{ id: string }>(`INSERT INTO customers (name) VALUES ($1) RETURNING id`, [`c ${name}`]);
  const [provider] = await q<{ id: string }>(
    `INSERT INTO dns_providers (name, kind, secrets_encrypted) VALUES ($1, 'cloudflare', '{"token": "x"}') RETURNING id`,
    [`p ${name}`],
  );
  const [cert] = await q<{ id: string }>(
    `INSERT INTO certificates (common_name, customer_id, dns_provider_id, acme_directory_id, key_type) VALUES ($1, $2, $3, $4, 'ecdsa-p256') RETURNING id`,
    [name, customer?.id, provider?.id, dir?.id],
  );
  const [order] = await q<{ id: string }>(
    `INSERT INTO acme_orders (certificate_id, workflow_id, run_id, order_url, status, key_encrypted) VALUES ($1, 'w', $2, 'https://x', 'valid', 'x') RETURNING id`,
    [cert?.id, `run-${name}`],
  );
  const f = readCertificateFacts(certPem);
  await q(
    `WITH v AS (INSERT INTO certificate_versions (certificate_id, order_id, serial_hex, fingerprint_sha256, not_before, not_after, key_type, cert_pem, chain_pem, key_encrypted)
       VALUES ($1, $2, $3, $4, $5, $6, 'ecdsa-p256', $7, '', 'x') RETURNING id)
     UPDATE certificates SET current_version_id = (SELECT id FROM v), current_not_before = $5, current_not_after = $6 WHERE id = $1`,
    [cert?.id, order?.id, f.serialHex, f.fingerprintSha256, f.notBefore, f.notAfter, certPem],
  );
  return cert?.id as string;
}

describe('the check step’s ARI state', () => {
  it('polls when due only, keeps the chosen moment while the window stays, follows a moved window', async () => {
    const { certPem } = await issueFromPebble(pebble, 'state.ari.test');
    const id = await storedCertificate(pebble, 'state.ari.test', certPem);
    const cert = await getCertificate(t.db, id);
    assert.ok(cert);
    let now = new Date();
    const deps = { db: t.db, now: () => now };
    const first = await checkRenewalInfo(deps, cert);
    assert.equal(first?.kind, 'window');
    const stored = await getRenewalInfo(t.db, id);
    assert.equal(stored?.certId, ariCertIdOf(certPem));
    assert.equal(stored?.nextPollAt.getTime(), now.getTime() + 21_600_000, "Pebble's Retry-After: 6 hours");

    // The CA moves the window; before the next poll time the check does not ask (no request to the CA).
    await setRenewalInfo(pebble, certPem, pastWindow('https://ca.example/why'));
    now = new Date(now.getTime() + 3600_000);
    assert.deepEqual(await checkRenewalInfo(deps, cert), first);

    // Past the next poll time it asks and sees the past window.
    now = new Date(now.getTime() + 6 * 3600_000);
    const moved = await checkRenewalInfo(deps, cert);
    assert.equal(moved?.kind, 'window');
    if (moved?.kind !== 'window' || first?.kind !== 'window') return;
    assert.ok(Date.parse(moved.windowEnd) < Date.now());
    assert.equal(moved.explanationUrl, 'https://ca.example/why');
    assert.ok(
      Date.parse(moved.renewAt) >= Date.parse(moved.windowStart) &&
        Date.parse(moved.renewAt) < Date.parse(moved.windowEnd),
    );

    // The same window again: the same chosen moment.
    now = new Date(now.getTime() + 7 * 3600_000);
    const again = await checkRenewalInfo({ ...deps, random: () => 0.999 }, cert);
    assert.equal(again?.kind === 'window' ? again.renewAt : undefined, moved.renewAt);
  });

  it("a scheduled check's first look: the stored answer until the next poll time, then the CA is due to be asked", async () => {
    const { certPem } = await issueFromPebble(pebble, 'screen.ari.test');
    const id = await storedCertificate(pebble, 'screen.ari.test', certPem);
    const now = new Date();
    const before = await scheduledCheckFactsOf(t.db, id, now);
    assert.equal(before.ariPollDue, true, 'nothing stored yet: the lifecycle asks the CA');
    assert.equal(before.renewalInfo, undefined);

    const polled = await checkRenewalInfo({ db: t.db, now: () => now }, (await getCertificate(t.db, id))!);
    const stored = await scheduledCheckFactsOf(t.db, id, new Date(now.getTime() + 3600_000));
    assert.equal(stored.ariPollDue, false);
    assert.deepEqual(stored.renewalInfo, polled, 'the answer the lifecycle would use, without asking the CA');
    assert.equal(stored.current?.notAfter, readCertificateFacts(certPem).notAfter.toISOString());
    // Pebble's Retry-After (6 hours) has passed: the CA is due to be asked again.
    assert.equal((await scheduledCheckFactsOf(t.db, id, new Date(now.getTime() + 21_600_000))).ariPollDue, true);

    // Renewal switched off: nothing to ask; a deleted certificate: nothing at all.
    await t.db.query('UPDATE certificates SET enabled = false WHERE id = $1', [id]);
    const off = await scheduledCheckFactsOf(t.db, id, new Date(now.getTime() + 21_600_000));
    assert.deepEqual([off.enabled, off.ariPollDue], [false, false]);
    const gone = await scheduledCheckFactsOf(t.db, '999999999', now);
    assert.deepEqual([gone.exists, gone.ariPollDue], [false, false]);
  });

  it('an unusable answer is recorded with its reason, and asked again after the shortest wait', async () => {
    const { certPem } = await issueFromPebble(pebble, 'error.ari.test');
    const id = await storedCertificate(pebble, 'error.ari.test', certPem);
    await setRenewalInfo(pebble, certPem, '<html>oops</html>');
    const now = new Date();
    const facts = await checkRenewalInfo({ db: t.db, now: () => now }, (await getCertificate(t.db, id))!);
    assert.equal(facts?.kind, 'error');
    assert.match(
      facts?.kind === 'error' ? facts.reason : '',
      /^ari: GET https:\/\/127\.0\.0\.1:\d+\/.*: the answer has no valid suggestedWindow$/,
    );
    const stored = await getRenewalInfo(t.db, id);
    assert.equal(stored?.nextPollAt.getTime(), now.getTime() + DEFAULT_POLL_BOUNDS.minSeconds * 1000);
  });

  it('a CA without ARI is recorded as such and asked again after the longest wait', async () => {
    const { certPem } = await issueFromPebble(oldPebble, 'none.ari.test');
    const id = await storedCertificate(oldPebble, 'none.ari.test', certPem);
    const now = new Date();
    assert.deepEqual(await checkRenewalInfo({ db: t.db, now: () => now }, (await getCertificate(t.db, id))!), {
      kind: 'unsupported',
    });
    assert.equal(
      (await getRenewalInfo(t.db, id))?.nextPollAt.getTime(),
      now.getTime() + DEFAULT_POLL_BOUNDS.maxSeconds * 1000,
    );
  });
});
