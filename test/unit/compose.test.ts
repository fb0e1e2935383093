import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import {
  COMPILED_DIR,
  IN_PROCESS_MODULES,
  NPM_SCRIPTS,
  PROCESS_COMMANDS,
  sourceOfCompiled,
  type ProcessName,
} from '../../scripts/processes';
import { READ_ONLY_UI_SWITCHES } from '../../scripts/temporal/ui-server';
import { CERTFLEET_PROCESS_ENV, GLIBC_MALLOC_ENV } from '../../scripts/topology';

/**
 * No Docker engine runs here: docker-compose.yml, the Dockerfile and .dockerignore are validated as
 * data (what `docker compose config` would accept, plus CertFleet's own rules).
 */
interface DependsOn {
  condition?: string;
}
interface Service {
  image?: string;
  build?: unknown;
  profiles?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  healthcheck?: { test?: string[] };
  ports?: string[];
  expose?: string[];
  command?: string[] | string;
  entrypoint?: string[];
  depends_on?: Record<string, DependsOn>;
  restart?: string;
  configs?: { source: string; target: string }[];
  user?: string;
}
interface Compose {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
  configs?: Record<string, { content?: string; file?: string }>;
}

const ROOT = path.join(__dirname, '..', '..');
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');
const composeText = read('docker-compose.yml');
// Compose resolves YAML anchors and merge keys (<<) before anything else: so does this parse.
const compose = parse(composeText, { merge: true }) as Compose;
const envExample = read('.env.example');

function service(name: string): Service {
  const found = compose.services[name];
  assert.ok(found, `a "${name}" service`);
  return found;
}

/** Variables compose interpolates: `${NAME…}` and `$NAME`, not the `$$` that reaches a shell. */
function interpolatedVariables(text: string): Map<string, string[]> {
  const uses = new Map<string, string[]>();
  const unescaped = text.replaceAll('$$', '');
  for (const match of unescaped.matchAll(/\$(?:\{([A-Za-z_][A-Za-z0-9_]*)([^}]*)\}|([A-Za-z_][A-Za-z0-9_]*))/g)) {
    const name = match[1] ?? match[3] ?? '';
    uses.set(name, [...(uses.get(name) ?? []), match[2] ?? '']);
  }
  return uses;
}

/**
 * Defaults compose gives on purpose that differ from .env.example's (the config's, for `npm start`): the
 * production topology's memory settings (issue 17), and what the container's network needs.
 */
const COMPOSE_OWN_DEFAULTS: Record<string, string> = {
  ...CERTFLEET_PROCESS_ENV.worker,
  ...CERTFLEET_PROCESS_ENV.web,
  // A TLS proxy on the host reaches the container through the Docker network.
  TRUST_PROXY: 'loopback, uniquelocal',
};

const CERTFLEET_SERVICES = ['migrations', 'worker', 'web'] as const satisfies readonly ProcessName[];
const ONE_SHOTS = ['temporal-schema', 'temporal-namespace', 'migrations'];
const LONG_RUNNING = ['postgres', 'temporal', 'temporal-ui', 'worker', 'web', 'ftp', 'mailcatcher'];
const REQUIRED_SECRETS = ['CERTFLEET_MASTER_KEY', 'POSTGRES_PASSWORD', 'CERTFLEET_DB_PASSWORD', 'TEMPORAL_DB_PASSWORD'];

