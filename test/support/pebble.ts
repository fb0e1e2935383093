/**
 * Pebble + pebble-challtestsrv v2.10.3 (ARI, profiles, EAB; built with Go into the cache, as
 * `.ci/run` does: `go install github.com/letsencrypt/pebble/v2/cmd/pebble@v2.10.3`) for tests, the
 * demo and the benchmarks, on free loopback ports. Debian's Pebble 2.4 has none of those.
 *
 * Pebble ships no TLS material for its listener here, so each start generates a throwaway CA and a listener cert
 * (SAN localhost, 127.0.0.1) with node-forge in a temp dir. Callers trust Pebble's HTTPS through
 * `caBundlePem` (never by disabling verification). Certificates Pebble *issues* chain to a different
 * root, served by the management port at /roots/0 and regenerated at every start.
 */
import { generateKeyPair, randomBytes } from 'node:crypto';
import * as dns from 'node:dns';
import { constants as fsConstants, rmSync } from 'node:fs';
import { access, mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as http from 'node:http';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import forge from 'node-forge';
import { buildGoTool, cachedToolPath, type GoTool } from '../../scripts/temporal/dev-server';
import { freePort, freeUdpAndTcpPort } from './free-port';
import { registerExitCleanup, spawnManaged, type ManagedProcess } from './process';

export interface PebbleOptions {
  /** PEBBLE_WFE_NONCEREJECT: percentage of nonces rejected as badNonce (default 0). */
  nonceRejectPercent?: number;
  /** PEBBLE_AUTHZREUSE: percentage of valid authzs reused (default: Pebble's own, 50). */
  authzReusePercent?: number;
  pebbleBinary?: string;
  challtestsrvBinary?: string;
  /** Readiness timeout per process (default 20 s). */
  timeoutMs?: number;
  /**
   * ACME profiles (Pebble v2.7+ config `profiles`): name → description and validity in seconds. The
   * directory lists them in `meta.profiles`; an order naming none gets a random one (Pebble's choice).
   */
  profiles?: Record<string, { description: string; validityPeriodSeconds: number }>;
  /**
   * External Account Binding (config `externalAccountBindingRequired`, `externalAccountMACKeys`
   * {kid: base64url HMAC key}): when given, new accounts need one of these pairs.
   */
  eabKeys?: Record<string, string>;
  /**
   * The DNS server Pebble's VA asks (`-dnsserver`), e.g. a BIND serving a delegated challenge; default
   * the challtestsrv started beside it.
   */
  dnsServer?: string;
  /**
   * Pebble's VA waits a random 0 to N-1 whole seconds before it validates a challenge (PEBBLE_VA_SLEEPTIME; its
   * default 5 unless PEBBLE_VA_NOSLEEP: va/va.go of pebble v2.10.3), as a busy real CA answers "processing"
   * for a while. Default: no wait (PEBBLE_VA_NOSLEEP=1).
   */
  validationSleepSeconds?: number;
}

export interface PebbleStack {
  /** https://127.0.0.1:PORT/dir */
  directoryUrl: string;
  /** https://127.0.0.1:PORT (Pebble management interface: /roots/0, /intermediates/0, …) */
  managementUrl: string;
  /** PEM of the CA that signed Pebble's HTTPS listener cert (pass to our HTTPS agent). */
  caBundlePem: string;
  /** Issuing root (management GET /roots/0). */
  rootPem(): Promise<string>;
  /** Issuing intermediate (management GET /intermediates/0). */
  intermediatePem(): Promise<string>;
  /** http://127.0.0.1:MGMT — management API of pebble-challtestsrv. */
  challtestsrvUrl: string;
  /** "127.0.0.1:PORT" — challtestsrv DNS (UDP+TCP), authoritative for every name in tests. */
  dnsServer: string;
  /** Publish a TXT record (appends; several values per name are allowed). Trailing dot optional. */
  setTxt(host: string, value: string): Promise<void>;
  /** Remove all TXT records of a name. */
  clearTxt(host: string): Promise<void>;
  /** POST any challtestsrv management endpoint, e.g. ('/set-servfail', {host}). Returns the body. */
  challtestsrv(pathname: string, body: unknown): Promise<string>;
  /** Last output lines of both processes (for diagnostics). */
  output(): string;
  /** Process ids of Pebble and challtestsrv (benchmarks read their CPU time and memory). */
  pids(): { pebble: number; challtestsrv: number };
  stop: () => Promise<void>;
}

const PEBBLE_MODULE = 'github.com/letsencrypt/pebble/v2/cmd';
export const PEBBLE_VERSION = 'v2.10.3';

/** Pebble, built once with Go into the cache (PEBBLE_PATH names another binary). */
export const PEBBLE: GoTool = {
  module: `${PEBBLE_MODULE}/pebble`,
  version: PEBBLE_VERSION,
  binary: 'pebble',
  label: `Pebble ${PEBBLE_VERSION}`,
  pathEnvVar: 'PEBBLE_PATH',
};

/** pebble-challtestsrv of the same release (PEBBLE_CHALLTESTSRV_PATH names another binary). */
export const PEBBLE_CHALLTESTSRV: GoTool = {
  module: `${PEBBLE_MODULE}/pebble-challtestsrv`,
  version: PEBBLE_VERSION,
  binary: 'pebble-challtestsrv',
  label: `pebble-challtestsrv ${PEBBLE_VERSION}`,
  pathEnvVar: 'PEBBLE_CHALLTESTSRV_PATH',
};

const executable = async (file: string): Promise<boolean> =>
  access(file, fsConstants.X_OK).then(
    () => true,
    () => false,
  );

/**
 * pebble-challtestsrv as the tests run it: DNS on `dnsAddress` (UDP and TCP), the management API on
 * 127.0.0.1:`managementPort`, no HTTP-01/TLS-ALPN-01/DoH listeners and no AAAA answers.
 */
export function challtestsrvArgs(dnsAddress: string, managementPort: number): string[] {
  return [
    '-dnsserver',
    dnsAddress,
    '-doh',
    '',
    '-http01',
    '',
    '-https01',
    '',
    '-tlsalpn01',
    '',
    '-management',
    `127.0.0.1:${managementPort}`,
    '-defaultIPv6',
    '',
  ];
}

/**
 * The tool's binary: its path variable, else the cache, else built into the cache now (a fresh
 * machine's first test or demo; `.ci/run` builds it beforehand). Never Debian's `pebble` on PATH,
 * which is 2.4 and takes other flags.
 */
export async function pebbleTool(tool: GoTool): Promise<string> {
  const explicit = tool.pathEnvVar ? process.env[tool.pathEnvVar] : undefined;
  if (explicit) return explicit;
  const cached = cachedToolPath(tool);
  if (await executable(cached)) return cached;
  const lines: string[] = [];
  const built = await buildGoTool(tool, (line) => lines.push(line));
  if (built) return built;
  throw new Error(
    `${tool.label} is not in ${cached} and could not be built (${lines.slice(-3).join('; ')}); run GOBIN=${path.dirname(cached)} go install ${tool.module}@${tool.version}`,
  );
}

const generateKeyPairAsync = promisify(generateKeyPair);

async function rsaKeyPair(): Promise<forge.pki.rsa.KeyPair> {
  const { privateKey } = await generateKeyPairAsync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const priv = forge.pki.privateKeyFromPem(privateKey);
  const pub = forge.pki.setRsaPublicKey(priv.n, priv.e);
  return { privateKey: priv, publicKey: pub };
}

function serial(): string {
  // positive 16-byte serial (high bit cleared)
  const b = randomBytes(16);
  b[0] = (b[0] ?? 0) & 0x7f;
  return b.toString('hex');
}

export interface ListenerTls {
  caCertPem: string;
  certPem: string;
  keyPem: string;
}

/** A throwaway CA and a server cert for localhost/127.0.0.1 signed by it. */
export async function generateListenerTls(commonName = 'certfleet test'): Promise<ListenerTls> {
  const [caKeys, leafKeys] = await Promise.all([rsaKeyPair(), rsaKeyPair()]);
  const now = Date.now();
  const notBefore = new Date(now - 60 * 60 * 1000);
  const notAfter = new Date(now + 7 * 24 * 60 * 60 * 1000);

  const ca = forge.pki.createCertificate();
  ca.publicKey = caKeys.publicKey;
  ca.serialNumber = serial();
  ca.validity.notBefore = notBefore;
  ca.validity.notAfter = notAfter;
  const caSubject = [{ name: 'commonName', value: `${commonName} CA` }];
  ca.setSubject(caSubject);
  ca.setIssuer(caSubject);
  ca.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  ca.sign(caKeys.privateKey, forge.md.sha256.create());

  const leaf = forge.pki.createCertificate();
  leaf.publicKey = leafKeys.publicKey;
  leaf.serialNumber = serial();
  leaf.validity.notBefore = notBefore;
  leaf.validity.notAfter = notAfter;
  leaf.setSubject([{ name: 'commonName', value: 'localhost' }]);
  leaf.setIssuer(caSubject);
  leaf.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    {
      name: 'subjectAltName',
      altNames: [
        { type: 2, value: 'localhost' },
        { type: 7, ip: '127.0.0.1' },
      ],
    },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: ca.generateSubjectKeyIdentifier().getBytes() },
  ]);
  leaf.sign(caKeys.privateKey, forge.md.sha256.create());

  return {
    caCertPem: forge.pki.certificateToPem(ca),
    certPem: forge.pki.certificateToPem(leaf),
    keyPem: forge.pki.privateKeyToPem(leafKeys.privateKey),
  };
}

