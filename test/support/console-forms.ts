import assert from 'node:assert/strict';
import type { ConsoleClient, ConsoleResponse } from './console-client';
import type { Stack } from './stack';

/**
 * Opens the form's page (which hands the client its CSRF token), posts `fields` to `action` and asserts
 * the answer's status (a redirect after a saved form unless told otherwise). Returns the answer.
 */
export async function submitForm(
  client: ConsoleClient,
  page: string,
  action: string,
  fields: Record<string, string>,
  status = 303,
): Promise<ConsoleResponse> {
  await client.get(page);
  const response = await client.post(action, fields);
  assert.equal(response.status, status, response.text.slice(0, 500));
  return response;
}

/** Saves a Cloudflare provider's form with a new API token (the fake Cloudflare as its API). */
export async function setCloudflareToken(
  client: ConsoleClient,
  stack: Stack,
  provider: { id: string; name: string },
  token: string,
): Promise<void> {
  const page = `/dns-providers/${provider.id}`;
  await submitForm(client, page, page, { name: provider.name, token, apiBaseUrl: stack.cloudflare.baseUrl });
}

/** Submits a form as submitForm does and asserts it is refused with 400 (and its field errors shown). */
export function refusedForm(
  client: ConsoleClient,
  page: string,
  action: string,
  fields: Record<string, string>,
): Promise<ConsoleResponse> {
  return submitForm(client, page, action, fields, 400);
}
