import { type Runtime, runUsage } from '@vel/actors'
import { RunError, type RunRecord, TransportError } from '@vel/core'
import { type Context, Hono } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { deleteCookie, getCookie, setCookie } from 'hono/cookie'
import { csrf } from 'hono/csrf'
import { HTTPException } from 'hono/http-exception'
import { basePath } from 'hono/route'
import { streamSSE } from 'hono/streaming'
import { type AuthOptions, createGuard, type Principal } from '../auth.ts'
import { decode } from '../decode.ts'
import { statusOf as httpStatusOf, problemOf } from '../errors.ts'
import { statusOf } from '../routes/runs.ts'
import * as Schemas from '../schemas.ts'
import { inspectorCss, inspectorScript } from './assets.ts'
import { timelineOf } from './timeline.ts'
import {
  errorView,
  type Html,
  layout,
  listHref,
  listView,
  livePanel,
  type RunTree,
  runFragment,
  runView,
  signInView,
} from './views.ts'

/** Options of `createInspector`. */
export interface InspectorOptions {
  /** The runtime whose runs the inspector shows; only its public API is used. */
  readonly runtime: Runtime
  /**
   * The same auth as the API's (`createHttpApp({ auth })`): every page needs a principal and shows
   * only the runs the access rule allows. A browser signs in with a bearer token, kept in an
   * HttpOnly, SameSite=Strict cookie; a `verify` function also sees the request's own cookies.
   * Without it the inspector is open (local development only).
   */
  readonly auth?: AuthOptions
  /** Runs per page of the list. Default 50. */
  readonly pageSize?: number
  /** Called with errors answered as 500 (default `console.error`). */
  readonly onError?: (error: unknown) => void
}

interface InspectorEnv {
  Variables: { principal: Principal | undefined }
}

/** Cookie holding the bearer token a browser signed in with. */
export const inspectorCookie = 'vel_inspector_token'

const maxFormBytes = 64 * 1024
const treeDepth = 4
const treeWidth = 50
/** How often a page following a run that another process owns (or nobody, while it waits) reads its journal. */
const remotePollMs = 1000
const securityHeaders = {
  'content-security-policy':
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
}

/** Whether `next` (after sign-in) is a path inside the inspector, not another site or app. */
const isInside = (base: string, next: string): boolean =>
  next.startsWith('/') &&
  !next.startsWith('//') &&
  !next.includes('\\') &&
  (base === '' || next === base || next.startsWith(`${base}/`) || next.startsWith(`${base}?`))

/** The inspector's mount path (`''` at the root), from Hono's routing. */
const baseOf = (c: Context): string => basePath(c).replace(/\/+$/, '')

/**
 * The run inspector: a web UI over a runtime, as a Hono app to mount anywhere
 * (`app.route('/inspector', createInspector({ runtime, auth }))`; `createHttpApp({ inspector: true })`
 * and `vel serve` mount it at `/inspector`). Pages are rendered on the server; a small script of its
 * own follows a running run over SSE. Runs are listed and filtered by status, agent and session;
 * a run page shows its transcript, its journal as a timeline, its pipeline tree, what it streams
 * now, its pending approvals and questions (approve, deny, answer) and a cancel button.
 */
