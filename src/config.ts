import { MIN_ANCHOR_KEY_LENGTH, type AuditAnchorConfig } from './access/audit-anchor.js'
import { DEFAULT_MAX_GEOMETRY_VERTICES } from './reconciliation/rules/validate.js'

/** Environment → typed configuration. Fails fast with a message that names the variable. */
export interface Config {
  /** postgres://… of a real PostgreSQL + PostGIS; undefined → embedded PGlite. */
  databaseUrl?: string
  /** Connections to the database; the embedded one is a single session and always gets 1. */
  dbPoolMax: number
  /**
   * Hot read lookups as named prepared statements (real PostgreSQL; never on the embedded one).
   * false for a database behind a socket to PGlite, or a pooler that does not keep them per client.
   */
  preparedStatements: boolean
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
  /** A RUNNING cross-check whose worker has been silent this long is resumed by another (ms). */
  crossCheckStaleMs: number
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
  /** Change notifications (CONTRACT §9): URL prefixes subscriptions may use, and the delivery worker. */
  webhooks: WebhookConfig
  /** Streaming replicas for queries (DATABASE_READ_URL, comma-separated); empty → all reads on the primary. */
  readUrls: string[]
  /** A replica further behind than this is not read from (REPLICA_MAX_LAG_MS). */
  replicaMaxLagMs: number
  /** How long a caller's read waits for a replica to replay its own last write (REPLICA_WAIT_MS), else the primary. */
  replicaWaitMs: number
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

export interface WebhookConfig {
  allowedUrls: string[]
  /** Run the delivery worker in this process (WEBHOOK_WORKER=false leaves it to other processes). */
  worker: boolean
  pollMs: number
  timeoutMs: number
  retryBaseMs: number
  maxBackoffMs: number
  batch: number
  /** Subscriptions one process serves at once (WEBHOOK_CONCURRENCY). */
  concurrency: number
}

/** WEBHOOK_ALLOWED_URLS (comma-separated http(s) URL prefixes) and the delivery settings. */
function webhookConfig(env: NodeJS.ProcessEnv): WebhookConfig {
  const allowedUrls = (env.WEBHOOK_ALLOWED_URLS ?? '')
    .split(',')
    .map((u) => u.trim())
    .filter(Boolean)
  for (const u of allowedUrls)
    if (!/^https?:\/\/[^/?#]+/.test(u))
      throw new ConfigError(`WEBHOOK_ALLOWED_URLS entries must be http(s) URL prefixes with a host, got "${u}"`)
  const worker = (env.WEBHOOK_WORKER ?? 'true').toLowerCase()
  if (worker !== 'true' && worker !== 'false') throw new ConfigError('WEBHOOK_WORKER must be true or false')
  return {
    allowedUrls,
    worker: worker === 'true',
    pollMs: positiveInt(env, 'WEBHOOK_POLL_MS', 500),
    timeoutMs: positiveInt(env, 'WEBHOOK_TIMEOUT_MS', 10_000),
    retryBaseMs: positiveInt(env, 'WEBHOOK_RETRY_BASE_MS', 1_000),
    maxBackoffMs: positiveInt(env, 'WEBHOOK_MAX_BACKOFF_MS', 24 * 3600_000),
    batch: 100,
    concurrency: positiveInt(env, 'WEBHOOK_CONCURRENCY', 8),
  }
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
  const readUrls = (env.DATABASE_READ_URL ?? '')
    .split(',')
    .map((u) => u.trim())
    .filter(Boolean)
  const badRead = readUrls.find((u) => !/^postgres(ql)?:\/\//.test(u))
  if (badRead) throw new ConfigError(`DATABASE_READ_URL must list postgres:// URLs (got "${badRead.slice(0, 20)}…")`)
  if (readUrls.length && !databaseUrl) throw new ConfigError('DATABASE_READ_URL needs DATABASE_URL (the primary)')
  return {
    databaseUrl,
    readUrls,
    replicaMaxLagMs: num(env, 'REPLICA_MAX_LAG_MS', 5000),
    replicaWaitMs: num(env, 'REPLICA_WAIT_MS', 1000),
    dbPoolMax: num(env, 'DB_POOL_MAX', 10),
    preparedStatements: env.PREPARED_STATEMENTS !== 'false',
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
    crossCheckStaleMs: num(env, 'CROSS_CHECK_STALE_MS', 60000),
    tileCacheTiles: Math.max(0, Math.floor(num(env, 'TILE_CACHE_TILES', 2000))),
    maxGeometryVertices: positiveInt(env, 'MAX_GEOMETRY_VERTICES', DEFAULT_MAX_GEOMETRY_VERTICES),
    disclosureMinCount: positiveInt(env, 'DISCLOSURE_MIN_COUNT', 10),
    metricsToken: env.METRICS_TOKEN || undefined,
    logLevel: env.LOG_LEVEL || 'info',
    observedAtMaxSkewMs: num(env, 'OBSERVED_AT_MAX_SKEW_SECONDS', 300) * 1000,
    webhooks: webhookConfig(env),
    auditAnchor: auditAnchor(env),
  }
}
