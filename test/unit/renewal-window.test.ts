import assert from 'node:assert/strict';
import { describe, it, test } from 'node:test';
import {
  renewAtFor,
  renewalDecision,
  scheduledCheckDecision,
  type CurrentValidity,
} from '../../workflows/lib/renewal-window';

const DAY = 86_400_000;

function validity(notBefore: string, lifetimeDays: number): CurrentValidity {
  return { notBefore, notAfter: new Date(Date.parse(notBefore) + lifetimeDays * DAY).toISOString() };
}

const at = (iso: string, plusMs = 0): Date => new Date(Date.parse(iso) + plusMs);

describe('renewAtFor', () => {
  it('default rule renews a 90-day certificate with 30 days left', () => {
    const v = validity('2025-01-01T00:00:00.000Z', 90);
    assert.equal(v.notAfter, '2025-04-01T00:00:00.000Z');
    assert.equal(renewAtFor(v, { mode: 'fraction' }).toISOString(), '2025-03-02T00:00:00.000Z');
  });

  it('default rule renews a 47-day certificate with a third (15 days 16 h) left', () => {
    const v = validity('2026-03-15T00:00:00.000Z', 47);
    const renewAt = renewAtFor(v, { mode: 'fraction' });
    assert.equal(Date.parse(v.notAfter) - renewAt.getTime(), (47 * DAY) / 3);
    assert.equal(renewAt.toISOString(), '2026-04-15T08:00:00.000Z');
  });

  it('days policy counts back from notAfter, independent of the lifetime', () => {
    for (const lifetime of [90, 47]) {
      const v = validity('2025-06-01T12:00:00.000Z', lifetime);
      assert.equal(
        renewAtFor(v, { mode: 'days', days: 10 }).getTime(),
        Date.parse(v.notAfter) - 10 * DAY,
        `lifetime ${lifetime}`,
      );
    }
  });

  it('percent policy keeps that share of the lifetime', () => {
    const ninety = validity('2025-01-01T00:00:00.000Z', 90);
    assert.equal(renewAtFor(ninety, { mode: 'percent', percent: 10 }).toISOString(), '2025-03-23T00:00:00.000Z');
    const fortySeven = validity('2025-01-01T00:00:00.000Z', 47);
    assert.equal(
      renewAtFor(fortySeven, { mode: 'percent', percent: 50 }).getTime(),
      Date.parse(fortySeven.notAfter) - 23.5 * DAY,
    );
  });

  it('percent 33 and the default are close but not the same rule', () => {
    const v = validity('2025-01-01T00:00:00.000Z', 90);
    assert.notEqual(
      renewAtFor(v, { mode: 'percent', percent: 33 }).getTime(),
      renewAtFor(v, { mode: 'fraction' }).getTime(),
    );
  });
});

