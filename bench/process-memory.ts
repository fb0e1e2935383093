/**
 * Resident memory of processes on this (Linux) machine, from /proc/<pid>/smaps_rollup (Linux ≥ 4.14):
 * RSS (every page the process maps in RAM, shared ones counted in full) and PSS (each shared page
 * divided by the number of processes sharing it). PSS adds up across processes: the sum of the PSS of
 * every process is the RAM they use together. PostgreSQL is many processes sharing shared_buffers, so
 * its RSS summed over backends counts that memory once per backend and overstates it; its PSS does not.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { parentPid } from './process-stats';

export interface Memory {
  rssMiB: number;
  pssMiB: number;
  /** How many processes were summed (PostgreSQL: postmaster and its children). */
  processes: number;
}

export const NO_MEMORY: Memory = { rssMiB: 0, pssMiB: 0, processes: 0 };

/** RSS and PSS of one live process (zeros once it is gone). */
export function processMemory(pid: number): Memory {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  } catch {
    return NO_MEMORY;
  }
  const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0);
  return { rssMiB: kb('Rss') / 1024, pssMiB: kb('Pss') / 1024, processes: 1 };
}

export function addMemory(a: Memory, b: Memory): Memory {
  return { rssMiB: a.rssMiB + b.rssMiB, pssMiB: a.pssMiB + b.pssMiB, processes: a.processes + b.processes };
}

/** The live children of `pid` (one /proc scan). */
export function childPids(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    const child = Number(entry);
    if (Number.isInteger(child) && child !== pid && parentPid(child) === pid) children.push(child);
  }
  return children;
}

/** A process and all its descendants (a Node process's esbuild service child, for one). */
export function treeMemory(pid: number): Memory {
  const all = [pid];
  for (let i = 0; i < all.length; i += 1) all.push(...childPids(all[i] ?? 0));
  return all.map(processMemory).reduce(addMemory, NO_MEMORY);
}

/** A whole PostgreSQL cluster: the postmaster and every backend and auxiliary process it forked. */
export function clusterMemory(postmasterPid: number): Memory {
  return [postmasterPid, ...childPids(postmasterPid)].map(processMemory).reduce(addMemory, NO_MEMORY);
}

/** Live processes whose command line contains `needle` (e.g. a server's --root directory). */
export function pidsWithArgument(needle: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(needle)) found.push(pid);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** A named part of the stack and how to read its memory now. */
export interface MeasuredPart {
  name: string;
  read: () => Memory;
}

export interface MemoryPeaks {
  /** Per part: the highest RSS and the highest PSS seen (not necessarily in the same sample). */
  parts: Map<string, Memory>;
  /** The highest sum over all parts within one sample. */
  totalRssMiB: number;
  totalPssMiB: number;
  samples: number;
}

export function snapshot(parts: readonly MeasuredPart[]): Map<string, Memory> {
  return new Map(parts.map((p) => [p.name, p.read()]));
}

/** Samples `parts` every `intervalMs` until stop() is called; stop() returns the peaks. */
export function startSampling(parts: readonly MeasuredPart[], intervalMs: number): { stop: () => MemoryPeaks } {
  const peaks: MemoryPeaks = { parts: new Map(), totalRssMiB: 0, totalPssMiB: 0, samples: 0 };
  const sample = (): void => {
    let rss = 0;
    let pss = 0;
    for (const [name, m] of snapshot(parts)) {
      const seen = peaks.parts.get(name) ?? NO_MEMORY;
      peaks.parts.set(name, {
        rssMiB: Math.max(seen.rssMiB, m.rssMiB),
        pssMiB: Math.max(seen.pssMiB, m.pssMiB),
        processes: Math.max(seen.processes, m.processes),
      });
      rss += m.rssMiB;
      pss += m.pssMiB;
    }
    peaks.totalRssMiB = Math.max(peaks.totalRssMiB, rss);
    peaks.totalPssMiB = Math.max(peaks.totalPssMiB, pss);
    peaks.samples += 1;
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  return {
    stop: () => {
      clearInterval(timer);
      sample();
      return peaks;
    },
  };
}
