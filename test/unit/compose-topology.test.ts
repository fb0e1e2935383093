/**
 * One description of the production topology (scripts/topology.ts), two runners: docker-compose.yml
 * must say what it says (release, schema commands, server environment, namespace step, CertFleet
 * commands, start order), and so must the Go builds of .ci/run that test/support/production-stack.ts
 * runs. The server config that runner writes is checked against the module's docker template.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { SERVER_PORT_NAMES, temporalServerConfig, type ServerPorts } from '../../scripts/temporal/server-config';
import {
  CERTFLEET_PROCESS_ENV,
  CERTFLEET_SERVICES,
  DEFAULT_NAMESPACE,
  DEFAULT_NAMESPACE_RETENTION,
  DYNAMIC_CONFIG_FILE,
  GO_RUNTIME_VARIABLES,
  IMAGE_SCHEMA_DIR,
  namespaceCommands,
  postgresSettingArgs,
  sqlToolConnection,
  START_ORDER,
  TEMPORAL_ADMIN_TOOLS_IMAGE,
  TEMPORAL_RELEASE,
  TEMPORAL_SERVER,
  TEMPORAL_SERVER_IMAGE,
  TEMPORAL_SQL_TOOL,
  TEMPORAL_SQL_POOLS,
  temporalSchemaSteps,
  temporalServerEnv,
} from '../../scripts/topology';
import { DEV_SERVER_DYNAMIC_CONFIG, devServerArgs, TEMPORAL_CLI } from '../../scripts/temporal/dev-server';
import { TEMPORAL_UI_SERVER } from '../../scripts/temporal/ui-server';
import { PEBBLE, PEBBLE_CHALLTESTSRV } from '../support/pebble';
import { PEBBLE_WITHOUT_ARI } from '../support/pebble-ari';
import { temporalServerModuleDir } from '../support/temporal-server';

interface Service {
  image?: string;
  environment?: Record<string, string>;
  volumes?: string[];
  command?: string[] | string;
  depends_on?: Record<string, unknown>;
}

const ROOT = path.join(__dirname, '..', '..');
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');
const compose = parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, Service> };
const service = (name: string): Service => {
  const found = compose.services[name];
  assert.ok(found, `a "${name}" service`);
  return found;
};
const script = (name: string): string => [service(name).command ?? []].flat().join('\n');
const TEMPORAL_PASSWORD = '${TEMPORAL_DB_PASSWORD:?set TEMPORAL_DB_PASSWORD (see docs/install-compose.md)}';

describe('docker-compose.yml runs scripts/topology.ts', () => {
  it('on one Temporal release: the images, the Go builds of .ci/run and the cached binaries', () => {
    assert.equal(service('temporal').image, TEMPORAL_SERVER_IMAGE);
    for (const name of ['temporal-schema', 'temporal-namespace'])
      assert.equal(service(name).image, TEMPORAL_ADMIN_TOOLS_IMAGE, name);
    assert.equal(TEMPORAL_SERVER.version, `v${TEMPORAL_RELEASE}`);
    assert.equal(TEMPORAL_SQL_TOOL.version, `v${TEMPORAL_RELEASE}`);
  });

  it('.ci/run builds every Go tool the code runs, at its version, under its cached name, and nothing else', () => {
    const built = read('.ci/run')
      .split('\n')
      .map((line) => /^\s*go_tool (\S+) (\S+)$/.exec(line))
      .flatMap((m) => (m ? [`${m[1]} ${m[2]}`] : []));
    const tools = [
      TEMPORAL_CLI,
      TEMPORAL_UI_SERVER,
      PEBBLE,
      PEBBLE_CHALLTESTSRV,
      PEBBLE_WITHOUT_ARI,
      TEMPORAL_SERVER,
      TEMPORAL_SQL_TOOL,
    ];
    assert.deepEqual([...built].sort(), tools.map((tool) => `${tool.module}@${tool.version} ${tool.binary}`).sort());
  });

  it('sets the schema up with exactly the temporal-sql-tool argument lists of the description', () => {
    const text = script('temporal-schema');
    const sqlFunction = /sql\(\) \{ temporal-sql-tool (.+) "\$\$@"; \}/.exec(text)?.[1] ?? '';
    assert.deepEqual(sqlFunction.split(' '), sqlToolConnection('postgres', 5432, 'temporal'));
    assert.match(text, new RegExp(`^schema=${IMAGE_SCHEMA_DIR}$`, 'm'));
    const steps = text
      .split('\n')
      .filter((line) => line.startsWith('sql --db'))
      .map((line) => line.replaceAll('"$$schema', IMAGE_SCHEMA_DIR).replaceAll('"', '').split(' ').slice(1));
    assert.deepEqual(steps, temporalSchemaSteps(IMAGE_SCHEMA_DIR));
    assert.equal(service('temporal-schema').environment?.['SQL_PASSWORD'], TEMPORAL_PASSWORD);
  });

  it("gives the server the description's environment and dynamic config file", () => {
    const temporal = service('temporal');
    const dynamicConfigPath = `/etc/temporal/config/dynamicconfig/${path.basename(DYNAMIC_CONFIG_FILE)}`;
    assert.deepEqual(
      temporal.environment,
      temporalServerEnv({
        postgresHost: 'postgres',
        postgresPort: 5432,
        user: 'temporal',
        password: TEMPORAL_PASSWORD,
        dynamicConfigPath,
        logLevel: '${TEMPORAL_LOG_LEVEL:-warn}',
      }),
    );
    assert.ok(
      (temporal.volumes ?? []).includes(`./${path.dirname(DYNAMIC_CONFIG_FILE)}:${path.dirname(dynamicConfigPath)}:ro`),
    );
  });

  it("runs PostgreSQL with the description's server settings", () => {
    assert.deepEqual(service('postgres').command, ['postgres', ...postgresSettingArgs()]);
  });

  it("gives the worker and the web the description's memory settings", () => {
    for (const [name, settings] of Object.entries(CERTFLEET_PROCESS_ENV)) {
      const env = service(name).environment ?? {};
      for (const [key, value] of Object.entries(settings))
        assert.ok(
          env[key] === value || env[key] === `\${${key}:-${value}}`,
          `${name}: ${key} is ${value} (or \${${key}:-${value}}), not ${env[key]}`,
        );
    }
  });

  it('creates the namespace with the commands of the description', () => {
    const text = script('temporal-namespace');
    const commands = namespaceCommands('"$$TEMPORAL_ADDRESS"', '"$$NAMESPACE"', '"$$RETENTION"');
    for (const [step, args] of Object.entries(commands))
      assert.ok(text.includes(`temporal ${args.join(' ')}`), `${step}: temporal ${args.join(' ')}`);
    const env = service('temporal-namespace').environment ?? {};
    assert.equal(env['NAMESPACE'], `\${TEMPORAL_NAMESPACE:-${DEFAULT_NAMESPACE}}`);
    assert.equal(env['RETENTION'], `\${TEMPORAL_NAMESPACE_RETENTION:-${DEFAULT_NAMESPACE_RETENTION}}`);
  });

  it('runs the CertFleet services with their commands, in the start order of the description', () => {
    for (const [name, command] of Object.entries(CERTFLEET_SERVICES)) assert.deepEqual(service(name).command, command);
    const after = (name: string, seen = new Set<string>()): Set<string> => {
      for (const dependency of Object.keys(compose.services[name]?.depends_on ?? {}))
        if (!seen.has(dependency)) after(dependency, seen.add(dependency));
      return seen;
    };
    const lastTwo = START_ORDER.slice(-2);
    START_ORDER.forEach((name, i) => {
      const earlier = START_ORDER.slice(0, i).filter((e) => !(lastTwo.includes(name) && lastTwo.includes(e)));
      for (const e of earlier) assert.ok(after(name).has(e), `${name} starts after ${e}`);
    });
  });
});

describe('the server config of the process runner (scripts/temporal/server-config.ts)', () => {
  const ports = Object.fromEntries(SERVER_PORT_NAMES.map((name, i) => [name, 17000 + i])) as unknown as ServerPorts;
  const env = temporalServerEnv({
    postgresHost: '127.0.0.1',
    postgresPort: 5433,
    user: 'temporal',
    password: 'pw',
    dynamicConfigPath: '/x/docker.yaml',
    logLevel: 'warn',
  });
  const config = temporalServerConfig(env, ports) as {
    persistence: { numHistoryShards: number; datastores: Record<string, { sql: Record<string, unknown> }> };
    dynamicConfigClient: { filepath: string };
    services: Record<string, { rpc: { grpcPort: number; bindOnIP: string } }>;
  };

  it('is PostgreSQL persistence (postgres12) with SQL visibility on temporal_visibility, 4 shards, our dynamic config', () => {
    assert.equal(config.persistence.numHistoryShards, 4);
    const { default: main, visibility } = config.persistence.datastores;
    assert.deepEqual(
      [main?.sql['pluginName'], main?.sql['databaseName'], main?.sql['connectAddr'], main?.sql['user']],
      ['postgres12', 'temporal', '127.0.0.1:5433', 'temporal'],
    );
    assert.deepEqual(
      [visibility?.sql['pluginName'], visibility?.sql['databaseName'], visibility?.sql['connectAddr']],
      ['postgres12', 'temporal_visibility', '127.0.0.1:5433'],
    );
    // An idle pool smaller than its pool closes connections as they are returned: under load the server
    // then opened a PostgreSQL backend for almost every statement (idle 1: PostgreSQL 235 CPU-s for a
    // burst of 100 renewals, 33 with 20; docs/scaling.md, "The production topology at N = 100").
    assert.equal(TEMPORAL_SQL_POOLS.SQL_MAX_IDLE_CONNS, TEMPORAL_SQL_POOLS.SQL_MAX_CONNS);
    assert.equal(TEMPORAL_SQL_POOLS.SQL_VIS_MAX_IDLE_CONNS, TEMPORAL_SQL_POOLS.SQL_VIS_MAX_CONNS);
    assert.deepEqual(
      [main?.sql['maxConns'], main?.sql['maxIdleConns'], main?.sql['maxConnLifetime']],
      [
        Number(TEMPORAL_SQL_POOLS.SQL_MAX_CONNS),
        Number(TEMPORAL_SQL_POOLS.SQL_MAX_IDLE_CONNS),
        TEMPORAL_SQL_POOLS.SQL_MAX_CONN_TIME,
      ],
    );
    assert.deepEqual(
      [visibility?.sql['maxConns'], visibility?.sql['maxIdleConns'], visibility?.sql['maxConnLifetime']],
      [
        Number(TEMPORAL_SQL_POOLS.SQL_VIS_MAX_CONNS),
        Number(TEMPORAL_SQL_POOLS.SQL_VIS_MAX_IDLE_CONNS),
        TEMPORAL_SQL_POOLS.SQL_VIS_MAX_CONN_TIME,
      ],
    );
    assert.equal(config.dynamicConfigClient.filepath, '/x/docker.yaml');
    for (const [name, svc] of Object.entries(config.services)) assert.equal(svc.rpc.bindOnIP, '127.0.0.1', name);
    assert.equal(config.services['frontend']?.rpc.grpcPort, ports.frontendGrpc);
  });

  it("sets only keys the release defines (the module's common/dynamicconfig/constants.go) in our dynamic config", async () => {
    const constants = readFileSync(
      path.join(await temporalServerModuleDir(), 'common', 'dynamicconfig', 'constants.go'),
      'utf8',
    );
    const keys = Object.keys(parse(read(DYNAMIC_CONFIG_FILE)) as Record<string, unknown>);
    assert.ok(keys.length > 0);
    for (const key of keys) assert.ok(constants.includes(`"${key}"`), `${key} is a dynamic config key of the release`);
  });

  it('runs the dev server with the dynamic config values the production server has for the keys it sets', () => {
    const production = parse(read(DYNAMIC_CONFIG_FILE)) as Record<string, { value: unknown }[]>;
    const args = devServerArgs({ cliPath: 'temporal', port: 7233 });
    for (const [key, value] of Object.entries(DEV_SERVER_DYNAMIC_CONFIG)) {
      assert.deepEqual(
        production[key]?.map((v) => v.value),
        [value],
        `${DYNAMIC_CONFIG_FILE} sets ${key} to ${value}`,
      );
      const at = args.indexOf(`${key}=${String(value)}`);
      assert.ok(at > 0 && args[at - 1] === '--dynamic-config-value', `the dev server gets ${key}=${value}`);
    }
  });

  it("uses only variables the module's docker/config_template.yaml reads, as does compose's temporal service", async () => {
    const template = readFileSync(path.join(await temporalServerModuleDir(), 'docker', 'config_template.yaml'), 'utf8');
    const read = new Set([...template.matchAll(/\.Env\.([A-Z0-9_]+)/g)].map((m) => m[1]));
    const rendered = (name: string): boolean => !GO_RUNTIME_VARIABLES.includes(name);
    for (const name of Object.keys(env).filter(rendered)) assert.ok(read.has(name), `the template reads ${name}`);
    for (const name of Object.keys(service('temporal').environment ?? {}).filter(rendered))
      assert.ok(read.has(name), `the image renders compose's ${name}`);
  });
});
