import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { describe, expect, it } from 'vitest'
import { PROJECT_ROOT, projectPath } from '../../src/shared/paths.js'

describe('projectPath', () => {
  it('finds the project root from the sources', () => {
    expect(existsSync(join(PROJECT_ROOT, 'package.json'))).toBe(true)
    expect(existsSync(projectPath('seeds', 'data', 'indicators.json'))).toBe(true)
  })

  it('finds the same root from the compiled copy npm start runs (dist/server)', async () => {
    const compiled = projectPath('dist', 'server', 'src', 'shared', 'paths.js')
    expect(existsSync(compiled)).toBe(true)
    const { PROJECT_ROOT: fromDist } = (await import(pathToFileURL(compiled).href)) as { PROJECT_ROOT: string }
    expect(fromDist).toBe(PROJECT_ROOT)
  })
})
