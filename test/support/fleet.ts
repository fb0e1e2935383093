/**
 * A fleet of real certificates on the real stack, for the resilience tests and bench/fleet.ts: one
 * fake F5 BIG-IP with one client-ssl profile (and TLS listener) per certificate, each certificate
 * issued on Pebble through the JSON API and linked to its own profile, so every renewal deploys.
 */
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import { eventTypeName } from './history-events';
import {
  certificateWorkflowId,
  deploymentWorkflowId,
  type DeploymentOutcome,
  type LifecycleResult,
  WorkflowType,
} from '../../temporal/contract';
import { startFakeBigip, type FakeBigip } from '../fakes/f5-bigip/server';
import { openBulkApi } from './console-actions';
import { bigipConnection } from './bigip-target';
import type { AnyStack } from './stack';

export interface Fleet {
  /** The first (with certificatesPerDevice unset, the only) fake BIG-IP. */
  bigip: FakeBigip;
  /** Every fake BIG-IP of the fleet, certificatesPerDevice certificates each. */
  bigips: FakeBigip[];
  token: string;
  client: Client;
  /** The Pebble directory every certificate of the fleet uses. */
  directoryId: string;
  certificates: { id: string; name: string; profile: string; deploymentId: string; device: FakeBigip }[];
  /** "Renew now" for every certificate; resolves with each run's result. */
  renewAll(): Promise<LifecycleResult[]>;
  /** Waits for the current run of every certificate to end. */
  results(): Promise<LifecycleResult[]>;
  /** How many runs of the latest renewAll() have ended so far (to check a fault hit runs in flight). */
  ended(): number;
  close: () => Promise<void>;
}

const profileOf = (i: number): string => `clientssl-fleet-${i}`;
const FAILURES_DIR = path.join(__dirname, '..', '..', 'test-output', 'fleet-failures');

/** Creates `count` certificates on `stack` (which must have a worker), waits until issued and deployed once. */
/** One line on what a running workflow waits for: pending activities (attempt, last failure), children, last events. */
async function describeRunning(client: Client, id: string, depth = 0): Promise<string[]> {
  const handle = client.workflow.getHandle(id);
  const d = await handle.describe().catch(() => undefined);
  if (!d || d.status.name !== 'RUNNING') return [];
  const pending = (d.raw.pendingActivities ?? []).map(
    (a) => `${a.activityType?.name ?? '?'} attempt ${a.attempt ?? 0}: ${a.lastFailure?.message ?? 'no failure'}`,
  );
  const history = await handle.fetchHistory().catch(() => undefined);
  const last = (history?.events ?? []).slice(-4).map(eventTypeName);
  const lines = [`${'  '.repeat(depth + 1)}${id}: pending [${pending.join('; ')}], last events ${last.join(', ')}`];
  if (depth === 0)
    for (const child of d.raw.pendingChildren ?? [])
      if (child.workflowId) lines.push(...(await describeRunning(client, child.workflowId, depth + 1)));
  return lines;
}

/** undici's "fetch failed" whose cause is a socket the other side closed (UND_ERR_SOCKET). */
function socketClosed(error: unknown): boolean {
  const cause = error instanceof Error ? (error.cause as { code?: unknown } | undefined) : undefined;
  return cause?.code === 'UND_ERR_SOCKET';
}

/** A stall report describes at most this many of the runs still running. */
const STALL_REPORT_RUNS = 10;

/** The visibility query for the running workflows of one type. */
export const runningOf = (workflowType: string): string =>
  `WorkflowType = '${workflowType}' AND ExecutionStatus = 'Running'`;

/**
 * Runs `wait`; every FLEET_STALL_REPORT_MS (default 4 min) until it settles, writes to stderr how many
 * workflows of `workflowType` still run and what the first STALL_REPORT_RUNS of them are doing
 * (describeRunning), so a test that times out leaves a trace of the runs that held it up instead of only
 * "timed out". A report costs one count, one page of the list and STALL_REPORT_RUNS descriptions, whatever
 * the fleet's size (it described every run of the fleet until 2026-12-07: work charged to what it waited for).
 */
