import type { LookupFunction } from 'node:net';
import { checkServerIdentity, createSecureContext, type SecureContext, type TLSSocket } from 'node:tls';
import { Agent, buildConnector, fetch, FormData, type Dispatcher } from 'undici';
import { FailureType } from '../../temporal/contract';
import { classified, ClassifiedError } from '../errors';
import type { ManagementTrust } from './types';
import { BoundedCache } from '../bounded-cache';
import { describeTransportFailure, transportFailureText } from '../domain/transport-failure';
import { recordHttpExchange } from './wire-transcript';
import { guardedLookup } from '../target-address';

export interface DeviceResponse {
  status: number;
  headers: Headers;
  text: string;
  /** Parsed JSON body, or undefined when the body is not JSON. */
  json: unknown;
}

export interface DeviceRequest {
  query?: Record<string, string | undefined>;
  headers?: Record<string, string>;
  /** JSON body (sets content-type). */
  json?: unknown;
  /** application/x-www-form-urlencoded body. */
  form?: Record<string, string>;
  /** multipart/form-data body. */
  multipart?: FormData;
  /** Raw bytes (content-type from headers). */
  bytes?: Buffer;
  timeoutMs?: number;
}

export interface DeviceHttp {
  request(method: string, path: string, request?: DeviceRequest): Promise<DeviceResponse>;
  close: () => Promise<void>;
}

const normalise = (fp: string): string => fp.replace(/:/g, '').toLowerCase();

/**
 * The dispatcher for a device's management HTTPS. A CA PEM is verified the normal way (chain and
 * host name); a pinned fingerprint accepts exactly that certificate and nothing else. With either,
 * `alsoAccept` adds the fingerprints of the versions a run deploys (their keys are ours): the device
 * may present one of them once its admin GUI is bound to it (docs/management-trust.md). There is no
 * "insecure" mode. Its TLS context is built once, not per connection.
 */
export function trustedDispatcher(trust: ManagementTrust, lookup?: LookupFunction): Dispatcher {
  const resolve = lookup ? { lookup } : {};
  const alsoAccept = (trust.alsoAccept ?? []).map(normalise).filter(Boolean);
  if ('caPem' in trust && alsoAccept.length === 0) {
    return new Agent({
      connect: { secureContext: createSecureContext({ ca: trust.caPem }), ...resolve },
      keepAliveTimeout: KEEP_ALIVE_MS,
    });
  }
  const check: PeerCheck =
    'caPem' in trust
      ? caOrAccepted(new Set(alsoAccept))
      : pinnedOrAccepted(normalise(trust.fingerprintSha256), new Set(alsoAccept));
  // No session resumption: a resumed session presents no certificate to check (and Node skips its host-name check).
  const connector = buildConnector({
    rejectUnauthorized: false,
    maxCachedSessions: 0,
    secureContext: 'caPem' in trust ? createSecureContext({ ca: trust.caPem }) : pinnedContext(),
    // The host name is checked below (tls.checkServerIdentity), so Node's own check would only repeat it.
    checkServerIdentity: () => undefined,
    ...resolve,
  });
  return new Agent({
    keepAliveTimeout: KEEP_ALIVE_MS,
    connect: (options, callback) =>
      connector(options, (error, socket) => {
        if (error || !socket) return callback(error ?? new Error('no socket'), null);
        const refusal = check(socket as TLSSocket, options.hostname.replace(/^\[(.*)\]$/, '$1'));
        if (refusal) {
          socket.destroy();
          return callback(refusal, null);
        }
        return callback(null, socket);
      }),
  });
}

/** Undefined when the connection is trusted, else the error to fail it with (a TLS code, so it classifies as TARGET_TLS_UNTRUSTED). */
type PeerCheck = (socket: TLSSocket, hostname: string) => Error | undefined;

const fingerprintOfPeer = (socket: TLSSocket): string => normalise(socket.getPeerCertificate?.().fingerprint256 ?? '');

function pinnedOrAccepted(expected: string, alsoAccept: ReadonlySet<string>): PeerCheck {
  return (socket) => {
    const seen = fingerprintOfPeer(socket);
    if (seen && (seen === expected || alsoAccept.has(seen))) return undefined;
    return Object.assign(
      new Error(`the device presented certificate ${seen || '(none)'}, not the pinned ${expected}`),
      { code: 'CERT_PIN_MISMATCH', seenFingerprint: seen },
    );
  };
}

/**
 * The CA path done by hand, as strict as Node's own: the chain must verify against the CA (OpenSSL's
 * result, `authorizationError` empty), on a full handshake, and the leaf must name the host
 * (tls.checkServerIdentity, IP addresses against IP SANs). Only when that fails is the leaf compared
 * with the run's own versions.
 */
