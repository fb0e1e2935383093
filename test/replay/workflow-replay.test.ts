/**
 * Determinism guard (docs/versioning.md): every history saved under test/replay/histories/<release>/
 * is replayed against the current workflow bundle (no server needed). Any nondeterminism fails, and so
 * does a workflow type the worker registers without a history in `current`, and (before 1.0) a
 * `patched()` in the workflows. Record with `npx tsx test/replay/record-histories.ts`.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import { Worker, type ReplayResult, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { bundleWorkflows, installTestRuntime } from '../workflows/harness';
import {
  CURRENT_RELEASE,
  HISTORIES_DIR,
  loadSavedHistories,
  registeredWorkflowTypes,
  savedReleases,
  type SavedHistory,
} from './saved-histories';

const ROOT = path.join(__dirname, '..', '..');
const RECORD = 'record them with npx tsx test/replay/record-histories.ts';

async function replayAll(bundle: WorkflowBundleWithSourceMap, saved: SavedHistory[]): Promise<ReplayResult[]> {
  const results: ReplayResult[] = [];
  const replay = Worker.runReplayHistories(
    { workflowBundle: bundle, replayName: 'certfleet-replay' },
    saved.map(({ workflowId, history }) => ({ workflowId, history })),
  );
  for await (const result of replay) results.push(result);
  return results;
}

describe('workflow replay (determinism guard)', { timeout: 600_000 }, () => {
  let bundle: WorkflowBundleWithSourceMap | undefined;

  before(
    async () => {
      installTestRuntime();
      bundle = await bundleWorkflows();
    },
    { timeout: 180_000 },
  );

  it('every workflow type the worker registers has a recorded history', async () => {
    const saved = await loadSavedHistories(CURRENT_RELEASE);
    const recorded = new Set(saved.map((s) => s.workflowType));
    const missing = registeredWorkflowTypes().filter((type) => !recorded.has(type));
    assert.deepEqual(
      missing,
      [],
      `no history in ${path.join(HISTORIES_DIR, CURRENT_RELEASE)} for ${missing.join(', ')}: add a run of it to test/replay/recording-scenarios.ts, then ${RECORD}`,
    );
    for (const s of saved)
      assert.equal(s.history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name, s.workflowType);
  });

  it('replays the histories of every supported release against the current workflow code', async () => {
    assert.ok(bundle, 'no workflow bundle');
    const releases = await savedReleases();
    assert.ok(releases.includes(CURRENT_RELEASE), `no ${CURRENT_RELEASE} histories: ${RECORD}`);
    const failures: string[] = [];
    for (const release of releases) {
      const saved = await loadSavedHistories(release);
      assert.ok(saved.length > 0, `${release}: no histories`);
      const results = await replayAll(bundle, saved);
      assert.equal(results.length, saved.length);
      results.forEach((r, i) => {
        if (r.error !== undefined) failures.push(`${release}/${saved[i]?.name ?? r.workflowId}: ${String(r.error)}`);
      });
    }
    assert.deepEqual(failures, [], `nondeterminism against the current workflows:\n${failures.join('\n')}`);
  });

  it('the guard fails when the workflow code is incompatible with a saved history', async () => {
    const saved = (await loadSavedHistories(CURRENT_RELEASE)).filter(
      (s) => s.workflowType === 'certificateLifecycleWorkflow',
    );
    assert.ok(saved.length > 0, `no certificateLifecycleWorkflow history: ${RECORD}`);
    const incompatible = await bundleWorkflows(require.resolve('./fixtures/incompatible-lifecycle'));
    const results = await replayAll(incompatible, saved);
    assert.ok(
      results.every((r) => r.error !== undefined),
      'replaying against incompatible code did not report nondeterminism',
    );
  });

  it('before 1.0 the workflows have no patched() (docs/versioning.md)', () => {
    const version = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    if (Number(version.split('.')[0]) >= 1) return;
    const dir = path.join(ROOT, 'workflows');
    const patchedIn = readdirSync(dir, { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts'))
      .filter((f) => /\b(patched|deprecatePatch)\(/.test(readFileSync(path.join(dir, f), 'utf8')));
    assert.deepEqual(patchedIn, [], 'before 1.0, change workflow code directly and re-record the histories');
  });
});
