/**
 * bench/go-gc-trace.ts reads the Go collector's trace lines as Go 1.2x prints them (runtime/mgc.go,
 * gcMarkTermination); a line of the recorded trace of a production-topology run is the sample.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseGcTrace, summarize } from '../../bench/go-gc-trace';

const TRACE = [
  '1796669980865 gc 1 @0.021s 0%: 1.2+4.8+0.005 ms clock, 2.5+0/0.48/0.92+0.010 ms cpu, 0->1->0 MB, 1 MB goal, 0 MB stacks, 0 MB globals, 2 P',
  'some other line of the server',
  '1796669981865 gc 2 @1.036s 1%: 0.45+2.6+0.003 ms clock, 0.90+0.25/0.27/1.4+0.006 ms cpu, 45->46->23 MB, 47 MB goal, 0 MB stacks, 0 MB globals, 2 P (forced)',
].join('\n');

describe('bench/go-gc-trace', () => {
  it('reads each collection: time, number, CPU of all its parts, live heap after it, goal', () => {
    const [first, second, third] = parseGcTrace(TRACE);
    assert.equal(third, undefined, 'the line that is not a collection is skipped');
    assert.deepEqual(first && { ...first, cpuMs: Number(first.cpuMs.toFixed(3)) }, {
      atMs: 1796669980865,
      n: 1,
      cpuMs: 3.91,
      liveMb: 0,
      goalMb: 1,
    });
    assert.equal(second?.n, 2);
    assert.equal(second?.cpuMs.toFixed(3), '2.826');
    assert.equal(second?.liveMb, 23);
    assert.equal(second?.goalMb, 47);
  });

  it('summarizes collections over a span: count, rate, collector CPU as a share of one core', () => {
    const line = summarize('window', parseGcTrace(TRACE), 60_000);
    assert.match(line, /^window: 2 collections in 60 s \(2\.0 a minute\), collector CPU 0\.0 s \(0\.0 % of one core\)/);
    assert.match(line, /median 12 \/ max 23 MB, goal max 47 MB$/);
    assert.equal(summarize('none', [], 1_000), 'none: no collection');
  });
});
