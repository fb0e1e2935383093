/**
 * A per-process cache of at most `maxSize` entries, least recently used first out, each kept at most
 * `ttlMs` after it was stored. `onEvict` releases what an entry holds (sockets, for instance).
 */
export class BoundedCache<V> {
  private readonly entries = new Map<string, { value: V; storedAt: number }>();

  constructor(
    private readonly maxSize: number,
    private readonly ttlMs = Number.POSITIVE_INFINITY,
    private readonly onEvict?: (value: V) => void,
  ) {}

  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    if (Date.now() - entry.storedAt >= this.ttlMs) {
      this.onEvict?.(entry.value);
      return undefined;
    }
    this.entries.set(key, entry);
    return entry.value;
  }

  set(key: string, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, { value, storedAt: Date.now() });
    for (const [oldKey, old] of this.entries) {
      if (this.entries.size <= this.maxSize) break;
      this.entries.delete(oldKey);
      this.onEvict?.(old.value);
    }
  }
}
