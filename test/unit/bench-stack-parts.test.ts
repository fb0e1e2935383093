import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { childPids } from '../../bench/process-memory';
import { cpuSeconds, treeCpuSeconds } from '../../bench/process-stats';
import { processPart } from '../../bench/stack-parts';

/** A child Node process that spins for `ms` of CPU time, then exits (or waits, when `stay`). */
const spinner = (ms: number, stay: boolean): string =>
  `const end = process.cpuUsage().user + ${ms * 1000}; while (process.cpuUsage().user < end); ${stay ? 'setInterval(() => {}, 1000);' : ''}`;

describe('bench/stack-parts: CPU of a process tree', () => {
  it("counts a child's CPU once the parent has reaped it (an exited PostgreSQL backend)", () => {
    const before = treeCpuSeconds(process.pid, () => []);
    const ownBefore = cpuSeconds(process.pid);
    const done = spawnSync(process.execPath, ['-e', spinner(300, false)]);
    assert.equal(done.status, 0);
    const childCpu = treeCpuSeconds(process.pid, () => []) - before - (cpuSeconds(process.pid) - ownBefore);
    assert.ok(childCpu >= 0.25, `the reaped child's ~0.3 s is counted (got ${childCpu.toFixed(2)} s)`);
  });

  it("counts a live child's CPU through the part of its parent", async () => {
    const child = spawn(process.execPath, ['-e', spinner(300, true)], { stdio: 'ignore' });
    try {
      const pid = child.pid ?? 0;
      const part = processPart('child', () => pid);
      const deadline = Date.now() + 20_000;
      while (part.cpu() < 0.25 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      assert.ok(part.cpu() >= 0.25, `the live child's CPU is counted (got ${part.cpu().toFixed(2)} s)`);
      assert.ok(childPids(process.pid).includes(pid), 'the child is found among the live children');
      assert.ok(part.read().rssMiB > 0, 'and its memory is read');
      assert.ok((part.peakRssMiB?.() ?? 0) > 0, 'with its peak RSS');
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('reads nothing for a process that is gone', () => {
    const part = processPart('gone', () => 0);
    assert.equal(part.cpu(), 0);
    assert.equal(part.read().processes, 0);
  });
});
