/** A throwaway test CA shared by the cases of one describe(): made before them, removed after them. */
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { createTestCa, type TestCa } from './certificates';

/**
 * Registers before/after hooks in the calling describe() that create and dispose a test CA, and
 * returns a handle to it: usable from the hooks and cases that follow (not while describe() runs).
 */
export function suiteTestCa(): TestCa {
  let ca: TestCa | undefined;
  before(() => {
    ca = createTestCa();
  });
  after(() => ca?.dispose());
  const current = (): TestCa => {
    assert.ok(ca, 'the suite CA is made in before(): use it in hooks and cases');
    return ca;
  };
  return {
    get rootPem() {
      return current().rootPem;
    },
    get intermediatePem() {
      return current().intermediatePem;
    },
    issue: (commonName, keyType, subjectAltNames) => current().issue(commonName, keyType, subjectAltNames),
    dispose: () => current().dispose(),
  };
}
