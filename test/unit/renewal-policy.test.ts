import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  checkRenewalPolicy,
  describePolicy,
  policyFromRow,
  RENEWAL_MODES,
} from '../../activities/domain/renewal-policy';

describe('checkRenewalPolicy', () => {
  it('empty, missing or "fraction" is the default rule with no value', () => {
    for (const mode of [undefined, '', 'fraction']) {
      assert.deepEqual(checkRenewalPolicy(mode, '30'), { ok: true, mode: 'fraction', value: null }, String(mode));
    }
  });

  it('accepts days and percent as strings (form fields) or numbers, trimmed', () => {
    assert.deepEqual(checkRenewalPolicy('days', '30'), { ok: true, mode: 'days', value: 30 });
    assert.deepEqual(checkRenewalPolicy('days', ' 14 '), { ok: true, mode: 'days', value: 14 });
    assert.deepEqual(checkRenewalPolicy('days', 7), { ok: true, mode: 'days', value: 7 });
    assert.deepEqual(checkRenewalPolicy('percent', '25'), { ok: true, mode: 'percent', value: 25 });
  });

  const ranges = [
    { mode: 'days', max: '3650', tooLarge: '3651', error: /between 1 and 3650/ },
    { mode: 'percent', max: '99', tooLarge: '100', error: /between 1 and 99/ },
  ];
  for (const { mode, max, tooLarge, error } of ranges) {
    it(`${mode} range is 1..${max}`, () => {
      assert.equal(checkRenewalPolicy(mode, '1').ok, true);
      assert.equal(checkRenewalPolicy(mode, max).ok, true);
      for (const bad of ['0', tooLarge]) {
        const r = checkRenewalPolicy(mode, bad);
        assert.equal(r.ok, false, bad);
        if (!r.ok) assert.match(r.error, error);
      }
    });
  }

  it('refuses values that are not whole numbers', () => {
    for (const bad of ['', '1.5', '-5', 'abc', '1e3', '12345', null, undefined, {}, ['5'], 2.5, -1, NaN]) {
      const r = checkRenewalPolicy('days', bad);
      assert.equal(r.ok, false, JSON.stringify(bad));
      if (!r.ok) assert.equal(r.error, 'Enter a whole number.');
    }
  });

  it('refuses an unknown mode', () => {
    for (const mode of ['weekly', 'DAYS', 5, null, {}]) {
      const r = checkRenewalPolicy(mode, '10');
      assert.equal(r.ok, false, JSON.stringify(mode));
      if (!r.ok) assert.match(r.error, /Choose a renewal rule/);
    }
  });

  it('lists the three modes', () => {
    assert.deepEqual(RENEWAL_MODES, ['fraction', 'days', 'percent']);
  });
});

describe('policyFromRow', () => {
  it('maps stored rows to policies', () => {
    assert.deepEqual(policyFromRow('fraction', null), { mode: 'fraction' });
    assert.deepEqual(policyFromRow('days', 30), { mode: 'days', days: 30 });
    assert.deepEqual(policyFromRow('percent', 10), { mode: 'percent', percent: 10 });
  });

  it('falls back to the default rule when the value is missing or the mode unknown', () => {
    assert.deepEqual(policyFromRow('days', null), { mode: 'fraction' });
    assert.deepEqual(policyFromRow('percent', 0), { mode: 'fraction' });
    assert.deepEqual(policyFromRow('weekly', 5), { mode: 'fraction' });
  });

  it('round-trips what checkRenewalPolicy accepts', () => {
    for (const [mode, value] of [
      ['days', '45'],
      ['percent', '20'],
      ['fraction', ''],
    ] as const) {
      const checked = checkRenewalPolicy(mode, value);
      assert.ok(checked.ok);
      const policy = policyFromRow(checked.mode, checked.value);
      assert.equal(policy.mode, mode);
    }
  });
});

describe('describePolicy', () => {
  it('describes each mode', () => {
    assert.equal(describePolicy({ mode: 'fraction' }), 'when less than 1/3 of the lifetime remains');
    assert.equal(describePolicy({ mode: 'days', days: 14 }), '14 days before expiry');
    assert.equal(describePolicy({ mode: 'percent', percent: 25 }), 'when less than 25% of the lifetime remains');
  });
});
