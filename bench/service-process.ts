import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import http from 'node:http'
import { join } from 'node:path'

// The service as `npm start` runs it (src/main.ts compiled by scripts/build-server.mjs, on plain
// node), in its own process: its RSS, CPU and garbage collections are its own, not the load
// driver's.

const root = join(import.meta.dirname, '..')

/** Resolves with the first match of `pattern` on the child's stdout or stderr; rejects on exit or after 120 s. */
export function waitForLine(child: ChildProcess, pattern: RegExp, what: string): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => reject(new Error(`${what} did not start in 120 s:\n${out.slice(-2000)}`)), 120_000)
    const onData = (d: Buffer) => {
      out += d.toString()
      const m = out.match(pattern)
      if (m) {
        clearTimeout(timer)
        resolve(m)
      }
    }
    child.stdout?.on('data', onData)
    child.stderr?.on('data', onData)
    child.on('exit', (code) => reject(new Error(`${what} exited (${code}):\n${out.slice(-2000)}`)))
  })
}

/** Resident memory of a process in MB (from /proc). */
export function rssMb(pid: number): number {
  const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+) kB/)
  return m ? Number(m[1]) / 1024 : Number.NaN
}

export interface ServiceProcess {
  proc: ChildProcess
  /** http://127.0.0.1:port (no path). */
  origin: string
  stop(): void
}

/**
 * Builds and starts the service on a free port of 127.0.0.1 with `env` over the bench's own
 * environment (no demo seed, production mode, rate limits out of the way); resolves when it listens.
 * SERVICE_NODE_ARGS adds node flags for the service (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`);
 * `node` is the binary that runs it (the bench's own by default).
 */
export async function startServiceProcess(
  env: Record<string, string>,
  node: string = process.execPath,
): Promise<ServiceProcess> {
  execFileSync(process.execPath, [join(root, 'scripts/build-server.mjs')], { stdio: 'ignore' })
  const nodeArgs = (process.env.SERVICE_NODE_ARGS ?? '').split(' ').filter(Boolean)
  const proc = spawn(node, [...nodeArgs, join(root, 'dist/server/src/main.js')], {
    cwd: root,
    env: {
      ...process.env,
      PORT: '0',
      HOST: '127.0.0.1',
      SEED_DEMO: 'false',
      LOG_LEVEL: 'info',
      RATE_LIMIT_BURST: '1000000000',
      RATE_LIMIT_PER_SECOND: '1000000000',
      NODE_ENV: 'production',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const stop = () => {
    proc.kill('SIGTERM')
  }
  process.on('exit', stop)
  const port = (await waitForLine(proc, /localhost:(\d+)\/graphql/, 'the service'))[1]
  proc.stdout?.resume()
  proc.stderr?.resume()
  return { proc, origin: `http://127.0.0.1:${port}`, stop }
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 4 })

/**
 * GET over node:http on a kept-alive connection, body read whole: a lean client, as a tile or
 * feature client (GDAL's libcurl, a browser) is, so that what a timing adds to the service's work
 * is the round trip and not the HTTP client's own CPU in this process (undici's fetch adds
 * 0.3–1.5 ms a request here, in the same process as the direct statements it is compared with).
 */
export function httpGet(url: string): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent }, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }))
        res.on('error', reject)
      })
      .on('error', reject)
  })
}
