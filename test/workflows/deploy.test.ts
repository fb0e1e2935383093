/**
 * Deploying with mocked activities on the real dev server: the lifecycle fans out to every target,
 * a failing target does not block the others, the run waits for retryDeployment and closes as
 * partial when the window ends; deployToTargetWorkflow polls commits, verifies, and rolls back.
 */
import assert from 'node:assert/strict';
import { ApplicationFailure } from '@temporalio/common';
import { describe, it } from 'node:test';
import {
  certificateWorkflowId,
  deployNowSignal,
  FailureType,
  progressQuery,
  retryDeploymentSignal,
  type DeploymentOutcome,
  type DeployTrigger,
  type LifecycleResult,
} from '../../temporal/contract';
import { certificateLifecycleWorkflow, deployToTargetWorkflow } from '../../workflows';
import type { Activities } from '../../activities';
import {
  mockActivities,
  MOCK_VERSION_ID,
  uniqueCertificateId,
  useWorkflowTestEnv,
  type MockActivities,
  type MockOptions,
} from './harness';
import {
  assertActivitySplit,
  executeOnWorker,
  failingActivity,
  itWithFreshId,
  nonRetryableFailure as fail,
  pollUntil,
} from '../support/workflow-runs';

const testEnv = useWorkflowTestEnv();
const TIMEOUT_MS = 60_000;
const TIMEOUT = { timeout: TIMEOUT_MS };
const TARGETS = [
  { deploymentId: 'd1', targetName: 'fw-paris' },
  { deploymentId: 'd2', targetName: 'lb-berlin' },
];

/** startDeploymentRun for TARGETS, with a run row id per deployment and trigger. */
const startRunPerTrigger: Activities['startDeploymentRun'] = async (input) => ({
  runRowId: `run-${input.deploymentId}-${input.trigger}`,
  targetName: TARGETS.find((t) => t.deploymentId === input.deploymentId)?.targetName ?? '?',
  targetId: 't1',
  exclusiveSession: false,
  manual: false,
});

/** stageDeployment that fails for lb-berlin (d2) the first `times` times, non-retryable. */
function stageFailingForBerlin(times: number, type: string, message: string): Activities['stageDeployment'] {
  let left = times;
  return async (input) => {
    if (input.runRowId.startsWith('run-d2') && left-- > 0) throw fail(type, message);
    return { staged: { cert: 'c' } };
  };
}

/** Mocks that deploy to both TARGETS, with these settings and activities replaced. */
const twoTargetMocks = (
  deploySettings: MockOptions['deploySettings'],
  overrides: Partial<Activities>,
): MockActivities => mockActivities({ deployments: TARGETS, deploySettings, overrides });

/** The lifecycle of a certificate, started by hand, run to its end on a fresh worker. */
const executeLifecycle = (mocks: MockActivities, certificateId: string): Promise<LifecycleResult> =>
  executeOnWorker(testEnv(), mocks.activities, certificateLifecycleWorkflow, {
    workflowId: certificateWorkflowId(certificateId),
    args: [{ certificateId, trigger: 'manual' }],
  });

/** deployToTargetWorkflow for deployment d1 and version v9, run to its end with mocks built from `options`. */
async function executeDeploy(options: MockOptions, trigger: DeployTrigger = 'redeploy') {
  const mocks = mockActivities(options);
  const outcome = await executeOnWorker(testEnv(), mocks.activities, deployToTargetWorkflow, {
    workflowId: `deploy:${uniqueCertificateId(trigger)}:d1`,
    args: [{ deploymentId: 'd1', versionId: 'v9', trigger }],
  });
  return { mocks, outcome };
}

/** deployToTargetWorkflow for deployment d1 and version v9 with these mocks: deployed, and its history. */
async function deployedHistory(mocks: MockActivities, label: string) {
  const { client, runWorker } = testEnv();
  return runWorker(mocks.activities, async (taskQueue) => {
    const handle = await client.workflow.start(deployToTargetWorkflow, {
      taskQueue,
      workflowId: `deploy:${uniqueCertificateId(label)}:d1`,
      args: [{ deploymentId: 'd1', versionId: 'v9', trigger: 'redeploy' }],
    });
    assert.equal((await handle.result()).outcome, 'deployed');
    return (await handle.fetchHistory()).events ?? [];
  });
}

