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
