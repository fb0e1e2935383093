/**
 * The words a technician should read from an activity or child workflow failure: the innermost
 * message (the activity's own "component: …" text), not Temporal's "Activity task failed" wrapper.
 * Plain data access, no Temporal import.
 */
export function failureMessage(error: unknown): string {
  let current: unknown = error;
  let message = error instanceof Error ? error.message : String(error);
  while (current instanceof Error) {
    if (current.message) message = current.message;
    current = (current as { cause?: unknown }).cause;
  }
  return message;
}
