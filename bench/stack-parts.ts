/**
 * The processes of a stack that a benchmark measures, each as a part with its memory now (RSS and PSS
 * of the process and its descendants) and its CPU seconds so far, read again at every look so a restart
 * or an exited PostgreSQL backend is accounted for. Shared by bench/fleet.ts and bench/footprint.ts.
 */
import path from 'node:path';
import {
  addMemory,
  childPids,
  clusterMemory,
  NO_MEMORY,
  pidsWithArgument,
  processMemory,
  treeMemory,
} from './process-memory';
import type { MeasuredPart, Memory } from './process-memory';
import { cpuSeconds, parentPid, peakRssMiB, treeCpuSeconds } from './process-stats';
import type { ManagedProcess } from '../test/support/process';
import type { ProductionStack } from '../test/support/production-stack';
import type { AnyStack } from '../test/support/stack';

/** The names the reports use for the two servers every stack has. */
export const POSTGRES = 'PostgreSQL';
export const TEMPORAL = 'Temporal server';

export interface StackPart extends MeasuredPart {
  /** CPU seconds the part's processes have used so far (descendants and reaped children included). */
  cpu: () => number;
  /** The peak RSS of its one process over its whole life (VmHWM); absent for a part of several processes. */
  peakRssMiB?: () => number;
  /** The part's own processes now (their descendants not listed); absent for the benchmark's own process. */
  pids?: () => number[];
}

const treeCpu = (pid: number): number => (pid ? treeCpuSeconds(pid, childPids) : 0);
const sumMemory = (pids: readonly number[]): Memory => pids.map(treeMemory).reduce(addMemory, NO_MEMORY);

/** One process (a Node process with its esbuild child, a Go server), by its pid now. */
export function processPart(name: string, pid: () => number): StackPart {
  return {
    name,
    read: () => (pid() ? treeMemory(pid()) : NO_MEMORY),
    cpu: () => treeCpu(pid()),
    peakRssMiB: () => peakRssMiB(pid()),
    pids: () => (pid() ? [pid()] : []),
  };
}

/** This process alone (the fakes the benchmark serves): not its children, which are the stack. */
export function ownProcessPart(name: string): StackPart {
  return {
    name,
    read: () => processMemory(process.pid),
    cpu: () => cpuSeconds(process.pid),
    peakRssMiB: () => peakRssMiB(process.pid),
  };
}

/** The processes whose command line holds `needle` (a server started with a directory of its own). */
export function argumentPart(name: string, needle: string): StackPart {
  return {
    name,
    read: () => sumMemory(pidsWithArgument(needle)),
    cpu: () => pidsWithArgument(needle).reduce((sum, pid) => sum + treeCpu(pid), 0),
    pids: () => pidsWithArgument(needle),
  };
}

/** A whole PostgreSQL cluster: the postmaster, its backends and auxiliary processes, and those that exited. */
export function clusterPart(name: string, postmasterPid: number): StackPart {
  return {
    name,
    read: () => clusterMemory(postmasterPid),
    cpu: () => treeCpu(postmasterPid),
    pids: () => [postmasterPid],
  };
}

/** The postmaster of the PostgreSQL server that holds the stack's database (the parent of a backend). */
export async function postmasterOf(stack: Pick<AnyStack, 'db'>): Promise<number> {
  const [backend] = await stack.db.db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  return parentPid(backend?.pid ?? 0);
}

/**
 * The production topology's CertFleet processes (test/support/production-stack.ts): its private
 * PostgreSQL cluster (CertFleet's and Temporal's databases), the Temporal server, the workers, the web.
 */
export async function productionStackParts(
  stack: ProductionStack,
  workers: readonly ManagedProcess[],
): Promise<StackPart[]> {
  const postmaster = await postmasterOf(stack);
  const temporalRoot = path.dirname(path.dirname(stack.temporal.configFile));
  return [
    clusterPart(POSTGRES, postmaster),
    argumentPart(TEMPORAL, temporalRoot),
    ...workers.map((w, i) => processPart(`worker ${i + 1}`, () => w.child.pid ?? 0)),
    processPart('web', () => stack.webChild?.child.pid ?? 0),
  ];
}
