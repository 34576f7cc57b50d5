// The import command, killed hard (SIGKILL, no clean-up) right after its Nth committed chunk, so
// the crash-and-resume test can prove a re-run ends in the state of a clean run.
// Usage: node --import tsx test/support/import-killed-after-chunks.ts N <import arguments…>
import { runImportMain } from '../../src/cli/import.js'

const [n, ...argv] = process.argv.slice(2)
const killAfter = Number(n)
if (!Number.isInteger(killAfter) || killAfter < 1) throw new Error('first argument: chunks to commit before the kill')
runImportMain(argv, {
  afterChunk: (chunks) => {
    if (chunks >= killAfter) process.kill(process.pid, 'SIGKILL')
  },
})
