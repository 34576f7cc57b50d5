/**
 * GraphiQL served entirely from npm packages (no CDN): the service runs on
 * offline networks, so every byte the page needs comes from this process.
 *
 * Why graphiql@3 + react@18 UMD files, and not graphiql@5 or a runtime bundle:
 * - graphiql@5 is ESM-only and built on Monaco; serving it means bundling it
 *   (esbuild/vite) and wiring Monaco web workers. Bundling at start-up costs
 *   seconds and memory on every boot, and a build step is one more moving part
 *   that can break offline.
 * - graphiql@3 ships a prebuilt UMD bundle (`graphiql.min.js`, defines
 *   `window.GraphiQL`, expects `window.React`/`window.ReactDOM`) and a single
 *   stylesheet (`graphiql.min.css`, fonts inlined as data: URIs), and
 *   react/react-dom@18 still ship UMD builds (`umd/*.production.min.js`;
 *   React 19 dropped them). So the page is three static files plus a tiny
 *   init script: no build, no workers, nothing fetched from the internet.
 *
 * The files are located through the packages' own `package.json` (resolved
 * with `createRequire(import.meta.url)`, so hoisting/workspaces are honoured).
 * Their `exports` maps don't expose the UMD paths, so `require.resolve` of
 * the file itself would throw ERR_PACKAGE_PATH_NOT_EXPORTED. The existence of
 * every file is checked when the router is created, so a broken install fails
 * at boot rather than as a blank page.
 *
 * The initialisation code is an external script (not inline) and its settings
 * travel as a JSON data block, so the page works under the strict
 * Content-Security-Policy it is sent with (scripts only from 'self').
 *
 * Headers: GraphiQL parses the headers editor with strict `JSON.parse`, so a
 * commented example there would make every request fail with "Headers are
 * invalid JSON". The example `{"Authorization": "Bearer demo-steward"}` is
 * therefore given as a `#` comment in the default query, and the headers tab
 * is opened by default. Headers are not persisted to localStorage (GraphiQL's
 * default `shouldPersistHeaders: false`), so tokens don't linger in browsers.
 */
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import express from 'express'
import type { NextFunction, Request, Response } from 'express'

export interface GraphiQLRouterOptions {
  /** URL GraphiQL sends its POST requests to, e.g. `/graphql`. */
  endpoint: string
  /**
   * Path (relative to where the router is mounted) at which GET requests from
   * browsers get the GraphiQL page. Defaults to `endpoint` when that is a
   * path, else `/graphql`.
   */
  path?: string
  /** Text shown in the query editor on a first visit. */
  defaultQuery?: string
  /** JSON text for the headers editor on a first visit (must be valid JSON or empty). */
  defaultHeaders?: string
  /** Page title. */
  title?: string
}

/** URL prefix (relative to the router's mount point) of the static files. */
export const GRAPHIQL_ASSET_PREFIX = '/graphiql/assets'

export const DEFAULT_GRAPHIQL_QUERY = `# City Foundation Data: GraphQL API
#
# Ctrl-Space autocompletes, Ctrl-Enter runs the query.
# The book icon (top left) opens the schema docs.
#
# If a query needs a token, add it in the Headers tab
# below as JSON, for example:
#   {"Authorization": "Bearer demo-steward"}
#
# This example lists the root fields you can query:
query RootFields {
  __schema {
    queryType {
      fields {
        name
        description
      }
    }
  }
}
`

interface Asset {
  file: string
  contentType: string
}

const require = createRequire(import.meta.url)

function packageFile(pkg: string, relative: string): string {
  const file = join(dirname(require.resolve(`${pkg}/package.json`)), relative)
  if (!existsSync(file)) {
    throw new Error(
      `GraphiQL asset missing: ${pkg}/${relative} (looked at ${file}). ` +
        `Are graphiql@3, react@18 and react-dom@18 installed?`,
    )
  }
  return file
}

const JS = 'text/javascript; charset=utf-8'
const CSS = 'text/css; charset=utf-8'

/** Asset name (as in the URL) -> file in node_modules. Resolved once. */
let resolvedAssets: Record<string, Asset> | undefined
function assets(): Record<string, Asset> {
  resolvedAssets ??= {
    'react.production.min.js': {
      file: packageFile('react', 'umd/react.production.min.js'),
      contentType: JS,
    },
    'react-dom.production.min.js': {
      file: packageFile('react-dom', 'umd/react-dom.production.min.js'),
      contentType: JS,
    },
    'graphiql.min.js': { file: packageFile('graphiql', 'graphiql.min.js'), contentType: JS },
    'graphiql.min.css': { file: packageFile('graphiql', 'graphiql.min.css'), contentType: CSS },
  }
  return resolvedAssets
}

