import { sealDnsToken } from '../../activities/crypto/bound-secrets';
import { dnsProviderEndpoint } from '../../activities/domain/secret-endpoints';
import {
  certificatesUsingDnsProvider,
  deleteDnsProvider as softDeleteDnsProvider,
  dnsProviderNameTaken,
  getDnsProvider,
  insertDnsProvider,
  redactDnsProvider,
  updateDnsProvider as saveDnsProvider,
  type DnsProviderRecord,
} from '../../activities/db/repositories/dns-providers';
import type { Queryable } from '../../activities/db/pool';
import { dnsProviderDescriptors } from '../../activities/dns-providers/descriptors';
import { audit, auditedChange } from '../audit';
import { saveSecretHolder } from '../endpoint-change';
import { deleteConfirmed } from './delete-confirmed';
import type { WebDeps } from '../deps';
import { HttpError } from '../http-error';
import { done, FieldReader, invalid, type Actor, type Body, type OpResult } from './input';
import type { ObjectChange, ObjectDeletion } from './input';

const NAME = /^[\p{L}\p{N}][\p{L}\p{N} ._-]{0,63}$/u;

export async function loadDnsProvider(db: Queryable, id: unknown): Promise<DnsProviderRecord> {
  const provider = typeof id === 'string' ? await getDnsProvider(db, id) : undefined;
  if (!provider) throw new HttpError(404, 'No such DNS provider.');
  return provider;
}

/**
 * Name, kind-specific configuration and the token (required when creating; when editing, optional
 * unless the API address the token is bound to changed). Only admins set or change an API address.
 */
async function checkProvider(db: Queryable, actor: Actor, body: Body, existing?: DnsProviderRecord) {
  const f = new FieldReader(body);
  const name = f.text('name');
  const givenKind = f.text('kind');
  const kind = existing?.kind ?? (givenKind || 'cloudflare');
  const token = f.text('token');
  if (!NAME.test(name))
    f.fail('name', 'Give the provider a name of 1 to 64 letters, digits, spaces, dots, dashes or underscores.');
  else if (await dnsProviderNameTaken(db, name, existing?.id))
    f.fail('name', 'A provider with this name exists already.');
  const descriptor = Object.hasOwn(dnsProviderDescriptors, kind) ? dnsProviderDescriptors[kind] : undefined;
  if (!descriptor) f.fail('kind', 'Choose a supported DNS provider.');
  else if (existing && givenKind && givenKind !== existing.kind)
    f.fail('kind', 'The kind of a DNS provider cannot change; add a new provider instead.');
  if (!token && !existing) f.fail('token', 'Enter the API token.');
  else if (token.length > 512 || /\s/.test(token)) f.fail('token', 'That does not look like an API token.');
  // The provider's own fields, read as text here (a wrong JSON type is an error, not an empty field).
  const configInput = Object.fromEntries(
    (descriptor?.fields ?? []).filter((field) => !field.secret).map((field) => [field.name, f.text(field.name)]),
  );
  const parsed = descriptor ? descriptor.parseConfig(configInput) : { config: {}, errors: {} };
  for (const [key, message] of Object.entries(parsed.errors)) f.fail(key, message);
  const endpointFields = (descriptor?.fields ?? []).filter((field) => field.endpoint === true);
  const moved = endpointFields.filter(
    (field) => (existing?.config[field.name] ?? undefined) !== parsed.config[field.name],
  );
  if (moved.length > 0 && actor.user?.role !== 'admin') {
    throw new HttpError(
      403,
      `Only an admin can set or change the ${moved.map((field) => field.label).join(', ')} of a DNS provider: the API token is sent there.`,
    );
  }
  if (existing && moved.length > 0 && !token)
    f.fail(
      'token',
      'The API address changed: enter the API token again (a stored token is never sent to a new address).',
    );
  if (!f.ok) return invalid<{ name: string; kind: string; token: string; config: Record<string, unknown> }>(f.errors);
  return done({ name, kind, token, config: parsed.config });
}

export async function createDnsProvider(deps: WebDeps, actor: Actor, body: Body): Promise<OpResult<DnsProviderRecord>> {
  const checked = await checkProvider(deps.db, actor, body);
  if (!checked.ok) return checked;
  const { name, kind, config, token } = checked.value;
  const provider = await auditedChange(
    deps.db,
    actor,
    (tx) =>
      insertDnsProvider(tx, {
        name,
        kind,
        config,
        tokenSealed: sealDnsToken(deps.box, { kind, config }, token),
      }),
    (created) => ({
      action: 'dns-provider.create',
      entityType: 'dns_provider',
      entityId: created.id,
      after: redactDnsProvider(created),
    }),
  );
  return done(provider);
}

/** A new name or configuration; the stored token is kept unless a new one is entered. */
export const updateDnsProvider: ObjectChange<Body, DnsProviderRecord> = async (deps, actor, id, body) => {
  const before = await loadDnsProvider(deps.db, id);
  const checked = await checkProvider(deps.db, actor, body, before);
  if (!checked.ok) return checked;
  const { name, config, token } = checked.value;
  const saved = await saveSecretHolder(deps, actor, {
    entityType: 'dns_provider',
    action: 'dns-provider.update',
    before,
    save: async (tx) => {
      await saveDnsProvider(tx, before.id, {
        name,
        config,
        ...(token ? { tokenSealed: sealDnsToken(deps.box, { kind: before.kind, config }, token) } : {}),
      });
      return loadDnsProvider(tx, before.id);
    },
    redact: redactDnsProvider,
    endpoints: () => ({
      before: dnsProviderEndpoint(before),
      after: dnsProviderEndpoint({ kind: before.kind, config }),
    }),
    secret: { field: 'token', replaced: () => Boolean(token) },
  });
  return done(saved);
};

/** The console confirms by the provider's name (`confirmation`: its form); the API's DELETE is explicit. */
export const deleteDnsProvider: ObjectDeletion = async (deps, actor, id, confirmation) => {
  const provider = await loadDnsProvider(deps.db, id);
  const users = await certificatesUsingDnsProvider(deps.db, provider.id);
  if (users.length) {
    throw new HttpError(
      409,
      `${provider.name} is used by ${users.map((c) => c.commonName).join(', ')}. Move those certificates to another provider first.`,
    );
  }
  return deleteConfirmed(deps, actor, {
    name: provider.name,
    what: 'DNS provider',
    confirmation,
    remove: (tx) => softDeleteDnsProvider(tx, provider.id),
    entry: {
      action: 'dns-provider.delete',
      entityType: 'dns_provider',
      entityId: provider.id,
      before: redactDnsProvider(provider),
    },
  });
};

/** "Verify token" runs as a workflow (the web never calls Cloudflare itself). */
export async function verifyDnsProvider(
  deps: WebDeps,
  actor: Actor,
  id: unknown,
): Promise<{ workflowId: string; runId: string }> {
  const provider = await loadDnsProvider(deps.db, id);
  const started = await deps.commands.startDnsProviderCheck(provider.id);
  if (!started.started) throw new HttpError(409, 'A check of this provider is already running.');
  await audit(deps.db, actor, {
    action: 'dns-provider.verify',
    entityType: 'dns_provider',
    entityId: provider.id,
    after: { runId: started.runId },
  });
  return { workflowId: started.workflowId, runId: started.runId };
}
