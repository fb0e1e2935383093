/**
 * The real Temporal server of the production topology, run as processes on this machine with the
 * steps of scripts/topology.ts: the temporal-schema one-shot (temporal-sql-tool, the same argument
 * lists as docker-compose.yml, the schema files of the same Go module), the server (config rendered
 * as the `temporalio/server` image renders compose's environment: scripts/temporal/server-config.ts),
 * and the temporal-namespace one-shot (the same `temporal` CLI commands as compose: the CLI is in the
 * cache anyway, and running the very commands of the one-shot is what shows they work; the SDK's
 * operator service would test something else).
 */
import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import { execFile } from 'node:child_process';
import { appendFileSync, existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { TEMPORAL_CLI } from '../../scripts/temporal/dev-server';
import { portTaken, startAgainWhenPortTaken } from '../../scripts/temporal/port-taken';
import { SERVER_PORT_NAMES, temporalServerConfig, type ServerPorts } from '../../scripts/temporal/server-config';
import {
  DYNAMIC_CONFIG_FILE,
  GO_RUNTIME_VARIABLES,
  namespaceCommands,
  sqlToolConnection,
  TEMPORAL_RELEASE,
  TEMPORAL_SERVER,
  TEMPORAL_SERVER_MODULE,
  TEMPORAL_SQL_TOOL,
  temporalSchemaSteps,
  temporalServerEnv,
} from '../../scripts/topology';
import { freePortBelow } from './free-port';
import { spawnManaged, type ManagedProcess } from './process';
import type { StackTemporal } from './stack';
import { requireGoTool } from './temporal';

const ROOT = path.join(__dirname, '..', '..');
const run = promisify(execFile);

/** Runs a program to its end; throws with its output when it fails. */
export async function runToEnd(
  program: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {},
): Promise<string> {
  try {
    const { stdout, stderr } = await run(program, [...args], {
      env: { ...process.env, ...options.env },
      cwd: options.cwd,
      timeout: options.timeoutMs ?? 60_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    return `${stdout}${stderr}`;
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(
      `${path.basename(program)} ${args.join(' ')} failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`,
    );
  }
}

let moduleDir: Promise<string> | undefined;

/**
 * The directory of go.temporal.io/server@v1.29.1 in the Go module cache (schema files, config
 * template): `go mod download -json` prints it, downloading the module only when it is not there.
 */
export function temporalServerModuleDir(): Promise<string> {
  moduleDir ??= (async () => {
    const go = existsSync('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : 'go';
    const out = await runToEnd(go, ['mod', 'download', '-json', `${TEMPORAL_SERVER_MODULE}@v${TEMPORAL_RELEASE}`], {
      timeoutMs: 300_000,
    });
    const { Dir: dir, Error: failure } = JSON.parse(out.slice(out.indexOf('{'))) as { Dir?: string; Error?: string };
    if (!dir) throw new Error(`go mod download ${TEMPORAL_SERVER_MODULE}@v${TEMPORAL_RELEASE}: ${failure ?? out}`);
    return dir;
  })().catch((error: unknown) => {
    moduleDir = undefined;
    throw error;
  });
  return moduleDir;
}

export interface TemporalDatabaseAccess {
  host: string;
  port: number;
  user: string;
  password: string;
}

/** The temporal-schema one-shot: every step of scripts/topology.ts, in order. Returns the argument lists run. */
export async function setUpTemporalSchema(access: TemporalDatabaseAccess): Promise<string[][]> {
  const [sqlTool, dir] = await Promise.all([requireGoTool(TEMPORAL_SQL_TOOL), temporalServerModuleDir()]);
  const connection = sqlToolConnection(access.host, access.port, access.user);
  const ran: string[][] = [];
  for (const step of temporalSchemaSteps(path.join(dir, 'schema', 'postgresql', 'v12'))) {
    const args = [...connection, ...step];
    await runToEnd(sqlTool, args, { env: { SQL_PASSWORD: access.password } });
    ran.push(args);
  }
  return ran;
}

export interface RealTemporal extends StackTemporal {
  /** Milliseconds from spawn until `temporal operator cluster health` answered, for each start. */
  readonly startTimesMs: readonly number[];
  readonly configFile: string;
}

/** The compose healthcheck, as a readiness probe. */
async function healthy(cli: string, address: string): Promise<boolean> {
  await runToEnd(cli, namespaceCommands(address, 'default', '').health, { timeoutMs: 10_000 });
  return true;
}

/**
 * Diagnostics (docs/scaling.md, "The production topology at N = 1,000"), off unless set:
 * TEMPORAL_GO_RUNTIME="GOMEMLIMIT=off GOGC=100" replaces the Go runtime settings of
 * scripts/topology.ts for one run; TEMPORAL_GCTRACE_FILE=<path> turns on the Go collector's trace
 * (GODEBUG=gctrace=1) and appends each of its lines, prefixed with the epoch milliseconds, to the file.
 */
export function goRuntimeDiagnostics(environment: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const overrides: Record<string, string> = {};
  for (const pair of (environment['TEMPORAL_GO_RUNTIME'] ?? '').split(/\s+/).filter(Boolean)) {
    const [name, value] = pair.split('=', 2);
    if (!name || value === undefined || !GO_RUNTIME_VARIABLES.includes(name))
      throw new Error(
        `TEMPORAL_GO_RUNTIME: "${pair}" is not NAME=value with NAME one of ${GO_RUNTIME_VARIABLES.join(', ')}`,
      );
    overrides[name] = value;
  }
  if (environment['TEMPORAL_GCTRACE_FILE']) overrides['GODEBUG'] = 'gctrace=1';
  return overrides;
}

const PORT_ATTEMPTS = 3;

/** The server's ports, all different, below 32768: it records them in cluster_membership, a smallint column. */
export async function serverPorts(): Promise<ServerPorts> {
  const taken = new Set<number>();
  const ports = {} as Record<keyof ServerPorts, number>;
  for (const name of SERVER_PORT_NAMES) {
    let port = await freePortBelow();
    while (taken.has(port)) port = await freePortBelow();
    taken.add(port);
    ports[name] = port;
  }
  return ports;
}

/** True when the server exited because one of its ports was taken between choosing and binding it. */
export function lostBindRace(error: unknown): boolean {
  return error instanceof Error && /exited before ready/.test(error.message) && portTaken(error);
}

/** Runs `start`; when it lost a bind race, runs `choosePorts` and starts again, up to PORT_ATTEMPTS starts. */
export function retryOnLostBindRace(
  start: () => Promise<void>,
  choosePorts: () => Promise<void>,
  attempts = PORT_ATTEMPTS,
): Promise<void> {
  return startAgainWhenPortTaken(start, choosePorts, lostBindRace, attempts);
}

/** Starts the server with a config written under `dir`, equivalent to compose's `temporal` service. */
export async function startTemporalServer(
  dir: string,
  access: TemporalDatabaseAccess,
  options: { logLevel?: string } = {},
): Promise<RealTemporal> {
  const [server, cli] = await Promise.all([requireGoTool(TEMPORAL_SERVER), requireGoTool(TEMPORAL_CLI)]);
  let ports = await serverPorts();
  const env = temporalServerEnv({
    postgresHost: access.host,
    postgresPort: access.port,
    user: access.user,
    password: access.password,
    dynamicConfigPath: path.join(ROOT, DYNAMIC_CONFIG_FILE),
    logLevel: options.logLevel ?? 'warn',
  });
  const configDir = path.join(dir, 'config');
  await mkdir(configDir, { recursive: true });
  // The image runs `temporal-server --env docker start` on the docker.yaml it rendered.
  const configFile = path.join(configDir, 'docker.yaml');
  // A diagnostic (docs/scaling.md, "Memory"): TEMPORAL_PPROF_PORT opens the server's pprof endpoint
  // (the image's PPROF_PORT), e.g. `go tool pprof http://127.0.0.1:<port>/debug/pprof/heap`.
  const pprofPort = process.env['TEMPORAL_PPROF_PORT'];
  const configEnv = pprofPort ? { ...env, PPROF_PORT: pprofPort } : env;
  const writeConfig = (): Promise<void> =>
    writeFile(configFile, stringify(temporalServerConfig(configEnv, ports)), { mode: 0o600 });
  await writeConfig();
  let address = `127.0.0.1:${ports.frontendGrpc}`;
  // The container's environment reaches the server process too: the Go runtime reads these from it.
  const runtimeEnv = {
    ...Object.fromEntries(GO_RUNTIME_VARIABLES.flatMap((name) => (env[name] ? [[name, env[name]]] : []))),
    ...goRuntimeDiagnostics(),
  };
  const gcTraceFile = process.env['TEMPORAL_GCTRACE_FILE'];
  const startTimesMs: number[] = [];
  let current: ManagedProcess | undefined;
  const start = async (): Promise<void> => {
    const t0 = Date.now();
    current = await spawnManaged(
      server,
      ['--root', dir, '--config', 'config', '--env', 'docker', '--allow-no-auth', 'start'],
      {
        name: 'temporal-server',
        env: runtimeEnv,
        ...(gcTraceFile
          ? {
              onLine: (line: string) => {
                if (line.startsWith('gc ')) appendFileSync(gcTraceFile, `${Date.now()} ${line}\n`);
              },
            }
          : {}),
        readyWhen: () => healthy(cli, address),
        pollIntervalMs: 1_000,
        timeoutMs: 180_000,
        stopTimeoutMs: 20_000,
      },
    );
    startTimesMs.push(Date.now() - t0);
  };
  // A port free when chosen can be bound by another test's process before the server binds it
  // (CI, 2026-12-08: "Failed to start ringpop listener ... bind: address already in use"): the first
  // start tries again on a fresh set. A restart keeps its ports: clients hold the address.
  await retryOnLostBindRace(start, async () => {
    ports = await serverPorts();
    address = `127.0.0.1:${ports.frontendGrpc}`;
    await writeConfig();
  });
  return {
    address,
    startTimesMs,
    configFile,
    output: () => current?.output() ?? '',
    restart: async () => {
      await current?.stop();
      await start();
    },
    stop: async () => {
      await current?.stop();
      current = undefined;
    },
  };
}

/** The temporal-namespace one-shot: wait for health, create the namespace when describe fails, wait until served. */
export async function createNamespace(
  address: string,
  namespace: string,
  retention: string,
): Promise<'created' | 'existed'> {
  const cli = await requireGoTool(TEMPORAL_CLI);
  const commands = namespaceCommands(address, namespace, retention);
  const until = async (args: string[], what: string, tries: number): Promise<void> => {
    for (let i = 1; ; i += 1) {
      try {
        await runToEnd(cli, args, { timeoutMs: 10_000 });
        return;
      } catch (error) {
        if (i >= tries) throw new Error(`temporal-namespace: ${what}`, { cause: error });
        await new Promise((resolve) => setTimeout(resolve, 2_000));
      }
    }
  };
  await until(commands.health, `no answer from ${address}`, 60);
  let existed = true;
  try {
    await runToEnd(cli, commands.describe, { timeoutMs: 10_000 });
  } catch {
    existed = false;
    await runToEnd(cli, commands.create, { timeoutMs: 30_000 });
  }
  await until(commands.ready, `${namespace} not served`, 30);
  return existed ? 'existed' : 'created';
}

/**
 * Until the history service answers: a server just started (on restored databases most of all) passes
 * its health check and serves the namespace, yet answers history calls with "UNAVAILABLE: Not enough
 * hosts to serve the request" for a while (over 20 s at load 24; docs/backup-restore.md). Describing
 * workflows that do not exist is ready when each answers "not found"; a few ids reach more than one shard.
 */
export async function untilHistoryServes(address: string, namespace: string, timeoutMs = 180_000): Promise<void> {
  const connection = await Connection.connect({ address });
  try {
    const client = new Client({ connection, namespace });
    const deadline = Date.now() + timeoutMs;
    const probes = Array.from({ length: 8 }, (_, i) => `certfleet-history-probe-${i}`);
    for (;;) {
      const answers = await Promise.all(
        probes.map((id) =>
          connection.withDeadline(Date.now() + 5_000, () =>
            client.workflow
              .getHandle(id)
              .describe()
              .then(
                () => true,
                (error: unknown) => error instanceof WorkflowNotFoundError,
              ),
          ),
        ),
      );
      if (answers.every(Boolean)) return;
      if (Date.now() > deadline)
        throw new Error(`temporal: ${address} did not serve history calls within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 2_000));
    }
  } finally {
    await connection.close();
  }
}
