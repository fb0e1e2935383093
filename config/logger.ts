import pino, { type Logger } from 'pino';

/** Paths redacted from every log line: credentials must never reach the logs. */
export const REDACT_PATHS = [
  'password', '*.password', 'token', '*.token', 'apiToken', '*.apiToken', 'key', '*.key', 'keyPem', '*.keyPem', 'privateKey', '*.privateKey',
  'req.headers.authorization', 'req.headers.cookie', 'headers.authorization', 'headers.cookie', 'masterKey', '*.masterKey',
];

export function createLogger(name: string, level: string): Logger {
  return pino({ name, level, redact: { paths: REDACT_PATHS, censor: '[redacted]' } });
}
