import type { Lease, Store } from '@vel/core'
import { type Kysely, sql } from 'kysely'
import { toNumber } from '../codec.ts'
import { checkId, checkLease, checkPositive } from '../validate.ts'
import type { SqlContext } from './context.ts'
import type { Database } from './schema.ts'

export const toLease = (
  runId: string,
  row: { owner_id: string | null; epoch: number; expires_at: number | string },
) =>
  row.owner_id === null
    ? undefined
    : ({
        runId,
        ownerId: row.owner_id,
        epoch: toNumber(row.epoch),
        expiresAt: toNumber(row.expires_at),
      } as Lease)

/**
 * One upsert decides atomically: take a free, released or expired lease (next epoch), renew our
 * own (same epoch), or leave another owner's live lease alone (undefined).
 */
export const takeLease = async (
  db: Kysely<Database>,
  runId: string,
  ownerId: string,
  ttlMs: number,
  time: number,
): Promise<Lease | undefined> => {
  const row = await db
    .insertInto('leases')
    .values({ run_id: runId, owner_id: ownerId, epoch: 1, expires_at: time + ttlMs })
    .onConflict((conflict) =>
      conflict
        .column('run_id')
        .doUpdateSet({
          epoch: sql<number>`case when leases.owner_id = excluded.owner_id then leases.epoch else leases.epoch + 1 end`,
          owner_id: sql<string>`excluded.owner_id`,
          expires_at: sql<number>`excluded.expires_at`,
        })
        .where(
          sql<boolean>`leases.owner_id is null or leases.owner_id = excluded.owner_id or leases.expires_at <= ${time}`,
        ),
    )
    .returning(['owner_id', 'epoch', 'expires_at'])
    .executeTakeFirst()
  return row === undefined ? undefined : toLease(runId, row)
}

/** Leases through Kysely, shared by SQLite and Postgres; each operation is one statement. */
export const createSqlLeases = (
  context: SqlContext,
): Pick<Store, 'acquireLease' | 'renewLease' | 'releaseLease' | 'getLease'> => {
  const { db } = context
  return {
    async acquireLease(runId: string, ownerId: string, ttlMs: number): Promise<Lease | undefined> {
      checkLease(runId, ownerId, ttlMs)
      return takeLease(db, runId, ownerId, ttlMs, context.now())
    },

    async renewLease(lease: Lease, ttlMs: number): Promise<Lease | undefined> {
      checkPositive('ttlMs', ttlMs)
      const row = await db
        .updateTable('leases')
        .set({ expires_at: context.now() + ttlMs })
        .where('run_id', '=', checkId('runId', lease.runId))
        .where('owner_id', '=', lease.ownerId)
        .where('epoch', '=', lease.epoch)
        .returning(['owner_id', 'epoch', 'expires_at'])
        .executeTakeFirst()
      return row === undefined ? undefined : toLease(lease.runId, row)
    },

    async releaseLease(lease: Lease): Promise<void> {
      // The row stays with its epoch, so the next owner's epoch is higher than any before.
      await db
        .updateTable('leases')
        .set({ owner_id: null, expires_at: 0 })
        .where('run_id', '=', checkId('runId', lease.runId))
        .where('owner_id', '=', lease.ownerId)
        .where('epoch', '=', lease.epoch)
        .execute()
    },

    async getLease(runId: string): Promise<Lease | undefined> {
      const row = await db
        .selectFrom('leases')
        .select(['owner_id', 'epoch', 'expires_at'])
        .where('run_id', '=', checkId('runId', runId))
        .where('owner_id', 'is not', null)
        .where('expires_at', '>', context.now())
        .executeTakeFirst()
      return row === undefined ? undefined : toLease(runId, row)
    },
  }
}
