import { ActivityFailure, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { FailureType, type TestEmailInput, type TestEmailResult } from '../temporal/contract';

const { sendTestEmail } = proxyActivities<Activities>({
  startToCloseTimeout: '1m',
  // A wrong server or password will not fix itself: one attempt, and the console shows why.
  retry: { maximumAttempts: 1, nonRetryableErrorTypes: [FailureType.emailFailed] },
});

/** Settings → Email → "Send test email", through the same mailer the alerts use. */
export async function testEmailWorkflow(input: TestEmailInput): Promise<TestEmailResult> {
  try {
    return await sendTestEmail({ requestedBy: input.requestedBy });
  } catch (error) {
    const cause = error instanceof ActivityFailure ? error.cause : error;
    return { sent: false, detail: cause instanceof Error ? cause.message : String(cause) };
  }
}
