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
  describe('createRun with a lease', () => {
    it('creates the run and its first lease together', async () => {
      const { store, id, context } = harness()
      const runId = id('run')
      const created = await store.createRun({
        runId,
        agentId: 'agent',
        lease: { ownerId: 'w1', ttlMs: 1000 },
      })
      const lease = { runId, ownerId: 'w1', epoch: 1, expiresAt: context.now() + 1000 }
      expect(created.lease).toEqual(lease)
      const { lease: _, ...record } = created
      expect(await store.getRun(runId)).toEqual(record)
      expect(record).not.toHaveProperty('lease')
      expect(await store.getLease(runId)).toEqual(lease)
      expect(await store.acquireLease(runId, 'w2', 1000)).toBeUndefined()
      expect(await store.renewLease(lease, 1000)).toMatchObject({ ownerId: 'w1', epoch: 1 })
      // Without a lease, none is taken and none comes back.
      const plain = id('run')
      expect(await store.createRun({ runId: plain, agentId: 'agent' })).not.toHaveProperty('lease')
      expect(await store.getLease(plain)).toBeUndefined()
    })

    it("writes nothing under another owner's live lease, and takes an expired one with the next epoch", async () => {
      const { store, id, advance } = harness()
      const runId = id('run')
      const theirs = await store.acquireLease(runId, 'w2', 1000)
      await expectStoreError(
        store.createRun({ runId, agentId: 'agent', lease: { ownerId: 'w1', ttlMs: 1000 } }),
        'conflict',
      )
      expect(await store.getRun(runId)).toBeUndefined()
      expect(await store.getLease(runId)).toEqual(theirs)
      advance(1000)
      const created = await store.createRun({
        runId,
        agentId: 'agent',
        lease: { ownerId: 'w1', ttlMs: 1000 },
      })
      expect(created.lease).toMatchObject({ ownerId: 'w1', epoch: theirs!.epoch + 1 })
      expect(await store.getLease(runId)).toEqual(created.lease)
    })

    it('leaves the lease alone when the run is refused (duplicate, busy session, bad argument)', async () => {
      const { store, id, advance } = harness()
      const [runId, sessionId, refused] = [id('run'), id('session'), id('run')]
      const first = await store.createRun({
        runId,
        agentId: 'agent',
        sessionId,
        claimSession: true,
        lease: { ownerId: 'w1', ttlMs: 1000 },
      })
      advance(500)
      // The same id again, even by the same owner: conflict, and the lease is not renewed.
      await expectStoreError(
        store.createRun({ runId, agentId: 'agent', lease: { ownerId: 'w1', ttlMs: 5000 } }),
        'conflict',
      )
      await expectStoreError(
        store.createRun({ runId, agentId: 'agent', lease: { ownerId: 'w2', ttlMs: 5000 } }),
        'conflict',
      )
      expect(await store.getLease(runId)).toEqual(first.lease)
      await expectStoreError(
        store.createRun({
          runId: refused,
          agentId: 'agent',
          sessionId,
          claimSession: true,
          lease: { ownerId: 'w2', ttlMs: 1000 },
        }),
        'busy',
      )
      expect(await store.getRun(refused)).toBeUndefined()
      expect(await store.getLease(refused)).toBeUndefined()
      await expectStoreError(
        store.createRun({ runId: refused, agentId: 'agent', lease: { ownerId: 'w2', ttlMs: 0 } }),
        'invalid-argument',
      )
      await expectStoreError(
        store.createRun({ runId: refused, agentId: 'agent', lease: { ownerId: '', ttlMs: 1000 } }),
        'invalid-argument',
      )
      expect(await store.getRun(refused)).toBeUndefined()
      expect(await store.getLease(refused)).toBeUndefined()
      // Once the session is free, the refused id can be created and leased.
      await store.updateRun(runId, { status: 'completed' })
      const later = await store.createRun({
        runId: refused,
        agentId: 'agent',
        sessionId,
        claimSession: true,
        lease: { ownerId: 'w2', ttlMs: 1000 },
      })
      expect(later.lease).toMatchObject({ ownerId: 'w2', epoch: 1 })
    })
  })

  describe('createRun with its first entries', () => {
    const started = { type: 'run.started', data: { type: 'run.started', input: 'hello' }, at: 5 }
    const note = { type: 'note', data: { n: 1 } }

    it('journals them at seq 1.. with the row and the lease, and says the seq', async () => {
      const { store, id, context } = harness()
      const runId = id('run')
      const created = await store.createRun({
        runId,
        agentId: 'agent',
        lease: { ownerId: 'w1', ttlMs: 1000 },
        entries: [started, note],
      })
      expect(created.seq).toBe(2)
      expect(created.lease).toMatchObject({ ownerId: 'w1', epoch: 1 })
      const { lease: _, seq: __, ...record } = created
      expect(await store.getRun(runId)).toEqual(record)
      expect(await store.read(runId)).toEqual([
        { runId, seq: 1, type: 'run.started', at: 5, data: started.data },
        { runId, seq: 2, type: 'note', at: context.now(), data: note.data },
      ])
      // The owner goes on from there, fenced by the lease it got.
      expect(await store.append(runId, [note], 2, { lease: created.lease! })).toBe(3)
      // None asked, none written, no seq on the record.
      const plain = id('run')
      const bare = await store.createRun({
        runId: plain,
        agentId: 'agent',
        lease: { ownerId: 'w1', ttlMs: 1000 },
      })
      expect(bare).not.toHaveProperty('seq')
      expect(await store.lastSeq(plain)).toBe(0)
    })

    it('writes nothing when the run is refused, the journal is not empty or an entry is bad', async () => {
      const { store, id } = harness()
      const [runId, sessionId, refused, journaled] = [id('run'), id('session'), id('run'), id('run')]
      const lease = { ownerId: 'w1', ttlMs: 1000 }
      await store.createRun({ runId, agentId: 'agent', sessionId, claimSession: true, lease })
      // A duplicate id, a busy session, another owner's lease: no row, no entries, no lease.
      await expectStoreError(
        store.createRun({ runId, agentId: 'agent', lease, entries: [started] }),
        'conflict',
      )
      expect(await store.lastSeq(runId)).toBe(0)
      await expectStoreError(
        store.createRun({
          runId: refused,
          agentId: 'agent',
          sessionId,
          claimSession: true,
          lease,
          entries: [started],
        }),
        'busy',
      )
      const theirs = await store.acquireLease(id('other'), 'w2', 1000)
      await expectStoreError(
        store.createRun({ runId: theirs!.runId, agentId: 'agent', lease, entries: [started] }),
        'conflict',
      )
      expect(await store.lastSeq(theirs!.runId)).toBe(0)
      expect(await store.getLease(theirs!.runId)).toEqual(theirs)
      // A journal written before the row: conflict, the journal as it was.
      await store.append(journaled, [note], 0)
      await expectStoreError(
        store.createRun({ runId: journaled, agentId: 'agent', lease, entries: [started] }),
        'conflict',
      )
      expect((await store.read(journaled)).map((entry) => entry.type)).toEqual(['note'])
      expect(await store.getLease(journaled)).toBeUndefined()
      // Bad entries, and entries without a lease: invalid-argument.
      for (const entries of [
        [{ type: '', data: 1 }],
        [{ type: 'x', data: 1n }],
        [{ type: 'x', data: 1, at: Number.NaN }],
      ])
        await expectStoreError(
          store.createRun({ runId: refused, agentId: 'agent', lease, entries: entries as never }),
          'invalid-argument',
        )
      await expectStoreError(
        store.createRun({ runId: refused, agentId: 'agent', entries: [started] }),
        'invalid-argument',
      )
      for (const runId of [refused, journaled]) expect(await store.getRun(runId)).toBeUndefined()
      expect(await store.lastSeq(refused)).toBe(0)
      expect(await store.getLease(refused)).toBeUndefined()
      // Once the session is free the refused id goes in with its entries.
      await store.updateRun(runId, { status: 'completed' })
      const later = await store.createRun({
        runId: refused,
        agentId: 'agent',
        sessionId,
        claimSession: true,
        lease,
        entries: [started],
      })
      expect(later.seq).toBe(1)
      expect((await store.read(refused)).map((entry) => entry.type)).toEqual(['run.started'])
    })

    it('claims a session only at the version its history was read at (sessionVersion)', async () => {
      const { store, id } = harness()
      const [sessionId, first, second] = [id('session'), id('run'), id('run')]
      const claim = (runId: string, sessionVersion: number, lease = true) =>
        store.createRun({
          runId,
          agentId: 'agent',
          sessionId,
          claimSession: true,
          sessionVersion,
          ...(lease ? { lease: { ownerId: 'w1', ttlMs: 1000 }, entries: [started] } : {}),
        })
      // No session yet is version 0.
      await expectStoreError(claim(first, 1), 'busy')
      expect(await store.getRun(first)).toBeUndefined()
      expect((await claim(first, 0)).seq).toBe(1)
      await store.appendSession(sessionId, [{ role: 'user', content: 'hi' }], undefined, { runId: first })
      await store.updateRun(first, { status: 'completed' })
      // The session moved on since version 0: busy, nothing written; at version 1 it goes in.
      await expectStoreError(claim(second, 0), 'busy')
      await expectStoreError(claim(second, 0, false), 'busy')
      expect(await store.getRun(second)).toBeUndefined()
      expect(await store.lastSeq(second)).toBe(0)
      expect(await store.getLease(second)).toBeUndefined()
      expect((await claim(second, 1)).seq).toBe(1)
      // Only with claimSession and a session, and a version is a non-negative integer.
      for (const run of [
        { runId: id('run'), agentId: 'agent', sessionVersion: 0 },
        { runId: id('run'), agentId: 'agent', sessionId, sessionVersion: 0 },
        { runId: id('run'), agentId: 'agent', sessionId, claimSession: true, sessionVersion: -1 },
      ])
        await expectStoreError(store.createRun(run), 'invalid-argument')
    })
  })
}
