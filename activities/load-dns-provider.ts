import { FailureType } from '../temporal/contract';
import { SecretPurpose } from './crypto/secret-box';
import { getDnsProvider } from './db/repositories/dns-providers';
import type { ActivityDeps } from './deps';
import type { DnsProvider } from './dns-providers/types';
import { classified } from './errors';

/** Builds the provider of a stored row, unsealing its token only in memory. */
export async function loadDnsProvider(deps: ActivityDeps, providerId: string): Promise<{ provider: DnsProvider; config: Record<string, unknown> }> {
  const record = await getDnsProvider(deps.db, providerId);
  if (!record) throw classified(FailureType.notFound, `dns: provider ${providerId} no longer exists`);
  const factory = deps.dnsProviders[record.kind];
  if (!factory) throw classified(FailureType.validation, `dns: provider kind "${record.kind}" is not supported by this version`);
  const token = deps.box.openText(record.tokenSealed, SecretPurpose.dnsProviderToken);
  return { provider: factory({ config: record.config, token }), config: record.config };
}
