/**
 * A Temporal CLI dev server for a test file: free port, headless, persistent SQLite file in a temp
 * dir (so restart() keeps workflows and search attributes), CertFleet's search attributes.
 */
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  buildGoTool,
  findGoTool,
  startTemporalDevServer,
  TEMPORAL_CLI,
  type GoTool,
  type DevServer,
  type DevServerOptions,
} from '../../scripts/temporal/dev-server';
import type { SearchAttributeKind } from '../../temporal/search-attributes';
import { freePort } from './free-port';
import { registerExitCleanup } from './process';

export const TEST_SEARCH_ATTRIBUTES: Readonly<Record<string, SearchAttributeKind>> = {
  CertificateId: 'Keyword',
  CertFleetOutcome: 'Keyword',
};

export type TestTemporal = DevServer & {
  /** SQLite state file (kept across restart(), deleted by stop()). */
  dbFile: string;
  /** Stop the server (SIGTERM) and start it again on the same port with the same db file. */
  restart(): Promise<void>;
  /** Last output lines (for diagnostics). */
  output(): string;
};

/** The tool's binary (the Temporal CLI, the Temporal UI server): found, or built once into the cache. */
export async function requireGoTool(tool: GoTool): Promise<string> {
  const found = await findGoTool(tool);
  if (found !== undefined) return found;
  const built = await buildGoTool(tool, (msg) => process.stderr.write(`[${tool.binary}] ${msg}\n`));
  if (built !== undefined) return built;
  throw new Error(
    `${tool.label} not found (${tool.pathEnvVar ? `${tool.pathEnvVar}, ` : ''}PATH, ~/.cache/certfleet/bin/${tool.binary}) and Go is unavailable to build it`,
  );
}

export async function startTestTemporal(
  overrides: Partial<Pick<DevServerOptions, 'searchAttributes' | 'logLevel' | 'readyTimeoutMs'>> = {},
): Promise<TestTemporal> {
  const cliPath = await requireGoTool(TEMPORAL_CLI);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'certfleet-temporal-'));
  // Also makes SIGINT/SIGTERM run the 'exit' hook of scripts/temporal/dev-server that kills the server.
  const unregister = registerExitCleanup(() => rmSync(dir, { recursive: true, force: true }));
  const dbFile = path.join(dir, 'temporal.sqlite');
  const recent: string[] = [];
  const port = await freePort();

  const options = (p: number): DevServerOptions => ({
    cliPath,
    ip: '127.0.0.1',
    port: p,
    headless: true,
    dbFilename: dbFile,
    sqlitePragmas: { journal_mode: 'wal', synchronous: 'normal' },
    namespace: 'default',
    searchAttributes: { ...TEST_SEARCH_ATTRIBUTES, ...overrides.searchAttributes },
    logLevel: overrides.logLevel ?? 'warn',
    readyTimeoutMs: overrides.readyTimeoutMs,
    onOutput: (line) => {
      recent.push(line);
      if (recent.length > 200) recent.shift();
    },
  });

  let current: DevServer;
  try {
    current = await startTemporalDevServer(options(port));
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    unregister();
    throw err;
  }

  let stopped = false;
  const handle: TestTemporal = {
    get address() {
      return current.address;
    },
    get child() {
      return current.child;
    },
    dbFile,
    output: () => recent.join('\n'),
    restart: async () => {
      if (stopped) throw new Error('restart() after stop()');
      await current.stop();
      // Same port, so clients keep the same address (Go listeners use SO_REUSEADDR).
      current = await startTemporalDevServer(options(port));
    },
    stop: async () => {
      stopped = true;
      await current.stop();
      await rm(dir, { recursive: true, force: true });
      unregister();
    },
  };
  return handle;
}
