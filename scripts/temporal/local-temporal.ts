/**
 * Temporal for one machine (`npm start`, the demo): the CLI dev server, headless, and the Temporal UI
 * beside it read-only (scripts/temporal/ui-server.ts). Without Go, the SDK downloads the CLI and no UI runs.
 */
import * as path from 'node:path';
import { SEARCH_ATTRIBUTE_TYPES } from '../../temporal/contract';
import { buildGoTool, findGoTool, startTemporalDevServer, TEMPORAL_CLI } from './dev-server';
import { startDownloadedDevServer } from './downloaded-dev-server';
import { portTaken, startAgainWhenPortTaken } from './port-taken';
import { startReadOnlyTemporalUi, TEMPORAL_UI_SERVER } from './ui-server';

export interface LocalTemporal {
  address: string;
  /** The read-only Temporal UI, when it could be started. */
  uiUrl?: string;
  /** Why no Temporal UI runs (absent when it does), for the demo's and `npm start`'s guide. */
  uiProblem?: string;
  stop: () => Promise<void>;
}

export interface LocalTemporalOptions {
  env: NodeJS.ProcessEnv;
  port: number;
  uiPort: number;
  /** Holds the dev server's SQLite file and the UI server's config. */
  dataDir: string;
  say: (line: string) => void;
  onOutput: (component: 'temporal-server' | 'temporal-ui', line: string) => void;
  /**
   * When `uiPort` was only a free port (the demo), another free port for the UI should another process
   * bind `uiPort` before the UI server does; without it (`npm start`: the port asked for) the UI stays off.
   */
  uiPortFallback?: () => Promise<number>;
}

/** The UI server exited because its port was taken (echo's "bind: address already in use"). */
export const uiLostItsPort = portTaken;

/** Starts the UI on `port`; should it lose that port, on `fallback()` ports, up to three starts. */
export async function startUiWithFallback<U>(
  startUi: (port: number) => Promise<U>,
  port: number,
  fallback?: () => Promise<number>,
): Promise<U> {
  if (!fallback) return startUi(port);
  let next = port;
  return startAgainWhenPortTaken(
    () => startUi(next),
    async () => {
      next = await fallback();
    },
  );
}

/** Why the UI did not start, in one line: the reason and the server's own last fatal message when it gave one. */
export function uiFailureLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const [first = ''] = message.split('\n');
  const fatal = [...message.matchAll(/"level":"FATAL".*?"message":"([^"]*)"/g)].at(-1)?.[1];
  return fatal ? `${first}: ${fatal}` : first;
}

const findOrBuild = async (tool: typeof TEMPORAL_CLI, o: LocalTemporalOptions): Promise<string | undefined> =>
  (await findGoTool(tool, o.env)) ?? (await buildGoTool(tool, o.say, o.env));

export async function startLocalTemporal(o: LocalTemporalOptions): Promise<LocalTemporal> {
  const dbFilename = path.join(o.dataDir, 'temporal.sqlite');
  const cli = await findOrBuild(TEMPORAL_CLI, o);
  const server = cli
    ? await startTemporalDevServer({
        cliPath: cli,
        port: o.port,
        headless: true,
        dbFilename,
        searchAttributes: { ...SEARCH_ATTRIBUTE_TYPES },
        onOutput: (line) => o.onOutput('temporal-server', line),
      })
    : (o.say(
        'no Go: letting the Temporal SDK download the CLI (needs internet; or set TEMPORAL_ADDRESS); no Temporal UI',
      ),
      await startDownloadedDevServer({ port: o.port, dbFilename }));
  const uiBinary = cli ? await findOrBuild(TEMPORAL_UI_SERVER, o) : undefined;
  if (!uiBinary)
    return {
      address: server.address,
      uiProblem: 'the Temporal UI server is built with Go, which this machine lacks',
      stop: server.stop,
    };
  try {
    const startUi = (port: number) =>
      startReadOnlyTemporalUi({
        binaryPath: uiBinary,
        temporalAddress: server.address,
        port,
        configDir: path.join(o.dataDir, 'temporal-ui'),
        onOutput: (line) => o.onOutput('temporal-ui', line),
      });
    const ui = await startUiWithFallback(startUi, o.uiPort, o.uiPortFallback);
    return {
      address: server.address,
      uiUrl: ui.url,
      stop: async () => {
        await ui.stop();
        await server.stop();
      },
    };
  } catch (error) {
    const uiProblem = `it did not start: ${uiFailureLine(error)}`;
    o.say(`the read-only Temporal UI did not start, running without it: ${uiProblem}`);
    return { address: server.address, uiProblem, stop: server.stop };
  }
}
