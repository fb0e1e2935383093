/** The audit log's before/after as readable field lists. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { auditChanges } from '../../web/audit-changes';

describe('auditChanges', () => {
  it('an update lists only the fields that changed, nested ones as dotted paths', () => {
    const before = {
      id: '7',
      name: 'Berlin FW',
      host: 'fw.example',
      port: 443,
      options: { vdom: 'root', deleteOld: true },
      updatedAt: '2026-01-01',
    };
    const after = {
      ...before,
      name: 'Berlin FW 2',
      port: 8443,
      options: { vdom: 'root', deleteOld: false },
      updatedAt: '2026-01-02',
    };
    assert.deepEqual(auditChanges(before, after), [
      'name: Berlin FW → Berlin FW 2',
      'port: 443 → 8443',
      'options.deleteOld: yes → no',
    ]);
  });

  it('a creation lists what it was created with; a deletion what it had', () => {
    assert.deepEqual(auditChanges(null, { name: 'Acme', alertRecipients: ['a@x.test', 'b@x.test'], notes: '' }), [
      'name: Acme',
      'alertRecipients: a@x.test, b@x.test',
      'notes: (empty)',
    ]);
    assert.deepEqual(auditChanges({ name: 'Old' }, undefined), ['name: Old']);
    assert.deepEqual(auditChanges(undefined, undefined), []);
  });

  it('fields that appear or disappear show as (empty); long values are cut', () => {
    assert.deepEqual(auditChanges({ a: 1 }, { b: 2 }), ['a: 1 → (empty)', 'b: (empty) → 2']);
    const [line] = auditChanges(null, { caPem: 'x'.repeat(500) });
    assert.ok(line && line.length < 140 && line.endsWith('…'));
  });

  it('a value that is no object reads as "value"', () => {
    assert.deepEqual(auditChanges('off', 'on'), ['value: off → on']);
  });
});
