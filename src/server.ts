import { getOperationAST, parse } from 'graphql'
import 'reflect-metadata'
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto'
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { ApolloServer } from '@apollo/server'
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginLandingPageDisabled,
} from '@apollo/server/plugin/disabled'
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer'
import express from 'express'
import type { Knex } from 'knex'
import { pino, type Logger } from 'pino'
import { seedReference } from '../seeds/reference.js'
import { closeAccessLog, openAccessLog } from './access/access-log.store.js'
import { CrossCheckRunner, registerRunner } from './cross-check/cross-check.runner.js'
import { accessPlugin } from './access/access.plugin.js'
import { accessGate } from './access/http.js'
import type { Config } from './config.js'
import { startEmbeddedDatabase, type EmbeddedDatabase } from './db/embedded.js'
import { createKnex, isReady, migrateLatest } from './db/knex.js'
import { ReadReplicas } from './db/replicas.js'
import { createLoaders, type Context } from './graphql/context.js'
import { consoleRouter } from './console/console.router.js'
import { formatErrorWith } from './graphql/errors.js'
import { createMetrics } from './graphql/metrics.js'
import { createWebhookWorker, type WebhookWorker } from './notifications/delivery.js'
import { registerWebhookMetrics } from './notifications/webhook.metrics.js'
import { graphiqlRouter } from './graphql/graphiql.js'
import { graphqlHandler, graphqlResponder, isPlainJsonPost, jsonBody, readPlainJson } from './graphql/http-handler.js'
import { lookaheadPlugin } from './graphql/lookahead.js'
import { buildAppSchema } from './graphql/schema.js'
import { rejectUnsafeParameters } from './access/input-safety.js'
import { ogcRouter } from './ogc/ogc.router.js'
import { statsRouter } from './statistics/stats.router.js'
import { tilesRouter } from './tiles/tiles.router.js'
import { assertPortFree, listenOn } from './shared/listen.js'

/** Largest request body accepted (HTTP 413 beyond). */
const MAX_BODY = '2mb'
const MAX_BODY_BYTES = 2 * 1024 * 1024
/** A tile address the front dispatcher answers itself (anything else under /tiles goes to express). */
const TILE_PATH = /^\/tiles\/([a-z][a-z0-9-]{0,40})\/(\d{1,8})\/(\d{1,8})\/(\d{1,8}\.mvt)$/
/** Largest GraphQL document, in lexical tokens. */
const MAX_QUERY_TOKENS = 15_000

/** Constant-time comparison of two secrets of any length (compares their SHA-256 digests). */
function sameSecret(given: string, expected: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest()
  return timingSafeEqual(digest(given), digest(expected))
}

/** A coded GraphQL-style error for a request express refused before GraphQL saw it; never a stack. */
function httpError(err: { status?: number; type?: string }, log: Logger) {
  if (err.type === 'entity.too.large' || err.status === 413)
    return {
      message: `The request body is larger than ${MAX_BODY}`,
      extensions: { code: 'BAD_USER_INPUT', reason: 'PAYLOAD_TOO_LARGE', field: 'body' },
    }
  if (err.type === 'entity.parse.failed')
    return {
      message: 'The request body is not valid JSON',
      extensions: { code: 'BAD_USER_INPUT', reason: 'INVALID_JSON', field: 'body' },
    }
  if (err.status && err.status < 500)
    return {
      message: 'Malformed request',
      extensions: { code: 'BAD_USER_INPUT', reason: err.type ?? 'MALFORMED_REQUEST', field: 'body' },
    }
  const errorId = randomUUID()
  log.error({ err, errorId }, 'unhandled HTTP error')
  return {
    message: `Internal error; quote error id ${errorId} to the service desk`,
    extensions: { code: 'INTERNAL_SERVER_ERROR', errorId },
  }
}

export interface RunningServer {
  url: string
  knex: Knex
  log: Logger
  /** The change-notification delivery worker of this process (started unless WEBHOOK_WORKER=false). */
  webhookWorker: WebhookWorker
  close(): Promise<void>
}

export interface ServerOptions {
  /** Called after migrations and reference data, before listening (the demo seed hooks in here). */
  beforeListen?: (knex: Knex, log: Logger) => Promise<void>
  log?: Logger
}

/**
 * Starts the whole service on config.port (0 = any free port): database (embedded when no
 * DATABASE_URL), migrations, reference data, GraphQL, GraphiQL, health routes.
 * Throws when the database cannot be reached or migrated.
 */
/** True when the request's operation is a query (not a mutation, and parseable): it may read a replica. */
function isQueryOnly(method: string | undefined, body: unknown, search: string): boolean {
  const fields: { query?: unknown; operationName?: unknown } | undefined =
    method === 'GET'
      ? Object.fromEntries(new URLSearchParams(search))
      : body && typeof body === 'object'
        ? (body as { query?: unknown; operationName?: unknown })
        : undefined
  const query = fields?.query
  if (typeof query !== 'string') return false
  try {
    const op = getOperationAST(
      parse(query),
      typeof fields?.operationName === 'string' ? fields.operationName : undefined,
    )
    return op?.operation === 'query'
  } catch {
    return false
  }
}

