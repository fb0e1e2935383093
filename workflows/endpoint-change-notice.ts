import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { EndpointChangeNoticeInput, TestEmailResult } from '../temporal/contract';

const { sendEndpointChangeNotice } = proxyActivities<Activities>({
  startToCloseTimeout: '1m',
  // An SMTP outage is retried for a while; the audit row stays either way.
  retry: { maximumAttempts: 10, initialInterval: '10s', maximumInterval: '5m' },
});

/** Mails the admins (the alert recipients) that the address a secret is sent to was changed. */
export async function endpointChangeNoticeWorkflow(input: EndpointChangeNoticeInput): Promise<TestEmailResult> {
  return sendEndpointChangeNotice({ auditId: input.auditId });
}
