/**
 * Mass-revocation drill, small: 20 certificates issued and deployed to a fake F5 BIG-IP; Pebble moves
 * every ARI window into the past; the renewal schedules alone (every 5 s here, ARI polled at most every
 * 5 s) renew and redeploy all of them, each order naming the certificate it replaces, none refused.
 * bench/ari-drill.ts runs the same drill at N = 200 and prints the figures.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { runAriDrill, drillEnv } from '../support/ari-drill';
import { createFleet, type Fleet } from '../support/fleet';
import { startStack, type Stack } from '../support/stack';

const N = 20;
let stack: Stack;
let fleet: Fleet;

before(async () => {
  stack = await startStack({
    env: {
      ...drillEnv({ checkIntervalSeconds: 5, checkJitterSeconds: 1, pollMaxSeconds: 5 }),
      DEPLOY_DEVICE_RETRY_INITIAL_MS: '200',
    },
  });
  await stack.startWorker();
  fleet = await createFleet(stack, N);
});
after(async () => {
  await fleet?.close();
  await stack?.stop();
});

it(`${N} windows moved into the past: every certificate renews and redeploys, with replaces, none refused`, async () => {
  const figures = await runAriDrill(stack, fleet, 180_000);
  assert.equal(figures.redeployed, N, JSON.stringify(figures));
  assert.equal(figures.refusedByCa, 0);
  assert.equal(figures.orders, N, 'one order per certificate');
  assert.equal(figures.ordersWithReplaces, N, 'every renewal order names the certificate it replaces');
  // Prompt: within a few check intervals, not the lifetime rule's years (Pebble's certificates last 5 years).
  assert.ok(figures.allRedeployedMs < 180_000);
});
