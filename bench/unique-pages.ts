/**
 * The RAM a set of processes uses together, each physical page counted once however many of them map
 * it: the union of the page frames they have resident (/proc/<pid>/pagemap, root only; Linux
 * Documentation admin-guide/mm/pagemap.rst). PSS divides a shared page by every process on the machine
 * that maps it, so a Node or Temporal binary also run by other processes here (other test stacks)
 * counts for less than it would on a VM that runs the stack alone; this counts it once, in full.
 *
 *   tsx bench/unique-pages.ts <pid> [<pid>…]     # MiB, e.g. the pids of a running stack
 */
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { basename } from 'node:path';

const PAGE = 4096;
const PRESENT = 1n << 63n;
const PFN_MASK = (1n << 55n) - 1n;

/** A mapping of a process with resident pages: its address range and what it maps (smaps' pathname). */
interface ResidentRange {
  start: bigint;
  end: bigint;
  /** The mapped file, a pseudo-name ([heap], [stack], /dev/zero (deleted)), or '' for anonymous memory. */
  what: string;
}

/** The mappings of a process that have resident pages (smaps: "Rss: N kB" > 0). */
function residentRanges(pid: number): ResidentRange[] {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/smaps`, 'utf8');
  } catch {
    return [];
  }
  const ranges: ResidentRange[] = [];
  let current: ResidentRange | undefined;
  for (const line of text.split('\n')) {
    const range = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (range) {
      current = { start: BigInt(`0x${range[1] ?? '0'}`), end: BigInt(`0x${range[2] ?? '0'}`), what: range[3] ?? '' };
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss && current && Number(rss[1]) > 0) ranges.push(current);
  }
  return ranges;
}

/**
 * Adds the page frame numbers a process has resident to `frames` (none once it is gone), each with
 * the label `labelOf` gives its mapping (a frame keeps the first label it was seen with); false
 * without access.
 */
function addFrames(pid: number, frames: Map<bigint, string>, labelOf: (what: string) => string): boolean {
  let fd: number;
  try {
    fd = openSync(`/proc/${pid}/pagemap`, 'r');
  } catch {
    return true;
  }
  try {
    for (const { start, end, what } of residentRanges(pid)) {
      const label = labelOf(what);
      const pages = Number((end - start) / BigInt(PAGE));
      const buffer = Buffer.alloc(pages * 8);
      const read = readSync(fd, buffer, 0, buffer.length, Number((start / BigInt(PAGE)) * 8n));
      for (let offset = 0; offset + 8 <= read; offset += 8) {
        const entry = buffer.readBigUInt64LE(offset);
        if (entry & PRESENT) {
          const pfn = entry & PFN_MASK;
          // Without CAP_SYS_ADMIN the kernel reports PFN 0: then nothing can be said.
          if (pfn === 0n) return false;
          if (!frames.has(pfn)) frames.set(pfn, label);
        }
      }
    }
    return true;
  } catch {
    // Gone while being read (a PostgreSQL backend that ended): it holds nothing any more.
    return true;
  } finally {
    closeSync(fd);
  }
}

/** MiB of RAM the processes map together, each page once; undefined without access to page frames. */
export function uniqueResidentMiB(pids: readonly number[]): number | undefined {
  const frames = new Map<bigint, string>();
  for (const pid of pids) if (pid > 0 && !addFrames(pid, frames, () => '')) return undefined;
  return (frames.size * PAGE) / 2 ** 20;
}

/**
 * The same union of page frames, split by what holds each page: a mapped file by its name (a binary or
 * library shared by several processes counts once, under its name), anything else (heaps, stacks,
 * shared memory) by the group's name. Largest first; undefined without access to page frames.
 */
export function uniqueResidentByWhat(
  groups: readonly { name: string; pids: readonly number[] }[],
): [string, number][] | undefined {
  const frames = new Map<bigint, string>();
  for (const { name, pids } of groups) {
    const labelOf = (what: string): string =>
      what.startsWith('/') && !what.endsWith('(deleted)') && !what.startsWith('/dev/') && !what.startsWith('/SYSV')
        ? `file ${basename(what)}`
        : `${name} ${what || 'anonymous'}`;
    for (const pid of pids) if (pid > 0 && !addFrames(pid, frames, labelOf)) return undefined;
  }
  const mib = new Map<string, number>();
  for (const label of frames.values()) mib.set(label, (mib.get(label) ?? 0) + PAGE / 2 ** 20);
  return [...mib].sort((a, b) => b[1] - a[1]);
}

if (require.main === module) {
  const pids = process.argv.slice(2).map(Number);
  const mib = uniqueResidentMiB(pids);
  console.log(mib === undefined ? 'no access to page frames (run as root)' : `${mib.toFixed(0)} MiB`);
}
