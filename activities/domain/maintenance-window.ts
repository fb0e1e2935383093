/**
 * Weekly maintenance windows in a target's time zone. Pure (web-safe); the deploy workflow asks an
 * activity for the next window, so its result sits in history and replays the same.
 *
 * Written one per line as `<days> <start>-<end>`: days `mon`…`sun`, ranges `mon-fri`, lists
 * `sat,sun`, or `daily`; times `HH:MM` (or `HH:MM:SS`), 24 h. A window that ends at or before its
 * start runs past midnight (`fri 22:00-04:00` is Friday night into Saturday morning).
 */
export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

export interface WeeklyWindow {
  days: Weekday[];
  /** Seconds after local midnight. */
  startSecond: number;
  endSecond: number;
}

export interface MaintenanceWindows {
  timeZone: string;
  windows: WeeklyWindow[];
}

const TIME = /^([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?$/;
const MAX_WINDOWS = 20;

function parseTime(text: string): number | undefined {
  const m = TIME.exec(text);
  return m ? Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3] ?? 0) : undefined;
}

function parseDays(text: string): Weekday[] | undefined {
  if (text === 'daily') return [...WEEKDAYS];
  const days = new Set<Weekday>();
  for (const part of text.split(',')) {
    const range = /^([a-z]{3})(?:-([a-z]{3}))?$/.exec(part);
    const from = range ? WEEKDAYS.indexOf(range[1] as Weekday) : -1;
    const to = range?.[2] ? WEEKDAYS.indexOf(range[2] as Weekday) : from;
    if (from < 0 || to < 0) return undefined;
    for (let i = from; ; i = (i + 1) % 7) {
      days.add(WEEKDAYS[i] as Weekday);
      if (i === to) break;
    }
  }
  return [...days];
}

export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return zone.length > 0 && zone.length <= 64;
  } catch {
    return false;
  }
}

/** The form's time zone and lines; no lines (or none given) = no windows (deploy at any time). */
export function checkMaintenanceWindows(
  timeZone: unknown,
  text: unknown,
): { ok: true; value: MaintenanceWindows | null } | { ok: false; error: string } {
  if (text !== undefined && text !== null && typeof text !== 'string')
    return { ok: false, error: 'Maintenance windows are text, one window per line (or a list of such lines).' };
  const lines = (text ?? '')
    .split(/\r?\n/)
    .map((l) => l.trim().toLowerCase())
    .filter(Boolean);
  if (lines.length === 0) return { ok: true, value: null };
  if (lines.length > MAX_WINDOWS) return { ok: false, error: `At most ${MAX_WINDOWS} windows.` };
  const zone = typeof timeZone === 'string' ? timeZone.trim() : '';
  if (!isTimeZone(zone)) return { ok: false, error: 'Choose the time zone the windows are in, such as Europe/Berlin.' };
  const windows: WeeklyWindow[] = [];
  for (const line of lines) {
    const m = /^(\S+)\s+(\S+)-(\S+)$/.exec(line);
    const days = m ? parseDays(m[1] as string) : undefined;
    const startSecond = m ? parseTime(m[2] as string) : undefined;
    const endSecond = m ? parseTime(m[3] as string) : undefined;
    if (!days || startSecond === undefined || endSecond === undefined || startSecond === endSecond) {
      return {
        ok: false,
        error: `"${line.slice(0, 60)}" is not "<days> HH:MM-HH:MM" (for example "sat,sun 02:00-05:00" or "mon-fri 22:00-04:00").`,
      };
    }
    windows.push({ days, startSecond, endSecond });
  }
  return { ok: true, value: { timeZone: zone, windows } };
}

const pad = (n: number): string => String(n).padStart(2, '0');
const clock = (s: number): string =>
  `${pad(Math.floor(s / 3600))}:${pad(Math.floor(s / 60) % 60)}${s % 60 ? `:${pad(s % 60)}` : ''}`;

/** The windows as the form shows them, one per line. */
export function describeWindows(m: MaintenanceWindows | null): string {
  return m
    ? m.windows
        .map((w) => `${w.days.length === 7 ? 'daily' : w.days.join(',')} ${clock(w.startSecond)}-${clock(w.endSecond)}`)
        .join('\n')
    : '';
}

