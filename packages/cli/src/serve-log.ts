import type { ObservedRun, RunListener } from '@vel/actors'
import { costOf } from '@vel/core'
import { pino } from 'pino'

type Fields = Readonly<Record<string, unknown>>

/** Structured log lines of `vel serve` (pino): JSON lines with `--json`, else one human line each. */
export interface ServeLog {
  /** Writes one line: what happened (`request`, `run.started`, ...) and its fields. */
  info(event: string, fields?: Fields): void
  /** Like `info`, at level `warn`. */
  warn(event: string, fields?: Fields): void
  /** Like `info`, at level `error`. */
  error(event: string, fields?: Fields): void
  /** A log whose every line carries `fields` too (a run's ids). */
  child(fields: Fields): ServeLog
}

const quoted = (value: unknown): string => {
  const text = typeof value === 'string' ? value : JSON.stringify(value)
  return /^[^\s"=]*$/.test(text) ? text : JSON.stringify(text)
}

/** One pino JSON line as `HH:MM:SS.mmm [LEVEL ]event key=value ...` (info has no label). */
function humanLine(json: string): string {
  const { time, level, event, ...fields } = JSON.parse(json) as Record<string, unknown>
  const pairs = Object.entries(fields).map(([key, value]) => `${key}=${quoted(value)}`)
  const label = level === 'info' ? '' : `${String(level).toUpperCase()} `
  return `${String(time).slice(11, 23)} ${label}${String(event)}${pairs.length > 0 ? ` ${pairs.join(' ')}` : ''}\n`
}

const fromPino = (logger: pino.Logger): ServeLog => {
  const at =
    (level: 'info' | 'warn' | 'error') =>
    (event: string, fields: Fields = {}) => {
      // Absent fields are left out of both formats.
      const present = Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined))
      logger[level](present, event)
    }
  return {
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (fields) => fromPino(logger.child(fields)),
  }
}

/**
 * A pino logger for `vel serve` writing to `write` (stderr), synchronously: JSON lines with
 * `json` (`{"level":"info","time":"<ISO>",...fields,"event":"..."}`), else a small formatter of
 * the same lines for people (pino-pretty would bring a dozen packages for this one format).
 */
export function createServeLog(
  write: (line: string) => void,
  options: { readonly json: boolean; readonly now?: () => Date },
): ServeLog {
  const now = options.now ?? (() => new Date())
  const logger = pino(
    {
      base: null,
      messageKey: 'event',
      timestamp: () => `,"time":"${now().toISOString()}"`,
      formatters: { level: (label) => ({ level: label }) },
    },
    { write: options.json ? write : (line: string) => write(humanLine(line)) },
  )
  return fromPino(logger)
}

/** The ids of runs this process held lately, for request lines (bounded: oldest go first). */
export class RunDirectory {
  private readonly runs = new Map<string, { readonly sessionId?: string; readonly traceId?: string }>()
  constructor(private readonly capacity = 10_000) {}
  remember(run: ObservedRun): void {
    this.runs.delete(run.runId)
    this.runs.set(run.runId, {
      ...(run.sessionId === null ? {} : { sessionId: run.sessionId }),
      ...(run.traceId === undefined ? {} : { traceId: run.traceId }),
    })
    if (this.runs.size > this.capacity) this.runs.delete(this.runs.keys().next().value as string)
  }
  get(runId: string) {
    return this.runs.get(runId)
  }
}

/**
 * The run lifecycle as log lines (`TelemetryOptions.observe`): started or resumed, waiting for a
 * human, what humans decided, failed model and tool calls, and how the run ended (tokens, cost), each
 * line with the run's id, agent, session and trace ids.
 */
export function runLog(log: ServeLog, directory?: RunDirectory): (run: ObservedRun) => RunListener {
  return (run) => {
    directory?.remember(run)
    const line = log.child({
      runId: run.runId,
      agentId: run.agentId,
      ...(run.sessionId === null ? {} : { sessionId: run.sessionId }),
      ...(run.traceId === undefined ? {} : { traceId: run.traceId }),
    })
    line.info(run.resumed ? 'run.resumed' : 'run.started', {
      parentRunId: run.parentRunId ?? undefined,
      model: `${run.provider}:${run.modelId}`,
    })
    return {
      committed: (event, _state, commands) => {
        for (const command of commands)
          if (command.type === 'request-approval' || command.type === 'contact-human')
            line.info('run.waiting', {
              kind: command.request.kind,
              requestId: command.request.requestId,
              tool: command.request.toolName,
            })
        if (event.type === 'model.failed')
          line.warn('model.failed', { reason: event.error.reason, error: event.error.message })
        else if (event.type === 'tool.failed')
          line.warn('tool.failed', { toolCallId: event.toolCallId, reason: event.reason, error: event.error })
        else if (event.type === 'approval.decided')
          line.info('approval.decided', {
            requestId: event.toolCallId,
            approved: event.approved,
            by: event.by,
          })
        else if (event.type === 'human.responded')
          line.info('human.responded', { requestId: event.requestId, by: event.by })
      },
      closed: (how, state) => {
        if (how === 'paused') return // said by `run.waiting`
        if (how !== 'ended' || state === undefined)
          return (how === 'lost' ? line.warn : line.info)(`run.${how}`)
        const price = state.policy.price
        const fields = {
          steps: state.step,
          inputTokens: state.usage.inputTokens,
          outputTokens: state.usage.outputTokens,
          costUsd: price === undefined ? undefined : Number(costOf(state.usage, price).toFixed(6)),
        }
        if (state.phase === 'failed')
          line.error('run.failed', { ...fields, reason: state.error?.reason, error: state.error?.message })
        else line.info(`run.${state.phase}`, fields)
      },
    }
  }
}

/** The trace id of a W3C `traceparent` header, if the request has a valid one. */
const traceIdOf = (request: Request): string | undefined =>
  /^00-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/.exec(request.headers.get('traceparent')?.trim() ?? '')?.[1]

/**
 * Wraps a fetch handler so each request is logged once, when its response (or its SSE) starts, with
 * the run it concerns (`x-vel-run-id`), that run's session, and the request's (or run's) trace id.
 */
export function loggingFetch(
  fetch: (request: Request) => Response | Promise<Response>,
  log: ServeLog,
  directory?: RunDirectory,
): (request: Request) => Promise<Response> {
  return async (request) => {
    const started = performance.now()
    const response = await fetch(request)
    const url = new URL(request.url)
    const runId =
      response.headers.get('x-vel-run-id') ?? url.pathname.match(/^\/runs\/(?!stream$)([^/]+)/)?.[1]
    const known = runId === undefined ? undefined : directory?.get(runId)
    const fields = {
      method: request.method,
      path: url.pathname,
      status: response.status,
      ms: Math.round(performance.now() - started),
      runId,
      sessionId: known?.sessionId,
      traceId: traceIdOf(request) ?? known?.traceId,
    }
    ;(response.status >= 500 ? log.error : log.info)('request', fields)
    return response
  }
}
