/**
 * The IIS deployer against the IIS simulator (test/fakes/iis/: an ssh2 server that recognises
 * CertFleet's PowerShell scripts; no Windows was available): the shared deployer contract, then IIS
 * cases — the -EncodedCommand transport, reply parsing, the uploaded PFX always deleted, the
 * 0x80070520 logon-session failure with nothing left half-bound, SNI, the WebHosting store, legacy
 * PFX, descriptor validation and host-key pinning.
 *
 *   npx tsx --test test/unit/deployer-iis.test.ts
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  iisDescriptor,
  parseIisBinding,
  parseIisCredentials,
  parseIisOptions,
  parseSiteBinding,
} from '../../activities/deployers/iis/descriptor';
import { createIisDeployer, thumbprintOf } from '../../activities/deployers/iis/index';
import { connectSsh } from '../../activities/deployers/ssh/session';
import {
  buildScript,
  compact,
  decodeCommand,
  encodeCommand,
  MAX_COMMAND_LENGTH,
  parseReply,
  psJsonLiteral,
  readReply,
  SCRIPT_OPERATIONS,
  scriptTemplate,
  stderrText,
} from '../../activities/deployers/iis/scripts';
import type { CertificateMaterial, Deployer, DeployerContext, StagedObjects } from '../../activities/deployers/types';
import { servedCertificate } from '../../activities/deployers/verify-served';
import { ClassifiedError } from '../../activities/errors';
import { FailureType } from '../../temporal/contract';
import { assertChecksPassed, rejection as rejectionOf } from '../support/assertions';
import { suiteTestCa } from '../support/suite-ca';
import { runDeployerContract } from '../support/deployer-contract';
import { psError, toClixml } from '../fakes/iis/powershell';
import { startFakeIis, type FakeIis, type FakeIisOptions } from '../fakes/iis/server';

const rejection = (promise: Promise<unknown>): Promise<ClassifiedError> => rejectionOf(promise, ClassifiedError);

/** SSH targets keep their pin in the options; the contract sets target.trust (see webservers.ts pinFromTrust). */
function pinFromTrust(ctx: DeployerContext): DeployerContext {
  const trust = ctx.target.trust;
  if (!('fingerprintSha256' in trust)) return ctx;
  return {
    ...ctx,
    target: { ...ctx.target, options: { ...ctx.target.options, hostKeySha256: trust.fingerprintSha256 } },
  };
}

interface TargetInput {
  options?: Record<string, unknown>;
  credentials?: Record<string, string>;
  binding?: Record<string, unknown>;
}

function iisContext(fake: FakeIis, sites: string[], input: TargetInput = {}): DeployerContext {
  return {
    target: {
      id: 'target-iis',
      name: 'iis-test',
      host: fake.host,
      port: fake.port,
      trust: { fingerprintSha256: fake.hostKeyHex },
      credentials: input.credentials ?? { username: fake.username, privateKey: fake.privateKey },
      options: { hostKeySha256: fake.hostKeySha256, ...input.options },
    },
    binding: input.binding ?? { sites },
  };
}

async function use<T>(ctx: DeployerContext, work: (d: Deployer) => Promise<T>): Promise<T> {
  const deployer = createIisDeployer(ctx);
  try {
    return await work(deployer);
  } finally {
    await deployer.close();
  }
}

/** Runs `work` against a fake IIS started with `options`, and stops it afterwards. */
async function withFakeIis<T>(options: FakeIisOptions, work: (fake: FakeIis) => Promise<T>): Promise<T> {
  const fake = await startFakeIis(options);
  try {
    return await work(fake);
  } finally {
    await fake.stop();
  }
}

const served = async (fake: FakeIis, site: string, index = 0): Promise<string> =>
  (await servedCertificate(fake.endpoint(site, index), 3000)).fingerprintSha256;
const pfxUploads = (fake: FakeIis): string[] => fake.disk.files().filter((f) => f.toLowerCase().endsWith('.pfx'));
const keyLine = (m: CertificateMaterial): string => m.keyPem.split('\n')[1] ?? 'x';

// ---------------------------------------------------------------------------------------------
// The shared contract

runDeployerContract({
  vendor: 'iis',
  create: (ctx) => createIisDeployer(pinFromTrust(ctx)),
  async setup() {
    const fake = await startFakeIis({
      sites: [
        { name: 'Default Web Site', bindings: [{}] },
        { name: 'Shop', bindings: [{ host: 'shop.example.test' }] },
      ],
    });
    const context = iisContext(fake, [fake.entry('Default Web Site'), fake.entry('Shop')]);
    return {
      context,
      endpoints: [fake.endpoint('Default Web Site'), fake.endpoint('Shop')],
      fake: fake.view(),
      withWrongCredentials: () => ({
        ...context,
        target: { ...context.target, credentials: { username: fake.username, privateKey: fake.wrongPrivateKey } },
      }),
      stop: () => fake.stop(),
    };
  },
});

// ---------------------------------------------------------------------------------------------
// Scripts: transport and replies (no server)

