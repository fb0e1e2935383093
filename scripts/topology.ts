/**
 * The production topology of CertFleet, as data: one description, two runners.
 *
 * - docker-compose.yml runs it with containers (test/unit/compose-topology.test.ts checks that every
 *   service there says what this file says: the Temporal release, the schema commands, the server's
 *   environment, the namespace step, the CertFleet commands);
 * - test/support/production-stack.ts runs it with processes on this machine: the same Temporal
 *   release built with Go, the same temporal-sql-tool argument lists, the server configured as the
 *   `temporalio/server` image renders these variables, the same namespace commands, and the
 *   commands of scripts/processes.ts.
 *
 * Start order (compose `depends_on`): postgres → temporal-schema → temporal → temporal-namespace →
 * migrations → worker, web.
 */
import { PROCESS_COMMANDS } from './processes';
import type { GoTool } from './temporal/dev-server';

/** The Temporal server release of the stack: the compose images and the Go builds use this one. */
export const TEMPORAL_RELEASE = '1.29.1';
export const TEMPORAL_SERVER_IMAGE = `temporalio/server:${TEMPORAL_RELEASE}`;
/** admin-tools of the same release (its temporal-sql-tool carries that release's schema). */
export const TEMPORAL_ADMIN_TOOLS_IMAGE = `temporalio/admin-tools:${TEMPORAL_RELEASE}-tctl-1.18.4-cli-1.5.0`;
/** The Go module of the server: its binaries, its schema files and its docker config template. */
export const TEMPORAL_SERVER_MODULE = 'go.temporal.io/server';

/** `go install go.temporal.io/server/cmd/server@v1.29.1`, cached as temporal-server. */
export const TEMPORAL_SERVER: GoTool = {
  module: `${TEMPORAL_SERVER_MODULE}/cmd/server`,
  version: `v${TEMPORAL_RELEASE}`,
  binary: 'temporal-server',
  label: 'the Temporal server',
  pathEnvVar: 'TEMPORAL_SERVER_PATH',
};

/** `go install go.temporal.io/server/cmd/tools/sql@v1.29.1`, cached as temporal-sql-tool. */
export const TEMPORAL_SQL_TOOL: GoTool = {
  module: `${TEMPORAL_SERVER_MODULE}/cmd/tools/sql`,
  version: `v${TEMPORAL_RELEASE}`,
  binary: 'temporal-sql-tool',
  label: 'temporal-sql-tool',
  pathEnvVar: 'TEMPORAL_SQL_TOOL_PATH',
};

/** Temporal's two databases and the folder (under schema/postgresql/v12) of each one's versioned schema. */
export const TEMPORAL_DATABASES = [
  { database: 'temporal', versioned: 'temporal/versioned' },
  { database: 'temporal_visibility', versioned: 'visibility/versioned' },
] as const;

/** Where the schema files are in the admin-tools image (in the Go module: `<module dir>/schema/postgresql/v12`). */
export const IMAGE_SCHEMA_DIR = '/etc/temporal/schema/postgresql/v12';

/** The connection arguments every temporal-sql-tool call starts with (the password comes from SQL_PASSWORD). */
export function sqlToolConnection(host: string, port: number, user: string): string[] {
  return ['--plugin', 'postgres12', '--ep', host, '-p', String(port), '-u', user];
}

/**
 * The temporal-schema one-shot: temporal-sql-tool's arguments after the connection ones, in order.
 * Idempotent: `create` skips an existing database, `setup-schema -v 0.0` an initialised one, and
 * `update-schema` applies only the versions a newer release adds.
 */
export function temporalSchemaSteps(schemaDir: string): string[][] {
  return TEMPORAL_DATABASES.flatMap(({ database, versioned }) => [
    ['--db', database, 'create', '--defaultdb', 'postgres'],
    ['--db', database, 'setup-schema', '-v', '0.0'],
    ['--db', database, 'update-schema', '-d', `${schemaDir}/${versioned}`],
  ]);
}

/** Fixed when the cluster is created: never change it on an existing database. */
export const NUM_HISTORY_SHARDS = 4;

/** The repository's dynamic config file (compose mounts temporal/dynamicconfig read-only). */
export const DYNAMIC_CONFIG_FILE = 'temporal/dynamicconfig/docker.yaml';

export interface TemporalServerSettings {
  postgresHost: string;
  postgresPort: number;
  user: string;
  password: string;
  dynamicConfigPath: string;
  logLevel: string;
}

/**
 * The `temporal` service's environment: the variables the `temporalio/server` image renders into its
 * config (docker/config_template.yaml of the module); scripts/temporal/server-config.ts renders
 * the same template branch for a process.
 */
export function temporalServerEnv(s: TemporalServerSettings): Record<string, string> {
  return {
    DB: 'postgres12',
    DB_PORT: String(s.postgresPort),
    POSTGRES_SEEDS: s.postgresHost,
    POSTGRES_USER: s.user,
    POSTGRES_PWD: s.password,
    DBNAME: 'temporal',
    VISIBILITY_DBNAME: 'temporal_visibility',
    NUM_HISTORY_SHARDS: String(NUM_HISTORY_SHARDS),
    DYNAMIC_CONFIG_FILE_PATH: s.dynamicConfigPath,
    LOG_LEVEL: s.logLevel,
  };
}

/** The namespace CertFleet runs in, and its retention (compose: TEMPORAL_NAMESPACE, TEMPORAL_NAMESPACE_RETENTION). */
export const DEFAULT_NAMESPACE = 'default';
export const DEFAULT_NAMESPACE_RETENTION = '720h';

/**
 * The temporal-namespace one-shot, as `temporal` CLI argument lists: wait for `health`, `describe`
 * (exit 0: it exists), else `create`, then wait until `ready` answers (the frontend serves it).
 */
export function namespaceCommands(
  address: string,
  namespace: string,
  retention: string,
): Record<'health' | 'describe' | 'create' | 'ready', string[]> {
  return {
    health: ['operator', 'cluster', 'health', '--address', address],
    describe: ['operator', 'namespace', 'describe', '--address', address, '--namespace', namespace],
    create: [
      'operator',
      'namespace',
      'create',
      '--address',
      address,
      '--namespace',
      namespace,
      '--retention',
      retention,
    ],
    ready: ['operator', 'search-attribute', 'list', '--address', address, '--namespace', namespace],
  };
}

/** CertFleet's processes after the namespace: the one-shot migrations, then the worker(s) and the web. */
export const CERTFLEET_SERVICES = {
  migrations: PROCESS_COMMANDS.migrations,
  worker: PROCESS_COMMANDS.worker,
  web: PROCESS_COMMANDS.web,
} as const;

/** The start order; each waits for the ones before it (one-shots: completed; servers: healthy). */
export const START_ORDER = [
  'postgres',
  'temporal-schema',
  'temporal',
  'temporal-namespace',
  'migrations',
  'worker',
  'web',
] as const;
