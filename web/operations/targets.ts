import { randomUUID } from 'node:crypto';
import { openTargetCredentials, sealTargetCredentials } from '../../activities/crypto/bound-secrets';
import { SecretBoxError, type SecretBox } from '../../activities/crypto/secret-box';
import { countLiveDeploymentsOfTarget } from '../../activities/db/repositories/deployments';
import {
  deleteTarget as softDeleteTarget,
  getTarget,
  insertTarget,
  liveTargetNameExists,
  redactTarget,
  updateTarget as saveTarget,
  type TargetRecord,
} from '../../activities/db/repositories/targets';
import type { Queryable } from '../../activities/db/pool';
import { vendorDescriptors } from '../../activities/deployers/descriptors';
import type { ParseResult, VendorDescriptor } from '../../activities/deployers/types';
import { checkMaintenanceWindows } from '../../activities/domain/maintenance-window';
import { targetEndpoint, type TargetEndpointFields } from '../../activities/domain/secret-endpoints';
import { checkHost, checkPort, checkTrust } from '../../activities/domain/target-input';
import { fetchFingerprintWorkflowId, type FetchFingerprintInput } from '../../temporal/contract';
import { audit, auditedChange } from '../audit';
import { saveSecretHolder } from '../endpoint-change';
import { deleteConfirmed } from './delete-confirmed';
import type { WebDeps } from '../deps';
import { HttpError } from '../http-error';
import { chooseCustomer } from './customers';
import { groupTypeErrors } from '../vendor-form';
import { done, FieldReader, invalid, type Actor, type Body, type OpResult } from './input';
import type { ObjectChange, ObjectDeletion } from './input';
import { refusedAddress } from './target-addresses';

/** "Password" → "password", "REST API token" stays. */
const lowerFirst = (label: string): string =>
  /^[A-Z][a-z]/.test(label) ? label[0]?.toLowerCase() + label.slice(1) : label;

const NAME = /^[\p{L}\p{N}][\p{L}\p{N} ._()-]{0,63}$/u;

/**
 * A target as submitted, whatever the surface: the console's flat form is regrouped by its route,
 * the API's JSON comes grouped. Credentials and options are checked by the vendor's descriptor.
 */
export interface TargetInput {
  name?: unknown;
  customerId?: unknown;
  host?: unknown;
  port?: unknown;
  trustMode?: unknown;
  trustFingerprint?: unknown;
  trustCaPem?: unknown;
  credentials: Record<string, unknown>;
  options: Record<string, unknown>;
  /** Time zone and one window per line ("sat,sun 02:00-05:00"); no lines: deploy at any time. */
  maintenanceTimeZone?: unknown;
  maintenanceWindows?: unknown;
}

export function vendorOf(id: unknown): VendorDescriptor | undefined {
  return typeof id === 'string' && Object.hasOwn(vendorDescriptors, id) ? vendorDescriptors[id] : undefined;
}

export async function loadTarget(db: Queryable, id: unknown): Promise<TargetRecord> {
  const target = typeof id === 'string' ? await getTarget(db, id) : undefined;
  if (!target) throw new HttpError(404, 'No such target.');
  return target;
}

type CheckedTarget = Omit<TargetRecord, 'id' | 'vendor' | 'sessionKeySealed' | 'createdAt' | 'customerName'>;

