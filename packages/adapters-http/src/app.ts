import { type Runtime, traceFromHeaders, withTraceContext } from '@vel/actors'
import { Hono } from 'hono'
import { type AuthOptions, createGuard } from './auth.ts'
import { defaultMaxBodyBytes } from './decode.ts'
import type { HttpEnv, RouteDeps } from './deps.ts'
import { problemResponse } from './errors.ts'
import { createInspector } from './inspector/inspector.ts'
import { createOpenApiDocument } from './openapi.ts'
import { actionRoutes } from './routes/actions.ts'
import { chatRoutes } from './routes/chat.ts'
import { runRoutes } from './routes/runs.ts'

/** Options of `createHttpApp`. */
export interface HttpAppOptions {
  /** The runtime whose agents and runs the API serves. */
  readonly runtime: Runtime
  /** Bearer tokens or a verifier; without it the API is open (for local development only). */
  readonly auth?: AuthOptions
  readonly limits?: {
    /**
     * Largest accepted request body; larger ones get 413 (with `connection: close`). Default 1 MiB.
     * Bodies nested deeper than `maxJsonDepth` (64) get 400 whatever their size.
     */
    readonly maxBodyBytes?: number
  }
  readonly chat?: {
    /**
     * What a client that stops reading a chat stream (`useChat`'s `stop()`, a closed tab) does to
     * its run: `keep-running` (default) lets it finish, so `useChat({ resume: true })` can show it
     * later; `cancel` cancels it (journaled `run.cancelled`, tools aborted).
     */
    readonly onClientAbort?: 'keep-running' | 'cancel'
  }
  /**
   * Also serve the run inspector (a web UI, see `createInspector`) at `/inspector`, behind the same
   * auth. Default false.
   */
  readonly inspector?: boolean
  /** Called with errors answered as 500 (default `console.error`). */
  readonly onError?: (error: unknown) => void
}

/** Where `createHttpApp({ inspector: true })` mounts the inspector. */
export const inspectorPath = '/inspector'

const open = new Set(['/healthz', '/openapi.json'])

/**
 * The Vel HTTP API as a Hono app: Web-standard `Request -> Response`, so it runs on Node (see
 * `serve`), Bun, Deno and edge runtimes, and tests call `app.request` with no socket.
 */
export function createHttpApp(options: HttpAppOptions): Hono<HttpEnv> {
  const guard = createGuard(options.auth, (runId) => options.runtime.record(runId))
  const deps: RouteDeps = {
    runtime: options.runtime,
    guard,
    maxBodyBytes: options.limits?.maxBodyBytes ?? defaultMaxBodyBytes,
    onClientAbort: options.chat?.onClientAbort ?? 'keep-running',
  }
  const report = options.onError ?? ((error: unknown) => console.error('[vel/http]', error))
  const openapi = createOpenApiDocument({ bearerAuth: options.auth !== undefined })
  const app = new Hono<HttpEnv>()

  // A request's `traceparent` is the active context while it is handled: the runs it starts, and
  // the runs its answers, decisions and cancels wake, have its span as their parent.
  app.use((c, next) => withTraceContext(traceFromHeaders(c.req.raw.headers), next))
  app.onError((error) => {
    const response = problemResponse(error)
    if (response.status >= 500) report(error)
    return response
  })
  app.notFound((c) =>
    c.json(
      {
        type: 'about:blank',
        title: 'Not Found',
        status: 404,
        detail: `no route ${c.req.method} ${c.req.path}`,
      },
      404,
      {
        'content-type': 'application/problem+json',
      },
    ),
  )
  // The inspector authenticates on its own (a browser signs in with a cookie; the API takes only headers).
  const inspected = (path: string) =>
    options.inspector === true && (path === inspectorPath || path.startsWith(`${inspectorPath}/`))
  app.use(async (c, next) => {
    const skip = open.has(c.req.path) || inspected(c.req.path)
    c.set('principal', skip ? undefined : await guard.authenticate(c.req.raw))
    await next()
  })
  if (options.inspector === true)
    app.route(
      inspectorPath,
      createInspector({
        runtime: options.runtime,
        ...(options.auth === undefined ? {} : { auth: options.auth }),
        onError: report,
      }),
    )

  app.get('/healthz', (c) => c.json({ status: 'ok' }))
  app.get('/openapi.json', (c) => c.json(openapi))
  app.route('/', runRoutes(deps))
  app.route('/', actionRoutes(deps))
  app.route('/', chatRoutes(deps))
  return app
}
