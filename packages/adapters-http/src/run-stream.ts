import type { Runtime } from '@vel/actors'
import { emptyRunState, type RunEvent, type RunState, type StreamPart, step } from '@vel/core'

/** A stream part with its SSE id, `<journalSeq>-<index>`: its durable position in the run's stream. */
export interface Frame {
  readonly id: string
  readonly part: StreamPart
}

/** A position in a run's stream: the journal entry and the index of a part among that entry's parts. */
export interface StreamPosition {
  readonly seq: number
  readonly index: number
}

/** Parses a `Last-Event-ID` (`<journalSeq>-<index>`); `undefined` if it is not one. */
export function parseEventId(value: string): StreamPosition | undefined {
  const match = /^(\d{1,15})-(\d{1,9})$/.exec(value.trim())
  return match ? { seq: Number(match[1]), index: Number(match[2]) } : undefined
}

/** Options of `runFrames`. */
export interface RunFramesOptions {
  /** Skip every frame at or before this position (a reconnect's `Last-Event-ID`). */
  readonly after?: StreamPosition
  /** End when the run waits for a human, closing the open step with `finish-step` and `finish`. */
  readonly untilPause?: boolean
  /** The frames continue a message an earlier response began: open them with `start` and `start-step`. */
  readonly continuation?: boolean
  readonly signal?: AbortSignal
}

const isEnded = (state: RunState) =>
  state.phase === 'completed' || state.phase === 'failed' || state.phase === 'cancelled'

/**
 * A run's UI message stream rebuilt from its journal and then followed live: each entry goes
 * through the same `step` reducer, so replaying and watching give the same parts with the same ids
 * and a reconnect loses nothing and repeats nothing. Text comes whole per model response (the
 * journal holds responses, not token deltas). Synthetic frames (pause closure, continuation
 * prefix) take the next free indices of the entry they follow, which the journal never uses.
 */
export async function* runFrames(
  runtime: Runtime,
  runId: string,
  options: RunFramesOptions = {},
): AsyncGenerator<Frame> {
  const after = options.after ?? { seq: 0, index: -1 }
  let state = emptyRunState
  let cursor = { seq: 0, next: 0 }
  const prefix: StreamPart[] = options.continuation ? [{ type: 'start' }, { type: 'start-step' }] : []
  const synthetic = function* (parts: StreamPart[]): Generator<Frame> {
    for (const part of parts) yield { id: `${cursor.seq}-${cursor.next++}`, part }
  }
  const follow = runtime.follow(runId, options.signal ? { signal: options.signal } : {})
  for await (const entry of follow) {
    const event = entry.data as unknown as RunEvent
    // Live runs journal `streamed: true` (their text went out as deltas); a reader gets it whole.
    const replayed =
      event.type === 'model.responded' && event.streamed ? { ...event, streamed: false } : event
    const [next, commands] = step(state, replayed)
    state = next
    const parts = commands.flatMap((command) => (command.type === 'emit' ? command.parts : []))
    for (const [index, part] of parts.entries()) {
      if (entry.seq < after.seq || (entry.seq === after.seq && index <= after.index)) continue
      if (prefix.length > 0) yield* synthetic(prefix.splice(0))
      yield { id: `${entry.seq}-${index}`, part }
    }
    cursor = { seq: entry.seq, next: parts.length }
    if (isEnded(state)) return
    if (options.untilPause && state.phase === 'waiting' && entry.seq > after.seq) {
      // Decisions may already be journaled behind this entry; only a quiet journal is a pause.
      if ((await runtime.store.lastSeq(runId)) > entry.seq) continue
      yield* synthetic([...prefix.splice(0), { type: 'finish-step' }, { type: 'finish' }])
      return
    }
  }
}
