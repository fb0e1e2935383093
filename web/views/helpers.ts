import Handlebars from 'handlebars';
import { waitingUntilText } from '../../activities/domain/maintenance-window';
import { displayCertificateName } from '../../activities/domain/certificate-name';
import { deviceErrorFor } from '../device-errors';
import { describeLifetime, expiresWithin } from '../../activities/domain/expiry-threshold';

const DAY_MS = 86_400_000;

export function daysUntil(date: Date | string | null | undefined, now = new Date()): number | undefined {
  if (!date) return undefined;
  return Math.floor((new Date(date).getTime() - now.getTime()) / DAY_MS);
}

/** Registers the view helpers on a Handlebars environment. All output is escaped by Handlebars. */
export function registerHelpers(hbs: typeof Handlebars): void {
  hbs.registerHelper('eq', (a: unknown, b: unknown) => a === b);
  /** {{deviceError text @root.isAdmin}}: device and connection errors, coarse for non-admins (web/device-errors.ts). */
  hbs.registerHelper('deviceError', (text: unknown, isAdmin: unknown) =>
    typeof text === 'string' ? deviceErrorFor(text, isAdmin === true) : text,
  );
  hbs.registerHelper('or', (...args: unknown[]) => args.slice(0, -1).some(Boolean));
  hbs.registerHelper('not', (a: unknown) => !a);
  hbs.registerHelper('gt', (a: unknown, b: unknown) => Number(a) > Number(b));
  hbs.registerHelper('concat', (...args: unknown[]) => args.slice(0, -1).map(String).join(''));
  /** A certificate name: an IDN in Unicode with its punycode beside it. */
  hbs.registerHelper('hostName', (value: unknown) =>
    typeof value === 'string' ? displayCertificateName(value) : value,
  );
  hbs.registerHelper('formatDate', (value: unknown) => {
    if (!value) return '—';
    const d = new Date(value as string);
    return Number.isNaN(d.getTime()) ? '—' : d.toISOString().replace('T', ' ').slice(0, 16) + ' UTC';
  });
  /** "waiting until Sat 12 Dec 02:00 (Europe/Berlin)": a deploy's maintenance window, in the target's time zone. */
  hbs.registerHelper('waitingUntil', (until: unknown, timeZone: unknown) =>
    until ? waitingUntilText(until as Date | string, typeof timeZone === 'string' ? timeZone : 'UTC') : '',
  );
  hbs.registerHelper('daysLeft', (value: unknown) => {
    const days = daysUntil(value as string | undefined);
    if (days === undefined) return '—';
    if (days < 0) return `expired ${-days} d ago`;
    return `${days} d`;
  });
  /** {{expiryClass notAfter notBefore}}: bad within 7 days, warn within 30, both scaled to the lifetime when notBefore is known. */
  hbs.registerHelper('expiryClass', (value: unknown, ...rest: unknown[]) => {
    if (!value) return 'muted';
    const notAfter = new Date(value as string);
    if (Number.isNaN(notAfter.getTime())) return 'muted';
    const start = rest.length > 1 && rest[0] ? new Date(rest[0] as string) : null;
    const validity = { notBefore: start, notAfter };
    if (expiresWithin(7, validity)) return 'bad';
    if (expiresWithin(30, validity)) return 'warn';
    return 'good';
  });
  /** {{lifetime notBefore notAfter}}: "90 days", "6 days". */
  hbs.registerHelper('lifetime', (start: unknown, end: unknown) =>
    start && end ? describeLifetime(new Date(start as string), new Date(end as string)) : '—',
  );
  /** The names of the profiles a directory offers, comma-separated. */
  hbs.registerHelper('profileNames', (profiles: unknown) =>
    profiles && typeof profiles === 'object' ? Object.keys(profiles).join(', ') : '',
  );
  /** A directory's profiles as {name, description} for a select. */
  hbs.registerHelper('profileOptions', (profiles: unknown) =>
    profiles && typeof profiles === 'object'
      ? Object.entries(profiles as Record<string, string>).map(([name, description]) => ({ name, description }))
      : [],
  );
  hbs.registerHelper('smtpPasswordHelp', (hasPassword: unknown) =>
    hasPassword ? 'A password is stored (encrypted). Leave empty to keep it.' : 'Stored encrypted.',
  );
  hbs.registerHelper('durationMs', (start: unknown, end: unknown) => {
    if (!start) return '';
    const ms = (end ? new Date(end as string).getTime() : Date.now()) - new Date(start as string).getTime();
    return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
  });
}
