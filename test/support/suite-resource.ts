/** A resource shared by the cases of one describe() (a server, an sshd): started before them, stopped after them. */
import assert from 'node:assert/strict';
import { after, before } from 'node:test';

/**
 * Registers before/after hooks in the calling describe() that start and stop a resource, and returns
 * a function that reads it: call that from the hooks and cases that follow (not while describe() runs).
 */
export function suiteResource<R>(start: () => Promise<R>, stop: (resource: R) => Promise<void>): () => R {
  let resource: R | undefined;
  before(async () => {
    resource = await start();
  });
  after(async () => {
    if (resource !== undefined) await stop(resource);
  });
  return () => {
    assert.ok(resource !== undefined, 'the suite resource is started in before(): read it in hooks and cases');
    return resource;
  };
}
