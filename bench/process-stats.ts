/** CPU time and peak memory of processes on this (Linux) machine, read from /proc, for the benchmarks. */
import { readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100;

function readProc(pid: number, file: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return undefined;
  }
}

/** utime, stime, cutime, cstime in seconds (the fields after the command name in /proc/pid/stat). */
function statTimes(pid: number): { own: number; children: number } | undefined {
  const stat = readProc(pid, 'stat');
  if (!stat) return undefined;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const field = (i: number): number => Number(fields[i] ?? 0) / TICKS_PER_SECOND;
  // fields[0] is the state (field 3 of the man page); utime is field 14, so index 11.
  return { own: field(11) + field(12), children: field(13) + field(14) };
}

/** CPU seconds a process has used so far (0 once it is gone). */
export function cpuSeconds(pid: number): number {
  return statTimes(pid)?.own ?? 0;
}

/**
 * CPU seconds of a process and every descendant: its own, what its children used before it reaped
 * them (cutime + cstime: a PostgreSQL backend that exited, counted by the postmaster), and, recursively,
 * each live child's. The bench's own process is not measured this way (its children are the stack).
 */
export function treeCpuSeconds(pid: number, children: (pid: number) => number[]): number {
  const times = statTimes(pid);
  if (!times) return 0;
  return children(pid).reduce((sum, child) => sum + treeCpuSeconds(child, children), times.own + times.children);
}

/** Peak resident set size (VmHWM) of a live process, in MiB. */
export function peakRssMiB(pid: number): number {
  const status = readProc(pid, 'status') ?? '';
  const kb = /VmHWM:\s+(\d+) kB/.exec(status)?.[1];
  return kb ? Number(kb) / 1024 : 0;
}

/** The parent of a live process (for PostgreSQL: the postmaster of a backend from pg_backend_pid()). */
export function parentPid(pid: number): number {
  const stat = readProc(pid, 'stat') ?? '';
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1] ?? 0);
}

/** CPU seconds the whole machine's processes have used so far, all cores (/proc/stat: user, nice, system, irq, softirq). */
export function machineBusySeconds(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0] = line.trim().split(/\s+/).slice(1).map(Number);
  return (user + nice + system + irq + softirq) / TICKS_PER_SECOND;
}
