import { getAcmeDirectory, listAcmeDirectories } from '../../activities/db/repositories/acme-directories';
import {
  deleteCertificate as softDeleteCertificate,
  getCertificate,
  insertCertificate,
  liveCertificateExists,
  updateCertificateSettings,
  type CertificateRecord,
  type CertificateSettings,
} from '../../activities/db/repositories/certificates';
import { listDeploymentsOfCertificate } from '../../activities/db/repositories/deployments';
import { getDnsProvider, providerServesCustomer } from '../../activities/db/repositories/dns-providers';
import { getSetting, RENEWAL_DEFAULTS_KEY, type RenewalDefaults } from '../../activities/db/repositories/settings';
import { getTarget } from '../../activities/db/repositories/targets';
import type { Queryable } from '../../activities/db/pool';
import { checkCertificateName } from '../../activities/domain/certificate-name';
import { checkDelegationZone } from '../../activities/domain/dns-delegation';
import { DEFAULT_KEY_TYPE, isKeyType } from '../../activities/domain/key-types';
import { checkRenewalPolicy } from '../../activities/domain/renewal-policy';
import { checkProfileChoice, type ProfileCheck } from '../../activities/domain/acme-options';
import { audit, auditedChange, auditedCommand } from '../audit';
import { CommandAction } from '../../temporal/contract';
import type { WebDeps } from '../deps';
import { HttpError } from '../http-error';
import { chooseCustomer } from './customers';
import { deleteConfirmed } from './delete-confirmed';
import { readFallbackDirectories } from './fallback-directories';
import { confirmationErrors, done, FieldReader, invalid, type Actor, type Body, type OpResult } from './input';
import type { ObjectChange } from './input';
import { deletionRevocation, revokeBeforeDeletion } from './revocations';

const FOREIGN_PROVIDER =
  "That DNS provider belongs to another customer: choose a shared one or one of this certificate's customer.";

/** What the audit log keeps of a certificate (no secrets here anyway). */
export const certificateAuditView = (
  c: Pick<
    CertificateRecord,
    | 'commonName'
    | 'customerId'
    | 'dnsProviderId'
    | 'keyType'
    | 'renewalMode'
    | 'renewalValue'
    | 'enabled'
    | 'acmeProfile'
    | 'delegationZone'
    | 'fallbackDirectoryIds'
  >,
) => ({
  commonName: c.commonName,
  customerId: c.customerId,
  dnsProviderId: c.dnsProviderId,
  keyType: c.keyType,
  renewalMode: c.renewalMode,
  renewalValue: c.renewalValue,
  enabled: c.enabled,
  acmeProfile: c.acmeProfile,
  delegationZone: c.delegationZone,
  fallbackDirectoryIds: c.fallbackDirectoryIds,
});

export async function renewalDefaults(db: Queryable): Promise<RenewalDefaults> {
  const stored = await getSetting<RenewalDefaults>(db, RENEWAL_DEFAULTS_KEY);
  return stored ?? { acmeDirectoryId: null, keyType: DEFAULT_KEY_TYPE, renewalMode: 'fraction', renewalValue: null };
}

export async function loadCertificate(db: Queryable, id: unknown): Promise<CertificateRecord> {
  const cert = typeof id === 'string' ? await getCertificate(db, id) : undefined;
  if (!cert) throw new HttpError(404, 'No such certificate.');
  return cert;
}

/** A profile chosen for a certificate of this directory (empty: the directory's default). */
async function profileOfDirectory(db: Queryable, directoryId: string, value: unknown): Promise<ProfileCheck> {
  const directory = await getAcmeDirectory(db, directoryId);
  return directory
    ? checkProfileChoice(value, directory.profiles, directory.name)
    : { ok: false, error: 'The certificate authority no longer exists.' };
}

/** Fields missing from the request fall back to the renewal defaults (Settings). */
async function withDefaults(db: Queryable, body: Body): Promise<Body> {
  const defaults = await renewalDefaults(db);
  const given = (key: string) => body[key] !== undefined && body[key] !== '';
  return {
    ...body,
    keyType: given('keyType') ? body['keyType'] : defaults.keyType,
    acmeDirectoryId: given('acmeDirectoryId')
      ? body['acmeDirectoryId']
      : (defaults.acmeDirectoryId ?? (await listAcmeDirectories(db))[0]?.id),
    ...(given('renewalMode') ? {} : { renewalMode: defaults.renewalMode, renewalValue: defaults.renewalValue ?? '' }),
  };
}

/**
 * A change of the renewal schedule inside the certificate's transaction: when Temporal cannot make it,
 * the transaction rolls back and the user is told that nothing was `undone`.
 */
async function scheduleChange(
  deps: WebDeps,
  words: { verb: string; done: string; undone: string },
  change: () => Promise<unknown>,
): Promise<void> {
  try {
    await change();
  } catch (error) {
    deps.log.error({ err: error }, `cannot ${words.verb} the renewal schedule`);
    throw new HttpError(
      503,
      `Temporal is unreachable, so the renewal schedule could not be ${words.done}. Nothing was ${words.undone}; try again.`,
    );
  }
}

