import { MIN_ANCHOR_KEY_LENGTH, type AuditAnchorConfig } from './access/audit-anchor.js'
import { DEFAULT_MAX_GEOMETRY_VERTICES } from './reconciliation/rules/validate.js'

/** Environment → typed configuration. Fails fast with a message that names the variable. */
export interface Config {
  /** postgres://… of a real PostgreSQL + PostGIS; undefined → embedded PGlite. */
  databaseUrl?: string
  /** Connections to the database; the embedded one is a single session and always gets 1. */
  dbPoolMax: number
  /** Where the embedded database keeps its files. */
  dataDir: string
  port: number
  host: string
  /** production hides internal error details behind an error id. */
  production: boolean
  /** Seed the demo data (and demo keys) when the embedded database is new. */
  seedDemo: boolean
  demoPersons: number
  demoLegalEntities: number
  /** Identity-resolution thresholds for the weighted match (0..1). */
  matchHigh: number
  matchLow: number
  /** Service extent [minLon, minLat, maxLon, maxLat]; submitted geometry must lie inside. */
  extent: [number, number, number, number]
  statementTimeoutMs: number
  maxPageSize: number
  /** Per-caller token bucket: requests at once, and refill per second. */
  rateLimitBurst: number
  rateLimitPerSecond: number
  /** Query limits: nesting depth and estimated cost (see src/access/query-limits.ts). */
  maxQueryDepth: number
  maxQueryCost: number
  /** Vector tiles kept in memory for zooms ≤ 12 (0 turns the cache off). */
  tileCacheTiles: number
  /** Most positions one geometry (query argument or submitted value) may have. */
  maxGeometryVertices: number
  /** Counts below this in public aggregates are suppressed (docs/security.md, "Disclosure rules"). */
  disclosureMinCount: number
  /** When set, GET /metrics needs `Authorization: Bearer <this token>`. */
  metricsToken?: string
  logLevel: string
  /** How far after the service's clock a submitted observedAt may lie (OBSERVED_AT_MAX_SKEW_SECONDS). */
  observedAtMaxSkewMs: number
  /** Signed checkpoints of the access-log chain outside the database (src/access/audit-anchor.ts). */
  auditAnchor?: AuditAnchorConfig
}

export class ConfigError extends Error {}

function num(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  const n = Number(raw)
  if (!Number.isFinite(n)) throw new ConfigError(`${name} must be a number, got "${raw}"`)
  return n
}

/** AUDIT_ANCHOR_FILE + AUDIT_ANCHOR_KEY (both or neither), AUDIT_ANCHOR_INTERVAL_MS. */
function auditAnchor(env: NodeJS.ProcessEnv): AuditAnchorConfig | undefined {
  const file = env.AUDIT_ANCHOR_FILE || undefined
  const key = env.AUDIT_ANCHOR_KEY || undefined
  if (!file && !key) return undefined
  if (!file || !key) throw new ConfigError('AUDIT_ANCHOR_FILE and AUDIT_ANCHOR_KEY must be set together')
  if (key.length < MIN_ANCHOR_KEY_LENGTH)
    throw new ConfigError(`AUDIT_ANCHOR_KEY must be at least ${MIN_ANCHOR_KEY_LENGTH} characters`)
  const intervalMs = num(env, 'AUDIT_ANCHOR_INTERVAL_MS', 0)
  if (intervalMs < 0) throw new ConfigError('AUDIT_ANCHOR_INTERVAL_MS must be 0 or more')
  return { file, key, intervalMs }
}

function positiveInt(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const n = num(env, name, fallback)
  if (!Number.isInteger(n) || n < 1)
    throw new ConfigError(`${name} must be a whole number of at least 1, got "${env[name]}"`)
  return n
}

/** Reads the configuration; throws ConfigError naming the bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const databaseUrl = env.DATABASE_URL || undefined
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl))
    throw new ConfigError(`DATABASE_URL must start with postgres:// (got "${databaseUrl.slice(0, 20)}…")`)
  const extentRaw = env.SERVICE_EXTENT ?? '118.3,29.1,120.8,30.6'
  const extent = extentRaw.split(',').map(Number)
  if (
    extent.length !== 4 ||
    extent.some((v) => !Number.isFinite(v)) ||
    extent[0] >= extent[2] ||
    extent[1] >= extent[3]
  )
    throw new ConfigError(`SERVICE_EXTENT must be "minLon,minLat,maxLon,maxLat" (got "${extentRaw}")`)
  const matchHigh = num(env, 'MATCH_HIGH', 0.9)
  const matchLow = num(env, 'MATCH_LOW', 0.7)
  if (!(matchLow > 0 && matchLow < matchHigh && matchHigh <= 1))
    throw new ConfigError('MATCH_LOW and MATCH_HIGH must satisfy 0 < MATCH_LOW < MATCH_HIGH <= 1')
  return {
    databaseUrl,
    dbPoolMax: num(env, 'DB_POOL_MAX', 10),
    dataDir: env.DATA_DIR || './.data/pglite',
    port: num(env, 'PORT', 4000),
    host: env.HOST || '0.0.0.0',
    production: env.NODE_ENV === 'production',
    seedDemo: env.SEED_DEMO ? env.SEED_DEMO !== 'false' : !databaseUrl,
    demoPersons: num(env, 'DEMO_PERSONS', 10000),
    demoLegalEntities: num(env, 'DEMO_LEGAL_ENTITIES', 2000),
    matchHigh,
    matchLow,
    extent: extent as [number, number, number, number],
    statementTimeoutMs: num(env, 'STATEMENT_TIMEOUT_MS', 15000),
    maxPageSize: num(env, 'MAX_PAGE_SIZE', 500),
    rateLimitBurst: num(env, 'RATE_LIMIT_BURST', 300),
    rateLimitPerSecond: num(env, 'RATE_LIMIT_PER_SECOND', 50),
    maxQueryDepth: num(env, 'MAX_QUERY_DEPTH', 12),
    maxQueryCost: num(env, 'MAX_QUERY_COST', 20000),
    tileCacheTiles: Math.max(0, Math.floor(num(env, 'TILE_CACHE_TILES', 2000))),
    maxGeometryVertices: positiveInt(env, 'MAX_GEOMETRY_VERTICES', DEFAULT_MAX_GEOMETRY_VERTICES),
    disclosureMinCount: positiveInt(env, 'DISCLOSURE_MIN_COUNT', 10),
    metricsToken: env.METRICS_TOKEN || undefined,
    logLevel: env.LOG_LEVEL || 'info',
    observedAtMaxSkewMs: num(env, 'OBSERVED_AT_MAX_SKEW_SECONDS', 300) * 1000,
    auditAnchor: auditAnchor(env),
  }
}
