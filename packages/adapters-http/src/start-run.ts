import { traceFromHeaders } from '@vel/actors'
import type { TraceCarrier } from '@vel/core'
import { decode } from './decode.ts'
import { InvalidFieldError } from './errors.ts'
import { StartRunCamel, StartRunSnake } from './schemas.ts'

/** A start-run request in one spelling, whichever the client used. */
export interface StartRunRequest {
  readonly agentId: string
  readonly message: string
  readonly sessionId?: string
}

/** The request's W3C trace context (`traceparent`, `tracestate`), which parents the run's span. */
export function traceOf(headers: Headers): { trace?: TraceCarrier } {
  const trace = traceFromHeaders(headers)
  return trace === undefined ? {} : { trace }
}

/**
 * Normalizes the Python Vel body (`{ agent_id, input: { message }, session_id? }`) and the camelCase
 * one (`{ agentId, input, sessionId }`). The spelling is chosen by the keys present, so a 400 names
 * the field of the form the client meant rather than a union's every branch.
 */
export function startRunRequest(body: unknown): StartRunRequest {
  const record = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {}
  // A per-run model would silently be ignored: the agent's definition owns its model (Factor 10).
  const overrides = ['provider', 'model'].filter((field) => field in record)
  if (overrides.length > 0)
    throw new InvalidFieldError(
      overrides.map((field) => ({
        field,
        message: `a run cannot choose its ${field}: the agent's definition sets it (define another agent for another model)`,
      })),
    )
  const snake = 'agent_id' in record || 'session_id' in record
  const message = (input: string | { readonly message: string }) =>
    typeof input === 'string' ? input : input.message
  if (snake) {
    const parsed = decode(StartRunSnake, body)
    return {
      agentId: parsed.agent_id,
      message: message(parsed.input),
      ...(parsed.session_id === undefined ? {} : { sessionId: parsed.session_id }),
    }
  }
  const parsed = decode(StartRunCamel, body)
  return {
    agentId: parsed.agentId,
    message: message(parsed.input),
    ...(parsed.sessionId === undefined ? {} : { sessionId: parsed.sessionId }),
  }
}