function caOrAccepted(alsoAccept: ReadonlySet<string>): PeerCheck {
  return (socket, hostname) => {
    const seen = fingerprintOfPeer(socket);
    if (seen && alsoAccept.has(seen)) return undefined;
    if (socket.isSessionReused())
      return Object.assign(new Error('resumed TLS session: no certificate to verify'), {
        code: 'ERR_TLS_SESSION_REUSED',
      });
    const chainError = socket.authorizationError as Error | string | null | undefined;
    if (chainError) {
      const code =
        typeof chainError === 'string'
          ? chainError
          : ((chainError as { code?: string }).code ?? 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
      return Object.assign(new Error(typeof chainError === 'string' ? chainError : chainError.message), { code });
    }
    return checkServerIdentity(hostname, socket.getPeerCertificate()) ?? undefined;
  };
}

const KEEP_ALIVE_MS = 10_000;
let pinned: SecureContext | undefined;
/** Pinned connections check the peer's fingerprint themselves; their context needs no roots of its own. */
const pinnedContext = (): SecureContext => (pinned ??= createSecureContext({}));

/**
 * Dispatchers shared by the activities of this worker, one per device address and trust: the stage,
 * activate and verify steps of many deploys to one device reuse kept-alive connections (each checked
 * against the trust when it was opened) instead of a TLS handshake per step. Idle connections close
 * after 10 s; past 256 dispatchers the least recently used one is closed.
 */
const shared = new BoundedCache<Dispatcher>(
  256,
  Number.POSITIVE_INFINITY,
  (old) => void old.close().catch(() => undefined),
);

function sharedDispatcher(
  address: string,
  trust: ManagementTrust,
  component: string,
  allowedNetworks: readonly string[] | undefined,
): Dispatcher {
  const key = `${address} ${JSON.stringify(trust)} ${allowedNetworks?.join(',') ?? '-'}`;
  const cached = shared.get(key);
  if (cached) return cached;
  const dispatcher = trustedDispatcher(trust, allowedNetworks ? guardedLookup(component, allowedNetworks) : undefined);
  shared.set(key, dispatcher);
  return dispatcher;
}

/** Maps a transport failure to TARGET_UNREACHABLE (retryable) or TARGET_TLS_UNTRUSTED (not retryable). */
export function classifyTransportError(component: string, address: string, error: unknown): ClassifiedError {
  // Ours already (a refused address from the guarded lookup), possibly wrapped by undici ("fetch failed").
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++)
    if (e instanceof ClassifiedError) return e;
  const failure = describeTransportFailure(error);
  if (failure.tls) {
    return classified(
      FailureType.targetTlsUntrusted,
      `${component}: ${address}: management ${transportFailureText(error)}. Check the target's CA or pinned SHA-256 fingerprint.`,
    );
  }
  return classified(
    FailureType.targetUnreachable,
    `${component}: cannot reach ${address}: ${transportFailureText(error)}`,
  );
}

/**
 * HTTPS to a device's management API. With allowedNetworks (deploy activities always pass them), every
 * connection's DNS answer is checked against the target network policy (activities/target-address.ts).
 */
export function createDeviceHttp(
  target: { host: string; port: number; trust: ManagementTrust; allowedNetworks?: readonly string[] },
  component: string,
): DeviceHttp {
  const address = `${target.host}:${target.port}`;
  const dispatcher = sharedDispatcher(address, target.trust, component, target.allowedNetworks);
  const base = `https://${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}`;
  return {
    async request(method, path, request = {}) {
      const url = new URL(path, base);
      for (const [key, value] of Object.entries(request.query ?? {}))
        if (value !== undefined) url.searchParams.set(key, value);
      const headers: Record<string, string> = { accept: 'application/json', ...request.headers };
      let body: string | Buffer | FormData | undefined;
      if (request.json !== undefined) {
        headers['content-type'] = 'application/json';
        body = JSON.stringify(request.json);
      } else if (request.form) {
        headers['content-type'] = 'application/x-www-form-urlencoded';
        body = new URLSearchParams(request.form).toString();
      } else if (request.multipart) {
        body = request.multipart;
      } else if (request.bytes) {
        body = request.bytes;
      }
      // The run's wire transcript (redacted as recorded); nothing when no deploy step records.
      const transcript = recordHttpExchange({ ...request, method, url, headers });
      let response;
      try {
        response = await fetch(url, {
          method,
          headers,
          body,
          dispatcher,
          signal: AbortSignal.timeout(request.timeoutMs ?? 30_000),
        });
      } catch (error) {
        transcript?.failed(error);
        throw classifyTransportError(component, address, error);
      }
      const text = await response.text();
      transcript?.answered(response.status, response.headers, text);
      let json: unknown;
      try {
        json = text ? JSON.parse(text) : undefined;
      } catch {
        json = undefined;
      }
      return { status: response.status, headers: response.headers as unknown as Headers, text, json };
    },
    // The dispatcher is shared (see sharedDispatcher): its idle connections close by themselves.
    close: () => Promise.resolve(),
  };
}

export { FormData };
