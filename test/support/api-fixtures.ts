import assert from 'node:assert/strict';
import type { ConsoleApp } from './console-app';

/**
 * The JSON body of a target created through the API and trusted by the pinned management `fingerprint`;
 * add `credentials` and `options` to it where the case needs them.
 */
export function pinnedApiTarget(
  vendor: string,
  name: string,
  customerId: string,
  host: string,
  fingerprint: string,
): Record<string, unknown> {
  return { vendor, name, customerId, host, trust: { fingerprintSha256: fingerprint } };
}

/** POSTs `body` to an API collection as the holder of `token`, asserts 201 Created and returns the new id. */
export async function apiCreate(
  c: Pick<ConsoleApp, 'api'>,
  token: string,
  path: string,
  body: Record<string, unknown>,
): Promise<string> {
  const created = await c.api(token, 'POST', path, body);
  assert.equal(created.status, 201, created.text);
  return String((created.json as { id: unknown }).id);
}

/** The id of the DNS provider named one of `names` (the first one made, where several match). */
export async function dnsProviderIdNamed(c: Pick<ConsoleApp, 'db'>, ...names: string[]): Promise<string | undefined> {
  const [provider] = await c.db.db.query<{ id: string }>(
    'SELECT id FROM dns_providers WHERE name = ANY($1::text[]) ORDER BY id LIMIT 1',
    [names],
  );
  return provider?.id;
}
