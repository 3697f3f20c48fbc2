import type { Runtime } from '@vel/actors'
import { RunError, type RunRecord, TransportError } from '@vel/core'
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
  /** What a chat client that stops reading does to its run. */
  readonly onClientAbort: 'keep-running' | 'cancel'
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

/**
 * Throws `forbidden` unless the caller may use the session (chat): a session belongs to whoever
 * may act on its runs (by default their starter, see `startersOnly`), so nobody else can read its
 * runs, resume it, or start a run that would be handed its conversation. A session with no runs
 * yet is free. Sessions are checked across agents: one id is one conversation in the store.
 */
export const authorizeSession = async (
  deps: RouteDeps,
  c: Context<HttpEnv>,
  sessionId: string | undefined,
): Promise<void> => {
  if (sessionId === undefined) return
  const principal = c.get('principal')
  if (principal === undefined) return // auth is off
  // The newest runs suffice: every run added to a session over HTTP passes this check first.
  const page = await deps.runtime.list({ sessionId }, { limit: sessionCheckDepth })
  for (const record of page.items)
    if (!(await deps.guard.allows(principal, record)))
      throw new TransportError('forbidden', `you may not use session ${sessionId}`)
}

/** How many of a session's newest runs `authorizeSession` checks. */
const sessionCheckDepth = 20

/** Run metadata naming the starter, and decision options naming who decided. */
export const starterMetadata = (principal: Principal | undefined) =>
  principal === undefined ? {} : { [startedByKey]: principal.id }

/** `{ by }` for the journal when the caller is known. */
export const decidedBy = (principal: Principal | undefined): { by?: string } =>
  principal === undefined ? {} : { by: principal.id }
