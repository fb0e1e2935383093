/** Pure bookkeeping for the progress query: which step runs, each step's status and timing. */
import {
  LIFECYCLE_STEPS,
  type LifecycleProgress,
  type LifecycleStep,
  type LifecycleTrigger,
  type StepStatus,
} from '../../temporal/contract';

export function newProgress(certificateId: string, trigger: LifecycleTrigger): LifecycleProgress {
  return { certificateId, trigger, steps: LIFECYCLE_STEPS.map((step) => ({ step, status: 'pending' })) };
}

function stateOf(progress: LifecycleProgress, step: LifecycleStep) {
  const state = progress.steps.find((s) => s.step === step);
  if (!state) throw new Error(`unknown step ${step}`);
  return state;
}

export function startStep(progress: LifecycleProgress, step: LifecycleStep, now: Date): void {
  const state = stateOf(progress, step);
  state.status = 'running';
  state.startedAt = now.toISOString();
  delete state.endedAt;
  delete state.error;
  progress.current = step;
}

export function endStep(
  progress: LifecycleProgress,
  step: LifecycleStep,
  status: Exclude<StepStatus, 'pending' | 'running'>,
  now: Date,
  error?: string,
): void {
  const state = stateOf(progress, step);
  state.status = status;
  state.endedAt = now.toISOString();
  if (error !== undefined) {
    state.error = error;
    progress.lastError = error;
  }
}

/** Marks every step that never started as skipped (a run that ended early). */
export function skipRemaining(progress: LifecycleProgress): void {
  for (const state of progress.steps) if (state.status === 'pending') state.status = 'skipped';
}

/** A step that never ran after all (a start that was refused): skipped, without timings. */
export function skipStep(progress: LifecycleProgress, step: LifecycleStep): void {
  const state = stateOf(progress, step);
  state.status = 'skipped';
  delete state.startedAt;
  delete state.endedAt;
  if (progress.current === step) delete progress.current;
}

/**
 * A moment an activity reported (e.g. when it published the TXT record), kept between the step's
 * start and `now`: the activity's clock and the workflow's may differ a little.
 */
export function momentWithin(reported: string, from: Date, now: Date): Date {
  const at = Date.parse(reported);
  if (Number.isNaN(at)) return now;
  return new Date(Math.min(now.getTime(), Math.max(from.getTime(), at)));
}

/**
 * The step a composite activity's failure names (activities/step-failure.ts: `step` in the failure's
 * details[0]); undefined when it names none.
 */
export function failedStepOf(details: readonly unknown[] | undefined): LifecycleStep | undefined {
  const step = (details?.[0] as { step?: unknown } | undefined)?.step;
  return typeof step === 'string' && (LIFECYCLE_STEPS as readonly string[]).includes(step)
    ? (step as LifecycleStep)
    : undefined;
}

/**
 * A composite activity covering `first` then `second` failed: the failure goes on `second` when it names
 * that step (`first` then ended done), else on `first`.
 */
export function failComposite(
  progress: LifecycleProgress,
  steps: { first: LifecycleStep; second: LifecycleStep; failed: LifecycleStep | undefined },
  message: string,
  now: Date,
): void {
  if (steps.failed !== steps.second) return endStep(progress, steps.first, 'failed', now, message);
  endStep(progress, steps.first, 'done', now);
  startStep(progress, steps.second, now);
  endStep(progress, steps.second, 'failed', now, message);
}
