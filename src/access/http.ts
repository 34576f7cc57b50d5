import type { IncomingMessage } from 'node:http'
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

/** What the gate decided for one request: the caller, or the answer that refuses it. */
export type Admission =
  | { principal: Principal; refused?: undefined }
  | { principal?: undefined; refused: { status: number; headers: Record<string, string>; body: string } }

const refusal = (
  status: number,
  code: string,
  message: string,
  extensions: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Admission => ({
  refused: {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
    body: JSON.stringify({ errors: [{ message, extensions: { code, ...extensions } }] }),
  },
})

/** The gate's decision for a plain node request (the express middleware and the fast routes share it). */
export type Gate = ((req: Request, res: Response, next: NextFunction) => Promise<void>) & {
  admit(req: IncomingMessage): Promise<Admission>
}

/**
 * The gate in front of every data route: authenticates the bearer key (401 UNAUTHENTICATED for
 * a malformed, unknown or revoked one) and applies the per-caller rate limit (429 RATE_LIMITED
 * with Retry-After). Anonymous callers and keys not yet verified are limited by IP address, so
 * guessing keys costs the guesser, not the service. `gate.admit(req)` decides for a plain node
 * request; the gate itself is the express middleware.
 */
export function accessGate(knex: Knex, limits: { burst: number; perSecond: number }): Gate {
  const limiter = new RateLimiter(limits.burst, limits.perSecond)
  // Each wrong key costs an scrypt (~30 ms of a worker thread): an address that keeps sending
  // wrong keys is stopped before verification, independently of its request budget.
  const failures = new RateLimiter(FAILED_KEYS_BURST, FAILED_KEYS_PER_SECOND)
  const limited = (retryAfter: number) =>
    refusal(
      429,
      'RATE_LIMITED',
      `${ERROR_CODES.RATE_LIMITED} (after ${retryAfter} s)`,
      { retryAfter },
      {
        'retry-after': String(retryAfter),
      },
    )
  const admit = async (req: IncomingMessage): Promise<Admission> => {
    // express's req.ip without 'trust proxy' is the socket's address.
    const ip = req.socket.remoteAddress ?? 'unknown'
    let key: string | undefined
    try {
      key = bearerKey(req.headers)
    } catch (e) {
      return refusal(401, 'UNAUTHENTICATED', (e as GraphQLError).message)
    }
    // A key verified moments ago skips the per-address limit and a second hash of the key.
    const cached = key === undefined ? undefined : cachedPrincipal(key)
    if (!cached) {
      const wait = (key === undefined ? 0 : failures.wait(ip)) || limiter.take(`ip:${ip}`)
      if (wait) return limited(wait)
    }
    if (key === undefined) return { principal: ANONYMOUS }
    const principal = cached ?? (await principalForKey(knex, key))
    if (!principal) {
      failures.take(ip)
      return refusal(401, 'UNAUTHENTICATED', 'The API key is unknown or revoked', {}, { 'www-authenticate': 'Bearer' })
    }
    const wait = limiter.take(`key:${principal.id}`)
    if (wait) return limited(wait)
    return { principal }
  }
  const gate = async (req: Request, res: Response, next: NextFunction) => {
    try {
      const a = await admit(req)
      if (a.refused) {
        res.writeHead(a.refused.status, a.refused.headers).end(a.refused.body)
        return
      }
      res.locals.principal = a.principal
      next()
    } catch (err) {
      next(err)
    }
  }
  return Object.assign(gate, { admit })
}
