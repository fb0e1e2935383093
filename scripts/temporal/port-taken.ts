/**
 * A server started on a port that was free when chosen can lose it to another process before it binds
 * it ("bind: address already in use"). Both the demo's Temporal UI and the tests' Temporal server start
 * again on fresh ports then: this is that loop, once.
 */

/** The start failed because a port was taken ("address already in use" in its message). */
export function portTaken(error: unknown): boolean {
  return error instanceof Error && /address already in use/.test(error.message);
}

/**
 * Runs `start`; when it fails as `lostPort` says, runs `choosePorts` and starts again, up to `attempts`
 * starts in all. Any other failure, or the last one, is thrown as it is.
 */
export async function startAgainWhenPortTaken<T>(
  start: () => Promise<T>,
  choosePorts: () => Promise<void>,
  lostPort: (error: unknown) => boolean = portTaken,
  attempts = 3,
): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await start();
    } catch (error) {
      if (attempt >= attempts || !lostPort(error)) throw error;
      await choosePorts();
    }
  }
}
