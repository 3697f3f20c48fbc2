import { ProviderError, type ProviderErrorReason } from '@vel/core'

/** What an SDK error looks like, structurally: we read fields, never import the SDK classes. */
interface ErrorShape {
  readonly name?: unknown
  readonly message?: unknown
  readonly status?: unknown
  readonly headers?: unknown
  readonly error?: unknown
  readonly code?: unknown
  readonly type?: unknown
  readonly cause?: unknown
}

const networkCodes = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ENOTFOUND',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
])

const contextOverflowPattern =
  /context[_ ]length|context window|prompt is too long|maximum context|too many tokens|exceeds the maximum number of tokens|input token count/i
const contentFilterPattern = /content[_ ]filter|content[_ ]policy|safety|blocked/i

const headerValue = (headers: unknown, name: string): string | undefined => {
  if (headers === null || typeof headers !== 'object') return undefined
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined
  const value = (headers as Record<string, unknown>)[name]
  return typeof value === 'string' ? value : undefined
}

/** Milliseconds to wait from `retry-after-ms`, `retry-after` (seconds or an HTTP date) headers. */
export function retryAfterFromHeaders(headers: unknown, now: number = Date.now()): number | undefined {
  const ms = headerValue(headers, 'retry-after-ms')
  if (ms !== undefined && Number.isFinite(Number.parseFloat(ms))) return Math.max(0, Number.parseFloat(ms))
  const after = headerValue(headers, 'retry-after')
  if (after === undefined) return undefined
  const seconds = Number(after)
  if (after.trim() !== '' && Number.isFinite(seconds)) return Math.max(0, seconds * 1000)
  const date = Date.parse(after)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}

/** Gemini puts the wait in the error body: `details: [{ '@type': '...RetryInfo', retryDelay: '13s' }]`. */
const retryAfterFromBody = (body: unknown): number | undefined => {
  const details = (body as { error?: { details?: unknown } } | undefined)?.error?.details
  if (!Array.isArray(details)) return undefined
  for (const detail of details) {
    const delay = (detail as { retryDelay?: unknown }).retryDelay
    if (typeof delay === 'string' && /^\d+(\.\d+)?s$/.test(delay)) return Number.parseFloat(delay) * 1000
  }
  return undefined
}

const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/** OpenAI's spent quota and Anthropic's exhausted credit balance. */
const spentQuotaPattern = /insufficient_quota|billing_error/

/** Node's own error codes (`ERR_MODULE_NOT_FOUND`, `ECONNRESET`) are not vendor error kinds. */
const nodeCodePattern = /^(ERR_|UND_ERR_|E[A-Z]+$)/

/**
 * The error type/code strings a body or SDK error carries (`overloaded_error`, `insufficient_quota`,
 * `RESOURCE_EXHAUSTED`), with the `reason` of Google's `ErrorInfo` details (`API_KEY_INVALID`).
 */
const errorKinds = (shape: ErrorShape, body: unknown): string => {
  const inner = (body as { error?: unknown } | undefined)?.error ?? body
  const record = (inner ?? {}) as { type?: unknown; code?: unknown; status?: unknown; details?: unknown }
  const reasons = Array.isArray(record.details)
    ? record.details.map((detail) => (detail as { reason?: unknown } | null)?.reason)
    : []
  return [shape.type, shape.code, record.type, record.code, record.status, ...reasons]
    .filter((value): value is string => typeof value === 'string' && !nodeCodePattern.test(value))
    .join(' ')
}

const reasonForStatus = (status: number, kinds: string, message: string): ProviderErrorReason => {
  if (status === 429) return 'rate-limited'
  if (status === 401 || status === 403) return 'auth'
  if (status === 408 || status === 504) return 'timeout'
  if (status === 529 || status === 503 || status >= 500) return 'overloaded'
  if (/context_length|request_too_large/.test(kinds) || contextOverflowPattern.test(message))
    return 'context-overflow'
  if (/content_filter|content_policy/.test(kinds)) return 'content-filtered'
  return 'bad-request'
}

/**
 * The reason an error's type/code strings name, for failures without an HTTP status (SSE `error`
 * events, `response.failed`) and to refine a 400. Codes are OpenAI's (`insufficient_quota`,
 * `vector_store_timeout`, `invalid_image_url`, `bio_policy`), Anthropic's error types and Google's
 * RPC statuses and `ErrorInfo` reasons.
 */
