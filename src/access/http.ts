import type { NextFunction, Request, Response } from 'express'
import { GraphQLError } from 'graphql'
import type { Knex } from 'knex'
import { ERROR_CODES } from '../shared/errors.js'
import { bearerKey } from './authenticate.js'
import { cachedPrincipal, principalForKey } from './keys.js'
import { ANONYMOUS, type Principal } from './principal.js'
import { RateLimiter } from './rate-limit.js'

/** Wrong keys one address may send at once, and per second after that, before it must wait. */
const FAILED_KEYS_BURST = 20
const FAILED_KEYS_PER_SECOND = 1

/** The principal the gate authenticated for this request (ANONYMOUS without a key). */
export function requestPrincipal(res: Response): Principal {
  return (res.locals.principal as Principal | undefined) ?? ANONYMOUS
}

function sendError(
  res: Response,
  status: number,
  code: string,
  message: string,
  extensions: Record<string, unknown> = {},
): void {
  res.status(status).json({ errors: [{ message, extensions: { code, ...extensions } }] })
}

/**
 * Express middleware in front of /graphql: authenticates the bearer key (401 UNAUTHENTICATED for
 * a malformed, unknown or revoked one) and applies the per-caller rate limit (429 RATE_LIMITED
 * with Retry-After). Anonymous callers and keys not yet verified are limited by IP address, so
 * guessing keys costs the guesser, not the service.
 */
export function accessGate(knex: Knex, limits: { burst: number; perSecond: number }) {
  const limiter = new RateLimiter(limits.burst, limits.perSecond)
  // Each wrong key costs an scrypt (~30 ms of a worker thread): an address that keeps sending
  // wrong keys is stopped before verification, independently of its request budget.
  const failures = new RateLimiter(FAILED_KEYS_BURST, FAILED_KEYS_PER_SECOND)
  const limited = (res: Response, retryAfter: number) => {
    res.setHeader('Retry-After', String(retryAfter))
    sendError(res, 429, 'RATE_LIMITED', `${ERROR_CODES.RATE_LIMITED} (after ${retryAfter} s)`, { retryAfter })
  }
  return async (req: Request, res: Response, next: NextFunction) => {
    try {
      const ip = req.ip ?? req.socket.remoteAddress ?? 'unknown'
      let key: string | undefined
      try {
        key = bearerKey(req.headers)
      } catch (e) {
        return sendError(res, 401, 'UNAUTHENTICATED', (e as GraphQLError).message)
      }
      // A key verified moments ago skips the per-address limit and a second hash of the key.
      const cached = key === undefined ? undefined : cachedPrincipal(key)
      if (!cached) {
        const wait = (key === undefined ? 0 : failures.wait(ip)) || limiter.take(`ip:${ip}`)
        if (wait) return limited(res, wait)
      }
      if (key === undefined) {
        res.locals.principal = ANONYMOUS
        return next()
      }
      const principal = cached ?? (await principalForKey(knex, key))
      if (!principal) {
        failures.take(ip)
        res.setHeader('WWW-Authenticate', 'Bearer')
        return sendError(res, 401, 'UNAUTHENTICATED', 'The API key is unknown or revoked')
      }
      const wait = limiter.take(`key:${principal.id}`)
      if (wait) return limited(res, wait)
      res.locals.principal = principal
      next()
    } catch (err) {
      next(err)
    }
  }
}
