import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LIFECYCLE_STEPS, type LifecycleProgress, type LifecycleStep } from '../../temporal/contract';
import * as steps from '../../workflows/lib/progress';

const t1 = new Date('2025-05-01T10:00:00.000Z');
const t2 = new Date('2025-05-01T10:00:05.000Z');
const t3 = new Date('2025-05-01T10:01:00.000Z');

const stateOf = (p: LifecycleProgress, step: LifecycleStep) => {
  const s = p.steps.find((x) => x.step === step);
  assert.ok(s, `step ${step} missing`);
  return s;
};

describe('progress bookkeeping', () => {
  it('newProgress lists every lifecycle step once, in order, all pending', () => {
    const p = steps.newProgress('42', 'manual');
    assert.equal(p.certificateId, '42');
    assert.equal(p.trigger, 'manual');
    assert.deepEqual(
      p.steps.map((s) => s.step),
      [...LIFECYCLE_STEPS],
    );
    assert.ok(p.steps.every((s) => s.status === 'pending'));
    assert.equal(p.current, undefined);
    assert.equal(p.lastError, undefined);
  });

  it('newProgress returns independent objects', () => {
    const a = steps.newProgress('1', 'create');
    const b = steps.newProgress('1', 'create');
    steps.startStep(a, 'check', t1);
    assert.equal(stateOf(b, 'check').status, 'pending');
  });

  it('startStep marks the step running and current, with its start time', () => {
    const p = steps.newProgress('1', 'schedule');
    steps.startStep(p, 'order', t1);
    assert.equal(p.current, 'order');
    assert.deepEqual(stateOf(p, 'order'), { step: 'order', status: 'running', startedAt: t1.toISOString() });
    assert.equal(stateOf(p, 'check').status, 'pending');
  });

  it('endStep records the outcome and end time; an error becomes lastError', () => {
    const p = steps.newProgress('1', 'create');
    steps.startStep(p, 'check', t1);
    steps.endStep(p, 'check', 'done', t2);
    assert.deepEqual(stateOf(p, 'check'), {
      step: 'check',
      status: 'done',
      startedAt: t1.toISOString(),
      endedAt: t2.toISOString(),
    });
    assert.equal(p.lastError, undefined);

    steps.startStep(p, 'propagate', t2);
    steps.endStep(p, 'propagate', 'failed', t3, 'dns: TXT not visible');
    assert.equal(stateOf(p, 'propagate').status, 'failed');
    assert.equal(stateOf(p, 'propagate').error, 'dns: TXT not visible');
    assert.equal(stateOf(p, 'propagate').endedAt, t3.toISOString());
    assert.equal(p.lastError, 'dns: TXT not visible');
  });

  /** A create run whose `step` ran from t1 and failed at t2 with `error`. */
  const failedAtT2 = (step: LifecycleStep, error: string): LifecycleProgress => {
    const p = steps.newProgress('1', 'create');
    steps.startStep(p, step, t1);
    steps.endStep(p, step, 'failed', t2, error);
    return p;
  };

  it('a later successful step does not erase lastError', () => {
    const p = failedAtT2('present', 'cloudflare: boom');
    steps.startStep(p, 'cleanup', t2);
    steps.endStep(p, 'cleanup', 'done', t3);
    assert.equal(p.lastError, 'cloudflare: boom');
  });

  it('restarting a failed step (retry) clears its end time and error', () => {
    const p = failedAtT2('validate', 'first try failed');
    steps.startStep(p, 'validate', t3);
    assert.deepEqual(stateOf(p, 'validate'), { step: 'validate', status: 'running', startedAt: t3.toISOString() });
    assert.equal(p.current, 'validate');
  });

  it('skipRemaining marks only never-started steps as skipped', () => {
    const p = steps.newProgress('1', 'create');
    steps.startStep(p, 'check', t1);
    steps.endStep(p, 'check', 'done', t2);
    steps.startStep(p, 'order', t2);
    steps.endStep(p, 'order', 'failed', t3, 'acme: rejected');
    steps.skipRemaining(p);
    assert.equal(stateOf(p, 'check').status, 'done');
    assert.equal(stateOf(p, 'order').status, 'failed');
    for (const step of LIFECYCLE_STEPS.slice(2)) assert.equal(stateOf(p, step).status, 'skipped', step);
  });

  it('skipRemaining leaves a running step alone', () => {
    const p = steps.newProgress('1', 'create');
    steps.startStep(p, 'notify', t1);
    steps.skipRemaining(p);
    assert.equal(stateOf(p, 'notify').status, 'running');
  });

  it('the progress object survives a JSON round trip (it is a query result)', () => {
    const p = steps.newProgress('7', 'manual');
    steps.startStep(p, 'check', t1);
    steps.endStep(p, 'check', 'skipped', t2);
    assert.deepEqual(JSON.parse(JSON.stringify(p)), p);
  });

  it('an unknown step throws', () => {
    const p = steps.newProgress('1', 'create');
    assert.throws(() => steps.startStep(p, 'bogus' as LifecycleStep, t1), /unknown step bogus/);
    assert.throws(() => steps.endStep(p, 'bogus' as LifecycleStep, 'done', t1), /unknown step bogus/);
  });

  it('momentWithin keeps a reported moment between the step start and now (clocks may differ a little)', () => {
    assert.equal(steps.momentWithin(t2.toISOString(), t1, t3).toISOString(), t2.toISOString());
    assert.equal(steps.momentWithin('2025-05-01T09:59:59.000Z', t1, t3).toISOString(), t1.toISOString());
    assert.equal(steps.momentWithin('2025-05-01T10:05:00.000Z', t1, t3).toISOString(), t3.toISOString());
    assert.equal(steps.momentWithin('not a time', t1, t3).toISOString(), t3.toISOString());
  });

  it('failedStepOf reads the step a composite activity names in its failure details, and nothing else', () => {
    assert.equal(steps.failedStepOf([{ step: 'finalize', retryAfterMs: 5 }]), 'finalize');
    assert.equal(steps.failedStepOf([{ step: 'bogus' }]), undefined);
    assert.equal(steps.failedStepOf([{ retryAfterMs: 5 }]), undefined);
    assert.equal(steps.failedStepOf([]), undefined);
    assert.equal(steps.failedStepOf(undefined), undefined);
  });

  it('skipStep marks a started step skipped, without timings, and not current', () => {
    const p = steps.newProgress('1', 'manual');
    steps.startStep(p, 'check', t1);
    steps.skipStep(p, 'check');
    assert.deepEqual(stateOf(p, 'check'), { step: 'check', status: 'skipped' });
    assert.equal(p.current, undefined);
  });

  it('failComposite puts the failure on the step it names: the second (the first then done), else the first', () => {
    const second = steps.newProgress('1', 'manual');
    steps.startStep(second, 'validate', t1);
    steps.failComposite(second, { first: 'validate', second: 'finalize', failed: 'finalize' }, 'boom', t2);
    assert.equal(stateOf(second, 'validate').status, 'done');
    assert.equal(stateOf(second, 'finalize').status, 'failed');
    assert.equal(stateOf(second, 'finalize').error, 'boom');

    for (const failed of ['validate', undefined] as const) {
      const first = steps.newProgress('1', 'manual');
      steps.startStep(first, 'validate', t1);
      steps.failComposite(first, { first: 'validate', second: 'finalize', failed }, 'boom', t2);
      assert.equal(stateOf(first, 'validate').status, 'failed');
      assert.equal(stateOf(first, 'validate').error, 'boom');
      assert.equal(stateOf(first, 'finalize').status, 'pending');
    }
  });
});
