/**
 * The revocation workflow's decisions on the real dev server with stub activities: a key compromise
 * whose replacement never reaches every target is held (the old version is NOT revoked), and one whose
 * replacement is verified everywhere is revoked after that check.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { revocationWorkflow } from '../../workflows';
import { mockActivities, uniqueCertificateId, useWorkflowTestEnv } from './harness';

const testEnv = useWorkflowTestEnv();
const authority = (certificateId: string) => async () =>
  ({ accepted: true, certificateId, versionId: '1', replace: true, renewAuditId: '7' }) as const;
/** Runs revocation 1 (audit 5) of `certificateId` to its end on a worker with these activities. */
const runRevocation = (certificateId: string, activities: ReturnType<typeof mockActivities>['activities']) => {
  const { client, runWorker } = testEnv();
  return runWorker(activities, (taskQueue) =>
    client.workflow.execute(revocationWorkflow, {
      taskQueue,
      workflowId: `revocation:${certificateId}`,
      args: [{ revocationId: '1', auditId: '5' }],
    }),
  );
};

it(
  'holds a key-compromise revocation while a target lacks the replacement, and never revokes',
  { timeout: 60_000 },
  async () => {
    const certificateId = uniqueCertificateId('held');
    const mocks = mockActivities({
      overrides: {
        authorizeRevocation: authority(certificateId),
        loadRevocationSettings: async () => ({ pollMs: 50, waitMs: 1_500 }),
        checkReplacement: async () => ({ verified: false, replacementVersionId: '2', detail: 'Not yet: FW: failed' }),
      },
    });
    const result = await runRevocation(certificateId, mocks.activities);
    assert.equal(result.outcome, 'held');
    assert.match(result.reason ?? '', /Not revoked: gave up waiting\. Not yet: FW: failed/);
    assert.equal(mocks.count('revokeVersion'), 0, 'the old version was not revoked');
    assert.deepEqual(mocks.inputsOf('setRevocationState').at(-1)?.status, 'held');
  },
);

it(
  'revokes a key-compromised version once the replacement is verified on every target',
  { timeout: 60_000 },
  async () => {
    const certificateId = uniqueCertificateId('revoked');
    let checks = 0;
    const mocks = mockActivities({
      overrides: {
        authorizeRevocation: authority(certificateId),
        checkReplacement: async () =>
          ++checks < 3
            ? { verified: false, replacementVersionId: '2', detail: 'Not yet: manual' }
            : { verified: true, replacementVersionId: '2', detail: 'every target' },
      },
    });
    const result = await runRevocation(certificateId, mocks.activities);
    assert.deepEqual(result, { outcome: 'revoked', replacementVersionId: '2' });
    const order = mocks.names().filter((n) => n === 'checkReplacement' || n === 'revokeVersion');
    assert.equal(order.at(-1), 'revokeVersion');
    assert.equal(order.filter((n) => n === 'checkReplacement').length, 3, 'revoked only after the verified check');
  },
);
