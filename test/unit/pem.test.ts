/**
 * PEM / PKCS#12 helpers, checked against the OpenSSL CLI (the reference reader of PFX files).
 * Certificates are made with `openssl` in a temp dir: root CA → intermediate → leaf (ECDSA P-256 and RSA 2048).
 */
import { opensslSelfSigned } from '../support/openssl-self-signed';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import {
  buildPfx,
  fingerprintOfDer,
  keyMatchesCertificate,
  readCertificateFacts,
  splitPemChain,
  type PfxAlgorithm,
} from '../../activities/crypto/pem';

const execFileAsync = promisify(execFile);

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

async function openssl(args: string[], env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  try {
    const { stdout, stderr } = await execFileAsync('openssl', args, {
      env: { ...process.env, ...env },
      maxBuffer: 16 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

async function mustOpenssl(args: string[]): Promise<string> {
  const r = await openssl(args);
  assert.equal(r.code, 0, `openssl ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

const countOf = (text: string, needle: string): number => text.split(needle).length - 1;
const derOf = (pem: string): string => new X509Certificate(pem).raw.toString('hex');
/** A positive 16-byte serial with a non-zero first nibble. */
const serialArg = (): string =>
  `0x${(1 + ((randomBytes(1)[0] ?? 0) % 7)).toString(16)}${randomBytes(15).toString('hex')}`;

let dir: string;
const pems: Record<'root' | 'int' | 'leafEc' | 'leafRsa', string> = { root: '', int: '', leafEc: '', leafRsa: '' };
const keys: Record<'leafEc' | 'leafRsa' | 'leafEcSec1' | 'leafRsaPkcs1' | 'other', string> = {
  leafEc: '',
  leafRsa: '',
  leafEcSec1: '',
  leafRsaPkcs1: '',
  other: '',
};

async function issue(name: string, newKey: string[], subject: string, ext: string, caName: string): Promise<void> {
  const f = (n: string): string => path.join(dir, n);
  await mustOpenssl([
    'req',
    '-new',
    '-newkey',
    ...newKey,
    '-nodes',
    '-keyout',
    f(`${name}.key`),
    '-out',
    f(`${name}.csr`),
    '-subj',
    subject,
  ]);
  await writeFile(f(`${name}.ext`), ext);
  await mustOpenssl([
    'x509',
    '-req',
    '-in',
    f(`${name}.csr`),
    '-CA',
    f(`${caName}.pem`),
    '-CAkey',
    f(`${caName}.key`),
    '-set_serial',
    serialArg(),
    '-days',
    '30',
    '-sha256',
    '-extfile',
    f(`${name}.ext`),
    '-out',
    f(`${name}.pem`),
  ]);
}

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'certfleet-pem-test-'));
  const f = (n: string): string => path.join(dir, n);
  const ec = ['ec', '-pkeyopt', 'ec_paramgen_curve:P-256'];
  await mustOpenssl([
    'req',
    '-x509',
    '-newkey',
    ...ec,
    '-nodes',
    '-keyout',
    f('root.key'),
    '-out',
    f('root.pem'),
    '-days',
    '30',
    '-subj',
    '/CN=CertFleet Test Root',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  await issue(
    'int',
    ec,
    '/CN=CertFleet Test Intermediate',
    'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n',
    'root',
  );
  const leafExt =
    'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:www.example.test,DNS:example.test\n';
  await issue('leafEc', ec, '/CN=www.example.test', leafExt, 'int');
  await issue('leafRsa', ['rsa:2048'], '/CN=www.example.test', leafExt, 'int');
  await mustOpenssl(['ec', '-in', f('leafEc.key'), '-out', f('leafEc.sec1.key')]);
  await mustOpenssl(['rsa', '-in', f('leafRsa.key'), '-traditional', '-out', f('leafRsa.pkcs1.key')]);
  await mustOpenssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', f('other.key')]);
  for (const name of ['root', 'int', 'leafEc', 'leafRsa'] as const)
    pems[name] = await readFile(f(`${name}.pem`), 'utf8');
  keys.leafEc = await readFile(f('leafEc.key'), 'utf8');
  keys.leafRsa = await readFile(f('leafRsa.key'), 'utf8');
  keys.leafEcSec1 = await readFile(f('leafEc.sec1.key'), 'utf8');
  keys.leafRsaPkcs1 = await readFile(f('leafRsa.pkcs1.key'), 'utf8');
  keys.other = await readFile(f('other.key'), 'utf8');
  assert.match(keys.leafEcSec1, /BEGIN EC PRIVATE KEY/);
  assert.match(keys.leafRsaPkcs1, /BEGIN RSA PRIVATE KEY/);
});

after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Writes the PFX and reads it back with `openssl pkcs12 -nodes`. */
async function readPfx(pfx: Buffer, password: string): Promise<RunResult> {
  const file = path.join(dir, `${randomBytes(6).toString('hex')}.pfx`);
  await writeFile(file, pfx);
  return openssl(['pkcs12', '-in', file, '-passin', 'env:PFX_PASS', '-nodes'], { PFX_PASS: password });
}

function pemBlocks(text: string, label: string): string[] {
  return text.match(new RegExp(`-----BEGIN ${label}-----[\\s\\S]+?-----END ${label}-----`, 'g')) ?? [];
}

function localKeyIds(text: string): string[] {
  return [...text.matchAll(/localKeyID: ([0-9A-F ]+)/g)].map((m) => (m[1] ?? '').trim());
}

describe('buildPfx, read back by openssl pkcs12', () => {
  const cases: { label: string; key: () => string; leaf: () => string }[] = [
    { label: 'ECDSA P-256 (PKCS#8 key)', key: () => keys.leafEc, leaf: () => pems.leafEc },
    { label: 'ECDSA P-256 (SEC1 key, as acme-client writes it)', key: () => keys.leafEcSec1, leaf: () => pems.leafEc },
    { label: 'RSA 2048 (PKCS#8 key)', key: () => keys.leafRsa, leaf: () => pems.leafRsa },
    { label: 'RSA 2048 (PKCS#1 key)', key: () => keys.leafRsaPkcs1, leaf: () => pems.leafRsa },
  ];
  const algorithms: (PfxAlgorithm | undefined)[] = ['aes256', '3des', undefined];
  const passwords = ['s3cret-Passw0rd', 'Pässwörd-€-日本語', 'emoji 🔐 pass'];

  for (const c of cases) {
    for (const algorithm of algorithms) {
      for (const password of passwords) {
        it(`${c.label}, ${algorithm ?? 'default'}, password ${JSON.stringify(password)}`, async () => {
          const pfx = buildPfx({
            keyPem: c.key(),
            certPem: c.leaf(),
            chainPems: [pems.int, pems.root],
            password,
            friendlyName: 'certfleet-www',
            ...(algorithm ? { algorithm } : {}),
          });
          const r = await readPfx(pfx, password);
          assert.equal(r.code, 0, `openssl pkcs12 failed: ${r.stderr}`);
          assert.ok(!/broken algorithm/i.test(r.stderr), `openssl needed its broken-password fallback: ${r.stderr}`);
          const certs = pemBlocks(r.stdout, 'CERTIFICATE');
          assert.equal(certs.length, 3, r.stdout);
          assert.deepEqual(
            new Set(certs.map(derOf)),
            new Set([
              pems.leafEc === c.leaf() ? derOf(pems.leafEc) : derOf(pems.leafRsa),
              derOf(pems.int),
              derOf(pems.root),
            ]),
          );
          const keysOut = pemBlocks(r.stdout, 'PRIVATE KEY');
          assert.equal(keysOut.length, 1, r.stdout);
          assert.ok(keyMatchesCertificate(keysOut[0] ?? '', c.leaf()), 'the key in the PFX does not match the leaf');
          const ids = localKeyIds(r.stdout);
          assert.equal(ids.length, 2, 'the key and the leaf each carry a localKeyID');
          assert.equal(ids[0], ids[1]);
          assert.equal(countOf(r.stdout, 'friendlyName: certfleet-www'), 2);
        });
      }
    }
  }

  it('the encryption algorithm is the one asked for', async () => {
    const info = async (algorithm: PfxAlgorithm): Promise<string> => {
      const pfx = buildPfx({ keyPem: keys.leafEc, certPem: pems.leafEc, chainPems: [], password: 'pw', algorithm });
      const file = path.join(dir, `info-${algorithm}.pfx`);
      await writeFile(file, pfx);
      const r = await openssl(['pkcs12', '-in', file, '-passin', 'pass:pw', '-info', '-noout'], {});
      assert.equal(r.code, 0, r.stderr);
      return r.stderr + r.stdout;
    };
    assert.match(await info('aes256'), /PBES2.*AES-256-CBC/i);
    assert.match(await info('3des'), /pbeWithSHA1And3-KeyTripleDES-CBC/i);
  });

  it('works without a chain and without a friendly name', async () => {
    const pfx = buildPfx({ keyPem: keys.leafRsa, certPem: pems.leafRsa, chainPems: [], password: 'pw' });
    const r = await readPfx(pfx, 'pw');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(pemBlocks(r.stdout, 'CERTIFICATE').length, 1);
    assert.equal(pemBlocks(r.stdout, 'PRIVATE KEY').length, 1);
    assert.ok(!r.stdout.includes('friendlyName'));
  });

  it('a wrong password is refused', async () => {
    for (const algorithm of ['aes256', '3des'] as const) {
      const pfx = buildPfx({
        keyPem: keys.leafEc,
        certPem: pems.leafEc,
        chainPems: [pems.int],
        password: 'right-password',
        algorithm,
      });
      const r = await readPfx(pfx, 'wrong-password');
      assert.notEqual(r.code, 0, algorithm);
      assert.match(r.stderr, /mac verify error|invalid password/i);
      assert.equal(pemBlocks(r.stdout, 'PRIVATE KEY').length, 0);
    }
  });

  it('each build uses a fresh salt (no two PFX files are identical)', () => {
    const input = { keyPem: keys.leafEc, certPem: pems.leafEc, chainPems: [], password: 'pw' };
    assert.ok(!buildPfx(input).equals(buildPfx(input)));
  });
});

describe('keyMatchesCertificate', () => {
  it('true for the key of the certificate, in any PEM key format', () => {
    assert.equal(keyMatchesCertificate(keys.leafEc, pems.leafEc), true);
    assert.equal(keyMatchesCertificate(keys.leafEcSec1, pems.leafEc), true);
    assert.equal(keyMatchesCertificate(keys.leafRsa, pems.leafRsa), true);
    assert.equal(keyMatchesCertificate(keys.leafRsaPkcs1, pems.leafRsa), true);
  });

  it('false for another key of the same type, or of another type', () => {
    assert.equal(keyMatchesCertificate(keys.other, pems.leafEc), false);
    assert.equal(keyMatchesCertificate(keys.leafRsa, pems.leafEc), false);
    assert.equal(keyMatchesCertificate(keys.leafEc, pems.leafRsa), false);
    assert.equal(keyMatchesCertificate(keys.leafEc, pems.int), false);
  });
});

describe('splitPemChain', () => {
  it('returns the certificates in order, each ending with one newline', () => {
    const bundle = `${pems.leafEc}\n\n${pems.int}${pems.root}`;
    const parts = splitPemChain(bundle);
    assert.equal(parts.length, 3);
    assert.deepEqual(parts.map(derOf), [derOf(pems.leafEc), derOf(pems.int), derOf(pems.root)]);
    for (const p of parts) {
      assert.match(p, /^-----BEGIN CERTIFICATE-----\n[\s\S]+\n-----END CERTIFICATE-----\n$/);
    }
  });

  it('ignores text, keys and other blocks between certificates, and CRLF line ends', () => {
    const crlf = (s: string): string => s.replace(/\n/g, '\r\n');
    const bundle = `subject=CN = www\r\n${crlf(pems.leafEc)}${crlf(keys.leafEc)}issuer: int\n${pems.int}trailing junk`;
    const parts = splitPemChain(bundle);
    assert.deepEqual(parts.map(derOf), [derOf(pems.leafEc), derOf(pems.int)]);
    assert.ok(parts.every((p) => !p.includes('PRIVATE KEY')));
  });

  it('empty or certificate-free input gives an empty list', () => {
    assert.deepEqual(splitPemChain(''), []);
    assert.deepEqual(splitPemChain(keys.leafEc), []);
  });
});

describe('readCertificateFacts', () => {
  for (const name of ['leafEc', 'leafRsa', 'root'] as const) {
    it(`${name}: fingerprint, serial and dates agree with openssl x509`, async () => {
      const file = path.join(dir, `${name}.pem`);
      const facts = readCertificateFacts(pems[name]);
      const fp = await mustOpenssl(['x509', '-in', file, '-noout', '-fingerprint', '-sha256']);
      const expected = (fp.split('=')[1] ?? '').trim().replace(/:/g, '').toLowerCase();
      assert.match(expected, /^[0-9a-f]{64}$/);
      assert.equal(facts.fingerprintSha256, expected);
      assert.equal(fingerprintOfDer(new X509Certificate(pems[name]).raw), expected);

      const serial = (await mustOpenssl(['x509', '-in', file, '-noout', '-serial']))
        .trim()
        .replace(/^serial=/, '')
        .toLowerCase();
      assert.equal(facts.serialHex, serial);

      const dates = await mustOpenssl(['x509', '-in', file, '-noout', '-dates', '-dateopt', 'iso_8601']);
      const notBefore = /notBefore=(.+)/.exec(dates)?.[1]?.trim() ?? '';
      const notAfter = /notAfter=(.+)/.exec(dates)?.[1]?.trim() ?? '';
      assert.equal(facts.notBefore.getTime(), Date.parse(notBefore));
      assert.equal(facts.notAfter.getTime(), Date.parse(notAfter));
      assert.ok(facts.notAfter.getTime() - facts.notBefore.getTime() >= 29 * 86_400_000);
    });
  }

  it('subject, issuer and SANs', () => {
    const facts = readCertificateFacts(pems.leafEc);
    assert.match(facts.subject, /CN=www\.example\.test/);
    assert.match(facts.issuer, /CN=CertFleet Test Intermediate/);
    assert.deepEqual(facts.subjectAltNames, ['www.example.test', 'example.test']);
    assert.deepEqual(readCertificateFacts(pems.root).subjectAltNames, []);
  });

  it('reads the first certificate of a bundle', () => {
    assert.equal(
      readCertificateFacts(pems.leafRsa + pems.int).fingerprintSha256,
      readCertificateFacts(pems.leafRsa).fingerprintSha256,
    );
  });
});

describe('a certificate without a subject common name', () => {
  it('reads as an empty subject, not undefined (ACME profiles without a CN: Pebble 2.10, Let’s Encrypt tlsserver)', () => {
    const { certPem } = opensslSelfSigned({ subject: '/', subjectAltName: 'DNS:nocn.example.test', days: 1 });
    assert.equal(new X509Certificate(certPem).subject, undefined, 'premise: Node reads an empty subject as undefined');
    const facts = readCertificateFacts(certPem);
    assert.equal(facts.subject, '');
    assert.equal(facts.issuer, '');
    assert.deepEqual(facts.subjectAltNames, ['nocn.example.test']);
  });
});
