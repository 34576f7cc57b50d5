/**
 * Benchmark of caller geometry and key checks (`npm run bench:geometry`), issue 9 points 7 and 14.
 *
 * 1. Shape check in Node: the previous check (the same structural pass plus turf.kinks, which is
 *    quadratic in the ring's length) against the current linear one, on valid circles of n
 *    vertices, in the same run; the ratio old / new is the gain.
 * 2. Over HTTP against a real server: how long an anonymous areaSummary of an 80,000-vertex polygon
 *    takes to be refused, how long one at the vertex cap takes to be answered, and the slowest
 *    /healthz answer measured while each runs.
 * 3. Key verification: an unknown key prefix against a known prefix with a wrong key (both must
 *    cost one scrypt now; the ratio should be ~1).
 *
 * Needs DATABASE_URL (a real PostgreSQL + PostGIS; only migrations and reference data are added).
 */
import 'reflect-metadata'
import os from 'node:os'
import { performance } from 'node:perf_hooks'
import * as turf from '@turf/turf'
import { clearKeyCache, createPrincipal, principalForKey } from '../src/access/keys.js'
import { loadConfig } from '../src/config.js'
import { DEFAULT_MAX_GEOMETRY_VERTICES, validateGeometry } from '../src/reconciliation/rules/validate.js'
import { createServer } from '../src/server.js'

type Ring = [number, number][]

function circle(n: number, lon = 120.1, lat = 30.2, r = 0.01): Ring {
  const ring: Ring = []
  for (let i = 0; i < n - 1; i++) {
    const t = (2 * Math.PI * i) / (n - 1)
    ring.push([Math.round((lon + r * Math.cos(t)) * 1e6) / 1e6, Math.round((lat + r * Math.sin(t)) * 1e6) / 1e6])
  }
  ring.push(ring[0])
  return ring
}

function ms(f: () => void, runs: number): number {
  const times: number[] = []
  for (let i = 0; i < runs; i++) {
    const t = performance.now()
    f()
    times.push(performance.now() - t)
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)]
}

async function main() {
  const url = process.env.DATABASE_URL
  if (!url) throw new Error('DATABASE_URL must name a PostgreSQL + PostGIS database')
  console.log(
    `# geometry bench ${new Date().toISOString()} — ${os.cpus().length} × ${os.cpus()[0].model}, load ${os.loadavg()[0].toFixed(2)}`,
  )

  console.log('\n## shape check in Node (median ms)\n')
  console.log('| vertices | previous (with turf.kinks) | current (linear) | previous / current |')
  console.log('| -------: | -------------------------: | ---------------: | -----------------: |')
  for (const n of [1_000, 5_000, 20_000, 80_000]) {
    const g = { type: 'Polygon', coordinates: [circle(n)] }
    const current = ms(() => validateGeometry(g, ['Polygon'], 'geometry', undefined, Number.MAX_SAFE_INTEGER), 5)
    // The previous check's extra cost was turf.kinks; from 20,000 vertices on it is run once.
    const previous = ms(
      () => {
        validateGeometry(g, ['Polygon'], 'geometry', undefined, Number.MAX_SAFE_INTEGER)
        turf.kinks(turf.polygon(g.coordinates as never))
      },
      n <= 5_000 ? 3 : 1,
    )
    console.log(`| ${n} | ${previous.toFixed(1)} | ${current.toFixed(2)} | ${(previous / current).toFixed(0)} |`)
  }

  const server = await createServer({
    ...loadConfig({ ...process.env, LOG_LEVEL: 'error', PORT: '0', HOST: '127.0.0.1', SEED_DEMO: 'false' }),
  })
  try {
    console.log('\n## over HTTP (anonymous areaSummary)\n')
    console.log('| polygon | answer | request ms | /healthz answers during it | slowest /healthz ms |')
    console.log('| ------- | ------ | ---------: | -------------------------: | ------------------: |')
    for (const n of [80_000, DEFAULT_MAX_GEOMETRY_VERTICES]) {
      const body = JSON.stringify({
        query: 'query($g: GeoJSON!) { areaSummary(geometry: $g) { areaSqKm residentCount } }',
        variables: {
          g: {
            type: 'Polygon',
            coordinates: [circle(n).map(([x, y]) => [Math.round(x * 1e4) / 1e4, Math.round(y * 1e4) / 1e4])],
          },
        },
      })
      let done = false
      let healthz = 0
      let slowest = 0
      const t = performance.now()
      const big = fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      })
        .then((r) => r.json() as Promise<any>)
        .finally(() => {
          done = true
        })
      const loop = (async () => {
        while (!done) {
          const h = performance.now()
          await fetch(`${server.url}/healthz`)
          slowest = Math.max(slowest, performance.now() - h)
          if (!done) healthz++
        }
      })()
      const answer = await big
      const elapsed = performance.now() - t
      await loop
      const what = answer.errors
        ? `${answer.errors[0].extensions.code} (${answer.errors[0].extensions.reason})`
        : 'answered'
      console.log(`| ${n} vertices | ${what} | ${elapsed.toFixed(0)} | ${healthz} | ${slowest.toFixed(1)} |`)
    }

    console.log('\n## key verification (median of 20, ms)\n')
    const { key } = await createPrincipal(server.knex, {
      name: `bench ${Date.now()}`,
      departmentCode: 'PSB',
      roles: ['DEPARTMENT_APP'],
    })
    const unknownPrefix = async () => {
      clearKeyCache()
      const t = performance.now()
      await principalForKey(server.knex, `cfd_zz${Math.random().toString(36).slice(2)}xxxxxxxxxxxxxxxxxxxxxxxx`)
      return performance.now() - t
    }
    const knownPrefixWrongKey = async () => {
      clearKeyCache()
      const t = performance.now()
      await principalForKey(server.knex, `${key.slice(0, 12)}${'A'.repeat(key.length - 12)}`)
      return performance.now() - t
    }
    await unknownPrefix()
    await knownPrefixWrongKey()
    const a: number[] = []
    const b: number[] = []
    for (let i = 0; i < 20; i++) {
      a.push(await unknownPrefix())
      b.push(await knownPrefixWrongKey())
    }
    const med = (x: number[]) => x.sort((p, q) => p - q)[Math.floor(x.length / 2)]
    console.log('| unknown prefix | known prefix, wrong key | unknown / known |')
    console.log('| -------------: | ----------------------: | --------------: |')
    console.log(`| ${med(a).toFixed(1)} | ${med(b).toFixed(1)} | ${(med(a) / med(b)).toFixed(2)} |`)
    await server.knex('principals').where('key_prefix', key.slice(0, 12)).del()
  } finally {
    await server.close()
  }
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
