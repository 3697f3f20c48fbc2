import { runUsage, usageOf } from '@vel/actors'
import type { RunRecord, RunState, RunStatus } from '@vel/core'
import { Hono } from 'hono'
import { startedByKey } from '../auth.ts'
import { decode, readJson } from '../decode.ts'
import { accessibleRun, authorizeSession, type HttpEnv, type RouteDeps, starterMetadata } from '../deps.ts'
import { InvalidFieldError } from '../errors.ts'
import { parseEventId, runFrames } from '../run-stream.ts'
import * as Schemas from '../schemas.ts'
import { uiMessageStream } from '../sse.ts'
import { startRunRequest, traceOf } from '../start-run.ts'

/** A run's index row as the API shows it. */
export const runSummary = (record: RunRecord): typeof Schemas.RunSummary.Type => {
  const startedBy = record.metadata[startedByKey]
  return {
    runId: record.runId,
    agentId: record.agentId,
    sessionId: record.sessionId,
    parentRunId: record.parentRunId,
    status: record.status,
    ...(record.status === 'completed' ? { answer: record.answer } : {}),
    ...(record.error === null ? {} : { error: record.error }),
    ...(typeof startedBy === 'string' ? { startedBy } : {}),
    pending: record.pending as unknown as typeof Schemas.RunSummary.Type.pending,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
  }
}

/**
 * A run's status from its state. The index row lags behind while a rehydrated run works (it says
 * `waiting` until the run ends or pauses again), so details and answers use the state.
 */
export const statusOf = (state: RunState): RunStatus => {
  if (state.phase === 'completed' || state.phase === 'failed' || state.phase === 'cancelled')
    return state.phase
  return state.phase === 'waiting' ? 'waiting' : 'running'
}

/** Starting, listing, inspecting and streaming runs. */
export function runRoutes(deps: RouteDeps): Hono<HttpEnv> {
  const { runtime } = deps
  const app = new Hono<HttpEnv>()

  app.post('/runs', async (c) => {
    const { wait } = decode(Schemas.StartRunQuery, c.req.query())
    const start = startRunRequest(await readJson(c.req.raw, deps.maxBodyBytes))
    await authorizeSession(deps, c, start.sessionId)
    const handle = await runtime.spawn(start.agentId, start.message, {
      ...(start.sessionId === undefined ? {} : { sessionId: start.sessionId }),
      metadata: starterMetadata(c.get('principal')),
      ...traceOf(c.req.raw.headers),
    })
    if (wait === 'true') {
      const frames = runFrames(runtime, handle.runId, { untilPause: true, signal: c.req.raw.signal })
      for await (const _frame of frames);
    }
    const { runId } = handle
    const { state } = await runtime.get(runId)
    const status = statusOf(state)
    return c.json(
      {
        runId,
        status,
        ...(status === 'completed' ? { answer: state.answer } : {}),
        ...(state.error === null ? {} : { error: state.error }),
      },
      201,
      { location: `/runs/${runId}` },
    )
  })

  app.post('/runs/stream', async (c) => {
    const start = startRunRequest(await readJson(c.req.raw, deps.maxBodyBytes))
    await authorizeSession(deps, c, start.sessionId)
    const handle = await runtime.spawn(start.agentId, start.message, {
      ...(start.sessionId === undefined ? {} : { sessionId: start.sessionId }),
      metadata: starterMetadata(c.get('principal')),
      ...traceOf(c.req.raw.headers),
    })
    return uiMessageStream(c, (signal) => runFrames(runtime, handle.runId, { untilPause: true, signal }), {
      'x-vel-run-id': handle.runId,
    })
  })

  app.get('/runs', async (c) => {
    const query = decode(Schemas.ListRunsQuery, c.req.query())
    await authorizeSession(deps, c, query.session)
    const page = await runtime.list(
      {
        ...(query.status === undefined ? {} : { status: query.status }),
        ...(query.agent === undefined ? {} : { agentId: query.agent }),
        ...(query.session === undefined ? {} : { sessionId: query.session }),
      },
      {
        ...(query.cursor === undefined ? {} : { cursor: query.cursor }),
        ...(query.limit === undefined ? {} : { limit: query.limit }),
      },
    )
    const principal = c.get('principal')
    const visible: RunRecord[] = []
    for (const record of page.items) if (await deps.guard.allows(principal, record)) visible.push(record)
    return c.json({
      items: visible.map(runSummary),
      ...(page.nextCursor === undefined ? {} : { nextCursor: page.nextCursor }),
    })
  })

  app.get('/usage', async (c) => {
    const query = decode(Schemas.UsageQuery, c.req.query())
    await authorizeSession(deps, c, query.session)
    const principal = c.get('principal')
    const summary = await usageOf(
      runtime,
      {
        ...(query.status === undefined ? {} : { status: query.status }),
        ...(query.agent === undefined ? {} : { agentId: query.agent }),
        ...(query.session === undefined ? {} : { sessionId: query.session }),
      },
      (record) => deps.guard.allows(principal, record),
    )
    return c.json(summary satisfies typeof Schemas.UsageTreeValue.Type)
  })

  app.get('/runs/:runId', async (c) => {
    await accessibleRun(deps, c, c.req.param('runId'))
    const { record, state } = await runtime.get(c.req.param('runId'))
    const { costUsd, tree } = await runUsage(runtime, record.runId)
    const { answer: _answer, error: _error, ...summary } = runSummary(record)
    const status = statusOf(state)
    const detail: typeof Schemas.RunDetail.Type = {
      ...summary,
      status,
      ...(status === 'completed' ? { answer: state.answer } : {}),
      ...(state.error === null ? {} : { error: state.error }),
      pending: state.pending as typeof Schemas.RunSummary.Type.pending,
      usage: state.usage,
      ...(costUsd === undefined ? {} : { costUsd }),
      ...(state.policy.price === undefined ? {} : { price: state.policy.price }),
      ...(state.policy.maxCostUsd === undefined ? {} : { maxCostUsd: state.policy.maxCostUsd }),
      tree,
      step: state.step,
      phase: state.phase,
    }
    return c.json(detail)
  })

  app.get('/runs/:runId/stream', async (c) => {
    const record = await accessibleRun(deps, c, c.req.param('runId'))
    const lastEventId = c.req.header('last-event-id')
    const after = lastEventId === undefined ? undefined : parseEventId(lastEventId)
    if (lastEventId !== undefined && after === undefined)
      throw new InvalidFieldError([
        { field: 'Last-Event-ID', message: `expected <journalSeq>-<index>, got '${lastEventId}'` },
      ])
    return uiMessageStream(
      c,
      (signal) => runFrames(runtime, record.runId, { ...(after === undefined ? {} : { after }), signal }),
      { 'x-vel-run-id': record.runId },
    )
  })

  return app
}
