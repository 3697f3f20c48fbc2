import { type Lease, type Store, StoreError } from '@vel/core'
import type { Selectable } from 'kysely'
import { patchColumns } from '../run-record.ts'
import { toLease } from '../sql/leases.ts'
import { runColumnList, toRunRecord } from '../sql/runs.ts'
import type { RunsTable } from '../sql/schema.ts'
import { toSessionRecord } from '../sql/sessions.ts'
import { checkId, checkLease, checkPositive } from '../validate.ts'
import { type Statement, type Statements, statement } from './statements.ts'

/** The prepared statements of a run's bookkeeping for one schema (ADR 0121). */
export const runStatements = (schema: string) => {
  const table = (name: string) => `"${schema}"."${name}"`
  const leaseColumns = 'owner_id, epoch, expires_at'
  return {
    getRun: statement(`select ${runColumnList} from ${table('runs')} where run_id = $1::text`),
    // A set field is never SQL null (JSON null is the text `null`): null keeps the column.
    updateRun: statement(
      [
        `update ${table('runs')} set status = coalesce($1::text, status), pending = coalesce($2::text, pending),`,
        `  answer = coalesce($3::text, answer), error = coalesce($4::text, error),`,
        `  metadata = coalesce($5::text, metadata), updated_at = $6::bigint`,
        `where run_id = $7::text returning ${runColumnList}`,
      ].join('\n'),
    ),
    // acquireLease's rule: take a free, released or expired lease (next epoch), renew our own
    // (same epoch), or leave another owner's live lease alone (no row).
    takeLease: statement(
      [
        `insert into ${table('leases')} as lease (run_id, owner_id, epoch, expires_at)`,
        `values ($1::text, $2::text, 1, $3::bigint) on conflict (run_id) do update set`,
        `  epoch = case when lease.owner_id = excluded.owner_id then lease.epoch else lease.epoch + 1 end,`,
        `  owner_id = excluded.owner_id, expires_at = excluded.expires_at`,
        `where lease.owner_id is null or lease.owner_id = excluded.owner_id or lease.expires_at <= $4::bigint`,
        `returning ${leaseColumns}`,
      ].join('\n'),
    ),
    renewLease: statement(
      `update ${table('leases')} set expires_at = $1::bigint where run_id = $2::text and owner_id = $3::text and epoch = $4::integer returning ${leaseColumns}`,
    ),
    releaseLease: statement(
      `update ${table('leases')} set owner_id = null, expires_at = 0 where run_id = $1::text and owner_id = $2::text and epoch = $3::integer`,
    ),
    getLease: statement(
      `select ${leaseColumns} from ${table('leases')} where run_id = $1::text and owner_id is not null and expires_at > $2::bigint`,
    ),
    // The head and its messages in one round trip: no row, no session; a head without messages
    // is one row with a null position.
    getSession: statement(
      [
        `select head.version, head.updated_at, message.position, message.message`,
        `from ${table('sessions')} as head left join ${table('session_messages')} as message`,
        `  on message.session_id = head.session_id`,
        `where head.session_id = $1::text order by message.position`,
      ].join('\n'),
    ),
  } satisfies Record<string, Statement>
}

type LeaseRow = { owner_id: string | null; epoch: number; expires_at: number | string }

/**
 * A run's bookkeeping on Postgres as prepared statements on the pool, one round trip each: no query
 * to build or compile on the client, no parse or plan on the server. Listing, deleting, the
 * idempotency lookup and versioned session writes stay on Kysely (`../sql/`).
 */
export const createPostgresRunPath = (
  statements: Statements,
  shapes: ReturnType<typeof runStatements>,
  now: () => number,
): Pick<
  Store,
  'getRun' | 'updateRun' | 'acquireLease' | 'renewLease' | 'releaseLease' | 'getLease' | 'getSession'
> => {
  const lease = (runId: string, rows: LeaseRow[]): Lease | undefined => {
    const row = rows[0]
    return row === undefined ? undefined : toLease(runId, row)
  }
  return {
    async getRun(runId) {
      const rows = await statements.run<Selectable<RunsTable>>(shapes.getRun, [checkId('runId', runId)])
      return rows[0] === undefined ? undefined : toRunRecord(rows[0])
    },
    async updateRun(runId, patch) {
      checkId('runId', runId)
      const { status, pending, answer, error, metadata } = patchColumns(patch)
      const rows = await statements.run<Selectable<RunsTable>>(shapes.updateRun, [
        status,
        pending,
        answer,
        error,
        metadata,
        now(),
        runId,
      ])
      if (rows[0] === undefined) throw new StoreError('not-found', `run ${runId} not found`)
      return toRunRecord(rows[0])
    },
    async acquireLease(runId, ownerId, ttlMs) {
      checkLease(runId, ownerId, ttlMs)
      const time = now()
      return lease(
        runId,
        await statements.run<LeaseRow>(shapes.takeLease, [runId, ownerId, time + ttlMs, time]),
      )
    },
    async renewLease(held, ttlMs) {
      checkPositive('ttlMs', ttlMs)
      const runId = checkId('runId', held.runId)
      const values = [now() + ttlMs, runId, held.ownerId, held.epoch]
      return lease(runId, await statements.run<LeaseRow>(shapes.renewLease, values))
    },
    async releaseLease(held) {
      // The row stays with its epoch, so the next owner's epoch is higher than any before.
      await statements.run(shapes.releaseLease, [checkId('runId', held.runId), held.ownerId, held.epoch])
    },
    async getLease(runId) {
      return lease(runId, await statements.run<LeaseRow>(shapes.getLease, [checkId('runId', runId), now()]))
    },
    async getSession(sessionId) {
      checkId('sessionId', sessionId)
      const rows = await statements.run<{
        version: number | string
        updated_at: number | string
        position: number | string | null
        message: string | null
      }>(shapes.getSession, [sessionId])
      const head = rows[0]
      return head === undefined ? undefined : toSessionRecord(sessionId, head, rows)
    },
  }
}