it('the SonicWall FTP drop runs only under the "sonicwall" profile, with its password from the environment', () => {
  const ftp = compose.services['ftp'];
  assert.ok(ftp, 'an ftp service');
  assert.deepEqual(ftp.profiles, ['sonicwall']);
  assert.match(ftp.environment?.['USERS'] ?? '', /\$\{CERTFLEET_FTP_PASSWORD:-\}/);
  // Not `:?` (that would stop `docker compose up` without the profile): the container refuses to
  // start without a password or an address, never running with an empty password.
  assert.equal(ftp.environment?.['FTP_PASSWORD_SET'], '${CERTFLEET_FTP_PASSWORD:+yes}');
  const guard = (ftp.entrypoint ?? []).join(' ');
  assert.match(
    guard,
    /if \[ -z "\$\$FTP_PASSWORD_SET" \] \|\| \[ -z "\$\$ADDRESS" \]; then[\s\S]*exit 1[\s\S]*exec \/bin\/start_vsftpd\.sh/,
  );
  assert.ok(!/password\|/i.test(ftp.environment?.['USERS'] ?? ''), 'no password written into the file');
  assert.ok(ftp.healthcheck, 'a healthcheck');
  const volume = (ftp.volumes ?? [])[0]?.split(':')[0] ?? '';
  assert.ok(volume && compose.volumes && volume in compose.volumes, 'a named volume');
  for (const name of ['CERTFLEET_FTP_PASSWORD', 'CERTFLEET_FTP_PUBLIC_ADDRESS'])
    assert.match(envExample, new RegExp(`^${name}=`, 'm'));
});