async function withStallReport<T>(
  client: Client,
  phase: string,
  workflowType: string,
  wait: () => Promise<T>,
): Promise<T> {
  const everyMs = Number(process.env['FLEET_STALL_REPORT_MS'] ?? 240_000);
  const started = Date.now();
  const report = async (): Promise<void> => {
    const { count } = await client.workflow.count(runningOf(workflowType));
    const lines: string[] = [];
    let described = 0;
    for await (const run of client.workflow.list({ query: runningOf(workflowType), pageSize: STALL_REPORT_RUNS })) {
      lines.push(...(await describeRunning(client, run.workflowId)));
      if (++described >= STALL_REPORT_RUNS) break;
    }
    process.stderr.write(
      `fleet: ${phase} not done after ${Date.now() - started} ms; ${count} still running:\n${lines.join('\n')}\n`,
    );
  };
  // A report never keeps the process alive: a run whose Temporal server is gone (the restore test's old
  // installation) may never settle its wait, and the test file must still exit.
  const timer = setInterval(() => void report().catch(() => undefined), everyMs).unref();
  try {
    return await wait();
  } finally {
    clearInterval(timer);
  }
}

/** How often waitByCount asks Temporal's visibility how many of the fleet's runs still run. */
const COUNT_EVERY_MS = 1_000;

/**
 * Resolves once no workflow of `workflowType` runs, asking Temporal's visibility how many do (one request
 * a second; visibility follows a run's close by a moment, so the wait ends that much later at most).
 */
async function untilNoneRunning(client: Client, workflowType: string): Promise<void> {
  while ((await client.workflow.count(runningOf(workflowType))).count > 0) await sleep(COUNT_EVERY_MS);
}

