import type { ServiceError } from './view.js'

// The console talks to its own origin only: /graphql and /ogc, with the key from session storage.

const KEY = 'cfd.console.key'

export const session = {
  key: (): string | null => sessionStorage.getItem(KEY),
  set: (key: string) => sessionStorage.setItem(KEY, key),
  clear: () => sessionStorage.removeItem(KEY),
}

/** A failed call: the service's coded errors, or `network` when no answer came. */
export class ApiError extends Error {
  constructor(
    readonly errors: ServiceError[],
    readonly network = false,
  ) {
    super(errors[0]?.message ?? 'network error')
  }
}

/** POSTs a GraphQL operation; throws ApiError on errors (partial data is not used by the console). */
export async function gql<T = any>(
  query: string,
  variables: Record<string, unknown> = {},
  key = session.key(),
): Promise<T> {
  let res: Response
  try {
    res = await fetch('/graphql', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json',
        'x-purpose': 'steward console',
        ...(key ? { authorization: `Bearer ${key}` } : {}),
      },
      body: JSON.stringify({ query, variables }),
    })
  } catch {
    throw new ApiError([], true)
  }
  let body: { data?: T; errors?: ServiceError[] }
  try {
    body = await res.json()
  } catch {
    throw new ApiError([{ message: `HTTP ${res.status}`, extensions: { code: 'INTERNAL_SERVER_ERROR' } }])
  }
  if (body.errors?.length) throw new ApiError(body.errors)
  return body.data as T
}

/** GETs GeoJSON from the service's OGC API; throws ApiError when it fails. */
export async function ogc(path: string): Promise<any> {
  let res: Response
  try {
    res = await fetch(`/ogc${path}`, {
      headers: {
        accept: 'application/geo+json',
        ...(session.key() ? { authorization: `Bearer ${session.key()}` } : {}),
      },
    })
  } catch {
    throw new ApiError([], true)
  }
  if (res.status === 404) throw new ApiError([{ message: 'not found', extensions: { code: 'NOT_FOUND' } }])
  if (!res.ok) throw new ApiError([{ message: `HTTP ${res.status}`, extensions: { code: 'INTERNAL_SERVER_ERROR' } }])
  return res.json()
}
