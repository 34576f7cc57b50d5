import { spawn } from 'node:child_process'
import { describe, expect, inject, it } from 'vitest'
import { SERVICE_ENTRY } from '../support/entry.js'

// `npm start` (the compiled service, test/support/entry.ts) on the Node this suite runs on (CI: Node 22 LTS for the PostgreSQL run) prints no
// deprecation or other runtime warnings. On the embedded database the server would need the one
// connection this run's database has, so the test runs on a real PostgreSQL only (said in its title).
const embedded = inject('embedded')
const run = embedded ? it.skip : it
const why = embedded ? ' — skipped: the embedded database of this run has one connection, held by the tests' : ''

describe('start-up', () => {
  run(
    `the server starts on ${process.version} without a deprecation or runtime warning${why}`,
    async () => {
      const child = spawn(process.execPath, [SERVICE_ENTRY], {
        env: { ...process.env, DATABASE_URL: inject('databaseUrl'), PORT: '0' },
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      const exited = new Promise((r) => child.once('exit', r))
      let out = ''
      const listening = new Promise<void>((resolve, reject) => {
        const onData = (b: Buffer) => {
          out += b
          if (/GraphQL at http/.test(out)) resolve()
        }
        child.stdout.on('data', onData)
        child.stderr.on('data', onData)
        child.on('exit', (code) => reject(new Error(`the server exited (${code}) before listening:\n${out}`)))
      })
      try {
        await listening
      } finally {
        child.kill('SIGTERM')
      }
      await exited
      expect(out).toMatch(/GraphQL at http/)
      expect(out).not.toMatch(/DeprecationWarning|ExperimentalWarning|\(node:\d+\) \w*Warning/)
    },
    120_000,
  )
})
