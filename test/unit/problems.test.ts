import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classifyAcmeError, withAcmeProblems, type AcmeProblem } from '../../activities/acme/problems';
import { classified, ClassifiedError } from '../../activities/errors';
import { FailureType, NON_RETRYABLE_FAILURES } from '../../temporal/contract';

const ERR = 'urn:ietf:params:acme:error:';
const problem = (status: number, type: string, detail: string, retryAfterSeconds?: number): AcmeProblem => ({
  status,
  type: ERR + type,
  detail,
  ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
});

describe('classifyAcmeError', () => {
  it("a request that got no answer is named, not acme-client's TypeError about it", () => {
    const e = classifyAcmeError(
      new TypeError("Cannot read properties of undefined (reading 'config')"),
      undefined,
      'finalize',
      { code: 'ECONNABORTED', message: 'timeout of 60000ms exceeded' },
    );
    assert.equal(e.type, FailureType.acmeUnavailable);
    assert.equal(
      e.message,
      'acme: finalize: cannot reach the CA: timed out (ECONNABORTED: timeout of 60000ms exceeded)',
    );
  });
  it('rateLimited: ACME_RATE_LIMITED with the delay from Retry-After', () => {
    const e = classifyAcmeError(
      new Error('Request failed'),
      problem(429, 'rateLimited', 'too many certificates', 120),
      'create order',
    );
    assert.equal(e.type, FailureType.acmeRateLimited);
    assert.equal(e.retryAfterMs, 120_000);
    assert.equal(e.message, 'acme: create order: rateLimited: too many certificates (retrying after 120s)');
  });

  it('rateLimited without Retry-After waits 60 s; a huge Retry-After is capped at 3 h', () => {
    assert.equal(classifyAcmeError(new Error('x'), problem(429, 'rateLimited', 'slow down'), 'a').retryAfterMs, 60_000);
    assert.equal(
      classifyAcmeError(new Error('x'), problem(429, 'rateLimited', 'slow down', 86_400), 'a').retryAfterMs,
      3 * 3600_000,
    );
  });

  it('a 429 with another problem type is still a rate limit', () => {
    const e = classifyAcmeError(
      new Error('x'),
      { status: 429, type: 'about:blank', detail: 'busy', retryAfterSeconds: 5 },
      'a',
    );
    assert.equal(e.type, FailureType.acmeRateLimited);
    assert.equal(e.retryAfterMs, 5_000);
  });

  it('a rateLimited type with a non-429 status is still a rate limit', () => {
    assert.equal(
      classifyAcmeError(new Error('x'), problem(403, 'rateLimited', 'r'), 'a').type,
      FailureType.acmeRateLimited,
    );
  });

  it('5xx, serverInternal and badNonce: ACME_UNAVAILABLE (retryable)', () => {
    for (const p of [
      problem(503, 'serverInternal', 'down'),
      problem(500, 'malformed', 'odd'),
      problem(400, 'badNonce', 'stale nonce'),
      problem(400, 'serverInternal', 'x'),
    ]) {
      const e = classifyAcmeError(new Error('x'), p, 'finalize');
      assert.equal(e.type, FailureType.acmeUnavailable, p.type);
      assert.equal(e.retryAfterMs, undefined);
    }
  });

  it('4xx problems: ACME_REJECTED with the short type and detail', () => {
    const e = classifyAcmeError(
      new Error('Request failed with status code 400'),
      problem(400, 'rejectedIdentifier', 'policy forbids issuing for name'),
      'create order',
    );
    assert.equal(e.type, FailureType.acmeRejected);
    assert.equal(e.message, 'acme: create order: rejectedIdentifier: policy forbids issuing for name');
    for (const type of ['unauthorized', 'caa', 'malformed', 'badCSR', 'externalAccountRequired']) {
      assert.equal(
        classifyAcmeError(new Error('x'), problem(403, type, 'd'), 'a').type,
        FailureType.acmeRejected,
        type,
      );
    }
  });

  it('a problem without detail falls back to the error message', () => {
    const e = classifyAcmeError(new Error('the thrown message'), problem(400, 'malformed', ''), 'a');
    assert.equal(e.message, 'acme: a: malformed: the thrown message');
  });

  it('network error codes: ACME_UNAVAILABLE naming the cause in words, then the code', () => {
    const words: Record<string, string> = {
      ECONNREFUSED: 'connection refused',
      ETIMEDOUT: 'timed out',
      ENOTFOUND: 'host name not found',
      ECONNRESET: 'connection reset',
      ERR_TLS_CERT_ALTNAME_INVALID: 'TLS certificate not trusted \\(its name does not match the host\\)',
    };
    for (const [code, text] of Object.entries(words)) {
      const error = Object.assign(new Error(`connect ${code} 127.0.0.1:14000`), { code });
      const e = classifyAcmeError(error, undefined, 'get directory');
      assert.equal(e.type, FailureType.acmeUnavailable, code);
      assert.match(e.message, new RegExp(`^acme: get directory: cannot reach the CA: ${text} \\(${code}: `));
    }
  });

  it('anything else is ACME_UNAVAILABLE with the message', () => {
    assert.equal(classifyAcmeError(new Error('weird'), undefined, 'a').message, 'acme: a: weird');
    assert.equal(classifyAcmeError('a string', undefined, 'a').type, FailureType.acmeUnavailable);
    assert.equal(
      classifyAcmeError(Object.assign(new Error('x'), { code: 42 }), undefined, 'a').type,
      FailureType.acmeUnavailable,
    );
  });

  it("still pending or processing after the polls: the retryable ACME_PENDING, not the CA's verdict nor an outage", () => {
    // acme-client's waitForValidStatus ends with this message when its last poll saw pending or processing.
    const e = classifyAcmeError(
      new Error('Operation is pending or processing'),
      problem(400, 'badNonce', 'an earlier request of the same work, retried by acme-client'),
      'validate a.example',
    );
    assert.equal(e.type, FailureType.acmePending);
    assert.ok(!NON_RETRYABLE_FAILURES.includes(e.type), 'the activity asks again');
    assert.match(e.message, /^acme: validate a\.example: the CA has not finished yet/);
  });

  it('an already classified error passes through unchanged', () => {
    const original = classified(FailureType.dnsAuth, 'cloudflare: nope');
    assert.equal(classifyAcmeError(original, problem(500, 'serverInternal', 'x'), 'a'), original);
  });

  it('a thrown undefined or null is classified too (not a TypeError)', () => {
    // Regression guard (was a bug: activities/acme/problems.ts, classifyAcmeError: `(error as { code?: unknown }).code`):
    // reading .code of undefined/null throws a TypeError instead of returning a ClassifiedError.
    for (const thrown of [undefined, null]) {
      let result: unknown;
      try {
        result = classifyAcmeError(thrown, undefined, 'a');
      } catch (error) {
        result = error;
      }
      assert.ok(
        result instanceof ClassifiedError,
        `problems.ts classifyAcmeError(${String(thrown)}) threw ${String(result)} instead of returning a ClassifiedError`,
      );
    }
  });
});

describe('withAcmeProblems', () => {
  it('returns the result of successful work', async () => {
    assert.equal(await withAcmeProblems('a', async () => 7), 7);
  });

  it('classifies a failure of the work', async () => {
    const error = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    await assert.rejects(
      withAcmeProblems('create account', async () => {
        throw error;
      }),
      (e: unknown) =>
        e instanceof ClassifiedError &&
        e.type === FailureType.acmeUnavailable &&
        /create account: cannot reach the CA/.test(e.message),
    );
  });
});