/** Started by the page after the UMD bundles; reads its settings from the JSON block. */
const INIT_SCRIPT = `(function () {
  'use strict';
  var config = JSON.parse(document.getElementById('graphiql-config').textContent);
  var fetcher = GraphiQL.createFetcher({ url: new URL(config.endpoint, window.location.href).toString() });
  var root = ReactDOM.createRoot(document.getElementById('graphiql'));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: config.defaultQuery,
      defaultHeaders: config.defaultHeaders,
      isHeadersEditorEnabled: true,
      defaultEditorToolsVisibility: 'headers',
      shouldPersistHeaders: false
    })
  );
})();
`
const INIT_NAME = 'graphiql-init.js'

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

/** JSON that is safe inside a <script> element (no `</script>`, no `<!--`). */
function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029')
}

function renderPage(base: string, options: Required<Omit<GraphiQLRouterOptions, 'path'>>): string {
  const a = (name: string) => escapeHtml(`${base}${GRAPHIQL_ASSET_PREFIX}/${name}`)
  const config = {
    endpoint: options.endpoint,
    defaultQuery: options.defaultQuery,
    defaultHeaders: options.defaultHeaders,
  }
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(options.title)}</title>
<link rel="stylesheet" href="${a('graphiql.min.css')}">
<style>html, body, #graphiql { height: 100%; margin: 0; overflow: hidden; }</style>
</head>
<body>
<div id="graphiql">Loading GraphiQL…</div>
<script id="graphiql-config" type="application/json">${jsonForScript(config)}</script>
<script src="${a('react.production.min.js')}"></script>
<script src="${a('react-dom.production.min.js')}"></script>
<script src="${a('graphiql.min.js')}"></script>
<script src="${a(INIT_NAME)}"></script>
</body>
</html>
`
}

function contentSecurityPolicy(endpoint: string): string {
  let connect = "'self'"
  if (/^https?:\/\//i.test(endpoint)) connect += ` ${new URL(endpoint).origin}`
  return [
    "default-src 'none'",
    "script-src 'self'",
    // GraphiQL/CodeMirror set style attributes at run time.
    "style-src 'self' 'unsafe-inline'",
    "font-src 'self' data:",
    "img-src 'self' data:",
    `connect-src ${connect}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'self'",
  ].join('; ')
}

function wantsHtml(req: Request): boolean {
  const accept = req.get('accept')
  return typeof accept === 'string' && accept.toLowerCase().includes('text/html')
}

export function graphiqlRouter(options: GraphiQLRouterOptions): express.Router {
  const endpoint = options.endpoint
  const path = options.path ?? (endpoint.startsWith('/') ? new URL(endpoint, 'http://x').pathname : '/graphql')
  const pageOptions = {
    endpoint,
    defaultQuery: options.defaultQuery ?? DEFAULT_GRAPHIQL_QUERY,
    defaultHeaders: options.defaultHeaders ?? '',
    title: options.title ?? 'GraphiQL',
  }
  const files = assets() // fail fast if a package is missing
  const csp = contentSecurityPolicy(endpoint)

  const router = express.Router()

  router.get(path, (req: Request, res: Response, next: NextFunction) => {
    if (!wantsHtml(req)) return next()
    res
      .status(200)
      .set({
        'Content-Type': 'text/html; charset=utf-8',
        'Cache-Control': 'no-store',
        'Content-Security-Policy': csp,
        'X-Content-Type-Options': 'nosniff',
        'Referrer-Policy': 'no-referrer',
        Vary: 'Accept',
      })
      .send(renderPage(req.baseUrl, pageOptions))
  })

  router.get(`${GRAPHIQL_ASSET_PREFIX}/${INIT_NAME}`, (_req: Request, res: Response) => {
    res
      .status(200)
      .set({ 'Content-Type': JS, 'Cache-Control': 'no-cache', 'X-Content-Type-Options': 'nosniff' })
      .send(INIT_SCRIPT)
  })

  router.get(`${GRAPHIQL_ASSET_PREFIX}/:name`, (req: Request, res: Response, next: NextFunction) => {
    const name = req.params.name
    const asset = typeof name === 'string' && Object.hasOwn(files, name) ? files[name] : undefined
    if (!asset) return next()
    res.set({ 'Content-Type': asset.contentType, 'X-Content-Type-Options': 'nosniff' })
    // Revalidated with ETag/Last-Modified, so upgrades of the packages show up at once.
    res.sendFile(asset.file, { cacheControl: true, maxAge: 0, etag: true, lastModified: true }, (err) => {
      if (err && !res.headersSent) next(err)
    })
  })

  return router
}
