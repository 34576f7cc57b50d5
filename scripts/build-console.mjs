#!/usr/bin/env node
// Builds the steward console (console/ → dist/console) with Vite when its sources changed since
// the last build; `npm start` and `npm test` run it first (prestart/pretest), so a fresh clone
// needs no separate build step and built files are never committed. The stamp is a hash of every
// source file and the installed Vite and MapLibre versions.
import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const sourceDir = join(root, 'console')
const outDir = join(root, 'dist', 'console')
const stampFile = join(outDir, '.build-stamp')

function files(dir) {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name)
      return statSync(path).isDirectory() ? files(path) : [path]
    })
}

export function sourceStamp() {
  const hash = createHash('sha256')
  for (const file of files(sourceDir)) hash.update(file.slice(root.length)).update(readFileSync(file))
  for (const pkg of ['vite', 'maplibre-gl'])
    hash.update(JSON.parse(readFileSync(join(root, 'node_modules', pkg, 'package.json'), 'utf8')).version)
  return hash.digest('hex')
}

/** Builds unless dist/console is current; returns true when it built. */
export async function buildConsole({ force = false } = {}) {
  const stamp = sourceStamp()
  if (!force && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp) return false
  const { build } = await import('vite')
  await build({ configFile: join(sourceDir, 'vite.config.ts') })
  writeFileSync(stampFile, stamp)
  return true
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const started = Date.now()
  const built = await buildConsole({ force: process.argv.includes('--force') })
  console.log(built ? `console built into dist/console in ${Date.now() - started} ms` : 'console is up to date')
}
