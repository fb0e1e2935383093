import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkDelegationZone, delegationRecord, delegationZoneLine } from '../../activities/domain/dns-delegation';

describe('CNAME delegation rules', () => {
  it('gives a wildcard and its base name the same record, unique per name', () => {
    const wildcard = delegationRecord('*.shop.customer.test', 'acme.msp.test');
    assert.deepEqual(wildcard, {
      name: '_acme-challenge.shop.customer.test',
      target: 'shop.customer.test.acme.msp.test',
    });
    assert.deepEqual(delegationRecord('shop.customer.test', 'acme.msp.test'), wildcard);
    assert.notEqual(delegationRecord('www.customer.test', 'acme.msp.test').target, wildcard.target);
    assert.equal(
      delegationZoneLine(wildcard),
      '_acme-challenge.shop.customer.test. 300 IN CNAME shop.customer.test.acme.msp.test.',
    );
  });

  it('reads a delegation zone from a form: empty is none, bad input is refused', () => {
    assert.deepEqual(checkDelegationZone(''), { ok: true, zone: null });
    assert.deepEqual(checkDelegationZone(undefined), { ok: true, zone: null });
    assert.deepEqual(checkDelegationZone(' Acme.MSP.example. '), { ok: true, zone: 'acme.msp.example' });
    for (const bad of ['not a zone', 'example', '-x.example', '<script>.example', 42, ['a.example']])
      assert.equal(checkDelegationZone(bad).ok, false, String(bad));
  });
});
