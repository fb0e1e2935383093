import { sealDnsSecret } from '../../activities/crypto/bound-secrets';
import { getCustomer } from '../../activities/db/repositories/customers';
import { dnsProviderEndpoint } from '../../activities/domain/secret-endpoints';
import {
  certificatesUsingDnsProvider,
  deleteDnsProvider as softDeleteDnsProvider,
  dnsProviderNameTaken,
  foreignCertificatesUsingDnsProvider,
  getDnsProvider,
  insertDnsProvider,
  redactDnsProvider,
  updateDnsProvider as saveDnsProvider,
  type DnsProviderRecord,
} from '../../activities/db/repositories/dns-providers';
import type { Queryable } from '../../activities/db/pool';
import { dnsProviderDescriptors } from '../../activities/dns-providers/descriptors';
import { configFields, secretFields, type ProviderField } from '../../activities/dns-providers/types';
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

/** A secret as entered: at most 4096 characters, no white space, then the field's own shape check. */
function secretProblem(field: ProviderField, value: string): string | undefined {
  if (value.length > 4096 || /\s/.test(value))
    return `That is not a valid ${field.label}: no spaces, at most 4096 characters.`;
  return field.checkSecret?.(value);
}

/** The provider's customer: '' or absent = shared by every customer; otherwise a live customer. */
async function customerOf(db: Queryable, f: FieldReader, existing?: DnsProviderRecord): Promise<string | null> {
  if (existing && !f.has('customerId')) return existing.customerId;
  const raw = f.ref('customerId');
  if (!raw) return null;
  const customer = await getCustomer(db, raw);
  if (!customer) f.fail('customerId', 'Choose a customer from the list, or none for a shared provider.');
  else if (existing && customer.id !== existing.customerId) {
    const foreign = await foreignCertificatesUsingDnsProvider(db, existing.id, customer.id);
    if (foreign.length)
      f.fail(
        'customerId',
        `Certificates of other customers use it (${foreign.map((c) => c.commonName).join(', ')}); move them first.`,
      );
  }
  return customer?.id ?? null;
}

export interface CheckedProvider {
  name: string;
  kind: string;
  customerId: string | null;
  config: Record<string, unknown>;
  /** The secrets entered (all on create; on edit only the replaced ones). */
  secrets: Record<string, string>;
}

/**
 * Name, customer, the kind's configuration and its secrets, all read from the kind's descriptor. A
 * secret is required when creating; when editing, an empty one keeps the stored value unless the
 * endpoint the secrets are bound to changed (then every secret is entered again). Only admins set or
 * change an endpoint field (an API address).
 */
async function checkProvider(db: Queryable, actor: Actor, body: Body, existing?: DnsProviderRecord) {
  const f = new FieldReader(body);
  const name = f.text('name');
  const givenKind = f.text('kind');
  const kind = existing?.kind ?? (givenKind || 'cloudflare');
  if (!NAME.test(name))
    f.fail('name', 'Give the provider a name of 1 to 64 letters, digits, spaces, dots, dashes or underscores.');
  else if (await dnsProviderNameTaken(db, name, existing?.id))
    f.fail('name', 'A provider with this name exists already.');
  const descriptor = Object.hasOwn(dnsProviderDescriptors, kind) ? dnsProviderDescriptors[kind] : undefined;
  if (!descriptor) f.fail('kind', 'Choose a supported DNS provider.');
  else if (existing && givenKind && givenKind !== existing.kind)
    f.fail('kind', 'The kind of a DNS provider cannot change; add a new provider instead.');
  const customerId = await customerOf(db, f, existing);
  // The provider's own fields, read as text here (a wrong JSON type is an error, not an empty field).
  const plain = descriptor ? configFields(descriptor) : [];
  const parsed = descriptor
    ? descriptor.parseConfig(Object.fromEntries(plain.map((field) => [field.name, f.text(field.name)])))
    : { config: {}, errors: {} };
  for (const [key, message] of Object.entries(parsed.errors)) f.fail(key, message);
  const moved = plain.filter(
    (field) => field.endpoint === true && (existing?.config[field.name] ?? undefined) !== parsed.config[field.name],
  );
  if (moved.length > 0 && actor.user?.role !== 'admin') {
    throw new HttpError(
      403,
      `Only an admin can set or change the ${moved.map((field) => field.label).join(', ')} of a DNS provider: its credentials are sent there.`,
    );
  }
  const secrets: Record<string, string> = {};
  for (const field of descriptor ? secretFields(descriptor) : []) {
    const value = f.secret(field.name);
    const stored = existing !== undefined && Object.hasOwn(existing.secretsSealed, field.name);
    if (value) {
      const problem = secretProblem(field, value);
      if (problem) f.fail(field.name, problem);
      else secrets[field.name] = value;
    } else if (!existing && field.required) f.fail(field.name, `Enter the ${field.label}.`);
    else if (existing && moved.length > 0 && (stored || field.required))
      f.fail(
        field.name,
        `The API address changed: enter the ${field.label} again (a stored secret is never sent to a new address).`,
      );
    else if (existing && !stored && field.required) f.fail(field.name, `Enter the ${field.label}.`);
  }
  if (!f.ok) return invalid<CheckedProvider>(f.errors);
  return done<CheckedProvider>({ name, kind, customerId, config: parsed.config, secrets });
}

/** Each secret sealed on its own, bound to the provider's endpoint (kind + endpoint config). */
const sealAll = (
  deps: WebDeps,
  p: { kind: string; config: Record<string, unknown> },
  secrets: Record<string, string>,
) =>
  Object.fromEntries(
    Object.entries(secrets).map(([field, value]) => [field, sealDnsSecret(deps.box, p, field, value)]),
  );

export async function createDnsProvider(deps: WebDeps, actor: Actor, body: Body): Promise<OpResult<DnsProviderRecord>> {
  const checked = await checkProvider(deps.db, actor, body);
  if (!checked.ok) return checked;
  const { name, kind, customerId, config, secrets } = checked.value;
  const provider = await auditedChange(
    deps.db,
    actor,
    (tx) =>
      insertDnsProvider(tx, {
        name,
        kind,
        customerId,
        config,
        secretsSealed: sealAll(deps, { kind, config }, secrets),
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

/** A new name, customer or configuration; each stored secret is kept unless a new one is entered. */
export const updateDnsProvider: ObjectChange<Body, DnsProviderRecord> = async (deps, actor, id, body) => {
  const before = await loadDnsProvider(deps.db, id);
  const checked = await checkProvider(deps.db, actor, body, before);
  if (!checked.ok) return checked;
  const { name, customerId, config, secrets } = checked.value;
  const saved = await saveSecretHolder(deps, actor, {
    entityType: 'dns_provider',
    action: 'dns-provider.update',
    before,
    save: async (tx) => {
      await saveDnsProvider(tx, before.id, {
        name,
        customerId,
        config,
        secretsSealed: sealAll(deps, { kind: before.kind, config }, secrets),
      });
      return loadDnsProvider(tx, before.id);
    },
    redact: redactDnsProvider,
    endpoints: () => ({
      before: dnsProviderEndpoint(before),
      after: dnsProviderEndpoint({ kind: before.kind, config }),
    }),
    secret: {
      field: 'secrets',
      replaced: (row) =>
        Object.fromEntries(
          Object.keys(row.secretsSealed).map((field) => [
            field,
            Object.hasOwn(secrets, field) ? '(replaced, sealed)' : '(kept, sealed)',
          ]),
        ),
    },
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

/** "Verify credentials" runs as a workflow (the web never calls a DNS provider itself). */
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