describe('deploying after issuance', () => {
  itWithFreshId(
    'deploys to every target in parallel; a failing one waits for retryDeployment, then all are deployed',
    TIMEOUT_MS,
    'fanout',
    async (certificateId) => {
      const mocks = twoTargetMocks(
        { retryWindowMs: 30_000 },
        {
          startDeploymentRun: startRunPerTrigger,
          stageDeployment: stageFailingForBerlin(1, FailureType.targetRejected, 'f5-bigip: upload refused'),
        },
      );
      const { client, runWorker } = testEnv();
      const result = await runWorker(mocks.activities, async (taskQueue) => {
        const handle = await client.workflow.start(certificateLifecycleWorkflow, {
          taskQueue,
          workflowId: certificateWorkflowId(certificateId),
          args: [{ certificateId, trigger: 'manual' }],
        });
        await pollUntil(async () => (await handle.query(progressQuery)).awaitingRetry === true, 100, 100);
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

  itWithFreshId(
    'closes as partial when the retry window ends without a retry',
    TIMEOUT_MS,
    'partial',
    async (certificateId) => {
      const mocks = twoTargetMocks(
        { retryWindowMs: 500 },
        {
          verifyDeployment: async (input) => {
            if (input.runRowId === 'run-d1')
              throw fail(FailureType.commitFailed, 'fortigate: still serving the old certificate');
            return { endpoints: [] };
          },
        },
      );
      const result = await executeLifecycle(mocks, certificateId);
      assert.equal(result.outcome, 'partial');
      assert.equal(result.versionId, MOCK_VERSION_ID);
      assert.match(result.reason ?? '', /fw-paris: fortigate: still serving the old certificate/);
      assert.deepEqual(
        result.deployments?.map((d) => d.outcome),
        ['rolled_back', 'deployed'],
      );
      assert.equal(mocks.count('rollbackDeployment'), 1);
    },
  );

  itWithFreshId(
    'ignores a Retry signal without its audit entry: the failed target is not deployed again',
    TIMEOUT_MS,
    'forged-retry',
    async (certificateId) => {
      const mocks = twoTargetMocks(
        { retryWindowMs: 3_000 },
        {
          stageDeployment: stageFailingForBerlin(Infinity, FailureType.targetRejected, 'f5: upload refused'),
        },
      );
      const { client, runWorker } = testEnv();
      const result: LifecycleResult = await runWorker(mocks.activities, async (taskQueue) => {
        const handle = await client.workflow.start(certificateLifecycleWorkflow, {
          taskQueue,
          workflowId: certificateWorkflowId(certificateId),
          args: [{ certificateId, trigger: 'manual', auditId: '7' }],
        });
        await pollUntil(async () => (await handle.query(progressQuery)).awaitingRetry === true, 100);
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
    },
  );
});

/**
 * startDeploymentRun as the real one decides it (repositories/deployment-runs.ts openRunOfDeployment,
 * against PostgreSQL in test/integration/already-deployed.test.ts): the deployments in `deployed` already
 * have the version, so a start by the certificate's run finds it done; a console command opens a run.
 */
const startRunWithDeployed =
  (deployed: string[]): Activities['startDeploymentRun'] =>
  async (input) =>
    input.trigger === 'lifecycle' && deployed.includes(input.deploymentId)
      ? {
          alreadyDeployed: { runRowId: `earlier-${input.deploymentId}`, endedAt: '2026-01-01T00:00:00.000Z' },
          targetName: TARGETS.find((t) => t.deploymentId === input.deploymentId)?.targetName ?? '?',
        }
      : startRunPerTrigger(input);

/** Every activity that reaches the device, waits for it or closes a run. */
const DEPLOYING_ACTIVITIES = [
  'checkMaintenanceWindow',
  'requestDeviceLease',
  'stageAndActivateDeployment',
  'stageDeployment',
  'activateDeployment',
  'checkDeploymentActivation',
  'verifyDeployment',
  'rollbackDeployment',
  'closeDeploymentRun',
  'cleanUpDeployment',
  'finishDeploymentRun',
] as const;

describe('a re-driven deploy of a version already deployed (issue 17 item 5)', () => {
  it(
    "the certificate's run deploying a version the deployment has ends at once, deployed, without a device call",
    TIMEOUT,
    async () => {
      const { mocks, outcome } = await executeDeploy(
        { deployments: TARGETS, overrides: { startDeploymentRun: startRunWithDeployed(['d1']) } },
        'lifecycle',
      );
      assert.equal(outcome.outcome, 'deployed');
      assert.equal(outcome.targetName, 'fw-paris');
      assert.match(outcome.reason ?? '', /^already deployed \(run earlier-d1, 2026-01-01T00:00:00\.000Z\)$/);
      assert.deepEqual(
        DEPLOYING_ACTIVITIES.filter((name) => mocks.count(name) > 0),
        [],
        `nothing after the start: ${mocks.names().join(', ')}`,
      );
    },
  );

  for (const trigger of ['redeploy', 'retry'] as const)
    it(`a console ${trigger} of the same version deploys it again`, TIMEOUT, async () => {
      const { mocks, outcome } = await executeDeploy(
        { deployments: TARGETS, overrides: { startDeploymentRun: startRunWithDeployed(['d1']) } },
        trigger,
      );
      assert.equal(outcome.outcome, 'deployed');
      assert.equal(outcome.reason, undefined);
      for (const name of ['stageDeployment', 'activateDeployment', 'verifyDeployment'] as const)
        assert.equal(mocks.count(name), 1, name);
      assert.deepEqual(mocks.inputsOf('finishDeploymentRun'), [{ runRowId: `run-d1-${trigger}`, outcome: 'deployed' }]);
    });

  itWithFreshId(
    'a re-driven renewal deploys only to the target that does not have its version yet, and ends issued',
    TIMEOUT_MS,
    'redrive',
    async (certificateId) => {
      const mocks = twoTargetMocks({}, { startDeploymentRun: startRunWithDeployed(['d1']) });
      const result = await executeLifecycle(mocks, certificateId);
      assert.equal(result.outcome, 'issued', JSON.stringify(result));
      assert.deepEqual(
        result.deployments?.map((d) => [d.targetName, d.outcome, d.reason]),
        [
          ['fw-paris', 'deployed', 'already deployed (run earlier-d1, 2026-01-01T00:00:00.000Z)'],
          ['lb-berlin', 'deployed', undefined],
        ],
      );
      assert.deepEqual(
        mocks.inputsOf('stageDeployment').map((i) => i.runRowId),
        ['run-d2-lifecycle'],
        'only lb-berlin is staged',
      );
      assert.deepEqual(
        mocks.inputsOf('finishDeploymentRun').map((i) => i.runRowId),
        ['run-d2-lifecycle'],
        'only lb-berlin has a run to close',
      );
    },
  );
});

describe('automatic retries of failed targets', () => {
  itWithFreshId(
    'a target that was down gets the version by itself when it is back, within the retry window',
    TIMEOUT_MS,
    'autoretry',
    async (certificateId) => {
      const mocks = twoTargetMocks(
        { retryWindowMs: 30_000, autoRetryMs: 300 },
        {
          startDeploymentRun: startRunPerTrigger,
          stageDeployment: stageFailingForBerlin(2, FailureType.targetUnreachable, 'f5-bigip: no answer'),
        },
      );
      const result = await executeLifecycle(mocks, certificateId);
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
  it('polls an asynchronous commit with durable timers, then verifies', TIMEOUT, async () => {
    let polls = 0;
    const { mocks, outcome } = await executeDeploy({
      overrides: {
        activateDeployment: async () => ({ jobId: '42' }),
        checkDeploymentActivation: async () =>
          ++polls < 3 ? { state: 'pending', progress: polls * 30 } : { state: 'done' },
      },
    });
    assert.equal(outcome.outcome, 'deployed');
    assert.equal(mocks.count('checkDeploymentActivation'), 3);
    assert.deepEqual(
      mocks.names().filter((n) => /Deployment|Activation|FirstAttempt/.test(n)),
      [
        'deployFirstAttempt',
        'startDeploymentRun',
        'stageAndActivateDeployment',
        'stageDeployment',
        'activateDeployment',
        'checkDeploymentActivation',
        'checkDeploymentActivation',
        'checkDeploymentActivation',
        'verifyDeployment',
        'closeDeploymentRun',
        'finishDeploymentRun',
      ],
    );
    assert.deepEqual(mocks.inputsOf('finishDeploymentRun').at(-1), { runRowId: 'run-d1', outcome: 'deployed' });
  });

  it('every call to the device is a regular activity; only PostgreSQL bookkeeping is local', TIMEOUT, async () => {
    const mocks = mockActivities({
      overrides: {
        activateDeployment: async () => ({ jobId: '7' }),
        checkDeploymentActivation: async () => ({ state: 'done' }),
      },
    });
    const events = await deployedHistory(mocks, 'local');
    // The opening with stage and activate in one activity (deployFirstAttempt); closing the run is
    // PostgreSQL only (local), and the device's cleanup runs only when superseded objects are left.
    const regular = ['deployFirstAttempt', 'checkDeploymentActivation', 'verifyDeployment'];
    // A device that stops answering holds an activity slot of its own share, never a workflow task.
    assertActivitySplit(events, regular, mocks.workflowCalls(), 'device steps are scheduled through the server');
  });

  it(
    'a device bound at once is verified inside the device step: the workflow schedules no verify',
    TIMEOUT,
    async () => {
      const { mocks, outcome } = await executeDeploy({});
      assert.equal(outcome.outcome, 'deployed');
      assert.deepEqual(
        mocks.calls.filter((c) => c.name === 'verifyDeployment').map((c) => c.within),
        ['stageAndActivateDeployment'],
      );
      assert.equal(mocks.count('rollbackDeployment'), 0);
    },
  );

  it(
    'a first verify attempt that fails in the device step is retried as its own activity, not rolled back',
    TIMEOUT,
    async () => {
      let attempts = 0;
      const { mocks, outcome } = await executeDeploy({
        overrides: {
          verifyDeployment: async () => {
            if (++attempts === 1) throw new Error('192.0.2.1:443 still serves the old certificate');
            return { endpoints: ['192.0.2.1:443'] };
          },
        },
      });
      assert.equal(outcome.outcome, 'deployed');
      assert.deepEqual(
        mocks.calls.filter((c) => c.name === 'verifyDeployment').map((c) => c.within ?? 'workflow'),
        ['stageAndActivateDeployment', 'workflow'],
      );
      assert.equal(mocks.count('rollbackDeployment'), 0);
    },
  );

  it('a failed commit job rolls back (with its own commit) and reports the job detail', TIMEOUT, async () => {
    const { mocks, outcome } = await executeDeploy({
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
    const { mocks, outcome } = await executeDeploy({
      overrides: {
        verifyDeployment: failingActivity(
          FailureType.targetRejected,
          'verify failed: 192.0.2.1:443 serves the old certificate',
        ),
      },
    });
    assert.equal(outcome.outcome, 'rolled_back');
    assert.equal(mocks.count('rollbackDeployment'), 1);
  });

  it('an authentication error is not retried and needs no rollback', TIMEOUT, async () => {
    const { mocks, outcome } = await executeDeploy({
      overrides: {
        activateDeployment: failingActivity(FailureType.targetAuth, 'fortigate: the API token was rejected'),
      },
    });
    assert.equal(outcome.outcome, 'failed');
    assert.equal(mocks.count('activateDeployment'), 1);
    assert.equal(mocks.count('rollbackDeployment'), 0);
    assert.match(mocks.inputsOf('finishDeploymentRun').at(-1)?.error ?? '', /token was rejected/);
  });

  it(
    'opens and makes the device step in one activity: no local activity (marker) before the device',
    TIMEOUT,
    async () => {
      const { mocks, outcome } = await executeDeploy({});
      assert.equal(outcome.outcome, 'deployed');
      const byWorkflow = mocks.calls.filter((c) => c.within === undefined).map((c) => c.name);
      assert.deepEqual(byWorkflow, ['deployFirstAttempt', 'closeDeploymentRun']);
      assert.deepEqual(
        mocks.calls.filter((c) => c.within === 'deployFirstAttempt').map((c) => c.name),
        [
          'authorizeDeploy',
          'loadDeploySettings',
          'startDeploymentRun',
          'checkMaintenanceWindow',
          'stageAndActivateDeployment',
        ],
      );
    },
  );

  it('a device that does not answer at the first attempt gets the rest of the retries, not more', TIMEOUT, async () => {
    const { mocks, outcome } = await executeDeploy({
      deploySettings: { deviceRetryAttempts: 3, deviceRetryInitialMs: 10 },
      overrides: { stageDeployment: async () => Promise.reject(new Error('f5-bigip: connect ECONNREFUSED')) },
    });
    assert.equal(outcome.outcome, 'failed');
    assert.match(outcome.reason ?? '', /ECONNREFUSED/);
    // One attempt in deployFirstAttempt, two more by the workflow's own device activity: three in all.
    assert.equal(mocks.count('stageDeployment'), 3);
    assert.deepEqual(
      mocks.calls.filter((c) => c.name === 'stageAndActivateDeployment').map((c) => c.within ?? 'workflow'),
      ['deployFirstAttempt', 'workflow', 'workflow'],
    );
    assert.equal(mocks.inputsOf('finishDeploymentRun').at(-1)?.outcome, 'failed');
  });

  it('with one device attempt configured, a failed first attempt is the end', TIMEOUT, async () => {
    const { mocks, outcome } = await executeDeploy({
      deploySettings: { deviceRetryAttempts: 1 },
      overrides: { stageDeployment: async () => Promise.reject(new Error('f5-bigip: connect ECONNREFUSED')) },
    });
    assert.equal(outcome.outcome, 'failed');
    assert.equal(mocks.count('stageDeployment'), 1);
    assert.match(mocks.inputsOf('finishDeploymentRun').at(-1)?.error ?? '', /ECONNREFUSED/);
  });

  it('a device whose breaker is open at the first attempt is waited for, spending no attempt', TIMEOUT, async () => {
    let calls = 0;
    const { mocks, outcome } = await executeDeploy({
      deploySettings: { deviceRetryAttempts: 1 },
      overrides: {
        stageAndActivateDeployment: async () => {
          // The first attempt, then the workflow's first call (the guard refuses at once while the breaker is open).
          if (++calls <= 2)
            throw fail(FailureType.dependencyNotAnswering, 'device lb-berlin (192.0.2.7) is not answering');
          return { verified: true };
        },
      },
    });
    assert.equal(outcome.outcome, 'deployed');
    assert.equal(calls, 3);
    assert.deepEqual(
      mocks.inputsOf('recordDeviceWait').map((i) => i.reason ?? 'answers'),
      ['device lb-berlin (192.0.2.7) is not answering', 'answers'],
    );
  });

  it('a busy device at the first attempt is asked again only after the delay it asked for', TIMEOUT, async () => {
    let calls = 0;
    const mocks = mockActivities({
      deploySettings: { deviceRetryInitialMs: 10 },
      overrides: {
        stageAndActivateDeployment: async () => {
          if (++calls === 1)
            throw ApplicationFailure.create({
              type: FailureType.deviceSessionBusy,
              message: 'f5-bigip: user "admin" already holds the maximum of 100 active REST tokens',
              nextRetryDelay: 700,
            });
          return { verified: true };
        },
      },
    });
    const events = await deployedHistory(mocks, 'busy');
    assert.equal(calls, 2);
    // A durable timer of the device's delay, not the retry policy's first interval (10 ms here).
    const timers = events.flatMap((e) => {
      const timeout = e.timerStartedEventAttributes?.startToFireTimeout;
      return timeout ? [Number(timeout.seconds ?? 0) * 1000 + Math.round((timeout.nanos ?? 0) / 1e6)] : [];
    });
    assert.deepEqual(timers, [700]);
  });

  it('when the first attempt itself fails (a lost worker), the run opens again and deploys', TIMEOUT, async () => {
    const { mocks, outcome } = await executeDeploy({
      overrides: { deployFirstAttempt: async () => Promise.reject(new Error('activity heartbeat timeout')) },
    });
    assert.equal(outcome.outcome, 'deployed');
    const byWorkflow = mocks.calls.filter((c) => c.within === undefined).map((c) => c.name);
    assert.deepEqual(byWorkflow, [
      'deployFirstAttempt',
      'openDeploymentRun',
      'stageAndActivateDeployment',
      'closeDeploymentRun',
    ]);
  });

  it('a failed rollback is reported together with the original failure', TIMEOUT, async () => {
    const { outcome } = await executeDeploy({
      overrides: {
        verifyDeployment: failingActivity(FailureType.targetRejected, 'verify failed'),
        rollbackDeployment: failingActivity(FailureType.targetAuth, 'token revoked meanwhile'),
      },
    });
    assert.equal(outcome.outcome, 'failed');
    assert.match(outcome.reason ?? '', /verify failed; the rollback failed too: token revoked meanwhile/);
  });
});

describe('maintenance windows', () => {
  it('a deploy outside the window touches nothing until the window opens (a durable timer)', TIMEOUT, async () => {
    const started = Date.now();
    const { mocks, outcome } = await executeDeploy(
      {
        overrides: {
          checkMaintenanceWindow: async () => ({
            inWindow: false,
            opensAt: new Date(Date.now() + 1_500).toISOString(),
          }),
        },
      },
      'lifecycle',
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
        await pollUntil(() => mocks.count('checkMaintenanceWindow') > 0, 50);
        assert.equal(mocks.count('stageDeployment'), 0, 'nothing is staged while waiting');
        // Forged: a name instead of an audit entry. Checked, rejected, and the deploy keeps waiting.
        await client.workflow.getHandle(workflowId).signal('deployNow', { requestedBy: 'demo' });
        await pollUntil(() => mocks.count('claimCommand') > 0, 50);
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
    const { mocks, outcome } = await executeDeploy({}, 'lifecycle');
    assert.equal(outcome.outcome, 'deployed');
    assert.equal(mocks.count('endMaintenanceWait'), 0);
  });
});
