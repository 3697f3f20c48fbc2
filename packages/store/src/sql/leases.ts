import type { Lease } from '@vel/core'
import { toNumber } from '../codec.ts'

/** A leases row as a lease (none while released: no owner). */
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