describe('iis scripts', () => {
  it('a script travels only as powershell.exe -NoProfile -NonInteractive -EncodedCommand <base64 UTF-16LE> and decodes back', () => {
    const script = buildScript('probe', { store: 'My', uploadDirectory: 'C:\\ProgramData\\CertFleet\\upload' });
    const command = encodeCommand(script);
    const match = /^powershell\.exe -NoProfile -NonInteractive -EncodedCommand ([A-Za-z0-9+/]+={0,2})$/.exec(command);
    assert.ok(match?.[1], command.slice(0, 80));
    assert.equal(Buffer.from(match[1], 'base64').toString('utf16le'), script);
    assert.equal(decodeCommand(command), script);
    assert.equal(decodeCommand(`cmd.exe /c ${command}`), undefined);
    assert.match(script, /^# certfleet:probe\n/);
    assert.ok(command.length <= MAX_COMMAND_LENGTH);
  });

  it('parameters are one ASCII-only JSON line inside single quotes: quotes doubled, non-ASCII \\u-escaped', () => {
    const params = { site: "O'Brien Café ‘shop’", n: 1 };
    const literal = psJsonLiteral(params);
    assert.ok(/^'[\x20-\x7e]*'$/.test(literal), literal);
    assert.ok(!/[‘’]/.test(literal), 'no typographic quotes (PowerShell treats them as quotes too)');
    assert.deepEqual(JSON.parse(literal.slice(1, -1).replace(/''/g, "'")), params);
    const readParams = { bindings: [{ site: params.site, bindingInformation: '*:443:' }], certificates: [] };
    const script = buildScript('read-bindings', readParams);
    assert.ok(script.split('\n').includes(`$p=ConvertFrom-Json -InputObject ${psJsonLiteral(readParams)}`));
  });

  it('compaction removes comments, indentation and spaces PowerShell does not need, and leaves every string literal as written', () => {
    for (const operation of SCRIPT_OPERATIONS) {
      const params = {
        store: 'My',
        uploadDirectory: 'C:\\x',
        bindings: [],
        certificates: [],
        thumbprint: '',
        path: '',
        password: '',
        friendlyName: '',
        chain: 0,
        thumbprints: [],
      };
      const script = buildScript(operation, params);
      assert.ok(
        !script.split('\n').some((line) => line.startsWith('#') && !line.startsWith('# certfleet:')),
        `${operation}: no comment lines`,
      );
      assert.ok(!script.split('\n').some((line) => /^\s/.test(line)), `${operation}: no indentation`);
      const literals = (text: string): string[] =>
        text
          .split('\n')
          .filter((l) => !l.trim().startsWith('#') && !l.startsWith('$p='))
          .join('\n')
          .match(/'[^'\n]*'|"[^"\n]*"/g) ?? [];
      assert.deepEqual(
        literals(compact(scriptTemplate(operation))),
        literals(scriptTemplate(operation)),
        `${operation}: literals unchanged`,
      );
    }
  });

  it('parseReply takes the last JSON object line of stdout (BOM and noise tolerated)', () => {
    assert.deepEqual(parseReply('\uFEFF{"a":1}\r\n'), { a: 1 });
    assert.deepEqual(parseReply('WARNING: something\r\n{"a":1}\r\n{"b":2}\r\n'), { b: 2 });
    assert.deepEqual(parseReply('{"b":2}\r\n{not json\r\n'), { b: 2 });
    assert.equal(parseReply('[1,2]\r\n'), undefined);
    assert.equal(parseReply(''), undefined);
    assert.equal(parseReply('Exception calling "Open"'), undefined);
  });

  it('CLIXML on stderr is decoded to its error lines', () => {
    const raw =
      '#< CLIXML\r\n<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04"><Obj S="progress" RefId="0"><TN RefId="0"><T>System.Management.Automation.PSCustomObject</T></TN></Obj><S S="Error">Access to the path &apos;C:\\x&apos; is denied._x000D__x000A_</S><S S="Error">At line:1 char:1 &lt;here&gt; a_x005F_x0041_b_x000D__x000A_</S></Objs>';
    assert.equal(stderrText(raw), "Access to the path 'C:\\x' is denied.\r\nAt line:1 char:1 <here> a_x0041_b");
    assert.equal(stderrText(toClixml(psError('boom', 'X'))).split('\r\n')[0], 'boom');
    assert.equal(stderrText('plain text'), 'plain text');
  });

  it('readReply: errors are classified, trimmed, with secrets redacted; no JSON is an error too', () => {
    const secret = 'S3cretPfxPassw0rd';
    const logon = rejectionSync(() =>
      readReply(
        'iis',
        'binding',
        {
          code: 1,
          stdout: '',
          stderr: psError(
            `Exception calling "CommitChanges" with "0" argument(s): "A specified logon session does not exist. It may already have been terminated. (Exception from HRESULT: 0x80070520)" ${secret}`,
            'COMException',
          ),
        },
        { secrets: [secret] },
      ),
    );
    assert.equal(logon.type, FailureType.targetRejected);
    assert.match(logon.message, /^iis: binding failed \(exit 1\): Exception calling "CommitChanges"/);
    assert.match(logon.message, /MachineKeySet/);
    assert.ok(!logon.message.includes(secret) && logon.message.includes('[redacted]'));
    const denied = rejectionSync(() =>
      readReply('iis', 'import', {
        code: 1,
        stdout: '',
        stderr: toClixml(
          psError("Access to the path 'C:\\ProgramData\\CertFleet\\upload' is denied.", 'UnauthorizedAccessException'),
        ),
      }),
    );
    assert.equal(denied.type, FailureType.targetPermission);
    assert.ok(!denied.message.includes('<Objs'), denied.message);
    const busy = rejectionSync(() =>
      readReply('iis', 'x', {
        code: 1,
        stdout: '',
        stderr: 'The process cannot access the file because it is being used by another process.',
      }),
    );
    assert.equal(busy.type, FailureType.targetUnreachable, 'a locked applicationHost.config is worth a retry');
    const cmd = rejectionSync(() =>
      readReply('iis', 'x', {
        code: 1,
        stdout: '',
        stderr: "'powershell.exe' is not recognized as an internal or external command,",
      }),
    );
    assert.match(cmd.message, /Windows PowerShell/);
    const noJson = rejectionSync(() => readReply('iis', 'probe', { code: 0, stdout: 'hello\r\n', stderr: '' }));
    assert.equal(noJson.type, FailureType.targetRejected);
    assert.match(noJson.message, /printed no JSON reply: hello/);
    assert.deepEqual(readReply('iis', 'probe', { code: 0, stdout: '{"ok":true}\r\n', stderr: '' }), { ok: true });
  });
});

function rejectionSync(run: () => unknown): ClassifiedError {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof ClassifiedError, String(error));
    return error;
  }
  assert.fail('expected a ClassifiedError');
}

// ---------------------------------------------------------------------------------------------
// Descriptor

