import { type ApolloServer, type BaseContext, HeaderMap, type HTTPGraphQLRequest } from '@apollo/server'
import type { IncomingMessage, ServerResponse } from 'node:http'
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express'
import { requestPrincipal } from '../access/http.js'
import type { Principal } from '../access/principal.js'

// The GraphQL endpoint's HTTP layer, kept thin: every department app's read goes through it, so
// per-request work here is paid a million times a day (bench:read, issue 10).

/** An error shaped like body-parser's, for the server's last-resort handler (coded 400/413 body). */
export function bodyError(status: number, type: string, message: string): Error & { status: number; type: string } {
  return Object.assign(new Error(message), { status, type })
}

/** `application/json`, optionally `; charset=utf-8`: the only body the fast reader takes. */
const PLAIN_JSON = /^application\/json\s*(;\s*charset\s*=\s*"?utf-8"?\s*)?$/i

/** True for the common GraphQL request: POST, `application/json` in UTF-8, no Content-Encoding. */
export function isPlainJsonPost(req: IncomingMessage): boolean {
  const type = req.headers['content-type']
  const encoding = req.headers['content-encoding']
  return (
    req.method === 'POST' &&
    typeof type === 'string' &&
    PLAIN_JSON.test(type) &&
    (encoding === undefined || encoding.toLowerCase() === 'identity')
  )
}

/**
 * Reads and parses a plain JSON body (isPlainJsonPost) of at most `limit` bytes, with
 * body-parser's outcomes: an object or array ({} when empty); rejects with a 413
 * `entity.too.large` beyond the limit, 400 `entity.parse.failed` for malformed or non-object JSON.
 */
export function readPlainJson(req: IncomingMessage, limit: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? Number.NaN)
    if (declared > limit) {
      req.resume()
      reject(bodyError(413, 'entity.too.large', 'request entity too large'))
      return
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
        reject(bodyError(413, 'entity.too.large', 'request entity too large'))
        return
      }
      chunks.push(chunk)
    })
    req.on('error', (e) => {
      if (failed) return
      failed = true
      reject(bodyError(400, 'request.aborted', e.message))
    })
    req.on('end', () => {
      if (failed) return
      const text = (chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)).toString('utf8').trim()
      if (text === '') return resolve({})
      // body-parser's strict mode: only an object or an array is a GraphQL request body.
      if (text[0] !== '{' && text[0] !== '[')
        return reject(bodyError(400, 'entity.parse.failed', 'request body is not a JSON object or array'))
      try {
        resolve(JSON.parse(text))
      } catch {
        reject(bodyError(400, 'entity.parse.failed', 'request body is not valid JSON'))
      }
    })
  })
}

/**
 * JSON bodies up to `limit` bytes as express middleware. The common request (isPlainJsonPost) is
 * read here (readPlainJson); anything else (gzip, other charsets, other media types) goes to
 * express.json, which answers it exactly as before.
 */
export function jsonBody(limit: number): RequestHandler {
  const general = express.json({ limit })
  return (req: Request, res: Response, next: NextFunction) => {
    if (!isPlainJsonPost(req)) return general(req, res, next)
    readPlainJson(req, limit).then((body) => {
      req.body = body
      next()
    }, next)
  }
}

/** One GraphQL request as the context factory sees it. */
export interface GraphQLRequestInfo {
  req: IncomingMessage
  /** The parsed body (POST; for GET the operation is in `search`). */
  body: unknown
  /** The URL's query string with its "?", or "". */
  search: string
  principal: Principal
  /** 0, or 1 when the answer is computed once more (see retry). */
  attempt: number
}

/**
 * Apollo Server on a plain node request whose body is already parsed and whose caller the gate
 * admitted: headers in, Apollo's answer out with its status and headers, without the integration
 * package's extra work on every request (a legacy URL parse, and express's res.send, which hashes
 * each answer for an ETag that no GraphQL client revalidates).
 */
export function graphqlResponder<C extends BaseContext>(
  server: ApolloServer<C>,
  context: (info: GraphQLRequestInfo) => Promise<C>,
  /** Whether a complete answer should be computed once more (attempt 1), e.g. a read replica failed under it. */
  retry?: (req: IncomingMessage, body: string) => boolean,
): (req: IncomingMessage, res: ServerResponse, body: unknown, principal: Principal) => Promise<void> {
  return async (req, res, body, principal) => {
    const headers = new HeaderMap()
    for (const [key, value] of Object.entries(req.headers))
      if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value)
    const url = req.url ?? ''
    const q = url.indexOf('?')
    const search = q >= 0 ? url.slice(q) : ''
    const httpGraphQLRequest: HTTPGraphQLRequest = {
      method: (req.method ?? 'GET').toUpperCase(),
      headers,
      search,
      body,
    }
    let answer = await server.executeHTTPGraphQLRequest({
      httpGraphQLRequest,
      context: () => context({ req, body, search, principal, attempt: 0 }),
    })
    if (answer.body.kind === 'complete' && retry?.(req, answer.body.string))
      answer = await server.executeHTTPGraphQLRequest({
        httpGraphQLRequest,
        context: () => context({ req, body, search, principal, attempt: 1 }),
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
  }
}

/** graphqlResponder as an express handler (after the gate and jsonBody). */
export function graphqlHandler(
  respond: (req: IncomingMessage, res: ServerResponse, body: unknown, principal: Principal) => Promise<void>,
): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    respond(req, res, req.body, requestPrincipal(res)).catch(next)
  }
}
