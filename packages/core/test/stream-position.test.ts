import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  comparePositions,
  formatPosition,
  type PartPosition,
  type PositionedPart,
  parsePosition,
  StreamCursor,
  type StreamPart,
} from '../src/index.ts'

const live = (seq: number, index: number, epoch: number, block: number, offset: number, open?: string) => ({
  seq,
  index,
  block,
  offset,
  live: { epoch, ...(open === undefined ? {} : { open: { id: open, kind: 'text' as const } }) },
})

/** A model response streamed live as entry 2 by epoch 1: `Hel` + `lo`, then its journaled rest. */
const liveParts: PositionedPart[] = [
  { position: live(2, 0, 1, 0, 0, '1-0.1'), part: { type: 'text-start', id: '1-0.1' } },
  { position: live(2, 1, 1, 0, 3, '1-0.1'), part: { type: 'text-delta', id: '1-0.1', delta: 'Hel' } },
  { position: live(2, 2, 1, 0, 5, '1-0.1'), part: { type: 'text-delta', id: '1-0.1', delta: 'lo' } },
  { position: live(2, 3, 1, 0, 5), part: { type: 'text-end', id: '1-0.1' } },
  { position: { seq: 2, index: 3, epoch: 1 }, part: { type: 'finish-step' } },
  { position: { seq: 2, index: 4, epoch: 1 }, part: { type: 'finish', finishReason: 'stop' } },
]
/** The same entry replayed from the journal: the block whole. */
const replayParts: PositionedPart[] = [
  {
    position: { seq: 2, index: 0, block: 0, offset: 0, epoch: 1 },
    part: { type: 'text-start', id: '1-0.1' },
  },
  {
    position: { seq: 2, index: 1, block: 0, offset: 5, epoch: 1 },
    part: { type: 'text-delta', id: '1-0.1', delta: 'Hello' },
  },
  { position: { seq: 2, index: 2, block: 0, offset: 5, epoch: 1 }, part: { type: 'text-end', id: '1-0.1' } },
  { position: { seq: 2, index: 3, epoch: 1 }, part: { type: 'finish-step' } },
  { position: { seq: 2, index: 4, epoch: 1 }, part: { type: 'finish', finishReason: 'stop' } },
]
const text = (parts: StreamPart[]) =>
  parts.map((part) => (part.type === 'text-delta' ? part.delta : '')).join('')

describe('positions', () => {
  it('round-trip through their text form, and order live parts before their journaled entry', () => {
    for (const { position } of [...liveParts, ...replayParts]) {
      const parsed = parsePosition(formatPosition(position)) as PartPosition
      expect(formatPosition(parsed)).toBe(formatPosition(position))
    }
    expect(parsePosition('not-a-position')).toBeUndefined()
    expect(comparePositions(live(2, 3, 1, 0, 5), { seq: 2, index: 0 })).toBeLessThan(0)
    expect(comparePositions({ seq: 2, index: 4 }, live(3, 0, 1, 0, 0))).toBeLessThan(0)
  })
})

describe('StreamCursor', () => {
  it('drops repeats of what it delivered', () => {
    const cursor = new StreamCursor()
    const first = liveParts.flatMap((positioned) => cursor.accept(positioned))
    const again = liveParts.flatMap((positioned) => cursor.accept(positioned))
    expect(text(first)).toBe('Hello')
    expect(again).toEqual([])
  })

  it('a reader that saw part of a block live gets only the rest of it from the journal', () => {
    const cursor = new StreamCursor()
    const seen = liveParts.slice(0, 2).flatMap((positioned) => cursor.accept(positioned))
    // The owner is gone; the same reader now reads the journaled entry.
    const rest = replayParts.flatMap((positioned) => cursor.accept(positioned))
    expect(text(seen)).toBe('Hel')
    expect(rest).toEqual([
      { type: 'text-delta', id: '1-0.1', delta: 'lo' },
      { type: 'text-end', id: '1-0.1' },
      { type: 'finish-step' },
      { type: 'finish', finishReason: 'stop' },
    ])
  })

  it('reconnecting from a live position given as text continues exactly', () => {
    const at = parsePosition(formatPosition(liveParts[1]?.position as PartPosition))
    const cursor = new StreamCursor(at)
    const rest = replayParts.flatMap((positioned) => cursor.accept(positioned))
    expect(text(rest)).toBe('lo')
  })

  it('closes the open block of an attempt another owner superseded', () => {
    const cursor = new StreamCursor()
    for (const positioned of liveParts.slice(0, 2)) cursor.accept(positioned)
    const retried = cursor.accept({
      position: live(2, 0, 2, 0, 0, '1-0.2'),
      part: { type: 'text-start', id: '1-0.2' },
    })
    expect(retried).toEqual([
      { type: 'text-end', id: '1-0.1' },
      { type: 'text-start', id: '1-0.2' },
    ])
  })

  it('any split of live and replayed parts gives the same text as the live stream (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: liveParts.length }), fc.boolean(), (cut, repeat) => {
        const cursor = new StreamCursor()
        const out = [
          ...liveParts.slice(0, cut).flatMap((positioned) => cursor.accept(positioned)),
          ...(repeat ? liveParts.slice(0, cut).flatMap((positioned) => cursor.accept(positioned)) : []),
          ...replayParts.flatMap((positioned) => cursor.accept(positioned)),
        ]
        expect(text(out)).toBe('Hello')
        expect(out.filter((part) => part.type === 'finish')).toHaveLength(1)
        expect(out.filter((part) => part.type === 'text-start')).toHaveLength(1)
      }),
    )
  })
})

