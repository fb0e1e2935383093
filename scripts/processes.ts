/**
 * The three processes of CertFleet, as data. `npm start` (scripts/start.ts) runs all three in one
 * process; here each is a command of its own: one container each under docker compose (the `command`
 * of the `migrations`, `worker` and `web` services) and `npm run migrate|worker|web` on a machine.
 * test/unit/compose.test.ts checks that docker-compose.yml, package.json and scripts/start.ts agree
 * with this file.
 *
 * Compiled JavaScript (`npm run build`, scripts/build.ts, into dist/ with the sources' layout), not
 * `node --import tsx`: tsx keeps esbuild's service (a worker thread and an esbuild child process)
 * alive in every process, about 30 MiB each (docs/scaling.md, "Memory"). One process per command
 * (no launcher relaying signals), so SIGTERM from `docker compose stop` reaches the handlers of
 * worker/main.ts and web/server.ts directly.
 *
 * Not `--optimize-for-size` (V8): tried, it saved no idle memory and cost the worker about 45% more
 * CPU at a renewal burst (docs/scaling.md, "Memory").
 */
export const PROCESS_COMMANDS = {
  /** Applies pending SQL migrations, then exits. Runs before the worker and the web. */
  migrations: ['node', 'dist/scripts/migrate.js'],
  /** The Temporal worker: activities, workflows (from WORKFLOW_BUNDLE_PATH when set), schedules. */
  worker: ['node', 'dist/worker/main.js'],
  /** The web console and API. */
  web: ['node', 'dist/web/server.js'],
} as const satisfies Record<string, readonly string[]>;

/** Where `npm run build` writes the compiled tree (relative to the repository, and to /app in the image). */
export const COMPILED_DIR = 'dist';

/** The TypeScript source of a compiled file: `dist/worker/main.js` → `worker/main.ts`. */
export function sourceOfCompiled(compiled: string): string {
  const prefix = `${COMPILED_DIR}/`;
  if (!compiled.startsWith(prefix) || !compiled.endsWith('.js'))
    throw new Error(`${compiled} is not a file of ${COMPILED_DIR}/`);
  return `${compiled.slice(prefix.length, -'.js'.length)}.ts`;
}

export type ProcessName = keyof typeof PROCESS_COMMANDS;

/** The module scripts/start.ts imports to run the same step in-process (specifier as written there). */
export const IN_PROCESS_MODULES: Readonly<Record<ProcessName, string>> = {
  migrations: '../activities/db/migrate',
  worker: '../worker/main',
  web: '../web/server',
};

/** The npm script that runs each process on its own (package.json `scripts`). */
export const NPM_SCRIPTS: Readonly<Record<ProcessName, string>> = {
  migrations: 'migrate',
  worker: 'worker',
  web: 'web',
};
