import type { HumanRequest, SequencedPart } from '@vel/core'

/** An approval or question for a human, as published on the bus. */
export interface HumanRequestMessage {
  readonly runId: string
  readonly agentId: string
  readonly request: HumanRequest
}

/**
 * How a runtime talks to the world beyond its process: stream parts out, human requests out.
 * Answers come back through `Runtime.approve`/`respond` (a NATS worker calls them for messages it
 * receives). Implementations must not throw from `publishParts`; it is on the hot path.
 */
export interface Bus {
  /** Stream parts of a run, in order, as they happen. */
  publishParts(runId: string, parts: ReadonlyArray<SequencedPart>): void
  /** An approval or a question a run is waiting on. Published again when a run is resumed. */
  publishRequest(message: HumanRequestMessage): Promise<void>
  /** Releases resources. */
  close?(): Promise<void>
}

/** An in-process bus: listeners for human requests and (optionally) every run's parts. */
export interface InProcessBus extends Bus {
  /** Calls `listener` for each human request; returns an unsubscribe function. */
  onRequest(listener: (message: HumanRequestMessage) => void): () => void
  /** Calls `listener` for the parts of every run; returns an unsubscribe function. */
  onParts(listener: (runId: string, parts: ReadonlyArray<SequencedPart>) => void): () => void
}

/** Creates an in-process bus (the default). */
export function createInProcessBus(): InProcessBus {
  const requestListeners = new Set<(message: HumanRequestMessage) => void>()
  const partListeners = new Set<(runId: string, parts: ReadonlyArray<SequencedPart>) => void>()
  return {
    publishParts(runId, parts) {
      for (const listener of partListeners) {
        try {
          listener(runId, parts)
        } catch {
          // A faulty observer must not break the run.
        }
      }
    },
    async publishRequest(message) {
      for (const listener of requestListeners) listener(message)
    },
    onRequest(listener) {
      requestListeners.add(listener)
      return () => requestListeners.delete(listener)
    },
    onParts(listener) {
      partListeners.add(listener)
      return () => partListeners.delete(listener)
    },
  }
}
