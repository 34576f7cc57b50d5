import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestKey } from '../access-helpers.js'
import { startTestServer, type TestServer } from '../helpers.js'

// Golden files: each golden/<name>.graphql is sent as it is and its answer must equal
// golden/<name>.json. UPDATE_GOLDEN=1 rewrites the answers (review the diff before committing).
const dir = new URL('./golden/', import.meta.url)
// Which department's key sends each file (default STATS).
const SENDER: Record<string, string> = {
  'submit-rejections': 'PSB',
}

describe('golden GraphQL answers', () => {
  let server: TestServer
  const keys: Record<string, Record<string, string>> = {}
  beforeAll(async () => {
    server = await startTestServer()
    for (const d of ['PSB', 'STATS']) keys[d] = await createTestKey(server.knex, { department: d })
  })
  afterAll(async () => server?.close())

  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.graphql'))
    .sort()) {
    const name = file.replace(/\.graphql$/, '')
    it(name, async () => {
      const query = readFileSync(new URL(file, dir), 'utf8')
      const answer = await server.gql(query, undefined, keys[SENDER[name] ?? 'STATS'])
      const expectedPath = new URL(`${name}.json`, dir)
      if (process.env.UPDATE_GOLDEN) writeFileSync(expectedPath, `${JSON.stringify(answer, null, 2)}\n`)
      expect(existsSync(expectedPath), `${name}.json is missing: run with UPDATE_GOLDEN=1 and review it`).toBe(true)
      expect(answer).toEqual(JSON.parse(readFileSync(expectedPath, 'utf8')))
    })
  }
})
