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

/**
 * PostgreSQL's server settings (`-c name=value` on its command line): compose's `postgres` service
 * command and the production stack's private PostgreSQL (test/support/production-stack.ts) pass the
 * same ones. Memory (issue 17 item 4; docs/scaling.md, "Memory"): `shared_buffers` is shared memory
 * that each process maps as it touches it; the checkpointer writes every dirty buffer, so once the
 * stack has run for a while it holds nearly all of them resident (about 55 MiB of the default 128MB
 * after a 200-certificate fleet). 32MB bounds that; CertFleet's and Temporal's working set (a few
 * hundred certificates, their workflow rows) fits, and the kernel's page cache holds the rest.
 */
export const POSTGRES_SETTINGS = {
  shared_buffers: '32MB',
} as const;

/** POSTGRES_SETTINGS as `postgres` command-line arguments. */
export function postgresSettingArgs(): string[] {
  return Object.entries(POSTGRES_SETTINGS).flatMap(([name, value]) => ['-c', `${name}=${value}`]);
}

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
 * The Temporal server's connection pools, sized for one VM (issue 17 item 4: the whole stack in 500 MB
 * idle; docs/scaling.md, "Memory"). Variables of the module's docker/config_template.yaml, rendered
 * into `maxConns` / `maxIdleConns` / `maxConnLifetime` of each SQL store (template defaults: 20 / 20 /
 * 1h, visibility 10 / 10 / 1h), which common/persistence/sql/sqlplugin/postgresql/session/session.go
 * hands to Go's database/sql (SetMaxOpenConns, SetMaxIdleConns, SetConnMaxLifetime). Every Temporal
 * service in the process (frontend, history, matching, worker) has its own pools, and each open
 * connection is a PostgreSQL backend of a few MiB: with the defaults the idle stack kept about 75.
 * A short lifetime lets database/sql's cleaner close the connections a burst opened once it is over
 * (the pools are reopened on demand), so idle holds only what the server's own polling uses. The idle
 * pools are the template's (20 / 10): with 1 (2026-12-07 01:00 to 15:10) database/sql closed every
 * connection returned beyond one, so under load the server opened a PostgreSQL backend for almost every
 * statement (about 5 a second) and PostgreSQL took 60 % of the stack's CPU.
 * `npm run bench:footprint -- --idle-seconds 60 --certificates 100`, idle 1 → 20: burst of 100 renewals
 * 216 → 98 s, PostgreSQL 235 → 33 CPU-s (worker 81 → 78, Temporal 51 → 38); idle PSS 401 → 433 MiB
 * (each page once 433 → 467, goal 477), burst peak 507 → 547 MiB (docs/scaling.md).
 */
export const TEMPORAL_SQL_POOLS = {
  SQL_MAX_CONNS: '20',
  SQL_MAX_IDLE_CONNS: '20',
  SQL_MAX_CONN_TIME: '1m',
  SQL_VIS_MAX_CONNS: '10',
  SQL_VIS_MAX_IDLE_CONNS: '10',
  SQL_VIS_MAX_CONN_TIME: '1m',
} as const;

/**
 * The Go runtime's memory settings for the server process (read by the Go runtime itself, not by the
 * config template: https://pkg.go.dev/runtime#hdr-Environment_Variables). GOGC 25: the heap may grow
 * 25% over what the last collection kept (about 40 MiB live when idle) before the next one, instead of
 * 100% (Go's default) or 50%; this is what keeps the idle footprint small. GOMEMLIMIT is a soft limit
 * on the whole Go runtime's memory, a guard only: near it the collector runs more often than GOGC
 * asks. 128MiB bound a fleet's burst: at N = 1,000 in flight the live heap reached 76–84 MB, the
 * collector then ran 77 times a minute and took 322 of the server's 387 ms CPU per renewal (bench/
 * go-gc-trace.ts); 256MiB: 176 of 293 ms, CertFleet's CPU per certificate N = 1,000 / N = 100
 * 1.25 → 1.00, idle unchanged (docs/scaling.md, "The Temporal server's collector at N = 1,000").
 */
