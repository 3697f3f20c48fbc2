import type { Command, ModelRequest, RunEvent, RunState, TraceCarrier } from '@vel/core'

/** One model or tool call in flight, as an observer follows it. */
export interface CallObservation {
  /** Runs the executor's work in the call's context (its span is the active one inside). */
  within<T>(work: () => T): T
  /** The call ended with this outcome event; undefined when it was aborted (cancel, shutdown). */
  end(outcome?: RunEvent): void
}

/**
 * What a run's owner tells about the run as it goes, for traces, metrics and logs. The owner calls
 * it on its mailbox's path, so an implementation must be cheap and must never throw.
 */
export interface RunObserver {
  /** The run's own span, journaled in `run.started` so later processes link to it. */
  readonly trace: TraceCarrier | undefined
  /**
   * An event was journaled (after `appendMs` in the store) and applied; these are its commands.
   * `sameAppend`: it went in the same append as the event committed just before it (ADR 0125), so
   * `appendMs` is that append's, already told.
   */
  committed(
    event: RunEvent,
    state: RunState,
    commands: ReadonlyArray<Command>,
    appendMs: number,
    sameAppend?: boolean,
  ): void
  /** A model call starts for this step. */
  modelCall(step: number, request: ModelRequest): CallObservation
  /** A tool handler is about to run. */
  toolCall(command: Extract<Command, { type: 'call-tool' }>): CallObservation
  /**
   * The owner let go of the run: it `ended` (completed, failed or cancelled, see `state.phase`),
   * `paused` (waiting for a human, written down and out of memory), was `released` (shutdown,
   * handed over) or `lost` (lease lost, store down).
   */
  closed(how: 'ended' | 'paused' | 'released' | 'lost', state: RunState | undefined): void
}

const silentCall: CallObservation = { within: (work) => work(), end: () => undefined }

/** An observer that records nothing (before the owner has one, and where nothing would record). */
export const silentObserver: RunObserver = {
  trace: undefined,
  committed: () => undefined,
  modelCall: () => silentCall,
  toolCall: () => silentCall,
  closed: () => undefined,
}
