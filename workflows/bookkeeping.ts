/** The database-bookkeeping activities the workflows share (retry policy: lib/retry-policies.ts). */
import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { bookkeepingOptions, localBookkeepingOptions } from './lib/retry-policies';

/** Bookkeeping as regular activities: closing runs, signals to the device session coordinator. */
export const bookkeeping = proxyActivities<Activities>(bookkeepingOptions);

/**
 * The same as local activities: run by the worker that runs the workflow task, recorded as one marker
 * each instead of a round trip through the Temporal server (a fleet renews several times faster).
 */
export const localBookkeeping = proxyLocalActivities<Activities>(localBookkeepingOptions);
