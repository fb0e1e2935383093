import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import type { Logger } from 'pino';
import { pinoHttp } from 'pino-http';

/** An incoming X-Request-Id is kept when it is this safe (from a proxy or a client correlating its calls); else a UUID. */
const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;
/** Query parameters whose value never reaches the log. */
const SECRET_PARAM = /token|passw|passphrase|secret|key|auth|session|credential|signature|cookie/i;
/** Logged at debug only while they succeed: polled by monitors, or static files. */
const QUIET_PATH = /^\/(?:static\/|healthz$|readyz$|metrics$)/;

type Req = IncomingMessage & { originalUrl?: string };

/** The URL as it may be logged: the path, and the query with the values of secret-looking parameters redacted. */
export function loggableUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const params = [...new URLSearchParams(url.slice(q + 1))].map(
    ([name, value]) =>
      `${encodeURIComponent(name)}=${SECRET_PARAM.test(name) ? '[redacted]' : encodeURIComponent(value)}`,
  );
  return params.length ? `${url.slice(0, q)}?${params.join('&')}` : url.slice(0, q);
}

const pathOf = (req: Req) => (req.originalUrl ?? req.url ?? '/').split('?', 1)[0] ?? '/';

/**
 * One JSON line per request (method, path and redacted query, status, time) with a request id that
 * is echoed in `X-Request-Id` and carried by `req.log` for the handlers' own lines. Headers, cookies
 * and bodies are never logged. Must be the first middleware.
 */
export function requestLog(log: Logger): RequestHandler {
  const middleware = pinoHttp<Req, ServerResponse>({
    logger: log,
    quietReqLogger: true,
    wrapSerializers: false,
    genReqId(req, res) {
      const incoming = req.headers['x-request-id'];
      const id = typeof incoming === 'string' && SAFE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
      res.setHeader('X-Request-Id', id);
      return id;
    },
    customLogLevel(req, res, error) {
      if (error || res.statusCode >= 500) return 'error';
      return QUIET_PATH.test(pathOf(req)) ? 'debug' : 'info';
    },
    serializers: {
      req: (req: Req) => ({
        id: req.id,
        method: req.method,
        url: loggableUrl(req.originalUrl ?? req.url ?? '/'),
        remoteAddress: req.socket?.remoteAddress,
      }),
      res: (res: ServerResponse) => ({ statusCode: res.statusCode }),
    },
  });
  return (req, res, next) => middleware(req, res, next);
}
