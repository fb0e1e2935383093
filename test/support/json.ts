/** A response body parsed as JSON, or undefined when it is not JSON (an HTML page, a PEM download). */
export function jsonOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
