import type { PositionedPart } from '@vel/core'

/** What a reader of an outlet is told besides parts. */
export type OutletSignal =
  /** The run waits for a human and has left memory (its stream resumes when it is answered). */
  | 'paused'
  /** The run ended: its terminal parts were the last. */
  | 'ended'
  /** This process stopped owning the run (passivation, handover, shutdown) without it ending. */
  | 'released'

/** A reader's subscription to an outlet. */
export interface OutletListener {
  part(positioned: PositionedPart): void
  signal(signal: OutletSignal): void
  /** Journal entry `seq` was committed, after its parts (if any) were delivered: readers of the journal wake on it. */
  committed?(seq: number): void
}

/**
 * The one stream of parts of a run in this process. The run's owner writes to it: journaled parts
 * once their entry is committed, live deltas of the model call in flight as they come. Readers
 * (in-process handles, SSE responses, the NATS bus) subscribe; a reader that joins mid-call gets the
 * live parts of that call so far, everything older comes from the journal. It holds no history:
 * only the live parts of the call in flight, dropped when its response is journaled.
 */
export class Outlet {
  /** Last journal seq whose parts went out here (0 before any). */
  committedSeq = 0
  private pending: PositionedPart[] = []
  private readonly listeners = new Set<OutletListener>()

  constructor(private readonly sink?: (parts: ReadonlyArray<PositionedPart>) => void) {}

  get listening(): boolean {
    return this.listeners.size > 0
  }

  /** Subscribes; the live parts of the model call in flight are delivered at once. */
  subscribe(listener: OutletListener): () => void {
    this.listeners.add(listener)
    for (const positioned of this.pending) listener.part(positioned)
    return () => this.listeners.delete(listener)
  }

  /** Parts of journal entry `seq`, now committed. */
  commit(seq: number, parts: ReadonlyArray<PositionedPart>): void {
    this.committedSeq = seq
    if (this.pending.length > 0) this.pending = []
    this.deliver(parts)
    for (const listener of this.listeners) listener.committed?.(seq)
  }

  /** A live part of the model call in flight (not journaled yet). */
  live(positioned: PositionedPart): void {
    this.pending.push(positioned)
    this.deliver([positioned])
  }

  signal(signal: OutletSignal): void {
    if (signal !== 'paused') this.pending = []
    for (const listener of this.listeners) listener.signal(signal)
  }

  private deliver(parts: ReadonlyArray<PositionedPart>): void {
    if (parts.length === 0) return
    this.sink?.(parts)
    for (const listener of this.listeners) for (const positioned of parts) listener.part(positioned)
  }
}
