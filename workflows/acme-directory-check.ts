import { proxyActivities } from '@temporalio/workflow';
import { checkFailureDetail } from './check-failure';
import type { Activities } from '../activities';
import {
  NON_RETRYABLE_FAILURES,
  type AcmeDirectoryCheckInput,
  type AcmeDirectoryCheckResult,
} from '../temporal/contract';

const { readAcmeDirectoryMeta } = proxyActivities<Activities>({
  startToCloseTimeout: '1m',
  retry: { initialInterval: '1s', maximumAttempts: 3, nonRetryableErrorTypes: [...NON_RETRYABLE_FAILURES] },
});

/** "Read profiles" of an ACME directory: the worker reads its `meta` and stores it (the web never talks to a CA). */
export async function acmeDirectoryCheckWorkflow(input: AcmeDirectoryCheckInput): Promise<AcmeDirectoryCheckResult> {
  try {
    const read = await readAcmeDirectoryMeta({ directoryId: input.directoryId });
    return { ok: true, detail: read.detail, profiles: read.profiles };
  } catch (error) {
    return { ok: false, detail: checkFailureDetail(error) };
  }
}
