/** The demo's printed guide says what happened, and nothing more. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeDeploymentStatus } from '../../scripts/demo';

describe('demo guide: deployment lines', () => {
  it('"Mark done" on a manual target claims no TLS handshake; a pushed deploy does say it was verified', () => {
    const manual = describeDeploymentStatus({ vendor: 'manual', status: 'deployed', last_error: null });
    assert.doesNotMatch(manual, /handshake|verified/i);
    assert.match(manual, /marked done/);
    assert.match(
      describeDeploymentStatus({ vendor: 'fortigate', status: 'deployed', last_error: null }),
      /verified by a TLS handshake/,
    );
    assert.match(describeDeploymentStatus({ vendor: 'manual', status: 'ready', last_error: null }), /Mark done/);
    assert.equal(
      describeDeploymentStatus({
        vendor: 'panos',
        status: 'failed',
        last_error: 'panos: cannot reach x: connection refused',
      }),
      'FAILED: panos: cannot reach x: connection refused',
    );
  });
});
