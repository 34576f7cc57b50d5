import { parseArgs } from 'node:util'
import { createPrincipal, listPrincipals, revokePrincipal } from '../access/keys.js'
import { loadConfig } from '../config.js'
import { ROLES, type RoleName } from '../shared/entity-types.js'
import { isDepartment } from '../reconciliation/authority.store.js'
import { openCliDatabase } from './database.js'

const USAGE = `usage:
  npm run keys -- create --name "PSB household app" --department PSB --roles DEPARTMENT_APP
  npm run keys -- list
  npm run keys -- revoke <principal id>
The key is printed once by create; only its scrypt hash is stored.`

/** `npm run keys`: create (prints the key once), list, revoke. Exit 2 on bad usage. */
async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      name: { type: 'string' },
      department: { type: 'string' },
      roles: { type: 'string' },
      help: { type: 'boolean' },
    },
  })
  const [command, arg] = positionals
  if (values.help || !command || !['create', 'list', 'revoke'].includes(command)) {
    console.error(USAGE)
    return 2
  }
  const roles = (values.roles ?? 'DEPARTMENT_APP')
    .split(',')
    .map((r) => r.trim().toUpperCase())
    .filter(Boolean)
  if (command === 'create') {
    if (!values.name) {
      console.error('create needs --name\n' + USAGE)
      return 2
    }
    const bad = roles.filter((r) => !(ROLES as readonly string[]).includes(r))
    if (bad.length) {
      console.error(`unknown role(s) ${bad.join(', ')}; roles are ${ROLES.join(', ')}`)
      return 2
    }
  }
  if (command === 'revoke' && !arg) {
    console.error('revoke needs a principal id\n' + USAGE)
    return 2
  }

  const db = await openCliDatabase(loadConfig())
  try {
    if (command === 'create') {
      const department = values.department?.trim().toUpperCase() || null
      if (department && !(await isDepartment(db.knex, department))) {
        console.error(`unknown department ${department}`)
        return 2
      }
      const { principal, key } = await createPrincipal(db.knex, {
        name: values.name!,
        departmentCode: department,
        roles: roles as RoleName[],
      })
      console.log(
        `principal ${principal.id} (${principal.name}, ${department ?? 'no department'}, ${principal.roles.join(',')})`,
      )
      console.log(`API key (shown once, store it now): ${key}`)
    } else if (command === 'list') {
      for (const p of await listPrincipals(db.knex))
        console.log(
          [
            p.id,
            p.key_prefix + '…',
            p.department_code ?? '-',
            p.roles.join(','),
            p.name,
            p.revoked_at ? `revoked ${p.revoked_at.toISOString()}` : 'active',
          ].join('\t'),
        )
    } else {
      const ok = await revokePrincipal(db.knex, arg!)
      console.log(ok ? `revoked ${arg} (servers forget cached keys within 30 s)` : `no active principal ${arg}`)
      if (!ok) return 1
    }
    return 0
  } finally {
    await db.close()
  }
}

process.exitCode = await main(process.argv.slice(2)).catch((e) => {
  console.error(`keys: ${(e as Error).message}`)
  return 1
})
