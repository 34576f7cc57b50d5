import { join } from 'node:path'

/**
 * What `npm start` runs: the service compiled into dist/server by scripts/build-server.mjs
 * (test/global-setup.ts builds it before the first test file), started with plain node.
 */
export const SERVICE_ENTRY = join('dist', 'server', 'src', 'main.js')
