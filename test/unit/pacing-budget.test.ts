import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  budgetFreesAt,
  decideSlot,
  identifierSetOf,
  LETS_ENCRYPT_LIMITS,
  registeredDomainOf,
  type PacingLimits,
  type SpentSlot,
} from '../../activities/domain/pacing-budget';

const T0 = Date.parse('2026-12-01T00:00:00.000Z');
const at = (ms: number): Date => new Date(T0 + ms);
const HOUR = 3_600_000;

const slot = (ms: number, over: Partial<SpentSlot> = {}): SpentSlot => ({
  spentAt: at(ms),
  registeredDomain: 'example.com',
  identifiers: `n${ms}.example.com`,
  exempt: false,
  renewal: false,
  ...over,
});

describe('budgetFreesAt (sliding window)', () => {
  it('has room now while fewer than the limit fall in the window', () => {
    assert.equal(budgetFreesAt([at(0), at(1000)], 3, 10_000, at(5000)).getTime(), T0 + 5000);
  });
  it('frees when the oldest slot that keeps it full leaves the window', () => {
    // 3 per 10 s, spent at 0, 1 s, 2 s: at 5 s full; the slot at 0 leaves at 10 s.
    assert.equal(budgetFreesAt([at(2000), at(0), at(1000)], 3, 10_000, at(5000)).getTime(), T0 + 10_000);
  });
  it('with more slots than the limit (a smaller limit configured later) waits for enough of them to leave', () => {
    const times = [0, 1000, 2000, 3000, 4000].map(at);
    // limit 2: at most one may remain for one more to fit, so four must leave; the fourth (3 s) leaves at 13 s.
    assert.equal(budgetFreesAt(times, 2, 10_000, at(5000)).getTime(), T0 + 13_000);
  });
  it('ignores slots outside the window', () => {
    assert.equal(budgetFreesAt([at(0), at(1000)], 2, 10_000, at(10_500)).getTime(), T0 + 10_500);
  });
});

describe('decideSlot', () => {
  const small: PacingLimits = {
    ordersPerAccount: 5,
    accountWindowMs: 4000,
    certificatesPerDomain: 100,
    duplicatesPerIdentifiers: 100,
    domainWindowMs: 7 * 24 * HOUR,
  };
  const request = { registeredDomain: 'example.com', identifiers: 'new.example.com', exempt: false, renewal: false };

  it('grants while the account budget has room', () => {
    assert.deepEqual(
      decideSlot(
        [0, 1, 2, 3].map((s) => slot(s * 100)),
        request,
        small,
        at(500),
      ),
      { granted: true },
    );
  });
  it('refuses the sixth order in the window with the time the first one leaves it', () => {
    const decision = decideSlot(
      [0, 1, 2, 3, 4].map((s) => slot(s * 100)),
      request,
      small,
      at(500),
    );
    assert.equal(decision.granted, false);
    if (decision.granted) return;
    assert.equal(decision.retryAt.toISOString(), at(4000).toISOString());
    assert.deepEqual(decision.limits, ['orders-per-account']);
    assert.match(decision.reasons[0] ?? '', /5 new orders per account per 4 s/);
  });
  it('counts each slot for its window plus the grace an order may take to reach the CA', () => {
    const full = [0, 1, 2, 3, 4].map((s) => slot(s * 100));
    const decision = decideSlot(full, request, small, at(4500), 2000);
    assert.equal(decision.granted, false);
    if (!decision.granted) assert.equal(decision.retryAt.toISOString(), at(6000).toISOString());
    assert.deepEqual(
      decideSlot(full, request, small, at(4500)),
      { granted: true },
      'without grace the first left at 4 s',
    );
  });
  it('does not count exempt slots, and an exempt request is never held back', () => {
    const spent = [0, 1, 2, 3, 4].map((s) => slot(s * 100, { exempt: s > 0 }));
    assert.deepEqual(decideSlot(spent, request, small, at(500)), { granted: true });
    const full = [0, 1, 2, 3, 4].map((s) => slot(s * 100));
    assert.deepEqual(decideSlot(full, { ...request, exempt: true }, small, at(500)), { granted: true });
  });
  it('a renewal is not held back by the per-domain limit, nor counted in it; it still counts as a duplicate', () => {
    const firstIssues = Array.from({ length: 50 }, (_, i) => slot(i * HOUR));
    const now = at(60 * HOUR);
    const renewal = { ...request, identifiers: 'n0.example.com', renewal: true };
    assert.deepEqual(decideSlot(firstIssues, renewal, LETS_ENCRYPT_LIMITS, now), { granted: true });
    const renewals = Array.from({ length: 50 }, (_, i) => slot(i * HOUR, { renewal: true }));
    assert.deepEqual(
      decideSlot(renewals, request, LETS_ENCRYPT_LIMITS, now),
      { granted: true },
      'renewals do not fill it',
    );
    const sameSet = Array.from({ length: 5 }, (_, i) =>
      slot(i * HOUR, { identifiers: 'n0.example.com', renewal: true }),
    );
    const duplicate = decideSlot(sameSet, renewal, LETS_ENCRYPT_LIMITS, now);
    assert.equal(duplicate.granted, false);
    if (!duplicate.granted) assert.deepEqual(duplicate.limits, ['duplicates']);
  });
  it("applies Let's Encrypt's per-domain limit (50 a week) only to the same registered domain", () => {
    const spent = Array.from({ length: 50 }, (_, i) => slot(i * HOUR));
    const now = at(60 * HOUR);
    const same = decideSlot(spent, request, LETS_ENCRYPT_LIMITS, now);
    assert.equal(same.granted, false);
    if (!same.granted) {
      assert.deepEqual(same.limits, ['certificates-per-domain']);
      assert.equal(same.retryAt.toISOString(), at(7 * 24 * HOUR).toISOString());
    }
    assert.deepEqual(decideSlot(spent, { ...request, registeredDomain: 'other.org' }, LETS_ENCRYPT_LIMITS, now), {
      granted: true,
    });
  });
  it('limits duplicates (the same exact identifier set) to 5 a week, and reports the latest of several full budgets', () => {
    const dup = Array.from({ length: 5 }, (_, i) => slot(i * HOUR, { identifiers: 'new.example.com' }));
    const decision = decideSlot(dup, request, LETS_ENCRYPT_LIMITS, at(10 * HOUR));
    assert.equal(decision.granted, false);
    if (!decision.granted) assert.deepEqual(decision.limits, ['duplicates']);
    const both = decideSlot(dup, request, { ...LETS_ENCRYPT_LIMITS, ordersPerAccount: 5 }, at(2 * HOUR + 1));
    assert.equal(both.granted, false);
    if (!both.granted) {
      assert.deepEqual(both.limits, ['orders-per-account', 'duplicates']);
      assert.equal(both.retryAt.toISOString(), at(7 * 24 * HOUR).toISOString(), 'the later of the two');
    }
  });
});

describe('names', () => {
  it('counts a name for its registered domain (eTLD+1, wildcards by their base, private suffixes apart)', () => {
    const names = ['www.shop.Example.co.uk', '*.example.com', 'a.b.example.test', 'site.github.io'];
    assert.deepEqual(names.map(registeredDomainOf), ['example.co.uk', 'example.com', 'example.test', 'site.github.io']);
  });
  it('compares identifier sets case- and order-insensitively', () => {
    assert.equal(identifierSetOf(['B.example.com', 'a.example.com', 'b.example.com']), 'a.example.com,b.example.com');
  });
});
