import type { JsonValue, SequencedPart, StreamPart } from '@vel/core'
import { RunError, type RunErrorReason, type SerializedError } from '@vel/core'

/** How a run ended, as its watchers see it. */
export type RunOutcome =
  | { readonly phase: 'completed'; readonly answer: JsonValue }
  | { readonly phase: 'failed'; readonly error: SerializedError }
  | { readonly phase: 'cancelled'; readonly reason: string }

const deferred = <T>() => {
  let resolve!: (value: T) => void
  const promise = new Promise<T>((r) => {
    resolve = r
  })
  return { promise, resolve }
}

/**
 * The in-memory link between a run and the code watching it in this process: its outcome and,
 * when asked for, its stream parts. It outlives passivation, so a handle keeps working when the
 * run is rehydrated later in this process. Exists only while someone watches.
 */
export class RunChannel {
  readonly outcome = deferred<RunOutcome>()
  private buffer: SequencedPart[] | undefined
  private readonly listeners = new Set<(part: SequencedPart) => void>()
  private done = false

  constructor(options: { buffer: boolean }) {
    this.buffer = options.buffer ? [] : undefined
  }

  deliver(parts: ReadonlyArray<SequencedPart>): void {
    for (const part of parts) {
      this.buffer?.push(part)
      for (const listener of this.listeners) listener(part)
    }
  }

  /** Forgets buffered parts (a passivated run must not hold its stream in memory). */
  trim(): void {
    if (this.buffer !== undefined) this.buffer = []
  }

  finish(outcome: RunOutcome): void {
    if (this.done) return
    this.done = true
    this.outcome.resolve(outcome)
  }

  /** Parts so far (if buffered) and then live ones, ending after the terminal `finish` part. */
  async *parts(): AsyncGenerator<StreamPart> {
    const queue: SequencedPart[] = [...(this.buffer ?? [])]
    let wake: (() => void) | undefined
    const listener = (part: SequencedPart) => {
      queue.push(part)
      wake?.()
    }
    this.listeners.add(listener)
    let ended = false
    const outcome = this.outcome.promise.then(() => {
      ended = true
      wake?.()
    })
    try {
      while (true) {
        while (queue.length > 0) {
          const next = queue.shift() as SequencedPart
          yield next.part
          if (next.part.type === 'finish') return
        }
        if (ended) return
        await new Promise<void>((resolve) => {
          wake = resolve
        })
        wake = undefined
      }
    } finally {
      this.listeners.delete(listener)
      void outcome
    }
  }
}

/** The answer of an outcome, or the error it stands for. */
export function answerOf(outcome: RunOutcome, runId: string): JsonValue {
  if (outcome.phase === 'completed') return outcome.answer
  if (outcome.phase === 'cancelled')
    throw new RunError('cancelled', `run ${runId} was cancelled: ${outcome.reason}`, { runId })
  const reason: RunErrorReason =
    outcome.error.tag === 'RunError' ? (outcome.error.reason as RunErrorReason) : 'model-failed'
  throw new RunError(reason, `run ${runId} failed: ${outcome.error.message}`, { runId, cause: outcome.error })
}