describe('docker-compose.yml', () => {
  it('parses, with the whole stack as services', () => {
    assert.equal(typeof compose, 'object');
    assert.deepEqual(Object.keys(compose.services).sort(), [
      'ftp',
      'mailcatcher',
      'migrations',
      'postgres',
      'temporal',
      'temporal-namespace',
      'temporal-schema',
      'temporal-ui',
      'web',
      'worker',
    ]);
  });

  it('pins every image it pulls (only the locally built CertFleet image, and the FTP drop kept as it was, float)', () => {
    for (const [name, svc] of Object.entries(compose.services)) {
      const image = svc.image ?? '';
      assert.ok(image, `${name} names an image`);
      if ((CERTFLEET_SERVICES as readonly string[]).includes(name)) {
        assert.equal(image, 'certfleet:${CERTFLEET_VERSION:-latest}', `${name}: the image built from ./Dockerfile`);
        assert.equal(svc.build, '.', `${name}: built from ./Dockerfile`);
        continue;
      }
      assert.equal(svc.build, undefined, `${name} is pulled, not built`);
      if (name === 'ftp') continue; // kept as is: delfer/alpine-ftp-server publishes :latest only
      const tag = /^[^:@]+:([^@]+)$/.exec(image)?.[1] ?? '';
      assert.ok(tag && tag !== 'latest' && !tag.includes('$'), `${name}: ${image} has a fixed tag`);
    }
    assert.doesNotMatch(
      service('temporal').image ?? '',
      /auto-setup/,
      'the plain server image, not the deprecated auto-setup',
    );
    assert.match(service('temporal').image ?? '', /^temporalio\/server:\d+\.\d+\.\d+$/);
  });

  it('uses one Temporal release for the server, its schema tool and the namespace step', () => {
    const server = /^temporalio\/server:(.+)$/.exec(service('temporal').image ?? '')?.[1] ?? '';
    for (const name of ['temporal-schema', 'temporal-namespace']) {
      const image = service(name).image ?? '';
      assert.match(image, /^temporalio\/admin-tools:/);
      assert.ok(
        image.startsWith(`temporalio/admin-tools:${server}`),
        `${name}: admin-tools ${server} like the server (${image})`,
      );
    }
  });

  it("keeps PostgreSQL on a named volume declared under volumes:, and Temporal's state in that PostgreSQL", () => {
    const [source, target] = (service('postgres').volumes ?? [])[0]?.split(':') ?? [];
    assert.equal(target, '/var/lib/postgresql/data');
    assert.ok(source && !source.startsWith('.') && !source.startsWith('/'), 'a named volume, not a bind mount');
    assert.ok(compose.volumes && source in compose.volumes, `${source} declared under volumes:`);
    const temporal = service('temporal').environment ?? {};
    assert.equal(temporal['DB'], 'postgres12');
    assert.equal(temporal['POSTGRES_SEEDS'], 'postgres');
    assert.equal(temporal['DBNAME'], 'temporal');
    assert.equal(temporal['VISIBILITY_DBNAME'], 'temporal_visibility');
    // Temporal mounts only its dynamic config (read-only); its data lives in the postgres volume.
    for (const volume of service('temporal').volumes ?? [])
      assert.match(volume, /:ro$/, `${volume} is read-only config`);
  });

  it('gives Temporal the dynamic config file of the repository', () => {
    const temporal = service('temporal');
    const file = temporal.environment?.['DYNAMIC_CONFIG_FILE_PATH'] ?? '';
    const mount = (temporal.volumes ?? [])
      .map((v) => v.split(':'))
      .find(([, target]) => target && file.startsWith(`${target}/`));
    assert.ok(mount, `${file} is inside a mounted folder`);
    const [hostDir = '', target = ''] = mount;
    const onHost = path.join(ROOT, hostDir, file.slice(target.length + 1));
    assert.ok(existsSync(onHost), `${onHost} exists`);
    const config = parse(readFileSync(onHost, 'utf8')) as Record<string, unknown>;
    assert.equal(typeof config, 'object');
  });

  it('creates the namespace once, after waiting for the server', () => {
    const ns = service('temporal-namespace');
    const script = [ns.command ?? []].flat().join('\n');
    assert.match(script, /until temporal operator cluster health/);
    assert.match(script, /if temporal operator namespace describe/, 'only when it does not exist yet');
    assert.match(script, /temporal operator namespace create/);
    assert.equal(ns.environment?.['NAMESPACE'], '${TEMPORAL_NAMESPACE:-default}');
    for (const name of CERTFLEET_SERVICES.filter((n) => n !== 'migrations')) {
      assert.equal(
        service(name).environment?.['TEMPORAL_NAMESPACE'],
        '${TEMPORAL_NAMESPACE:-default}',
        `${name} uses that namespace`,
      );
    }
  });

  it('has a healthcheck on every long-running service and none on the one-shots', () => {
    for (const name of LONG_RUNNING) {
      const test = service(name).healthcheck?.test ?? [];
      assert.ok(test.length > 1 && ['CMD', 'CMD-SHELL'].includes(test[0] ?? ''), `${name} has a healthcheck`);
    }
    for (const name of ONE_SHOTS) {
      assert.equal(service(name).healthcheck, undefined, `${name} is a one-shot`);
      assert.equal(service(name).restart, 'no', `${name} is not restarted`);
    }
    assert.match((service('postgres').healthcheck?.test ?? []).join(' '), /pg_isready/);
    assert.match(
      (service('temporal').healthcheck?.test ?? []).join(' '),
      /temporal operator cluster health --address temporal:7233/,
    );
    assert.match((service('web').healthcheck?.test ?? []).join(' '), /http:\/\/127\.0\.0\.1:3000\/healthz/);
    assert.match((service('worker').healthcheck?.test ?? []).join(' '), /http:\/\/127\.0\.0\.1:9464\/metrics/);
  });

  it('starts in the order npm start does: postgres → temporal-schema → temporal → temporal-namespace → migrations → worker, web', () => {
    for (const [name, svc] of Object.entries(compose.services)) {
      for (const [dependency, { condition }] of Object.entries(svc.depends_on ?? {})) {
        assert.ok(dependency in compose.services, `${name} depends on a known service (${dependency})`);
        const expected = ONE_SHOTS.includes(dependency) ? 'service_completed_successfully' : 'service_healthy';
        assert.equal(condition, expected, `${name} → ${dependency}`);
        if (expected === 'service_healthy')
          assert.ok(compose.services[dependency]?.healthcheck, `${dependency} has a healthcheck to wait for`);
        assert.equal(
          compose.services[dependency]?.profiles,
          undefined,
          `${name} does not depend on a profile-only service`,
        );
      }
    }
    const after = (name: string, seen = new Set<string>()): Set<string> => {
      for (const dependency of Object.keys(compose.services[name]?.depends_on ?? {})) {
        if (!seen.has(dependency)) {
          seen.add(dependency);
          after(dependency, seen);
        }
      }
      return seen;
    };
    const chain = ['postgres', 'temporal-schema', 'temporal', 'temporal-namespace', 'migrations'];
    chain.forEach((name, i) => {
      assert.ok(!after(name).has(name), `${name} does not wait for itself`);
      for (const earlier of chain.slice(0, i)) assert.ok(after(name).has(earlier), `${name} starts after ${earlier}`);
    });
    for (const name of ['worker', 'web']) {
      for (const earlier of chain) assert.ok(after(name).has(earlier), `${name} starts after ${earlier}`);
      assert.equal(service(name).depends_on?.['migrations']?.condition, 'service_completed_successfully');
    }
    assert.ok(after('temporal-ui').has('temporal'));
  });

  it('puts the FTP drop under "sonicwall", the mail catcher under "dev", and nothing else under a profile', () => {
    for (const [name, svc] of Object.entries(compose.services)) {
      const expected = ({ ftp: ['sonicwall'], mailcatcher: ['dev'] } as Record<string, string[]>)[name];
      assert.deepEqual(svc.profiles, expected, `${name} profiles`);
    }
  });

  it('runs the three CertFleet containers with the commands npm start runs in one process (scripts/processes.ts)', () => {
    for (const name of CERTFLEET_SERVICES) {
      assert.deepEqual(service(name).command, [...PROCESS_COMMANDS[name]], `${name} command`);
      assert.equal(service(name).entrypoint, undefined, `${name} keeps the image's entrypoint`);
    }
    assert.deepEqual(Object.keys(PROCESS_COMMANDS).sort(), [...CERTFLEET_SERVICES].sort());
  });

  it('documents every variable it reads in .env.example', () => {
    const uses = interpolatedVariables(composeText);
    assert.ok(uses.size > 10, 'variables found');
    for (const name of uses.keys())
      assert.match(envExample, new RegExp(`^${name}=`, 'm'), `${name} is in .env.example`);
  });

  it("gives a variable .env.example documents that file's value as its default", () => {
    // compose once checked renewals every 12 h (43200) while .env.example, the config and the README
    // said hourly: 6-day certificates would have renewed up to half a day late.
    const uses = interpolatedVariables(composeText);
    let compared = 0;
    for (const [name, forms] of uses) {
      const documented = COMPOSE_OWN_DEFAULTS[name] ?? new RegExp(`^${name}=(.*)$`, 'm').exec(envExample)?.[1];
      for (const form of forms) {
        // `${X:-}` leaves it unset unless given (.env.example then shows an example value).
        if (!form.startsWith(':-') || form === ':-' || documented === undefined) continue;
        assert.equal(form.slice(2), documented, `\${${name}${form}} defaults to .env.example's ${name}=${documented}`);
        compared += 1;
      }
    }
    assert.ok(compared > 5, `defaults compared: ${compared}`);
  });

  it('requires the secrets (${VAR:?…}) and writes none into the file', () => {
    const uses = interpolatedVariables(composeText);
    for (const name of REQUIRED_SECRETS) {
      const forms = uses.get(name) ?? [];
      assert.ok(forms.length > 0, `${name} is used`);
      for (const form of forms) assert.match(form, /^:\?./, `\${${name}} is required, with a message`);
    }
    const secretName = /PASSWORD|PWD|SECRET|TOKEN|(^|_)KEY$/;
    for (const [name, svc] of Object.entries(compose.services)) {
      for (const [variable, value] of Object.entries(svc.environment ?? {})) {
        if (secretName.test(variable)) {
          assert.match(
            String(value),
            /^\$\{[A-Z0-9_]+(:[?+-][^}]*)?\}$/,
            `${name}.${variable} comes from the environment`,
          );
        }
        if (/^[a-z]+:\/\/[^/]*@/.test(String(value))) {
          assert.match(
            String(value),
            /^[a-z]+:\/\/[^:/@]+:\$\{[A-Z0-9_]+:\?[^}]+\}@/,
            `${name}.${variable}: the password in the URL comes from the environment`,
          );
        }
      }
    }
    // The init script reads the role passwords from its own environment, at run time.
    const init = compose.configs?.['postgres-init']?.content ?? '';
    assert.match(init, /\\getenv certfleet_password CERTFLEET_DB_PASSWORD/);
    assert.match(init, /\\getenv temporal_password TEMPORAL_DB_PASSWORD/);
    assert.doesNotMatch(init, /PASSWORD\s+'/, 'no password literal in the init script');
    // The master key is only ever an environment variable: no key file, no volume for one.
    for (const name of CERTFLEET_SERVICES) {
      assert.equal(service(name).environment?.['CERTFLEET_MASTER_KEY_FILE'], undefined);
      assert.equal(service(name).volumes, undefined, `${name} mounts nothing`);
    }
  });

  it('gives the worker and the web the environment they need in a container', () => {
    for (const name of ['worker', 'web']) {
      const env = service(name).environment ?? {};
      assert.match(
        env['DATABASE_URL'] ?? '',
        /^postgres:\/\/certfleet:\$\{CERTFLEET_DB_PASSWORD:\?[^}]+\}@postgres:5432\/certfleet$/,
      );
      assert.match(env['CERTFLEET_MASTER_KEY'] ?? '', /^\$\{CERTFLEET_MASTER_KEY:\?/);
      assert.equal(env['TEMPORAL_ADDRESS'], 'temporal:7233');
      assert.ok(env['TEMPORAL_UI_URL']?.startsWith('${TEMPORAL_UI_URL'), 'TEMPORAL_UI_URL');
      assert.ok(env['PUBLIC_URL']?.startsWith('${PUBLIC_URL'), 'PUBLIC_URL');
    }
    assert.equal(service('web').environment?.['HOST'], '0.0.0.0', 'the web listens beyond its own loopback');
    assert.equal(service('migrations').environment?.['DATABASE_URL'], service('web').environment?.['DATABASE_URL']);
    const metrics = service('worker').environment?.['WORKER_METRICS_ADDRESS'] ?? '';
    assert.match(metrics, /:9464$/);
    assert.deepEqual(service('worker').expose, ['9464']);
  });

  it('publishes only the web, the Temporal UI, the mail catcher and the FTP drop, the first three on 127.0.0.1 by default', () => {
    for (const [name, svc] of Object.entries(compose.services)) {
      if (!['web', 'temporal-ui', 'mailcatcher', 'ftp'].includes(name))
        assert.equal(svc.ports, undefined, `${name} publishes nothing`);
    }
    assert.match(
      service('web').ports?.[0] ?? '',
      /^\$\{CERTFLEET_WEB_BIND:-127\.0\.0\.1\}:\$\{CERTFLEET_WEB_PORT:-3000\}:3000$/,
    );
    assert.match(
      service('temporal-ui').ports?.[0] ?? '',
      /^\$\{TEMPORAL_UI_BIND:-127\.0\.0\.1\}:\$\{TEMPORAL_UI_PORT:-\d+\}:8080$/,
    );
    assert.match(service('mailcatcher').ports?.[0] ?? '', /^127\.0\.0\.1:/);
  });

  it('keeps the Temporal frontend unpublished: reachable on the compose network only', () => {
    const temporal = service('temporal');
    assert.equal(temporal.ports, undefined, 'temporal publishes no port');
    assert.equal(
      (temporal as { network_mode?: string }).network_mode,
      undefined,
      'temporal does not share the host network',
    );
    for (const [name, svc] of Object.entries(compose.services)) {
      assert.ok(
        !(svc.ports ?? []).some((p) => /(^|:)7233(\/tcp)?$/.test(p.split(':').slice(-1)[0] ?? '')),
        `${name} publishes no Temporal frontend port`,
      );
    }
  });

  it('runs the Temporal UI read-only: every write, start and batch action off', () => {
    const env = service('temporal-ui').environment ?? {};
    for (const variable of Object.values(READ_ONLY_UI_SWITCHES)) assert.equal(env[variable], 'true', variable);
  });

  it("creates CertFleet's database and Temporal's role on the first PostgreSQL start", () => {
    const mount = service('postgres').configs?.find((c) => c.source === 'postgres-init');
    assert.ok(mount?.target.startsWith('/docker-entrypoint-initdb.d/') && mount.target.endsWith('.sql'));
    const init = compose.configs?.['postgres-init']?.content ?? '';
    assert.match(init, /CREATE ROLE certfleet LOGIN/);
    assert.match(init, /CREATE DATABASE certfleet OWNER certfleet/);
    assert.match(init, /CREATE ROLE temporal LOGIN CREATEDB/);
    assert.equal(service('temporal').environment?.['POSTGRES_USER'], 'temporal');
  });
});

