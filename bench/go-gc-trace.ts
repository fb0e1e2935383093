/**
 * bench/go-gc-trace.ts — what the Go collector cost the production topology's Temporal server, from
 * the trace test/support/temporal-server.ts writes when TEMPORAL_GCTRACE_FILE is set (each line of
 * GODEBUG=gctrace=1 prefixed with the epoch milliseconds). Per server process (a trace restarts at
 * "gc 1"), and for each window given (bench:fleet prints "renewing from <ISO>" and "renewed by
 * <ISO>"): collections, the collector's CPU (the trace's "ms cpu" parts: STW sweep termination,
 * assist + background + idle marking, STW mark termination), the live heap after a collection and
 * the heap goal.
 *
 *   TEMPORAL_GCTRACE_FILE=/tmp/gc.log npm run bench:fleet -- --production 1000
 *   npx tsx bench/go-gc-trace.ts /tmp/gc.log [<from ISO> <to ISO> ...]
 *
 * Line format: Go's runtime/mgc.go (gcMarkTermination), e.g.
 * "gc 12 @3.4s 5%: 0.02+1.2+0.01 ms clock, 0.09+0.4/1.1/0.2+0.04 ms cpu, 45->46->23 MB, 47 MB goal, ...".
 */
import { readFileSync } from 'node:fs';
import { median, runBenchmark } from './stats';

export interface Collection {
  atMs: number;
  /** The collection's number in its process: 1 starts a new process. */
  n: number;
  cpuMs: number;
  /** Heap live after the collection (the third "->" figure), MB. */
  liveMb: number;
  goalMb: number;
}

const LINE =
  /^(\d+) gc (\d+) @[\d.]+s \d+%: [\d.+]+ ms clock, ([\d.]+)\+([\d.]+)\/([\d.]+)\/([\d.]+)\+([\d.]+) ms cpu, [\d.]+->[\d.]+->([\d.]+) MB, ([\d.]+) MB goal/;

/** The collections of a trace file; lines that are not collections are skipped. */
export function parseGcTrace(text: string): Collection[] {
  return text.split('\n').flatMap((line) => {
    const m = LINE.exec(line);
    if (!m) return [];
    const f = m.slice(1).map(Number);
    const cpuMs = (f[2] ?? 0) + (f[3] ?? 0) + (f[4] ?? 0) + (f[5] ?? 0) + (f[6] ?? 0);
    return [{ atMs: f[0] ?? 0, n: f[1] ?? 0, cpuMs, liveMb: f[7] ?? 0, goalMb: f[8] ?? 0 }];
  });
}

/** One line of figures for some collections over a span of wall time. */
export function summarize(label: string, collections: Collection[], spanMs: number): string {
  if (!collections.length) return `${label}: no collection`;
  const cpu = collections.reduce((sum, c) => sum + c.cpuMs, 0);
  const live = collections.map((c) => c.liveMb);
  return (
    `${label}: ${collections.length} collections in ${(spanMs / 1000).toFixed(0)} s ` +
    `(${((collections.length * 60_000) / Math.max(spanMs, 1)).toFixed(1)} a minute), ` +
    `collector CPU ${(cpu / 1000).toFixed(1)} s (${((100 * cpu) / Math.max(spanMs, 1)).toFixed(1)} % of one core), ` +
    `live heap after a collection median ${median(live).toFixed(0)} / max ${Math.max(...live).toFixed(0)} MB, ` +
    `goal max ${Math.max(...collections.map((c) => c.goalMb)).toFixed(0)} MB`
  );
}

async function main(): Promise<void> {
  const [file, ...windows] = process.argv.slice(2);
  if (!file || windows.length % 2) throw new Error('usage: go-gc-trace.ts <trace file> [<from ISO> <to ISO> ...]');
  const collections = parseGcTrace(readFileSync(file, 'utf8'));
  const processes: Collection[][] = [];
  for (const c of collections) {
    if (c.n === 1 || !processes.length) processes.push([]);
    processes.at(-1)?.push(c);
  }
  processes.forEach((list, i) => {
    const span = (list.at(-1)?.atMs ?? 0) - (list[0]?.atMs ?? 0);
    console.log(summarize(`server process ${i + 1}, whole trace`, list, span));
  });
  for (let i = 0; i < windows.length; i += 2) {
    const from = Date.parse(windows[i] ?? '');
    const to = Date.parse(windows[i + 1] ?? '');
    if (!(from < to)) throw new Error(`window ${windows[i]} → ${windows[i + 1]}: not two ISO times in order`);
    const inside = collections.filter((c) => c.atMs >= from && c.atMs <= to);
    console.log(summarize(`${windows[i]} → ${windows[i + 1]}`, inside, to - from));
  }
}

if (require.main === module) runBenchmark(main);
