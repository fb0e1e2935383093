/**
 * Small helpers shared by the workflow tests (test/workflows): failing and gated mock activities,
 * one workflow executed on a fresh worker, polling a condition, and what a history says about how
 * each activity ran (scheduled on the server or as a local activity).
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { WorkflowStartOptions } from '@temporalio/client';
import { ApplicationFailure, type Workflow, type WorkflowResultType } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import type { Activities } from '../../activities';
import { FailureType } from '../../temporal/contract';
import {
  mockActivities,
  uniqueCertificateId,
  type ActivityName,
  type Gate,
  type MockActivities,
  type WorkflowTestEnv,
} from '../workflows/harness';

/** A test with this timeout, given a fresh unique id named after `label` (for a certificate or a target). */
export function itWithFreshId(
  name: string,
  timeoutMs: number,
  label: string,
  body: (id: string) => Promise<void>,
): void {
  it(name, { timeout: timeoutMs }, () => body(uniqueCertificateId(label)));
}

/** The failure an activity throws when no retry can fix it. */
export const nonRetryableFailure = (type: string, message: string): ApplicationFailure =>
  ApplicationFailure.create({ type, message, nonRetryable: true });

/** A mock activity that always fails, non-retryable, with this type and message. */
export const failingActivity = (type: string, message: string) => (): Promise<never> =>
  Promise.reject(nonRetryableFailure(type, message));

/** A mock activity that blocks at `gate` (see createGate) and then returns `result`. */
export const gatedActivity =
  <T>(gate: Gate, result: T) =>
  async (): Promise<T> => {
    await gate.pass();
    return result;
  };

/** An activity that fails, non-retryable, with this failure type and message. */
export interface ActivityFailure {
  activity: ActivityName;
  type: string;
  message: string;
}

/** The CA could not validate the DNS challenge (used by the lifecycle and schedule tests). */
export const ACME_VALIDATION_FAILURE: ActivityFailure = {
  activity: 'validateAcmeChallenge',
  type: FailureType.acmeValidationFailed,
  message: 'acme: the CA could not validate www.example.test through DNS: NXDOMAIN',
};

/** Mock activities in which one activity fails as `failure` says. */
export function mocksFailingAt({ activity, type, message }: ActivityFailure): MockActivities {
  return mockActivities({ overrides: { [activity]: failingActivity(type, message) } });
}

/** Mock activities whose wait for DNS propagation blocks at `gate`, then returns `result`. */
export function mocksBlockedInPropagation(
  gate: Gate,
  result: Awaited<ReturnType<Activities['waitForDnsPropagation']>>,
): MockActivities {
  return mockActivities({ overrides: { waitForDnsPropagation: gatedActivity(gate, result) } });
}

/** Runs `workflow` to its end on a fresh worker with these activities and returns its result. */
export function executeOnWorker<W extends Workflow>(
  env: WorkflowTestEnv,
  activities: Activities,
  workflow: W,
  options: Omit<WorkflowStartOptions<W>, 'taskQueue'>,
): Promise<WorkflowResultType<W>> {
  return env.runWorker(activities, (taskQueue) =>
    env.client.workflow.execute(workflow, { ...options, taskQueue } as WorkflowStartOptions<W>),
  );
}

/** Waits until `done()` holds, looking every `intervalMs`; gives up (returns false) after `attempts` looks. */
export async function pollUntil(
  done: () => boolean | Promise<boolean>,
  intervalMs: number,
  attempts = Number.POSITIVE_INFINITY,
): Promise<boolean> {
  for (let i = 0; i < attempts; i++) {
    if (await done()) return true;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  return false;
}

/**
 * Asserts that a history scheduled exactly `regular` on the server (in this order) and ran every other
 * of its `calls` activity calls as a local activity (one marker each).
 */
export function assertActivitySplit(
  events: temporal.api.history.v1.IHistoryEvent[] | null | undefined,
  regular: readonly string[],
  calls: number,
  why: string,
): void {
  const all = events ?? [];
  const scheduled = all.flatMap((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? []);
  const localMarkers = all.filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity').length;
  assert.deepEqual(scheduled, regular, why);
  assert.equal(localMarkers, calls - regular.length, 'one marker per bookkeeping call');
}
