/**
 * Deploying with mocked activities on the real dev server: the lifecycle fans out to every target,
 * a failing target does not block the others, the run waits for retryDeployment and closes as
 * partial when the window ends; deployToTargetWorkflow polls commits, verifies, and rolls back.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import {
  certificateWorkflowId,
  deployNowSignal,
  FailureType,
  progressQuery,
  retryDeploymentSignal,
  type DeploymentOutcome,
  type LifecycleResult,
} from '../../temporal/contract';
import { certificateLifecycleWorkflow, deployToTargetWorkflow } from '../../workflows';
import { mockActivities, MOCK_VERSION_ID, uniqueCertificateId, useWorkflowTestEnv } from './harness';

const testEnv = useWorkflowTestEnv();
const TIMEOUT = { timeout: 60_000 };
const fail = (type: string, message: string) => ApplicationFailure.create({ type, message, nonRetryable: true });
const TARGETS = [
  { deploymentId: 'd1', targetName: 'fw-paris' },
  { deploymentId: 'd2', targetName: 'lb-berlin' },
];

describe('deploying after issuance', () => {
  it(
    'deploys to every target in parallel; a failing one waits for retryDeployment, then all are deployed',
    TIMEOUT,
    async () => {
      const certificateId = uniqueCertificateId('fanout');
      let berlinFailures = 1;
      const mocks = mockActivities({
        deployments: TARGETS,
        deploySettings: { retryWindowMs: 30_000 },
        overrides: {
          startDeploymentRun: async (input) => ({
            runRowId: `run-${input.deploymentId}-${input.trigger}`,
            targetName: TARGETS.find((t) => t.deploymentId === input.deploymentId)?.targetName ?? '?',
            targetId: 't1',
            exclusiveSession: false,
            manual: false,
          }),
          stageDeployment: async (input) => {
            if (input.runRowId.startsWith('run-d2') && berlinFailures-- > 0)
              throw fail(FailureType.targetRejected, 'f5-bigip: upload refused');
            return { staged: { cert: 'c' } };
          },
        },
      });
      const { client, runWorker } = testEnv();
      const result = await runWorker(mocks.activities, async (taskQueue) => {
        const handle = await client.workflow.start(certificateLifecycleWorkflow, {
          taskQueue,
          workflowId: certificateWorkflowId(certificateId),
          args: [{ certificateId, trigger: 'manual' }],
        });
        for (let i = 0; i < 100; i++) {
          const progress = await handle.query(progressQuery);
          if (progress.awaitingRetry) break;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        const waiting = await handle.query(progressQuery);
        assert.equal(waiting.awaitingRetry, true);
        assert.deepEqual(
          waiting.deployments?.map((d) => d.outcome),
          ['deployed', 'failed'],
        );
        assert.equal(
          mocks.count('sendLifecycleEmail'),
          1,
          'the first email goes out at once, not after the retry window',
        );
        await handle.signal(retryDeploymentSignal, { deploymentId: 'd2', auditId: '41' });
        return handle.result();
      });
      assert.equal(result.outcome, 'issued');
      assert.deepEqual(
        result.deployments?.map((d: DeploymentOutcome) => [d.targetName, d.outcome]),
        [
          ['fw-paris', 'deployed'],
          ['lb-berlin', 'deployed'],
        ],
      );
      const emails = mocks.inputsOf('sendLifecycleEmail');
      assert.equal(emails.length, 2);
      assert.equal(emails[0]?.outcome, 'partial');
      assert.match(JSON.stringify(emails[0]?.deployments), /upload refused/);
      assert.equal(emails[1]?.outcome, 'issued');
    },
  );

  it('closes as partial when the retry window ends without a retry', TIMEOUT, async () => {
    const certificateId = uniqueCertificateId('partial');
    const mocks = mockActivities({
      deployments: TARGETS,
      deploySettings: { retryWindowMs: 500 },
      overrides: {
        startDeploymentRun: async (input) => ({
          runRowId: `run-${input.deploymentId}`,
          targetName: TARGETS.find((t) => t.deploymentId === input.deploymentId)?.targetName ?? '?',
          targetId: 't1',
          exclusiveSession: false,
          manual: false,
        }),
        verifyDeployment: async (input) => {
          if (input.runRowId === 'run-d1')
            throw fail(FailureType.commitFailed, 'fortigate: still serving the old certificate');
          return { endpoints: [] };
        },
      },
    });
    const { client, runWorker } = testEnv();
    const result: LifecycleResult = await runWorker(mocks.activities, (taskQueue) =>
      client.workflow.execute(certificateLifecycleWorkflow, {
        taskQueue,
        workflowId: certificateWorkflowId(certificateId),
        args: [{ certificateId, trigger: 'manual' }],
      }),
    );
    assert.equal(result.outcome, 'partial');
    assert.equal(result.versionId, MOCK_VERSION_ID);
    assert.match(result.reason ?? '', /fw-paris: fortigate: still serving the old certificate/);
    assert.deepEqual(
      result.deployments?.map((d) => d.outcome),
      ['rolled_back', 'deployed'],
    );
    assert.equal(mocks.count('rollbackDeployment'), 1);
  });

  it('ignores a Retry signal without its audit entry: the failed target is not deployed again', TIMEOUT, async () => {
    const certificateId = uniqueCertificateId('forged-retry');
    const mocks = mockActivities({
      deployments: TARGETS,
      deploySettings: { retryWindowMs: 3_000 },
      overrides: {
        stageDeployment: async (input) => {
          if (input.runRowId === 'run-d2') throw fail(FailureType.targetRejected, 'f5: upload refused');
          return { staged: { cert: 'c' } };
        },
      },
    });
    const { client, runWorker } = testEnv();
    const result: LifecycleResult = await runWorker(mocks.activities, async (taskQueue) => {
      const handle = await client.workflow.start(certificateLifecycleWorkflow, {
        taskQueue,
        workflowId: certificateWorkflowId(certificateId),
        args: [{ certificateId, trigger: 'manual', auditId: '7' }],
      });
      while (!(await handle.query(progressQuery)).awaitingRetry)
        await new Promise((resolve) => setTimeout(resolve, 100));
      await handle.signal('retryDeployment', { deploymentId: 'd2' });
      return handle.result();
    });
    assert.equal(result.outcome, 'partial');
    assert.deepEqual(
      mocks.inputsOf('claimCommand').map((c) => [c.entityId, c.auditId]),
      [['d2', undefined]],
    );
    assert.equal(
      mocks.inputsOf('stageDeployment').filter((i) => i.runRowId === 'run-d2').length,
      1,
      'tried once, never on the forged Retry',
    );
  });
});

describe('automatic retries of failed targets', () => {
  it(
    'a target that was down gets the version by itself when it is back, within the retry window',
    TIMEOUT,
    async () => {
      const certificateId = uniqueCertificateId('autoretry');
      let berlinFailures = 2;
      const mocks = mockActivities({
        deployments: TARGETS,
        deploySettings: { retryWindowMs: 30_000, autoRetryMs: 300 },
        overrides: {
          startDeploymentRun: async (input) => ({
            runRowId: `run-${input.deploymentId}-${input.trigger}`,
            targetName: TARGETS.find((t) => t.deploymentId === input.deploymentId)?.targetName ?? '?',
            targetId: 't1',
            exclusiveSession: false,
            manual: false,
          }),
          stageDeployment: async (input) => {
            if (input.runRowId.startsWith('run-d2') && berlinFailures-- > 0)
              throw fail(FailureType.targetUnreachable, 'f5-bigip: no answer');
            return { staged: { cert: 'c' } };
          },
        },
      });
      const { client, runWorker } = testEnv();
      const result: LifecycleResult = await runWorker(mocks.activities, (taskQueue) =>
        client.workflow.execute(certificateLifecycleWorkflow, {
          taskQueue,
          workflowId: certificateWorkflowId(certificateId),
          args: [{ certificateId, trigger: 'manual' }],
        }),
      );
      assert.equal(result.outcome, 'issued', JSON.stringify(result));
      const berlinRuns = mocks
        .inputsOf('startDeploymentRun')
        .filter((i) => i.deploymentId === 'd2')
        .map((i) => i.trigger);
      assert.deepEqual(berlinRuns, ['lifecycle', 'retry', 'retry'], 'retried twice by itself, no signal');
      assert.equal(
        mocks.inputsOf('startDeploymentRun').filter((i) => i.deploymentId === 'd1').length,
        1,
        'the healthy target is not deployed again',
      );
    },
  );
});

describe('deployToTargetWorkflow', () => {
  const run = async (overrides: Parameters<typeof mockActivities>[0]) => {
    const mocks = mockActivities(overrides);
    const { client, runWorker } = testEnv();
    const outcome = await runWorker(mocks.activities, (taskQueue) =>
      client.workflow.execute(deployToTargetWorkflow, {
        taskQueue,
        workflowId: `deploy:${uniqueCertificateId('c')}:d1`,
        args: [{ deploymentId: 'd1', versionId: 'v9', trigger: 'redeploy' }],
      }),
    );
    return { mocks, outcome };
  };

  it('polls an asynchronous commit with durable timers, then verifies', TIMEOUT, async () => {
    let polls = 0;
    const { mocks, outcome } = await run({
      overrides: {
        activateDeployment: async () => ({ jobId: '42' }),
        checkDeploymentActivation: async () =>
          ++polls < 3 ? { state: 'pending', progress: polls * 30 } : { state: 'done' },
      },
    });
    assert.equal(outcome.outcome, 'deployed');
    assert.equal(mocks.count('checkDeploymentActivation'), 3);
    assert.deepEqual(
      mocks.names().filter((n) => /Deployment|Activation/.test(n)),
      [
        'startDeploymentRun',
        'stageDeployment',
        'activateDeployment',
        'checkDeploymentActivation',
        'checkDeploymentActivation',
        'checkDeploymentActivation',
        'verifyDeployment',
        'finishDeploymentRun',
      ],
    );
    assert.deepEqual(mocks.inputsOf('finishDeploymentRun').at(-1), { runRowId: 'run-d1', outcome: 'deployed' });
  });

  it(
    'device steps forward run as local activities; only closing the run goes through the server',
    TIMEOUT,
    async () => {
      const mocks = mockActivities({
        overrides: {
          activateDeployment: async () => ({ jobId: '7' }),
          checkDeploymentActivation: async () => ({ state: 'done' }),
        },
      });
      const { client, runWorker } = testEnv();
      const events = await runWorker(mocks.activities, async (taskQueue) => {
        const handle = await client.workflow.start(deployToTargetWorkflow, {
          taskQueue,
          workflowId: `deploy:${uniqueCertificateId('local')}:d1`,
          args: [{ deploymentId: 'd1', versionId: 'v9', trigger: 'redeploy' }],
        });
        assert.equal((await handle.result()).outcome, 'deployed');
        return (await handle.fetchHistory()).events ?? [];
      });
      const scheduled = events.flatMap((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? []);
      assert.deepEqual(
        scheduled,
        ['finishDeploymentRun'],
        'stage, activate, commit check and verify are local; closing the run (it may alert) is scheduled once recorded',
      );
      const markers = events.filter(
        (e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity',
      ).length;
      assert.equal(markers, mocks.calls.length - 1, 'one marker per local call');
    },
  );

  it('a failed commit job rolls back (with its own commit) and reports the job detail', TIMEOUT, async () => {
    const { mocks, outcome } = await run({
      overrides: {
        activateDeployment: async () => ({ jobId: '7' }),
        checkDeploymentActivation: async (input) =>
          input.jobId === '7'
            ? { state: 'failed', detail: 'panos: commit job 7 failed: certificate key mismatch' }
            : { state: 'done' },
        rollbackDeployment: async () => ({ jobId: '8' }),
      },
    });
    assert.equal(outcome.outcome, 'rolled_back');
    assert.match(outcome.reason ?? '', /commit job 7 failed/);
    assert.equal(mocks.count('verifyDeployment'), 0);
    assert.deepEqual(
      mocks.inputsOf('checkDeploymentActivation').map((i) => i.jobId),
      ['7', '8'],
    );
    assert.equal(mocks.inputsOf('finishDeploymentRun').at(-1)?.outcome, 'rolled_back');
  });

  it('a failed verify rolls back to the previous binding', TIMEOUT, async () => {
    const { mocks, outcome } = await run({
      overrides: {
        verifyDeployment: async () => {
          throw fail(FailureType.targetRejected, 'verify failed: 192.0.2.1:443 serves the old certificate');
        },
      },
    });
    assert.equal(outcome.outcome, 'rolled_back');
    assert.equal(mocks.count('rollbackDeployment'), 1);
  });

  it('an authentication error is not retried and needs no rollback', TIMEOUT, async () => {
    const { mocks, outcome } = await run({
      overrides: {
        activateDeployment: async () => {
          throw fail(FailureType.targetAuth, 'fortigate: the API token was rejected');
        },
      },
    });
    assert.equal(outcome.outcome, 'failed');
    assert.equal(mocks.count('activateDeployment'), 1);
    assert.equal(mocks.count('rollbackDeployment'), 0);
    assert.match(mocks.inputsOf('finishDeploymentRun').at(-1)?.error ?? '', /token was rejected/);
  });

  it('a failed rollback is reported together with the original failure', TIMEOUT, async () => {
    const { outcome } = await run({
      overrides: {
        verifyDeployment: async () => {
          throw fail(FailureType.targetRejected, 'verify failed');
        },
        rollbackDeployment: async () => {
          throw fail(FailureType.targetAuth, 'token revoked meanwhile');
        },
      },
    });
    assert.equal(outcome.outcome, 'failed');
    assert.match(outcome.reason ?? '', /verify failed; the rollback failed too: token revoked meanwhile/);
  });
});

describe('maintenance windows', () => {
  it('a deploy outside the window touches nothing until the window opens (a durable timer)', TIMEOUT, async () => {
    const mocks = mockActivities({
      overrides: {
        checkMaintenanceWindow: async () => ({ inWindow: false, opensAt: new Date(Date.now() + 1_500).toISOString() }),
      },
    });
    const { client, runWorker } = testEnv();
    const started = Date.now();
    const outcome = await runWorker(mocks.activities, (taskQueue) =>
      client.workflow.execute(deployToTargetWorkflow, {
        taskQueue,
        workflowId: `deploy:${uniqueCertificateId('mw')}:d1`,
        args: [{ deploymentId: 'd1', versionId: 'v9', trigger: 'lifecycle' }],
      }),
    );
    assert.equal(outcome.outcome, 'deployed');
    assert.ok(Date.now() - started >= 1_400, 'waited for the window');
    const names = mocks.names();
    assert.ok(names.indexOf('endMaintenanceWait') < names.indexOf('stageDeployment'), names.join(', '));
    assert.deepEqual(mocks.inputsOf('endMaintenanceWait'), [{ runRowId: 'run-d1' }]);
  });

  it(
    '"Deploy now" ends the wait at once and names who asked: the actor of its audit entry, never the payload',
    TIMEOUT,
    async () => {
      const mocks = mockActivities({
        overrides: {
          checkMaintenanceWindow: async () => ({
            inWindow: false,
            opensAt: new Date(Date.now() + 3_600_000).toISOString(),
          }),
        },
      });
      const { client, runWorker } = testEnv();
      const workflowId = `deploy:${uniqueCertificateId('mw')}:d1`;
      const outcome = await runWorker(mocks.activities, async (taskQueue) => {
        const handle = await client.workflow.start(deployToTargetWorkflow, {
          taskQueue,
          workflowId,
          args: [{ deploymentId: 'd1', versionId: 'v9', trigger: 'lifecycle' }],
        });
        while (mocks.count('checkMaintenanceWindow') === 0) await new Promise((resolve) => setTimeout(resolve, 50));
        assert.equal(mocks.count('stageDeployment'), 0, 'nothing is staged while waiting');
        // Forged: a name instead of an audit entry. Checked, rejected, and the deploy keeps waiting.
        await client.workflow.getHandle(workflowId).signal('deployNow', { requestedBy: 'demo' });
        while (mocks.count('claimCommand') === 0) await new Promise((resolve) => setTimeout(resolve, 50));
        assert.equal(mocks.count('stageDeployment'), 0, 'a signal without its audit entry changes nothing');
        assert.equal(mocks.count('endMaintenanceWait'), 0);
        await handle.signal(deployNowSignal, { auditId: '42' });
        return handle.result();
      });
      assert.equal(outcome.outcome, 'deployed');
      assert.deepEqual(
        mocks.inputsOf('claimCommand').map((c) => c.auditId),
        [undefined, '42'],
      );
      assert.deepEqual(mocks.inputsOf('endMaintenanceWait'), [{ runRowId: 'run-d1', deployNowBy: 'tina' }]);
    },
  );

  it('inside the window (or without windows) it deploys at once', TIMEOUT, async () => {
    const mocks = mockActivities({});
    const { client, runWorker } = testEnv();
    const outcome = await runWorker(mocks.activities, (taskQueue) =>
      client.workflow.execute(deployToTargetWorkflow, {
        taskQueue,
        workflowId: `deploy:${uniqueCertificateId('mw')}:d1`,
        args: [{ deploymentId: 'd1', versionId: 'v9', trigger: 'lifecycle' }],
      }),
    );
    assert.equal(outcome.outcome, 'deployed');
    assert.equal(mocks.count('endMaintenanceWait'), 0);
  });
});
