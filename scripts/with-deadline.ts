/**
 * A promise's outcome, or a rejection with `timeoutError()` once `ms` have passed (the work itself is
 * left to end on its own). For the scripts and benchmarks that wait on a process or a peer.
 */
export async function withDeadline<T>(work: Promise<T>, ms: number, timeoutError: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(timeoutError()), ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