export function createInspector(options: InspectorOptions): Hono<InspectorEnv> {
  const { runtime } = options
  const guard = createGuard(options.auth, (runId) => runtime.record(runId))
  const pageSize = options.pageSize ?? 50
  const report = options.onError ?? ((error: unknown) => console.error('[vel/inspector]', error))
  const app = new Hono<InspectorEnv>()

  const page = (c: Context<InspectorEnv>, title: string, body: Html, status = 200) => {
    for (const [name, value] of Object.entries(securityHeaders)) c.header(name, value)
    return c.html(layout(baseOf(c), title, body, options.auth !== undefined), status as 200)
  }

  /** The request as the API's guard sees it: a signed-in browser's cookie becomes its bearer token. */
  const asApiRequest = (c: Context): Request => {
    const token = getCookie(c, inspectorCookie)
    if (token === undefined || c.req.raw.headers.has('authorization')) return c.req.raw
    const headers = new Headers(c.req.raw.headers)
    headers.set('authorization', `Bearer ${token}`)
    return new Request(c.req.url, { method: 'GET', headers })
  }

  const accessible = async (c: Context<InspectorEnv>, runId: string): Promise<RunRecord> => {
    const record = await runtime.record(runId)
    if (record === undefined) throw new RunError('not-found', `no run ${runId}`, { runId })
    await guard.authorize(c.get('principal'), record)
    return record
  }

  app.onError((error, c) => {
    // Hono's own middleware (CSRF, body limit) throws these with the status to answer.
    if (error instanceof HTTPException)
      return page(c, String(error.status), errorView(baseOf(c), error.status, error.message), error.status)
    const status = httpStatusOf(error)
    if (status >= 500) report(error)
    if (status === 401) return signIn(c, false)
    return page(c, String(status), errorView(baseOf(c), status, problemOf(error).detail), status)
  })

  const signIn = (c: Context<InspectorEnv>, failed: boolean) => {
    const base = baseOf(c)
    const next = c.req.method === 'GET' ? c.req.path + new URL(c.req.url).search : listHref(base)
    return page(c, 'Sign in', signInView(base, next, failed), 401)
  }

  // `/inspector/` is the list too (Hono routes the mount path without the slash).
  app.use(async (c, next) => {
    const base = baseOf(c)
    if (c.req.method === 'GET' && base !== '' && c.req.path === `${base}/`)
      return c.redirect(base + new URL(c.req.url).search, 301)
    await next()
  })
  app.use(csrf())
  app.use(bodyLimit({ maxSize: maxFormBytes }))

  app.get('/assets/inspector.css', (c) =>
    c.body(inspectorCss, 200, { 'content-type': 'text/css; charset=utf-8', 'cache-control': 'no-cache' }),
  )
  app.get('/assets/inspector.js', (c) =>
    c.body(inspectorScript, 200, {
      'content-type': 'text/javascript; charset=utf-8',
      'cache-control': 'no-cache',
    }),
  )

  app.post('/sign-in', async (c) => {
    const base = baseOf(c)
    const form = await c.req.parseBody()
    const token = typeof form.token === 'string' ? form.token.trim() : ''
    const next = typeof form.next === 'string' && isInside(base, form.next) ? form.next : listHref(base)
    const headers = new Headers(c.req.raw.headers)
    headers.set('authorization', `Bearer ${token}`)
    const principal = await guard
      .authenticate(new Request(c.req.url, { method: 'GET', headers }))
      .catch(() => undefined)
    if (token === '' || principal === undefined) {
      c.set('principal', undefined)
      return page(c, 'Sign in', signInView(base, next, true), 401)
    }
    setCookie(c, inspectorCookie, token, {
      httpOnly: true,
      sameSite: 'Strict',
      path: base === '' ? '/' : base,
      secure: new URL(c.req.url).protocol === 'https:',
    })
    return c.redirect(next, 303)
  })

  app.post('/sign-out', (c) => {
    const base = baseOf(c)
    deleteCookie(c, inspectorCookie, { path: base === '' ? '/' : base })
    return c.redirect(listHref(base), 303)
  })

  app.use(async (c, next) => {
    c.set('principal', await guard.authenticate(asApiRequest(c)))
    await next()
  })

  app.get('/', async (c) => {
    const entries = Object.entries(c.req.query()).filter(([, value]) => value !== '')
    const query = decode(Schemas.ListRunsQuery, Object.fromEntries(entries))
    const filter = {
      ...(query.status === undefined ? {} : { status: query.status }),
      ...(query.agent === undefined ? {} : { agent: query.agent }),
      ...(query.session === undefined ? {} : { session: query.session }),
    }
    const result = await runtime.list(
      {
        ...(query.status === undefined ? {} : { status: query.status }),
        ...(query.agent === undefined ? {} : { agentId: query.agent }),
        ...(query.session === undefined ? {} : { sessionId: query.session }),
      },
      { ...(query.cursor === undefined ? {} : { cursor: query.cursor }), limit: query.limit ?? pageSize },
    )
    const visible: RunRecord[] = []
    for (const record of result.items)
      if (await guard.allows(c.get('principal'), record)) visible.push(record)
    return page(c, 'Runs', listView(baseOf(c), filter, visible, result.nextCursor))
  })

  /** The run's tree from its root, children listed through the runtime, only runs the caller may see. */
  const treeOf = async (c: Context<InspectorEnv>, record: RunRecord): Promise<RunTree> => {
    let root = record
    for (let hops = 0; root.parentRunId !== null && hops < treeDepth; hops += 1) {
      const parent = await runtime.record(root.parentRunId)
      if (parent === undefined || !(await guard.allows(c.get('principal'), parent))) break
      root = parent
    }
    const grow = async (node: RunRecord, depth: number): Promise<RunTree> => {
      if (depth >= treeDepth * 2) return { record: node, children: [] }
      const children = await runtime.list({ parentRunId: node.runId }, { limit: treeWidth })
      const visible: RunTree[] = []
      for (const child of [...children.items].reverse())
        if (await guard.allows(c.get('principal'), child)) visible.push(await grow(child, depth + 1))
      return {
        record: node,
        children: visible,
        ...(children.nextCursor === undefined ? {} : { truncated: true }),
      }
    }
    return grow(root, 0)
  }

  app.get('/runs/:runId', async (c) => {
    const record = await accessible(c, c.req.param('runId'))
    const info = await runtime.get(record.runId)
    const [entries, tree, usage] = await Promise.all([
      runtime.journal(record.runId),
      treeOf(c, record),
      runUsage(runtime, record.runId),
    ])
    const status = statusOf(info.state)
    const rows = timelineOf(entries, info.state.policy.price)
    const base = baseOf(c)
    if (c.req.query('fragment') !== undefined) {
      c.header('cache-control', 'no-store')
      return c.html(runFragment(base, info, status, rows, tree, usage))
    }
    const live = status === 'running' || status === 'waiting'
    const fragment = runFragment(base, info, status, rows, tree, usage, livePanel)
    return page(c, `Run ${record.runId}`, runView(base, record.runId, info.seq, live, fragment))
  })

  app.get('/runs/:runId/live', async (c) => {
    const { runId } = await accessible(c, c.req.param('runId'))
    const after = Number(c.req.query('after') ?? 0)
    const afterSeq = Number.isSafeInteger(after) && after >= 0 ? after : 0
    c.header('x-accel-buffering', 'no')
    return streamSSE(c, async (stream) => {
      const controller = new AbortController()
      stream.onAbort(() => controller.abort())
      const keepAlive = setInterval(
        () => void stream.write(': keep-alive\n\n').catch(() => undefined),
        15_000,
      )
      // Deltas of the model call in flight (from its start), next to the journal entries.
      const deltas = (async () => {
        for await (const { part } of runtime.stream(runId, {
          after: { seq: afterSeq, index: Number.MAX_SAFE_INTEGER },
          signal: controller.signal,
          pollMs: remotePollMs,
        })) {
          if (part.type === 'text-delta' || part.type === 'reasoning-delta')
            await stream.writeSSE({
              event: 'delta',
              data: JSON.stringify({ kind: part.type.slice(0, -6), text: part.delta }),
            })
        }
      })().catch(() => undefined)
      try {
        for await (const entry of runtime.follow(runId, {
          afterSeq,
          signal: controller.signal,
          pollMs: remotePollMs,
        }))
          await stream.writeSSE({
            event: 'entry',
            data: JSON.stringify({ seq: entry.seq, type: entry.type }),
          })
        // The run ended: its stream ends with `finish`, so every delta is out before `end`.
        await deltas
        if (!stream.aborted) await stream.writeSSE({ event: 'end', data: '{}' })
      } catch (error) {
        if (!controller.signal.aborted) report(error)
      } finally {
        clearInterval(keepAlive)
        controller.abort()
        await deltas
      }
    })
  })

  const formOf = async (c: Context): Promise<Record<string, string>> => {
    const body = await c.req.parseBody()
    const fields: Record<string, string> = {}
    for (const [name, value] of Object.entries(body)) if (typeof value === 'string') fields[name] = value
    return fields
  }

  const decided = (c: Context<InspectorEnv>, reason: string | undefined) => {
    const principal = c.get('principal')
    const text = reason?.trim()
    return {
      ...(principal === undefined ? {} : { by: principal.id }),
      ...(text === undefined || text === '' ? {} : { reason: text }),
    }
  }

  const backToRun = (c: Context, runId: string) =>
    c.redirect(`${baseOf(c)}/runs/${encodeURIComponent(runId)}`, 303)

  app.post('/runs/:runId/decisions', async (c) => {
    const { runId } = await accessible(c, c.req.param('runId'))
    const form = await formOf(c)
    const toolCallId = form.toolCallId ?? ''
    if (toolCallId === '' || (form.decision !== 'approve' && form.decision !== 'deny'))
      throw new TransportError('schema-mismatch', 'a decision needs toolCallId and decision=approve|deny')
    if (form.decision === 'approve') await runtime.approve(runId, toolCallId, decided(c, form.reason))
    else await runtime.deny(runId, toolCallId, decided(c, form.reason))
    return backToRun(c, runId)
  })

  app.post('/runs/:runId/answers', async (c) => {
    const { runId } = await accessible(c, c.req.param('runId'))
    const form = await formOf(c)
    if (!form.requestId || form.answer === undefined)
      throw new TransportError('schema-mismatch', 'an answer needs requestId and answer')
    const principal = c.get('principal')
    await runtime.respond(
      runId,
      form.requestId,
      form.answer,
      principal === undefined ? {} : { by: principal.id },
    )
    return backToRun(c, runId)
  })

  app.post('/runs/:runId/cancel', async (c) => {
    const { runId } = await accessible(c, c.req.param('runId'))
    const form = await formOf(c)
    const reason = form.reason?.trim()
    await runtime.cancel(runId, reason === undefined || reason === '' ? 'cancelled in the inspector' : reason)
    return backToRun(c, runId)
  })

  return app
}
