import { describe, expect, it } from 'vitest'
import { expectStoreError, type Harness, roundTrip } from './harness.ts'

/** Leases: one owner at a time, renewal, expiry and takeover with a new epoch, release. */
export const leaseSuite = (harness: () => Harness): void => {
  describe('leases', () => {
    it('gives a lease to one owner at a time and renews it for the same owner', async () => {
      const { store, id, context, advance } = harness()
      const runId = id('run')
      const lease = await store.acquireLease(runId, 'w1', 1000)
      expect(lease).toEqual({ runId, ownerId: 'w1', epoch: 1, expiresAt: context.now() + 1000 })
      expect(roundTrip(lease)).toEqual(lease)
      expect(await store.getLease(runId)).toEqual(lease)
      expect(await store.acquireLease(runId, 'w2', 1000)).toBeUndefined()
      advance(500)
      const again = await store.acquireLease(runId, 'w1', 1000)
      expect(again).toEqual({ runId, ownerId: 'w1', epoch: 1, expiresAt: context.now() + 1000 })
      expect(await store.getLease(id('other'))).toBeUndefined()
    })

    it('lets another owner take an expired lease with the next epoch', async () => {
      const { store, id, advance } = harness()
      const runId = id('run')
      const first = await store.acquireLease(runId, 'w1', 1000)
      advance(999)
      expect(await store.acquireLease(runId, 'w2', 1000)).toBeUndefined()
      advance(1)
      expect(await store.getLease(runId)).toBeUndefined()
      const second = await store.acquireLease(runId, 'w2', 1000)
      expect(second).toMatchObject({ ownerId: 'w2', epoch: first!.epoch + 1 })
      expect(await store.getLease(runId)).toEqual(second)
      expect(await store.renewLease(first!, 1000)).toBeUndefined()
      expect(await store.acquireLease(runId, 'w1', 1000)).toBeUndefined()
    })

    it('renews a held lease and refuses to renew a lost one', async () => {
      const { store, id, advance, context } = harness()
      const runId = id('run')
      const lease = await store.acquireLease(runId, 'w1', 1000)
      advance(800)
      const renewed = await store.renewLease(lease!, 1000)
      expect(renewed).toEqual({ ...lease, expiresAt: context.now() + 1000 })
      advance(900)
      expect(await store.acquireLease(runId, 'w2', 1000)).toBeUndefined()
      await expectStoreError(store.acquireLease(runId, 'w2', 0), 'invalid-argument')
    })

    it('releases a lease so the next owner gets the next epoch; a stale release does nothing', async () => {
      const { store, id, advance } = harness()
      const runId = id('run')
      const first = await store.acquireLease(runId, 'w1', 1000)
      await store.releaseLease(first!)
      expect(await store.getLease(runId)).toBeUndefined()
      const second = await store.acquireLease(runId, 'w2', 1000)
      expect(second?.epoch).toBe(first!.epoch + 1)
      await store.releaseLease(first!)
      expect(await store.getLease(runId)).toEqual(second)
      advance(2000)
      const third = await store.acquireLease(runId, 'w1', 1000)
      expect(third?.epoch).toBe(second!.epoch + 1)
    })

    it('lets exactly one of two connections win a race for a free lease', async () => {
      const { store, id, connect } = harness()
      const other = await connect()
      for (let round = 0; round < 5; round++) {
        const runId = id('run')
        const leases = await Promise.all([
          store.acquireLease(runId, 'w1', 1000),
          other.acquireLease(runId, 'w2', 1000),
        ])
        const held = leases.filter((lease) => lease !== undefined)
        expect(held).toHaveLength(1)
        expect(await other.getLease(runId)).toEqual(held[0])
      }
    })
  })
}
