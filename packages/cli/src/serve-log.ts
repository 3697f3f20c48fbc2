import type { Bus, HumanRequestMessage } from '@vel/actors'
import type { PositionedPart } from '@vel/core'

/** One line per event of `vel serve`: JSON lines with `--json`, else `HH:MM:SS.mmm message key=value`. */
export interface ServeLog {
  /** Writes one line: what happened (`request`, `run.started`, ...) and its fields. */
  info(event: string, fields?: Readonly<Record<string, unknown>>): void
  /** Like `info`, at level `error`. */
  error(event: string, fields?: Readonly<Record<string, unknown>>): void
}

const quoted = (value: unknown): string => {
  const text = typeof value === 'string' ? value : JSON.stringify(value)
  return /^[^\s"=]*$/.test(text) ? text : JSON.stringify(text)
}

/**
 * A logger for `vel serve` that writes to `write` (stderr). A tiny formatter rather than pino:
 * the CLI needs two one-line formats on an injectable stream and nothing else (no transports,
 * levels or redaction), and pino's human format would be a second package (pino-pretty).
 */
export function createServeLog(
  write: (line: string) => void,
  options: { readonly json: boolean; readonly now?: () => Date },
): ServeLog {
  const now = options.now ?? (() => new Date())
  const line = (level: 'info' | 'error', event: string, fields: Readonly<Record<string, unknown>> = {}) => {
    const time = now()
    if (options.json)
      return write(`${JSON.stringify({ time: time.toISOString(), level, event, ...fields })}\n`)
    const pairs = Object.entries(fields)
      .filter(([, value]) => value !== undefined)
      .map(([key, value]) => `${key}=${quoted(value)}`)
    const clock = time.toISOString().slice(11, 23)
    write(
      `${clock} ${level === 'error' ? 'ERROR ' : ''}${event}${pairs.length > 0 ? ` ${pairs.join(' ')}` : ''}\n`,
    )
  }
  return {
    info: (event, fields) => line('info', event, fields),
    error: (event, fields) => line('error', event, fields),
  }
}

/**
 * A bus that logs each run's lifecycle (started, waiting for a human, ended with its outcome) and
 * passes everything on to `inner`, its optional `subscribeParts` and `route` included. Outcomes
 * come from the stream's terminal parts: `error` means failed, `abort` cancelled, a plain `finish`
 * completed.
 */
export function loggingBus(inner: Bus, log: ServeLog): Bus {
  // Per live run: the outcome its terminal parts say so far, or `waiting` between a request and
  // the parts that follow its answer; and the requests already logged (a rehydrated run publishes
  // its pending requests again). Entries go when the run's stream finishes.
  const outcome = new Map<string, string>()
  const logged = new Map<string, Set<string>>()
  return {
    publishParts(runId: string, parts: ReadonlyArray<PositionedPart>) {
      for (const { part } of parts) {
        const before = outcome.get(runId)
        if (before === undefined || before === 'waiting') {
          log.info(before === 'waiting' ? 'run.resumed' : 'run.started', { runId })
          outcome.set(runId, 'completed')
          logged.delete(runId)
        }
        if (part.type === 'error') outcome.set(runId, 'failed')
        else if (part.type === 'abort') outcome.set(runId, 'cancelled')
        else if (part.type === 'finish') {
          const status = outcome.get(runId) ?? 'completed'
          outcome.delete(runId)
          logged.delete(runId)
          ;(status === 'failed' ? log.error : log.info)(`run.${status}`, { runId })
        }
      }
      inner.publishParts(runId, parts)
    },
    async publishRequest(message: HumanRequestMessage) {
      const { runId, request } = message
      outcome.set(runId, 'waiting')
      const requests = logged.get(runId) ?? new Set<string>()
      logged.set(runId, requests)
      if (!requests.has(request.requestId)) {
        requests.add(request.requestId)
        log.info('run.waiting', {
          runId,
          agentId: message.agentId,
          kind: request.kind,
          requestId: request.requestId,
        })
      }
      await inner.publishRequest(message)
    },
    // Reading runs owned elsewhere and routing answers to their owner are the inner bus's.
    ...(inner.subscribeParts === undefined ? {} : { subscribeParts: inner.subscribeParts.bind(inner) }),
    ...(inner.route === undefined ? {} : { route: inner.route.bind(inner) }),
    ...(inner.close === undefined ? {} : { close: inner.close.bind(inner) }),
  }
}

/** Wraps a fetch handler so each request is logged once, when its response (or its SSE) starts. */
export function loggingFetch(
  fetch: (request: Request) => Response | Promise<Response>,
  log: ServeLog,
): (request: Request) => Promise<Response> {
  return async (request) => {
    const started = performance.now()
    const response = await fetch(request)
    const url = new URL(request.url)
    const fields = {
      method: request.method,
      path: url.pathname,
      status: response.status,
      ms: Math.round(performance.now() - started),
      runId: response.headers.get('x-vel-run-id') ?? undefined,
    }
    ;(response.status >= 500 ? log.error : log.info)('request', fields)
    return response
  }
}