export async function createCertificate(
  deps: WebDeps,
  actor: Actor,
  rawBody: Body,
): Promise<OpResult<{ id: string; runId: string | undefined }>> {
  const body = await withDefaults(deps.db, rawBody);
  const f = new FieldReader(body);
  const name = checkCertificateName(body['commonName']);
  if (!name.ok) f.fail('commonName', name.error);
  const customer = await chooseCustomer(deps.db, f);
  if (!customer.ok) f.fail('customerId', customer.error);
  const provider = await getDnsProvider(deps.db, f.ref('dnsProviderId'));
  if (!provider) f.fail('dnsProviderId', 'Choose a DNS provider (add one first under DNS providers).');
  else if (customer.ok && !providerServesCustomer(provider, customer.customer.id))
    f.fail('dnsProviderId', FOREIGN_PROVIDER);
  const directoryId = f.ref('acmeDirectoryId');
  const directory = /^\d{1,18}$/.test(directoryId) ? await getAcmeDirectory(deps.db, directoryId) : undefined;
  if (!directory) f.fail('acmeDirectoryId', 'Choose an ACME directory.');
  const profile = directory
    ? checkProfileChoice(body['acmeProfile'], directory.profiles, directory.name)
    : ({ ok: true, profile: null } as const);
  if (!profile.ok) f.fail('acmeProfile', profile.error);
  const keyType = f.text('keyType');
  if (!isKeyType(keyType)) f.fail('keyType', 'Choose a key type from the list.');
  const policy = checkRenewalPolicy(body['renewalMode'], body['renewalValue']);
  if (!policy.ok) f.fail('renewalValue', policy.error);
  const delegation = checkDelegationZone(body['delegationZone']);
  if (!delegation.ok) f.fail('delegationZone', delegation.error);
  if (name.ok && (await liveCertificateExists(deps.db, name.name)))
    f.fail('commonName', `A certificate for ${name.name} exists already.`);
  if (
    !name.ok ||
    !customer.ok ||
    !provider ||
    !directory ||
    !isKeyType(keyType) ||
    !policy.ok ||
    !profile.ok ||
    !delegation.ok ||
    !f.ok
  )
    return invalid(f.errors);

  const fields = {
    commonName: name.name,
    customerId: customer.customer.id,
    dnsProviderId: provider.id,
    acmeDirectoryId: directory.id,
    keyType,
    renewalMode: policy.mode,
    renewalValue: policy.value,
    acmeProfile: profile.profile,
    delegationZone: delegation.zone,
  };
  // The row and its schedule land together: if Temporal cannot take the schedule, nothing is stored.
  const { id, auditId } = await deps.db.withTransaction(async (tx) => {
    const newId = await insertCertificate(tx, fields);
    await scheduleChange(deps, { verb: 'create', done: 'created', undone: 'saved' }, () =>
      deps.commands.upsertRenewalSchedule(
        { certificateId: newId, commonName: name.name, enabled: true },
        deps.renewalSchedule,
      ),
    );
    const created = await audit(tx, actor, {
      action: CommandAction.create,
      entityType: 'certificate',
      entityId: newId,
      after: certificateAuditView({ ...fields, enabled: true, fallbackDirectoryIds: null }),
    });
    return { id: newId, auditId: created };
  });
  // The first issuance runs on the creation's audit entry (checked and claimed by the run).
  const started = await deps.commands.startLifecycle(id, 'create', auditId);
  if (started.started)
    await audit(deps.db, actor, {
      action: 'certificate.issue',
      entityType: 'certificate',
      entityId: id,
      after: { runId: started.runId },
    });
  return done({ id, runId: started.started ? started.runId : undefined });
}

