import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { AcmeDirectoryCheckInput, AcmeDirectoryCheckResult } from '../temporal/contract';
import { failureMessage } from './lib/failure-message';
import { consoleCheckOptions } from './lib/retry-policies';

const { readAcmeDirectoryMeta } = proxyActivities<Activities>(consoleCheckOptions);

/** "Read profiles" of an ACME directory: the worker reads its `meta` and stores it (the web never talks to a CA). */
export async function acmeDirectoryCheckWorkflow(input: AcmeDirectoryCheckInput): Promise<AcmeDirectoryCheckResult> {
  try {
    const read = await readAcmeDirectoryMeta({ directoryId: input.directoryId });
    return { ok: true, detail: read.detail, profiles: read.profiles };
  } catch (error) {
    return { ok: false, detail: failureMessage(error) };
  }
}
