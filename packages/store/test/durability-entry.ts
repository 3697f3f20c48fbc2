import { createHash } from 'node:crypto'
import type { JournalEntryInput } from '@vel/core'

const digest = (seq: number, body: string) => createHash('sha256').update(`${seq}:${body}`).digest('hex')

/** A ~2 KB entry whose content is derived from its seq, with a checksum, so damage is detectable. */
export const durabilityEntry = (seq: number): JournalEntryInput => {
  const body = `step ${seq} `.repeat(200).slice(0, 2000)
  return { type: 'durability.tick', data: { seq, body, digest: digest(seq, body) } }
}

/** Whether a read entry is exactly what `durabilityEntry` wrote for its seq. */
export const isIntact = (seq: number, data: unknown): boolean => {
  const value = data as { seq?: unknown; body?: unknown; digest?: unknown }
  return value.seq === seq && typeof value.body === 'string' && value.digest === digest(seq, value.body)
}