describe('StreamCursor: a reader that joins in the middle of a model call', () => {
  it('skips the live parts it cannot continue and takes the entry whole from the journal', () => {
    // It read entry 1 from the journal, then subscribed to a bus after the call's first parts went out.
    const cursor = new StreamCursor({ seq: 1, index: 2 })
    const live = liveParts.slice(2, 4).flatMap((positioned) => cursor.accept(positioned))
    const journaled = replayParts.flatMap((positioned) => cursor.accept(positioned))
    expect(live).toEqual([])
    expect(journaled.map((part) => part.type)).toEqual([
      'text-start',
      'text-delta',
      'text-end',
      'finish-step',
      'finish',
    ])
    expect(text(journaled)).toBe('Hello')
  })

  it("after a takeover it missed the start of, closes the old attempt's block and waits for the journal", () => {
    const cursor = new StreamCursor()
    for (const positioned of liveParts.slice(0, 2)) cursor.accept(positioned)
    const retried = cursor.accept({
      position: live(2, 1, 2, 0, 3, '1-0.2'),
      part: { type: 'text-delta', id: '1-0.2', delta: 'Hel' },
    })
    expect(retried).toEqual([{ type: 'text-end', id: '1-0.1' }])
    const journaled = replayParts
      .map((positioned) => ({ ...positioned, position: { ...positioned.position, epoch: 2 } }))
      .flatMap((positioned) => cursor.accept(positioned))
    expect(journaled[0]).toEqual({ type: 'text-start', id: '1-0.1' })
    expect(text(journaled)).toBe('Hello')
  })
})

describe('StreamCursor: a stale owner', () => {
  it('drops the live parts of an owner another one superseded (it lost its lease and streams on)', () => {
    const cursor = new StreamCursor()
    const retried = [
      { position: live(2, 0, 2, 0, 0, '1-0.2'), part: { type: 'text-start', id: '1-0.2' } },
      { position: live(2, 1, 2, 0, 5, '1-0.2'), part: { type: 'text-delta', id: '1-0.2', delta: 'Hello' } },
    ] satisfies PositionedPart[]
    const out = [...retried, ...liveParts.slice(0, 3)].flatMap((positioned) => cursor.accept(positioned))
    expect(out).toEqual([
      { type: 'text-start', id: '1-0.2' },
      { type: 'text-delta', id: '1-0.2', delta: 'Hello' },
    ])
  })
})

describe('StreamCursor: an entry of another kind takes the place of the response streaming', () => {
  it('a cancel journaled while a block was open closes the block before its own parts', () => {
    const cursor = new StreamCursor()
    for (const positioned of liveParts.slice(0, 2)) cursor.accept(positioned)
    const cancelled = [
      { position: { seq: 2, index: 0 }, part: { type: 'finish-step' } },
      { position: { seq: 2, index: 1 }, part: { type: 'finish', finishReason: 'other' } },
    ] satisfies PositionedPart[]
    expect(cancelled.flatMap((positioned) => cursor.accept(positioned))).toEqual([
      { type: 'text-end', id: '1-0.1' },
      { type: 'finish-step' },
      { type: 'finish', finishReason: 'other' },
    ])
  })
})
