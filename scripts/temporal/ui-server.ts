/**
 * The Temporal UI, read-only, beside a headless dev server (`npm start`, the demo, tests).
 *
 * The Temporal UI has no CertFleet sign-in. With write actions on, anyone who reaches it can signal,
 * start, terminate, reset or batch-change runs without CertFleet's roles or audit log. The CLI dev
 * server's embedded UI has no read-only switch, so CertFleet runs the dev server `--headless` and the
 * standalone UI server (the release the CLI embeds) with every write action off. Compose runs the
 * `temporalio/ui` image with the same switches as environment variables (docker-compose.yml).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { spawnManaged, type GoTool } from './dev-server';

export const TEMPORAL_UI_SERVER: GoTool = {
  module: 'github.com/temporalio/ui-server/v2/cmd/server',
  version: 'v2.42.1',
  binary: 'temporal-ui-server',
  label: 'the Temporal UI server',
};

/**
 * The UI server's read-only switches: its config key → the `temporalio/ui` image's variable.
 * disableWriteActions makes the server itself refuse every write through its API (HTTP 405), not only
 * hide the buttons; the others hide each action in the browser as well.
 */
export const READ_ONLY_UI_SWITCHES = {
  disableWriteActions: 'TEMPORAL_DISABLE_WRITE_ACTIONS',
  workflowTerminateDisabled: 'TEMPORAL_WORKFLOW_TERMINATE_DISABLED',
  workflowCancelDisabled: 'TEMPORAL_WORKFLOW_CANCEL_DISABLED',
  workflowSignalDisabled: 'TEMPORAL_WORKFLOW_SIGNAL_DISABLED',
  workflowUpdateDisabled: 'TEMPORAL_WORKFLOW_UPDATE_DISABLED',
  workflowResetDisabled: 'TEMPORAL_WORKFLOW_RESET_DISABLED',
  batchActionsDisabled: 'TEMPORAL_BATCH_ACTIONS_DISABLED',
  startWorkflowDisabled: 'TEMPORAL_START_WORKFLOW_DISABLED',
  activityCommandsDisabled: 'TEMPORAL_ACTIVITY_COMMANDS_DISABLED',
} as const;

export interface ReadOnlyUiOptions {
  /** Path of the UI server binary (findGoTool / buildGoTool with TEMPORAL_UI_SERVER). */
  binaryPath: string;
  /** host:port of the Temporal frontend. */
  temporalAddress: string;
  /** Address and port the UI listens on (default 127.0.0.1). */
  ip?: string;
  port: number;
  namespace?: string;
  /** A directory for its config file. */
  configDir: string;
  onOutput?: (line: string) => void;
  /** How long to wait for it to answer (default 60 s: it starts in about a second, but a loaded machine, such as CI running three test files at once, has taken longer than 20 s). */
  readyTimeoutMs?: number;
}

export interface ReadOnlyUi {
  url: string;
  stop: () => Promise<void>;
}

/** The config file: plain YAML (JSON is YAML), no templating. */
export function readOnlyUiConfig(
  opts: Pick<ReadOnlyUiOptions, 'temporalAddress' | 'ip' | 'port' | 'namespace'>,
): string {
  const url = `http://${opts.ip ?? '127.0.0.1'}:${opts.port}`;
  const config = {
    temporalGrpcAddress: opts.temporalAddress,
    host: opts.ip ?? '127.0.0.1',
    port: opts.port,
    enableUi: true,
    defaultNamespace: opts.namespace ?? 'default',
    notifyOnNewVersion: false,
    ...Object.fromEntries(Object.keys(READ_ONLY_UI_SWITCHES).map((key) => [key, true])),
    // Loopback without TLS: the CSRF cookie must be allowed over plain HTTP.
    cors: { cookieInsecure: true, allowOrigins: [url] },
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}

/** Starts the UI server read-only and resolves once its settings say so. */
export async function startReadOnlyTemporalUi(opts: ReadOnlyUiOptions): Promise<ReadOnlyUi> {
  const url = `http://${opts.ip ?? '127.0.0.1'}:${opts.port}`;
  await mkdir(path.join(opts.configDir, 'config'), { recursive: true });
  await writeFile(path.join(opts.configDir, 'config', 'certfleet.yaml'), readOnlyUiConfig(opts));
  const args = ['--root', opts.configDir, '--config', 'config', '--env', 'certfleet', 'start'];
  const managed = spawnManaged(opts.binaryPath, args, {
    stopTimeoutMs: 5_000,
    ...(opts.onOutput ? { onOutput: opts.onOutput } : {}),
  });
  const fail = async (why: string): Promise<never> => {
    await managed.stop();
    throw new Error(
      `Temporal UI server (${opts.binaryPath} ${args.join(' ')}) ${why}\n--- last output ---\n${managed.recent.toString()}`,
      { cause: managed.spawnError() },
    );
  };
  const readyTimeoutMs = opts.readyTimeoutMs ?? 60_000;
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (!managed.isAlive()) return fail(managed.exitReason());
    if (Date.now() > deadline) return fail(`did not answer within ${readyTimeoutMs} ms`);
    const settings = await fetch(`${url}/api/v1/settings`, { signal: AbortSignal.timeout(2_000) })
      .then(async (res) => (res.ok ? ((await res.json()) as { DisableWriteActions?: unknown }) : undefined))
      .catch(() => undefined);
    if (settings) {
      if (settings.DisableWriteActions !== true) return fail('does not report write actions disabled');
      return { url, stop: managed.stop };
    }
    await delay(200);
  }
}
