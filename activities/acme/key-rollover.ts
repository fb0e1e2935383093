/**
 * ACME account key rollover (RFC 8555 §7.3.5), crash-safe: the new key is generated and stored sealed
 * as "pending" first, then rolled over at the CA (acme-client's updateAccountKey sends the keyChange
 * request: outer JWS signed by the old key, inner JWS by the new key over {account, oldKey}), then
 * promoted. A retry after a crash at any point converges: a pending key the CA already knows (asked
 * with onlyReturnExisting, signed by that key) is promoted without a second keyChange.
 */
import * as acme from 'acme-client';
import { FailureType } from '../../temporal/contract';
import { SecretPurpose } from '../crypto/secret-box';
import { getAccountKeys, promotePendingAccountKey, setPendingAccountKey } from '../db/repositories/acme-account-keys';
import { getAcmeDirectory } from '../db/repositories/acme-directories';
import type { ActivityDeps } from '../deps';
import { classified, ClassifiedError } from '../errors';
import { acmeClientForDirectory } from './accounts';
import { withAcmeProblems } from './problems';

/** Whether the CA has `accountUrl` under `keyPem` already (RFC 8555 §7.3.1 onlyReturnExisting). */
async function caHasKey(directoryUrl: string, keyPem: Buffer, accountUrl: string): Promise<boolean> {
  const probe = new acme.Client({ directoryUrl, accountKey: keyPem });
  try {
    await withAcmeProblems('look up the account by its new key', () =>
      probe.createAccount({ onlyReturnExisting: true }),
    );
  } catch (error) {
    if (error instanceof ClassifiedError && /: accountDoesNotExist:/.test(error.message)) return false;
    throw error;
  }
  return probe.getAccountUrl() === accountUrl;
}

export function createKeyRolloverActivities(deps: ActivityDeps) {
  return {
    async rollOverAccountKey(input: { directoryId: string }): Promise<{ accountUrl: string }> {
      const directory = await getAcmeDirectory(deps.db, input.directoryId);
      if (!directory) throw classified(FailureType.notFound, `acme: directory ${input.directoryId} no longer exists`);
      // Registers the account first when it has none yet; afterwards the client signs with the current key.
      const client = await acmeClientForDirectory(deps.db, deps.box, deps.acme, input.directoryId);
      let keys = await getAccountKeys(deps.db, input.directoryId);
      if (!keys?.accountUrl) throw classified(FailureType.notFound, `acme: no account at ${directory.url}`);
      if (!keys.pendingKeySealed) {
        const fresh = await acme.crypto.createPrivateEcdsaKey('P-256');
        await setPendingAccountKey(deps.db, keys.id, deps.box.seal(fresh, SecretPurpose.acmeAccountKey));
        keys = await getAccountKeys(deps.db, input.directoryId);
      }
      if (!keys?.pendingKeySealed || !keys.accountUrl)
        throw classified(FailureType.notFound, `acme: the account at ${directory.url} is gone`);
      const newKey = deps.box.open(keys.pendingKeySealed, SecretPurpose.acmeAccountKey);
      if (!(await caHasKey(directory.url, newKey, keys.accountUrl))) {
        await withAcmeProblems(`roll over the account key at ${directory.url}`, () => client.updateAccountKey(newKey));
      }
      await promotePendingAccountKey(deps.db, keys.id);
      return { accountUrl: keys.accountUrl };
    },
  };
}
