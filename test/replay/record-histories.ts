/**
 * Records the lifecycle histories that test/replay/lifecycle-replay.test.ts replays: runs the issued
 * and the validation-failed lifecycle on a dev server with mocked activities and (over)writes
 * test/replay/histories/<name>.json.
 *
 *   npx tsx test/replay/record-histories.ts
 *
 * Refresh them only for a deliberate, versioned change (patched()/new workflow type); an unversioned
 * change that breaks replay would also break the runs in flight in production.
 */
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { certificateWorkflowId, FailureType, type LifecycleInput } from '../../temporal/contract';
import { certificateLifecycleWorkflow } from '../../workflows';
import { installTestRuntime, mockActivities, startWorkflowTestEnv, type MockActivities } from '../workflows/harness';

export const HISTORIES_DIR = path.join(__dirname, 'histories');

/** Recorded scenarios; the file name is the certificate id, so the workflow id is certificate:<name>. */
export const SCENARIOS: ReadonlyArray<{ name: string; mocks: () => MockActivities; fails: boolean }> = [
  { name: 'lifecycle-issued', mocks: () => mockActivities(), fails: false },
  {
    name: 'lifecycle-acme-validation-failed',
    fails: true,
    mocks: () =>
      mockActivities({
        overrides: {
          validateAcmeChallenge: async () => {
            throw ApplicationFailure.create({
              type: FailureType.acmeValidationFailed,
              message: 'acme: the CA could not validate www.example.test through DNS: NXDOMAIN',
              nonRetryable: true,
            });
          },
        },
      }),
  },
];

async function record(): Promise<void> {
  installTestRuntime();
  const env = await startWorkflowTestEnv();
  try {
    const { client, runWorker } = env;
    await mkdir(HISTORIES_DIR, { recursive: true });
    for (const scenario of SCENARIOS) {
      const mocks = scenario.mocks();
      const input: LifecycleInput = { certificateId: scenario.name, trigger: 'create', auditId: '1' };
      const history = await runWorker(mocks.activities, async (taskQueue) => {
        const handle = await client.workflow.start(certificateLifecycleWorkflow, {
          taskQueue,
          workflowId: certificateWorkflowId(scenario.name),
          args: [input],
          workflowExecutionTimeout: '2m',
        });
        const outcome = await handle.result().then(
          (result) => result.outcome,
          (error: unknown) => (error instanceof WorkflowFailedError ? 'failed' : error),
        );
        assert.equal(outcome, scenario.fails ? 'failed' : 'issued', `${scenario.name}: unexpected outcome`);
        return handle.fetchHistory();
      });
      const pretty = `${JSON.stringify(JSON.parse(historyToJSON(history)), null, 2)}\n`;
      await writeFile(path.join(HISTORIES_DIR, `${scenario.name}.json`), pretty);
      console.log(`recorded ${scenario.name}`);
    }
  } finally {
    await env.stop();
  }
}

if (require.main === module) {
  record().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
