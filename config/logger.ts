import pino, { type DestinationStream, type Logger } from 'pino';

/**
 * Keys whose value never reaches the logs, at the top level of a line and one level down
 * (`password`, `target.credentials`, `headers.authorization`, the SDK's `error.token`).
 */
const SECRET_KEYS = [
  'password',
  'passphrase',
  'ftpPassword',
  'token',
  'apiToken',
  'apiKey',
  'secret',
  'privateKey',
  'keyPem',
  'key',
  'masterKey',
  'credentials',
  'authorization',
  'cookie',
];

/**
 * Paths redacted from every log line: credentials must never reach the logs. pino's wildcards match
 * one level each, and every wildcard path costs a little on every line (about 3 µs here), so the
 * deeper shapes met in practice are listed one by one: HTTP middleware's `req`/`res` headers,
 * axios-style HTTP client errors (`err.config.headers.Authorization`), a credentials object or a
 * password two levels down (`input.target.credentials`).
 */
export const REDACT_PATHS = [
  ...SECRET_KEYS,
  'clientSecret',
  'sessionKey',
  'Authorization',
  'Cookie',
  '["set-cookie"]',
  '["x-api-key"]',
  // The Temporal SDK's activity lines carry the task token, which completes or fails the activity through the API.
  'taskToken',
  ...SECRET_KEYS.map((key) => `*.${key}`),
  '*.*.credentials',
  '*.*.password',
  '*.*.token',
  ...['req', 'res', 'request', 'response'].flatMap((at) => [
    `${at}.headers.authorization`,
    `${at}.headers.Authorization`,
    `${at}.headers.cookie`,
    `${at}.headers["set-cookie"]`,
    `${at}.headers["x-api-key"]`,
  ]),
  'headers.Authorization',
  'headers["set-cookie"]',
  'headers["x-api-key"]',
  ...['err', 'error'].flatMap((at) => [
    `${at}.config.headers.Authorization`,
    `${at}.config.headers.authorization`,
    `${at}.config.headers.Cookie`,
    `${at}.config.data`,
    `${at}.config.auth`,
    `${at}.response.config.headers.Authorization`,
    `${at}.response.headers["set-cookie"]`,
    `${at}.request._header`,
    `${at}.request.headers.authorization`,
  ]),
];

/** One structured logger per process; `destination` for tests (default stdout). */
export function createLogger(name: string, level: string, destination?: DestinationStream): Logger {
  const options = {
    name,
    level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    // The Temporal SDK passes errors as `error` (e.g. "Activity failed"): serialized like `err`, message and stack included.
    serializers: { err: pino.stdSerializers.err, error: pino.stdSerializers.err },
  };
  return destination ? pino(options, destination) : pino(options);
}