async function checkTarget(
  deps: WebDeps,
  vendor: VendorDescriptor,
  input: TargetInput,
  existing?: TargetRecord,
): Promise<OpResult<CheckedTarget>> {
  const f = new FieldReader(input as unknown as Body);
  const name = f.text('name');
  if (!NAME.test(name))
    f.fail('name', 'Give the target a name of 1 to 64 letters, digits, spaces, dots, dashes or brackets.');
  else if (await liveTargetNameExists(deps.db, name, existing?.id))
    f.fail('name', 'A target with this name exists already.');
  const customer = await chooseCustomer(deps.db, f);
  if (!customer.ok) f.fail('customerId', customer.error);
  // Manual targets have no address; SSH vendors pin their host key in the options, not a TLS trust.
  const host = vendor.manual ? ({ ok: true, host: '' } as const) : checkHost(f.text('host'));
  if (!host.ok) f.fail('host', host.error);
  else {
    const refusal = await refusedAddress(deps.db, [host.host]);
    if (refusal) f.fail('host', refusal);
  }
  const port = checkPort(input.port, vendor.defaultPort);
  if (!port.ok) f.fail('port', port.error);
  const trust =
    vendor.managementTls === false
      ? ({ ok: true, caPem: null, fingerprint: null } as const)
      : checkTrust(input.trustMode, input.trustCaPem, input.trustFingerprint);
  if (!trust.ok) f.fail('trust', trust.error);
  // Vendor fields of the wrong JSON type are errors of their own, before the vendor reads them.
  for (const [k, v] of Object.entries(groupTypeErrors(input.credentials, vendor.credentialFields)))
    f.fail(`cred_${k}`, v);
  for (const [k, v] of Object.entries(groupTypeErrors(input.options, vendor.optionFields))) f.fail(`opt_${k}`, v);
  const options = vendor.parseOptions(input.options);
  for (const [k, v] of Object.entries(options.errors)) f.fail(`opt_${k}`, v);
  const endpoint: TargetEndpointFields | undefined =
    host.ok && port.ok && trust.ok
      ? {
          vendor: vendor.id,
          host: host.host,
          port: port.port,
          trustCaPem: trust.caPem,
          trustFingerprint: trust.fingerprint,
          options: options.value,
        }
      : undefined;
  const credentials = mergeCredentials(deps.box, vendor, input.credentials, f, existing, endpoint);
  for (const [k, v] of Object.entries(credentials.errors)) f.fail(`cred_${k}`, v);
  const maintenance = vendor.manual
    ? ({ ok: true, value: null } as const)
    : checkMaintenanceWindows(input.maintenanceTimeZone, input.maintenanceWindows);
  if (!maintenance.ok) f.fail('maintenance', maintenance.error);
  if (!endpoint || !host.ok || !port.ok || !trust.ok || !customer.ok || !maintenance.ok || !f.ok)
    return invalid(f.errors);
  return done({
    name,
    customerId: customer.customer.id,
    host: host.host,
    port: port.port,
    credentialsSealed: sealTargetCredentials(deps.box, endpoint, credentials.value),
    options: options.value,
    trustCaPem: trust.caPem,
    trustFingerprint: trust.fingerprint,
    maintenance: maintenance.value,
  });
}

const empty = (v: unknown): boolean => v === '' || v === undefined;

/**
 * The credentials to seal. Editing: secret fields left empty keep what is stored, unless the endpoint
 * the secrets are bound to (host, port, trust, endpoint options) changed: then every stored secret
 * must be entered again, and each one left empty is an error beside its field.
 */
function mergeCredentials(
  box: SecretBox,
  vendor: VendorDescriptor,
  input: Record<string, unknown>,
  f: FieldReader,
  existing: TargetRecord | undefined,
  endpoint: TargetEndpointFields | undefined,
): ParseResult {
  if (!existing) return vendor.parseCredentials(input);
  const stored = storedCredentialsOf(box, existing) ?? {};
  const moved = endpoint !== undefined && targetEndpoint(existing) !== targetEndpoint(endpoint);
  const isSecret = (name: string): boolean =>
    vendor.credentialFields.some((field) => field.name === name && field.kind === 'secret');
  for (const field of moved ? vendor.credentialFields : []) {
    if (isSecret(field.name) && !empty(stored[field.name]) && empty(input[field.name])) {
      f.fail(
        `cred_${field.name}`,
        `The address changed: enter the ${lowerFirst(field.label)} again (stored secrets are never sent to a new address).`,
      );
    }
  }
  const kept = moved ? Object.fromEntries(Object.entries(stored).filter(([name]) => !isSecret(name))) : stored;
  const submitted = Object.fromEntries(Object.entries(input).filter(([, v]) => !empty(v)));
  return vendor.parseCredentials({ ...kept, ...submitted });
}

/**
 * The stored credentials of a target, for keeping secrets left empty and showing non-secret fields;
 * undefined when they cannot be opened for the row's current endpoint (it was changed outside the console).
 */
export function storedCredentialsOf(box: SecretBox, target: TargetRecord): Record<string, string> | undefined {
  try {
    return openTargetCredentials(box, target);
  } catch (error) {
    if (error instanceof SecretBoxError) return undefined;
    throw error;
  }
}

