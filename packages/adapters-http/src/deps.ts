import type { Runtime } from '@vel/actors'
import { RunError, type RunRecord } from '@vel/core'
import type * as Schema from 'effect/Schema'
import type { Context } from 'hono'
import { type Guard, type Principal, startedByKey } from './auth.ts'
import { decode, readJson } from './decode.ts'

/** The Hono environment of Vel's routes: the authenticated caller, if auth is on. */
export interface HttpEnv {
  Variables: { principal: Principal | undefined }
}

/** What every route needs: the runtime, the guard and the body limit. */
export interface RouteDeps {
  readonly runtime: Runtime
  readonly guard: Guard
  readonly maxBodyBytes: number
}

/** Reads and decodes a JSON body (413 over the limit, 400 naming the field). */
export const readBody = async <A, I>(
  deps: RouteDeps,
  c: Context<HttpEnv>,
  schema: Schema.Schema<A, I, never>,
  options: { readonly optional?: boolean } = {},
): Promise<A> => {
  const body = await readJson(c.req.raw, deps.maxBodyBytes)
  return decode(schema, body === undefined && options.optional ? {} : body)
}

/** The run's index row if the caller may act on it: 404 if absent, 403 if not theirs. */
export const accessibleRun = async (
  deps: RouteDeps,
  c: Context<HttpEnv>,
  runId: string,
): Promise<RunRecord> => {
  const record = await deps.runtime.record(runId)
  if (record === undefined) throw new RunError('not-found', `no run ${runId}`, { runId })
  await deps.guard.authorize(c.get('principal'), record)
  return record
}

/** Run metadata naming the starter, and decision options naming who decided. */
export const starterMetadata = (principal: Principal | undefined) =>
  principal === undefined ? {} : { [startedByKey]: principal.id }

/** `{ by }` for the journal when the caller is known. */
export const decidedBy = (principal: Principal | undefined): { by?: string } =>
  principal === undefined ? {} : { by: principal.id }
