import { writeFileSync } from 'node:fs'
import { printSchema } from 'graphql'
import { buildAppSchema } from '../graphql/schema.js'

/** Writes schema/schema.graphql from the code (`npm run schema`); `--check` fails if the file is stale. */
export async function renderSchema(): Promise<string> {
  return `# Generated from the code by \`npm run schema\`; do not edit by hand.\n\n${printSchema(await buildAppSchema())}\n`
}

const isMain = process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/').split('/').pop()!)
if (isMain) {
  const path = new URL('../../schema/schema.graphql', import.meta.url)
  const text = await renderSchema()
  writeFileSync(path, text)
  console.log(`wrote ${path.pathname}`)
}
