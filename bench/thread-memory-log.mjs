// A preload for a benchmark's worker (WORKER_NODE_ARGS="--import ./bench/thread-memory-log.mjs"): every
// MEMORY_LOG_MS (default 2 s) each thread of the process (the main thread, the Temporal SDK's workflow
// thread, tsx's loader thread) appends one JSON line of its process.memoryUsage() and its V8 heap limit to
// MEMORY_LOG_FILE. Not part of CertFleet: it only reads counters. Summarise with bench/thread-memory.ts.
import { appendFileSync } from 'node:fs';
import v8 from 'node:v8';
import { threadId } from 'node:worker_threads';

const file = process.env.MEMORY_LOG_FILE;
if (file) {
  const everyMs = Number(process.env.MEMORY_LOG_MS ?? 2000);
  const limitMiB = Math.round(v8.getHeapStatistics().heap_size_limit / 2 ** 20);
  const mib = (bytes) => Math.round(bytes / 2 ** 20);
  const timer = setInterval(() => {
    const m = process.memoryUsage();
    const line = {
      t: Date.now(),
      pid: process.pid,
      thread: threadId,
      rss: mib(m.rss),
      heapTotal: mib(m.heapTotal),
      heapUsed: mib(m.heapUsed),
      external: mib(m.external),
      arrayBuffers: mib(m.arrayBuffers),
      limit: limitMiB,
    };
    appendFileSync(file, `${JSON.stringify(line)}\n`);
  }, everyMs);
  timer.unref();
}
