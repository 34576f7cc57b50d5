import { type ApolloServer, type BaseContext, HeaderMap, type HTTPGraphQLRequest } from '@apollo/server'
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express'

// The GraphQL endpoint's HTTP layer, kept thin: every department app's read goes through it, so
// per-request work here is paid a million times a day (bench:read, issue 10).

/** An error shaped like body-parser's, for the server's last-resort handler (coded 400/413 body). */
function bodyError(status: number, type: string, message: string): Error & { status: number; type: string } {
  return Object.assign(new Error(message), { status, type })
}

/** `application/json`, optionally `; charset=utf-8`: the only body the fast reader takes. */
const PLAIN_JSON = /^application\/json\s*(;\s*charset\s*=\s*"?utf-8"?\s*)?$/i

/**
 * JSON bodies up to `limit` bytes. The common request (POST, `application/json` in UTF-8, no
 * Content-Encoding) is read and parsed here; anything else (gzip, other charsets, other media
 * types) goes to express.json, which answers it exactly as before. Same outcomes either way:
 * req.body an object or array ({} when empty), 413 `entity.too.large` beyond the limit, 400
 * `entity.parse.failed` for malformed or non-object JSON.
 */
export function jsonBody(limit: number): RequestHandler {
  const general = express.json({ limit })
  return (req: Request, res: Response, next: NextFunction) => {
    const type = req.headers['content-type']
    const encoding = req.headers['content-encoding']
    if (
      req.method !== 'POST' ||
      typeof type !== 'string' ||
      !PLAIN_JSON.test(type) ||
      (encoding !== undefined && encoding.toLowerCase() !== 'identity')
    )
      return general(req, res, next)
    const declared = Number(req.headers['content-length'] ?? Number.NaN)
    if (declared > limit) {
      req.resume()
      return next(bodyError(413, 'entity.too.large', 'request entity too large'))
    }
    const chunks: Buffer[] = []
    let size = 0
    let failed = false
    req.on('data', (chunk: Buffer) => {
      if (failed) return
      size += chunk.length
      if (size > limit) {
        failed = true
        chunks.length = 0
        next(bodyError(413, 'entity.too.large', 'request entity too large'))
        return
      }
      chunks.push(chunk)
    })
    req.on('error', (e) => {
      if (failed) return
      failed = true
      next(bodyError(400, 'request.aborted', e.message))
    })
    req.on('end', () => {
      if (failed) return
      const text = (chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)).toString('utf8').trim()
      if (text === '') {
        req.body = {}
        return next()
      }
      // body-parser's strict mode: only an object or an array is a GraphQL request body.
      if (text[0] !== '{' && text[0] !== '[')
        return next(bodyError(400, 'entity.parse.failed', 'request body is not a JSON object or array'))
      try {
        req.body = JSON.parse(text)
      } catch {
        return next(bodyError(400, 'entity.parse.failed', 'request body is not valid JSON'))
      }
      next()
    })
  }
}

/**
 * Apollo Server as an express handler, without the integration package's extra work on every
 * request (a legacy URL parse, and express's res.send, which hashes each answer for an ETag that
 * no GraphQL client revalidates): headers in, Apollo's answer out with its status and headers.
 */
export function graphqlHandler<C extends BaseContext>(
  server: ApolloServer<C>,
  context: (args: { req: Request; res: Response; attempt: number }) => Promise<C>,
  /** Whether a complete answer should be computed once more (attempt 1), e.g. a read replica failed under it. */
  retry?: (req: Request, body: string) => boolean,
): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction) => {
    try {
      const headers = new HeaderMap()
      for (const [key, value] of Object.entries(req.headers))
        if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value)
      const q = req.originalUrl.indexOf('?')
      const httpGraphQLRequest: HTTPGraphQLRequest = {
        method: req.method.toUpperCase(),
        headers,
        search: q >= 0 ? req.originalUrl.slice(q) : '',
        body: req.body,
      }
      let answer = await server.executeHTTPGraphQLRequest({
        httpGraphQLRequest,
        context: () => context({ req, res, attempt: 0 }),
      })
      if (answer.body.kind === 'complete' && retry?.(req, answer.body.string))
        answer = await server.executeHTTPGraphQLRequest({
          httpGraphQLRequest,
          context: () => context({ req, res, attempt: 1 }),
        })
      for (const [key, value] of answer.headers) res.setHeader(key, value)
      res.statusCode = answer.status ?? 200
      if (answer.body.kind === 'complete') {
        res.setHeader('content-length', Buffer.byteLength(answer.body.string))
        res.end(answer.body.string)
        return
      }
      for await (const chunk of answer.body.asyncIterator) res.write(chunk)
      res.end()
    } catch (e) {
      next(e)
    }
  }
}
