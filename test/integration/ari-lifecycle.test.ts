/**
 * ARI on the real stack (Pebble 2.10.3, Temporal, PostgreSQL, worker): a scheduled check inside the
 * CA's window waits for the chosen moment; a window moved into the past renews at once with `replaces`
 * naming the old certificate (Pebble then marks it replaced); a renewal whose `replaces` the CA refuses
 * (already replaced) is ordered again without it and still renews.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@temporalio/client';
import { ariCertIdOf } from '../../activities/acme/ari-cert-id';
import { TASK_QUEUE, WorkflowType, type ScheduledRenewalResult } from '../../temporal/contract';
import type { ConsoleClient } from '../support/console-client';
import { apiCall, createApiToken } from '../support/console-actions';
import { startIssuingStack, type IssuingStack } from '../support/issuing-stack';
import { pastWindow, setRenewalInfo } from '../support/pebble-ari';
import type { Stack } from '../support/stack';

describe('ARI in the renewal check', () => {
  let issuing: IssuingStack;
  let stack: Stack;
  let client: Client;
  let admin: ConsoleClient;
  let checks = 0;

  before(async () => {
    // Pebble's Retry-After (6 h) is kept to 1 s here, so a second check asks the CA again.
    issuing = await startIssuingStack('ARI', { env: { ARI_POLL_MIN_SECONDS: '1', ARI_POLL_MAX_SECONDS: '1' } });
    ({ stack, client, admin } = issuing);
  });
  after(async () => {
    await issuing?.stop();
  });

  /** What the certificate's schedule starts, run now. */
  const scheduledCheck = (certificateId: string) =>
    client.workflow.execute(WorkflowType.scheduledRenewal, {
      args: [{ certificateId }],
      taskQueue: TASK_QUEUE,
      workflowId: `test-ari-check-${certificateId}-${++checks}`,
    }) as Promise<ScheduledRenewalResult>;

  const currentPem = async (id: string): Promise<string> => {
    const [row] = await stack.db.db.query<{ cert_pem: string }>(
      'SELECT v.cert_pem FROM certificates c JOIN certificate_versions v ON v.id = c.current_version_id WHERE c.id = $1',
      [id],
    );
    assert.ok(row);
    return row.cert_pem;
  };
  const latestOrder = async (id: string) =>
    (
      await stack.db.db.query<{ replaces: string | null; replaces_refused: string | null }>(
        'SELECT replaces, replaces_refused FROM acme_orders WHERE certificate_id = $1 ORDER BY id DESC LIMIT 1',
        [id],
      )
    )[0];

  it('waits inside the window, renews at once when the CA moves it into the past, sending replaces', async () => {
    const id = (await issuing.issue('ari.example.test')).id;
    const first = await currentPem(id);
    assert.equal((await latestOrder(id))?.replaces, null, 'a first issuance replaces nothing');

    const start = new Date(Date.now() + 86_400_000);
    const end = new Date(start.getTime() + 86_400_000);
    await setRenewalInfo(
      stack.pebble,
      first,
      JSON.stringify({ suggestedWindow: { start, end }, explanationURL: 'https://ca.example/maintenance' }),
    );
    const waiting = await scheduledCheck(id);
    assert.equal(waiting.result?.outcome, 'skipped');
    assert.match(waiting.result?.reason ?? '', /^ARI: renewing at \S+, in the CA's window \S+ to \S+$/);

    // The API and the page show the window, the chosen moment and the CA's explanation.
    const token = await createApiToken(admin, 'ari');
    const { json } = await apiCall<{ renewalInfo: Record<string, string | null> }>(
      stack.web.url,
      token,
      'GET',
      `/api/v1/certificates/${id}`,
    );
    const info = json.renewalInfo;
    assert.equal(info['kind'], 'window');
    assert.equal(info['certId'], ariCertIdOf(first));
    assert.deepEqual([info['windowStart'], info['windowEnd']], [start.toISOString(), end.toISOString()]);
    const renewAt = Date.parse(info['renewAt'] ?? '');
    assert.ok(renewAt >= start.getTime() && renewAt < end.getTime(), 'the moment is inside the window');
    assert.equal(info['explanationUrl'], 'https://ca.example/maintenance');
    const page = await admin.get(`/certificates/${id}`);
    assert.match(
      page.text,
      /<a id="ari-explanation" href="https:\/\/ca.example\/maintenance" target="_blank" rel="noopener noreferrer nofollow">/,
    );
    assert.match(page.text, /id="ari-renew-at"/);

    await setRenewalInfo(stack.pebble, first, pastWindow('https://ca.example/incident'));
    await new Promise((resolve) => setTimeout(resolve, 1_100)); // past the (test-bounded) next poll time
    const renewed = await scheduledCheck(id);
    assert.equal(renewed.result?.outcome, 'issued', JSON.stringify(renewed));
    assert.notEqual(await currentPem(id), first);
    assert.deepEqual(await latestOrder(id), { replaces: ariCertIdOf(first), replaces_refused: null });
  });

  it('orders again without replaces when the CA says the certificate was already replaced', async () => {
    const id = (await issuing.issue('ari2.example.test')).id;
    const first = await currentPem(id);
    // An unusable answer: the lifetime rule decides (not due yet), the reason is on the page.
    await setRenewalInfo(stack.pebble, first, 'not json');
    const failing = await scheduledCheck(id);
    assert.equal(failing.result?.outcome, 'skipped');
    assert.match(
      failing.result?.reason ?? '',
      /^not due until .*; ARI failed: ari: GET https:\/\/.*: the answer has no valid suggestedWindow\)$/,
    );
    assert.match(
      (await admin.get(`/certificates/${id}`)).text,
      /id="ari-error">The CA's renewal information \(ARI\) failed: ari: GET/,
    );
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const [v1] = await stack.db.db.query<{ id: string }>(
      'SELECT current_version_id AS id FROM certificates WHERE id = $1',
      [id],
    );
    await setRenewalInfo(stack.pebble, first, pastWindow());
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    assert.equal((await scheduledCheck(id)).result?.outcome, 'issued');
    // As if the renewal's version had been lost: the current version is the replaced one again.
    await stack.db.db.query('UPDATE certificates SET current_version_id = $2 WHERE id = $1', [id, v1?.id]);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const again = await scheduledCheck(id);
    assert.equal(again.result?.outcome, 'issued', JSON.stringify(again));
    const order = await latestOrder(id);
    assert.equal(order?.replaces, ariCertIdOf(first));
    assert.match(
      order?.replaces_refused ?? '',
      /^alreadyReplaced: certificate with serial \w+ already has a replacement order$/,
    );
  });
});
