import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  chooseRenewalMoment,
  DEFAULT_POLL_BOUNDS,
  nextPollDelaySeconds,
  safeExplanationUrl,
  type RenewalInfoFacts,
} from '../../activities/domain/renewal-info';
import { renewalDecision } from '../../workflows/lib/renewal-window';

const DAY = 86_400_000;
// A 6-day certificate (the shortlived profile), issued 2026-01-01.
const sixDays = { notBefore: '2026-01-01T00:00:00.000Z', notAfter: '2026-01-07T00:00:00.000Z' };
const window: RenewalInfoFacts = {
  kind: 'window',
  windowStart: '2026-01-04T00:00:00.000Z',
  windowEnd: '2026-01-05T00:00:00.000Z',
  renewAt: '2026-01-04T10:00:00.000Z',
  explanationUrl: 'https://ca.example/why',
};
const at = (iso: string): Date => new Date(iso);

describe('renewal decision with ARI (RFC 9773 §4.2)', () => {
  it('inside the window: waits for the chosen moment, then renews', () => {
    const before = renewalDecision(sixDays, { mode: 'fraction' }, at('2026-01-04T09:59:59.000Z'), window);
    assert.equal(before.due, false);
    assert.equal(before.basis, 'ari');
    assert.equal(before.renewAt, window.renewAt);
    assert.match(before.reason, /ARI: renewing at 2026-01-04T10:00:00.000Z/);
    const after = renewalDecision(sixDays, { mode: 'fraction' }, at('2026-01-04T10:00:00.000Z'), window);
    assert.deepEqual([after.due, after.basis], [true, 'ari']);
  });

  it('follows the CA, not the lifetime rule: before the window nothing is due even past a third of the lifetime', () => {
    // The lifetime rule alone would renew a 6-day certificate at 2026-01-05T00:00 (2 days left); ARI moved it later.
    const later: RenewalInfoFacts = {
      ...window,
      windowStart: '2026-01-05T06:00:00.000Z',
      windowEnd: '2026-01-06T00:00:00.000Z',
      renewAt: '2026-01-05T12:00:00.000Z',
    };
    assert.equal(renewalDecision(sixDays, { mode: 'fraction' }, at('2026-01-05T01:00:00.000Z'), later).due, false);
    assert.equal(renewalDecision(sixDays, { mode: 'fraction' }, at('2026-01-05T01:00:00.000Z')).due, true);
  });

  it('a window entirely in the past (a mass revocation) renews at once, whatever the chosen moment', () => {
    const past: RenewalInfoFacts = {
      kind: 'window',
      windowStart: '2026-01-01T23:00:00.000Z',
      windowEnd: '2026-01-01T23:00:01.000Z',
      renewAt: '2026-01-01T23:00:00.500Z',
    };
    const decision = renewalDecision(sixDays, { mode: 'fraction' }, at('2026-01-02T00:00:00.000Z'), past);
    assert.deepEqual([decision.due, decision.basis], [true, 'ari']);
    assert.match(decision.reason, /window ended at 2026-01-01T23:00:01.000Z: renew now/);
  });

  it('a CA without ARI: the lifetime rule, saying so', () => {
    const d = renewalDecision(sixDays, { mode: 'fraction' }, at('2026-01-02T00:00:00.000Z'), { kind: 'unsupported' });
    assert.deepEqual([d.due, d.basis, d.renewAt], [false, 'lifetime', '2026-01-05T00:00:00.000Z']);
    assert.match(d.reason, /the CA offers no ARI/);
  });

  it('ARI failing: the lifetime rule decides (never a stuck certificate), with the reason', () => {
    const failing: RenewalInfoFacts = { kind: 'error', reason: 'ari: GET https://ca.example/ari/x: HTTP 500' };
    const early = renewalDecision(sixDays, { mode: 'fraction' }, at('2026-01-02T00:00:00.000Z'), failing);
    assert.deepEqual([early.due, early.basis], [false, 'lifetime']);
    assert.match(early.reason, /ARI failed: ari: GET https:\/\/ca.example\/ari\/x: HTTP 500/);
    assert.equal(renewalDecision(sixDays, { mode: 'fraction' }, at('2026-01-05T00:00:00.000Z'), failing).due, true);
  });

  it('an expired certificate renews even when the window says later', () => {
    const d = renewalDecision(sixDays, { mode: 'fraction' }, at('2026-01-07T00:00:00.000Z'), {
      ...window,
      windowStart: '2026-01-08T00:00:00.000Z',
      windowEnd: '2026-01-09T00:00:00.000Z',
      renewAt: '2026-01-08T01:00:00.000Z',
    });
    assert.equal(d.due, true);
    assert.match(d.reason, /expired/);
  });
});

describe('the renewal moment and the next poll', () => {
  it('chooses inside [start, end): the ends of the random range map to the ends of the window', () => {
    const start = at('2026-01-04T00:00:00.000Z');
    const end = at('2026-01-05T00:00:00.000Z');
    assert.equal(chooseRenewalMoment(start, end, 0).toISOString(), start.toISOString());
    assert.equal(chooseRenewalMoment(start, end, 0.5).toISOString(), '2026-01-04T12:00:00.000Z');
    assert.ok(chooseRenewalMoment(start, end, 0.999999).getTime() < end.getTime());
    for (let i = 0; i < 200; i++) {
      const t = chooseRenewalMoment(start, end, Math.random()).getTime();
      assert.ok(t >= start.getTime() && t < end.getTime());
    }
    assert.equal(end.getTime() - start.getTime(), DAY);
  });

  it('honours Retry-After within [1 h, 24 h], 6 h without one', () => {
    assert.equal(nextPollDelaySeconds(21_600, DEFAULT_POLL_BOUNDS), 21_600);
    assert.equal(nextPollDelaySeconds(0, DEFAULT_POLL_BOUNDS), 3600);
    assert.equal(nextPollDelaySeconds(30 * 86_400, DEFAULT_POLL_BOUNDS), 86_400);
    assert.equal(nextPollDelaySeconds(undefined, DEFAULT_POLL_BOUNDS), 21_600);
  });

  it('keeps only absolute https explanation URLs', () => {
    assert.equal(safeExplanationUrl('https://ca.example/incident/1'), 'https://ca.example/incident/1');
    for (const bad of [
      'http://ca.example/x',
      'javascript:alert(1)',
      '/relative',
      'https://user:pw@ca.example/',
      42,
      '',
    ])
      assert.equal(safeExplanationUrl(bad), undefined, String(bad));
  });
});
