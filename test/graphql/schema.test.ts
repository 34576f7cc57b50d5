import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { renderSchema } from '../../src/cli/print-schema.js'

describe('schema/schema.graphql', () => {
  it('is the schema the code builds (run `npm run schema` after changing types)', async () => {
    const committed = readFileSync(new URL('../../schema/schema.graphql', import.meta.url), 'utf8')
    expect(committed).toBe(await renderSchema())
  })
})
