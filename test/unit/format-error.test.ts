import { Writable } from 'node:stream'
import { GraphQLError } from 'graphql'
import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import { formatErrorWith } from '../../src/graphql/errors.js'

function capturingLogger() {
  const lines: string[] = []
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk))
      cb()
    },
  })
  return { log: pino({ level: 'info' }, stream), lines }
}

describe('formatError', () => {
  it('hides an internal error behind an error id that the log also holds', () => {
    const { log, lines } = capturingLogger()
    const sqlError = new Error('select * from "departments_x" - relation "departments_x" does not exist')
    const out = formatErrorWith(log)(
      {
        message: sqlError.message,
        path: ['departments'],
        extensions: { code: 'INTERNAL_SERVER_ERROR', stacktrace: ['at x.js:1'] },
      },
      new GraphQLError(sqlError.message, { originalError: sqlError }),
    )
    expect(out.extensions).toEqual({
      code: 'INTERNAL_SERVER_ERROR',
      errorId: expect.stringMatching(/^[0-9a-f-]{36}$/),
    })
    expect(JSON.stringify(out)).not.toMatch(/departments_x|relation|stacktrace/)
    const logged = lines.map((l) => JSON.parse(l))
    expect(logged.find((l) => l.errorId === out.extensions!.errorId)?.err.message).toContain('departments_x')
  })

  it('keeps a validation rule’s own code and names the token cap QUERY_TOO_COMPLEX', () => {
    const { log } = capturingLogger()
    const inner = new GraphQLError('too costly', { extensions: { code: 'QUERY_TOO_COMPLEX', cost: 99999 } })
    const wrapped = new GraphQLError('too costly', {
      originalError: inner,
      extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
    })
    expect(
      formatErrorWith(log)(
        { message: 'too costly', extensions: { code: 'GRAPHQL_VALIDATION_FAILED', cost: 99999 } },
        wrapped,
      ).extensions!.code,
    ).toBe('QUERY_TOO_COMPLEX')
    const parse = formatErrorWith(log)(
      {
        message: 'Syntax Error: Document contains more that 15000 tokens. Parsing aborted.',
        extensions: { code: 'GRAPHQL_PARSE_FAILED' },
      },
      new GraphQLError('x'),
    )
    expect(parse.extensions!.code).toBe('QUERY_TOO_COMPLEX')
    expect(parse.message).toContain('more than 15000 tokens')
    const typo = formatErrorWith(log)(
      { message: 'Syntax Error: Expected Name, found "}".', extensions: { code: 'GRAPHQL_PARSE_FAILED' } },
      new GraphQLError('x'),
    )
    expect(typo.extensions!.code).toBe('GRAPHQL_PARSE_FAILED')
  })
})

describe('formatError on GraphQL’s own BAD_USER_INPUT', () => {
  const format = (message: string, extensions: Record<string, unknown> = { code: 'BAD_USER_INPUT' }) =>
    formatErrorWith(capturingLogger().log)({ message, extensions }, new GraphQLError(message)).extensions

  it('names the variable and the reason of a value that failed coercion', () => {
    expect(
      format(
        'Variable "$t" got invalid value "not a date"; DateTime cannot represent an invalid date-time-string not a date.',
      ),
    ).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'INVALID_DATE', field: 't' })
    expect(
      format(
        'Variable "$i" got invalid value "NOPE" at "i.entityType"; Value "NOPE" does not exist in "EntityType" enum.',
      ),
    ).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'INVALID_VALUE', field: 'i.entityType' })
    expect(
      format(
        'Variable "$i" got invalid value "zzz" at "i.records[0].geometry"; GeoJSON must be an RFC 7946 geometry object',
        { code: 'BAD_USER_INPUT', reason: 'INVALID_GEOMETRY' },
      ),
    ).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'INVALID_GEOMETRY', field: 'i.records[0].geometry' })
  })

  it('keeps the reason and field a resolver gave', () => {
    expect(
      format('first must be between 0 and 500', {
        code: 'BAD_USER_INPUT',
        reason: 'INVALID_VALUE',
        field: 'first',
      }),
    ).toEqual({ code: 'BAD_USER_INPUT', reason: 'INVALID_VALUE', field: 'first' })
  })
})
