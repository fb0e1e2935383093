/**
 * Spawn a child process for a test, wait until it is ready, and make sure it never outlives the test
 * process: every child is registered in a module-level set and SIGKILLed on 'exit'; SIGINT, SIGTERM
 * and SIGHUP are turned into process.exit() so 'exit' hooks run (see installProcessCleanupHooks).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as delay } from 'node:timers/promises';
import { forEachLine, RecentLines } from '../../scripts/process-lines';

export interface SpawnManagedOptions {
  /** Added on top of process.env (a value of `undefined` removes the variable). */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Run as this user and group (the test process must be root). */
  uid?: number;
  gid?: number;
  /** Used in error messages; defaults to the command's basename. */
  name?: string;
  /**
   * Readiness: a RegExp tested against every output line (stdout and stderr), or a probe polled
   * every `pollIntervalMs` until it resolves true (a probe that throws counts as "not yet").
   * Without it the process counts as ready once spawned.
   */
  readyWhen?: RegExp | (() => Promise<boolean>);
  /** How long to wait for readiness (default 20 s). */
  timeoutMs?: number;
  /** Probe interval (default 100 ms). */
  pollIntervalMs?: number;
  /** stop(): the signal that asks the child to end (default SIGTERM). */
  stopSignal?: NodeJS.Signals;
  /** stop(): time between that signal and SIGKILL (default 5 s). */
  stopTimeoutMs?: number;
  /** Lines kept for output() (default 300). */
  maxOutputLines?: number;
  /** Called for every complete output line. */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
}

export interface ManagedProcess {
  readonly name: string;
  readonly child: ChildProcess;
  /** Resolves once the child has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The stop signal (SIGTERM), wait up to stopTimeoutMs, then SIGKILL. Idempotent. */
  stop: () => Promise<void>;
  /** The last lines of stdout+stderr, for error messages. */
  output(): string;
}

const running = new Set<ChildProcess>();
const exitCleanups = new Set<() => void>();
let hooksInstalled = false;

function isAlive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

function cleanupNow(): void {
  for (const child of running) {
    if (isAlive(child)) {
      try {
        child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  running.clear();
  for (const fn of exitCleanups) {
    try {
      fn();
    } catch {
      // best effort
    }
  }
  exitCleanups.clear();
}

const SIGNAL_EXIT_CODES = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 } as const;

/**
 * Make sure children and temp dirs never outlive this process: run the cleanups on 'exit', and turn
 * SIGINT/SIGTERM/SIGHUP into process.exit(128+n) so every 'exit' hook (also those of other modules,
 * e.g. scripts/temporal/dev-server) runs. If some other code also handles the signal, it is left to decide
 * whether the process ends; our children are killed either way. Idempotent.
 */
export function installProcessCleanupHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', cleanupNow);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const handler = (): void => {
      cleanupNow();
      if (process.listenerCount(sig) === 1) process.exit(SIGNAL_EXIT_CODES[sig]);
    };
    process.on(sig, handler);
  }
}

/**
 * Register a synchronous cleanup (e.g. rmSync of a temp dir) run at process exit; returns a function
 * that unregisters it (call it after the normal asynchronous cleanup).
 */
export function registerExitCleanup(fn: () => void): () => void {
  installProcessCleanupHooks();
  exitCleanups.add(fn);
  return () => {
    exitCleanups.delete(fn);
  };
}

/** Number of children started by spawnManaged that are still registered (for leak checks). */
export function runningProcessCount(): number {
  return running.size;
}

export async function spawnManaged(
  cmd: string,
  args: readonly string[],
  opts: SpawnManagedOptions = {},
): Promise<ManagedProcess> {
  installProcessCleanupHooks();
  const name = opts.name ?? cmd.split('/').pop() ?? cmd;
  const timeoutMs = opts.timeoutMs ?? 20_000;
  const pollIntervalMs = opts.pollIntervalMs ?? 100;
  const stopTimeoutMs = opts.stopTimeoutMs ?? 5_000;
  const ring = new RecentLines(opts.maxOutputLines ?? 300);

  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const [k, v] of Object.entries(opts.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }

  const child = spawn(cmd, [...args], {
    cwd: opts.cwd,
    env,
    ...(opts.uid === undefined ? {} : { uid: opts.uid }),
    ...(opts.gid === undefined ? {} : { gid: opts.gid }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);

  let lineWatcher: ((line: string) => void) | undefined;
  const attach = (stream: NodeJS.ReadableStream | null, label: 'stdout' | 'stderr'): void =>
    forEachLine(stream, (line) => {
      ring.push(line);
      opts.onLine?.(line, label);
      lineWatcher?.(line);
    });
  attach(child.stdout, 'stdout');
  attach(child.stderr, 'stderr');

  let spawnError: Error | undefined;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    });
    child.once('error', (err) => {
      // spawn failure (ENOENT, EACCES): no 'exit' event follows
      spawnError = err;
      if (child.pid === undefined) {
        running.delete(child);
        resolve({ code: null, signal: null });
      }
    });
  });

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (isAlive(child) && child.pid !== undefined) {
        child.kill(opts.stopSignal ?? 'SIGTERM');
        const timer = delay(stopTimeoutMs, 'timeout' as const, { ref: false });
        const first = await Promise.race([exited.then(() => 'exited' as const), timer]);
        if (first === 'timeout' && isAlive(child)) child.kill('SIGKILL');
      }
      await exited;
      running.delete(child);
    })();
    return stopping;
  };

  const managed: ManagedProcess = { name, child, exited, stop, output: () => ring.toString() };

  const describeFailure = (why: string): Error =>
    new Error(`${name} (${cmd} ${args.join(' ')}) ${why}\n--- last output ---\n${ring.toString()}`, {
      cause: spawnError,
    });

  const readyWhen = opts.readyWhen;
  const ac = new AbortController();
  const ready = new Promise<void>((resolve, reject) => {
    if (readyWhen === undefined) {
      if (child.pid !== undefined) resolve();
      else child.once('spawn', () => resolve());
    } else if (readyWhen instanceof RegExp) {
      lineWatcher = (line) => {
        if (readyWhen.test(line)) {
          lineWatcher = undefined;
          resolve();
        }
      };
      if (readyWhen.test(ring.toString())) resolve();
    } else {
      void (async () => {
        while (!ac.signal.aborted) {
          let ok = false;
          try {
            ok = await readyWhen();
          } catch {
            ok = false;
          }
          if (ok) return resolve();
          try {
            await delay(pollIntervalMs, undefined, { signal: ac.signal });
          } catch {
            return; // aborted
          }
        }
      })().catch(reject);
    }
  });

  const failed = exited.then(({ code, signal }) => {
    throw describeFailure(
      spawnError ? `failed to start: ${spawnError.message}` : `exited before ready (code ${code}, signal ${signal})`,
    );
  });
  const timedOut = delay(timeoutMs, undefined, { signal: ac.signal }).then(() => {
    throw describeFailure(`not ready after ${timeoutMs} ms`);
  });
  // Silence unhandled rejections of the losers.
  failed.catch(() => undefined);
  timedOut.catch(() => undefined);

  try {
    await Promise.race([ready, failed, timedOut]);
  } catch (err) {
    ac.abort();
    await stop();
    throw err;
  }
  ac.abort();
  lineWatcher = undefined;
  return managed;
}
