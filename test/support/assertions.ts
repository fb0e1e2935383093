import assert from 'node:assert/strict';
import type { VendorDescriptor } from '../../activities/deployers/types';
import { ClassifiedError } from '../../activities/errors';

/** Awaits a promise that must reject with an instance of `type`, and returns that error. */
export async function rejection<E extends Error>(
  promise: Promise<unknown>,
  type: abstract new (...args: never[]) => E,
): Promise<E> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof type, `expected ${type.name}, got ${String(caught)}`);
  return caught;
}

/** The entries a fake appended to its call log while `work` ran. */
export async function callsDuring<T>(log: readonly T[], work: () => Promise<unknown>): Promise<T[]> {
  const start = log.length;
  await work();
  return log.slice(start);
}

/** Runs `work` twice, as an activity retry would: the fake's calls of the first run and of the retry. */
export async function callsOfRetry<T>(
  log: readonly T[],
  work: () => Promise<unknown>,
): Promise<{ first: T[]; again: T[] }> {
  const first = await callsDuring(log, work);
  return { first, again: await callsDuring(log, work) };
}

/** What the check assertions read of a deployer's preflight report. */
interface CheckedReport {
  checks: readonly { name: string; ok: boolean; detail?: string }[];
}

/** Asserts one check of a preflight report, found by name: whether it passed and its detail, to the letter. */
export function assertCheck(report: CheckedReport, name: string, ok: boolean, detail: string): void {
  assert.deepEqual(
    report.checks.find((c) => c.name === name),
    { name, ok, detail },
    JSON.stringify(report.checks),
  );
}

/** Asserts a preflight report's checks by name and in order, and that exactly the `failed` ones failed. */
export function assertChecks(report: CheckedReport, names: readonly string[], failed: readonly string[] = []): void {
  assert.deepEqual(
    report.checks.map((c) => [c.name, c.ok]),
    names.map((name) => [name, !failed.includes(name)]),
    JSON.stringify(report.checks),
  );
}

/** Asserts that every check of a preflight report passed, and their names in order. */
export function assertChecksPassed(report: CheckedReport, names: readonly string[]): void {
  assert.ok(
    report.checks.every((c) => c.ok),
    JSON.stringify(report.checks, null, 1),
  );
  assert.deepEqual(
    report.checks.map((c) => c.name),
    names,
  );
}

/** Awaits a step that must fail with a ClassifiedError of `type` whose message matches `message`, and returns it. */
export async function assertFailure(
  promise: Promise<unknown>,
  type: string,
  message: RegExp,
): Promise<ClassifiedError> {
  const error = await failureOf(promise, type);
  assert.match(error.message, message);
  return error;
}

/** Awaits a step that must fail with a ClassifiedError of `type`, and returns it (for the caller's checks of the message). */
export async function failureOf(promise: Promise<unknown>, type: string): Promise<ClassifiedError> {
  const error = await rejection(promise, ClassifiedError);
  assert.equal(error.type, type, error.message);
  return error;
}

/** Asserts that a binding's `verifyPorts` become those ports on the target's host (BIG-IP and PAN-OS bindings). */
export function assertVerifyPortsOnHost(
  descriptor: Pick<VendorDescriptor, 'defaultVerifyEndpoints'>,
  host: string,
  profiles: string[],
  verifyPorts: number[],
): void {
  assert.deepEqual(
    descriptor.defaultVerifyEndpoints({ host, port: 443, options: {} }, { profiles, verifyPorts }),
    verifyPorts.map((port) => ({ host, port })),
  );
}
