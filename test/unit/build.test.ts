import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { startFakeCloudflare } from '../fakes/cloudflare/server';
import { buildDist, type BuildResult } from '../../scripts/build';
import { COMPILED_DIR, PROCESS_COMMANDS } from '../../scripts/processes';

const ROOT = path.join(__dirname, '..', '..');

describe('npm run build (scripts/build.ts)', () => {
  let dir = '';
  let result: BuildResult = { compiled: [], copied: [] };
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'certfleet-build-test-'));
    result = await buildDist(ROOT, path.join(dir, COMPILED_DIR));
    await symlink(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('compiles the file of every process command, and none of the tests or benchmarks', () => {
    for (const command of Object.values(PROCESS_COMMANDS))
      assert.ok(existsSync(path.join(dir, command.at(-1) ?? '')), command.join(' '));
    assert.ok(result.compiled.includes('workflows/index.ts'), 'the workflows, for a worker without a prebuilt bundle');
    assert.ok(!result.compiled.some((f) => /^(test|bench)\//.test(f)));
  });

  it('copies the files read next to the code at run time', () => {
    for (const file of [
      'activities/db/migrations/0001_init.sql',
      'activities/alerts/templates',
      'web/views/layouts/main.hbs',
      'web/openapi.yaml',
      'web/data/common-passwords.txt',
      'web/public',
    ])
      assert.ok(existsSync(path.join(dir, COMPILED_DIR, file)), file);
  });

  const run = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    spawnSync(process.execPath, args, { cwd: dir, env: { PATH: process.env['PATH'], ...env }, encoding: 'utf8' });

  it('runs without TypeScript: each process loads its modules and reaches its own checks', () => {
    const migrate = run([...PROCESS_COMMANDS.migrations.slice(1)], {});
    assert.equal(migrate.status, 1);
    assert.match(migrate.stderr, /DATABASE_URL is required/);
    // The web and the worker load every module they import before reading their configuration.
    const loaded = run(
      ['-e', `require('./${COMPILED_DIR}/web/app'); require('./${COMPILED_DIR}/worker/main'); console.log('loaded')`],
      {},
    );
    assert.equal(loaded.status, 0, loaded.stderr);
    assert.match(loaded.stdout, /loaded/);
  });

  /** The npm packages a fresh `node` holds after requiring `modules` of the build (and running `then`). */
  const packagesAfter = (modules: string[], then = ''): string[] => {
    const script =
      modules.map((m) => `require('./${COMPILED_DIR}/${m}');`).join('') +
      then +
      `console.log(JSON.stringify(Object.keys(require.cache).map((f) => /\\/node_modules\\/((?:@[^/]+\\/)?[^/]+)/.exec(f)?.[1])));`;
    const loaded = run(['-e', script]);
    assert.equal(loaded.status, 0, loaded.stderr);
    return [...new Set(JSON.parse(loaded.stdout.trim().split('\n').at(-1) ?? '[]') as (string | null)[])].filter(
      (p): p is string => typeof p === 'string',
    );
  };
  const DNS_SDKS = /^(cloudflare|@aws-sdk\/.*|@azure\/.*)$/;
  /** What the deployers talk to devices with (activities/deployers/registry.ts). */
  const DEVICE_SDKS = /^(ssh2|xml2js|basic-ftp|undici)$/;

  it('loads what a process may never use on first use: no DNS or device SDK at start, no node-forge in the web (issue 17 item 4)', () => {
    const web = packagesAfter(['web/app']);
    assert.ok(web.includes('express') && web.includes('@temporalio/client'), web.join(' '));
    assert.deepEqual(
      web.filter((p) => p === 'node-forge' || DNS_SDKS.test(p)),
      [],
    );
    const worker = packagesAfter(['worker/main', 'activities/index']);
    assert.ok(worker.includes('acme-client'), worker.join(' '));
    assert.deepEqual(
      worker.filter((p) => DNS_SDKS.test(p) || DEVICE_SDKS.test(p)),
      [],
    );
    // A deployer made for a vendor loads that vendor's SDK then.
    const ssh = packagesAfter(
      ['activities/deployers/registry'],
      `try { require('./${COMPILED_DIR}/activities/deployers/registry').deployerFactories.nginx({}); } catch {}`,
    );
    assert.ok(ssh.includes('ssh2'), ssh.join(' '));
    // A PFX download loads the builder and node-forge then.
    const pfx = packagesAfter(
      ['activities/crypto/pem'],
      `const { generateKeyPairSync } = require('node:crypto');` +
        `try { require('./${COMPILED_DIR}/activities/crypto/pem').buildPfx({ keyPem: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }), certPem: 'not a certificate', chainPems: [], password: 'x' }); } catch {}`,
    );
    assert.ok(pfx.includes('node-forge'), pfx.join(' '));
  });

  it("bundles the three Cloudflare resources CertFleet calls, not the SDK's 1,166 modules, and they work (issue 17 item 4)", async () => {
    const token = 'build-test-token-0123456789abcdefghijklmnop';
    const fake = await startFakeCloudflare({ token, zones: [{ name: 'example.test' }] });
    try {
      // The compiled provider client in a fresh node: verify, zone lookup, TXT create/list/delete, and a
      // rejected token classified through the bundle's own error classes.
      const folder = `./${COMPILED_DIR}/activities/dns-providers/cloudflare`;
      const script = `
        const { CloudflareClient } = require('${folder}/client');
        const { classifyCloudflareError } = require('${folder}/index');
        (async () => {
          const client = new CloudflareClient({ token: '${token}', baseUrl: '${fake.baseUrl}' });
          const zoneId = await client.findZoneId('example.test');
          const id = await client.createTxt(zoneId, '_acme-challenge.example.test', 'value-1', 120);
          const listed = (await client.listTxt(zoneId, '_acme-challenge.example.test')).map((r) => r.content);
          await client.deleteRecord(zoneId, id);
          const after = (await client.listTxt(zoneId, '_acme-challenge.example.test')).length;
          const rejected = await new CloudflareClient({ token: 'wrong', baseUrl: '${fake.baseUrl}' }).verifyToken()
            .then(() => 'accepted', (e) => classifyCloudflareError(e, 'verify').type);
          const sdkModules = Object.keys(require.cache).filter((f) => f.includes('/node_modules/cloudflare/')).length;
          console.log(JSON.stringify({ status: await client.verifyToken(), listed, after, rejected, sdkModules }));
        })().catch((e) => { console.error(e); process.exit(1); });`;
      const { stdout } = await promisify(execFile)(process.execPath, ['-e', script], {
        cwd: dir,
        env: { PATH: process.env['PATH'] },
      });
      assert.deepEqual(JSON.parse(stdout.trim()), {
        status: 'active',
        listed: ['value-1'],
        after: 0,
        rejected: 'DNS_AUTH_FAILED',
        sdkModules: 0,
      });
    } finally {
      await fake.close();
    }
  });
});
