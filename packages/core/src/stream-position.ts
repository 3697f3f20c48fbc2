import type { AssistantMessage } from './messages.ts'
import type { RunEvent } from './run-state.ts'
import { blockId } from './step.ts'
import type { StreamPart } from './stream-parts.ts'

/**
 * Where a part stands in its run's stream. Positions survive rehydration and takeover, so a reader
 * that reconnects from one gets exactly the rest.
 *
 * - A **journaled** part is the `index`-th part that the reducer produces for journal entry `seq`
 *   when that entry is replayed (text comes whole per block).
 * - A **live** part is a delta of a model call whose response is not journaled yet: `seq` is the
 *   entry the response will be, `index` counts the live parts of that call, and `live` says which
 *   owner streamed it and how far into the response it is, so a reader that lost the owner can be
 *   continued from the journaled response instead.
 */
export interface PartPosition {
  readonly seq: number
  readonly index: number
  /** Content block of the response (its index in the assistant message) for text, reasoning and tool-input parts. */
  readonly block?: number
  /** Characters of that block's text delivered up to and including this part. */
  readonly offset?: number
  /** For a journaled model response: the lease epoch of the owner that streamed and journaled it. */
  readonly epoch?: number
  /** Set for live parts. */
  readonly live?: LiveMark
}

/** What a live part carries besides its place: the owner that streamed it, and the block left open. */
export interface LiveMark {
  /** Lease epoch of the owner that streamed it: a reader tells a takeover from a duplicate by it. */
  readonly epoch: number
  /** The id and kind of the text or reasoning block still open after this part, if any. */
  readonly open?: { readonly id: string; readonly kind: 'text' | 'reasoning' }
}

/** A stream part with its position. */
export interface PositionedPart {
  readonly position: PartPosition
  readonly part: StreamPart
}

/** The text form of a position (an SSE `id:`, a NATS header): `seq-index`, or `seq~index~…` for live parts. */
export function formatPosition(position: PartPosition): string {
  const { seq, index, live } = position
  if (live === undefined) return `${seq}-${index}`
  const open = live.open === undefined ? '' : `${live.open.kind === 'text' ? 't' : 'r'}:${live.open.id}`
  return `${seq}~${index}~${live.epoch}~${position.block ?? -1}~${position.offset ?? 0}~${open}`
}

/** Parses `formatPosition`'s output; `undefined` for anything else. */
export function parsePosition(text: string): PartPosition | undefined {
  const value = text.trim()
  const journaled = /^(\d{1,15})-(\d{1,9})$/.exec(value)
  if (journaled) return { seq: Number(journaled[1]), index: Number(journaled[2]) }
  const live = /^(\d{1,15})~(\d{1,9})~(\d{1,15})~(-1|\d{1,9})~(\d{1,12})~(?:([tr]):(.{1,200}))?$/.exec(value)
  if (live === null) return undefined
  const block = Number(live[4])
  return {
    seq: Number(live[1]),
    index: Number(live[2]),
    ...(block < 0 ? {} : { block, offset: Number(live[5]) }),
    live: {
      epoch: Number(live[3]),
      ...(live[6] === undefined
        ? {}
        : {
            open: {
              kind: live[6] === 't' ? ('text' as const) : ('reasoning' as const),
              id: live[7] as string,
            },
          }),
    },
  }
}

const contentTypes: ReadonlySet<string> = new Set([
  'text-start',
  'text-delta',
  'text-end',
  'reasoning-start',
  'reasoning-delta',
  'reasoning-end',
])

/**
 * A reader's place in a run's stream: it takes positioned parts from any source (the journal
 * replayed, the owner's live outlet, NATS), in any mix and with repeats, and gives back exactly
 * the parts the reader has not had, so that every reader assembles the same message:
 * - journaled parts at or before the cursor are dropped;
 * - live parts of the entry being streamed are taken in order; when that entry then arrives from
 *   the journal, the text already seen live is skipped and only the rest of it is delivered;
 * - live parts from a different owner epoch mean the earlier attempt was abandoned (takeover): its
 *   open block is closed before the new attempt's parts.
 */
export class StreamCursor {
  private last: PartPosition | undefined
  /** The highest owner epoch seen: live parts of an owner superseded since are never journaled. */
  private epoch = 0

  constructor(after?: PartPosition) {
    this.last = after
    if (after !== undefined) this.epoch = epochOf(after)
  }

  /** The position of the last part delivered (what to reconnect from). */
  get position(): PartPosition | undefined {
    return this.last
  }