describe('iis descriptor', () => {
  it('is an SSH target: no management TLS, the shared SSH credentials, port 22', () => {
    assert.equal(iisDescriptor.id, 'iis');
    assert.equal(iisDescriptor.managementTls, false);
    assert.equal(iisDescriptor.defaultPort, 22);
    assert.deepEqual(
      iisDescriptor.credentialFields.map((f) => f.name),
      ['username', 'privateKey', 'passphrase', 'password'],
    );
    assert.deepEqual(
      iisDescriptor.bindingFields.map((f) => f.name),
      ['sites', 'sni'],
    );
  });

  it('options: defaults, store names, pin, upload directory', () => {
    const defaults = parseIisOptions({});
    assert.deepEqual(defaults.errors, {});
    assert.deepEqual(defaults.value, {
      store: 'My',
      legacyPfx: false,
      uploadDirectory: 'C:\\ProgramData\\CertFleet\\upload',
    });
    const set = parseIisOptions({
      store: 'webhosting',
      legacyPfx: 'on',
      uploadDirectory: 'd:/Temp/CertFleet Upload/',
      hostKeySha256: 'ab'.repeat(32),
    });
    assert.deepEqual(set.errors, {});
    assert.deepEqual(set.value, {
      store: 'WebHosting',
      legacyPfx: true,
      uploadDirectory: 'D:\\Temp\\CertFleet Upload',
      hostKeySha256: `SHA256:${Buffer.from('ab'.repeat(32), 'hex').toString('base64').replace(/=+$/, '')}`,
    });
    const bad = parseIisOptions({ store: 'Root', legacyPfx: 'maybe', uploadDirectory: 'C:\\', hostKeySha256: 'nope' });
    assert.deepEqual(Object.keys(bad.errors).sort(), ['hostKeySha256', 'legacyPfx', 'store', 'uploadDirectory']);
    for (const dir of [
      'relative\\dir',
      'C:\\a\\..\\b',
      'C:\\a"b',
      'C:\\a;b',
      '\\\\server\\share\\x',
      'C:\\a\\b.',
      `C:\\${'x'.repeat(220)}`,
    ]) {
      assert.ok(parseIisOptions({ uploadDirectory: dir }).errors['uploadDirectory'], dir);
    }
  });

  it('credentials: the shared SSH rules, plus DOMAIN\\user', () => {
    assert.deepEqual(parseIisCredentials({ username: 'CORP\\svc-certfleet', password: 'pw' }), {
      value: { username: 'CORP\\svc-certfleet', password: 'pw' },
      errors: {},
    });
    assert.deepEqual(parseIisCredentials({ username: 'svc@corp.example', password: 'pw' }).errors, {});
    assert.ok(parseIisCredentials({ username: 'CORP\\-bad', password: 'pw' }).errors['username']);
    assert.ok(parseIisCredentials({ username: 'Administrator' }).errors['privateKey'], 'a key or a password');
  });

  it('site bindings: "Site name|IP:port:host", validated and normalised', () => {
    assert.deepEqual(parseSiteBinding('Default Web Site|*:443:WWW.Example.com').binding, {
      site: 'Default Web Site',
      bindingInformation: '*:443:www.example.com',
      ip: '*',
      port: 443,
      host: 'www.example.com',
    });
    assert.deepEqual(parseSiteBinding(' Shop | 10.0.0.5:8443: ').binding, {
      site: 'Shop',
      bindingInformation: '10.0.0.5:8443:',
      ip: '10.0.0.5',
      port: 8443,
      host: '',
    });
    assert.equal(parseSiteBinding('V6|[2001:DB8::1]:443:').binding?.bindingInformation, '[2001:db8::1]:443:');
    const refused: [string, RegExp][] = [
      ['Default Web Site *:443:x', /write the site name, "\|"/],
      ['|*:443:x', /site name is missing/],
      ['Bad/Name|*:443:', /cannot contain/],
      ['Site|*:443', /IP:port:host/],
      ['Site|*:0:', /port must be/],
      ['Site|*:70000:', /port must be/],
      ['Site|300.1.1.1:443:', /not "\*", an IPv4/],
      ['Site|[12345::1]:443:', /bracketed IPv6/],
      ['Site|*:443:*.example.com', /wildcard/],
      ['Site|*:443:bad_host', /not a host name/],
    ];
    for (const [raw, pattern] of refused) assert.match(parseSiteBinding(raw).error ?? '', pattern, raw);
  });

  it('binding: a list (array or lines), no duplicates, SNI needs host names, endpoints from the bindings', () => {
    const ok = parseIisBinding({
      sites: 'Default Web Site|*:443:www.example.com\nShop|*:443:shop.example.com',
      sni: 'on',
    });
    assert.deepEqual(ok.errors, {});
    assert.deepEqual(ok.value, {
      sites: ['Default Web Site|*:443:www.example.com', 'Shop|*:443:shop.example.com'],
      sni: true,
    });
    assert.ok(parseIisBinding({}).errors['sites']);
    assert.match(
      parseIisBinding({ sites: ['A|*:443:x.example', 'a|*:443:X.example'] }).errors['sites'] ?? '',
      /listed twice/,
    );
    assert.match(
      parseIisBinding({ sites: ['A|*:443:x.example', 'B|*:443:x.example'] }).errors['sites'] ?? '',
      /for both A and B/,
    );
    assert.match(parseIisBinding({ sites: ['A|*:443:'], sni: true }).errors['sni'] ?? '', /SNI needs a host name/);
    assert.match(
      parseIisBinding({ sites: Array.from({ length: 33 }, (_, i) => `S${i}|*:443:h${i}.example`) }).errors['sites'] ??
        '',
      /at most 32/,
    );
    assert.deepEqual(
      iisDescriptor.defaultVerifyEndpoints(
        { host: 'web1.example.com', port: 22, options: {} },
        { sites: ['A|*:443:', 'B|*:443:b.example.com', 'C|10.0.0.7:8443:', 'D|[::1]:443:d.example.com'] },
      ),
      [
        { host: 'web1.example.com', port: 443 },
        { host: 'web1.example.com', port: 443, servername: 'b.example.com' },
        { host: '10.0.0.7', port: 8443 },
        { host: '::1', port: 443, servername: 'd.example.com' },
      ],
    );
  });

  it('an invalid configuration is refused before connecting (VALIDATION)', async () => {
    await withFakeIis({}, async (fake) => {
      const error = await rejection(use(iisContext(fake, ['no bar here']), (d) => d.preflight()));
      assert.equal(error.type, FailureType.validation);
      assert.match(error.message, /binding\.sites/);
      assert.equal(fake.authAttempts(), 0);
    });
  });
});

// ---------------------------------------------------------------------------------------------
// The deployer against the simulator

const SITES: FakeIisOptions['sites'] = [
  { name: 'Default Web Site', bindings: [{}] },
  // Shop and Blog share one port (one HTTP.sys ipport entry unless SNI separates them).
  { name: 'Shop', bindings: [{ host: 'shop.example.test', portGroup: 'shared' }] },
  { name: 'Blog', bindings: [{ host: 'blog.example.test', portGroup: 'shared' }] },
];

