/** Runs a piece of work with something that must be closed afterwards (a deployer, a fake device), and always closes it. */

/** Anything with an asynchronous `close()`: deployers and the fake devices. */
export interface Closable {
  close(): Promise<void>;
}

/** Awaits `opening`, runs `work` with what it gives, and closes it whether `work` succeeds or throws. */
export async function closing<R extends Closable, T>(
  opening: R | Promise<R>,
  work: (resource: R) => Promise<T>,
): Promise<T> {
  const resource = await opening;
  try {
    return await work(resource);
  } finally {
    await resource.close();
  }
}
