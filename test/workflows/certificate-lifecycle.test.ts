/**
 * certificateLifecycleWorkflow on a real Temporal dev server with mocked activities: step order,
 * renewal-window skips, failure handling (cleanup always, status and email on failure), retries,
 * the progress query and the search attributes.
 */
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import {
  WorkflowFailedError,
  type WorkflowExecutionDescription,
  type WorkflowHandleWithFirstExecutionRunId,
} from '@temporalio/client';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import {
  certificateWorkflowId,
  FailureType,
  LIFECYCLE_STEPS,
  progressQuery,
  SearchAttributes,
  type LifecycleInput,
  type LifecycleProgress,
  type LifecycleResult,
  type LifecycleStep,
  type StepState,
} from '../../temporal/contract';
import { certificateLifecycleWorkflow } from '../../workflows';
import {
  createGate,
  mockActivities,
  MOCK_ORDER_ID,
  MOCK_VERSION_ID,
  useWorkflowTestEnv,
  validity,
  type ActivityName,
  type Gate,
  type MockActivities,
} from './harness';
import {
  ACME_VALIDATION_FAILURE,
  assertActivitySplit,
  itWithFreshId,
  mocksBlockedInPropagation,
  failingActivity,
  mocksFailingAt,
  type ActivityFailure,
} from '../support/workflow-runs';

const TEST_TIMEOUT_MS = 60_000;

const testEnv = useWorkflowTestEnv();

type Settled = { ok: true; result: LifecycleResult } | { ok: false; error: unknown };

interface LifecycleRun {
  handle: WorkflowHandleWithFirstExecutionRunId<typeof certificateLifecycleWorkflow>;
  settled: Settled;
  /** Progress queried after the run closed (the worker replays it). */
  progress: LifecycleProgress;
  description: WorkflowExecutionDescription;
}

/** Starts the lifecycle on a fresh worker; `during` runs while it is in flight (e.g. queries at a gate). */
async function runLifecycle(
  mocks: MockActivities,
  input: LifecycleInput,
  during?: (handle: WorkflowHandleWithFirstExecutionRunId<typeof certificateLifecycleWorkflow>) => Promise<void>,
): Promise<LifecycleRun> {
  const { client, runWorker } = testEnv();
  return runWorker(mocks.activities, async (taskQueue) => {
    const handle = await client.workflow.start(certificateLifecycleWorkflow, {
      taskQueue,
      workflowId: certificateWorkflowId(input.certificateId),
      args: [input],
      workflowExecutionTimeout: '2m',
    });
    if (during) await during(handle);
    const settled: Settled = await handle.result().then(
      (result): Settled => ({ ok: true, result }),
      (error: unknown): Settled => ({ ok: false, error }),
    );
    const progress = await handle.query(progressQuery);
    const description = await handle.describe();
    return { handle, settled, progress, description };
  });
}

function expectResult(run: LifecycleRun): LifecycleResult {
  if (!run.settled.ok) assert.fail(`expected the run to complete, it failed: ${String(run.settled.error)}`);
  return run.settled.result;
}

/** The run failed in Temporal with an ApplicationFailure of this type; returns its message. */
function expectFailure(run: LifecycleRun, type: string): string {
  if (run.settled.ok) assert.fail(`expected the run to fail, it returned ${JSON.stringify(run.settled.result)}`);
  const { error } = run.settled;
  assert.ok(error instanceof WorkflowFailedError, `expected WorkflowFailedError, got ${String(error)}`);
  assert.ok(
    error.cause instanceof ApplicationFailure,
    `expected an ApplicationFailure cause, got ${String(error.cause)}`,
  );
  assert.equal(error.cause.type, type);
  assert.equal(error.cause.nonRetryable, true);
  return error.cause.message;
}

function stepOf(progress: LifecycleProgress, step: LifecycleStep): StepState {
  const state = progress.steps.find((s) => s.step === step);
  assert.ok(state, `step ${step} missing from progress`);
  return state;
}

