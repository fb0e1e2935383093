/**
 * The three processes of CertFleet, as data. `npm start` (scripts/start.ts) runs all three in one
 * process; here each is a command of its own: one container each under docker compose (the `command`
 * of the `migrations`, `worker` and `web` services) and `npm run migrate|worker|web` on a machine.
 * test/unit/compose.test.ts checks that docker-compose.yml, package.json and scripts/start.ts agree
 * with this file.
 *
 * `node --import tsx` rather than the `tsx` launcher: one process (the launcher adds a parent that
 * relays signals), so SIGTERM from `docker compose stop` reaches the handlers of worker/main.ts and
 * web/server.ts directly.
 */
export const PROCESS_COMMANDS = {
  /** Applies pending SQL migrations, then exits. Runs before the worker and the web. */
  migrations: ['node', '--import', 'tsx', 'scripts/migrate.ts'],
  /** The Temporal worker: activities, workflows (from WORKFLOW_BUNDLE_PATH when set), schedules. */
  worker: ['node', '--import', 'tsx', 'worker/main.ts'],
  /** The web console and API. */
  web: ['node', '--import', 'tsx', 'web/server.ts'],
} as const satisfies Record<string, readonly string[]>;

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
