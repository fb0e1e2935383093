/** Weekly maintenance windows in a target's time zone: parsing, in/out, next opening, midnight and DST. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  checkMaintenanceWindows,
  describeWindows,
  formatInZone,
  maintenanceStatus,
  waitingUntilText,
  type MaintenanceWindows,
} from '../../activities/domain/maintenance-window';

const windows = (zone: string, text: string): MaintenanceWindows => {
  const checked = checkMaintenanceWindows(zone, text);
  assert.ok(checked.ok && checked.value, JSON.stringify(checked));
  return checked.value;
};

describe('maintenance windows', () => {
  it('parses days, ranges, lists and times; refuses what it cannot read', () => {
    const m = windows('Europe/Berlin', 'sat,sun 02:00-05:00\nmon-fri 22:00-04:00\ndaily 12:00:30-12:05');
    assert.deepEqual(m.windows[0]?.days, ['sat', 'sun']);
    assert.deepEqual(m.windows[1]?.days, ['mon', 'tue', 'wed', 'thu', 'fri']);
    assert.equal(m.windows[2]?.days.length, 7);
    assert.equal(m.windows[2]?.startSecond, 12 * 3600 + 30);
    assert.equal(describeWindows(m), 'sat,sun 02:00-05:00\nmon,tue,wed,thu,fri 22:00-04:00\ndaily 12:00:30-12:05');
    assert.deepEqual(
      checkMaintenanceWindows('Europe/Berlin', '  \n '),
      { ok: true, value: null },
      'no windows: any time',
    );
    for (const bad of ['someday 02:00-05:00', 'sat 25:00-05:00', 'sat 02:00', 'sat 02:00-02:00', 'sat 2:00-05:00']) {
      assert.equal(checkMaintenanceWindows('UTC', bad).ok, false, bad);
    }
    assert.equal(checkMaintenanceWindows('Mars/Olympus', 'sat 02:00-05:00').ok, false, 'unknown time zone');
  });

  it("is inside a window, or says when the next one opens, in the target's time zone", () => {
    const m = windows('Europe/Berlin', 'sat,sun 02:00-05:00');
    // Wednesday 2026-11-25 12:00 UTC: the next window is Saturday 02:00 Berlin (01:00 UTC in winter).
    const wed = maintenanceStatus(m, new Date('2026-11-25T12:00:00Z'));
    assert.deepEqual(wed, {
      inWindow: false,
      opensAt: new Date('2026-11-28T01:00:00Z'),
      closesAt: new Date('2026-11-28T04:00:00Z'),
    });
    const inside = maintenanceStatus(m, new Date('2026-11-29T03:30:00Z'));
    assert.deepEqual(inside, {
      inWindow: true,
      opensAt: new Date('2026-11-29T01:00:00Z'),
      closesAt: new Date('2026-11-29T04:00:00Z'),
    });
    assert.equal(maintenanceStatus(null, new Date()).inWindow, true);
  });

  it('a window past midnight is open the next morning; daylight saving moves the UTC time', () => {
    const night = windows('America/New_York', 'fri 22:00-04:00');
    // Saturday 2026-11-28 03:00 New York (08:00 UTC) is still Friday's window.
    assert.equal(maintenanceStatus(night, new Date('2026-11-28T08:00:00Z')).inWindow, true);
    assert.equal(maintenanceStatus(night, new Date('2026-11-28T10:00:00Z')).inWindow, false);
    const summer = windows('Europe/Berlin', 'sun 02:00-05:00');
    // The last Sunday of March 2026 skips 02:00–03:00 in Berlin: the window opens at 03:00 local (01:00 UTC).
    assert.deepEqual(
      maintenanceStatus(summer, new Date('2026-03-28T12:00:00Z')).opensAt,
      new Date('2026-03-29T01:00:00Z'),
    );
    // A week later, summer time: 02:00 Berlin is 00:00 UTC.
    assert.deepEqual(
      maintenanceStatus(summer, new Date('2026-04-04T12:00:00Z')).opensAt,
      new Date('2026-04-05T00:00:00Z'),
    );
  });

  it('says when a window opens in the target\'s time zone, as "Sat 12 Dec 02:00 (Europe/Berlin)"', () => {
    assert.equal(formatInZone(new Date('2026-12-12T01:00:00Z'), 'Europe/Berlin'), 'Sat 12 Dec 02:00 (Europe/Berlin)');
    // Summer time, a day boundary, a 24 h clock, and no "Sept".
    assert.equal(formatInZone('2026-09-05T22:30:00Z', 'Europe/Berlin'), 'Sun 6 Sep 00:30 (Europe/Berlin)');
    assert.equal(formatInZone('2026-09-05T22:30:00Z', 'America/New_York'), 'Sat 5 Sep 18:30 (America/New_York)');
    assert.equal(formatInZone('2026-09-05T13:05:59Z', 'UTC'), 'Sat 5 Sep 13:05 (UTC)');
    // An unknown zone falls back to UTC and says so; an invalid instant is a dash.
    assert.equal(formatInZone('2026-09-05T22:30:00Z', 'Mars/Olympus'), 'Sat 5 Sep 22:30 (UTC)');
    assert.equal(formatInZone('not a date', 'UTC'), '—');
    // The next opening of a weekend window, from a Wednesday.
    const weekend = windows('Europe/Berlin', 'sat,sun 02:00-05:00');
    const next = maintenanceStatus(weekend, new Date('2026-12-09T12:00:00Z')).opensAt as Date;
    assert.equal(waitingUntilText(next, weekend.timeZone), 'waiting until Sat 12 Dec 02:00 (Europe/Berlin)');
  });
});
