/**
 * Records the histories test/replay/workflow-replay.test.ts replays: starts the production-topology
 * stack (test/support/production-stack.ts: the real Temporal server 1.29.1 on PostgreSQL, as users run
 * it; Pebble, the fake Cloudflare, SMTP, web and worker processes), runs every workflow type for real (recording-scenarios.ts), and writes the closed
 * runs of each type to test/replay/histories/<release>/ (saved-histories.ts), replacing what was there.
 *
 *   npx tsx test/replay/record-histories.ts                    # histories/current (before 1.0: after every workflow change)
 *   npx tsx test/replay/record-histories.ts --release 1.0.0    # at a release (docs/versioning.md)
 *
 * Per type it keeps up to MAX_PER_TYPE runs whose sequences of event types differ (the longest first),
 * so a type whose runs took different paths keeps each path.
 */
import { mkdir, readdir, rm } from 'node:fs/promises';
import * as path from 'node:path';
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { startStackWithClient } from '../support/issuing-stack';
import { startProductionStack } from '../support/production-stack';
import { eventually } from '../support/stack';
import { RECORDING_STACK, runEveryWorkflowType, startRecordingPeers } from './recording-scenarios';
import { CURRENT_RELEASE, HISTORIES_DIR, registeredWorkflowTypes, writeSavedHistory } from './saved-histories';

const MAX_PER_TYPE = 3;

function releaseArgument(argv: readonly string[]): string {
  const at = argv.indexOf('--release');
  if (at === -1) return CURRENT_RELEASE;
  const release = argv[at + 1];
  if (!release || !/^[0-9A-Za-z][0-9A-Za-z.-]*$/.test(release))
    throw new Error('--release needs a release name such as 1.0.0');
  return release;
}

async function closedRuns(client: Client, workflowType: string): Promise<WorkflowExecutionInfo[]> {
  const runs: WorkflowExecutionInfo[] = [];
  for await (const run of client.workflow.list({
    query: `WorkflowType = '${workflowType}' AND ExecutionStatus != 'Running'`,
  }))
    runs.push(run);
  return runs;
}

/** Waits until every registered type has a closed run; fails naming the types that have none. */
async function closedRunsOfEveryType(
  client: Client,
  types: readonly string[],
): Promise<Map<string, WorkflowExecutionInfo[]>> {
  const found = new Map<string, WorkflowExecutionInfo[]>();
  try {
    await eventually(
      'a closed run of every workflow type',
      async () => {
        for (const type of types) if (!found.get(type)?.length) found.set(type, await closedRuns(client, type));
        return types.every((t) => found.get(t)?.length) ? true : undefined;
      },
      180_000,
      1_000,
    );
  } catch (error) {
    const missing = types.filter((t) => !found.get(t)?.length);
    throw new Error(`no closed run of ${missing.join(', ')}: extend recording-scenarios.ts`, { cause: error });
  }
  for (const type of types) found.set(type, await closedRuns(client, type));
  return found;
}

async function record(release: string): Promise<void> {
  const dir = path.join(HISTORIES_DIR, release);
  const types = registeredWorkflowTypes();
  const peers = await startRecordingPeers();
  const { stack, client } = await startStackWithClient(RECORDING_STACK, startProductionStack).catch(
    async (error: unknown) => {
      await peers.close();
      throw error;
    },
  );
  try {
    await stack.startWorker();
    console.log('running every workflow type:');
    await runEveryWorkflowType(stack, client, peers);
    const runs = await closedRunsOfEveryType(client, types);

    await mkdir(dir, { recursive: true });
    for (const file of await readdir(dir)) if (file.endsWith('.json')) await rm(path.join(dir, file));
    for (const type of types) {
      const candidates = [...(runs.get(type) ?? [])].sort((a, b) => (b.historyLength ?? 0) - (a.historyLength ?? 0));
      const shapes = new Set<string>();
      for (const run of candidates) {
        if (shapes.size >= MAX_PER_TYPE) break;
        const history = await client.workflow.getHandle(run.workflowId, run.runId).fetchHistory();
        const shape = (history.events ?? []).map((e) => e.eventType).join(',');
        if (shapes.has(shape)) continue;
        shapes.add(shape);
        const name = shapes.size === 1 ? type : `${type}--${shapes.size}`;
        await writeSavedHistory(dir, name, {
          workflowId: run.workflowId,
          workflowType: type,
          historyJson: historyToJSON(history),
        });
        console.log(`recorded ${release}/${name}.json (${run.status.name}, ${history.events?.length ?? 0} events)`);
      }
    }
  } finally {
    await stack.stop();
    await peers.close();
  }
}

if (require.main === module) {
  record(releaseArgument(process.argv.slice(2))).then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
