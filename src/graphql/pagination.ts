import type { ClassType } from 'type-graphql'
import { Field, Int, ObjectType } from 'type-graphql'
import { decodeCursor } from '../shared/cursor.js'
import { badInput } from '../shared/errors.js'
import { PageInfo } from './common.types.js'

import { UUID } from '../shared/ids.js'
import type { Knex } from 'knex'
import { namedStatement } from '../db/knex.js'
export const DEFAULT_PAGE_SIZE = 50
export const MAX_PAGE_SIZE = 500

/** Checks `first` (0..500, default 50); throws BAD_USER_INPUT naming the field. */
export function pageSize(first: number | null | undefined, field = 'first'): number {
  if (first === null || first === undefined) return DEFAULT_PAGE_SIZE
  if (!Number.isInteger(first) || first < 0 || first > MAX_PAGE_SIZE)
    throw badInput(`${field} must be between 0 and ${MAX_PAGE_SIZE}`, field)
  return first
}

// Cursors are made and read in src/shared/cursor.ts (stores use them too); re-exported for resolvers.
export { decodeCursor, decodeSequenceCursor, encodeCursor } from '../shared/cursor.js'

export class Page<T> {
  constructor(
    readonly items: T[],
    readonly hasNextPage: boolean,
    readonly cursorOf: (item: T) => string,
    readonly count: () => Promise<number>,
  ) {}
}

/** Builds `<Name>Edge` and `<Name>Connection` types; totalCount runs its query only when asked. */
export function connectionTypes<T extends object>(name: string, node: ClassType<T>) {
  @ObjectType(`${name}Edge`)
  class Edge {
    @Field(() => String) cursor!: string
    @Field(() => node) node!: T
  }
  @ObjectType(`${name}Connection`)
  class Connection {
    constructor(private readonly page: Page<T>) {}
    @Field(() => [Edge]) get edges(): Edge[] {
      return this.page.items.map((n) => ({ cursor: this.page.cursorOf(n), node: n }))
    }
    @Field(() => [node]) get nodes(): T[] {
      return this.page.items
    }
    @Field(() => PageInfo) get pageInfo(): PageInfo {
      const last = this.page.items[this.page.items.length - 1]
      return { hasNextPage: this.page.hasNextPage, endCursor: last ? this.page.cursorOf(last) : null }
    }
    @Field(() => Int) totalCount(): Promise<number> {
      return this.page.count()
    }
  }
  return { Edge, Connection }
}

/**
 * Runs a keyset page on `id` over a knex query (ordered by the given column and id): fetches
 * first+1 rows to know whether another page exists. Given the knex it runs on, the page runs as
 * a named prepared statement (its text is the same for every value of the same filter shape).
 */
export async function keysetPage<R = Record<string, unknown>>(
  query: Knex.QueryBuilder,
  first: number,
  after: string | null | undefined,
  idColumn: string,
  knex?: Knex,
): Promise<{ rows: R[]; hasNextPage: boolean }> {
  const key = decodeCursor(after)
  if (key) {
    if (typeof key[0] !== 'string' || !UUID.test(key[0]))
      throw badInput('after is not a cursor this service issued', 'after')
    query.where(idColumn, '>', key[0])
  }
  query.orderBy(idColumn).limit(first + 1)
  const named = knex ? namedStatement(knex, query.toSQL().sql) : undefined
  const rows = (await (named ? query.options(named) : query)) as R[]
  return { rows: rows.slice(0, first), hasNextPage: rows.length > first }
}