export const TEMPORAL_GO_RUNTIME = {
  GOMEMLIMIT: '256MiB',
  GOGC: '25',
} as const;

/** Variables of the server's environment read by the Go runtime rather than by the config template. */
export const GO_RUNTIME_VARIABLES: readonly string[] = Object.keys(TEMPORAL_GO_RUNTIME);

/**
 * The `temporal` service's environment: the variables the `temporalio/server` image renders into its
 * config (docker/config_template.yaml of the module), plus the Go runtime's (TEMPORAL_GO_RUNTIME);
 * scripts/temporal/server-config.ts renders the same template branch for a process.
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
    ...TEMPORAL_SQL_POOLS,
    ...TEMPORAL_GO_RUNTIME,
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

/**
 * The memory settings of CertFleet's long-running processes (issue 17 item 4), beyond the defaults of
 * worker/config.ts and web/config.ts: docker-compose.yml sets them in each service's environment
 * (as `NAME: ${NAME:-value}` or the value itself) and test/support/production-stack.ts in each process's.
 *
 * - NODE_OPTIONS: `--max-semi-space-size` (MiB) caps V8's young generation (three semi-spaces of up to
 *   16 MiB each on 64-bit Node 20), which a busy process otherwise keeps; `--max-old-space-size` (MiB)
 *   caps the old generation so V8 collects before growing past it (a process that really needs more
 *   ends with "JavaScript heap out of memory" and is restarted: the worker's runs are then resumed
 *   by another worker or by it, as after any crash). Node's NODE_OPTIONS accepts both flags.
 * - WORKER_MAX_CACHED_WORKFLOWS: workflows kept in the worker's sticky cache (each with its own
 *   context in the workflow isolate); an evicted one is replayed from its history on its next task.
 */
export const CERTFLEET_PROCESS_ENV = {
  worker: {
    NODE_OPTIONS: '--max-old-space-size=384 --max-semi-space-size=2',
    WORKER_MAX_CACHED_WORKFLOWS: '50',
  },
  web: {
    NODE_OPTIONS: '--max-old-space-size=128 --max-semi-space-size=2',
  },
} as const satisfies Record<'worker' | 'web', Record<string, string>>;

/**
 * glibc malloc's settings for CertFleet's Node processes (mallopt(3), "ENVIRONMENT"; read by glibc at
 * process start, so they are environment variables): the Dockerfile sets them in the image for the
 * worker, the web and the migrations, the test stacks (test/support/stack.ts) for their processes, and
 * test/unit/compose.test.ts checks the Dockerfile says the same.
 *
 * - MALLOC_ARENA_MAX 2: glibc gives each thread that allocates its own arena (up to 8 per core); the
 *   worker's Temporal Core (Rust, tokio threads), its workflow thread and libuv's threads left about
 *   65 MiB of arenas resident at N = 50 (README "Performance").
 * - MALLOC_MMAP_THRESHOLD_ and MALLOC_TRIM_THRESHOLD_ at 128 KiB, glibc's initial values, fixed:
 *   by default both move. Each time a block larger than the mmap threshold (up to 32 MiB) is freed,
 *   the threshold rises to its size and the trim threshold to twice that, so later blocks of that size
 *   come from the heap and what is freed there stays resident. Setting them turns that off (mallopt(3):
 *   "Dynamic adjustment of the mmap threshold is disabled if any of ... is set"): a block of 128 KiB or
 *   more is mapped and unmapped on its own, and the heap's free top is returned above 128 KiB. Measured
 *   (docs/scaling.md, "Memory"): 20 certificates, 60 s idle, web 80 → 48 MiB PSS, worker 151 → 133,
 *   the glibc heaps (`[heap]`) 21.5 → 5.1 and 47.5 → 30.7 MiB; no more CPU at the burst.
 */
export const GLIBC_MALLOC_ENV = {
  MALLOC_ARENA_MAX: '2',
  MALLOC_MMAP_THRESHOLD_: '131072',
  MALLOC_TRIM_THRESHOLD_: '131072',
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
