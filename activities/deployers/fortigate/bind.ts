/**
 * Binding changes, all or nothing: every slot is read (and refused with a clear message where the
 * firmware does not offer it) before anything changes; then each slot is written, the admin GUI last
 * (its listener restarts); when a write fails, the slots already changed are put back before throwing.
 */
import { FailureType } from '../../../temporal/contract';
import { classified, ClassifiedError } from '../../errors';
import type { ActivateHooks, BindingState } from '../types';
import type { BindingSlot, SlotReading } from './binding-slots';
import { COMPONENT, expectOk } from './failures';

export interface WantedBinding {
  slot: BindingSlot;
  /** The certificate to bind. */
  certificate: string;
}

/** Applies `wanted`; returns the previous state of every slot (its key → the certificate bound before, '' for none). */
export async function bind(wanted: WantedBinding[], hooks?: ActivateHooks): Promise<BindingState> {
  const readings: { want: WantedBinding; reading: SlotReading }[] = [];
  for (const want of wanted) readings.push({ want, reading: await want.slot.read() });
  const refused = readings.filter(({ reading }) => reading.problem !== undefined || !reading.offered);
  if (refused.length > 0) {
    const reasons = refused.map(
      ({ want, reading }) => reading.problem ?? `${want.slot.label} is not available on this FortiGate`,
    );
    throw classified(
      FailureType.targetRejected,
      `${COMPONENT}: ${reasons.join(' ')}${readings.length > refused.length ? ' Nothing was changed.' : ''}`,
    );
  }

  const previous: BindingState = {};
  for (const { want, reading } of readings) previous[want.slot.key] = reading.current;
  await hooks?.beforeChange?.(previous);

  const ordered = [
    ...readings.filter(({ want }) => !want.slot.restartsListener),
    ...readings.filter(({ want }) => want.slot.restartsListener),
  ];
  const undo: { what: string; run: () => Promise<unknown> }[] = [];
  try {
    for (const { want, reading } of ordered) {
      const { slot, certificate } = want;
      const old = reading.current;
      if (old === certificate) continue;
      const put = (name: string): Promise<unknown> =>
        expectOk(slot.write(name, reading), `bind ${name} to the ${slot.label}`, 'bind');
      if (!slot.restartsListener) {
        await put(certificate);
        if (old) undo.push({ what: `${slot.label} back to ${old}`, run: () => put(old) });
        continue;
      }
      try {
        await put(certificate);
      } catch (error) {
        // The PUT may have been applied before the admin listener restarted: check, and revert if so.
        if (old) {
          undo.push({
            what: `${slot.label} back to ${old}`,
            run: async () => {
              if ((await slot.read()).current === certificate) await put(old);
            },
          });
        }
        throw error;
      }
    }
  } catch (error) {
    const failed: string[] = [];
    for (const step of undo.reverse()) {
      try {
        await step.run();
      } catch (undoError) {
        failed.push(`${step.what}: ${undoError instanceof Error ? undoError.message : String(undoError)}`);
      }
    }
    if (failed.length > 0 && error instanceof ClassifiedError) {
      throw classified(
        error.type,
        `${error.message}; restoring the previous binding failed too (${failed.join('; ')})`,
        error.retryAfterMs,
      );
    }
    throw error;
  }
  return previous;
}