interface HttpResult {
  status: number;
  body: string;
}

export function request(
  url: string,
  opts: { method?: string; body?: string; ca?: string; timeoutMs?: number } = {},
): Promise<HttpResult> {
  const u = new URL(url);
  const mod = u.protocol === 'https:' ? https : http;
  // Pebble 2.10 refuses requests without one (RFC 8555 §6.1: "All requests MUST include a User-Agent header").
  const headers: http.OutgoingHttpHeaders = { 'user-agent': 'certfleet-tests' };
  if (opts.body !== undefined) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = Buffer.byteLength(opts.body);
  }
  return new Promise((resolve, reject) => {
    const req = mod.request(
      u,
      {
        method: opts.method ?? 'GET',
        headers,
        agent: false,
        timeout: opts.timeoutMs ?? 5_000,
        ...(u.protocol === 'https:' && opts.ca !== undefined ? { ca: opts.ca } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timeout requesting ${url}`)));
    req.on('error', reject);
    req.end(opts.body);
  });
}

async function dnsAnswers(server: string): Promise<boolean> {
  const resolver = new dns.promises.Resolver({ timeout: 250, tries: 1 });
  resolver.setServers([server]);
  try {
    // challtestsrv answers every A query with -defaultIPv4 (127.0.0.1)
    const addrs = await resolver.resolve4('readiness-probe.certfleet.test');
    return addrs.length > 0;
  } catch {
    return false;
  } finally {
    resolver.cancel();
  }
}

function fqdn(host: string): string {
  return host.endsWith('.') ? host : `${host}.`;
}

async function startOnce(
  opts: PebbleOptions,
  dir: string,
  tls: ListenerTls,
  unregister: () => void,
): Promise<PebbleStack> {
  const dnsPort = await freeUdpAndTcpPort();
  const [ctsMgmtPort, acmePort, mgmtPort, httpPort, tlsPort] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  const dnsServer = `127.0.0.1:${dnsPort}`;
  const challtestsrvUrl = `http://127.0.0.1:${ctsMgmtPort}`;
  const directoryUrl = `https://127.0.0.1:${acmePort}/dir`;
  const managementUrl = `https://127.0.0.1:${mgmtPort}`;
  const ca = tls.caCertPem;

  const cts = await spawnManaged(
    opts.challtestsrvBinary ?? (await pebbleTool(PEBBLE_CHALLTESTSRV)),
    challtestsrvArgs(dnsServer, ctsMgmtPort),
    {
      name: 'pebble-challtestsrv',
      cwd: dir,
      timeoutMs: opts.timeoutMs,
      readyWhen: async () => {
        // Any HTTP answer from the management port, and a DNS answer.
        await request(`${challtestsrvUrl}/`, { timeoutMs: 500 });
        return dnsAnswers(dnsServer);
      },
    },
  );

  let pebble: ManagedProcess;
  try {
    const configFile = path.join(dir, `pebble-config-${acmePort}.json`);
    const config = {
      pebble: {
        listenAddress: `127.0.0.1:${acmePort}`,
        managementListenAddress: `127.0.0.1:${mgmtPort}`,
        certificate: path.join(dir, 'listener.cert.pem'),
        privateKey: path.join(dir, 'listener.key.pem'),
        httpPort,
        tlsPort,
        ocspResponderURL: '',
        externalAccountBindingRequired: opts.eabKeys !== undefined,
        ...(opts.eabKeys ? { externalAccountMACKeys: opts.eabKeys } : {}),
        ...(opts.profiles
          ? {
              profiles: Object.fromEntries(
                Object.entries(opts.profiles).map(([name, p]) => [
                  name,
                  { description: p.description, validityPeriod: p.validityPeriodSeconds },
                ]),
              ),
            }
          : {}),
      },
    };
    await writeFile(configFile, JSON.stringify(config, null, 2));
    pebble = await spawnManaged(
      opts.pebbleBinary ?? (await pebbleTool(PEBBLE)),
      ['-config', configFile, '-strict=false', '-dnsserver', opts.dnsServer ?? dnsServer],
      {
        name: 'pebble',
        cwd: dir,
        timeoutMs: opts.timeoutMs,
        env: {
          ...(opts.validationSleepSeconds
            ? { PEBBLE_VA_SLEEPTIME: String(opts.validationSleepSeconds) }
            : { PEBBLE_VA_NOSLEEP: '1' }),
          PEBBLE_WFE_NONCEREJECT: String(opts.nonceRejectPercent ?? 0),
          ...(opts.authzReusePercent !== undefined ? { PEBBLE_AUTHZREUSE: String(opts.authzReusePercent) } : {}),
        },
        readyWhen: async () => {
          const dirRes = await request(directoryUrl, { ca, timeoutMs: 1_000 });
          if (dirRes.status !== 200) return false;
          const roots = await request(`${managementUrl}/roots/0`, { ca, timeoutMs: 1_000 });
          return roots.status === 200;
        },
      },
    );
  } catch (err) {
    await cts.stop();
    throw err;
  }

  const getPem = async (p: string): Promise<string> => {
    const res = await request(`${managementUrl}${p}`, { ca });
    if (res.status !== 200 || !res.body.includes('-----BEGIN CERTIFICATE-----')) {
      throw new Error(`pebble management GET ${p}: HTTP ${res.status}: ${res.body.slice(0, 200)}`);
    }
    return res.body;
  };
  const challtestsrv = async (pathname: string, body: unknown): Promise<string> => {
    const res = await request(`${challtestsrvUrl}${pathname}`, { method: 'POST', body: JSON.stringify(body) });
    if (res.status !== 200) {
      throw new Error(`challtestsrv POST ${pathname}: HTTP ${res.status}: ${res.body.slice(0, 200)}`);
    }
    return res.body;
  };

  let stopping: Promise<void> | undefined;
  return {
    directoryUrl,
    managementUrl,
    caBundlePem: ca,
    rootPem: () => getPem('/roots/0'),
    intermediatePem: () => getPem('/intermediates/0'),
    challtestsrvUrl,
    dnsServer,
    challtestsrv,
    setTxt: async (host, value) => {
      await challtestsrv('/set-txt', { host: fqdn(host), value });
    },
    clearTxt: async (host) => {
      await challtestsrv('/clear-txt', { host: fqdn(host) });
    },
    output: () => `--- pebble ---\n${pebble.output()}\n--- pebble-challtestsrv ---\n${cts.output()}`,
    pids: () => ({ pebble: pebble.child.pid ?? 0, challtestsrv: cts.child.pid ?? 0 }),
    stop: () => {
      stopping ??= (async () => {
        await Promise.all([pebble.stop(), cts.stop()]);
        await rm(dir, { recursive: true, force: true });
        unregister();
      })();
      return stopping;
    },
  };
}

/** Start pebble-challtestsrv and Pebble on free loopback ports and wait until both answer. */
export async function startPebble(opts: PebbleOptions = {}): Promise<PebbleStack> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'certfleet-pebble-'));
  const unregister = registerExitCleanup(() => rmSync(dir, { recursive: true, force: true }));
  try {
    const tls = await generateListenerTls('certfleet pebble');
    await writeFile(path.join(dir, 'ca.cert.pem'), tls.caCertPem);
    await writeFile(path.join(dir, 'listener.cert.pem'), tls.certPem);
    await writeFile(path.join(dir, 'listener.key.pem'), tls.keyPem, { mode: 0o600 });
    // Free ports can be taken between probing and binding: retry with fresh ports.
    let lastError: unknown;
    for (let attempt = 1; attempt <= 3; attempt++) {
      try {
        return await startOnce(opts, dir, tls, unregister);
      } catch (err) {
        lastError = err;
        if (!/address already in use/i.test(String(err))) break;
      }
    }
    throw lastError;
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    unregister();
    throw err;
  }
}
