/**
 * Summarises the log of bench/thread-memory-log.mjs: per worker process (pid) and thread, the samples,
 * the V8 heap limit, and the highest RSS (the process's), V8 heap total and used, and external memory.
 *
 *   npx tsx bench/thread-memory.ts /tmp/worker-memory.jsonl
 */
import { readFileSync } from 'node:fs';
import { runBenchmark } from './stats';

interface Line {
  t: number;
  pid: number;
  thread: number;
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  limit: number;
}

async function main(): Promise<void> {
  const file = process.argv[2];
  if (!file) throw new Error('usage: npx tsx bench/thread-memory.ts <MEMORY_LOG_FILE>');
  const lines = readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Line);
  const groups = new Map<string, Line[]>();
  for (const l of lines) {
    const key = `${l.pid} ${l.thread}`;
    groups.set(key, [...(groups.get(key) ?? []), l]);
  }
  console.log(
    '| pid | thread | samples | minutes | V8 limit | max RSS (process) | max heap total | max heap used | max external |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|');
  const max = (ls: Line[], k: keyof Line): number => Math.max(...ls.map((l) => l[k]));
  for (const [key, ls] of groups) {
    const [pid, thread] = key.split(' ');
    const minutes = (max(ls, 't') - Math.min(...ls.map((l) => l.t))) / 60_000;
    console.log(
      `| ${pid} | ${thread === '0' ? 'main' : thread} | ${ls.length} | ${minutes.toFixed(1)} | ${ls[0]?.limit ?? 0} MiB | ${max(ls, 'rss')} MiB | ${max(ls, 'heapTotal')} MiB | ${max(ls, 'heapUsed')} MiB | ${max(ls, 'external')} MiB |`,
    );
  }
}

runBenchmark(main);
