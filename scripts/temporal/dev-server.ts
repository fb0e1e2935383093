/**
 * Locate, build and run the Temporal CLI dev server (`temporal server start-dev`).
 *
 * Used by `npm start` (a local all-in-one CertFleet) and by the tests. The CLI is built once with
 * `go install github.com/temporalio/cli/cmd/temporal@v1.5.1` into a cache outside the clone
 * (`$XDG_CACHE_HOME/certfleet/bin`, default `~/.cache/certfleet/bin`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import { access, mkdir, rename, stat } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { Connection } from '@temporalio/client';
import { forEachLine, RecentLines } from '../process-lines';
import { INDEXED_VALUE_TYPE, type SearchAttributeKind } from '../../temporal/search-attributes';

export const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal';
export const TEMPORAL_CLI_VERSION = 'v1.5.1';

export interface DevServerOptions {
  /** Path of the `temporal` CLI binary (see findTemporalCli). */
  cliPath: string;
  /** Address the frontend binds to (default 127.0.0.1). */
  ip?: string;
  /** gRPC frontend port. */
  port: number;
  /** Web UI port (default: port + 1000). Ignored when headless. */
  uiPort?: number;
  headless?: boolean;
  /** SQLite file for persistent state; omitted = in-memory (lost when the process dies). */
  dbFilename?: string;
  /**
   * SQLite pragmas for the state file, e.g. { journal_mode: 'wal', synchronous: 'normal' }: a write-ahead
   * log without an fsync per transaction survives a crash of the server (not of the machine) and
   * takes the disk out of every workflow step.
   */
  sqlitePragmas?: Record<string, string>;
  /** Namespace to create at launch (default "default", which always exists). */
  namespace?: string;
  searchAttributes?: Record<string, SearchAttributeKind>;
  /** Server log level: debug, info, warn, error, never (default warn). */
  logLevel?: string;
  /** Every output line of the server (stdout and stderr). */
  onOutput?: (line: string) => void;
  /** How long to wait for the frontend to accept connections (default 30 s). */
  readyTimeoutMs?: number;
  /** stop(): time between SIGTERM and SIGKILL (default 10 s). */
  stopTimeoutMs?: number;
}

export interface DevServer {
  /** host:port of the gRPC frontend, for Connection.connect({ address }). */
  address: string;
  /** Web UI URL, unless headless. */
  uiUrl?: string;
  child: ChildProcess;
  /** SIGTERM, then SIGKILL after stopTimeoutMs. Idempotent. */
  stop: () => Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Locating and building the CLI

/** `$XDG_CACHE_HOME/certfleet` or `~/.cache/certfleet`. */
export function certfleetCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_CACHE_HOME;
  const base =
    xdg !== undefined && xdg !== '' && path.isAbsolute(xdg)
      ? xdg
      : path.join(env.HOME !== undefined && env.HOME !== '' ? env.HOME : os.homedir(), '.cache');
  return path.join(base, 'certfleet');
}

/** A tool built once with `go install <module>@<version>` into the cache (`<cache>/bin/<binary>`). */
export interface GoTool {
  module: string;
  version: string;
  /** The file name in the cache (go install names it after the module's last path element; renamed when different). */
  binary: string;
  /** What the build is called in log lines. */
  label: string;
  /** An environment variable naming the binary explicitly (checked first; must be executable). */
  pathEnvVar?: string;
}

export const TEMPORAL_CLI: GoTool = {
  module: TEMPORAL_CLI_MODULE,
  version: TEMPORAL_CLI_VERSION,
  binary: 'temporal',
  label: 'the Temporal CLI',
  pathEnvVar: 'TEMPORAL_CLI_PATH',
};

/** Where buildGoTool puts the tool's binary. */
export function cachedToolPath(tool: GoTool, env: NodeJS.ProcessEnv = process.env): string {
  return path.join(certfleetCacheDir(env), 'bin', tool.binary);
}

/** Where buildTemporalCli puts the binary. */
export function cachedTemporalCliPath(env: NodeJS.ProcessEnv = process.env): string {
  return cachedToolPath(TEMPORAL_CLI, env);
}

