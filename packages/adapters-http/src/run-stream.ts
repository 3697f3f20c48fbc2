import type { Runtime } from '@vel/actors'
import { formatPosition, type PartPosition, parsePosition, type StreamPart } from '@vel/core'

/** A stream part with its SSE id: its durable position in the run's stream (absent on framing parts). */
export interface Frame {
  readonly id?: string
  readonly part: StreamPart
}

/** Parses a `Last-Event-ID`; `undefined` if it is not a position this server gave. */
export const parseEventId = (value: string): PartPosition | undefined => parsePosition(value)

/** Options of `runFrames`. */
export interface RunFramesOptions {
  /** Skip every part at or before this position (a reconnect's `Last-Event-ID`). */
  readonly after?: PartPosition
  /** End when the run waits for a human, closing the open step with `finish-step` and `finish`. */
  readonly untilPause?: boolean
  /** The frames continue a message an earlier response began (after an approval or an answer). */
  readonly continuation?: boolean
  readonly signal?: AbortSignal
}

/**
 * A run's UI message stream as SSE frames: `runtime.stream` (the journal after `after`, then the
 * owner's outlet live, deltas included) with each part's position as its id, so a reconnect with
 * `Last-Event-ID` loses nothing and repeats nothing. With `untilPause` a pause for a human closes
 * the message; a `continuation` opens with `start` and carries on inside the step the pause
 * closed (the decision's tool outputs belong to it), so the assembled message has no empty step.
 */
export async function* runFrames(
  runtime: Runtime,
  runId: string,
  options: RunFramesOptions = {},
): AsyncGenerator<Frame> {
  let opened = !options.continuation
  let inStep = false
  let skipFinishStep = options.continuation === true
  let ended = false
  for await (const { position, part } of runtime.stream(runId, {
    ...(options.after === undefined ? {} : { after: options.after }),
    ...(options.untilPause ? { untilPause: true } : {}),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  })) {
    if (!opened) {
      opened = true
      yield { part: { type: 'start' } }
    }
    if (skipFinishStep && part.type === 'finish-step') {
      // The step the pause closed: its end was already sent with the pause.
      skipFinishStep = false
      continue
    }
    if (part.type === 'start-step') {
      skipFinishStep = false
      inStep = true
    }
    if (part.type === 'finish-step') inStep = false
    if (part.type === 'finish') ended = true
    yield { id: formatPosition(position), part }
  }
  if (ended || !options.untilPause || options.signal?.aborted) return
  if (!opened) yield { part: { type: 'start' } }
  if (inStep) yield { part: { type: 'finish-step' } }
  yield { part: { type: 'finish' } }
}
