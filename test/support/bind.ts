/**
 * A real BIND 9 (Debian's `named`) on a free loopback port, as an authoritative server with dynamic
 * zones (RFC 2136, TSIG keys) and static zones the test rewrites and reloads (a customer's zone that
 * gains or loses a CNAME). Pebble can validate against it (`dnsServer`). Config and zones live in a
 * temp dir; named runs in the foreground (-g) and is stopped with the test.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { promises as dnsPromises } from 'node:dns';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { freeUdpAndTcpPort } from './free-port';
import { registerExitCleanup, spawnManaged, type ManagedProcess } from './process';

export interface BindKey {
  name: string;
  algorithm: 'hmac-sha256' | 'hmac-sha512';
  /** base64, as tsig-keygen prints it. */
  secret: string;
}

export interface BindZone {
  name: string;
  /** Keys allowed to update the zone (allow-update); none makes it a static zone the test rewrites. */
  updateKeys?: string[];
  /** Zone-file lines after the SOA and NS, e.g. `_acme-challenge.www 60 IN CNAME www.delegated.test.` */
  records?: string[];
}

export interface BindOptions {
  keys: BindKey[];
  zones: BindZone[];
  /**
   * Also answer recursively for 127.0.0.1, following CNAMEs across the zones it serves, as the
   * resolver of a CA's validation authority does (Pebble's `-dnsserver` in the delegation test).
   */
  recursive?: boolean;
}

export interface BindServer {
  /** "127.0.0.1:PORT" (UDP and TCP). */
  address: string;
  host: string;
  port: number;
  keys: Record<string, BindKey>;
  /** Rewrites a static zone's records and reloads it (serial + 1); resolves once named serves the new serial. */
  setRecords(zone: string, records: string[]): Promise<void>;
  /** TXT values of a name as named serves them (a direct, non-recursive query). */
  txt(name: string): Promise<string[]>;
  output(): string;
  stop(): Promise<void>;
}

/** A fresh random key, as `tsig-keygen -a <algorithm>` makes one. */
export function newBindKey(name: string, algorithm: BindKey['algorithm'] = 'hmac-sha256'): BindKey {
  return { name, algorithm, secret: randomBytes(algorithm === 'hmac-sha256' ? 32 : 64).toString('base64') };
}

const NAMED = process.env['NAMED_PATH'] ?? '/usr/sbin/named';

function zoneFile(zone: BindZone, serial: number, records: string[]): string {
  return [
    `$ORIGIN ${zone.name}.`,
    '$TTL 60',
    `@ IN SOA ns1.${zone.name}. hostmaster.${zone.name}. ${serial} 3600 600 86400 60`,
    `@ IN NS ns1.${zone.name}.`,
    'ns1 IN A 127.0.0.1',
    ...records,
    '',
  ].join('\n');
}

function namedConf(dir: string, port: number, options: BindOptions): string {
  const { keys, zones } = options;
  return [
    'options {',
    `  directory "${dir}";`,
    `  pid-file "${dir}/named.pid";`,
    `  session-keyfile "${dir}/session.key";`,
    `  managed-keys-directory "${dir}";`,
    `  listen-on port ${port} { 127.0.0.1; };`,
    '  listen-on-v6 { none; };',
    // A recursive resolver (as Let's Encrypt's VA uses) follows a CNAME into another zone; named does
    // that from its own zones when recursion is on. Authoritative-only, it answers the CNAME alone.
    options.recursive
      ? '  recursion yes; allow-recursion { 127.0.0.1; }; allow-query-cache { 127.0.0.1; };'
      : '  recursion no;',
    '  notify no;',
    '  dnssec-validation no;',
    '};',
    'controls { };',
    ...keys.map((k) => `key "${k.name}" { algorithm ${k.algorithm}; secret "${k.secret}"; };`),
    ...zones.map((z) =>
      [
        `zone "${z.name}" {`,
        '  type primary;',
        `  file "${dir}/${z.name}.db";`,
        z.updateKeys?.length
          ? `  allow-update { ${z.updateKeys.map((k) => `key "${k}";`).join(' ')} };`
          : '  allow-update { none; };',
        '};',
      ].join('\n'),
    ),
    '',
  ].join('\n');
}

async function soaSerial(address: string, zone: string): Promise<number | undefined> {
  const resolver = new dnsPromises.Resolver({ timeout: 500, tries: 1 });
  resolver.setServers([address]);
  try {
    return (await resolver.resolveSoa(zone)).serial;
  } catch {
    return undefined;
  } finally {
    resolver.cancel();
  }
}

/** Starts named serving `zones` with `keys` on a free loopback port (retried on a port race). */
export async function startBind(options: BindOptions): Promise<BindServer> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'certfleet-bind-'));
  const unregister = registerExitCleanup(() => rmSync(dir, { recursive: true, force: true }));
  const serials = new Map(options.zones.map((z) => [z.name, 1]));
  for (const zone of options.zones)
    await writeFile(path.join(dir, `${zone.name}.db`), zoneFile(zone, 1, zone.records ?? []));
  let named: ManagedProcess | undefined;
  let port = 0;
  let lastError: unknown;
  for (let attempt = 0; attempt < 3 && !named; attempt++) {
    port = await freeUdpAndTcpPort();
    const conf = path.join(dir, 'named.conf');
    await writeFile(conf, namedConf(dir, port, options));
    const first = options.zones[0]?.name ?? '.';
    try {
      named = await spawnManaged(NAMED, ['-g', '-c', conf, '-n', '1'], {
        name: 'named',
        cwd: dir,
        timeoutMs: 20_000,
        readyWhen: async () => (await soaSerial(`127.0.0.1:${port}`, first)) !== undefined,
      });
    } catch (error) {
      lastError = error;
      if (!/address in use|address already in use/i.test(String(error))) break;
    }
  }
  if (!named) {
    await rm(dir, { recursive: true, force: true });
    unregister();
    throw lastError;
  }
  const server = named;
  const address = `127.0.0.1:${port}`;
  return {
    address,
    host: '127.0.0.1',
    port,
    keys: Object.fromEntries(options.keys.map((k) => [k.name, k])),
    async setRecords(zoneName, records) {
      const zone = options.zones.find((z) => z.name === zoneName);
      if (!zone || zone.updateKeys?.length) throw new Error(`bind: ${zoneName} is not a static zone of this server`);
      const serial = (serials.get(zoneName) ?? 1) + 1;
      serials.set(zoneName, serial);
      await writeFile(path.join(dir, `${zoneName}.db`), zoneFile(zone, serial, records));
      server.child.kill('SIGHUP'); // named reloads its configuration and changed zone files
      for (let i = 0; i < 100; i++) {
        if ((await soaSerial(address, zoneName)) === serial) return;
        await delay(100);
      }
      throw new Error(`bind: ${zoneName} was not reloaded to serial ${serial}\n${server.output()}`);
    },
    async txt(name) {
      const resolver = new dnsPromises.Resolver({ timeout: 1_000, tries: 2 });
      resolver.setServers([address]);
      try {
        return (await resolver.resolveTxt(name)).map((chunks) => chunks.join('')).sort();
      } catch (error) {
        if (
          (error as NodeJS.ErrnoException).code === 'ENODATA' ||
          (error as NodeJS.ErrnoException).code === 'ENOTFOUND'
        )
          return [];
        throw error;
      }
    },
    output: () => server.output(),
    async stop() {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
      unregister();
    },
  };
}
