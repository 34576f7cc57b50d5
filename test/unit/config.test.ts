import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from '../../src/config.js'

describe('configuration from the environment', () => {
  it('defaults to the embedded database on port 4000 with the demo', () => {
    const c = loadConfig({})
    expect(c).toMatchObject({
      databaseUrl: undefined,
      port: 4000,
      seedDemo: true,
      dataDir: './.data/pglite',
      matchHigh: 0.9,
      matchLow: 0.7,
    })
  })

  it('does not seed the demo into a real database unless asked', () => {
    expect(loadConfig({ DATABASE_URL: 'postgres://u@h/db' }).seedDemo).toBe(false)
    expect(loadConfig({ DATABASE_URL: 'postgres://u@h/db', SEED_DEMO: 'true' }).seedDemo).toBe(true)
  })

  it.each([
    [{ DATABASE_URL: 'mysql://u@h/db' }, 'DATABASE_URL'],
    [{ PORT: 'forty' }, 'PORT'],
    [{ SERVICE_EXTENT: '1,2,3' }, 'SERVICE_EXTENT'],
    [{ SERVICE_EXTENT: '121,30,120,31' }, 'SERVICE_EXTENT'],
    [{ MATCH_LOW: '0.95', MATCH_HIGH: '0.9' }, 'MATCH_LOW'],
    [{ DB_POOL_MAX: 'many' }, 'DB_POOL_MAX'],
  ])('refuses %j with a message naming %s', (env, name) => {
    expect(() => loadConfig(env)).toThrow(ConfigError)
    expect(() => loadConfig(env)).toThrow(name)
  })
})