describe('iis', () => {
  const ca = suiteTestCa();
  let fake: FakeIis;
  const versions: CertificateMaterial[] = [];
  /** A version not staged anywhere yet (each test that needs a fresh import takes its own). */
  const fresh = (keyType: CertificateMaterial['keyType'] = 'ecdsa-p256'): CertificateMaterial => {
    const v = ca.issue('www.example.test', keyType);
    versions.push(v);
    return v;
  };
  const ctx = (sites: string[] = [fake.entry('Default Web Site')], input: TargetInput = {}): DeployerContext =>
    iisContext(fake, sites, input);
  /** The certificate hash on `site`'s binding. */
  const boundHash = (site: string): string | undefined => fake.binding(site, fake.bindingInformation(site))?.hash;
  /** Both sites serve a `base` version, and another is staged: where the partial-failure cases start. */
  const stagedOverBase = async (): Promise<{ sites: string[]; base: CertificateMaterial; staged: StagedObjects }> => {
    const sites = [fake.entry('Default Web Site'), fake.entry('Shop')];
    const base = fresh();
    await use(ctx(sites), async (d) => d.activate(await d.stage(base)));
    const v = fresh();
    return { sites, base, staged: await use(ctx(sites), (d) => d.stage(v)) };
  };

  before(async () => {
    fake = await startFakeIis({ sites: SITES });
  });
  after(async () => {
    await fake?.stop();
  });

  it('every command is the -EncodedCommand shape, decodes to the script built for it, and the PFX password is never in clear text', async () => {
    const v = fresh();
    const start = fake.commands().length;
    await use(ctx(), (d) => d.preflight());
    const staged = await use(ctx(), (d) => d.stage(v));
    await use(ctx(), (d) => d.activate(staged));
    const commands = fake.commands().slice(start);
    const scripts = fake.scripts().slice(-commands.length);
    assert.deepEqual(
      scripts.map((s) => s.operation),
      ['probe', 'read-bindings', 'stage-check', 'import', 'read-bindings', 'set-bindings'],
    );
    for (const [i, command] of commands.entries()) {
      assert.match(command, /^powershell\.exe -NoProfile -NonInteractive -EncodedCommand [A-Za-z0-9+/]+={0,2}$/);
      assert.ok(command.length <= MAX_COMMAND_LENGTH);
      const script = decodeCommand(command) ?? '';
      assert.equal(script, scripts[i]?.script);
      assert.equal(script.split('\n')[0], `# certfleet:${scripts[i]?.operation}`);
    }
    assert.equal(
      decodeCommand(commands[0] ?? ''),
      buildScript('probe', { store: 'My', uploadDirectory: 'C:\\ProgramData\\CertFleet\\upload' }),
      'the probe is exactly the built script',
    );
    const imported = scripts.find((s) => s.operation === 'import');
    const password = String(imported?.params['password']);
    assert.match(password, /^[A-Za-z0-9_-]{32}$/, 'a random password per upload');
    assert.ok(
      commands.every((c) => !c.includes(password)),
      'the password is inside the base64 only',
    );
    assert.equal(scripts.filter((s) => s.script.includes(password)).length, 1, 'and only in the import script');
    assert.deepEqual(imported?.params, {
      path: imported?.params['path'],
      password,
      store: 'My',
      thumbprint: thumbprintOf(v.certPem),
      friendlyName: imported?.params['friendlyName'],
      chain: 1,
    });
    assert.match(String(imported?.params['path']), /^C:\\ProgramData\\CertFleet\\upload\\certfleet-[0-9a-f]{16}\.pfx$/);
  });

  it('preflight: versions, passing checks, "site X binding …: <old> → new certificate", and changes nothing', async () => {
    const before = fake.view().mutatingCalls();
    const report = await use(ctx([fake.entry('Default Web Site'), fake.entry('Shop')]), (d) => d.preflight());
    assert.equal(
      report.firmware,
      'IIS 10.0 on Windows Server 2019 Datacenter (build 17763), PowerShell 5.1.17763.1432',
    );
    assertChecksPassed(report, [
      'SSH host key',
      'SSH login',
      'SFTP',
      'PowerShell',
      'IIS',
      'IIS configuration API',
      'Administrator',
      'Certificate store',
      'PFX encryption',
      'Upload directory',
      `binding Default Web Site ${fake.bindingInformation('Default Web Site')}`,
      `binding Shop ${fake.bindingInformation('Shop')}`,
    ]);
    const current = fake.certificate('My', boundHash('Shop') ?? '');
    const expected = `site "Shop" binding ${fake.bindingInformation('Shop')}: ${current?.thumbprint.slice(0, 12)}… (${/CN=([^,]+)/.exec(current?.subject ?? '')?.[1]}, expires ${current?.notAfter.toISOString().slice(0, 10)}) → new certificate`;
    assert.ok(report.changes.includes(expected), `${expected}\n---\n${report.changes.join('\n')}`);
    assert.match(report.changes[0] ?? '', /^import the new certificate into Cert:\\LocalMachine\\My/);
    assert.equal(fake.view().mutatingCalls(), before);
  });

  it('stage uploads a PFX over SFTP, imports it with MachineKeySet|PersistKeySet (key usable by HTTP.sys), deletes it, and reuses it on a retry', async () => {
    const v = fresh('rsa-2048');
    const logStart = fake.disk.log.length;
    const staged = await use(ctx(), (d) => d.stage(v));
    assert.deepEqual(staged, { thumbprint: thumbprintOf(v.certPem), store: 'My' });
    const cert = fake.certificate('My', thumbprintOf(v.certPem));
    assert.ok(cert?.hasPrivateKey && cert.keyUsable, 'imported with its key into the machine key set');
    assert.match(cert?.friendlyName ?? '', /^CertFleet www\.example\.test \d{4}-\d\d-\d\d [0-9a-f]+$/);
    assert.ok(
      fake.certificates('CA').some((c) => c.certPem.trim() === ca.intermediatePem.trim()),
      'the intermediate went to LocalMachine\\CA',
    );
    const log = fake.disk.log.slice(logStart);
    assert.ok(
      log.some((line) =>
        /^open C:\\ProgramData\\CertFleet\\upload\\certfleet-[0-9a-f]{16}\.pfx write excl$/.test(line),
      ),
      log.join('\n'),
    );
    assert.deepEqual(pfxUploads(fake), [], 'the PFX is gone');
    const again = await use(ctx(), (d) => d.stage(v));
    assert.deepEqual(again, staged);
    assert.ok(
      !fake.disk.log.slice(logStart + log.length).some((line) => line.startsWith('open')),
      'nothing uploaded on the retry',
    );
    assert.equal(fake.scripts().at(-1)?.operation, 'stage-check');
  });

  it('a failing import: the PFX is deleted anyway, the error has the trimmed stderr and not the password', async () => {
    const v = fresh();
    fake.failNext(
      'import',
      psError(
        `New-Object : Exception calling ".ctor" with "3" argument(s): "The data is invalid." (password {password})`,
        'CryptographicException',
      ),
    );
    const error = await rejection(use(ctx(), (d) => d.stage(v)));
    assert.equal(error.type, FailureType.targetRejected);
    assert.match(
      error.message,
      /^iis: importing [0-9A-F]{40} into Cert:\\LocalMachine\\My failed \(exit 1\): New-Object : Exception calling "\.ctor"/,
    );
    const password = String(fake.scripts().at(-1)?.params['password']);
    assert.ok(!error.message.includes(password) && error.message.includes('[redacted]'), error.message);
    assert.ok(!error.message.includes(keyLine(v)));
    assert.deepEqual(pfxUploads(fake), []);
    assert.equal(fake.certificate('My', thumbprintOf(v.certPem)), undefined);
  });

  it('activate binds every listed binding; rollback puts the previous hashes back', async () => {
    const v1 = fresh();
    const v2 = fresh('rsa-2048');
    const sites = [fake.entry('Default Web Site'), fake.entry('Shop')];
    const s1 = await use(ctx(sites), (d) => d.stage(v1));
    await use(ctx(sites), (d) => d.activate(s1));
    assert.equal(await served(fake, 'Default Web Site'), v1.fingerprintSha256);
    assert.equal(await served(fake, 'Shop'), v1.fingerprintSha256);
    const s2 = await use(ctx(sites), (d) => d.stage(v2));
    const activation = await use(ctx(sites), (d) => d.activate(s2));
    const tp1 = thumbprintOf(v1.certPem);
    assert.deepEqual(activation.previous, {
      [fake.entry('Default Web Site')]: `${tp1}|My|0`,
      [fake.entry('Shop')]: `${tp1}|My|0`,
    });
    assert.equal(await served(fake, 'Shop'), v2.fingerprintSha256);
    // A retry whose first result was lost still reports v1 as the previous state.
    const again = await use(ctx(sites), (d) => d.activate(s2));
    assert.deepEqual(again.previous, activation.previous);
    const back = await use(ctx(sites), (d) => d.rollback(activation.previous));
    assert.deepEqual(back.previous, {
      [fake.entry('Default Web Site')]: `${thumbprintOf(v2.certPem)}|My|0`,
      [fake.entry('Shop')]: `${thumbprintOf(v2.certPem)}|My|0`,
    });
    assert.equal(await served(fake, 'Default Web Site'), v1.fingerprintSha256);
    assert.equal(await served(fake, 'Shop'), v1.fingerprintSha256);
  });

  it('the logon-session failure (0x80070520): a clear non-retryable error and nothing bound', async () => {
    const sites = [fake.entry('Default Web Site'), fake.entry('Shop')];
    const base = fresh();
    await use(ctx(sites), async (d) => d.activate(await d.stage(base)));
    const sslBefore = fake.sslBindings();
    fake.logonSessionError(true);
    try {
      const v = fresh();
      const staged = await use(ctx(sites), (d) => d.stage(v));
      assert.ok(fake.certificate('My', staged['thumbprint'] ?? ''), 'the import itself succeeds');
      const error = await rejection(use(ctx(sites), (d) => d.activate(staged)));
      assert.equal(error.type, FailureType.targetRejected, 'non-retryable');
      assert.match(
        error.message,
        /^iis: setting site "Default Web Site" binding \S+ to the new certificate [0-9A-F]{12}… failed: Exception calling "CommitChanges" with "0" argument\(s\): "A specified logon session does not exist/,
      );
      assert.match(error.message, /0x80070520/);
      assert.match(error.message, /private key/);
      assert.match(error.message, /MachineKeySet\|PersistKeySet/);
      assert.match(error.message, /Retrying will not help/);
      assert.match(error.message, /Nothing stays changed/);
    } finally {
      fake.logonSessionError(false);
    }
    assert.deepEqual(fake.sslBindings(), sslBefore);
    assert.equal(await served(fake, 'Default Web Site'), base.fingerprintSha256);
    assert.equal(await served(fake, 'Shop'), base.fingerprintSha256);
  });

  it('a binding failing after another was switched: the script puts the failed one back, the deployer the first (all or nothing)', async () => {
    const { sites, base, staged } = await stagedOverBase();
    fake.failCommit(
      fake.bindingInformation('Shop'),
      'Exception calling "CommitChanges" with "0" argument(s): "A specified logon session does not exist. It may already have been terminated. (Exception from HRESULT: 0x80070520)"',
    );
    const error = await rejection(use(ctx(sites), (d) => d.activate(staged)));
    assert.match(error.message, /setting site "Shop" binding/);
    assert.match(error.message, /logon session does not exist/);
    assert.match(error.message, /site "Default Web Site" binding \S+ was put back: nothing stays changed/);
    assert.equal(boundHash('Shop'), thumbprintOf(base.certPem), 'the failed binding is there with its old certificate');
    assert.equal(boundHash('Default Web Site'), thumbprintOf(base.certPem), 'the first binding was put back');
    assert.equal(await served(fake, 'Default Web Site'), base.fingerprintSha256);
    assert.equal(await served(fake, 'Shop'), base.fingerprintSha256);
  });

  it('a script that dies half-way (no JSON): the deployer re-reads and puts back what was switched', async () => {
    const { sites, base, staged } = await stagedOverBase();
    fake.failNext(
      'set-bindings',
      "powershell.exe : Program 'powershell.exe' failed to run: The operation was canceled by the user\r\n",
      { afterBindings: 1 },
    );
    const error = await rejection(use(ctx(sites), (d) => d.activate(staged)));
    assert.match(error.message, /failed to run/);
    assert.match(error.message, /site "Default Web Site" binding \S+ was put back: nothing stays changed/);
    assert.equal(boundHash('Default Web Site'), thumbprintOf(base.certPem));
    assert.equal(await served(fake, 'Default Web Site'), base.fingerprintSha256);
  });

  it('bindings are replaced (removed and added again), never edited in place: the script has no CertificateHash assignment on the binding it read', async () => {
    const script = buildScript('set-bindings', {
      bindings: [{ site: 'S', bindingInformation: '*:443:', hash: 'AB'.repeat(20), store: 'My', sslFlags: 0 }],
    });
    assert.doesNotMatch(script, /\$b\.CertificateHash=/, 'no in-place edit (win-acme #371, Certify #308)');
    assert.match(
      script,
      /if\(\$b\)\{\$s\.Bindings\.Remove\(\$b\)\}\n\[void\]\$s\.Bindings\.Add\(\$n\)\ntry\{\$sm\.CommitChanges\(\)\}/,
    );
    const v = fresh();
    const sites = [fake.entry('Default Web Site')];
    const staged = await use(ctx(sites), (d) => d.stage(v));
    await use(ctx(sites), (d) => d.activate(staged));
    assert.equal(await served(fake, 'Default Web Site'), v.fingerprintSha256);
  });

  it('the simulator refuses an in-place CertificateHash edit the way the field reports it (0x80070520, win-acme #371) and changes nothing', async () => {
    const base = fresh();
    const v = fresh();
    const sites = [fake.entry('Default Web Site')];
    await use(ctx(sites), async (d) => d.activate(await d.stage(base)));
    const staged = await use(ctx(sites), (d) => d.stage(v));
    const params = {
      bindings: [
        {
          site: 'Default Web Site',
          bindingInformation: fake.bindingInformation('Default Web Site'),
          hash: staged['thumbprint'] ?? '',
          store: 'My',
          sslFlags: 0,
        },
      ],
    };
    // The script as it was before issue 12: Set-One edited the binding it had read.
    const inPlace = buildScript('set-bindings', params).replace(
      'if($b){$s.Bindings.Remove($b)}\n[void]$s.Bindings.Add($n)\n',
      "$b.CertificateHash=[byte[]]($t.hash -split '(..)' -ne ''|ForEach-Object{[Convert]::ToByte($_,16)});$b.CertificateStoreName=$t.store\n",
    );
    assert.notEqual(inPlace, buildScript('set-bindings', params));
    const ssh = await connectSsh({
      component: 'test',
      host: fake.host,
      port: fake.port,
      hostKeySha256: fake.hostKeySha256,
      username: fake.username,
      privateKey: fake.privateKey,
    });
    let reply: Record<string, unknown>;
    try {
      reply = readReply('iis', 'in-place', await ssh.exec(encodeCommand(inPlace), { timeoutMs: 30_000 }));
    } finally {
      await ssh.close();
    }
    assert.equal(reply['ok'], false);
    assert.match(JSON.stringify(reply['failure']), /A specified logon session does not exist.*0x80070520/);
    assert.equal(boundHash('Default Web Site'), thumbprintOf(base.certPem));
    assert.equal(await served(fake, 'Default Web Site'), base.fingerprintSha256);
  });

  it('when the new binding cannot be created, the same script puts the old one back: never missing, same hash and flags', async () => {
    const shop = fake.entry('Shop');
    const info = fake.bindingInformation('Shop');
    const base = fresh();
    await use(ctx([shop]), async (d) => d.activate(await d.stage(base)));
    const before = fake.binding('Shop', info);
    const v = fresh();
    const staged = await use(ctx([shop]), (d) => d.stage(v));
    const setBindings = (): number => fake.scripts().filter((x) => x.operation === 'set-bindings').length;
    const runs = setBindings();
    fake.failCommit(
      info,
      'Exception calling "CommitChanges" with "0" argument(s): "Cannot create a file when that file already exists. (Exception from HRESULT: 0x800700B7)"',
    );
    const error = await rejection(use(ctx([shop]), (d) => d.activate(staged)));
    assert.match(
      error.message,
      /setting site "Shop" binding \S+ to the new certificate [0-9A-F]{12}… failed: .*0x800700B7/,
    );
    assert.match(error.message, /Nothing stays changed/);
    assert.equal(setBindings(), runs + 1, 'put back by the same script, not by a second one');
    assert.deepEqual(fake.binding('Shop', info), before, 'the binding is there with its old hash, store and flags');
    assert.equal(await served(fake, 'Shop'), base.fingerprintSha256);
  });

  it('"Require SNI" sets sslFlags 1: the site gets its own hostnameport entry and the other site on the port keeps its certificate', async () => {
    const shop = fake.entry('Shop');
    const v = fresh();
    const blogBefore = await served(fake, 'Blog');
    const context = ctx([shop], { binding: { sites: [shop], sni: true } });
    const staged = await use(context, (d) => d.stage(v));
    const activation = await use(context, (d) => d.activate(staged));
    assert.equal(fake.binding('Shop', fake.bindingInformation('Shop'))?.sslFlags, 1);
    assert.equal(
      fake.sslBindings()[`hostnameport=shop.example.test:${fake.endpoint('Shop').port}`],
      thumbprintOf(v.certPem),
    );
    assert.equal(await served(fake, 'Shop'), v.fingerprintSha256);
    assert.equal(await served(fake, 'Blog'), blogBefore, 'Blog, on the same IP:port without SNI, is unchanged');
    assert.match(activation.previous[shop] ?? '', /\|0$/);
    await use(context, (d) => d.rollback(activation.previous));
    assert.equal(fake.binding('Shop', fake.bindingInformation('Shop'))?.sslFlags, 0, 'rollback restores the flags too');
    assert.equal(fake.sslBindings()[`hostnameport=shop.example.test:${fake.endpoint('Shop').port}`], undefined);
  });

  it('without SNI, sites sharing an IP:port share its certificate (pitfall 3): changing one changes the other', async () => {
    const v = fresh();
    await use(ctx([fake.entry('Blog')]), async (d) => d.activate(await d.stage(v)));
    assert.equal(await served(fake, 'Blog'), v.fingerprintSha256);
    assert.equal(await served(fake, 'Shop'), v.fingerprintSha256, 'HTTP.sys has one ipport entry for the port');
  });

  it('the WebHosting store: imported there, bound with CertificateStoreName WebHosting, removed from there', async () => {
    const v1 = fresh();
    const v2 = fresh();
    const context = ctx([fake.entry('Default Web Site')], { options: { store: 'WebHosting' } });
    const s1 = await use(context, (d) => d.stage(v1));
    assert.deepEqual(s1, { thumbprint: thumbprintOf(v1.certPem), store: 'WebHosting' });
    assert.ok(fake.certificate('WebHosting', s1['thumbprint'] ?? ''));
    assert.equal(fake.certificate('My', s1['thumbprint'] ?? ''), undefined);
    await use(context, (d) => d.activate(s1));
    assert.deepEqual(
      {
        hash: boundHash('Default Web Site'),
        store: fake.binding('Default Web Site', fake.bindingInformation('Default Web Site'))?.store,
      },
      { hash: s1['thumbprint'], store: 'WebHosting' },
    );
    assert.equal(await served(fake, 'Default Web Site'), v1.fingerprintSha256);
    const s2 = await use(context, (d) => d.stage(v2));
    await use(context, (d) => d.activate(s2));
    const saved = `C:\\ProgramData\\CertFleet\\upload\\certfleet-previous-${s2['thumbprint']}.json`;
    assert.equal(
      fake.disk.read(saved)?.toString('utf8'),
      JSON.stringify({ [fake.entry('Default Web Site')]: `${s1['thumbprint']}|WebHosting|0` }),
      'the previous state is kept for a retried activation',
    );
    assert.ok(fake.disk.exists(`C:\\ProgramData\\CertFleet\\upload\\certfleet-previous-${s1['thumbprint']}.json`));
    assert.deepEqual(await use(context, (d) => d.removeSuperseded([s2], [s1])), [s1['thumbprint']]);
    assert.equal(fake.certificate('WebHosting', s1['thumbprint'] ?? ''), undefined);
    assert.equal(
      fake.disk.exists(`C:\\ProgramData\\CertFleet\\upload\\certfleet-previous-${s1['thumbprint']}.json`),
      false,
      "the removed version's copy is deleted",
    );
  });

  it('removeSuperseded keeps certificates still bound anywhere and certificates CertFleet did not import', async () => {
    const v1 = fresh();
    const v2 = fresh();
    const s1 = await use(ctx(), (d) => d.stage(v1));
    await use(ctx(), (d) => d.activate(s1));
    const s2 = await use(ctx(), (d) => d.stage(v2));
    await use(ctx(), (d) => d.activate(s2));
    // An administrator bound v1 to another site meanwhile.
    fake.setBinding('Blog', fake.bindingInformation('Blog'), s1['thumbprint'] ?? '');
    assert.deepEqual(await use(ctx(), (d) => d.removeSuperseded([s2], [s1])), []);
    assert.ok(fake.certificate('My', s1['thumbprint'] ?? ''), 'still bound: kept');
    const removeScript = fake.scripts().at(-1);
    assert.equal(removeScript?.operation, 'remove-certificates');
    // The initial certificate (not CertFleet's) is never deleted, even when no binding uses it.
    for (const b of [fake.bindingInformation('Shop'), fake.bindingInformation('Blog')])
      fake.setBinding(b.includes('shop') ? 'Shop' : 'Blog', b, s2['thumbprint'] ?? '');
    assert.deepEqual(
      await use(ctx(), (d) => d.removeSuperseded([s2], [{ thumbprint: fake.initialThumbprint, store: 'My' }])),
      [],
    );
    assert.ok(fake.certificate('My', fake.initialThumbprint));
    // Unbound now: removed.
    fake.setBinding('Blog', fake.bindingInformation('Blog'), s2['thumbprint'] ?? '');
    assert.deepEqual(await use(ctx(), (d) => d.removeSuperseded([s2], [s1, s2])), [s1['thumbprint']]);
  });

  it('bindings that do not exist: preflight says which and lists what there is; activate refuses before changing anything', async () => {
    const context = ctx([
      fake.entry('Default Web Site'),
      'Missing Site|*:443:',
      `Shop|*:${fake.endpoint('Shop').port}:other.example.test`,
    ]);
    const report = await use(context, (d) => d.preflight());
    const check = report.checks.find((c) => c.name === 'site bindings');
    assert.equal(check?.ok, false);
    assert.match(check?.detail ?? '', /there is no site "Missing Site" \(sites: Default Web Site, Shop, Blog\)/);
    assert.match(
      check?.detail ?? '',
      new RegExp(
        `site "Shop" has no https binding \\*:\\d+:other\\.example\\.test \\(its https bindings: \\*:\\d+:shop\\.example\\.test\\)`,
      ),
    );
    const mutations = fake.view().mutatingCalls();
    const error = await rejection(
      use(context, async (d) => d.activate({ thumbprint: fake.initialThumbprint, store: 'My' })),
    );
    assert.equal(error.type, FailureType.targetRejected);
    assert.match(error.message, /Create the https binding in IIS first/);
    assert.equal(fake.view().mutatingCalls(), mutations);
  });

  it('activate refuses staged objects that are not in the store, and rollback refuses a previous certificate that is gone', async () => {
    const error = await rejection(use(ctx(), (d) => d.activate({ thumbprint: 'AB'.repeat(20), store: 'My' })));
    assert.match(error.message, /is not in Cert:\\LocalMachine\\My; stage the version again/);
    const gone = await rejection(
      use(ctx(), (d) => d.rollback({ [fake.entry('Default Web Site')]: `${'CD'.repeat(20)}|My|0` })),
    );
    assert.match(gone.message, /cannot roll back: CDCD.* is no longer in Cert:\\LocalMachine\\My/);
    const garbage = await rejection(use(ctx(), (d) => d.rollback({ 'not a binding': 'x' })));
    assert.equal(garbage.type, FailureType.validation);
    assert.deepEqual(await use(ctx(), (d) => d.rollback({})), { previous: {} });
  });

  it('a non-administrator fails the Administrator check', async () => {
    fake.setAdmin(false);
    try {
      const report = await use(ctx(), (d) => d.preflight());
      const check = report.checks.find((c) => c.name === 'Administrator');
      assert.equal(check?.ok, false);
      assert.match(check?.detail ?? '', /is not an administrator/);
    } finally {
      fake.setAdmin(true);
    }
  });

  it('password login works too', async () => {
    const report = await use(
      ctx(undefined, { credentials: { username: fake.username, password: fake.password } }),
      (d) => d.preflight(),
    );
    assert.match(report.checks.find((c) => c.name === 'SSH login')?.detail ?? '', /with a password/);
  });

  it('without a pinned host key, preflight shows the presented key and logs in to nothing; a wrong pin is TARGET_TLS_UNTRUSTED; a hex pin works', async () => {
    const logins = fake.authAttempts();
    const context = ctx(undefined, { options: { hostKeySha256: '' } });
    const report = await use(context, (d) => d.preflight());
    assert.equal(report.checks.length, 1);
    assert.equal(report.checks[0]?.name, 'SSH host key');
    assert.equal(report.checks[0]?.ok, false);
    assert.ok(report.checks[0]?.detail.includes(fake.hostKeySha256), report.checks[0]?.detail);
    assert.match(report.checks[0]?.detail ?? '', /ssh-keygen -lf C:\\ProgramData\\ssh\\ssh_host_ed25519_key\.pub/);
    const staged = await rejection(use(context, (d) => d.stage(fresh())));
    assert.equal(staged.type, FailureType.targetTlsUntrusted);
    assert.ok(staged.message.includes(fake.hostKeySha256));
    assert.equal(fake.authAttempts(), logins, 'no login was attempted');

    const other = `SHA256:${Buffer.alloc(32, 7).toString('base64').replace(/=+$/, '')}`;
    const mismatch = await rejection(use(ctx(undefined, { options: { hostKeySha256: other } }), (d) => d.preflight()));
    assert.equal(mismatch.type, FailureType.targetTlsUntrusted);
    assert.ok(mismatch.message.includes(fake.hostKeySha256) && mismatch.message.includes(other), mismatch.message);
    assert.equal(fake.authAttempts(), logins, 'no credentials sent to the wrong server');
    const hexPin = fake.hostKeyHex.replace(/(..)(?!$)/g, '$1:').toUpperCase();
    assert.ok(
      (await use(ctx(undefined, { options: { hostKeySha256: hexPin } }), (d) => d.preflight())).checks.every(
        (c) => c.ok,
      ),
    );
  });

  it("long binding lists are split over several commands, each within cmd.exe's limit", async () => {
    await withFakeIis(
      {
        sites: [
          {
            name: 'Many Bindings Site',
            bindings: Array.from({ length: 14 }, (_, i) => ({ host: `h${i}.example.test` })),
          },
        ],
      },
      async (many) => {
        const entries = Array.from({ length: 14 }, (_, i) => many.entry('Many Bindings Site', i));
        const v = fresh();
        const context = iisContext(many, entries);
        await use(context, async (d) => d.activate(await d.stage(v)));
        const ops = many.scripts().map((s) => s.operation);
        assert.ok(ops.filter((o) => o === 'set-bindings').length >= 2, ops.join(' '));
        assert.ok(ops.filter((o) => o === 'read-bindings').length >= 2, ops.join(' '));
        assert.ok(many.commands().every((c) => c.length <= MAX_COMMAND_LENGTH));
        for (let i = 0; i < 14; i++)
          assert.equal(
            many.binding('Many Bindings Site', many.bindingInformation('Many Bindings Site', i))?.hash,
            thumbprintOf(v.certPem),
          );
        assert.equal(await served(many, 'Many Bindings Site', 13), v.fingerprintSha256);
      },
    );
  });
});