/** Customer, DNS provider, key type, renewal rule and automatic renewal of a certificate. */
export const updateCertificate: ObjectChange<Body, CertificateRecord> = async (deps, actor, id, body) => {
  const cert = await loadCertificate(deps.db, id);
  const f = new FieldReader(body);
  const given = (key: string) => body[key] !== undefined;
  const customer = given('customerId')
    ? await chooseCustomer(deps.db, f)
    : ({ ok: true, customer: { id: cert.customerId } } as const);
  if (!customer.ok) f.fail('customerId', customer.error);
  else if (customer.customer.id !== cert.customerId) {
    const deployments = await listDeploymentsOfCertificate(deps.db, cert.id);
    const targets = await Promise.all(deployments.map((d) => getTarget(deps.db, d.targetId)));
    const foreign = targets.filter((t) => t && t.customerId !== customer.customer.id).map((t) => t?.name);
    if (foreign.length)
      f.fail(
        'customerId',
        `It is deployed to ${foreign.join(', ')} of its current customer; unlink those targets first.`,
      );
  }
  const providerId = given('dnsProviderId') ? f.ref('dnsProviderId') : cert.dnsProviderId;
  const provider = await getDnsProvider(deps.db, providerId);
  if (!provider) f.fail('dnsProviderId', 'Choose a DNS provider.');
  else if (customer.ok && !providerServesCustomer(provider, customer.customer.id))
    f.fail('dnsProviderId', FOREIGN_PROVIDER);
  const keyType = given('keyType') ? f.text('keyType') : cert.keyType;
  if (!isKeyType(keyType)) f.fail('keyType', 'Choose a key type from the list.');
  const policy =
    given('renewalMode') || given('renewalValue')
      ? checkRenewalPolicy(given('renewalMode') ? body['renewalMode'] : cert.renewalMode, body['renewalValue'])
      : ({ ok: true, mode: cert.renewalMode, value: cert.renewalValue } as const);
  if (!policy.ok) f.fail('renewalValue', policy.error);
  // A JSON boolean (the console's route turns its checkbox into one); left out: unchanged.
  const enabled = f.bool('enabled') ?? cert.enabled;
  const profile = given('acmeProfile')
    ? await profileOfDirectory(deps.db, cert.acmeDirectoryId, body['acmeProfile'])
    : ({ ok: true, profile: cert.acmeProfile } as const);
  if (!profile.ok) f.fail('acmeProfile', profile.error);
  const delegation = given('delegationZone')
    ? checkDelegationZone(body['delegationZone'])
    : ({ ok: true, zone: cert.delegationZone } as const);
  if (!delegation.ok) f.fail('delegationZone', delegation.error);
  // Its own fallback CAs, tried in order when its directory is down (empty: its directory's list).
  const fallbacks = given('fallbackDirectoryIds')
    ? await readFallbackDirectories(deps.db, f, 'fallbackDirectoryIds', cert.acmeDirectoryId)
    : cert.fallbackDirectoryIds;
  if (!customer.ok || !provider || !isKeyType(keyType) || !policy.ok || !profile.ok || !delegation.ok || !f.ok)
    return invalid(f.errors);

  const after: CertificateSettings = {
    customerId: customer.customer.id,
    dnsProviderId: provider.id,
    keyType: keyType,
    renewalMode: policy.mode,
    renewalValue: policy.value,
    enabled,
    acmeProfile: profile.profile,
    delegationZone: delegation.zone,
    fallbackDirectoryIds: fallbacks && fallbacks.length > 0 ? fallbacks : null,
  };
  await auditedChange(
    deps.db,
    actor,
    async (tx) => {
      await updateCertificateSettings(tx, cert.id, after);
      await scheduleChange(deps, { verb: 'update', done: 'updated', undone: 'changed' }, () =>
        deps.commands.upsertRenewalSchedule(
          { certificateId: cert.id, commonName: cert.commonName, enabled },
          deps.renewalSchedule,
        ),
      );
    },
    {
      action: 'certificate.update',
      entityType: 'certificate',
      entityId: cert.id,
      before: certificateAuditView(cert),
      after: certificateAuditView({ commonName: cert.commonName, ...after }),
    },
  );
  return done(await loadCertificate(deps.db, cert.id));
};

/** Deletes the certificate and its renewal schedule; versions, runs and the audit trail stay. */
export async function deleteCertificate(deps: WebDeps, actor: Actor, id: unknown, body: Body): Promise<OpResult<void>> {
  const cert = await loadCertificate(deps.db, id);
  // "Revoke before deleting": every still-valid version is revoked first (after the name is confirmed).
  const revoke = deletionRevocation(body);
  if (!revoke.ok) return invalid(revoke.errors);
  if (revoke.value !== undefined) {
    const unconfirmed = confirmationErrors(body, cert.commonName, 'certificate');
    if (unconfirmed) return invalid(unconfirmed);
    const problem = await revokeBeforeDeletion(deps, actor, cert, revoke.value);
    if (problem) return invalid({ revoke: problem });
  }
  return deleteConfirmed(deps, actor, {
    name: cert.commonName,
    what: 'certificate',
    confirmation: body,
    remove: async (tx) => {
      await softDeleteCertificate(tx, cert.id);
      await scheduleChange(deps, { verb: 'delete', done: 'removed', undone: 'deleted' }, () =>
        deps.commands.deleteRenewalSchedule(cert.id),
      );
    },
    entry: {
      action: 'certificate.delete',
      entityType: 'certificate',
      entityId: cert.id,
      before: certificateAuditView(cert),
    },
  });
}

/** "Renew now": a run whatever the renewal window says; refused while one is in progress. */
export async function renewCertificate(deps: WebDeps, actor: Actor, id: unknown): Promise<{ runId: string }> {
  const cert = await loadCertificate(deps.db, id);
  // The entry is written with the start (and dropped when it fails): the run checks and claims it first.
  return auditedCommand(
    deps.db,
    actor,
    { action: CommandAction.renewNow, entityType: 'certificate', entityId: cert.id },
    async (auditId) => {
      const started = await deps.commands.startLifecycle(cert.id, 'manual', auditId);
      if (!started.started) throw new HttpError(409, started.reason);
      return { runId: started.runId };
    },
  );
}
