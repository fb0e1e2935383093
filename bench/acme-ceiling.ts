/**
 * The ceiling for bench/fleet.ts: raw acme-client throughput against a Pebble, in this one process, a
 * fixed number of orders at a time. No Temporal, no database, no DNS provider API, no deploy: each
 * order publishes its TXT value straight into challtestsrv, lets Pebble validate it, finalizes with a
 * fresh ECDSA P-256 key and downloads the chain.
 *
 * It cannot hang the benchmark that calls it: each HTTP request to Pebble times out after
 * REQUEST_TIMEOUT_MS, an order not issued within ORDER_DEADLINE_MS fails, an order that fails is
 * counted and skipped, and after FAILED_IN_A_ROW_LIMIT failures in a row the measurement stops with
 * what it has (a multi-device N = 1,000 run on 2026-12-07 waited forever on 25 requests Pebble never
 * answered, and the fleet figures before it were lost).
 */
import { Agent } from 'node:https';
import { createSecureContext, rootCertificates } from 'node:tls';
import * as acme from 'acme-client';
import type { PebbleStack } from '../test/support/pebble';
import { withDeadline } from '../scripts/with-deadline';
import { cpuSeconds } from './process-stats';

/** An HTTP request Pebble has not answered in this long fails (acme-client uses axios). */
const REQUEST_TIMEOUT_MS = 30_000;
/** This many failed orders in a row end the measurement: the CA is not answering. */
const FAILED_IN_A_ROW_LIMIT = 25;
/**
 * An order not issued in this long fails. The request timeout alone did not bound it: acme-client's
 * waitForValidStatus retries a poll that times out (backoffAttempts, each up to REQUEST_TIMEOUT_MS),
 * and on 2026-12-07 (N = 1,000, production topology) Pebble 2.10.3 never answered the POST-as-GET of
 * five orders: each poll timed out and was sent again, for about 15 minutes per order.
 */
const ORDER_DEADLINE_MS = 60_000;

export interface CeilingResult {
  /** Certificates issued; the figures per certificate are over these. */
  certificates: number;
  /** Orders that failed (a timeout, an error from Pebble) or were not started because Pebble stopped answering. */
  failed: number;
  /** The first failure's message, when there was one. */
  firstFailure?: string;
  concurrency: number;
  seconds: number;
  perSecond: number;
  /** CPU per certificate in ms: acme-client (this process), Pebble, challtestsrv, and their total. */
  cpuMsPerCert: { client: number; pebble: number; challtestsrv: number; total: number };
}

/** Issues `count` certificates, `concurrency` at a time; names are `<prefix>-<i>.<zone>`. */
export async function measureAcmeCeiling(
  pebble: PebbleStack,
  count: number,
  concurrency: number,
  zone = 'example.test',
): Promise<CeilingResult> {
  const agent = new Agent({
    keepAlive: true,
    maxSockets: concurrency * 2,
    secureContext: createSecureContext({ ca: [...rootCertificates, pebble.caBundlePem] }),
  });
  const previousAgent: unknown = acme.axios.defaults.httpsAgent;
  const previousTimeout = acme.axios.defaults.timeout;
  acme.axios.defaults.httpsAgent = agent;
  acme.axios.defaults.timeout = REQUEST_TIMEOUT_MS;
  try {
    const client = new acme.Client({
      directoryUrl: pebble.directoryUrl,
      accountKey: await acme.crypto.createPrivateEcdsaKey('P-256'),
      backoffMin: 100,
      backoffMax: 500,
      backoffAttempts: 30,
    });
    await client.createAccount({ termsOfServiceAgreed: true });
    const prefix = `ceiling-${Date.now().toString(36)}`;
    let next = 0;
    let issued = 0;
    let failed = 0;
    let failedInARow = 0;
    let firstFailure: string | undefined;
    const issueOne = async (i: number): Promise<void> => {
      const name = `${prefix}-${i}.${zone}`;
      const order = await client.createOrder({ identifiers: [{ type: 'dns', value: name }] });
      const [authz] = await client.getAuthorizations(order);
      const challenge = authz?.challenges.find((c) => c.type === 'dns-01');
      if (!authz || !challenge) throw new Error(`no dns-01 challenge for ${name}`);
      if (authz.status !== 'valid') {
        const value = await client.getChallengeKeyAuthorization(challenge);
        await pebble.setTxt(`_acme-challenge.${name}`, value);
        await client.completeChallenge(challenge);
        await client.waitForValidStatus(challenge);
        await pebble.clearTxt(`_acme-challenge.${name}`);
      }
      const [key, csr] = await acme.crypto.createCsr(
        { commonName: name },
        await acme.crypto.createPrivateEcdsaKey('P-256'),
      );
      void key;
      const finalized = await client.finalizeOrder(order, csr);
      const valid = finalized.status === 'valid' ? finalized : await client.waitForValidStatus(finalized);
      await client.getCertificate(valid);
    };
    const pids = pebble.pids();
    const cpuBefore = {
      client: process.cpuUsage(),
      pebble: cpuSeconds(pids.pebble),
      cts: cpuSeconds(pids.challtestsrv),
    };
    const started = performance.now();
    await Promise.all(
      Array.from({ length: Math.min(concurrency, count) }, async () => {
        while (next < count && failedInARow < FAILED_IN_A_ROW_LIMIT) {
          try {
            const i = next++;
            await withDeadline(
              issueOne(i),
              ORDER_DEADLINE_MS,
              () => new Error(`order ${i}: not issued within ${ORDER_DEADLINE_MS} ms`),
            );
            issued += 1;
            failedInARow = 0;
          } catch (err) {
            failed += 1;
            failedInARow += 1;
            firstFailure ??= err instanceof Error ? err.message : String(err);
          }
        }
      }),
    );
    failed += count - next;
    const seconds = (performance.now() - started) / 1000;
    const used = process.cpuUsage(cpuBefore.client);
    const perCert = (cpuS: number): number => (cpuS / Math.max(1, issued)) * 1000;
    const clientMs = perCert((used.user + used.system) / 1e6);
    const pebbleMs = perCert(cpuSeconds(pids.pebble) - cpuBefore.pebble);
    const challtestsrv = perCert(cpuSeconds(pids.challtestsrv) - cpuBefore.cts);
    return {
      certificates: issued,
      failed,
      ...(firstFailure === undefined ? {} : { firstFailure }),
      concurrency,
      seconds,
      perSecond: issued / seconds,
      cpuMsPerCert: { client: clientMs, pebble: pebbleMs, challtestsrv, total: clientMs + pebbleMs + challtestsrv },
    };
  } finally {
    acme.axios.defaults.httpsAgent = previousAgent;
    acme.axios.defaults.timeout = previousTimeout;
    agent.destroy();
  }
}
