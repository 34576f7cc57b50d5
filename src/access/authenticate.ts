import type { IncomingHttpHeaders } from 'node:http'
import { GraphQLError } from 'graphql'
import type { Knex } from 'knex'
import { ERROR_CODES } from '../shared/errors.js'
import { principalForKey } from './keys.js'
import { ANONYMOUS, type Principal } from './principal.js'

/** UNAUTHENTICATED with HTTP 401: the request named a key that does not authenticate anybody. */
export function badCredentials(message: string = ERROR_CODES.UNAUTHENTICATED): GraphQLError {
  return new GraphQLError(message, {
    extensions: {
      code: 'UNAUTHENTICATED',
      http: { status: 401, headers: new Map([['www-authenticate', 'Bearer']]) },
    },
  })
}

/** The bearer key of a request; undefined without an Authorization header; throws for another scheme. */
export function bearerKey(headers: IncomingHttpHeaders): string | undefined {
  const header = headers.authorization
  if (header === undefined || header === '') return undefined
  const m = /^Bearer\s+(\S{1,200})\s*$/i.exec(header)
  if (!m) throw badCredentials('Authorization must be "Bearer <API key>"')
  return m[1]
}

/**
 * The caller: ANONYMOUS without an Authorization header, the key's principal with a valid key.
 * Throws UNAUTHENTICATED (HTTP 401) for a malformed, unknown or revoked key — never falls back
 * to anonymous, so a typo in a key is noticed.
 */
export async function authenticate(knex: Knex, headers: IncomingHttpHeaders): Promise<Principal> {
  const key = bearerKey(headers)
  if (key === undefined) return ANONYMOUS
  const principal = await principalForKey(knex, key)
  if (!principal) throw badCredentials('The API key is unknown or revoked')
  return principal
}
