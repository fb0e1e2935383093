import * as acme from 'acme-client';
import { FailureType } from '../../temporal/contract';
import type { SecretBox } from '../crypto/secret-box';
import { SecretPurpose } from '../crypto/secret-box';
import type { Queryable } from '../db/pool';
import { insertAcmeAccountOnce, setAcmeAccountUrl } from '../db/repositories/acme-accounts';
import {
  directoryEabSealed,
  getAcmeDirectoryWithAccount,
  type AcmeDirectory,
} from '../db/repositories/acme-directories';
import { openEabHmacKey } from '../crypto/bound-secrets';
import { classified, ClassifiedError } from '../errors';
import { trustDirectoryCa, withAcmeProblems } from './problems';
import { BoundedCache } from '../bounded-cache';

export interface AcmeClientSettings {
  /** Contact for new ACME accounts (optional for Let's Encrypt). */
  contactEmail?: string;
  /** acme-client polling backoff (tests shrink it). */
  backoffMinMs: number;
  backoffMaxMs: number;
  backoffAttempts: number;
  /** Pacing: how long a reserved order slot may take to reach the CA (domain/pacing-budget.ts). */
  orderSlotGraceMs?: number;
}

/**
 * Registered clients, reused by later activities of this process: each keeps the directory it fetched
 * (acme-client refreshes it daily), so an activity does not start with GET /directory. The key holds
 * everything the client was built from, so a changed directory URL or account builds a new one.
 */
const clients = new BoundedCache<acme.Client>(32);

function knownAccountUrl(client: acme.Client): string | undefined {
  try {
    return client.getAccountUrl();
  } catch {
    return undefined;
  }
}

/**
 * One ACME account per directory, created once: the account key is generated, sealed and stored
 * before registration, so concurrent or retried calls converge on the same account.
 */
export async function acmeClientForDirectory(
  db: Queryable,
  box: SecretBox,
  settings: AcmeClientSettings,
  directoryId: string,
): Promise<acme.Client> {
  const found = await getAcmeDirectoryWithAccount(db, directoryId);
  const { directory } = found;
  if (!directory) throw classified(FailureType.notFound, `acme: directory ${directoryId} no longer exists`);
  trustDirectoryCa(directory.url, directory.caBundlePem);
  let account = found.account;
  if (!account) {
    const key = await acme.crypto.createPrivateEcdsaKey('P-256');
    account = await insertAcmeAccountOnce(db, {
      directoryId,
      email: settings.contactEmail ?? null,
      keySealed: box.seal(key, SecretPurpose.acmeAccountKey),
    });
  }
  // The sealed key is part of the key: after a key rollover (key-rollover.ts) the next call signs with the new one.
  const cacheKey = JSON.stringify([
    directoryId,
    directory.url,
    account.id,
    account.accountUrl,
    account.keySealed,
    settings,
  ]);
  const cached = clients.get(cacheKey);
  if (cached) return cached;
  // External Account Binding is used once, to create the account; a registered account never needs it again.
  const eab = account.accountUrl ? undefined : await directoryEabSealed(db, directoryId);
  const client = new acme.Client({
    directoryUrl: directory.url,
    accountKey: box.open(account.keySealed, SecretPurpose.acmeAccountKey),
    ...(account.accountUrl ? { accountUrl: account.accountUrl } : {}),
    ...(eab
      ? {
          externalAccountBinding: {
            kid: eab.keyId,
            hmacKey: openEabHmacKey(box, directory.url, eab.hmacKeySealed),
          },
        }
      : {}),
    backoffMin: settings.backoffMinMs,
    backoffMax: settings.backoffMaxMs,
    backoffAttempts: settings.backoffAttempts,
  });
  if (!account.accountUrl) {
    const accountId = account.id;
    await withAcmeProblems(`register account at ${directory.url}`, async () => {
      try {
        await client.createAccount({
          termsOfServiceAgreed: true,
          ...(settings.contactEmail ? { contact: [`mailto:${settings.contactEmail}`] } : {}),
        });
      } catch (error) {
        // Two runs registering the same new account at once, or a retry after a registration whose
        // URL was not saved: the CA answers "exists" (with the account's URL), and acme-client then
        // sends an update that some CAs (Pebble) refuse. The URL is all we need.
        if (!knownAccountUrl(client)) throw error;
      }
    }).catch((error: unknown) => {
      throw eabFailure(error, directory, Boolean(eab));
    });
    await setAcmeAccountUrl(db, accountId, client.getAccountUrl());
    return client;
  }
  clients.set(cacheKey, client);
  return client;
}

const EAB_SETTING = 'Settings → ACME directories → External Account Binding';

/**
 * A registration the CA refused for External Account Binding: say which setting to fix (no retry
 * can help). Other failures pass as they are.
 */
function eabFailure(error: unknown, directory: AcmeDirectory, eabSent: boolean): unknown {
  if (!(error instanceof ClassifiedError)) return error;
  if (/externalAccountRequired/i.test(error.message) || (!eabSent && /external account/i.test(error.message))) {
    return classified(
      FailureType.acmeRejected,
      `acme: ${directory.name} requires External Account Binding to create an account: enter the key id and HMAC key the CA gave you under ${EAB_SETTING}. (${error.message})`,
    );
  }
  if (eabSent && error.type === FailureType.acmeRejected) {
    return classified(
      FailureType.acmeRejected,
      `acme: ${directory.name} refused the External Account Binding: check the key id and HMAC key under ${EAB_SETTING} (the CA shows them together; a used or revoked pair must be replaced). (${error.message})`,
    );
  }
  return error;
}
