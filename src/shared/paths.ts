import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

// Files the service reads at run time (reference data in seeds/data, the built console in
// dist/console) live at fixed places in the project. They are found from the project root, the
// nearest directory above this module with a package.json, so the same code works from src/
// (tsx, vitest) and compiled into dist/server/src/ (npm start).

function findRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}`)
  }
}

/** The project's root directory (where package.json is). */
export const PROJECT_ROOT = findRoot(dirname(fileURLToPath(import.meta.url)))

/** A path inside the project, e.g. projectPath('seeds', 'data', 'indicators.json'). */
export function projectPath(...parts: string[]): string {
  return join(PROJECT_ROOT, ...parts)
}