export async function createFleet(
  stack: AnyStack,
  count: number,
  options: {
    concurrency?: number;
    /**
     * Wait for the runs by counting the running ones (untilNoneRunning), then read each result once,
     * instead of one result() per run from the start. A result() is a long poll that the server answers
     * empty every 20 s and the client asks again: work in the Temporal server and in this process that
     * grows with how long each run waits, that is with N, and lands in the renewals' CPU figures
     * (bench/fleet.ts, 2026-12-07: N = 1,000 against N = 100, Temporal +69 ms and this process +37 ms per
     * certificate). Then ended() stays 0 until all have ended.
     */
    waitByCount?: boolean;
    /**
     * Certificates per fake BIG-IP (each its own target): unset, one device holds them all. A fleet of
     * thousands on one device measures that device: the fake copies its whole configuration on every
     * `save sys config` (test/fakes/f5-bigip/device-config.ts clone), so each deploy costs it time in
     * proportion to the fleet
     * (bench/fleet.ts at N = 10,000 on one device, 2026-12-07: the benchmark's process took half the
     * machine and first deploys ran at 2.3 per second). An MSP's fleet is spread over many devices.
     */
    certificatesPerDevice?: number;
  } = {},
): Promise<Fleet> {
  const perDevice = Math.max(1, options.certificatesPerDevice ?? count);
  const bigips: FakeBigip[] = [];
  for (let first = 0; first < Math.max(count, 1); first += perDevice)
    bigips.push(
      await startFakeBigip({
        profiles: Array.from({ length: Math.min(perDevice, count - first) }, (_, i) => profileOf(first + i)),
      }),
    );
  const [bigip] = bigips as [FakeBigip];
  const deviceOf = (i: number): FakeBigip => bigips[Math.floor(i / perDevice)] ?? bigip;
  const connection = await Connection.connect({ address: stack.temporal.address });
  const client = new Client({ connection });
  const { directoryId, providerId, token, api } = await openBulkApi(stack, 'fleet', 'Fleet CF');

  const targetIds = new Map<FakeBigip, string>();
  for (const [k, device] of bigips.entries()) {
    const { json: target } = await api<{ id: string }>('POST', '/api/v1/targets', {
      vendor: 'f5-bigip',
      name: bigips.length === 1 ? 'Fleet LB' : `Fleet LB ${k + 1}`,
      ...bigipConnection(device),
    });
    targetIds.set(device, String(target.id));
  }
  const certificates: Fleet['certificates'] = [];
  /**
   * The run the fleet started for each certificate (by creating it, by its "Renew now"), whose result it
   * reads, rather than the certificate's latest run: the certificate's renewal schedule fires every hour
   * (RENEWAL_CHECK_INTERVAL_SECONDS, at the whole hour plus up to RENEWAL_CHECK_JITTER_SECONDS), and its
   * check, run after the fleet's, ends "skipped" (bench/fleet.ts at N = 1,000, 2026-12-07 13:00: the first
   * issuance crossed 13:00 and 3 of the 1,000 read a check's "skipped" instead of their issuance).
   */
  const startedRuns = new Map<string, string>();
  const concurrency = options.concurrency ?? 16;
  let next = 0;
  const createOne = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      const name = `fleet-${i}.example.test`;
      const { json: created } = await api<{ id: string; runId?: string }>('POST', '/api/v1/certificates', {
        commonName: name,
        dnsProviderId: providerId,
        acmeDirectoryId: directoryId,
      });
      certificates[i] = { id: String(created.id), name, profile: profileOf(i), deploymentId: '', device: deviceOf(i) };
      if (created.runId) startedRuns.set(String(created.id), created.runId);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, createOne));

  /**
   * The result waits in flight. close() lets them settle before it closes the connection: a wait in the
   * client's retry backoff when its channel closes throws from a timer ("Channel has been shut down",
   * @temporalio/client grpc-retry.ts), an uncaught exception that fails the test file (the restore
   * test's old installation, whose server is gone, retries for about 20 s).
   */
  const waiting = new Set<Promise<unknown>>();
  const tracked = <T>(wait: Promise<T>): Promise<T> => {
    const settled = wait.finally(() => waiting.delete(settled));
    waiting.add(settled);
    return settled;
  };
  /** A run's result; a failed run (the workflow fails too) as outcome 'failed' with its history saved for a look. */
  const resultOf = (id: string, runId?: string): Promise<LifecycleResult> => tracked(resultOrFailure(id, runId));
  const resultOrFailure = async (id: string, runId?: string): Promise<LifecycleResult> => {
    const handle = client.workflow.getHandle(certificateWorkflowId(id), runId);
    try {
      return (await handle.result()) as LifecycleResult;
    } catch (error) {
      const file = path.join(FAILURES_DIR, `${certificateWorkflowId(id)}-${Date.now()}.json`);
      await mkdir(FAILURES_DIR, { recursive: true });
      await writeFile(file, JSON.stringify(await handle.fetchHistory(), null, 1)).catch(() => undefined);
      // What the fake Cloudflare was asked about this certificate's TXT record, for the same look.
      const name = certificates.find((c) => c.id === id)?.name ?? '';
      const dnsCalls = [...stack.cloudflare.calls, ...stack.cloudflare.mutations].filter(
        (c) => name !== '' && JSON.stringify(c).includes(name),
      );
      await writeFile(file.replace(/\.json$/, '-cloudflare.json'), JSON.stringify(dnsCalls, null, 1)).catch(
        () => undefined,
      );
      const cause = (error as { cause?: { message?: string } }).cause;
      return { outcome: 'failed', reason: `${cause?.message ?? String(error)} (history: ${file})` };
    }
  };
  let ended = 0;
  const allOf = async <T>(workflowType: string, results: () => Promise<T>): Promise<T> => {
    if (options.waitByCount) await untilNoneRunning(client, workflowType);
    return results();
  };
  const issued = await withStallReport(client, 'first issuance', WorkflowType.lifecycle, () =>
    allOf(WorkflowType.lifecycle, () => Promise.all(certificates.map((c) => resultOf(c.id, startedRuns.get(c.id))))),
  );
  assert.ok(
    issued.every((r) => r.outcome === 'issued'),
    `every first issuance succeeded: ${JSON.stringify(issued.filter((r) => r.outcome !== 'issued').slice(0, 3))}`,
  );
  // Linked after the first issuance, deployed at once (the first version reaches the device too).
  for (const c of certificates) {
    const endpoint = c.device.endpointFor(c.profile);
    const { json: link } = await api<{ id: string }>('POST', `/api/v1/certificates/${c.id}/deployments`, {
      targetId: targetIds.get(c.device),
      binding: { profiles: [c.profile] },
      verifyEndpoints: [`${endpoint.host}:${endpoint.port}`],
      deployNow: true,
    });
    c.deploymentId = String(link.id);
  }
  const deployIds = certificates.map((c) => deploymentWorkflowId(c.id, c.deploymentId));
  const firstDeploys = await withStallReport(client, 'first deploys', WorkflowType.deploy, () =>
    allOf(WorkflowType.deploy, () =>
      Promise.all(deployIds.map((id) => client.workflow.getHandle(id).result() as Promise<DeploymentOutcome>)),
    ),
  );
  assert.ok(
    firstDeploys.every((d) => d.outcome === 'deployed'),
    `every first deploy succeeded: ${JSON.stringify(firstDeploys.filter((d) => d.outcome !== 'deployed').slice(0, 3))}`,
  );

  return {
    bigip,
    bigips,
    token,
    client,
    directoryId,
    certificates,
    async renewAll() {
      ended = 0;
      // As a client would: a few requests at a time, and again after a moment when the console
      // answers 503 (its Temporal client gives up after 10 s while the server is saturated).
      let next = 0;
      // A 503 after the deadline may still have started the run: a 409 on the next try means it did.
      // A connection closed before any answer ("fetch failed: other side closed": at load 29 the console
      // closed an idle keep-alive socket as the client reused it, and N = 1,000 stopped) is tried again
      // the same way: the request may have started the run, which the 409 then says.
      // A 409 leaves the run unknown: the one in progress is read (describe), which is the one started.
      const renewOne = async (id: string): Promise<void> => {
        startedRuns.delete(id);
        for (let attempt = 1; ; attempt += 1) {
          let reply: { status: number; json: { runId?: string } };
          try {
            reply = await api<{ runId?: string }>(
              'POST',
              `/api/v1/certificates/${id}/renew`,
              undefined,
              attempt === 1 ? [503] : attempt < 5 ? [503, 409] : [409],
            );
          } catch (error) {
            if (!(attempt < 5 && socketClosed(error))) throw error;
            reply = { status: 503, json: {} };
          }
          if (reply.status === 409) {
            const running = await client.workflow.getHandle(certificateWorkflowId(id)).describe();
            startedRuns.set(id, running.runId);
          } else if (reply.json.runId) startedRuns.set(id, reply.json.runId);
          if (reply.status !== 503) return;
          await new Promise((resolve) => setTimeout(resolve, 1_000 * attempt));
        }
      };
      await Promise.all(
        Array.from({ length: Math.min(32, certificates.length) }, async () => {
          while (next < certificates.length) {
            const c = certificates[next++];
            if (c) await renewOne(c.id);
          }
        }),
      );
      return withStallReport(client, 'renew all', WorkflowType.lifecycle, () =>
        allOf(WorkflowType.lifecycle, () =>
          Promise.all(
            certificates.map((c) =>
              resultOf(c.id, startedRuns.get(c.id)).finally(() => {
                ended += 1;
              }),
            ),
          ),
        ),
      );
    },
    results: () => Promise.all(certificates.map((c) => resultOf(c.id))),
    ended: () => ended,
    async close() {
      const settled = Promise.allSettled([...waiting]);
      await Promise.race([settled, sleep(90_000, undefined, { ref: false })]);
      await connection.close();
      for (const device of bigips) await device.close();
    },
  };
}
