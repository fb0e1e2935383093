/**
 * The per-dependency share and circuit breaker on real PostgreSQL and a real SMTP server: a full share
 * fails fast (the slot is free), repeated transport failures open the breaker (shared through
 * PostgreSQL by two guards, as by two worker processes), N stuck callers send one alert, one probe
 * goes through when its time comes, and a success closes the breaker with one recovery notice.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { it } from 'node:test';
import type { QueryResultRow } from 'pg';
import pino from 'pino';
import { createAlerter, DEFAULT_ALERT_SETTINGS } from '../../activities/alerts/alerter';
import { createAlertTemplates } from '../../activities/alerts/render';
import { createSecretBox } from '../../activities/crypto/secret-box';
import type { Queryable } from '../../activities/db/pool';
import { readDependencyHealth } from '../../activities/db/repositories/dependency-health';
import { createDependencyGuard, type DependencyRef } from '../../activities/dependency-guard';
import { DEFAULT_ISOLATION_SETTINGS } from '../../activities/dependency-guard/settings';
import { classified, ClassifiedError } from '../../activities/errors';
import { createMailer } from '../../activities/mailer';
import { FailureType, NON_RETRYABLE_FAILURES, type NotAnsweringDetails } from '../../temporal/contract';
import { type TestDatabase } from '../support/db';
import { useDatabaseAndSmtp } from '../support/database-and-smtp';
import { type SmtpCatcher } from '../support/smtp';

let t: TestDatabase;
let smtp: SmtpCatcher;
useDatabaseAndSmtp((peers) => ({ t, smtp } = peers));

const settings = {
  ...DEFAULT_ISOLATION_SETTINGS,
  shares: { 'acme-directory': 2, 'dns-provider': 2, device: 1 },
  busyRetryMs: 50,
  breakerThreshold: 3,
  breakerOpenMs: 1_500,
};
const alerter = () =>
  createAlerter({
    db: t.db,
    mailer: createMailer({
      db: t.db,
      box: createSecretBox(randomBytes(32)),
      mail: {
        url: `smtp://${smtp.host}:${smtp.port}`,
        from: 'CertFleet <c@test.example>',
        recipients: ['noc@test.example'],
      },
    }),
    render: createAlertTemplates(),
    consoleUrl: 'http://console.example',
    settings: { ...DEFAULT_ALERT_SETTINGS, recoveryQuietMs: 0 },
    log: pino({ level: 'silent' }),
  });
const guardOf = () => createDependencyGuard({ db: t.db, alerter: alerter(), settings, log: pino({ level: 'silent' }) });

const failureType = (error: unknown): string | undefined => (error instanceof ClassifiedError ? error.type : undefined);
const silentCa = (): Promise<never> =>
  Promise.reject(classified(FailureType.acmeUnavailable, 'acme: cannot reach the CA: timed out'));

it('a full share fails fast with a non-retryable DEPENDENCY_BUSY saying when to call again, and frees when the call ends', async () => {
  const guard = guardOf();
  const device: DependencyRef = { kind: 'device', id: 'share-1', label: 'fw-1 (10.0.0.1)' };
  let finish!: () => void;
  const held = guard.guarded(device, () => new Promise<void>((resolve) => (finish = resolve)));
  await new Promise((resolve) => setTimeout(resolve, 50));
  const started = Date.now();
  await assert.rejects(
    guard.guarded(device, () => Promise.resolve()),
    (error: unknown) => {
      assert.equal(failureType(error), FailureType.dependencyBusy);
      // No activity retry (it would spend the step's retry budget): the workflow waits details.retryAfterMs.
      assert.ok(error instanceof ClassifiedError && error.retryAfterMs === undefined);
      const details = error.details as NotAnsweringDetails;
      assert.ok(details.retryAfterMs >= 50, 'a wait to give the workflow');
      assert.equal(details.dependency, 'device:share-1');
      assert.ok(NON_RETRYABLE_FAILURES.includes(FailureType.dependencyBusy));
      return true;
    },
  );
  assert.ok(Date.now() - started < 500, 'refused at once');
  // A caller that knows its device is refused the same way before it reads anything.
  assert.throws(
    () => guard.refuseIfBusy(device),
    (error: unknown) => failureType(error) === FailureType.dependencyBusy,
  );
  guard.refuseIfBusy({ kind: 'device', id: 'share-2', label: 'fw-2' });
  // Another device is not held up by this one.
  await guard.guarded({ kind: 'device', id: 'share-2', label: 'fw-2' }, () => Promise.resolve());
  finish();
  await held;
  assert.equal(guard.limiter.inFlight('device:share-1'), 0);
  guard.refuseIfBusy(device);
  await guard.guarded(device, () => Promise.resolve());
});

it('repeated timeouts open the breaker for every process; many stuck callers send one alert; one recovery', async () => {
  const [workerA, workerB] = [guardOf(), guardOf()];
  const ca: DependencyRef = { kind: 'acme-directory', id: '9001', label: 'https://silent-ca.test/dir' };
  for (let i = 0; i < settings.breakerThreshold; i++)
    await assert.rejects(workerA.guarded(ca, silentCa), (e: unknown) => failureType(e) === FailureType.acmeUnavailable);
  const health = await readDependencyHealth(t.db, 'acme-directory:9001');
  assert.equal(health?.state, 'open');
  assert.match(health?.lastError ?? '', /timed out/);

  // 20 runs (on the other worker) find it open: they fail fast, without calling the CA.
  let called = 0;
  const results = await Promise.allSettled(
    Array.from({ length: 20 }, () =>
      workerB.guarded(ca, () => {
        called += 1;
        return Promise.resolve();
      }),
    ),
  );
  assert.equal(called, 0);
  for (const r of results) {
    assert.equal(r.status, 'rejected');
    const error = r.reason as ClassifiedError;
    assert.equal(error.type, FailureType.dependencyNotAnswering);
    assert.match(error.message, /^CA not answering: https:\/\/silent-ca\.test\/dir/);
    assert.ok((error.details as { retryAfterMs: number }).retryAfterMs >= 1_000);
  }

  // The probe time comes: one call goes through while the others still fail fast; it fails, so it opens again.
  await new Promise((resolve) => setTimeout(resolve, settings.breakerOpenMs + 50));
  const probes = await Promise.allSettled(Array.from({ length: 5 }, () => workerB.guarded(ca, silentCa)));
  const types = probes.map((p) => failureType((p as PromiseRejectedResult).reason));
  assert.equal(types.filter((x) => x === FailureType.acmeUnavailable).length, 1, 'one probe reached the CA');
  assert.equal(types.filter((x) => x === FailureType.dependencyNotAnswering).length, 4);
  assert.equal((await readDependencyHealth(t.db, 'acme-directory:9001'))?.state, 'open');

  // It answers again: the next probe closes the breaker and everyone goes through.
  await new Promise((resolve) => setTimeout(resolve, settings.breakerOpenMs + 50));
  await workerA.guarded(ca, () => Promise.resolve('ok'));
  assert.equal((await readDependencyHealth(t.db, 'acme-directory:9001'))?.state, 'closed');
  await Promise.all(Array.from({ length: 5 }, () => workerB.guarded(ca, () => Promise.resolve())));

  await alerter().sweep();
  const about = smtp.messages.filter((m) => m.subject.includes('silent-ca.test'));
  assert.deepEqual(
    about.map((m) => m.subject),
    [
      '[CertFleet] NOT ANSWERING: CA not answering: https://silent-ca.test/dir',
      '[CertFleet] RESOLVED: CA not answering: https://silent-ca.test/dir',
    ],
  );
});

it('an answer that refuses (not a transport failure) counts as the dependency being up', async () => {
  const guard = guardOf();
  const dns: DependencyRef = { kind: 'dns-provider', id: '77', label: 'Cloudflare (main)' };
  await assert.rejects(guard.guarded(dns, () => Promise.reject(classified(FailureType.dnsUnavailable, 'dns: 503'))));
  assert.equal((await readDependencyHealth(t.db, 'dns-provider:77'))?.failures, 1);
  await assert.rejects(guard.guarded(dns, () => Promise.reject(classified(FailureType.dnsAuth, 'dns: bad token'))));
  assert.equal((await readDependencyHealth(t.db, 'dns-provider:77'))?.failures, 0);
});

it('a breaker trusted closed by one process is seen open there within BREAKER_TRUST_MS of another opening it', async () => {
  const trustMs = 400;
  let reads = 0;
  const counted = {
    query: <Row extends QueryResultRow>(sql: string, params?: readonly unknown[]) => {
      if (/FROM dependency_health WHERE key = \$1$/.test(sql)) reads += 1;
      return t.db.query<Row>(sql, params);
    },
  };
  const guardWith = (db: Queryable) =>
    createDependencyGuard({
      db,
      alerter: alerter(),
      settings: { ...settings, breakerTrustMs: trustMs },
      log: pino({ level: 'silent' }),
    });
  const [workerA, workerB] = [guardWith(t.db), guardWith(counted)];
  const ca: DependencyRef = { kind: 'acme-directory', id: '9002', label: 'https://flaky-ca.test/dir' };

  // Worker B reads the closed breaker once, then trusts it: its next calls read nothing.
  for (let i = 0; i < 5; i++) await workerB.guarded(ca, () => Promise.resolve());
  assert.equal(reads, 1, 'one read of the closed breaker for five calls');

  // Worker A opens it. Worker B may still call for the rest of its trust, never longer.
  for (let i = 0; i < settings.breakerThreshold; i++)
    await assert.rejects(workerA.guarded(ca, silentCa), (e: unknown) => failureType(e) === FailureType.acmeUnavailable);
  const openedAt = Date.now();
  assert.equal((await readDependencyHealth(t.db, 'acme-directory:9002'))?.state, 'open');
  await new Promise((resolve) => setTimeout(resolve, trustMs + 20));
  let called = 0;
  await assert.rejects(
    workerB.guarded(ca, () => {
      called += 1;
      return Promise.resolve();
    }),
    (e: unknown) => failureType(e) === FailureType.dependencyNotAnswering,
  );
  assert.equal(called, 0, `worker B saw the open breaker ${Date.now() - openedAt} ms after it opened`);

  // A failure this process records forgets its trust at once: the next call reads the row again.
  const dns: DependencyRef = { kind: 'dns-provider', id: '78', label: 'Cloudflare (flaky)' };
  await workerB.guarded(dns, () => Promise.resolve());
  const before = reads;
  await assert.rejects(
    workerB.guarded(dns, () => Promise.reject(classified(FailureType.dnsUnavailable, 'dns: reset'))),
  );
  await workerB.guarded(dns, () => Promise.resolve());
  assert.equal(reads, before + 1, 'read again after its own failure');
  assert.equal((await readDependencyHealth(t.db, 'dns-provider:78'))?.failures, 0, 'the success reset the count');
});
