/**
 * Token buckets in memory, one per caller (principal id, or IP address for anonymous callers and
 * failed keys): `burst` requests at once, refilled at `perSecond`. One process holds its own
 * buckets; behind several replicas each enforces its share.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>()
  constructor(
    private readonly burst: number,
    private readonly perSecond: number,
    private readonly maxBuckets = 100_000,
  ) {}

  /** Seconds to wait before this caller has a token again (0 = it has one); takes nothing. */
  wait(caller: string, now = Date.now()): number {
    const b = this.buckets.get(caller)
    if (!b) return 0
    const tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.perSecond)
    return tokens >= 1 ? 0 : Math.max(1, Math.ceil((1 - tokens) / this.perSecond))
  }

  /** Takes one token; returns 0 when allowed, else the whole seconds to wait before retrying. */
  take(caller: string, now = Date.now()): number {
    const b = this.buckets.get(caller) ?? { tokens: this.burst, at: now }
    b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.perSecond)
    b.at = now
    if (!this.buckets.has(caller)) {
      // Full buckets carry no information: dropping them all bounds memory under a flood of IPs.
      if (this.buckets.size >= this.maxBuckets) this.buckets.clear()
      this.buckets.set(caller, b)
    }
    if (b.tokens >= 1) {
      b.tokens -= 1
      return 0
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / this.perSecond))
  }
}
