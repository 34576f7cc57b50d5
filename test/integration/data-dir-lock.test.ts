import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DATA_DIR_IN_USE_EXIT, DataDirectoryInUseError, lockDataDirectory } from '../../src/db/embedded.js'

// PGlite has no locking of its own: a second process opening the data directory (npm run keys
// next to npm start) corrupted it. Every command that can open it must refuse, with one line
// naming the directory, and a distinct exit code. The lock is held here by this test process, the
// way a running `npm start` holds it.

const root = mkdtempSync(join(tmpdir(), 'cfd-lock-'))
const dataDir = join(root, 'pglite')
let release: () => void
beforeAll(() => {
  release = lockDataDirectory(dataDir)
})
afterAll(() => {
  release?.()
  rmSync(root, { recursive: true, force: true })
})

function run(script: string, args: string[]): Promise<{ code: number | null; stderr: string; stdout: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'warn' }
  delete env.DATABASE_URL
  return new Promise((resolve) => {
    const child = spawn(join('node_modules', '.bin', 'tsx'), [script, ...args], { env })
    let stderr = ''
    let stdout = ''
    child.stderr.on('data', (d) => (stderr += d))
    child.stdout.on('data', (d) => (stdout += d))
    child.on('close', (code) => resolve({ code, stderr, stdout }))
  })
}

describe('the embedded data directory has one opener at a time', () => {
  const csv = join(root, 'persons.csv')
  writeFileSync(csv, 'sourceKey,name\nk1,Locked\n')
  const commands: [string, string, string[]][] = [
    ['npm start', 'src/main.ts', []],
    ['npm run migrate', 'src/cli/migrate.ts', []],
    ['npm run seed', 'src/cli/seed.ts', ['--persons', '10', '--legal-entities', '2']],
    ['npm run import', 'src/cli/import.ts', ['--department', 'PSB', '--entity-type', 'PERSON', csv]],
    ['npm run keys -- create', 'src/cli/keys.ts', ['create', '--name', 'second opener', '--department', 'PSB']],
    ['npm run keys -- list', 'src/cli/keys.ts', ['list']],
    ['npm run audit:verify', 'src/cli/audit-verify.ts', []],
    ['npm run repair:identities', 'src/cli/repair-identities.ts', []],
  ]
  for (const [name, script, args] of commands)
    it(`${name} refuses with one line naming the directory and exit code ${DATA_DIR_IN_USE_EXIT}`, async () => {
      const r = await run(script, args)
      expect(r.code).toBe(DATA_DIR_IN_USE_EXIT)
      const lines = r.stderr.trim().split('\n')
      expect(lines).toHaveLength(1)
      expect(lines[0]).toContain(`the embedded database directory ${dataDir} is in use by process ${process.pid}`)
      expect(r.stdout).not.toMatch(/API key/)
      // Nothing was created in the directory the lock protects.
      expect(existsSync(join(dataDir, 'PG_VERSION'))).toBe(false)
    })

  it('a second lock in the same process is refused too', () => {
    expect(() => lockDataDirectory(dataDir)).toThrow(DataDirectoryInUseError)
  })

  it('a lock left by a process that no longer runs (kill -9) is taken over, and released on stop', async () => {
    const other = join(root, 'stale')
    const dead = spawn('node', ['-e', '0'])
    await new Promise((r) => dead.on('close', r))
    writeFileSync(`${other}.lock`, JSON.stringify({ pid: dead.pid, command: 'npm start', since: '2026-01-01' }))
    const unlock = lockDataDirectory(other)
    expect(JSON.parse(readFileSync(`${other}.lock`, 'utf8')).pid).toBe(process.pid)
    unlock()
    expect(existsSync(`${other}.lock`)).toBe(false)
  })
})
