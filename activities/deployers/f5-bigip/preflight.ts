/**
 * "Test connection" for a BIG-IP: firmware, the account's role against what CertFleet needs, each
 * client-ssl profile's binding, and for an HA pair the device group and its sync status. Reads only.
 */
import type { PreflightCheck, PreflightReport } from '../types';
import { unbindableReason } from './binding';
import type { BigipClient } from './client';
import { judgeRole, readAccountRole } from './roles';
import { judgeSync } from './sync';

export interface PreflightInput {
  client: BigipClient;
  username: string;
  profiles: string[];
  syncGroup?: string;
  /** A profile's name as the messages show it (short within the target's partition). */
  label: (profile: string) => string;
}

export async function bigipPreflight({
  client,
  username,
  profiles,
  syncGroup,
  label,
}: PreflightInput): Promise<PreflightReport> {
  const checks: PreflightCheck[] = [{ name: 'login', ok: true, detail: `REST token issued to ${username}` }];
  const version = await client.version();
  const firmware = [version.product, version.version, version.build && `Build ${version.build}`, version.edition]
    .filter(Boolean)
    .join(' ');
  checks.push({ name: 'firmware', ok: Boolean(version.version), detail: firmware });

  const role = judgeRole(username, await readAccountRole(client, username));
  checks.push({ name: 'account role', ok: role.ok, detail: role.detail });

  const changes: string[] = [];
  for (const fullPath of profiles) {
    const profile = await client.getClientSslProfile(fullPath);
    const name = `client-ssl ${label(fullPath)}`;
    if (!profile) {
      checks.push({ name, ok: false, detail: 'profile not found' });
      continue;
    }
    const reason = unbindableReason(profile.certKeyChain);
    const [entry] = profile.certKeyChain;
    if (reason || !entry) {
      checks.push({ name, ok: false, detail: reason ?? 'no cert-key-chain entry' });
      continue;
    }
    checks.push({ name, ok: true, detail: `bound to ${entry.cert}${entry.chain ? ` with chain ${entry.chain}` : ''}` });
    changes.push(`${name}: ${entry.cert} → new certificate`);
  }
  if (profiles.length === 0)
    changes.push('no client-ssl profile chosen yet: link a certificate to this target to choose them');

  if (syncGroup) {
    const exists = await client.deviceGroupExists(syncGroup);
    checks.push({
      name: 'device group',
      ok: exists,
      detail: exists
        ? `config-sync to ${syncGroup} after each change, then wait for "In Sync"`
        : `device group ${syncGroup} not found`,
    });
    if (exists) {
      const sync = judgeSync(syncGroup, await client.syncStatus());
      checks.push({
        name: 'sync status',
        ok: sync.state === 'done',
        detail:
          sync.state === 'done'
            ? sync.detail
            : `${sync.detail} (a deploy pushes this device's whole configuration to the group)`,
      });
      changes.push(`device group ${syncGroup}: config-sync from this device`);
    }
  }
  return { firmware, checks, changes };
}
