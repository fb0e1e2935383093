import { proxyActivities } from '@temporalio/workflow';
import { checkFailureDetail } from './check-failure';
import type { Activities } from '../activities';
import { NON_RETRYABLE_FAILURES, type DnsProviderCheckInput, type DnsProviderCheckResult } from '../temporal/contract';

const { verifyDnsProvider } = proxyActivities<Activities>({
  startToCloseTimeout: '1m',
  retry: { initialInterval: '1s', maximumAttempts: 3, nonRetryableErrorTypes: [...NON_RETRYABLE_FAILURES] },
});

/** "Verify token" of a DNS provider: the token is active and can see its zone. Changes nothing. */
export async function dnsProviderCheckWorkflow(input: DnsProviderCheckInput): Promise<DnsProviderCheckResult> {
  try {
    const checked = await verifyDnsProvider({ providerId: input.providerId });
    return { ok: true, detail: checked.detail, ...(checked.zone ? { zone: checked.zone } : {}) };
  } catch (error) {
    return { ok: false, detail: checkFailureDetail(error) };
  }
}
