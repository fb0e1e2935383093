/**
 * Device and connection errors as technicians and read-only users see them: the low-level cause
 * ("(ECONNREFUSED: connect ECONNREFUSED 10.1.2.3:443)") becomes a category ("(connection refused)"),
 * and IP addresses (what a host name resolved to, addresses of internal networks) are hidden.
 * Admins see the whole text. Host names as configured, fingerprints and the component stay.
 */
import { isIP } from 'node:net';

const CATEGORIES: [RegExp, string][] = [
  [/ECONNREFUSED/, 'connection refused'],
  [/TIMEDOUT|TIMEOUT/, 'timed out'],
  [/ENOTFOUND|EAI_AGAIN|EAI_NONAME/, 'host name not found'],
  [/EHOSTUNREACH|ENETUNREACH|EHOSTDOWN/, 'host unreachable'],
  [/ECONNRESET|EPIPE|UND_ERR_SOCKET|ECONNABORTED/, 'connection reset'],
  [/CERT|SELF_SIGNED|UNABLE_TO_|ALTNAME|SSL|TLS|PIN/, 'TLS certificate not trusted'],
];

const categoryOf = (code: string): string =>
  CATEGORIES.find(([pattern]) => pattern.test(code))?.[1] ?? 'connection error';

/** An IP address in a token (with its port, brackets or punctuation around it) is replaced; anything else is kept. */
function hideAddress(token: string): string {
  const [, lead = '', core = '', trail = ''] = /^(\(*)(.*?)([),;.]*)$/.exec(token) ?? [];
  const candidates = [
    core,
    core.replace(/:\d{1,5}:?$/, ''),
    core.replace(/^\[(.*)\](?::\d{1,5})?:?$/, '$1'),
    core.replace(/:$/, ''),
  ];
  if (!candidates.some((c) => isIP(c))) return token;
  return `${lead}an internal address${core.endsWith(':') ? ':' : ''}${trail}`;
}

export function coarseDeviceError(message: string): string {
  // "connection refused (ECONNREFUSED: connect …)": the words already say it, so the code's detail goes.
  const categorised = message.replace(
    /(\s*)\(([A-Z][A-Z0-9_]{2,})(?:: [^()]*(?:\([^()]*\)[^()]*)*)?\)/g,
    (_all, space: string, code: string, offset: number, whole: string) => {
      const category = categoryOf(code);
      return whole.slice(0, offset).endsWith(category) ? '' : `${space}(${category})`;
    },
  );
  return categorised
    .split(/(\s+)/)
    .map((token) => (/\s/.test(token) ? token : hideAddress(token)))
    .join('');
}

/** The text for this viewer: whole for admins, coarse for everyone else. */
export const deviceErrorFor = (message: string, isAdmin: boolean): string =>
  isAdmin ? message : coarseDeviceError(message);

const ERROR_KEYS = new Set(['error', 'lastError', 'detail', 'message', 'reason']);

/** The same for a JSON answer: every error-like string field (error, lastError, detail, message, reason), at any depth. */
export function coarseDeviceErrorsIn<T>(value: T): T {
  if (Array.isArray(value)) return value.map((item: unknown) => coarseDeviceErrorsIn(item)) as T;
  if (value === null || typeof value !== 'object' || value instanceof Date) return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, v]) => [
      key,
      typeof v === 'string' && ERROR_KEYS.has(key) ? coarseDeviceError(v) : coarseDeviceErrorsIn(v),
    ]),
  ) as T;
}

/** A JSON answer for this viewer: whole for admins, coarse for everyone else. */
export const deviceErrorsFor = <T>(value: T, isAdmin: boolean): T => (isAdmin ? value : coarseDeviceErrorsIn(value));
