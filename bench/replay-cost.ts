/**
 * bench/replay-cost.ts — the worker's CPU for the workflow side of one renewal and deploy, without the
 * machine's load in it: the recorded histories of the lifecycle and the deploy child
 * (test/replay/histories/current/) replayed R times each against this checkout's workflow bundle.
 * A replay is what a worker does when a run was evicted from its workflow cache (with 50 cached
 * workflows and more runs in flight, most workflow tasks of a fleet renewal), and it runs every
 * workflow task of the run: fewer tasks, events and markers cost less here.
 *
 * It prints, per history: its events, workflow tasks, markers and activities, and the process's CPU
 * (process.cpuUsage(): the JavaScript threads and the SDK's Rust core) per replay.
 *
 *   npx tsx bench/replay-cost.ts          # 200 replays of each
 *   npx tsx bench/replay-cost.ts 500
 */
import { Worker } from '@temporalio/worker';
import { runBenchmark } from './stats';
import { loadSavedHistories, CURRENT_RELEASE } from '../test/replay/saved-histories';
import { bundleWorkflows, installTestRuntime } from '../test/workflows/harness';

const TYPES = new Set(['certificateLifecycleWorkflow', 'deployToTargetWorkflow']);

async function main(): Promise<void> {
  const replays = Number(process.argv[2] ?? 200);
  installTestRuntime();
  const bundle = await bundleWorkflows();
  const saved = (await loadSavedHistories(CURRENT_RELEASE)).filter((h) => TYPES.has(h.workflowType));
  console.log(`# bench/replay-cost.ts — ${new Date().toISOString()}, ${replays} replays of each history\n`);
  console.log('| history | events | workflow tasks | markers | activities | CPU per replay | wall per replay |');
  console.log('|---|---|---|---|---|---|---|');
  for (const h of saved) {
    const events = h.history.events ?? [];
    const count = (p: (e: (typeof events)[number]) => boolean): number => events.filter(p).length;
    const tasks = count((e) => e.workflowTaskStartedEventAttributes != null);
    const markers = count((e) => e.markerRecordedEventAttributes != null);
    const activities = count((e) => e.activityTaskScheduledEventAttributes != null);
    // One warm-up replay (the bundle's first load), then the measured ones.
    const run = async (n: number): Promise<void> => {
      // The recorded workflow id (a deploy's device lease names it): the replays run one after another.
      const histories = Array.from({ length: n }, () => ({ workflowId: h.workflowId, history: h.history }));
      for await (const result of Worker.runReplayHistories({ workflowBundle: bundle, replayName: 'cost' }, histories))
        if (result.error) throw result.error;
    };
    await run(1);
    const cpu = process.cpuUsage();
    const started = performance.now();
    await run(replays);
    const used = process.cpuUsage(cpu);
    const wall = performance.now() - started;
    const cpuMs = (used.user + used.system) / 1000 / replays;
    console.log(
      `| ${h.name} | ${events.length} | ${tasks} | ${markers} | ${activities} | ${cpuMs.toFixed(2)} ms | ${(wall / replays).toFixed(2)} ms |`,
    );
  }
}

runBenchmark(main);
