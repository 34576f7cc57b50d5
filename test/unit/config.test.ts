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

  it('limits geometry to 20,000 vertices, rounds public counts to 10, leaves /metrics open by default', () => {
    expect(loadConfig({})).toMatchObject({
      maxGeometryVertices: 20_000,
      disclosureMinCount: 10,
      metricsToken: undefined,
    })
    expect(loadConfig({ METRICS_TOKEN: 's3cret', DISCLOSURE_MIN_COUNT: '1' })).toMatchObject({
      metricsToken: 's3cret',
      disclosureMinCount: 1,
    })
  })

  it('allows no webhook URL unless the operator lists prefixes, and names a bad webhook setting', () => {
    expect(loadConfig({}).webhooks).toMatchObject({ allowedUrls: [], worker: true, timeoutMs: 10_000 })
    expect(
      loadConfig({ WEBHOOK_ALLOWED_URLS: ' https://apps.hrss.example.gov.cn/ ,http://127.0.0.1:4899/' }).webhooks
        .allowedUrls,
    ).toEqual(['https://apps.hrss.example.gov.cn/', 'http://127.0.0.1:4899/'])
    expect(() => loadConfig({ WEBHOOK_ALLOWED_URLS: 'apps.example/' })).toThrow(/WEBHOOK_ALLOWED_URLS/)
    expect(() => loadConfig({ WEBHOOK_ALLOWED_URLS: 'https://' })).toThrow(/WEBHOOK_ALLOWED_URLS/)
    expect(() => loadConfig({ WEBHOOK_WORKER: 'maybe' })).toThrow(/WEBHOOK_WORKER/)
    expect(() => loadConfig({ WEBHOOK_TIMEOUT_MS: '0' })).toThrow(/WEBHOOK_TIMEOUT_MS/)
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
    [{ MAX_GEOMETRY_VERTICES: '0' }, 'MAX_GEOMETRY_VERTICES'],
    [{ MAX_GEOMETRY_VERTICES: '1.5' }, 'MAX_GEOMETRY_VERTICES'],
    [{ DISCLOSURE_MIN_COUNT: 'ten' }, 'DISCLOSURE_MIN_COUNT'],
    [{ DISCLOSURE_MIN_COUNT: '-1' }, 'DISCLOSURE_MIN_COUNT'],
  ])('refuses %j with a message naming %s', (env, name) => {
    expect(() => loadConfig(env)).toThrow(ConfigError)
    expect(() => loadConfig(env)).toThrow(name)
  })
})
