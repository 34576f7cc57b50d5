import { createRequire } from 'node:module'
import { defineConfig } from 'vitest/config'

const require = createRequire(import.meta.url)

export default defineConfig({
  resolve: {
    alias: [
      // graphql has a CommonJS build (main) and an ESM build (module) and no "exports" map. Vite
      // would hand our sources index.mjs while type-graphql, Apollo and graphql-scalars, loaded by
      // Node, get index.js: two graphql instances, whose scalars type-graphql does not recognise
      // ("Cannot determine GraphQL output type"). Pin our sources to the copy Node loads.
      { find: /^graphql$/, replacement: require.resolve('graphql') },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    // The embedded database is a single session: two test files at once would share it and
    // interleave their transactions, so files run one after the other (on a real server too,
    // so both modes see the same order).
    fileParallelism: false,
    // Starts (or migrates) the one database the whole run uses; see test/global-setup.ts.
    globalSetup: ['test/global-setup.ts'],
    // Prints the seed of the test data (TEST_SEED) with every failing test.
    setupFiles: ['test/setup-seed.ts'],
    // Real HTTP against a real PostGIS: queries are slow next to unit tests, and creating the
    // PostGIS extension in a fresh embedded database alone takes ~10 s.
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
})
