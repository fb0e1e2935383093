import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';
import { vendorDescriptors } from '../../activities/deployers/descriptors';
import { deployerFactories } from '../../activities/deployers/registry';

const DEPLOYERS = path.join(__dirname, '..', '..', 'activities', 'deployers');

it('every vendor folder is registered, and its id is the folder name everywhere', () => {
  // Shared plumbing folders (ssh) are not vendors.
  const folders = readdirSync(DEPLOYERS, { withFileTypes: true })
    .filter((e) => e.isDirectory() && e.name !== 'ssh')
    .map((e) => e.name)
    .sort();
  assert.ok(
    ['f5-bigip', 'fortigate', 'manual', 'panos'].every((v) => folders.includes(v)),
    folders.join(', '),
  );
  assert.deepEqual(Object.keys(deployerFactories).sort(), folders);
  assert.deepEqual(Object.keys(vendorDescriptors).sort(), folders);
  for (const [key, descriptor] of Object.entries(vendorDescriptors)) {
    assert.equal(descriptor.id, key);
    if (!descriptor.manual)
      assert.ok(descriptor.bindingFields.length > 0 && descriptor.credentialFields.length > 0, key);
  }
});
