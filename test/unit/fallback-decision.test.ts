import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FailureType } from '../../temporal/contract';
import { fallsOver } from '../../workflows/lib/fallback';

const caCall = (type: string | undefined, timedOut = false) => ({ type, activityType: 'createAcmeOrder', timedOut });

describe('fallsOver: which failures move a run to the next ACME directory', () => {
  it('falls over when the CA is down, hangs or keeps refusing for its own reasons', () => {
    assert.equal(fallsOver(caCall(FailureType.acmeUnavailable)), true, 'refused, timed out, 5xx, serverInternal');
    assert.equal(fallsOver(caCall(FailureType.acmeRateLimited)), true, 'rateLimited past the deadline');
    assert.equal(fallsOver(caCall(undefined, true)), true, 'the fallback deadline passed while retrying');
    assert.equal(
      fallsOver({ type: FailureType.acmeUnavailable, activityType: 'finalizeAcmeOrder', timedOut: false }),
      true,
    );
  });
  it('does not fall over for our side or the customer DNS', () => {
    assert.equal(fallsOver(caCall(FailureType.acmeRejected)), false, 'a bad request fails at the next CA too');
    assert.equal(
      fallsOver({ type: FailureType.acmeValidationFailed, activityType: 'validateAcmeChallenge', timedOut: false }),
      false,
    );
    assert.equal(fallsOver({ type: FailureType.dnsAuth, activityType: 'checkDnsProvider', timedOut: false }), false);
    assert.equal(
      fallsOver({ type: undefined, activityType: 'waitForDnsPropagation', timedOut: true }),
      false,
      'a DNS wait that timed out is not the CA',
    );
    assert.equal(fallsOver({ type: FailureType.propagationTimeout, activityType: undefined, timedOut: false }), false);
  });
});
