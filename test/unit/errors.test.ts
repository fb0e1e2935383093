import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { classified, ClassifiedError, toApplicationFailure } from '../../activities/errors';
import { FailureType, NON_RETRYABLE_FAILURES } from '../../temporal/contract';

function asFailure(value: unknown): ApplicationFailure {
  assert.ok(value instanceof ApplicationFailure, `expected an ApplicationFailure, got ${String(value)}`);
  return value;
}

describe('ClassifiedError', () => {
  it('carries type, message and retry delay', () => {
    const e = classified(FailureType.dnsAuth, 'cloudflare: token rejected', 5_000);
    assert.ok(e instanceof ClassifiedError);
    assert.ok(e instanceof Error);
    assert.equal(e.name, 'ClassifiedError');
    assert.equal(e.type, 'DNS_AUTH_FAILED');
    assert.equal(e.message, 'cloudflare: token rejected');
    assert.equal(e.retryAfterMs, 5_000);
  });
});

describe('toApplicationFailure', () => {
  it('non-retryable types become nonRetryable failures with the same type and message', () => {
    for (const type of NON_RETRYABLE_FAILURES) {
      const f = asFailure(toApplicationFailure(classified(type, `x: ${type}`)));
      assert.equal(f.type, type);
      assert.equal(f.message, `x: ${type}`);
      assert.equal(f.nonRetryable, true, type);
      assert.equal(f.nextRetryDelay, undefined);
    }
  });

  it('the other types stay retryable', () => {
    const retryable = Object.values(FailureType).filter((t) => !NON_RETRYABLE_FAILURES.includes(t));
    assert.deepEqual(
      new Set(retryable),
      new Set([
        'DNS_PROVIDER_UNAVAILABLE',
        'ACME_RATE_LIMITED',
        'ACME_UNAVAILABLE',
        'ACME_PENDING',
        'EMAIL_FAILED',
        'TARGET_UNREACHABLE',
        'DEVICE_SESSION_BUSY',
        'TARGET_VERIFY_MISMATCH',
      ]),
    );
    for (const type of retryable) {
      const f = asFailure(toApplicationFailure(classified(type, 'transient')));
      assert.equal(f.type, type);
      assert.equal(f.nonRetryable, false, type);
    }
  });

  it('the important classifications', () => {
    assert.equal(asFailure(toApplicationFailure(classified(FailureType.dnsAuth, 'a'))).nonRetryable, true);
    assert.equal(asFailure(toApplicationFailure(classified(FailureType.propagationTimeout, 'a'))).nonRetryable, true);
    assert.equal(asFailure(toApplicationFailure(classified(FailureType.acmeRejected, 'a'))).nonRetryable, true);
    assert.equal(asFailure(toApplicationFailure(classified(FailureType.acmeUnavailable, 'a'))).nonRetryable, false);
    assert.equal(asFailure(toApplicationFailure(classified(FailureType.dnsUnavailable, 'a'))).nonRetryable, false);
  });

  it('ACME_RATE_LIMITED with retryAfterMs: retryable with nextRetryDelay', () => {
    const f = asFailure(toApplicationFailure(classified(FailureType.acmeRateLimited, 'acme: rateLimited', 120_000)));
    assert.equal(f.type, 'ACME_RATE_LIMITED');
    assert.equal(f.nonRetryable, false);
    assert.equal(f.nextRetryDelay, 120_000);
  });

  it('a zero delay is kept (not dropped as falsy)', () => {
    const f = asFailure(toApplicationFailure(classified(FailureType.acmeRateLimited, 'now', 0)));
    assert.equal(f.nextRetryDelay, 0);
  });

  it('other errors and values pass through unchanged', () => {
    const plain = new Error('boom');
    assert.equal(toApplicationFailure(plain), plain);
    const failure = ApplicationFailure.nonRetryable('already a failure', 'X');
    assert.equal(toApplicationFailure(failure), failure);
    assert.equal(toApplicationFailure('text'), 'text');
    assert.equal(toApplicationFailure(undefined), undefined);
  });
});
