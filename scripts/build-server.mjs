#!/usr/bin/env node
// Compiles the service's TypeScript (src/, seeds/, migrations/) file by file into dist/server/
// with esbuild, keeping the tree, so that `npm start` runs plain JavaScript on node. Running
// under a TypeScript loader instead (tsx) costs the service ~100 MB of memory for as long as it
// runs: the loader's hooks live in a second V8 isolate (bench/RESULTS.md "Read"). Types are not
// checked here (`npm run typecheck` does that); decorators compile as under tsx and vitest
// (experimentalDecorators, no emitted metadata: every type-graphql field names its type).
// Files that code reads at run time (seeds/data, dist/console) are found from the project root
// (src/shared/paths.ts), not next to the compiled file. Always a full build: ~1 s.
import { readdirSync, rmSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
export const SERVER_OUT = join(root, 'dist', 'server')
/** The compiled entry point `npm start` runs. */
export const SERVER_ENTRY = join(SERVER_OUT, 'src', 'main.js')

function tsFiles(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return name === 'node_modules' || name === 'data' ? [] : tsFiles(path)
    return name.endsWith('.ts') && !name.endsWith('.d.ts') ? [path] : []
  })
}

/** Compiles the service into dist/server; returns the number of files written. */
export async function buildServer() {
  const { build } = await import('esbuild')
  const entryPoints = ['src', 'seeds', 'migrations'].flatMap((d) => tsFiles(join(root, d)))
  rmSync(SERVER_OUT, { recursive: true, force: true })
  await build({
    entryPoints,
    outdir: SERVER_OUT,
    outbase: root,
    bundle: false,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    tsconfig: join(root, 'tsconfig.json'),
    logLevel: 'warning',
  })
  return entryPoints.length
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const started = Date.now()
  const n = await buildServer()
  console.log(`service compiled into dist/server (${n} files) in ${Date.now() - started} ms`)
}