async function isExecutableFile(file: string): Promise<boolean> {
  try {
    const st = await stat(file);
    if (!st.isFile()) return false;
    await access(file, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function findOnPath(name: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    const candidate = path.join(dir, name);
    if (await isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

/**
 * The tool to use: its path variable (must be executable, else this throws), then its binary on
 * PATH, then the cache (`$XDG_CACHE_HOME/certfleet/bin/<binary>`). Undefined if none.
 */
export async function findGoTool(tool: GoTool, env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  const explicit = tool.pathEnvVar === undefined ? undefined : env[tool.pathEnvVar];
  if (explicit !== undefined && explicit !== '') {
    const resolved = path.resolve(explicit);
    if (await isExecutableFile(resolved)) return resolved;
    throw new Error(`${tool.pathEnvVar}=${explicit} is not an executable file`);
  }
  const onPath = await findOnPath(tool.binary, env);
  if (onPath !== undefined) return onPath;
  const cached = cachedToolPath(tool, env);
  if (await isExecutableFile(cached)) return cached;
  return undefined;
}

/**
 * The Temporal CLI to use: `TEMPORAL_CLI_PATH` (must be executable, else this throws), then
 * `temporal` on PATH, then the cache (`$XDG_CACHE_HOME/certfleet/bin/temporal`). Undefined if none.
 */
export function findTemporalCli(env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  return findGoTool(TEMPORAL_CLI, env);
}

/**
 * Build the tool with Go into the cache: `GOBIN=<cache>/bin go install <module>@<version>`. Returns
 * the binary's path, or undefined when Go is not installed or the build fails (the reason goes to `log`).
 */
export async function buildGoTool(
  tool: GoTool,
  log: (msg: string) => void,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string | undefined> {
  let go = await findOnPath('go', env);
  if (go === undefined && (await isExecutableFile('/usr/local/go/bin/go'))) go = '/usr/local/go/bin/go';
  if (go === undefined) {
    log(`Go is not installed; cannot build ${tool.label}`);
    return undefined;
  }
  const binary = cachedToolPath(tool, env);
  const binDir = path.dirname(binary);
  await mkdir(binDir, { recursive: true });
  const target = `${tool.module}@${tool.version}`;
  log(`Building ${tool.label}: GOBIN=${binDir} ${go} install ${target} (takes a while the first time)`);
  const code = await new Promise<number | null>((resolve) => {
    const child = spawn(go, ['install', target], {
      env: { ...env, GOBIN: binDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    for (const stream of [child.stdout, child.stderr]) {
      forEachLine(stream, (line) => {
        if (line !== '') log(line);
      });
    }
    child.once('error', (err) => {
      log(`go install failed to start: ${err.message}`);
      resolve(null);
    });
    child.once('close', (exitCode) => resolve(exitCode));
  });
  const installed = path.join(binDir, path.basename(tool.module));
  if (code === 0 && installed !== binary && (await isExecutableFile(installed))) await rename(installed, binary);
  if (code === 0 && (await isExecutableFile(binary))) {
    log(`${tool.label} built: ${binary}`);
    return binary;
  }
  log(`go install ${target} failed (exit code ${String(code)})`);
  return undefined;
}

/** Build the Temporal CLI into the cache (see buildGoTool). */
export function buildTemporalCli(
  log: (msg: string) => void,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string | undefined> {
  return buildGoTool(TEMPORAL_CLI, log, env);
}

// ---------------------------------------------------------------------------------------------
// Running the dev server

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A dev server must never outlive the process that started it.
  process.on('exit', () => {
    for (const child of running) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
}

export interface ManagedChild {
  child: ChildProcess;
  /** The last lines it wrote, for error messages. */
  recent: RecentLines;
  isAlive: () => boolean;
  spawnError(): Error | undefined;
  /** Why it is not alive: it failed to start, or it exited (with which code). */
  exitReason(): string;
  /** SIGTERM, then SIGKILL after stopTimeoutMs. Idempotent. */
  stop: () => Promise<void>;
}

/** Spawns a server process that never outlives this one, keeping its last output lines. */
export function spawnManaged(
  command: string,
  args: string[],
  opts: { stopTimeoutMs: number; onOutput?: (line: string) => void },
): ManagedChild {
  installExitHook();
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);

  const recent = new RecentLines(200);
  const onLine = (line: string): void => {
    recent.push(line);
    opts.onOutput?.(line);
  };
  for (const stream of [child.stdout, child.stderr]) forEachLine(stream, onLine);

  let spawnError: Error | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      running.delete(child);
      resolve();
    });
    child.once('error', (err) => {
      spawnError = err;
      if (child.pid === undefined) {
        running.delete(child);
        resolve();
      }
    });
  });
  const isAlive = (): boolean => spawnError === undefined && child.exitCode === null && child.signalCode === null;

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const first = await Promise.race([
          exited.then(() => 'exited' as const),
          delay(opts.stopTimeoutMs, 'timeout' as const, { ref: false }),
        ]);
        if (first === 'timeout' && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }
      await exited;
    })();
    return stopping;
  };
  const exitReason = (): string =>
    spawnError
      ? `failed to start: ${spawnError.message}`
      : `exited with code ${String(child.exitCode)} before it was ready`;
  return { child, recent, isAlive, spawnError: () => spawnError, exitReason, stop };
}

function formatAddress(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The dev server's dynamic config, each the production server's value (temporal/dynamicconfig/docker.yaml;
 * test/unit/compose-topology.test.ts keeps them equal):
 * - eager activities: an activity scheduled by a workflow task goes back to the same worker in the answer
 *   to that task when it has a free slot, instead of through a poll;
 * - one partition per task queue (the default is four, there to spread a queue over several matching hosts;
 *   one process has one): with four, a deploy child's workflow tasks waited 21–46 ms from scheduled to
 *   started in bench:issue-one, with one 2–10 ms (docs/scaling.md).
 */
export const DEV_SERVER_DYNAMIC_CONFIG = {
  'system.enableActivityEagerExecution': true,
  'matching.numTaskqueueReadPartitions': 1,
  'matching.numTaskqueueWritePartitions': 1,
} as const;

/** Command-line arguments for `temporal` (exported for logging and tests). */
export function devServerArgs(opts: DevServerOptions): string[] {
  const ip = opts.ip ?? '127.0.0.1';
  const args = ['server', 'start-dev', '--ip', ip, '--port', String(opts.port)];
  if (opts.headless === true) args.push('--headless');
  else if (opts.uiPort !== undefined) args.push('--ui-port', String(opts.uiPort));
  if (opts.dbFilename !== undefined) args.push('--db-filename', opts.dbFilename);
  args.push('--namespace', opts.namespace ?? 'default');
  args.push('--log-level', opts.logLevel ?? 'warn');
  for (const [name, kind] of Object.entries(opts.searchAttributes ?? {})) {
    if (!IDENTIFIER.test(name)) throw new Error(`invalid search attribute name: ${JSON.stringify(name)}`);
    if (!(kind in INDEXED_VALUE_TYPE)) throw new Error(`invalid search attribute type for ${name}: ${String(kind)}`);
    args.push('--search-attribute', `${name}=${kind}`);
  }
  for (const [pragma, value] of Object.entries(opts.sqlitePragmas ?? {})) {
    if (!IDENTIFIER.test(pragma) || !/^[A-Za-z0-9_]+$/.test(value))
      throw new Error(`invalid SQLite pragma: ${pragma}=${value}`);
    args.push('--sqlite-pragma', `${pragma}=${value}`);
  }
  for (const [key, value] of Object.entries(DEV_SERVER_DYNAMIC_CONFIG))
    args.push('--dynamic-config-value', `${key}=${String(value)}`);
  return args;
}

/**
 * Spawn `temporal server start-dev` and resolve once the gRPC frontend accepts connections, the
 * namespace exists and the requested search attributes are registered.
 */
export async function startTemporalDevServer(opts: DevServerOptions): Promise<DevServer> {
  const ip = opts.ip ?? '127.0.0.1';
  const namespace = opts.namespace ?? 'default';
  const address = formatAddress(ip, opts.port);
  const args = devServerArgs(opts);
  const readyTimeoutMs = opts.readyTimeoutMs ?? 30_000;
  const stopTimeoutMs = opts.stopTimeoutMs ?? 10_000;

  if (opts.dbFilename !== undefined) await mkdir(path.dirname(path.resolve(opts.dbFilename)), { recursive: true });

  const managed = spawnManaged(opts.cliPath, args, {
    stopTimeoutMs,
    ...(opts.onOutput ? { onOutput: opts.onOutput } : {}),
  });
  const { child, recent, isAlive, stop } = managed;

  const fail = (why: string, cause?: unknown): Error =>
    new Error(
      `Temporal dev server (${opts.cliPath} ${args.join(' ')}) ${why}\n--- last output ---\n${recent.toString()}`,
      { cause: managed.spawnError() ?? cause },
    );

  const wanted = Object.entries(opts.searchAttributes ?? {});
  const deadline = Date.now() + readyTimeoutMs;
  let lastError: unknown;
  for (;;) {
    if (!isAlive()) {
      await stop();
      throw fail(managed.exitReason());
    }
    const remaining = deadline - Date.now();
    if (remaining <= 0) {
      await stop();
      throw fail(`did not accept connections within ${readyTimeoutMs} ms`, lastError);
    }
    let connection: Connection | undefined;
    try {
      connection = await Connection.connect({ address, connectTimeout: Math.max(100, Math.min(2_000, remaining)) });
      const conn = connection;
      const ready = await conn.withDeadline(Date.now() + 2_000, async () => {
        await conn.workflowService.describeNamespace({ namespace });
        if (wanted.length === 0) return true;
        const { customAttributes } = await conn.operatorService.listSearchAttributes({ namespace });
        return wanted.every(([name, kind]) => Number(customAttributes?.[name]) === INDEXED_VALUE_TYPE[kind]);
      });
      if (ready) break;
      lastError = new Error('search attributes not registered yet');
    } catch (err) {
      lastError = err;
    } finally {
      await connection?.close().catch(() => undefined);
    }
    await delay(200);
  }

  const server: DevServer = { address, child, stop };
  if (opts.headless !== true) server.uiUrl = `http://${formatAddress(ip, opts.uiPort ?? opts.port + 1000)}`;
  return server;
}
