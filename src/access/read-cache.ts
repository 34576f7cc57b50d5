/**
 * A small per-process cache for rows the read path needs on every request but that change rarely
 * and only through the service's own writes (authority rules, sharing grants). A write through
 * the service invalidates its entry at once (and again once its transaction has committed); a
 * change made behind the service (another process, a manual UPDATE) is seen within maxAgeMs.
 */
export class ReadCache<K, V> {
  private entries = new Map<K, { at: number; value: Promise<V> }>()

  constructor(private readonly maxAgeMs: number) {}

  get(key: K, load: () => Promise<V>): Promise<V> {
    const now = Date.now()
    const hit = this.entries.get(key)
    if (hit && now - hit.at < this.maxAgeMs) return hit.value
    const value = load()
    this.entries.set(key, { at: now, value })
    // A failed load is not remembered.
    value.catch(() => {
      if (this.entries.get(key)?.value === value) this.entries.delete(key)
    })
    return value
  }

  /** Forgets everything; with a transaction, also once it has finished (a reader may have re-cached the old rows meanwhile). */
  invalidate(trx?: { executionPromise?: Promise<unknown> }): void {
    this.entries.clear()
    trx?.executionPromise?.then(
      () => this.entries.clear(),
      () => this.entries.clear(),
    )
  }
}

/** How long a change made behind the service may go unseen by the read path. */
export const READ_CACHE_MAX_AGE_MS = 5000
