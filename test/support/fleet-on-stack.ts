/**
 * The setup every resilience test shares: a stack started with the given environment, its workers,
 * and a fleet of certificates already issued and deployed once; all closed again after the file.
 */
import { after, before } from 'node:test';
import { createFleet, type Fleet } from './fleet';
import { startStack, type AnyStack, type Stack, type StackOptions } from './stack';

export interface FleetOnStackOptions {
  certificates: number;
  /** Worker and web environment (short retries and intervals for the test). */
  env: Record<string, string>;
  /** How many workers to start (default 1). */
  workers?: number;
  /** Runs before the stack starts (e.g. a private PostgreSQL for it) and after it stopped. */
  beforeStack?: () => Promise<void>;
  afterStack?: () => Promise<void>;
}

/** Registers the file's before/after hooks; returns the accessor for the started stack and fleet. */
export function useFleetOnStack(options: FleetOnStackOptions): () => { stack: Stack; fleet: Fleet };
/** The same on another stack (test/support/production-stack.ts). */
export function useFleetOnStack<S extends AnyStack>(
  options: FleetOnStackOptions & { startStack: (options: StackOptions) => Promise<S> },
): () => { stack: S; fleet: Fleet };
export function useFleetOnStack(
  options: FleetOnStackOptions & { startStack?: (options: StackOptions) => Promise<AnyStack> },
): () => { stack: AnyStack; fleet: Fleet } {
  let stack: AnyStack | undefined;
  let fleet: Fleet | undefined;
  before(async () => {
    await options.beforeStack?.();
    stack = await (options.startStack ?? startStack)({ env: options.env });
    for (let i = 0; i < (options.workers ?? 1); i++) await stack.startWorker();
    fleet = await createFleet(stack, options.certificates);
  });
  after(async () => {
    await fleet?.close();
    await stack?.stop();
    await options.afterStack?.();
  });
  return () => {
    if (!stack || !fleet) throw new Error('the stack and its fleet did not start');
    return { stack, fleet };
  };
}
