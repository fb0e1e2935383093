import { AsyncLocalStorage } from 'node:async_hooks';
import { Agent } from 'node:https';
import { createSecureContext, rootCertificates } from 'node:tls';
import * as acme from 'acme-client';
import { FailureType } from '../../temporal/contract';
import { classified, ClassifiedError } from '../errors';

/** An RFC 8555 problem document seen on the wire during one activity call. */
export interface AcmeProblem {
  status: number;
  type: string;
  detail: string;
  retryAfterSeconds?: number;
}

const problems = new AsyncLocalStorage<AcmeProblem[]>();
const agents = new Map<string, { caBundlePem: string; agent: Agent }>();
let installed = false;

function parseRetryAfter(value: unknown): number | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.round((date - Date.now()) / 1000));
}

/** Longer than any answer a CA gives (Let's Encrypt answers within seconds); shorter than the activity timeouts. */
const ACME_REQUEST_TIMEOUT_MS = 60_000;

/**
 * Installs, once per process, two interceptors on acme-client's axios instance:
 * - requests to a directory with its own CA bundle use an HTTPS agent trusting the system roots plus that bundle
 *   (scoped per origin; TLS verification is never turned off);
 * - problem documents are recorded for the activity call in progress, so errors can be classified.
 */
function install(): void {
  if (installed) return;
  installed = true;
  // No request to the CA waits forever: a connection that never answers is given up (and its socket
  // destroyed) so the activity retries, instead of holding a kept-alive socket until the worker restarts.
  acme.axios.defaults.timeout = ACME_REQUEST_TIMEOUT_MS;
  acme.axios.interceptors.request.use((config) => {
    const origin = config.url ? new URL(config.url, config.baseURL).origin : undefined;
    const trusted = origin ? agents.get(origin) : undefined;
    if (trusted) config.httpsAgent = trusted.agent;
    return config;
  });
  acme.axios.interceptors.response.use((response) => {
    const data = response.data as { type?: unknown; detail?: unknown } | undefined;
    if (response.status >= 400 && data && typeof data.type === 'string') {
      const retryAfterSeconds = parseRetryAfter(response.headers['retry-after']);
      problems.getStore()?.push({
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

/** Runs ACME work, converting failures into classified errors a technician can act on. */
export async function withAcmeProblems<T>(action: string, work: () => Promise<T>): Promise<T> {
  install();
  const seen: AcmeProblem[] = [];
  try {
    return await problems.run(seen, work);
  } catch (error) {
    throw classifyAcmeError(error, seen.at(-1), action);
  }
}

const RATE_LIMIT_MAX_DELAY_MS = 3 * 3600_000;

export function classifyAcmeError(error: unknown, problem: AcmeProblem | undefined, action: string): ClassifiedError {
  if (error instanceof ClassifiedError) return error;
  const message = error instanceof Error ? error.message : String(error);
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
    return classified(FailureType.acmeUnavailable, `acme: ${action}: cannot reach the CA (${code}: ${message})`);
  }
  return classified(FailureType.acmeUnavailable, `acme: ${action}: ${message}`);
}
