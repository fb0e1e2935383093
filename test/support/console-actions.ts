import assert from 'node:assert/strict';
import type { FakeSonicWall } from '../fakes/sonicwall/server';
import { bearerRequest } from './bearer-request';
import type { ConsoleClient } from './console-client';
import type { TestFtpServer } from './ftp';
import type { AnyStack } from './stack';
import { CLOUDFLARE_TOKEN } from './stack';

/** Registers Pebble as a custom ACME directory with its CA bundle, through Settings. Returns its id. */
export async function addPebbleDirectory(client: ConsoleClient, stack: AnyStack): Promise<string> {
  await client.get('/settings');
  const saved = await client.post('/settings/acme-directories', {
    name: 'Pebble',
    url: stack.pebble.directoryUrl,
    caBundlePem: stack.pebble.caBundlePem,
  });
  assert.equal(saved.status, 303, saved.text);
  const page = await client.get('/certificates/new');
  const id = new RegExp(`<option value="(\\d+)"[^>]*>Pebble`).exec(page.text)?.[1];
  assert.ok(id, 'Pebble directory listed on the certificate form');
  return id;
}

/** Adds a Cloudflare provider pointing at the fake. Returns its id. */
export async function addCloudflareProvider(
  client: ConsoleClient,
  stack: AnyStack,
  name: string,
  token = CLOUDFLARE_TOKEN,
): Promise<string> {
  await client.get('/dns-providers');
  const saved = await client.post('/dns-providers', {
    kind: 'cloudflare',
    name,
    token,
    zoneName: '',
    zoneId: '',
    apiBaseUrl: stack.cloudflare.baseUrl,
  });
  assert.equal(saved.status, 303, saved.text);
  const page = await client.get('/certificates/new');
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const id = new RegExp(`<option value="(\\d+)"[^>]*>${escaped}</option>`).exec(page.text)?.[1];
  assert.ok(id, `provider ${name} listed on the certificate form`);
  return id;
}

/** Requests a certificate through the form. Returns the new certificate id. */
export async function requestCertificate(
  client: ConsoleClient,
  form: {
    commonName: string;
    dnsProviderId: string;
    acmeDirectoryId: string;
    keyType?: string;
    delegationZone?: string;
  },
): Promise<string> {
  await client.get('/certificates/new');
  const created = await client.post('/certificates', {
    keyType: 'ecdsa-p256',
    renewalMode: 'fraction',
    renewalValue: '',
    ...form,
  });
  assert.equal(created.status, 303, created.text.slice(0, 2000));
  const id = /^\/certificates\/(\d+)$/.exec(created.location ?? '')?.[1];
  assert.ok(id, `redirected to the certificate page, got ${created.location}`);
  return id;
}

