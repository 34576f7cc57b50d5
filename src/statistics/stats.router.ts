import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express'
import type { ServiceError } from '../shared/errors.js'
import type { Knex } from 'knex'
import { isValidDivisionCode } from '../reconciliation/rules/division-code.js'
import { toCsv, UTF8_BOM } from './csv.js'
import { findObservations } from './statistics.service.js'
import { divisionNames, indicatorByCode } from './statistics.store.js'

export const CSV_HEADER = [
  'indicator_code',
  'indicator_name',
  'region_code',
  'region_name',
  'period',
  'value',
  'unit',
  'status',
  'source',
  'recorded_at',
] as const

export interface StatsRouterOptions {
  /**
   * Runs before every download. Statistics are UNCONDITIONAL data (CONTRACT.md §4: readable
   * without a key), so the default lets everyone through; the access layer can put its key check,
   * rate limit and access logging here without touching the routes.
   */
  guard?: RequestHandler
}

function badRequest(res: Response, field: string, reason: string, message: string): void {
  res.status(400).json({ error: { code: 'BAD_USER_INPUT', reason, field, message } })
}

/** A single string query parameter; undefined when absent, null when repeated or not a string. */
function single(req: Request, name: string): string | undefined | null {
  const v = req.query[name]
  if (v === undefined) return undefined
  return typeof v === 'string' ? v : null
}

/**
 * `GET /stats/{indicatorCode}.csv?region=&from=&to=&bom=1`: the observations of one indicator as
 * CSV (RFC 4180, UTF-8, optional BOM), ordered by region code, then period. 404 JSON for an
 * unknown indicator, 400 JSON (code BAD_USER_INPUT with reason and field) for a bad region or period.
 */
export function statsRouter(knex: Knex, options: StatsRouterOptions = {}): express.Router {
  const router = express.Router()
  router.use(options.guard ?? ((_req: Request, _res: Response, next: NextFunction) => next()))
  router.get('/:file', async (req, res, next) => {
    try {
      const file = String(req.params.file)
      if (!file.endsWith('.csv')) {
        res.status(404).json({ error: { code: 'NOT_FOUND', message: 'Downloads are /stats/{indicatorCode}.csv' } })
        return
      }
      const code = file.slice(0, -4)
      const region = single(req, 'region')
      const from = single(req, 'from')
      const to = single(req, 'to')
      for (const [name, v] of [
        ['region', region],
        ['from', from],
        ['to', to],
      ] as const)
        if (v === null) return badRequest(res, name, 'INVALID_VALUE', `${name} must be given at most once`)
      if (region !== undefined && !isValidDivisionCode(region!))
        return badRequest(res, 'region', 'INVALID_DIVISION_CODE', 'region must be a 6, 9 or 12 digit division code')
      const indicator = await indicatorByCode(knex, code)
      if (!indicator) {
        res.status(404).json({ error: { code: 'NOT_FOUND', message: `No indicator has code ${code}` } })
        return
      }
      let rows
      try {
        rows = await findObservations(knex, { indicatorId: indicator.id, regionCode: region ?? undefined }, from, to)
      } catch (e) {
        const ext = (e as ServiceError).extensions
        if (ext?.code !== 'BAD_USER_INPUT') throw e
        // The service names GraphQL arguments; the route's parameters are `from` and `to`.
        const field = ext.field === 'periodFrom' ? 'from' : ext.field === 'periodTo' ? 'to' : String(ext.field)
        return badRequest(
          res,
          field,
          String(ext.reason),
          (e as Error).message.replace(/periodFrom/g, 'from').replace(/periodTo/g, 'to'),
        )
      }
      const names = await divisionNames(knex, [...new Set(rows.map((r) => r.regionId))])
      const body = toCsv([
        [...CSV_HEADER],
        ...rows.map((r) => [
          indicator.code,
          indicator.name,
          r.regionCode,
          names.get(r.regionId) ?? '',
          r.period,
          r.value,
          indicator.unit,
          r.status,
          r.sourceCode,
          r.recordedAt,
        ]),
      ])
      res.status(200)
      res.setHeader('Content-Type', 'text/csv; charset=utf-8')
      res.setHeader('Content-Disposition', `attachment; filename="${code.replace(/[^A-Za-z0-9_.-]/g, '_')}.csv"`)
      res.send(req.query.bom === '1' ? UTF8_BOM + body : body)
    } catch (e) {
      next(e)
    }
  })
  return router
}
