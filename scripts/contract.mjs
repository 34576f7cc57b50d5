#!/usr/bin/env node
// npm run contract [-- --next]: runs the shared contract check (../shared/contract/check.mjs) from
// the project root, after checking what it needs, so a missing piece is one sentence, not a trace.
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const check = join(root, '..', 'shared', 'contract', 'check.mjs')
const fail = (message) => {
  console.error(`contract check: ${message}`)
  process.exit(2)
}
if (!existsSync(check))
  fail(
    `needs the shared contract checked out beside this project (${check} is missing). ` +
      'The contract lives outside this repository; without it only `npm run schema` and the tests apply.',
  )
if (!existsSync(join(root, 'node_modules', 'graphql'))) fail('needs the project dependencies: run `npm install` first.')
if (!existsSync(join(root, 'schema', 'schema.graphql')))
  fail('needs schema/schema.graphql: run `npm run schema` to generate it.')
const run = spawnSync(process.execPath, [check, ...process.argv.slice(2)], { cwd: root, stdio: 'inherit' })
process.exit(run.status ?? 1)