function statusesOf(progress: LifecycleProgress): Record<LifecycleStep, string> {
  return Object.fromEntries(progress.steps.map((s) => [s.step, s.status])) as Record<LifecycleStep, string>;
}

function searchAttribute(
  description: WorkflowExecutionDescription,
  key: (typeof SearchAttributes)[keyof typeof SearchAttributes],
): string | undefined {
  return description.typedSearchAttributes.get(key);
}

/** From the challenge to the certificate: the activities that take the ACME order's id, in the order they run. */
const ORDER_STEPS = [
  'prepareDnsChallenge',
  'presentDnsChallenge',
  'checkDnsPropagationOnce',
  'waitForDnsPropagation',
  'validateAndFinalizeAcmeOrder',
  'validateAcmeChallenge',
  'finalizeAcmeOrder',
] as const;
/** With the TXT record's removal, every activity that takes the order's id. */
const ORDER_ACTIVITIES = [...ORDER_STEPS, 'removeDnsChallenge'] as const;

/** A run's opening, one local activity (activities/lifecycle-opening.ts) and the parts it calls. */
const OPENING = [
  'openLifecycleRun',
  'authorizeLifecycle',
  'loadRenewalFacts',
  'markCertificateStatus',
  'planAcmeDirectories',
] as const;

/**
 * From the DNS check to the stored version (whose activity also reads the deployments: no deploy plan
 * of its own). Each composite activity is followed by the parts it calls.
 * The TXT record's removal and the email follow in either order (both scheduled in one workflow task).
 */
const ISSUE_SEQUENCE = ['checkDnsProvider', 'reserveOrderSlot', 'createAcmeOrder', ...ORDER_STEPS] as const;
const CLOSING = ['removeDnsChallenge', 'sendLifecycleEmail'] as const;

/** The calls were `sequence`, then the cleanup and the email in either order. */
function assertIssued(mocks: MockActivities, sequence: readonly ActivityName[]): void {
  const names = mocks.names();
  assert.deepEqual(names.slice(0, sequence.length), [...sequence], names.join(', '));
  assert.deepEqual(names.slice(sequence.length).sort(), [...CLOSING].sort(), names.join(', '));
}

const ACME_AND_DNS_ACTIVITIES = [
  'checkDnsProvider',
  'createAcmeOrder',
  'presentDnsChallenge',
  'waitForDnsPropagation',
  'validateAcmeChallenge',
  'removeDnsChallenge',
  'finalizeAcmeOrder',
] as const;

/** Inputs carry ids and short words only: never a key, token, password or PEM body. */
const ALLOWED_INPUT_FIELDS = new Set([
  'certificateId',
  'workflowId',
  'runId',
  'orderId',
  'directoryId',
  'exempt',
  'status',
  'error',
  'outcome',
  'reason',
  'deployments',
  'trigger',
  'startedAt',
  'scheduled',
  'recordRenewalCheck',
]);
/** Input fields that are not strings. */
const NON_STRING_FIELDS = new Set(['deployments', 'exempt', 'scheduled', 'recordRenewalCheck']);

/** One lifecycle test with the default timeout and a fresh certificate id named after `label`. */
const lifecycleTest = (name: string, label: string, body: (certificateId: string) => Promise<void>): void =>
  itWithFreshId(name, TEST_TIMEOUT_MS, label, body);

/** How many times each activity ran. */
function assertCallCounts(mocks: MockActivities, expected: Partial<Record<ActivityName, number>>): void {
  for (const [name, count] of Object.entries(expected)) assert.equal(mocks.count(name as ActivityName), count, name);
}

/** The last status the run wrote for the certificate is `failed` with this error. */
function assertLastStatusFailed(mocks: MockActivities, certificateId: string, error: string): void {
  assert.deepEqual(mocks.inputsOf('markCertificateStatus').at(-1), { certificateId, status: 'failed', error });
}

/** What a table row's check gets: the finished run, its mocks, the certificate and the failure's message. */
interface FailedRun {
  run: LifecycleRun;
  mocks: MockActivities;
  certificateId: string;
  message: string;
}

