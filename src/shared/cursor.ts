import { badInput } from './errors.js'

/** Opaque cursor for a keyset position. */
export function encodeCursor(key: (string | number)[]): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url')
}

/** Decodes a cursor made by encodeCursor; throws BAD_USER_INPUT (field 'after') for anything else. */
export function decodeCursor(cursor: string | null | undefined, field = 'after'): (string | number)[] | null {
  if (cursor === null || cursor === undefined) return null
  try {
    const key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
    if (Array.isArray(key) && key.length > 0 && key.every((k) => typeof k === 'string' || typeof k === 'number'))
      return key
  } catch {
    /* fall through */
  }
  throw badInput('after is not a cursor this service issued', field)
}

/** Decodes a cursor on a sequence number (change feed, access log): a non-negative safe integer, else BAD_USER_INPUT. */
export function decodeSequenceCursor(cursor: string | null | undefined, field = 'after'): number | null {
  const key = decodeCursor(cursor, field)
  if (!key) return null
  if (key.length !== 1 || typeof key[0] !== 'number' || !Number.isSafeInteger(key[0]) || key[0] < 0)
    throw badInput('after is not a cursor this service issued', field)
  return key[0]
}
