import { once } from 'node:events'
import { createWriteStream } from 'node:fs'

// The benchmarks' generated CSV files: one cell quoted as CSV needs it, and lines streamed to a
// file with backpressure (a million-person file is never held in memory).

/** A CSV cell, quoted when it holds a quote, comma or line break. */
export const csvCell = (v: string) => (/[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v)

/** Writes the lines to `file`, waiting for the stream to drain when its buffer is full. */
export async function writeLines(file: string, lines: Iterable<string>): Promise<void> {
  const out = createWriteStream(file)
  for (const line of lines) if (!out.write(line)) await once(out, 'drain')
  out.end()
  await once(out, 'finish')
}