/** Waits until the certificate page's progress fragment stops polling (the run ended). */
export async function waitForRunToEnd(
  client: ConsoleClient,
  certificateId: string,
  timeoutMs = 90_000,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const fragment = await client.get(`/certificates/${certificateId}/progress`, { 'HX-Request': 'true' });
    assert.equal(fragment.status, 200);
    if (fragment.text.includes('run-') && !fragment.text.includes('hx-trigger="every 1s"')) return fragment.text;
    if (Date.now() > deadline)
      throw new Error(`run did not end within ${timeoutMs} ms; last fragment:\n${fragment.text}`);
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

export interface TargetForm {
  vendor: string;
  name: string;
  host: string;
  port: number;
  /** Trust the management HTTPS by its pinned SHA-256 fingerprint… */
  fingerprint?: string;
  /** …or by the CA that issued it (PEM). */
  caPem?: string;
  credentials: Record<string, string>;
  options?: Record<string, string>;
}

/** Adds a target through the console form. Returns its id. */
export async function addTarget(client: ConsoleClient, form: TargetForm): Promise<string> {
  await client.get(`/targets/new?vendor=${form.vendor}`);
  const fields: Record<string, string> = {
    vendor: form.vendor,
    name: form.name,
    host: form.host,
    port: String(form.port),
    ...(form.caPem !== undefined
      ? { trustMode: 'ca', trustCaPem: form.caPem }
      : { trustMode: 'fingerprint', trustFingerprint: form.fingerprint ?? '' }),
  };
  for (const [k, v] of Object.entries(form.credentials)) fields[`cred_${k}`] = v;
  for (const [k, v] of Object.entries(form.options ?? {})) fields[`opt_${k}`] = v;
  const saved = await client.post('/targets', fields);
  assert.equal(saved.status, 303, saved.text.slice(0, 3000));
  const id = /^\/targets\/(\d+)$/.exec(saved.location ?? '')?.[1];
  assert.ok(id, `redirected to the target page, got ${saved.location}`);
  return id;
}

/** The fake SonicWall as a target, signed in as "admin"; it pulls certificates from `ftp`'s "certfleet" directory. */
export function addSonicWallTarget(
  client: ConsoleClient,
  name: string,
  sonicwall: FakeSonicWall,
  ftp: TestFtpServer,
  passwords: { admin: string; ftp: string },
): Promise<string> {
  return addTarget(client, {
    vendor: 'sonicwall',
    name,
    host: sonicwall.host,
    port: sonicwall.port,
    fingerprint: sonicwall.managementFingerprint(),
    credentials: { username: 'admin', password: passwords.admin, ftpPassword: passwords.ftp },
    options: {
      ftpHost: ftp.host,
      ftpPort: String(ftp.port),
      ftpUser: ftp.user,
      ftpDirectory: 'certfleet',
      sslVpnPort: String(sonicwall.endpoints.sslVpn.port),
    },
  });
}

/** Links a certificate to a target with binding fields and verify endpoints. */
export async function linkDeployment(
  client: ConsoleClient,
  certificateId: string,
  targetId: string,
  binding: Record<string, string>,
  endpoints: { host: string; port: number }[],
): Promise<void> {
  await client.get(`/certificates/${certificateId}/deployments/new?target=${targetId}`);
  const fields: Record<string, string> = {
    targetId,
    verifyEndpoints: endpoints.map((e) => `${e.host}:${e.port}`).join('\n'),
  };
  for (const [k, v] of Object.entries(binding)) fields[`bind_${k}`] = v;
  const saved = await client.post(`/certificates/${certificateId}/deployments`, fields);
  assert.equal(saved.status, 303, saved.text.slice(0, 3000));
}

/** "Renew now" through the console, then waits for the run to end; returns the final progress fragment. */
export async function renewNow(client: ConsoleClient, certificateId: string): Promise<void> {
  await client.get(`/certificates/${certificateId}`);
  const response = await client.post(`/certificates/${certificateId}/renew`, {});
  assert.equal(response.status, 303, response.text.slice(0, 1000));
}

/** Creates an API token under "Your account" and returns it (shown once on that page). */
export async function createApiToken(
  client: ConsoleClient,
  name: string,
  extra: Record<string, string> = {},
): Promise<string> {
  await client.get('/account');
  const created = await client.post('/account/tokens', { name, ...extra });
  assert.equal(created.status, 303, created.text.slice(0, 500));
  const token = /<code class="token" id="new-token">(cft_[A-Za-z0-9_-]+)<\/code>/.exec(
    (await client.get(created.location ?? '/account')).text,
  )?.[1];
  assert.ok(token, 'the new token is on the page');
  return token;
}

/** A JSON API call with a bearer token; throws on a non-2xx answer unless `allow` lists the status. */
export async function apiCall<T>(
  baseUrl: string,
  token: string,
  method: string,
  path: string,
  body?: unknown,
  allow: number[] = [],
): Promise<{ status: number; json: T }> {
  const response = await bearerRequest(baseUrl, token, method, path, body);
  const text = await response.text();
  if (response.status >= 300 && !allow.includes(response.status))
    throw new Error(`${method} ${path} answered ${response.status}: ${text.slice(0, 500)}`);
  return { status: response.status, json: (text ? JSON.parse(text) : undefined) as T };
}

/** Settings → ACME directories → a directory's rate-limit budgets and fallback; the defaults are Let's Encrypt's. */
export interface DirectoryPacingForm {
  ordersPerAccount: string;
  accountWindowSeconds: string;
  certificatesPerDomain: string;
  duplicatesPerIdentifiers: string;
  domainWindowSeconds: string;
  fallbackDirectoryIds: string;
  fallbackAfterSeconds: string;
}

export const LETS_ENCRYPT_PACING: DirectoryPacingForm = {
  ordersPerAccount: '300',
  accountWindowSeconds: '10800',
  certificatesPerDomain: '50',
  duplicatesPerIdentifiers: '5',
  domainWindowSeconds: '604800',
  fallbackDirectoryIds: '',
  fallbackAfterSeconds: '900',
};

/**
 * Pebble enforces none of Let's Encrypt's budgets, which a directory gets by default (50 certificates per
 * registered domain a week, 300 orders per account in 3 hours): more than 50 certificates under example.test
 * would wait a week for their pacing slots. Settings → Rate-limit budgets, as an admin would.
 */
export function liftPebbleBudgets(client: ConsoleClient, directoryId: string): Promise<void> {
  return setDirectoryPacing(client, directoryId, { ordersPerAccount: '100000', certificatesPerDomain: '100000' });
}

/** Saves a directory's budgets as an admin would (the defaults but for `changes`); fails unless the form is accepted. */
export async function setDirectoryPacing(
  client: ConsoleClient,
  directoryId: string,
  changes: Partial<DirectoryPacingForm>,
): Promise<void> {
  await client.get('/settings');
  const saved = await client.post(`/settings/acme-directories/${directoryId}/pacing`, {
    ...LETS_ENCRYPT_PACING,
    ...changes,
  });
  assert.equal(
    saved.status,
    303,
    `the budgets of directory ${directoryId} were not saved: ${saved.text.slice(0, 300)}`,
  );
}

/** What many certificates are created and linked through: the JSON API with Pebble (budgets lifted) and a provider. */
export interface BulkApi {
  admin: ConsoleClient;
  directoryId: string;
  providerId: string;
  token: string;
  /** apiCall against the stack's console with this token. */
  api: <T>(method: string, path: string, body?: unknown, allow?: number[]) => Promise<{ status: number; json: T }>;
}

/** Signs the admin in, registers Pebble (budgets lifted) and a Cloudflare provider, and creates an API token. */
export async function openBulkApi(stack: AnyStack, label: string, providerName: string): Promise<BulkApi> {
  const admin = await stack.admin();
  const directoryId = await addPebbleDirectory(admin, stack);
  await liftPebbleBudgets(admin, directoryId);
  const providerId = await addCloudflareProvider(admin, stack, providerName);
  const token = await createApiToken(admin, label);
  const api = <T>(method: string, path: string, body?: unknown, allow?: number[]) =>
    apiCall<T>(stack.web.url, token, method, path, body, allow);
  return { admin, directoryId, providerId, token, api };
}
