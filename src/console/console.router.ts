import { existsSync } from 'node:fs'
import { join } from 'node:path'
import express from 'express'
import { projectPath } from '../shared/paths.js'

// The data steward console (console/, built by Vite into dist/console by `npm start`/`npm test`,
// see scripts/build-console.mjs), served from this process: government networks are offline, so
// the page, its scripts, MapLibre's worker and the map data all come from this origin.

export const CONSOLE_DIR = projectPath('dist', 'console')

// Scripts and data only from this origin. MapLibre starts its worker from a blob: URL and sets
// inline styles on its canvas container; images may be data: URLs (MapLibre's controls).
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "worker-src 'self' blob:",
  "child-src 'self' blob:",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
].join('; ')

/** Router for /console; answers 503 with the build command when dist/console is missing. */
export function consoleRouter(dir: string = CONSOLE_DIR): express.Router {
  const router = express.Router()
  router.use((_req, res, next) => {
    res.set('content-security-policy', CSP)
    res.set('x-content-type-options', 'nosniff')
    next()
  })
  router.use((_req, res, next) => {
    if (existsSync(join(dir, 'index.html'))) return next()
    res
      .status(503)
      .type('text/plain')
      .send('The console is not built: run `npm run build:console` (npm start does it).')
  })
  // Hashed asset names never change content: cache them; index.html always revalidates.
  router.use('/assets', express.static(join(dir, 'assets'), { immutable: true, maxAge: '1y', fallthrough: false }))
  router.get(['/', '/index.html'], (_req, res) => {
    res.set('cache-control', 'no-cache').sendFile(join(dir, 'index.html'))
  })
  return router
}
