import { randomBytes } from 'node:crypto'
import type { GraphQLFormattedError } from 'graphql'
import type { Knex } from 'knex'
import type { WebhookWorker } from '../src/notifications/delivery.js'
import { inject } from 'vitest'
import { loadConfig, type Config } from '../src/config.js'
import { createKnex } from '../src/db/knex.js'
import type { RoleName } from '../src/shared/entity-types.js'
import { createTestKey } from './access-helpers.js'

// Sessions. The run has one database (test/global-setup.ts). When it is the embedded PGlite it
// accepts exactly ONE connection for the whole process, so:
//   - a file that starts a server uses the server's `knex` for its own queries and never opens a
//     second connection (a second one is refused, or waits forever for the first to close);
//   - startTestServer gives the server a pool of one, so the server itself never asks for two;
//   - a file that uses testKnex() instead starts no server, and destroys that knex in afterAll so
//     the next file can connect.
// Tests do not roll back: every test creates its own data under keys made with uniqueSuffix().

/** Parsed body of a GraphQL-over-HTTP response. */
export interface GqlResult<TData = any> {
  data?: TData | null
  errors?: GraphQLFormattedError[]
  extensions?: Record<string, unknown>
}

export interface TestServer {
  /** http://host:port of the running server (no trailing slash). */
  url: string
  /** The server's own knex; in embedded mode the only connection there is, so use this one. */
  knex: Knex
  /** The server's change-notification worker (tests stop and start it to stage a crash). */
  webhookWorker: WebhookWorker
  close(): Promise<void>
  /** POSTs to /graphql over real HTTP; throws only when the answer is not JSON. */
  gql<TData = any>(
    query: string,
    variables?: Record<string, unknown>,
    headers?: Record<string, string>,
  ): Promise<GqlResult<TData>>
}

/**
 * A knex on the run's database (pool of 1 when embedded, 4 otherwise). The caller destroys it in
 * afterAll; in embedded mode it must not be used in a file that also starts a server.
 */
export function testKnex(): Knex {
  return createKnex({ url: inject('databaseUrl'), poolMax: inject('embedded') ? 1 : 4 })
}

let openServers = 0

/**
 * Starts the real server (migrated, reference data seeded, no demo data) on an ephemeral port of
 * the run's database. Throws if, in embedded mode, another test server of this file is still open.
 */
export async function startTestServer(overrides: Partial<Config> = {}): Promise<TestServer> {
  const embedded = inject('embedded')
  if (embedded && openServers > 0)
    throw new Error('The embedded database has one session: close the previous test server before starting another')
  // Imported here so that files needing only the database do not load the whole GraphQL stack.
  const { createServer } = await import('../src/server.js')
  const config: Config = {
    ...loadConfig({
      LOG_LEVEL: 'warn',
      ...process.env,
      DATABASE_URL: inject('databaseUrl'),
      // The URL points at a socket, so the server cannot tell it is PGlite; this says so.
      DB_POOL_MAX: embedded ? '1' : '4',
      // PGlite's socket connections share one session: a statement prepared by a closed one lives on.
      PREPARED_STATEMENTS: embedded ? 'false' : 'true',
      HOST: '127.0.0.1',
      PORT: '0',
      SEED_DEMO: 'false',
      // Webhook delivery polls the database; only the tests of it turn it on (their own config).
      WEBHOOK_WORKER: 'false',
    }),
    ...overrides,
  }
  const server = await createServer(config)
  openServers++
  let closed = false
  const url = server.url.replace(/\/+$/, '')

  return {
    url,
    knex: server.knex,
    webhookWorker: server.webhookWorker,
    async close() {
      if (closed) return
      closed = true
      try {
        await server.close()
      } finally {
        openServers--
      }
    },
    async gql(query, variables, headers) {
      const res = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json',
          ...(await withApiKey(server.knex, headers)),
        },
        body: JSON.stringify({ query, variables }),
      })
      const text = await res.text()
      try {
        return JSON.parse(text) as GqlResult
      } catch {
        throw new Error(`POST ${url}/graphql answered HTTP ${res.status} with non-JSON: ${text.slice(0, 300)}`)
      }
    },
  }
}

const legacyKeys = new Map<string, Promise<Record<string, string>>>()

/**
 * Compatibility for tests written before API keys: `{ 'X-Department': 'PSB', 'X-Roles': 'STEWARD' }`
 * is replaced by a bearer key of a principal with that department and roles (made once per file).
 * New tests should pass createTestKey(...) headers (test/access-helpers.ts) instead.
 */
async function withApiKey(
  knex: Knex,
  headers: Record<string, string> | undefined,
): Promise<Record<string, string> | undefined> {
  if (!headers) return headers
  const rest: Record<string, string> = {}
  let department: string | undefined
  let roles: string | undefined
  for (const [name, value] of Object.entries(headers)) {
    if (name.toLowerCase() === 'x-department') department = value.trim().toUpperCase()
    else if (name.toLowerCase() === 'x-roles') roles = value
    else rest[name] = value
  }
  if (!department && !roles) return headers
  const roleList = (roles ?? 'DEPARTMENT_APP')
    .split(',')
    .map((r) => r.trim().toUpperCase())
    .filter(Boolean) as RoleName[]
  const cacheKey = `${department ?? ''}|${roleList.join(',')}`
  if (!legacyKeys.has(cacheKey))
    legacyKeys.set(cacheKey, createTestKey(knex, { department: department ?? null, roles: roleList }))
  return { ...rest, ...(await legacyKeys.get(cacheKey)!) }
}

let counter = 0

/** A short key part, e.g. "9f3a61c2b": a counter keeps it unique in this file, 32 random bits across files and runs. */
export function uniqueSuffix(): string {
  return `${randomBytes(4).toString('hex')}${(counter++).toString(36)}`
}
