/**
 * Determinism guard: every history saved in test/replay/histories/ is replayed against the current
 * workflow bundle (no server needed); any nondeterminism fails the test, and so does a missing history.
 * Record them with `npx tsx test/replay/record-histories.ts`.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker, type ReplayResult, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { certificateWorkflowId } from '../../temporal/contract';
import { bundleWorkflows, installTestRuntime } from '../workflows/harness';
import { HISTORIES_DIR, SCENARIOS } from './record-histories';

type History = ReturnType<typeof historyFromJSON>;

interface SavedHistory {
  name: string;
  workflowId: string;
  history: History;
}

async function loadSavedHistories(): Promise<SavedHistory[]> {
  const files = existsSync(HISTORIES_DIR)
    ? (await readdir(HISTORIES_DIR)).filter((f) => f.endsWith('.json')).sort()
    : [];
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
  let bundle: WorkflowBundleWithSourceMap | undefined;

  before(
    async () => {
      installTestRuntime();
      bundle = await bundleWorkflows();
    },
    { timeout: 180_000 },
  );

  it('replays every saved history against the current workflow code', { timeout: 120_000 }, async () => {
    assert.ok(bundle, 'no workflow bundle');
    const saved = await loadSavedHistories();
    assert.ok(
      saved.length > 0,
      `no histories in ${HISTORIES_DIR}: record them with npx tsx test/replay/record-histories.ts`,
    );
    for (const scenario of SCENARIOS) {
      assert.ok(
        saved.some((s) => s.name === scenario.name),
        `${scenario.name}.json is missing: record it with npx tsx test/replay/record-histories.ts`,
      );
    }

    const results = await replayAll(bundle, saved);
    assert.equal(results.length, saved.length);
    const failures = results.filter((r) => r.error !== undefined).map((r) => `${r.workflowId}: ${String(r.error)}`);
    assert.deepEqual(failures, [], `nondeterminism against the current workflows:\n${failures.join('\n')}`);
  });

  it('the guard fails when the workflow code is incompatible with a saved history', { timeout: 120_000 }, async () => {
    const saved = (await loadSavedHistories()).filter((s) => s.name === 'lifecycle-issued');
    assert.equal(
      saved.length,
      1,
      'lifecycle-issued.json is missing: record it with npx tsx test/replay/record-histories.ts',
    );
    const incompatible = await bundleWorkflows(require.resolve('./fixtures/incompatible-lifecycle'));
    const [result] = await replayAll(incompatible, saved);
    assert.ok(result, 'no replay result');
    assert.ok(result.error, 'replaying against incompatible code did not report nondeterminism');
  });
});
