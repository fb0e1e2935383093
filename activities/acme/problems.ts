import { AsyncLocalStorage } from 'node:async_hooks';
import { Agent } from 'node:https';
import { createSecureContext, rootCertificates } from 'node:tls';
import * as acme from 'acme-client';
import axios, { type AxiosAdapter } from 'axios';
import { FailureType } from '../../temporal/contract';
import { transportFailureText } from '../domain/transport-failure';
import { classified, ClassifiedError } from '../errors';

/** An RFC 8555 problem document seen on the wire during one activity call. */
export interface AcmeProblem {
  status: number;
  type: string;
  detail: string;
  retryAfterSeconds?: number;
}

/** A request to the CA that got no answer at all (refused, reset, timed out). */
export interface AcmeNetworkFailure {
  code: string;
  message: string;
}

/** What one activity call saw on the wire. */
interface CallRecord {
  problems: AcmeProblem[];
  /** A request that got no answer, unless a problem document came after it. */
  network?: AcmeNetworkFailure;
}

const calls = new AsyncLocalStorage<CallRecord>();
const httpAdapter: AxiosAdapter = axios.getAdapter(axios.defaults.adapter);

/**
 * acme-client's own retry interceptor turns a request that got no response (a timeout, a refused or
 * reset connection, after its retries) into "Cannot read properties of undefined (reading 'config')".
 * The adapter sees the real failure first and records it, so the error can name it.
 */
const recordingAdapter: AxiosAdapter = async (config) => {
  try {
    return await httpAdapter(config);
  } catch (error) {
    const call = calls.getStore();
    if (call && axios.isAxiosError(error) && !error.response) {
      call.network = { code: error.code ?? 'ERR_NETWORK', message: error.message };
    }
    throw error;
  }
};
const agents = new Map<string, { caBundlePem: string; agent: Agent }>();
let installed = false;

export function parseRetryAfter(value: unknown): number | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.round((date - Date.now()) / 1000));
}

/** Longer than any answer a CA gives (Let's Encrypt answers within seconds); shorter than the activity timeouts. */
export const DEFAULT_ACME_REQUEST_TIMEOUT_MS = 60_000;
let requestTimeoutMs = DEFAULT_ACME_REQUEST_TIMEOUT_MS;

/** How long one request to a CA may take before it is given up (the worker's ACME_REQUEST_TIMEOUT_MS). */
export function setAcmeRequestTimeout(ms: number): void {
  requestTimeoutMs = ms;
  if (installed) acme.axios.defaults.timeout = ms;
}

/**
 * Installs, once per process, two interceptors on acme-client's axios instance:
 * - requests to a directory with its own CA bundle use an HTTPS agent trusting the system roots plus that bundle
 *   (scoped per origin; TLS verification is never turned off);
 * - problem documents, and requests that got no answer, are recorded for the activity call in
 *   progress, so errors can be classified and named.
 */
function install(): void {
  if (installed) return;
  installed = true;
  // No request to the CA waits forever: a connection that never answers is given up (and its socket
  // destroyed) so the activity retries, instead of holding a kept-alive socket until the worker restarts.
  acme.axios.defaults.timeout = requestTimeoutMs;
  acme.axios.interceptors.request.use((config) => {
    const origin = config.url ? new URL(config.url, config.baseURL).origin : undefined;
    const trusted = origin ? agents.get(origin) : undefined;
    if (trusted) config.httpsAgent = trusted.agent;
    config.adapter = recordingAdapter;
    return config;
  });
  acme.axios.interceptors.response.use((response) => {
    const call = calls.getStore();
    // The CA answered: an earlier request that got no answer was retried successfully.
    if (call) delete call.network;
    const data = response.data as { type?: unknown; detail?: unknown } | undefined;
    if (response.status >= 400 && data && typeof data.type === 'string') {
      const retryAfterSeconds = parseRetryAfter(response.headers['retry-after']);
      call?.problems.push({
        status: response.status,
        type: data.type,
        detail: typeof data.detail === 'string' ? data.detail : '',
        ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
      });
    }
    return response;
  });
}

