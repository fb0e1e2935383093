/** One resource per test file or describe block: started in a before hook, stopped in an after hook. */
import assert from 'node:assert/strict';
import { after, before } from 'node:test';

/** Registers the hooks; the returned accessor gives the started resource (and fails if it did not start). */
export function useSuiteResource<T>(start: () => Promise<T>, stop: (resource: T) => Promise<unknown>): () => T {
  let resource: T | undefined;
  before(async () => {
    resource = await start();
  });
  after(async () => {
    if (resource !== undefined) await stop(resource);
  });
  return () => {
    assert.ok(resource !== undefined, 'the resource did not start');
    return resource;
  };
}