/** Wall-clock fields of an instant in a time zone. */
function localParts(
  instant: number,
  timeZone: string,
): { y: number; mo: number; d: number; h: number; mi: number; s: number; weekday: Weekday } {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
    weekday: 'short',
  }).formatToParts(new Date(instant));
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '0';
  return {
    y: Number(get('year')),
    mo: Number(get('month')),
    d: Number(get('day')),
    h: Number(get('hour')),
    mi: Number(get('minute')),
    s: Number(get('second')),
    weekday: get('weekday').toLowerCase().slice(0, 3) as Weekday,
  };
}

const wallClock = (instant: number, timeZone: string): number => {
  const p = localParts(instant, timeZone);
  return Date.UTC(p.y, p.mo - 1, p.d, p.h, p.mi, p.s);
};

/**
 * The instant of a local wall-clock time: of the two UTC offsets around it, the one that maps back
 * exactly (the earlier one when the clock falls back and the time exists twice), or, for a time
 * skipped when the clock springs forward, the instant just after the gap.
 */
function instantOf(y: number, mo: number, d: number, second: number, timeZone: string): number {
  const wall = Date.UTC(y, mo - 1, d) + second * 1000;
  const offsets = [wall - 43_200_000, wall + 43_200_000].map((probe) => wallClock(probe, timeZone) - probe);
  const candidates = [...new Set(offsets.map((offset) => wall - offset))].sort((a, b) => a - b);
  return candidates.find((c) => wallClock(c, timeZone) === wall) ?? (candidates.at(-1) as number);
}

/**
 * Whether `now` is inside a window, and the window that is open now or opens next (within a week).
 * Null windows: always open.
 */
export function maintenanceStatus(
  m: MaintenanceWindows | null,
  now: Date,
): { inWindow: boolean; opensAt: Date | null; closesAt: Date | null } {
  if (!m || m.windows.length === 0) return { inWindow: true, opensAt: null, closesAt: null };
  const t = now.getTime();
  let best: { opensAt: number; closesAt: number } | undefined;
  // From yesterday (a window that started yesterday may still be open) to a week ahead.
  for (let offset = -1; offset <= 7; offset += 1) {
    const day = localParts(t + offset * 86_400_000, m.timeZone);
    for (const w of m.windows) {
      if (!w.days.includes(day.weekday)) continue;
      const opensAt = instantOf(day.y, day.mo, day.d, w.startSecond, m.timeZone);
      const closesAt =
        w.endSecond > w.startSecond
          ? instantOf(day.y, day.mo, day.d, w.endSecond, m.timeZone)
          : instantOf(day.y, day.mo, day.d, w.endSecond + 86_400, m.timeZone);
      if (closesAt <= t) continue;
      if (opensAt <= t) return { inWindow: true, opensAt: new Date(opensAt), closesAt: new Date(closesAt) };
      if (!best || opensAt < best.opensAt) best = { opensAt, closesAt };
    }
  }
  return best
    ? { inWindow: false, opensAt: new Date(best.opensAt), closesAt: new Date(best.closesAt) }
    : { inWindow: false, opensAt: null, closesAt: null };
}

/**
 * An instant as a technician in the target's time zone reads it: "Sat 12 Dec 02:00 (Europe/Berlin)".
 * Assembled from parts, so the text does not depend on the ICU version's punctuation.
 */
export function formatInZone(instant: Date | string, timeZone: string): string {
  const date = new Date(instant);
  if (Number.isNaN(date.getTime())) return '—';
  const zone = isTimeZone(timeZone) ? timeZone : 'UTC';
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: zone,
    weekday: 'short',
    day: 'numeric',
    month: 'short',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(date);
  const get = (type: Intl.DateTimeFormatPartTypes): string => parts.find((p) => p.type === type)?.value ?? '';
  return `${get('weekday')} ${get('day')} ${get('month')} ${get('hour')}:${get('minute')} (${zone})`;
}

/** What every page says about a deploy that waits for its window. */
export const waitingUntilText = (opensAt: Date | string, timeZone: string): string =>
  `waiting until ${formatInZone(opensAt, timeZone)}`;
