/**
 * One DNS provider = its folder + one line in registry.ts and descriptors.ts: every folder is
 * registered under its folder name, field names do not clash with the form's own, and the API
 * reference's provider schema (generated when served) lists every descriptor field.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';
import { parse } from 'yaml';
import { dnsProviderDescriptors } from '../../activities/dns-providers/descriptors';
import { dnsProviderFactories } from '../../activities/dns-providers/registry';
import { RESERVED_PROVIDER_FIELDS } from '../../activities/dns-providers/types';
import { withDnsProviderSchema } from '../../web/api/dns-provider-schema';
import { OPENAPI_PATH } from '../../web/api/index';

const PROVIDERS = path.join(__dirname, '..', '..', 'activities', 'dns-providers');

it('every provider folder is registered, and its id is the folder name everywhere', () => {
  const folders = readdirSync(PROVIDERS, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  assert.ok(folders.includes('cloudflare'), folders.join(', '));
  assert.deepEqual(Object.keys(dnsProviderFactories).sort(), folders);
  assert.deepEqual(Object.keys(dnsProviderDescriptors).sort(), folders);
  for (const [key, descriptor] of Object.entries(dnsProviderDescriptors)) {
    assert.equal(descriptor.id, key);
    assert.ok(
      descriptor.fields.some((f) => f.secret),
      `${key}: at least one secret field`,
    );
    const names = descriptor.fields.map((f) => f.name);
    assert.equal(new Set(names).size, names.length, `${key}: field names are unique`);
    for (const name of names) {
      assert.ok(!(RESERVED_PROVIDER_FIELDS as readonly string[]).includes(name), `${key}: ${name} is reserved`);
      assert.match(name, /^[a-z][A-Za-z0-9]*$/, `${key}: ${name} is a camelCase key`);
    }
  }
});

it('the served API reference lists every kind and every field of every descriptor', () => {
  const doc = parse(withDnsProviderSchema(readFileSync(OPENAPI_PATH, 'utf8'))) as {
    components: { schemas: Record<string, Record<string, unknown>> };
  };
  const input = doc.components.schemas['DnsProviderInput'] as {
    description: string;
    properties: {
      kind: { enum: string[] };
      config: { properties: Record<string, unknown> };
      secrets: { properties: Record<string, { writeOnly?: boolean }> };
    };
  };
  assert.deepEqual(input.properties.kind.enum.sort(), Object.keys(dnsProviderDescriptors).sort());
  for (const d of Object.values(dnsProviderDescriptors)) {
    assert.match(input.description, new RegExp(`\\| \`${d.id}\` \\| `), `${d.id} has a row`);
    for (const f of d.fields) {
      if (f.secret) assert.equal(input.properties.secrets.properties[f.name]?.writeOnly, true, `${d.id}.${f.name}`);
      else assert.ok(input.properties.config.properties[f.name], `${d.id}.${f.name}`);
    }
  }
});