/**
 * Trust `caBundlePem` (in addition to the system roots) for this directory's origin. Called on every
 * ACME activity: the agent (and its kept-alive connections) is built once per bundle, and its TLS
 * context once, since loading the ~150 system roots into a context costs tens of milliseconds of CPU.
 */
export function trustDirectoryCa(directoryUrl: string, caBundlePem: string | null): void {
  install();
  const origin = new URL(directoryUrl).origin;
  const current = agents.get(origin);
  if (current && current.caBundlePem === caBundlePem) return;
  current?.agent.destroy();
  if (!caBundlePem) {
    agents.delete(origin);
    return;
  }
  const secureContext = createSecureContext({ ca: [...rootCertificates, caBundlePem] });
  agents.set(origin, { caBundlePem, agent: new Agent({ secureContext, keepAlive: true }) });
}

/** The last problem document the CA answered in the ACME work in progress (withAcmeProblems), if any. */
export function lastAcmeProblem(): AcmeProblem | undefined {
  return calls.getStore()?.problems.at(-1);
}

/**
 * Whether the last request of the ACME work in progress got no answer at all (refused, reset, timed out),
 * with no problem document after it: the failure in hand is the CA's silence, not its verdict.
 */
export function lastRequestUnanswered(): boolean {
  return calls.getStore()?.network !== undefined;
}

/** Runs ACME work, converting failures into classified errors a technician can act on. */
export async function withAcmeProblems<T>(action: string, work: () => Promise<T>): Promise<T> {
  install();
  const seen: CallRecord = { problems: [] };
  try {
    return await calls.run(seen, work);
  } catch (error) {
    throw classifyAcmeError(error, seen.problems.at(-1), action, seen.network);
  }
}

const RATE_LIMIT_MAX_DELAY_MS = 3 * 3600_000;

/**
 * acme-client's `waitForValidStatus` gives up with exactly this message when its last poll still saw
 * `pending` or `processing` (node_modules/acme-client/src/client.js, `waitForValidStatus`: the
 * `pendingStates` branch); an `invalid` status throws the CA's problem instead.
 */
const STILL_PENDING_MESSAGE = 'Operation is pending or processing';

/** Whether ACME work gave up because the CA had not finished (its last answer was pending or processing). */
export function stillPending(error: unknown): boolean {
  return error instanceof Error && error.message === STILL_PENDING_MESSAGE;
}

export function classifyAcmeError(
  error: unknown,
  problem: AcmeProblem | undefined,
  action: string,
  network?: AcmeNetworkFailure,
): ClassifiedError {
  if (error instanceof ClassifiedError) return error;
  // Before any earlier problem of the same work (a badNonce acme-client retried): the last answer was "not yet".
  if (stillPending(error)) {
    return classified(
      FailureType.acmePending,
      `acme: ${action}: the CA has not finished yet (still pending or processing after this attempt's status polls); asking again`,
    );
  }
  const message = error instanceof Error ? error.message : String(error);
  if (network) {
    return classified(
      FailureType.acmeUnavailable,
      `acme: ${action}: cannot reach the CA: ${transportFailureText(network)}`,
    );
  }
  if (problem) {
    const shortType = problem.type.replace('urn:ietf:params:acme:error:', '');
    const text = `acme: ${action}: ${shortType}: ${problem.detail || message}`;
    if (shortType === 'rateLimited' || problem.status === 429) {
      const delay = Math.min(RATE_LIMIT_MAX_DELAY_MS, (problem.retryAfterSeconds ?? 60) * 1000);
      return classified(FailureType.acmeRateLimited, `${text} (retrying after ${Math.round(delay / 1000)}s)`, delay);
    }
    if (problem.status >= 500 || shortType === 'serverInternal' || shortType === 'badNonce') {
      return classified(FailureType.acmeUnavailable, text);
    }
    return classified(FailureType.acmeRejected, text);
  }
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  if (typeof code === 'string' && /^(E[A-Z]+|ERR_)/.test(code)) {
    return classified(
      FailureType.acmeUnavailable,
      `acme: ${action}: cannot reach the CA: ${transportFailureText(error)}`,
    );
  }
  return classified(FailureType.acmeUnavailable, `acme: ${action}: ${message}`);
}
