/**
 * @vel/store/testing: the conformance suite every `Store` passes. It imports vitest, so only test
 * files may import this module.
 */
import { describe } from 'vitest'
import { type CreateTestStore, type DescribeStoreOptions, useHarness } from './conformance/harness.ts'
import { journalSuite } from './conformance/journal-suite.ts'
import { leaseSuite } from './conformance/lease-suite.ts'
import { runPatchSuite } from './conformance/run-patch-suite.ts'
import { runsSuite } from './conformance/runs-suite.ts'
import { sessionSuite } from './conformance/session-suite.ts'
import { sessionTurnSuite } from './conformance/session-turn-suite.ts'
import { snapshotSuite } from './conformance/snapshot-suite.ts'

export type {
  CorruptTarget,
  CreateTestStore,
  DescribeStoreOptions,
  SnapshotFixture,
  StoreTestContext,
} from './conformance/harness.ts'
export { expectStoreError, roundTrip } from './conformance/harness.ts'

/**
 * Registers the conformance suite for one store implementation. `createStore` is called once per
 * connection; calls with the same `dataset` must share data, and the store must use `now`.
 */
export function describeStore(
  name: string,
  createStore: CreateTestStore,
  options: DescribeStoreOptions = {},
): void {
  const register = options.skip === true ? describe.skip : describe
  register(`Store conformance: ${name}`, () => {
    const harness = useHarness(createStore, options)
    journalSuite(harness)
    snapshotSuite(harness, options)
    runsSuite(harness)
    runPatchSuite(harness)
    leaseSuite(harness)
    sessionSuite(harness)
    sessionTurnSuite(harness)
  })
}
