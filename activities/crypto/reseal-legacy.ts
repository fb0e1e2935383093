/**
 * One-time upgrade of secrets sealed before they were bound to their endpoint (purpose-only AAD):
 * each is opened with the old AAD and sealed again with purpose + the endpoint of its row as it is
 * at that moment. Runs at start-up of the web and the worker (where the master key is); idempotent:
 * a value that already opens with its endpoint is left alone, and updates only apply to the value read.
 * Once done it is recorded, and never runs again: an old purpose-only value planted later (from a
 * backup, into a re-pointed row) is not upgraded and stays unusable.
 */
import type { Queryable } from '../db/pool';
import { listDnsProviders, replaceDnsSecret } from '../db/repositories/dns-providers';
import { getSetting, putSetting, SMTP_SETTING_KEY, type StoredSmtpSettings } from '../db/repositories/settings';
import { listTargets, replaceTargetSecrets } from '../db/repositories/targets';
import { dnsProviderEndpoint, smtpEndpoint, targetEndpoint } from '../domain/secret-endpoints';
import { SecretPurpose, type SecretBox } from './secret-box';

/** The value sealed again for `endpoint` when it is a legacy (purpose-only) value; undefined when nothing is to do. */
function resealed(box: SecretBox, sealed: string, purpose: string, endpoint: string): string | undefined {
  try {
    box.open(sealed, purpose, endpoint);
    return undefined;
  } catch {
    // not bound to this endpoint: a legacy value, or one sealed for another endpoint (left as it is)
  }
  try {
    return box.seal(box.open(sealed, purpose), purpose, endpoint);
  } catch {
    return undefined;
  }
}

const DONE_SETTING = 'secrets_bound_to_endpoints';

/** Returns how many secrets were sealed again. */
export async function resealLegacySecrets(db: Queryable, box: SecretBox): Promise<number> {
  if (await getSetting<boolean>(db, DONE_SETTING)) return 0;
  let count = 0;
  for (const target of await listTargets(db)) {
    const endpoint = targetEndpoint(target);
    const credentials = resealed(box, target.credentialsSealed, SecretPurpose.targetCredentials, endpoint);
    const sessionKey = target.sessionKeySealed
      ? resealed(box, target.sessionKeySealed, SecretPurpose.targetSessionKey, endpoint)
      : undefined;
    if (credentials === undefined && sessionKey === undefined) continue;
    await replaceTargetSecrets(db, target, {
      credentialsSealed: credentials ?? target.credentialsSealed,
      sessionKeySealed: sessionKey ?? target.sessionKeySealed,
    });
    count += (credentials ? 1 : 0) + (sessionKey ? 1 : 0);
  }
  for (const provider of await listDnsProviders(db)) {
    // Only the `token` field predates endpoint binding (other secret fields came with issue 16).
    const sealed = provider.secretsSealed['token'];
    const token = sealed
      ? resealed(box, sealed, SecretPurpose.dnsProviderToken, dnsProviderEndpoint(provider))
      : undefined;
    if (sealed === undefined || token === undefined) continue;
    await replaceDnsSecret(db, provider.id, 'token', sealed, token);
    count += 1;
  }
  const smtp = await getSetting<StoredSmtpSettings>(db, SMTP_SETTING_KEY);
  const password = smtp?.passwordSealed
    ? resealed(box, smtp.passwordSealed, SecretPurpose.smtpPassword, smtpEndpoint(smtp))
    : undefined;
  if (smtp && password) {
    await putSetting(db, SMTP_SETTING_KEY, { ...smtp, passwordSealed: password });
    count += 1;
  }
  await putSetting(db, DONE_SETTING, true);
  return count;
}
