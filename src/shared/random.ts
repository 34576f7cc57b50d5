/**
 * Small deterministic PRNG for reproducible demo data and tests (not for anything security related).
 * Core generator: sfc32 (Chris Doty-Humphrey's Small Fast Counting generator, 128-bit state),
 * seeded through a 32-bit string/number hash and splitmix32 so that nearby seeds give unrelated streams.
 */

export interface Rng {
  /** Uniform float in [0, 1). */
  next(): number
  /** Uniform 32-bit unsigned integer. */
  uint32(): number
  /** Uniform integer in [min, max] (both inclusive); returns min if max < min. */
  int(min: number, max: number): number
  /** Uniform float in [min, max). */
  float(min: number, max: number): number
  /** True with probability p (p <= 0 → always false, p >= 1 → always true). */
  chance(p: number): boolean
  /** Uniformly chosen element; throws RangeError on an empty array. */
  pick<T>(items: readonly T[]): T
  /** Element chosen with probability proportional to its weight; throws RangeError if no weight is positive. */
  weighted<T>(entries: ReadonlyArray<readonly [T, number]>): T
  /** New array with the items in random order (Fisher-Yates); the input is not modified. */
  shuffle<T>(items: readonly T[]): T[]
  /** Independent generator derived from this one's current state and a label; advances this generator once. */
  fork(label: string | number): Rng
}

/** 32-bit FNV-1a hash of a string; returns 0x811c9dc5 for the empty string. */
export function hashString(s: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

/** splitmix32 step: returns [output, nextState]; a bijective mixer, so distinct states give distinct outputs. */
function splitmix32(state: number): [number, number] {
  const next = (state + 0x9e3779b9) >>> 0
  let z = next
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b)
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35)
  z ^= z >>> 16
  return [z >>> 0, next]
}

/** Creates a seeded generator; the same seed (number or string) always yields the same sequence. */
export function createRng(seed: number | string): Rng {
  let s = typeof seed === 'string' ? hashString(seed) : (Math.trunc(seed) >>> 0) ^ hashString(String(seed))
  // biome-ignore lint/style/useConst: assigned by the destructuring below, together with s
  let a: number, b: number, c: number, d: number
  ;[a, s] = splitmix32(s)
  ;[b, s] = splitmix32(s)
  ;[c, s] = splitmix32(s)
  ;[d, s] = splitmix32(s)
  return fromState(a, b, c, d)
}

function fromState(a0: number, b0: number, c0: number, d0: number): Rng {
  let a = a0 >>> 0
  let b = b0 >>> 0
  let c = c0 >>> 0
  let d = d0 >>> 0

  const uint32 = (): number => {
    const t = (((a + b) >>> 0) + d) >>> 0
    d = (d + 1) >>> 0
    a = b ^ (b >>> 9)
    b = (c + (c << 3)) >>> 0
    c = ((c << 21) | (c >>> 11)) >>> 0
    c = (c + t) >>> 0
    return t
  }
  // Discard the first outputs so that weak seeds are mixed in.
  for (let i = 0; i < 12; i++) uint32()

  const next = (): number => uint32() / 4294967296

  const rng: Rng = {
    next,
    uint32,
    int(min, max) {
      const lo = Math.ceil(min)
      const hi = Math.floor(max)
      if (hi <= lo) return lo
      return lo + Math.floor(next() * (hi - lo + 1))
    },
    float(min, max) {
      return min + next() * (max - min)
    },
    chance(p) {
      if (p <= 0) return false
      if (p >= 1) return true
      return next() < p
    },
    pick(items) {
      if (items.length === 0) throw new RangeError('pick() from an empty array')
      return items[Math.floor(next() * items.length)]!
    },
    weighted(entries) {
      let total = 0
      for (const [, w] of entries) if (w > 0) total += w
      if (!(total > 0)) throw new RangeError('weighted() needs at least one positive weight')
      let r = next() * total
      let last: (typeof entries)[number] | undefined
      for (const e of entries) {
        if (!(e[1] > 0)) continue
        last = e
        r -= e[1]
        if (r < 0) return e[0]
      }
      return last![0] // floating-point remainder
    },
    shuffle(items) {
      const out = items.slice()
      for (let i = out.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1))
        const tmp = out[i]!
        out[i] = out[j]!
        out[j] = tmp
      }
      return out
    },
    fork(label) {
      let s = (uint32() ^ hashString(String(label))) >>> 0
      // biome-ignore lint/style/useConst: assigned by the destructuring below, together with s
      let w: number, x: number, y: number, z: number
      ;[w, s] = splitmix32(s)
      ;[x, s] = splitmix32(s)
      ;[y, s] = splitmix32(s)
      ;[z, s] = splitmix32(s)
      return fromState(w, x, y, z)
    },
  }
  return rng
}

/**
 * Precomputed cumulative table for repeated weighted picks from a fixed list (O(log n) per pick);
 * throws RangeError if no weight is positive.
 */
export function weightedTable<T>(entries: ReadonlyArray<readonly [T, number]>): (rng: Rng) => T {
  const values: T[] = []
  const cumulative: number[] = []
  let total = 0
  for (const [v, w] of entries) {
    if (!(w > 0)) continue
    total += w
    values.push(v)
    cumulative.push(total)
  }
  if (values.length === 0) throw new RangeError('weightedTable() needs at least one positive weight')
  return (rng: Rng) => {
    const r = rng.next() * total
    let lo = 0
    let hi = cumulative.length - 1
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (cumulative[mid]! > r) hi = mid
      else lo = mid + 1
    }
    return values[lo]!
  }
}
