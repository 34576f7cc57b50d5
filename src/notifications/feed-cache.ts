import type { Knex } from 'knex'
import type { ChangeGroup } from './rules.js'
import { groupsFrom } from './webhook.store.js'

/** Feed positions one read covers (transactions; each may hold many entities' change groups). */
const POSITIONS_PER_READ = 50
/** Change groups kept in memory in all; the oldest segments go first. */
const MAX_CACHED_GROUPS = 20_000

interface Segment {
  /** The position the read started at. */
  from: number
  /** The last position the read returned: every committed change in [from, to] is in `groups`. */
  to: number
  groups: ChangeGroup[]
}

/**
 * One worker's shared read of the change feed. Every subscription of a worker reads the same
 * feed rows, usually at nearby cursors: a read is kept as a segment and later asks starting inside
 * it are answered from memory. This is exact because feed positions become visible in order
 * (a transaction takes its position under a lock held until it commits, migration
 * 20261202140000): once a read has seen position `to`, every position before it is final, so a
 * segment [from, to] can never gain a change. An ask at or past a segment's end goes to the
 * database (newer positions may have committed since).
 */
export function createFeedCache(knex: Knex) {
  const segments: Segment[] = []
  const inFlight = new Map<number, Promise<ChangeGroup[]>>()
  let cachedGroups = 0

  function fromMemory(from: number): ChangeGroup[] | undefined {
    for (let i = segments.length - 1; i >= 0; i--) {
      const s = segments[i]
      if (s.from <= from && from < s.to) {
        // First group at or after `from` (groups are in feed order).
        let lo = 0
        let hi = s.groups.length
        while (lo < hi) {
          const mid = (lo + hi) >> 1
          if (s.groups[mid].position < from) lo = mid + 1
          else hi = mid
        }
        return s.groups.slice(lo)
      }
    }
    return undefined
  }

  async function read(from: number): Promise<ChangeGroup[]> {
    const groups = await groupsFrom(knex, from, POSITIONS_PER_READ)
    if (groups.length) {
      segments.push({ from, to: groups[groups.length - 1].position, groups })
      cachedGroups += groups.length
      while (segments.length > 1 && cachedGroups > MAX_CACHED_GROUPS) cachedGroups -= segments.shift()!.groups.length
    }
    return groups
  }

  return {
    /** The change groups from feed position `from` on, in feed order (as groupsFrom). */
    groupsFrom(from: number): Promise<ChangeGroup[]> {
      const cached = fromMemory(from)
      if (cached) return Promise.resolve(cached)
      // Workers asking for the same position at once share one read.
      let p = inFlight.get(from)
      if (!p) {
        p = read(from).finally(() => inFlight.delete(from))
        inFlight.set(from, p)
      }
      return p
    },
  }
}
