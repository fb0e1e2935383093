/**
 * A fleet's renewal checks are spread over the interval: each certificate's schedule has its own offset,
 * fixed by its id, instead of every check falling at the whole hour.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renewalCheckOffsetSeconds } from '../../temporal/schedules';

describe('renewal check offset', () => {
  it('is the same for a certificate every time, and inside the interval', () => {
    for (const id of ['1', '42', '10000', '9999999']) {
      const offset = renewalCheckOffsetSeconds(id, 3600);
      assert.equal(renewalCheckOffsetSeconds(id, 3600), offset);
      assert.ok(Number.isInteger(offset) && offset >= 0 && offset < 3600, `${id}: ${offset}`);
    }
    assert.equal(renewalCheckOffsetSeconds('7', 1), 0, 'an interval of one second has one place');
  });

  it('spreads 10,000 certificates over the hour: every 5-minute slot holds its share, within 15 %', () => {
    const slots = new Array<number>(12).fill(0);
    for (let id = 1; id <= 10_000; id += 1) {
      const slot = Math.floor(renewalCheckOffsetSeconds(String(id), 3600) / 300);
      slots[slot] = (slots[slot] ?? 0) + 1;
    }
    const share = 10_000 / 12;
    for (const [slot, count] of slots.entries())
      assert.ok(
        Math.abs(count - share) < share * 0.15,
        `slot ${slot} holds ${count} of 10,000 (share ${share.toFixed(0)})`,
      );
  });
});
