import { StoreError } from '@vel/core'

/** Position after the last run of a page: runs are ordered by `createdAt` desc, then `runId` desc. */
export interface RunCursor {
  readonly createdAt: number
  readonly runId: string
}

/** Encodes a position as an opaque, URL-safe cursor. */
export const encodeCursor = (cursor: RunCursor): string =>
  Buffer.from(JSON.stringify([cursor.createdAt, cursor.runId]), 'utf8').toString('base64url')

/** Decodes a cursor made by `encodeCursor`; anything else is `invalid-argument`. */
export const decodeCursor = (cursor: string): RunCursor => {
  let parsed: unknown
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
  } catch (cause) {
    throw new StoreError('invalid-argument', 'invalid cursor', { cause })
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 2 ||
    !Number.isSafeInteger(parsed[0]) ||
    typeof parsed[1] !== 'string'
  )
    throw new StoreError('invalid-argument', 'invalid cursor')
  return { createdAt: parsed[0] as number, runId: parsed[1] }
}

/** Whether a run sorts after the cursor position (newest first). */
export const isAfterCursor = (run: RunCursor, cursor: RunCursor): boolean =>
  run.createdAt < cursor.createdAt || (run.createdAt === cursor.createdAt && run.runId < cursor.runId)
