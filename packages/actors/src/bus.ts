import type { HumanRequest, PositionedPart, RunEvent } from '@vel/core'

/** An approval or question for a human, as published on the bus. */
export interface HumanRequestMessage {
  readonly runId: string
  readonly agentId: string
  readonly request: HumanRequest
}

/**
 * How a runtime talks to the world beyond its process: stream parts out, human requests out, and
 * (where the transport can) parts of runs owned elsewhere in, and answers routed to a run's owner.
 * Implementations must not throw from `publishParts`; it is on the hot path.
 */
export interface Bus {
  /** Stream parts of a run with their positions, in order, as they happen. */
  publishParts(runId: string, parts: ReadonlyArray<PositionedPart>): void
  /** An approval or a question a run is waiting on. Published again when a run is resumed. */
  publishRequest(message: HumanRequestMessage): Promise<void>
  /** Parts of a run published by any process (so a reader here can follow a run owned elsewhere). */
  subscribeParts?(runId: string, listener: (parts: ReadonlyArray<PositionedPart>) => void): () => void
  /**
   * Resolves once the `subscribeParts` subscriptions made so far receive everything published from
   * now on (NATS: the server has them). A reader reads the journal only after it, so no part
   * published between its journal read and its subscription is lost.
   */
  partsSubscribed?(): Promise<void>
  /** Hands a caller's event (answer, decision, cancel) to worker `ownerId`; false if it cannot. */
  route?(ownerId: string, runId: string, event: RunEvent): Promise<boolean>
  /** Releases resources. */
  close?(): Promise<void>
}

/** An in-process bus: listeners for human requests and (optionally) every run's parts. */
export interface InProcessBus extends Bus {
  /** Calls `listener` for each human request; returns an unsubscribe function. */
  onRequest(listener: (message: HumanRequestMessage) => void): () => void
  /** Calls `listener` for the parts of every run; returns an unsubscribe function. */
  onParts(listener: (runId: string, parts: ReadonlyArray<PositionedPart>) => void): () => void
}

/** Creates an in-process bus (the default). */
export function createInProcessBus(): InProcessBus {
  const requestListeners = new Set<(message: HumanRequestMessage) => void>()
  const partListeners = new Set<(runId: string, parts: ReadonlyArray<PositionedPart>) => void>()
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
