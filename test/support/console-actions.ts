import assert from 'node:assert/strict';
import type { ConsoleClient } from './console-client';
import type { Stack } from './stack';
import { CLOUDFLARE_TOKEN } from './stack';

/** Registers Pebble as a custom ACME directory with its CA bundle, through Settings. Returns its id. */
export async function addPebbleDirectory(client: ConsoleClient, stack: Stack): Promise<string> {
  await client.get('/settings');
  const saved = await client.post('/settings/acme-directories', { name: 'Pebble', url: stack.pebble.directoryUrl, caBundlePem: stack.pebble.caBundlePem });
  assert.equal(saved.status, 303, saved.text);
  const page = await client.get('/certificates/new');
  const id = new RegExp(`<option value="(\\d+)"[^>]*>Pebble`).exec(page.text)?.[1];
  assert.ok(id, 'Pebble directory listed on the certificate form');
  return id;
}

/** Adds a Cloudflare provider pointing at the fake. Returns its id. */
export async function addCloudflareProvider(client: ConsoleClient, stack: Stack, name: string, token = CLOUDFLARE_TOKEN): Promise<string> {
  await client.get('/dns-providers');
  const saved = await client.post('/dns-providers', { kind: 'cloudflare', name, token, zoneName: '', zoneId: '', apiBaseUrl: stack.cloudflare.baseUrl });
  assert.equal(saved.status, 303, saved.text);
  const page = await client.get('/certificates/new');
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const id = new RegExp(`<option value="(\\d+)"[^>]*>${escaped}</option>`).exec(page.text)?.[1];
  assert.ok(id, `provider ${name} listed on the certificate form`);
  return id;
}

/** Requests a certificate through the form. Returns the new certificate id. */
export async function requestCertificate(client: ConsoleClient, form: { commonName: string; dnsProviderId: string; acmeDirectoryId: string; keyType?: string }): Promise<string> {
  await client.get('/certificates/new');
  const created = await client.post('/certificates', { keyType: 'ecdsa-p256', renewalMode: 'fraction', renewalValue: '', ...form });
  assert.equal(created.status, 303, created.text.slice(0, 2000));
  const id = /^\/certificates\/(\d+)$/.exec(created.location ?? '')?.[1];
  assert.ok(id, `redirected to the certificate page, got ${created.location}`);
  return id;
}

/** Waits until the certificate page's progress fragment stops polling (the run ended). */
export async function waitForRunToEnd(client: ConsoleClient, certificateId: string, timeoutMs = 90_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const fragment = await client.get(`/certificates/${certificateId}/progress`, { 'HX-Request': 'true' });
    assert.equal(fragment.status, 200);
    if (fragment.text.includes('run-') && !fragment.text.includes('hx-trigger="every 1s"')) return fragment.text;
    if (Date.now() > deadline) throw new Error(`run did not end within ${timeoutMs} ms; last fragment:\n${fragment.text}`);
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}
