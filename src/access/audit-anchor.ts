import { createHmac, timingSafeEqual } from 'node:crypto'
import { open, readFile, type FileHandle } from 'node:fs/promises'

/**
 * The access log's anchor outside the database: checkpoints of the hash chain's head (row id and
 * hash), each signed with an HMAC key the database never sees, appended as JSON lines to a file
 * (mount it on storage the database's writers cannot rewrite: another host, a WORM bucket, an
 * append-only file). Whoever can write to the table can recompute the whole chain, but cannot make
 * the signed checkpoints agree with it: audit:verify compares every checkpoint with the chain, so
 * a removed tail row or a rewritten-and-recomputed chain is found. See docs/security.md.
 */
export interface AuditAnchorConfig {
  /** Path of the JSON-lines checkpoint file (AUDIT_ANCHOR_FILE). */
  file: string
  /** HMAC-SHA256 key (AUDIT_ANCHOR_KEY, at least 32 characters). */
  key: string
  /** Least time between checkpoints (AUDIT_ANCHOR_INTERVAL_MS); 0 = after every group commit. */
  intervalMs: number
}

export interface Checkpoint {
  v: 1
  /** Id of the chain's last row when the checkpoint was written (0: empty chain). */
  id: number
  /** hash of that row ("" for the empty chain). */
  hash: string
  at: string
  mac: string
}

export const MIN_ANCHOR_KEY_LENGTH = 32

function mac(key: string, id: number, hash: string, at: string): string {
  return createHmac('sha256', key).update(`access-log-checkpoint|v1|${id}|${hash}|${at}`).digest('hex')
}

/** Signs a checkpoint of the head (id, hash). */
export function signCheckpoint(key: string, id: number, hash: string, at = new Date()): Checkpoint {
  const iso = at.toISOString()
  return { v: 1, id, hash, at: iso, mac: mac(key, id, hash, iso) }
}

function macMatches(key: string, c: Checkpoint): boolean {
  const expected = Buffer.from(mac(key, c.id, c.hash, c.at), 'hex')
  const got = Buffer.from(typeof c.mac === 'string' ? c.mac : '', 'hex')
  return got.length === expected.length && timingSafeEqual(got, expected)
}

export type AnchorRead = { ok: true; checkpoints: Checkpoint[] } | { ok: false; reason: string }

/** Reads and authenticates every checkpoint of the file; the first bad line makes the whole anchor bad. */
export async function readCheckpoints(anchor: Pick<AuditAnchorConfig, 'file' | 'key'>): Promise<AnchorRead> {
  let text: string
  try {
    text = await readFile(anchor.file, 'utf8')
  } catch (e) {
    return { ok: false, reason: `anchor file ${anchor.file} cannot be read (${(e as NodeJS.ErrnoException).code})` }
  }
  const checkpoints: Checkpoint[] = []
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim()
    if (!line) continue
    let c: Checkpoint
    try {
      c = JSON.parse(line)
    } catch {
      // A torn last line (the writer died mid-write) carries no claim; anything else is tampering.
      if (i >= lines.length - 2) continue
      return { ok: false, reason: `anchor line ${i + 1} is not JSON (the anchor file was altered)` }
    }
    if (
      c?.v !== 1 ||
      !Number.isSafeInteger(c.id) ||
      c.id < 0 ||
      typeof c.hash !== 'string' ||
      typeof c.at !== 'string' ||
      !macMatches(anchor.key, c)
    )
      return {
        ok: false,
        reason: `anchor line ${i + 1} has a bad signature (the anchor file was altered, or AUDIT_ANCHOR_KEY is not the key that signed it)`,
      }
    checkpoints.push(c)
  }
  return { ok: true, checkpoints }
}

/** Appends signed checkpoints to the anchor file, at most one per intervalMs (forced ones always). */
export class AnchorWriter {
  private handle?: FileHandle
  private lastWritten = 0
  private lastId = -1

  constructor(readonly config: AuditAnchorConfig) {}

  /**
   * Writes a checkpoint of (id, hash) when due, and syncs it to disk before returning, so a
   * checkpointed head survives a crash of this host. Throws when the file cannot be written.
   */
  async checkpoint(id: number, hash: string, force = false): Promise<void> {
    const now = Date.now()
    if (!force && (id === this.lastId || now - this.lastWritten < this.config.intervalMs)) return
    this.handle ??= await open(this.config.file, 'a', 0o600)
    const line = `${JSON.stringify(signCheckpoint(this.config.key, id, hash, new Date(now)))}\n`
    // One write of a short line to a file opened O_APPEND: lines of several processes never interleave.
    await this.handle.write(line)
    await this.handle.datasync()
    this.lastWritten = now
    this.lastId = id
  }

  async close(): Promise<void> {
    await this.handle?.close()
    this.handle = undefined
  }
}