export async function createTarget(
  deps: WebDeps,
  actor: Actor,
  vendorId: unknown,
  input: TargetInput,
): Promise<OpResult<TargetRecord>> {
  const vendor = vendorOf(vendorId);
  if (!vendor) return invalid({ vendor: `Choose a vendor: ${Object.keys(vendorDescriptors).join(', ')}.` });
  const checked = await checkTarget(deps, vendor, input);
  if (!checked.ok) return checked;
  const created = await auditedChange(
    deps.db,
    actor,
    async (tx) => {
      const id = await insertTarget(tx, { ...checked.value, vendor: vendor.id });
      return loadTarget(tx, id);
    },
    (target) => ({ action: 'target.create', entityType: 'target', entityId: target.id, after: redactTarget(target) }),
  );
  return done(created);
}

export const updateTarget: ObjectChange<TargetInput, TargetRecord> = async (deps, actor, id, input) => {
  const before = await loadTarget(deps.db, id);
  const vendor = vendorOf(before.vendor);
  if (!vendor) throw new HttpError(409, `Target vendor "${before.vendor}" is not supported by this version.`);
  const checked = await checkTarget(deps, vendor, input, before);
  if (!checked.ok) return checked;
  if (checked.value.customerId !== before.customerId && (await countLiveDeploymentsOfTarget(deps.db, before.id)) > 0) {
    return invalid({
      customerId:
        'Certificates of its current customer are deployed to this target; unlink them before moving it to another customer.',
    });
  }
  const saved = await saveSecretHolder(deps, actor, {
    entityType: 'target',
    action: 'target.update',
    before,
    save: async (tx) => {
      await saveTarget(tx, before.id, checked.value);
      return loadTarget(tx, before.id);
    },
    redact: redactTarget,
    endpoints: (saved) => ({ before: targetEndpoint(before), after: targetEndpoint(saved) }),
    secret: {
      field: 'credentials',
      replaced: (saved) =>
        saved.credentialsSealed !== before.credentialsSealed &&
        Object.values(input.credentials).some((v) => v !== '' && v !== undefined),
    },
  });
  return done(saved);
};

/** A target still linked to live certificates is not deleted: unlink them first. */
/** The console confirms by the target's name (`confirmation`: its form); the API's DELETE is explicit. */
export const deleteTarget: ObjectDeletion = async (deps, actor, id, confirmation) => {
  const target = await loadTarget(deps.db, id);
  const linked = await countLiveDeploymentsOfTarget(deps.db, target.id);
  if (linked > 0)
    throw new HttpError(409, `${target.name} has ${linked} deployment(s). Unlink those certificates from it first.`);
  return deleteConfirmed(deps, actor, {
    name: target.name,
    what: 'target',
    confirmation,
    remove: (tx) => softDeleteTarget(tx, target.id),
    entry: { action: 'target.delete', entityType: 'target', entityId: target.id, before: redactTarget(target) },
  });
};

/** "Test connection": the preflight workflow. */
export async function testTargetConnection(deps: WebDeps, actor: Actor, id: unknown): Promise<void> {
  const target = await loadTarget(deps.db, id);
  const started = await deps.commands.startPreflight(target.id);
  if (!started.ok) throw new HttpError(409, started.reason);
  await audit(deps.db, actor, { action: 'target.test-connection', entityType: 'target', entityId: target.id });
}

/**
 * "Fetch the fingerprint" of the address typed into a target form, before the target exists: the
 * worker connects (the web never talks to a device), the console polls the result. Audited.
 */
export async function fetchTargetFingerprint(deps: WebDeps, actor: Actor, body: Body): Promise<{ workflowId: string }> {
  const vendor = vendorOf(body['vendor']);
  if (!vendor) throw new HttpError(400, 'Unknown target vendor: fetch the fingerprint from the target form.');
  const host = checkHost(body['host']);
  if (!host.ok) throw new HttpError(400, host.error);
  const port = checkPort(body['port'], vendor.defaultPort);
  if (!port.ok) throw new HttpError(400, port.error);
  const refusal = await refusedAddress(deps.db, [host.host]);
  if (refusal) throw new HttpError(400, refusal);
  const input: FetchFingerprintInput = { host: host.host, port: port.port };
  const workflowId = fetchFingerprintWorkflowId(randomUUID());
  await deps.commands.startFetchFingerprint(workflowId, input);
  await audit(deps.db, actor, {
    action: 'target.fetch-fingerprint',
    entityType: 'target',
    after: { host: input.host, port: input.port, workflowId },
  });
  return { workflowId };
}
