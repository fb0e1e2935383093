/**
 * The stack for hang tests and bench/hang.ts: the usual stack (its Pebble is the healthy CA), and a
 * second Pebble validating against the same DNS behind a hang proxy (test/support/hang-proxy.ts),
 * registered as the ACME directory "Silent CA". Breaker and timeouts are short so an outage is seen
 * within seconds.
 */
import assert from 'node:assert/strict';
import type { ConsoleClient } from './console-client';
import {
  addCloudflareProvider,
  addPebbleDirectory,
  liftPebbleBudgets,
  requestCertificate,
  waitForRunToEnd,
} from './console-actions';
import { startHangProxy, type HangProxy } from './hang-proxy';
import { startPebble, type PebbleStack } from './pebble';
import { startStack, type Stack } from './stack';

export interface HangStack {
  stack: Stack;
  proxy: HangProxy;
  admin: ConsoleClient;
  healthyDirectory: string;
  silentDirectory: string;
  silentUrl: string;
  providerId: string;
  /** Requests certificates at a directory; returns their ids. */
  request(prefix: string, n: number, directoryId: string): Promise<string[]>;
  /** Waits until every run ended; returns the fragments. */
  waitAll(ids: string[], timeoutMs: number): Promise<string[]>;
  stop(): Promise<void>;
}

export const HANG_ENV: Record<string, string> = {
  ACME_REQUEST_TIMEOUT_MS: '1000',
  ACME_BACKOFF_ATTEMPTS: '1',
  BREAKER_FAILURE_THRESHOLD: '2',
  BREAKER_OPEN_MS: '2000',
  ALERT_RECOVERY_QUIET_MS: '0',
  ALERT_SWEEP_INTERVAL_SECONDS: '1',
};

export async function startHangStack(env: Record<string, string> = {}): Promise<HangStack> {
  const stack = await startStack({ env: { ...HANG_ENV, ...env } });
  let silentPebble: PebbleStack | undefined;
  let proxy: HangProxy | undefined;
  try {
    silentPebble = await startPebble({ authzReusePercent: 0, dnsServer: stack.pebble.dnsServer });
    const upstream = new URL(silentPebble.directoryUrl);
    proxy = await startHangProxy({ host: upstream.hostname, port: Number(upstream.port) }, 'forward');
    const silentUrl = `https://127.0.0.1:${proxy.port}/dir`;
    await stack.startWorker();
    const admin = await stack.admin();
    const healthyDirectory = await addPebbleDirectory(admin, stack);
    await liftPebbleBudgets(admin, healthyDirectory);
    const providerId = await addCloudflareProvider(admin, stack, 'Hang Cloudflare');
    await admin.get('/settings');
    const saved = await admin.post('/settings/acme-directories', {
      name: 'Silent CA',
      url: silentUrl,
      caBundlePem: silentPebble.caBundlePem,
    });
    assert.equal(saved.status, 303, saved.text);
    const rows = await stack.db.db.query<{ id: string }>(
      "SELECT id::text AS id FROM acme_directories WHERE name = 'Silent CA'",
    );
    const silentDirectory = rows[0]?.id ?? '';
    assert.ok(silentDirectory);
    await liftPebbleBudgets(admin, silentDirectory);
    const pebble = silentPebble;
    const hang = proxy;
    return {
      stack,
      proxy: hang,
      admin,
      healthyDirectory,
      silentDirectory,
      silentUrl,
      providerId,
      async request(prefix, n, directoryId) {
        const ids: string[] = [];
        for (let i = 0; i < n; i++)
          ids.push(
            await requestCertificate(admin, {
              commonName: `${prefix}-${i}.example.test`,
              dnsProviderId: providerId,
              acmeDirectoryId: directoryId,
            }),
          );
        return ids;
      },
      async waitAll(ids, timeoutMs) {
        const fragments: string[] = [];
        for (const id of ids) fragments.push(await waitForRunToEnd(admin, id, timeoutMs));
        return fragments;
      },
      async stop() {
        await Promise.all([hang.close(), pebble.stop()]);
        await stack.stop();
      },
    };
  } catch (error) {
    await Promise.all([proxy?.close(), silentPebble?.stop()]);
    await stack.stop();
    throw error;
  }
}