describe('the processes of npm start', () => {
  it('are the modules scripts/start.ts runs in one process', () => {
    const start = read('scripts/start.ts');
    for (const [name, specifier] of Object.entries(IN_PROCESS_MODULES)) {
      assert.match(
        start,
        new RegExp(`from '${specifier.replaceAll('.', '\\.')}'`),
        `scripts/start.ts imports ${specifier} (${name})`,
      );
    }
  });

  it('each run alone as a script (the compiled file of a source that runs its main when executed)', () => {
    for (const [name, command] of Object.entries(PROCESS_COMMANDS)) {
      const file = sourceOfCompiled(command.at(-1) ?? '');
      assert.ok(existsSync(path.join(ROOT, file)), `${file} exists (${name})`);
      const source = read(file);
      // worker/main.ts and web/server.ts are also imported by scripts/start.ts, so they guard their
      // main; scripts/migrate.ts is imported by nothing and may call it directly.
      if (name === 'migrations')
        assert.match(source, /require\.main === module|^main\(\)/m, `${file} runs when executed`);
      else assert.match(source, /require\.main === module/, `${file} runs its main only when executed`);
    }
    assert.match(read('scripts/migrate.ts'), /from '\.\.\/activities\/db\/migrate'/, 'the same migrate() as npm start');
  });

  it('have npm scripts that build, then run the same commands', () => {
    const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
    assert.match(pkg.scripts['build'] ?? '', /scripts\/build\.ts$/);
    for (const [name, script] of Object.entries(NPM_SCRIPTS)) {
      assert.equal(pkg.scripts[script], PROCESS_COMMANDS[name as ProcessName].join(' '), `npm run ${script}`);
      assert.equal(pkg.scripts[`pre${script}`], 'npm run build', `npm run ${script} builds first`);
    }
  });

  it('run compiled JavaScript, no TypeScript loader (a tsx process keeps an esbuild service resident)', () => {
    for (const [name, command] of Object.entries(PROCESS_COMMANDS) as [string, readonly string[]][]) {
      assert.ok(!command.includes('tsx') && !command.includes('--import'), `${name}: ${command.join(' ')}`);
      assert.match(command.at(-1) ?? '', new RegExp(`^${COMPILED_DIR}/.+\\.js$`), `${name} runs a file of dist/`);
    }
  });
});

