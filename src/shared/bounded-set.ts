/**
 * A set that remembers at most `capacity` keys, forgetting the least recently added or touched
 * one first (Map keeps insertion order). For skipping most repeats of a stream with flat memory.
 */
export class BoundedSet<T> {
  private readonly keys = new Map<T, true>()
  constructor(readonly capacity: number) {
    if (!(capacity >= 1)) throw new RangeError('capacity must be at least 1')
  }

  /** Adds the key; returns false when it was already remembered (and marks it recently used). */
  add(key: T): boolean {
    if (this.keys.has(key)) {
      this.keys.delete(key)
      this.keys.set(key, true)
      return false
    }
    this.keys.set(key, true)
    if (this.keys.size > this.capacity) this.keys.delete(this.keys.keys().next().value as T)
    return true
  }

  get size(): number {
    return this.keys.size
  }
}
