/**
 * A real PowerDNS Authoritative Server (Debian `pdns-server` + `pdns-backend-sqlite3`) for tests:
 * DNS on a loopback UDP/TCP port, the HTTP API on another, an sqlite3 database in a temp dir
 * created from the package's own schema. Caches are off so a DNS query shows the API's change at
 * once (tests assert on what the server serves, not on timing).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, freeUdpAndTcpPort } from './free-port';
import { spawnManaged, type ManagedProcess } from './process';

const PDNS_SERVER = '/usr/sbin/pdns_server';
const SCHEMA = [
  '/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql',
  '/usr/share/doc/pdns-backend-sqlite3/schema.sqlite3.sql',
];

export interface PowerDns {
  /** e.g. http://127.0.0.1:PORT (the API is under /api/v1). */
  apiUrl: string;
  apiKey: string;
  /** ip:port of the authoritative DNS listener. */
  dnsAddress: string;
  dnsPort: number;
  /** Creates a Native zone with an SOA and one NS record (`ns1.<zone>`) through the API. */
  createZone(name: string): Promise<void>;
  /** Adds (replaces) one record, e.g. the A or AAAA of a nameserver. */
  setRecord(zone: string, name: string, type: string, content: string): Promise<void>;
  stop(): Promise<void>;
}

export const powerDnsAvailable = (): boolean => existsSync(PDNS_SERVER) && SCHEMA.some((p) => existsSync(p));

/** `ipv6`: also listen on [::1] (same port), for IPv6-only nameserver tests. */
export async function startPowerDns(options: { apiKey: string; ipv6?: boolean }): Promise<PowerDns> {
  const dir = mkdtempSync(path.join(tmpdir(), 'certfleet-pdns-'));
  const schema = SCHEMA.find((p) => existsSync(p));
  if (!schema)
    throw new Error('pdns-backend-sqlite3 is not installed (apt-get install pdns-server pdns-backend-sqlite3)');
  const database = path.join(dir, 'pdns.sqlite3');
  execFileSync('sqlite3', [database], { input: readFileSync(schema) });
  const dnsPort = await freeUdpAndTcpPort();
  const apiPort = await freePort();
  writeFileSync(
    path.join(dir, 'pdns.conf'),
    [
      'launch=gsqlite3',
      `gsqlite3-database=${database}`,
      `local-address=127.0.0.1${options.ipv6 ? ', ::1' : ''}`,
      `local-port=${dnsPort}`,
      'api=yes',
      `api-key=${options.apiKey}`,
      'webserver=yes',
      'webserver-address=127.0.0.1',
      `webserver-port=${apiPort}`,
      'webserver-allow-from=127.0.0.0/8',
      `socket-dir=${dir}`,
      'guardian=no',
      'daemon=no',
      'disable-syslog=yes',
      'log-timestamp=no',
      'loglevel=4',
      'cache-ttl=0',
      'negquery-cache-ttl=0',
      'query-cache-ttl=0',
      'zone-cache-refresh-interval=0',
      '',
    ].join('\n'),
  );
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  let server: ManagedProcess;
  try {
    server = await spawnManaged(PDNS_SERVER, [`--config-dir=${dir}`], {
      name: 'pdns_server',
      readyWhen: async () => (await fetch(`${apiUrl}/api/v1/servers`, { headers: { 'x-api-key': options.apiKey } })).ok,
    });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    apiUrl,
    apiKey: options.apiKey,
    dnsAddress: `127.0.0.1:${dnsPort}`,
    dnsPort,
    async createZone(name) {
      const response = await fetch(`${apiUrl}/api/v1/servers/localhost/zones`, {
        method: 'POST',
        headers: { 'x-api-key': options.apiKey, 'content-type': 'application/json' },
        body: JSON.stringify({ name: `${name}.`, kind: 'Native', nameservers: [`ns1.${name}.`] }),
      });
      if (response.status !== 201)
        throw new Error(`pdns: create zone ${name}: ${response.status} ${await response.text()}`);
    },
    async setRecord(zone, name, type, content) {
      const rrset = { name: `${name}.`, type, ttl: 60, changetype: 'REPLACE', records: [{ content, disabled: false }] };
      const response = await fetch(`${apiUrl}/api/v1/servers/localhost/zones/${zone}.`, {
        method: 'PATCH',
        headers: { 'x-api-key': options.apiKey, 'content-type': 'application/json' },
        body: JSON.stringify({ rrsets: [rrset] }),
      });
      if (response.status !== 204)
        throw new Error(`pdns: set ${name} ${type}: ${response.status} ${await response.text()}`);
    },
    async stop() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
