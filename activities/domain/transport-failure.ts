/**
 * Why a request to a peer (a device, the CA, a DNS provider's API, PostgreSQL) got no answer, in the
 * words a technician reads: "connection refused", not undici's "fetch failed". The one mapper from
 * socket, DNS, timeout and TLS error codes to words; the code stays beside the words for searching.
 */

const WORDS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ECONNABORTED: 'connection aborted',
  EPIPE: 'connection closed',
  UND_ERR_SOCKET: 'connection closed by the peer',
  UND_ERR_CLOSED: 'connection closed',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name lookup failed (DNS)',
  EAI_FAIL: 'host name lookup failed (DNS)',
  ETIMEDOUT: 'timed out',
  UND_ERR_CONNECT_TIMEOUT: 'timed out',
  UND_ERR_HEADERS_TIMEOUT: 'timed out waiting for an answer',
  UND_ERR_BODY_TIMEOUT: 'timed out waiting for an answer',
  EHOSTUNREACH: 'host unreachable',
  EHOSTDOWN: 'host unreachable',
  ENETUNREACH: 'network unreachable',
};

/** What the peer's TLS certificate failed, for the common codes (others are named by their code). */
const TLS_WORDS: Record<string, string> = {
  ERR_TLS_CERT_ALTNAME_INVALID: 'its name does not match the host',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed',
  SELF_SIGNED_CERT_IN_CHAIN: 'self-signed CA in the chain',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'issuer unknown',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'issuer unknown',
  CERT_HAS_EXPIRED: 'expired',
  CERT_NOT_YET_VALID: 'not yet valid',
  CERT_PIN_MISMATCH: 'not the pinned certificate',
};

/** Error codes of TLS failures (Node's and OpenSSL's); of those, the ones about the peer's certificate. */
const TLS_CODE = /CERT|SELF_SIGNED|UNABLE_TO_|ALTNAME|SSL|TLS|PIN/;
const CERTIFICATE_CODE = /CERT|SELF_SIGNED|UNABLE_TO_|ALTNAME|PIN/;

export interface TransportFailure {
  /** The error code found on the error or its causes (ECONNREFUSED, UND_ERR_CONNECT_TIMEOUT, …). */
  code?: string;
  /** "connection refused", "TLS certificate not trusted (expired)", or the innermost message. */
  words: string;
  /** True when the peer's TLS certificate was not trusted (no retry fixes that). */
  tls: boolean;
  /** The message of the error that carried the code (may name a host or an address: not for every page). */
  detail: string;
}

/** The error and its causes, outermost first (undici: TypeError('fetch failed') → cause → …). */
function chain(error: unknown): unknown[] {
  const errors: unknown[] = [];
  for (let e: unknown = error; e && typeof e === 'object' && errors.length < 6; e = (e as { cause?: unknown }).cause) {
    errors.push(e);
    // happy eyeballs: an AggregateError holds one error per address tried
    const inner = (e as { errors?: unknown }).errors;
    if (Array.isArray(inner) && inner[0] && !(e as { cause?: unknown }).cause) errors.push(inner[0]);
  }
  return errors;
}

const stringCode = (e: unknown): string | undefined => {
  const code = (e as { code?: unknown }).code;
  return typeof code === 'string' && /^[A-Z][A-Z0-9_]{1,63}$/.test(code) ? code : undefined;
};

/** The words for one error code, or undefined when it is no socket, DNS, timeout or TLS code. */
export function transportWords(code: string): string | undefined {
  if (CERTIFICATE_CODE.test(code)) return `TLS certificate not trusted (${TLS_WORDS[code] ?? code})`;
  if (TLS_CODE.test(code)) return `TLS handshake failed (${code})`;
  return WORDS[code];
}

const messageOf = (e: unknown): string | undefined => {
  const message = e && typeof e === 'object' ? (e as { message?: unknown }).message : undefined;
  return typeof message === 'string' && message !== '' ? message : undefined;
};

/** A transport failure in words; a thrown value that is no error at all gives its text. */
export function describeTransportFailure(error: unknown): TransportFailure {
  const errors = chain(error);
  const codes = errors.map(stringCode).filter((c): c is string => c !== undefined);
  // The innermost code with words wins (undici's UND_ERR_SOCKET may wrap the socket's ECONNRESET).
  const code = [...codes].reverse().find((c) => transportWords(c) !== undefined) ?? codes[0];
  const carrier = code ? errors.find((e) => stringCode(e) === code) : errors.at(-1);
  const detail = messageOf(carrier) ?? messageOf(error) ?? String(error);
  // axios names its own request timeout ECONNABORTED ("timeout of 60000ms exceeded").
  const words =
    code === 'ECONNABORTED' && /timeout/i.test(detail) ? 'timed out' : code ? transportWords(code) : undefined;
  if (code && words) return { code, words, tls: TLS_CODE.test(code), detail };
  if (errors.some((e) => (e as { name?: unknown }).name === 'TimeoutError'))
    return { ...(code ? { code } : {}), words: 'timed out', tls: false, detail };
  return { ...(code ? { code } : {}), words: detail, tls: false, detail };
}

/**
 * "connection refused (ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:443)": the words, then the code
 * and the message of the error that carried it, for searching and for the address it names.
 */
export function transportFailureText(error: unknown): string {
  const { code, words, detail } = describeTransportFailure(error);
  if (words === detail) return code ? `${words} (${code})` : words;
  return `${words} (${code ? `${code}: ` : ''}${detail})`;
}
