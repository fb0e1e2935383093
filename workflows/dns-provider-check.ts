import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { DnsProviderCheckInput, DnsProviderCheckResult } from '../temporal/contract';
import { failureMessage } from './lib/failure-message';
import { consoleCheckOptions } from './lib/retry-policies';

const { verifyDnsProvider } = proxyActivities<Activities>(consoleCheckOptions);

/** "Verify token" of a DNS provider: the token is active and can see its zone. Changes nothing. */
export async function dnsProviderCheckWorkflow(input: DnsProviderCheckInput): Promise<DnsProviderCheckResult> {
  try {
    const checked = await verifyDnsProvider({ providerId: input.providerId });
    return { ok: true, detail: checked.detail, ...(checked.zone ? { zone: checked.zone } : {}) };
  } catch (error) {
    return { ok: false, detail: failureMessage(error) };
  }
}