export async function createServer(config: Config, options: ServerOptions = {}): Promise<RunningServer> {
  const log = options.log ?? pino({ level: config.logLevel })
  await assertPortFree(config.port, config.host)
  let embedded: EmbeddedDatabase | undefined
  let url = config.databaseUrl
  if (!url) {
    embedded = await startEmbeddedDatabase(config.dataDir)
    url = embedded.url
    log.info({ dataDir: config.dataDir }, 'embedded PostGIS (PGlite) started')
  }
  const knex = createKnex({
    url,
    poolMax: embedded ? 1 : config.dbPoolMax,
    statementTimeoutMs: config.statementTimeoutMs,
    // Hot lookups as prepared statements on real PostgreSQL only (see DbOptions.preparedStatements).
    preparedStatements: !embedded && config.preparedStatements,
  })
  try {
    const applied = await migrateLatest(knex)
    if (applied.length) log.info({ applied }, 'migrations applied')
    await seedReference(knex)
    await options.beforeListen?.(knex, log)
    await openAccessLog(knex, config.auditAnchor)
  } catch (e) {
    await knex.destroy()
    await embedded?.stop()
    throw e
  }

  // Cross-checks run in the background of the server; orphaned ones (a restart) resume here.
  const crossChecks = new CrossCheckRunner(knex, log, { staleMs: config.crossCheckStaleMs })
  registerRunner(knex, crossChecks)
  crossChecks.start()

  const app = express()
  app.disable('x-powered-by')
  // The front of the HTTP server: the two requests that come by the million (a department app's
  // POST /graphql, a map's tile) are answered without express's per-request routing and
  // request/response decoration (~0.2 ms a request, bench/RESULTS.md "Read"); every other request,
  // and any variant of those two (another content type, a query string on a tile, HEAD, …), goes
  // to the express app, which answers it as before. Both paths share the same gate, body reader,
  // GraphQL responder and tile handler.
  let front: (req: IncomingMessage, res: ServerResponse) => void = app
  const httpServer: Server = createHttpServer((req, res) => front(req, res))
  try {
    await listenOn(httpServer, config.port, config.host)
  } catch (e) {
    await knex.destroy()
    await embedded?.stop()
    throw e
  }
  const replicas = config.readUrls.length
    ? new ReadReplicas(
        knex,
        config.readUrls.map((u) => ({
          url: u,
          knex: createKnex({
            url: u,
            poolMax: config.dbPoolMax,
            statementTimeoutMs: config.statementTimeoutMs,
            preparedStatements: config.preparedStatements,
          }),
        })),
        { maxLagMs: config.replicaMaxLagMs, readYourWritesWaitMs: config.replicaWaitMs },
      )
    : undefined
  const metrics = createMetrics(knex)
  const webhookWorker = createWebhookWorker(
    knex,
    { ...config.webhooks },
    log,
    registerWebhookMetrics(metrics.registry, knex),
  )
  if (config.webhooks.worker) webhookWorker.start()
  const apollo = new ApolloServer<Context>({
    schema: await buildAppSchema(),
    includeStacktraceInErrorResponses: false,
    // main.ts handles SIGTERM/SIGINT and closes everything in order; Apollo's own handlers would
    // race it (outside tests, where NODE_ENV=test turns them off) and the process never exited.
    stopOnTerminationSignals: false,
    formatError: formatErrorWith(log),
    // A hard cap on document size before validation runs: thousands of aliases are refused cheaply.
    parseOptions: { maxTokens: MAX_QUERY_TOKENS },
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      ApolloServerPluginLandingPageDisabled(),
      // Installed by default, the cache-control plugin wraps every field's resolver to compute a
      // Cache-Control header this API never sends (person data is not cacheable by proxies).
      ApolloServerPluginCacheControlDisabled(),
      metrics.plugin,
      // What the operation selects, for the loaders' column lists (src/graphql/lookahead.ts).
      lookaheadPlugin(),
      accessPlugin({ log, limits: { maxDepth: config.maxQueryDepth, maxCost: config.maxQueryCost } }),
      // After a mutation the caller's next queries wait for a replica to replay it (read-your-writes).
      {
        async requestDidStart() {
          return {
            async willSendResponse(rc) {
              if (replicas && rc.operation?.operation === 'mutation')
                await replicas.noteWrite(rc.contextValue.principal.id).catch(() => undefined)
            },
          }
        },
      },
    ],
  })
  await apollo.start()
  // Requests whose reads went to a replica: if the replica fails under one (it stopped between two
  // status checks), the query is answered again from the primary, which it then uses until the
  // replica is back (ReadReplicas.markDown).
  const readFromReplica = new WeakMap<IncomingMessage, Knex>()
  const respond = graphqlResponder(
    apollo,
    async ({ req, body, search, principal, attempt }) => {
      // Queries read from a replica when one is fit; mutations (and what their response reads) use the primary.
      const reads =
        replicas && attempt === 0 && isQueryOnly(req.method, body, search) ? await replicas.forRead(principal.id) : knex
      if (reads !== knex) readFromReplica.set(req, reads)
      return {
        knex: reads,
        primary: knex,
        config,
        principal,
        purpose: typeof req.headers['x-purpose'] === 'string' ? req.headers['x-purpose'].slice(0, 500) : null,
        loaders: createLoaders(reads),
      }
    },
    (req, body) => {
      const replica = readFromReplica.get(req)
      if (!replica || !body.includes('"DATABASE_UNAVAILABLE"')) return false
      replicas?.markDown(replica)
      return true
    },
  )
  const graphql = graphqlHandler(respond)
  // One gate (key check + rate limit) for every data route, so a caller's budget is shared among them.
  const gate = accessGate(knex, { burst: config.rateLimitBurst, perSecond: config.rateLimitPerSecond })
  app.post('/graphql', gate, jsonBody(MAX_BODY_BYTES), graphql)

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' })
  })
  app.get('/readyz', async (_req, res) => {
    const ready = await Promise.race([isReady(knex), new Promise<boolean>((r) => setTimeout(() => r(false), 3000))])
    // Replicas are reported, not required: a lost one only sends its reads to the primary.
    const replicaStatus = replicas && ready ? await replicas.status() : undefined
    res.status(ready ? 200 : 503).json({
      status: ready ? 'ready' : 'unavailable',
      database: ready ? 'reachable and migrated' : 'unreachable or not migrated',
      ...(replicaStatus ? { replicas: replicaStatus } : {}),
    })
  })
  app.get('/metrics', async (req, res) => {
    if (config.metricsToken && !sameSecret(req.headers.authorization ?? '', `Bearer ${config.metricsToken}`)) {
      res
        .status(401)
        .setHeader('www-authenticate', 'Bearer')
        .json({ error: { code: 'UNAUTHENTICATED', message: '/metrics needs Authorization: Bearer <METRICS_TOKEN>' } })
      return
    }
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics())
  })
  app.use(graphiqlRouter({ endpoint: '/graphql' }))
  app.use('/console', consoleRouter())
  // POST /graphql (every department app's read) is the first route express tries; GET (GraphiQL
  // for a browser, else a query) falls through to the same handler below.
  app.use('/graphql', gate, jsonBody(MAX_BODY_BYTES), graphql)
  app.use('/ogc', gate, rejectUnsafeParameters, ogcRouter(knex, log))
  app.use('/stats', gate, rejectUnsafeParameters, statsRouter(knex))
  const tiles = tilesRouter(knex, { log, cacheTiles: config.tileCacheTiles })
  app.use('/tiles', gate, rejectUnsafeParameters, tiles)
  app.use((_req, res) => {
    res.status(404).json({ error: { code: 'NOT_FOUND', message: 'No such route' } })
  })
  // Express's last resort: malformed JSON bodies and the like get a coded answer, never a stack.
  app.use(
    (
      err: { status?: number; type?: string },
      _req: express.Request,
      res: express.Response,
      _next: express.NextFunction,
    ) => {
      res.status(err.status && err.status < 500 ? err.status : 500).json({ errors: [httpError(err, log)] })
    },
  )

  // As express would answer them: the gate's refusals, body errors through httpError, the rest below.
  const fail = (res: ServerResponse, err: { status?: number; type?: string }) => {
    if (res.headersSent) {
      res.destroy()
      return
    }
    const status = err.status && err.status < 500 ? err.status : 500
    res
      .writeHead(status, { 'content-type': 'application/json; charset=utf-8' })
      .end(JSON.stringify({ errors: [httpError(err, log)] }))
  }
  const admitted = async (req: IncomingMessage, res: ServerResponse) => {
    const a = await gate.admit(req)
    if (a.refused) res.writeHead(a.refused.status, a.refused.headers).end(a.refused.body)
    return a.principal
  }
  front = (req, res) => {
    const url = req.url ?? ''
    if (req.method === 'POST' && (url === '/graphql' || url.startsWith('/graphql?')) && isPlainJsonPost(req)) {
      ;(async () => {
        const principal = await admitted(req, res)
        if (!principal) return
        const body = await readPlainJson(req, MAX_BODY_BYTES)
        await respond(req, res, body, principal)
      })().catch((e) => fail(res, e))
      return
    }
    const tile = req.method === 'GET' && url.startsWith('/tiles/') ? TILE_PATH.exec(url) : null
    if (tile) {
      ;(async () => {
        if (await admitted(req, res)) await tiles.fastTile(req, res, tile[1], tile[2], tile[3], tile[4])
      })().catch((e) => fail(res, e))
      return
    }
    app(req, res)
  }

  const { port } = httpServer.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    knex,
    log,
    webhookWorker,
    async close() {
      await crossChecks.stop()
      await webhookWorker.stop()
      await apollo.stop()
      await replicas?.destroy()
      try {
        await closeAccessLog(knex)
      } finally {
        await knex.destroy()
        await embedded?.stop()
      }
    },
  }
}