/** Instructions of a Dockerfile (continuations joined, comments dropped), grouped by stage. */
function dockerfileStages(text: string): { from: string; instructions: [string, string][] }[] {
  const lines = text
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const stages: { from: string; instructions: [string, string][] }[] = [];
  for (const line of lines) {
    const [, keyword = '', rest = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    const upper = keyword.toUpperCase();
    if (upper === 'FROM') stages.push({ from: rest, instructions: [] });
    else stages.at(-1)?.instructions.push([upper, rest]);
  }
  return stages;
}

describe('Dockerfile', () => {
  const text = read('Dockerfile');
  const stages = dockerfileStages(text);
  const final = stages.at(-1);

  it('is multi-stage, on Node 20', () => {
    assert.ok(stages.length >= 2, 'at least two FROM stages');
    assert.match(text, /^ARG NODE_IMAGE=node:20-bookworm-slim$/m);
    for (const stage of stages) assert.match(stage.from, /^\$\{NODE_IMAGE\} AS \S+$/, `FROM ${stage.from}`);
  });

  it('runs as a user that is not root in the final stage', () => {
    const users = (final?.instructions ?? []).filter(([k]) => k === 'USER').map(([, v]) => v);
    assert.ok(users.length > 0, 'a USER in the final stage');
    assert.ok(!['root', '0', '0:0'].includes(users.at(-1) ?? 'root'), `USER ${users.at(-1)}`);
  });

  it('builds the workflow bundle and points WORKFLOW_BUNDLE_PATH at it', () => {
    const build = stages
      .flatMap((s) => s.instructions)
      .find(([k, v]) => k === 'RUN' && v.includes('worker/build-workflow-bundle.ts'));
    assert.ok(build, 'a RUN of worker/build-workflow-bundle.ts');
    const out = /build-workflow-bundle\.ts\s+(\S+)/.exec(build[1])?.[1] ?? '';
    assert.match(out, /^\/\S+\.js$/, 'an absolute output path');
    const env = (final?.instructions ?? [])
      .filter(([k]) => k === 'ENV')
      .map(([, v]) => v)
      .join(' ');
    assert.match(
      env,
      new RegExp(`WORKFLOW_BUNDLE_PATH=${out.replaceAll('.', '\\.')}(\\s|$)`),
      'WORKFLOW_BUNDLE_PATH is the built file',
    );
    assert.match(env, /NODE_ENV=production/);
    const copied = (final?.instructions ?? []).some(
      ([k, v]) => k === 'COPY' && v.startsWith('--from=') && (v.includes(out) || v.includes(`${path.dirname(out)} `)),
    );
    assert.ok(copied, 'the bundle is copied into the final stage');
  });

  it("sets glibc malloc's settings of scripts/topology.ts for the image's processes", () => {
    const env = (final?.instructions ?? [])
      .filter(([k]) => k === 'ENV')
      .map(([, v]) => v)
      .join(' ');
    for (const [name, value] of Object.entries(GLIBC_MALLOC_ENV))
      assert.match(env, new RegExp(`(^|\\s)${name}=${value}(\\s|$)`), `ENV ${name}=${value}`);
  });

  it('installs production dependencies only in the final image, and bakes in no secret', () => {
    assert.match(text, /npm ci --omit=dev/);
    const env = stages
      .flatMap((s) => s.instructions)
      .filter(([k]) => k === 'ENV' || k === 'ARG')
      .map(([, v]) => v)
      .join(' ');
    assert.doesNotMatch(env, /MASTER_KEY|PASSWORD|DATABASE_URL|SECRET|TOKEN/);
    assert.doesNotMatch(text, /^COPY\s+.*\.env\b/m);
  });

  it('compiles the processes in the build stage and ships the compiled tree, without TypeScript sources', () => {
    const build = stages.flatMap((s) => s.instructions).find(([k, v]) => k === 'RUN' && v.includes('npm run build'));
    assert.ok(build, 'a RUN of npm run build');
    const copies = (final?.instructions ?? []).filter(([k]) => k === 'COPY').map(([, v]) => v);
    assert.ok(copies.includes(`--from=build /app/${COMPILED_DIR} ./${COMPILED_DIR}`), 'dist/ copied into the image');
    for (const folder of ['activities', 'web', 'worker', 'workflows'])
      assert.ok(!copies.some((v) => v.startsWith(`${folder} `)), `no ${folder}/ sources in the final stage`);
  });

  it('runs the web by default, with a command from scripts/processes.ts', () => {
    const cmd =
      (final?.instructions ?? [])
        .filter(([k]) => k === 'CMD')
        .map(([, v]) => v)
        .at(-1) ?? '';
    assert.deepEqual(JSON.parse(cmd), [...PROCESS_COMMANDS.web]);
  });

  it('has a .dockerignore that keeps local state and secrets out of the build context', () => {
    const ignored = read('.dockerignore')
      .split(/\r?\n/)
      .map((l) => l.trim());
    for (const entry of ['node_modules', 'data', '.git', '**/.env'])
      assert.ok(ignored.includes(entry), `${entry} ignored`);
  });
});
