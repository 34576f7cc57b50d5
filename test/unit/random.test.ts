import { describe, it, expect } from 'vitest'
import { createRng, hashString, weightedTable } from '../../src/shared/random.js'

describe('createRng', () => {
  it('is deterministic per seed', () => {
    const a = createRng(42)
    const b = createRng(42)
    const xs = Array.from({ length: 50 }, () => a.uint32())
    const ys = Array.from({ length: 50 }, () => b.uint32())
    expect(xs).toEqual(ys)
    expect(createRng('demo').next()).toBe(createRng('demo').next())
  })
  it('gives different streams for different seeds', () => {
    expect(createRng(1).uint32()).not.toBe(createRng(2).uint32())
    expect(createRng('a').uint32()).not.toBe(createRng('b').uint32())
  })
  it('produces values in range with a roughly uniform mean', () => {
    const r = createRng(7)
    let sum = 0
    for (let i = 0; i < 10000; i++) {
      const x = r.next()
      expect(x).toBeGreaterThanOrEqual(0)
      expect(x).toBeLessThan(1)
      sum += x
    }
    expect(sum / 10000).toBeGreaterThan(0.48)
    expect(sum / 10000).toBeLessThan(0.52)
  })
  it('int() covers both bounds', () => {
    const r = createRng(3)
    const seen = new Set<number>()
    for (let i = 0; i < 1000; i++) {
      const v = r.int(1, 6)
      expect(v).toBeGreaterThanOrEqual(1)
      expect(v).toBeLessThanOrEqual(6)
      seen.add(v)
    }
    expect([...seen].sort()).toEqual([1, 2, 3, 4, 5, 6])
    expect(r.int(5, 5)).toBe(5)
  })
  it('chance(), pick(), weighted(), shuffle()', () => {
    const r = createRng(11)
    expect(r.chance(0)).toBe(false)
    expect(r.chance(1)).toBe(true)
    expect(() => r.pick([])).toThrow(RangeError)
    expect(['x']).toContain(r.pick(['x']))
    let heavy = 0
    for (let i = 0; i < 2000; i++)
      if (
        r.weighted([
          ['a', 9],
          ['b', 1],
          ['c', 0],
        ] as const) === 'a'
      )
        heavy++
    expect(heavy / 2000).toBeGreaterThan(0.85)
    expect(() => r.weighted([['a', 0]])).toThrow(RangeError)
    const items = [1, 2, 3, 4, 5]
    const shuffled = r.shuffle(items)
    expect([...shuffled].sort()).toEqual(items)
    expect(items).toEqual([1, 2, 3, 4, 5])
  })
  it('fork() is deterministic and label-dependent', () => {
    expect(createRng(5).fork('x').uint32()).toBe(createRng(5).fork('x').uint32())
    expect(createRng(5).fork('x').uint32()).not.toBe(createRng(5).fork('y').uint32())
  })
})

describe('weightedTable', () => {
  it('picks proportionally and skips non-positive weights', () => {
    const pick = weightedTable([
      ['a', 1],
      ['b', 3],
      ['z', 0],
    ] as const)
    const r = createRng(9)
    const counts: Record<string, number> = { a: 0, b: 0, z: 0 }
    for (let i = 0; i < 4000; i++) counts[pick(r)]!++
    expect(counts.z).toBe(0)
    expect(counts.b! / 4000).toBeGreaterThan(0.7)
    expect(counts.b! / 4000).toBeLessThan(0.8)
    expect(() => weightedTable([])).toThrow(RangeError)
  })
  it('hashString is FNV-1a', () => {
    expect(hashString('')).toBe(0x811c9dc5)
    expect(hashString('a')).toBe(0xe40c292c)
  })
})
