import { beforeEach, inject } from 'vitest'

// Printed with every failing test, so the run that failed can be replayed with the same test data.
beforeEach(({ onTestFailed }) => {
  onTestFailed(() => {
    console.error(`[test] failed with seed ${inject('testSeed')}: replay with TEST_SEED=${inject('testSeed')}`)
  })
})