const ISSUED_WITHOUT_DEPLOYMENTS = { outcome: 'issued', versionId: MOCK_VERSION_ID, deployments: [] };

describe('certificateLifecycleWorkflow', { timeout: 10 * TEST_TIMEOUT_MS }, () => {
  lifecycleTest(
    'create trigger: issues, calling the activities in order with ids only',
    'create',
    async (certificateId) => {
      const mocks = mockActivities();
      const run = await runLifecycle(mocks, { certificateId, trigger: 'create' });

      assert.deepEqual(expectResult(run), ISSUED_WITHOUT_DEPLOYMENTS);
      assertIssued(mocks, [...OPENING, ...ISSUE_SEQUENCE]);

      assert.deepEqual(mocks.inputsOf('markCertificateStatus'), [{ certificateId, status: 'issuing' }]);
      assert.deepEqual(mocks.inputsOf('checkDnsProvider'), [{ certificateId }]);
      assert.deepEqual(mocks.inputsOf('createAcmeOrder'), [
        {
          certificateId,
          workflowId: certificateWorkflowId(certificateId),
          runId: run.handle.firstExecutionRunId,
          directoryId: '1',
        },
      ]);
      assert.deepEqual(mocks.inputsOf('reserveOrderSlot'), [
        { certificateId, directoryId: '1', runId: run.handle.firstExecutionRunId, exempt: false },
      ]);
      for (const name of ORDER_ACTIVITIES) {
        assert.deepEqual(mocks.inputsOf(name), [{ orderId: MOCK_ORDER_ID }], name);
      }
      assert.deepEqual(
        mocks
          .inputsOf('sendLifecycleEmail')
          .map(({ startedAt, ...rest }) => ({ ...rest, startedAt: typeof startedAt })),
        [
          {
            certificateId,
            outcome: 'issued',
            workflowId: certificateWorkflowId(certificateId),
            trigger: 'create',
            startedAt: 'string',
            deployments: [],
          },
        ],
      );

      for (const call of mocks.calls) {
        for (const [field, value] of Object.entries(call.input)) {
          assert.ok(ALLOWED_INPUT_FIELDS.has(field), `${call.name} received an unexpected field ${field}`);
          if (!NON_STRING_FIELDS.has(field))
            assert.equal(typeof value, 'string', `${call.name}.${field} is not a string`);
          assert.doesNotMatch(JSON.stringify(value), /-----BEGIN|PRIVATE KEY/, `${call.name}.${field} looks like PEM`);
        }
      }

      assert.equal(run.progress.outcome, 'issued');
      assert.equal(run.progress.current, undefined);
      assert.ok(
        run.progress.steps.every((s) => s.status === 'done'),
        JSON.stringify(statusesOf(run.progress)),
      );
    },
  );

  lifecycleTest(
    'a TXT record visible at the first look needs no wait; every call outside CertFleet is a regular activity, only PostgreSQL bookkeeping is local',
    'quick-dns',
    async (certificateId) => {
      const mocks = mockActivities({ overrides: { checkDnsPropagationOnce: async () => ({ propagated: true }) } });
      const run = await runLifecycle(mocks, { certificateId, trigger: 'manual' });

      assert.deepEqual(expectResult(run), ISSUED_WITHOUT_DEPLOYMENTS);
      assertIssued(mocks, [...OPENING, ...ISSUE_SEQUENCE.filter((n) => n !== 'waitForDnsPropagation')]);
      assert.equal(statusesOf(run.progress)['propagate'], 'done');
      // A CA, DNS API or mail server that stops answering holds an activity slot of its own share, never a
      // workflow task (docs/architecture.md, "Where each step runs").
      const outside = [
        'checkDnsProvider',
        'createAcmeOrder',
        'prepareDnsChallenge',
        'validateAndFinalizeAcmeOrder',
        'removeDnsChallenge',
        'sendLifecycleEmail',
      ];
      assertActivitySplit(
        (await run.handle.fetchHistory()).events,
        outside,
        mocks.workflowCalls(),
        'every call outside CertFleet is a regular activity',
      );
    },
  );

  lifecycleTest(
    'schedule trigger, current certificate still fresh: skipped after recording the check, no ACME call',
    'fresh',
    async (certificateId) => {
      const mocks = mockActivities({ facts: { current: validity('fresh') } });
      const run = await runLifecycle(mocks, { certificateId, trigger: 'schedule' });

      const result = expectResult(run);
      assert.equal(result.outcome, 'skipped');
      assert.match(result.reason ?? '', /^not due until /);
      assert.deepEqual(mocks.names(), [
        'openLifecycleRun',
        'authorizeLifecycle',
        'loadRenewalFacts',
        'recordRenewalCheck',
      ]);
      assert.deepEqual(mocks.inputsOf('recordRenewalCheck'), [{ certificateId }]);
      for (const name of ACME_AND_DNS_ACTIVITIES) assert.equal(mocks.count(name), 0, name);

      assert.equal(run.progress.outcome, 'skipped');
      assert.equal(stepOf(run.progress, 'check').status, 'done');
      for (const step of LIFECYCLE_STEPS.filter((s) => s !== 'check'))
        assert.equal(stepOf(run.progress, step).status, 'skipped', step);
      assert.equal(searchAttribute(run.description, SearchAttributes.outcome), 'skipped');
    },
  );

  lifecycleTest('schedule trigger, renewal disabled: skipped even when due', 'disabled', async (certificateId) => {
    const mocks = mockActivities({ facts: { enabled: false, current: validity('due') } });
    const run = await runLifecycle(mocks, { certificateId, trigger: 'schedule' });

    const result = expectResult(run);
    assert.equal(result.outcome, 'skipped');
    assert.match(result.reason ?? '', /disabled/);
    assert.equal(mocks.count('recordRenewalCheck'), 1);
    for (const name of ACME_AND_DNS_ACTIVITIES) assert.equal(mocks.count(name), 0, name);
    assert.equal(mocks.count('markCertificateStatus'), 0);
  });

  lifecycleTest('schedule trigger, inside the renewal window: issues', 'due', async (certificateId) => {
    const mocks = mockActivities({ facts: { current: validity('due') } });
    const run = await runLifecycle(mocks, { certificateId, trigger: 'schedule' });

    assert.deepEqual(expectResult(run), ISSUED_WITHOUT_DEPLOYMENTS);
    assertIssued(mocks, [
      'openLifecycleRun',
      'authorizeLifecycle',
      'loadRenewalFacts',
      'beginIssuance',
      'recordRenewalCheck',
      'markCertificateStatus',
      'planAcmeDirectories',
      ...ISSUE_SEQUENCE,
    ]);
  });

  lifecycleTest(
    'schedule trigger with an ARI window in the past (a revocation coming): renews though the lifetime rule says fresh',
    'ari-past',
    async (certificateId) => {
      const past = new Date(Date.now() - 3600_000).toISOString();
      const renewalInfo = { kind: 'window' as const, windowStart: past, windowEnd: past, renewAt: past };
      const mocks = mockActivities({ facts: { current: validity('fresh'), renewalInfo } });
      const run = await runLifecycle(mocks, { certificateId, trigger: 'schedule' });

      assert.equal(expectResult(run).outcome, 'issued');
      assert.deepEqual(mocks.inputsOf('loadRenewalFacts'), [{ certificateId, renewalInfo: true }]);
      // An ARI-asked renewal (sent with `replaces`) is exempt from the pacing budgets.
      assert.deepEqual(
        mocks.inputsOf('reserveOrderSlot').map((i) => i.exempt),
        [true],
      );
    },
  );

  lifecycleTest(
    'schedule trigger with an ARI moment still ahead: skipped, saying when',
    'ari-ahead',
    async (certificateId) => {
      const at = (h: number) => new Date(Date.now() + h * 3600_000).toISOString();
      const renewalInfo = { kind: 'window' as const, windowStart: at(-1), windowEnd: at(5), renewAt: at(2) };
      // The lifetime rule alone would renew now ('due'); the CA's window says later.
      const mocks = mockActivities({ facts: { current: validity('due'), renewalInfo } });
      const run = await runLifecycle(mocks, { certificateId, trigger: 'schedule' });

      const result = expectResult(run);
      assert.equal(result.outcome, 'skipped');
      assert.match(result.reason ?? '', /^ARI: renewing at /);
      for (const name of ACME_AND_DNS_ACTIVITIES) assert.equal(mocks.count(name), 0, name);
    },
  );

  lifecycleTest(
    '"Renew now" does not ask the CA for ARI (only scheduled checks do)',
    'ari-manual',
    async (certificateId) => {
      const mocks = mockActivities({ facts: { current: validity('fresh') } });
      await runLifecycle(mocks, { certificateId, trigger: 'manual' });
      assert.deepEqual(mocks.inputsOf('loadRenewalFacts'), [{ certificateId }]);
    },
  );

  lifecycleTest('a deleted certificate is skipped without touching ACME or DNS', 'deleted', async (certificateId) => {
    const mocks = mockActivities({ facts: { exists: false, enabled: false } });
    const run = await runLifecycle(mocks, { certificateId, trigger: 'manual' });

    assert.deepEqual(expectResult(run), { outcome: 'skipped', reason: 'the certificate was deleted' });
    assert.deepEqual(mocks.names(), ['openLifecycleRun', 'authorizeLifecycle', 'loadRenewalFacts']);
  });

  lifecycleTest(
    'a start CertFleet did not authorise ("Renew now" without its audit entry) does nothing',
    'forged',
    async (certificateId) => {
      const mocks = mockActivities({
        overrides: { authorizeLifecycle: async () => ({ accepted: false, reason: 'it names no audit entry' }) },
      });
      const run = await runLifecycle(mocks, { certificateId, trigger: 'manual' });

      assert.deepEqual(expectResult(run), {
        outcome: 'skipped',
        reason: 'not started by CertFleet: it names no audit entry',
      });
      assert.deepEqual(mocks.names(), ['openLifecycleRun', 'authorizeLifecycle']);
    },
  );

  /** One row per failing activity: the run is a create, the activity fails non-retryable, `check` asserts. */
  const FAILURE_CASES: { name: string; label: string; failure: ActivityFailure; check: (c: FailedRun) => void }[] = [
    {
      name: 'ACME validation fails (non-retryable): cleanup still runs, status and email say failed, no retry',
      label: 'invalid',
      failure: ACME_VALIDATION_FAILURE,
      check: ({ run, mocks, certificateId, message }) => {
        assert.equal(expectFailure(run, FailureType.acmeValidationFailed), message);
        assert.equal(mocks.count('validateAcmeChallenge'), 1, 'a failed validation must not be retried');
        assertCallCounts(mocks, { removeDnsChallenge: 1, finalizeAcmeOrder: 0 });
        assert.deepEqual(mocks.inputsOf('removeDnsChallenge'), [{ orderId: MOCK_ORDER_ID }]);
        assert.deepEqual(mocks.inputsOf('markCertificateStatus'), [
          { certificateId, status: 'issuing' },
          { certificateId, status: 'failed', error: message },
        ]);
        assert.deepEqual(
          mocks.inputsOf('sendLifecycleEmail').map(({ startedAt: _startedAt, trigger: _trigger, ...rest }) => rest),
          [{ certificateId, outcome: 'failed', reason: message, workflowId: certificateWorkflowId(certificateId) }],
        );
        // The TXT record is removed before the status is written and the email goes out.
        const names = mocks.names();
        assert.ok(names.indexOf('removeDnsChallenge') < names.lastIndexOf('markCertificateStatus'), names.join(', '));

        assert.equal(run.progress.outcome, 'failed');
        assert.equal(run.progress.lastError, message);
        assert.deepEqual(statusesOf(run.progress), {
          check: 'done',
          order: 'done',
          present: 'done',
          propagate: 'done',
          validate: 'failed',
          finalize: 'skipped',
          cleanup: 'done',
          deploy: 'skipped',
          notify: 'done',
        });
        assert.equal(stepOf(run.progress, 'validate').error, message);
        assert.equal(searchAttribute(run.description, SearchAttributes.outcome), 'failed');
      },
    },
    {
      name: 'DNS propagation times out twice (non-retryable): published again once, cleanup runs, validation is never asked for',
      label: 'propagation',
      failure: {
        activity: 'waitForDnsPropagation',
        type: FailureType.propagationTimeout,
        message: 'dns: _acme-challenge.www.example.test not visible at 2 nameservers after 600 s',
      },
      check: ({ run, mocks, certificateId, message }) => {
        assert.equal(expectFailure(run, FailureType.propagationTimeout), message);
        assertCallCounts(mocks, {
          presentDnsChallenge: 2,
          waitForDnsPropagation: 2,
          validateAcmeChallenge: 0,
          removeDnsChallenge: 1,
          finalizeAcmeOrder: 0,
        });
        assertLastStatusFailed(mocks, certificateId, message);
        assert.deepEqual(
          mocks.inputsOf('sendLifecycleEmail').map((i) => [i.outcome, i.reason]),
          [['failed', message]],
        );
        assert.equal(stepOf(run.progress, 'propagate').status, 'failed');
        assert.equal(stepOf(run.progress, 'validate').status, 'skipped');
        assert.equal(run.progress.propagationRepublished, true);
      },
    },
    {
      name: 'a failing email never fails an issued certificate',
      label: 'mail',
      failure: {
        activity: 'sendLifecycleEmail',
        type: FailureType.emailFailed,
        message: 'email: cannot send through SMTP: connect ECONNREFUSED 127.0.0.1:25',
      },
      check: ({ run, mocks, certificateId, message }) => {
        assert.deepEqual(expectResult(run), ISSUED_WITHOUT_DEPLOYMENTS);
        assert.equal(mocks.count('sendLifecycleEmail'), 1);
        assert.deepEqual(mocks.inputsOf('markCertificateStatus'), [{ certificateId, status: 'issuing' }]);
        const notify = stepOf(run.progress, 'notify');
        assert.equal(notify.status, 'failed');
        assert.equal(notify.error, message);
        assert.equal(run.progress.outcome, 'issued');
        assert.equal(searchAttribute(run.description, SearchAttributes.outcome), 'issued');
      },
    },
    {
      name: 'DNS provider check fails (non-retryable): no ACME order is spent, the failure names the provider',
      label: 'dns-auth',
      failure: {
        activity: 'checkDnsProvider',
        type: FailureType.dnsAuth,
        message: 'cloudflare: the API token was rejected (9109 Invalid access token)',
      },
      check: ({ run, mocks, certificateId, message }) => {
        assert.ok(expectFailure(run, FailureType.dnsAuth).includes(message));
        assertCallCounts(mocks, { checkDnsProvider: 1, createAcmeOrder: 0, presentDnsChallenge: 0 });
        assert.equal(mocks.count('removeDnsChallenge'), 0, 'nothing was published, so nothing to clean up');
        assertLastStatusFailed(mocks, certificateId, message);
        assert.equal(mocks.inputsOf('sendLifecycleEmail')[0]?.outcome, 'failed');
        assert.equal(stepOf(run.progress, 'order').status, 'failed');
        assert.equal(stepOf(run.progress, 'order').error, message);
      },
    },
  ];
  for (const { name, label, failure, check } of FAILURE_CASES) {
    lifecycleTest(name, label, async (certificateId) => {
      const mocks = mocksFailingAt(failure);
      const run = await runLifecycle(mocks, { certificateId, trigger: 'create' });
      check({ run, mocks, certificateId, message: failure.message });
    });
  }

  lifecycleTest(
    'a TXT record gone at the provider (propagation timeout) is published again once, then the run issues',
    'republish',
    async (certificateId) => {
      let waits = 0;
      const mocks = mockActivities({
        overrides: {
          waitForDnsPropagation: async () => {
            waits += 1;
            if (waits === 1) await failingActivity(FailureType.propagationTimeout, 'dns: TXT not visible after 20s')();
            return { nameservers: ['127.0.0.1:53'], elapsedMs: 10 };
          },
        },
      });
      const run = await runLifecycle(mocks, { certificateId, trigger: 'create' });

      assert.deepEqual(expectResult(run), ISSUED_WITHOUT_DEPLOYMENTS);
      assertCallCounts(mocks, {
        presentDnsChallenge: 2,
        waitForDnsPropagation: 2,
        validateAcmeChallenge: 1,
        removeDnsChallenge: 1,
      });
      const names = mocks.names();
      assert.deepEqual(
        names.filter((n) => n === 'presentDnsChallenge' || n === 'waitForDnsPropagation'),
        ['presentDnsChallenge', 'waitForDnsPropagation', 'presentDnsChallenge', 'waitForDnsPropagation'],
      );
      assert.equal(run.progress.propagationRepublished, true);
      assert.equal(stepOf(run.progress, 'propagate').status, 'done');
    },
  );

  lifecycleTest('a retryable error in createAcmeOrder is retried until it succeeds', 'retry', async (certificateId) => {
    let attempts = 0;
    const mocks = mockActivities({
      overrides: {
        createAcmeOrder: async () => {
          attempts += 1;
          if (attempts <= 2) throw new Error(`acme: connection reset (attempt ${attempts})`);
          return {
            orderId: MOCK_ORDER_ID,
            needsChallenge: true,
            recordName: '_acme-challenge.www.example.test',
            values: ['v'],
          };
        },
      },
    });
    const run = await runLifecycle(mocks, { certificateId, trigger: 'create' });

    assert.deepEqual(expectResult(run), ISSUED_WITHOUT_DEPLOYMENTS);
    assert.equal(mocks.count('createAcmeOrder'), 3);
    // Every attempt belongs to the same run, so the activity can find the order it already created.
    assert.equal(new Set(mocks.inputsOf('createAcmeOrder').map((i) => i.runId)).size, 1);
    assertCallCounts(mocks, { checkDnsProvider: 1, markCertificateStatus: 1 });
  });

  lifecycleTest(
    'no challenge needed (authorizations already valid): straight to finalize',
    'valid-authz',
    async (certificateId) => {
      const mocks = mockActivities({ order: { needsChallenge: false, values: [] } });
      const run = await runLifecycle(mocks, { certificateId, trigger: 'manual' });

      assert.deepEqual(expectResult(run), ISSUED_WITHOUT_DEPLOYMENTS);
      assertCallCounts(mocks, {
        presentDnsChallenge: 0,
        waitForDnsPropagation: 0,
        validateAcmeChallenge: 0,
        removeDnsChallenge: 0,
        finalizeAcmeOrder: 1,
      });
      assert.deepEqual(statusesOf(run.progress), {
        check: 'done',
        order: 'done',
        present: 'skipped',
        propagate: 'skipped',
        validate: 'skipped',
        finalize: 'done',
        cleanup: 'skipped',
        deploy: 'done',
        notify: 'done',
      });
    },
  );

  lifecycleTest(
    'progress query: shows the running step while DNS propagation is awaited',
    'progress',
    async (certificateId) => {
      const gate: Gate = createGate();
      const mocks = mocksBlockedInPropagation(gate, { nameservers: ['192.0.2.53'], elapsedMs: 5 });
      let during: LifecycleProgress | undefined;
      const run = await runLifecycle(mocks, { certificateId, trigger: 'create' }, async (handle) => {
        await gate.entered;
        during = await handle.query(progressQuery);
        const description = await handle.describe();
        assert.equal(searchAttribute(description, SearchAttributes.certificateId), certificateId);
        assert.equal(searchAttribute(description, SearchAttributes.outcome), undefined);
        gate.release();
      });

      assert.ok(during, 'no progress while blocked');
      assert.equal(during.certificateId, certificateId);
      assert.equal(during.trigger, 'create');
      assert.equal(during.current, 'propagate');
      assert.equal(during.outcome, undefined);
      assert.deepEqual(
        during.steps.map((s) => s.step),
        [...LIFECYCLE_STEPS],
      );
      for (const step of ['check', 'order', 'present'] as const) {
        const state = stepOf(during, step);
        assert.equal(state.status, 'done', step);
        assert.ok(state.startedAt && state.endedAt, `${step} has no timing: ${JSON.stringify(state)}`);
        assert.ok(
          !Number.isNaN(Date.parse(state.startedAt)) && Date.parse(state.startedAt) <= Date.parse(state.endedAt),
          step,
        );
      }
      const propagate = stepOf(during, 'propagate');
      assert.equal(propagate.status, 'running');
      assert.ok(propagate.startedAt);
      assert.equal(propagate.endedAt, undefined);
      for (const step of ['validate', 'finalize', 'cleanup', 'notify'] as const) {
        assert.deepEqual(stepOf(during, step), { step, status: 'pending' });
      }

      assert.deepEqual(expectResult(run), ISSUED_WITHOUT_DEPLOYMENTS);
      assert.equal(run.progress.current, undefined);
      assert.equal(run.progress.outcome, 'issued');
      for (const state of run.progress.steps)
        assert.ok(state.status === 'done' || state.status === 'skipped', JSON.stringify(state));
      assert.ok(Date.parse(stepOf(run.progress, 'propagate').endedAt ?? '') >= Date.parse(propagate.startedAt));
    },
  );

  lifecycleTest(
    'search attributes: CertificateId and CertFleetOutcome are set on an issued run',
    'search',
    async (certificateId) => {
      const run = await runLifecycle(mockActivities(), { certificateId, trigger: 'create' });

      expectResult(run);
      assert.equal(run.description.type, 'certificateLifecycleWorkflow');
      assert.equal(run.description.status.name, 'COMPLETED');
      assert.equal(searchAttribute(run.description, SearchAttributes.certificateId), certificateId);
      assert.equal(searchAttribute(run.description, SearchAttributes.outcome), 'issued');
      // No step attribute: the console reads the step from the progress query; nothing searched by it.
      assert.equal(run.description.searchAttributes['CertFleetStep'], undefined);
    },
  );

  lifecycleTest(
    'cancellation while waiting for DNS: the TXT record is still removed and the status says cancelled',
    'cancel',
    async (certificateId) => {
      const gate = createGate();
      const mocks = mocksBlockedInPropagation(gate, { nameservers: [], elapsedMs: 0 });
      const run = await runLifecycle(mocks, { certificateId, trigger: 'manual' }, async (handle) => {
        await gate.entered;
        await handle.cancel();
      });

      assert.equal(run.settled.ok, false);
      const error = run.settled.ok ? undefined : run.settled.error;
      assert.ok(
        error instanceof WorkflowFailedError && error.cause instanceof CancelledFailure,
        `expected a cancellation, got ${String(error)}`,
      );
      assert.equal(run.description.status.name, 'CANCELLED');
      assertCallCounts(mocks, { removeDnsChallenge: 1, validateAcmeChallenge: 0, finalizeAcmeOrder: 0 });
      assertLastStatusFailed(mocks, certificateId, 'the run was cancelled');
      // A cancelled run still records its outcome, for the progress view and for searches by outcome.
      assert.equal(run.progress.outcome, 'failed');
      assert.equal(run.progress.lastError, 'the run was cancelled');
      assert.equal(run.progress.current, undefined);
      assert.equal(run.description.typedSearchAttributes.get(SearchAttributes.outcome), 'failed');
    },
  );
});
