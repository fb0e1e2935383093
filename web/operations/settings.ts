import { randomUUID } from 'node:crypto';
import {
  getAcmeDirectory,
  listAcmeDirectories,
  upsertAcmeDirectory,
  type AcmeDirectory,
} from '../../activities/db/repositories/acme-directories';
import {
  allowedTargetNetworks,
  getSetting,
  putSetting,
  RENEWAL_DEFAULTS_KEY,
  SMTP_SETTING_KEY,
  TARGET_NETWORKS_KEY,
  type RenewalDefaults,
  type StoredSmtpSettings,
  type TargetNetworks,
} from '../../activities/db/repositories/settings';
import { sealSmtpPassword } from '../../activities/crypto/bound-secrets';
import { smtpEndpoint } from '../../activities/domain/secret-endpoints';
import { isKeyType } from '../../activities/domain/key-types';
import { checkNetworkList } from '../../activities/domain/network-policy';
import { checkRenewalPolicy } from '../../activities/domain/renewal-policy';
import { checkSmtpForm } from '../smtp-form';
import { checkCaBundle } from '../../activities/domain/target-input';
import { testEmailWorkflowId, type TestEmailInput } from '../../temporal/contract';
import { audit, auditedChange } from '../audit';
import { auditEndpointChange, notifyEndpointChange } from '../endpoint-change';
import type { WebDeps } from '../deps';
import { displayable, done, FieldReader, invalid, type Actor, type Body, type OpResult } from './input';

/** Adds a custom ACME directory, or changes the name and CA bundle of one with the same URL. Built-ins stay as they are. */
export async function saveAcmeDirectory(deps: WebDeps, actor: Actor, body: Body): Promise<OpResult<AcmeDirectory>> {
  const f = new FieldReader(body);
  const name = f.text('name');
  const url = f.text('url');
  const caBundlePem = f.text('caBundlePem', { multiline: true });
  const directories = await listAcmeDirectories(deps.db);
  if (name.length < 1 || name.length > 64 || !displayable(name))
    f.fail('name', 'Give the directory a name of 1 to 64 characters (no control or text-direction characters).');
  else if (directories.some((d) => d.name === name && d.url !== url))
    f.fail('name', 'Another directory has this name already.');
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (!parsed || parsed.protocol !== 'https:' || parsed.username || parsed.password || url.length > 500)
    f.fail('url', 'Enter the https:// URL of the ACME directory.');
  else if (directories.some((d) => d.builtin && d.url === url))
    f.fail('url', 'This is a built-in directory; it cannot be changed.');
  const bundle = checkCaBundle(caBundlePem);
  if (!bundle.ok) f.fail('caBundlePem', bundle.error);
  if (!f.ok || !bundle.ok) return invalid(f.errors);
  const before = directories.find((d) => d.url === url);
  const directory = await auditedChange(
    deps.db,
    actor,
    (tx) => upsertAcmeDirectory(tx, { name, url, caBundlePem: bundle.pem }),
    (saved) => ({
      action: 'acme-directory.upsert',
      entityType: 'acme_directory',
      entityId: saved.id,
      ...(before ? { before: { name: before.name, url, caBundle: before.caBundlePem ? 'set' : 'none' } } : {}),
      after: { name, url, caBundle: bundle.pem ? 'set' : 'none' },
    }),
  );
  // The worker reads what the directory offers (profiles, EAB); Settings shows it once read, or why not.
  await deps.commands.startAcmeDirectoryCheck(directory.id).catch((error: unknown) => {
    deps.log.warn({ err: error }, 'cannot start reading the profiles of an ACME directory');
  });
  return done(directory);
}

/** SMTP settings as pages and the API may show them: the password only as "stored". */
export const publicSmtp = (s: StoredSmtpSettings | undefined) =>
  s
    ? {
        host: s.host,
        port: s.port,
        secure: s.secure,
        username: s.username ?? '',
        from: s.from,
        recipients: s.recipients,
        hasPassword: Boolean(s.passwordSealed),
        allowPasswordWithoutTls: s.allowPasswordWithoutTls === true,
      }
    : undefined;

