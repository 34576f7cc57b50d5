import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import type { TestProject } from 'vitest/node'
import { startEmbeddedDatabase, type EmbeddedDatabase } from '../src/db/embedded.js'
import { createKnex, migrateLatest } from '../src/db/knex.js'
import { seedReference } from '../seeds/reference.js'

declare module 'vitest' {
  export interface ProvidedContext {
    /** postgres:// URL of the database every test file uses. */
    databaseUrl: string
    /** True when that database is the in-process PGlite (one session: pool max 1). */
    embedded: boolean
    /** Seed of the run's test data generator (test/support/ids.ts): TEST_SEED, else random. */
    testSeed: string
  }
}

let embeddedDb: EmbeddedDatabase | undefined

/** Hides a password in a URL before it is printed; returns the input unchanged if it is not a URL. */
function redact(url: string): string {
  try {
    const u = new URL(url)
    if (u.password) u.password = '***'
    return u.toString()
  } catch {
    return url
  }
}

/**
 * One database for the whole run: DATABASE_URL (a real PostGIS) when set, else an in-memory
 * PGlite kept alive until teardown. Either way it is migrated and holds the reference data
 * before the first test file starts, so files never race to migrate it.
 */
export async function setup(project: TestProject): Promise<void> {
  // The compiled service (dist/server) that `npm start` runs, for the tests that start it as a
  // process (test/support/entry.ts): built once per run, from the sources under test.
  execFileSync(process.execPath, ['scripts/build-server.mjs'], { stdio: 'ignore' })
  const externalUrl = process.env.DATABASE_URL || undefined
  if (!externalUrl) embeddedDb = await startEmbeddedDatabase('memory://')
  const url = externalUrl ?? embeddedDb!.url

  const knex = createKnex({ url, poolMax: 1 })
  try {
    await migrateLatest(knex)
    await seedReference(knex)
  } catch (err) {
    await embeddedDb?.stop()
    embeddedDb = undefined
    throw err
  } finally {
    // Frees the connection: the embedded database accepts exactly one, and the tests need it.
    await knex.destroy()
  }

  console.log(
    externalUrl
      ? `[test] database: PostgreSQL at ${redact(externalUrl)} (DATABASE_URL)`
      : `[test] database: embedded PGlite + PostGIS (memory://) at ${url}; set DATABASE_URL to use a real PostgreSQL`,
  )
  const testSeed = process.env.TEST_SEED || randomBytes(4).toString('hex')
  console.log(`[test] seed: ${testSeed} (replay with TEST_SEED=${testSeed})`)
  project.provide('testSeed', testSeed)
  project.provide('databaseUrl', url)
  project.provide('embedded', !externalUrl)
}

export async function teardown(): Promise<void> {
  await embeddedDb?.stop()
  embeddedDb = undefined
}
