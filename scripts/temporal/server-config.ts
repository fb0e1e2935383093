/**
 * The Temporal server's config file for a process on this machine, equivalent to what the
 * `temporalio/server` image renders from the compose service's environment: the image renders
 * `docker/config_template.yaml` of go.temporal.io/server (same release) with its variables. This
 * follows the template's `postgres12` branch key by key, with the variables of
 * scripts/topology.ts `temporalServerEnv` and the template's defaults for everything compose leaves
 * unset. What differs is where it listens: every port is a free loopback port (the image uses fixed
 * ports in its own network namespace). The TLS, authorization and metrics blocks are left out: with
 * compose's environment the template renders them empty (no TLS, no authorizer, no metrics).
 */

export interface ServerPorts {
  frontendGrpc: number;
  frontendHttp: number;
  frontendMembership: number;
  matchingGrpc: number;
  matchingMembership: number;
  historyGrpc: number;
  historyMembership: number;
  workerGrpc: number;
  workerMembership: number;
}

export const SERVER_PORT_NAMES: readonly (keyof ServerPorts)[] = [
  'frontendGrpc',
  'frontendHttp',
  'frontendMembership',
  'matchingGrpc',
  'matchingMembership',
  'historyGrpc',
  'historyMembership',
  'workerGrpc',
  'workerMembership',
];

const BIND_ON_IP = '127.0.0.1';

/** `{{ default .Env.NAME "fallback" }}`: the variable when set and not empty, else the fallback. */
function envOr(env: Readonly<Record<string, string>>, name: string, fallback: string): string {
  const value = env[name];
  return value === undefined || value === '' ? fallback : value;
}

function sqlStore(env: Readonly<Record<string, string>>, visibility: boolean): Record<string, unknown> {
  const prefix = visibility ? 'VISIBILITY_' : '';
  const seeds = envOr(env, `${prefix}POSTGRES_SEEDS`, envOr(env, 'POSTGRES_SEEDS', ''));
  const port = envOr(env, `${prefix}DB_PORT`, envOr(env, 'DB_PORT', '5432'));
  return {
    sql: {
      pluginName: envOr(env, 'DB', 'cassandra').toLowerCase(),
      databaseName: visibility
        ? envOr(env, 'VISIBILITY_DBNAME', 'temporal_visibility')
        : envOr(env, 'DBNAME', 'temporal'),
      connectAddr: `${seeds}:${port}`,
      connectProtocol: 'tcp',
      user: envOr(env, `${prefix}POSTGRES_USER`, envOr(env, 'POSTGRES_USER', '')),
      password: envOr(env, `${prefix}POSTGRES_PWD`, envOr(env, 'POSTGRES_PWD', '')),
      maxConns: Number(envOr(env, visibility ? 'SQL_VIS_MAX_CONNS' : 'SQL_MAX_CONNS', visibility ? '10' : '20')),
      maxIdleConns: Number(
        envOr(env, visibility ? 'SQL_VIS_MAX_IDLE_CONNS' : 'SQL_MAX_IDLE_CONNS', visibility ? '10' : '20'),
      ),
      maxConnLifetime: envOr(env, visibility ? 'SQL_VIS_MAX_CONN_TIME' : 'SQL_MAX_CONN_TIME', '1h'),
    },
  };
}

const rpc = (grpcPort: number, membershipPort: number): Record<string, unknown> => ({
  rpc: { grpcPort, membershipPort, bindOnIP: BIND_ON_IP },
});

/** The config as an object (serialise it as YAML into `<dir>/docker.yaml`; start with `--env docker`). */
export function temporalServerConfig(
  env: Readonly<Record<string, string>>,
  ports: ServerPorts,
): Record<string, unknown> {
  const plugin = envOr(env, 'DB', 'cassandra').toLowerCase();
  if (plugin !== 'postgres12' && plugin !== 'postgres12_pgx')
    throw new Error(`server-config: only the template's postgres12 branch is rendered here, not DB=${plugin}`);
  const filestore = { fileMode: '0666', dirMode: '0766' };
  return {
    log: { stdout: true, level: envOr(env, 'LOG_LEVEL', 'info') },
    persistence: {
      numHistoryShards: Number(envOr(env, 'NUM_HISTORY_SHARDS', '4')),
      defaultStore: 'default',
      visibilityStore: 'visibility',
      datastores: { default: sqlStore(env, false), visibility: sqlStore(env, true) },
    },
    global: {
      membership: { maxJoinDuration: '30s', broadcastAddress: '' },
      pprof: { port: Number(envOr(env, 'PPROF_PORT', '0')) },
    },
    services: {
      frontend: {
        rpc: {
          grpcPort: ports.frontendGrpc,
          membershipPort: ports.frontendMembership,
          bindOnIP: BIND_ON_IP,
          httpPort: ports.frontendHttp,
        },
      },
      matching: rpc(ports.matchingGrpc, ports.matchingMembership),
      history: rpc(ports.historyGrpc, ports.historyMembership),
      worker: rpc(ports.workerGrpc, ports.workerMembership),
    },
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: 'active',
      currentClusterName: 'active',
      clusterInformation: {
        active: {
          enabled: true,
          initialFailoverVersion: 1,
          rpcName: 'frontend',
          rpcAddress: `127.0.0.1:${ports.frontendGrpc}`,
          httpAddress: `127.0.0.1:${ports.frontendHttp}`,
        },
      },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    archival: {
      history: { state: 'enabled', enableRead: true, provider: { filestore } },
      visibility: { state: 'enabled', enableRead: true, provider: { filestore } },
    },
    namespaceDefaults: {
      archival: {
        history: { state: 'disabled', URI: 'file:///tmp/temporal_archival/development' },
        visibility: { state: 'disabled', URI: 'file:///tmp/temporal_vis_archival/development' },
      },
    },
    dynamicConfigClient: {
      filepath: envOr(env, 'DYNAMIC_CONFIG_FILE_PATH', '/etc/temporal/config/dynamicconfig/docker.yaml'),
      pollInterval: '60s',
    },
  };
}
