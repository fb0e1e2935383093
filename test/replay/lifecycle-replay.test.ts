/**
 * Determinism guard: every history saved in test/replay/histories/ is replayed against the current
 * workflow bundle; any nondeterminism fails the test.
 *
 * Without UPDATE_HISTORIES=1 this file only replays (no server) and fails when the folder is empty.
 * With UPDATE_HISTORIES=1 it first runs the issued and the validation-failed lifecycle on a dev
 * server with mocked activities and (over)writes their histories, then replays the whole folder:
 *
 *   UPDATE_HISTORIES=1 npx tsx --test test/replay/lifecycle-replay.test.ts
 *
 * Refresh the histories only for a deliberate, versioned change (patched()/new workflow type); an
 * unversioned change that breaks replay would also break the runs in flight in production.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { historyFromJSON, historyToJSON } from '@temporalio/common/lib/proto-utils';
import { Worker, type ReplayResult, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { certificateWorkflowId, FailureType, type LifecycleInput } from '../../temporal/contract';
import { certificateLifecycleWorkflow } from '../../workflows';
import {
  bundleWorkflows,
  installTestRuntime,
  mockActivities,
  startWorkflowTestEnv,
  type MockActivities,
  type WorkflowTestEnv,
} from '../workflows/harness';

type History = ReturnType<typeof historyFromJSON>;

const HISTORIES_DIR = path.join(__dirname, 'histories');
const UPDATE = process.env.UPDATE_HISTORIES === '1';

/** Recorded scenarios; the file name is the certificate id, so the workflow id is certificate:<name>. */
const SCENARIOS: ReadonlyArray<{ name: string; mocks: () => MockActivities; fails: boolean }> = [
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

interface SavedHistory {
  name: string;
  workflowId: string;
  history: History;
}

async function loadSavedHistories(): Promise<SavedHistory[]> {
  const files = existsSync(HISTORIES_DIR) ? (await readdir(HISTORIES_DIR)).filter((f) => f.endsWith('.json')).sort() : [];
  return Promise.all(
    files.map(async (file) => {
      const name = path.basename(file, '.json');
      const json: unknown = JSON.parse(await readFile(path.join(HISTORIES_DIR, file), 'utf8'));
      return { name, workflowId: certificateWorkflowId(name), history: historyFromJSON(json) };
    }),
  );
}

async function replayAll(bundle: WorkflowBundleWithSourceMap, saved: SavedHistory[]): Promise<ReplayResult[]> {
  const results: ReplayResult[] = [];
  const replay = Worker.runReplayHistories(
    { workflowBundle: bundle, replayName: 'certfleet-replay' },
    saved.map(({ workflowId, history }) => ({ workflowId, history })),
  );
  for await (const result of replay) results.push(result);
  return results;
}

describe('workflow replay (determinism guard)', { timeout: 300_000 }, () => {
  let env: WorkflowTestEnv | undefined;
  let bundle: WorkflowBundleWithSourceMap | undefined;

  before(async () => {
    installTestRuntime();
    if (UPDATE) {
      env = await startWorkflowTestEnv();
      bundle = env.bundle;
    } else {
      bundle = await bundleWorkflows();
    }
  }, { timeout: 180_000 });

  after(async () => {
    await env?.stop();
  }, { timeout: 60_000 });

  it('records the lifecycle histories (UPDATE_HISTORIES=1)', { skip: !UPDATE && 'set UPDATE_HISTORIES=1 to re-record', timeout: 60_000 }, async () => {
    assert.ok(env, 'the Temporal test environment did not start');
    const { client, runWorker } = env;
    await mkdir(HISTORIES_DIR, { recursive: true });
    for (const scenario of SCENARIOS) {
      const mocks = scenario.mocks();
      const input: LifecycleInput = { certificateId: scenario.name, trigger: 'create' };
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
    }
  });

  it('replays every saved history against the current workflow code', { timeout: 120_000 }, async () => {
    assert.ok(bundle, 'no workflow bundle');
    const saved = await loadSavedHistories();
    assert.ok(saved.length > 0, `no histories in ${HISTORIES_DIR}: record them with UPDATE_HISTORIES=1`);
    for (const scenario of SCENARIOS) {
      assert.ok(saved.some((s) => s.name === scenario.name), `${scenario.name}.json is missing: record it with UPDATE_HISTORIES=1`);
    }

    const results = await replayAll(bundle, saved);
    assert.equal(results.length, saved.length);
    const failures = results.filter((r) => r.error !== undefined).map((r) => `${r.workflowId}: ${String(r.error)}`);
    assert.deepEqual(failures, [], `nondeterminism against the current workflows:\n${failures.join('\n')}`);
  });

  it('the guard fails when the workflow code is incompatible with a saved history', { timeout: 120_000 }, async () => {
    const saved = (await loadSavedHistories()).filter((s) => s.name === 'lifecycle-issued');
    assert.equal(saved.length, 1, 'lifecycle-issued.json is missing: record it with UPDATE_HISTORIES=1');
    const incompatible = await bundleWorkflows(require.resolve('./fixtures/incompatible-lifecycle'));
    const [result] = await replayAll(incompatible, saved);
    assert.ok(result, 'no replay result');
    assert.ok(result.error, 'replaying against incompatible code did not report nondeterminism');
  });
});