describe('iis: sslFlags and a binding that cannot be put back', () => {
  const ca = suiteTestCa();

  it('every sslFlags bit survives the replacement; a Centralized Certificate Store binding is refused before anything changes', async () => {
    await withFakeIis(
      {
        sites: [
          { name: 'Flags', bindings: [{ host: 'flags.example.test', sslFlags: 1 | 4 | 8 }] },
          { name: 'Central', bindings: [{ host: 'ccs.example.test', sslFlags: 1 | 2, bound: false }] },
        ],
      },
      async (fake) => {
        const v = ca.issue('flags.example.test', 'ecdsa-p256');
        const flags = iisContext(fake, [fake.entry('Flags')]);
        const activation = await use(flags, async (d) => d.activate(await d.stage(v)));
        assert.equal(
          fake.binding('Flags', fake.bindingInformation('Flags'))?.sslFlags,
          13,
          'SNI, DisableHTTP2 and DisableOCSPStp kept',
        );
        assert.equal(await served(fake, 'Flags'), v.fingerprintSha256);
        await use(flags, (d) => d.rollback(activation.previous));
        assert.equal(fake.binding('Flags', fake.bindingInformation('Flags'))?.sslFlags, 13);

        const central = iisContext(fake, [fake.entry('Central')]);
        const report = await use(central, (d) => d.preflight());
        const check = report.checks.find((c) => c.name === 'Centralized Certificate Store');
        assert.equal(check?.ok, false);
        assert.match(check?.detail ?? '', /site "Central" binding \S+ uses the Centralized Certificate Store/);
        const mutations = fake.view().mutatingCalls();
        const staged = await use(central, (d) => d.stage(v));
        const error = await rejection(use(central, (d) => d.activate(staged)));
        assert.equal(error.type, FailureType.targetRejected);
        assert.match(error.message, /Centralized Certificate Store .* Nothing was changed\.$/);
        assert.equal(
          fake.binding('Central', fake.bindingInformation('Central'))?.sslFlags,
          3,
          'the CCS flag is never lost',
        );
        assert.equal(
          fake.view().mutatingCalls(),
          mutations,
          'stage found the certificate already there; activate changed nothing',
        );
      },
    );
  });

  it('when the old binding cannot be put back either, the error says so and says to set it by hand', async () => {
    await withFakeIis({ sites: [{ name: 'Lost', bindings: [{ host: 'lost.example.test' }] }] }, async (fake) => {
      const v = ca.issue('lost.example.test', 'ecdsa-p256');
      const context = iisContext(fake, [fake.entry('Lost')]);
      const info = fake.bindingInformation('Lost');
      const staged = await use(context, (d) => d.stage(v));
      fake.failCommit(
        info,
        'Exception calling "CommitChanges" with "0" argument(s): "The configuration file is locked. (Exception from HRESULT: 0x80070021)"',
        2,
      );
      const error = await rejection(use(context, (d) => d.activate(staged)));
      assert.match(
        error.message,
        /The script removed site "Lost" binding \S+ and could not add it back with its previous certificate \(.*0x80070021/,
      );
      assert.match(error.message, /by hand/);
      assert.equal(
        fake.binding('Lost', info),
        undefined,
        'the simulator really lost it (what the script guards against)',
      );
    });
  });
});

describe('iis: other servers', () => {
  const ca = suiteTestCa();

  it('Windows before build 16299: preflight asks for legacy PFX, an AES-256 PFX is refused with that hint, a 3DES one imports', async () => {
    await withFakeIis(
      {
        build: 14393,
        productName: 'Windows Server 2016 Datacenter',
        iis: { major: 10, minor: 0 },
      },
      async (fake) => {
        const sites = [fake.entry('Default Web Site')];
        const report = await use(iisContext(fake, sites), (d) => d.preflight());
        const check = report.checks.find((c) => c.name === 'PFX encryption');
        assert.equal(check?.ok, false);
        assert.match(check?.detail ?? '', /build 14393 cannot read AES-256 PFX files/);
        const v = ca.issue('legacy.example.test');
        const error = await rejection(use(iisContext(fake, sites), (d) => d.stage(v)));
        assert.equal(error.type, FailureType.targetRejected);
        assert.match(error.message, /The specified network password is not correct/);
        assert.match(error.message, /tick "Legacy PFX \(3DES\)"/);
        assert.deepEqual(pfxUploads(fake), []);
        const legacy = iisContext(fake, sites, { options: { legacyPfx: true } });
        assert.ok((await use(legacy, (d) => d.preflight())).checks.every((c) => c.ok));
        const staged = await use(legacy, (d) => d.stage(v));
        await use(legacy, (d) => d.activate(staged));
        assert.equal(await served(fake, 'Default Web Site'), v.fingerprintSha256);
      },
    );
  });

  it('an import script that dies without its finally: the deployer deletes the PFX over SFTP, after success and after failure', async () => {
    await withFakeIis({ keepUploads: true }, async (fake) => {
      const context = iisContext(fake, [fake.entry('Default Web Site')]);
      await use(context, (d) => d.stage(ca.issue('a.example.test')));
      assert.deepEqual(pfxUploads(fake), []);
      assert.ok(
        fake.disk.log.some((line) =>
          /^remove C:\\ProgramData\\CertFleet\\upload\\certfleet-[0-9a-f]{16}\.pfx$/.test(line),
        ),
        fake.disk.log.join('\n'),
      );
      fake.failNext('import', 'powershell.exe : terminated\r\n');
      await rejection(use(context, (d) => d.stage(ca.issue('b.example.test'))));
      assert.deepEqual(pfxUploads(fake), []);
    });
  });

  it('errors printed as CLIXML are decoded; Access denied is TARGET_PERMISSION_DENIED', async () => {
    await withFakeIis({ clixmlErrors: true }, async (fake) => {
      fake.failNext(
        'stage-check',
        psError(
          "New-Item : Access to the path 'C:\\ProgramData\\CertFleet\\upload' is denied.",
          'UnauthorizedAccessException',
        ),
      );
      const error = await rejection(
        use(iisContext(fake, [fake.entry('Default Web Site')]), (d) => d.stage(ca.issue('c.example.test'))),
      );
      assert.equal(error.type, FailureType.targetPermission);
      assert.match(error.message, /New-Item : Access to the path 'C:\\ProgramData\\CertFleet\\upload' is denied\./);
      assert.ok(!/CLIXML|<Objs|_x000D_/.test(error.message), error.message);
    });
  });

  it('no IIS: preflight says so, with the firmware line still filled', async () => {
    await withFakeIis({ iis: null }, async (fake) => {
      const report = await use(iisContext(fake, [fake.entry('Default Web Site')]), (d) => d.preflight());
      assert.match(report.firmware ?? '', /^no IIS on /);
      assert.equal(report.checks.find((c) => c.name === 'IIS')?.ok, false);
      assert.deepEqual(report.changes, []);
    });
  });
});
