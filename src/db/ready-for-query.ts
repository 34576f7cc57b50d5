import type { PGlite } from '@electric-sql/pglite'

// PGlite (0.5.x, upstream issue electric-sql/pglite#958) answers an ErrorResponse raised by an
// extended-protocol message (Parse, Bind, Describe, Execute, Close) with an immediate
// ReadyForQuery, then sends ANOTHER one when the client's Sync arrives. PostgreSQL sends exactly
// one ReadyForQuery per Sync (or simple Query). pg hands the extra one to whichever query it
// sent next: that query resolves with no rows (a wrong answer, not an error), and its real
// reply then arrives unexpected ("Received unexpected commandComplete message from backend").
// Any failing statement with bindings (unique or check violation, a trigger's RAISE, a bad
// parameter) can therefore corrupt a later answer on the embedded database.
//
// The fix: a ReadyForQuery is only ever a reply to Sync, Query, FunctionCall, or the end of a
// COPY, so it is dropped from PGlite's replies to every other frontend message. The socket
// server hands PGlite one message at a time; if it ever hands over several, they are split here
// so each reply is judged against the message that produced it.

const READY_FOR_QUERY = 0x5a // 'Z'
/** Frontend messages to which a backend never replies with ReadyForQuery. */
const EXTENDED_QUERY = new Set([0x50, 0x42, 0x44, 0x45, 0x43, 0x48]) // P B D E C H

type RawStream = PGlite['execProtocolRawStream']

/**
 * Replaces `db.execProtocolRawStream` (what the wire-protocol socket server calls) with a version
 * that drops the premature ReadyForQuery PGlite sends after an error in an extended-protocol
 * message. Other uses of `db` are unchanged.
 */
export function dropPrematureReadyForQuery(db: PGlite): void {
  const original: RawStream = db.execProtocolRawStream.bind(db)
  db.execProtocolRawStream = async (message, options) => {
    // The startup packet has no type byte (its first byte is the high byte of its length).
    if (message.length === 0 || message[0] === 0) return original(message, options)
    for (const one of splitMessages(message)) {
      if (EXTENDED_QUERY.has(one[0])) {
        const filter = readyForQueryFilter(options.onRawData)
        await original(one, { ...options, onRawData: filter.push })
        filter.end()
      } else {
        await original(one, options)
      }
    }
  }
}

/** Splits a buffer of whole frontend messages (type byte + int32 length + body); a torn tail stays one piece. */
export function splitMessages(data: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = []
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength)
  let i = 0
  while (i < data.length) {
    const end = data.length - i >= 5 ? i + 1 + view.getInt32(i + 1) : data.length
    if (end <= i || end > data.length) {
      out.push(data.subarray(i))
      break
    }
    out.push(data.subarray(i, end))
    i = end
  }
  return out
}

/**
 * A streaming filter over backend messages that removes every ReadyForQuery and passes the rest
 * through unchanged (in as few pieces as possible). Messages may be split across chunks: a torn
 * header is held back until the next chunk; a torn ReadyForQuery body is skipped across chunks.
 */
export function readyForQueryFilter(onData: (data: Uint8Array) => void): {
  push(chunk: Uint8Array): void
  end(): void
} {
  let carry: Uint8Array | null = null // start of a header that a chunk cut short
  let skip = 0 // bytes of the current message not yet seen
  let dropping = false // whether the current message is a dropped ReadyForQuery
  return {
    push(chunk: Uint8Array) {
      let data = chunk
      if (carry) {
        data = new Uint8Array(carry.length + chunk.length)
        data.set(carry)
        data.set(chunk, carry.length)
        carry = null
      }
      const view = new DataView(data.buffer, data.byteOffset, data.byteLength)
      let i = 0
      let runStart = 0 // start of the kept bytes not yet passed on
      while (i < data.length) {
        if (skip > 0) {
          const n = Math.min(skip, data.length - i)
          i += n
          skip -= n
          if (skip === 0 && dropping) {
            dropping = false
            runStart = i
          }
          continue
        }
        if (data.length - i < 5) {
          if (i > runStart) onData(data.subarray(runStart, i))
          carry = data.slice(i)
          runStart = data.length
          break
        }
        skip = 1 + view.getInt32(i + 1)
        if (data[i] === READY_FOR_QUERY) {
          if (i > runStart) onData(data.subarray(runStart, i))
          dropping = true
        }
      }
      if (!dropping && runStart < data.length) onData(data.subarray(runStart))
    },
    end() {
      // A reply always ends on a message boundary; pass on anything torn rather than lose it.
      if (carry) onData(carry)
      carry = null
      skip = 0
      dropping = false
    },
  }
}