const reasonForKinds = (kinds: string, message: string): ProviderErrorReason | undefined => {
  if (/overloaded/.test(kinds)) return 'overloaded'
  if (spentQuotaPattern.test(kinds) || /rate_limit|RESOURCE_EXHAUSTED/.test(kinds)) return 'rate-limited'
  if (/api_error|server_error|INTERNAL|UNAVAILABLE/.test(kinds)) return 'overloaded'
  if (/timeout|DEADLINE_EXCEEDED/.test(kinds)) return 'timeout'
  if (
    /authentication|permission|invalid_api_key|UNAUTHENTICATED|PERMISSION_DENIED|API_KEY_INVALID/.test(kinds)
  )
    return 'auth'
  if (/context_length/.test(kinds) || contextOverflowPattern.test(message)) return 'context-overflow'
  if (/content_filter|content_policy|_policy\b/.test(kinds) || contentFilterPattern.test(kinds))
    return 'content-filtered'
  if (
    /invalid|INVALID_ARGUMENT|FAILED_PRECONDITION|NOT_FOUND|not_found|conflict|precondition|image_|unsupported_|empty_|failed_to_/.test(
      kinds,
    )
  )
    return 'bad-request'
  return undefined
}

const isNetworkFault = (error: unknown, depth = 0): boolean => {
  if (error === null || typeof error !== 'object' || depth > 4) return false
  const shape = error as ErrorShape
  if (typeof shape.code === 'string' && networkCodes.has(shape.code)) return true
  if (shape.name === 'APIConnectionError') return true
  if (shape.name === 'TypeError' && /fetch failed|terminated|network/i.test(String(shape.message)))
    return true
  if (/socket hang up|other side closed|premature close|terminated/i.test(String(shape.message))) return true
  return isNetworkFault(shape.cause, depth + 1)
}

/** `openai` or `openai (http://127.0.0.1:11434/v1)`: who failed, and where, for error messages. */
export const origin = (provider: string, endpoint: string | undefined): string =>
  endpoint === undefined || endpoint === '' ? provider : `${provider} (${endpoint})`

/**
 * Maps anything a provider SDK throws (HTTP errors with status and headers, SSE error events,
 * connection faults, JSON parse failures) to a `ProviderError`. A `ProviderError` passes through.
 */
export function toProviderError(
  provider: string,
  error: unknown,
  extra: { headers?: unknown; endpoint?: string | undefined } = {},
): ProviderError {
  if (ProviderError.isInstance(error)) return error
  const shape = (error !== null && typeof error === 'object' ? error : {}) as ErrorShape
  const message = typeof shape.message === 'string' ? shape.message : String(error)
  const name = typeof shape.name === 'string' ? shape.name : ''
  // Gemini's ApiError carries the JSON body as its message, after `got status: X. ` for an error
  // sent inside the stream.
  const json = message.indexOf('{')
  const body = shape.error ?? (json >= 0 ? parseJson(message.slice(json)) : undefined)
  const kinds = errorKinds(shape, body)
  const make = (reason: ProviderErrorReason, options: { status?: number; retryAfterMs?: number } = {}) =>
    new ProviderError({
      reason,
      message: `${origin(provider, extra.endpoint)}: ${message}`,
      provider,
      cause: error,
      ...options,
      // A spent quota or credit balance is a rate limit that waiting does not fix.
      ...(reason === 'rate-limited' && spentQuotaPattern.test(kinds) ? { retryable: false } : {}),
    })
  if (name === 'APIUserAbortError' || name === 'AbortError') return make('aborted')
  if (name === 'APIConnectionTimeoutError' || name === 'TimeoutError') return make('timeout')
  const headers = shape.headers ?? extra.headers
  const retryAfterMs = retryAfterFromHeaders(headers) ?? retryAfterFromBody(body)
  const withRetryAfter = retryAfterMs === undefined ? {} : { retryAfterMs }
  if (typeof shape.status === 'number') {
    const reason = reasonForStatus(shape.status, kinds, message)
    const refined = reason === 'bad-request' ? (reasonForKinds(kinds, message) ?? reason) : reason
    return make(refined, { status: shape.status, ...withRetryAfter })
  }
  if (isNetworkFault(error)) return make('network')
  const fromKinds = kinds === '' ? undefined : reasonForKinds(kinds, message)
  if (fromKinds !== undefined) return make(fromKinds, withRetryAfter)
  return make('invalid-response')
}
