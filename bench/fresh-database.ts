import pg from 'pg'

/**
 * A benchmark's own database on the server of baseUrl: `url` points at `<prefix>_<pid>`, and
 * `admin(sql)` runs a statement on the server's `postgres` database (to create or drop it).
 */
export function benchDatabase(baseUrl: string, prefix: string) {
  const dbName = `${prefix}_${process.pid}`
  const url = new URL(baseUrl)
  url.pathname = `/${dbName}`
  const adminUrl = new URL(baseUrl)
  adminUrl.pathname = '/postgres'
  async function admin(sql: string): Promise<void> {
    const c = new pg.Client({ connectionString: adminUrl.toString() })
    await c.connect()
    try {
      await c.query(sql)
    } finally {
      await c.end()
    }
  }
  return { dbName, url, admin }
}
