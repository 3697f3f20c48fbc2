import { describe, expect, it } from 'vitest'
import { newRunId } from '../src/index.ts'

describe('newRunId (ADR 0124)', () => {
  it('is a UUID version 7 whose first 48 bits are the milliseconds given', () => {
    const at = Date.UTC(2026, 11, 3, 12, 0, 0, 123)
    const id = newRunId(at)
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect(Number.parseInt(id.replaceAll('-', '').slice(0, 12), 16)).toBe(at)
  })

  it('sorts by time, and ids of one millisecond differ', () => {
    const earlier = newRunId(1_000)
    const later = newRunId(1_001)
    expect(earlier < later).toBe(true)
    const same = new Set(Array.from({ length: 1000 }, () => newRunId(5_000)))
    expect(same.size).toBe(1000)
  })
})
