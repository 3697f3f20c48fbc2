import { type Store, StoreError, type StoreErrorReason } from '@vel/core'
import { afterEach, beforeEach, expect } from 'vitest'

/** What a store factory gets from the suite. */
export interface StoreTestContext {
  /** The clock the store must use; the suite moves it. */
  readonly now: () => number
  /** Stores opened with the same dataset share data (two of them model two connections). */
  readonly dataset: string
}

/** A stored row the suite asks an implementation to make unparsable. */
export interface CorruptTarget {
  /** `run`: the run's index row (any JSON field: pending, answer, error or metadata). */
  readonly kind: 'journal' | 'snapshot' | 'session' | 'run'
  /** The run id (journal, snapshot, run) or session id. */
  readonly id: string
  /** The journal seq, snapshot seq, or the message position in the session (from 0); 0 for a run. */
  readonly seq: number
}

/** A snapshot fixture: a checked-in state of some schema version that must keep loading. */
export interface SnapshotFixture {
  readonly name: string
  readonly schemaVersion: number
  readonly state: unknown
}

/** Options of `describeStore`. */
export interface DescribeStoreOptions {
  /** Overwrites one stored row with unparsable JSON; the corruption tests are skipped without it. */
  readonly corrupt?: (target: CorruptTarget, context: StoreTestContext) => Promise<void>
  /** Snapshot fixtures that must round-trip and decode with `decodeRunState`. */
  readonly fixtures?: ReadonlyArray<SnapshotFixture>
  /** Skips the whole suite (e.g. the server is unreachable). */
  readonly skip?: boolean
}

/** Opens a store for a test; called once per connection. */
export type CreateTestStore = (context: StoreTestContext) => Promise<Store> | Store

/** What each test works with. */
export interface Harness {
  readonly store: Store
  readonly context: StoreTestContext
  /** Opens another, migrated store over the same data. */
  readonly connect: () => Promise<Store>
  /** Moves the clock forward. */
  readonly advance: (ms: number) => void
  /** A unique id for this test (run, agent, session, owner). */
  readonly id: (prefix: string) => string
  readonly corrupt: ((target: CorruptTarget) => Promise<void>) | undefined
}

let datasets = 0
const runTag = Math.random().toString(36).slice(2, 8)

/** Registers hooks that give every test a fresh, migrated store and a clock it controls. */
export const useHarness = (create: CreateTestStore, options: DescribeStoreOptions): (() => Harness) => {
  let current: Harness | undefined
  let opened: Store[] = []
  beforeEach(async () => {
    let time = 1_700_000_000_000
    datasets += 1
    const context: StoreTestContext = { now: () => time, dataset: `ds${datasets}` }
    const connect = async (): Promise<Store> => {
      const store = await create(context)
      opened.push(store)
      await store.migrate()
      return store
    }
    let ids = 0
    const corrupt = options.corrupt
    current = {
      store: await connect(),
      context,
      connect,
      advance: (ms) => {
        time += ms
      },
      id: (prefix) => `${prefix}-${runTag}-${datasets}-${++ids}`,
      corrupt: corrupt === undefined ? undefined : (target) => corrupt(target, context),
    }
  })
  afterEach(async () => {
    const stores = opened
    opened = []
    current = undefined
    for (const store of stores) await store.close()
  })
  return () => {
    if (current === undefined) throw new Error('the harness is only available inside a test')
    return current
  }
}

/** Awaits a promise that must reject with a `StoreError` of the given reason, and returns the error. */
export const expectStoreError = async (
  promise: Promise<unknown>,
  reason: StoreErrorReason,
): Promise<StoreError> => {
  const outcome = await promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  )
  if (!('error' in outcome))
    throw new Error(`expected StoreError(${reason}), got ${JSON.stringify(outcome.value)}`)
  expect(StoreError.isInstance(outcome.error), `not a StoreError: ${String(outcome.error)}`).toBe(true)
  expect((outcome.error as StoreError).reason).toBe(reason)
  return outcome.error as StoreError
}

/** A JSON round trip: what a value looks like after crossing a process boundary. */
export const roundTrip = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T
