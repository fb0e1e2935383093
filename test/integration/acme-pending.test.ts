/**
 * A CA that is still validating when the worker's status polls run out is asked again, not failed: Pebble's
 * VA here waits a random 0 to 3 s before it validates (PEBBLE_VA_SLEEPTIME, as a busy CA answers
 * "processing" for a while), and the worker polls the challenge once per attempt (ACME_BACKOFF_ATTEMPTS=1).
 * Before ACME_PENDING, the first "processing" answer failed the run as ACME_VALIDATION_FAILED (non-retryable):
 * found by `npm run bench:hang -- --device` on a loaded machine, where Pebble was slow to validate.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import type { Client } from '@temporalio/client';
import { certificateWorkflowId } from '../../temporal/contract';
import { startIssuingStack, type IssuingStack } from '../support/issuing-stack';

const CERTIFICATES = 5;

let issuing: IssuingStack;

before(async () => {
  issuing = await startIssuingStack('cloudflare-pending', {
    env: { ACME_BACKOFF_ATTEMPTS: '1', ACME_BACKOFF_MIN_MS: '10', ACME_BACKOFF_MAX_MS: '10' },
    pebble: { validationSleepSeconds: 4 },
  });
});
after(async () => {
  await issuing?.stop();
});

/** The attempt that ended the run's validateAndFinalizeAcmeOrder (its ActivityTaskStarted event carries it). */
async function validationAttempts(client: Client, certificateId: string): Promise<number> {
  const history = await client.workflow.getHandle(certificateWorkflowId(certificateId)).fetchHistory();
  const events = history.events ?? [];
  const scheduled = events.find(
    (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'validateAndFinalizeAcmeOrder',
  );
  assert.ok(scheduled?.eventId, `validateAndFinalizeAcmeOrder was scheduled for ${certificateId}`);
  const started = events.find(
    (e) => e.activityTaskStartedEventAttributes?.scheduledEventId?.toString() === scheduled.eventId?.toString(),
  );
  return started?.activityTaskStartedEventAttributes?.attempt ?? 0;
}

it('a challenge still processing after the polls is polled again by the next attempt, and the run issues', async () => {
  const names = Array.from({ length: CERTIFICATES }, (_, i) => `pending-${i}.example.test`);
  const issued = await Promise.all(names.map((name) => issuing.issue(name)));
  for (const [i, { fragment }] of issued.entries()) {
    assert.match(fragment, /run-COMPLETED/, `${names[i]} issued`);
    assert.doesNotMatch(fragment, /could not validate/, `${names[i]} was not failed`);
  }
  const attempts = await Promise.all(issued.map(({ id }) => validationAttempts(issuing.client, id)));
  // Each run's VA waits 0-3 s; a poll right after the challenge sees "processing" unless that wait was 0 s and
  // the VA finished first: with 5 runs, at least one of them was asked again (all waiting 0 s: (1/4)^5).
  assert.ok(
    attempts.some((n) => n > 1),
    `some validation took more than one attempt (attempts: ${attempts.join(', ')})`,
  );
});