  /** The parts of `positioned` to deliver (none, itself, a shortened copy, or closures first). */
  accept(positioned: PositionedPart): StreamPart[] {
    const { position, part } = positioned
    const last = this.last
    if (position.live) {
      // A stale owner (it lost its lease and does not know yet) still streaming: drop it.
      if (position.live.epoch < this.epoch) return []
      // A call's live parts are taken only from its first one: a reader that joined after it (over
      // a bus that does not replay live parts) skips them and gets the entry whole from the journal.
      const joinedLate = position.index !== 0
      if (last === undefined) return joinedLate ? [] : this.take(position, [part])
      if (last.live === undefined) {
        // Live parts of an entry already journaled, or older: seen.
        if (position.seq <= last.seq || joinedLate) return []
        return this.take(position, [part])
      }
      if (position.seq < last.seq) return []
      if (position.seq === last.seq && position.live.epoch === last.live.epoch) {
        if (position.index <= last.index) return []
        return this.take(position, [part])
      }
      // Another owner streams this entry (a takeover), or a later entry began: close what was open.
      if (joinedLate) {
        // Missed this attempt's start: close the old one and wait for the entry from the journal.
        const closed = closing(last)
        this.last = { seq: position.seq - 1, index: Number.MAX_SAFE_INTEGER }
        return closed
      }
      return this.take(position, [...closing(last), part])
    }
    if (last === undefined) return this.take(position, [part])
    if (last.live === undefined) {
      if (position.seq < last.seq || (position.seq === last.seq && position.index <= last.index)) return []
      return this.take(position, [part])
    }
    // The reader saw part of entry `last.seq` live; the journaled entry now arrives.
    if (position.seq < last.seq) return []
    // Not the response the reader watched (another owner's, or an entry of another kind that took
    // its place, such as a cancel): close what was open first.
    const superseded = position.epoch !== last.live.epoch
    if (position.seq > last.seq || superseded) return this.take(position, [...closing(last), part])
    if (!contentTypes.has(part.type) || position.block === undefined) return this.take(position, [part])
    const seenBlock = last.block ?? -1
    if (position.block < seenBlock) return []
    if (position.block > seenBlock) return this.take(position, [...closing(last), part])
    // The block the reader was inside: skip what it has, deliver the rest.
    const open = last.live.open
    if (part.type === 'text-start' || part.type === 'reasoning-start') return []
    if (part.type === 'text-end' || part.type === 'reasoning-end')
      return open === undefined ? [] : this.take(position, [{ ...part, id: open.id }])
    if (part.type === 'text-delta' || part.type === 'reasoning-delta') {
      const rest = part.delta.slice(last.offset ?? 0)
      if (open === undefined || rest === '') return []
      return this.take(position, [{ ...part, id: open.id, delta: rest }])
    }
    return this.take(position, [part])
  }

  private take(position: PartPosition, parts: StreamPart[]): StreamPart[] {
    this.last = position
    this.epoch = Math.max(this.epoch, epochOf(position))
    return parts
  }
}

/**
 * Whether a reader at `last` can take `next` with nothing lost between them; otherwise it missed
 * parts and must read the journal (or ask a worker to replay) before going on.
 */
export function followsDirectly(last: PartPosition | undefined, next: PartPosition): boolean {
  if (last === undefined) return next.seq <= 1 && next.index === 0
  if (next.live) {
    if (last.live && last.seq === next.seq && last.live.epoch === next.live.epoch)
      return next.index <= last.index + 1
    return next.index === 0
  }
  if (next.seq === last.seq && last.live === undefined) return next.index <= last.index + 1
  // A new entry's first part, or the journaled rest of an entry that streamed live.
  return next.index === 0 || (last.live !== undefined && next.seq === last.seq)
}

const epochOf = (position: PartPosition): number => position.live?.epoch ?? position.epoch ?? 0

/** Closing parts for the block a live position left open. */
function closing(position: PartPosition): StreamPart[] {
  const open = position.live?.open
  if (open === undefined) return []
  return [{ type: open.kind === 'text' ? 'text-end' : 'reasoning-end', id: open.id }]
}

/** How many content parts (`text-*`, `reasoning-*`) a replay of `message` yields before its other parts. */
export function contentPartCount(message: AssistantMessage | undefined): number {
  let count = 0
  for (const part of message?.content ?? []) {
    if ((part.type === 'text' && part.text !== '') || part.type === 'reasoning') count += 3
  }
  return count
}

/**
 * Positions for the parts that replaying journal entry `seq` (`event`, applied to a state whose
 * `step` was `stepBefore`) produced, as `forReplay` gives them: the same positions a live owner
 * gives, so journal replays and live outlets can be merged by a `StreamCursor`.
 */
export function positionReplayed(
  seq: number,
  event: RunEvent,
  stepBefore: number,
  parts: ReadonlyArray<StreamPart>,
): PositionedPart[] {
  const message =
    event.type === 'model.responded'
      ? event.message
      : event.type === 'model.failed'
        ? event.partial
        : undefined
  const epoch = event.type === 'model.responded' || event.type === 'model.failed' ? event.epoch : undefined
  // Block ids and offsets are worked out only for content parts (text, reasoning), which few entries have.
  let blocks: Map<string, number> | undefined
  let offsets: Map<string, number> | undefined
  const positioned: PositionedPart[] = []
  for (let index = 0; index < parts.length; index++) {
    const part = parts[index] as StreamPart
    if (message !== undefined && contentTypes.has(part.type)) {
      const id = (part as { id: string }).id
      if (blocks === undefined) {
        blocks = new Map()
        for (let block = 0; block < message.content.length; block++)
          blocks.set(blockId(stepBefore + 1, block, epoch), block)
      }
      const block = blocks.get(id)
      if (block !== undefined) {
        offsets ??= new Map()
        const offset = (offsets.get(id) ?? 0) + ('delta' in part ? part.delta.length : 0)
        offsets.set(id, offset)
        positioned.push({
          position:
            epoch === undefined ? { seq, index, block, offset } : { seq, index, block, offset, epoch },
          part,
        })
        continue
      }
    }
    positioned.push({ position: epoch === undefined ? { seq, index } : { seq, index, epoch }, part })
  }
  return positioned
}

/**
 * Orders two positions of one run's stream: by entry, then an entry's live parts before its
 * journaled ones, then by index. Negative when `a` comes first.
 */
export function comparePositions(a: PartPosition, b: PartPosition): number {
  if (a.seq !== b.seq) return a.seq - b.seq
  if ((a.live === undefined) !== (b.live === undefined)) return a.live ? -1 : 1
  return a.index - b.index
}