describe('renewalDecision', () => {
  const v90 = validity('2025-01-01T00:00:00.000Z', 90); // renewAt 2025-03-02

  it('is due when no certificate was ever issued, without a renewAt', () => {
    const d = renewalDecision(undefined, { mode: 'fraction' }, new Date('2025-01-01T00:00:00Z'));
    assert.equal(d.due, true);
    assert.equal(d.renewAt, undefined);
    assert.match(d.reason, /no certificate/);
  });

  it('is not due right after issuance and says when it will be', () => {
    const d = renewalDecision(v90, { mode: 'fraction' }, at('2025-01-02T00:00:00.000Z'));
    assert.equal(d.due, false);
    assert.equal(d.renewAt, '2025-03-02T00:00:00.000Z');
    assert.match(d.reason, /not due until 2025-03-02T00:00:00\.000Z \(89 days left\)/);
  });

  it('boundary: 1 ms before renewAt is not due, exactly at renewAt is due', () => {
    const renewAt = '2025-03-02T00:00:00.000Z';
    assert.equal(renewalDecision(v90, { mode: 'fraction' }, at(renewAt, -1)).due, false);
    const d = renewalDecision(v90, { mode: 'fraction' }, at(renewAt));
    assert.equal(d.due, true);
    assert.equal(d.renewAt, renewAt);
    assert.match(d.reason, /renewal window open since 2025-03-02T00:00:00\.000Z \(30 days left\)/);
  });

  it('is due with an "expired" reason at and after notAfter', () => {
    for (const now of [at(v90.notAfter), at(v90.notAfter, 5 * DAY)]) {
      const d = renewalDecision(v90, { mode: 'fraction' }, now);
      assert.equal(d.due, true);
      assert.match(d.reason, /expired on 2025-04-01T00:00:00\.000Z/);
      assert.equal(d.renewAt, '2025-03-02T00:00:00.000Z');
    }
  });

  it('days policy: 30 days before expiry', () => {
    const policy = { mode: 'days', days: 30 } as const;
    assert.equal(renewalDecision(v90, policy, at(v90.notAfter, -30 * DAY - 1)).due, false);
    assert.equal(renewalDecision(v90, policy, at(v90.notAfter, -30 * DAY)).due, true);
  });

  it('percent policy: less than 10% of a 90-day lifetime (9 days) left', () => {
    const policy = { mode: 'percent', percent: 10 } as const;
    assert.equal(renewalDecision(v90, policy, at(v90.notAfter, -9 * DAY - 1)).due, false);
    assert.equal(renewalDecision(v90, policy, at(v90.notAfter, -9 * DAY)).due, true);
  });

  it('47-day certificate: the default rule opens the window after ~31.3 days', () => {
    const v47 = validity('2026-03-15T00:00:00.000Z', 47);
    const renewAt = Date.parse('2026-04-15T08:00:00.000Z');
    assert.equal(renewalDecision(v47, { mode: 'fraction' }, new Date(renewAt - 1)).due, false);
    assert.equal(renewalDecision(v47, { mode: 'fraction' }, new Date(renewAt)).due, true);
    assert.equal(renewalDecision(v47, { mode: 'days', days: 30 }, at(v47.notBefore, 16 * DAY + 1)).due, false);
    assert.equal(renewalDecision(v47, { mode: 'days', days: 30 }, at(v47.notBefore, 17 * DAY)).due, true);
  });
});

test('a rule longer than the lifetime never renews before 10% of the lifetime has passed', () => {
  const validity = { notBefore: '2026-01-01T00:00:00.000Z', notAfter: '2026-02-17T00:00:00.000Z' }; // 47 days
  const renewAt = renewAtFor(validity, { mode: 'days', days: 60 });
  assert.equal(renewAt.toISOString(), new Date(Date.parse(validity.notBefore) + 0.1 * 47 * 86_400_000).toISOString());
  const justIssued = renewalDecision(validity, { mode: 'days', days: 60 }, new Date('2026-01-02T00:00:00.000Z'));
  assert.equal(justIssued.due, false);
});

describe('scheduledCheckDecision (the schedule tick and the scheduled lifecycle run decide alike)', () => {
  const v = validity('2026-01-01T00:00:00.000Z', 90);
  const policy = { mode: 'fraction' } as const;

  it('skips a certificate that is not due, with the decision as the reason', () => {
    const { decision, skip } = scheduledCheckDecision({ enabled: true, policy, current: v }, at(v.notBefore, DAY));
    assert.equal(decision.due, false);
    assert.equal(skip, decision.reason);
    assert.match(skip ?? '', /^not due until 2026-03-02T00:00:00.000Z/);
  });

  it('goes on with one that is due, or has never been issued', () => {
    assert.equal(
      scheduledCheckDecision({ enabled: true, policy, current: v }, at(v.notBefore, 80 * DAY)).skip,
      undefined,
    );
    assert.equal(scheduledCheckDecision({ enabled: true, policy }, at(v.notBefore)).skip, undefined);
  });

  it('skips one with renewal switched off, even when due', () => {
    const { decision, skip } = scheduledCheckDecision(
      { enabled: false, policy, current: v },
      at(v.notBefore, 80 * DAY),
    );
    assert.equal(decision.due, true);
    assert.equal(skip, 'renewal is disabled for this certificate');
  });

  it("follows the stored ARI window: the chosen moment come, or the CA's window in the past", () => {
    const renewalInfo = {
      kind: 'window' as const,
      windowStart: '2026-01-10T00:00:00.000Z',
      windowEnd: '2026-01-11T00:00:00.000Z',
      renewAt: '2026-01-10T12:00:00.000Z',
    };
    const facts = { enabled: true, policy, current: v, renewalInfo };
    assert.match(scheduledCheckDecision(facts, at('2026-01-10T11:00:00.000Z')).skip ?? '', /^ARI: renewing at/);
    assert.equal(scheduledCheckDecision(facts, at('2026-01-10T12:00:00.000Z')).skip, undefined);
  });
});
