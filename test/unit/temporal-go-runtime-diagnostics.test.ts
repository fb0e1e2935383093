/**
 * The Temporal server's Go runtime diagnostics of test/support/temporal-server.ts: off by default, and
 * a mistyped override fails the run instead of silently measuring the committed settings.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { goRuntimeDiagnostics } from '../support/temporal-server';

describe('goRuntimeDiagnostics', () => {
  it('changes nothing when neither variable is set', () => {
    assert.deepEqual(goRuntimeDiagnostics({}), {});
  });

  it('replaces the Go runtime settings named in TEMPORAL_GO_RUNTIME', () => {
    assert.deepEqual(goRuntimeDiagnostics({ TEMPORAL_GO_RUNTIME: ' GOMEMLIMIT=off  GOGC=100 ' }), {
      GOMEMLIMIT: 'off',
      GOGC: '100',
    });
  });

  it('turns on the collector trace when a trace file is named', () => {
    assert.deepEqual(goRuntimeDiagnostics({ TEMPORAL_GCTRACE_FILE: '/tmp/gc.log' }), { GODEBUG: 'gctrace=1' });
  });

  it('rejects a variable that is not a Go runtime setting, and a pair without a value', () => {
    assert.throws(() => goRuntimeDiagnostics({ TEMPORAL_GO_RUNTIME: 'GOMAXPROCS=1' }), /GOMAXPROCS=1/);
    assert.throws(() => goRuntimeDiagnostics({ TEMPORAL_GO_RUNTIME: 'GOGC' }), /not NAME=value/);
  });
});
