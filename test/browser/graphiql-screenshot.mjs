// Browser check of the offline GraphiQL page (src/graphql/graphiql.ts).
// Not part of `npm test` (vitest only picks up *.test.ts files).
//
// How to run (from the repository root):
//   apt-get update && apt-get install -y chromium     # once, Debian's package
//   npx tsx test/browser/graphiql-screenshot.mjs [out.png]
//
// It starts a small express app on 127.0.0.1 (ephemeral port) with the
// GraphiQL router and a dummy POST /graphql that executes against
// `type Query { hello: String }`, then runs headless Chromium twice on
// http://127.0.0.1:PORT/graphql: once with --dump-dom (to check that GraphiQL
// rendered its editors and fetched the schema), once with --screenshot
// (default /tmp/graphiql.png; open it to look at the page). It exits non-zero
// if the page did not render, if it never sent the introspection query, or if
// the server saw a request for anything other than the page, its local assets
// and /graphql. Set CHROMIUM=/path/to/chromium to use another binary.
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import express from 'express'
import { buildSchema, graphql } from 'graphql'
import { graphiqlRouter } from '../../src/graphql/graphiql.ts'

const out = process.argv[2] ?? '/tmp/graphiql.png'
const chromium = process.env.CHROMIUM ?? 'chromium'

const schema = buildSchema('type Query { hello: String }')
const rootValue = { hello: () => 'world' }

const seen = []
let graphqlPosts = 0
let introspected = false

const app = express()
app.use((req, _res, next) => {
  seen.push(`${req.method} ${req.originalUrl}`)
  next()
})
app.use(graphiqlRouter({ endpoint: '/graphql' }))
app.post('/graphql', express.json(), async (req, res) => {
  graphqlPosts += 1
  const { query, variables, operationName } = req.body ?? {}
  if (typeof query === 'string' && query.includes('__schema')) introspected = true
  const result = await graphql({ schema, source: query, rootValue, variableValues: variables, operationName })
  res.json(result)
})

const server = await new Promise((resolve) => {
  const s = app.listen(0, '127.0.0.1', () => resolve(s))
})
const url = `http://127.0.0.1:${server.address().port}/graphql`
console.log(`serving ${url}`)

function runChromium(extraArgs) {
  const profile = mkdtempSync(join(tmpdir(), 'graphiql-chromium-'))
  const args = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    `--user-data-dir=${profile}`,
    '--window-size=1400,900',
    '--virtual-time-budget=5000',
    ...extraArgs,
    url,
  ]
  return new Promise((resolve, reject) => {
    const child = spawn(chromium, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      rmSync(profile, { recursive: true, force: true })
      resolve({ code, stdout, stderr })
    })
  })
}

const failures = []
try {
  const dom = await runChromium(['--dump-dom', '--enable-logging=stderr', '--v=0'])
  const html = dom.stdout
  for (const [what, marker] of [
    ['GraphiQL container', 'graphiql-container'],
    ['query editor (CodeMirror)', 'CodeMirror'],
    ['default query', 'RootFields'],
    ['headers tab', 'Headers'],
  ]) {
    if (!html.includes(marker)) failures.push(`rendered DOM lacks ${what} (${marker})`)
  }
  if (html.includes('Loading GraphiQL…')) failures.push('page still shows the loading placeholder')
  const consoleErrors = dom.stderr.split('\n').filter((l) => /CONSOLE|Refused to|ERR_/.test(l))
  if (consoleErrors.length) console.log('browser messages:\n' + consoleErrors.join('\n'))

  const shot = await runChromium([`--screenshot=${out}`])
  if (shot.code !== 0) failures.push(`chromium --screenshot exited ${shot.code}: ${shot.stderr.slice(-500)}`)
  else if (statSync(out).size < 10_000) failures.push(`screenshot ${out} is suspiciously small`)
} finally {
  server.closeAllConnections()
  server.close()
}

if (!introspected) failures.push(`GraphiQL never sent an introspection query (${graphqlPosts} POSTs)`)
const allowed = /^(GET \/graphql$|GET \/graphiql\/assets\/[\w.-]+$|POST \/graphql$|GET \/favicon\.ico$)/
const unexpected = [...new Set(seen)].filter((r) => !allowed.test(r))
if (unexpected.length) failures.push(`unexpected requests: ${unexpected.join(', ')}`)

console.log('requests seen by the server:\n  ' + [...new Set(seen)].join('\n  '))
if (failures.length) {
  console.error('FAILED:\n  ' + failures.join('\n  '))
  process.exit(1)
}
console.log(`OK: GraphiQL rendered; screenshot at ${out}`)