/** SMTP settings: JSON clients send a list of recipients, an integer port and a boolean; the form sends text (its route turns the checkbox into a boolean). */
export async function saveSmtpSettings(deps: WebDeps, actor: Actor, body: Body): Promise<OpResult<StoredSmtpSettings>> {
  const f = new FieldReader(body);
  const port = f.integer('port');
  const form = {
    host: f.text('host'),
    port: port === undefined ? '' : String(port),
    secure: f.bool('secure') === true,
    username: f.text('username'),
    password: f.secret('password'),
    allowPasswordWithoutTls: f.bool('allowPasswordWithoutTls') === true,
    from: f.text('from'),
    recipients: f.list('recipients', ', '),
  };
  const checked = checkSmtpForm(form);
  if (!checked.ok) for (const [key, message] of Object.entries(checked.errors)) f.fail(key, message);
  if (!f.ok || !checked.ok) return invalid(f.errors);
  const smtp = checked.value;
  const previous = await getSetting<StoredSmtpSettings>(deps.db, SMTP_SETTING_KEY);
  // The stored password is bound to the server: a new host, port or TLS mode needs it entered again.
  const moved = previous !== undefined && smtpEndpoint(previous) !== smtpEndpoint(smtp);
  if (moved && previous.passwordSealed && smtp.username && !smtp.password) {
    return invalid({
      password: 'The server changed: enter the password again (a stored password is never sent to a new server).',
    });
  }
  const passwordSealed = smtp.password
    ? sealSmtpPassword(deps.box, smtp, smtp.password)
    : smtp.username
      ? previous?.passwordSealed
      : undefined;
  const stored: StoredSmtpSettings = {
    host: smtp.host,
    port: smtp.port,
    secure: smtp.secure,
    from: smtp.from,
    recipients: smtp.recipients,
    ...(smtp.username ? { username: smtp.username } : {}),
    ...(passwordSealed ? { passwordSealed } : {}),
    ...(smtp.allowPasswordWithoutTls ? { allowPasswordWithoutTls: true } : {}),
  };
  const notice = await deps.db.withTransaction(async (tx) => {
    await putSetting(tx, SMTP_SETTING_KEY, stored);
    await audit(tx, actor, {
      action: 'settings.email',
      entityType: 'settings',
      entityId: SMTP_SETTING_KEY,
      before: publicSmtp(previous),
      after: publicSmtp(stored),
    });
    return previous?.host
      ? auditEndpointChange(tx, actor, {
          entityType: 'settings',
          entityId: SMTP_SETTING_KEY,
          name: 'SMTP server',
          before: smtpEndpoint(previous),
          after: smtpEndpoint(stored),
        })
      : undefined;
  });
  await notifyEndpointChange(deps, notice);
  return done(stored);
}

/** The ACME directory, key type and renewal rule a new certificate gets unless it says otherwise. */
export async function saveRenewalDefaults(deps: WebDeps, actor: Actor, body: Body): Promise<OpResult<RenewalDefaults>> {
  const f = new FieldReader(body);
  const directoryId = f.ref('acmeDirectoryId');
  const directory =
    directoryId && /^\d{1,18}$/.test(directoryId) ? await getAcmeDirectory(deps.db, directoryId) : undefined;
  if (directoryId && !directory) f.fail('acmeDirectoryId', 'Choose an ACME directory from the list.');
  const keyType = f.text('keyType');
  if (!isKeyType(keyType)) f.fail('keyType', 'Choose a key type from the list.');
  const policy = checkRenewalPolicy(body['renewalMode'], body['renewalValue']);
  if (!policy.ok) f.fail('renewalValue', policy.error);
  if (!f.ok || !policy.ok || !isKeyType(keyType)) return invalid(f.errors);
  const previous = await getSetting<RenewalDefaults>(deps.db, RENEWAL_DEFAULTS_KEY);
  const value: RenewalDefaults = {
    acmeDirectoryId: directory?.id ?? null,
    keyType,
    renewalMode: policy.mode,
    renewalValue: policy.value,
  };
  await auditedChange(deps.db, actor, (tx) => putSetting(tx, RENEWAL_DEFAULTS_KEY, value), {
    action: 'settings.renewal-defaults',
    entityType: 'settings',
    entityId: RENEWAL_DEFAULTS_KEY,
    before: previous ?? null,
    after: value,
  });
  return done(value);
}

/** The networks targets may point to (CIDR list; empty = any address but the always-refused ones). */
export async function saveTargetNetworks(deps: WebDeps, actor: Actor, body: Body): Promise<OpResult<TargetNetworks>> {
  const f = new FieldReader(body);
  const checked = checkNetworkList(f.list('allowed', '\n'));
  if (!checked.ok) f.fail('allowed', checked.error);
  if (!f.ok || !checked.ok) return invalid(f.errors);
  const before = await allowedTargetNetworks(deps.db);
  const value: TargetNetworks = { allowed: checked.networks };
  await auditedChange(deps.db, actor, (tx) => putSetting(tx, TARGET_NETWORKS_KEY, value), {
    action: 'settings.networks',
    entityType: 'settings',
    entityId: TARGET_NETWORKS_KEY,
    before: { allowed: before },
    after: value,
  });
  return done(value);
}

/** "Send test email": a workflow sends it through the alert mailer; the page polls its result. */
export async function sendTestEmail(deps: WebDeps, actor: Actor): Promise<{ workflowId: string }> {
  const workflowId = testEmailWorkflowId(randomUUID());
  const input: TestEmailInput = { requestedBy: actor.user?.username ?? 'unknown' };
  await deps.commands.startTestEmail(workflowId, input);
  await audit(deps.db, actor, {
    action: 'settings.test-email',
    entityType: 'settings',
    entityId: SMTP_SETTING_KEY,
    after: { workflowId },
  });
  return { workflowId };
}
