import { ActivityFailure, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { FetchFingerprintInput, FetchFingerprintResult } from '../temporal/contract';

const { fetchPresentedCertificate } = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  // Someone is waiting at the form: one attempt, and the console shows why it failed.
  retry: { maximumAttempts: 1 },
});

/**
 * "Fetch the fingerprint" on a target form (id `fetch-fingerprint:<request>`): the certificate the
 * address presents, so it can be pinned before the target is saved. Host and port in, public facts out.
 */
export async function fetchFingerprintWorkflow(input: FetchFingerprintInput): Promise<FetchFingerprintResult> {
  try {
    return { ok: true, certificate: await fetchPresentedCertificate({ host: input.host, port: input.port }) };
  } catch (error) {
    const cause = error instanceof ActivityFailure ? error.cause : error;
    return { ok: false, error: cause instanceof Error ? cause.message : String(cause) };
  }
}
