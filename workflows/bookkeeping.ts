/** The database-bookkeeping activities the workflows share (retry policy: lib/retry-policies.ts). */
import { patched, proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { bookkeepingOptions } from './lib/retry-policies';

/** Bookkeeping as regular activities: closing runs, signals to the device session coordinator. */
export const bookkeeping = proxyActivities<Activities>(bookkeepingOptions);

/**
 * The same as local activities: run by the worker that runs the workflow task, recorded as one marker
 * each instead of a round trip through the Temporal server (a fleet renews several times faster).
 */
export const localBookkeeping = proxyLocalActivities<Activities>(bookkeepingOptions);

/**
 * A run's database-only bookkeeping, chosen where the workflow starts: local activities, except in
 * runs recorded before local bookkeeping existed, which replay with the regular activities they used.
 */
export const runBookkeeping = (): typeof bookkeeping => (patched('local-bookkeeping') ? localBookkeeping : bookkeeping);
